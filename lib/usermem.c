/* SPDX-License-Identifier: MIT */
/*
 * May the library read the program's bytes at p? The kernel answers
 * EFAULT where the program passes memory it cannot read (test suites do
 * this on purpose: LTP's bind01 binds to (struct sockaddr *)-1), so the
 * library must not read it first and die of SIGSEGV in the program's
 * place.
 *
 * rt_sigprocmask() with an invalid `how` copies the 8-byte set from user
 * memory first (EFAULT if it cannot) and only then refuses `how`
 * (EINVAL): a side-effect-free probe of 8 bytes that every seccomp policy
 * allows (unlike process_vm_readv(), which systemd's @system-service
 * filter kills). Windows of 8 bytes cover [p, p + n). Only bind() and
 * connect() of candidates use it: a few system calls there, none
 * elsewhere.
 */
#include "internal.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PROBE_HOW  (-1) /* neither SIG_BLOCK, SIG_UNBLOCK nor SIG_SETMASK */
#define PROBE_SIZE 8	/* the kernel's sigset_t */

static bool probe(const unsigned char *p)
{
	return syscall(SYS_rt_sigprocmask, PROBE_HOW, p, NULL, PROBE_SIZE) !=
		       0 &&
	       errno == EINVAL;
}

bool ms_user_readable(const void *p, size_t n)
{
	const unsigned char *b = p;
	int saved = errno;
	bool ok = true;

	if (n == 0)
		return true;
	if (n < PROBE_SIZE) {
		/* Shorter than a probe: the kernel rejects such an address
		 * length for every family the library converts anyway. */
		return false;
	}
	for (size_t off = 0; ok && off < n; off += PROBE_SIZE)
		ok = probe(b + (off + PROBE_SIZE <= n ? off : n - PROBE_SIZE));
	errno = saved;
	return ok;
}
