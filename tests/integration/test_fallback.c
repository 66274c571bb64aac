/* SPDX-License-Identifier: MIT */
/*
 * Where MPTCP cannot be had. Was issue 12 case 6: with net.mptcp.enabled=0
 * and MPTCPSHIM_STRICT=1 the first bind() failed with ENOPROTOOPT but a
 * second bind() on the same fd succeeded as plain TCP, silently. Now every
 * attempt fails the same way; without strict mode the socket is bound as
 * TCP (and says so once).
 *
 * Each case runs this program again with its settings, in a network
 * namespace of its own where MPTCP is disabled (needs root).
 */
#include "swap.h"

#include <sched.h>
#include <sys/wait.h>

static int run_child(const char *mode, const char *strict)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		char name[] = "test_fallback",
		     *argv[] = {name, (char *)mode, NULL};

		setenv("MPTCPSHIM_STRICT", strict, 1);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* In a namespace of its own with MPTCP off: 77 if that cannot be had. */
static int mptcp_off(void)
{
	int f;

	if (unshare(CLONE_NEWNET) != 0)
		return 77;
	f = open("/proc/sys/net/mptcp/enabled", O_WRONLY);
	if (f < 0 || write(f, "0", 1) != 1)
		return 77;
	close(f);
	return 0;
}

static int child(int strict)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(LISTED_LO + 1)};
	int fd, rc = mptcp_off();

	if (rc)
		return rc;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	for (int i = 0; i < 3; i++) {
		errno = 0;
		rc = bind(fd, (struct sockaddr *)&sin, sizeof(sin));
		if (!strict)
			return rc == 0 && kproto(fd) == IPPROTO_TCP ? 0 : 1;
		if (rc != -1 || errno != ENOPROTOOPT || local_port(fd) != 0)
			return 10 + i;
	}
	return 0;
}

static void test_strict_fails_every_time(void **state)
{
	int rc = run_child("strict", "1");

	(void)state;
	if (rc == 77)
		skip(); /* not root: no network namespace */
	assert_int_equal(rc, 0);
}

static void test_without_strict_tcp(void **state)
{
	int rc = run_child("lenient", "0");

	(void)state;
	if (rc == 77)
		skip();
	assert_int_equal(rc, 0);
}

/* With MPTCPSHIM_CONNECT naming the destination: a socket bound first
 * (BIND's named binds 0.0.0.0:0 before each connect()) is not converted,
 * and one warning says why (it said nothing: servers helper's finding). */
static int child_bound_connect(void)
{
	struct sockaddr_in any = {.sin_family = AF_INET};
	struct sockaddr_storage ss;
	int l = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	int c = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&ss, loop_addr(AF_INET, 43151, &ss)) ||
	    listen(l, 4))
		return 20;
	if (bind(c, (struct sockaddr *)&any, sizeof(any)) ||
	    connect(c, (struct sockaddr *)&ss, loop_addr(AF_INET, 43151, &ss)))
		return 21;
	return kproto(c) == IPPROTO_TCP ? 0 : 22;
}

static void test_bound_before_connect_says_why(void **state)
{
	int err[2], st;
	char buf[2048] = "";
	ssize_t n, got = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(err), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char name[] = "test_fallback", mode[] = "bound-connect";
		char *argv[] = {name, mode, NULL};

		dup2(err[1], 2);
		setenv("MPTCPSHIM_CONNECT", "43151", 1);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(err[1]);
	while ((n = read(err[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	close(err[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	print_message("%s", buf);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_non_null(strstr(buf, "outbound connection to 127.0.0.1:43151 "
				    "stays TCP: the program bound the socket "
				    "before connect()"));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strict_fails_every_time),
		cmocka_unit_test(test_without_strict_tcp),
		cmocka_unit_test(test_bound_before_connect_says_why),
	};

	if (argc > 1 && strcmp(argv[1], "bound-connect") == 0)
		return child_bound_connect();
	if (argc > 1)
		return child(strcmp(argv[1], "strict") == 0);
	if (geteuid() != 0)
		print_message("# not root: cannot make a network namespace "
			      "without MPTCP; the cases are skipped\n");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
