/* SPDX-License-Identifier: MIT */
/*
 * Turning an unbound TCP socket into an MPTCP socket on the same fd.
 *
 * The new socket is built completely on a spare fd (options replayed in the
 * order the program set them, file status flags copied) and only then put
 * in place with dup3(), which closes the TCP socket and keeps the fd's
 * close-on-exec state. Any failure before dup3() leaves the program's
 * socket exactly as it was.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Is fd still what socket() gave the program: a TCP socket, unbound and
 * unconnected? The table is exact for every call the library sees; this
 * asks the kernel too, for what it cannot see (a raw close system call,
 * listen() without bind()). An address bound with
 * IP_BIND_ADDRESS_NO_PORT counts as bound. */
bool ms_still_fresh(int fd, int domain)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(int);
	int proto = 0;

	if (ms_real.getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) !=
		    0 ||
	    proto != IPPROTO_TCP)
		return false;
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    ss.ss_family != domain)
		return false;
	/* listen() or connect() would have bound an ephemeral port. */
	if (domain == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&ss;

		return sin->sin_port == 0 && sin->sin_addr.s_addr == INADDR_ANY;
	}
	const struct sockaddr_in6 *sin6 = (const void *)&ss;

	return sin6->sin6_port == 0 &&
	       IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
}

static bool copy_owner(int from, int to)
{
	struct f_owner_ex owner;
	int sig;

	if (ms_real.fcntl(from, F_GETOWN_EX, &owner) != 0)
		return false;
	if (owner.pid != 0 && ms_real.fcntl(to, F_SETOWN_EX, &owner) != 0)
		return false;
	sig = ms_real.fcntl(from, F_GETSIG);
	if (sig < 0)
		return false;
	return sig == 0 || ms_real.fcntl(to, F_SETSIG, sig) == 0;
}

/* Numbers are read and written by hand (ms_parse_uint, ms_fmt_uint):
 * these paths may run in a signal handler (a bind() there, when it did
 * not interrupt the library), and sscanf(), snprintf() and atoi() are not
 * async-signal-safe. */

/* Skips blanks, then the text lit; NULL if it is not there. */
static const char *skip_lit(const char *p, const char *lit)
{
	size_t n = strlen(lit);

	while (*p == ' ' || *p == '\t')
		p++;
	return strncmp(p, lit, n) == 0 ? p + n : NULL;
}

/* "tfd: FD events: EV data: DATA pos:P ino:INO ..." of an fdinfo line */
static bool parse_tfd(const char *line, int *tfd, unsigned *ev,
		      unsigned long long *data, unsigned long long *ino)
{
	unsigned long long t, e, pos;
	const char *p = line;

	if (!(p = skip_lit(p, "tfd:")) || !(p = ms_parse_uint(p, 10, &t)) ||
	    !(p = skip_lit(p, "events:")) || !(p = ms_parse_uint(p, 16, &e)) ||
	    !(p = skip_lit(p, "data:")) || !(p = ms_parse_uint(p, 16, data)) ||
	    !(p = skip_lit(p, "pos:")) || !(p = ms_parse_uint(p, 10, &pos)) ||
	    !(p = skip_lit(p, "ino:")) || !(p = ms_parse_uint(p, 16, ino)))
		return false;
	*tfd = (int)t;
	*ev = (unsigned)e;
	return true;
}

/* Does the epoll instance at epfd watch fd's current file (inode ino)
 * under the number fd, with this data? /proc/self/fdinfo/EPFD has a line
 * "tfd: FD events: EV data: DATA pos:P ino:INO sdev:D" per watched file;
 * *events gets EV (a disarmed EPOLLONESHOT entry keeps only its flags). */
static bool fdinfo_find(int epfd, int fd, unsigned long ino, uint64_t data,
			uint32_t *events)
{
	char path[48] = "/proc/self/fdinfo/", buf[4096], *line, *nl;
	size_t have = 0;
	bool found = false;
	int pfd;

	ms_fmt_uint(path + strlen(path), (unsigned)epfd);
	pfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pfd < 0)
		return false;
	for (;;) {
		ssize_t n = read(pfd, buf + have, sizeof(buf) - 1 - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
			unsigned long long d, i;
			unsigned ev;
			int t;

			*nl = '\0';
			if (!found && parse_tfd(line, &t, &ev, &d, &i) &&
			    t == fd && i == ino && d == data) {
				*events = ev;
				found = true;
			}
		}
		have = (size_t)(buf + have - line);
		memmove(buf, line, have);
		if (have == sizeof(buf) - 1)
			have = 0; /* a line this long is not ours */
	}
	ms_real.close(pfd);
	return found;
}

/* The epoll fd that watches fd (ino) with this data, if the one the
 * program registered through was closed or moved (F_DUPFD, dup2): every
 * epoll fd of the process is asked. -1 if none. */
