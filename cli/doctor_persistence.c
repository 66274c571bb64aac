/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor, persistence: do the endpoints and limits set now
 * survive a reboot (networkd, NetworkManager, a unit, ifupdown, mptcpd)?
 */
#include "doctor.h"

#include <glob.h>
#include <unistd.h>

static bool glob_grep(const char *pattern, const char *needle)
{
	glob_t g;
	bool found = false;

	if (glob(pattern, 0, NULL, &g) != 0)
		return false;
	for (size_t i = 0; i < g.gl_pathc && !found; i++) {
		FILE *fp = fopen(g.gl_pathv[i], "re");
		char line[1024];

		if (!fp)
			continue;
		while (!found && fgets(line, sizeof(line), fp)) {
			const char *l = line + strspn(line, " \t");

			/* commented-out examples do not count */
			found = *l != '#' && *l != ';' &&
				strstr(l, needle) != NULL;
		}
		fclose(fp);
	}
	globfree(&g);
	return found;
}

static bool binary_has(const char *path, const char *needle)
{
	FILE *fp = fopen(path, "re");
	static char buf[1 << 16];
	size_t n, nl = strlen(needle), keep = 0;
	bool found = false;

	if (!fp)
		return false;
	while (!found && (n = fread(buf + keep, 1, sizeof(buf) - keep, fp))) {
		n += keep;
		found = memmem(buf, n, needle, nl) != NULL;
		keep = n >= nl ? nl - 1 : n;
		memmove(buf, buf + n - keep, keep);
	}
	fclose(fp);
	return found;
}

void check_persistence(void)
{
	bool configured = dr.nep > 0 ||
			  (dr.limits_ok && (dr.subflows != 2 || dr.accepted));
	const char *where = NULL;
	struct finding *f;

	if (!dr.ep_ok || !configured)
		return;
	if (glob_grep("/etc/systemd/network/*.network", "MPTCP"))
		where = "systemd-networkd (/etc/systemd/network)";
	else if (glob_grep("/etc/NetworkManager/system-connections/*",
			   "mptcp-flags"))
		where = "NetworkManager (connection.mptcp-flags)";
	else if (glob_grep("/etc/systemd/system/*.service", "ip mptcp") ||
		 glob_grep("/etc/systemd/system/*.d/*.conf", "ip mptcp"))
		where = "a systemd unit (/etc/systemd/system)";
	else if (glob_grep("/etc/network/interfaces", "ip mptcp") ||
		 glob_grep("/etc/network/interfaces.d/*", "ip mptcp"))
		where = "ifupdown (/etc/network/interfaces)";
	else if (glob_grep("/etc/mptcpd/*.conf", "addr-flags"))
		where = "mptcpd (/etc/mptcpd)";
	if (where) {
		dr_add(SEV_OK, "persistence",
		       "MPTCP endpoints or limits are configured in %s", where);
		return;
	}
	f = dr_add(
		SEV_WARN, "persistence",
		"the MPTCP endpoints and limits set now are lost at the "
		"next reboot: nothing in the network configuration sets them");
	if (cli_systemd_running())
		dr_fix(f, "mptcpshim doctor --print-unit > "
			  "/etc/systemd/system/mptcp-endpoints.service && "
			  "systemctl "
			  "enable mptcp-endpoints.service");
	else
		dr_detail(f, "run 'mptcpshim doctor --print-unit' to see the "
			     "commands to run at boot");
	if (access("/run/NetworkManager", F_OK) == 0)
		dr_detail(f, "NetworkManager (1.40+) can set the endpoints "
			     "itself: nmcli connection modify CONNECTION "
			     "connection.mptcp-flags signal (the limits stay "
			     "yours)");
	if (access("/run/systemd/netif", F_OK) == 0 &&
	    binary_has("/usr/lib/systemd/systemd-networkd", "MPTCPEndpoint"))
		dr_detail(f, "this systemd-networkd knows MPTCPEndpoint= in "
			     "[Address] (see systemd.network(5))");
}
