/* SPDX-License-Identifier: MIT */
/*
 * What `doctor` and `status` share: the kernel read through netlink
 * (libmnl: the MPTCP path manager, sock_diag, routes and rules, nftables),
 * the block a running library publishes, JSON output, capturing a
 * program's output.
 */
#ifndef MPTCPSHIM_DIAG_H
#define MPTCPSHIM_DIAG_H

#include <linux/inet_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

/* ---- netlink (nl.c) ---- */

/* One endpoint of the kernel path manager ('ip mptcp endpoint'). */
struct nl_endpoint {
	uint8_t id;
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint16_t port;
	uint32_t flags; /* MPTCP_PM_ADDR_FLAG_* */
	int ifindex;	/* 0: none given */
};

/* The endpoints, in a malloc'ed array. Returns 0 or an errno (ENOENT: the
 * kernel has no "mptcp_pm" generic netlink family). */
int nl_pm_endpoints(struct nl_endpoint **out, size_t *n);
/* 'ip mptcp limits'. Returns 0 or an errno. */
int nl_pm_limits(uint32_t *subflows, uint32_t *add_addr_accepted);

/* One socket of a sock_diag dump. info: the INET_DIAG_INFO payload (for an
 * MPTCP socket a struct mptcp_info), NULL if absent; ulp: the name of a
 * TCP socket's upper layer ("mptcp" for an MPTCP subflow or subflow
 * listener), NULL if none or not asked for (want_info). */
typedef void (*nl_diag_cb)(const struct inet_diag_msg *m, const void *info,
			   size_t info_len, const char *ulp, void *arg);
/* Dumps the sockets of protocol (IPPROTO_TCP or IPPROTO_MPTCP) and family
 * in the states mask (1 << TCP_STATE) of the current network namespace.
 * Returns 0 or an errno. */
int nl_diag_dump(int protocol, int family, uint32_t states, bool want_info,
		 nl_diag_cb cb, void *arg);

/* The route the kernel picks for a packet from src to dst ('ip route get
 * DST from SRC'). Returns 0 or an errno (ENETUNREACH: no route). */
struct nl_route {
	int oif;
	uint32_t table;
	bool has_gateway;
	uint8_t gateway[16];
};
int nl_route_get(int family, const void *src, const void *dst,
		 struct nl_route *out);

/* Routes of every table (family), for their table numbers and gateways. */
struct nl_route_entry {
	uint8_t family, dst_len;
	uint32_t table;
	int oif;
	bool has_gateway;
	uint8_t gateway[16];
};
int nl_routes(int family, struct nl_route_entry **out, size_t *n);
/* The table numbers policy rules point at, and the source addresses of
 * 'from ADDR' rules (src_len == full length). */
struct nl_rule {
	uint8_t family, src_len;
	uint8_t src[16];
	uint32_t table;
};
int nl_rules(int family, struct nl_rule **out, size_t *n);

/* The nftables tables, as "family name" strings in a malloc'ed array of
 * malloc'ed strings. Returns 0 or an errno. */
int nl_nft_tables(char ***out, size_t *n);
/* An nftables rule that touches TCP option 30 (MPTCP), or strips TCP
 * options, and what it does to a connection that uses MPTCP. */
enum nl_opt30 {
	NL_OPT30_MATCH,	      /* matches it; accepts, counts, jumps... */
	NL_OPT30_MISSING,     /* matches its absence ('missing') */
	NL_OPT30_DROP,	      /* matches it and drops */
	NL_OPT30_REJECT,      /* matches it and rejects */
	NL_OPT30_STRIP,	      /* removes it: 'reset', TCPOPTSTRIP with 30 */
	NL_OPT30_SET,	      /* rewrites it */
	NL_OPT30_STRIP_OTHER, /* TCPOPTSTRIP without 30 in its list */
};
struct nl_nft_rule {
	char family[8]; /* ip, ip6, inet, bridge, netdev, arp */
	char table[64], chain[64];
	uint64_t handle;
	unsigned pos; /* its place in its chain, from 1 */
	bool xt;      /* an xtables target or match: made by iptables-nft */
	enum nl_opt30 act;
};
/* Those rules, in a malloc'ed array. Returns 0 or an errno. */
int nl_nft_mptcp_rules(struct nl_nft_rule **out, size_t *n);

