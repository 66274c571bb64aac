/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor, counters: the MPTcpExt counters of this network
 * namespace (fallbacks, joins, announced addresses).
 */
#include "doctor.h"

static unsigned long long syn_rx, join_rx, addaddr_tx, fb_server, fb_client,
	syn_tx;
static char fb_list[512];
static bool counters_read;

void read_counters(void)
{
	FILE *fp = fopen("/proc/net/netstat", "re");
	char names[8192], vals[8192];

	if (!fp)
		return;
	counters_read = true;
	while (fgets(names, sizeof(names), fp) &&
	       fgets(vals, sizeof(vals), fp)) {
		char *sn, *sv, *n, *v;

		if (strncmp(names, "MPTcpExt:", 9) != 0)
			continue;
		n = strtok_r(names + 9, " \n", &sn);
		v = strtok_r(vals + 9, " \n", &sv);
		for (; n && v; n = strtok_r(NULL, " \n", &sn),
			       v = strtok_r(NULL, " \n", &sv)) {
			unsigned long long x = strtoull(v, NULL, 10);
			size_t l = strlen(fb_list);

			if (strcmp(n, "MPCapableSYNRX") == 0)
				syn_rx = x;
			else if (strcmp(n, "MPCapableSYNTX") == 0)
				syn_tx = x;
			else if (strcmp(n, "MPJoinSynRx") == 0)
				join_rx = x;
			else if (strcmp(n, "AddAddrTx") == 0)
				addaddr_tx = x;
			if (!strstr(n, "Fallback") || x == 0)
				continue;
			/* an MPTCP client meeting a TCP server: not ours */
			if (strcmp(n, "MPCapableFallbackSYNACK") == 0) {
				fb_client += x;
				continue;
			}
			fb_server += x;
			snprintf(fb_list + l, sizeof(fb_list) - l,
				 "%sMPTcpExt%s %llu", l ? ", " : "", n, x);
		}
		break;
	}
	fclose(fp);
}

void check_counters(void)
{
	struct finding *f;

	if (!counters_read)
		return;
	if (syn_rx + syn_tx == 0) {
		dr_add(SEV_INFO, "counters",
		       "no MPTCP connection counted yet in this network "
		       "namespace (MPTcpExt counters, see nstat)");
		return;
	}
	if (fb_server > 0) {
		f = dr_add(
			SEV_WARN, "counters",
			"%llu MPTCP connection%s fell back to TCP after the "
			"handshake began, since boot (%llu MPTCP SYNs "
			"received): a middlebox that strips the MPTCP option, "
			"or "
			"a peer that gave it up",
			fb_server, fb_server == 1 ? "" : "s", syn_rx);
		dr_detail(f, "%s", fb_list);
		dr_probe(f, "nstat -az 'MPTcpExt*Fallback*'");
	} else {
		dr_add(SEV_OK, "counters",
		       "MPTcpExt: %llu MPTCP SYNs received, no fallback of an "
		       "accepted connection",
		       syn_rx);
	}
	if (fb_client > 0)
		dr_add(SEV_INFO, "counters",
		       "%llu outbound MPTCP connection%s met a server without "
		       "MPTCP (MPTcpExtMPCapableFallbackSYNACK; %llu MPTCP "
		       "SYNs "
		       "sent)",
		       fb_client, fb_client == 1 ? "" : "s", syn_tx);
	if (addaddr_tx > 0 && join_rx == 0) {
		f = dr_add(SEV_INFO, "counters",
			   "this server announced addresses %llu time%s "
			   "(AddAddrTx) but received no MP_JOIN SYN "
			   "(MPJoinSynRx 0): clients do not use them (their "
			   "add_addr_accepted limit is 0 by default on Linux), "
			   "or a firewall drops the joins",
			   addaddr_tx, addaddr_tx == 1 ? "" : "s");
		dr_probe(f, "nstat -az 'MPTcpExt*Join*' 'MPTcpExt*AddAddr*'");
	} else if (join_rx > 0) {
		dr_add(SEV_OK, "counters",
		       "%llu MP_JOIN SYNs received: clients open extra paths",
		       join_rx);
	}
}
