/* SPDX-License-Identifier: MIT */
/*
 * What the library knows about each fd, kept exact: close(), the dup
 * family, fork(), posix_spawn() and SCM_RIGHTS are interposed, so a record
 * never outlives its socket and a socket with a second reference is known.
 *
 * The table is indexed by fd number: a static array of chunk pointers
 * (untouched pages of it cost nothing) and chunks of MS_CHUNK_SLOTS slots,
 * mmap()ed on first use. Records come from a pool of mmap()ed arenas with
 * a lock-free free list, and are never unmapped, so a stale pointer is
 * always safe to read. Nothing here calls malloc.
 *
 * Each record has its own lock. A thread that is already inside the
 * library (ms_enter() fails: a signal handler interrupted it there) never
 * waits for one: the caller passes the call through and marks the socket
 * as changed behind the library's back, so that it stays TCP.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

_Atomic(_Atomic ms_slot *) ms_chunks[MS_NCHUNKS];
/* 1 + the highest fd ever given a slot (0: none): walks stop there */
_Atomic unsigned ms_slots_end;

static __thread unsigned depth __attribute__((tls_model("initial-exec")));

bool ms_enter(void)
{
	if (depth)
		return false;
	depth = 1;
	return true;
}

void ms_leave(void)
{
	depth = 0;
}

