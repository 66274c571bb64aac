/* SPDX-License-Identifier: MIT */
/*
 * Children the atfork handlers do not see (issue 21 cases 2 and 3).
 *
 * A child of _Fork(), of a raw fork system call or of vfork() that binds
 * a candidate it shares with its parent: the library used to convert the
 * child's copy only, so that the parent's fd stayed an unbound TCP socket
 * (accept(): EINVAL; a second bind() succeeded and held the port). Now the
 * socket stays TCP with one warning, as after fork(), and both processes
 * see the one socket, as without the library.
 *
 * A vfork() child runs in its parent's memory: one that closed an
 * inherited candidate and opened a socket of the same number erased the
 * parent's record, and the parent's listener was converted without its
 * options (IPV6_V6ONLY and SO_REUSEADDR 1 became 0). Now the child changes
 * nothing of the parent's: the listener is converted with its options.
 *
 * Each scenario runs as a new process with the library and without it
 * (twice.h); what it prints must be the same, but for the listener's
 * kernel protocol, which is the conversion itself.
 */
#include "twice.h"

#include <sys/syscall.h>

/* Set by a vfork() child: 0 after it if vfork() made a copy of the memory
 * (ThreadSanitizer turns vfork() into fork()). */
static volatile int child_wrote;

/* The child's part: binds the shared candidate to a listed port and
 * listens; sends port, listen() result and the kernel's protocol. */
static void child_binds(int s, int wfd)
{
	int res[3];

	res[0] = bind_free(s, AF_INET, LISTED_LO);
	res[1] = res[0] > 0 ? listen(s, 8) : -1;
	res[2] = kproto(s);
	child_wrote = 1;
	if (write(wfd, res, sizeof(res)) != sizeof(res))
		_exit(2);
}

static const char *err_name(int rc, int e)
{
	return rc >= 0 ? "ok" : strerrorname_np(e);
}

/* A child made as how says ("fork", "_Fork", "sysfork": the clone
 * system call as fork does it, "vfork") binds s; its pid. */
static pid_t child_binding(const char *how, int s, int wfd)
{
	pid_t pid;

	if (strcmp(how, "fork") == 0)
		pid = fork();
	else if (strcmp(how, "_Fork") == 0)
		pid = _Fork();
	else if (strcmp(how, "sysfork") == 0)
		pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	else
		pid = vfork();
	if (pid == 0) {
		child_binds(s, wfd);
		_exit(0);
	}
	return pid;
}

static int shared_candidate(const char *how)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), p[2], res[3] = {0}, st;
	int c, a, rc, e, aproto = -1;
	struct sockaddr_storage ss;
	socklen_t len;
	pid_t pid;

	if (s < 0 || pipe(p) != 0)
		return 10;
	pid = child_binding(how, s, p[1]);
	if (pid < 0)
		return 11;
	if (read(p[0], res, sizeof(res)) != sizeof(res) ||
	    waitpid(pid, &st, 0) != pid)
		return 12;
	printf("child: bound=%d listen=%d proto=%d%s; ", res[0] > 0, res[1],
	       res[2],
	       strcmp(how, "vfork") == 0 && !child_wrote ? " (vfork=fork)"
							 : "");
	/* the parent's fd: the socket the child bound? */
	fcntl(s, F_SETFL, O_NONBLOCK);
	len = loop_addr(AF_INET, res[0], &ss);
	c = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	rc = connect(c, (struct sockaddr *)&ss, len);
	e = errno;
	printf("parent: proto=%d connect=%s ", kproto(s), err_name(rc, e));
	a = accept(s, NULL, NULL);
	e = errno;
	if (a >= 0)
		aproto = kproto(a);
	printf("accept=%s accepted_proto=%d ", err_name(a, e), aproto);
	rc = bind(s, (struct sockaddr *)&ss, len);
	e = errno;
	printf("bind_again=%s port=%s\n", err_name(rc, e),
	       local_port(s) == res[0] ? "same" : "other");
	return 0;
}

/* An int option as the kernel has it (raw system call). */
static int kopt(int fd, int level, int name)
{
	int v = -1;
	socklen_t l = sizeof(v);

	syscall(SYS_getsockopt, fd, level, name, &v, &l);
	return v;
}

