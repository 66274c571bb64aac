/* SPDX-License-Identifier: MIT */
/*
 * May the library read the program's bytes at p? The kernel answers
 * EFAULT where the program passes memory it cannot read (test suites do
 * this on purpose: LTP's bind01 binds to (struct sockaddr *)-1), so the
 * library must not read it first and die of SIGSEGV in the program's
 * place.
 *
 * The kernel is asked with system calls that copy a fixed number of bytes
 * from user memory first (EFAULT if they cannot) and only then fail on an
 * argument (EINVAL), with no effect, and that every seccomp policy allows
 * (unlike process_vm_readv(), which systemd's @system-service filter
 * kills):
 * - timer_settime() of a timer that cannot exist (-1) reads 32 bytes (a
 *   struct itimerspec): one call covers any IPv4 or IPv6 address;
 * - rt_sigprocmask() with an invalid `how` reads 8 bytes (the kernel's
 *   sigset_t): windows of 8 give the exact answer where the 32 bytes run
 *   past the end of readable memory, or the address is longer.
 * Only bind() and connect() of candidates use it (one system call there),
 * and the recording of an option value that spans pages (a call per
 * page); none elsewhere.
 */
#include "internal.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#define WIDE   32 /* struct __kernel_itimerspec */
#define NARROW 8  /* the kernel's sigset_t */

static bool probe_wide(const unsigned char *p)
{
	return syscall(SYS_timer_settime, -1, 0, p, NULL) != 0 &&
	       errno == EINVAL;
}

static bool probe_narrow(const unsigned char *p)
{
	return syscall(SYS_rt_sigprocmask, -1, p, NULL, NARROW) != 0 &&
	       errno == EINVAL;
}

bool ms_user_readable(const void *p, size_t n)
{
	const unsigned char *b = p;
	int saved = errno;
	bool ok = true;

	if (!p || n < NARROW) {
		/* NULL: timer_settime() would not even look. Shorter than a
		 * probe: the kernel rejects such an address length for every
		 * family the library converts anyway. */
		return false;
	}
	if (n <= WIDE && probe_wide(b)) {
		errno = saved;
		return true;
	}
	for (size_t off = 0; ok && off < n; off += NARROW)
		ok = probe_narrow(b + (off + NARROW <= n ? off : n - NARROW));
	errno = saved;
	return ok;
}

/* Page by page: a page whose first 8 bytes can be read can be read. */
static bool page_readable(uintptr_t page)
{
	return probe_narrow((const unsigned char *)page);
}

static uintptr_t page_size(void)
{
	static uintptr_t ps;

	if (!ps)
		ps = (uintptr_t)sysconf(_SC_PAGESIZE);
	return ps;
}

bool ms_same_page(const void *p, size_t n)
{
	uintptr_t ps = page_size(), a = (uintptr_t)p;

	return n > 0 && (a & ~(ps - 1)) == ((a + n - 1) & ~(ps - 1));
}

size_t ms_user_readable_prefix(const void *p, size_t n)
{
	uintptr_t ps = page_size(), start = (uintptr_t)p, page;
	int saved = errno;
	size_t ok = 0;

	for (page = start & ~(ps - 1); ok < n; page += ps) {
		size_t in_page = page + ps - (start + ok);

		if (!page_readable(page))
			break;
		ok += in_page < n - ok ? in_page : n - ok;
	}
	errno = saved;
	return ok;
}

bool ms_user_string(const char *s, size_t max)
{
	uintptr_t ps = page_size(), p = (uintptr_t)s;
	int saved = errno;
	bool ok = false;

	if (!s)
		return false;
	while (p - (uintptr_t)s < max && page_readable(p & ~(ps - 1))) {
		uintptr_t end = (p & ~(ps - 1)) + ps;

		for (; p < end; p++)
			if (*(const char *)p == '\0') {
				ok = true;
				goto out;
			}
	}
out:
	errno = saved;
	return ok;
}

bool ms_user_strings(char *const *v, size_t max)
{
	uintptr_t ps = page_size(), p = (uintptr_t)v;
	int saved = errno;

	if (!v)
		return true; /* none */
	if (p % sizeof(char *))
		goto no;
	for (size_t n = 0; n < max; n++, p += sizeof(char *)) {
		const char *e;

		if (n == 0 || p % ps == 0)
			if (!page_readable(p & ~(ps - 1)))
				goto no;
		e = *(char *const *)p;
		if (!e) {
			errno = saved;
			return true;
		}
		if (!ms_user_string(e, 1 << 20))
			goto no;
	}
no:
	errno = saved;
	return false;
}
