/* SPDX-License-Identifier: MIT */
/*
 * Runs a sequence (`difftest --exec FILE`, started by run.c in a fresh
 * network namespace, with or without the library). Calls of thread 1 or 2
 * are handed to that worker thread and waited for, so the order of the
 * calls, and so every result, is the same in both runs; what differs is
 * only which thread the library sees.
 */
#include "exec.h"
#include "out.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static const struct op *job[3];
static int job_index[3];

static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg;

	for (;;) {
		const struct op *o;

		pthread_mutex_lock(&mu);
		while (!job[t])
			pthread_cond_wait(&cv, &mu);
		o = job[t];
		pthread_mutex_unlock(&mu);
		call_op(job_index[t], o);
		pthread_mutex_lock(&mu);
		job[t] = NULL;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static void hand_over(int i, const struct op *o)
{
	int t = o->thread;

	pthread_mutex_lock(&mu);
	job_index[t] = i;
	job[t] = o;
	pthread_cond_broadcast(&cv);
	while (job[t])
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

int executor_main(const char *seq_path)
{
	static struct seq s;
	pthread_t th;

	if (out_attach() != 0) {
		fprintf(stderr, "difftest: no results channel ($%s)\n",
			OUT_ENV);
		return 2;
	}
	if (seq_read(&s, seq_path, NULL, 0) != 0 || calls_init() != 0) {
		perror("difftest: executor setup");
		return 2;
	}
	for (intptr_t t = 1; t <= 2; t++)
		if (pthread_create(&th, NULL, worker, (void *)t) != 0 ||
		    pthread_detach(th) != 0)
			return 2;
	state_start();
	for (int i = 0; i < s.n; i++) {
		if (s.ops[i].thread == 0)
			call_op(i, &s.ops[i]);
		else
			hand_over(i, &s.ops[i]);
	}
	state_report();
	out("end");
	return 0;
}
