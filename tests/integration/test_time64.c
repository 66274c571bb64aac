/* SPDX-License-Identifier: MIT */
/*
 * A program built with a 64-bit time_t (-D_TIME_BITS=64, as Debian 13
 * builds everything on armhf and armel, nginx among it). On a 32-bit ABI
 * its setsockopt() is glibc's __setsockopt64, getsockopt() is
 * __getsockopt64, sendmsg() and sendmmsg() are __sendmsg64 and
 * __sendmmsg64, fcntl() is __fcntl_time64: if the library did not define
 * those names, the calls would pass it by. Options set before bind()
 * would then be lost in the conversion, SO_PROTOCOL would answer MPTCP,
 * and a socket duplicated with fcntl() or sent with SCM_RIGHTS would be
 * converted under the other reference. On 64-bit ABIs the names are the
 * plain ones, and this checks them again.
 *
 * Built by tests/meson.build with _FILE_OFFSET_BITS=64 and _TIME_BITS=64;
 * runs with ports 41000-41999 listed (swap.h).
 */
#include "swap.h"

#include <sys/stat.h>

#if defined(__TIMESIZE) && __TIMESIZE != 64 && !defined(__USE_TIME_BITS64)
#error "built without _TIME_BITS=64: it would not call the time64 names"
#endif

static void test_names(void **state)
{
	(void)state;
#ifdef __USE_TIME_BITS64
	printf("# this program calls __setsockopt64, __getsockopt64, "
	       "__sendmsg64, __sendmmsg64 and __fcntl_time64\n");
#else
	printf("# a 64-bit ABI: this program calls setsockopt, getsockopt, "
	       "sendmsg, sendmmsg and fcntl64\n");
#endif
}

static int get_int(int fd, int level, int name)
{
	int v = -1;
	socklen_t l = sizeof(v);

	if (syscall(SYS_getsockopt, fd, level, name, &v, &l) != 0)
		fail_msg("getsockopt(%d, %d): %s", level, name,
			 strerror(errno));
	return v;
}

/* Options set before bind(), read back (past the library) from the
 * converted listener: IPV6_V6ONLY, SO_REUSEADDR, SO_KEEPALIVE. */
static void test_options_survive(void **state)
{
	int fd = socket(AF_INET6, SOCK_STREAM, 0), one = 1;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)),
		0);
	assert_int_equal(
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)), 0);
	assert_true(bind_free(fd, AF_INET6, LISTED_LO) > 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(kproto(fd), IPPROTO_MPTCP);
	assert_int_equal(get_int(fd, IPPROTO_IPV6, IPV6_V6ONLY), 1);
	assert_int_equal(get_int(fd, SOL_SOCKET, SO_REUSEADDR), 1);
	assert_int_equal(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
	close(fd);
}

/* getsockopt(SO_PROTOCOL) of a converted listener answers TCP, the
 * protocol the program asked for; the kernel says MPTCP. */
static void test_so_protocol(void **state)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), v = -1;
	socklen_t l = sizeof(v);

	(void)state;
	assert_true(bind_free(fd, AF_INET, LISTED_LO) > 0);
	assert_int_equal(kproto(fd), IPPROTO_MPTCP);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &l), 0);
	assert_int_equal(v, IPPROTO_TCP);
	close(fd);
}

/* fcntl(F_DUPFD_CLOEXEC) before bind(): two descriptors, one socket; the
 * library keeps it TCP rather than swap one of them. */
static void test_fcntl_dup(void **state)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	struct stat a, b;

	(void)state;
	assert_true(copy >= 100);
	assert_true(bind_free(fd, AF_INET, LISTED_LO) > 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(fstat(copy, &b), 0);
	assert_true(a.st_ino == b.st_ino);
	assert_int_equal(kproto(fd), IPPROTO_TCP);
	close(copy);
	close(fd);
}

/* A socket sent with SCM_RIGHTS (sendmsg(), then sendmmsg()) before
 * bind() is another process's too: it stays TCP. */
static void test_scm_rights(void **state)
{
	(void)state;
	for (int mm = 0; mm < 2; mm++) {
		int sv[2], fd = socket(AF_INET, SOCK_STREAM, 0);
		char cbuf[CMSG_SPACE(sizeof(int))] = {0}, byte = 'x';
		struct iovec iov = {.iov_base = &byte, .iov_len = 1};
		struct mmsghdr v = {
			.msg_hdr = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)}};
		struct cmsghdr *c = CMSG_FIRSTHDR(&v.msg_hdr);

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		if (!c)
			fail();
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
		if (mm)
			assert_int_equal(sendmmsg(sv[0], &v, 1, 0), 1);
		else
			assert_int_equal(sendmsg(sv[0], &v.msg_hdr, 0), 1);
		assert_true(bind_free(fd, AF_INET, LISTED_LO) > 0);
		if (kproto(fd) != IPPROTO_TCP)
			fail_msg("sent with %s, then converted",
				 mm ? "sendmmsg" : "sendmsg");
		close(sv[0]);
		close(sv[1]);
		close(fd);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_options_survive),
		cmocka_unit_test(test_so_protocol),
		cmocka_unit_test(test_fcntl_dup),
		cmocka_unit_test(test_scm_rights),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
