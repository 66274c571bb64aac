/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor, routing: with several addresses, does traffic from each
 * leave by its own interface (one routing table per address)?
 */
#include "doctor.h"

static bool table_used(uint32_t t, const struct nl_route_entry *r, size_t nr,
		       const struct nl_rule *ru, size_t nru,
		       const uint32_t *taken, size_t ntaken)
{
	if (t == 253 || t == 254 || t == 255)
		return true;
	for (size_t i = 0; i < nr; i++)
		if (r[i].table == t)
			return true;
	for (size_t i = 0; i < nru; i++)
		if (ru[i].table == t)
			return true;
	for (size_t i = 0; i < ntaken; i++)
		if (taken[i] == t)
			return true;
	return false;
}

void check_routing(void)
{
	struct addr addrs[64];
	size_t na = usable_addresses(addrs, 64);
	uint32_t taken[64];
	size_t ntaken = 0;
	unsigned bad = 0, checked = 0;
	struct finding *f;

	for (int fam = AF_INET; fam <= AF_INET6; fam += AF_INET6 - AF_INET) {
		struct nl_route_entry *r = NULL;
		struct nl_rule *ru = NULL;
		size_t nr = 0, nru = 0, nfam = 0;
		int ifs[64], nifs = 0;
		uint8_t dst[16] = {0};
		bool has_default = false;

		for (size_t i = 0; i < na; i++) {
			bool seen = false;

			if (addrs[i].family != fam)
				continue;
			nfam++;
			for (int k = 0; k < nifs; k++)
				seen |= ifs[k] == addrs[i].ifindex;
			if (!seen && nifs < 64)
				ifs[nifs++] = addrs[i].ifindex;
		}
		/* one interface: every path leaves by it anyway */
		if (nfam < 2 || nifs < 2)
			continue;
		if (nl_routes(fam, &r, &nr) != 0 || nl_rules(fam, &ru, &nru))
			goto next;
		for (size_t i = 0; i < nr; i++)
			if (r[i].table == 254 && r[i].dst_len == 0)
				has_default = true;
		if (!has_default) {
			dr_add(SEV_INFO, "routing",
			       "no %s default route: routing per address not "
			       "checked",
			       fam == AF_INET ? "IPv4" : "IPv6");
			goto next;
		}
		/* a documentation address stands for "a client out there" */
		if (fam == AF_INET)
			inet_pton(AF_INET, "203.0.113.1", dst);
		else
			inet_pton(AF_INET6, "2001:db8:ffff::1", dst);
		for (size_t i = 0; i < na; i++) {
			const struct addr *a = &addrs[i];
			struct nl_route rt;
			char oif[IF_NAMESIZE], gw[INET6_ADDRSTRLEN] = "";
			uint8_t net[16];
			char nettxt[INET6_ADDRSTRLEN];
			uint32_t t = 100;

			if (a->family != fam ||
			    nl_route_get(fam, a->a, dst, &rt) != 0)
				continue;
			checked++;
			if (rt.oif == a->ifindex)
				continue;
			bad++;
			if (a->ifindex > 0 && a->ifindex < 256)
				dr.route_bad_if[a->ifindex] = true;
			while (table_used(t, r, nr, ru, nru, taken, ntaken))
				t++;
			if (ntaken < 64)
				taken[ntaken++] = t;
			for (size_t k = 0; k < nr; k++)
				if (r[k].table == 254 && r[k].has_gateway &&
				    r[k].oif == a->ifindex)
					inet_ntop(fam, r[k].gateway, gw,
						  sizeof(gw));
			if (gw[0]) {
				f = dr_add(
					SEV_WARN, "routing",
					"traffic from %s leaves by %s, not by "
					"%s: subflows on that address go out "
					"the wrong interface and are dropped "
					"(one routing table per address)",
					a->text, ifname_of(rt.oif, oif),
					a->ifname);
				dr_fix(f,
				       "ip%s route add default via %s dev %s "
				       "table %u && ip%s rule add from %s "
				       "table "
				       "%u",
				       fam == AF_INET6 ? " -6" : "", gw,
				       a->ifname, t,
				       fam == AF_INET6 ? " -6" : "", a->text,
				       t);
			} else {
				memcpy(net, a->a, 16);
				for (unsigned b = a->prefix; b < alen(fam) * 8;
				     b++)
					net[b / 8] &=
						(uint8_t)(~(0x80u >> (b % 8)));
				inet_ntop(fam, net, nettxt, sizeof(nettxt));
				f = dr_add(
					SEV_WARN, "routing",
					"traffic from %s to clients beyond "
					"%s/%u leaves by %s, not by %s, and no "
					"gateway on %s is known: subflows to "
					"that address from outside its subnet "
					"fail; announce it only to clients on "
					"that subnet, or route it by its own "
					"table",
					a->text, nettxt, a->prefix,
					ifname_of(rt.oif, oif), a->ifname,
					a->ifname);
				dr_detail(f,
					  "with the gateway of %s: ip%s route "
					  "add "
					  "default via GATEWAY dev %s table %u "
					  "&& "
					  "ip%s rule add from %s table %u",
					  a->ifname,
					  fam == AF_INET6 ? " -6" : "",
					  a->ifname, t,
					  fam == AF_INET6 ? " -6" : "", a->text,
					  t);
			}
			dr_detail(f, "to keep it: the same route and rule in "
				     "your network configuration "
				     "(systemd-networkd [RoutingPolicyRule], "
				     "NetworkManager ipv4.routing-rules, "
				     "ifupdown post-up)");
		}
	next:
		free(r);
		free(ru);
	}
	if (checked > 0 && bad == 0)
		dr_add(SEV_OK, "routing",
		       "traffic from each address leaves by its own interface "
		       "(%u checked)",
		       checked);
}
