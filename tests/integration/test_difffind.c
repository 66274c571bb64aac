/* SPDX-License-Identifier: MIT */
/*
 * What the differential tester (tests/difftest) found outside issue 21's
 * cases (/work/coord/difftest-findings.md F1-F3): a program must see the
 * same answers with the library as without it.
 *
 * Run with the library (tests/meson.build's shim_env: 41000-41999 listed)
 * and without it, for the same expectations; only the kernel's protocol of
 * a listed listener differs.
 */
#include "swap.h"

#include <pthread.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>

extern char **environ;

static bool with_lib(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "mptcpshim");
}

static int v6only(int fd)
{
	int v = -1;
	socklen_t l = sizeof(v);

	assert_int_equal(getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &l), 0);
	return v;
}

/* Does this kernel's MPTCP socket read IPV6_V6ONLY back as set? (6.1's
 * answers 0 whatever was set; 6.12 and later answer as TCP does.) */
static bool mptcp_reads_v6only(void)
{
	int s = (int)syscall(SYS_socket, AF_INET6, SOCK_STREAM, IPPROTO_MPTCP);
	int one = 1, v = -1;
	socklen_t l = sizeof(v);

	if (s < 0)
		return false;
	syscall(SYS_setsockopt, s, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		sizeof(one));
	syscall(SYS_getsockopt, s, IPPROTO_IPV6, IPV6_V6ONLY, &v, &l);
	close(s);
	return v == 1;
}

/* F1: bind() to an IPv6 address that is neither :: nor v4-mapped makes
 * the socket IPV6_V6ONLY; a converted listener says so too, whatever the
 * program set before. */
static void test_v6only_after_bind(void **state)
{
	static const struct {
		const char *addr;
		int set; /* -1: not set by the program */
		int want;
		bool v4; /* takes an IPv4 client */
	} c[] = {
		{"::1", -1, 1, false},
		{"::1", 0, 1, false},
		{"::", -1, 0, true},
		{"::", 1, 1, false},
		{"::ffff:127.0.0.1", -1, 0, true},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct sockaddr_storage ss;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		int fd = socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP), port = -1;
		int cl, a, want = with_lib() ? IPPROTO_MPTCP : IPPROTO_TCP;

		assert_true(fd >= 0);
		if (c[i].set >= 0)
			assert_int_equal(setsockopt(fd, IPPROTO_IPV6,
						    IPV6_V6ONLY, &c[i].set,
						    sizeof(c[i].set)),
					 0);
		for (int t = 0; t < 200 && port < 0; t++) {
			loop_addr(AF_INET6, LISTED_LO + rand() % NPORTS, &ss);
			assert_int_equal(
				inet_pton(AF_INET6, c[i].addr, &s6->sin6_addr),
				1);
			if (bind(fd, (struct sockaddr *)&ss, sizeof(*s6)) == 0)
				port = ntohs(s6->sin6_port);
			else
				assert_int_equal(errno, EADDRINUSE);
		}
		assert_true(port > 0);
		assert_int_equal(listen(fd, 4), 0);
		printf("# [%s]:%d set %d: v6only %d\n", c[i].addr, port,
		       c[i].set, v6only(fd));
		if (want == IPPROTO_MPTCP && !mptcp_reads_v6only())
			printf("# this kernel's MPTCP sockets do not read "
			       "IPV6_V6ONLY back (6.1): not compared\n");
		else
			assert_int_equal(v6only(fd), c[i].want);
		assert_int_equal(kproto(fd), want);
		/* what it accepts: IPv6 unless v4-mapped, IPv4 where dual */
		if (strcmp(c[i].addr, "::ffff:127.0.0.1") != 0)
			assert_int_equal(accepted_proto(fd, AF_INET6, port,
							IPPROTO_MPTCP),
					 want);
		if (c[i].v4) {
			loop_addr(AF_INET, port, &ss);
			cl = socket(AF_INET, SOCK_STREAM, 0);
			assert_true(cl >= 0);
			assert_int_equal(connect(cl, (struct sockaddr *)&ss,
						 sizeof(struct sockaddr_in)),
					 0);
			a = accept(fd, NULL, NULL);
			assert_true(a >= 0);
			close(a);
			close(cl);
		}
		close(fd);
	}
}

