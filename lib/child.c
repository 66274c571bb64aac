/* SPDX-License-Identifier: MIT */
/*
 * Which process runs the library's code: the one the table belongs to
 * (its owner), a child that got a copy of the table, or a child that
 * shares it.
 *
 * fork() is followed with pthread_atfork() (shim.c): its child takes its
 * copy over at once. A child made without the atfork handlers - _Fork(),
 * syscall(SYS_fork), clone() without CLONE_VM - has a copy too, which
 * still names the parent as its owner: a page mapped with
 * MADV_WIPEONFORK, which such a child gets zeroed, tells it from a child
 * that shares the memory. It takes its copy over the first time it asks
 * (ms_vfork_child()), as fork()'s child does: the locks other threads of
 * the parent held are freed, and every candidate it inherited is shared
 * with the parent, so that it stays TCP with one warning.
 *
 * A vfork() child (or a clone() with CLONE_VM) runs in the parent's
 * memory, next to the parent's other threads: it changes no record, takes
 * no lock (it could die holding it, and the parent would wait for ever),
 * converts nothing, and marks at most a socket it shares with the parent.
 * getpid() is a system call since glibc 2.25 (no cache that _Fork() or a
 * raw fork could leave stale), made only on the paths that would change
 * the table.
 */
#include "internal.h"

#include <errno.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif

/* The process whose memory this is. */
static _Atomic pid_t owner_pid;
/* The owner's pid in a MADV_WIPEONFORK page (NULL: the kernel has none,
 * before 4.14); 0 in a child of a fork without the atfork handlers, -1
 * while such a child takes the table over. */
static _Atomic pid_t *mark;

void ms_set_owner(void)
{
	pid_t me = getpid();

	if (!mark) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p != MAP_FAILED && madvise(p, 4096, MADV_WIPEONFORK) != 0) {
			munmap(p, 4096);
			p = MAP_FAILED;
		}
		if (p != MAP_FAILED)
			mark = p;
	}
	atomic_store(&owner_pid, me);
	if (mark)
		atomic_store(mark, me);
}

/* A child of _Fork() or a raw fork takes its copy of the table over, as
 * fork()'s child handler does. Its other threads, if it made any, wait
 * for the one that does it (a walk of the table, nothing that blocks). The
 * calling thread's own mark of being inside the library stays: a signal
 * handler that interrupted the library in the parent and forked is still
 * running on top of it. */
static void adopt(pid_t me)
{
	pid_t expected = 0;

	if (!atomic_compare_exchange_strong(mark, &expected, -1)) {
		while (atomic_load(mark) == -1)
			sched_yield();
		return;
	}
	atomic_store(&owner_pid, me);
	ms_publish_forked();
	if (ms_track_on) {
		ms_conversions_reset();
		ms_table_adopt();
	}
	atomic_store(mark, me);
}

bool ms_vfork_child(void)
{
	pid_t me = getpid();

	if (MS_LIKELY(me == atomic_load(&owner_pid)))
		return false;
	if (mark && atomic_load(mark) <= 0) {
		adopt(me);
		return false;
	}
	return true;
}

bool ms_owner_has_file(int fd)
{
	int e = errno;
	/* 0: the same open file; 1, 2: another; -1 with EBADF: no such fd
	 * there; another error (no kcmp(), not allowed): it may be */
	long rc = syscall(SYS_kcmp, getpid(), atomic_load(&owner_pid),
			  KCMP_FILE, fd, fd);
	bool same = rc == 0 || (rc < 0 && errno != EBADF);

	errno = e;
	return same;
}
