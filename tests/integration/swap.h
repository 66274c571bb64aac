/* SPDX-License-Identifier: MIT */
/*
 * What the tests of the swap (test_fdlife.c, test_share.c, test_races.c,
 * test_signals.c, test_badptr.c, test_logging.c, test_fallback.c) share.
 * They run with the library preloaded and tests/meson.build's swap_env:
 * ports 41000-41999 listed, 42000-42999 not.
 *
 * Every protocol is read from the kernel with the raw system call: to the
 * program, the library answers IPPROTO_TCP for a socket it converted.
 */
#ifndef MPTCPSHIM_TEST_SWAP_H
#define MPTCPSHIM_TEST_SWAP_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

#define LISTED_LO   41000
#define UNLISTED_LO 42000
#define NPORTS	    1000

/* SO_PROTOCOL as the kernel has it; -1 if the fd is no socket. */
static inline int kproto(int fd)
{
	int v = -1;
	socklen_t l = sizeof(v);

	if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_PROTOCOL, &v, &l) != 0)
		return -1;
	return v;
}

static inline socklen_t loop_addr(int family, int port,
				  struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		s6->sin6_addr = in6addr_loopback;
		return sizeof(*s6);
	}
	struct sockaddr_in *s = (struct sockaddr_in *)ss;

	s->sin_family = AF_INET;
	s->sin_port = htons((uint16_t)port);
	s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*s);
}

/* Binds fd to a free loopback port of [lo, lo + NPORTS); the port, or -1
 * with errno set by the last bind(). */
static inline int bind_free(int fd, int family, int lo)
{
	static unsigned seed;
	int e = EADDRINUSE;

	if (!seed)
		seed = (unsigned)getpid();
	for (int tries = 0; tries < 200; tries++) {
		struct sockaddr_storage ss;
		int p = lo + (int)(rand_r(&seed) % NPORTS);
		socklen_t len = loop_addr(family, p, &ss);

		if (bind(fd, (struct sockaddr *)&ss, len) == 0)
			return p;
		e = errno;
		if (e != EADDRINUSE)
			break;
	}
	errno = e;
	return -1;
}

/* The local port of fd, as the kernel has it. */
static inline int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Connects a client of protocol proto to loopback:port, accepts it on lfd
 * and returns the accepted socket's protocol (the kernel's). */
static inline int accepted_proto(int lfd, int family, int port, int proto)
{
	struct sockaddr_storage ss;
	socklen_t len = loop_addr(family, port, &ss);
	int c = (int)syscall(SYS_socket, family, SOCK_STREAM, proto);
	int a, p;

	assert_true(c >= 0);
	assert_int_equal(connect(c, (struct sockaddr *)&ss, len), 0);
	a = accept(lfd, NULL, NULL);
	assert_true(a >= 0);
	p = kproto(a);
	close(a);
	close(c);
	return p;
}

/* How many fds are open (to check that nothing leaks). */
static inline int open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

#endif
