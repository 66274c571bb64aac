/* SPDX-License-Identifier: MIT */
/*
 * Random sequences from a seed (splitmix64: the same seed gives the same
 * sequence on every machine). The generator keeps a rough model of which
 * descriptor numbers are open and what they are (the lowest free number
 * for each new one), so that most calls hit a live descriptor of a
 * fitting family; the rest go to arbitrary numbers, for the error paths.
 */
#include "run.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#define NFD   16
#define EPOLL 100

struct gen_off gen_off;

static unsigned long long state;

static unsigned rnd(unsigned n)
{
	unsigned long long z = (state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return n ? (unsigned)(z % n) : 0;
}

static bool chance(unsigned percent)
{
	return rnd(100) < percent;
}

struct model {
	int fam[NFD]; /* 0 closed; AF_*; EPOLL */
	int stream[NFD];
	bool bound[NFD];
	int connects;
};

static int lowest_free(const struct model *m, int from)
{
	for (int fd = from < 3 ? 3 : from; fd < NFD; fd++)
		if (!m->fam[fd])
			return fd;
	return -1;
}

static void set_fd(struct model *m, int fd, int fam, int stream)
{
	if (fd >= 0 && fd < NFD) {
		m->fam[fd] = fam;
		m->stream[fd] = stream;
		m->bound[fd] = false;
	}
}

/* A descriptor: mostly an open one (of family fam if one is, when fam is
 * not 0), sometimes any number. */
static int pick_fd(const struct model *m, int fam)
{
	static const int odd[] = {-1, 11, 14, 63, 1000};
	int open[NFD], n = 0;

	if (chance(8))
		return odd[rnd(5)];
	for (int pass = 0; pass < 2 && n == 0; pass++)
		for (int fd = 3; fd < NFD; fd++)
			if (m->fam[fd] && (pass || !fam || m->fam[fd] == fam))
				open[n++] = fd;
	return n ? open[rnd((unsigned)n)] : 3 + (int)rnd(6);
}

static int pick_sock_fd(const struct model *m)
{
	int fd = pick_fd(m, 0);

	for (int tries = 0; tries < 4 && fd >= 0 && fd < NFD &&
			    (m->fam[fd] == EPOLL || m->fam[fd] == AF_UNIX);
	     tries++)
		fd = pick_fd(m, 0);
	return fd;
}

/* An address index of the family of fd, mostly. */
static int pick_addr(const struct model *m, int fd)
{
	int fam = fd >= 0 && fd < NFD ? m->fam[fd] : 0;
	int idx[16], n = 0;

	if (fam && !chance(10))
		for (int i = 0; i < n_addrs; i++)
			if (addrs[i].family == fam)
				idx[n++] = i;
	return n ? idx[rnd((unsigned)n)] : (int)rnd((unsigned)n_addrs);
}

static int pick_kind(void)
{
	/* weights, in enum order */
	static const unsigned w[OP_NKINDS] = {
		[OP_SOCKET] = 12,      [OP_SETSOCKOPT] = 14,
		[OP_BIND] = 12,	       [OP_LISTEN] = 8,
		[OP_CONNECT] = 3,      [OP_DUP] = 3,
		[OP_DUP2] = 4,	       [OP_DUP3] = 3,
		[OP_FCNTL_DUPFD] = 3,  [OP_FCNTL_SETFL] = 3,
		[OP_FCNTL_SETFD] = 3,  [OP_CLOSE] = 6,
		[OP_CLOSE_RANGE] = 2,  [OP_CLOSEFROM] = 1,
		[OP_EPOLL_CREATE] = 3, [OP_EPOLL_CTL] = 7,
		[OP_SOCKETPAIR] = 2,   [OP_SENDFD] = 2,
		[OP_FORK] = 2,	       [OP_RAWFORK] = 1,
		[OP_VFORK] = 2,	       [OP_SPAWN] = 1,
		[OP_SYSTEM] = 1,       [OP_SIGNAL] = 3,
		[OP_ALTEXEC] = 1,      [OP_EPOLL_WAIT] = 3,
	};
	unsigned total = 0, r;

	for (int k = 0; k < OP_NKINDS; k++)
		total += gen_off.kind[k] ? 0 : w[k];
	r = rnd(total);
	for (int k = 0; k < OP_NKINDS; k++) {
		unsigned wk = gen_off.kind[k] ? 0 : w[k];

		if (r < wk)
			return k;
		r -= wk;
	}
	return OP_SOCKET;
}

static void gen_socket(struct op *o, struct model *m)
{
	static const int fams[] = {AF_INET, AF_INET, AF_INET6, AF_INET6,
				   AF_UNIX};
	static const int protos[] = {
		0, 0, 0, IPPROTO_TCP, IPPROTO_TCP, IPPROTO_MPTCP, IPPROTO_UDP};
	int stream = !chance(20);

	o->a = fams[rnd(5)];
	o->b = (stream ? SOCK_STREAM : SOCK_DGRAM) |
	       (chance(25) ? SOCK_NONBLOCK : 0) |
	       (chance(30) ? SOCK_CLOEXEC : 0);
	o->c = o->a == AF_UNIX ? 0 : protos[rnd(7)];
	if (!stream && (o->c == IPPROTO_TCP || o->c == IPPROTO_MPTCP))
		o->c = chance(70) ? 0 : o->c;
	if (stream && o->c == IPPROTO_UDP)
		o->c = 0;
	set_fd(m, lowest_free(m, 3), o->a, stream);
}

static void gen_act(struct op *o, struct model *m, bool exec)
{
	o->a = (int)rnd(exec ? ACT_NKINDS : ACT_EXEC);
	o->b = pick_sock_fd(m);
	if (o->a == ACT_BIND) {
		o->c = pick_addr(m, o->b);
		o->d = (int)rnd((unsigned)n_ports);
		if (o->b >= 0 && o->b < NFD)
			m->bound[o->b] = true;
	} else if (o->a == ACT_DUP2) {
		o->c = pick_fd(m, 0);
	}
}

static void gen_op(struct op *o, struct model *m)
{
	static const int backlogs[] = {4, 16, 128, 4096};
	static const int epops[] = {EPOLL_CTL_ADD, EPOLL_CTL_ADD, EPOLL_CTL_MOD,
				    EPOLL_CTL_DEL};
	static const int crflags[] = {
		0, CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_UNSHARE,
		CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE};
	int fd;

	memset(o, 0, sizeof(*o));
	o->kind = pick_kind();
	o->thread = chance(80) ? 0 : 1 + (int)rnd(2);
	switch (o->kind) {
	case OP_SOCKET:
		gen_socket(o, m);
		break;
	case OP_SETSOCKOPT:
		o->a = pick_sock_fd(m);
		o->b = (int)rnd((unsigned)n_opts);
		o->c = (int)rnd((unsigned)n_opt_vals);
		o->d = chance(70) ? 0 : (int)rnd((unsigned)n_opt_lens);
		o->e = chance(80) ? PTR_GOOD : chance(50) ? PTR_NULL : PTR_NONE;
		if (gen_off.ptr[o->e])
			o->e = PTR_GOOD;
		break;
	case OP_BIND:
	case OP_CONNECT:
		if (o->kind == OP_CONNECT && m->connects++ >= 2) {
			o->kind = OP_LISTEN;
			o->a = pick_sock_fd(m);
			o->b = backlogs[rnd(4)];
			break;
		}
		o->a = pick_sock_fd(m);
		if (o->kind == OP_CONNECT && gen_off.bound_connect &&
		    o->a >= 0 && o->a < NFD && m->bound[o->a]) {
			o->kind = OP_LISTEN; /* not a bound socket's connect */
			o->b = backlogs[rnd(4)];
			break;
		}
		o->b = pick_addr(m, o->a);
		o->c = (int)rnd((unsigned)n_ports);
		if (o->kind == OP_BIND && o->a >= 0 && o->a < NFD)
			m->bound[o->a] = true;
		break;
	case OP_LISTEN:
		o->a = pick_sock_fd(m);
		o->b = backlogs[rnd(4)];
		break;
	case OP_DUP:
	case OP_DUP2:
	case OP_DUP3:
	case OP_FCNTL_DUPFD:
		o->a = pick_fd(m, 0);
		fd = o->kind == OP_DUP ? lowest_free(m, 3) : 3 + (int)rnd(10);
		if (o->kind == OP_DUP2 || o->kind == OP_DUP3)
			o->b = fd;
		if (o->kind == OP_DUP3)
			o->c = chance(50) ? O_CLOEXEC : 0;
		if (o->kind == OP_FCNTL_DUPFD) {
			o->b = fd;
			o->c = (int)rnd(2);
			fd = lowest_free(m, fd);
		}
		if (o->a >= 0 && o->a < NFD && m->fam[o->a]) {
			set_fd(m, fd, m->fam[o->a], m->stream[o->a]);
			if (fd >= 0)
				m->bound[fd] = m->bound[o->a];
		}
		break;
	case OP_FCNTL_SETFL:
	case OP_FCNTL_SETFD:
		o->a = pick_fd(m, 0);
		o->b = (int)rnd(2);
		break;
	case OP_CLOSE:
		o->a = pick_fd(m, 0);
		set_fd(m, o->a, 0, 0);
		break;
	case OP_CLOSE_RANGE:
		o->a = 3 + (int)rnd(10);
		o->b = chance(30) ? -1 : o->a + (int)rnd(6);
		o->c = crflags[rnd(4)];
		if (gen_off.unshare)
			o->c &= ~CLOSE_RANGE_UNSHARE;
		if (!(o->c & CLOSE_RANGE_CLOEXEC))
			for (fd = o->a; fd < NFD && (o->b < 0 || fd <= o->b);
			     fd++)
				set_fd(m, fd, 0, 0);
		break;
	case OP_CLOSEFROM:
		o->a = !gen_off.low_closefrom && chance(30) ? -1
							    : 4 + (int)rnd(9);
		for (fd = o->a < 3 ? 3 : o->a; fd < NFD; fd++)
			set_fd(m, fd, 0, 0);
		break;
	case OP_EPOLL_CREATE:
		o->a = (int)rnd(2);
		set_fd(m, lowest_free(m, 3), EPOLL, 0);
		break;
	case OP_EPOLL_WAIT:
		o->a = pick_fd(m, EPOLL);
		break;
	case OP_EPOLL_CTL:
		o->a = pick_fd(m, EPOLL);
		o->b = epops[rnd(4)];
		o->c = pick_sock_fd(m);
		o->d = (int)events[rnd((unsigned)n_events)];
		break;
	case OP_SOCKETPAIR:
		o->a = (chance(70) ? SOCK_STREAM : SOCK_DGRAM) |
		       (chance(30) ? SOCK_CLOEXEC : 0);
		fd = lowest_free(m, 3);
		set_fd(m, fd, AF_UNIX, 1);
		set_fd(m, lowest_free(m, 3), AF_UNIX, 1);
		break;
	case OP_SENDFD:
		o->a = pick_fd(m, AF_UNIX);
		o->b = pick_sock_fd(m);
		/* F6: a copy received is not followed; a TCP socket sent
		 * (bound, or bound later through the copy) is left out */
		if (gen_off.sendfd_bound && o->b >= 0 && o->b < NFD &&
		    (m->fam[o->b] == AF_INET || m->fam[o->b] == AF_INET6))
			o->b = pick_fd(m, AF_UNIX);
		o->c = pick_fd(m, AF_UNIX);
		o->d = (int)rnd(2); /* sendmmsg() */
		o->e = (int)rnd(2);
		break;
	case OP_FORK:
	case OP_RAWFORK:
		gen_act(o, m, true);
		break;
	case OP_VFORK:
		gen_act(o, m, false);
		o->e = (int)rnd(2);
		break;
	case OP_SPAWN:
		o->a = gen_off.spawn_dup2 ? 0 : (int)rnd(2);
		o->b = pick_fd(m, 0);
		o->c = 3 + (int)rnd(10);
		break;
	case OP_SYSTEM:
		o->a = (int)rnd(2); /* popen() */
		break;
	case OP_SIGNAL:
		gen_act(o, m, false);
		break;
	case OP_ALTEXEC: {
		static const int kib[] = {8, 12, 16, 20, 64};

		o->a = kib[rnd(5)];
		break;
	}
	}
}

void gen_seq(struct seq *s, unsigned long long seed)
{
	struct model m;
	int first;

	memset(&m, 0, sizeof(m));
	state = seed * 0x2545f4914f6cdd1dULL + 1;
	s->n = 4 + (int)rnd(28);
	/* most sequences start with a socket or two */
	first = (int)rnd(3);
	for (int i = 0; i < s->n; i++) {
		struct op *o = &s->ops[i];

		if (i < first && !gen_off.kind[OP_SOCKET]) {
			memset(o, 0, sizeof(*o));
			o->kind = OP_SOCKET;
			gen_socket(o, &m);
			continue;
		}
		gen_op(o, &m);
	}
}
