/* SPDX-License-Identifier: MIT */
/* Internal interfaces of libmptcpshim. Nothing here is exported. */
#ifndef MPTCPSHIM_INTERNAL_H
#define MPTCPSHIM_INTERNAL_H

#include "mptcpshim/config.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

#define MS_LIKELY(x)   __builtin_expect(!!(x), 1)
#define MS_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* The functions we interpose, as found in the next object (libc). */
struct ms_real {
	int (*socket)(int, int, int);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*epoll_ctl)(int, int, int, struct epoll_event *);
};
extern struct ms_real ms_real;

/* ---- log.c: async-signal-safe messages to stderr ---- */
extern enum ms_log_level ms_log_level;

struct ms_msg {
	char buf[640];
	size_t n;
};

static inline bool ms_log_on(enum ms_log_level l)
{
	return l <= ms_log_level && ms_log_level != MS_LOG_OFF;
}
void ms_msg_begin(struct ms_msg *m, enum ms_log_level l);
void ms_msg_str(struct ms_msg *m, const char *s);
void ms_msg_uint(struct ms_msg *m, unsigned long v);
void ms_msg_addr(struct ms_msg *m, const struct sockaddr *sa, socklen_t len);
void ms_msg_errno(struct ms_msg *m, int e);
void ms_msg_opt(struct ms_msg *m, int level, int name);
/* Writes the line to fd 2; errno is preserved. */
void ms_msg_end(struct ms_msg *m);

/* ---- track.c: what socket() and setsockopt() saw, per fd ---- */

/* One option the program set successfully before bind(). */
struct ms_opt {
	struct ms_opt *next;
	int level, name;
	socklen_t len;
	unsigned char val[];
};

/* Why a socket's options cannot be reproduced on a new socket. */
enum ms_uncopyable {
	MS_COPY_OK = 0,
	MS_COPY_POINTER,  /* option carries a pointer or an fd */
	MS_COPY_TOO_BIG,  /* value larger than we keep */
	MS_COPY_TOO_MANY, /* more distinct options than we keep */
	MS_COPY_NOMEM,
	MS_COPY_EPOLL, /* registered in more epoll sets than we keep */
};

/* An epoll registration of the fd, made before bind()/connect(): epoll
 * keys on the open file, so it must be made again on the new socket
 * (nginx adds upstream sockets to its epoll set before connect()). */
#define MS_MAX_EPOLL 4
struct ms_epreg {
	int epfd;
	struct epoll_event ev;
};

struct ms_fdrec {
	int domain;
	enum ms_uncopyable why;
	int bad_level, bad_name; /* the first option we could not keep */
	unsigned nopts;
	struct ms_opt *head, *tail;
	unsigned nep;
	struct ms_epreg ep[MS_MAX_EPOLL];
};

/* A slot is 0 (not tracked), a small tag (tracked, nothing recorded yet)
 * or a pointer to a struct ms_fdrec. */
typedef uintptr_t ms_slot;
#define MS_SLOT_INET   ((ms_slot)1)
#define MS_SLOT_INET6  ((ms_slot)2)
#define MS_SLOT_NOMEM  ((ms_slot)3)
#define MS_SLOT_MAXTAG ((ms_slot)3)

#define MS_CHUNK_SHIFT 12
#define MS_CHUNK_SLOTS (1u << MS_CHUNK_SHIFT)
#define MS_NCHUNKS     ((1u << (31 - MS_CHUNK_SHIFT)))
extern _Atomic(_Atomic ms_slot *) ms_chunks[MS_NCHUNKS];

static inline _Atomic ms_slot *ms_slot_of(int fd)
{
	_Atomic ms_slot *c;

	if (MS_UNLIKELY(fd < 0))
		return NULL;
	c = atomic_load_explicit(&ms_chunks[(unsigned)fd >> MS_CHUNK_SHIFT],
				 memory_order_acquire);
	return c ? &c[(unsigned)fd & (MS_CHUNK_SLOTS - 1)] : NULL;
}

/* Cheap test used on every setsockopt()/bind()/connect(). */
static inline bool ms_is_tracked(int fd)
{
	_Atomic ms_slot *s = ms_slot_of(fd);

	return s && atomic_load_explicit(s, memory_order_relaxed) != 0;
}

void ms_track_socket(int fd, int domain);
void ms_untrack(int fd); /* the fd is not a candidate (any more) */
void ms_track_setsockopt(int fd, int level, int name, const void *val,
			 socklen_t len);
void ms_track_epoll(int fd, int epfd, int op, const struct epoll_event *ev);
/* Takes the fd's slot out of the table; 0 if it was not tracked. */
ms_slot ms_track_take(int fd);
/* Puts a slot taken earlier back, unless the fd was reused meanwhile. */
void ms_track_put_back(int fd, ms_slot v);
int ms_slot_domain(ms_slot v);
void ms_slot_free(ms_slot v);

extern pthread_mutex_t ms_lock;
void ms_track_atfork_child(void);

/* ---- convert.c ---- */
enum ms_stage {
	MS_STAGE_CREATE,   /* socket(..., IPPROTO_MPTCP) failed */
	MS_STAGE_OPTION,   /* an option the program set was refused */
	MS_STAGE_UNCOPY,   /* an option we could not record */
	MS_STAGE_FLAGS,	   /* fcntl() on the new socket failed */
	MS_STAGE_REPLACE,  /* dup3() failed */
	MS_STAGE_NOTFRESH, /* not an unbound TCP socket any more */
	MS_STAGE_EPOLL,	   /* re-registering with epoll failed (after!) */
	MS_STAGE_BIND,	   /* bind() of the MPTCP socket failed */
};

struct ms_failure {
	enum ms_stage stage;
	int err;
	int level, name; /* for MS_STAGE_OPTION / MS_STAGE_UNCOPY */
	enum ms_uncopyable why;
};

/* Replaces fd by an MPTCP socket with the same options and flags, bound
 * to sa first when sa is not NULL (so that a failing bind() leaves the
 * program's socket as it was). Returns true on success; on failure fd is
 * untouched and f says why. */
bool ms_convert(int fd, ms_slot v, const struct sockaddr *sa, socklen_t len,
		struct ms_failure *f);
void ms_msg_failure(struct ms_msg *m, const struct ms_failure *f);

/* shim.c: may a failure of this option on an MPTCP socket be ignored (the
 * `tolerate` setting)? Logs the first time per option. */
bool ms_tolerated(int level, int name, int err);

/* ---- optnames.c (names are in config.h) ---- */
enum ms_uncopyable ms_opt_copyable(int level, int name, socklen_t len);

#endif
