/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor, firewall and balancer: nftables and iptables rules on
 * TCP option 30 (MPTCP), and the L4 load balancer reminder.
 */
#include "doctor.h"

static bool file_has_line(const char *path, const char *word)
{
	char line[256];
	bool found = false;
	FILE *fp = fopen(path, "re");

	if (!fp)
		return false;
	while (!found && fgets(line, sizeof(line), fp))
		found = strncmp(line, word, strlen(word)) == 0;
	fclose(fp);
	return found;
}

void check_firewall(void)
{
	char **tables = NULL, **rules = NULL;
	size_t nt = 0, nr = 0;
	int e = nl_nft_tables(&tables, &nt);
	struct finding *f;

	if (e == EPERM || e == EACCES) {
		f = dr_add(SEV_INFO, "firewall",
			   "nftables not read (%s: run doctor as root)",
			   strerror(e));
	} else if (!e && nl_nft_mptcp_rules(&rules, &nr) == 0 && nr > 0) {
		f = dr_add(
			SEV_WARN, "firewall",
			"%zu nftables rule%s touch%s TCP option 30 (MPTCP): a "
			"rule that drops or strips it turns every connection "
			"into TCP",
			nr, nr == 1 ? "" : "s", nr == 1 ? "es" : "");
		for (size_t i = 0; i < nr; i++)
			dr_detail(f, "%s", rules[i]);
		dr_probe(f, "nft -a list ruleset | grep -n -e 'tcp option "
			    "mptcp' -e TCPOPTSTRIP");
	} else if (!e && nt > 0) {
		f = dr_add(
			SEV_INFO, "firewall",
			"nftables has %zu table%s; no rule touches TCP option "
			"30. It must also accept SYNs to every address this "
			"server announces (the MP_JOIN SYNs of new subflows)",
			nt, nt == 1 ? "" : "s");
		for (size_t i = 0; i < nt && i < 8; i++)
			dr_detail(f, "table %s", tables[i]);
		dr_probe(f, "nft list ruleset");
	} else if (!e) {
		dr_add(SEV_OK, "firewall", "no nftables table here");
	}
	/* Legacy iptables: its rules cannot be read here, only whether
	 * tables are loaded. The TCPOPTSTRIP target is listed wherever the
	 * kernel has it (built in, it always is): it says nothing alone. */
	{
		char names[256] = "", names6[256] = "";
		bool strip;

		diag_read_line("/proc/net/ip_tables_names", names,
			       sizeof(names));
		diag_read_line("/proc/net/ip6_tables_names", names6,
			       sizeof(names6));
		strip = file_has_line("/proc/net/ip_tables_targets",
				      "TCPOPTSTRIP") ||
			file_has_line("/proc/net/ip6_tables_targets",
				      "TCPOPTSTRIP");
		if (names[0] || names6[0]) {
			f = dr_add(
				SEV_INFO, "firewall",
				"legacy iptables tables are loaded: they must "
				"accept SYNs to every announced address and "
				"keep TCP option 30%s",
				strip ? " (a TCPOPTSTRIP rule would strip it)"
				      : "");
			/* Debian's iptables-save is the nft one: it
			 * does not show legacy tables */
			if (names[0])
				dr_probe(f, "iptables-legacy-save%s",
					 strip ? " | grep -n -e TCPOPTSTRIP -e "
						 "DROP -e REJECT"
					       : "");
			if (names6[0])
				dr_probe(f, "ip6tables-legacy-save%s",
					 strip ? " | grep -n -e TCPOPTSTRIP -e "
						 "DROP -e REJECT"
					       : "");
		}
	}
	for (size_t i = 0; i < nt; i++)
		free(tables[i]);
	for (size_t i = 0; i < nr; i++)
		free(rules[i]);
	free(tables);
	free(rules);

	f = dr_add(
		SEV_INFO, "balancer",
		"behind an L4 load balancer (IPVS, a cloud NLB), the "
		"balancer must pass TCP option 30, and subflows to the "
		"addresses this server announces bypass it: announce only "
		"addresses clients can reach directly, or none (the balancer "
		"hashes each subflow on its own 5-tuple)");
	if (access("/proc/net/ip_vs", F_OK) == 0)
		dr_detail(f, "this machine runs IPVS (/proc/net/ip_vs)");
}
