/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor, limits and endpoints: does the server accept extra
 * subflows, and announce each of its addresses (signal endpoints)?
 */
#include "doctor.h"

static unsigned n_signal(void)
{
	unsigned n = 0;

	for (size_t i = 0; i < dr.nep; i++)
		if (dr.ep[i].flags & MPTCP_PM_ADDR_FLAG_SIGNAL)
			n++;
	return n;
}

void check_limits(void)
{
	struct finding *f;
	int e = nl_pm_limits(&dr.subflows, &dr.accepted);

	if (e) {
		f = dr_add(SEV_WARN, "limits",
			   "cannot read the MPTCP limits (generic netlink "
			   "mptcp_pm): %s",
			   strerror(e));
		dr_probe(f, "ip mptcp limits show");
		return;
	}
	dr.limits_ok = true;
	if (dr.subflows == 0) {
		f = dr_add(
			SEV_WARN, "limits",
			"MPTCP limits: subflows 0: this server accepts no "
			"additional subflow, every connection keeps one path");
		dr_fix(f, "ip mptcp limits set subflows 2 add_addr_accepted %u",
		       dr.accepted);
	} else {
		dr_add(SEV_OK, "limits",
		       "MPTCP limits: subflows %u, "
		       "add_addr_accepted %u",
		       dr.subflows, dr.accepted);
	}
}

void check_endpoints(void)
{
	struct addr addrs[64];
	size_t na = usable_addresses(addrs, 64);
	bool outbound = dr.cfg_ok && dr.cfg.connect.mode != MS_LIST_UNSET &&
			dr.cfg.connect.mode != MS_LIST_NONE;
	unsigned missing = 0;
	struct finding *f;
	char ifn[IF_NAMESIZE];
	int e;

	e = nl_pm_endpoints(&dr.ep, &dr.nep);
	if (e) {
		f = dr_add(SEV_WARN, "endpoints",
			   "cannot read the MPTCP endpoints (generic netlink "
			   "mptcp_pm): %s",
			   strerror(e));
		dr_probe(f, "ip mptcp endpoint show");
		return;
	}
	dr.ep_ok = true;
	/* endpoints on addresses this machine no longer has */
	for (size_t i = 0; i < dr.nep; i++) {
		const struct nl_endpoint *ep = &dr.ep[i];
		char t[INET6_ADDRSTRLEN];
		bool present = false;

		for (size_t j = 0; j < na; j++)
			if (addrs[j].family == ep->family &&
			    memcmp(addrs[j].a, ep->addr, alen(ep->family)) == 0)
				present = true;
		if (present)
			continue;
		inet_ntop(ep->family, ep->addr, t, sizeof(t));
		f = dr_add(SEV_WARN, "endpoints",
			   "endpoint id %u (%s) is not an address of this "
			   "machine (up, not loopback)",
			   ep->id, t);
		dr_fix(f, "ip mptcp endpoint delete id %u", ep->id);
	}
	if (na <= 1) {
		dr_add(SEV_INFO, "endpoints",
		       "%s: no other address to announce; extra paths can only "
		       "come from clients with several addresses",
		       na ? addrs[0].text : "no usable address");
		return;
	}
	for (size_t j = 0; j < na; j++) {
		const struct addr *a = &addrs[j];
		const struct nl_endpoint *ep = endpoint_of(a);

		if (!ep) {
			f = dr_add(SEV_WARN, "endpoints",
				   "%s (dev %s) is not an MPTCP endpoint: "
				   "clients are not told about it and open no "
				   "path to it",
				   a->text, a->ifname);
			dr_fix(f, "ip mptcp endpoint add %s dev %s signal%s",
			       a->text, a->ifname, outbound ? " subflow" : "");
			missing++;
			continue;
		}
		if (!(ep->flags & MPTCP_PM_ADDR_FLAG_SIGNAL)) {
			f = dr_add(SEV_WARN, "endpoints",
				   "endpoint id %u (%s) is not 'signal': this "
				   "server does not announce it to its clients",
				   ep->id, a->text);
			dr_fix(f,
			       "ip mptcp endpoint delete id %u && ip mptcp "
			       "endpoint add %s dev %s signal%s",
			       ep->id, a->text,
			       ifname_of(ep->ifindex ? ep->ifindex : a->ifindex,
					 ifn),
			       (ep->flags & MPTCP_PM_ADDR_FLAG_SUBFLOW)
				       ? " subflow"
				       : "");
			missing++;
		}
	}
	if (missing == 0)
		dr_add(SEV_OK, "endpoints",
		       "every address of this server is a 'signal' endpoint "
		       "(%zu addresses)",
		       na);
	if (dr.limits_ok && n_signal() > dr.subflows && dr.subflows > 0) {
		f = dr_add(SEV_WARN, "limits",
			   "%u 'signal' endpoints but subflows %u: a client "
			   "joins at most %u of the announced addresses",
			   n_signal(), dr.subflows, dr.subflows);
		dr_fix(f,
		       "ip mptcp limits set subflows %u add_addr_accepted %u",
		       n_signal() > 8 ? 8 : n_signal(), dr.accepted);
	}
}
