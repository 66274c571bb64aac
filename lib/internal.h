/* SPDX-License-Identifier: MIT */
/* Internal interfaces of libmptcpshim. Nothing here is exported. */
#ifndef MPTCPSHIM_INTERNAL_H
#define MPTCPSHIM_INTERNAL_H

/* The library defines every ABI's name of a call itself (setsockopt and
 * __setsockopt64, ...): built with _TIME_BITS=64 (dpkg-buildflags on
 * armhf), glibc's headers would rename the plain ones to the time64 ones.
 * (fcntl and fcntl64: the files that define them undo
 * _FILE_OFFSET_BITS=64 too.) First in every file of the library. */
#undef _TIME_BITS

#include "config.h"
#include "text.h"

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

#define MS_LIKELY(x)   __builtin_expect(!!(x), 1)
#define MS_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* A 32-bit ABI of glibc (armhf, armel, i386): programs built with
 * _TIME_BITS=64 (Debian 13's armhf and armel packages) call the 64-bit
 * time_t entry points, __setsockopt64 and the others below, instead of the
 * plain names. lib/libmptcpshim.map lists both; tests/abi checks the list
 * against glibc's headers. */
#if defined(__TIMESIZE) && __TIMESIZE != 64
#define MS_TIME64_ABI 1
#else
#define MS_TIME64_ABI 0
#endif
/* glibc's public aliases of some of the calls (every ABI; no header
 * declares them, old binaries may call them). */
int __close(int fd);
int __connect(int fd, const struct sockaddr *sa, socklen_t len);
int __dup2(int from, int to);
int __fcntl(int fd, int cmd, ...);
#if MS_TIME64_ABI
int __setsockopt64(int fd, int level, int name, const void *val, socklen_t len);
int __getsockopt64(int fd, int level, int name, void *val, socklen_t *len);
ssize_t __sendmsg64(int fd, const struct msghdr *msg, int flags);
int __sendmmsg64(int fd, struct mmsghdr *vec, unsigned n, int flags);
int __fcntl_time64(int fd, int cmd, ...);
#endif

/* ---- real.c: the functions we interpose, as the next object has them ---- */
struct ms_real {
	int (*socket)(int, int, int);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*epoll_ctl)(int, int, int, struct epoll_event *);
	int (*close)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*fcntl64)(int, int, ...);
	int (*close_range)(unsigned, unsigned, int);
	void (*closefrom)(int);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	int (*sendmmsg)(int, struct mmsghdr *, unsigned, int);
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
	int (*fexecve)(int, char *const[], char *const[]);
	int (*posix_spawn)(pid_t *, const char *,
			   const posix_spawn_file_actions_t *,
			   const posix_spawnattr_t *, char *const[],
			   char *const[]);
	int (*posix_spawnp)(pid_t *, const char *,
			    const posix_spawn_file_actions_t *,
			    const posix_spawnattr_t *, char *const[],
			    char *const[]);
	int (*system)(const char *);
	FILE *(*popen)(const char *, const char *);
#if MS_TIME64_ABI
	int (*setsockopt64)(int, int, int, const void *, socklen_t);
	int (*getsockopt64)(int, int, int, void *, socklen_t *);
	ssize_t (*sendmsg64)(int, const struct msghdr *, int);
	int (*sendmmsg64)(int, struct mmsghdr *, unsigned, int);
	int (*fcntl_time64)(int, int, ...);
#endif
};
extern struct ms_real ms_real;
/* Finds every function in ms_real. False if the program's calls cannot
 * reach the library (it comes after libc in LD_PRELOAD): err says so. */
bool ms_real_init(char *err, size_t errlen);
/* The library's own file, as the loader found it (NULL if unknown). */
const char *ms_self_path(void);

/* ---- log.c: messages, async-signal-safe, never into a program's socket ----
 */
extern enum ms_log_level ms_log_level;

struct ms_msg {
	char buf[640];
	size_t n;
};

