/* SPDX-License-Identifier: MIT */
/*
 * Where the library's messages go. Was issue 12 case 2: a program started
 * with stderr closed gets fd 2 from socket(); binding it to a listed port
 * wrote the info line into the new socket and the process died of SIGPIPE
 * (exit 141); the connect path wrote before connect(), so a line could
 * become request bytes. Now a message goes to fd 2 only if fd 2 is the
 * stderr the process started with, or a log file the program opened for
 * appending there (nginx's error_log); never into a program's socket,
 * never with SIGPIPE.
 *
 * Each case runs this program again (fork + execv of /proc/self/exe, the
 * library preloaded through the environment) with fd 2 set up for it.
 */
#include "swap.h"

#include <signal.h>
#include <sys/wait.h>

static int run_child(const char *mode, int fd2, const char *extra_env)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		char name[] = "test_logging",
		     *argv[] = {name, (char *)mode, NULL};

		if (fd2 < 0)
			close(2);
		else if (fd2 != 2)
			dup2(fd2, 2);
		if (extra_env)
			putenv((char *)extra_env);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- the children ---- */

/* stderr closed: socket() gets fd 2, a listed listener is made on it and
 * serves a client that must read nothing but the server's reply. */
static int child_listener_on_fd2(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), port, c, a;
	struct sockaddr_storage ss;
	char buf[64];
	ssize_t n;

	if (fd != 2)
		return 10;
	port = bind_free(fd, AF_INET, LISTED_LO);
	if (port < 0 || kproto(fd) != IPPROTO_MPTCP || listen(fd, 4) != 0)
		return 11;
	c = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	if (connect(c, (struct sockaddr *)&ss, loop_addr(AF_INET, port, &ss)))
		return 12;
	a = accept(fd, NULL, NULL);
	if (a < 0 || write(a, "ok", 2) != 2)
		return 13;
	close(a);
	n = read(c, buf, sizeof(buf));
	return n == 2 && memcmp(buf, "ok", 2) == 0 ? 0 : 14;
}

/* stderr closed, MPTCPSHIM_CONNECT lists the server's port: the client's
 * socket is fd 2; the server must receive exactly the request. */
static int child_connect_on_fd2(void)
{
	struct sockaddr_storage ss;
	int l0 = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	int l = fcntl(l0, F_DUPFD_CLOEXEC, 10), c, a, one = 1;
	/* the port the parent found free, which the library converts */
	const char *listed = getenv("MPTCPSHIM_CONNECT");
	int port = listed ? atoi(listed) : 0;
	char buf[64];
	ssize_t n;

	close(l0); /* fd 2 is free again, for the client */
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&ss, loop_addr(AF_INET, port, &ss)) !=
		    0 ||
	    listen(l, 4) != 0)
		return 20;
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c != 2)
		return 21;
	if (connect(c, (struct sockaddr *)&ss, loop_addr(AF_INET, port, &ss)))
		return 22;
	if (kproto(c) != IPPROTO_MPTCP)
		return 23;
	if (write(c, "GET", 3) != 3)
		return 24;
	shutdown(c, SHUT_WR);
	a = accept(l, NULL, NULL);
	n = read(a, buf, sizeof(buf));
	return n == 3 && memcmp(buf, "GET", 3) == 0 ? 0 : 25;
}

/* A warning (an option the MPTCP socket refuses) with stderr a pipe whose
 * reader is gone: no SIGPIPE, and none left pending. */
static int child_warn(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), t = 1000;
	sigset_t pending;

	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &t, sizeof(t));
	if (bind_free(fd, AF_INET, LISTED_LO) < 0)
		return 30;
	sigpending(&pending);
	return sigismember(&pending, SIGPIPE) ? 31 : 0;
}

/* The program moves stderr to a log file (append: written; not append, or
 * not a file: not written); prints what it found. */
static int child_redirect(void)
{
	const char *dir = getenv("LOGTEST_DIR");
	char path[256], buf[2048];
	int results = 0;

	for (int append = 0; append < 2; append++) {
		int f, fd, t = 1000;
		ssize_t n;

		snprintf(path, sizeof(path), "%s/log%d", dir, append);
		f = open(path,
			 O_WRONLY | O_CREAT | O_TRUNC | (append ? O_APPEND : 0),
			 0600);
		dup2(f, 2);
		close(f);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &t, sizeof(t));
		if (bind_free(fd, AF_INET, LISTED_LO) < 0)
			return 40;
		close(fd);
		f = open(path, O_RDONLY);
		n = read(f, buf, sizeof(buf));
		close(f);
		if ((n > 0) == (append == 1))
			results++;
	}
	return results == 2 ? 0 : 41;
}

