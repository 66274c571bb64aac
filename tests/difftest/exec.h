/* SPDX-License-Identifier: MIT */
/*
 * The executor: runs one sequence in this process (calls.c makes each
 * call, executor.c hands calls to threads, state.c reports what the
 * program sees at the end). It writes results with out().
 */
#ifndef DIFFTEST_EXEC_H
#define DIFFTEST_EXEC_H

#include "seq.h"

/* The path of this binary, for the probes children execute. */
extern const char *self_path;

/* Makes the call; writes one result line (index i). */
void call_op(int i, const struct op *o);
/* Sets up what calls need (the option pages, the signal handler). */
int calls_init(void);

/* Runs a whole sequence, then state_report(); the exit status. */
int executor_main(const char *seq_path);
/* Called before a connect(): the library stops tracking a socket that
 * connects (man page), so its later bind() may stay TCP unsaid. */
void state_connected(int fd);
/* A close_range(CLOSE_RANGE_UNSHARE) went through: the library does not
 * follow the thread's new table (man page, LIMITS). */
void state_unshared(void);
/* Notes which file fd 2 is, before the first call. */
void state_start(void);
/* The final state of every descriptor, and the client connections. */
void state_report(void);
/* `difftest --probe [system]`: what an executed child finds open (with
 * "system": a child of system(), which executes a shell first). */
int probe_main(bool via_system);

#endif
