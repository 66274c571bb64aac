/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim status: a server's sockets as the kernel sees them (sock_diag
 * through libmnl), the library's settings as each process publishes them,
 * and net.mptcp.enabled of the processes' network namespace.
 *
 * How the kernel's view is read:
 *  - An MPTCP listener is an MPTCP socket in LISTEN; the TCP dump also
 *    shows its first subflow's listener with the same inode (skipped).
 *  - An MPTCP connection is an MPTCP socket; each of its subflows is a TCP
 *    socket carrying the same inode. Its MPTCP_INFO fallback flag says
 *    MPTCP was negotiated away after all: "fell back to TCP".
 *  - A plain TCP client accepted by an MPTCP listener gets a plain TCP
 *    socket (no MPTCP socket at all): a "TCP client", which is normal.
 *  - Listeners on one address and port (reuseport) are one line with
 *    their socket count.
 * Every lookup is a hash: linear in the number of sockets.
 */
#include "cli.h"
#include "diag.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/mptcp.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_ESTABLISHED 1
#define ST_LISTEN      10

static const char status_help[] =
	"Usage: mptcpshim status [-v] [--json | --prometheus] [--interval S]\n"
	"                        [--no-children] PID\n"
	"       mptcpshim status [-v] [--json | --prometheus] [--interval S]\n"
	"                        --unit UNIT\n"
	"\n"
	"Shows, from the kernel (sock_diag, as ss does), the listening "
	"sockets of\n"
	"a process and of its child processes (or of a systemd service), "
	"each\n"
	"address once with its socket count (reuseport) and whether it is "
	"MPTCP,\n"
	"and their established connections: MPTCP (with subflows), fell back\n"
	"to TCP (MPTCP negotiated away after the handshake: MPTCP_INFO's\n"
	"fallback flag), and TCP clients (plain TCP sockets: a client that\n"
	"did not ask for MPTCP, or one that lost MPTCP in the handshake,\n"
	"which the kernel keeps no trace of per connection). The network\n"
	"namespace's MPTcpExt counters count those: SYNs that asked for\n"
	"MPTCP, connections that got it, and fallbacks in the handshake,\n"
	"since boot (or since the namespace was created), or over the last\n"
	"S seconds with --interval. Also, per process, whether the\n"
	"library is loaded and with which settings (read from the process's\n"
	"memory), and net.mptcp.enabled of its network namespace. Reading\n"
	"another user's process, or another namespace, needs root.\n"
	"\n"
	"  -v, --verbose   list every connection\n"
	"  --no-children   only PID itself, not its child processes\n"
	"  --unit UNIT     the processes of a systemd service (its control\n"
	"                  group, on unified, hybrid or legacy hierarchies)\n"
	"  --json          one JSON object\n"
	"  --interval S    count the handshakes over S seconds from now (1 to\n"
	"                  3600) instead of since boot\n"
	"  --prometheus    node_exporter textfile format (per listener: MPTCP\n"
	"                  connections, subflows, TCP clients, fallbacks);\n"
	"                  write to a temporary file and rename it\n"
	"\n"
	"Exit status: 0 shown, 1 failure (no such process or unit, no\n"
	"permission), 2 bad arguments.\n";

/* ---- an inode hash: inode -> int ---- */

struct imap {
	uint32_t *key;
	int32_t *val;
	size_t mask, n;
};

static bool imap_init(struct imap *m, size_t expect)
{
	size_t cap = 64;

	while (cap < expect * 2)
		cap <<= 1;
	m->key = calloc(cap, sizeof(*m->key));
	m->val = calloc(cap, sizeof(*m->val));
	m->mask = cap - 1;
	m->n = 0;
	return m->key && m->val;
}

static void imap_free(struct imap *m)
{
	free(m->key);
	free(m->val);
}

static size_t imap_slot(const struct imap *m, uint32_t k)
{
	size_t i = (k * 2654435761u) & m->mask;

	while (m->key[i] && m->key[i] != k)
		i = (i + 1) & m->mask;
	return i;
}

static bool imap_grow(struct imap *m)
{
	struct imap n;

	if (!imap_init(&n, (m->mask + 1)))
		return false;
	for (size_t i = 0; i <= m->mask; i++)
		if (m->key[i]) {
			size_t s = imap_slot(&n, m->key[i]);

			n.key[s] = m->key[i];
			n.val[s] = m->val[i];
			n.n++;
		}
	imap_free(m);
	*m = n;
	return true;
}

/* Sets k -> v (k != 0). */
static bool imap_put(struct imap *m, uint32_t k, int32_t v)
{
	size_t s;

	if ((m->n + 1) * 2 > m->mask + 1 && !imap_grow(m))
		return false;
	s = imap_slot(m, k);
	if (!m->key[s]) {
		m->key[s] = k;
		m->n++;
	}
	m->val[s] = v;
	return true;
}

/* The value of k, or -1. */
static int32_t imap_get(const struct imap *m, uint32_t k)
{
	size_t s;

	if (!k)
		return -1;
	s = imap_slot(m, k);
	return m->key[s] ? m->val[s] : -1;
}

/* ---- the sockets ---- */

struct sock {
	uint8_t family, state;
	bool mptcp, fallback;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t inode;
	unsigned subflows; /* MPTCP connection: its TCP subflows seen */
	int group;	   /* listener group it arrived on, or -1 */
};

struct sockvec {
	struct sock *v;
	size_t n, cap;
	bool oom;
};

static struct sock *vec_add(struct sockvec *s)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct sock *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv) {
			s->oom = true;
			return NULL;
		}
		s->v = nv;
		s->cap = cap;
	}
	return &s->v[s->n++];
}

struct counts {
	unsigned long mptcp, subflows, fallback, tcp;
	unsigned long other_state; /* not ESTABLISHED: not in the above */
};

/* Listeners on one address, port and protocol (a reuseport group). */
struct group {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
	bool mptcp;
	unsigned sockets;
	struct counts c;
	int next; /* the next group on the same port */
};

struct state {
	struct imap own;	/* the processes' socket inodes -> 1 */
	struct imap msk;	/* MPTCP socket inode -> index in mptcp */
	struct sockvec mptcp;	/* the processes' MPTCP sockets */
	struct sockvec tcp;	/* their plain TCP sockets (not subflows) */
	struct sockvec subflow; /* TCP sockets whose inode is an MPTCP one */
	int pass;
};

