/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor, firewall (nftables, and iptables-nft whose rules are
 * nftables rules): a rule that drops, rejects, strips or rewrites TCP
 * option 30 (MPTCP) turns every connection it meets into TCP, or kills
 * it: an error, the rule named, and the command that deletes it. Rules
 * that only match the option (accept, count) are listed as information.
 */
#include "doctor.h"

/* What a rule does to option 30, in a finding (iptables too). */
const char *const dr_opt30_text[] = {
	[NL_OPT30_DROP] = "drops packets that carry TCP option 30 (MPTCP): "
			  "MPTCP SYNs are lost, clients wait and then retry "
			  "without MPTCP",
	[NL_OPT30_REJECT] = "rejects packets that carry TCP option 30 "
			    "(MPTCP): MPTCP connections are refused",
	[NL_OPT30_STRIP] = "strips TCP option 30 (MPTCP): every connection "
			   "through it falls back to TCP",
	[NL_OPT30_SET] = "rewrites TCP option 30 (MPTCP): connections "
			 "through it fall back to TCP or are reset",
};

static bool harmful(enum nl_opt30 a)
{
	return a == NL_OPT30_DROP || a == NL_OPT30_REJECT ||
	       a == NL_OPT30_STRIP || a == NL_OPT30_SET;
}

/* The rule as 'nft' names it: family table chain handle N. */
static void rule_fix(struct finding *f, const struct nl_nft_rule *r)
{
	char t[200], c[200];
	const char *ipt = strcmp(r->family, "ip") == 0	  ? "iptables-nft"
			  : strcmp(r->family, "ip6") == 0 ? "ip6tables-nft"
							  : NULL;

	dr_shq(r->table, t, sizeof(t));
	dr_shq(r->chain, c, sizeof(c));
	if (r->xt && ipt) {
		/* a rule iptables-nft wrote: its own command, by place
		 * (the findings come last rule first, so that pasting
		 * them in order deletes the right ones) */
		dr_fix(f, "%s -t %s -D %s %u", ipt, t, c, r->pos);
		dr_detail(f,
			  "written by %s (the iptables of Debian 11 and "
			  "later); the same with nft: nft delete rule %s %s "
			  "%s handle %llu",
			  ipt, r->family, t, c, (unsigned long long)r->handle);
		dr_detail(f, "and delete it where the rules are restored at "
			     "boot (iptables-save, /etc/iptables/rules.v4 "
			     "or rules.v6)");
	} else {
		dr_fix(f, "nft delete rule %s %s %s handle %llu", r->family, t,
		       c, (unsigned long long)r->handle);
		dr_detail(f, "and delete it where the ruleset is loaded at "
			     "boot (/etc/nftables.conf)");
	}
}

void check_nft(void)
{
	char **tables = NULL;
	struct nl_nft_rule *rules = NULL;
	size_t nt = 0, nr = 0, nbad = 0;
	int e = nl_nft_tables(&tables, &nt);
	struct finding *f, *info = NULL;

	if (e == EPERM || e == EACCES) {
		dr_add(SEV_INFO, "firewall",
		       "nftables not read (%s: run doctor as root)",
		       strerror(e));
		return;
	}
	if (e) {
		dr_add(SEV_INFO, "firewall", "nftables not read: %s",
		       strerror(e));
		return;
	}
	if (nt == 0) {
		dr_add(SEV_OK, "firewall", "no nftables table here");
		goto out;
	}
	if ((e = nl_nft_mptcp_rules(&rules, &nr)) != 0) {
		f = dr_add(SEV_WARN, "firewall",
			   "the nftables rules could not be read: %s",
			   strerror(e));
		dr_probe(f, "nft -a list ruleset");
		goto out;
	}
	/* last rule first: deleting one by its place in a chain (the
	 * iptables way) then keeps the places of those still to come */
	for (size_t k = nr; k-- > 0;) {
		const struct nl_nft_rule *r = &rules[k];

		if (!harmful(r->act))
			continue;
		nbad++;
		f = dr_add(SEV_ERROR, "firewall",
			   "nftables rule %s %s chain %s handle %llu %s",
			   r->family, r->table, r->chain,
			   (unsigned long long)r->handle,
			   dr_opt30_text[r->act]);
		rule_fix(f, r);
	}
	for (size_t k = 0; k < nr; k++) {
		const struct nl_nft_rule *r = &rules[k];

		if (harmful(r->act))
			continue;
		if (!info) {
			info = dr_add(SEV_INFO, "firewall",
				      "nftables rules that touch TCP option "
				      "30 or strip TCP options, without "
				      "dropping or removing MPTCP:");
			dr_probe(info, "nft -a list ruleset");
		}
		dr_detail(info, "%s %s chain %s handle %llu: %s", r->family,
			  r->table, r->chain, (unsigned long long)r->handle,
			  r->act == NL_OPT30_MISSING
				  ? "matches packets without option 30"
			  : r->act == NL_OPT30_STRIP_OTHER
				  ? "TCPOPTSTRIP without 30 in its list"
				  : "matches option 30 and lets it pass");
	}
	if (nbad == 0) {
		f = dr_add(SEV_INFO, "firewall",
			   "nftables has %zu table%s; no rule drops, rejects "
			   "or strips TCP option 30. It must also accept SYNs "
			   "to every address this server announces (the "
			   "MP_JOIN SYNs of new subflows)",
			   nt, nt == 1 ? "" : "s");
		for (size_t i = 0; i < nt && i < 8; i++)
			dr_detail(f, "table %s", tables[i]);
		dr_probe(f, "nft list ruleset");
	}
out:
	for (size_t i = 0; i < nt; i++)
		free(tables[i]);
	free(tables);
	free(rules);
}