/* ---- legacy iptables (xt_legacy.c) ---- */

struct xt_legacy_rule {
	char table[32], chain[32];
	unsigned pos; /* its place in its chain, from 1 */
	enum nl_opt30 act;
};
/* The rules of the legacy table name (family AF_INET: iptables, AF_INET6:
 * ip6tables) that drop, reject or strip TCP option 30, into out (at most
 * max). Returns how many; *err 0 or an errno. */
size_t xt_legacy_rules(int family, const char *name, struct xt_legacy_rule *out,
		       size_t max, int *err);

/* ---- the library's published block (pub.c) ---- */

#define PUB_TEXT_MAX 2048
struct pub_block {
	bool mapped; /* the library is mapped in the process */
	bool found;  /* and its block was found */
	uint32_t flags;
	uint64_t converted, stayed_tcp; /* with what fork() inherited */
	uint64_t converted_at_fork, stayed_at_fork;
	char text[PUB_TEXT_MAX + 1]; /* "key=value\n" lines */
};
/* Reads the block of process pid (needs ptrace access: root or the same
 * user). Returns 0 (see mapped/found) or an errno. */
int pub_read(int pid, struct pub_block *out);
/* Finds the block in a memory image (used by pub_read and the tests). */
bool pub_parse(const unsigned char *mem, size_t len, struct pub_block *out);
/* The value of key in the block's text, into val; false if absent. */
bool pub_value(const struct pub_block *b, const char *key, char *val,
	       size_t len);

/* ---- JSON output (json.c) ---- */

/* Writes s as a JSON string (with the quotes). */
void json_str(FILE *f, const char *s);

/* ---- running programs (diag_util.c) ---- */

/* The program's path: name itself if it has a '/', else found on PATH or
 * in /usr/sbin, /sbin (where ip and nginx live). NULL if not found. */
const char *diag_which(const char *name, char *buf, size_t len);
/* Reads a small file into buf (NUL terminated, newline stripped).
 * Returns false with errno set on failure. */
bool diag_read_line(const char *path, char *buf, size_t len);

/* The MPTcpExt counters of /proc/net/netstat (the current network
 * namespace's: nstat -az 'MPTcpExt*'), names without the prefix. */
#define DIAG_MIB_MAX 96
struct diag_mib {
	size_t n;
	char name[DIAG_MIB_MAX][40];
	unsigned long long val[DIAG_MIB_MAX];
};
/* Returns 0 or an errno (ENOENT: this kernel has no MPTcpExt line). */
int diag_mib_read(struct diag_mib *out);
/* The counter's value; false if this kernel does not have it. */
bool diag_mib_get(const struct diag_mib *m, const char *name,
		  unsigned long long *val);
/* How long the counters have been counting: true for the initial network
 * namespace (since boot; *uptime_s set), false for another one (since it
 * was created, which the kernel does not date). */
bool diag_netns_is_initial(double *uptime_s);

/* ---- nginx (nginxconf.c) ---- */

struct ngx_listen {
	char file[256];
	unsigned line;
	char ctx[8];	/* http, stream or mail */
	char text[512]; /* "listen 80 default_server" (no ';') */
	char key[300];	/* ctx + normalized address: one socket */
	bool set_opt;	/* a parameter that sets socket options */
	bool multipath;
	bool udp; /* quic (http) or udp (stream): not TCP */
	bool unix_sock;
};

struct ngx_info {
	char path[4096];
	char product[32]; /* nginx, freenginx, Angie */
	char version[32];
	unsigned v[3];
	bool native;	/* has listen ... multipath */
	bool conf_read; /* nginx -T worked */
	char conf_err[256];
	struct ngx_listen *l;
	size_t n;
};

/* Runs 'nginx -v' and 'nginx -T'. Returns 0, or an errno if the program
 * could not be run. */
int ngx_inspect(const char *path, struct ngx_info *out);
void ngx_free(struct ngx_info *ni);
/* Does the listen line have this parameter (exact, or a prefix ending in
 * '=')? */
bool ngx_listen_has(const struct ngx_listen *l, const char *param);
/* Parses 'nginx -T' output (for the tests' sake separate). */
void ngx_parse_dump(const char *dump, struct ngx_info *out);

#endif