/* ---- F2: errno across posix_spawn() and system() ---- */

struct other {
	pthread_barrier_t unshared;
	int fd;
};

static void *make_candidate(void *arg)
{
	struct other *o = arg;

	pthread_barrier_wait(&o->unshared);
	o->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return NULL;
}

/* With another thread running (the fd table shared), this thread's table
 * is unshared (close_range CLOSE_RANGE_UNSHARE), then the other thread
 * makes a candidate in the old one: the library's table names an fd this
 * thread does not have. */
static void candidate_elsewhere(void)
{
	struct other o = {.fd = -1};
	pthread_t t;

	assert_int_equal(pthread_barrier_init(&o.unshared, NULL, 2), 0);
	assert_int_equal(pthread_create(&t, NULL, make_candidate, &o), 0);
	assert_int_equal(close_range(1000, 1001,
				     CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE),
			 0);
	pthread_barrier_wait(&o.unshared);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(o.fd >= 0);
	assert_int_equal(fcntl(o.fd, F_GETFD), -1); /* not in this table */
	pthread_barrier_destroy(&o.unshared);
}

/* Each case runs in a child process of its own: the unshared table stays
 * there. */
static void in_child(void (*fn)(void))
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		fn();
		fflush(stdout);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void check_errno(const char *call, int rc, int e)
{
	if (rc != 0 || e != EDOM) {
		fprintf(stderr, "%s = %d, errno %s (EDOM before)\n", call, rc,
			strerrorname_np(e));
		_exit(1);
	}
}

/* (posix_spawnp() is left out: glibc's search of PATH leaves ENOENT
 * without the library too.) */
static void spawn_case(void)
{
	char arg0[] = "true", *argv[] = {arg0, NULL};
	pid_t pid;
	int rc, e, st;

	candidate_elsewhere();
	errno = EDOM;
	rc = posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ);
	e = errno;
	check_errno("posix_spawn", rc, e);
	waitpid(pid, &st, 0);
}

static void system_case(void)
{
	int rc, e;

	candidate_elsewhere();
	errno = EDOM;
	rc = system("true");
	e = errno;
	check_errno("system", rc, e);
}

/* posix_spawnp() with a converted listener open: the library asks
 * whether the new program is this one (stat() of "true", not found here)
 * and must not leave that answer in errno. "true" is found at once in
 * the first directory of PATH, so glibc leaves errno alone too. */
static void spawnp_case(void)
{
	char arg0[] = "true", *argv[] = {arg0, NULL};
	int fd = socket(AF_INET, SOCK_STREAM, 0), rc, e, st;
	pid_t pid;

	if (access("/usr/bin/true", X_OK) != 0) {
		printf("# no /usr/bin/true: posix_spawnp case left out\n");
		return;
	}
	setenv("PATH", "/usr/bin", 1);
	if (fd < 0 || bind_free(fd, AF_INET, LISTED_LO) < 0 ||
	    listen(fd, 4) != 0)
		_exit(2);
	errno = EDOM;
	rc = posix_spawnp(&pid, "true", NULL, NULL, argv, environ);
	e = errno;
	check_errno("posix_spawnp", rc, e);
	waitpid(pid, &st, 0);
}

static void test_spawn_keeps_errno(void **state)
{
	(void)state;
	in_child(spawn_case);
	in_child(spawnp_case);
}

static void test_system_keeps_errno(void **state)
{
	(void)state;
	in_child(system_case);
}

/* ---- F3: posix_spawn() of itself, file actions moving a listener ---- */

/* The spawned copy: "probe FD KPROTO": fd FD answers SO_PROTOCOL
 * IPPROTO_TCP to the program, and KPROTO from the kernel. */
static int probe(int fd, int want_k)
{
	int p = -1;
	socklen_t l = sizeof(p);

	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &p, &l) != 0 ||
	    p != IPPROTO_TCP || kproto(fd) != want_k) {
		fprintf(stderr, "probe: fd %d: SO_PROTOCOL %d, kernel %d\n", fd,
			p, kproto(fd));
		return 1;
	}
	return 0;
}

/* The environment without the library's variables (the sanitizers'
 * stay). */
static char **without_lib(char **keep, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; environ[i] && k + 1 < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0 &&
		    strncmp(environ[i], "MPTCPSHIM_", 10) != 0)
			keep[k++] = environ[i];
	keep[k] = NULL;
	return keep;
}

