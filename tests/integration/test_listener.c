/* SPDX-License-Identifier: MIT */
/*
 * Integration tests against the kernel, run with the library preloaded
 * (see tests/meson.build: ports 41000-41999, 127.0.0.2:43000 and
 * [::1]:43001 are listed; 42000-42999 are not).
 *
 * Every check reads what the kernel says, through the raw system call
 * where the library interposes (kcheck.h): SO_PROTOCOL of the listener
 * and of accepted sockets, whether the client's connection is MPTCP
 * (MPTCP_INFO on every supported kernel, TCP_IS_MPTCP where it exists),
 * getsockopt() values, fcntl() flags.
 *
 * Kernel-aware: an option that this kernel's MPTCP sockets refuse is
 * expected to give exactly what the library promises - the listener
 * converted and the option skipped when it is in the `tolerate` list
 * ($MPTCPSHIM_TOLERATE, else the documented default), otherwise the
 * program's TCP socket kept with the option in force (fallback). Which
 * way each option went is printed with the kernel's release.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tools/kcheck.h"

#define LISTED_LO   41000
#define LISTED_HI   41999
#define UNLISTED_LO 42000
#define UNLISTED_HI 42999

/* The kernel's SO_PROTOCOL (the library answers 6 for what it converted). */
static int proto_of(int fd)
{
	int v = k_protocol(fd);

	assert_int_not_equal(v, -1);
	return v;
}

static socklen_t make_addr(int family, const char *a, int port,
			   struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t)port);
		assert_int_equal(inet_pton(AF_INET, a, &s->sin_addr), 1);
		return sizeof(*s);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET6, a, &s6->sin6_addr), 1);
	return sizeof(*s6);
}

typedef void (*setup_fn)(int fd, void *arg);

/* socket() with the given type flags, setup(), bind() to a free port of
 * [lo, hi] on addr, listen(). Returns the fd; *port gets the port. */
static int listen_in(int family, int typeflags, const char *addr, int lo,
		     int hi, setup_fn setup, void *arg, int *port)
{
	for (int tries = 0; tries < 200; tries++) {
		struct sockaddr_storage ss;
		int p = lo + rand() % (hi - lo + 1);
		socklen_t len = make_addr(family, addr, p, &ss);
		int fd = socket(family, SOCK_STREAM | typeflags, 0);

		assert_true(fd >= 0);
		if (setup)
			setup(fd, arg);
		if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
			assert_int_equal(errno, EADDRINUSE);
			close(fd);
			continue;
		}
		assert_int_equal(listen(fd, 16), 0);
		if (port)
			*port = p;
		return fd;
	}
	fail_msg("no free port in %d-%d", lo, hi);
	return -1;
}

static int listen_listed(int family, const char *addr, int *port)
{
	return listen_in(family, 0, addr, LISTED_LO, LISTED_HI, NULL, NULL,
			 port);
}

/* Connects a client (MPTCP or TCP) to addr:port, exchanges a message with
 * the accepted socket and returns whether the kernel reports the client's
 * connection as MPTCP (1) or TCP (0). The accepted socket's protocol goes
 * to *accepted_proto. */
static int exchange(int lfd, int family, const char *addr, int port,
		    int client_proto, int *accepted_proto)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(family, addr, port, &ss);
	int c = socket(family, SOCK_STREAM, client_proto);
	int is_mptcp, a;
	const char *why;
	char buf[8] = "";

	assert_true(c >= 0);
	assert_int_equal(connect(c, (struct sockaddr *)&ss, len), 0);
	a = accept(lfd, NULL, NULL);
	assert_true(a >= 0);
	if (accepted_proto)
		*accepted_proto = proto_of(a);
	assert_int_equal(write(c, "ping", 4), 4);
	assert_int_equal(read(a, buf, 4), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(write(a, "pong", 4), 4);
	assert_int_equal(read(c, buf, 4), 4);
	assert_memory_equal(buf, "pong", 4);
	is_mptcp = k_is_mptcp(c, &why);
	if (is_mptcp < 0)
		fail_msg("client socket: %s: %s", why, strerror(errno));
	close(a);
	close(c);
	return is_mptcp;
}

