/* SPDX-License-Identifier: MIT */
/*
 * Outbound connections and `tolerate`, against the kernel. Run with the
 * library preloaded and (tests/meson.build):
 *   MPTCPSHIM_CONNECT=43100-43199   destinations that get MPTCP
 *   MPTCPSHIM_PORTS=43200-43299     listeners that get MPTCP
 *   MPTCPSHIM_TOLERATE=TCP_QUICKACK
 * Servers on 43100-43199 are made here without the library's help: MPTCP
 * ones with IPPROTO_MPTCP, plain ones with a raw socket(2) system call.
 * Protocols and "is this connection MPTCP" are read from the kernel with
 * raw system calls (kcheck.h): the library answers SO_PROTOCOL 6 for the
 * sockets it converted, and TCP_IS_MPTCP is missing before 6.10.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../tools/kcheck.h"

/* The kernel's answer: the library answers IPPROTO_TCP to the program
 * for a socket it converted, so ask without it. */
static int proto_of(int fd)
{
	int v = k_protocol(fd);

	assert_int_not_equal(v, -1);
	return v;
}

static int is_mptcp(int fd)
{
	const char *why;
	int v = k_is_mptcp(fd, &why);

	if (v < 0)
		fail_msg("%s: %s", why, strerror(errno));
	return v;
}

/* 0 if this kernel's MPTCP sockets accept the option, else the errno. */
static int mptcp_refuses(int level, int name, int val)
{
	int fd = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	int e = 0;

	assert_true(fd >= 0);
	if (syscall(SYS_setsockopt, fd, level, name, &val, sizeof(val)) != 0)
		e = errno;
	close(fd);
	return e;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in s = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};

	s.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return s;
}

/* A server on a free port of [lo, lo+99], MPTCP or plain TCP, made
 * without going through the library's socket(). */
static int server(int lo, int mptcp, int *port)
{
	for (int tries = 0; tries < 100; tries++) {
		int p = lo + rand() % 100;
		struct sockaddr_in s = loopback(p);
		int fd = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM,
				      mptcp ? IPPROTO_MPTCP : 0);

		assert_true(fd >= 0);
		if (syscall(SYS_bind, fd, &s, sizeof(s)) == 0 &&
		    listen(fd, 8) == 0) {
			*port = p;
			return fd;
		}
		close(fd);
	}
	fail_msg("no free port near %d", lo);
	return -1;
}

static void roundtrip(int client, int lfd, int want_accepted_proto)
{
	char buf[4];
	int a = accept(lfd, NULL, NULL);

	assert_true(a >= 0);
	assert_int_equal(proto_of(a), want_accepted_proto);
	assert_int_equal(write(client, "ping", 4), 4);
	assert_int_equal(read(a, buf, 4), 4);
	assert_memory_equal(buf, "ping", 4);
	close(a);
}

static void test_listed_destination_uses_mptcp(void **state)
{
	int port, lfd = server(43100, 1, &port);
	struct sockaddr_in d = loopback(port);
	int c = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	errno = 777;
	assert_int_equal(connect(c, (struct sockaddr *)&d, sizeof(d)), 0);
	assert_int_equal(errno, 777);
	assert_int_equal(proto_of(c), IPPROTO_MPTCP);
	assert_int_equal(is_mptcp(c), 1);
	roundtrip(c, lfd, IPPROTO_MPTCP);
	close(c);
	close(lfd);
}

/* A plain TCP backend still works: the kernel falls back. */
static void test_tcp_backend_still_works(void **state)
{
	int port, lfd = server(43100, 0, &port);
	struct sockaddr_in d = loopback(port);
	int c = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	assert_int_equal(connect(c, (struct sockaddr *)&d, sizeof(d)), 0);
	assert_int_equal(proto_of(c), IPPROTO_MPTCP);
	assert_int_equal(is_mptcp(c), 0);
	roundtrip(c, lfd, IPPROTO_TCP);
	close(c);
	close(lfd);
}

static void test_unlisted_destination_stays_tcp(void **state)
{
	int port, lfd = server(43300, 1, &port);
	struct sockaddr_in d = loopback(port);
	int c = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	assert_int_equal(connect(c, (struct sockaddr *)&d, sizeof(d)), 0);
	assert_int_equal(proto_of(c), IPPROTO_TCP);
	assert_int_equal(is_mptcp(c), 0);
	roundtrip(c, lfd, IPPROTO_TCP);
	close(c);
	close(lfd);
}

