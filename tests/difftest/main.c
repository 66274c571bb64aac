/* SPDX-License-Identifier: MIT */
/*
 * difftest: the differential tester of issue 21.
 *
 *   difftest [--seed S|random] [--count N] [--time SECONDS] [--lib PATH]
 *            [--out DIR] [--all] [--shrink SECONDS] [--timeout MS]
 *            [--max-fail N] [--lift TAG]...
 *   difftest --replay FILE.seq|DIR...
 *   difftest --repro FILE.seq       (writes FILE.c)
 *
 * Generates sequences from seeds S, S+1, ... (until N sequences or the
 * time is up), runs each without and with the library (run.c), and
 * compares (compare.c). A failing sequence is shrunk (shrink.c) and
 * written to DIR as seed-S.seq with a C reproducer seed-S.c. --replay
 * runs stored sequences (tests/difftest/cases: a directory stands for
 * its *.seq files). It stops at the fifth failing seed. Known defects still
 * pending are left out (known.c) unless --all, or --lift TAG for one
 * entry (21.2, F6: to try a fix). Exit status: 0 if every
 * sequence agreed, 1 if one did not, 2 on a usage or setup error.
 * The executor's modes (--exec FILE, --probe) are for run.c.
 */
#include "exec.h"
#include "run.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static int usage(const char *bad)
{
	fprintf(stderr,
		"difftest: bad argument: %s\n"
		"usage: difftest [--seed S|random] [--count N] [--time S] "
		"[--lib PATH] [--out DIR] [--all] [--shrink S] "
		"[--timeout MS] [--max-fail N] [--lift TAG]\n"
		"       difftest [--lib PATH] --replay FILE.seq...\n",
		bad);
	return 2;
}

static int calls_in(const struct seq *s)
{
	return s->n;
}