static inline bool ms_log_on(enum ms_log_level l)
{
	return l <= ms_log_level && ms_log_level != MS_LOG_OFF;
}
/* Remembers which file fd 2 is now: the stderr the process started with. */
void ms_log_init(void);
void ms_msg_begin(struct ms_msg *m, enum ms_log_level l);
void ms_msg_str(struct ms_msg *m, const char *s);
void ms_msg_uint(struct ms_msg *m, unsigned long v);
void ms_msg_addr(struct ms_msg *m, const struct sockaddr *sa, socklen_t len);
void ms_msg_errno(struct ms_msg *m, int e);
void ms_msg_opt(struct ms_msg *m, int level, int name);
/* Writes the line to fd 2 if fd 2 may be written (see log.c); errno and
 * the signal state are preserved. */
void ms_msg_end(struct ms_msg *m);

/* ---- usermem.c ---- */
/* Could the kernel read n bytes at p? Asks the kernel, never touches p. */
bool ms_user_readable(const void *p, size_t n);
/* How many of the n bytes at p, from the start, can be read (page by
 * page; one system call per page p .. p + n touches). */
size_t ms_user_readable_prefix(const void *p, size_t n);
/* Do the n (> 0) bytes at p lie in one page (then readable if one is)? */
bool ms_same_page(const void *p, size_t n);
/* A NUL-terminated string within max bytes; a NULL-terminated array of
 * such strings (NULL: none), at most max entries. */
bool ms_user_string(const char *s, size_t max);
bool ms_user_strings(char *const *v, size_t max);

/* ---- fdtable.c: what the library knows about each fd ---- */

/* Why a socket's options cannot be reproduced on a new socket. */
enum ms_uncopyable {
	MS_COPY_OK = 0,
	MS_COPY_POINTER,  /* option carries a pointer or an fd */
	MS_COPY_TOO_BIG,  /* value larger than we keep */
	MS_COPY_TOO_MANY, /* more distinct options than we keep */
	MS_COPY_NOMEM,
	MS_COPY_EPOLL, /* registered in more epoll sets than we keep */
};

#define MS_MAX_OPTS  24
#define MS_OPT_SPACE 512 /* bytes of option values per socket */
#define MS_MAX_EPOLL 4

struct ms_optrec {
	int level, name;
	socklen_t len;
	unsigned off; /* into ms_rec.val */
	bool null;    /* the program passed NULL: so does the replay */
};

/* An epoll registration of the fd, made before bind()/connect(): epoll
 * keys on the open file and the fd number it was made under, so it must
 * be made again on the new socket (nginx adds upstream sockets to its
 * epoll set before connect()). See epreg.c. */
struct ms_epreg {
	int epfd;
	int fd; /* the number it was made under (a dup's, maybe) */
	struct epoll_event ev;
};

/* Why a candidate is shared, and other marks: bits of a record's flags
 * and of a candidate's tag alike. */
#define MS_SHARED_FORK 0x10u /* inherited by a child (fork, posix_spawn) */
#define MS_SHARED_SENT 0x20u /* sent to another process (SCM_RIGHTS) */
#define MS_SHARED_TABLE                                                        \
	0x80u /* in the fd tables of threads that                              \
		 close_range(CLOSE_RANGE_UNSHARE) split */
#define MS_SHARED_MASK (MS_SHARED_FORK | MS_SHARED_SENT | MS_SHARED_TABLE)
#define MS_REC_HANDLER                                                         \
	0x40u /* changed where the library could not follow                    \
		 (a signal handler, a raw system call) */
#define MS_TAG_FLAGS (MS_SHARED_MASK | MS_REC_HANDLER)

/* What the library remembers of a candidate beyond its family: the
 * options and epoll registrations to replay, and how many fds of this
 * process refer to it. */
