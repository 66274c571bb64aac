/* SPDX-License-Identifier: MIT */
/*
 * What the program sees at the end of a sequence, for every open
 * descriptor from 3 up: which ones share a file description (kcmp), the
 * descriptor and status flags, for a socket its family, type and protocol
 * (getsockopt, as the program asks it), its local and peer addresses and
 * the options read back; then, listener by listener, whether a client
 * (IPPROTO_MPTCP) connects and is accepted, and what every epoll set
 * reports before and after. Lines starting with "K " are the kernel's own
 * answers (raw system calls), which may differ where the library
 * converted: compare.c knows how. `difftest --probe` reports, in an
 * executed child, what it inherited.
 */
#include "exec.h"
#include "out.h"

#include "kcheck.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAXFD 64

struct fdinfo {
	bool open, sock, epoll;
	int canon;
	int domain, type, listening;
	int lport;
	char local[80];
};
static struct fdinfo fds[MAXFD];
/* sockets (inode numbers) a connect() was tried on */
static ino_t connected[64];
static int n_connected;
static bool unshared;

void state_connected(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && n_connected < 64)
		connected[n_connected++] = st.st_ino;
}

void state_unshared(void)
{
	unshared = true;
}

static bool was_connected(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return false;
	for (int i = 0; i < n_connected; i++)
		if (connected[i] == st.st_ino)
			return true;
	return false;
}

static bool same_file(int a, int b)
{
	pid_t p = getpid();

	return syscall(SYS_kcmp, p, p, KCMP_FILE, a, b) == 0;
}

static bool chosen_port(int port)
{
	for (int i = 0; i < n_ports; i++)
		if (port == ports[i])
			return true;
	return false;
}

static int port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return -1;
}

/* An address as text; ports the sequence did not choose (ephemeral,
 * different in each run) are "eph". */
static void addr_text(const struct sockaddr_storage *ss, socklen_t len,
		      char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN] = "?";
	int port = port_of(ss), known = chosen_port(port);

	if (ss->ss_family == AF_INET || ss->ss_family == AF_INET6) {
		const void *p =
			ss->ss_family == AF_INET
				? (const void *)&(
					  (const struct sockaddr_in *)ss)
					  ->sin_addr
				: (const void *)&(
					  (const struct sockaddr_in6 *)ss)
					  ->sin6_addr;
		inet_ntop(ss->ss_family, p, a, sizeof(a));
		if (known)
			snprintf(buf, size, "%s/%d", a, port);
		else
			snprintf(buf, size, "%s/eph", a);
	} else if (ss->ss_family == AF_UNIX) {
		const struct sockaddr_un *u = (const struct sockaddr_un *)ss;
		size_t n =
			len > offsetof(struct sockaddr_un, sun_path)
				? len - offsetof(struct sockaddr_un, sun_path)
				: 0;

		if (n == 0)
			snprintf(buf, size, "unix-unnamed");
		else if (u->sun_path[0] == 0 && n == 6)
			snprintf(buf, size, "unix-autobind");
		else
			snprintf(buf, size, "unix-@%.*s", (int)(n - 1),
				 u->sun_path + 1);
	} else {
		snprintf(buf, size, "family-%d", ss->ss_family);
	}
}

static void read_options(int fd)
{
	char line[400];
	size_t at = 0;

	for (int k = 0; k < n_readback; k++) {
		const struct opt_info *oi = &opts[readback[k]];
		unsigned char v[64];
		socklen_t len = sizeof(v);
		int r, iv = 0;

		memset(v, 0, sizeof(v));
		errno = 0;
		r = getsockopt(fd, oi->level, oi->optname, v, &len);
		memcpy(&iv, v, sizeof(iv));
		if (r != 0)
			at += (size_t)snprintf(line + at, sizeof(line) - at,
					       " %s", errno_name(errno));
		else if (oi->kind == 2)
			at += (size_t)snprintf(line + at, sizeof(line) - at,
					       " %.16s", (char *)v);
		else
			at += (size_t)snprintf(line + at, sizeof(line) - at,
					       " %d/%u", iv, len);
		if (at >= sizeof(line))
			break;
	}
	/* K: an MPTCP socket answers some options differently (compare.c) */
	out("K fd %d options%s", fd, line);
}