static void fill(struct sock *s, const struct inet_diag_msg *m, bool mptcp)
{
	memset(s, 0, sizeof(*s));
	s->family = m->idiag_family;
	s->state = m->idiag_state;
	s->mptcp = mptcp;
	memcpy(s->src, m->id.idiag_src, 16);
	memcpy(s->dst, m->id.idiag_dst, 16);
	s->sport = ntohs(m->id.idiag_sport);
	s->dport = ntohs(m->id.idiag_dport);
	s->inode = m->idiag_inode;
	s->group = -1;
}

static void on_mptcp(const struct inet_diag_msg *m, const void *info,
		     size_t info_len, const char *ulp, void *arg)
{
	struct state *st = arg;
	struct sock *s;

	(void)ulp;
	if (imap_get(&st->own, m->idiag_inode) < 0)
		return;
	s = vec_add(&st->mptcp);
	if (!s)
		return;
	fill(s, m, true);
	if (info && info_len >= offsetof(struct mptcp_info, mptcpi_flags) +
					sizeof(uint8_t)) {
		const struct mptcp_info *mi = info;

		s->fallback =
			(mi->mptcpi_flags & MPTCP_INFO_FLAG_FALLBACK) != 0;
	}
	if (!imap_put(&st->msk, s->inode, (int32_t)(st->mptcp.n - 1)))
		st->mptcp.oom = true;
}

static void on_tcp(const struct inet_diag_msg *m, const void *info,
		   size_t info_len, const char *ulp, void *arg)
{
	struct state *st = arg;
	struct sock *s;
	int32_t k;

	(void)info;
	(void)info_len;
	if (imap_get(&st->own, m->idiag_inode) < 0)
		return;
	k = imap_get(&st->msk, m->idiag_inode);
	if (k >= 0) {
		/* a subflow, or an MPTCP listener's own TCP listener */
		if (m->idiag_state != ST_LISTEN)
			st->mptcp.v[k].subflows++;
		return;
	}
	s = vec_add(&st->tcp);
	if (!s)
		return;
	/* the MPTCP dump can miss listeners of a reuseport group (seen on
	 * 6.18: ss -Ml lists 2 of 3); their subflow listener carries the
	 * "mptcp" upper layer and stands for them */
	fill(s, m,
	     m->idiag_state == ST_LISTEN && ulp && strcmp(ulp, "mptcp") == 0);
}

/* ---- processes ---- */

struct pidvec {
	int *v;
	size_t n, cap;
};

static bool pid_add(struct pidvec *p, int pid)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		int *nv = realloc(p->v, cap * sizeof(*nv));

		if (!nv)
			return false;
		p->v = nv;
		p->cap = cap;
	}
	p->v[p->n++] = pid;
	return true;
}

static bool pid_has(const struct pidvec *p, int pid)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i] == pid)
			return true;
	return false;
}

/* Adds pid's socket inodes to own. Returns 0 or an errno. */
static int pid_sockets(int pid, struct imap *own)
{
	char dir[64], target[64];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	d = opendir(dir);
	if (!d)
		return errno;
	while ((de = readdir(d))) {
		ssize_t n;
		unsigned long ino;

		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(d), de->d_name, target,
			       sizeof(target) - 1);
		if (n <= 8 || memcmp(target, "socket:[", 8) != 0)
			continue;
		target[n] = '\0';
		ino = strtoul(target + 8, NULL, 10);
		if (ino && !imap_put(own, (uint32_t)ino, 1)) {
			closedir(d);
			return ENOMEM;
		}
	}
	closedir(d);
	return 0;
}

static int parent_of(int pid)
{
	char path[64], buf[512], *p;
	int ppid = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (!diag_read_line(path, buf, sizeof(buf)))
		return -1;
	p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

static bool in_set(const struct pidvec *pids, int pid)
{
	for (size_t i = 0; pid > 0 && i < pids->n; i++)
		if (pids->v[i] == pid)
			return true;
	return false;
}

/* Adds the descendants of the pids already in the set: one pass over
 * /proc for the parents, then a walk down. */
static void add_descendants(struct pidvec *pids)
{
	struct pidvec all = {0}, par = {0};
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (!d)
		return;
	while ((de = readdir(d))) {
		int pid = atoi(de->d_name);

		if (pid > 0) {
			pid_add(&all, pid);
			pid_add(&par, parent_of(pid));
		}
	}
	closedir(d);
	for (size_t i = 0; i < pids->n; i++)
		for (size_t k = 0; k < all.n && k < par.n; k++)
			if (par.v[k] == pids->v[i] && !pid_has(pids, all.v[k]))
				pid_add(pids, all.v[k]);
	free(all.v);
	free(par.v);
}

static void add_cgroup_procs(const char *dir, struct pidvec *pids, int depth)
{
	char path[PATH_MAX];
	struct dirent *de;
	FILE *f;
	DIR *d;
	int pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (f) {
		while (fscanf(f, "%d", &pid) == 1)
			if (!pid_has(pids, pid))
				pid_add(pids, pid);
		fclose(f);
	}
	if (depth > 8 || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) <
		    (int)sizeof(path))
			add_cgroup_procs(path, pids, depth + 1);
	}
	closedir(d);
}

/* The value of "Key=value" in systemctl show's output. */
static void show_value(const char *out, const char *key, char *val, size_t len)
{
	size_t kl = strlen(key);

	val[0] = '\0';
	for (const char *l = out; *l;) {
		size_t n = strcspn(l, "\n");

		if (n > kl && strncmp(l, key, kl) == 0 && l[kl] == '=') {
			snprintf(val, len, "%.*s", (int)(n - kl - 1),
				 l + kl + 1);
			return;
		}
		l += n;
		if (*l)
			l++;
	}
}

