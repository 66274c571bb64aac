/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim probe HOST:PORT: the client side. Connects from this machine
 * with MPTCP and reports what the path did, from the kernel:
 *  - MPTCP or fallback: MPTCP_INFO (refused after a fallback on most
 *    kernels; its fallback flag where it answers), TCP_IS_MPTCP (6.10
 *    upstream; Debian 12's 6.1 refuses it);
 *  - at which step it fell back: the MPTcpExt counters of this network
 *    namespace before and after (SYN dropped and retried without the
 *    option, SYN-ACK without MP_CAPABLE, no mapping on the first data,
 *    MPTCP disabled by blackhole detection);
 *  - the subflows and their local and remote addresses
 *    (MPTCP_SUBFLOW_ADDRS, 5.16 upstream) and states (MPTCP_TCPINFO),
 *    the ADD_ADDRs received and accepted (MPTcpExtAddAddr,
 *    mptcpi_add_addr_accepted), MP_JOIN SYNs sent and answered.
 * The counters are the namespace's: another connection made meanwhile
 * counts too (said in the output).
 * Exit status: 0 MPTCP, 1 fell back to TCP, 2 error.
 */
#include "cli.h"
#include "diag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/mptcp.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif
#ifndef TCP_IS_MPTCP
#define TCP_IS_MPTCP 43
#endif

static const char probe_help[] =
	"Usage: mptcpshim probe [--json] [--send DATA] [--wait S] "
	"[--timeout S]\n"
	"                       HOST:PORT\n"
	"\n"
	"Connects to HOST:PORT from this machine with MPTCP and reports what\n"
	"the path did, as the kernel says: MPTCP or a fallback to TCP and at\n"
	"which step (this network namespace's MPTcpExt counters before and\n"
	"after, MPTCP_INFO), the addresses the server announced (ADD_ADDR),\n"
	"and the subflows made, each with its local and remote address.\n"
	"Use it from a client network to check a server. IPv6 addresses in\n"
	"brackets: [2001:db8::1]:443.\n"
	"\n"
	"  --json          one JSON object (doc/probe.schema.json)\n"
	"  --send DATA     send DATA after connecting (\\r \\n \\t \\\\ \\xHH "
	"are\n"
	"                  escapes), e.g. 'HEAD / HTTP/1.0\\r\\n\\r\\n'; the "
	"answer's\n"
	"                  size is reported\n"
	"  --wait S        how long to wait for extra subflows (default 2,\n"
	"                  0 to 60; ends early once the connection fell back)\n"
	"  --timeout S     connection timeout (default 5, 1 to 60)\n"
	"\n"
	"The counters are those of the whole network namespace: a connection\n"
	"that another program makes at the same time counts too.\n"
	"Exit status: 0 MPTCP, 1 fell back to TCP, 2 error (bad arguments,\n"
	"no MPTCP socket here, the connection failed).\n";

/* The counters the probe compares, in the order they are printed. */
static const char *const counters[] = {
	"MPCapableSYNTX",
	"MPCapableSYNACKRX",
	"MPCapableFallbackSYNACK",
	"MPCapableSYNTXDrop",
	"MPCapableSYNTXDisabled",
	"MPCapableDataFallback",
	"DssFallback",
	"DSSCorruptionFallback",
	"InfiniteMapRx",
	"MPFallbackTokenInit",
	"AddAddr",
	"AddAddrDrop",
	"MPJoinSynTx",
	"MPJoinSynAckRx",
	"MPJoinSynTxConnectErr",
	"MPJoinSynTxBindErr",
	"Blackhole",
};
#define NCOUNTERS (sizeof(counters) / sizeof(counters[0]))

struct subflow {
	char local[64], remote[64];
	int state; /* TCP state (MPTCP_TCPINFO), -1 unknown */
};

struct result {
	char target[300];
	bool mptcp;	  /* MPTCP in use at the end */
	int tcp_is_mptcp; /* 1, 0, -1: the kernel does not answer */
	bool have_info;	  /* MPTCP_INFO answered */
	struct mptcp_info info;
	bool have_addrs; /* MPTCP_SUBFLOW_ADDRS answered */
	struct subflow sf[8];
	unsigned nsf;
	bool have_delta;
	long long delta[NCOUNTERS]; /* -1: not on this kernel */
	const char *step;	    /* where it fell back, NULL if unknown */
	long sent, received;
	char notes[8][400];
	int nnotes;
};

static void add_note(struct result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void add_note(struct result *r, const char *fmt, ...)
{
	va_list ap;

	if (r->nnotes >= 8)
		return;
	va_start(ap, fmt);
	vsnprintf(r->notes[r->nnotes++], sizeof(r->notes[0]), fmt, ap);
	va_end(ap);
}

static long long delta(const struct result *r, const char *name)
{
	for (size_t i = 0; i < NCOUNTERS; i++)
		if (strcmp(counters[i], name) == 0)
			return r->have_delta ? r->delta[i] : -1;
	return -1;
}

/* "HOST:PORT" or "[V6]:PORT" into host and port. */
static bool split_target(const char *t, char *host, size_t hlen,
			 const char **port)
{
	const char *c;

	if (t[0] == '[') {
		c = strchr(t, ']');
		if (!c || c[1] != ':' || (size_t)(c - t - 1) >= hlen)
			return false;
		snprintf(host, hlen, "%.*s", (int)(c - t - 1), t + 1);
		*port = c + 2;
	} else {
		c = strrchr(t, ':');
		if (!c || c == t || (size_t)(c - t) >= hlen ||
		    memchr(t, ':', (size_t)(c - t)))
			return false;
		snprintf(host, hlen, "%.*s", (int)(c - t), t);
		*port = c + 1;
	}
	return **port != '\0';
}

/* --send's escapes. Returns the length, or -1 for a bad escape. */
static long unescape(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (; *in && n < len; in++) {
		char c = *in;

		if (c == '\\') {
			in++;
			switch (*in) {
			case 'r':
				c = '\r';
				break;
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case '\\':
				c = '\\';
				break;
			case 'x': {
				char hex[3] = {0};
				char *end;

				if (!in[1] || !in[2])
					return -1;
				memcpy(hex, in + 1, 2);
				c = (char)strtoul(hex, &end, 16);
				if (*end)
					return -1;
				in += 2;
				break;
			}
			default:
				return -1;
			}
		}
		out[n++] = c;
	}
	return *in ? -1 : (long)n;
}

static bool parse_secs(const char *s, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return !errno && end != s && !*end && *out >= lo && *out <= hi;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fmt_sa(const struct sockaddr *sa, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)sa;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(out, len, "%s:%u", a, ntohs(s->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)sa;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(out, len, "[%s]:%u", a, ntohs(s->sin6_port));
	} else {
		snprintf(out, len, "?");
	}
}

/* Connects within timeout_s. Returns 0 or an errno. */
static int connect_timeout(int fd, const struct addrinfo *ai, long timeout_s)
{
	int fl = fcntl(fd, F_GETFL), e = 0;
	socklen_t el = sizeof(e);
	struct pollfd p = {.fd = fd, .events = POLLOUT};

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS)
			return errno;
		if (poll(&p, 1, (int)(timeout_s * 1000)) != 1)
			return ETIMEDOUT;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
			return errno;
		if (e)
			return e;
	}
	fcntl(fd, F_SETFL, fl);
	return 0;
}

