/* SPDX-License-Identifier: MIT */
/*
 * The differential tester's tables: call kinds, addresses, ports, socket
 * options and epoll events, by index. Addresses are loopback or
 * documentation prefixes only (the runs are in a private network
 * namespace; 192.0.2.1 and 2001:db8::1 are not assigned there, so binding
 * them fails as it would on a host without them).
 */
#include "seq.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/un.h>

const struct kind_info kinds[OP_NKINDS] = {
	[OP_SOCKET] = {"socket"},
	[OP_SETSOCKOPT] = {"setsockopt"},
	[OP_BIND] = {"bind"},
	[OP_LISTEN] = {"listen"},
	[OP_CONNECT] = {"connect"},
	[OP_DUP] = {"dup"},
	[OP_DUP2] = {"dup2"},
	[OP_DUP3] = {"dup3"},
	[OP_FCNTL_DUPFD] = {"fcntl_dupfd"},
	[OP_FCNTL_SETFL] = {"fcntl_setfl"},
	[OP_FCNTL_SETFD] = {"fcntl_setfd"},
	[OP_CLOSE] = {"close"},
	[OP_CLOSE_RANGE] = {"close_range"},
	[OP_CLOSEFROM] = {"closefrom"},
	[OP_EPOLL_CREATE] = {"epoll_create"},
	[OP_EPOLL_CTL] = {"epoll_ctl"},
	[OP_SOCKETPAIR] = {"socketpair"},
	[OP_SENDFD] = {"sendfd"},
	[OP_FORK] = {"fork"},
	[OP_RAWFORK] = {"_Fork"},
	[OP_VFORK] = {"vfork"},
	[OP_SPAWN] = {"posix_spawn"},
	[OP_SYSTEM] = {"system"},
	[OP_SIGNAL] = {"signal"},
	[OP_ALTEXEC] = {"altstack_exec"},
	[OP_EPOLL_WAIT] = {"epoll_wait"},
};

const char *const act_names[ACT_NKINDS] = {
	"none", "close", "bind", "listen", "dup2", "socket", "exec",
};

const struct addr_info addrs[] = {
	{"0.0.0.0", AF_INET, "0.0.0.0"},
	{"127.0.0.1", AF_INET, "127.0.0.1"},
	{"127.0.0.2", AF_INET, "127.0.0.2"},
	{"192.0.2.1", AF_INET, "192.0.2.1"},
	{"::", AF_INET6, "::"},
	{"::1", AF_INET6, "::1"},
	{"::ffff:127.0.0.1", AF_INET6, "::ffff:127.0.0.1"},
	{"2001:db8::1", AF_INET6, "2001:db8::1"},
	{"@difftest-a", AF_UNIX, "difftest-a"},
	{"@difftest-b", AF_UNIX, "difftest-b"},
};
const int n_addrs = sizeof(addrs) / sizeof(addrs[0]);

/* 41000 and 41001 listed on every address; 41010 only on 127.0.0.2,
 * 41011 only on ::1; 42000 and 42001 not listed. Ephemeral ports are
 * 45000-45999 in the runs' namespaces (netns.c), away from these. */
const int ports[] = {41000, 41001, 41010, 41011, 42000, 42001, 0};
const int n_ports = sizeof(ports) / sizeof(ports[0]);
const char ports_env[] = "41000-41001,127.0.0.2:41010,[::1]:41011";

bool listed(int family, const void *addr, int port)
{
	static const struct in6_addr lo6 = IN6ADDR_LOOPBACK_INIT;

	if (port == 41000 || port == 41001)
		return true;
	if (port == 41010 && family == AF_INET)
		return ((const struct in_addr *)addr)->s_addr ==
		       htonl(0x7f000002);
	if (port == 41011 && family == AF_INET6)
		return memcmp(addr, &lo6, sizeof(lo6)) == 0;
	return false;
}