static int unit_pids(const char *unit, struct pidvec *pids)
{
	char *argv[] = {(char *)"systemctl",
			(char *)"show",
			(char *)"-p",
			(char *)"LoadState,ActiveState,ControlGroup",
			(char *)"--",
			(char *)unit,
			NULL};
	/* unified (v2), the named systemd hierarchy of hybrid and legacy
	 * (v1), and the v2 hierarchy of a hybrid system */
	static const char *const roots[] = {
		"/sys/fs/cgroup",
		"/sys/fs/cgroup/systemd",
		"/sys/fs/cgroup/unified",
	};
	char out[8192], load[64], active[64], cg[PATH_MAX], dir[PATH_MAX + 64];
	bool found_dir = false;

	if (!cli_systemd_running()) {
		cli_err("--unit needs a running systemd (this system was not "
			"booted with it); give the service's PID instead");
		return EX_FAIL;
	}
	if (cli_capture(argv, out, sizeof(out), false) != 0) {
		cli_err("'systemctl show %s' failed", unit);
		return EX_FAIL;
	}
	show_value(out, "LoadState", load, sizeof(load));
	show_value(out, "ActiveState", active, sizeof(active));
	show_value(out, "ControlGroup", cg, sizeof(cg));
	if (strcmp(load, "not-found") == 0) {
		cli_err("unit %s not found (LoadState=not-found)", unit);
		return EX_FAIL;
	}
	if (cg[0] != '/') {
		cli_err("unit %s is not running (ActiveState=%s, no control "
			"group)",
			unit, active[0] ? active : "?");
		return EX_FAIL;
	}
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		struct stat sb;

		snprintf(dir, sizeof(dir), "%s%s", roots[i], cg);
		if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
			continue;
		found_dir = true;
		add_cgroup_procs(dir, pids, 0);
		if (pids->n)
			break;
	}
	if (pids->n == 0) {
		cli_err("unit %s (ActiveState=%s) has no processes in %s%s",
			unit, active, cg,
			found_dir ? ""
				  : " (no such directory under "
				    "/sys/fs/cgroup, /sys/fs/cgroup/systemd "
				    "or /sys/fs/cgroup/unified)");
		return EX_FAIL;
	}
	return EX_OK;
}

/* Enters the network namespace of pid if it is not ours. */
static int enter_netns(int pid)
{
	char path[64];
	struct stat a, b;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	if (stat(path, &a) != 0 || stat("/proc/self/ns/net", &b) != 0 ||
	    (a.st_dev == b.st_dev && a.st_ino == b.st_ino))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
		cli_err("process %d is in another network namespace and "
			"entering it failed: %s (run as root)",
			pid, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EX_FAIL;
	}
	close(fd);
	return 0;
}

/* ---- listener groups ---- */

static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0,    0,
					  0, 0, 0, 0, 0xff, 0xff};

static bool is_any(int family, const uint8_t *a)
{
	static const uint8_t zero[16];

	return memcmp(a, zero, family == AF_INET ? 4 : 16) == 0;
}

/* How well listener group g matches a connection's local address:
 * 3 same address, 2 wildcard of its family, 1 [::] for IPv4, 0 none. */
static int match(const struct group *g, const struct sock *c)
{
	const uint8_t *a = c->src;
	int fam = c->family;

	if (fam == AF_INET6 && memcmp(a, mapped_prefix, 12) == 0) {
		a += 12;
		fam = AF_INET;
	}
	if (is_any(g->family, g->addr))
		return g->family == fam ? 2 : g->family == AF_INET6 ? 1 : 0;
	if (g->family != fam)
		return 0;
	return memcmp(a, g->addr, fam == AF_INET ? 4 : 16) == 0 ? 3 : 0;
}

struct groups {
	struct group *v;
	size_t n, cap;
	int *by_port; /* 65536 heads */
};

static int group_of(struct groups *gs, const struct sock *s, bool add)
{
	int best = -1, score = 0;

	for (int i = gs->by_port[s->sport]; i >= 0; i = gs->v[i].next) {
		struct group *g = &gs->v[i];
		int m;

		if (add) {
			if (g->mptcp == s->mptcp && g->family == s->family &&
			    memcmp(g->addr, s->src, 16) == 0)
				return i;
			continue;
		}
		m = match(g, s);
		/* an MPTCP group wins a tie: the TCP dump also lists
		 * listeners of another process on that address */
		if (m > score || (m == score && m > 0 && g->mptcp)) {
			score = m;
			best = i;
		}
	}
	if (!add)
		return best;
	if (gs->n == gs->cap) {
		size_t cap = gs->cap ? gs->cap * 2 : 16;
		struct group *nv = realloc(gs->v, cap * sizeof(*nv));

		if (!nv)
			return -1;
		gs->v = nv;
		gs->cap = cap;
	}
	memset(&gs->v[gs->n], 0, sizeof(gs->v[0]));
	gs->v[gs->n].family = s->family;
	memcpy(gs->v[gs->n].addr, s->src, 16);
	gs->v[gs->n].port = s->sport;
	gs->v[gs->n].mptcp = s->mptcp;
	gs->v[gs->n].next = gs->by_port[s->sport];
	gs->by_port[s->sport] = (int)gs->n;
	return (int)gs->n++;
}

static void fmt_addr(int family, const uint8_t *ip, unsigned port, char *out,
		     size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(family, ip, a, sizeof(a));
	if (family == AF_INET)
		snprintf(out, len, "%s:%u", a, port);
	else
		snprintf(out, len, "[%s]:%u", a, port);
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	int r;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	r = memcmp(x->addr, y->addr, 16);
	if (r)
		return r;
	return (int)y->mptcp - (int)x->mptcp;
}

/* ---- the library in each process ---- */

struct proc {
	int pid;
	char comm[64];
	struct pub_block pub;
	int pub_err;
	bool preload_named; /* LD_PRELOAD in its environ names the library */
};

static void comm_of(int pid, char *out, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (!diag_read_line(path, out, len))
		snprintf(out, len, "?");
}

static bool environ_names_library(int pid)
{
	char path[64], *buf;
	size_t n;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	buf = malloc(1 << 16);
	if (buf) {
		n = fread(buf, 1, (1 << 16) - 1, f);
		for (size_t i = 0; i < n;) {
			const char *v = buf + i;
			size_t l = strnlen(v, n - i);

			if (strncmp(v, "LD_PRELOAD=", 11) == 0 &&
			    memmem(v, l, "libmptcpshim", 12))
				found = true;
			i += l + 1;
		}
		free(buf);
	}
	fclose(f);
	return found;
}

/* ---- the namespace's handshake counters (MPTcpExt) ---- */

/* The server side of the handshake, for every socket of the network
 * namespace: the kernel counts no listener apart. A client whose
 * MP_CAPABLE ACK arrives without the option gets a plain TCP socket
 * (subflow.c: subflow_drop_ctx), indistinguishable from a client that
 * never asked: only MPCapableFallbackACK tells them apart. */
static const char *const later_fallbacks[] = {
	"MPCapableDataFallback", /* first data without a mapping */
	"DssFallback",		 /* bad or missing DSS */
	"DSSCorruptionFallback", /* (each one not on every kernel) */
};