static void read_state(int fd, struct result *r)
{
	socklen_t len = sizeof(r->info);
	int v = 0;
	socklen_t vl = sizeof(v);
	struct {
		struct mptcp_subflow_data d;
		struct mptcp_subflow_addrs a[8];
	} sa;
	struct {
		struct mptcp_subflow_data d;
		struct tcp_info t[8];
	} ti;
	bool have_ti;

	memset(&r->info, 0, sizeof(r->info));
	r->have_info =
		getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &r->info, &len) == 0;
	r->tcp_is_mptcp = getsockopt(fd, SOL_TCP, TCP_IS_MPTCP, &v, &vl) == 0
				  ? v != 0
				  : -1;
	memset(&sa, 0, sizeof(sa));
	sa.d.size_subflow_data = sizeof(sa.d);
	sa.d.size_user = sizeof(sa.a[0]);
	len = sizeof(sa);
	r->have_addrs =
		getsockopt(fd, SOL_MPTCP, MPTCP_SUBFLOW_ADDRS, &sa, &len) == 0;
	/* the subflows' TCP states, in the same order: a join still in
	 * SYN-SENT is listed too */
	memset(&ti, 0, sizeof(ti));
	ti.d.size_subflow_data = sizeof(ti.d);
	ti.d.size_user = sizeof(ti.t[0]);
	len = sizeof(ti);
	have_ti = getsockopt(fd, SOL_MPTCP, MPTCP_TCPINFO, &ti, &len) == 0 &&
		  ti.d.num_subflows == sa.d.num_subflows;
	r->nsf = 0;
	if (r->have_addrs)
		for (unsigned i = 0; i < sa.d.num_subflows && i < 8; i++) {
			r->sf[i].state = have_ti ? ti.t[i].tcpi_state : -1;
			fmt_sa(&sa.a[i].sa_local, r->sf[i].local,
			       sizeof(r->sf[i].local));
			fmt_sa(&sa.a[i].sa_remote, r->sf[i].remote,
			       sizeof(r->sf[i].remote));
			r->nsf++;
		}
	/* MPTCP in use: the kernel's own answer where it has one; else
	 * MPTCP_INFO answers (it refuses after a fallback) without the
	 * fallback flag */
	if (r->tcp_is_mptcp >= 0)
		r->mptcp = r->tcp_is_mptcp == 1;
	else
		r->mptcp = r->have_info &&
			   !(r->info.mptcpi_flags & MPTCP_INFO_FLAG_FALLBACK);
}

