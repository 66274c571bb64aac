/* SPDX-License-Identifier: MIT */
/*
 * The life of an fd under the library: a second reference made before
 * bind() (dup, dup2, dup3, F_DUPFD, F_DUPFD_CLOEXEC) means one socket
 * seen through two numbers, which a swap of one number would split: it
 * stays TCP, and every reference sees the same bound socket. A reference
 * closed before bind() does not count; a record never outlives its socket
 * (close, close_range, closefrom, dup2 over it), so nothing of a closed
 * socket reaches the next one on its number.
 */
#include "swap.h"

#include <linux/close_range.h>
#include <sys/epoll.h>
#include <sys/resource.h>

enum how { DUP, DUP2, DUP3, DUPFD, DUPFD_CLOEXEC, NHOW };
static const char *const how_name[] = {"dup", "dup2", "dup3", "F_DUPFD",
				       "F_DUPFD_CLOEXEC"};

static int second_ref(int fd, enum how how)
{
	switch (how) {
	case DUP:
		return dup(fd);
	case DUP2:
		return dup2(fd, 900);
	case DUP3:
		return dup3(fd, 901, O_CLOEXEC);
	case DUPFD:
		return fcntl(fd, F_DUPFD, 100);
	case DUPFD_CLOEXEC:
		return fcntl(fd, F_DUPFD_CLOEXEC, 100);
	case NHOW:
		break;
	}
	return -1;
}

/* Was issue 12 case 3: only the bound number was swapped; the other one
 * kept an unbound TCP socket (port 0, options lost, listen() on a random
 * port). */
static void test_second_reference_keeps_one_socket(void **state)
{
	(void)state;
	for (enum how how = DUP; how < NHOW; how++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int d = second_ref(fd, how), one = 1, v = 0, port;
		socklen_t l = sizeof(v);

		print_message("# %s\n", how_name[how]);
		assert_true(fd >= 0 && d >= 0 && d != fd);
		port = bind_free(fd, AF_INET, LISTED_LO);
		assert_true(port > 0);
		assert_int_equal(kproto(fd), IPPROTO_TCP);
		assert_int_equal(kproto(d), IPPROTO_TCP);
		/* one socket: bound through one number, seen through both */
		assert_int_equal(local_port(d), port);
		assert_int_equal(setsockopt(d, SOL_SOCKET, SO_KEEPALIVE, &one,
					    sizeof(one)),
				 0);
		assert_int_equal(
			getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &l), 0);
		assert_int_equal(v, 1);
		assert_int_equal(listen(d, 4), 0);
		assert_int_equal(accepted_proto(fd, AF_INET, port, 0),
				 IPPROTO_TCP);
		close(d);
		close(fd);
	}
}

/* A second reference closed before bind() leaves one: it converts. */
static void test_closed_reference_does_not_count(void **state)
{
	(void)state;
	for (enum how how = DUP; how < NHOW; how++) {
		int fd = socket(AF_INET6, SOCK_STREAM, 0), port;

		close(second_ref(fd, how));
		port = bind_free(fd, AF_INET6, LISTED_LO);
		assert_true(port > 0);
		assert_int_equal(kproto(fd), IPPROTO_MPTCP);
		assert_int_equal(listen(fd, 4), 0);
		assert_int_equal(
			accepted_proto(fd, AF_INET6, port, IPPROTO_MPTCP),
			IPPROTO_MPTCP);
		close(fd);
	}
}

/* The copy is the one bound: the same, seen from the original. */
static void test_bind_through_the_copy(void **state)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int d = dup(fd), port;

	(void)state;
	port = bind_free(d, AF_INET, LISTED_LO);
	assert_true(port > 0);
	assert_int_equal(kproto(fd), IPPROTO_TCP);
	assert_int_equal(local_port(fd), port);
	close(fd);
	/* one reference left, but it is bound: nothing more to do */
	assert_int_equal(kproto(d), IPPROTO_TCP);
	close(d);
}

/* Another socket moved onto a candidate's number: the number's old record
 * (its options) is gone with its socket. Was a known limit. */
static void test_dup2_over_a_candidate(void **state)
{
	int a = socket(AF_INET, SOCK_STREAM, 0);
	int b = socket(AF_INET, SOCK_STREAM, 0);
	int big = 1 << 20, v = 0, port;
	socklen_t l = sizeof(v);

	(void)state;
	assert_int_equal(
		setsockopt(a, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)), 0);
	assert_int_equal(dup2(b, a), a);
	close(b);
	port = bind_free(a, AF_INET, LISTED_LO);
	assert_true(port > 0);
	assert_int_equal(kproto(a), IPPROTO_MPTCP);
	/* b's socket never had SO_RCVBUF set: the kernel's default stays
	 * (the value set is doubled by the kernel; the default is far less
	 * than 2 MiB) */
	assert_int_equal(getsockopt(a, SOL_SOCKET, SO_RCVBUF, &v, &l), 0);
	assert_true(v < 2 * big);
	close(a);
}

