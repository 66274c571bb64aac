/* SPDX-License-Identifier: MIT */
/*
 * Per-fd memory of TCP sockets between socket() and bind()/connect().
 *
 * The table is indexed by fd number: a static array of chunk pointers
 * (untouched pages of it cost no memory) and chunks of MS_CHUNK_SLOTS
 * slots allocated on first use. Marking a new socket and testing an fd are
 * lock-free; changing a slot that already holds something takes ms_lock,
 * which only sockets the program is still setting up ever reach.
 *
 * close() is not interposed (it is a hot path), so a slot can outlive its
 * socket. That is harmless: socket() overwrites the slot of every fd it
 * returns, and bind() checks with the kernel that the fd is still an
 * unbound TCP socket before converting it.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

_Atomic(_Atomic ms_slot *) ms_chunks[MS_NCHUNKS];
pthread_mutex_t ms_lock = PTHREAD_MUTEX_INITIALIZER;

#define MS_MAX_OPTS 64

static bool slot_is_rec(ms_slot v)
{
	return v > MS_SLOT_MAXTAG;
}

int ms_slot_domain(ms_slot v)
{
	if (slot_is_rec(v))
		return ((const struct ms_fdrec *)v)->domain;
	return v == MS_SLOT_INET6 ? AF_INET6 : AF_INET;
}

void ms_slot_free(ms_slot v)
{
	struct ms_fdrec *rec;
	struct ms_opt *o, *next;

	if (!slot_is_rec(v))
		return;
	rec = (struct ms_fdrec *)v;
	for (o = rec->head; o; o = next) {
		next = o->next;
		free(o);
	}
	free(rec);
}

static _Atomic ms_slot *slot_alloc(int fd)
{
	_Atomic ms_slot *s = ms_slot_of(fd);
	_Atomic ms_slot *fresh, *expected = NULL;

	if (s || fd < 0)
		return s;
	fresh = calloc(MS_CHUNK_SLOTS, sizeof(*fresh));
	if (!fresh)
		return NULL;
	if (!atomic_compare_exchange_strong_explicit(
		    &ms_chunks[(unsigned)fd >> MS_CHUNK_SHIFT], &expected,
		    fresh, memory_order_acq_rel, memory_order_acquire))
		free(fresh); /* another thread installed it first */
	return ms_slot_of(fd);
}

static void slot_set(_Atomic ms_slot *s, ms_slot v)
{
	ms_slot old = 0;

	/* Fast path: the slot is empty, as it almost always is. */
	if (atomic_compare_exchange_strong_explicit(
		    s, &old, v, memory_order_release, memory_order_relaxed))
		return;
	pthread_mutex_lock(&ms_lock);
	old = atomic_exchange_explicit(s, v, memory_order_acq_rel);
	pthread_mutex_unlock(&ms_lock);
	ms_slot_free(old);
}

void ms_track_socket(int fd, int domain)
{
	_Atomic ms_slot *s = slot_alloc(fd);

	/* Without a slot (out of memory) the socket is simply not tracked:
	 * it stays TCP, as if the library were absent. */
	if (s)
		slot_set(s, domain == AF_INET6 ? MS_SLOT_INET6 : MS_SLOT_INET);
}

void ms_untrack(int fd)
{
	_Atomic ms_slot *s = ms_slot_of(fd);

	if (s && atomic_load_explicit(s, memory_order_relaxed) != 0)
		slot_set(s, 0);
}

ms_slot ms_track_take(int fd)
{
	_Atomic ms_slot *s = ms_slot_of(fd);
	ms_slot v;

	if (!s)
		return 0;
	pthread_mutex_lock(&ms_lock);
	v = atomic_exchange_explicit(s, 0, memory_order_acq_rel);
	pthread_mutex_unlock(&ms_lock);
	return v;
}

void ms_track_put_back(int fd, ms_slot v)
{
	_Atomic ms_slot *s = ms_slot_of(fd);
	ms_slot expected = 0;

	if (!s || !atomic_compare_exchange_strong_explicit(
			  s, &expected, v, memory_order_release,
			  memory_order_relaxed))
		ms_slot_free(v);
}