struct ms_rec {
	_Atomic unsigned lock;
	_Atomic unsigned flags;	    /* MS_SHARED_*, MS_REC_HANDLER */
	_Atomic uint32_t next_free; /* pool link (index + 1) */
	uint32_t index;
	unsigned refs; /* fds of this process pointing here */
	int domain;
	bool done; /* bound or connected: not a candidate any more */
	enum ms_uncopyable why;
	int bad_level, bad_name; /* the first option we could not keep */
	unsigned nopts, used;
	struct ms_optrec opt[MS_MAX_OPTS];
	unsigned nep;
	struct ms_epreg ep[MS_MAX_EPOLL];
	unsigned char val[MS_OPT_SPACE];
} __attribute__((aligned(64)));

/*
 * A slot (one per fd number) is 0 (nothing known), a tag, or a pointer
 * to a struct ms_rec (64-byte aligned, so its low 6 bits are 0).
 * A tag: kind in bits 0-2 (never 0), AF_INET6 in bit 3, MS_TAG_FLAGS.
 */
typedef uintptr_t ms_slot;
#define MS_KIND_MASK   ((ms_slot)7)
#define MS_KIND_CAND   ((ms_slot)1) /* unbound TCP socket from socket() */
#define MS_KIND_NATIVE ((ms_slot)2) /* MPTCP socket the program made */
#define MS_KIND_CONV   ((ms_slot)3) /* a socket the library converted */
#define MS_KIND_NOMEM  ((ms_slot)4) /* candidate without a record: no memory */
#define MS_KIND_BOUND  ((ms_slot)5) /* bound, not listed, before connect() */
#define MS_TAG_INET6   ((ms_slot)8)

static inline bool ms_slot_is_rec(ms_slot v)
{
	return v != 0 && (v & 63) == 0;
}
static inline ms_slot ms_slot_kind(ms_slot v)
{
	return v & MS_KIND_MASK;
}
static inline int ms_tag_domain(ms_slot v)
{
	return (v & MS_TAG_INET6) ? AF_INET6 : AF_INET;
}

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

/* The one test on every hot path: does the library know this fd? */
static inline ms_slot ms_peek(int fd)
{
	_Atomic ms_slot *s = ms_slot_of(fd);

	return s ? atomic_load_explicit(s, memory_order_acquire) : 0;
}

/* Is this thread already inside the library (then a signal handler
 * interrupted it there, and nothing may wait for a lock)? ms_enter()
 * returns false then; otherwise it marks the thread until ms_leave(). */
bool ms_enter(void);
void ms_leave(void);
/* child.c: is this a vfork() child, or another process that shares the
 * memory of the table's owner? Then it must change nothing there and take
 * no lock. A system call: for the paths that would change the table only.
 * A child of _Fork() or a raw fork takes its copy of the table over on
 * the way (as fork()'s child does: its inherited candidates are shared). */
bool ms_vfork_child(void);
/* In such a child: may the owner's fd of this number be the same open
 * file (a kcmp() system call; true if it cannot tell)? */
bool ms_owner_has_file(int fd);
void ms_set_owner(void); /* at load, and in fork()'s child */
void ms_spin(unsigned *n);

/* A slot for fd, allocating its chunk (mmap) if needed; NULL if that fails. */
_Atomic ms_slot *ms_slot_get(int fd);

enum ms_hold {
	MS_HOLD_NONE,	/* not a candidate: h.v is 0 or a tag */
	MS_HOLD_LOCKED, /* h.rec is fd's record, locked */
	MS_HOLD_NOMEM,	/* a candidate, but no record could be had */
};
struct ms_held {
	_Atomic ms_slot *s;
	ms_slot v;
	struct ms_rec *rec;
};
/* Locks fd's record, making one from a candidate's tag first; waits while
 * another thread holds it. Call between ms_enter() and ms_leave(). */
enum ms_hold ms_hold(int fd, struct ms_held *h);
void ms_held_unlock(struct ms_held *h);
/* Bound or connected as TCP: no longer a candidate. Unlocks. */
void ms_held_done(struct ms_held *h);
/* Sets the slot (e.g. to MS_KIND_CONV, or 0) and drops the record. */
void ms_held_set(struct ms_held *h, ms_slot v);

