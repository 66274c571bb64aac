/* SPDX-License-Identifier: MIT */
/*
 * close() and the dup family, so that the library's records follow the
 * program's fds exactly (fdtable.c). For an fd the library does not know,
 * each costs one table lookup and then the real call.
 */
/* Both fcntl and fcntl64 are defined here: with _FILE_OFFSET_BITS=64 the
 * headers would rename fcntl to fcntl64. */
#undef _FILE_OFFSET_BITS
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define MS_EXPORT __attribute__((visibility("default")))

/* Once a thread split the fd table (close_range() with
 * CLOSE_RANGE_UNSHARE), a number this thread's table lacks may be open in
 * another thread's: a close() here fails with EBADF and closes nothing,
 * and the record stays for the other table (difftest F9). Without a
 * split, such a record is stale and goes. */
static bool open_elsewhere_only(int fd)
{
	return atomic_load(&ms_tables_split) &&
	       ms_real.fcntl(fd, F_GETFD) < 0 && errno == EBADF;
}

static int close_fd(int fd)
{
	ms_ensure_init();
	if (MS_UNLIKELY(ms_peek(fd) != 0)) {
		int saved = errno;

		if (!open_elsewhere_only(fd))
			ms_forget(fd);
		errno = saved;
	}
	return ms_real.close(fd);
}

MS_EXPORT int close(int fd)
{
	return close_fd(fd);
}

/* glibc's alias of close (one function in libc), as old binaries call it */
MS_EXPORT int __close(int fd)
{
	return close_fd(fd);
}

static int call_dup(int from, int to, int a1, int a2)
{
	(void)to, (void)a1, (void)a2;
	return ms_real.dup(from);
}

/* dup2() and dup3() name the number they replace: never one the library
 * holds for a moment (ms_numbered_begin). errno is the call's. */
static int real_dup2(int from, int to)
{
	int rc, e;

	if (!ms_track_on) /* no conversion ever: nothing to wait for */
		return ms_real.dup2(from, to);
	ms_numbered_begin();
	rc = ms_real.dup2(from, to);
	e = errno;
	ms_numbered_end();
	errno = e;
	return rc;
}

static int real_dup3(int from, int to, int flags)
{
	int rc, e;

	if (!ms_track_on) /* no conversion ever: nothing to wait for */
		return ms_real.dup3(from, to, flags);
	ms_numbered_begin();
	rc = ms_real.dup3(from, to, flags);
	e = errno;
	ms_numbered_end();
	errno = e;
	return rc;
}

static int call_dup2(int from, int to, int a1, int a2)
{
	(void)a1, (void)a2;
	return real_dup2(from, to);
}

static int call_dup3(int from, int to, int flags, int a2)
{
	(void)a2;
	return real_dup3(from, to, flags);
}

static int call_fcntl_dupfd(int from, int to, int cmd, int min)
{
	(void)to;
	return ms_real.fcntl(from, cmd, min);
}

MS_EXPORT int dup(int fd)
{
	ms_ensure_init();
	if (MS_LIKELY(ms_peek(fd) == 0))
		return ms_real.dup(fd);
	return ms_dup_call(fd, -1, call_dup, 0, 0);
}

static int dup2_fd(int from, int to)
{
	ms_ensure_init();
	if (MS_LIKELY(ms_peek(from) == 0 && ms_peek(to) == 0) || from == to)
		return real_dup2(from, to);
	return ms_dup_call(from, to, call_dup2, 0, 0);
}

MS_EXPORT int dup2(int from, int to)
{
	return dup2_fd(from, to);
}

MS_EXPORT int __dup2(int from, int to)
{
	return dup2_fd(from, to);
}

MS_EXPORT int dup3(int from, int to, int flags)
{
	ms_ensure_init();
	if (MS_LIKELY(ms_peek(from) == 0 && ms_peek(to) == 0) || from == to)
		return real_dup3(from, to, flags);
	return ms_dup_call(from, to, call_dup3, flags, 0);
}

/* Every fcntl() command takes at most one argument, an int or a pointer;
 * glibc itself reads it as a pointer. Only F_DUPFD and F_DUPFD_CLOEXEC of
 * a tracked fd do more than the real call. */
#define FCNTL_BODY(real)                                                       \
	do {                                                                   \
		va_list ap;                                                    \
		void *arg;                                                     \
                                                                               \
		va_start(ap, cmd);                                             \
		arg = va_arg(ap, void *);                                      \
		va_end(ap);                                                    \
		ms_ensure_init();                                              \
		if (MS_UNLIKELY(cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) &&   \
		    ms_peek(fd) != 0)                                          \
			return ms_dup_call(fd, -1, call_fcntl_dupfd, cmd,      \
					   (int)(intptr_t)arg);                \
		return (real)(fd, cmd, arg);                                   \
	} while (0)

