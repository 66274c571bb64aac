/* SPDX-License-Identifier: MIT */
/*
 * The driver's side: running a sequence in a fresh network namespace,
 * with or without the library (run.c); comparing two runs (compare.c);
 * shrinking a failing sequence (shrink.c); writing a C reproducer
 * (repro.c); the known defects left out while their fixes are pending
 * (known.c); generating sequences (gen.c).
 */
#ifndef DIFFTEST_RUN_H
#define DIFFTEST_RUN_H

#include "seq.h"

#include <stdbool.h>

struct settings {
	const char *self;    /* this binary, run as the executor */
	const char *lib;     /* libmptcpshim.so */
	const char *workdir; /* where sequences and findings are written */
	int timeout_ms;	     /* per run: more is a hang */
};

struct run_result {
	char *out; /* the results, then "exit ..." or "hang" */
	char *err; /* its standard error */
};

int run_seq(const struct settings *st, const char *seq_path, bool with_lib,
	    struct run_result *r);
void run_free(struct run_result *r);

/* NULL if the two runs agree, else what differs (static text). strict:
 * the sequence gives the library no reason to leave a listed listener
 * TCP, even with a warning. */
const char *compare_runs(const struct run_result *base,
			 const struct run_result *lib, bool strict, char *why,
			 size_t why_len);

/* Runs s both ways; NULL if they agree, else what differs. */
const char *check_seq(const struct settings *st, const struct seq *s, char *why,
		      size_t why_len);

/* Shortens a sequence that fails this way (delta debugging), within
 * limit_s seconds. */
void shrink(const struct settings *st, struct seq *s, const char *verdict,
	    const char *why, int limit_s);

int write_repro(const struct seq *s, const char *path, const char *what,
		const struct settings *st);

/* gen.c */
void gen_seq(struct seq *s, unsigned long long seed);
/* What the generator leaves out (known.c sets it). */
struct gen_off {
	bool kind[OP_NKINDS];
	bool ptr[PTR_NKINDS];
	bool low_closefrom; /* closefrom(-1) */
	bool unshare;	    /* close_range(CLOSE_RANGE_UNSHARE) */
	bool spawn_dup2;    /* posix_spawn() with a file action */
	bool bound_connect; /* connect() of a socket the sequence bound */
	bool sendfd_bound;  /* SCM_RIGHTS of an AF_INET/AF_INET6 socket */
};
extern struct gen_off gen_off;

/* known.c: issue 21's cases not yet fixed; their call kinds are left out
 * of generated sequences (printed at the start), and replayed cases
 * marked with them are not held against the library. */
void known_apply(bool quiet);
/* --lift TAG: generate what that entry leaves out (to try a fix). */
void known_lift(const char *tag);
bool known_pending(const char *cases);

#endif