/* Non-blocking connect: EINPROGRESS, then SO_ERROR, as with TCP; flags
 * and options the program set before connect() are kept. */
static void test_nonblocking_with_options(void **state)
{
	int port, lfd = server(43100, 1, &port);
	struct sockaddr_in d = loopback(port);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, v = 0, rc;
	socklen_t l = sizeof(v);
	struct pollfd p = {.fd = c, .events = POLLOUT};

	(void)state;
	assert_int_equal(
		setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)), 0);
	assert_int_equal(
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	rc = connect(c, (struct sockaddr *)&d, sizeof(d));
	assert_true(rc == 0 || errno == EINPROGRESS);
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(getsockopt(c, SOL_SOCKET, SO_ERROR, &v, &l), 0);
	assert_int_equal(v, 0);
	assert_int_equal(proto_of(c), IPPROTO_MPTCP);
	assert_int_equal(is_mptcp(c), 1);
	assert_true(fcntl(c, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(c, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(getsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &v, &l), 0);
	assert_int_equal(v, 1);
	assert_int_equal(getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &l), 0);
	assert_int_equal(v, 1);
	close(c);
	close(lfd);
}

/* nginx adds an upstream socket to its epoll set before connect(): the
 * registration (events and data) must hold for the MPTCP socket. */
static void test_epoll_registration_kept_on_connect(void **state)
{
	int port, lfd = server(43100, 1, &port);
	struct sockaddr_in d = loopback(port);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET,
				 .data.u64 = 0x4242};
	struct epoll_event got = {0};
	int rc;

	(void)state;
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev), 0);
	rc = connect(c, (struct sockaddr *)&d, sizeof(d));
	assert_true(rc == 0 || errno == EINPROGRESS);
	assert_int_equal(proto_of(c), IPPROTO_MPTCP);
	assert_int_equal(epoll_wait(ep, &got, 1, 5000), 1);
	assert_true(got.events & EPOLLOUT);
	assert_int_equal(got.data.u64, 0x4242);
	assert_int_equal(is_mptcp(c), 1);
	/* the program can still modify and delete its registration */
	ev.events = EPOLLIN;
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_MOD, c, &ev), 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_DEL, c, NULL), 0);
	close(c);
	close(ep);
	close(lfd);
}

/* The same for a listener registered before bind(), with EPOLLEXCLUSIVE
 * (as nginx registers its listeners, though after bind()). */
static void test_epoll_registration_kept_on_bind(void **state)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE,
				 .data.u64 = 7};
	struct epoll_event got = {0};

	(void)state;
	for (int p = 43200; p < 43300; p++) {
		struct sockaddr_in s = loopback(p);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		int c;

		assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
		if (bind(fd, (struct sockaddr *)&s, sizeof(s)) != 0) {
			close(fd);
			continue;
		}
		assert_int_equal(proto_of(fd), IPPROTO_MPTCP);
		assert_int_equal(listen(fd, 4), 0);
		c = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
		assert_int_equal(connect(c, (struct sockaddr *)&s, sizeof(s)),
				 0);
		assert_int_equal(epoll_wait(ep, &got, 1, 5000), 1);
		assert_int_equal(got.data.u64, 7);
		close(c);
		close(fd);
		close(ep);
		return;
	}
	fail_msg("no free port in 43200-43299");
}

/* close() is not interposed: a registration recorded for a socket that
 * was closed must not be replayed onto another socket later put on the
 * same fd number (dup2) - the program's epoll data would be stale. */
static void test_stale_epoll_registration_dropped(void **state)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0xdead};
	struct epoll_event got;
	int a = socket(AF_INET, SOCK_STREAM, 0);
	int b = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev), 0);
	close(a);			 /* the record for fd a stays behind */
	assert_int_equal(dup2(b, a), a); /* another socket on that number */
	close(b);
	for (int p = 43200; p < 43300; p++) {
		struct sockaddr_in s = loopback(p);
		int c;

		if (bind(a, (struct sockaddr *)&s, sizeof(s)) != 0)
			continue;
		assert_int_equal(proto_of(a), IPPROTO_MPTCP);
		assert_int_equal(listen(a, 4), 0);
		c = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
		assert_int_equal(connect(c, (struct sockaddr *)&s, sizeof(s)),
				 0);
		/* the dead socket's registration was not made again */
		assert_int_equal(epoll_wait(ep, &got, 1, 200), 0);
		close(c);
		close(a);
		close(ep);
		return;
	}
	fail_msg("no free port in 43200-43299");
}

