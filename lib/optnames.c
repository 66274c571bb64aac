/* SPDX-License-Identifier: MIT */
/* Names of socket options for messages, and which ones can be copied. */
#include "internal.h"

#include <linux/filter.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <string.h>

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif
#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif
#ifndef SO_ATTACH_BPF
#define SO_ATTACH_BPF 50
#endif

/* Longest option value we keep (TCP_MD5SIG's struct is 216 bytes). */
#define MS_OPT_MAXLEN 256

/* 14 and 19 lay out a braced macro body differently */
/* clang-format off */
#define OPT(l, n) {l, n, #n}
/* clang-format on */
static const struct {
	int level, name;
	const char *str;
} names[] = {
	OPT(SOL_SOCKET, SO_REUSEADDR),
	OPT(SOL_SOCKET, SO_REUSEPORT),
	OPT(SOL_SOCKET, SO_KEEPALIVE),
	OPT(SOL_SOCKET, SO_RCVBUF),
	OPT(SOL_SOCKET, SO_SNDBUF),
	OPT(SOL_SOCKET, SO_RCVBUFFORCE),
	OPT(SOL_SOCKET, SO_SNDBUFFORCE),
	OPT(SOL_SOCKET, SO_LINGER),
	OPT(SOL_SOCKET, SO_BINDTODEVICE),
	OPT(SOL_SOCKET, SO_MARK),
	OPT(SOL_SOCKET, SO_PRIORITY),
	OPT(SOL_SOCKET, SO_RCVLOWAT),
	OPT(SOL_SOCKET, SO_RCVTIMEO),
	OPT(SOL_SOCKET, SO_SNDTIMEO),
	OPT(SOL_SOCKET, SO_OOBINLINE),
	OPT(SOL_SOCKET, SO_TIMESTAMP),
	OPT(SOL_SOCKET, SO_ATTACH_FILTER),
	OPT(SOL_SOCKET, SO_ATTACH_BPF),
	OPT(SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF),
	OPT(SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF),
	OPT(SOL_SOCKET, SO_INCOMING_CPU),
	OPT(SOL_SOCKET, SO_BROADCAST),
	OPT(SOL_SOCKET, SO_DONTROUTE),
	OPT(SOL_SOCKET, SO_DEBUG),
	OPT(SOL_SOCKET, SO_TIMESTAMPNS),
	OPT(SOL_SOCKET, SO_BUSY_POLL),
	OPT(SOL_SOCKET, SO_ZEROCOPY),
	OPT(SOL_IP, IP_TOS),
	OPT(SOL_IP, IP_TTL),
	OPT(SOL_IP, IP_TRANSPARENT),
	OPT(SOL_IP, IP_FREEBIND),
	OPT(SOL_IP, IP_BIND_ADDRESS_NO_PORT),
	OPT(SOL_IP, IP_RECVERR),
	OPT(SOL_IP, IP_MTU_DISCOVER),
	OPT(SOL_IP, IP_OPTIONS),
	OPT(SOL_IP, IP_PKTINFO),
	OPT(SOL_IP, IP_RECVTOS),
	OPT(SOL_IPV6, IPV6_V6ONLY),
	OPT(SOL_IPV6, IPV6_TCLASS),
	OPT(SOL_IPV6, IPV6_TRANSPARENT),
	OPT(SOL_IPV6, IPV6_FREEBIND),
	OPT(SOL_IPV6, IPV6_MTU),
	OPT(SOL_IPV6, IPV6_MTU_DISCOVER),
	OPT(SOL_IPV6, IPV6_DONTFRAG),
	OPT(SOL_IPV6, IPV6_UNICAST_HOPS),
	OPT(SOL_IPV6, IPV6_RECVERR),
	OPT(SOL_IPV6, IPV6_RECVPKTINFO),
	OPT(SOL_IPV6, IPV6_RECVTCLASS),
	OPT(SOL_TCP, TCP_NODELAY),
	OPT(SOL_TCP, TCP_CORK),
	OPT(SOL_TCP, TCP_MAXSEG),
	OPT(SOL_TCP, TCP_KEEPIDLE),
	OPT(SOL_TCP, TCP_KEEPINTVL),
	OPT(SOL_TCP, TCP_KEEPCNT),
	OPT(SOL_TCP, TCP_SYNCNT),
	OPT(SOL_TCP, TCP_LINGER2),
	OPT(SOL_TCP, TCP_DEFER_ACCEPT),
	OPT(SOL_TCP, TCP_WINDOW_CLAMP),
	OPT(SOL_TCP, TCP_QUICKACK),
	OPT(SOL_TCP, TCP_CONGESTION),
	OPT(SOL_TCP, TCP_MD5SIG),
	OPT(SOL_TCP, TCP_USER_TIMEOUT),
	OPT(SOL_TCP, TCP_FASTOPEN),
	OPT(SOL_TCP, TCP_FASTOPEN_CONNECT),
	OPT(SOL_TCP, TCP_FASTOPEN_NO_COOKIE),
	OPT(SOL_TCP, TCP_NOTSENT_LOWAT),
	OPT(SOL_TCP, TCP_ULP),
	OPT(SOL_TCP, TCP_THIN_LINEAR_TIMEOUTS),
	OPT(SOL_TCP, TCP_SAVE_SYN),
	OPT(SOL_TCP, TCP_INQ),
	OPT(SOL_TCP, TCP_TX_DELAY),
};
#undef OPT

const char *ms_opt_name(int level, int name)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].level == level && names[i].name == name)
			return names[i].str;
	return NULL;
}

bool ms_opt_lookup(const char *str, int *level, int *name)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(names[i].str, str) == 0) {
			*level = names[i].level;
			*name = names[i].name;
			return true;
		}
	}
	return false;
}

enum ms_uncopyable ms_opt_copyable(int level, int name, socklen_t len)
{
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_ATTACH_FILTER:	       /* struct sock_fprog: pointer */
		case SO_ATTACH_REUSEPORT_CBPF: /* likewise */
		case SO_ATTACH_BPF:	       /* a BPF program's fd */
		case SO_ATTACH_REUSEPORT_EBPF: /* likewise */
			return MS_COPY_POINTER;
		default:
			break;
		}
	}
	if (len > MS_OPT_MAXLEN)
		return MS_COPY_TOO_BIG;
	return MS_COPY_OK;
}
