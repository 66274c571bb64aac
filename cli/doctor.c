/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor: a server's checklist. Can MPTCP work here, and what
 * keeps a connection to one path? The kernel is read through netlink (the
 * MPTCP path manager, routes and rules, nftables) and tried for real (an
 * MPTCP listener and connection on loopback, the socket options nginx
 * sets). Each finding that needs action carries one command that works
 * when pasted.
 */
#include "cli.h"
#include "diag.h"
#include "reach.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <ifaddrs.h>
#include <linux/mptcp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef TCP_IS_MPTCP
#define TCP_IS_MPTCP 43
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif

static const char doctor_help[] =
	"Usage: mptcpshim doctor [--json] [--nginx PATH] [--program PATH]...\n"
	"       mptcpshim doctor --print-unit\n"
	"\n"
	"A server's checklist for Multipath TCP. Reads the kernel through\n"
	"netlink and tries it for real: MPTCP support and net.mptcp.enabled,\n"
	"a loopback MPTCP connection, the socket options nginx sets (which\n"
	"listen parameters this kernel refuses on MPTCP sockets), the path\n"
	"manager, its limits and endpoints (does the server announce its\n"
	"other addresses?), routing for several addresses (one table per\n"
	"address), rp_filter, firewall rules on TCP option 30, the MPTcpExt\n"
	"counters (fallbacks, joins), whether endpoints and limits survive a\n"
	"reboot, the library and its configuration, and the programs the\n"
	"library must reach (nginx found on PATH, and each --program):\n"
	"set-user-ID or file capabilities (the loader ignores LD_PRELOAD),\n"
	"Go or static binaries (no libc socket() to interpose). An nginx with\n"
	"native 'listen ... multipath' gets the listen lines to write.\n"
	"Each finding that needs action carries one command.\n"
	"\n"
	"  --json          the findings as one JSON object\n"
	"  --nginx PATH    the nginx binary to check (default: nginx on PATH)\n"
	"  --program PATH  another server binary to check (repeatable)\n"
	"  --print-unit    print a systemd unit that restores the current\n"
	"                  MPTCP endpoints and limits at boot\n"
	"\n"
	"Exit status: 0 no error (warnings allowed), 1 at least one error\n"
	"(MPTCP cannot work, or the library cannot reach the server),\n"
	"2 bad arguments.\n";

enum sev { SEV_OK, SEV_INFO, SEV_WARN, SEV_ERROR };
static const char *const sev_tag[] = {"[ok]", "[info]", "[warn]", "[error]"};
static const char *const sev_name[] = {"ok", "info", "warning", "error"};

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

static struct finding *findings;
static size_t nfindings, capfindings;

static char *vfmt(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0) {
		fputs("mptcpshim doctor: out of memory\n", stderr);
		exit(EX_FAIL);
	}
	return s;
}

static struct finding *add(enum sev sev, const char *check, const char *fmt,
			   ...) __attribute__((format(printf, 3, 4)));
static struct finding *add(enum sev sev, const char *check, const char *fmt,
			   ...)
{
	va_list ap;
	struct finding *f;

	if (nfindings == capfindings) {
		size_t cap = capfindings ? capfindings * 2 : 64;
		struct finding *nv = realloc(findings, cap * sizeof(*nv));

		if (!nv) {
			fputs("mptcpshim doctor: out of memory\n", stderr);
			exit(EX_FAIL);
		}
		findings = nv;
		capfindings = cap;
	}
	f = &findings[nfindings++];
	memset(f, 0, sizeof(*f));
	f->sev = sev;
	f->check = check;
	va_start(ap, fmt);
	f->msg = vfmt(fmt, ap);
	va_end(ap);
	return f;
}