struct nscount {
	int err;	    /* 0, or why there are no counters */
	const char *window; /* "boot", "netns" or "sampled" */
	double seconds;	    /* the window's length, < 0 unknown */
	unsigned long long asked, mptcp, fb_handshake, fb_later;
	bool have_later;
};

static void ns_fill(struct nscount *ns, const struct diag_mib *m)
{
	unsigned long long x;

	diag_mib_get(m, "MPCapableSYNRX", &ns->asked);
	diag_mib_get(m, "MPCapableACKRX", &ns->mptcp);
	diag_mib_get(m, "MPCapableFallbackACK", &ns->fb_handshake);
	ns->fb_later = 0;
	for (size_t i = 0; i < sizeof(later_fallbacks) / sizeof(char *); i++)
		if (diag_mib_get(m, later_fallbacks[i], &x)) {
			ns->fb_later += x;
			ns->have_later = true;
		}
}

/* Reads the counters of the current namespace; with interval > 0, twice,
 * interval seconds apart, and keeps the difference. */
static void ns_read(struct nscount *ns, unsigned interval)
{
	struct diag_mib *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	double up;

	memset(ns, 0, sizeof(*ns));
	if (!a || !b) {
		ns->err = ENOMEM;
		goto out;
	}
	ns->err = diag_mib_read(a);
	if (ns->err)
		goto out;
	if (interval == 0) {
		ns_fill(ns, a);
		ns->window = diag_netns_is_initial(&up) ? "boot" : "netns";
		ns->seconds = strcmp(ns->window, "boot") == 0 ? up : -1;
		goto out;
	}
	sleep(interval);
	ns->err = diag_mib_read(b);
	if (ns->err)
		goto out;
	for (size_t i = 0; i < a->n && i < b->n; i++)
		b->val[i] -= a->val[i];
	ns_fill(ns, b);
	ns->window = "sampled";
	ns->seconds = interval;
out:
	free(a);
	free(b);
}

/* "since boot (up 3.2 h)", "since the network namespace was created",
 * "over the last 10 s" */
static const char *ns_window(const struct nscount *ns, char *buf, size_t len)
{
	if (strcmp(ns->window, "sampled") == 0)
		snprintf(buf, len, "over the last %.0f s", ns->seconds);
	else if (strcmp(ns->window, "boot") == 0 && ns->seconds >= 7200)
		snprintf(buf, len, "since boot, %.1f h ago",
			 ns->seconds / 3600);
	else if (strcmp(ns->window, "boot") == 0)
		snprintf(buf, len, "since boot, %.0f s ago", ns->seconds);
	else
		snprintf(buf, len, "since the namespace was created");
	return buf;
}

/* ---- output ---- */

struct view {
	const char *unit;
	struct pidvec *pids;
	struct proc *procs;
	char enabled[16];
	struct groups *gs;
	struct counts other, total;
	struct sockvec *mptcp, *tcp;
	bool verbose;
	char notes[16][512];
	int nnotes;
	struct nscount ns;
};

static const char *kind_of(const struct sock *s)
{
	if (s->mptcp)
		return s->fallback ? "fell back to TCP" : "MPTCP";
	return s->group >= 0 ? "TCP client" : "TCP";
}