static pid_t child_reusing(int l, bool bind_too)
{
	int one = 1;
	pid_t pid = vfork();

	if (pid == 0) {
		int zero = 0, n;

		child_wrote = 1;
		close(l);
		n = socket(AF_INET6, SOCK_STREAM, 0);
		if (n != l)
			_exit(3);
		setsockopt(n, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		setsockopt(n, SOL_SOCKET, SO_REUSEADDR, &zero, sizeof(zero));
		if (bind_too && bind_free(n, AF_INET6, LISTED_LO) < 0)
			_exit(4);
		_exit(0);
	}
	return pid;
}

/* Case 3: a vfork() child closes the parent's candidate and opens a socket
 * of the same number, sets an option on it, and (bind) binds it to a
 * listed port. The parent's listener keeps its options. */
static int vfork_reuses_number(bool bind_too)
{
	int one = 1, l = socket(AF_INET6, SOCK_STREAM, 0), st, port;
	pid_t pid;

	if (l < 0 ||
	    setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0 ||
	    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		return 10;
	pid = child_reusing(l, bind_too);
	if (pid < 0)
		return 11;
	if (waitpid(pid, &st, 0) != pid)
		return 12;
	port = bind_free(l, AF_INET6, LISTED_LO);
	printf("child=%d%s bound=%d listen=%d v6only=%d reuseaddr=%d "
	       "keepalive=%d | proto=%d\n",
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1,
	       child_wrote ? "" : " (vfork=fork)", port > 0, listen(l, 8),
	       kopt(l, IPPROTO_IPV6, IPV6_V6ONLY),
	       kopt(l, SOL_SOCKET, SO_REUSEADDR),
	       kopt(l, SOL_SOCKET, SO_KEEPALIVE), kproto(l));
	return 0;
}

static int scenario(const char *name)
{
	if (strcmp(name, "reuse") == 0)
		return vfork_reuses_number(false);
	if (strcmp(name, "reuse-bind") == 0)
		return vfork_reuses_number(true);
	return shared_candidate(name);
}

#define WARNING ": staying TCP: "

static void check_shared(const char *how)
{
	static struct run with, without;

	run_scenario(how, true, &with);
	run_scenario(how, false, &without);
	assert_int_equal(with.status, 0);
	assert_int_equal(without.status, 0);
	/* without the library: the child bound and listened on the parent's
	 * socket; the parent accepts, and a second bind() is EINVAL */
	assert_non_null(strstr(without.out, "accept=ok accepted_proto=6 "
					    "bind_again=EINVAL port=same"));
	assert_string_equal(with.out, without.out);
	/* one warning, the child's */
	if (count_of(with.err, WARNING) != 1)
		fail_msg("expected one warning, got: %s", with.err);
}

static void test_fork(void **state)
{
	(void)state;
	check_shared("fork"); /* as it was: the reference */
}

static void test_underscore_fork(void **state)
{
	(void)state;
	check_shared("_Fork");
}

static void test_raw_fork(void **state)
{
	(void)state;
	check_shared("sysfork");
}

static void test_vfork(void **state)
{
	(void)state;
	check_shared("vfork");
}

static void check_reuse(const char *name, int warnings)
{
	static struct run with, without;

	run_scenario(name, true, &with);
	run_scenario(name, false, &without);
	assert_non_null(strstr(without.out, "child=0"));
	assert_non_null(strstr(without.out, "v6only=1 reuseaddr=1 "));
	/* the same but for the protocol: the library converts it */
	assert_same_but_proto(&with, &without);
	assert_non_null(strstr(without.out, "| proto=6"));
	if (strstr(with.out, "(vfork=fork)")) {
		/* a fork: the parent's socket is shared, and the child's own
		 * socket was its own to convert */
		print_message("# vfork() is fork() here (ThreadSanitizer): "
			      "the conversion and the child's warning are "
			      "not checked\n");
		return;
	}
	assert_non_null(strstr(with.out, "| proto=262"));
	if (count_of(with.err, WARNING) != warnings)
		fail_msg("expected %d warning(s), got: %s", warnings, with.err);
}

static void test_vfork_reuses_number(void **state)
{
	(void)state;
	check_reuse("reuse", 0);
}

/* The child's own socket, bound to a listed port in the parent's memory:
 * it stays TCP, said once; the parent's listener is converted. */
static void test_vfork_reuses_number_and_binds(void **state)
{
	(void)state;
	check_reuse("reuse-bind", 1);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_underscore_fork),
		cmocka_unit_test(test_raw_fork),
		cmocka_unit_test(test_vfork),
		cmocka_unit_test(test_vfork_reuses_number),
		cmocka_unit_test(test_vfork_reuses_number_and_binds),
	};

	if (argc == 3 && strcmp(argv[1], "scenario") == 0)
		return scenario(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
