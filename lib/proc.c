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
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MS_EXPORT __attribute__((visibility("default")))

/* A new process gets copies of fds: the candidates it gets are marked
 * shared - those without FD_CLOEXEC, or all of them when file actions
 * could duplicate one (adddup2 of a close-on-exec fd makes an inheritable
 * copy). Conversions already under way are waited for first, so that the
 * new process never gets a half-converted fd; that wait is short (a
 * conversion is a few system calls, with no wait of its own). Conversions
 * are not held back for the whole call: system() waits for its command,
 * which may wait for the program's own listener (was issue 21 case 7:
 * another thread's bind() span until the command gave up), and
 * posix_spawn() for its child's file actions (an open() of a FIFO). A
 * conversion that starts once the marks are made is of a socket the new
 * program does not keep: close-on-exec (its copy and the conversion's
 * spare fd, close-on-exec too, are closed by the exec), or made by
 * another thread meanwhile, which the program itself cannot know the new
 * process to get or not. Being inside the library while it marks, a
 * signal handler that interrupts this thread passes its calls through. In
 * a vfork() child, which shares the parent's memory, only the marks are
 * made. */
static void spawn_mark(bool all)
{
	bool entered;

	if (!ms_track_on)
		return;
	if (ms_vfork_child()) {
		ms_mark_all_shared(MS_SHARED_FORK, !all);
		return;
	}
	entered = ms_enter();
	ms_conversions_pause();
	ms_mark_all_shared(MS_SHARED_FORK, !all);
	ms_conversions_resume();
	if (entered)
		ms_leave();
}

MS_EXPORT int posix_spawn(pid_t *pid, const char *path,
			  const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[],
			  char *const envp[])
{
	ms_ensure_init();
	spawn_mark(fa != NULL);
	return ms_spawn(false, pid, path, fa, attr, argv, envp);
}

MS_EXPORT int posix_spawnp(pid_t *pid, const char *file,
			   const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[],
			   char *const envp[])
{
	ms_ensure_init();
	spawn_mark(fa != NULL);
	return ms_spawn(true, pid, file, fa, attr, argv, envp);
}

/* system() and popen() start a shell with glibc's own spawn, which the
 * library does not see: mark what the shell inherits. (Their environment
 * is the process's: no hand-over of converted listeners.) */
MS_EXPORT int system(const char *command)
{
	ms_ensure_init();
	spawn_mark(false);
	return ms_real.system(command);
}

MS_EXPORT FILE *popen(const char *command, const char *mode)
{
	ms_ensure_init();
	spawn_mark(false);
	return ms_real.popen(command, mode);
}

/* The fds a successful sendmsg() passed: candidates among them are
 * shared from now on. The kernel has read the whole control buffer (of
 * any socket), but it checks the headers only on AF_UNIX sockets, the
 * only ones that pass fds: every length is checked here, and the
 * socket's family is asked only when an SCM_RIGHTS header names an fd
 * the library tracks. Control data of any other kind, or of untracked
 * fds (IP_PKTINFO on every QUIC datagram), costs no system call. */
static void note_sent(int sock, const struct msghdr *msg)
{
	const unsigned char *ctl = msg->msg_control, *end;
	int domain = -1;
	socklen_t dlen = sizeof(domain);

	if (!ctl || msg->msg_controllen < sizeof(struct cmsghdr))
		return;
	end = ctl + msg->msg_controllen;
	while ((size_t)(end - ctl) >= sizeof(struct cmsghdr)) {
		struct cmsghdr c;

		memcpy(&c, ctl, sizeof(c));
		if (c.cmsg_len < CMSG_LEN(0) ||
		    c.cmsg_len > (size_t)(end - ctl))
			return;
		if (c.cmsg_level == SOL_SOCKET && c.cmsg_type == SCM_RIGHTS) {
			size_t n = (c.cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < n; i++) {
				int fd;

				memcpy(&fd, ctl + CMSG_LEN(0) + i * sizeof(int),
				       sizeof(int));
				if (ms_peek(fd) == 0)
					continue;
				if (domain == -1 &&
				    ms_real.getsockopt(sock, SOL_SOCKET,
						       SO_DOMAIN, &domain,
						       &dlen) != 0)
					domain = 0;
				if (domain != AF_UNIX)
					return;
				ms_taint(fd, MS_SHARED_SENT);
			}
		}
		if ((size_t)(end - ctl) < CMSG_ALIGN(c.cmsg_len))
			return;
		ctl += CMSG_ALIGN(c.cmsg_len);
	}
}

/* sendmsg() and sendmmsg() by any of their names (__sendmsg64, ...: the
 * same structures, without a time_t in them). */
