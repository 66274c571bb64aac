/* SPDX-License-Identifier: MIT */
/*
 * Messages, built in a stack buffer and written with one write(2): no
 * malloc, no stdio, so they are safe in a forked child or a signal handler.
 *
 * They go to fd 2 only when fd 2 is a place for messages: the stderr the
 * process started with (a terminal, a file, a pipe to a supervisor, the
 * journal's AF_UNIX stream), or a regular file the program opened for
 * appending there itself (nginx moves stderr to its error_log). Never a
 * program's connection: not a socket other than AF_UNIX, and not the
 * socket fd 0 is (inetd and systemd's Accept=yes give a service its
 * client as stdin, stdout and stderr). A program started with stderr
 * closed gets fd 2 for its own sockets and files: nothing is written
 * there. Writing never raises SIGPIPE.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum ms_log_level ms_log_level = MS_LOG_INFO;

/* fd 2 when the library was loaded, if it is a place for messages */
static bool stderr_known;
static dev_t stderr_dev;
static ino_t stderr_ino;

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

void ms_log_init(void)
{
	struct stat st, in;
	int domain = 0;
	socklen_t len = sizeof(domain);

	if (fstat(STDERR_FILENO, &st) != 0)
		return;
	if (S_ISSOCK(st.st_mode) &&
	    ((syscall(SYS_getsockopt, STDERR_FILENO, SOL_SOCKET, SO_DOMAIN,
		      &domain, &len) == 0 &&
	      domain != AF_UNIX) ||
	     (fstat(STDIN_FILENO, &in) == 0 && same_file(&st, &in))))
		return; /* a connection, not a log */
	stderr_known = true;
	stderr_dev = st.st_dev;
	stderr_ino = st.st_ino;
}

void ms_msg_str(struct ms_msg *m, const char *s)
{
	size_t room = sizeof(m->buf) - 1 - m->n; /* keep one byte for '\n' */
	size_t len = strlen(s);

	if (len > room)
		len = room;
	memcpy(m->buf + m->n, s, len);
	m->n += len;
}

void ms_msg_uint(struct ms_msg *m, unsigned long v)
{
	char tmp[24];

	ms_fmt_uint(tmp, v);
	ms_msg_str(m, tmp);
}

void ms_msg_begin(struct ms_msg *m, enum ms_log_level l)
{
	m->n = 0;
	ms_msg_str(m, "mptcpshim[");
	ms_msg_uint(m, (unsigned long)getpid());
	ms_msg_str(m, "]: ");
	ms_msg_str(m, ms_log_level_name(l));
	ms_msg_str(m, ": ");
}

void ms_msg_addr(struct ms_msg *m, const struct sockaddr *sa, socklen_t len)
{
	char a[MS_IPSTRLEN];

	if (sa && sa->sa_family == AF_INET &&
	    len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const void *)sa;

		ms_fmt_ip(a, AF_INET, &sin->sin_addr);
		ms_msg_str(m, a);
		ms_msg_str(m, ":");
		ms_msg_uint(m, ntohs(sin->sin_port));
	} else if (sa && sa->sa_family == AF_INET6 &&
		   len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		ms_fmt_ip(a, AF_INET6, &sin6->sin6_addr);
		ms_msg_str(m, "[");
		ms_msg_str(m, a);
		ms_msg_str(m, "]:");
		ms_msg_uint(m, ntohs(sin6->sin6_port));
	} else {
		ms_msg_str(m, "(unknown address)");
	}
}

void ms_msg_errno(struct ms_msg *m, int e)
{
	const char *desc = strerrordesc_np(e);
	const char *name = strerrorname_np(e);

	ms_msg_str(m, desc ? desc : "unknown error");
	ms_msg_str(m, " (");
	if (name) {
		ms_msg_str(m, name);
	} else {
		ms_msg_str(m, "errno ");
		ms_msg_uint(m, (unsigned long)e);
	}
	ms_msg_str(m, ")");
}

void ms_msg_opt(struct ms_msg *m, int level, int name)
{
	const char *s = ms_opt_name(level, name);

	if (s) {
		ms_msg_str(m, s);
		return;
	}
	ms_msg_str(m, "option ");
	ms_msg_uint(m, (unsigned long)name);
	ms_msg_str(m, " at level ");
	ms_msg_uint(m, (unsigned long)level);
}

/* Writes without SIGPIPE: the signal a write to a pipe without reader
 * raises is blocked, and taken back if this write raised it. */
static ssize_t write_nosigpipe(const char *buf, size_t n)
{
	sigset_t pipe, old, pending;
	bool was_pending;
	ssize_t w;
	int e;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	w = write(STDERR_FILENO, buf, n);
	e = errno;
	if (w < 0 && e == EPIPE && !was_pending) {
		static const struct timespec zero;

		sigtimedwait(&pipe, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return w;
}

/* May a message go to fd 2 now? How (socket: send(), else write())? */
static bool stderr_writable(bool *is_socket)
{
	struct stat st;
	int fl;

	if (fstat(STDERR_FILENO, &st) != 0)
		return false;
	*is_socket = S_ISSOCK(st.st_mode);
	if (stderr_known && st.st_dev == stderr_dev && st.st_ino == stderr_ino)
		return true;
	if (S_ISCHR(st.st_mode))
		return true; /* a terminal, /dev/null */
	fl = (int)syscall(SYS_fcntl, STDERR_FILENO, F_GETFL);
	return S_ISREG(st.st_mode) && fl >= 0 && (fl & O_APPEND);
}

void ms_msg_end(struct ms_msg *m)
{
	int saved = errno;
	bool sock = false;
	size_t off = 0;

	m->buf[m->n++] = '\n';
	if (!stderr_writable(&sock)) {
		errno = saved;
		return;
	}
	while (off < m->n) {
		ssize_t w = sock ? send(STDERR_FILENO, m->buf + off, m->n - off,
					MSG_NOSIGNAL)
				 : write_nosigpipe(m->buf + off, m->n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	errno = saved;
}