/* Without locks: */
/* ORs bits into fd's record or candidate tag. */
void ms_taint(int fd, unsigned bits);
/* For an fd number the library just learnt about (socket(), dup()...). */
void ms_slot_store(int fd, ms_slot v);

/* close(): forget fd (waiting while another thread converts it). */
void ms_forget(int fd);
/* The dup family: makes the call, then gives the new fd what `from` has.
 * to: the target number for dup2/dup3, -1 when the kernel picks it. */
int ms_dup_call(int from, int to, int (*call)(int, int, int, int), int a1,
		int a2);

/* Marks every candidate as shared (why: MS_SHARED_*); with
 * inheritable_only, only those without FD_CLOEXEC. */
void ms_mark_all_shared(unsigned why, bool inheritable_only);
/* In the child of fork(): frees the locks held by the parent's threads
 * and marks every candidate shared; ms_after_fork_child() also leaves
 * the library. */
void ms_table_adopt(void);
void ms_after_fork_child(void);

void ms_track_setsockopt(struct ms_rec *rec, int level, int name,
			 const void *val, socklen_t len);
void ms_track_epoll(struct ms_rec *rec, int epfd, int fd, int op,
		    const struct epoll_event *ev);

/* Calls fn(fd, arg) for every fd the process has open (/proc/self/fd;
 * without it, each number below the fd limit, at most 65536). */
void ms_each_open_fd(void (*fn)(int fd, void *arg), void *arg);
/* Calls fn(fd, slot, arg) for every fd whose slot is not 0 (no locks);
 * errno is left as it was. */
void ms_table_walk(void (*fn)(int fd, ms_slot v, void *arg), void *arg);
/* 1 + the highest fd that ever had a slot (0: none). */
extern _Atomic unsigned ms_slots_end;
/* No fd from lo up ever had a slot: a range there is none of the
 * library's business (one load). */
static inline bool ms_table_beyond(unsigned lo)
{
	return lo >= atomic_load_explicit(&ms_slots_end, memory_order_relaxed);
}
/* The same for the fds lo..hi only (fn may be NULL); how many it found.
 * Stops at the highest fd that ever had a slot: no cost for the fds the
 * library never saw. */
unsigned ms_table_walk_range(unsigned lo, unsigned hi,
			     void (*fn)(int fd, ms_slot v, void *arg),
			     void *arg);

/* fork() and posix_spawn() hold conversions back while fds are copied, so
 * that no conversion is half done in the child: */
/* A thread of this process split the fd table (close_range() with
 * CLOSE_RANGE_UNSHARE while other threads shared it): an fd number may
 * name different sockets in different threads, so every candidate made
 * from then on is shared (fdops.c). */
extern _Atomic bool ms_tables_split;
void ms_conversions_pause(void);
void ms_conversions_resume(void);
void ms_conversions_reset(void); /* in the child */
void ms_conversion_enter(void);
void ms_conversion_leave(void);

/* The library's own fds exist between begin and end, and dup2() and
 * dup3() of the program run between numbered begin and end: never both
 * at once (see fdtable.c). */
void ms_own_fds_begin(void);
void ms_own_fds_end(void);
void ms_numbered_begin(void);
void ms_numbered_end(void);

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
	MS_STAGE_SHARED,   /* another fd or process refers to the socket */
	MS_STAGE_HANDLER,  /* changed from a signal handler mid-update */
	MS_STAGE_NOMEM,	   /* no record could be kept for the socket */
	MS_STAGE_BOUND,	   /* connect() of a socket bound before */
	MS_STAGE_EPREG,	   /* an epoll registration cannot be made again */
};

/* Why an epoll registration cannot be made again (epreg.c). */
enum ms_epwhy {
	MS_EP_OTHER_FD = 1, /* made under another fd number */
	MS_EP_DISARMED,	    /* EPOLLONESHOT, fired and not re-armed */
	MS_EP_UNKNOWN,	    /* its state cannot be read (no /proc) */
};