/* Was issue 12 case 4: an EPOLLEXCLUSIVE registration of the socket that
 * died under dup2() was replayed on the new one: epoll_wait() returned
 * the dead socket's data for a socket the program never registered. */
static void test_no_stale_epoll_registration(void **state)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int a = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int b = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE,
				 .data.u64 = 0xdeadULL};
	struct epoll_event out[4];
	int port;

	(void)state;
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev), 0);
	assert_int_equal(dup2(b, a), a); /* a's socket and its entry die */
	close(b);
	port = bind_free(a, AF_INET, LISTED_LO);
	assert_true(port > 0);
	assert_int_equal(kproto(a), IPPROTO_MPTCP);
	assert_int_equal(listen(a, 4), 0);
	{
		struct sockaddr_storage ss;
		socklen_t len = loop_addr(AF_INET, port, &ss);
		int c = socket(AF_INET, SOCK_STREAM, 0);

		assert_int_equal(connect(c, (struct sockaddr *)&ss, len), 0);
		/* the program never registered this socket: no event */
		assert_int_equal(epoll_wait(ep, out, 4, 200), 0);
		close(c);
	}
	close(a);
	close(ep);
}

/* The socket's own registrations, plain and EPOLLEXCLUSIVE, are made
 * again on the MPTCP socket with their data. */
static void test_own_epoll_registrations_kept(void **state)
{
	(void)state;
	for (int excl = 0; excl < 2; excl++) {
		int ep = epoll_create1(EPOLL_CLOEXEC);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		struct epoll_event ev = {
			.events = EPOLLIN | (excl ? EPOLLEXCLUSIVE : 0),
			.data.u64 = 0x1234ULL + (unsigned)excl};
		struct epoll_event out[4];
		struct sockaddr_storage ss;
		int port, c;

		assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
		port = bind_free(fd, AF_INET, LISTED_LO);
		assert_true(port > 0);
		assert_int_equal(kproto(fd), IPPROTO_MPTCP);
		assert_int_equal(listen(fd, 4), 0);
		c = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(connect(c, (struct sockaddr *)&ss,
					 loop_addr(AF_INET, port, &ss)),
				 0);
		assert_int_equal(epoll_wait(ep, out, 4, 2000), 1);
		assert_true(out[0].data.u64 == 0x1234ULL + (unsigned)excl);
		close(c);
		close(fd);
		close(ep);
	}
}

/* getsockopt(SO_PROTOCOL) tells the program what it asked for; the kernel
 * (and accepted sockets) tell the truth. A converted number closed (by
 * close, close_range, closefrom) forgets it: the next socket on the
 * number, an MPTCP socket the program makes itself with the raw system
 * call, is reported as MPTCP. */
static void test_protocol_answer_follows_the_fd(void **state)
{
	(void)state;
	for (int how = 0; how < 3; how++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0), v = 0, d, port, n;
		socklen_t l = sizeof(v);

		port = bind_free(fd, AF_INET, LISTED_LO);
		assert_true(port > 0);
		assert_int_equal(kproto(fd), IPPROTO_MPTCP);
		assert_int_equal(
			getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &l), 0);
		assert_int_equal(v, IPPROTO_TCP);
		d = dup(fd);
		assert_int_equal(getsockopt(d, SOL_SOCKET, SO_PROTOCOL, &v, &l),
				 0);
		assert_int_equal(v, IPPROTO_TCP);
		close(d);
		assert_int_equal(listen(fd, 4), 0);
		assert_int_equal(
			accepted_proto(fd, AF_INET, port, IPPROTO_MPTCP),
			IPPROTO_MPTCP);
		if (how == 0)
			close(fd);
		else if (how == 1)
			assert_int_equal(
				close_range((unsigned)fd, (unsigned)fd, 0), 0);
		else
			closefrom(fd); /* fd is the highest one open */
		n = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM,
				 IPPROTO_MPTCP);
		assert_int_equal(n, fd);
		assert_int_equal(getsockopt(n, SOL_SOCKET, SO_PROTOCOL, &v, &l),
				 0);
		assert_int_equal(v, IPPROTO_MPTCP);
		close(n);
	}
}