/* Where the handshake or the connection lost MPTCP, from the counters. */
static void find_step(struct result *r)
{
	if (r->mptcp)
		return;
	if (delta(r, "MPCapableSYNTXDisabled") > 0)
		r->step =
			"not asked: this kernel sent no MP_CAPABLE SYN, "
			"MPTCP is paused by blackhole detection "
			"(MPCapableSYNTXDisabled; net.mptcp.blackhole_timeout)";
	else if (delta(r, "MPCapableSYNTXDrop") > 0)
		r->step = "SYN: the SYNs with MP_CAPABLE got no answer and the "
			  "kernel retried without it (MPCapableSYNTXDrop): "
			  "something drops MPTCP SYNs";
	else if (delta(r, "MPCapableFallbackSYNACK") > 0)
		r->step = "SYN-ACK: it came without MP_CAPABLE "
			  "(MPCapableFallbackSYNACK): the server does not "
			  "take MPTCP on this port, or the path strips the "
			  "option from the SYN or the SYN-ACK";
	else if (delta(r, "MPCapableSYNACKRX") > 0 &&
		 (delta(r, "MPCapableDataFallback") > 0 ||
		  delta(r, "DssFallback") > 0))
		r->step = "after the handshake: the SYN-ACK had MP_CAPABLE "
			  "(MPCapableSYNACKRX) but the server's data came "
			  "without an MPTCP mapping (MPCapableDataFallback or "
			  "DssFallback): the path strips the option after the "
			  "SYN, and the server fell back when its ACK lost it";
	else if (delta(r, "InfiniteMapRx") > 0 ||
		 delta(r, "DSSCorruptionFallback") > 0)
		r->step =
			"during the transfer: the server signalled a fallback "
			"(InfiniteMapRx) or the data's mapping was corrupt "
			"(DSSCorruptionFallback): a middlebox rewrites the "
			"payload";
	else if (delta(r, "MPCapableSYNACKRX") > 0)
		r->step = "after the handshake (the SYN-ACK had MP_CAPABLE; no "
			  "counter says more on this kernel)";
	else if (!r->have_delta)
		r->step = "unknown: this kernel has no MPTcpExt counters";
	else
		r->step = "unknown: no counter moved";
}

