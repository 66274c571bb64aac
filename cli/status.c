/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim status: a server's sockets as the kernel sees them (sock_diag),
 * not as the library logged them.
 *
 * What the kernel shows, and how it is read here:
 *  - An MPTCP listener is an MPTCP socket (IPPROTO_MPTCP dump) in LISTEN;
 *    the TCP dump also shows its first subflow's listener, with the same
 *    inode: a TCP listener whose inode is an MPTCP listener's is skipped.
 *  - An MPTCP connection is an MPTCP socket in ESTABLISHED; each of its
 *    subflows is a TCP socket carrying the same inode (the subflows are
 *    grafted onto the MPTCP socket's struct socket).
 *  - A plain TCP client accepted by an MPTCP listener gets a plain TCP
 *    socket: no MPTCP socket, no "mptcp" ULP. Only its local address tells:
 *    it belongs to an MPTCP listener, so it is counted as fallen back to
 *    TCP. An MPTCP socket whose MPTCP_INFO says FALLBACK (MPTCP was
 *    negotiated away later, or an MPTCP client met a TCP server) is counted
 *    as fallen back too.
 *  - Any other TCP connection is plain TCP.
 */
#include "cli.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/inet_diag.h>
#include <linux/mptcp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#define ST_ESTABLISHED 1
#define ST_LISTEN      10

static const char status_help[] =
	"Usage: mptcpshim status [-v] [--no-children] PID\n"
	"       mptcpshim status [-v] --unit UNIT\n"
	"\n"
	"Shows, from the kernel (sock_diag, as ss does), the listening "
	"sockets\n"
	"of a process and of its child processes, each with its address and\n"
	"whether it is MPTCP or TCP, and their established connections: MPTCP\n"
	"(with the number of subflows), fallen back to TCP (a plain TCP "
	"client\n"
	"accepted by an MPTCP listener, or an MPTCP connection that fell "
	"back),\n"
	"and plain TCP. --unit takes the processes of a systemd service "
	"(needs\n"
	"a running systemd). Reading another user's process needs root.\n"
	"\n"
	"  -v, --verbose   list every connection\n"
	"  --no-children   only PID itself, not its child processes\n"
	"\n"
	"Exit status: 0 shown, 1 failure (no such process, no permission),\n"
	"2 bad arguments.\n";

struct sk {
	uint8_t family, state;
	bool mptcp, has_info;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t inode;
	struct mptcp_info info;
};

struct skvec {
	struct sk *v;
	size_t n, cap;
};

struct ids {
	uint32_t *v;
	size_t n, cap;
};

static bool ids_add(struct ids *s, uint32_t x)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == x)
			return true;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		uint32_t *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			return false;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = x;
	return true;
}

static bool ids_has(const struct ids *s, uint32_t x)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == x)
			return true;
	return false;
}

/* One sock_diag dump. Returns 0, or an errno. */
static int diag_dump(int proto, int family, struct skvec *out)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
		/* the protocol number does not fit in sdiag_protocol (262
		 * would read as 6, TCP): INET_DIAG_REQ_PROTOCOL carries it */
		struct rtattr proto_attr;
		uint32_t proto;
	} req;
	struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
	static char buf[65536];
	int fd, err = 0;
	bool done = false;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return errno;
	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.r.sdiag_family = (uint8_t)family;
	req.r.sdiag_protocol = (uint8_t)proto;
	req.r.idiag_states = ~0u;
	req.proto_attr.rta_type = INET_DIAG_REQ_PROTOCOL;
	req.proto_attr.rta_len = RTA_LENGTH(sizeof(uint32_t));
	req.proto = (uint32_t)proto;
	if (proto == IPPROTO_MPTCP)
		req.r.idiag_ext = 1 << (INET_DIAG_INFO - 1);
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&nl,
		   sizeof(nl)) < 0) {
		err = errno;
		close(fd);
		return err;
	}
	while (!done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : EIO;
			break;
		}
		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			struct inet_diag_msg *m = NLMSG_DATA(h);
			struct rtattr *a;
			int alen;
			struct sk s;

			if (h->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				err = e->error ? -e->error : EIO;
				done = true;
				break;
			}
			memset(&s, 0, sizeof(s));
			s.family = m->idiag_family;
			s.state = m->idiag_state;
			s.mptcp = proto == IPPROTO_MPTCP;
			memcpy(s.src, m->id.idiag_src, 16);
			memcpy(s.dst, m->id.idiag_dst, 16);
			s.sport = ntohs(m->id.idiag_sport);
			s.dport = ntohs(m->id.idiag_dport);
			s.inode = m->idiag_inode;
			a = (struct rtattr *)(m + 1);
			alen = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
			for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
				size_t l = RTA_PAYLOAD(a);

				if (a->rta_type != INET_DIAG_INFO || !s.mptcp)
					continue;
				if (l > sizeof(s.info))
					l = sizeof(s.info);
				memcpy(&s.info, RTA_DATA(a), l);
				s.has_info = true;
			}
			if (s.inode == 0)
				continue;
			if (out->n == out->cap) {
				size_t cap = out->cap ? out->cap * 2 : 256;
				struct sk *nv =
					realloc(out->v, cap * sizeof(*nv));

				if (!nv) {
					err = ENOMEM;
					done = true;
					break;
				}
				out->v = nv;
				out->cap = cap;
			}
			out->v[out->n++] = s;
		}
	}
	close(fd);
	return err;
}