static void test_listed_v4_is_mptcp(void **state)
{
	int port, proto;
	int fd = listen_listed(AF_INET, "127.0.0.1", &port);

	(void)state;
	assert_int_equal(proto_of(fd), IPPROTO_MPTCP);
	/* an MPTCP client really gets MPTCP */
	assert_int_equal(
		exchange(fd, AF_INET, "127.0.0.1", port, IPPROTO_MPTCP, &proto),
		1);
	assert_int_equal(proto, IPPROTO_MPTCP);
	/* a plain TCP client is still served, over TCP */
	assert_int_equal(exchange(fd, AF_INET, "127.0.0.1", port, 0, &proto),
			 0);
	assert_int_equal(proto, IPPROTO_TCP);
	close(fd);
}

static void test_listed_v6_is_mptcp(void **state)
{
	int port, proto;
	int fd = listen_listed(AF_INET6, "::1", &port);

	(void)state;
	assert_int_equal(proto_of(fd), IPPROTO_MPTCP);
	assert_int_equal(
		exchange(fd, AF_INET6, "::1", port, IPPROTO_MPTCP, &proto), 1);
	assert_int_equal(proto, IPPROTO_MPTCP);
	close(fd);
}

static void set_v6only_0(int fd, void *arg)
{
	int zero = 0;

	(void)arg;
	assert_int_equal(
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)),
		0);
}

/* [::]:P with V6ONLY=0 takes IPv4 clients too, over MPTCP. */
static void test_dual_stack(void **state)
{
	int port, v = -1, proto;
	socklen_t l = sizeof(v);
	int fd = listen_in(AF_INET6, 0, "::", LISTED_LO, LISTED_HI,
			   set_v6only_0, NULL, &port);

	(void)state;
	assert_int_equal(proto_of(fd), IPPROTO_MPTCP);
	assert_int_equal(getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &l), 0);
	assert_int_equal(v, 0);
	assert_int_equal(
		exchange(fd, AF_INET, "127.0.0.1", port, IPPROTO_MPTCP, &proto),
		1);
	assert_int_equal(proto, IPPROTO_MPTCP);
	assert_int_equal(
		exchange(fd, AF_INET6, "::1", port, IPPROTO_MPTCP, &proto), 1);
	close(fd);
}

static void test_unlisted_stays_tcp(void **state)
{
	int port, proto;
	int fd = listen_in(AF_INET, 0, "127.0.0.1", UNLISTED_LO, UNLISTED_HI,
			   NULL, NULL, &port);

	(void)state;
	assert_int_equal(proto_of(fd), IPPROTO_TCP);
	/* an MPTCP client falls back to TCP against it */
	assert_int_equal(
		exchange(fd, AF_INET, "127.0.0.1", port, IPPROTO_MPTCP, &proto),
		0);
	assert_int_equal(proto, IPPROTO_TCP);
	close(fd);
}

static void test_udp_untouched(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	(void)state;
	for (int p = LISTED_LO; p <= LISTED_HI; p++) {
		len = make_addr(AF_INET, "127.0.0.1", p, &ss);
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		assert_true(fd >= 0);
		if (bind(fd, (struct sockaddr *)&ss, len) == 0) {
			assert_int_equal(proto_of(fd), IPPROTO_UDP);
			close(fd);
			return;
		}
		close(fd);
	}
	fail_msg("no free UDP port");
}