static int find_epoll(int fd, unsigned long ino, uint64_t data,
		      uint32_t *events)
{
	char buf[4096], target[64];
	int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int found = -1;
	long n;

	if (dir < 0)
		return -1;
	while (found < 0 &&
	       (n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n && found < 0;) {
			/* struct linux_dirent64 */
			unsigned short reclen;
			const char *d_name = buf + off + 19;
			unsigned long long v;
			int e;
			ssize_t l;

			memcpy(&reclen, buf + off + 16, sizeof(reclen));
			off += reclen;
			if (*d_name < '0' || *d_name > '9' ||
			    !ms_parse_uint(d_name, 10, &v) || v > INT_MAX)
				continue;
			e = (int)v;
			if (e == dir)
				continue;
			l = readlinkat(dir, d_name, target, sizeof(target) - 1);
			if (l <= 0)
				continue;
			target[l] = '\0';
			if (strcmp(target, "anon_inode:[eventpoll]") == 0 &&
			    fdinfo_find(e, fd, ino, data, events))
				found = e;
		}
	}
	ms_real.close(dir);
	return found;
}

/* Where is this recorded registration now, and with which events? The
 * table is exact for the socket, but the epoll fd may have been closed or
 * moved since. A plain registration is checked with EPOLL_CTL_MOD and the
 * same events (no change to it); EPOLLEXCLUSIVE entries refuse MOD and a
 * MOD would re-arm a disarmed EPOLLONESHOT one, so for those the kernel's
 * list is read instead. Called only once the conversion is certain. */
static bool locate(int fd, unsigned long ino, const struct ms_epreg *r,
		   int *epfd, struct epoll_event *ev)
{
	uint32_t events = 0;

	*ev = r->ev;
	*epfd = r->epfd;
	if (!(r->ev.events & (EPOLLEXCLUSIVE | EPOLLONESHOT)) &&
	    ms_real.epoll_ctl(r->epfd, EPOLL_CTL_MOD, fd, ev) == 0)
		return true;
	*ev = r->ev;
	if (!fdinfo_find(r->epfd, fd, ino, r->ev.data.u64, &events)) {
		*epfd = find_epoll(fd, ino, r->ev.data.u64, &events);
		if (*epfd < 0)
			return false;
	}
	if (r->ev.events & (EPOLLEXCLUSIVE | EPOLLONESHOT))
		ev->events = events;
	return true;
}

static bool fail(struct ms_failure *f, enum ms_stage stage, int err)
{
	f->stage = stage;
	f->err = err;
	return false;
}

