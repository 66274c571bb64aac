/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor, persistence: do the endpoints and limits set now
 * survive a reboot (networkd, NetworkManager, a unit, ifupdown, mptcpd)?
 */
#include "doctor.h"

#include <dirent.h>
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

/* Is a process of that name (its comm) running? */
static bool running(const char *comm)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	bool found = false;

	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		char path[300], c[64];

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		found = diag_read_line(path, c, sizeof(c)) &&
			strcmp(c, comm) == 0;
	}
	closedir(d);
	return found;
}

const char *endpoint_manager(void)
{
	if (running("NetworkManager"))
		return "NetworkManager";
	if (running("mptcpd"))
		return "mptcpd";
	return NULL;
}

/* Who else adds and removes endpoints: said, with where to set them. */
static void check_managers(void)
{
	const char *m = endpoint_manager();
	struct finding *f;

	if (!m)
		return;
	if (strcmp(m, "NetworkManager") == 0) {
		f = dr_add(
			SEV_INFO, "persistence",
			"NetworkManager runs here: from 1.40 on it adds and "
			"removes MPTCP endpoints itself for the addresses it "
			"configures (connection.mptcp-flags; by default "
			"'subflow' endpoints, while a server announces "
			"with 'signal')");
		dr_detail(f, "set them there: nmcli connection modify "
			     "CONNECTION connection.mptcp-flags signal "
			     "(the limits stay yours); endpoints added by "
			     "hand may be replaced when it reconfigures");
		dr_probe(f, "nmcli -f NAME,connection.mptcp-flags connection "
			    "show");
	} else {
		f = dr_add(SEV_INFO, "persistence",
			   "mptcpd runs here: it manages MPTCP endpoints (its "
			   "path manager plugins, addr-flags in "
			   "/etc/mptcpd/mptcpd.conf); endpoints added by hand "
			   "or by a unit may be changed by it");
		dr_probe(f, "ip mptcp endpoint show");
	}
}

void check_persistence(void)
{
	bool configured = dr.nep > 0 ||
			  (dr.limits_ok && (dr.subflows != 2 || dr.accepted));
	const char *where = NULL;
	struct finding *f;

	check_managers();
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
			  "systemctl daemon-reload && systemctl enable "
			  "mptcp-endpoints.service");
	else
		dr_detail(f, "run 'mptcpshim doctor --print-unit' to see the "
			     "commands to run at boot");
	if (access("/run/systemd/netif", F_OK) == 0 &&
	    binary_has("/usr/lib/systemd/systemd-networkd", "MPTCPEndpoint"))
		dr_detail(f, "this systemd-networkd knows MPTCPEndpoint= in "
			     "[Address] (see systemd.network(5))");
}
