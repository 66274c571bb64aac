/* SPDX-License-Identifier: MIT */
/*
 * What the kernel says about a socket, for the test programs and probes.
 *
 * - k_protocol(): SO_PROTOCOL through the raw system call. Inside a
 *   process that preloads the library, getsockopt(SO_PROTOCOL) of a
 *   socket the library converted answers IPPROTO_TCP (the program sees
 *   the socket it asked for); the raw call asks the kernel itself.
 * - k_is_mptcp(): is this connection MPTCP, from either end, on every
 *   kernel the project supports (5.16+): MPTCP_INFO succeeds on an MPTCP
 *   socket that has not fallen back and carries no fallback flag; on a
 *   TCP socket, or after a fallback, it fails (ENOPROTOOPT/EOPNOTSUPP) or
 *   reports the flag. TCP_IS_MPTCP (6.10+, EOPNOTSUPP on Debian 12's
 *   6.1) is read too where the kernel has it, and must agree.
 *   Returns 1 (MPTCP), 0 (TCP or fallen back) or -1 (the two disagree,
 *   or a call failed unexpectedly; errno-style text in *why).
 * - k_release(): the running kernel's release, for skip and test messages.
 */
#ifndef MPTCPSHIM_KCHECK_H
#define MPTCPSHIM_KCHECK_H

#include <errno.h>
#include <linux/mptcp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif
#ifndef TCP_IS_MPTCP
#define TCP_IS_MPTCP 43
#endif

static inline int k_getsockopt(int fd, int level, int name, void *val,
			       socklen_t *len)
{
	return (int)syscall(SYS_getsockopt, fd, level, name, val, len);
}

static inline int k_protocol(int fd)
{
	int v = -1;
	socklen_t l = sizeof(v);

	if (k_getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &l) != 0)
		return -1;
	return v;
}

static inline int k_is_mptcp(int fd, const char **why)
{
	struct mptcp_info info;
	socklen_t l = sizeof(info);
	int by_info, flag = -1, e;

	*why = "";
	memset(&info, 0, sizeof(info));
	if (k_getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &info, &l) == 0) {
		if (l < offsetof(struct mptcp_info, mptcpi_flags) +
				sizeof(info.mptcpi_flags)) {
			*why = "MPTCP_INFO too short";
			return -1;
		}
		by_info = !(info.mptcpi_flags & MPTCP_INFO_FLAG_FALLBACK);
	} else if (errno == ENOPROTOOPT || errno == EOPNOTSUPP) {
		by_info = 0;
	} else {
		*why = "getsockopt(MPTCP_INFO) failed";
		return -1;
	}
	l = sizeof(flag);
	if (k_getsockopt(fd, IPPROTO_TCP, TCP_IS_MPTCP, &flag, &l) == 0) {
		if (flag != by_info) {
			*why = "TCP_IS_MPTCP and MPTCP_INFO disagree";
			return -1;
		}
	} else {
		e = errno;
		if (e != EOPNOTSUPP && e != ENOPROTOOPT) {
			*why = "getsockopt(TCP_IS_MPTCP) failed";
			return -1;
		}
	}
	return by_info;
}

static inline const char *k_release(void)
{
	static struct utsname u;

	if (!u.release[0] && uname(&u) != 0)
		return "?";
	return u.release;
}

#endif