/* Outbound sockets (no bind, or a port-0 bind) stay TCP. */
static void test_outbound_stays_tcp(void **state)
{
	struct sockaddr_storage ss, any;
	int port, c, a;
	int fd = listen_listed(AF_INET, "127.0.0.1", &port);
	socklen_t len = make_addr(AF_INET, "127.0.0.1", port, &ss);
	socklen_t alen = make_addr(AF_INET, "127.0.0.1", 0, &any);

	(void)state;
	c = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(proto_of(c), IPPROTO_TCP);
	a = accept(fd, NULL, NULL);
	assert_int_equal(proto_of(a), IPPROTO_TCP);
	close(a);
	close(c);

	/* proxy_bind style: bind to port 0, then connect */
	c = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(c, (struct sockaddr *)&any, alen), 0);
	assert_int_equal(proto_of(c), IPPROTO_TCP);
	assert_int_equal(connect(c, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(proto_of(c), IPPROTO_TCP);
	a = accept(fd, NULL, NULL);
	close(a);
	close(c);
	close(fd);
}

/* A socket the program made MPTCP itself is left alone, on a listed port
 * (where the library would convert a TCP socket) and on an unlisted one:
 * the kernel and the program both see MPTCP, and it serves MPTCP. */
static void make_mptcp(int *fd, int family)
{
	*fd = socket(family, SOCK_STREAM, IPPROTO_MPTCP);
	assert_true(*fd >= 0);
}

static void test_already_mptcp(void **state)
{
	static const int ranges[2][2] = {{LISTED_LO, LISTED_HI},
					 {UNLISTED_LO, UNLISTED_HI}};

	(void)state;
	for (int r = 0; r < 2; r++) {
		int port = 0, fd = -1, v = -1, proto;
		socklen_t l = sizeof(v);

		for (int tries = 0; tries < 200 && fd < 0; tries++) {
			struct sockaddr_storage ss;
			int p = ranges[r][0] +
				rand() % (ranges[r][1] - ranges[r][0] + 1);
			socklen_t len = make_addr(AF_INET, "127.0.0.1", p, &ss);

			make_mptcp(&fd, AF_INET);
			if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
				assert_int_equal(errno, EADDRINUSE);
				close(fd);
				fd = -1;
				continue;
			}
			port = p;
		}
		if (fd < 0)
			fail_msg("no free port in %d-%d", ranges[r][0],
				 ranges[r][1]);
		assert_int_equal(proto_of(fd), IPPROTO_MPTCP);
		/* the program, through the library, sees its own socket */
		assert_int_equal(
			getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &l), 0);
		assert_int_equal(v, IPPROTO_MPTCP);
		assert_int_equal(listen(fd, 4), 0);
		assert_int_equal(exchange(fd, AF_INET, "127.0.0.1", port,
					  IPPROTO_MPTCP, &proto),
				 1);
		assert_int_equal(proto, IPPROTO_MPTCP);
		close(fd);
	}
}

/* Entries with an address match only a bind to that address. */
static void test_address_entries(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	(void)state;
	len = make_addr(AF_INET, "127.0.0.1", 43000, &ss);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(proto_of(fd), IPPROTO_TCP);
	close(fd);

	len = make_addr(AF_INET, "127.0.0.2", 43000, &ss);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(proto_of(fd), IPPROTO_MPTCP);
	close(fd);

	len = make_addr(AF_INET6, "::1", 43001, &ss);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(proto_of(fd), IPPROTO_MPTCP);
	close(fd);

	len = make_addr(AF_INET6, "::", 43001, &ss);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	/* [::]:43001 is not [::1]:43001; the bind itself may clash */
	if (bind(fd, (struct sockaddr *)&ss, len) == 0)
		assert_int_equal(proto_of(fd), IPPROTO_TCP);
	close(fd);
}

/* ---- options ---- */

struct opt {
	const char *name;
	int family, level, opt;
	const void *val;
	socklen_t len;
};

static const int one = 1, mark = 42, prio = 3, tos = 0x10, rcv = 65536,
		 snd = 131072, fastopen = 64, defer = 5, kidle = 30,
		 kintvl = 10, kcnt = 3, zero = 0, mss = 1200;
static const struct linger linger = {.l_onoff = 1, .l_linger = 5};

/* 14 and 19 lay out a braced macro body differently */
/* clang-format off */
#define O(fam, l, o, v) {#o, fam, l, o, &(v), sizeof(v)}
/* clang-format on */
static const struct opt options[] = {
	O(AF_INET, SOL_SOCKET, SO_REUSEADDR, one),
	O(AF_INET, SOL_SOCKET, SO_REUSEPORT, one),
	O(AF_INET, SOL_SOCKET, SO_KEEPALIVE, one),
	O(AF_INET, SOL_SOCKET, SO_RCVBUF, rcv),
	O(AF_INET, SOL_SOCKET, SO_SNDBUF, snd),
	O(AF_INET, SOL_SOCKET, SO_LINGER, linger),
	{"SO_BINDTODEVICE", AF_INET, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3},
	O(AF_INET, SOL_SOCKET, SO_MARK, mark),
	O(AF_INET, SOL_SOCKET, SO_PRIORITY, prio),
	O(AF_INET, IPPROTO_IP, IP_TOS, tos),
	O(AF_INET, IPPROTO_IP, IP_TRANSPARENT, one),
	O(AF_INET, IPPROTO_IP, IP_FREEBIND, one),
	O(AF_INET, IPPROTO_TCP, TCP_NODELAY, one),
	{"TCP_CONGESTION", AF_INET, IPPROTO_TCP, TCP_CONGESTION, "reno", 4},
	O(AF_INET, IPPROTO_TCP, TCP_FASTOPEN, fastopen),
	O(AF_INET, IPPROTO_TCP, TCP_DEFER_ACCEPT, defer),
	O(AF_INET, IPPROTO_TCP, TCP_KEEPIDLE, kidle),
	O(AF_INET, IPPROTO_TCP, TCP_KEEPINTVL, kintvl),
	O(AF_INET, IPPROTO_TCP, TCP_KEEPCNT, kcnt),
	O(AF_INET, IPPROTO_TCP, TCP_MAXSEG, mss),
	O(AF_INET6, IPPROTO_IPV6, IPV6_V6ONLY, zero),
	O(AF_INET6, IPPROTO_IPV6, IPV6_V6ONLY, one),
};
#undef O