static void note(struct view *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(struct view *v, const char *fmt, ...)
{
	va_list ap;

	if (v->nnotes >= 16)
		return;
	va_start(ap, fmt);
	vsnprintf(v->notes[v->nnotes++], sizeof(v->notes[0]), fmt, ap);
	va_end(ap);
}

/* Why a library that publishes "broken" converts nothing, from its error
 * line (lib/real.c and the settings parser write them). */
static const char *inactive_cause(const char *err)
{
	if (strstr(err, "loaded after libc"))
		return "wrong LD_PRELOAD order: the library is loaded after "
		       "libc, so the program's socket() and bind() do not "
		       "reach it";
	if (strstr(err, "cannot be found"))
		return "this libc lacks functions the library needs";
	if (strstr(err, "MPTCPSHIM_PORTS") || strstr(err, "a port is") ||
	    strstr(err, "ports"))
		return "invalid ports setting";
	if (!err[0])
		return "the library is inactive";
	return "invalid configuration";
}

/* Clients that asked for MPTCP and lost it, from the namespace's counters:
 * the server cannot tell them from TCP clients one by one. */
static void diagnose_fallback(struct view *v)
{
	const struct nscount *ns = &v->ns;
	char w[80], rate[80] = "";

	if (ns->err || ns->fb_handshake == 0)
		return;
	ns_window(ns, w, sizeof(w));
	if (ns->seconds > 0)
		snprintf(rate, sizeof(rate), ", %.1f per hour",
			 (double)ns->fb_handshake * 3600 / ns->seconds);
	note(v,
	     "%llu client%s asked for MPTCP and fell back to TCP in the "
	     "handshake (MPTcpExtMPCapableFallbackACK %s%s; %llu SYNs "
	     "asked): their ACK lost the MPTCP option on the way, so "
	     "something on the path strips it after the SYN. The kernel "
	     "makes them plain TCP sockets, counted as TCP clients above; "
	     "'mptcpshim probe ADDRESS:PORT' from a client network shows "
	     "the path%s",
	     ns->fb_handshake, ns->fb_handshake == 1 ? "" : "s", w, rate,
	     ns->asked,
	     strcmp(ns->window, "sampled") == 0
		     ? ""
		     : "; 'mptcpshim status --interval 10 PID' counts now");
}

/* Why are TCP listeners TCP? net.mptcp.enabled, the library, its list. */
static void diagnose(struct view *v)
{
	unsigned tcp_groups = 0, mapped = 0, found = 0, named = 0;
	const struct proc *pub = NULL;

	diagnose_fallback(v);
	for (size_t i = 0; i < v->gs->n; i++)
		tcp_groups += !v->gs->v[i].mptcp;
	for (size_t i = 0; i < v->pids->n; i++) {
		mapped += v->procs[i].pub.mapped;
		named += v->procs[i].preload_named && !v->procs[i].pub.mapped;
		if (v->procs[i].pub.found) {
			found++;
			if (!pub)
				pub = &v->procs[i];
		}
	}
	if (strcmp(v->enabled, "1") != 0) {
		note(v,
		     "net.mptcp.enabled = %s in the processes' network "
		     "namespace: no listener can be MPTCP whatever the "
		     "library's ports say (fix: sysctl -w "
		     "net.mptcp.enabled=1 in that namespace)",
		     v->enabled[0] ? v->enabled : "unreadable");
		return;
	}
	if (tcp_groups == 0)
		return;
	if (mapped == 0) {
		if (named)
			note(v,
			     "LD_PRELOAD names libmptcpshim but the loader "
			     "did not load it (a set-user-ID or "
			     "file-capability binary? see 'mptcpshim doctor "
			     "--program /proc/%d/exe')",
			     v->pids->v[0]);
		else
			note(v, "the library is not loaded in these processes "
				"(mptcpshim enable UNIT, or mptcpshim run)");
		return;
	}
	if (!pub) {
		note(v, "the library is loaded but publishes no settings (an "
			"older version, or its data could not be read)");
		return;
	}
	if (pub->pub.flags & 1) {
		char err[512] = "";

		pub_value(&pub->pub, "error", err, sizeof(err));
		note(v, "%s: nothing converted (%s)", inactive_cause(err),
		     err[0] ? err : "its log says why");
		return;
	}
	{
		char ports[1024] = "", perr[MS_ERRLEN];
		struct ms_portlist pl = {0};
		bool have = pub_value(&pub->pub, "ports", ports, sizeof(ports));

		if (!have || !ms_parse_ports(ports, &pl, perr))
			return;
		for (size_t i = 0; i < v->gs->n; i++) {
			const struct group *g = &v->gs->v[i];
			struct sockaddr_storage ss = {0};
			char a[80];

			if (g->mptcp)
				continue;
			fmt_addr(g->family, g->addr, g->port, a, sizeof(a));
			if (g->family == AF_INET) {
				struct sockaddr_in *s4 = (void *)&ss;

				s4->sin_family = AF_INET;
				s4->sin_port = htons(g->port);
				memcpy(&s4->sin_addr, g->addr, 4);
			} else {
				struct sockaddr_in6 *s6 = (void *)&ss;

				s6->sin6_family = AF_INET6;
				s6->sin6_port = htons(g->port);
				memcpy(&s6->sin6_addr, g->addr, 16);
			}
			if (!ms_portlist_match(&pl, (struct sockaddr *)&ss,
					       sizeof(ss)))
				note(v,
				     "%s is TCP: not in the library's ports "
				     "(ports=%s)",
				     a, ports);
			else
				note(v,
				     "%s is TCP although its port is listed "
				     "(ports=%s): the library left it TCP "
				     "(%llu so far), see its log",
				     a, ports,
				     (unsigned long long)pub->pub.stayed_tcp);
		}
		ms_portlist_free(&pl);
	}
}

static void print_counts(const struct counts *c, bool listener)
{
	printf("%lu MPTCP (%lu subflow%s), %lu fell back to TCP, %lu TCP%s",
	       c->mptcp, c->subflows, c->subflows == 1 ? "" : "s", c->fallback,
	       c->tcp, listener ? (c->tcp == 1 ? " client" : " clients") : "");
	if (c->other_state)
		printf("; %lu in other states (closing or opening)",
		       c->other_state);
}

static void print_ns_text(const struct nscount *ns)
{
	char w[80];

	if (ns->err) {
		printf("handshakes: no MPTcpExt counters in /proc/net/netstat "
		       "(%s)\n",
		       strerror(ns->err));
		return;
	}
	printf("handshakes, %s, every listener of the network namespace "
	       "together (the kernel counts none apart; MPTcpExt):\n",
	       ns_window(ns, w, sizeof(w)));
	printf("  %llu SYNs asked for MPTCP (MPCapableSYNRX)\n", ns->asked);
	printf("  %llu got MPTCP (MPCapableACKRX)\n", ns->mptcp);
	printf("  %llu fell back to TCP in the handshake: the ACK came "
	       "without MP_CAPABLE (MPCapableFallbackACK)\n",
	       ns->fb_handshake);
	if (ns->have_later)
		printf("  %llu fell back to TCP later (MPCapableDataFallback, "
		       "DssFallback, DSSCorruptionFallback)\n",
		       ns->fb_later);
}

static void print_text(struct view *v)
{
	char a1[80], a2[80], val[256], err[512];
	const char *cause;
	size_t nmapped = 0, nfound = 0;

	if (v->unit)
		printf("unit %s: %zu process%s\n", v->unit, v->pids->n,
		       v->pids->n == 1 ? "" : "es");
	else if (v->pids->n > 1)
		printf("process %d (%s) and %zu child process%s\n",
		       v->pids->v[0], v->procs[0].comm, v->pids->n - 1,
		       v->pids->n == 2 ? "" : "es");
	else
		printf("process %d (%s)\n", v->pids->v[0], v->procs[0].comm);
	printf("net.mptcp.enabled = %s\n",
	       v->enabled[0] ? v->enabled : "(unreadable)");
	for (size_t i = 0; i < v->pids->n; i++) {
		nmapped += v->procs[i].pub.mapped;
		nfound += v->procs[i].pub.found;
	}
	if (nmapped == 0) {
		printf("library: not loaded\n");
	} else {
		printf("library: loaded in %zu of %zu process%s\n", nmapped,
		       v->pids->n, v->pids->n == 1 ? "" : "es");
		/* each distinct settings text once */
		for (size_t i = 0; i < v->pids->n; i++) {
			const struct proc *p = &v->procs[i];
			bool seen = false;
			unsigned same = 0;
			unsigned long long conv = 0, stayed = 0;

			if (!p->pub.found)
				continue;
			for (size_t k = 0; k < i; k++)
				seen |= v->procs[k].pub.found &&
					strcmp(v->procs[k].pub.text,
					       p->pub.text) == 0;
			if (seen)
				continue;
			for (size_t k = i; k < v->pids->n; k++)
				if (v->procs[k].pub.found &&
				    strcmp(v->procs[k].pub.text, p->pub.text) ==
					    0) {
					const struct pub_block *b =
						&v->procs[k].pub;
					/* what a process inherited at fork()
					 * is its parent's, if the parent is
					 * here (nginx's workers); not when
					 * it is gone (a daemon's first
					 * process) */
					bool parent_here = in_set(
						v->pids,
						parent_of(v->pids->v[k]));

					same++;
					conv += b->converted -
						(parent_here
							 ? b->converted_at_fork
							 : 0);
					stayed +=
						b->stayed_tcp -
						(parent_here ? b->stayed_at_fork
							     : 0);
				}
			printf("  settings (%u process%s):", same,
			       same == 1 ? "" : "es");
			pub_value(&p->pub, "error", err, sizeof(err));
			cause = (p->pub.flags & 1) ? inactive_cause(err) : NULL;
			for (const char *k = "version\0ports\0connect\0tolerate"
					     "\0log\0strict\0config\0";
			     *k; k += strlen(k) + 1) {
				/* a broken library publishes its defaults
				 * ("ports=all"), which are not in effect */
				if (cause && strcmp(k, "ports") == 0 &&
				    strstr(cause, "ports"))
					printf(" ports=(invalid)");
				else if (pub_value(&p->pub, k, val,
						   sizeof(val)))
					printf(" %s=%s", k, val);
			}
			printf("\n  converted %llu, left TCP %llu", conv,
			       stayed);
			if (cause)
				printf(" (%s: nothing converted)", cause);
			printf("\n");
		}
		if (nfound < nmapped)
			printf("  %zu process%s publish%s no settings\n",
			       nmapped - nfound,
			       nmapped - nfound == 1 ? "" : "es",
			       nmapped - nfound == 1 ? "es" : "");
	}
	if (v->verbose) {
		printf("connections:\n");
		for (int pass = 0; pass < 2; pass++) {
			struct sockvec *sv = pass ? v->tcp : v->mptcp;

			for (size_t i = 0; i < sv->n; i++) {
				const struct sock *s = &sv->v[i];

				if (s->state == ST_LISTEN)
					continue;
				fmt_addr(s->family, s->src, s->sport, a1,
					 sizeof(a1));
				fmt_addr(s->family, s->dst, s->dport, a2,
					 sizeof(a2));
				printf("  %s %s %s  %s", a1,
				       s->group >= 0 ? "<-" : "->", a2,
				       kind_of(s));
				if (s->state != ST_ESTABLISHED)
					printf(" (not established: TCP state "
					       "%u)",
					       s->state);
				if (s->mptcp && !s->fallback)
					printf(", %u subflow%s", s->subflows,
					       s->subflows == 1 ? "" : "s");
				printf("\n");
			}
		}
	}
	printf("listening: %zu address%s\n", v->gs->n,
	       v->gs->n == 1 ? "" : "es");
	for (size_t j = 0; j < v->gs->n; j++) {
		const struct group *g = &v->gs->v[j];
		char n[32] = "";

		fmt_addr(g->family, g->addr, g->port, a1, sizeof(a1));
		if (g->sockets > 1)
			snprintf(n, sizeof(n), " x%u", g->sockets);
		printf("  %-24s %-5s%-5s established: ", a1,
		       g->mptcp ? "MPTCP" : "TCP", n);
		print_counts(&g->c, true);
		printf("\n");
	}
	printf("outbound: ");
	print_counts(&v->other, false);
	printf("\ntotal: ");
	print_counts(&v->total, false);
	printf("\n");
	print_ns_text(&v->ns);
	for (int i = 0; i < v->nnotes; i++)
		printf("note: %s\n", v->notes[i]);
}

static void json_counts(const struct counts *c, bool listener)
{
	printf("\"mptcp\":%lu,\"subflows\":%lu,\"fallback\":%lu,\"%s\":%lu,"
	       "\"other_state\":%lu",
	       c->mptcp, c->subflows, c->fallback,
	       listener ? "tcp_clients" : "tcp", c->tcp, c->other_state);
}

static void print_json(struct view *v)
{
	char a[80];

	printf("{");
	if (v->unit) {
		printf("\"unit\":");
		json_str(stdout, v->unit);
		printf(",");
	}
	/* a number, null when unreadable (doc/status.schema.json) */
	printf("\"mptcp_enabled\":");
	if (v->enabled[0] >= '0' && v->enabled[0] <= '9')
		printf("%d", atoi(v->enabled));
	else
		printf("null");
	printf(",\"processes\":[");
	for (size_t i = 0; i < v->pids->n; i++) {
		const struct proc *p = &v->procs[i];

		printf("%s{\"pid\":%d,\"comm\":", i ? "," : "", p->pid);
		json_str(stdout, p->comm);
		printf(",\"library\":{\"loaded\":%s",
		       p->pub.mapped ? "true" : "false");
		if (p->pub.found) {
			printf(",\"broken\":%s,\"converted\":%llu,"
			       "\"stayed_tcp\":%llu,\"converted_at_fork\":%llu,"
			       "\"stayed_at_fork\":%llu,\"settings\":{",
			       (p->pub.flags & 1) ? "true" : "false",
			       (unsigned long long)p->pub.converted,
			       (unsigned long long)p->pub.stayed_tcp,
			       (unsigned long long)p->pub.converted_at_fork,
			       (unsigned long long)p->pub.stayed_at_fork);
			bool first = true;

			for (const char *l = p->pub.text; *l;) {
				size_t n = strcspn(l, "\n"), eq;
				char key[64], val[PUB_TEXT_MAX + 1];

				eq = strcspn(l, "=");
				if (eq < n && eq < sizeof(key)) {
					snprintf(key, sizeof(key), "%.*s",
						 (int)eq, l);
					snprintf(val, sizeof(val), "%.*s",
						 (int)(n - eq - 1), l + eq + 1);
					printf("%s", first ? "" : ",");
					json_str(stdout, key);
					putchar(':');
					if (strcmp(key, "strict") == 0 &&
					    (!strcmp(val, "0") ||
					     !strcmp(val, "1")))
						printf("%s", val[0] == '1'
								     ? "true"
								     : "false");
					else
						json_str(stdout, val);
					first = false;
				}
				l += n;
				if (*l)
					l++;
			}
			printf("}");
		}
		printf("}}");
	}
	printf("],\"listeners\":[");
	for (size_t j = 0; j < v->gs->n; j++) {
		const struct group *g = &v->gs->v[j];
		char ip[INET6_ADDRSTRLEN];

		inet_ntop(g->family, g->addr, ip, sizeof(ip));
		printf("%s{\"address\":\"%s\",\"port\":%u,\"family\":\"%s\","
		       "\"protocol\":\"%s\",\"sockets\":%u,",
		       j ? "," : "", ip, g->port,
		       g->family == AF_INET ? "ipv4" : "ipv6",
		       g->mptcp ? "mptcp" : "tcp", g->sockets);
		json_counts(&g->c, true);
		printf("}");
	}
	printf("],\"outbound\":{");
	json_counts(&v->other, false);
	printf("},\"total\":{");
	json_counts(&v->total, false);
	printf("}");
	if (!v->ns.err) {
		printf(",\"handshakes\":{\"window\":\"%s\",\"seconds\":",
		       v->ns.window);
		if (v->ns.seconds >= 0)
			printf("%.0f", v->ns.seconds);
		else
			printf("null");
		printf(",\"asked\":%llu,\"mptcp\":%llu,"
		       "\"fallback_handshake\":%llu",
		       v->ns.asked, v->ns.mptcp, v->ns.fb_handshake);
		if (v->ns.have_later)
			printf(",\"fallback_later\":%llu", v->ns.fb_later);
		printf("}");
	}
	if (v->verbose) {
		bool first = true;

		printf(",\"connections\":[");
		for (int pass = 0; pass < 2; pass++) {
			struct sockvec *sv = pass ? v->tcp : v->mptcp;

			for (size_t i = 0; i < sv->n; i++) {
				const struct sock *s = &sv->v[i];

				if (s->state == ST_LISTEN)
					continue;
				printf("%s{\"local\":", first ? "" : ",");
				fmt_addr(s->family, s->src, s->sport, a,
					 sizeof(a));
				json_str(stdout, a);
				printf(",\"remote\":");
				fmt_addr(s->family, s->dst, s->dport, a,
					 sizeof(a));
				json_str(stdout, a);
				printf(",\"kind\":\"%s\",\"subflows\":%u,"
				       "\"established\":%s}",
				       kind_of(s), s->subflows,
				       s->state == ST_ESTABLISHED ? "true"
								  : "false");
				first = false;
			}
		}
		printf("]");
	}
	printf(",\"notes\":[");
	for (int i = 0; i < v->nnotes; i++) {
		if (i)
			putchar(',');
		json_str(stdout, v->notes[i]);
	}
	printf("]}\n");
}

/* A Prometheus label value: \, " and newline escaped. */
static void prom_label(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			printf("\\%c", *s);
		else if (*s == '\n')
			printf("\\n");
		else
			putchar(*s);
	}
}