static void report(const struct settings *st, struct seq *s, const char *name,
		   const char *verdict, const char *why, int shrink_s)
{
	char path[PATH_MAX], what[700];
	int before = s->n;

	printf("difftest: %s: %s: %s\n", name, verdict, why);
	fflush(stdout);
	shrink(st, s, verdict, why, shrink_s);
	char why2[512];
	const char *v2 = check_seq(st, s, why2, sizeof(why2));

	snprintf(what, sizeof(what), "%s: %s: %s", name, v2 ? v2 : verdict,
		 v2 ? why2 : why);
	snprintf(path, sizeof(path), "%s/%s.seq", st->workdir, name);
	seq_write(s, path, what);
	printf("difftest: %s: shrunk from %d to %d calls: %s\n", name, before,
	       s->n, path);
	snprintf(path, sizeof(path), "%s/%s.c", st->workdir, name);
	write_repro(s, path, what, st);
	printf("difftest: %s: C reproducer %s\n", name, path);
	for (int i = 0; i < s->n; i++) {
		char line[128];

		op_text(&s->ops[i], line, sizeof(line));
		printf("difftest:   %s\n", line);
	}
	fflush(stdout);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_seq(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 4 && strcmp(d->d_name + n - 4, ".seq") == 0;
}

/* A directory stands for its *.seq files, in name order. */
static int replay_one(const struct settings *st, const char *path, int *failed);

static int replay(const struct settings *st, int argc, char **argv)
{
	int failed = 0, ran = 0;

	for (int i = 0; i < argc; i++) {
		struct dirent **names;
		int n = scandir(argv[i], &names, is_seq, by_name);

		if (n < 0) {
			if (replay_one(st, argv[i], &failed) != 0)
				return 2;
			ran++;
			continue;
		}
		for (int k = 0; k < n; k++) {
			char path[PATH_MAX];

			snprintf(path, sizeof(path), "%s/%s", argv[i],
				 names[k]->d_name);
			free(names[k]);
			if (replay_one(st, path, &failed) != 0)
				return 2;
			ran++;
		}
		free(names);
	}
	printf("difftest: replayed %d sequences, %d failed\n", ran, failed);
	return failed ? 1 : 0;
}

static int replay_one(const struct settings *st, const char *path, int *failed)
{
	static struct seq s;

	{
		char known[32], why[512];
		const char *v;

		if (seq_read(&s, path, known, sizeof(known)) != 0) {
			fprintf(stderr, "difftest: cannot read %s\n", path);
			return 2;
		}
		v = check_seq(st, &s, why, sizeof(why));
		if (!v) {
			printf("difftest: %s: agrees%s\n", path,
			       known[0] && known_pending(known)
				       ? " (known case fixed?)"
				       : "");
		} else if (known[0] && known_pending(known)) {
			printf("difftest: %s: %s (known, %s, fix pending): "
			       "%s\n",
			       path, v, known, why);
		} else {
			printf("difftest: %s: FAILS: %s: %s\n", path, v, why);
			(*failed)++;
		}
	}
	return 0;
}

static char *default_lib(const char *self)
{
	static char lib[PATH_MAX];
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", self);
	snprintf(lib, sizeof(lib), "%s/../../libmptcpshim.so", dirname(dir));
	return lib;
}

int main(int argc, char **argv)
{
	static char self[PATH_MAX], workdir[] = "/tmp/difftest.XXXXXX";
	struct settings st = {.timeout_ms = 30000};
	unsigned long long seed = 1;
	long count = -1, secs = 60, shrink_s = 60;
	bool all = false;
	int max_fail = 5;
	const char *repro_from = NULL;
	char cur[PATH_MAX];
	int i, failed = 0, seqs = 0;
	long calls = 0;
	time_t start = time(NULL);

	if (argc == 3 && strcmp(argv[1], "--exec") == 0) {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		self[n > 0 ? n : 0] = 0;
		self_path = self;
		return executor_main(argv[2]);
	}
	if (argc >= 2 && strcmp(argv[1], "--probe") == 0)
		return probe_main(argc == 3 && strcmp(argv[2], "system") == 0);
	/* the runs must start with descriptors 0-2 only */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	if (!realpath("/proc/self/exe", self))
		return 2;
	st.self = self;
	st.lib = default_lib(self);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--all") == 0) {
			all = true;
			continue;
		}
		if (strcmp(a, "--replay") == 0)
			break;
		if (!v)
			return usage(a);
		i++;
		if (strcmp(a, "--seed") == 0 && strcmp(v, "random") == 0) {
			if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
				seed = (unsigned long long)time(NULL);
			seed %= 1000000000;
		} else if (strcmp(a, "--seed") == 0) {
			seed = strtoull(v, NULL, 10);
		} else if (strcmp(a, "--count") == 0) {
			count = atol(v);
		} else if (strcmp(a, "--time") == 0) {
			secs = atol(v);
		} else if (strcmp(a, "--max-fail") == 0) {
			max_fail = atoi(v);
		} else if (strcmp(a, "--shrink") == 0) {
			shrink_s = atol(v);
		} else if (strcmp(a, "--timeout") == 0) {
			st.timeout_ms = atoi(v);
		} else if (strcmp(a, "--lib") == 0) {
			st.lib = v;
		} else if (strcmp(a, "--lift") == 0) {
			known_lift(v);
		} else if (strcmp(a, "--repro") == 0) {
			repro_from = v;
		} else if (strcmp(a, "--out") == 0) {
			st.workdir = v;
		} else {
			return usage(a);
		}
	}
	if (access(st.lib, R_OK) != 0) {
		fprintf(stderr, "difftest: no library at %s (--lib)\n", st.lib);
		return 2;
	}
	if (!st.workdir && !(st.workdir = mkdtemp(workdir))) {
		perror("difftest: mkdtemp");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!repro_from)
		known_apply(all);
	if (i < argc) {
		int rc = replay(&st, argc - i - 1, argv + i + 1);

		snprintf(cur, sizeof(cur), "%s/current.seq", st.workdir);
		unlink(cur);
		if (st.workdir == workdir)
			rmdir(workdir);
		return rc;
	}
	if (repro_from) {
		static struct seq s;
		char out_path[PATH_MAX];

		snprintf(out_path, sizeof(out_path), "%.*s.c",
			 (int)(strlen(repro_from) -
			       (strstr(repro_from, ".seq") ? 4 : 0)),
			 repro_from);
		if (seq_read(&s, repro_from, NULL, 0) != 0 ||
		    write_repro(&s, out_path, repro_from, &st) != 0)
			return 2;
		printf("difftest: C reproducer %s\n", out_path);
		return 0;
	}
	printf("difftest: seeds from %llu, up to %lds, findings in %s\n", seed,
	       secs, st.workdir);
	for (; count < 0 || seqs < count; seed++) {
		static struct seq s;
		char name[64], why[512];
		const char *v;
		time_t t0;

		if (time(NULL) - start >= secs || failed >= max_fail)
			break;
		gen_seq(&s, seed);
		seqs++;
		calls += calls_in(&s);
		t0 = time(NULL);
		v = check_seq(&st, &s, why, sizeof(why));
		if (time(NULL) - t0 > 5) /* not a verdict: for the record */
			printf("difftest: seed-%llu took %lds\n", seed,
			       (long)(time(NULL) - t0));
		if (v) {
			failed++;
			snprintf(name, sizeof(name), "seed-%llu", seed);
			report(&st, &s, name, v, why, (int)shrink_s);
		}
	}
	snprintf(cur, sizeof(cur), "%s/current.seq", st.workdir);
	unlink(cur);
	if (!failed && st.workdir == workdir)
		rmdir(workdir); /* nothing found: nothing to keep */
	printf("difftest: %d sequences (%ld calls), seeds %llu-%llu, %lds, %d "
	       "differ\n",
	       seqs, calls, seed - (unsigned long long)seqs, seed - 1,
	       (long)(time(NULL) - start), failed);
	return failed ? 1 : 0;
}
