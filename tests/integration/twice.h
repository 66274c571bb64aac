/* SPDX-License-Identifier: MIT */
/*
 * Runs a scenario of the test program twice, as a new process: once with
 * the environment as it is (the library preloaded) and once without
 * LD_PRELOAD, so that a test compares what a program sees with the
 * library and without it. The scenario is `PROGRAM scenario NAME`; it
 * prints its findings on stdout, and the library's messages go to a
 * temporary file.
 */
#ifndef MPTCPSHIM_TEST_TWICE_H
#define MPTCPSHIM_TEST_TWICE_H

#include "swap.h"

#include <sys/wait.h>

extern char **environ;

struct run {
	int status; /* exit status, or 128 + the signal */
	char out[1024];
	char err[16384];
};

static inline void run_scenario(const char *name, bool preload, struct run *r)
{
	char prog[] = "scenario", *argv[] = {prog, prog, (char *)name, NULL};
	char *env[256];
	size_t n = 0, got = 0;
	FILE *errf = tmpfile();
	int p[2], st;
	ssize_t k;
	pid_t pid;

	for (size_t i = 0; environ[i] && n < 255; i++)
		if (preload || strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			env[n++] = environ[i];
	env[n] = NULL;
	assert_non_null(errf);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(fileno(errf), 2);
		alarm(120); /* bounded, whatever the scenario does */
		execve("/proc/self/exe", argv, env);
		_exit(127);
	}
	close(p[1]);
	while (got < sizeof(r->out) - 1 &&
	       (k = read(p[0], r->out + got, sizeof(r->out) - 1 - got)) > 0)
		got += (size_t)k;
	r->out[got] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	rewind(errf);
	k = (ssize_t)fread(r->err, 1, sizeof(r->err) - 1, errf);
	r->err[k > 0 ? k : 0] = '\0';
	fclose(errf);
	print_message("# %s %s: status %d: %.*s\n", name,
		      preload ? "with the library" : "without", r->status,
		      (int)strcspn(r->out, "\n"), r->out);
}

/* Both runs exited 0 and printed the same up to "| proto=": after it, the
 * kernel's protocol of a listener, which the library converts. */
static inline void assert_same_but_proto(const struct run *with,
					 const struct run *without)
{
	const char *bar = strstr(with->out, "| proto=");

	assert_int_equal(with->status, 0);
	assert_int_equal(without->status, 0);
	assert_non_null(bar);
	assert_int_equal(
		strncmp(with->out, without->out, (size_t)(bar - with->out)), 0);
}

/* How many times s occurs in text. */
static inline int count_of(const char *text, const char *s)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, s)); p += strlen(s))
		n++;
	return n;
}

#endif