static void print_prometheus(struct view *v)
{
	static const struct {
		const char *name, *help;
	} m[] = {
		{"mptcpshim_listener_sockets",
		 "Listening sockets on the address (a reuseport group counts "
		 "each)."},
		{"mptcpshim_mptcp_connections",
		 "Connections accepted on the listener that use MPTCP."},
		{"mptcpshim_mptcp_subflows",
		 "TCP subflows of those MPTCP connections."},
		{"mptcpshim_tcp_clients",
		 "Connections of clients that did not ask for MPTCP (plain "
		 "TCP)."},
		{"mptcpshim_fallback_connections",
		 "MPTCP connections that fell back to TCP."},
	};
	char owner[128], a[80];

	if (v->unit) {
		snprintf(owner, sizeof(owner), "unit=\"");
	} else {
		snprintf(owner, sizeof(owner), "pid=\"%d", v->pids->v[0]);
	}
	for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
		printf("# HELP %s %s\n# TYPE %s gauge\n", m[k].name, m[k].help,
		       m[k].name);
		for (size_t j = 0; j < v->gs->n; j++) {
			const struct group *g = &v->gs->v[j];
			unsigned long x = k == 0   ? g->sockets
					  : k == 1 ? g->c.mptcp
					  : k == 2 ? g->c.subflows
					  : k == 3 ? g->c.tcp
						   : g->c.fallback;

			fmt_addr(g->family, g->addr, g->port, a, sizeof(a));
			printf("%s{%s", m[k].name, owner);
			if (v->unit)
				prom_label(v->unit);
			printf("\",listener=\"%s\",protocol=\"%s\"} %lu\n", a,
			       g->mptcp ? "mptcp" : "tcp", x);
		}
	}
	printf("# HELP mptcpshim_library_processes Processes with the library "
	       "loaded.\n# TYPE mptcpshim_library_processes gauge\n"
	       "mptcpshim_library_processes{%s",
	       owner);
	if (v->unit)
		prom_label(v->unit);
	{
		unsigned n = 0;

		for (size_t i = 0; i < v->pids->n; i++)
			n += v->procs[i].pub.mapped;
		printf("\"} %u\n", n);
	}
	printf("# HELP mptcpshim_mptcp_enabled net.mptcp.enabled of the "
	       "processes' network namespace.\n"
	       "# TYPE mptcpshim_mptcp_enabled gauge\n"
	       "mptcpshim_mptcp_enabled{%s",
	       owner);
	if (v->unit)
		prom_label(v->unit);
	printf("\"} %d\n", atoi(v->enabled));
	if (!v->ns.err && strcmp(v->ns.window, "sampled") != 0) {
		static const char *const nm[] = {
			"mptcpshim_netns_mptcp_syn_received_total",
			"mptcpshim_netns_mptcp_accepted_total",
			"mptcpshim_netns_mptcp_handshake_fallback_total",
		};
		static const char *const help[] = {
			"SYNs with MP_CAPABLE (MPTcpExtMPCapableSYNRX)",
			"connections that got MPTCP (MPTcpExtMPCapableACKRX)",
			"clients that asked for MPTCP and fell back to TCP in "
			"the handshake (MPTcpExtMPCapableFallbackACK)",
		};
		const unsigned long long x[] = {v->ns.asked, v->ns.mptcp,
						v->ns.fb_handshake};

		for (size_t k = 0; k < 3; k++) {
			printf("# HELP %s %s in the processes' network "
			       "namespace since it was created (the initial "
			       "one: since boot), every listener together.\n"
			       "# TYPE %s counter\n%s{%s",
			       nm[k], help[k], nm[k], nm[k], owner);
			if (v->unit)
				prom_label(v->unit);
			printf("\"} %llu\n", x[k]);
		}
	}
}