static void fix(struct finding *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fix(struct finding *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(f->fix);
	f->fix = vfmt(fmt, ap);
	va_end(ap);
}

static void probe(struct finding *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void probe(struct finding *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(f->probe);
	f->probe = vfmt(fmt, ap);
	va_end(ap);
}

static void detail(struct finding *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void detail(struct finding *f, const char *fmt, ...)
{
	va_list ap;

	if (f->ndetail >= MAX_DETAIL)
		return;
	va_start(ap, fmt);
	f->detail[f->ndetail++] = vfmt(fmt, ap);
	va_end(ap);
}

/* ---- what the checks share ---- */

static struct {
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
} st;

/* A usable address of this machine. */
struct addr {
	int family;
	uint8_t a[16];
	char text[INET6_ADDRSTRLEN];
	char ifname[IF_NAMESIZE];
	int ifindex;
	unsigned prefix;
};

static size_t alen(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

static unsigned prefix_of(const struct sockaddr *mask)
{
	const uint8_t *p;
	unsigned bits = 0;
	size_t n;

	if (!mask)
		return 0;
	if (mask->sa_family == AF_INET) {
		p = (const uint8_t *)&(
			    (const struct sockaddr_in *)(const void *)mask)
			    ->sin_addr;
		n = 4;
	} else {
		p = ((const struct sockaddr_in6 *)(const void *)mask)
			    ->sin6_addr.s6_addr;
		n = 16;
	}
	for (size_t i = 0; i < n; i++)
		bits += (unsigned)__builtin_popcount(p[i]);
	return bits;
}

/* Addresses an endpoint can use: up, not loopback, not link-local. */
static size_t usable_addresses(struct addr *out, size_t max)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0;

	if (getifaddrs(&ifa) != 0)
		return 0;
	for (i = ifa; i && n < max; i = i->ifa_next) {
		struct addr *a = &out[n];

		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) ||
		    (i->ifa_flags & IFF_LOOPBACK))
			continue;
		memset(a, 0, sizeof(*a));
		if (i->ifa_addr->sa_family == AF_INET) {
			memcpy(a->a,
			       &((struct sockaddr_in *)(void *)i->ifa_addr)
					->sin_addr,
			       4);
			if (a->a[0] == 127 ||
			    (a->a[0] == 169 && a->a[1] == 254))
				continue;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct in6_addr *a6 =
				&((struct sockaddr_in6 *)(void *)i->ifa_addr)
					 ->sin6_addr;

			if (IN6_IS_ADDR_LINKLOCAL(a6) ||
			    IN6_IS_ADDR_LOOPBACK(a6))
				continue;
			memcpy(a->a, a6, 16);
		} else {
			continue;
		}
		a->family = i->ifa_addr->sa_family;
		inet_ntop(a->family, a->a, a->text, sizeof(a->text));
		snprintf(a->ifname, sizeof(a->ifname), "%s", i->ifa_name);
		a->ifindex = (int)if_nametoindex(i->ifa_name);
		a->prefix = prefix_of(i->ifa_netmask);
		n++;
	}
	freeifaddrs(ifa);
	return n;
}

static const struct nl_endpoint *endpoint_of(const struct addr *a)
{
	for (size_t i = 0; i < st.nep; i++)
		if (st.ep[i].family == a->family &&
		    memcmp(st.ep[i].addr, a->a, alen(a->family)) == 0)
			return &st.ep[i];
	return NULL;
}

static const char *ifname_of(int ifindex, char *buf)
{
	if (ifindex <= 0 || !if_indextoname((unsigned)ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "?");
	return buf;
}

/* ---- the kernel ---- */

static bool check_kernel(void)
{
	struct utsname u;
	char v[64];
	int fd, e;
	struct finding *f;

	uname(&u);
	if (access("/proc/sys/net/mptcp", F_OK) != 0) {
		f = add(SEV_ERROR, "kernel",
			"kernel %s has no MPTCP (no /proc/sys/net/mptcp)",
			u.release);
		fix(f, "boot a kernel built with CONFIG_MPTCP=y, such as "
		       "Debian 12's linux-image-amd64 (6.1)");
		return false;
	}
	add(SEV_OK, "kernel", "kernel %s has MPTCP", u.release);
	if (!diag_read_line("/proc/sys/net/mptcp/enabled", v, sizeof(v))) {
		e = errno;
		f = add(SEV_ERROR, "enabled",
			"cannot read net.mptcp.enabled: %s", strerror(e));
		probe(f, "sysctl net.mptcp.enabled");
		return false;
	}
	if (strcmp(v, "1") != 0) {
		f = add(SEV_ERROR, "enabled",
			"net.mptcp.enabled = %s: MPTCP is off in this network "
			"namespace",
			v);
		fix(f, "sysctl -w net.mptcp.enabled=1");
		detail(f, "to keep it after a reboot: echo "
			  "net.mptcp.enabled=1 > /etc/sysctl.d/90-mptcp.conf");
		return false;
	}
	add(SEV_OK, "enabled", "net.mptcp.enabled = 1");
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP);
	if (fd < 0) {
		e = errno;
		f = add(SEV_ERROR, "socket",
			"socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP) fails: %s",
			strerror(e));
		if (e == EPERM || e == EACCES)
			detail(f, "a seccomp filter, an LSM (SELinux, "
				  "AppArmor) or a BPF program refuses MPTCP "
				  "sockets: allow protocol 262");
		else if (!ms_errno_means_no_mptcp(e))
			detail(f, "a resource shortage: try again");
		return false;
	}
	close(fd);
	add(SEV_OK, "socket", "an MPTCP socket can be created");
	return true;
}

/* ---- the socket options nginx sets, tried on this kernel ---- */

struct opt_probe {
	const char *name;
	int level, opt, val;
	bool accepted;	   /* on the accepted socket, not the listener */
	const char *param; /* the nginx listen parameter (or directive) */
	int result;	   /* 0 ok, else the errno */
};

static struct opt_probe opts[] = {
	{"SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR, 1, false, "(every listen)",
	 0},
	{"SO_REUSEPORT", SOL_SOCKET, SO_REUSEPORT, 1, false, "reuseport", 0},
	{"SO_RCVBUF", SOL_SOCKET, SO_RCVBUF, 65536, false, "rcvbuf=", 0},
	{"SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, 65536, false, "sndbuf=", 0},
	{"SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, 1, false,
	 "so_keepalive=", 0},
	{"TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, 60, false,
	 "so_keepalive=", 0},
	{"TCP_KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL, 10, false,
	 "so_keepalive=", 0},
	{"TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT, 5, false, "so_keepalive=", 0},
	{"TCP_FASTOPEN", IPPROTO_TCP, TCP_FASTOPEN, 16, false, "fastopen=", 0},
	{"TCP_DEFER_ACCEPT", IPPROTO_TCP, TCP_DEFER_ACCEPT, 1, false,
	 "deferred", 0},
	{"TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, 1, true,
	 "tcp_nodelay on (the default)", 0},
	{"TCP_CORK", IPPROTO_TCP, TCP_CORK, 0, true, "tcp_nopush on", 0},
	/* no nginx parameter: other servers */
	{"TCP_MAXSEG", IPPROTO_TCP, TCP_MAXSEG, 1400, false, NULL, 0},
	{"TCP_USER_TIMEOUT", IPPROTO_TCP, TCP_USER_TIMEOUT, 30000, true, NULL,
	 0},
	{"TCP_QUICKACK", IPPROTO_TCP, TCP_QUICKACK, 1, true, NULL, 0},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))
static bool opts_probed;

static int try_opt(int fd, const struct opt_probe *o)
{
	return setsockopt(fd, o->level, o->opt, &o->val, sizeof(o->val)) == 0
		       ? 0
		       : errno;
}

/* An MPTCP listener on loopback, an MPTCP client, the accepted socket:
 * is it MPTCP end to end, and which options does the kernel refuse? */
static void check_loopback(void)
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
	for (size_t i = 0; i < 2; i++)
		opts[i].result = try_opt(lfd, &opts[i]);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(lfd, 4) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &l) != 0)
		goto untested;
	for (size_t i = 2; i < NOPTS; i++)
		if (!opts[i].accepted)
			opts[i].result = try_opt(lfd, &opts[i]);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto untested;
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (afd < 0)
		goto untested;
	for (size_t i = 0; i < NOPTS; i++)
		if (opts[i].accepted)
			opts[i].result = try_opt(afd, &opts[i]);
	opts_probed = true;
	l = sizeof(proto);
	getsockopt(afd, SOL_SOCKET, SO_PROTOCOL, &proto, &l);
	l = sizeof(v);
	if (getsockopt(cfd, IPPROTO_TCP, TCP_IS_MPTCP, &v, &l) != 0)
		v = -1;
	if (proto == IPPROTO_MPTCP && v != 0) {
		add(SEV_OK, "loopback",
		    "a loopback MPTCP connection is MPTCP on both ends "
		    "(accepted socket: protocol 262)");
	} else {
		f = add(SEV_WARN, "loopback",
			"a loopback MPTCP connection fell back to TCP "
			"(accepted socket: protocol %d): something strips "
			"the MPTCP option on lo",
			proto);
		probe(f, "nft list ruleset");
	}
	goto out;