static ssize_t sendmsg_via(ssize_t (*real)(int, const struct msghdr *, int),
			   int fd, const struct msghdr *msg, int flags)
{
	ssize_t rc = real(fd, msg, flags);

	if (MS_UNLIKELY(rc >= 0 && msg->msg_controllen != 0) && ms_track_on) {
		int saved = errno;

		note_sent(fd, msg);
		errno = saved;
	}
	return rc;
}

static int sendmmsg_via(int (*real)(int, struct mmsghdr *, unsigned, int),
			int fd, struct mmsghdr *vec, unsigned n, int flags)
{
	int rc = real(fd, vec, n, flags);

	if (rc > 0 && ms_track_on) {
		int saved = errno;

		for (int i = 0; i < rc; i++)
			if (vec[i].msg_hdr.msg_controllen != 0)
				note_sent(fd, &vec[i].msg_hdr);
		errno = saved;
	}
	return rc;
}

MS_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	ms_ensure_init();
	return sendmsg_via(ms_real.sendmsg, fd, msg, flags);
}

MS_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned n, int flags)
{
	ms_ensure_init();
	return sendmmsg_via(ms_real.sendmmsg, fd, vec, n, flags);
}

#if MS_TIME64_ABI
MS_EXPORT ssize_t __sendmsg64(int fd, const struct msghdr *msg, int flags)
{
	ms_ensure_init();
	return sendmsg_via(ms_real.sendmsg64, fd, msg, flags);
}

MS_EXPORT int __sendmmsg64(int fd, struct mmsghdr *vec, unsigned n, int flags)
{
	ms_ensure_init();
	return sendmmsg_via(ms_real.sendmmsg64, fd, vec, n, flags);
}
#endif

MS_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	ms_ensure_init();
	return ms_exec(MS_EXECVE, path, -1, argv, envp);
}

MS_EXPORT int execv(const char *path, char *const argv[])
{
	ms_ensure_init();
	return ms_exec(MS_EXECVE, path, -1, argv, environ);
}

MS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	ms_ensure_init();
	return ms_exec(MS_EXECVPE, file, -1, argv, envp);
}

MS_EXPORT int execvp(const char *file, char *const argv[])
{
	ms_ensure_init();
	return ms_exec(MS_EXECVPE, file, -1, argv, environ);
}

MS_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	ms_ensure_init();
	return ms_exec(MS_FEXECVE, NULL, fd, argv, envp);
}

/* execl*(): the arguments, up to the NULL, as an array: on the stack
 * (they are async-signal-safe, and in a vfork() child an mmap() would stay
 * in the parent), or mmap()ed when there are many. Little stack in the
 * common case: an exec from a signal handler may run on a small alternate
 * stack (was issue 21 case 9: 16 KiB were taken from it). */
#define EXECL_SMALL_ARGS 16
#define EXECL_STACK_ARGS 256

static int execl_with(enum ms_exec how, const char *path, const char *arg0,
		      va_list ap, bool with_env, char **argv, size_t n)
{
	char *const *envp;

	argv[0] = (char *)arg0;
	for (size_t i = 1; i <= n; i++)
		argv[i] = va_arg(ap, char *); /* the last one is NULL */
	envp = with_env ? va_arg(ap, char *const *) : environ;
	return ms_exec(how, path, -1, argv, envp);
}

static __attribute__((noinline)) int
execl_vfork_child(enum ms_exec how, const char *path, const char *arg0,
		  va_list ap, bool with_env, size_t n)
{
	char *argv[EXECL_STACK_ARGS];

	return execl_with(how, path, arg0, ap, with_env, argv, n);
}

static int execl_common(enum ms_exec how, const char *path, const char *arg0,
			va_list ap, bool with_env)
{
	char *small[EXECL_SMALL_ARGS], **argv;
	size_t n = 1, size;
	va_list count;
	int rc, e;

	ms_ensure_init();
	va_copy(count, ap);
	while (va_arg(count, char *))
		n++;
	va_end(count);
	if (n + 1 <= EXECL_SMALL_ARGS)
		return execl_with(how, path, arg0, ap, with_env, small, n);
	if (n + 1 <= EXECL_STACK_ARGS && ms_vfork_child())
		return execl_vfork_child(how, path, arg0, ap, with_env, n);
	size = (n + 1) * sizeof(char *);
	argv = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (argv == MAP_FAILED) {
		errno = E2BIG;
		return -1;
	}
	rc = execl_with(how, path, arg0, ap, with_env, argv, n);
	e = errno;
	munmap(argv, size);
	errno = e;
	return rc;
}

MS_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg);
	rc = execl_common(MS_EXECVE, path, arg, ap, false);
	va_end(ap);
	return rc;
}

MS_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg);
	rc = execl_common(MS_EXECVE, path, arg, ap, true);
	va_end(ap);
	return rc;
}

MS_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg);
	rc = execl_common(MS_EXECVPE, file, arg, ap, false);
	va_end(ap);
	return rc;
}
