/* SPDX-License-Identifier: MIT */
/*
 * Memory the kernel refuses to read gets EFAULT, as without the library
 * (test suites such as LTP's bind01 pass such pointers on purpose). Was
 * issue 12 case 1: bind(fd, (struct sockaddr *)-1, 16) on a candidate, and
 * connect(fd, (void *)8, 16) under MPTCPSHIM_CONNECT, died of SIGSEGV.
 * The library reads no program memory before the kernel has said it may,
 * and assumes nothing about the size or alignment of an address.
 * Runs with MPTCPSHIM_CONNECT=all (tests/meson.build).
 */
#include "swap.h"

#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/wait.h>

extern char **environ;

/* A page whose next page is inaccessible: bytes near its end are the
 * last readable ones. */
static unsigned char *guarded_page(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	unsigned char *p = mmap(NULL, (size_t)ps * 2, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	assert_int_equal(mprotect(p + ps, (size_t)ps, PROT_NONE), 0);
	return p;
}

static void test_bind_bad_pointers(void **state)
{
	long ps = sysconf(_SC_PAGESIZE);
	unsigned char *page = guarded_page();
	struct sockaddr_storage ss;
	socklen_t len = loop_addr(AF_INET, LISTED_LO + 7, &ss);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	const void *bad[] = {(void *)-1, NULL, (void *)8,
			     /* the address runs 8 bytes into the guard page */
			     page + ps - 8};

	(void)state;
	memcpy(page + ps - 8, &ss, 8);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_int_equal(bind(fd, bad[i], len), -1);
		assert_int_equal(errno, EFAULT);
	}
	/* still a candidate: a good bind() converts it */
	assert_true(bind_free(fd, AF_INET, LISTED_LO) > 0);
	assert_int_equal(kproto(fd), IPPROTO_MPTCP);
	close(fd);
	munmap(page, (size_t)ps * 2);
}

/* An address at an odd place, ending exactly where memory ends. */
static void test_bind_unaligned_at_the_edge(void **state)
{
	long ps = sysconf(_SC_PAGESIZE);
	unsigned char *page = guarded_page();
	struct sockaddr_storage ss;
	socklen_t len = loop_addr(AF_INET6, LISTED_LO + 11, &ss);
	unsigned char *at = page + ps - len; /* 28 bytes: not 8-aligned */
	int fd = socket(AF_INET6, SOCK_STREAM, 0);

	(void)state;
	assert_true(((uintptr_t)at & 7) != 0);
	memcpy(at, &ss, len);
	if (bind(fd, (const void *)at, len) != 0) {
		/* port busy: any free one, through the same edge */
		int port = bind_free(fd, AF_INET6, LISTED_LO);

		assert_true(port > 0);
	}
	assert_int_equal(kproto(fd), IPPROTO_MPTCP);
	close(fd);
	munmap(page, (size_t)ps * 2);
}

/* An option value longer than the kernel reads: an int at the end of
 * memory, its length 64. The kernel reads 4 bytes and succeeds; the
 * library recorded the value by copying all 64 and died of SIGSEGV
 * (review of issue 12 case 1). The option still reaches the MPTCP
 * socket. */
static void test_setsockopt_value_at_the_edge(void **state)
{
	long ps = sysconf(_SC_PAGESIZE);
	unsigned char *page = guarded_page();
	int one = 1, v = 0, fd = socket(AF_INET, SOCK_STREAM, 0);
	socklen_t l = sizeof(v);

	(void)state;
	memcpy(page + ps - 4, &one, 4);
	assert_int_equal(
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, page + ps - 4, 64), 0);
	assert_int_equal(
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, page + ps - 4, 16), 0);
	assert_true(bind_free(fd, AF_INET, LISTED_LO) > 0);
	assert_int_equal(kproto(fd), IPPROTO_MPTCP);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, &l), 0);
	assert_int_equal(v, 1);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &l), 0);
	assert_int_equal(v, 1);
	close(fd);
	munmap(page, (size_t)ps * 2);
}

/* The program's own MPTCP socket bound with an AF_UNSPEC address of 16
 * bytes (the kernel takes it as INADDR_ANY for AF_INET) that ends where
 * memory ends: with log=debug (tests/meson.build) the library says it
 * left the socket alone, and read 24 bytes to do so (SIGSEGV). */