static void mark_uncopyable(struct ms_fdrec *rec, enum ms_uncopyable why,
			    int level, int name)
{
	if (rec->why != MS_COPY_OK)
		return; /* keep the first reason */
	rec->why = why;
	rec->bad_level = level;
	rec->bad_name = name;
}

/* Records one option in rec, replacing an earlier value of it. */
static void rec_add(struct ms_fdrec *rec, int level, int name, const void *val,
		    socklen_t len)
{
	enum ms_uncopyable why = ms_opt_copyable(level, name, len);
	struct ms_opt *o, **link;

	if (why != MS_COPY_OK) {
		mark_uncopyable(rec, why, level, name);
		return;
	}
	for (link = &rec->head; (o = *link); link = &o->next)
		if (o->level == level && o->name == name)
			break;
	if (!o && rec->nopts >= MS_MAX_OPTS) {
		mark_uncopyable(rec, MS_COPY_TOO_MANY, level, name);
		return;
	}
	if (o && o->len == len) {
		memcpy(o->val, val, len);
		return;
	}
	{
		struct ms_opt *n = malloc(sizeof(*n) + len);

		if (!n) {
			mark_uncopyable(rec, MS_COPY_NOMEM, level, name);
			return;
		}
		n->level = level;
		n->name = name;
		n->len = len;
		if (len)
			memcpy(n->val, val, len);
		if (o) { /* same option, new length: replace in place */
			n->next = o->next;
			*link = n;
			if (rec->tail == o)
				rec->tail = n;
			free(o);
			return;
		}
		n->next = NULL;
		if (rec->tail)
			rec->tail->next = n;
		else
			rec->head = n;
		rec->tail = n;
		rec->nopts++;
	}
}

/* The fd's record, made from a tag if needed. Called with ms_lock held;
 * NULL if the fd is not tracked (or out of memory). */
static struct ms_fdrec *rec_of(_Atomic ms_slot *s)
{
	ms_slot v = atomic_load_explicit(s, memory_order_relaxed);
	struct ms_fdrec *rec;

	if (v == 0 || v == MS_SLOT_NOMEM)
		return NULL;
	if (slot_is_rec(v))
		return (struct ms_fdrec *)v;
	rec = calloc(1, sizeof(*rec));
	if (!rec) {
		atomic_store_explicit(s, MS_SLOT_NOMEM, memory_order_relaxed);
		return NULL;
	}
	rec->domain = ms_slot_domain(v);
	atomic_store_explicit(s, (ms_slot)rec, memory_order_relaxed);
	return rec;
}

void ms_track_setsockopt(int fd, int level, int name, const void *val,
			 socklen_t len)
{
	_Atomic ms_slot *s = ms_slot_of(fd);
	struct ms_fdrec *rec;

	if (!s)
		return;
	pthread_mutex_lock(&ms_lock);
	rec = rec_of(s);
	if (rec && val == NULL && len > 0)
		mark_uncopyable(rec, MS_COPY_POINTER, level, name);
	else if (rec)
		rec_add(rec, level, name, val, len);
	pthread_mutex_unlock(&ms_lock);
}

void ms_track_epoll(int fd, int epfd, int op, const struct epoll_event *ev)
{
	_Atomic ms_slot *s = ms_slot_of(fd);
	struct ms_fdrec *rec;
	unsigned i;

	if (!s)
		return;
	pthread_mutex_lock(&ms_lock);
	rec = rec_of(s);
	if (!rec)
		goto out;
	for (i = 0; i < rec->nep && rec->ep[i].epfd != epfd; i++)
		;
	if (op == EPOLL_CTL_DEL) {
		if (i < rec->nep)
			rec->ep[i] = rec->ep[--rec->nep];
	} else if (i < rec->nep) {
		rec->ep[i].ev = *ev;
	} else if (rec->nep < MS_MAX_EPOLL) {
		rec->ep[rec->nep].epfd = epfd;
		rec->ep[rec->nep].ev = *ev;
		rec->nep++;
	} else {
		mark_uncopyable(rec, MS_COPY_EPOLL, 0, 0);
	}
out:
	pthread_mutex_unlock(&ms_lock);
}

void ms_track_atfork_child(void)
{
	/* The parent held ms_lock across fork(); the child has one thread. */
	pthread_mutex_init(&ms_lock, NULL);
}