/* Adds pid's socket inodes. Returns 0 or an errno. */
static int pid_sockets(int pid, struct ids *inodes)
{
	char dir[64], link[PATH_MAX], target[64];
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
		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (sscanf(target, "socket:[%lu]", &ino) == 1)
			ids_add(inodes, (uint32_t)ino);
	}
	closedir(d);
	return 0;
}

static int parent_of(int pid)
{
	char path[64], buf[512], *p;
	int ppid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f)) {
		p = strrchr(buf, ')'); /* comm may hold spaces */
		if (p && sscanf(p + 1, " %*c %d", &ppid) != 1)
			ppid = -1;
	}
	fclose(f);
	return ppid;
}

/* Adds the descendants of the pids already in the set. */
static void add_descendants(struct ids *pids)
{
	bool grew = true;

	while (grew) {
		struct dirent *de;
		DIR *d = opendir("/proc");

		grew = false;
		if (!d)
			return;
		while ((de = readdir(d))) {
			int pid = atoi(de->d_name), pp;

			if (pid <= 0 || ids_has(pids, (uint32_t)pid))
				continue;
			pp = parent_of(pid);
			if (pp > 0 && ids_has(pids, (uint32_t)pp)) {
				ids_add(pids, (uint32_t)pid);
				grew = true;
			}
		}
		closedir(d);
	}
}

static void add_cgroup_procs(const char *dir, struct ids *pids, int depth)
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
			ids_add(pids, (uint32_t)pid);
		fclose(f);
	}
	if (depth > 8 || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		add_cgroup_procs(path, pids, depth + 1);
	}
	closedir(d);
}

static int unit_pids(const char *unit, struct ids *pids)
{
	char *argv[] = {(char *)"systemctl",
			(char *)"show",
			(char *)"-p",
			(char *)"ControlGroup",
			(char *)"--value",
			(char *)unit,
			NULL};
	char cg[PATH_MAX], dir[PATH_MAX + 32];

	if (!cli_systemd_running()) {
		cli_err("--unit needs a running systemd (this system was not "
			"booted with it); give the service's PID instead");
		return EX_FAIL;
	}
	if (cli_capture(argv, cg, sizeof(cg), false) != 0) {
		cli_err("'systemctl show %s' failed", unit);
		return EX_FAIL;
	}
	cg[strcspn(cg, "\n")] = '\0';
	if (cg[0] != '/') {
		cli_err("unit %s is not running (no control group)", unit);
		return EX_FAIL;
	}
	snprintf(dir, sizeof(dir), "/sys/fs/cgroup%s", cg);
	add_cgroup_procs(dir, pids, 0);
	if (pids->n == 0) {
		cli_err("unit %s has no processes", unit);
		return EX_FAIL;
	}
	return EX_OK;
}

static void fmt_addr(const struct sk *s, bool local, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	const uint8_t *ip = local ? s->src : s->dst;
	unsigned port = local ? s->sport : s->dport;

	if (s->family == AF_INET) {
		inet_ntop(AF_INET, ip, a, sizeof(a));
		snprintf(out, len, "%s:%u", a, port);
	} else {
		inet_ntop(AF_INET6, ip, a, sizeof(a));
		snprintf(out, len, "[%s]:%u", a, port);
	}
}