/* A socket already bound (proxy_bind) is not converted. */
static void test_bound_socket_stays_tcp(void **state)
{
	int port, lfd = server(43100, 1, &port);
	struct sockaddr_in d = loopback(port), any = loopback(0);
	int c = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	assert_int_equal(bind(c, (struct sockaddr *)&any, sizeof(any)), 0);
	assert_int_equal(connect(c, (struct sockaddr *)&d, sizeof(d)), 0);
	assert_int_equal(proto_of(c), IPPROTO_TCP);
	close(c);
	close(lfd);
}

/* A refused connection reports ECONNREFUSED as TCP would. */
static void test_refused_same_errno(void **state)
{
	int port, lfd = server(43100, 1, &port);
	struct sockaddr_in d = loopback(port);
	int c = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	close(lfd); /* nothing listens there any more */
	assert_int_equal(connect(c, (struct sockaddr *)&d, sizeof(d)), -1);
	assert_int_equal(errno, ECONNREFUSED);
	close(c);
}

/* The test needs a kernel whose MPTCP sockets refuse TCP_QUICKACK and
 * TCP_USER_TIMEOUT (every kernel measured so far: 6.1, 6.12, 6.18). */
static void need_refused_quickack_user_timeout(void)
{
	if (mptcp_refuses(IPPROTO_TCP, TCP_QUICKACK, 1) &&
	    mptcp_refuses(IPPROTO_TCP, TCP_USER_TIMEOUT, 5000))
		return;
	print_message("kernel %s: MPTCP sockets accept TCP_QUICKACK or "
		      "TCP_USER_TIMEOUT: no refusal to tolerate\n",
		      k_release());
	skip();
}

/* tolerate=TCP_QUICKACK: refused by MPTCP sockets, reported as success;
 * other refusals and TCP sockets are untouched. */
static void test_tolerate_on_mptcp_socket(void **state)
{
	int m, t, one = 1, v = 5000;

	(void)state;
	need_refused_quickack_user_timeout();
	m = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	t = socket(AF_INET, SOCK_STREAM, 0);
	errno = 4321;
	assert_int_equal(
		setsockopt(m, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one)), 0);
	assert_int_equal(errno, 4321);
	/* not in the list: the real error */
	assert_int_equal(
		setsockopt(m, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof(v)),
		-1);
	assert_int_equal(errno, ENOPROTOOPT);
	/* a TCP socket's real result, success or failure, is untouched */
	assert_int_equal(
		setsockopt(t, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one)), 0);
	assert_int_equal(setsockopt(t, IPPROTO_TCP, TCP_QUICKACK, &one, 1), -1);
	assert_int_equal(errno, EINVAL);
	/* a bad fd is still an error, whatever the option */
	assert_int_equal(
		setsockopt(-1, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one)),
		-1);
	assert_int_equal(errno, EBADF);
	close(m);
	close(t);
}

/* A tolerated option set before bind() does not stop the conversion. */
static void test_tolerated_option_before_bind(void **state)
{
	int one = 1;

	(void)state;
	need_refused_quickack_user_timeout();
	for (int p = 43200; p < 43300; p++) {
		struct sockaddr_in s = loopback(p);
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		assert_int_equal(setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one,
					    sizeof(one)),
				 0);
		if (bind(fd, (struct sockaddr *)&s, sizeof(s)) == 0) {
			assert_int_equal(proto_of(fd), IPPROTO_MPTCP);
			close(fd);
			return;
		}
		close(fd);
	}
	fail_msg("no free port in 43200-43299");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listed_destination_uses_mptcp),
		cmocka_unit_test(test_tcp_backend_still_works),
		cmocka_unit_test(test_unlisted_destination_stays_tcp),
		cmocka_unit_test(test_nonblocking_with_options),
		cmocka_unit_test(test_epoll_registration_kept_on_connect),
		cmocka_unit_test(test_epoll_registration_kept_on_bind),
		cmocka_unit_test(test_stale_epoll_registration_dropped),
		cmocka_unit_test(test_bound_socket_stays_tcp),
		cmocka_unit_test(test_refused_same_errno),
		cmocka_unit_test(test_tolerate_on_mptcp_socket),
		cmocka_unit_test(test_tolerated_option_before_bind),
	};

	srand((unsigned)getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