/* A listed listener at lfd (close-on-exec or not) goes to the copy at
 * number to, by posix_spawn() file actions: adddup2, then addclose of
 * lfd when close_it; with the program's environment or one without the
 * library (then the library adds itself and its settings). */
static void spawn_moved(bool cloexec, bool close_it, bool bare_env)
{
	int fd = socket(AF_INET6, SOCK_STREAM | (cloexec ? SOCK_CLOEXEC : 0),
			IPPROTO_TCP);
	int want = with_lib() ? IPPROTO_MPTCP : IPPROTO_TCP, to = 100, st;
	char arg0[] = "/proc/self/exe", arg1[] = "probe", arg2[16], arg3[16];
	char *argv[] = {arg0, arg1, arg2, arg3, NULL}, *bare[256];
	posix_spawn_file_actions_t fa;
	pid_t pid;

	assert_true(fd >= 0);
	assert_true(bind_free(fd, AF_INET6, LISTED_LO) > 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(kproto(fd), want);
	snprintf(arg2, sizeof(arg2), "%d", to);
	snprintf(arg3, sizeof(arg3), "%d", want);
	assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
	assert_int_equal(posix_spawn_file_actions_adddup2(&fa, fd, to), 0);
	if (close_it)
		assert_int_equal(posix_spawn_file_actions_addclose(&fa, fd), 0);
	errno = EDOM;
	assert_int_equal(
		posix_spawn(&pid, arg0, &fa, NULL, argv,
			    bare_env ? without_lib(bare, 256) : environ),
		0);
	assert_int_equal(errno, EDOM);
	posix_spawn_file_actions_destroy(&fa);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	printf("# cloexec %d, closed %d, env without the library %d: probe "
	       "exit %d\n",
	       cloexec, close_it, bare_env,
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(fd);
}

static void test_spawn_dup2_listener(void **state)
{
	(void)state;
	for (int i = 0; i < 8; i++)
		spawn_moved(i & 1, i & 2, i & 4);
}

/* ---- F7: a candidate in two fd tables (CLOSE_RANGE_UNSHARE) ---- */

struct lister {
	pthread_barrier_t bound;
	int fd, rc;
};

static void *listen_there(void *arg)
{
	struct lister *l = arg;

	pthread_barrier_wait(&l->bound);
	l->rc = listen(l->fd, 4);
	return NULL;
}

static int accepting(int fd)
{
	int v = -1;
	socklen_t len = sizeof(v);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 ? v
									: -1;
}

/* The main thread splits the fd table and binds a candidate made before
 * to a listed port; another thread, on the old table, listen()s on it:
 * one listening TCP socket, as without the library (converted, the main
 * thread's fd would have been another socket, unbound). A candidate
 * made after the split stays TCP too. */
static void split_case(void)
{
	struct lister l = {.fd = socket(AF_INET, SOCK_STREAM, 0), .rc = -1};
	pthread_t t;
	int later;

	if (l.fd < 0 || pthread_barrier_init(&l.bound, NULL, 2) != 0 ||
	    pthread_create(&t, NULL, listen_there, &l) != 0)
		_exit(2);
	if (close_range(1000, 1001,
			CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE) != 0 ||
	    bind_free(l.fd, AF_INET, LISTED_LO) < 0)
		_exit(3);
	pthread_barrier_wait(&l.bound);
	pthread_join(t, NULL);
	printf("# split: listen %d, accepting %d, kernel protocol %d\n", l.rc,
	       accepting(l.fd), kproto(l.fd));
	if (l.rc != 0 || accepting(l.fd) != 1 || kproto(l.fd) != IPPROTO_TCP)
		_exit(4);
	later = socket(AF_INET, SOCK_STREAM, 0);
	if (later < 0 || bind_free(later, AF_INET, LISTED_LO) < 0 ||
	    kproto(later) != IPPROTO_TCP)
		_exit(5);
}

struct closer {
	pthread_barrier_t split, moved;
	int fd, rc, e;
};

static void *close_there(void *arg)
{
	struct closer *c = arg;

	pthread_barrier_wait(&c->split);
	pthread_barrier_wait(&c->moved);
	errno = 0;
	c->rc = close(c->fd);
	c->e = errno;
	return NULL;
}

/* F9: a listener converted before the split is dup3()ed in the main
 * thread's table; another thread's close() of the new number fails with
 * EBADF (its table lacks it) and must not make the main thread's fd
 * answer IPPROTO_MPTCP. */
static void split_close_case(void)
{
	struct closer c = {.fd = 200, .rc = 0};
	int fd = socket(AF_INET6, SOCK_STREAM, 0), p = -1;
	socklen_t l = sizeof(p);
	pthread_t t;

	if (fd < 0 || bind_free(fd, AF_INET6, LISTED_LO) < 0 ||
	    pthread_barrier_init(&c.split, NULL, 2) != 0 ||
	    pthread_barrier_init(&c.moved, NULL, 2) != 0 ||
	    pthread_create(&t, NULL, close_there, &c) != 0)
		_exit(2);
	if (close_range(1000, 1001,
			CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE) != 0)
		_exit(3);
	pthread_barrier_wait(&c.split);
	if (dup3(fd, c.fd, 0) != c.fd)
		_exit(4);
	pthread_barrier_wait(&c.moved);
	pthread_join(t, NULL);
	if (getsockopt(c.fd, SOL_SOCKET, SO_PROTOCOL, &p, &l) != 0)
		_exit(5);
	printf("# split close: close %d (%s) there, SO_PROTOCOL %d here\n",
	       c.rc, strerrorname_np(c.e), p);
	if (c.rc != -1 || c.e != EBADF || p != IPPROTO_TCP)
		_exit(6);
}

static void test_split_table_stays_tcp(void **state)
{
	(void)state;
	in_child(split_case);
	in_child(split_close_case);
}

/* ---- F5, F7: TCP_DEFER_ACCEPT's errors on a converted listener ---- */

static void test_defer_accept_errors(void **state)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *page = mmap(NULL, (size_t)pg, PROT_NONE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = socket(AF_INET, SOCK_STREAM, 0), v = 5;

	(void)state;
	assert_true(page != MAP_FAILED);
	assert_true(fd >= 0);
	assert_true(bind_free(fd, AF_INET, LISTED_LO) > 0);
	assert_int_equal(kproto(fd), with_lib() ? IPPROTO_MPTCP : IPPROTO_TCP);
	assert_int_equal(listen(fd, 4), 0);
	errno = EDOM;
	assert_int_equal(setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, 1),
			 -1);
	assert_int_equal(errno, EINVAL);
	errno = EDOM;
	assert_int_equal(
		setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, page, sizeof(v)),
		-1);
	assert_int_equal(errno, EFAULT);
	errno = EDOM;
	assert_int_equal(
		setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, NULL, sizeof(v)),
		-1);
	assert_int_equal(errno, EFAULT);
	errno = EDOM;
	assert_int_equal(
		setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, sizeof(v)),
		0);
	assert_int_equal(errno, EDOM);
	close(fd);
	munmap(page, (size_t)pg);
}