static bool convert(int fd, struct ms_rec *rec, const struct sockaddr *sa,
		    socklen_t len, struct ms_failure *f)
{
	bool found[MS_MAX_EPOLL] = {false};
	int epfd[MS_MAX_EPOLL];
	struct epoll_event ev[MS_MAX_EPOLL];
	unsigned flags = atomic_load(&rec->flags);
	int fl, fdflags, nfd;
	struct stat st;

	/* Checked here, after ms_conversion_enter(): a fork() that marked
	 * the socket shared has finished by now. */
	if (rec->refs > 1 || (flags & MS_SHARED_MASK)) {
		f->shared = flags & MS_SHARED_MASK;
		return fail(f, MS_STAGE_SHARED, EOPNOTSUPP);
	}
	if (flags & MS_REC_HANDLER)
		return fail(f, MS_STAGE_HANDLER, EOPNOTSUPP);
	if (!ms_still_fresh(fd, rec->domain))
		return fail(f, MS_STAGE_NOTFRESH, EINVAL);
	if (rec->why != MS_COPY_OK) {
		f->level = rec->bad_level;
		f->name = rec->bad_name;
		f->why = rec->why;
		return fail(f, MS_STAGE_UNCOPY,
			    rec->why == MS_COPY_NOMEM ? ENOMEM : EOPNOTSUPP);
	}
	fl = ms_real.fcntl(fd, F_GETFL);
	fdflags = ms_real.fcntl(fd, F_GETFD);
	if (fl < 0 || fdflags < 0 || fstat(fd, &st) != 0)
		return fail(f, MS_STAGE_FLAGS, errno);

	nfd = ms_real.socket(rec->domain, SOCK_STREAM | SOCK_CLOEXEC,
			     IPPROTO_MPTCP);
	if (nfd < 0)
		return fail(f, MS_STAGE_CREATE, errno);
	for (unsigned i = 0; i < rec->nopts; i++) {
		const struct ms_optrec *o = &rec->opt[i];

		if (ms_real.setsockopt(nfd, o->level, o->name,
				       rec->val + o->off, o->len) != 0 &&
		    !ms_tolerated(o->level, o->name, errno)) {
			f->level = o->level;
			f->name = o->name;
			fail(f, MS_STAGE_OPTION, errno);
			ms_real.close(nfd);
			return false;
		}
	}
	/* O_NONBLOCK (nginx sets it with ioctl(FIONBIO)), O_ASYNC, ..., and
	 * who gets SIGIO/SIGURG, with which signal */
	if (ms_real.fcntl(nfd, F_SETFL, fl) != 0 || !copy_owner(fd, nfd)) {
		fail(f, MS_STAGE_FLAGS, errno);
		ms_real.close(nfd);
		return false;
	}
	if (sa && ms_real.bind(nfd, sa, len) != 0) {
		fail(f, MS_STAGE_BIND, errno);
		ms_real.close(nfd);
		return false;
	}
	/* Certain now: where are the socket's epoll registrations? */
	for (unsigned i = 0; i < rec->nep; i++)
		found[i] = locate(fd, st.st_ino, &rec->ep[i], &epfd[i], &ev[i]);
	if (ms_real.dup3(nfd, fd, (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		fail(f, MS_STAGE_REPLACE, errno);
		ms_real.close(nfd);
		return false;
	}
	ms_real.close(nfd);
	/* The TCP socket's epoll registrations went with it; make them again
	 * on the new socket, under the same fd number. This cannot be done
	 * before dup3() and a failure here cannot be undone: it is reported
	 * (ENOMEM or max_user_watches are the only causes). */
	for (unsigned i = 0; i < rec->nep; i++) {
		if (!found[i])
			continue;
		if (ms_real.epoll_ctl(epfd[i], EPOLL_CTL_ADD, fd, &ev[i]) !=
			    0 &&
		    errno != EEXIST) {
			f->stage = MS_STAGE_EPOLL;
			f->err = errno;
		}
	}
	return true;
}

bool ms_convert(int fd, struct ms_rec *rec, const struct sockaddr *sa,
		socklen_t len, struct ms_failure *f)
{
	sigset_t all, old;
	int state;
	bool ok;

	/* No signal handler runs in this thread while the socket is half
	 * converted (it could find the fd in between), and no fork() copies
	 * the spare fd. close() is a cancellation point and bind() is not: a
	 * pending cancel must not stop bind() half-way either. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &state);
	ms_conversion_enter();
	ok = convert(fd, rec, sa, len, f);
	ms_conversion_leave();
	pthread_setcancelstate(state, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ok;
}

void ms_msg_failure(struct ms_msg *m, const struct ms_failure *f)
{
	switch (f->stage) {
	case MS_STAGE_CREATE:
		ms_msg_str(m, ms_errno_means_no_mptcp(f->err)
				      ? "the kernel refused an MPTCP socket: "
				      : "no MPTCP socket could be created: ");
		ms_msg_errno(m, f->err);
		if (f->err == ENOPROTOOPT)
			ms_msg_str(m, "; is net.mptcp.enabled 0?");
		return;
	case MS_STAGE_OPTION:
		ms_msg_str(m, "the MPTCP socket refused ");
		ms_msg_opt(m, f->level, f->name);
		ms_msg_str(m, " that the program set: ");
		ms_msg_errno(m, f->err);
		return;
	case MS_STAGE_UNCOPY:
		if (f->err == ENOMEM && f->why != MS_COPY_POINTER) {
			ms_msg_str(m, "out of memory recording socket options");
			return;
		}
		if (f->why == MS_COPY_EPOLL) {
			ms_msg_str(m, "the fd is registered in more epoll sets "
				      "than can be copied");
			return;
		}
		ms_msg_opt(m, f->level, f->name);
		ms_msg_str(m, f->why == MS_COPY_POINTER
				      ? " refers to memory or an fd and cannot "
					"be copied to a new socket"
			      : f->why == MS_COPY_TOO_BIG
				      ? " has a value too large to copy"
				      : ": the program set too many options to "
					"copy");
		return;
	case MS_STAGE_FLAGS:
		ms_msg_str(m, "reading or copying the fd's flags failed: ");
		ms_msg_errno(m, f->err);
		return;
	case MS_STAGE_REPLACE:
		ms_msg_str(m, "dup3() onto the fd failed: ");
		ms_msg_errno(m, f->err);
		return;
	case MS_STAGE_NOTFRESH:
		ms_msg_str(m, "the fd is not an unbound TCP socket (any more)");
		return;
	case MS_STAGE_BIND:
		ms_msg_str(m, "bind() of the MPTCP socket failed where the TCP "
			      "socket's succeeded: ");
		ms_msg_errno(m, f->err);
		return;
	case MS_STAGE_SHARED:
		ms_msg_str(m,
			   f->shared & MS_SHARED_SENT
				   ? "the socket was sent to another process "
				     "(SCM_RIGHTS) before bind(), and its "
				     "copy there would not follow"
			   : f->shared & MS_SHARED_FORK
				   ? "a child process (fork, posix_spawn) "
				     "shares the socket, made before "
				     "bind(), and its copy would not follow"
				   : "another file descriptor of the "
				     "program (dup) refers to the socket "
				     "and would not follow");
		return;
	case MS_STAGE_HANDLER:
		ms_msg_str(m, "the library could not follow the socket (a "
			      "call from a signal handler that interrupted "
			      "the library, or a raw system call)");
		return;
	case MS_STAGE_BOUND:
		ms_msg_str(m, "the program bound the socket before connect() "
			      "(to an unlisted local address or port 0); "
			      "only unbound sockets are converted");
		return;
	case MS_STAGE_NOMEM:
		ms_msg_str(m, "out of memory for the library's record of the "
			      "socket");
		return;
	case MS_STAGE_EPOLL:
		ms_msg_str(m, "converted, but adding it to its epoll set again "
			      "failed: ");
		ms_msg_errno(m, f->err);
		return;
	}
}
