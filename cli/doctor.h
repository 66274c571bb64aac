/* SPDX-License-Identifier: MIT */
/*
 * What the doctor's check groups share: the findings they add
 * (doctor_finding.c), the state one check leaves for the next (dr), and
 * this machine's addresses (doctor_addr.c). Each group has a file of its
 * own, doctor_GROUP.c; doctor.c runs them in order and gives the verdict.
 */
#ifndef MPTCPSHIM_DOCTOR_H
#define MPTCPSHIM_DOCTOR_H

#include "cli.h"
#include "diag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/mptcp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TCP_IS_MPTCP
#define TCP_IS_MPTCP 43
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif

/* ---- findings (doctor_finding.c) ---- */

enum sev { SEV_OK, SEV_INFO, SEV_WARN, SEV_ERROR };

#define MAX_DETAIL 24
struct finding {
	const char *check;
	enum sev sev;
	char *msg;
	char *fix;   /* the command that fixes it */
	char *probe; /* or the command that shows what to look at */
	char *detail[MAX_DETAIL];
	unsigned ndetail;
};

extern struct finding *findings;
extern size_t nfindings;

struct finding *dr_add(enum sev sev, const char *check, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void dr_fix(struct finding *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void dr_probe(struct finding *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void dr_detail(struct finding *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* s as one shell word: itself when it has only safe characters, else in
 * single quotes. Returns buf. */
const char *dr_shq(const char *s, char *buf, size_t len);

/* ---- what one check leaves for the next ---- */

struct doctor_state {
	bool mptcp; /* MPTCP sockets can be created here */
	bool limits_ok;
	uint32_t subflows, accepted;
	struct nl_endpoint *ep;
	size_t nep;
	bool ep_ok;
	struct ms_config cfg;
	bool cfg_ok;
	struct ngx_info ngx;
	bool ngx_found;
	bool route_bad_if[256]; /* by ifindex (< 256): routing mismatch */
	bool lo_mptcp;		/* the loopback connection was MPTCP */
	bool lo_disabled;	/* it was opened without MPTCP: blackhole */
};
extern struct doctor_state dr;

/* ---- this machine's addresses (doctor_addr.c) ---- */

/* A usable address of this machine. */
struct addr {
	int family;
	uint8_t a[16];
	char text[INET6_ADDRSTRLEN];
	char ifname[IF_NAMESIZE];
	int ifindex;
	unsigned prefix;
};

size_t alen(int family);
/* Addresses an endpoint can use: up, not loopback, not link-local. */
size_t usable_addresses(struct addr *out, size_t max);
const struct nl_endpoint *endpoint_of(const struct addr *a);
const char *ifname_of(int ifindex, char *buf);

/* ---- the check groups, in the order doctor.c runs them ---- */

bool check_kernel(void);			  /* doctor_kernel.c */
void read_counters(unsigned window_s);		  /* doctor_counters.c */
void check_loopback(void);			  /* doctor_loopback.c */
void check_blackhole(void);			  /* doctor_blackhole.c */
void check_path_manager(void);			  /* doctor_pm.c */
void check_limits(void);			  /* doctor_endpoints.c */
void check_endpoints(void);			  /* doctor_endpoints.c */
void check_routing(void);			  /* doctor_routing.c */
void check_rp_filter(void);			  /* doctor_rp_filter.c */
void check_nft(void);				  /* doctor_nft.c */
void check_iptables(void);			  /* doctor_iptables.c */
void check_balancer(void);			  /* doctor_balancer.c */
void check_counters(void);			  /* doctor_counters.c */
void check_persistence(void);			  /* doctor_persistence.c */
void load_config(void);				  /* doctor_library.c */
void check_library(void);			  /* doctor_library.c */
void check_config(void);			  /* doctor_library.c */
void check_nginx(const char *given);		  /* doctor_nginx.c */
void check_program(const char *path, bool named); /* doctor_program.c */
void check_options(void);			  /* doctor_options.c */
int print_unit(void);
/* A daemon running here that manages MPTCP endpoints: "NetworkManager",
 * "mptcpd", or NULL (doctor_persistence.c). */
const char *endpoint_manager(void); /* doctor_unit.c */
/* doctor_nft.c: what a rule does to option 30, indexed by enum nl_opt30
 * (the harmful ones; doctor_iptables.c names its rules with it too) */
extern const char *const dr_opt30_text[];

/* ---- the socket options nginx sets (doctor_options.c) ---- */

/* Tries the options set on a listener: before bind (bound false), as
 * nginx does for SO_REUSEADDR and SO_REUSEPORT, or after it. */
void opts_try_listener(int fd, bool bound);
/* Tries the options set on an accepted socket; the options then count as
 * probed. */
void opts_try_accepted(int fd);
/* The "options" array of the JSON output. */
void opts_json(FILE *out);

/* ---- the MPTcpExt counters (doctor_counters.c) ---- */

#define MIB_MAX 128
struct mib {
	bool ok; /* read */
	size_t n;
	char name[MIB_MAX][40]; /* without "MPTcpExt" */
	unsigned long long v[MIB_MAX];
};
/* This network namespace's MPTcpExt counters, from /proc/net/netstat. */
bool mib_read(struct mib *m);
bool mib_has(const struct mib *m, const char *name);
unsigned long long mib_get(const struct mib *m, const char *name);

/* ---- output (doctor_report.c) ---- */

void print_text(unsigned nerr, unsigned nwarn);
void print_json(unsigned nerr, unsigned nwarn);

#endif