static void set_opt(int fd, void *arg)
{
	const struct opt *o = arg;

	if (setsockopt(fd, o->level, o->opt, o->val, o->len) != 0)
		fail_msg("setsockopt(%s): %s", o->name, strerror(errno));
}

/* The option as the kernel reports it (raw: past the library). */
static socklen_t get_opt(int fd, const struct opt *o, unsigned char *buf)
{
	socklen_t l = 64;

	memset(buf, 0, 64);
	if (k_getsockopt(fd, o->level, o->opt, buf, &l) != 0)
		fail_msg("getsockopt(%s): %s", o->name, strerror(errno));
	return l;
}

/* Does this kernel's MPTCP socket refuse the option (set before bind(),
 * where the library replays it)? 0 or the errno (ENOPROTOOPT,
 * EOPNOTSUPP). Asked with raw system calls, past the library. */
static int mptcp_refuses(const struct opt *o)
{
	int fd =
		(int)syscall(SYS_socket, o->family, SOCK_STREAM, IPPROTO_MPTCP);
	int e = 0;

	assert_true(fd >= 0);
	if (syscall(SYS_setsockopt, fd, o->level, o->opt, o->val, o->len) != 0)
		e = errno;
	close(fd);
	if (e && e != ENOPROTOOPT && e != EOPNOTSUPP)
		fail_msg("%s on an MPTCP socket: unexpected %s", o->name,
			 strerror(e));
	return e;
}

/* The documented default of `tolerate` (README), used when the test's
 * environment does not name the list. */
#define DOC_TOLERATE_DEFAULT                                                   \
	"TCP_NODELAY,TCP_CORK,TCP_KEEPIDLE,TCP_KEEPINTVL,TCP_KEEPCNT,"         \
	"TCP_DEFER_ACCEPT,TCP_FASTOPEN"

