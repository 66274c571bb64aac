/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor, balancer: behind an L4 load balancer, what it must
 * pass and why announced addresses bypass it.
 */
#include "doctor.h"

void check_balancer(void)
{
	struct finding *f = dr_add(
		SEV_INFO, "balancer",
		"behind an L4 load balancer (IPVS, a cloud NLB), the "
		"balancer must pass TCP option 30, and subflows to the "
		"addresses this server announces bypass it: announce only "
		"addresses clients can reach directly, or none (the balancer "
		"hashes each subflow on its own 5-tuple)");

	if (access("/proc/net/ip_vs", F_OK) == 0)
		dr_detail(f, "this machine runs IPVS (/proc/net/ip_vs)");
}
