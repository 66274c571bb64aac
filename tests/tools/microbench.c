/* SPDX-License-Identifier: MIT */
/*
 * microbench: timed loops of the socket calls libmptcpshim interposes,
 * for sockets the library never converts, so that scripts/bench.sh can
 * run the same loop with and without LD_PRELOAD and compare.
 *
 *   microbench [--mark] OP ITERS [PORT]
 *       Runs OP ITERS times (after a short warm-up) and prints
 *       "OP ns_per_op" on stdout. PORT (loopback) is needed by the ops
 *       that connect over TCP. With --mark, the loop is framed by two
 *       marker system calls, write(-1, "mb-begin"/"mb-end", ...), so that
 *       `strace -f` can count exactly the system calls made inside it.
 *   microbench spawn N PROG [ARGS...]
 *       Starts PROG N times, one after the other, waiting for each, and
 *       prints "spawn WALL CPU": wall-clock ns per start, and the CPU time
 *       (user + system, from wait4) the started program used, ns per
 *       start (start-up cost of a small program; the environment,
 *       LD_PRELOAD included, is passed on).
 *
 * OPs (one iteration each):
 *   udp_socket      socket(AF_INET, SOCK_DGRAM) + close()
 *   tcp_socket      socket(AF_INET, SOCK_STREAM) + close(): a candidate
 *                   the library marks, never bound
 *   udp_setsockopt  setsockopt(SO_REUSEADDR) on a UDP socket
 *   tcp_setsockopt_pre  setsockopt(TCP_NODELAY) on a TCP socket not yet
 *                   connected (the library records it until connect)
 *   tcp_setsockopt  setsockopt(TCP_NODELAY) on a connected TCP socket
 *   udp_connect     connect() of a UDP socket to 127.0.0.1:PORT
 *   udp_epoll       epoll_ctl(ADD) + epoll_ctl(DEL) of a UDP socket
 *   tcp_epoll_pre   the same for a TCP socket not yet connected (the
 *                   library records its registrations until connect)
 *   tcp_connect     an outbound TCP connection over loopback: socket(),
 *                   setsockopt(TCP_NODELAY), connect() to a listener of
 *                   this process on PORT, accept(), close() both (the
 *                   client with SO_LINGER 0, so no TIME_WAIT piles up)
 *   dup_close       dup() of a UDP socket + close() of the copy
 *   dup2_close      dup2() of a UDP socket onto a fixed number + close()
 *   dup3_close      dup3(O_CLOEXEC) of a UDP socket + close()
 *   close, close_range, closefrom
 *                   the raw dup3 system call (no library sees it) of a
 *                   UDP socket onto a fixed number, then close() /
 *                   close_range() / closefrom() of that number
 *   fcntl_getfl     fcntl(F_GETFL) of a UDP socket (built with
 *                   _FILE_OFFSET_BITS=64, as nginx: fcntl64)
 *   getsockopt      getsockopt(SO_ERROR) of a UDP socket
 *   sendmsg         sendmsg() of one byte on a connected UDP socket
 *                   (to 127.0.0.1:PORT), no control data
 *   sendmmsg        the same with sendmmsg(), one message
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void die(const char *what)
{
	fprintf(stderr, "microbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: microbench [--mark] OP ITERS [PORT]\n"
			"       microbench spawn N PROG [ARGS...]\n");
	exit(2);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void mark(int on, const char *text)
{
	if (on) {
		/* Fails with EBADF; strace shows it. */
		ssize_t r = write(-1, text, strlen(text));

		(void)r;
	}
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int listener(int port)
{
	struct sockaddr_in a = loopback(port);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		die("setsockopt");
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		die("bind");
	if (listen(fd, 128) != 0)
		die("listen");
	return fd;
}

