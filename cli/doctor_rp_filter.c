/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor, rp_filter: strict reverse-path filtering on an interface
 * whose traffic routes back by another drops the subflows that arrive on it.
 */
#include "doctor.h"

void check_rp_filter(void)
{
	struct addr addrs[64];
	size_t na = usable_addresses(addrs, 64);
	char all[16], one[16], path[128];
	int nifs = 0, ifs[64];
	struct finding *f;

	for (size_t i = 0; i < na; i++) {
		bool seen = false;

		for (int k = 0; k < nifs; k++)
			seen |= ifs[k] == addrs[i].ifindex;
		if (!seen && nifs < 64)
			ifs[nifs++] = addrs[i].ifindex;
	}
	if (nifs < 2 || !diag_read_line("/proc/sys/net/ipv4/conf/all/rp_filter",
					all, sizeof(all)))
		return;
	for (size_t i = 0; i < na; i++) {
		const struct addr *a = &addrs[i];
		int eff;
		bool dup = false;

		if (a->family != AF_INET)
			continue;
		for (size_t k = 0; k < i; k++)
			dup |= addrs[k].family == AF_INET &&
			       addrs[k].ifindex == a->ifindex;
		if (dup)
			continue;
		snprintf(path, sizeof(path),
			 "/proc/sys/net/ipv4/conf/%s/rp_filter", a->ifname);
		if (!diag_read_line(path, one, sizeof(one)))
			continue;
		eff = atoi(all) > atoi(one) ? atoi(all) : atoi(one);
		if (eff != 1)
			continue;
		if (a->ifindex > 0 && a->ifindex < 256 &&
		    dr.route_bad_if[a->ifindex]) {
			f = dr_add(
				SEV_WARN, "rp_filter",
				"strict reverse-path filtering on %s "
				"(rp_filter = 1) drops the subflows that "
				"arrive on %s while the route back leaves by "
				"another interface",
				a->ifname, a->ifname);
			dr_fix(f, "sysctl -w net.ipv4.conf.%s.rp_filter=2",
			       a->ifname);
			dr_detail(f, "or fix the routing above (one table per "
				     "address): strict filtering then passes");
		} else {
			dr_add(SEV_INFO, "rp_filter",
			       "strict reverse-path filtering on %s (rp_filter "
			       "= "
			       "1): fine while each address routes by its own "
			       "interface (checked above)",
			       a->ifname);
		}
	}
}