/* The same far up the table: a converted socket moved to fd 9000 (the
 * library's table in chunks of 4096: 4096-8191 stays empty) and closed by
 * a close_range() or closefrom() that starts below 4096. The walk crosses
 * chunk boundaries and skips the empty chunk, and still forgets 9000. */
static void test_close_range_across_chunks(void **state)
{
	struct rlimit rl;
	const int hi = 9000;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max <= (rlim_t)hi) {
		print_message("# skipped: RLIMIT_NOFILE hard limit %llu\n",
			      (unsigned long long)rl.rlim_max);
		skip();
	}
	if (rl.rlim_cur <= (rlim_t)hi) {
		rl.rlim_cur = hi + 1;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	for (int how = 0; how < 2; how++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0), v = 0, n;
		socklen_t l = sizeof(v);

		assert_true(bind_free(fd, AF_INET, LISTED_LO) > 0);
		assert_int_equal(kproto(fd), IPPROTO_MPTCP);
		assert_int_equal(dup2(fd, hi), hi);
		close(fd);
		assert_int_equal(
			getsockopt(hi, SOL_SOCKET, SO_PROTOCOL, &v, &l), 0);
		assert_int_equal(v, IPPROTO_TCP); /* the library's answer */
		if (how == 0)
			assert_int_equal(close_range(4000, hi + 10, 0), 0);
		else
			closefrom(4000);
		assert_int_equal(fcntl(hi, F_GETFD), -1);
		n = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM,
				 IPPROTO_MPTCP);
		assert_true(n >= 0);
		assert_int_equal((int)syscall(SYS_dup3, n, hi, 0), hi);
		syscall(SYS_close, n);
		/* forgotten: the kernel's answer, not the library's */
		assert_int_equal(
			getsockopt(hi, SOL_SOCKET, SO_PROTOCOL, &v, &l), 0);
		assert_int_equal(v, IPPROTO_MPTCP);
		close(hi);
	}
}

/* Waits up to ms for a client's connection to show on ep; returns the
 * number of events and the first one's data. */
static int connect_and_wait(int ep, int port, uint64_t *data)
{
	struct sockaddr_storage ss;
	struct epoll_event out[4];
	int c = socket(AF_INET, SOCK_STREAM, 0), n;

	assert_int_equal(connect(c, (struct sockaddr *)&ss,
				 loop_addr(AF_INET, port, &ss)),
			 0);
	n = epoll_wait(ep, out, 4, 300);
	if (n > 0 && data)
		*data = out[0].data.u64;
	close(c);
	return n;
}

/* The epoll fd moved (F_DUPFD, then close of the old number) before
 * bind(): the registration lives in the epoll instance, not in its fd
 * number; it is made again there. Review finding F7 (the listener was
 * silently unwatched). */
static void test_epoll_fd_moved(void **state)
{
	int ep = epoll_create1(0), ep2, port;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7};
	uint64_t data = 0;

	(void)state;
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), 0);
	ep2 = fcntl(ep, F_DUPFD_CLOEXEC, 100);
	assert_true(ep2 >= 100);
	close(ep);
	port = bind_free(s, AF_INET, LISTED_LO);
	assert_true(port > 0);
	assert_int_equal(kproto(s), IPPROTO_MPTCP);
	assert_int_equal(listen(s, 8), 0);
	assert_int_equal(connect_and_wait(ep2, port, &data), 1);
	assert_true(data == 7);
	close(s);
	close(ep2);
}

/* An EPOLLONESHOT registration that fired (an unbound TCP socket reports
 * EPOLLHUP at once) stays disarmed, and a failed bind() does not re-arm
 * it either. Review finding F8. The socket stays TCP: a new one cannot be
 * registered disarmed (issue 21 case 5, test_swap3_epoll.c). */
static void test_epoll_oneshot_stays_disarmed(void **state)
{
	(void)state;
	for (int fail_first = 0; fail_first < 2; fail_first++) {
		int ep = epoll_create1(0), port, h = -1;
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT,
					 .data.u64 = 42},
				   out[4];

		assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), 0);
		assert_int_equal(epoll_wait(ep, out, 4, 100), 1); /* HUP */
		if (fail_first) {
			/* a port held by a socket the library does not know */
			struct sockaddr_storage ss;
			socklen_t len;

			h = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
			port = bind_free(h, AF_INET, LISTED_LO);
			len = loop_addr(AF_INET, port, &ss);
			assert_int_equal(bind(s, (struct sockaddr *)&ss, len),
					 -1);
			assert_int_equal(errno, EADDRINUSE);
			assert_int_equal(epoll_wait(ep, out, 4, 100), 0);
			close(h);
		}
		port = bind_free(s, AF_INET, LISTED_LO);
		assert_true(port > 0);
		assert_int_equal(kproto(s), IPPROTO_TCP);
		assert_int_equal(listen(s, 8), 0);
		/* the program never re-armed it: nothing */
		assert_int_equal(connect_and_wait(ep, port, NULL), 0);
		close(s);
		close(ep);
	}
}