const struct opt_info opts[] = {
	{"SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR, 0},
	{"SO_REUSEPORT", SOL_SOCKET, SO_REUSEPORT, 0},
	{"SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, 0},
	{"SO_RCVBUF", SOL_SOCKET, SO_RCVBUF, 0},
	{"SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, 0},
	{"SO_LINGER", SOL_SOCKET, SO_LINGER, 1},
	{"SO_PRIORITY", SOL_SOCKET, SO_PRIORITY, 0},
	{"SO_MARK", SOL_SOCKET, SO_MARK, 0},
	{"TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, 0},
	{"TCP_CORK", IPPROTO_TCP, TCP_CORK, 0},
	{"TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, 0},
	{"TCP_KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL, 0},
	{"TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT, 0},
	{"TCP_DEFER_ACCEPT", IPPROTO_TCP, TCP_DEFER_ACCEPT, 0},
	{"TCP_FASTOPEN", IPPROTO_TCP, TCP_FASTOPEN, 0},
	{"TCP_MAXSEG", IPPROTO_TCP, TCP_MAXSEG, 0},
	{"TCP_USER_TIMEOUT", IPPROTO_TCP, TCP_USER_TIMEOUT, 0},
	{"TCP_QUICKACK", IPPROTO_TCP, TCP_QUICKACK, 0},
	{"TCP_CONGESTION", IPPROTO_TCP, TCP_CONGESTION, 2},
	{"IP_TOS", IPPROTO_IP, IP_TOS, 0},
	{"IP_FREEBIND", IPPROTO_IP, IP_FREEBIND, 0},
	{"IP_TTL", IPPROTO_IP, IP_TTL, 0},
	{"IPV6_V6ONLY", IPPROTO_IPV6, IPV6_V6ONLY, 0},
	{"IPV6_TCLASS", IPPROTO_IPV6, IPV6_TCLASS, 0},
	{"IPV6_DONTFRAG", IPPROTO_IPV6, IPV6_DONTFRAG, 0},
	{"IPV6_AUTOFLOWLABEL", IPPROTO_IPV6, IPV6_AUTOFLOWLABEL, 0},
	{"IPV6_RECVFRAGSIZE", IPPROTO_IPV6, IPV6_RECVFRAGSIZE, 0},
	{"IPV6_FREEBIND", IPPROTO_IPV6, IPV6_FREEBIND, 0},
};
const int n_opts = sizeof(opts) / sizeof(opts[0]);

const int opt_vals[] = {0, 1, 2, 7, 60, 1000, 65536, -1};
const int n_opt_vals = sizeof(opt_vals) / sizeof(opt_vals[0]);
const int opt_lens[] = {-1, 0, 1, 2, 3, 8, 64};
const int n_opt_lens = sizeof(opt_lens) / sizeof(opt_lens[0]);

socklen_t opt_value(const struct op *o, unsigned char val[64])
{
	static const char *const cc[] = {"reno", "cubic", "nope"};
	const struct opt_info *oi = &opts[IDX(o->b, n_opts)];
	int v = opt_vals[IDX(o->c, n_opt_vals)];
	int len = opt_lens[IDX(o->d, n_opt_lens)];
	size_t natural = sizeof(int);

	memset(val, 0, 64);
	if (oi->kind == 1) {
		struct linger l = {.l_onoff = v != 0, .l_linger = v};

		memcpy(val, &l, sizeof(l));
		natural = sizeof(l);
	} else if (oi->kind == 2) {
		natural = strlen(cc[IDX(o->c, 3)]);
		memcpy(val, cc[IDX(o->c, 3)], natural);
	} else {
		memcpy(val, &v, sizeof(v));
	}
	return (socklen_t)(len < 0 ? (int)natural : len);
}

/* Read back at the end (indexes into opts[]): what a program may ask
 * and what a converted listener must answer as the TCP one would. */
const int readback[] = {0,  1,	2,  5,	6,  7,	8,  9,	10, 11,
			12, 13, 18, 19, 20, 21, 22, 23, 24};
const int n_readback = sizeof(readback) / sizeof(readback[0]);

const uint32_t events[] = {
	EPOLLIN,
	EPOLLIN | EPOLLET,
	EPOLLIN | EPOLLONESHOT,
	EPOLLIN | EPOLLEXCLUSIVE,
	EPOLLIN | EPOLLOUT,
	EPOLLOUT | EPOLLONESHOT,
	0,
	EPOLLIN | EPOLLEXCLUSIVE | EPOLLET,
};
const char *const events_text[] = {
	"EPOLLIN",
	"EPOLLIN | EPOLLET",
	"EPOLLIN | EPOLLONESHOT",
	"EPOLLIN | EPOLLEXCLUSIVE",
	"EPOLLIN | EPOLLOUT",
	"EPOLLOUT | EPOLLONESHOT",
	"0",
	"EPOLLIN | EPOLLEXCLUSIVE | EPOLLET",
};
const int n_events = sizeof(events) / sizeof(events[0]);

socklen_t make_addr(int ai, int pi, struct sockaddr_storage *ss)
{
	const struct addr_info *a = &addrs[IDX(ai, n_addrs)];
	int port = ports[IDX(pi, n_ports)];

	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, a->addr, &s->sin_addr);
		return sizeof(*s);
	}
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, a->addr, &s->sin6_addr);
		return sizeof(*s);
	}
	struct sockaddr_un *u = (struct sockaddr_un *)ss;
	size_t n = strlen(a->addr);

	u->sun_family = AF_UNIX;
	memcpy(u->sun_path + 1, a->addr, n); /* abstract: per namespace */
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

const char *errno_name(int e)
{
	static __thread char buf[16];
	const char *n = e ? strerrorname_np(e) : "0";

	if (n)
		return n;
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}
