/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor, loopback: an MPTCP listener on loopback, an MPTCP
 * client, the accepted socket: is it MPTCP end to end? The socket options
 * are tried on the way (doctor_options.c).
 */
#include "doctor.h"

#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

void check_loopback(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t l = sizeof(sa);
	int lfd, cfd = -1, afd = -1, v = -1, proto = -1, e;
	/* SYNs are sent at 0, 1 and 3 s; the kernel's blackhole detection
	 * counts a fallback after the second retransmission: give up before
	 * it, so that a firewall dropping MPTCP SYNs on lo does not turn
	 * MPTCP off for this namespace's connections */
	struct timeval tmo = {.tv_sec = 2};
	struct mib before, after;
	struct finding *f;

	mib_read(&before);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP);
	if (lfd < 0)
		goto untested;
	/* before bind, as nginx does */
	opts_try_listener(lfd, false);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(lfd, 4) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &l) != 0)
		goto untested;
	opts_try_listener(lfd, true);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP);
	if (cfd >= 0)
		setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto untested;
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (afd < 0)
		goto untested;
	opts_try_accepted(afd);
	l = sizeof(proto);
	getsockopt(afd, SOL_SOCKET, SO_PROTOCOL, &proto, &l);
	l = sizeof(v);
	if (getsockopt(cfd, IPPROTO_TCP, TCP_IS_MPTCP, &v, &l) != 0)
		v = -1;
	mib_read(&after);
	/* the kernel sent it without MPTCP: blackhole detection in force */
	dr.lo_disabled = mib_get(&after, "MPCapableSYNTXDisabled") >
			 mib_get(&before, "MPCapableSYNTXDisabled");
	dr.lo_mptcp = proto == IPPROTO_MPTCP && v != 0;
	if (dr.lo_mptcp) {
		dr_add(SEV_OK, "loopback",
		       "a loopback MPTCP connection is MPTCP on both ends "
		       "(accepted socket: protocol 262)");
	} else if (dr.lo_disabled) {
		dr_add(SEV_INFO, "loopback",
		       "a loopback MPTCP connection was opened without MPTCP "
		       "(MPTcpExtMPCapableSYNTXDisabled): the kernel's "
		       "blackhole detection is in force, see 'blackhole'; "
		       "nothing on lo strips the option");
	} else {
		f = dr_add(SEV_WARN, "loopback",
			   "a loopback MPTCP connection fell back to TCP "
			   "(accepted socket: protocol %d): something strips "
			   "the MPTCP option on lo",
			   proto);
		dr_probe(f, "nft -a list ruleset");
	}
	goto out;
untested:
	e = errno;
	if (e == EINPROGRESS || e == ETIMEDOUT) {
		f = dr_add(SEV_WARN, "loopback",
			   "a loopback MPTCP connection got no answer in %ld "
			   "s: something drops MPTCP SYNs on lo (see "
			   "firewall)",
			   (long)tmo.tv_sec);
		dr_probe(f, "nft -a list ruleset");
		goto out;
	}
	dr_add(SEV_INFO, "loopback",
	       "could not try a loopback MPTCP connection: %s (is lo up?)",
	       strerror(e));
out:
	if (afd >= 0)
		close(afd);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
}
