/* SPDX-License-Identifier: MIT */
/*
 * A bind() while system() runs in another thread (issue 21 case 7).
 * system() held every conversion back until its command had finished, so
 * the other thread's bind() of a listed address span on the CPU for as
 * long; a command that waits for the program's own listener waited until
 * it gave up. Now the bind() goes on at once, and the command reaches the
 * listener, as without the library.
 *
 * The scenario (twice.h): a thread runs system("THIS client PORT FD"),
 * whose command says it runs on the inherited pipe FD, then tries to
 * connect to PORT for up to CLIENT_SECONDS. Once the command runs, the
 * main thread makes a listener on the listed PORT and accepts.
 */
#include "twice.h"

#include <poll.h>
#include <pthread.h>
#include <time.h>

#define CLIENT_SECONDS 20

static char command[4200];
static int system_status = -1;

static void *run_system(void *arg)
{
	(void)arg;
	system_status = system(command);
	return NULL;
}

/* The command: "client PORT FD". */
static int client(int port, int fd)
{
	struct timespec t0, t;
	struct sockaddr_storage ss;
	socklen_t len = loop_addr(AF_INET, port, &ss);

	if (write(fd, "r", 1) != 1)
		return 3;
	close(fd);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		int c = socket(AF_INET, SOCK_STREAM, 0);

		if (connect(c, (struct sockaddr *)&ss, len) == 0) {
			close(c);
			return 0;
		}
		close(c);
		usleep(20000);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < CLIENT_SECONDS);
	return 1;
}

static double thread_cpu(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int bind_during_system(void)
{
	char self[4096], r;
	struct pollfd pfd;
	int p[2], l, a = -1, port, one = 1;
	double cpu;
	ssize_t n;
	pthread_t th;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || pipe(p) != 0)
		return 10;
	self[n] = '\0';
	/* a port that is free now; the command connects to it */
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	port = bind_free(l, AF_INET, LISTED_LO);
	close(l);
	if (port < 0)
		return 11;
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	snprintf(command, sizeof(command), "'%s' client %d %d", self, port,
		 p[1]);
	if (pthread_create(&th, NULL, run_system, NULL) != 0)
		return 12;
	/* the command runs: system() is under way */
	pfd.fd = p[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 60000) != 1 || read(p[0], &r, 1) != 1)
		return 13;
	cpu = thread_cpu();
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	{
		struct sockaddr_storage ss;
		socklen_t len = loop_addr(AF_INET, port, &ss);

		if (bind(l, (struct sockaddr *)&ss, len) != 0 ||
		    listen(l, 8) != 0)
			return 14;
	}
	cpu = thread_cpu() - cpu;
	pfd.fd = l;
	if (poll(&pfd, 1, (CLIENT_SECONDS + 10) * 1000) == 1)
		a = accept(l, NULL, NULL);
	pthread_join(th, NULL);
	printf("system=%d accepted=%d | proto=%d\n",
	       WIFEXITED(system_status) ? WEXITSTATUS(system_status) : -1,
	       a >= 0, kproto(l));
	fprintf(stderr, "# CPU time of the bind() and listen(): %.4f s\n", cpu);
	return 0;
}

static void test_bind_during_system(void **state)
{
	static struct run with, without;

	(void)state;
	run_scenario("system", true, &with);
	run_scenario("system", false, &without);
	print_message("%s", with.err);
	assert_non_null(strstr(without.out, "system=0 accepted=1 |"));
	assert_same_but_proto(&with, &without);
	/* made after system() began, close-on-exec: converted */
	assert_non_null(strstr(with.out, "| proto=262"));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind_during_system),
	};

	if (argc == 3 && strcmp(argv[1], "scenario") == 0 &&
	    strcmp(argv[2], "system") == 0)
		return bind_during_system();
	if (argc == 4 && strcmp(argv[1], "client") == 0)
		return client(atoi(argv[2]), atoi(argv[3]));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