static void test_native_unspec_at_the_edge(void **state)
{
	long ps = sysconf(_SC_PAGESIZE);
	unsigned char *page = guarded_page();
	struct sockaddr_in *at = (void *)(page + ps - sizeof(*at));
	int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP), rc = -1;

	(void)state;
	assert_true(fd >= 0);
	for (int p = LISTED_LO + 500; rc != 0 && p < LISTED_LO + 600; p++) {
		struct sockaddr_in sin = {.sin_family = AF_UNSPEC,
					  .sin_port = htons((uint16_t)p)};

		memcpy(at, &sin, sizeof(sin));
		rc = bind(fd, (const struct sockaddr *)at, sizeof(*at));
		if (rc != 0)
			assert_int_equal(errno, EADDRINUSE);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(kproto(fd), IPPROTO_MPTCP);
	close(fd);
	munmap(page, (size_t)ps * 2);
}

/* Lengths the kernel refuses: its answer, untouched. */
static void test_bind_bad_lengths(void **state)
{
	struct sockaddr_storage ss;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	loop_addr(AF_INET, LISTED_LO + 13, &ss);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, 4), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, 100000), -1);
	assert_int_equal(errno, EINVAL);
	close(fd);
}

static void test_connect_bad_pointers(void **state)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	errno = 0;
	assert_int_equal(connect(fd, (void *)8, 16), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(connect(fd, (void *)-1, 16), -1);
	assert_int_equal(errno, EFAULT);
	close(fd);
}

/* The other calls read nothing before the kernel has succeeded. */
static void test_other_calls_bad_pointers(void **state)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int ep = epoll_create1(EPOLL_CLOEXEC), sv[2];
	socklen_t l = 4;

	(void)state;
	assert_int_equal(
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, (void *)-1, 4), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, (void *)-1), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(
		getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, (void *)-1, &l), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(sendmsg(sv[0], (void *)-1, 0), -1);
	assert_int_equal(errno, EFAULT);
	close(sv[0]);
	close(sv[1]);
	close(ep);
	close(fd);
}

/* sendmsg() with control data whose header lies (cmsg_len beyond the
 * buffer) on a converted listener's connection: MPTCP ignores control data
 * and succeeds where TCP says EINVAL (the kernel's difference), and the
 * library must not read past the buffer. Review finding F3: SIGSEGV. */
static void test_sendmsg_lying_control_header(void **state)
{
	struct sockaddr_storage ss;
	int l = socket(AF_INET, SOCK_STREAM, 0), port, c, a;
	char ctl[CMSG_SPACE(sizeof(int))] = {0}, byte = 'x';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl,
			     .msg_controllen = sizeof(ctl)};
	struct cmsghdr h = {.cmsg_len = 0x7fffffff,
			    .cmsg_level = SOL_SOCKET,
			    .cmsg_type = SCM_RIGHTS};

	(void)state;
	port = bind_free(l, AF_INET, LISTED_LO);
	assert_true(port > 0);
	assert_int_equal(listen(l, 4), 0);
	c = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	assert_int_equal(connect(c, (struct sockaddr *)&ss,
				 loop_addr(AF_INET, port, &ss)),
			 0);
	a = accept(l, NULL, NULL);
	assert_int_equal(kproto(a), IPPROTO_MPTCP);
	memcpy(ctl, &h, sizeof(h));
	/* whatever the kernel says, the program is still here */
	(void)sendmsg(a, &msg, 0);
	close(a);
	close(c);
	close(l);
}

/* execve() with memory the kernel cannot read, while a converted
 * listener stays open across it (the library then reads the
 * environment): -1 with EFAULT, as without the library. Review finding
 * F10: SIGSEGV. The bad execs are made in a child. */
static void test_exec_bad_pointers(void **state)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	assert_true(bind_free(l, AF_INET, LISTED_LO) > 0);
	assert_int_equal(kproto(l), IPPROTO_MPTCP);
	for (int how = 0; how < 3; how++) {
		char *bad_entry[] = {(char *)8, NULL};
		char name[] = "x", *argv[] = {name, NULL};
		/* volatile: the compiler must not reason about them */
		const char *volatile bad_path = (const char *)8;
		char **volatile bad_env = (char **)-1;
		pid_t pid = fork();
		int st;

		assert_true(pid >= 0);
		if (pid == 0) {
			int rc = how == 0   ? execve("/proc/self/exe", argv,
						     bad_env)
				 : how == 1 ? execve("/proc/self/exe", argv,
						     bad_entry)
					    : execve(bad_path, argv, environ);

			_exit(rc == -1 && errno == EFAULT ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind_bad_pointers),
		cmocka_unit_test(test_bind_unaligned_at_the_edge),
		cmocka_unit_test(test_setsockopt_value_at_the_edge),
		cmocka_unit_test(test_native_unspec_at_the_edge),
		cmocka_unit_test(test_bind_bad_lengths),
		cmocka_unit_test(test_connect_bad_pointers),
		cmocka_unit_test(test_other_calls_bad_pointers),
		cmocka_unit_test(test_sendmsg_lying_control_header),
		cmocka_unit_test(test_exec_bad_pointers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
