/* SPDX-License-Identifier: MIT */
/*
 * optprobe: which socket options this kernel's MPTCP sockets support,
 * measured, for doc/kernels.md (scripts/kernels-doc.sh runs it on each
 * kernel: in the VMs of scripts/vm-test.sh and on the host).
 *
 *   optprobe            every option, as a table (tab-separated lines)
 *   optprobe OPTION CONTEXT
 *                       one MPTCP measurement: prints "ok" or the errno
 *                       name of the setsockopt(); exit 0 when supported,
 *                       1 when refused, 2 usage (for the tests)
 *
 * For each option nginx or the library uses, on an MPTCP socket and, for
 * reference, on a TCP socket, in three contexts:
 *   new       a socket just made (where the library replays the options
 *             the program set before bind())
 *   listen    bound to loopback and listening (nginx's listen parameters,
 *             set after listen())
 *   accepted  the server side of an established connection from a client
 *             of the same protocol (nginx's per-connection options); for
 *             MPTCP the accepted socket is checked to be MPTCP first
 * a fresh socket each time: setsockopt() with the value in the table,
 * then getsockopt(). Output, one line per option, context and protocol:
 *   NAME <tab> CONTEXT <tab> mptcp|tcp <tab> SET <tab> GET <tab> USE
 * SET and GET are "ok" or the errno name ("-" for a read-only option);
 * GET is followed by "=VALUE" as read back. USE says who sets it. Lines
 * starting with '#' describe the kernel and the checks made. Runs only
 * on loopback, without the library (do not preload it).
 *
 * Exit status: 0 measured, 1 the setup failed (no MPTCP, no connection).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kcheck.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
#ifndef TCP_FASTOPEN_CONNECT
#define TCP_FASTOPEN_CONNECT 30
#endif

static const int one = 1, rcvbuf = 65536, sndbuf = 65536, mark = 42, prio = 3,
		 tos = 0x10, kidle = 30, kintvl = 10, kcnt = 3, defer = 5,
		 fastopen = 64, mss = 1200, uto = 5000, syncnt = 3,
		 linger2 = 30, clamp = 65536, lowat = 16384;
static const struct linger lingeropt = {.l_onoff = 1, .l_linger = 0};

struct opt {
	const char *name;
	int level, opt;
	const void *val; /* NULL: read-only */
	socklen_t len;
	int v6; /* an IPv6 option: measured on AF_INET6 sockets */
	const char *use;
};