/* ---- IPv6 options of a converted AF_INET listener ---- */

/* TCP takes none and answers none (ENOPROTOOPT, EOPNOTSUPP); the MPTCP
 * socket answered three, and refused others with EOPNOTSUPP. */
static void test_ipv6_options_of_inet(void **state)
{
	static const int names[] = {IPV6_V6ONLY, IPV6_TRANSPARENT,
				    IPV6_FREEBIND, IPV6_UNICAST_HOPS};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	assert_true(fd >= 0);
	assert_true(bind_free(fd, AF_INET, LISTED_LO) > 0);
	assert_int_equal(kproto(fd), with_lib() ? IPPROTO_MPTCP : IPPROTO_TCP);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int v = 7;
		socklen_t l = sizeof(v);

		errno = EDOM;
		assert_int_equal(getsockopt(fd, IPPROTO_IPV6, names[i], &v, &l),
				 -1);
		assert_int_equal(errno, EOPNOTSUPP);
		assert_int_equal(v, 7);
		assert_int_equal(l, sizeof(v));
		v = 1;
		errno = EDOM;
		assert_int_equal(
			setsockopt(fd, IPPROTO_IPV6, names[i], &v, sizeof(v)),
			-1);
		assert_int_equal(errno, ENOPROTOOPT);
	}
	close(fd);
}