/* One outbound loopback TCP connection, accepted and closed. */
static void one_connection(int lfd, const struct sockaddr_in *a)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	int one = 1;
	int c, s;

	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0)
		die("socket");
	if (setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		die("setsockopt");
	if (connect(c, (const struct sockaddr *)a, sizeof(*a)) != 0)
		die("connect");
	s = accept(lfd, NULL, NULL);
	if (s < 0)
		die("accept");
	close(s);
	if (setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) != 0)
		die("setsockopt");
	close(c);
}

static long long run_op(const char *op, long iters, int port, int marks)
{
	struct sockaddr_in a = loopback(port);
	long warm = iters / 20 + 10;
	int one = 1;
	int fd = -1, lfd = -1;
	long long t0, t1;
	long i;

#define LOOP(body)                                                             \
	do {                                                                   \
		for (i = 0; i < warm; i++) {                                   \
			body;                                                  \
		}                                                              \
		mark(marks, "mb-begin");                                       \
		t0 = now_ns();                                                 \
		for (i = 0; i < iters; i++) {                                  \
			body;                                                  \
		}                                                              \
		t1 = now_ns();                                                 \
		mark(marks, "mb-end");                                         \
	} while (0)

	if (strcmp(op, "udp_socket") == 0) {
		LOOP({
			fd = socket(AF_INET, SOCK_DGRAM, 0);
			if (fd < 0)
				die("socket");
			close(fd);
		});
	} else if (strcmp(op, "tcp_socket") == 0) {
		LOOP({
			fd = socket(AF_INET, SOCK_STREAM, 0);
			if (fd < 0)
				die("socket");
			close(fd);
		});
	} else if (strcmp(op, "udp_setsockopt") == 0) {
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			die("socket");
		LOOP({
			if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				       sizeof(one)) != 0)
				die("setsockopt");
		});
	} else if (strcmp(op, "tcp_setsockopt_pre") == 0) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket");
		LOOP({
			if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				       sizeof(one)) != 0)
				die("setsockopt");
		});
	} else if (strcmp(op, "tcp_setsockopt") == 0) {
		lfd = listener(port);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket");
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
			die("connect");
		LOOP({
			if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				       sizeof(one)) != 0)
				die("setsockopt");
		});
	} else if (strcmp(op, "udp_connect") == 0) {
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			die("socket");
		LOOP({
			if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
				die("connect");
		});
	} else if (strcmp(op, "udp_epoll") == 0 ||
		   strcmp(op, "tcp_epoll_pre") == 0) {
		struct epoll_event ev = {.events = EPOLLIN};
		int ep = epoll_create1(EPOLL_CLOEXEC);

		if (ep < 0)
			die("epoll_create1");
		fd = socket(AF_INET, op[0] == 'u' ? SOCK_DGRAM : SOCK_STREAM,
			    0);
		if (fd < 0)
			die("socket");
		ev.data.fd = fd;
		LOOP({
			if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
				die("epoll_ctl");
			if (epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL) != 0)
				die("epoll_ctl");
		});
		close(ep);
	} else if (strcmp(op, "tcp_connect") == 0) {
		lfd = listener(port);
		LOOP(one_connection(lfd, &a));
	} else if (strcmp(op, "dup_close") == 0 ||
		   strcmp(op, "dup2_close") == 0) {
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			die("socket");
		LOOP({
			int d = op[3] == '2' ? dup2(fd, 500) : dup(fd);

			if (d < 0 || close(d) != 0)
				die("dup");
		});
	} else if (strcmp(op, "dup3_close") == 0) {
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			die("socket");
		LOOP({
			if (dup3(fd, 500, O_CLOEXEC) != 500 || close(500) != 0)
				die("dup3");
		});
	} else if (strcmp(op, "close") == 0 || strcmp(op, "close_range") == 0 ||
		   strcmp(op, "closefrom") == 0) {
		/* The number to close is made by the raw system call, which
		 * no library sees: what is timed besides it is the close. */
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			die("socket");
		LOOP({
			if (syscall(SYS_dup3, fd, 900, 0) != 900)
				die("dup3");
			if (op[5] == '\0'  ? close(900) != 0
			    : op[5] == '_' ? close_range(900, 900, 0) != 0
					   : (closefrom(900), 0))
				die("close");
		});
	} else if (strcmp(op, "fcntl_getfl") == 0) {
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			die("socket");
		LOOP({
			if (fcntl(fd, F_GETFL) < 0)
				die("fcntl");
		});
	} else if (strcmp(op, "getsockopt") == 0) {
		int v;
		socklen_t l;

		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			die("socket");
		LOOP({
			l = sizeof(v);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &l) != 0)
				die("getsockopt");
		});
	} else if (strcmp(op, "sendmsg") == 0 || strcmp(op, "sendmmsg") == 0) {
		char byte = 'x';
		struct iovec iov = {.iov_base = &byte, .iov_len = 1};
		struct mmsghdr mm = {
			.msg_hdr = {.msg_iov = &iov, .msg_iovlen = 1}};
		int sink = socket(AF_INET, SOCK_DGRAM, 0), many = op[4] == 'm';

		if (sink < 0 || bind(sink, (struct sockaddr *)&a, sizeof(a)))
			die("bind");
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
			die("connect");
		LOOP({
			char drop;

			if (many ? sendmmsg(fd, &mm, 1, 0) != 1
				 : sendmsg(fd, &mm.msg_hdr, 0) != 1)
				die(op);
			if (recv(sink, &drop, 1, 0) != 1)
				die("recv");
		});
		close(sink);
	} else {
		fprintf(stderr, "microbench: unknown op %s\n", op);
		exit(2);
	}
