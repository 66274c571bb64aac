/* SPDX-License-Identifier: MIT */
/*
 * socket(), bind(), connect(), setsockopt() and close() are
 * async-signal-safe in POSIX, so a signal handler may call them while the
 * code it interrupted is inside the same functions. Was issue 12 case 7:
 * under the library that could deadlock on its process-wide mutex or in
 * malloc. Now nothing on those paths waits for a lock its own thread may
 * hold or allocates: a handler that interrupts the library passes its
 * calls through, and the sockets it touches stay TCP.
 *
 * A timer interrupts a loop of those calls thousands of times; its handler
 * makes listeners too. A watchdog thread fails the test on a deadlock.
 * Outside sanitizer builds the test also replaces malloc() and counts the
 * allocations made inside the interposed calls: there must be none.
 */
#include "swap.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static __thread int in_call; /* inside an interposed call of ours */
static atomic_int allocs_in_calls;

#if !SANITIZED
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);

void *malloc(size_t n)
{
	if (in_call)
		atomic_fetch_add(&allocs_in_calls, 1);
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	if (in_call)
		atomic_fetch_add(&allocs_in_calls, 1);
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	if (in_call)
		atomic_fetch_add(&allocs_in_calls, 1);
	return __libc_realloc(p, n);
}
#endif

#define SECONDS 3

static atomic_int handler_runs, handler_mptcp, handler_tcp, handler_bad;
static atomic_int main_bad;
static atomic_bool finished;

/* A listener on a listed port, made with the interposed calls only. */
static int make_listener(int family, int *proto)
{
	int fd, one = 1, port;

	in_call++;
	fd = socket(family, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	port = bind_free(fd, family, LISTED_LO);
	in_call--;
	*proto = port > 0 ? kproto(fd) : -1;
	return fd;
}

static void on_timer(int sig)
{
	int e = errno, proto, fd;

	(void)sig;
	atomic_fetch_add(&handler_runs, 1);
	fd = make_listener(AF_INET6, &proto);
	if (proto == IPPROTO_MPTCP)
		atomic_fetch_add(&handler_mptcp, 1);
	else if (proto == IPPROTO_TCP)
		atomic_fetch_add(&handler_tcp, 1);
	else
		atomic_fetch_add(&handler_bad, 1);
	in_call++;
	close(fd);
	in_call--;
	errno = e;
}

static void *watchdog(void *arg)
{
	struct timespec t0, t;
	sigset_t alrm;

	(void)arg;
	/* the timer's signal is for the main thread */
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (atomic_load(&finished))
			return NULL;
		usleep(100000);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < SECONDS + 30);
	fprintf(stderr, "deadlock: the loop did not finish\n");
	abort();
}

static void test_handlers_calling_the_library(void **state)
{
	struct sigaction sa = {.sa_handler = on_timer};
	struct itimerval it = {{0, 200}, {0, 200}};
	struct timespec t0, t;
	int rounds = 0, fds = open_fds();
	pthread_t w;

	(void)state;
	assert_int_equal(pthread_create(&w, NULL, watchdog, NULL), 0);
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		int proto, fd = make_listener(AF_INET, &proto), d, ep;
		struct epoll_event ev = {.events = EPOLLIN};

		/* the program's own listeners: no handler touched them */
		if (proto != IPPROTO_MPTCP)
			atomic_fetch_add(&main_bad, 1);
		in_call++;
		d = dup(fd);
		close(d);
		ep = epoll_create1(0);
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		close(ep);
		close(fd);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		{
			struct sockaddr_storage ss;
			socklen_t len = loop_addr(AF_INET, 1, &ss);

			connect(fd, (struct sockaddr *)&ss, len); /* refused */
		}
		close(fd);
		in_call--;
		rounds++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < SECONDS);
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	atomic_store(&finished, true);
	pthread_join(w, NULL);
	print_message("# %d rounds, %d handler runs: %d MPTCP, %d TCP "
		      "(interrupted the library); %d allocations in calls\n",
		      rounds, atomic_load(&handler_runs),
		      atomic_load(&handler_mptcp), atomic_load(&handler_tcp),
		      atomic_load(&allocs_in_calls));
	assert_true(atomic_load(&handler_runs) > 100);
	assert_int_equal(atomic_load(&main_bad), 0);
	assert_int_equal(atomic_load(&handler_bad), 0);
	assert_int_equal(atomic_load(&allocs_in_calls), 0);
	assert_int_equal(open_fds(), fds);
}

/* fork() holds conversions back while it copies fds; a handler that
 * interrupts fork() itself and binds a listed socket must not wait for it
 * (it would wait for its own thread, with every signal blocked). Review
 * finding F2: the process span forever and ignored SIGTERM. */
static atomic_int fork_handler_runs;

static void bind_in_handler(int sig)
{
	int e = errno, proto;

	(void)sig;
	close(make_listener(AF_INET, &proto));
	atomic_fetch_add(&fork_handler_runs, 1);
	errno = e;
}

static void test_handler_during_fork(void **state)
{
	struct sigaction sa = {.sa_handler = bind_in_handler};
	struct itimerval it = {{0, 50}, {0, 50}};
	pthread_t w;
	int forks;

	(void)state;
	atomic_store(&finished, false);
	assert_int_equal(pthread_create(&w, NULL, watchdog, NULL), 0);
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	for (forks = 0; forks < 1000; forks++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		assert_true(pid > 0);
		waitpid(pid, NULL, 0);
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	atomic_store(&finished, true);
	pthread_join(w, NULL);
	print_message("# %d forks, %d handler runs\n", forks,
		      atomic_load(&fork_handler_runs));
	assert_true(atomic_load(&fork_handler_runs) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handlers_calling_the_library),
		cmocka_unit_test(test_handler_during_fork),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