int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"verbose", no_argument, NULL, 'v'},
		{"no-children", no_argument, NULL, 'c'},
		{"unit", required_argument, NULL, 'u'},
		{"json", no_argument, NULL, 'j'},
		{"prometheus", no_argument, NULL, 'p'},
		{"interval", required_argument, NULL, 'i'},
		{NULL, 0, NULL, 0},
	};
	const char *unit = NULL, *pidarg = NULL;
	bool children = true, json = false, prom = false;
	struct pidvec pids = {0};
	struct state st = {0};
	struct groups gs = {0};
	struct view v = {0};
	int c, r = EX_FAIL, e;
	unsigned interval = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+hv", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(status_help, stdout);
			return EX_OK;
		case 'v':
			v.verbose = true;
			break;
		case 'c':
			children = false;
			break;
		case 'u':
			unit = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'p':
			prom = true;
			break;
		case 'i': {
			char *end;
			long n;

			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || n < 1 || n > 3600)
				return cli_usage_err(
					"--interval: '%s' is not a number of "
					"seconds from 1 to 3600",
					optarg);
			interval = (unsigned)n;
			break;
		}
		case ':':
			return cli_usage_err("option '%s' needs a value",
					     argv[optind - 1]);
		default:
			return cli_usage_err("unknown option '%s'",
					     argv[optind - 1]);
		}
	}
	if (optind < argc)
		pidarg = argv[optind++];
	if (optind < argc)
		return cli_usage_err("one PID only ('%s' and '%s')", pidarg,
				     argv[optind]);
	if (!!unit == !!pidarg)
		return cli_usage_err("give either a PID or --unit UNIT");
	if (json && prom)
		return cli_usage_err("--json or --prometheus, not both");
	if (prom && interval)
		return cli_usage_err("--prometheus gives the counters "
				     "themselves: no --interval");
	if (pidarg) {
		char *end, p[64];
		long pid;

		errno = 0;
		pid = strtol(pidarg, &end, 10);
		if (errno || end == pidarg || *end || pid <= 0 ||
		    pid > INT32_MAX)
			return cli_usage_err("'%s' is not a process id",
					     pidarg);
		snprintf(p, sizeof(p), "/proc/%ld", pid);
		if (access(p, F_OK) != 0) {
			cli_err("no process %ld", pid);
			return EX_FAIL;
		}
		pid_add(&pids, (int)pid);
		if (children)
			add_descendants(&pids);
	} else if ((r = unit_pids(unit, &pids))) {
		free(pids.v);
		return r;
	}
	r = EX_FAIL;
	if (!imap_init(&st.own, 1024) || !imap_init(&st.msk, 1024))
		goto oom;
	v.procs = calloc(pids.n, sizeof(*v.procs));
	gs.by_port = malloc(65536 * sizeof(int));
	if (!v.procs || !gs.by_port)
		goto oom;
	memset(gs.by_port, 0xff, 65536 * sizeof(int));
	for (size_t i = 0; i < pids.n; i++) {
		struct proc *p = &v.procs[i];

		p->pid = pids.v[i];
		comm_of(p->pid, p->comm, sizeof(p->comm));
		e = pid_sockets(p->pid, &st.own);
		if (e == EACCES || e == EPERM) {
			cli_err("cannot read the file descriptors of process "
				"%d: %s (run as root, or as its user)",
				p->pid, strerror(e));
			goto out;
		}
		if (e == ENOMEM)
			goto oom;
		p->pub_err = pub_read(p->pid, &p->pub);
		p->preload_named = environ_names_library(p->pid);
	}
	if (enter_netns(pids.v[0]))
		goto out;
	if (!diag_read_line("/proc/sys/net/mptcp/enabled", v.enabled,
			    sizeof(v.enabled)))
		v.enabled[0] = '\0';
	ns_read(&v.ns, interval);
	for (int f = 0; f < 2; f++) {
		int fam = f ? AF_INET6 : AF_INET;

		/* MPTCP first: the TCP dump then knows the subflows */
		e = nl_diag_dump(IPPROTO_MPTCP, fam, ~0u, true, on_mptcp, &st);
		if (e && e != ENOENT && e != EINVAL && e != EOPNOTSUPP) {
			cli_err("sock_diag (MPTCP): %s", strerror(e));
			goto out;
		}
	}
	for (int f = 0; f < 2; f++) {
		int fam = f ? AF_INET6 : AF_INET;

		/* listeners with their upper layer (few), then the rest */
		e = nl_diag_dump(IPPROTO_TCP, fam, 1u << ST_LISTEN, true,
				 on_tcp, &st);
		if (!e)
			e = nl_diag_dump(IPPROTO_TCP, fam, ~(1u << ST_LISTEN),
					 false, on_tcp, &st);
		if (e) {
			cli_err("sock_diag (TCP): %s", strerror(e));
			goto out;
		}
	}
	if (st.mptcp.oom || st.tcp.oom)
		goto oom;
	/* listener groups */
	for (int pass = 0; pass < 2; pass++) {
		struct sockvec *sv = pass ? &st.tcp : &st.mptcp;

		for (size_t i = 0; i < sv->n; i++) {
			int g;

			if (sv->v[i].state != ST_LISTEN)
				continue;
			g = group_of(&gs, &sv->v[i], true);
			if (g < 0)
				goto oom;
			gs.v[g].sockets++;
		}
	}
	/* connections onto their listeners */
	for (int pass = 0; pass < 2; pass++) {
		struct sockvec *sv = pass ? &st.tcp : &st.mptcp;

		for (size_t i = 0; i < sv->n; i++) {
			struct sock *s = &sv->v[i];
			struct counts *cn;

			if (s->state == ST_LISTEN)
				continue;
			s->group = group_of(&gs, s, false);
			cn = s->group >= 0 ? &gs.v[s->group].c : &v.other;
			if (s->state != ST_ESTABLISHED) {
				/* CLOSE-WAIT, SYN-RECV, FIN-WAIT...: not
				 * "established" */
				cn->other_state++;
				v.total.other_state++;
			} else if (s->mptcp && !s->fallback) {
				unsigned sub = s->subflows ? s->subflows : 1;

				cn->mptcp++;
				cn->subflows += sub;
				v.total.mptcp++;
				v.total.subflows += sub;
			} else if (s->mptcp) {
				cn->fallback++;
				v.total.fallback++;
			} else {
				cn->tcp++;
				v.total.tcp++;
			}
		}
	}
	/* sorted for the output; the connections keep group indexes only
	 * for -v's arrows (>= 0 or not), which sorting does not change */
	qsort(gs.v, gs.n, sizeof(gs.v[0]), cmp_group);
	v.unit = unit;
	v.pids = &pids;
	v.gs = &gs;
	v.mptcp = &st.mptcp;
	v.tcp = &st.tcp;
	diagnose(&v);
	if (json)
		print_json(&v);
	else if (prom)
		print_prometheus(&v);
	else
		print_text(&v);
	r = EX_OK;
	goto out;
oom:
	cli_err("out of memory");
out:
	imap_free(&st.own);
	imap_free(&st.msk);
	free(st.mptcp.v);
	free(st.tcp.v);
	free(st.subflow.v);
	free(gs.v);
	free(gs.by_port);
	free(v.procs);
	free(pids.v);
	return r;
}