/* 14 and 19 lay out a braced macro body differently */
/* clang-format off */
#define O(l, o, v, u) {#o, l, o, &(v), sizeof(v), 0, u}
#define RO(l, o, u)   {#o, l, o, NULL, 0, 0, u}
/* clang-format on */
static const struct opt opts[] = {
	O(SOL_SOCKET, SO_REUSEADDR, one, "nginx: every listener"),
	O(SOL_SOCKET, SO_REUSEPORT, one, "nginx: listen reuseport"),
	O(SOL_SOCKET, SO_KEEPALIVE, one, "nginx: listen so_keepalive"),
	O(SOL_SOCKET, SO_RCVBUF, rcvbuf, "nginx: listen rcvbuf="),
	O(SOL_SOCKET, SO_SNDBUF, sndbuf, "nginx: listen sndbuf="),
	O(SOL_SOCKET, SO_LINGER, lingeropt,
	  "nginx: connections (reset_timedout_connection)"),
	{"SO_BINDTODEVICE", SOL_SOCKET, SO_BINDTODEVICE, "lo", 3, 0,
	 "library: replayed if set before bind()"},
	O(SOL_SOCKET, SO_MARK, mark, "library: replayed if set before bind()"),
	O(SOL_SOCKET, SO_PRIORITY, prio,
	  "library: replayed if set before bind()"),
	O(SOL_IP, IP_TOS, tos, "library: replayed if set before bind()"),
	O(SOL_IP, IP_TRANSPARENT, one,
	  "nginx: proxy_bind transparent (outbound)"),
	O(SOL_IP, IP_FREEBIND, one, "library: replayed if set before bind()"),
	O(SOL_IP, IP_BIND_ADDRESS_NO_PORT, one, "nginx: proxy_bind (outbound)"),
	{"IPV6_V6ONLY", SOL_IPV6, IPV6_V6ONLY, &one, sizeof(one), 1,
	 "nginx: listen ipv6only="},
	O(SOL_TCP, TCP_NODELAY, one, "nginx: connections (tcp_nodelay)"),
	O(SOL_TCP, TCP_CORK, one, "nginx: connections (tcp_nopush)"),
	O(SOL_TCP, TCP_KEEPIDLE, kidle, "nginx: listen so_keepalive=I:N:C"),
	O(SOL_TCP, TCP_KEEPINTVL, kintvl, "nginx: listen so_keepalive=I:N:C"),
	O(SOL_TCP, TCP_KEEPCNT, kcnt, "nginx: listen so_keepalive=I:N:C"),
	O(SOL_TCP, TCP_DEFER_ACCEPT, defer, "nginx: listen deferred"),
	O(SOL_TCP, TCP_FASTOPEN, fastopen, "nginx: listen fastopen="),
	O(SOL_TCP, TCP_FASTOPEN_CONNECT, one, "clients (curl --tcp-fastopen)"),
	{"TCP_CONGESTION", SOL_TCP, TCP_CONGESTION, "reno", 4, 0,
	 "library: replayed if set before bind()"},
	O(SOL_TCP, TCP_MAXSEG, mss, "library: replayed if set before bind()"),
	O(SOL_TCP, TCP_USER_TIMEOUT, uto,
	  "library: replayed if set before bind()"),
	O(SOL_TCP, TCP_QUICKACK, one, "library: replayed if set before bind()"),
	O(SOL_TCP, TCP_SYNCNT, syncnt,
	  "library: replayed if set before bind()"),
	O(SOL_TCP, TCP_LINGER2, linger2,
	  "library: replayed if set before bind()"),
	O(SOL_TCP, TCP_WINDOW_CLAMP, clamp,
	  "library: replayed if set before bind()"),
	O(SOL_TCP, TCP_NOTSENT_LOWAT, lowat,
	  "library: replayed if set before bind()"),
	RO(SOL_SOCKET, SO_PROTOCOL,
	   "nginx 1.30: inherited listeners; tests: which protocol"),
	RO(SOL_TCP, TCP_INFO, "nginx: $tcpinfo_* variables"),
	RO(SOL_MPTCP, MPTCP_INFO, "tests, mptcpshim status: MPTCP state"),
	RO(SOL_TCP, TCP_IS_MPTCP, "clients: is this connection MPTCP"),
};
#undef O
#undef RO

enum ctx { NEW, LISTEN, ACCEPTED };
static const char *const ctx_names[] = {"new", "listen", "accepted"};

static const char *err_name(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "E?";
}

static socklen_t loopback(int v6, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_addr = in6addr_loopback;
		s->sin6_port = htons((uint16_t)port);
		return sizeof(*s);
	}
	struct sockaddr_in *s = (struct sockaddr_in *)ss;

	s->sin_family = AF_INET;
	s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->sin_port = htons((uint16_t)port);
	return sizeof(*s);
}

/* A listener on loopback, port chosen by the kernel. */
static int listener(int v6, int proto, struct sockaddr_storage *ss,
		    socklen_t *len)
{
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, proto);

	*len = loopback(v6, 0, ss);
	if (fd < 0 || bind(fd, (struct sockaddr *)ss, *len) != 0 ||
	    listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)ss, len) != 0) {
		fprintf(stderr, "optprobe: listener (%s): %s\n",
			proto ? "MPTCP" : "TCP", strerror(errno));
		exit(1);
	}
	return fd;
}

/* The accepted end of a new connection to lfd (client of the same
 * protocol); *client gets the client's fd. */
static int accepted(int lfd, int v6, int proto,
		    const struct sockaddr_storage *ss, socklen_t len,
		    int *client)
{
	int c = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, proto), a;
	const char *why;

	if (c < 0 || connect(c, (const struct sockaddr *)ss, len) != 0 ||
	    (a = accept(lfd, NULL, NULL)) < 0) {
		fprintf(stderr, "optprobe: connection (%s): %s\n",
			proto ? "MPTCP" : "TCP", strerror(errno));
		exit(1);
	}
	if (proto && (k_protocol(a) != IPPROTO_MPTCP ||
		      k_is_mptcp(a, &why) != 1 || k_is_mptcp(c, &why) != 1)) {
		fprintf(stderr, "optprobe: the MPTCP connection is not MPTCP "
				"on both ends\n");
		exit(1);
	}
	*client = c;
	return a;
}

