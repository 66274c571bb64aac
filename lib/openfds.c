/* SPDX-License-Identifier: MIT */
/*
 * Every fd the process has open, for what the library's table cannot name:
 * the fds a new program got from posix_spawn() file actions (exec.c).
 */
#include "internal.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Without /proc, every number below the fd limit is asked, up to this. */
#define NO_PROC_MAX 65536

void ms_each_open_fd(void (*fn)(int fd, void *arg), void *arg)
{
	char buf[4096] __attribute__((aligned(8)));
	int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long n;

	if (dir < 0) {
		struct rlimit rl;
		rlim_t max = NO_PROC_MAX;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < max)
			max = rl.rlim_cur;
		for (int fd = 0; fd < (int)max; fd++)
			if (ms_real.fcntl(fd, F_GETFD) >= 0)
				fn(fd, arg);
		return;
	}
	while ((n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			/* struct linux_dirent64: d_reclen at 16, d_name at 19
			 */
			const char *name = buf + off + 19;
			unsigned short reclen;
			unsigned long long v;

			memcpy(&reclen, buf + off + 16, sizeof(reclen));
			off += reclen;
			if (*name >= '0' && *name <= '9' &&
			    ms_parse_uint(name, 10, &v) && v <= INT_MAX &&
			    (int)v != dir)
				fn((int)v, arg);
		}
	}
	ms_real.close(dir);
}