static bool is_any(const struct sk *s)
{
	static const uint8_t zero[16];

	return memcmp(s->src, zero, s->family == AF_INET ? 4 : 16) == 0;
}

/* Does connection c arrive on listener l? */
static bool on_listener(const struct sk *l, const struct sk *c)
{
	const uint8_t *a = c->src;
	int fam = c->family;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
					   0, 0, 0, 0, 0xff, 0xff};

	if (l->sport != c->sport)
		return false;
	if (is_any(l))
		return l->family == AF_INET6 || fam == AF_INET ||
		       memcmp(a, mapped, 12) == 0;
	if (fam == AF_INET6 && l->family == AF_INET &&
	    memcmp(a, mapped, 12) == 0) {
		a += 12;
		fam = AF_INET;
	}
	return fam == l->family &&
	       memcmp(a, l->src, fam == AF_INET ? 4 : 16) == 0;
}

struct counts {
	unsigned mptcp, subflows, fallback, tcp;
};

static void print_counts(const struct counts *c)
{
	printf("%u MPTCP (%u subflow%s), %u fallen back to TCP, %u plain TCP",
	       c->mptcp, c->subflows, c->subflows == 1 ? "" : "s", c->fallback,
	       c->tcp);
}

static void comm_of(int pid, char *out, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(out, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
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

int cmd_status(int argc, char **argv)
{
	const char *unit = NULL, *pidarg = NULL;
	bool verbose = false, children = true;
	struct ids pids = {0}, inodes = {0}, mptcp_listen = {0},
		   mptcp_conn = {0};
	struct skvec all = {0};
	struct sk **lst = NULL;
	size_t nl = 0;
	struct counts total = {0}, other = {0}, *per = NULL;
	char comm[64], a1[64], a2[64];
	int r, e;

	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			fputs(status_help, stdout);
			return EX_OK;
		}
		if (strcmp(argv[i], "-v") == 0 ||
		    strcmp(argv[i], "--verbose") == 0) {
			verbose = true;
			continue;
		}
		if (strcmp(argv[i], "--no-children") == 0) {
			children = false;
			continue;
		}
		r = cli_opt_value(argc, argv, &i, "--unit", &unit);
		if (r < 0)
			return EX_USAGE_2;
		if (r)
			continue;
		if (argv[i][0] == '-')
			return cli_usage_err("unknown option '%s'", argv[i]);
		if (pidarg)
			return cli_usage_err("one PID only ('%s' and '%s')",
					     pidarg, argv[i]);
		pidarg = argv[i];
	}
	if (!!unit == !!pidarg)
		return cli_usage_err("give either a PID or --unit UNIT");
	if (pidarg) {
		char *end;
		long pid = strtol(pidarg, &end, 10);
		char p[64];

		if (*end || pid <= 0 || pid > INT32_MAX)
			return cli_usage_err("'%s' is not a process id",
					     pidarg);
		snprintf(p, sizeof(p), "/proc/%ld", pid);
		if (access(p, F_OK) != 0) {
			cli_err("no process %ld", pid);
			return EX_FAIL;
		}
		ids_add(&pids, (uint32_t)pid);
		if (children)
			add_descendants(&pids);
	} else if ((r = unit_pids(unit, &pids))) {
		return r;
	}
	for (size_t i = 0; i < pids.n; i++) {
		e = pid_sockets((int)pids.v[i], &inodes);
		if (e == EACCES || e == EPERM) {
			cli_err("cannot read the file descriptors of process "
				"%u: %s (run as root, or as its user)",
				pids.v[i], strerror(e));
			return EX_FAIL;
		}
	}
	if ((r = enter_netns((int)pids.v[0])))
		return r;
	for (int f = 0; f < 2; f++) {
		int fam = f ? AF_INET6 : AF_INET;

		e = diag_dump(IPPROTO_MPTCP, fam, &all);
		if (e && e != ENOENT && e != EINVAL && e != EOPNOTSUPP) {
			cli_err("sock_diag (MPTCP): %s", strerror(e));
			return EX_FAIL;
		}
		e = diag_dump(IPPROTO_TCP, fam, &all);
		if (e) {
			cli_err("sock_diag (TCP): %s", strerror(e));
			return EX_FAIL;
		}
	}
	/* Keep only this process's sockets; note the MPTCP ones. */
	for (size_t i = 0; i < all.n; i++) {
		struct sk *s = &all.v[i];

		if (!ids_has(&inodes, s->inode) || !s->mptcp)
			continue;
		if (s->state == ST_LISTEN)
			ids_add(&mptcp_listen, s->inode);
		else
			ids_add(&mptcp_conn, s->inode);
	}
	lst = calloc(all.n + 1, sizeof(*lst));
	per = calloc(all.n + 1, sizeof(*per));
	if (!lst || !per) {
		cli_err("out of memory");
		return EX_FAIL;
	}
	for (size_t i = 0; i < all.n; i++) {
		struct sk *s = &all.v[i];

		if (s->state != ST_LISTEN || !ids_has(&inodes, s->inode))
			continue;
		/* the TCP row of an MPTCP listener: its subflow listener */
		if (!s->mptcp && ids_has(&mptcp_listen, s->inode))
			continue;
		lst[nl++] = s;
	}

	comm_of((int)pids.v[0], comm, sizeof(comm));
	if (unit)
		printf("unit %s: %zu process%s\n", unit, pids.n,
		       pids.n == 1 ? "" : "es");
	else if (pids.n > 1)
		printf("process %u (%s) and %zu child process%s\n", pids.v[0],
		       comm, pids.n - 1, pids.n == 2 ? "" : "es");
	else
		printf("process %u (%s)\n", pids.v[0], comm);

	if (verbose)
		printf("connections:\n");
	for (size_t i = 0; i < all.n; i++) {
		struct sk *s = &all.v[i];
		struct counts *c = &other;
		unsigned sub = 0;
		const char *kind;

		if (s->state != ST_ESTABLISHED || !ids_has(&inodes, s->inode))
			continue;
		if (!s->mptcp && ids_has(&mptcp_conn, s->inode))
			continue; /* a subflow, counted with its connection */
		for (size_t j = 0; j < nl; j++) {
			if (on_listener(lst[j], s)) {
				c = &per[j];
				break;
			}
		}
		if (s->mptcp && !(s->has_info && (s->info.mptcpi_flags &
						  MPTCP_INFO_FLAG_FALLBACK))) {
			for (size_t j = 0; j < all.n; j++)
				if (!all.v[j].mptcp &&
				    all.v[j].inode == s->inode &&
				    all.v[j].state == ST_ESTABLISHED)
					sub++;
			if (sub == 0)
				sub = s->info.mptcpi_subflows + 1u;
			c->mptcp++;
			c->subflows += sub;
			total.mptcp++;
			total.subflows += sub;
			kind = "MPTCP";
		} else if (s->mptcp || (c != &other && lst[c - per]->mptcp)) {
			/* MPTCP negotiated away, or a plain TCP client
			 * accepted by an MPTCP listener */
			c->fallback++;
			total.fallback++;
			kind = "fallen back to TCP";
		} else {
			c->tcp++;
			total.tcp++;
			kind = "TCP";
		}
		if (verbose) {
			fmt_addr(s, true, a1, sizeof(a1));
			fmt_addr(s, false, a2, sizeof(a2));
			printf("  %s %s %s", a1, c == &other ? "->" : "<-", a2);
			printf("  %s", kind);
			if (sub)
				printf(", %u subflow%s", sub,
				       sub == 1 ? "" : "s");
			printf("\n");
		}
	}

	printf("listening sockets: %zu\n", nl);
	for (size_t j = 0; j < nl; j++) {
		fmt_addr(lst[j], true, a1, sizeof(a1));
		printf("  %-24s %-5s  established: ", a1,
		       lst[j]->mptcp ? "MPTCP" : "TCP");
		print_counts(&per[j]);
		printf("\n");
	}
	printf("other connections: ");
	print_counts(&other);
	printf("\ntotal: ");
	print_counts(&total);
	printf("\n");
	if (nl > 0 && mptcp_listen.n == 0)
		printf("note: no MPTCP listener; is the library preloaded "
		       "and the port in its list? (mptcpshim check)\n");
	free(lst);
	free(per);
	free(all.v);
	free(pids.v);
	free(inodes.v);
	free(mptcp_listen.v);
	free(mptcp_conn.v);
	return EX_OK;
}