/* Announced addresses, joins, and what the counters say about them. */
static void explain_paths(struct result *r, long wait_s)
{
	long long add = delta(r, "AddAddr"), join = delta(r, "MPJoinSynTx"),
		  joinack = delta(r, "MPJoinSynAckRx");

	if (!r->mptcp)
		return;
	if (r->received == 0)
		add_note(r,
			 "not confirmed: the server sent nothing, and a path "
			 "that strips the option after the SYN shows only "
			 "when data flows (the server's first data carries "
			 "the mapping); give --send with a request the "
			 "server answers");
	if (!r->have_addrs)
		add_note(r, "this kernel does not list subflows "
			    "(MPTCP_SUBFLOW_ADDRS: 5.16 and later upstream)");
	if (add > 0 && r->have_info &&
	    r->info.mptcpi_add_addr_accepted < (unsigned long long)add)
		add_note(r,
			 "the server announced %lld address%s (AddAddr) and "
			 "%u %s accepted: 'ip mptcp limits' add_addr_accepted "
			 "is %u here",
			 add, add == 1 ? "" : "es",
			 r->info.mptcpi_add_addr_accepted,
			 r->info.mptcpi_add_addr_accepted == 1 ? "was" : "were",
			 r->info.mptcpi_add_addr_accepted_max);
	/* the subflows' own states first: every kernel with MPTCP_TCPINFO
	 * has them; MPJoinSynTx is recent (not on every kernel) */
	for (unsigned i = 0; i < r->nsf; i++)
		if (r->sf[i].state == TCP_SYN_SENT)
			add_note(r,
				 "the MP_JOIN SYN from %s to %s got no answer "
				 "in %ld s (the subflow is still in SYN-SENT): "
				 "something drops MP_JOIN SYNs on that path (a "
				 "firewall, rp_filter) or the address is "
				 "unreachable from here",
				 r->sf[i].local, r->sf[i].remote, wait_s);
	if (join > 0 && joinack < join)
		add_note(r,
			 "%lld MP_JOIN SYN%s sent, %lld answered "
			 "(MPJoinSynTx, MPJoinSynAckRx)",
			 join, join == 1 ? "" : "s", joinack < 0 ? 0 : joinack);
	if (add == 0 && r->nsf <= 1)
		add_note(r, "the server announced no other address and no "
			    "subflow was added: one path (the server needs an "
			    "'ip mptcp endpoint ... signal', or this machine "
			    "a 'subflow' endpoint, for multipath)");
}

static void print_text(const struct result *r)
{
	printf("probe %s: %s\n", r->target,
	       !r->mptcp	 ? "fell back to TCP"
	       : r->received > 0 ? "MPTCP"
				 : "MPTCP (not confirmed: no data from the "
				   "server)");
	if (!r->mptcp)
		printf("fell back at: %s\n", r->step ? r->step : "unknown");
	printf("kernel: TCP_IS_MPTCP %s, MPTCP_INFO %s\n",
	       r->tcp_is_mptcp < 0    ? "not on this kernel"
	       : r->tcp_is_mptcp == 1 ? "1"
				      : "0",
	       !r->have_info ? "refused (no MPTCP in use)"
	       : (r->info.mptcpi_flags & MPTCP_INFO_FLAG_FALLBACK)
		       ? "fallback flag set"
		       : "answers");
	if (r->have_info && r->mptcp)
		printf("announced by the server: %u accepted "
		       "(mptcpi_add_addr_accepted), %lld received (AddAddr)\n",
		       r->info.mptcpi_add_addr_accepted, delta(r, "AddAddr"));
	if (r->mptcp && r->have_addrs) {
		unsigned est = 0;

		for (unsigned i = 0; i < r->nsf; i++)
			est += r->sf[i].state == TCP_ESTABLISHED;
		printf("subflows: %u established\n", est);
		for (unsigned i = 0; i < r->nsf; i++)
			printf("  %s -> %s%s\n", r->sf[i].local,
			       r->sf[i].remote,
			       r->sf[i].state == TCP_ESTABLISHED ? ""
			       : r->sf[i].state == TCP_SYN_SENT
				       ? "  (not established: MP_JOIN SYN "
					 "unanswered)"
				       : "  (not established)");
	}
	if (r->sent >= 0)
		printf("sent %ld bytes, received %ld\n", r->sent, r->received);
	if (r->have_delta) {
		bool any = false;

		printf("MPTcpExt counters of this network namespace that "
		       "moved:");
		for (size_t i = 0; i < NCOUNTERS; i++)
			if (r->delta[i] > 0) {
				printf(" %s +%lld", counters[i], r->delta[i]);
				any = true;
			}
		printf("%s\n", any ? "" : " none");
	}
	for (int i = 0; i < r->nnotes; i++)
		printf("note: %s\n", r->notes[i]);
}

