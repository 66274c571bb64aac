/* SPDX-License-Identifier: MIT */
/*
 * Delta debugging over the call list (Zeller's ddmin, complements only):
 * remove chunks of calls while the two runs still disagree, halving the
 * chunk size when no chunk can go; then try each remaining call on the
 * main thread. Bounded in time: a shrink stops with what it has.
 */
#include "run.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* What a failure is, without its numbers: the verdict and the first
 * words of the differing lines. A shorter sequence must fail the same
 * way, not some other way. */
static void signature(const char *verdict, const char *why, char *sig,
		      size_t len)
{
	size_t n = 0;
	int words = 0;

	n += (size_t)snprintf(sig, len, "%s:", verdict);
	why = strstr(why, ": ") ? strstr(why, ": ") + 2 : why;
	for (; *why && n + 1 < len && words < 12; why++) {
		if (*why >= '0' && *why <= '9')
			continue;
		words += *why == ' ';
		sig[n++] = *why;
	}
	sig[n] = 0;
}

static char want[256];

static bool fails(const struct settings *st, const struct seq *s)
{
	char why[512], sig[256];
	const char *v = check_seq(st, s, why, sizeof(why));

	if (!v)
		return false;
	signature(v, why, sig, sizeof(sig));
	return strcmp(sig, want) == 0;
}

void shrink(const struct settings *st, struct seq *s, const char *verdict,
	    const char *why, int limit_s)
{
	time_t end = time(NULL) + limit_s;
	static struct seq t;
	int parts = 2;

	signature(verdict, why, want, sizeof(want));

	while (s->n >= 2 && time(NULL) < end) {
		int chunk = (s->n + parts - 1) / parts;
		bool reduced = false;

		for (int start = 0; start < s->n && time(NULL) < end;
		     start += chunk) {
			t.n = 0;
			for (int i = 0; i < s->n; i++)
				if (i < start || i >= start + chunk)
					t.ops[t.n++] = s->ops[i];
			if (t.n > 0 && fails(st, &t)) {
				*s = t;
				parts = parts > 2 ? parts - 1 : 2;
				reduced = true;
				break;
			}
		}
		if (!reduced) {
			if (parts >= s->n)
				break;
			parts = parts * 2 > s->n ? s->n : parts * 2;
		}
	}
	for (int i = 0; i < s->n && time(NULL) < end; i++) {
		if (s->ops[i].thread == 0)
			continue;
		t = *s;
		t.ops[i].thread = 0;
		if (fails(st, &t))
			*s = t;
	}
}