static int tolerated(const char *name)
{
	const char *list = getenv("MPTCPSHIM_TOLERATE");
	size_t n = strlen(name);

	if (!list)
		list = DOC_TOLERATE_DEFAULT;
	for (const char *p = list; *p;) {
		size_t l = strcspn(p, ",");

		while (*p == ' ')
			p++, l--;
		if (l >= n && strncmp(p, name, n) == 0 &&
		    (p[n] == ',' || p[n] == ' ' || p[n] == '\0'))
			return 1;
		p += l;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* What the library promises for option o on this kernel. */
enum outcome { COPIED, SKIPPED, FALLBACK };

static enum outcome expected(const struct opt *o)
{
	int e = mptcp_refuses(o);

	if (!e)
		return COPIED;
	if (tolerated(o->name)) {
		print_message("%s: refused by MPTCP sockets on %s (%s), in "
			      "`tolerate`: converted without it\n",
			      o->name, k_release(), strerrorname_np(e));
		return SKIPPED;
	}
	print_message("%s: refused by MPTCP sockets on %s (%s), not in "
		      "`tolerate`: the listener stays TCP\n",
		      o->name, k_release(), strerrorname_np(e));
	return FALLBACK;
}

static void same_value(int tcp, int other, const struct opt *o)
{
	unsigned char want[64], got[64];
	socklen_t wl = get_opt(tcp, o, want), gl = get_opt(other, o, got);

	if (wl != gl || memcmp(want, got, wl) != 0)
		fail_msg("%s differs after conversion", o->name);
}

/* Each option set before bind() is in force on the converted socket with
 * the value a plain TCP socket given the same option reports - or, where
 * this kernel's MPTCP socket refuses it, what the library promises. */
static void test_options_copied(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		const struct opt *o = &options[i];
		/* IPv6 on [::], where V6ONLY matters: after a bind to a
		 * specific IPv6 address the kernel reports V6ONLY=1 for TCP
		 * but keeps 0 for MPTCP (a kernel difference, harmless). */
		const char *addr = o->family == AF_INET ? "127.0.0.1" : "::";
		enum outcome want = expected(o);
		int tcp = listen_in(o->family, 0, addr, UNLISTED_LO,
				    UNLISTED_HI, set_opt, (void *)o, NULL);
		int conv = listen_in(o->family, 0, addr, LISTED_LO, LISTED_HI,
				     set_opt, (void *)o, NULL);

		assert_int_equal(proto_of(tcp), IPPROTO_TCP);
		if (want == FALLBACK) {
			if (proto_of(conv) != IPPROTO_TCP)
				fail_msg("%s: refused, not tolerated, yet "
					 "converted",
					 o->name);
		} else if (proto_of(conv) != IPPROTO_MPTCP) {
			fail_msg("%s: listener not converted", o->name);
		}
		if (want != SKIPPED)
			same_value(tcp, conv, o);
		close(tcp);
		close(conv);
	}
}

/* All of them at once, in one socket. */
static void set_all_v4(int fd, void *arg)
{
	(void)arg;
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		if (options[i].family == AF_INET)
			set_opt(fd, (void *)&options[i]);
}

static void test_all_options_together(void **state)
{
	enum outcome want[sizeof(options) / sizeof(options[0])];
	int fallback = 0;
	int conv = listen_in(AF_INET, 0, "127.0.0.1", LISTED_LO, LISTED_HI,
			     set_all_v4, NULL, NULL);
	int tcp = listen_in(AF_INET, 0, "127.0.0.1", UNLISTED_LO, UNLISTED_HI,
			    set_all_v4, NULL, NULL);

	(void)state;
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		want[i] = options[i].family == AF_INET ? expected(&options[i])
						       : COPIED;
		fallback |= want[i] == FALLBACK;
	}
	/* one refused option that is not tolerated keeps the TCP socket */
	assert_int_equal(proto_of(conv),
			 fallback ? IPPROTO_TCP : IPPROTO_MPTCP);
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		if (options[i].family == AF_INET &&
		    (fallback || want[i] != SKIPPED))
			same_value(tcp, conv, &options[i]);
	close(conv);
	close(tcp);
}

/* Options never set keep the MPTCP socket's defaults: copying SO_RCVBUF
 * would double it and lock the size (no autotuning). */
static void test_unset_buffers_keep_defaults(void **state)
{
	int conv = listen_listed(AF_INET, "127.0.0.1", NULL);
	int fresh = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	int a, b;
	socklen_t l = sizeof(a);

	(void)state;
	assert_int_equal(proto_of(conv), IPPROTO_MPTCP);
	assert_int_equal(getsockopt(conv, SOL_SOCKET, SO_RCVBUF, &a, &l), 0);
	assert_int_equal(getsockopt(fresh, SOL_SOCKET, SO_RCVBUF, &b, &l), 0);
	assert_int_equal(a, b);
	assert_int_equal(getsockopt(conv, SOL_SOCKET, SO_SNDBUF, &a, &l), 0);
	assert_int_equal(getsockopt(fresh, SOL_SOCKET, SO_SNDBUF, &b, &l), 0);
	assert_int_equal(a, b);
	close(conv);
	close(fresh);
}

/* A setsockopt() that failed is not replayed (it would fail again). */
static void set_bad_then_good(int fd, void *arg)
{
	int v = 1;

	(void)arg;
	errno = 0;
	assert_int_equal(setsockopt(fd, SOL_SOCKET, 9999, &v, sizeof(v)), -1);
	assert_int_equal(errno, ENOPROTOOPT);
	assert_int_equal(
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)), 0);
}

static void test_failed_setsockopt_not_replayed(void **state)
{
	int fd = listen_in(AF_INET, 0, "127.0.0.1", LISTED_LO, LISTED_HI,
			   set_bad_then_good, NULL, NULL);

	(void)state;
	assert_int_equal(proto_of(fd), IPPROTO_MPTCP);
	close(fd);
}

/* An option the MPTCP socket refuses (TCP_USER_TIMEOUT on 6.18): the
 * socket stays the program's TCP socket with everything it set. */
static void set_user_timeout(int fd, void *arg)
{
	int v = 5000, one_ = 1;

	(void)arg;
	assert_int_equal(
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one_, sizeof(one_)),
		0);
	assert_int_equal(
		setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof(v)),
		0);
}