/* ---- F4: a client that binds a listed port ---- */

/* The run of this program as "bound-client": binds a listed port,
 * connects to a listener on an unlisted one and is served. */
static int bound_client(void)
{
	int l = socket(AF_INET, SOCK_STREAM, 0),
	    c = socket(AF_INET, SOCK_STREAM, 0);
	int port = bind_free(l, AF_INET, UNLISTED_LO), a;
	struct sockaddr_storage ss;

	if (port < 0 || listen(l, 4) != 0 ||
	    bind_free(c, AF_INET, LISTED_LO) < 0 ||
	    kproto(c) != (with_lib() ? IPPROTO_MPTCP : IPPROTO_TCP))
		return 10;
	if (connect(c, (struct sockaddr *)&ss, loop_addr(AF_INET, port, &ss)) !=
	    0)
		return 11;
	a = accept(l, NULL, NULL);
	return a >= 0 && write(c, "x", 1) == 1 ? 0 : 12;
}

/* Runs this program as MODE with a fresh stderr; how many of its lines
 * hold text. */
static int run_counting(const char *mode, const char *text)
{
	int mfd = memfd_create("stderr", MFD_CLOEXEC), st, lines = 0;
	char out[4096] = "", *p = out;
	pid_t pid;
	ssize_t n;

	assert_true(mfd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char name[] = "test_difffind";
		char *argv[] = {name, (char *)mode, NULL};

		dup2(mfd, 2);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	n = pread(mfd, out, sizeof(out) - 1, 0);
	close(mfd);
	assert_true(n >= 0);
	out[n] = '\0';
	printf("# %s: stderr: %s\n", mode, out);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	while ((p = strstr(p, text))) {
		lines++;
		p++;
	}
	return lines;
}

/* It is an MPTCP client with the library (converted at bind(): nothing
 * told it from a listener): one warning says so. */
static void test_bound_client_is_named(void **state)
{
	(void)state;
	assert_int_equal(
		run_counting("bound-client",
			     "connect()s: an MPTCP client, not a listener"),
		with_lib() ? 1 : 0);
}

/* ---- F6, second form: a received TCP socket bound to a listed port ---- */

/* The run as "unseen": a TCP socket goes through an AF_UNIX socket pair
 * (SCM_RIGHTS); its received copy, which the library never saw made, is
 * bound to a listed port and stays TCP. */
static int unseen(void)
{
	int sv[2], fd = socket(AF_INET, SOCK_STREAM, 0), got = -1;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte = 'x';
	struct iovec iov = {&byte, 1};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = u.buf,
			   .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	if (fd < 0 || socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0)
		return 10;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sv[0], &m, 0) != 1)
		return 11;
	close(fd);
	m.msg_controllen = sizeof(u.buf);
	if (recvmsg(sv[1], &m, 0) != 1 || !(c = CMSG_FIRSTHDR(&m)) ||
	    c->cmsg_type != SCM_RIGHTS)
		return 12;
	memcpy(&got, CMSG_DATA(c), sizeof(int));
	if (bind_free(got, AF_INET, LISTED_LO) < 0 ||
	    kproto(got) != IPPROTO_TCP)
		return 13;
	return 0;
}

static void test_unseen_socket_is_named(void **state)
{
	(void)state;
	assert_int_equal(run_counting("unseen",
				      "staying TCP: the library did not see "
				      "this socket made"),
			 with_lib() ? 1 : 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v6only_after_bind),
		cmocka_unit_test(test_spawn_keeps_errno),
		cmocka_unit_test(test_system_keeps_errno),
		cmocka_unit_test(test_spawn_dup2_listener),
		cmocka_unit_test(test_bound_client_is_named),
		cmocka_unit_test(test_unseen_socket_is_named),
		cmocka_unit_test(test_defer_accept_errors),
		cmocka_unit_test(test_ipv6_options_of_inet),
		cmocka_unit_test(test_split_table_stays_tcp),
	};

	if (argc == 2 && strcmp(argv[1], "bound-client") == 0)
		return bound_client();
	if (argc == 2 && strcmp(argv[1], "unseen") == 0)
		return unseen();
	if (argc == 4 && strcmp(argv[1], "probe") == 0)
		return probe(atoi(argv[2]), atoi(argv[3]));

	srand((unsigned)getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