static void print_json(const struct result *r)
{
	printf("{\"target\":");
	json_str(stdout, r->target);
	printf(",\"result\":\"%s\",\"mptcp\":%s,\"confirmed\":%s,"
	       "\"fallback_step\":",
	       r->mptcp ? "mptcp" : "fallback", r->mptcp ? "true" : "false",
	       !r->mptcp || r->received > 0 ? "true" : "false");
	if (r->step)
		json_str(stdout, r->step);
	else
		printf("null");
	printf(",\"tcp_is_mptcp\":%s", r->tcp_is_mptcp < 0    ? "null"
				       : r->tcp_is_mptcp == 1 ? "true"
							      : "false");
	printf(",\"mptcp_info\":");
	if (r->have_info)
		printf("{\"subflows\":%u,\"add_addr_signal\":%u,"
		       "\"add_addr_accepted\":%u,\"add_addr_accepted_max\":%u,"
		       "\"subflows_max\":%u,\"fallback\":%s}",
		       r->info.mptcpi_subflows, r->info.mptcpi_add_addr_signal,
		       r->info.mptcpi_add_addr_accepted,
		       r->info.mptcpi_add_addr_accepted_max,
		       r->info.mptcpi_subflows_max,
		       (r->info.mptcpi_flags & MPTCP_INFO_FLAG_FALLBACK)
			       ? "true"
			       : "false");
	else
		printf("null");
	printf(",\"subflows\":");
	if (r->mptcp && r->have_addrs) {
		printf("[");
		for (unsigned i = 0; i < r->nsf; i++) {
			printf("%s{\"local\":", i ? "," : "");
			json_str(stdout, r->sf[i].local);
			printf(",\"remote\":");
			json_str(stdout, r->sf[i].remote);
			printf(",\"established\":%s}",
			       r->sf[i].state == TCP_ESTABLISHED ? "true"
								 : "false");
		}
		printf("]");
	} else {
		printf("null");
	}
	printf(",\"counters\":");
	if (r->have_delta) {
		bool first = true;

		printf("{");
		for (size_t i = 0; i < NCOUNTERS; i++)
			if (r->delta[i] >= 0) {
				printf("%s\"%s\":%lld", first ? "" : ",",
				       counters[i], r->delta[i]);
				first = false;
			}
		printf("}");
	} else {
		printf("null");
	}
	printf(",\"sent\":%ld,\"received\":%ld,\"notes\":[", r->sent,
	       r->received);
	for (int i = 0; i < r->nnotes; i++) {
		if (i)
			putchar(',');
		json_str(stdout, r->notes[i]);
	}
	printf("]}\n");
}