static void test_fallback_refused_option(void **state)
{
	static const int ut = 5000;
	static const struct opt o = {"TCP_USER_TIMEOUT", AF_INET, IPPROTO_TCP,
				     TCP_USER_TIMEOUT,	 &ut,	  sizeof(ut)};
	int port, v = 0, fd;
	socklen_t l = sizeof(v);

	(void)state;
	if (!mptcp_refuses(&o) || tolerated(o.name)) {
		print_message(
			"kernel %s: MPTCP sockets accept TCP_USER_TIMEOUT "
			"(or it is tolerated): no fallback to test\n",
			k_release());
		skip();
	}
	fd = listen_in(AF_INET, 0, "127.0.0.1", LISTED_LO, LISTED_HI,
		       set_user_timeout, NULL, &port);
	assert_int_equal(proto_of(fd), IPPROTO_TCP);
	assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, &l),
			 0);
	assert_int_equal(v, 5000);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, &l), 0);
	assert_int_equal(v, 1);
	/* and it serves */
	assert_int_equal(
		exchange(fd, AF_INET, "127.0.0.1", port, IPPROTO_MPTCP, NULL),
		0);
	close(fd);
}

/* ---- fd flags ---- */

static void fionbio(int fd, void *arg)
{
	int on = 1;

	(void)arg;
	assert_int_equal(ioctl(fd, FIONBIO, &on), 0);
}

