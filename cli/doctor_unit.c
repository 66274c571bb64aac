/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor --print-unit: a systemd unit that sets the current MPTCP
 * endpoints and limits again at boot. It adds only these endpoints and,
 * when stopped, deletes only them (by id): no 'ip mptcp endpoint flush',
 * which would also wipe the endpoints NetworkManager (1.40 and later) or
 * mptcpd own. Where to write it and how to enable it go to stderr (and
 * into the unit's comments); so does a daemon that manages endpoints.
 */
#include "doctor.h"

#define UNIT_PATH "/etc/systemd/system/mptcp-endpoints.service"
#define UNIT_ENABLE                                                            \
	"systemctl daemon-reload && systemctl enable --now "                   \
	"mptcp-endpoints.service"

int print_unit(void)
{
	char ipbuf[4096], ifn[IF_NAMESIZE];
	const char *ip = diag_which("ip", ipbuf, sizeof(ipbuf));
	const char *manager = endpoint_manager();
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
	       "boot. It adds only these\n# endpoints and deletes only them "
	       "when stopped (no flush).\n"
	       "# Write it to %s, then:\n#   %s\n",
	       UNIT_PATH, UNIT_ENABLE);
	if (manager)
		printf("# %s runs here and manages MPTCP endpoints too: see "
		       "'mptcpshim doctor'.\n",
		       manager);
	printf("[Unit]\n"
	       "Description=MPTCP endpoints and limits\n"
	       "Wants=network-online.target\n"
	       "After=network-online.target\n\n"
	       "[Service]\n"
	       "Type=oneshot\n"
	       "RemainAfterExit=yes\n"
	       "ExecStart=%s mptcp limits set subflows %u add_addr_accepted "
	       "%u\n",
	       ip, sub, acc);
	/* '-': an endpoint already there (another owner added it first)
	 * does not stop the others */
	for (size_t i = 0; i < dr.nep; i++) {
		const struct nl_endpoint *ep = &dr.ep[i];
		char t[INET6_ADDRSTRLEN];

		inet_ntop(ep->family, ep->addr, t, sizeof(t));
		printf("ExecStart=-%s mptcp endpoint add %s", ip, t);
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
	for (size_t i = 0; i < dr.nep; i++)
		printf("ExecStop=-%s mptcp endpoint delete id %u\n", ip,
		       dr.ep[i].id);
	printf("\n[Install]\nWantedBy=multi-user.target\n");
	fprintf(stderr,
		"mptcpshim doctor: write this unit to %s, then run:\n  %s\n",
		UNIT_PATH, UNIT_ENABLE);
	if (manager)
		fprintf(stderr,
			"mptcpshim doctor: %s runs here and manages MPTCP "
			"endpoints: the unit adds only the %zu endpoint%s "
			"above and deletes only those ids; see 'mptcpshim "
			"doctor' (persistence)\n",
			manager, dr.nep, dr.nep == 1 ? "" : "s");
	return EX_OK;
}