static int fail(bool json, const char *target, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(bool json, const char *target, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cli_err("%s", msg);
	if (json) {
		printf("{\"target\":");
		json_str(stdout, target);
		printf(",\"result\":\"error\",\"error\":");
		json_str(stdout, msg);
		printf("}\n");
	}
	return EX_USAGE_2;
}

/* Waits up to wait_s for subflows (and reads the answer to --send). */
static void wait_paths(int fd, struct result *r, long wait_s)
{
	double end = now_s() + (double)wait_s;
	char buf[4096];

	for (int i = 0; i < 600 && now_s() < end; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (poll(&p, 1, 100) == 1) {
			ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (n > 0)
				r->received += n;
			else if (n == 0 || (errno != EAGAIN && errno != EINTR))
				break; /* closed: nothing more to learn */
		}
		read_state(fd, r);
		if (!r->mptcp)
			break;
	}
}

int cmd_probe(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"json", no_argument, NULL, 'j'},
		{"send", required_argument, NULL, 's'},
		{"wait", required_argument, NULL, 'w'},
		{"timeout", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	const char *send_arg = NULL, *port;
	char host[256], data[4096];
	long wait_s = 2, timeout_s = 5, dlen = 0;
	bool json = false;
	struct diag_mib *before = NULL, *after = NULL;
	struct result *r = NULL;
	int c, fd = -1, e, rc = EX_USAGE_2;

	while ((c = cli_getopt(argc, argv, false, "h", longopts)) != -1) {
		switch (c) {
		case 'h':
			fputs(probe_help, stdout);
			return EX_OK;
		case 'j':
			json = true;
			break;
		case 's':
			send_arg = optarg;
			break;
		case 'w':
			if (!parse_secs(optarg, 0, 60, &wait_s))
				return cli_usage_err("--wait: '%s' is not a "
						     "number of seconds from "
						     "0 to 60",
						     optarg);
			break;
		case 't':
			if (!parse_secs(optarg, 1, 60, &timeout_s))
				return cli_usage_err("--timeout: '%s' is not "
						     "a number of seconds "
						     "from 1 to 60",
						     optarg);
			break;
		default:
			return EX_USAGE_2;
		}
	}
	if (optind + 1 != argc)
		return cli_usage_err("give one HOST:PORT");
	if (!split_target(argv[optind], host, sizeof(host), &port))
		return cli_usage_err("'%s' is not HOST:PORT (IPv6: "
				     "[ADDRESS]:PORT)",
				     argv[optind]);
	if (send_arg && (dlen = unescape(send_arg, data, sizeof(data))) < 0)
		return cli_usage_err("--send: bad escape or longer than %zu "
				     "bytes in '%s'",
				     sizeof(data), send_arg);
	e = getaddrinfo(host, port, &hints, &ai);
	if (e)
		return fail(json, argv[optind], "%s: %s", argv[optind],
			    gai_strerror(e));
	r = calloc(1, sizeof(*r));
	before = malloc(sizeof(*before));
	after = malloc(sizeof(*after));
	if (!r || !before || !after) {
		rc = fail(json, argv[optind], "out of memory");
		goto out;
	}
	snprintf(r->target, sizeof(r->target), "%s", argv[optind]);
	r->sent = -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP);
	if (fd < 0) {
		e = errno;
		rc = fail(json, argv[optind],
			  "no MPTCP socket on this machine: %s (%s)",
			  strerror(e),
			  e == ENOPROTOOPT ? "net.mptcp.enabled = 0 here"
			  : e == EPROTONOSUPPORT || e == EINVAL
				  ? "a kernel without MPTCP"
				  : "refused by a security policy?");
		goto out;
	}
	r->have_delta = diag_mib_read(before) == 0;
	e = connect_timeout(fd, ai, timeout_s);
	if (e) {
		rc = fail(json, argv[optind], "connect to %s: %s", argv[optind],
			  strerror(e));
		goto out;
	}
	if (send_arg) {
		ssize_t n = send(fd, data, (size_t)dlen, MSG_NOSIGNAL);

		r->sent = n < 0 ? 0 : n;
	}
	read_state(fd, r);
	if (r->mptcp || send_arg)
		wait_paths(fd, r, wait_s);
	if (r->sent < 0)
		r->sent = 0;
	if (r->have_delta && diag_mib_read(after) == 0) {
		unsigned long long a, b;

		for (size_t i = 0; i < NCOUNTERS; i++)
			r->delta[i] =
				diag_mib_get(before, counters[i], &a) &&
						diag_mib_get(after, counters[i],
							     &b)
					? (long long)(b - a)
					: -1;
	} else {
		r->have_delta = false;
	}
	find_step(r);
	explain_paths(r, wait_s);
	if (r->have_delta)
		add_note(r, "the counters are this network namespace's: "
			    "connections other programs made meanwhile "
			    "count too");
	if (json)
		print_json(r);
	else
		print_text(r);
	rc = r->mptcp ? EX_OK : EX_FAIL;
out:
	if (fd >= 0)
		close(fd);
	if (ai)
		freeaddrinfo(ai);
	free(r);
	free(before);
	free(after);
	return rc;
}
