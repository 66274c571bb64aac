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
	struct finding *f;

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
	if (proto == IPPROTO_MPTCP && v != 0) {
		dr_add(SEV_OK, "loopback",
		       "a loopback MPTCP connection is MPTCP on both ends "
		       "(accepted socket: protocol 262)");
	} else {
		f = dr_add(SEV_WARN, "loopback",
			   "a loopback MPTCP connection fell back to TCP "
			   "(accepted socket: protocol %d): something strips "
			   "the MPTCP option on lo",
			   proto);
		dr_probe(f, "nft list ruleset");
	}
	goto out;
untested:
	e = errno;
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