struct ms_failure {
	enum ms_stage stage;
	int err;
	int level, name; /* for MS_STAGE_OPTION / MS_STAGE_UNCOPY */
	enum ms_uncopyable why;
	unsigned shared;  /* MS_SHARED_* for MS_STAGE_SHARED; 0: a dup() */
	enum ms_epwhy ep; /* for MS_STAGE_EPREG, with the fd number: */
	int regfd;
};

/* Replaces fd by an MPTCP socket with the options, epoll registrations
 * and flags its (locked) record has, bound to sa first when sa is not
 * NULL (so that a failing bind() leaves the program's socket as it was).
 * Returns true on success; on failure fd is untouched and f says why. */
bool ms_convert(int fd, struct ms_rec *rec, const struct sockaddr *sa,
		socklen_t len, struct ms_failure *f);
void ms_msg_failure(struct ms_msg *m, const struct ms_failure *f);
/* Is the open file at fd an unbound, unconnected TCP socket? */
bool ms_still_fresh(int fd, int domain);

/* ---- epreg.c: epoll registrations made again on the new socket ---- */
struct ms_eplan {
	unsigned n;
	int epfd[MS_MAX_EPOLL];
	struct epoll_event ev[MS_MAX_EPOLL];
};
/* Where each of the record's epoll registrations is to be made again on
 * fd's new socket (fd's file is still the old one, of inode ino): those
 * the kernel still has. False, with f saying why, if one of them cannot
 * be made as it is. May call EPOLL_CTL_MOD with the same events: only
 * once the conversion is certain. */
bool ms_epoll_plan(int fd, unsigned long ino, const struct ms_rec *rec,
		   struct ms_eplan *p, struct ms_failure *f);
/* After the swap: makes them (a failure is put in f, MS_STAGE_EPOLL). */
void ms_epoll_replay(int fd, const struct ms_eplan *p, struct ms_failure *f);
void ms_msg_epreg(struct ms_msg *m, const struct ms_failure *f);

/* ---- shim.c ---- */
/* May a failure of this option on an MPTCP socket be ignored (the
 * `tolerate` setting)? Logs the first time per option. */
bool ms_tolerated(int level, int name, int err);
/* Called by the fd functions when the configuration is active. */
extern bool ms_track_on;
/* Every interposed call first makes sure the settings are read (another
 * library's constructor may call before ours ran): one load and a branch. */
extern atomic_bool ms_ready;
void ms_init_slow(void);
static inline void ms_ensure_init(void)
{
	if (MS_UNLIKELY(!atomic_load_explicit(&ms_ready, memory_order_acquire)))
		ms_init_slow();
}

/* ---- publish.c: what `mptcpshim status` reads of a running process ---- */
void ms_publish_settings(const struct ms_config *cfg, const char *config_path,
			 const char *error);
void ms_count_converted(void);
void ms_publish_forked(void); /* in a child of fork() */
void ms_count_stayed_tcp(void);

/* ---- exec.c: converted listeners that survive execve() ---- */
/* At load: the settings to hand on, and the fds an earlier image of this
 * process converted (MPTCPSHIM_INHERITED). */
void ms_exec_init(void);
/* The exec family: path is a file name to look up with MS_EXECVPE; fd is
 * fexecve()'s. */
enum ms_exec { MS_EXECVE, MS_EXECVPE, MS_FEXECVE };
int ms_exec(enum ms_exec how, const char *path, int fd, char *const argv[],
	    char *const envp[]);
int ms_spawn(bool search, pid_t *pid, const char *path,
	     const posix_spawn_file_actions_t *fa,
	     const posix_spawnattr_t *attr, char *const argv[],
	     char *const envp[]);

/* ---- optnames.c (names are in config.h) ---- */
enum ms_uncopyable ms_opt_copyable(int level, int name, socklen_t len);

#endif