static void value(const struct opt *o, const unsigned char *buf, socklen_t l,
		  char *out, size_t n)
{
	int v;

	if (o->level == SOL_SOCKET && o->opt == SO_LINGER &&
	    l >= sizeof(struct linger)) {
		const struct linger *li = (const void *)buf;

		snprintf(out, n, "%d:%d", li->l_onoff, li->l_linger);
	} else if ((o->level == SOL_TCP && o->opt == TCP_CONGESTION) ||
		   (o->level == SOL_SOCKET && o->opt == SO_BINDTODEVICE)) {
		snprintf(out, n, "%.*s", (int)strnlen((const char *)buf, l),
			 (const char *)buf);
	} else if (o->val == NULL && l > sizeof(int)) {
		snprintf(out, n, "%ubytes", (unsigned)l);
	} else if (l >= sizeof(int)) {
		memcpy(&v, buf, sizeof(v));
		snprintf(out, n, "%d", v);
	} else if (l == 1) {
		snprintf(out, n, "%d", buf[0]);
	} else {
		snprintf(out, n, "%ubytes", (unsigned)l);
	}
}

/* setsockopt + getsockopt on fd; fills set/get cells. Returns the
 * setsockopt errno (0: ok; -1: read-only option). */
static int measure(int fd, const struct opt *o, char set[64], char get[128])
{
	unsigned char buf[512];
	socklen_t l = sizeof(buf);
	int e = -1;
	char v[64];

	strcpy(set, "-");
	if (o->val) {
		e = setsockopt(fd, o->level, o->opt, o->val, o->len) == 0
			    ? 0
			    : errno;
		snprintf(set, 64, "%s", e ? err_name(e) : "ok");
	}
	memset(buf, 0, sizeof(buf));
	if (k_getsockopt(fd, o->level, o->opt, buf, &l) != 0) {
		snprintf(get, 128, "%s", err_name(errno));
	} else {
		value(o, buf, l, v, sizeof(v));
		snprintf(get, 128, "ok=%s", v);
	}
	return e;
}

/* One measurement in one context; prints its line when print is set. */
static int one_ctx(const struct opt *o, enum ctx c, int proto, int print)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, lfd = -1, cfd = -1, e;
	char set[64], get[128];

	switch (c) {
	case NEW:
		fd = socket(o->v6 ? AF_INET6 : AF_INET, SOCK_STREAM, proto);
		break;
	case LISTEN:
		fd = listener(o->v6, proto, &ss, &len);
		break;
	default:
		lfd = listener(o->v6, proto, &ss, &len);
		fd = accepted(lfd, o->v6, proto, &ss, len, &cfd);
		break;
	}
	if (fd < 0) {
		fprintf(stderr, "optprobe: socket: %s\n", strerror(errno));
		exit(1);
	}
	e = measure(fd, o, set, get);
	if (print)
		printf("%s\t%s\t%s\t%s\t%s\t%s\n", o->name, ctx_names[c],
		       proto ? "mptcp" : "tcp", set, get, o->use);
	else
		printf("%s\n", set);
	close(fd);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	return e;
}

int main(int argc, char **argv)
{
	struct utsname u;

	if (argc == 3) {
		for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
			for (int c = NEW; c <= ACCEPTED; c++)
				if (strcmp(argv[1], opts[i].name) == 0 &&
				    strcmp(argv[2], ctx_names[c]) == 0 &&
				    opts[i].val)
					return one_ctx(&opts[i], (enum ctx)c,
						       IPPROTO_MPTCP, 0)
						       ? 1
						       : 0;
		fprintf(stderr, "optprobe: unknown option or context: %s %s\n",
			argv[1], argv[2]);
		return 2;
	}
	if (argc != 1) {
		fprintf(stderr,
			"usage: optprobe [OPTION new|listen|accepted]\n");
		return 2;
	}
	uname(&u);
	printf("# kernel %s %s\n", u.release, u.version);
	printf("# checked: each accepted MPTCP socket reports SO_PROTOCOL 262 "
	       "and MPTCP_INFO without fallback on both ends\n");
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		for (int c = NEW; c <= ACCEPTED; c++)
			for (int p = 0; p < 2; p++)
				one_ctx(&opts[i], (enum ctx)c,
					p ? 0 : IPPROTO_MPTCP, 1);
	return 0;
}
