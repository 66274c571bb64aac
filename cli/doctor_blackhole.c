/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor, blackhole: the kernel's active blackhole detection
 * (net.mptcp.blackhole_timeout, upstream since 6.12). When MPTCP SYNs this
 * machine sends get no answer while its plain SYNs do, the kernel counts
 * MPTcpExtBlackhole and opens its next connections without MPTCP for
 * blackhole_timeout seconds, doubled each time it fires again (at most
 * 64 times). A write to the sysctl ends it at once (net/mptcp/ctrl.c
 * resets the count). It concerns the connections this machine opens, not
 * those it accepts, and it is no firewall of this machine: said as such.
 */
#include "doctor.h"

void check_blackhole(void)
{
	char v[32];
	unsigned long timeout, times, mult;
	struct mib m;
	struct finding *f;

	if (!diag_read_line("/proc/sys/net/mptcp/blackhole_timeout", v,
			    sizeof(v)))
		return; /* a kernel without it (before 6.12) */
	timeout = strtoul(v, NULL, 10);
	if (!mib_read(&m) || !mib_has(&m, "Blackhole"))
		return;
	times = (unsigned long)mib_get(&m, "Blackhole");
	if (times == 0 && !dr.lo_disabled) {
		dr_add(SEV_OK, "blackhole",
		       "the kernel's MPTCP blackhole detection has not fired "
		       "(MPTcpExtBlackhole 0, net.mptcp.blackhole_timeout "
		       "%lu)",
		       timeout);
		return;
	}
	if (!dr.lo_disabled) {
		dr_add(SEV_INFO, "blackhole",
		       "the kernel's MPTCP blackhole detection fired %lu "
		       "time%s in this network namespace (MPTcpExtBlackhole) "
		       "and is not in force now: the loopback test "
		       "connection was opened with MPTCP",
		       times, times == 1 ? "" : "s");
		return;
	}
	mult = 1ul << (times == 0 ? 0 : times - 1 > 6 ? 6 : times - 1);
	f = dr_add(SEV_WARN, "blackhole",
		   "the kernel's MPTCP blackhole detection is in force: the "
		   "connections this machine opens are plain TCP "
		   "(MPTcpExtBlackhole %lu, MPTcpExtMPCapableSYNTXDisabled "
		   "%llu, net.mptcp.blackhole_timeout %lu s)",
		   times, mib_get(&m, "MPCapableSYNTXDisabled"), timeout);
	dr_detail(f,
		  "it fired because MPTCP SYNs sent from here got no answer "
		  "while plain SYNs did (MPTcpExtMPCapableSYNTXDrop %llu): a "
		  "middlebox on some path drops them; not a firewall rule of "
		  "this machine",
		  mib_get(&m, "MPCapableSYNTXDrop"));
	dr_detail(f,
		  "it ends by itself at most %lu s (%lu x %lu) after it last "
		  "fired (the kernel does not say when that was); the "
		  "connections this server accepts are not affected",
		  timeout * mult, mult, timeout);
	dr_detail(f, "to end it now (a write of the sysctl resets it):");
	dr_fix(f, "sysctl -w net.mptcp.blackhole_timeout=%lu", timeout);
	dr_probe(f, "nstat -az MPTcpExtBlackhole MPTcpExtMPCapableSYNTXDrop "
		    "MPTcpExtMPCapableSYNTXDisabled");
}
