/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor, path_manager: the kernel's path manager, or a daemon's
 * (net.mptcp.path_manager, net.mptcp.pm_type).
 */
#include "doctor.h"

void check_path_manager(void)
{
	char v[64];
	struct finding *f;

	if (diag_read_line("/proc/sys/net/mptcp/path_manager", v, sizeof(v))) {
		if (strcmp(v, "kernel") == 0) {
			dr_add(SEV_OK, "path_manager",
			       "path manager: kernel (net.mptcp.path_manager)");
			return;
		}
		f = dr_add(SEV_WARN, "path_manager",
			   "path manager: %s (net.mptcp.path_manager): extra "
			   "subflows need its daemon (mptcpd); the endpoints "
			   "and limits below do not apply",
			   v);
		dr_fix(f, "sysctl -w net.mptcp.path_manager=kernel");
		return;
	}
	if (diag_read_line("/proc/sys/net/mptcp/pm_type", v, sizeof(v))) {
		if (strcmp(v, "0") == 0) {
			dr_add(SEV_OK, "path_manager",
			       "path manager: kernel (net.mptcp.pm_type = 0)");
			return;
		}
		f = dr_add(SEV_WARN, "path_manager",
			   "path manager: userspace (net.mptcp.pm_type = %s): "
			   "extra subflows need its daemon (mptcpd); the "
			   "endpoints and limits below do not apply",
			   v);
		dr_fix(f, "sysctl -w net.mptcp.pm_type=0");
		return;
	}
	dr_add(SEV_INFO, "path_manager",
	       "path manager: the kernel's (this kernel, older than 5.19, has "
	       "no other)");
}