static void scan_socket(int fd, struct fdinfo *f)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(int), sl;
	char peer[80];
	int proto = -1;

	getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &f->domain, &l);
	l = sizeof(int);
	getsockopt(fd, SOL_SOCKET, SO_TYPE, &f->type, &l);
	l = sizeof(int);
	getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l);
	l = sizeof(int);
	getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &f->listening, &l);
	memset(&ss, 0, sizeof(ss));
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		addr_text(&ss, sl, f->local, sizeof(f->local));
	else
		snprintf(f->local, sizeof(f->local), "%s", errno_name(errno));
	f->lport = port_of(&ss);
	memset(&ss, 0, sizeof(ss));
	sl = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		addr_text(&ss, sl, peer, sizeof(peer));
	else
		snprintf(peer, sizeof(peer), "%s", errno_name(errno));
	out("fd %d: socket family %d type %d protocol %d listening %d "
	    "local %s peer %s",
	    fd, f->domain, f->type, proto, f->listening, f->local, peer);
	/* bound to a port listed on every address: must be converted, or
	 * the library must have said why not */
	out("K fd %d kproto %d lport %d cand %d", fd, k_protocol(fd),
	    chosen_port(f->lport) ? f->lport : -1,
	    (f->domain == AF_INET || f->domain == AF_INET6) &&
		    f->type == SOCK_STREAM && proto == IPPROTO_TCP &&
		    (f->lport == 41000 || f->lport == 41001) &&
		    !was_connected(fd) && !unshared);
	read_options(fd);
}

static ino_t std_ino[3]; /* fds 0-2 as the run began */

void state_start(void)
{
	struct stat st;

	for (int fd = 0; fd < 3; fd++)
		if (fstat(fd, &st) == 0)
			std_ino[fd] = st.st_ino;
}

/* Is fd one of the run's own 0-2 still (not a closefrom(-1)'s reuse)? */
static bool std_fd(int fd)
{
	struct stat st;

	return fd < 3 && fstat(fd, &st) == 0 && st.st_ino == std_ino[fd];
}

static void scan(void)
{
	for (int fd = 0; fd < MAXFD; fd++) {
		struct fdinfo *f = &fds[fd];
		char link[64] = "";
		int fdfl = fcntl(fd, F_GETFD), fl;

		memset(f, 0, sizeof(*f));
		if (fdfl < 0 || std_fd(fd))
			continue;
		f->open = true;
		f->canon = fd;
		for (int o = 0; o < fd; o++)
			if (fds[o].open && same_file(o, fd)) {
				f->canon = fds[o].canon;
				break;
			}
		fl = fcntl(fd, F_GETFL);
		{
			char path[32];
			ssize_t n;

			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			n = readlink(path, link, sizeof(link) - 1);
			link[n > 0 ? n : 0] = 0;
		}
		f->sock = strncmp(link, "socket:", 7) == 0;
		f->epoll = strstr(link, "eventpoll") != NULL;
		out("fd %d: open same-as %d cloexec %d nonblock %d accmode %d "
		    "kind %s",
		    fd, f->canon, !!(fdfl & FD_CLOEXEC), !!(fl & O_NONBLOCK),
		    fl & O_ACCMODE,
		    f->sock    ? "socket"
		    : f->epoll ? "epoll"
			       : "other");
		if (f->sock)
			scan_socket(fd, f);
	}
}

