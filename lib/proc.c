/* SPDX-License-Identifier: MIT */
/*
 * Where a socket gets a reference in another process: posix_spawn() (the
 * child's fds), sendmsg() with SCM_RIGHTS (the receiver's), and the exec
 * family, which hands the process's converted listeners to a new program
 * (see exec.c). fork() is followed with pthread_atfork() in shim.c.
 */
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MS_EXPORT __attribute__((visibility("default")))

static void spawn_begin(void)
{
	if (!ms_track_on)
		return;
	ms_conversions_pause();
	/* The child gets the fds without FD_CLOEXEC. */
	ms_mark_all_shared(MS_SHARED_FORK, true);
}

static void spawn_end(void)
{
	if (ms_track_on)
		ms_conversions_resume();
}

MS_EXPORT int posix_spawn(pid_t *pid, const char *path,
			  const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[],
			  char *const envp[])
{
	int rc;

	ms_ensure_init();
	spawn_begin();
	rc = ms_real.posix_spawn(pid, path, fa, attr, argv, envp);
	spawn_end();
	return rc;
}

MS_EXPORT int posix_spawnp(pid_t *pid, const char *file,
			   const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[],
			   char *const envp[])
{
	int rc;

	ms_ensure_init();
	spawn_begin();
	rc = ms_real.posix_spawnp(pid, file, fa, attr, argv, envp);
	spawn_end();
	return rc;
}

/* The fds a successful sendmsg() passed (the kernel read the message, so
 * reading it is safe): candidates among them are shared from now on. */
static void note_sent(const struct msghdr *msg)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)msg); c;
	     c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		const unsigned char *p = CMSG_DATA(c);
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, p + i * sizeof(int), sizeof(int));
			if (ms_peek(fd) != 0)
				ms_taint(fd, MS_SHARED_SENT);
		}
	}
}

MS_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	ssize_t rc;

	ms_ensure_init();
	rc = ms_real.sendmsg(fd, msg, flags);
	if (MS_UNLIKELY(rc >= 0 && msg->msg_controllen != 0) && ms_track_on) {
		int saved = errno;

		note_sent(msg);
		errno = saved;
	}
	return rc;
}

MS_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned n, int flags)
{
	int rc;

	ms_ensure_init();
	rc = ms_real.sendmmsg(fd, vec, n, flags);
	if (rc > 0 && ms_track_on) {
		int saved = errno;

		for (int i = 0; i < rc; i++)
			if (vec[i].msg_hdr.msg_controllen != 0)
				note_sent(&vec[i].msg_hdr);
		errno = saved;
	}
	return rc;
}

MS_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	ms_ensure_init();
	return ms_execve(path, argv, envp);
}

MS_EXPORT int execv(const char *path, char *const argv[])
{
	ms_ensure_init();
	return ms_execve(path, argv, environ);
}

MS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	ms_ensure_init();
	return ms_execvpe(file, argv, envp);
}

MS_EXPORT int execvp(const char *file, char *const argv[])
{
	ms_ensure_init();
	return ms_execvpe(file, argv, environ);
}

MS_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	ms_ensure_init();
	return ms_fexecve(fd, argv, envp);
}

/* execl*(): the arguments, up to the NULL, as an array (mmap()ed: they
 * are async-signal-safe, and any number of them is allowed). */
struct args {
	char **argv;
	size_t size;
	char *const *envp;
};

static bool collect(struct args *a, const char *arg0, va_list ap, bool env)
{
	va_list count;
	size_t n = 1;

	va_copy(count, ap);
	while (va_arg(count, char *))
		n++;
	va_end(count);
	a->size = (n + 1) * sizeof(char *);
	a->argv = mmap(NULL, a->size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a->argv == MAP_FAILED) {
		errno = ENOMEM;
		return false;
	}
	a->argv[0] = (char *)arg0;
	for (size_t i = 1; i <= n; i++)
		a->argv[i] = va_arg(ap, char *); /* the last one is NULL */
	a->envp = env ? va_arg(ap, char *const *) : environ;
	return true;
}

static int release(int rc, struct args *a)
{
	int e = errno;

	munmap(a->argv, a->size);
	errno = e;
	return rc;
}

MS_EXPORT int execl(const char *path, const char *arg, ...)
{
	struct args a;
	va_list ap;
	bool ok;

	ms_ensure_init();
	va_start(ap, arg);
	ok = collect(&a, arg, ap, false);
	va_end(ap);
	return ok ? release(ms_execve(path, a.argv, a.envp), &a) : -1;
}

MS_EXPORT int execle(const char *path, const char *arg, ...)
{
	struct args a;
	va_list ap;
	bool ok;

	ms_ensure_init();
	va_start(ap, arg);
	ok = collect(&a, arg, ap, true);
	va_end(ap);
	return ok ? release(ms_execve(path, a.argv, a.envp), &a) : -1;
}

MS_EXPORT int execlp(const char *file, const char *arg, ...)
{
	struct args a;
	va_list ap;
	bool ok;

	ms_ensure_init();
	va_start(ap, arg);
	ok = collect(&a, arg, ap, false);
	va_end(ap);
	return ok ? release(ms_execvpe(file, a.argv, a.envp), &a) : -1;
}