/* inetd's way: stdin, stdout and stderr are the client's connection. The
 * child converts a listener (debug: every message it has) and answers
 * its client; the client must get the answer and nothing else. */
static int child_inetd(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (bind_free(fd, AF_INET, LISTED_LO) < 0 ||
	    kproto(fd) != IPPROTO_MPTCP)
		return 50;
	close(fd);
	return write(1, "hello", 5) == 5 ? 0 : 51;
}

/* ---- the tests ---- */

static void test_stderr_closed_listener(void **state)
{
	(void)state;
	assert_int_equal(
		run_child("listener-on-fd2", -1, "MPTCPSHIM_LOG=debug"), 0);
}

static void test_stderr_closed_connect(void **state)
{
	/* A free port, not a fixed one: a TIME_WAIT of an earlier run (the
	 * plain, sanitizer and VM runs of this test) made bind() fail. */
	static char env[64];
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(syscall(SYS_bind, fd, &sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	snprintf(env, sizeof(env), "MPTCPSHIM_CONNECT=%u",
		 (unsigned)ntohs(sin.sin_port));
	assert_int_equal(run_child("connect-on-fd2", -1, env), 0);
}

static void test_stderr_pipe_without_reader(void **state)
{
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	assert_int_equal(run_child("warn", p[1], NULL), 0);
	close(p[1]);
}

/* The journal's way: stderr a stream socket (here a socketpair). */
static void test_stderr_socket_from_start(void **state)
{
	int sv[2];
	char buf[4096] = "";
	ssize_t n;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(run_child("warn", sv[1], NULL), 0);
	close(sv[1]);
	n = read(sv[0], buf, sizeof(buf) - 1);
	close(sv[0]);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "staying TCP: the MPTCP socket refused "
				    "TCP_USER_TIMEOUT"));
}

static void test_stderr_is_the_client(void **state)
{
	struct sockaddr_storage ss;
	int l = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	int c = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0), a, port;
	char buf[512] = "";
	ssize_t n, got = 0;
	pid_t pid;
	int st;

	(void)state;
	port = bind_free(l, AF_INET, UNLISTED_LO);
	assert_true(port > 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(connect(c, (struct sockaddr *)&ss,
				 loop_addr(AF_INET, port, &ss)),
			 0);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char name[] = "test_logging", mode[] = "inetd";
		char *argv[] = {name, mode, NULL};

		dup2(a, 0);
		dup2(a, 1);
		dup2(a, 2);
		close(a);
		putenv((char *)"MPTCPSHIM_LOG=debug");
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(a);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	while ((n = read(c, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	print_message("# the client got \"%s\"\n", buf);
	assert_string_equal(buf, "hello");
	close(c);
	close(l);
}

static void test_stderr_moved_by_the_program(void **state)
{
	char dir[] = "/tmp/mptcpshim-log-XXXXXX", env[128], path[160];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(env, sizeof(env), "LOGTEST_DIR=%s", dir);
	assert_int_equal(run_child("redirect", 2, env), 0);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/log%d", dir, i);
		unlink(path);
	}
	rmdir(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stderr_closed_listener),
		cmocka_unit_test(test_stderr_closed_connect),
		cmocka_unit_test(test_stderr_pipe_without_reader),
		cmocka_unit_test(test_stderr_socket_from_start),
		cmocka_unit_test(test_stderr_is_the_client),
		cmocka_unit_test(test_stderr_moved_by_the_program),
	};

	if (argc > 1) {
		if (strcmp(argv[1], "listener-on-fd2") == 0)
			return child_listener_on_fd2();
		if (strcmp(argv[1], "connect-on-fd2") == 0)
			return child_connect_on_fd2();
		if (strcmp(argv[1], "warn") == 0)
			return child_warn();
		if (strcmp(argv[1], "redirect") == 0)
			return child_redirect();
		if (strcmp(argv[1], "inetd") == 0)
			return child_inetd();
		return 99;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