static void epoll_round(const char *when)
{
	for (int fd = 0; fd < MAXFD; fd++) {
		struct epoll_event ev[8];
		char line[300];
		size_t at = 0;
		int n;

		if (!fds[fd].open || !fds[fd].epoll || fds[fd].canon != fd)
			continue;
		n = epoll_wait(fd, ev, 8, 0);
		line[0] = 0;
		for (int k = 0; k < n; k++)
			at += (size_t)snprintf(line + at, sizeof(line) - at,
					       " fd %d events %#x",
					       ev[k].data.fd, ev[k].events);
		out("epoll %d %s: %d%s", fd, when, n, line);
	}
}

/* The client is the tester's, not the program's: made with raw system
 * calls, above the numbers the program uses, so that the accepted socket
 * takes the lowest free number, as a program's would (issue 21 case 12:
 * a stale record there). */
static int client_socket(int fam)
{
	long c = syscall(SYS_socket, fam, SOCK_STREAM | SOCK_NONBLOCK,
			 IPPROTO_MPTCP);
	long hi;

	if (c < 0)
		c = syscall(SYS_socket, fam, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c < 0)
		return -1;
	hi = syscall(SYS_fcntl, c, F_DUPFD_CLOEXEC, 200);
	syscall(SYS_close, c);
	return (int)hi;
}

/* Accepts from L until the connection of client c comes (the sequence's
 * own connect() calls may have queued others before it); its fd or -1. */
static int accept_client(int L, int c, const char *addr)
{
	struct sockaddr_storage want, got;
	socklen_t wl = sizeof(want), gl;

	memset(&want, 0, sizeof(want));
	getsockname(c, (struct sockaddr *)&want, &wl);
	for (int n = 0; n < 8; n++) {
		int a;

		gl = sizeof(got);
		memset(&got, 0, sizeof(got));
		a = accept4(L, (struct sockaddr *)&got, &gl,
			    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (a < 0) {
			out("conn fd %d via %s: accept %s", L, addr,
			    errno_name(errno));
			return -1;
		}
		if (port_of(&got) == port_of(&want)) {
			out("conn fd %d via %s: accept ok after %d", L, addr,
			    n);
			return a;
		}
		close(a);
	}
	out("conn fd %d via %s: client not among 8 accepted", L, addr);
	return -1;
}

/* Connects a client of family fam to addr/port, and reports whether the
 * listener L accepts it. */
static void client(int L, int fam, const char *addr, int port)
{
	struct sockaddr_storage ss;
	struct pollfd p;
	socklen_t len;
	int c, r, err = 0, a = -1, acc_proto = -1, cli = -1;
	const char *why;

	memset(&ss, 0, sizeof(ss));
	if (fam == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &s->sin_addr);
		len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &s->sin6_addr);
		len = sizeof(*s);
	}
	c = client_socket(fam);
	if (c < 0) {
		out("conn fd %d via %s: client socket %s", L, addr,
		    errno_name(errno));
		return;
	}
	r = connect(c, (struct sockaddr *)&ss, len);
	if (r != 0 && errno == EINPROGRESS) {
		socklen_t el = sizeof(err);

		p = (struct pollfd){.fd = c, .events = POLLOUT};
		poll(&p, 1, 10000);
		getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
		r = err ? -1 : 0;
		errno = err;
	}
	if (r != 0) {
		out("conn fd %d via %s: connect %s", L, addr,
		    errno_name(errno));
		syscall(SYS_close, c);
		return;
	}
	/* a byte, so that a TCP_DEFER_ACCEPT listener has the connection
	 * at once, not after its timer */
	if (syscall(SYS_write, c, "x", 1) != 1)
		out("conn fd %d via %s: client write %s", L, addr,
		    errno_name(errno));
	p = (struct pollfd){.fd = L, .events = POLLIN};
	r = poll(&p, 1, 10000);
	out("conn fd %d via %s: connected, listener readable %d", L, addr,
	    r == 1 && (p.revents & POLLIN));
	epoll_round("after connect");
	if (r == 1 && (p.revents & POLLIN))
		a = accept_client(L, c, addr);
	if (a >= 0) {
		int cv = -1, av = -1;
		socklen_t l = sizeof(int);

		acc_proto = k_protocol(a);
		cli = k_is_mptcp(c, &why);
		/* what the program asks of sockets the library never saw
		 * made must be the kernel's answer (issue 21 case 12) */
		getsockopt(c, SOL_SOCKET, SO_PROTOCOL, &cv, &l);
		l = sizeof(int);
		getsockopt(a, SOL_SOCKET, SO_PROTOCOL, &av, &l);
		out("conn fd %d via %s: SO_PROTOCOL as the kernel: client %d "
		    "accepted %d",
		    L, addr, cv == k_protocol(c), av == acc_proto);
		close(a);
	}
	out("K conn fd %d acc %d cli %d", L, acc_proto, cli);
	syscall(SYS_close, c);
}

