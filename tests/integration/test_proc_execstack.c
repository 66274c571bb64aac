/* SPDX-License-Identifier: MIT */
/*
 * An exec from a signal handler on a small alternate stack (issue 21 case
 * 9): the library's exec functions reserved 16 KiB of stack on every
 * call, so that execve() from a handler running on an alternate stack of
 * 8 to 20 KiB overflowed it (SIGSEGV), where it works without the
 * library. Now they take little stack.
 *
 * Each scenario (twice.h) is "FUNCTION SIZE": a SIGUSR1 handler on an
 * alternate stack of SIZE bytes, with a guard page below it, calls the
 * exec function; the new program exits 0. Its exit status must be the
 * same with the library and without. "survivor" scenarios keep a
 * converted listener open across the exec of this program itself, the
 * path that builds a new environment.
 */
#include "twice.h"

#include <signal.h>
#include <sys/mman.h>

static char self[4096];
static const char *func;

static void on_usr1(int sig)
{
	static char arg0[] = "execstack", arg1[] = "exit0",
		    *argv[] = {arg0, arg1, NULL};
	extern char **environ;

	(void)sig;
	if (strcmp(func, "execve") == 0)
		execve(self, argv, environ);
	else if (strcmp(func, "execl") == 0)
		execl(self, arg0, arg1, (char *)NULL);
	else if (strcmp(func, "execvp") == 0)
		execvp(self, argv);
	else if (strcmp(func, "execlp") == 0)
		execlp(self, arg0, arg1, (char *)NULL);
	_exit(100); /* the exec failed */
}

static int exec_on_small_stack(const char *how, size_t size, bool survivor)
{
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_ONSTACK};
	stack_t ss = {0};
	char *mem;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return 10;
	self[n] = '\0';
	func = how;
	if (survivor) {
		/* a listener on a listed port, kept across the exec */
		int l = socket(AF_INET, SOCK_STREAM, 0);

		if (bind_free(l, AF_INET, LISTED_LO) < 0 || listen(l, 8) != 0)
			return 11;
	}
	/* the stack, with an inaccessible page below it */
	mem = mmap(NULL, size + 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || mprotect(mem, 4096, PROT_NONE) != 0)
		return 12;
	ss.ss_sp = mem + 4096;
	ss.ss_size = size;
	sigemptyset(&sa.sa_mask);
	if (sigaltstack(&ss, NULL) != 0 || sigaction(SIGUSR1, &sa, NULL) != 0)
		return 13;
	raise(SIGUSR1);
	return 14; /* not reached */
}

static int scenario(const char *name)
{
	char how[32];
	unsigned kib;
	bool survivor = strncmp(name, "survivor-", 9) == 0;

	if (sscanf(survivor ? name + 9 : name, "%31[a-z]-%u", how, &kib) != 2)
		return 20;
	return exec_on_small_stack(how, (size_t)kib * 1024, survivor);
}

static void check(const char *name)
{
	static struct run with, without;

	run_scenario(name, true, &with);
	run_scenario(name, false, &without);
	assert_int_equal(with.status, without.status);
}

static void test_small_stacks(void **state)
{
	static const char *const funcs[] = {"execve", "execl", "execvp",
					    "execlp"};
	static const unsigned kib[] = {8, 12, 16, 20};
	static struct run without;
	char name[64];

	(void)state;
	/* without the library, 20 KiB are enough (else the test says
	 * nothing) */
	run_scenario("execve-20", false, &without);
	assert_int_equal(without.status, 0);
	for (size_t f = 0; f < sizeof(funcs) / sizeof(funcs[0]); f++)
		for (size_t k = 0; k < sizeof(kib) / sizeof(kib[0]); k++) {
			snprintf(name, sizeof(name), "%s-%u", funcs[f], kib[k]);
			check(name);
		}
}

/* A converted listener survives the exec of this program: the library
 * builds the new environment (in memory of its own, not on the stack). */
static void test_small_stack_with_survivor(void **state)
{
	(void)state;
	check("survivor-execve-12");
	check("survivor-execl-16");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_stacks),
		cmocka_unit_test(test_small_stack_with_survivor),
	};

	if (argc == 2 && strcmp(argv[1], "exit0") == 0)
		return 0;
	if (argc == 3 && strcmp(argv[1], "scenario") == 0)
		return scenario(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