#undef LOOP
	if (fd >= 0)
		close(fd);
	if (lfd >= 0)
		close(lfd);
	return t1 - t0;
}

static long long tv_ns(const struct timeval *tv)
{
	return (long long)tv->tv_sec * 1000000000LL + tv->tv_usec * 1000LL;
}

/* Wall-clock ns of n starts; *cpu gets the CPU ns the children used. */
static long long run_spawn(long n, char **argv, long long *cpu)
{
	long long t0, t1;
	long i;

	*cpu = 0;
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		struct rusage ru;
		pid_t pid;
		int st, e;

		e = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
		if (e != 0) {
			errno = e;
			die(argv[0]);
		}
		if (wait4(pid, &st, 0, &ru) != pid)
			die("wait4");
		*cpu += tv_ns(&ru.ru_utime) + tv_ns(&ru.ru_stime);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "microbench: %s failed\n", argv[0]);
			exit(1);
		}
	}
	t1 = now_ns();
	return t1 - t0;
}

static long parse_count(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > 100000000)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	int marks = 0, port = 0;
	long iters;
	const char *op;

	if (argc > 1 && strcmp(argv[1], "--mark") == 0) {
		marks = 1;
		argv++;
		argc--;
	}
	if (argc < 3)
		usage();
	if (strcmp(argv[1], "spawn") == 0) {
		if (argc < 4)
			usage();
		long long wall, cpu;

		iters = parse_count(argv[2]);
		wall = run_spawn(iters, argv + 3, &cpu);
		printf("spawn %.1f %.1f\n", (double)wall / (double)iters,
		       (double)cpu / (double)iters);
		return 0;
	}
	op = argv[1];
	iters = parse_count(argv[2]);
	if (argc > 3) {
		port = (int)parse_count(argv[3]);
		if (port > 65535)
			usage();
	}
	if (port == 0 &&
	    (strcmp(op, "tcp_setsockopt") == 0 ||
	     strcmp(op, "tcp_connect") == 0 || strcmp(op, "udp_connect") == 0 ||
	     strcmp(op, "sendmsg") == 0))
		usage();
	printf("%s %.1f\n", op,
	       (double)run_op(op, iters, port, marks) / (double)iters);
	return 0;
}