static void cloexec_fcntl(int fd, void *arg)
{
	(void)arg;
	assert_int_equal(fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
}

static void set_owner(int fd, void *arg)
{
	(void)arg;
	assert_int_equal(fcntl(fd, F_SETOWN, getpid()), 0);
	assert_int_equal(fcntl(fd, F_SETSIG, SIGUSR1), 0);
}

/* Who gets SIGIO/SIGURG, and which signal, survive the conversion. */
static void test_owner_preserved(void **state)
{
	int fd = listen_in(AF_INET, 0, "127.0.0.1", LISTED_LO, LISTED_HI,
			   set_owner, NULL, NULL);

	(void)state;
	assert_int_equal(proto_of(fd), IPPROTO_MPTCP);
	assert_int_equal(fcntl(fd, F_GETOWN), getpid());
	assert_int_equal(fcntl(fd, F_GETSIG), SIGUSR1);
	close(fd);
}

static void check_flags(int typeflags, setup_fn setup, int want_nonblock,
			int want_cloexec)
{
	int before = -1;
	int fd = listen_in(AF_INET, typeflags, "127.0.0.1", LISTED_LO,
			   LISTED_HI, setup, &before, NULL);

	assert_int_equal(proto_of(fd), IPPROTO_MPTCP);
	assert_int_equal(!!(fcntl(fd, F_GETFL) & O_NONBLOCK), want_nonblock);
	assert_int_equal(!!(fcntl(fd, F_GETFD) & FD_CLOEXEC), want_cloexec);
	close(fd);
}

static void test_flags_preserved(void **state)
{
	(void)state;
	check_flags(0, NULL, 0, 0);
	check_flags(SOCK_NONBLOCK, NULL, 1, 0);
	check_flags(SOCK_CLOEXEC, NULL, 0, 1);
	check_flags(SOCK_NONBLOCK | SOCK_CLOEXEC, NULL, 1, 1);
	check_flags(0, fionbio, 1, 0); /* nginx's way */
	check_flags(0, cloexec_fcntl, 0, 1);
}

/* Open fds of this process (below 1024: the test opens few). */
static int count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

/* The conversion happens on the program's fd number and leaves exactly
 * one fd behind: the socket it made. The fd the program bound is the
 * MPTCP listener and nothing else is left open. */
static void test_same_fd(void **state)
{
	int before = count_fds(), port, fd, proto;

	(void)state;
	fd = listen_in(AF_INET, 0, "127.0.0.1", LISTED_LO, LISTED_HI, NULL,
		       NULL, &port);
	assert_int_equal(proto_of(fd), IPPROTO_MPTCP);
	assert_int_equal(count_fds(), before + 1);
	/* and it is the fd that accepts the MPTCP clients */
	assert_int_equal(
		exchange(fd, AF_INET, "127.0.0.1", port, IPPROTO_MPTCP, &proto),
		1);
	assert_int_equal(proto, IPPROTO_MPTCP);
	assert_int_equal(count_fds(), before + 1);
	close(fd);
	assert_int_equal(count_fds(), before);
}

/* ---- results and errno ---- */

static void test_errno_preserved(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int port, fd, again, one_ = 1;
	int pipefd[2];

	(void)state;
	/* success leaves errno alone, as the real calls do */
	errno = 12345;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(errno, 12345);
	assert_int_equal(
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one_, sizeof(one_)),
		0);
	assert_int_equal(errno, 12345);
	for (port = LISTED_LO;; port++) {
		len = make_addr(AF_INET, "127.0.0.1", port, &ss);
		errno = 12345;
		if (bind(fd, (struct sockaddr *)&ss, len) == 0)
			break;
		assert_true(port < LISTED_HI);
	}
	assert_int_equal(errno, 12345);
	assert_int_equal(proto_of(fd), IPPROTO_MPTCP);
	assert_int_equal(listen(fd, 4), 0);

	/* address in use: the same -1/EADDRINUSE, then a retry on the same
	 * fd elsewhere works and is MPTCP (nginx retries bind()) */
	again = socket(AF_INET, SOCK_STREAM, 0);
	/* SO_REUSEADDR: a listener still refuses the port, but a TIME_WAIT
	 * left on it by anyone does not make the retry below fail */
	assert_int_equal(setsockopt(again, SOL_SOCKET, SO_REUSEADDR, &one_,
				    sizeof(one_)),
			 0);
	assert_int_equal(bind(again, (struct sockaddr *)&ss, len), -1);
	assert_int_equal(errno, EADDRINUSE);
	/* a failed bind() leaves the program's own TCP socket in place */
	assert_int_equal(proto_of(again), IPPROTO_TCP);
	assert_int_equal(bind(again, (struct sockaddr *)&ss, len), -1);
	assert_int_equal(errno, EADDRINUSE);
	assert_int_equal(proto_of(again), IPPROTO_TCP);
	close(fd);
	assert_int_equal(bind(again, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(proto_of(again), IPPROTO_MPTCP);
	close(again);

	/* an address not on this host: EADDRNOTAVAIL, still TCP, and a
	 * later connect() goes out over TCP */
	len = make_addr(AF_INET, "192.0.2.1", LISTED_LO, &ss);
	again = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(again, (struct sockaddr *)&ss, len), -1);
	assert_int_equal(errno, EADDRNOTAVAIL);
	assert_int_equal(proto_of(again), IPPROTO_TCP);
	close(again);
	len = make_addr(AF_INET, "127.0.0.1", port, &ss);

	/* a bad address pointer on a candidate: EFAULT, not a crash */
	again = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(again, (const struct sockaddr *)(uintptr_t)8,
			      sizeof(struct sockaddr_in)),
			 -1);
	assert_int_equal(errno, EFAULT);
	close(again);

	/* bad fds */
	assert_int_equal(bind(-1, (struct sockaddr *)&ss, len), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(bind(pipefd[0], (struct sockaddr *)&ss, len), -1);
	assert_int_equal(errno, ENOTSOCK);
	assert_int_equal(setsockopt(pipefd[0], SOL_SOCKET, SO_REUSEADDR, &one_,
				    sizeof(one_)),
			 -1);
	assert_int_equal(errno, ENOTSOCK);
	close(pipefd[0]);
	close(pipefd[1]);
	assert_int_equal(socket(AF_INET, SOCK_STREAM, 99), -1);
	assert_int_equal(errno, EPROTONOSUPPORT);
	assert_int_equal(connect(-1, (struct sockaddr *)&ss, len), -1);
	assert_int_equal(errno, EBADF);

	/* a bind with an address of the wrong family fails as it would */
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	len = make_addr(AF_INET, "127.0.0.1", LISTED_LO, &ss);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(proto_of(fd), IPPROTO_TCP);
	close(fd);
}

/* listen() without bind() picks an ephemeral port; a later bind() fails
 * with EINVAL, and the listening socket must not be swapped. */
static void test_listen_before_bind(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(AF_INET, "127.0.0.1", LISTED_LO, &ss);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(proto_of(fd), IPPROTO_TCP);
	close(fd);
}

/* close() is not interposed: a UDP socket made behind the library's back
 * on the number of a closed TCP candidate must not be mistaken for it. */
static void test_stale_record(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one_ = 1, udp;

	(void)state;
	assert_int_equal(
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one_, sizeof(one_)),
		0);
	close(fd);
	udp = (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(udp, fd);
	for (int p = LISTED_LO; p <= LISTED_HI; p++) {
		len = make_addr(AF_INET, "127.0.0.1", p, &ss);
		if (bind(udp, (struct sockaddr *)&ss, len) == 0)
			break;
	}
	assert_int_equal(proto_of(udp), IPPROTO_UDP);
	close(udp);
}

/* ---- threads and fork ---- */

#define NTHREADS 8
#define ROUNDS	 40
static atomic_int wrong;
/* forks begun and finished: a socket that a fork() copied before its
 * bind() stays TCP (the child's copy would not follow the swap) */
static atomic_int forks_begun, forks_ended;

static void *worker(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;

	for (int i = 0; i < ROUNDS; i++) {
		int listed = rand_r(&seed) & 1;
		int lo = listed ? LISTED_LO : UNLISTED_LO;
		int fd = -1, ended = atomic_load(&forks_ended);

		for (int tries = 0; tries < 100 && fd < 0; tries++) {
			struct sockaddr_storage ss;
			int p = lo + (int)(rand_r(&seed) % 1000);
			socklen_t len = make_addr(AF_INET, "127.0.0.1", p, &ss);
			int one_ = 1;

			fd = socket(AF_INET, SOCK_STREAM, 0);
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one_,
				   sizeof(one_));
			if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
				close(fd);
				fd = -1;
			}
		}
		if (fd < 0 || listen(fd, 4) != 0) {
			atomic_fetch_add(&wrong, 1);
			continue;
		}
		{
			int v = -1;
			socklen_t l = sizeof(v);

			syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_PROTOCOL, &v,
				&l);
			if (v != (listed ? IPPROTO_MPTCP : IPPROTO_TCP) &&
			    !(listed && v == IPPROTO_TCP &&
			      atomic_load(&forks_begun) > ended))
				atomic_fetch_add(&wrong, 1);
		}
		close(fd);
	}
	return NULL;
}