untested:
	e = errno;
	add(SEV_INFO, "loopback",
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

/* nginx listen lines that use param, into the finding's details. */
static unsigned nginx_lines_with(struct finding *f, const char *param)
{
	unsigned n = 0;

	if (!st.ngx_found || !st.ngx.conf_read)
		return 0;
	for (size_t i = 0; i < st.ngx.n; i++) {
		const struct ngx_listen *l = &st.ngx.l[i];

		if (l->udp || l->unix_sock || !ngx_listen_has(l, param))
			continue;
		if (f)
			detail(f, "%s:%u: %s;", l->file, l->line, l->text);
		n++;
	}
	return n;
}

/* The one command that adds an option to the library's tolerate setting
 * in its configuration file, keeping the options already there. */
static void tolerate_fix(struct finding *f, const char *name)
{
	bool explicit_path;
	const char *path = cli_config_path(&explicit_path);
	char cur[512];

	if (st.cfg_ok && st.cfg.tolerate.n > 0 &&
	    ms_optset_format(&st.cfg.tolerate, cur, sizeof(cur)))
		fix(f,
		    "sed -i 's/^tolerate *=.*/tolerate = %s,%s/' %s  (then "
		    "restart the server)",
		    cur, name, path);
	else
		fix(f, "echo 'tolerate = %s' >> %s  (then restart the server)",
		    name, path);
}

static void check_options(void)
{
	struct utsname u;
	char refused_other[256] = "";
	bool any_nginx_refused = false;
	struct finding *f;

	if (!opts_probed)
		return;
	uname(&u);
	for (size_t i = 0; i < NOPTS; i++) {
		struct opt_probe *o = &opts[i];
		bool tolerated;

		if (o->result == 0)
			continue;
		if (!o->param) {
			size_t n = strlen(refused_other);

			snprintf(refused_other + n, sizeof(refused_other) - n,
				 "%s%s", n ? ", " : "", o->name);
			continue;
		}
		any_nginx_refused = true;
		tolerated = st.cfg_ok &&
			    ms_optset_has(&st.cfg.tolerate, o->level, o->opt);
		if (strcmp(o->name, "TCP_NODELAY") == 0) {
			f = add(tolerated ? SEV_INFO : SEV_ERROR, "options",
				"kernel %s refuses TCP_NODELAY on MPTCP "
				"sockets (%s): nginx closes every keepalive "
				"and TLS connection whose TCP_NODELAY fails%s",
				u.release, strerror(o->result),
				tolerated ? "; the library's tolerate "
					    "setting covers it"
					  : "");
			if (!tolerated)
				tolerate_fix(f, "TCP_NODELAY");
			detail(f, "or boot Debian 12's 6.1 or later: "
				  "measured to accept it");
			continue;
		}
		if (strcmp(o->name, "TCP_CORK") == 0) {
			f = add(tolerated ? SEV_INFO : SEV_WARN, "options",
				"kernel %s refuses TCP_CORK on MPTCP sockets "
				"(%s): with 'tcp_nopush on' nginx's sends "
				"fail%s",
				u.release, strerror(o->result),
				tolerated ? "; tolerate covers it" : "");
			if (!tolerated) {
				tolerate_fix(f, "TCP_CORK");
				detail(f, "or 'tcp_nopush off;' in nginx");
			}
			continue;
		}
		f = add(SEV_WARN, "options",
			"kernel %s refuses %s on MPTCP listeners (%s): nginx "
			"'listen ... %s' logs \"setsockopt(%s) ... failed, "
			"ignored\" and goes on without it",
			u.release, o->name, strerror(o->result), o->param,
			o->name);
		if (nginx_lines_with(f, o->param) == 0 && st.ngx_found &&
		    st.ngx.conf_read) {
			f->sev = SEV_INFO;
			detail(f, "no listen line of this nginx uses %s",
			       o->param);
		} else if (!st.ngx_found || !st.ngx.conf_read) {
			probe(f, "grep -rn '%s' /etc/nginx", o->param);
		}
		if (strcmp(o->name, "TCP_FASTOPEN") == 0)
			detail(f, "Debian 13's 6.12 accepts it (measured): "
				  "TCP Fast Open on an MPTCP listener");
	}
	if (!any_nginx_refused)
		add(SEV_OK, "options",
		    "this kernel accepts on MPTCP sockets every option "
		    "nginx's listen parameters set (reuseport, rcvbuf=, "
		    "sndbuf=, so_keepalive=, fastopen=, deferred, "
		    "tcp_nodelay, tcp_nopush)");
	if (refused_other[0]) {
		f = add(SEV_INFO, "options",
			"refused on MPTCP sockets by this kernel: %s (no nginx "
			"parameter sets them; another server that does gets "
			"ENOPROTOOPT or EOPNOTSUPP unless the library's "
			"tolerate setting names them)",
			refused_other);
	}
}

/* ---- the path manager ---- */

static void check_path_manager(void)
{
	char v[64];
	struct finding *f;

	if (diag_read_line("/proc/sys/net/mptcp/path_manager", v, sizeof(v))) {
		if (strcmp(v, "kernel") == 0) {
			add(SEV_OK, "path_manager",
			    "path manager: kernel (net.mptcp.path_manager)");
			return;
		}
		f = add(SEV_WARN, "path_manager",
			"path manager: %s (net.mptcp.path_manager): extra "
			"subflows need its daemon (mptcpd); the endpoints "
			"and limits below do not apply",
			v);
		fix(f, "sysctl -w net.mptcp.path_manager=kernel");
		return;
	}
	if (diag_read_line("/proc/sys/net/mptcp/pm_type", v, sizeof(v))) {
		if (strcmp(v, "0") == 0) {
			add(SEV_OK, "path_manager",
			    "path manager: kernel (net.mptcp.pm_type = 0)");
			return;
		}
		f = add(SEV_WARN, "path_manager",
			"path manager: userspace (net.mptcp.pm_type = %s): "
			"extra subflows need its daemon (mptcpd); the "
			"endpoints and limits below do not apply",
			v);
		fix(f, "sysctl -w net.mptcp.pm_type=0");
		return;
	}
	add(SEV_INFO, "path_manager",
	    "path manager: the kernel's (this kernel, older than 5.19, has "
	    "no other)");
}

static unsigned n_signal(void)
{
	unsigned n = 0;

	for (size_t i = 0; i < st.nep; i++)
		if (st.ep[i].flags & MPTCP_PM_ADDR_FLAG_SIGNAL)
			n++;
	return n;
}

static void check_limits(void)
{
	struct finding *f;
	int e = nl_pm_limits(&st.subflows, &st.accepted);

	if (e) {
		f = add(SEV_WARN, "limits",
			"cannot read the MPTCP limits (generic netlink "
			"mptcp_pm): %s",
			strerror(e));
		probe(f, "ip mptcp limits show");
		return;
	}
	st.limits_ok = true;
	if (st.subflows == 0) {
		f = add(SEV_WARN, "limits",
			"MPTCP limits: subflows 0: this server accepts no "
			"additional subflow, every connection keeps one path");
		fix(f, "ip mptcp limits set subflows 2 add_addr_accepted %u",
		    st.accepted);
	} else {
		add(SEV_OK, "limits",
		    "MPTCP limits: subflows %u, "
		    "add_addr_accepted %u",
		    st.subflows, st.accepted);
	}
}

static void check_endpoints(void)
{
	struct addr addrs[64];
	size_t na = usable_addresses(addrs, 64);
	bool outbound = st.cfg_ok && st.cfg.connect.mode != MS_LIST_UNSET &&
			st.cfg.connect.mode != MS_LIST_NONE;
	unsigned missing = 0;
	struct finding *f;
	char ifn[IF_NAMESIZE];
	int e;

	e = nl_pm_endpoints(&st.ep, &st.nep);
	if (e) {
		f = add(SEV_WARN, "endpoints",
			"cannot read the MPTCP endpoints (generic netlink "
			"mptcp_pm): %s",
			strerror(e));
		probe(f, "ip mptcp endpoint show");
		return;
	}
	st.ep_ok = true;
	/* endpoints on addresses this machine no longer has */
	for (size_t i = 0; i < st.nep; i++) {
		const struct nl_endpoint *ep = &st.ep[i];
		char t[INET6_ADDRSTRLEN];
		bool present = false;

		for (size_t j = 0; j < na; j++)
			if (addrs[j].family == ep->family &&
			    memcmp(addrs[j].a, ep->addr, alen(ep->family)) == 0)
				present = true;
		if (present)
			continue;
		inet_ntop(ep->family, ep->addr, t, sizeof(t));
		f = add(SEV_WARN, "endpoints",
			"endpoint id %u (%s) is not an address of this "
			"machine (up, not loopback)",
			ep->id, t);
		fix(f, "ip mptcp endpoint delete id %u", ep->id);
	}
	if (na <= 1) {
		add(SEV_INFO, "endpoints",
		    "%s: no other address to announce; extra paths can only "
		    "come from clients with several addresses",
		    na ? addrs[0].text : "no usable address");
		return;
	}
	for (size_t j = 0; j < na; j++) {
		const struct addr *a = &addrs[j];
		const struct nl_endpoint *ep = endpoint_of(a);

		if (!ep) {
			f = add(SEV_WARN, "endpoints",
				"%s (dev %s) is not an MPTCP endpoint: "
				"clients are not told about it and open no "
				"path to it",
				a->text, a->ifname);
			fix(f, "ip mptcp endpoint add %s dev %s signal%s",
			    a->text, a->ifname, outbound ? " subflow" : "");
			missing++;
			continue;
		}
		if (!(ep->flags & MPTCP_PM_ADDR_FLAG_SIGNAL)) {
			f = add(SEV_WARN, "endpoints",
				"endpoint id %u (%s) is not 'signal': this "
				"server does not announce it to its clients",
				ep->id, a->text);
			fix(f,
			    "ip mptcp endpoint delete id %u && ip mptcp "
			    "endpoint add %s dev %s signal%s",
			    ep->id, a->text,
			    ifname_of(ep->ifindex ? ep->ifindex : a->ifindex,
				      ifn),
			    (ep->flags & MPTCP_PM_ADDR_FLAG_SUBFLOW)
				    ? " subflow"
				    : "");
			missing++;
		}
	}
	if (missing == 0)
		add(SEV_OK, "endpoints",
		    "every address of this server is a 'signal' endpoint "
		    "(%zu addresses)",
		    na);
	if (st.limits_ok && n_signal() > st.subflows && st.subflows > 0) {
		f = add(SEV_WARN, "limits",
			"%u 'signal' endpoints but subflows %u: a client "
			"joins at most %u of the announced addresses",
			n_signal(), st.subflows, st.subflows);
		fix(f, "ip mptcp limits set subflows %u add_addr_accepted %u",
		    n_signal() > 8 ? 8 : n_signal(), st.accepted);
	}
}

/* ---- routing for several addresses ---- */

static bool table_used(uint32_t t, const struct nl_route_entry *r, size_t nr,
		       const struct nl_rule *ru, size_t nru,
		       const uint32_t *taken, size_t ntaken)
{
	if (t == 253 || t == 254 || t == 255)
		return true;
	for (size_t i = 0; i < nr; i++)
		if (r[i].table == t)
			return true;
	for (size_t i = 0; i < nru; i++)
		if (ru[i].table == t)
			return true;
	for (size_t i = 0; i < ntaken; i++)
		if (taken[i] == t)
			return true;
	return false;
}

static void check_routing(void)
{
	struct addr addrs[64];
	size_t na = usable_addresses(addrs, 64);
	uint32_t taken[64];
	size_t ntaken = 0;
	unsigned bad = 0, checked = 0;
	struct finding *f;

	for (int fam = AF_INET; fam <= AF_INET6; fam += AF_INET6 - AF_INET) {
		struct nl_route_entry *r = NULL;
		struct nl_rule *ru = NULL;
		size_t nr = 0, nru = 0, nfam = 0;
		int ifs[64], nifs = 0;
		uint8_t dst[16] = {0};
		bool has_default = false;

		for (size_t i = 0; i < na; i++) {
			bool seen = false;

			if (addrs[i].family != fam)
				continue;
			nfam++;
			for (int k = 0; k < nifs; k++)
				seen |= ifs[k] == addrs[i].ifindex;
			if (!seen && nifs < 64)
				ifs[nifs++] = addrs[i].ifindex;
		}
		/* one interface: every path leaves by it anyway */
		if (nfam < 2 || nifs < 2)
			continue;
		if (nl_routes(fam, &r, &nr) != 0 || nl_rules(fam, &ru, &nru))
			goto next;
		for (size_t i = 0; i < nr; i++)
			if (r[i].table == 254 && r[i].dst_len == 0)
				has_default = true;
		if (!has_default) {
			add(SEV_INFO, "routing",
			    "no %s default route: routing per address not "
			    "checked",
			    fam == AF_INET ? "IPv4" : "IPv6");
			goto next;
		}
		/* a documentation address stands for "a client out there" */
		if (fam == AF_INET)
			inet_pton(AF_INET, "203.0.113.1", dst);
		else
			inet_pton(AF_INET6, "2001:db8:ffff::1", dst);
		for (size_t i = 0; i < na; i++) {
			const struct addr *a = &addrs[i];
			struct nl_route rt;
			char oif[IF_NAMESIZE], gw[INET6_ADDRSTRLEN] = "";
			uint8_t net[16];
			char nettxt[INET6_ADDRSTRLEN];
			uint32_t t = 100;

			if (a->family != fam ||
			    nl_route_get(fam, a->a, dst, &rt) != 0)
				continue;
			checked++;
			if (rt.oif == a->ifindex)
				continue;
			bad++;
			if (a->ifindex > 0 && a->ifindex < 256)
				st.route_bad_if[a->ifindex] = true;
			while (table_used(t, r, nr, ru, nru, taken, ntaken))
				t++;
			if (ntaken < 64)
				taken[ntaken++] = t;
			for (size_t k = 0; k < nr; k++)
				if (r[k].table == 254 && r[k].has_gateway &&
				    r[k].oif == a->ifindex)
					inet_ntop(fam, r[k].gateway, gw,
						  sizeof(gw));
			if (gw[0]) {
				f = add(SEV_WARN, "routing",
					"traffic from %s leaves by %s, not by "
					"%s: subflows on that address go out "
					"the wrong interface and are dropped "
					"(one routing table per address)",
					a->text, ifname_of(rt.oif, oif),
					a->ifname);
				fix(f,
				    "ip%s route add default via %s dev %s "
				    "table %u && ip%s rule add from %s table "
				    "%u",
				    fam == AF_INET6 ? " -6" : "", gw, a->ifname,
				    t, fam == AF_INET6 ? " -6" : "", a->text,
				    t);
			} else {
				memcpy(net, a->a, 16);
				for (unsigned b = a->prefix; b < alen(fam) * 8;
				     b++)
					net[b / 8] &=
						(uint8_t)~(0x80u >> (b % 8));
				inet_ntop(fam, net, nettxt, sizeof(nettxt));
				f = add(SEV_WARN, "routing",
					"traffic from %s to clients beyond "
					"%s/%u leaves by %s, not by %s, and no "
					"gateway on %s is known: subflows to "
					"that address from outside its subnet "
					"fail; announce it only to clients on "
					"that subnet, or route it by its own "
					"table",
					a->text, nettxt, a->prefix,
					ifname_of(rt.oif, oif), a->ifname,
					a->ifname);
				detail(f,
				       "with the gateway of %s: ip%s route add "
				       "default via GATEWAY dev %s table %u && "
				       "ip%s rule add from %s table %u",
				       a->ifname, fam == AF_INET6 ? " -6" : "",
				       a->ifname, t,
				       fam == AF_INET6 ? " -6" : "", a->text,
				       t);
			}
			detail(f, "to keep it: the same route and rule in "
				  "your network configuration "
				  "(systemd-networkd [RoutingPolicyRule], "
				  "NetworkManager ipv4.routing-rules, "
				  "ifupdown post-up)");
		}
	next:
		free(r);
		free(ru);
	}
	if (checked > 0 && bad == 0)
		add(SEV_OK, "routing",
		    "traffic from each address leaves by its own interface "
		    "(%u checked)",
		    checked);
}

static void check_rp_filter(void)
{
	struct addr addrs[64];
	size_t na = usable_addresses(addrs, 64);
	char all[16], one[16], path[128];
	int nifs = 0, ifs[64];
	struct finding *f;

	for (size_t i = 0; i < na; i++) {
		bool seen = false;

		for (int k = 0; k < nifs; k++)
			seen |= ifs[k] == addrs[i].ifindex;
		if (!seen && nifs < 64)
			ifs[nifs++] = addrs[i].ifindex;
	}
	if (nifs < 2 || !diag_read_line("/proc/sys/net/ipv4/conf/all/rp_filter",
					all, sizeof(all)))
		return;
	for (size_t i = 0; i < na; i++) {
		const struct addr *a = &addrs[i];
		int eff;
		bool dup = false;

		if (a->family != AF_INET)
			continue;
		for (size_t k = 0; k < i; k++)
			dup |= addrs[k].family == AF_INET &&
			       addrs[k].ifindex == a->ifindex;
		if (dup)
			continue;
		snprintf(path, sizeof(path),
			 "/proc/sys/net/ipv4/conf/%s/rp_filter", a->ifname);
		if (!diag_read_line(path, one, sizeof(one)))
			continue;
		eff = atoi(all) > atoi(one) ? atoi(all) : atoi(one);
		if (eff != 1)
			continue;
		if (a->ifindex > 0 && a->ifindex < 256 &&
		    st.route_bad_if[a->ifindex]) {
			f = add(SEV_WARN, "rp_filter",
				"strict reverse-path filtering on %s "
				"(rp_filter = 1) drops the subflows that "
				"arrive on %s while the route back leaves by "
				"another interface",
				a->ifname, a->ifname);
			fix(f, "sysctl -w net.ipv4.conf.%s.rp_filter=2",
			    a->ifname);
			detail(f, "or fix the routing above (one table per "
				  "address): strict filtering then passes");
		} else {
			add(SEV_INFO, "rp_filter",
			    "strict reverse-path filtering on %s (rp_filter = "
			    "1): fine while each address routes by its own "
			    "interface (checked above)",
			    a->ifname);
		}
	}
}

/* ---- firewall, load balancer ---- */

static bool file_has_line(const char *path, const char *word)
{
	char line[256];
	bool found = false;
	FILE *fp = fopen(path, "re");

	if (!fp)
		return false;
	while (!found && fgets(line, sizeof(line), fp))
		found = strncmp(line, word, strlen(word)) == 0;
	fclose(fp);
	return found;
}

static void check_firewall(void)
{
	char **tables = NULL, **rules = NULL;
	size_t nt = 0, nr = 0;
	int e = nl_nft_tables(&tables, &nt);
	struct finding *f;

	if (e == EPERM || e == EACCES) {
		f = add(SEV_INFO, "firewall",
			"nftables not read (%s: run doctor as root)",
			strerror(e));
	} else if (!e && nl_nft_mptcp_rules(&rules, &nr) == 0 && nr > 0) {
		f = add(SEV_WARN, "firewall",
			"%zu nftables rule%s touch%s TCP option 30 (MPTCP): a "
			"rule that drops or strips it turns every connection "
			"into TCP",
			nr, nr == 1 ? "" : "s", nr == 1 ? "es" : "");
		for (size_t i = 0; i < nr; i++)
			detail(f, "%s", rules[i]);
		probe(f, "nft -a list ruleset | grep -n -e 'tcp option "
			 "mptcp' -e TCPOPTSTRIP");
	} else if (!e && nt > 0) {
		f = add(SEV_INFO, "firewall",
			"nftables has %zu table%s; no rule touches TCP option "
			"30. It must also accept SYNs to every address this "
			"server announces (the MP_JOIN SYNs of new subflows)",
			nt, nt == 1 ? "" : "s");
		for (size_t i = 0; i < nt && i < 8; i++)
			detail(f, "table %s", tables[i]);
		probe(f, "nft list ruleset");
	} else if (!e) {
		add(SEV_OK, "firewall", "no nftables table here");
	}
	/* Legacy iptables: its rules cannot be read here, only whether
	 * tables are loaded. The TCPOPTSTRIP target is listed wherever the
	 * kernel has it (built in, it always is): it says nothing alone. */
	{
		char names[256] = "", names6[256] = "";
		bool strip;

		diag_read_line("/proc/net/ip_tables_names", names,
			       sizeof(names));
		diag_read_line("/proc/net/ip6_tables_names", names6,
			       sizeof(names6));
		strip = file_has_line("/proc/net/ip_tables_targets",
				      "TCPOPTSTRIP") ||
			file_has_line("/proc/net/ip6_tables_targets",
				      "TCPOPTSTRIP");
		if (names[0] || names6[0]) {
			f = add(SEV_INFO, "firewall",
				"legacy iptables tables are loaded: they must "
				"accept SYNs to every announced address and "
				"keep TCP option 30%s",
				strip ? " (a TCPOPTSTRIP rule would strip it)"
				      : "");
			/* Debian's iptables-save is the nft one: it
			 * does not show legacy tables */
			if (names[0])
				probe(f, "iptables-legacy-save%s",
				      strip ? " | grep -n -e TCPOPTSTRIP -e "
					      "DROP -e REJECT"
					    : "");
			if (names6[0])
				probe(f, "ip6tables-legacy-save%s",
				      strip ? " | grep -n -e TCPOPTSTRIP -e "
					      "DROP -e REJECT"
					    : "");
		}
	}
	for (size_t i = 0; i < nt; i++)
		free(tables[i]);
	for (size_t i = 0; i < nr; i++)
		free(rules[i]);
	free(tables);
	free(rules);

	f = add(SEV_INFO, "balancer",
		"behind an L4 load balancer (IPVS, a cloud NLB), the "
		"balancer must pass TCP option 30, and subflows to the "
		"addresses this server announces bypass it: announce only "
		"addresses clients can reach directly, or none (the balancer "
		"hashes each subflow on its own 5-tuple)");
	if (access("/proc/net/ip_vs", F_OK) == 0)
		detail(f, "this machine runs IPVS (/proc/net/ip_vs)");
}

/* ---- counters (nstat) ---- */

static unsigned long long syn_rx, join_rx, addaddr_tx, fb_server, fb_client,
	syn_tx;
static char fb_list[512];
static bool counters_read;

static void read_counters(void)
{
	FILE *fp = fopen("/proc/net/netstat", "re");
	char names[8192], vals[8192];

	if (!fp)
		return;
	counters_read = true;
	while (fgets(names, sizeof(names), fp) &&
	       fgets(vals, sizeof(vals), fp)) {
		char *sn, *sv, *n, *v;

		if (strncmp(names, "MPTcpExt:", 9) != 0)
			continue;
		n = strtok_r(names + 9, " \n", &sn);
		v = strtok_r(vals + 9, " \n", &sv);
		for (; n && v; n = strtok_r(NULL, " \n", &sn),
			       v = strtok_r(NULL, " \n", &sv)) {
			unsigned long long x = strtoull(v, NULL, 10);
			size_t l = strlen(fb_list);

			if (strcmp(n, "MPCapableSYNRX") == 0)
				syn_rx = x;
			else if (strcmp(n, "MPCapableSYNTX") == 0)
				syn_tx = x;
			else if (strcmp(n, "MPJoinSynRx") == 0)
				join_rx = x;
			else if (strcmp(n, "AddAddrTx") == 0)
				addaddr_tx = x;
			if (!strstr(n, "Fallback") || x == 0)
				continue;
			/* an MPTCP client meeting a TCP server: not ours */
			if (strcmp(n, "MPCapableFallbackSYNACK") == 0) {
				fb_client += x;
				continue;
			}
			fb_server += x;
			snprintf(fb_list + l, sizeof(fb_list) - l,
				 "%sMPTcpExt%s %llu", l ? ", " : "", n, x);
		}
		break;
	}
	fclose(fp);
}

static void check_counters(void)
{
	struct finding *f;

	if (!counters_read)
		return;
	if (syn_rx + syn_tx == 0) {
		add(SEV_INFO, "counters",
		    "no MPTCP connection counted yet in this network "
		    "namespace (MPTcpExt counters, see nstat)");
		return;
	}
	if (fb_server > 0) {
		f = add(SEV_WARN, "counters",
			"%llu MPTCP connection%s fell back to TCP after the "
			"handshake began, since boot (%llu MPTCP SYNs "
			"received): a middlebox that strips the MPTCP option, "
			"or "
			"a peer that gave it up",
			fb_server, fb_server == 1 ? "" : "s", syn_rx);
		detail(f, "%s", fb_list);
		probe(f, "nstat -az 'MPTcpExt*Fallback*'");
	} else {
		add(SEV_OK, "counters",
		    "MPTcpExt: %llu MPTCP SYNs received, no fallback of an "
		    "accepted connection",
		    syn_rx);
	}
	if (fb_client > 0)
		add(SEV_INFO, "counters",
		    "%llu outbound MPTCP connection%s met a server without "
		    "MPTCP (MPTcpExtMPCapableFallbackSYNACK; %llu MPTCP SYNs "
		    "sent)",
		    fb_client, fb_client == 1 ? "" : "s", syn_tx);
	if (addaddr_tx > 0 && join_rx == 0) {
		f = add(SEV_INFO, "counters",
			"this server announced addresses %llu time%s "
			"(AddAddrTx) but received no MP_JOIN SYN "
			"(MPJoinSynRx 0): clients do not use them (their "
			"add_addr_accepted limit is 0 by default on Linux), "
			"or a firewall drops the joins",
			addaddr_tx, addaddr_tx == 1 ? "" : "s");
		probe(f, "nstat -az 'MPTcpExt*Join*' 'MPTcpExt*AddAddr*'");
	} else if (join_rx > 0) {
		add(SEV_OK, "counters",
		    "%llu MP_JOIN SYNs received: clients open extra paths",
		    join_rx);
	}
}

/* ---- do endpoints and limits survive a reboot? ---- */

static bool glob_grep(const char *pattern, const char *needle)
{
	glob_t g;
	bool found = false;

	if (glob(pattern, 0, NULL, &g) != 0)
		return false;
	for (size_t i = 0; i < g.gl_pathc && !found; i++) {
		FILE *fp = fopen(g.gl_pathv[i], "re");
		char line[1024];

		if (!fp)
			continue;
		while (!found && fgets(line, sizeof(line), fp)) {
			const char *l = line + strspn(line, " \t");

			/* commented-out examples do not count */
			found = *l != '#' && *l != ';' &&
				strstr(l, needle) != NULL;
		}
		fclose(fp);
	}
	globfree(&g);
	return found;
}

static bool binary_has(const char *path, const char *needle)
{
	FILE *fp = fopen(path, "re");
	static char buf[1 << 16];
	size_t n, nl = strlen(needle), keep = 0;
	bool found = false;

	if (!fp)
		return false;
	while (!found && (n = fread(buf + keep, 1, sizeof(buf) - keep, fp))) {
		n += keep;
		found = memmem(buf, n, needle, nl) != NULL;
		keep = n >= nl ? nl - 1 : n;
		memmove(buf, buf + n - keep, keep);
	}
	fclose(fp);
	return found;
}

static void check_persistence(void)
{
	bool configured = st.nep > 0 ||
			  (st.limits_ok && (st.subflows != 2 || st.accepted));
	const char *where = NULL;
	struct finding *f;

	if (!st.ep_ok || !configured)
		return;
	if (glob_grep("/etc/systemd/network/*.network", "MPTCP"))
		where = "systemd-networkd (/etc/systemd/network)";
	else if (glob_grep("/etc/NetworkManager/system-connections/*",
			   "mptcp-flags"))
		where = "NetworkManager (connection.mptcp-flags)";
	else if (glob_grep("/etc/systemd/system/*.service", "ip mptcp") ||
		 glob_grep("/etc/systemd/system/*.d/*.conf", "ip mptcp"))
		where = "a systemd unit (/etc/systemd/system)";
	else if (glob_grep("/etc/network/interfaces", "ip mptcp") ||
		 glob_grep("/etc/network/interfaces.d/*", "ip mptcp"))
		where = "ifupdown (/etc/network/interfaces)";
	else if (glob_grep("/etc/mptcpd/*.conf", "addr-flags"))
		where = "mptcpd (/etc/mptcpd)";
	if (where) {
		add(SEV_OK, "persistence",
		    "MPTCP endpoints or limits are configured in %s", where);
		return;
	}
	f = add(SEV_WARN, "persistence",
		"the MPTCP endpoints and limits set now are lost at the "
		"next reboot: nothing in the network configuration sets them");
	if (cli_systemd_running())
		fix(f,
		    "mptcpshim doctor --print-unit > "
		    "/etc/systemd/system/mptcp-endpoints.service && systemctl "
		    "enable mptcp-endpoints.service");
	else
		detail(f, "run 'mptcpshim doctor --print-unit' to see the "
			  "commands to run at boot");
	if (access("/run/NetworkManager", F_OK) == 0)
		detail(f, "NetworkManager (1.40+) can set the endpoints "
			  "itself: nmcli connection modify CONNECTION "
			  "connection.mptcp-flags signal (the limits stay "
			  "yours)");
	if (access("/run/systemd/netif", F_OK) == 0 &&
	    binary_has("/usr/lib/systemd/systemd-networkd", "MPTCPEndpoint"))
		detail(f, "this systemd-networkd knows MPTCPEndpoint= in "
			  "[Address] (see systemd.network(5))");
}

/* The unit that restores the current endpoints and limits. */
static int print_unit(void)
{
	char ipbuf[4096], ifn[IF_NAMESIZE];
	const char *ip = diag_which("ip", ipbuf, sizeof(ipbuf));
	uint32_t sub, acc;
	int e;

	if ((e = nl_pm_limits(&sub, &acc)) ||
	    (e = nl_pm_endpoints(&st.ep, &st.nep))) {
		cli_err("cannot read the MPTCP path manager: %s", strerror(e));
		return EX_FAIL;
	}
	if (!ip)
		ip = "/usr/sbin/ip";
	printf("# Written by 'mptcpshim doctor --print-unit': the MPTCP "
	       "endpoints and\n# limits this machine had, set again at "
	       "boot.\n"
	       "[Unit]\n"
	       "Description=MPTCP endpoints and limits\n"
	       "Wants=network-online.target\n"
	       "After=network-online.target\n\n"
	       "[Service]\n"
	       "Type=oneshot\n"
	       "RemainAfterExit=yes\n"
	       "ExecStart=%s mptcp limits set subflows %u add_addr_accepted "
	       "%u\n"
	       "ExecStart=%s mptcp endpoint flush\n",
	       ip, sub, acc, ip);
	for (size_t i = 0; i < st.nep; i++) {
		const struct nl_endpoint *ep = &st.ep[i];
		char t[INET6_ADDRSTRLEN];

		inet_ntop(ep->family, ep->addr, t, sizeof(t));
		printf("ExecStart=%s mptcp endpoint add %s", ip, t);
		if (ep->port)
			printf(" port %u", ep->port);
		if (ep->ifindex > 0)
			printf(" dev %s", ifname_of(ep->ifindex, ifn));
		printf(" id %u", ep->id);
		if (ep->flags & MPTCP_PM_ADDR_FLAG_SIGNAL)
			printf(" signal");
		if (ep->flags & MPTCP_PM_ADDR_FLAG_SUBFLOW)
			printf(" subflow");
		if (ep->flags & MPTCP_PM_ADDR_FLAG_BACKUP)
			printf(" backup");
		if (ep->flags & MPTCP_PM_ADDR_FLAG_FULLMESH)
			printf(" fullmesh");
		printf("\n");
	}
	printf("\n[Install]\nWantedBy=multi-user.target\n");
	return EX_OK;
}

/* ---- the programs the library must reach ---- */

static void check_program(const char *path, bool named)
{
	/* who will run it is not known here: any user but its owner */
	const struct reach_runner anyone = {.known = false};
	char what[PATH_MAX + 512], advice[PATH_MAX + 256];
	struct reach_result r;
	struct finding *f;

	if (!reach_check(AT_FDCWD, path, &anyone, cli_library_path(), &r)) {
		add(named ? SEV_ERROR : SEV_INFO, "program", "%s: %s", path,
		    strerror(errno));
		return;
	}
	reach_explain(&r, NULL, what, sizeof(what), advice, sizeof(advice));
	switch (r.verdict) {
	case REACH_SECURE:
		if (r.secure == REACH_CAPS) {
			f = add(SEV_ERROR, "program",
				"%s has file capabilities: the loader ignores "
				"LD_PRELOAD for it, the library is silently "
				"absent",
				r.file);
			fix(f, "setcap -r %s", r.file);
			detail(f, "then give the capability to its service "
				  "instead: AmbientCapabilities="
				  "CAP_NET_BIND_SERVICE");
		} else {
			bool uid = r.secure == REACH_SETUID;

			f = add(SEV_ERROR, "program",
				"%s is set-%s-ID: the loader ignores "
				"LD_PRELOAD for it, the library is silently "
				"absent",
				r.file, uid ? "user" : "group");
			fix(f, "chmod %s %s", uid ? "u-s" : "g-s", r.file);
		}
		break;
	case REACH_GO:
		f = add(SEV_WARN, "program",
			"%s is a Go program%s%s: its sockets are made by Go's "
			"own system calls, LD_PRELOAD does not reach them",
			r.file, r.go_version[0] ? " built with " : "",
			r.go_version);
		detail(f, "%s", advice);
		break;
	case REACH_STATIC:
		f = add(SEV_WARN, "program",
			"%s is statically linked: no dynamic loader, "
			"LD_PRELOAD does nothing",
			r.file);
		detail(f, "a dynamically linked build of it, or a server with "
			  "native MPTCP");
		break;
	case REACH_ABI:
		f = add(SEV_ERROR, "program", "%s", what);
		detail(f, "%s", advice);
		break;
	case REACH_OK:
	case REACH_UNKNOWN:
		add(SEV_OK, "program", "%s: LD_PRELOAD reaches it%s", path,
		    strcmp(r.file, path) != 0
			    ? " (a script: through its interpreter)"
			    : "");
		break;
	}
}

static void check_nginx(const char *given)
{
	char buf[4096];
	const char *path =
		given ? given : diag_which("nginx", buf, sizeof(buf));
	struct finding *f;
	int e;

	if (!path) {
		add(SEV_INFO, "nginx", "no nginx on PATH (or give --nginx)");
		return;
	}
	if ((e = ngx_inspect(path, &st.ngx))) {
		f = add(given ? SEV_ERROR : SEV_INFO, "nginx",
			"%s could not be run: %s", path, strerror(e));
		return;
	}
	st.ngx_found = true;
	check_program(path, given != NULL);
	if (!st.ngx.version[0]) {
		add(SEV_INFO, "nginx", "%s: no version from 'nginx -v'", path);
		return;
	}
	if (!st.ngx.native) {
		add(SEV_OK, "nginx",
		    "%s %s has no native 'listen ... multipath' (nginx 1.29.7, "
		    "freenginx 1.27.5, Angie 1.10): the library converts its "
		    "listeners",
		    st.ngx.product, st.ngx.version);
		if (!st.ngx.conf_read)
			add(SEV_INFO, "nginx",
			    "'nginx -T' failed (%s): listen lines not read",
			    st.ngx.conf_err);
		return;
	}
	f = add(SEV_INFO, "nginx",
		"%s %s has native 'listen ... multipath': prefer it to the "
		"library (no preload, no 'env' lines for binary upgrades)",
		st.ngx.product, st.ngx.version);
	if (!st.ngx.conf_read) {
		detail(f,
		       "'nginx -T' failed (%s); the pattern, once per "
		       "address and port: listen ADDRESS:PORT [...] "
		       "multipath;",
		       st.ngx.conf_err);
	} else {
		unsigned todo = 0;

		for (size_t i = 0; i < st.ngx.n; i++) {
			const struct ngx_listen *l = &st.ngx.l[i], *pick = NULL;
			bool done = false, first = true;

			if (l->udp || l->unix_sock || !l->key[0])
				continue;
			/* one line per address: nginx refuses options on
			 * two listens of one address ("duplicate listen
			 * options"), so the one that already sets some */
			for (size_t k = 0; k < st.ngx.n; k++) {
				const struct ngx_listen *o = &st.ngx.l[k];

				if (strcmp(o->key, l->key) != 0)
					continue;
				if (k < i)
					first = false;
				done |= o->multipath;
				if (o->set_opt && !pick)
					pick = o;
			}
			if (!first || done)
				continue;
			if (!pick)
				pick = l;
			detail(f, "%s:%u: %s;  ->  %s multipath;", pick->file,
			       pick->line, pick->text, pick->text);
			todo++;
		}
		if (todo == 0)
			detail(f, "every TCP listen address already has "
				  "multipath");
	}
	fix(f, "mptcpshim disable nginx && systemctl restart nginx  (after "
	       "writing the listen lines)");
}

/* ---- the library and its configuration ---- */

static void check_library(void)
{
	const char *lib = cli_library_path();
	unsigned char h[EI_NIDENT + 4];
	ssize_t n = -1;
	struct finding *f;
	int fd = open(lib, O_RDONLY | O_CLOEXEC), e = errno;

	if (fd >= 0) {
		n = read(fd, h, sizeof(h));
		close(fd);
	}
	if (fd < 0) {
		f = add(SEV_ERROR, "library", "library %s: %s", lib,
			strerror(e));
		fix(f, "apt-get install mptcpshim  (or set MPTCPSHIM_LIBRARY "
		       "to the library's path)");
		return;
	}
	if (n < (ssize_t)sizeof(h) || memcmp(h, ELFMAG, SELFMAG) != 0 ||
	    h[EI_NIDENT] != ET_DYN) {
		add(SEV_ERROR, "library", "library %s is not a shared library",
		    lib);
		return;
	}
	add(SEV_OK, "library", "library %s", lib);
}

static char cfg_err[MS_ERRLEN];
static bool cfg_present;

/* Read first: the checks use its tolerate and connect settings. */
static void load_config(void)
{
	bool explicit_path;
	const char *path = cli_config_path(&explicit_path);
	struct ms_env env;

	ms_config_init(&st.cfg);
	ms_env_read(&env);
	st.cfg_ok = ms_config_read(&st.cfg, path, explicit_path, &env,
				   &cfg_present, cfg_err);
}

static void check_config(void)
{
	bool explicit_path;
	const char *path = cli_config_path(&explicit_path);
	const char *err = cfg_err;
	bool present = cfg_present;
	struct finding *f;

	if (!st.cfg_ok) {
		f = add(SEV_ERROR, "config", "configuration: %s", err);
		fix(f, "mptcpshim check %s  (after correcting it)", path);
	} else if (st.cfg.ports.mode == MS_LIST_NONE) {
		add(SEV_WARN, "config",
		    "configuration: ports = none (%s): nothing will be "
		    "converted",
		    ms_source_name(st.cfg.ports_src));
	} else {
		add(SEV_OK, "config", "configuration %s%s", path,
		    present ? ""
			    : " (not present: every TCP listener is "
			      "converted)");
	}
}

/* ---- output ---- */

static void print_text(unsigned nerr, unsigned nwarn)
{
	for (size_t i = 0; i < nfindings; i++) {
		const struct finding *f = &findings[i];

		printf("%-7s %s\n", sev_tag[f->sev], f->msg);
		for (unsigned k = 0; k < f->ndetail; k++)
			printf("        %s\n", f->detail[k]);
		if (f->fix)
			printf("        fix: %s\n", f->fix);
		if (f->probe)
			printf("        check: %s\n", f->probe);
	}
	if (nerr == 0)
		printf("result: MPTCP can work here (%u warning%s)\n", nwarn,
		       nwarn == 1 ? "" : "s");
	else
		printf("result: %u error%s, %u warning%s: fix the errors "
		       "first\n",
		       nerr, nerr == 1 ? "" : "s", nwarn,
		       nwarn == 1 ? "" : "s");
}

static void print_json(unsigned nerr, unsigned nwarn)
{
	printf("{\"result\":\"%s\",\"errors\":%u,\"warnings\":%u,"
	       "\"findings\":[",
	       nerr    ? "error"
	       : nwarn ? "warning"
		       : "ok",
	       nerr, nwarn);
	for (size_t i = 0; i < nfindings; i++) {
		const struct finding *f = &findings[i];

		printf("%s{\"check\":", i ? "," : "");
		json_str(stdout, f->check);
		printf(",\"severity\":\"%s\",\"message\":", sev_name[f->sev]);
		json_str(stdout, f->msg);
		if (f->fix) {
			printf(",\"fix\":");
			json_str(stdout, f->fix);
		}
		if (f->probe) {
			printf(",\"check_command\":");
			json_str(stdout, f->probe);
		}
		if (f->ndetail) {
			printf(",\"details\":[");
			for (unsigned k = 0; k < f->ndetail; k++) {
				if (k)
					putchar(',');
				json_str(stdout, f->detail[k]);
			}
			putchar(']');
		}
		putchar('}');
	}
	printf("],\"options\":[");
	for (size_t i = 0; opts_probed && i < NOPTS; i++) {
		printf("%s{\"name\":\"%s\",\"socket\":\"%s\",\"value\":%d,"
		       "\"accepted\":%s",
		       i ? "," : "", opts[i].name,
		       opts[i].accepted ? "accepted" : "listener", opts[i].val,
		       opts[i].result ? "false" : "true");
		if (opts[i].result)
			printf(",\"errno\":\"%s\"",
			       strerrorname_np(opts[i].result));
		if (opts[i].param) {
			printf(",\"nginx\":");
			json_str(stdout, opts[i].param);
		}
		putchar('}');
	}
	printf("]}\n");
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"json", no_argument, NULL, 'j'},
		{"nginx", required_argument, NULL, 'n'},
		{"program", required_argument, NULL, 'p'},
		{"print-unit", no_argument, NULL, 'u'},
		{NULL, 0, NULL, 0},
	};
	const char *nginx = NULL, *programs[32];
	unsigned nprog = 0, nerr = 0, nwarn = 0;
	bool json = false, unit = false;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(doctor_help, stdout);
			return EX_OK;
		case 'j':
			json = true;
			break;
		case 'n':
			nginx = optarg;
			break;
		case 'p':
			if (nprog >= 32)
				return cli_usage_err("--program: at most 32");
			programs[nprog++] = optarg;
			break;
		case 'u':
			unit = true;
			break;
		case ':':
			return cli_usage_err("option '%s' needs a value",
					     argv[optind - 1]);
		default:
			return cli_usage_err("unknown option '%s'",
					     argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_err("unexpected argument '%s'", argv[optind]);
	if (unit)
		return print_unit();

	load_config();
	st.mptcp = check_kernel();
	if (st.mptcp) {
		/* read before the loopback test, which counts too */
		read_counters();
		check_loopback();
		check_path_manager();
		check_limits();
		check_endpoints();
		check_routing();
		check_rp_filter();
		check_firewall();
		check_counters();
		check_persistence();
	}
	check_library();
	check_config();
	check_nginx(nginx);
	for (unsigned i = 0; i < nprog; i++)
		check_program(programs[i], true);
	if (st.mptcp)
		check_options(); /* after nginx: names its listen lines */

	for (size_t i = 0; i < nfindings; i++) {
		nerr += findings[i].sev == SEV_ERROR;
		nwarn += findings[i].sev == SEV_WARN;
	}
	if (json)
		print_json(nerr, nwarn);
	else
		print_text(nerr, nwarn);
	ms_config_free(&st.cfg);
	ngx_free(&st.ngx);
	free(st.ep);
	return nerr ? EX_FAIL : EX_OK;
}
