/* SPDX-License-Identifier: MIT */
/*
 * Concurrency and fork, with the library preloaded (tests/meson.build:
 * ports 41000-41999 listed, 42000-42999 not). Meant for ThreadSanitizer
 * (scripts/test.sh runs it in build-tsan) as much as for the plain and
 * ASan builds.
 *
 * Worker threads, released together, create IPv4 and IPv6 sockets, set
 * options, bind them to listed and unlisted ports, listen, serve one
 * connection from a TCP or MPTCP client, and close; some sockets are
 * closed unbound (their fd numbers come back in other threads: stale
 * records), some are UDP on listed ports, some set an option the MPTCP
 * socket refuses (a fallback, with its once-per-address warning). All the
 * while another thread forks, and each child binds a listed and an
 * unlisted socket. Every listener's SO_PROTOCOL must be what the list
 * says - except that a socket a fork() copied before its bind() stays
 * TCP (the child's copy would not follow the swap), so a listed socket
 * whose life before bind() overlapped a fork may be either; a deadlock is
 * ended by the watchdog (SIGALRM).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

#define LISTED_LO   41000
#define UNLISTED_LO 42000
#define NPORTS	    1000

/*
 * ThreadSanitizer of Debian 12 (GCC 12, LLVM 14) does not hold its own
 * allocator's locks across fork(): a child that allocates while another
 * thread of the parent was allocating can hang inside the sanitizer
 * (fixed in LLVM 19, llvm/llvm-project#96600). Under TSan, the child
 * therefore sets no option (an option record is a malloc() in the
 * library) and the parent warms up first (the library's fd table chunk,
 * TSan's fd table), so that the child's bind() allocates nothing.
 * Elsewhere the child sets options too: glibc's malloc is fork-safe.
 */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

#define NTHREADS  8
#define ROUNDS	  1000
#define MIN_FORKS 20
/* A deadlock fails the test after this many seconds. */
#define WATCHDOG 60

static atomic_int wrong, done_workers, forks;
/* forks begun / finished (fork() returned in the parent) */
static atomic_int forks_begun, forks_ended;
static pthread_barrier_t start;

static void complain(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void complain(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	atomic_fetch_add(&wrong, 1);
}

/* The kernel's answer: the library answers IPPROTO_TCP to the program
 * for a socket it converted, so ask without it. */
static int proto_of(int fd)
{
	int v = -1;
	socklen_t l = sizeof(v);

	if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_PROTOCOL, &v, &l) != 0)
		return -1;
	return v;
}

static socklen_t make_addr(int family, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t)port);
		s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*s);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons((uint16_t)port);
	s6->sin6_addr = in6addr_loopback;
	return sizeof(*s6);
}

/* socket(), options (none with no_opts), bind() to a free port of
 * [lo, lo + NPORTS) and, with do_listen, listen(). Returns the fd or -1;
 * *port gets the port. */
static int bound_socket(unsigned *seed, int family, int lo, int refused_opt,
			int do_listen, int no_opts, int *port)
{
	for (int tries = 0; tries < 100; tries++) {
		struct sockaddr_storage ss;
		int p = lo + (int)(rand_r(seed) % NPORTS);
		socklen_t len = make_addr(family, p, &ss);
		int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int one = 1, timeout = 5000;

		if (fd < 0) {
			complain("socket: %s\n", strerror(errno));
			return -1;
		}
		if (!no_opts)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				   sizeof(one));
		if (!no_opts && (rand_r(seed) & 1))
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
		if (refused_opt)
			setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout,
				   sizeof(timeout));
		/* Two SO_REUSEADDR sockets may bind the same port while
		 * neither listens; the second listen() then fails. */
		if (bind(fd, (struct sockaddr *)&ss, len) == 0 &&
		    (!do_listen || listen(fd, 4) == 0)) {
			*port = p;
			return fd;
		}
		if (errno != EADDRINUSE)
			complain("bind/listen %d: %s\n", p, strerror(errno));
		close(fd);
	}
	complain("no free port from %d\n", lo);
	return -1;
}

static void linger0(int fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};

	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) != 0)
		complain("SO_LINGER: %s\n", strerror(errno));
}

/* One connection from a TCP or MPTCP client; the accepted socket is MPTCP
 * only if both ends are. */
static void serve_one(int lfd, int family, int port, int listener_proto,
		      int client_proto)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(family, port, &ss);
	int c = socket(family, SOCK_STREAM, client_proto);
	int a, want;

	if (c < 0 || connect(c, (struct sockaddr *)&ss, len) != 0) {
		complain("connect %d: %s\n", port, strerror(errno));
		if (c >= 0)
			close(c);
		return;
	}
	a = accept(lfd, NULL, NULL);
	if (a < 0) {
		complain("accept %d: %s\n", port, strerror(errno));
		close(c);
		return;
	}
	want = listener_proto == IPPROTO_MPTCP && client_proto == IPPROTO_MPTCP
		       ? IPPROTO_MPTCP
		       : IPPROTO_TCP;
	if (proto_of(a) != want)
		complain("port %d: accepted proto %d, want %d\n", port,
			 proto_of(a), want);
	/* the client socket itself is never converted */
	if (client_proto == 0 && proto_of(c) != IPPROTO_TCP)
		complain("port %d: client socket became %d\n", port,
			 proto_of(c));
	/* Closed with RST (SO_LINGER 0), so that no TIME_WAIT is left on
	 * the ports of 41000-42999 (listener ports, or ephemeral ones that
	 * fall there): it would make a later bind() without SO_REUSEADDR
	 * (test_listener's) fail for a minute. */
	linger0(c);
	linger0(a);
	close(c);
	close(a);
}

