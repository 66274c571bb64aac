/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor --print-unit: a systemd unit that sets the current MPTCP
 * endpoints and limits again at boot.
 */
#include "doctor.h"

/* The unit that restores the current endpoints and limits. */
int print_unit(void)
{
	char ipbuf[4096], ifn[IF_NAMESIZE];
	const char *ip = diag_which("ip", ipbuf, sizeof(ipbuf));
	uint32_t sub, acc;
	int e;

	if ((e = nl_pm_limits(&sub, &acc)) ||
	    (e = nl_pm_endpoints(&dr.ep, &dr.nep))) {
		cli_err("cannot read the MPTCP path manager: %s", strerror(e));
		return EX_FAIL;
	}
	if (!ip)
		ip = "/usr/sbin/ip";
	printf("# Written by 'mptcpshim doctor --print-unit': the MPTCP "
	       "endpoints and\n# limits this machine had, set again at "
	       "boot.\n"
	       "[Unit]\n"
	       "Description=MPTCP endpoints and limits\n"
	       "Wants=network-online.target\n"
	       "After=network-online.target\n\n"
	       "[Service]\n"
	       "Type=oneshot\n"
	       "RemainAfterExit=yes\n"
	       "ExecStart=%s mptcp limits set subflows %u add_addr_accepted "
	       "%u\n"
	       "ExecStart=%s mptcp endpoint flush\n",
	       ip, sub, acc, ip);
	for (size_t i = 0; i < dr.nep; i++) {
		const struct nl_endpoint *ep = &dr.ep[i];
		char t[INET6_ADDRSTRLEN];

		inet_ntop(ep->family, ep->addr, t, sizeof(t));
		printf("ExecStart=%s mptcp endpoint add %s", ip, t);
		if (ep->port)
			printf(" port %u", ep->port);
		if (ep->ifindex > 0)
			printf(" dev %s", ifname_of(ep->ifindex, ifn));
		printf(" id %u", ep->id);
		if (ep->flags & MPTCP_PM_ADDR_FLAG_SIGNAL)
			printf(" signal");
		if (ep->flags & MPTCP_PM_ADDR_FLAG_SUBFLOW)
			printf(" subflow");
		if (ep->flags & MPTCP_PM_ADDR_FLAG_BACKUP)
			printf(" backup");
		if (ep->flags & MPTCP_PM_ADDR_FLAG_FULLMESH)
			printf(" fullmesh");
		printf("\n");
	}
	printf("\n[Install]\nWantedBy=multi-user.target\n");
	return EX_OK;
}
