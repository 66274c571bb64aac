/* SPDX-License-Identifier: MIT */
/*
 * Issue 21's known defects whose fixes have not landed yet. While one is
 * listed here, the generator leaves out what triggers it (printed at the
 * start of every run), and a replayed case marked "# known TAG" (21.N:
 * issue 21's case N; FN: the tester's own finding N) is run but not held
 * against the library. When a fix lands, its line goes, and the
 * tester covers that ground again.
 */
#include "run.h"

#include <stdio.h>
#include <string.h>

enum {
	OFF_KIND,
	OFF_PTR,
	OFF_LOW_CLOSEFROM,
	OFF_UNSHARE,
	OFF_SPAWN_DUP2,
	OFF_BOUND_CONNECT,
	OFF_SENDFD_BOUND
};

struct known {
	const char *tag; /* "21.N": issue 21 case N; "FN": difftest finding
			  * N (/work/coord/difftest-findings.md) */
	int what, arg;
	const char *text;
};

static const struct known pending[] = {
	/* fixed (70b75f6: candidates stay TCP once the table is split); a
	 * socket converted before the split and closed in one thread's
	 * table is the documented rest (one record per number) */
	{"F8", OFF_UNSHARE, 0,
	 "a socket converted before close_range(CLOSE_RANGE_UNSHARE), then "
	 "closed in another thread's table, answers SO_PROTOCOL 262 in this "
	 "thread's (documented)"},
	/* documented (b6b317a, one warning), so it stays here: the
	 * kernel's differences remain */
	{"F4", OFF_BOUND_CONNECT, 0,
	 "a client that binds a listed port first is MPTCP (documented, one "
	 "warning); after a refused connect, getsockname() keeps the source "
	 "address"},
	{"F6", OFF_SENDFD_BOUND, 0,
	 "a copy received with SCM_RIGHTS is not followed: a converted one "
	 "answers SO_PROTOCOL 262, one bound through the copy stays TCP "
	 "unsaid"},
};
static const int n_pending = sizeof(pending) / sizeof(pending[0]);

static const char *lifted[8];
static int n_lifted;

void known_lift(const char *tag)
{
	if (n_lifted < 8)
		lifted[n_lifted++] = tag;
}

static bool is_lifted(const char *tag)
{
	for (int i = 0; i < n_lifted; i++)
		if (strcmp(lifted[i], tag) == 0)
			return true;
	return false;
}

void known_apply(bool quiet)
{
	for (int i = 0; i < n_pending; i++) {
		const struct known *k = &pending[i];
		const char *off = "closefrom(-1)";

		if (is_lifted(k->tag))
			continue;
		if (k->what == OFF_KIND) {
			gen_off.kind[k->arg] = true;
			off = kinds[k->arg].name;
		} else if (k->what == OFF_PTR) {
			gen_off.ptr[k->arg] = true;
			off = k->arg == PTR_NULL ? "setsockopt NULL value"
						 : "setsockopt PROT_NONE value";
		} else if (k->what == OFF_UNSHARE) {
			gen_off.unshare = true;
			off = "close_range CLOSE_RANGE_UNSHARE";
		} else if (k->what == OFF_BOUND_CONNECT) {
			gen_off.bound_connect = true;
			off = "connect() of a bound socket";
		} else if (k->what == OFF_SENDFD_BOUND) {
			gen_off.sendfd_bound = true;
			off = "SCM_RIGHTS of an inet socket";
		} else if (k->what == OFF_SPAWN_DUP2) {
			gen_off.spawn_dup2 = true;
			off = "posix_spawn file actions";
		} else {
			gen_off.low_closefrom = true;
		}
		if (!quiet)
			printf("difftest: left out: %s (known, %s %s: %s)\n",
			       off,
			       k->tag[0] == 'F' ? "difftest finding"
						: "issue 21 case",
			       k->tag + (k->tag[0] == 'F' ? 1 : 3), k->text);
	}
}

/* tags: "21.2" or "21.2 F2": is any of them still pending? */
bool known_pending(const char *tags)
{
	char buf[64], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", tags);
	for (char *t = strtok_r(buf, " ,", &save); t;
	     t = strtok_r(NULL, " ,", &save))
		for (int i = 0; i < n_pending; i++)
			if (strcmp(pending[i].tag, t) == 0)
				return true;
	return false;
}
