/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor, kernel: MPTCP built in, net.mptcp.enabled, and an MPTCP
 * socket that can be created (or what refuses it).
 */
#include "doctor.h"

#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

bool check_kernel(void)
{
	struct utsname u;
	char v[64];
	int fd, e;
	struct finding *f;

	uname(&u);
	if (access("/proc/sys/net/mptcp", F_OK) != 0) {
		f = dr_add(SEV_ERROR, "kernel",
			   "kernel %s has no MPTCP (no /proc/sys/net/mptcp)",
			   u.release);
		dr_detail(f, "boot a kernel built with CONFIG_MPTCP=y, such as "
			     "Debian 12's linux-image-amd64 (6.1)");
		return false;
	}
	dr_add(SEV_OK, "kernel", "kernel %s has MPTCP", u.release);
	if (!diag_read_line("/proc/sys/net/mptcp/enabled", v, sizeof(v))) {
		e = errno;
		f = dr_add(SEV_ERROR, "enabled",
			   "cannot read net.mptcp.enabled: %s", strerror(e));
		dr_probe(f, "sysctl net.mptcp.enabled");
		return false;
	}
	if (strcmp(v, "1") != 0) {
		f = dr_add(
			SEV_ERROR, "enabled",
			"net.mptcp.enabled = %s: MPTCP is off in this network "
			"namespace",
			v);
		dr_fix(f, "sysctl -w net.mptcp.enabled=1");
		dr_detail(f,
			  "to keep it after a reboot: echo "
			  "net.mptcp.enabled=1 > /etc/sysctl.d/90-mptcp.conf");
		return false;
	}
	dr_add(SEV_OK, "enabled", "net.mptcp.enabled = 1");
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP);
	if (fd < 0) {
		e = errno;
		f = dr_add(
			SEV_ERROR, "socket",
			"socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP) fails: %s",
			strerror(e));
		if (e == EPERM || e == EACCES)
			dr_detail(f, "a seccomp filter, an LSM (SELinux, "
				     "AppArmor) or a BPF program refuses MPTCP "
				     "sockets: allow protocol 262");
		else if (!ms_errno_means_no_mptcp(e))
			dr_detail(f, "a resource shortage: try again");
		return false;
	}
	close(fd);
	dr_add(SEV_OK, "socket", "an MPTCP socket can be created");
	return true;
}
