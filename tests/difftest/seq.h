/* SPDX-License-Identifier: MIT */
/*
 * The differential tester's model (issue 21): a sequence is a list of
 * calls, each with up to five integer arguments whose meaning depends on
 * the kind (see kinds[] in tables.c). Descriptors are plain numbers
 * (3..15 mostly), so a shortened sequence still means something and a
 * reproducer is the same list written as C. Addresses, ports, options
 * and epoll events are indexes into the tables of tables.c, which the
 * generator, the executor and the reproducer writer share.
 */
#ifndef DIFFTEST_SEQ_H
#define DIFFTEST_SEQ_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

enum op_kind {
	OP_SOCKET,	/* a family, b type|flags, c protocol */
	OP_SETSOCKOPT,	/* a fd, b option, c value, d length, e pointer kind */
	OP_BIND,	/* a fd, b address, c port */
	OP_LISTEN,	/* a fd, b backlog */
	OP_CONNECT,	/* a fd, b address, c port */
	OP_DUP,		/* a fd */
	OP_DUP2,	/* a fd, b new fd */
	OP_DUP3,	/* a fd, b new fd, c O_CLOEXEC or not */
	OP_FCNTL_DUPFD, /* a fd, b lowest, c CLOEXEC or not */
	OP_FCNTL_SETFL, /* a fd, b O_NONBLOCK or not */
	OP_FCNTL_SETFD, /* a fd, b FD_CLOEXEC or not */
	OP_CLOSE,	/* a fd */
	OP_CLOSE_RANGE, /* a first, b last, c flags */
	OP_CLOSEFROM,	/* a lowest */
	OP_EPOLL_CREATE,
	OP_EPOLL_CTL,  /* a epoll fd, b op, c fd, d events */
	OP_SOCKETPAIR, /* a type */
	OP_SENDFD,     /* a sender, b fd sent, c receiver; d: sendmmsg() */
	OP_FORK,       /* a action, b c d its arguments (see act_*) */
	OP_RAWFORK,    /* same, with _Fork() */
	OP_VFORK,      /* same in a vfork() child, then e: 0 exec, 1 _exit */
	OP_SPAWN,      /* a: 0 plain, 1 with a dup2(b, c) file action */
	OP_SYSTEM,     /* system("exec difftest --probe"); a: popen() */
	OP_SIGNAL,     /* action a (b c d) run by a SIGUSR1 handler */
	OP_ALTEXEC,    /* child: handler on an a-KiB altstack execs probe */
	OP_EPOLL_WAIT, /* a epoll fd; timeout 0 */
	OP_NKINDS
};

/* What a child (fork family) or a signal handler does. */
enum act_kind {
	ACT_NONE,
	ACT_CLOSE,  /* b fd */
	ACT_BIND,   /* b fd, c address, d port */
	ACT_LISTEN, /* b fd */
	ACT_DUP2,   /* b fd, c new fd */
	ACT_SOCKET, /* close(b) then socket(AF_INET, STREAM, 0) */
	ACT_EXEC,   /* execve the probe (fork family only) */
	ACT_NKINDS
};

/* Where a setsockopt() value lives. */
enum ptr_kind {
	PTR_GOOD, /* readable, ending at a page followed by PROT_NONE */
	PTR_NULL,
	PTR_NONE, /* a PROT_NONE page */
	PTR_NKINDS
};

/* An index into a table of n from any int a sequence file may hold. */
#define IDX(v, n) ((int)((unsigned)(v) % (unsigned)(n)))

struct op {
	int kind;
	int thread; /* 0 main, 1 or 2: a worker, handed the call in turn */
	int a, b, c, d, e;
};

#define MAX_OPS 64
struct seq {
	int n;
	struct op ops[MAX_OPS];
};

struct kind_info {
	const char *name;
};
extern const struct kind_info kinds[OP_NKINDS];
extern const char *const act_names[ACT_NKINDS];

struct addr_info {
	const char *text; /* as C in a reproducer, and in results */
	int family;	  /* AF_INET, AF_INET6, AF_UNIX */
	const char *addr; /* inet_pton form, or the abstract name */
};
extern const struct addr_info addrs[];
extern const int n_addrs;

extern const int ports[];
extern const int n_ports;
/* MPTCPSHIM_PORTS for the run with the library: some of ports[]. */
extern const char ports_env[];
/* Would the library's configuration list this address and port? */
bool listed(int family, const void *addr, int port);

struct opt_info {
	const char *name;
	int level, optname;
	int kind; /* 0 int, 1 struct linger, 2 string (congestion) */
};
extern const struct opt_info opts[];
extern const int n_opts;
/* setsockopt() values (c) and lengths (d; -1: the option's own). */
extern const int opt_vals[];
extern const int n_opt_vals;
extern const int opt_lens[];
extern const int n_opt_lens;
/* The value bytes of a setsockopt() call (up to 64) and its length. */
socklen_t opt_value(const struct op *o, unsigned char val[64]);

/* Options the final state reads back on every socket. */
extern const int readback[];
extern const int n_readback;

extern const uint32_t events[];
extern const char *const events_text[];
extern const int n_events;

/* Fills ss from addrs[ai] and ports[pi]; the length bind() gets. */
socklen_t make_addr(int ai, int pi, struct sockaddr_storage *ss);

const char *errno_name(int e);

/* seqio.c: one call per line, "name thread a b c d e". */
int seq_write(const struct seq *s, const char *path, const char *comment);
int seq_read(struct seq *s, const char *path, char *known, size_t known_len);
void op_text(const struct op *o, char *buf, size_t len);

#endif