/* close_range(CLOSE_RANGE_UNSHARE) in a process of one thread closes its
 * fds (there is no other table): a converted number is forgotten, so an
 * MPTCP connection accepted on it later is reported as MPTCP. Review
 * finding F11. */
static void test_close_range_unshare_single_thread(void **state)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), v = 0, acc;
	int l = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	int c = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(v);
	int port;

	(void)state;
	assert_true(bind_free(s, AF_INET, LISTED_LO) > 0);
	assert_int_equal(kproto(s), IPPROTO_MPTCP);
	port = bind_free(l, AF_INET, UNLISTED_LO);
	assert_int_equal(listen(l, 4), 0);
	assert_int_equal(
		close_range((unsigned)s, (unsigned)s, CLOSE_RANGE_UNSHARE), 0);
	assert_int_equal(connect(c, (struct sockaddr *)&ss,
				 loop_addr(AF_INET, port, &ss)),
			 0);
	acc = accept(l, NULL, NULL);
	assert_int_equal(acc, s);
	assert_int_equal(getsockopt(acc, SOL_SOCKET, SO_PROTOCOL, &v, &len), 0);
	assert_int_equal(v, IPPROTO_MPTCP);
	close(acc);
	close(c);
	close(l);
}

/* Addresses the kernel takes in other forms: AF_UNSPEC with INADDR_ANY
 * on an AF_INET socket, and an IPv6 address of 24 bytes (without
 * sin6_scope_id). Listed, they convert. Review finding F12. */
static void test_other_address_forms(void **state)
{
	int fd, port;
	struct sockaddr_storage ss;
	socklen_t len;

	(void)state;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	for (port = LISTED_LO + 300; port < LISTED_LO + 400; port++) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		len = loop_addr(AF_INET, port, &ss);
		sin->sin_family = AF_UNSPEC;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		if (bind(fd, (struct sockaddr *)&ss, len) == 0)
			break;
	}
	assert_int_equal(local_port(fd), port);
	assert_int_equal(kproto(fd), IPPROTO_MPTCP);
	close(fd);

	fd = socket(AF_INET6, SOCK_STREAM, 0);
	for (port = LISTED_LO + 400; port < LISTED_LO + 500; port++) {
		loop_addr(AF_INET6, port, &ss);
		if (bind(fd, (struct sockaddr *)&ss, 24) == 0)
			break;
	}
	assert_int_equal(local_port(fd), port);
	assert_int_equal(kproto(fd), IPPROTO_MPTCP);
	close(fd);
}

/* fcntl() passes every other command through, with its argument. */
static void test_fcntl_passes_through(void **state)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct f_owner_ex owner = {.type = F_OWNER_PID, .pid = getpid()};
	struct f_owner_ex back = {0};

	(void)state;
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
	assert_int_equal(fcntl(fd, F_GETFD), FD_CLOEXEC);
	/* pointer arguments */
	assert_int_equal(fcntl(fd, F_SETOWN_EX, &owner), 0);
	assert_int_equal(fcntl(fd, F_GETOWN_EX, &back), 0);
	assert_int_equal(back.pid, getpid());
	assert_int_equal(fcntl(-1, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_second_reference_keeps_one_socket),
		cmocka_unit_test(test_closed_reference_does_not_count),
		cmocka_unit_test(test_bind_through_the_copy),
		cmocka_unit_test(test_dup2_over_a_candidate),
		cmocka_unit_test(test_no_stale_epoll_registration),
		cmocka_unit_test(test_own_epoll_registrations_kept),
		cmocka_unit_test(test_protocol_answer_follows_the_fd),
		cmocka_unit_test(test_fcntl_passes_through),
		cmocka_unit_test(test_epoll_fd_moved),
		cmocka_unit_test(test_epoll_oneshot_stays_disarmed),
		cmocka_unit_test(test_close_range_across_chunks),
		cmocka_unit_test(test_close_range_unshare_single_thread),
		cmocka_unit_test(test_other_address_forms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
