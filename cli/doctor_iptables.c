/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor, firewall (legacy iptables and ip6tables): the rules
 * of the tables the kernel has loaded, read as iptables-legacy-save reads
 * them (getsockopt IPT_SO_GET_ENTRIES, in xt_legacy.c), judged like the
 * nftables ones in doctor_nft.c: a TCPOPTSTRIP target with 30 in its list, or a
 * rule that matches option 30 ('-m tcp --tcp-option 30') and drops or rejects,
 * is an error, named by table, chain and place, with the command that deletes
 * it. iptables-nft rules are nftables rules: doctor_nft.c.
 */
#include "doctor.h"

static void check_family(int family, const char *names_file)
{
	const bool v6 = family == AF_INET6;
	const char *save =
		v6 ? "ip6tables-legacy-save" : "iptables-legacy-save";
	char names[256] = "", *sp, *name;
	struct xt_legacy_rule bad[32];
	size_t nbad = 0;
	int err = 0;
	struct finding *f;

	/* the tables the kernel has loaded, one name a line */
	{
		FILE *fp = fopen(names_file, "re");
		size_t l = 0;

		if (!fp)
			return;
		while (l + 40 < sizeof(names) &&
		       fgets(names + l, (int)(sizeof(names) - l), fp))
			l = strlen(names);
		fclose(fp);
		if (l == 0)
			return;
	}
	for (name = strtok_r(names, " \n", &sp); name;
	     name = strtok_r(NULL, " \n", &sp)) {
		int e;

		nbad += xt_legacy_rules(family, name, bad + nbad,
					sizeof(bad) / sizeof(bad[0]) - nbad,
					&e);
		if (e && !err)
			err = e;
	}
	/* last rule first: each deletion by place keeps the places of the
	 * rules still to delete */
	for (size_t k = nbad; k-- > 0;) {
		char t[80], c[80];

		f = dr_add(SEV_ERROR, "firewall",
			   "legacy %s rule %u of table %s, chain %s, %s",
			   v6 ? "ip6tables" : "iptables", bad[k].pos,
			   bad[k].table, bad[k].chain,
			   dr_opt30_text[bad[k].act]);
		dr_fix(f, "%s -t %s -D %s %u",
		       v6 ? "ip6tables-legacy" : "iptables-legacy",
		       dr_shq(bad[k].table, t, sizeof(t)),
		       dr_shq(bad[k].chain, c, sizeof(c)), bad[k].pos);
		dr_detail(f,
			  "and delete it where the rules are restored at "
			  "boot (/etc/iptables/rules.%s)",
			  v6 ? "v6" : "v4");
		dr_probe(f, "%s -t %s", save, t);
	}
	if (err && nbad == 0) {
		f = dr_add(SEV_INFO, "firewall",
			   "legacy %s tables (%s) are loaded but could not be "
			   "read: %s",
			   v6 ? "ip6tables" : "iptables", names_file,
			   strerror(err));
		dr_probe(f, "%s | grep -n -e TCPOPTSTRIP -e DROP -e REJECT",
			 save);
	} else if (nbad == 0) {
		f = dr_add(SEV_INFO, "firewall",
			   "legacy %s tables are loaded; no rule drops, "
			   "rejects or strips TCP option 30. They must also "
			   "accept SYNs to every announced address",
			   v6 ? "ip6tables" : "iptables");
		/* Debian's iptables-save is the nft one: it does not show
		 * legacy tables */
		dr_probe(f, "%s", save);
	}
}

void check_iptables(void)
{
	check_family(AF_INET, "/proc/net/ip_tables_names");
	check_family(AF_INET6, "/proc/net/ip6_tables_names");
}