static void *map_zeroed(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

_Atomic ms_slot *ms_slot_get(int fd)
{
	_Atomic ms_slot *s = ms_slot_of(fd);
	_Atomic ms_slot *fresh, *expected = NULL;
	unsigned idx, end;

	if (fd < 0)
		return NULL;
	end = atomic_load_explicit(&ms_slots_end, memory_order_relaxed);
	while (end <= (unsigned)fd &&
	       !atomic_compare_exchange_weak(&ms_slots_end, &end,
					     (unsigned)fd + 1))
		;
	if (s)
		return s;
	idx = (unsigned)fd >> MS_CHUNK_SHIFT;
	fresh = map_zeroed(MS_CHUNK_SLOTS * sizeof(*fresh));
	if (!fresh)
		return NULL;
	if (!atomic_compare_exchange_strong(&ms_chunks[idx], &expected, fresh))
		munmap(fresh, MS_CHUNK_SLOTS * sizeof(*fresh));
	return ms_slot_of(fd);
}

/* ---- the record pool ---- */

#define ARENA_RECS 64u
#define MAX_ARENAS 4096u
static struct ms_rec *_Atomic arenas[MAX_ARENAS];
static _Atomic unsigned narenas;
/* (ABA tag << 32) | (index + 1) of the first free record; 0: none */
static _Atomic uint64_t free_head;

static struct ms_rec *rec_at(uint32_t index)
{
	return &atomic_load(&arenas[index / ARENA_RECS])[index % ARENA_RECS];
}

static void push_free(struct ms_rec *r)
{
	uint64_t h = atomic_load(&free_head), n;

	do {
		atomic_store_explicit(&r->next_free, (uint32_t)h,
				      memory_order_relaxed);
		n = (((h >> 32) + 1) << 32) | (r->index + 1);
	} while (!atomic_compare_exchange_weak(&free_head, &h, n));
}

static struct ms_rec *pop_free(void)
{
	uint64_t h = atomic_load(&free_head), n;
	struct ms_rec *r;

	do {
		if ((uint32_t)h == 0)
			return NULL;
		r = rec_at((uint32_t)h - 1);
		/* r may be taken and reused meanwhile: the tag makes the
		 * exchange fail then. */
		n = (((h >> 32) + 1) << 32) |
		    atomic_load_explicit(&r->next_free, memory_order_relaxed);
	} while (!atomic_compare_exchange_weak(&free_head, &h, n));
	return r;
}

static bool grow(void)
{
	unsigned n = atomic_load(&narenas);
	struct ms_rec *a;

	do {
		if (n >= MAX_ARENAS)
			return false;
	} while (!atomic_compare_exchange_weak(&narenas, &n, n + 1));
	a = map_zeroed(ARENA_RECS * sizeof(*a));
	if (!a)
		return false; /* arena n stays a hole; walks skip it */
	for (unsigned i = 0; i < ARENA_RECS; i++)
		a[i].index = n * ARENA_RECS + i;
	atomic_store(&arenas[n], a);
	for (unsigned i = 0; i < ARENA_RECS; i++)
		push_free(&a[i]);
	return true;
}

/* The CPU's spin-wait hint, where it has one. */
static inline void ms_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) ||                                                  \
	(defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

void ms_spin(unsigned *n)
{
	if (++*n > 64)
		sched_yield();
	else
		ms_cpu_relax();
}

static void rec_lock(struct ms_rec *r)
{
	unsigned cur = 0, n = 0;

	while (!atomic_compare_exchange_weak_explicit(&r->lock, &cur, 1,
						      memory_order_acquire,
						      memory_order_relaxed)) {
		cur = 0;
		ms_spin(&n);
	}
}

static bool rec_trylock(struct ms_rec *r)
{
	unsigned cur = 0;

	return atomic_compare_exchange_strong_explicit(
		&r->lock, &cur, 1, memory_order_acquire, memory_order_relaxed);
}

static void rec_unlock(struct ms_rec *r)
{
	atomic_store_explicit(&r->lock, 0, memory_order_release);
}

/* A locked, empty record, or NULL when memory is short. */
static struct ms_rec *rec_alloc(int domain, unsigned flags)
{
	struct ms_rec *r = pop_free();

	if (!r && grow())
		r = pop_free();
	if (!r)
		return NULL;
	/* A thread holding a stale pointer may hold the lock for a moment. */
	rec_lock(r);
	atomic_store(&r->flags, flags);
	r->refs = 1;
	r->domain = domain;
	r->done = false;
	r->why = MS_COPY_OK;
	r->bad_level = r->bad_name = 0;
	r->nopts = r->used = r->nep = 0;
	return r;
}

/* Back to the pool; called with the lock held, returns with it free. */
static void rec_free(struct ms_rec *r)
{
	r->refs = 0;
	push_free(r);
	rec_unlock(r);
}

/* ---- holding an fd's record ---- */

enum ms_hold ms_hold(int fd, struct ms_held *h)
{
	for (;;) {
		struct ms_rec *rec;
		ms_slot v;

		h->s = ms_slot_of(fd);
		h->rec = NULL;
		h->v = v = h->s ? atomic_load(h->s) : 0;
		if (v == 0)
			return MS_HOLD_NONE;
		if (!ms_slot_is_rec(v)) {
			if (ms_slot_kind(v) == MS_KIND_NOMEM)
				return MS_HOLD_NOMEM;
			if (ms_slot_kind(v) != MS_KIND_CAND)
				return MS_HOLD_NONE;
			/* A candidate's first change: it gets a record. */
			rec = rec_alloc(ms_tag_domain(v),
					(unsigned)(v & MS_TAG_FLAGS));
			if (!rec) {
				ms_slot n = (v & ~MS_KIND_MASK) | MS_KIND_NOMEM;

				if (atomic_compare_exchange_strong(h->s, &v, n))
					h->v = n;
				continue;
			}
			if (!atomic_compare_exchange_strong(h->s, &v,
							    (ms_slot)rec)) {
				rec_free(rec);
				continue;
			}
			h->v = (ms_slot)rec;
			h->rec = rec;
			return MS_HOLD_LOCKED;
		}
		rec = (struct ms_rec *)v;
		rec_lock(rec);
		if (atomic_load(h->s) != v) { /* closed or replaced meanwhile */
			rec_unlock(rec);
			continue;
		}
		h->rec = rec;
		return MS_HOLD_LOCKED;
	}
}

void ms_held_unlock(struct ms_held *h)
{
	if (h->rec)
		rec_unlock(h->rec);
}

/* Drops the slot's reference to its (locked) record and unlocks it. */
static void drop_ref(struct ms_rec *r)
{
	if (--r->refs == 0)
		rec_free(r);
	else
		rec_unlock(r);
}

void ms_held_set(struct ms_held *h, ms_slot v)
{
	atomic_store(h->s, v);
	if (h->rec)
		drop_ref(h->rec);
}

void ms_held_done(struct ms_held *h)
{
	/* Bound or connected: not a candidate any more. With other fds on
	 * the socket the record stays, for their reference count. */
	if (h->rec && h->rec->refs > 1) {
		h->rec->done = true;
		rec_unlock(h->rec);
		return;
	}
	ms_held_set(h, 0);
}

/* ---- without locks ---- */

void ms_taint(int fd, unsigned bits)
{
	_Atomic ms_slot *s = ms_slot_of(fd);
	ms_slot v = s ? atomic_load(s) : 0;

	for (;;) {
		if (ms_slot_is_rec(v)) {
			atomic_fetch_or(&((struct ms_rec *)v)->flags, bits);
			return;
		}
		if (v == 0 || ms_slot_kind(v) != MS_KIND_CAND ||
		    atomic_compare_exchange_weak(s, &v, v | bits))
			return;
	}
}

/* A slot lost its reference to r: its fd was closed where the library
 * could not follow (inside the C library, as fclose() of an fdopen()ed
 * socket does; a raw system call; a signal handler while the library was
 * busy), and the number has been given out again or closed since. The
 * reference is dropped, so that the record does not outlive its last fd
 * (270,000 fclose(fdopen(s)) cycles kept 270,000 records). Whatever else
 * still refers to the record stays TCP: what happened to the socket in
 * between is unknown. A thread already inside the library (a signal
 * handler that interrupted it) does not wait for the lock: if the lock
 * is busy it only marks the record, which is then kept (as before). */
static void drop_stale(struct ms_rec *r)
{
	bool entered = ms_enter();

	if (entered)
		rec_lock(r);
	else if (!rec_trylock(r)) {
		atomic_fetch_or(&r->flags, MS_REC_HANDLER);
		return;
	}
	if (r->refs > 1)
		atomic_fetch_or(&r->flags, MS_REC_HANDLER);
	drop_ref(r);
	if (entered)
		ms_leave();
}

void ms_slot_store(int fd, ms_slot v)
{
	_Atomic ms_slot *s = v ? ms_slot_get(fd) : ms_slot_of(fd);
	ms_slot old;

	if (!s)
		return;
	old = atomic_exchange(s, v);
	/* A record still here, for a number the kernel has just given out
	 * (socket(), dup()) or that the library forgets: see drop_stale(). */
	if (ms_slot_is_rec(old) && old != v)
		drop_stale((struct ms_rec *)old);
}

/* ---- close and dup ---- */

void ms_forget(int fd)
{
	struct ms_held h;

	if (ms_vfork_child())
		return; /* the parent's fd is still open */
	if (!ms_enter()) {
		ms_slot_store(fd, 0);
		return;
	}
	/* Waits while another thread converts this socket: the close then
	 * closes the converted socket, never a number reused meanwhile. */
	for (;;) {
		if (ms_hold(fd, &h) == MS_HOLD_LOCKED) {
			ms_held_set(&h, 0);
			break;
		}
		if (h.v == 0 || atomic_compare_exchange_strong(h.s, &h.v, 0))
			break; /* nothing, or a tag: gone */
	}
	ms_leave();
}

/* Locks the record of `to` too, without waiting (the other order may be
 * held by another thread); false: busy, retry. */
static bool hold_second(int to, struct ms_held *b, const struct ms_rec *first)
{
	ms_slot v;

	b->s = ms_slot_of(to);
	b->rec = NULL;
	b->v = v = b->s ? atomic_load(b->s) : 0;
	if (!ms_slot_is_rec(v) || (const struct ms_rec *)v == first)
		return true; /* nothing to lock */
	if (!rec_trylock((struct ms_rec *)v))
		return false;
	if (atomic_load(b->s) != v) {
		rec_unlock((struct ms_rec *)v);
		return false;
	}
	b->rec = (struct ms_rec *)v;
	return true;
}

int ms_dup_call(int from, int to, int (*call)(int, int, int, int), int arg1,
		int arg2)
{
	struct ms_held a, b = {0};
	unsigned n = 0;
	int rc, e;

	if (ms_vfork_child()) {
		/* The copy is the child's (it may survive its exec); the
		 * table is the parent's: only mark the socket shared. */
		rc = call(from, to, arg1, arg2);
		if (rc >= 0 && rc != from) {
			e = errno;
			ms_taint(from, MS_SHARED_FORK);
			errno = e;
		}
		return rc;
	}
	if (!ms_enter()) {
		/* In a signal handler that interrupted the library: the
		 * count cannot be kept, so the socket stays TCP. */
		rc = call(from, to, arg1, arg2);
		if (rc >= 0 && rc != from) {
			e = errno;
			ms_taint(from, MS_REC_HANDLER);
			ms_slot_store(rc, 0);
			errno = e;
		}
		return rc;
	}
	for (;;) {
		if (ms_hold(from, &a) != MS_HOLD_LOCKED)
			a.rec = NULL;
		if (to < 0 || hold_second(to, &b, a.rec))
			break;
		ms_held_unlock(&a);
		ms_spin(&n);
	}
	rc = call(from, to, arg1, arg2);
	e = errno;
	if (rc >= 0 && rc != from) {
		ms_slot v = a.rec ? (ms_slot)a.rec : a.v;

		if (b.rec) { /* the target's socket was closed by the call */
			atomic_store(b.s, 0);
			drop_ref(b.rec);
			b.rec = NULL;
		}
		if (to < 0 ||
		    v != b.v) { /* dup2() within one socket: no change */
			_Atomic ms_slot *rs = ms_slot_of(rc);

			/* A stale slot of the same record (a copy closed
			 * inside libc) already counts as a reference. */
			if (a.rec && (!rs || atomic_load(rs) != v))
				a.rec->refs++;
			ms_slot_store(rc, v);
		}
	}
	if (b.rec)
		rec_unlock(b.rec);
	ms_held_unlock(&a);
	ms_leave();
	errno = e;
	return rc;
}

/* ---- marking for fork(), posix_spawn() and SCM_RIGHTS ---- */

struct mark_arg {
	unsigned why;
	bool inheritable_only;
};

static void mark_one(int fd, ms_slot v, void *p)
{
	const struct mark_arg *m = p;

	if (!ms_slot_is_rec(v) && ms_slot_kind(v) != MS_KIND_CAND)
		return;
	if (m->inheritable_only) {
		int fl = ms_real.fcntl(fd, F_GETFD);

		if (fl < 0 || (fl & FD_CLOEXEC))
			return;
	}
	ms_taint(fd, m->why);
}

void ms_mark_all_shared(unsigned why, bool inheritable_only)
{
	struct mark_arg m = {why, inheritable_only};

	ms_table_walk(mark_one, &m);
}

/* ---- the library's own fds ---- */

/* While the library holds an fd of its own (the conversion's new socket,
 * a /proc file), no dup2() or dup3() of the program runs: the number
 * socket() or open() gave the library was free, so a thread of the
 * program may be about to put something there (close(L); dup2(x, L)),
 * and would close the library's fd behind its back, or the library would
 * then close the program's. Both sides announce themselves first and then
 * look at the other (sequentially consistent), so at least one of them
 * sees the other: a dup2() then backs off and waits (a few system calls),
 * and the library waits for the dup2() calls already made to return. */
static _Atomic unsigned own_fds, numbered;
/* this thread's shares: a signal handler that interrupted it never waits
 * for itself */
static __thread unsigned own_here __attribute__((tls_model("initial-exec")));
static __thread unsigned numbered_here
	__attribute__((tls_model("initial-exec")));

void ms_own_fds_begin(void)
{
	unsigned n = 0;
	bool child_checked = false;

	own_here++;
	atomic_fetch_add(&own_fds, 1);
	while (atomic_load(&numbered) > numbered_here) {
		/* A child of fork() without atfork handlers (_Fork(), a
		 * raw system call) may have a count of its parent's other
		 * threads, which it does not have: nothing to wait for. */
		if (!child_checked) {
			child_checked = true;
			if (ms_vfork_child())
				return;
		}
		ms_spin(&n);
	}
}

void ms_own_fds_end(void)
{
	atomic_fetch_sub(&own_fds, 1);
	own_here--;
}

void ms_numbered_begin(void)
{
	unsigned n = 0;

	for (;;) {
		numbered_here++;
		atomic_fetch_add(&numbered, 1);
		/* No wait inside the library's own window, nor in a handler
		 * that interrupted this thread's dup2() (the library waits
		 * for that one already, and has made no fd yet). */
		if (MS_LIKELY(atomic_load(&own_fds) == 0) || own_here ||
		    numbered_here > 1)
			return;
		atomic_fetch_sub(&numbered, 1);
		numbered_here--;
		/* a child of fork() or vfork() has its own table */
		if (ms_vfork_child()) {
			numbered_here++;
			atomic_fetch_add(&numbered, 1);
			return;
		}
		while (atomic_load(&own_fds) != 0)
			ms_spin(&n);
	}
}

void ms_numbered_end(void)
{
	atomic_fetch_sub(&numbered, 1);
	numbered_here--;
}

void ms_table_adopt(void)
{
	/* The threads that held record locks are in the parent. */
	unsigned n = atomic_load(&narenas);

	for (unsigned i = 0; i < n && i < MAX_ARENAS; i++) {
		struct ms_rec *a = atomic_load(&arenas[i]);

		for (unsigned j = 0; a && j < ARENA_RECS; j++)
			atomic_store(&a[j].lock, 0);
	}
	/* Their shares of the counts of the library's own fds and of dup2()
	 * calls under way too (this thread keeps its own: a handler that
	 * interrupted it in the parent may have forked). */
	atomic_store(&own_fds, own_here);
	atomic_store(&numbered, numbered_here);
	ms_mark_all_shared(MS_SHARED_FORK, false);
}

void ms_after_fork_child(void)
{
	ms_set_owner();
	depth = 0;
	ms_table_adopt();
}

/* ---- conversions and fork() ---- */

static _Atomic unsigned forking, converting;

void ms_conversions_pause(void)
{
	unsigned n = 0;

	atomic_fetch_add(&forking, 1);
	while (atomic_load(&converting))
		ms_spin(&n);
}

void ms_conversions_resume(void)
{
	atomic_fetch_sub(&forking, 1);
}

void ms_conversions_reset(void)
{
	atomic_store(&forking, 0);
	atomic_store(&converting, 0);
	atomic_store(&own_fds, 0);
	atomic_store(&numbered, 0);
	own_here = numbered_here = 0;
}

void ms_conversion_enter(void)
{
	unsigned n = 0;

	for (;;) {
		while (atomic_load(&forking))
			ms_spin(&n);
		atomic_fetch_add(&converting, 1);
		if (!atomic_load(&forking))
			return;
		atomic_fetch_sub(&converting, 1);
	}
}

void ms_conversion_leave(void)
{
	atomic_fetch_sub(&converting, 1);
}

/* ---- walks ---- */

unsigned ms_table_walk_range(unsigned lo, unsigned hi,
			     void (*fn)(int fd, ms_slot v, void *arg),
			     void *arg)
{
	unsigned end = atomic_load(&ms_slots_end), n = 0;
	int e = errno; /* fn's system calls fail on fds gone meanwhile */

	if (end == 0 || lo >= end)
		return 0;
	if (hi > end - 1)
		hi = end - 1;
	for (unsigned fd = lo; fd <= hi;) {
		_Atomic ms_slot *chunk =
			atomic_load(&ms_chunks[fd >> MS_CHUNK_SHIFT]);
		unsigned last = fd | (MS_CHUNK_SLOTS - 1);

		if (last > hi)
			last = hi;
		for (; chunk && fd <= last; fd++) {
			ms_slot v = atomic_load_explicit(
				&chunk[fd & (MS_CHUNK_SLOTS - 1)],
				memory_order_relaxed);

			if (v) {
				n++;
				if (fn)
					fn((int)fd, v, arg);
			}
		}
		fd = last + 1;
		if (fd == 0)
			break; /* wrapped: hi was UINT_MAX - 1 or more */
	}
	errno = e;
	return n;
}

void ms_table_walk(void (*fn)(int fd, ms_slot v, void *arg), void *arg)
{
	ms_table_walk_range(0, UINT_MAX, fn, arg);
}

/* ---- what a record keeps ---- */

static void mark_uncopyable(struct ms_rec *rec, enum ms_uncopyable why,
			    int level, int name)
{
	if (rec->why != MS_COPY_OK)
		return; /* keep the first reason */
	rec->why = why;
	rec->bad_level = level;
	rec->bad_name = name;
}

/* Has the kernel read the first byte of a value (at a non-NULL pointer,
 * len > 0) when it accepted an option of a TCP socket at this level?
 * Where it has, the byte's page is readable and needs no probe (nginx's
 * options cost no system call). From the kernel's setsockopt paths:
 * - SOL_SOCKET (sk_setsockopt): an int, or EINVAL below 4 bytes; only
 *   SO_BINDTODEVICE reads min(len, 15) bytes;
 * - SOL_TCP (do_tcp_setsockopt): an int, or EINVAL below 4 bytes; names
 *   (TCP_CONGESTION, TCP_ULP) and structs (TCP_MD5SIG...) are read;
 * - SOL_IP (do_ip_setsockopt): an int, one byte below 4 bytes; the
 *   others (IP_OPTIONS, memberships, policies) copy their value;
 * - SOL_IPV6 (do_ipv6_setsockopt) reads an int first, but takes a value
 *   shorter than an int as 0 without reading it: IPV6_DONTFRAG,
 *   IPV6_AUTOFLOWLABEL, IPV6_RECVFRAGSIZE... of one byte at an unreadable
 *   address succeed. Those, and any other level (a cgroup BPF program
 *   may accept one), are probed. */
static bool kernel_read_first_byte(int level, socklen_t len)
{
	switch (level) {
	case SOL_SOCKET:
	case SOL_TCP:
	case SOL_IP:
		return true;
	case SOL_IPV6:
		return len >= sizeof(int);
	default:
		return false;
	}
}

void ms_track_setsockopt(struct ms_rec *rec, int level, int name,
			 const void *val, socklen_t len)
{
	enum ms_uncopyable why = ms_opt_copyable(level, name, len);
	struct ms_optrec *o = NULL;

	if (why != MS_COPY_OK) {
		mark_uncopyable(rec, why, level, name);
		return;
	}
	for (unsigned i = 0; i < rec->nopts; i++)
		if (rec->opt[i].level == level && rec->opt[i].name == name)
			o = &rec->opt[i];
	if (!o && rec->nopts >= MS_MAX_OPTS) {
		mark_uncopyable(rec, MS_COPY_TOO_MANY, level, name);
		return;
	}
	if (!o || o->len < len) {
		/* A new value that does not fit where the old one was goes
		 * to the end (the old bytes stay unused). */
		if (len > MS_OPT_SPACE - rec->used) {
			mark_uncopyable(rec, MS_COPY_TOO_BIG, level, name);
			return;
		}
		if (!o) {
			o = &rec->opt[rec->nopts++];
			o->level = level;
			o->name = name;
		}
		o->off = rec->used;
		rec->used += len;
	}
	o->len = len;
	/* NULL is replayed as NULL: the kernel takes it as 0 for IPv6
	 * options (setsockopt(IPV6_V6ONLY, NULL, 4) succeeds), and the
	 * replay must see what the program's call saw. */
	o->null = val == NULL;
	if (o->null || len == 0)
		return;
	if (kernel_read_first_byte(level, len) && ms_same_page(val, len)) {
		/* the kernel read its first byte: the page is readable */
		memcpy(rec->val + o->off, val, len);
	} else {
		/* The kernel reads what the option needs, not always len
		 * bytes (an int of a longer buffer, one byte of some IPv4
		 * options, nothing of an IPv6 one shorter than an int):
		 * copy what can be read, zeros after it, which the
		 * replay's kernel does not read either. */
		size_t n = ms_user_readable_prefix(val, len);

		memcpy(rec->val + o->off, val, n);
		memset(rec->val + o->off + n, 0, len - n);
	}
}

void ms_track_epoll(struct ms_rec *rec, int epfd, int fd, int op,
		    const struct epoll_event *ev)
{
	unsigned i;

	/* the kernel's key: a dup's registration is another one */
	for (i = 0;
	     i < rec->nep && (rec->ep[i].epfd != epfd || rec->ep[i].fd != fd);
	     i++)
		;
	if (op == EPOLL_CTL_DEL) {
		if (i < rec->nep)
			rec->ep[i] = rec->ep[--rec->nep];
	} else if (i < rec->nep) {
		rec->ep[i].ev = *ev;
	} else if (rec->nep < MS_MAX_EPOLL) {
		rec->ep[rec->nep].epfd = epfd;
		rec->ep[rec->nep].fd = fd;
		rec->ep[rec->nep].ev = *ev;
		rec->nep++;
	} else {
		mark_uncopyable(rec, MS_COPY_EPOLL, 0, 0);
	}
}