static void *forker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 10; i++) {
		pid_t pid;

		atomic_fetch_add(&forks_begun, 1);
		pid = fork();
		if (pid != 0)
			atomic_fetch_add(&forks_ended, 1);
		if (pid == 0) {
			/* the child binds too: the library's lock must not be
			 * held by a thread that does not exist here */
			struct sockaddr_storage ss;
			int fd = socket(AF_INET, SOCK_STREAM, 0);
			int v = -1;
			socklen_t l = sizeof(v);

			for (int p = LISTED_LO + 500; p <= LISTED_HI; p++) {
				socklen_t len =
					make_addr(AF_INET, "127.0.0.1", p, &ss);
				if (bind(fd, (struct sockaddr *)&ss, len) == 0)
					break;
			}
			syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_PROTOCOL, &v,
				&l);
			_exit(v == IPPROTO_MPTCP ? 0 : 1);
		}
		if (pid < 0) {
			atomic_fetch_add(&wrong, 1);
			continue;
		}
		int st;

		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			atomic_fetch_add(&wrong, 1);
	}
	return NULL;
}

static void test_threads_and_fork(void **state)
{
	pthread_t t[NTHREADS], f;

	(void)state;
	atomic_store(&wrong, 0);
	for (uintptr_t i = 0; i < NTHREADS; i++)
		assert_int_equal(
			pthread_create(&t[i], NULL, worker, (void *)(i + 1)),
			0);
	assert_int_equal(pthread_create(&f, NULL, forker, NULL), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	pthread_join(f, NULL);
	assert_int_equal(atomic_load(&wrong), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listed_v4_is_mptcp),
		cmocka_unit_test(test_listed_v6_is_mptcp),
		cmocka_unit_test(test_dual_stack),
		cmocka_unit_test(test_unlisted_stays_tcp),
		cmocka_unit_test(test_udp_untouched),
		cmocka_unit_test(test_outbound_stays_tcp),
		cmocka_unit_test(test_already_mptcp),
		cmocka_unit_test(test_address_entries),
		cmocka_unit_test(test_options_copied),
		cmocka_unit_test(test_all_options_together),
		cmocka_unit_test(test_unset_buffers_keep_defaults),
		cmocka_unit_test(test_failed_setsockopt_not_replayed),
		cmocka_unit_test(test_fallback_refused_option),
		cmocka_unit_test(test_flags_preserved),
		cmocka_unit_test(test_owner_preserved),
		cmocka_unit_test(test_same_fd),
		cmocka_unit_test(test_errno_preserved),
		cmocka_unit_test(test_listen_before_bind),
		cmocka_unit_test(test_stale_record),
		cmocka_unit_test(test_threads_and_fork),
	};

	srand((unsigned)getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