static void one_round(unsigned *seed)
{
	unsigned r = (unsigned)rand_r(seed);
	int family = (r & 1) ? AF_INET6 : AF_INET;
	int listed = (r >> 1) & 1;
	int refused = listed && ((r >> 2) & 15) == 0;
	int want, fd, port = 0, ended = atomic_load(&forks_ended);

	switch ((r >> 6) % 8) {
	case 0: {
		/* closed unbound: a stale record for the next owner of the
		 * number */
		int one = 1;

		fd = socket(family, SOCK_STREAM, 0);
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		close(fd);
		return;
	}
	case 1: {
		/* UDP on a listed port stays UDP */
		struct sockaddr_storage ss;
		socklen_t len = make_addr(
			family, LISTED_LO + (int)(rand_r(seed) % NPORTS), &ss);

		fd = socket(family, SOCK_DGRAM, 0);
		if (bind(fd, (struct sockaddr *)&ss, len) == 0 &&
		    proto_of(fd) != IPPROTO_UDP)
			complain("UDP socket became %d\n", proto_of(fd));
		close(fd);
		return;
	}
	default:
		break;
	}
	fd = bound_socket(seed, family, listed ? LISTED_LO : UNLISTED_LO,
			  refused, 1, 0, &port);
	if (fd < 0)
		return;
	want = listed && !refused ? IPPROTO_MPTCP : IPPROTO_TCP;
	/* a fork between socket() and bind() may have kept it TCP */
	if (want == IPPROTO_MPTCP && proto_of(fd) == IPPROTO_TCP &&
	    atomic_load(&forks_begun) > ended)
		want = IPPROTO_TCP;
	if (proto_of(fd) != want)
		complain("%s port %d%s: proto %d, want %d\n",
			 family == AF_INET ? "IPv4" : "IPv6", port,
			 refused ? " (refused option)" : "", proto_of(fd),
			 want);
	else if ((r >> 9) & 1)
		serve_one(fd, family, port, want,
			  (r >> 10) & 1 ? IPPROTO_MPTCP : 0);
	close(fd);
}

static void *worker(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u;

	pthread_barrier_wait(&start);
	for (int i = 0; i < ROUNDS; i++)
		one_round(&seed);
	atomic_fetch_add(&done_workers, 1);
	return NULL;
}

/* In the child of a multi-threaded fork: the library's lock must not be
 * held by a thread that does not exist here. */
static int child_binds(void)
{
	unsigned seed = (unsigned)getpid();
	int port, fd, ok = 1;

	fd = bound_socket(&seed, AF_INET, LISTED_LO, 0, 0, UNDER_TSAN, &port);
	if (fd < 0 || proto_of(fd) != IPPROTO_MPTCP)
		ok = 0;
	if (fd >= 0)
		close(fd);
	fd = bound_socket(&seed, AF_INET6, UNLISTED_LO, 0, 0, UNDER_TSAN,
			  &port);
	if (fd < 0 || proto_of(fd) != IPPROTO_TCP)
		ok = 0;
	if (fd >= 0)
		close(fd);
	return ok ? 0 : 1;
}

/* Before any thread: a listed and an unlisted listener, and one fork. */
static void warm_up(void)
{
	unsigned seed = 1;
	int port, st;
	pid_t pid;

	for (int i = 0; i < 2; i++) {
		int fd = bound_socket(&seed, AF_INET,
				      i ? UNLISTED_LO : LISTED_LO, 0, 1, 0,
				      &port);

		assert_true(fd >= 0);
		assert_int_equal(proto_of(fd), i ? IPPROTO_TCP : IPPROTO_MPTCP);
		close(fd);
	}
	pid = fork();
	if (pid == 0)
		_exit(child_binds());
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void *forker(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&start);
	while (atomic_load(&done_workers) < NTHREADS ||
	       atomic_load(&forks) < MIN_FORKS) {
		pid_t pid;
		int st;

		atomic_fetch_add(&forks_begun, 1);
		pid = fork();
		if (pid == 0)
			_exit(child_binds());
		atomic_fetch_add(&forks_ended, 1);
		if (pid < 0) {
			complain("fork: %s\n", strerror(errno));
			break;
		}
		atomic_fetch_add(&forks, 1);
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			complain("child %d: wrong protocol or status %#x\n",
				 (int)pid, st);
	}
	return NULL;
}

static void test_threads_fork_stress(void **state)
{
	pthread_t t[NTHREADS], f;

	(void)state;
	alarm(WATCHDOG); /* default action: the test dies, and fails */
	atomic_store(&wrong, 0);
	atomic_store(&done_workers, 0);
	atomic_store(&forks, 0);
	atomic_store(&forks_begun, 0);
	atomic_store(&forks_ended, 0);
	warm_up();
	assert_int_equal(pthread_barrier_init(&start, NULL, NTHREADS + 1), 0);
	for (uintptr_t i = 0; i < NTHREADS; i++)
		assert_int_equal(
			pthread_create(&t[i], NULL, worker, (void *)(i + 1)),
			0);
	assert_int_equal(pthread_create(&f, NULL, forker, NULL), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	pthread_join(f, NULL);
	pthread_barrier_destroy(&start);
	alarm(0);
	printf("# %d forks while %d threads made %d rounds each\n",
	       atomic_load(&forks), NTHREADS, ROUNDS);
	assert_int_equal(atomic_load(&wrong), 0);
	assert_true(atomic_load(&forks) >= MIN_FORKS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_fork_stress),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
