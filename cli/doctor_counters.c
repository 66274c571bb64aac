/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor, counters: the MPTcpExt counters of this network
 * namespace (fallbacks, joins, announced addresses). They count from boot,
 * or from the namespace's creation: judged over a window doctor measures
 * (--window SECONDS: read twice, the difference), or else with the span
 * they cover said plainly.
 */
#include "doctor.h"

#include <sys/stat.h>
#include <time.h>

bool mib_read(struct mib *m)
{
	FILE *fp = fopen("/proc/net/netstat", "re");
	char names[8192], vals[8192];

	memset(m, 0, sizeof(*m));
	if (!fp)
		return false;
	while (fgets(names, sizeof(names), fp) &&
	       fgets(vals, sizeof(vals), fp)) {
		char *sn, *sv, *n, *v;

		if (strncmp(names, "MPTcpExt:", 9) != 0)
			continue;
		m->ok = true;
		n = strtok_r(names + 9, " \n", &sn);
		v = strtok_r(vals + 9, " \n", &sv);
		for (; n && v && m->n < MIB_MAX;
		     n = strtok_r(NULL, " \n", &sn),
		     v = strtok_r(NULL, " \n", &sv)) {
			snprintf(m->name[m->n], sizeof(m->name[0]), "%s", n);
			m->v[m->n++] = strtoull(v, NULL, 10);
		}
		break;
	}
	fclose(fp);
	return m->ok;
}

bool mib_has(const struct mib *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->name[i], name) == 0)
			return true;
	return false;
}

unsigned long long mib_get(const struct mib *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->name[i], name) == 0)
			return m->v[i];
	return 0;
}

/* The counters judged: the second reading less the first (--window), or
 * the totals. */
static struct mib now, base;
static unsigned window;

void read_counters(unsigned window_s)
{
	if (!mib_read(&base))
		return;
	window = window_s;
	if (window == 0) {
		now = base;
		memset(base.v, 0, sizeof(base.v));
		return;
	}
	{
		struct timespec ts = {.tv_sec = window};

		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
	mib_read(&now);
}

static unsigned long long counted(const char *name)
{
	unsigned long long a = mib_get(&now, name), b = mib_get(&base, name);

	return a > b ? a - b : 0;
}

/* What the totals cover: since boot in the first network namespace
 * (its age known), since its creation in another (age unknown). */
static void span(char *buf, size_t len)
{
	struct stat a, b;
	double up = 0;
	FILE *fp;

	if (window) {
		snprintf(buf, len, "in the %u s measured (--window)", window);
		return;
	}
	if (stat("/proc/self/ns/net", &a) == 0 &&
	    stat("/proc/1/ns/net", &b) == 0 && a.st_ino == b.st_ino &&
	    (fp = fopen("/proc/uptime", "re"))) {
		if (fscanf(fp, "%lf", &up) != 1)
			up = 0;
		fclose(fp);
	}
	if (up > 0)
		snprintf(buf, len, "since boot, %.1f h ago", up / 3600);
	else
		snprintf(buf, len, "since this network namespace was created");
}

void check_counters(void)
{
	unsigned long long syn_rx = counted("MPCapableSYNRX"),
			   syn_tx = counted("MPCapableSYNTX"),
			   join_rx = counted("MPJoinSynRx"),
			   addaddr_tx = counted("AddAddrTx"),
			   fb_client = counted("MPCapableFallbackSYNACK"),
			   fb_server = 0;
	char fb_list[512] = "", when[96];
	struct finding *f;

	if (!now.ok)
		return;
	span(when, sizeof(when));
	for (size_t i = 0; i < now.n; i++) {
		unsigned long long x = counted(now.name[i]);
		size_t l = strlen(fb_list);

		/* an MPTCP client meeting a TCP server: not ours */
		if (!strstr(now.name[i], "Fallback") || x == 0 ||
		    strcmp(now.name[i], "MPCapableFallbackSYNACK") == 0)
			continue;
		fb_server += x;
		snprintf(fb_list + l, sizeof(fb_list) - l, "%sMPTcpExt%s %llu",
			 l ? ", " : "", now.name[i], x);
	}
	if (syn_rx + syn_tx == 0) {
		dr_add(SEV_INFO, "counters",
		       window ? "no MPTCP connection in the %u s measured "
				"(MPTcpExt counters, see nstat)"
			      : "no MPTCP connection counted yet in this "
				"network namespace (MPTcpExt counters, see "
				"nstat)",
		       window);
		return;
	}
	if (fb_server > 0) {
		/* measured now, any fallback matters; over a long past, a
		 * share of 1% or more */
		bool warn = window || fb_server * 100 >= syn_rx;

		f = dr_add(warn ? SEV_WARN : SEV_INFO, "counters",
			   "%llu MPTCP connection%s fell back to TCP after the "
			   "handshake began, %s, of %llu MPTCP SYNs received "
			   "(%.1f%%): a middlebox that strips the MPTCP "
			   "option, or a peer that gave it up",
			   fb_server, fb_server == 1 ? "" : "s", when, syn_rx,
			   syn_rx ? 100.0 * (double)fb_server / (double)syn_rx
				  : 100.0);
		dr_detail(f, "%s", fb_list);
		if (window)
			dr_detail(f, "%.2f per minute",
				  60.0 * (double)fb_server / window);
		else
			dr_detail(f, "a total, not a rate: whether it happens "
				     "now, mptcpshim doctor --window 60 "
				     "measures (over 60 s)");
		dr_probe(f, "nstat -az 'MPTcpExt*Fallback*'");
	} else {
		dr_add(SEV_OK, "counters",
		       "MPTcpExt: %llu MPTCP SYNs received, no fallback of an "
		       "accepted connection, %s",
		       syn_rx, when);
	}
	if (fb_client > 0)
		dr_add(SEV_INFO, "counters",
		       "%llu outbound MPTCP connection%s met a server without "
		       "MPTCP (MPTcpExtMPCapableFallbackSYNACK; %llu MPTCP "
		       "SYNs sent), %s",
		       fb_client, fb_client == 1 ? "" : "s", syn_tx, when);
	if (addaddr_tx > 0 && join_rx == 0) {
		f = dr_add(SEV_INFO, "counters",
			   "this server announced addresses %llu time%s "
			   "(AddAddrTx) but received no MP_JOIN SYN "
			   "(MPJoinSynRx 0), %s: clients do not use them "
			   "(their add_addr_accepted limit is 0 by default on "
			   "Linux), or a firewall drops the joins",
			   addaddr_tx, addaddr_tx == 1 ? "" : "s", when);
		dr_probe(f, "nstat -az 'MPTcpExt*Join*' 'MPTcpExt*AddAddr*'");
	} else if (join_rx > 0) {
		dr_add(SEV_OK, "counters",
		       "%llu MP_JOIN SYNs received, %s: clients open extra "
		       "paths",
		       join_rx, when);
	}
}