MS_EXPORT int fcntl(int fd, int cmd, ...)
{
	FCNTL_BODY(ms_real.fcntl);
}

MS_EXPORT int __fcntl(int fd, int cmd, ...)
{
	FCNTL_BODY(ms_real.fcntl);
}

/* What programs built with _FILE_OFFSET_BITS=64 call (nginx is). */
MS_EXPORT int fcntl64(int fd, int cmd, ...)
{
	FCNTL_BODY(ms_real.fcntl64);
}

#if MS_TIME64_ABI
/* ... and with _TIME_BITS=64 on a 32-bit ABI (Debian 13's armhf nginx). */
MS_EXPORT int __fcntl_time64(int fd, int cmd, ...)
{
	FCNTL_BODY(ms_real.fcntl_time64);
}
#endif

/* Does this process have one thread (then no fd table is shared)? */
static bool ms_single_threaded(void)
{
	char buf[512], *p;
	unsigned long long threads;
	ssize_t n = -1;
	int fd;

	ms_own_fds_begin();
	fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		ms_real.close(fd);
	}
	ms_own_fds_end();
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* field 20, num_threads, counted after the ")" of the name */
	p = strrchr(buf, ')');
	for (int field = 2; p && field < 20; field++)
		p = strchr(p + 1, ' ');
	return ms_parse_uint(p ? p + 1 : NULL, 10, &threads) && threads == 1;
}

static void forget_one(int fd, ms_slot v, void *p)
{
	(void)v, (void)p;
	if (!open_elsewhere_only(fd))
		ms_forget(fd);
}

_Atomic bool ms_tables_split;

/* close_range(CLOSE_RANGE_UNSHARE) while other threads share the fd
 * table gives this thread a copy: every socket made before is then in
 * two tables, and a conversion would swap it in one only (the other
 * threads would keep the TCP socket), and an fd number made later may
 * name different sockets in different threads. So every candidate is
 * shared from then on: it stays TCP, with its warning. Conversions are
 * held back meanwhile, as for a fork(). */
static int close_range_unshare(unsigned first, unsigned last, int flags)
{
	bool entered = ms_enter();
	int rc, e;

	if (entered)
		ms_conversions_pause();
	rc = ms_real.close_range(first, last, flags);
	e = errno;
	if (rc == 0) {
		atomic_store(&ms_tables_split, true);
		ms_mark_all_shared(MS_SHARED_TABLE, false);
	}
	if (entered) {
		ms_conversions_resume();
		ms_leave();
	}
	errno = e;
	return rc;
}

MS_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	ms_ensure_init();
	if (!ms_real.close_range) {
		errno = ENOSYS;
		return -1;
	}
	/* Invalid flags close nothing; with CLOSE_RANGE_CLOEXEC nothing is
	 * closed; with CLOSE_RANGE_UNSHARE only this thread's new copy of
	 * the fd table loses them, unless no other thread shares it. The
	 * cheap checks first: a range without a tracked fd costs a look at
	 * the table's end, and no system call. */
	if (ms_track_on && !ms_table_beyond(first) && first <= last &&
	    (flags == 0 || flags == (int)CLOSE_RANGE_UNSHARE)) {
		int saved = errno;

		if (ms_table_walk_range(first, last, NULL, NULL) &&
		    !ms_vfork_child() && (flags == 0 || ms_single_threaded()))
			ms_table_walk_range(first, last, forget_one, NULL);
		errno = saved;
	}
	if (MS_UNLIKELY(flags & (int)CLOSE_RANGE_UNSHARE) && ms_track_on &&
	    !ms_vfork_child()) {
		int saved = errno;
		bool alone = ms_single_threaded();

		errno = saved;
		if (!alone)
			return close_range_unshare(first, last, flags);
	}
	return ms_real.close_range(first, last, flags);
}

MS_EXPORT void closefrom(int lowfd)
{
	ms_ensure_init();
	/* glibc takes a negative lowfd as 0: everything is closed */
	if (lowfd < 0)
		lowfd = 0;
	if (ms_track_on && !ms_table_beyond((unsigned)lowfd)) {
		int saved = errno;

		if (ms_table_walk_range((unsigned)lowfd, UINT_MAX, NULL,
					NULL) &&
		    !ms_vfork_child())
			ms_table_walk_range((unsigned)lowfd, UINT_MAX,
					    forget_one, NULL);
		errno = saved;
	}
	if (ms_real.closefrom)
		ms_real.closefrom(lowfd);
}