static void connect_listeners(void)
{
	for (int L = 0; L < MAXFD; L++) {
		struct fdinfo *f = &fds[L];
		const char *to = NULL, *to4 = NULL;
		bool v4_on_port = false, twin = false;

		if (!f->open || !f->sock || !f->listening || f->canon != L ||
		    (f->domain != AF_INET && f->domain != AF_INET6) ||
		    f->type != SOCK_STREAM)
			continue;
		for (int M = 0; M < MAXFD; M++) {
			struct fdinfo *g = &fds[M];

			if (M == L || !g->open || !g->sock || !g->listening ||
			    g->canon != M || g->lport != f->lport)
				continue;
			v4_on_port |= g->domain == AF_INET;
			twin |= g->domain == f->domain &&
				strcmp(g->local, f->local) == 0;
		}
		if (twin) {
			out("conn fd %d: another listener has its address", L);
			continue;
		}
		if (f->domain == AF_INET)
			to = strncmp(f->local, "0.0.0.0/", 8) == 0 ? "127.0.0.1"
								   : NULL;
		else if (strncmp(f->local, "::/", 3) == 0) {
			to = "::1";
			to4 = v4_on_port ? NULL : "127.0.0.1";
		}
		if (!to) {
			static char a[80];

			snprintf(a, sizeof(a), "%s", f->local);
			*strrchr(a, '/') = 0;
			to = a;
		}
		client(L, f->domain, to, f->lport);
		if (to4)
			client(L, AF_INET, to4, f->lport);
	}
}

void state_report(void)
{
	/* the library's warnings go to fd 2: without it, compare.c cannot
	 * ask for them */
	out("fd 2: %s", std_fd(2) ? "stderr" : "replaced");
	scan();
	epoll_round("at end");
	connect_listeners();
}

int probe_main(bool via_system)
{
	char lines[MAXFD][160];
	int n = 0;

	for (int fd = 3; fd < MAXFD; fd++) {
		int proto = -1, lis = -1;
		socklen_t l = sizeof(int), sl = sizeof(struct sockaddr_storage);
		struct sockaddr_storage ss;

		if (fcntl(fd, F_GETFD) < 0)
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) != 0) {
			snprintf(lines[n++], sizeof(lines[0]),
				 "probe fd %d: open, no socket", fd);
			continue;
		}
		l = sizeof(int);
		getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &lis, &l);
		snprintf(lines[n++], sizeof(lines[0]),
			 "probe fd %d: socket listening %d", fd, lis);
		memset(&ss, 0, sizeof(ss));
		getsockname(fd, (struct sockaddr *)&ss, &sl);
		snprintf(lines[n++], sizeof(lines[0]),
			 "K probe fd %d kproto %d lport %d protocol %d via %s",
			 fd, k_protocol(fd),
			 chosen_port(port_of(&ss)) ? port_of(&ss) : -1, proto,
			 via_system ? "system" : "exec");
		if (n >= MAXFD - 2)
			break;
	}
	if (out_attach() != 0)
		return 1;
	for (int k = 0; k < n; k++)
		out("%s", lines[k]);
	return 0;
}
