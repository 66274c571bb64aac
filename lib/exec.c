/* SPDX-License-Identifier: MIT */
/*
 * Converted listeners that survive execve(): nginx's binary upgrade.
 *
 * nginx (SIGUSR2) execs its new binary with the listening sockets open and
 * an environment reduced to what nginx.conf's `env` lines name: without
 * `env LD_PRELOAD;` the new master would run without the library, and
 * nginx 1.29.7+ would find its inherited listeners' SO_PROTOCOL (262)
 * different from its configuration (TCP) and open new, plain TCP sockets.
 *
 * So when a program executes itself again (nginx's binary upgrade,
 * haproxy's and sshd's reloads) with converted sockets open across the
 * exec, the library goes with them: LD_PRELOAD gains the library and each
 * MPTCPSHIM_ variable the process was started with, if the new
 * environment lacks it, and MPTCPSHIM_INHERITED names the converted fds
 * (fd:inode), so that the new image answers SO_PROTOCOL for them as for
 * sockets it converted itself. Another program (Dovecot's master starting
 * imap-login with the listeners and an environment it chose) gets its
 * environment as the program made it, and nothing changes for an exec
 * that takes no converted socket along.
 */
#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* The settings' variables are the settings table's (config.c). */
#define NNAMES	  MS_NSETTINGS
#define INHERITED "MPTCPSHIM_INHERITED"

/* Copies made at load: nginx rewrites the environment's memory later. */
static char *saved[NNAMES];
static char self_path[4096];

/* fd, when it is the socket of inode ino and MPTCP, is one this
 * program's library converted before the exec: it answers SO_PROTOCOL as
 * for its own. */
static void mark_if(int fd, unsigned long ino)
{
	struct stat st;
	int proto = 0;
	socklen_t len = sizeof(proto);

	if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == ino &&
	    ms_real.getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) ==
		    0 &&
	    proto == IPPROTO_MPTCP)
		ms_slot_store(fd, MS_KIND_CONV);
}

/* Each entry of the list, "fd:ino" or "*:ino"; false at the end or at an
 * entry this library cannot read. fd is -1 for "*". */
static bool next_entry(const char **p, long *fd, unsigned long *ino)
{
	char *end;

	if (!**p)
		return false;
	if (**p == '*') {
		*fd = -1;
		end = (char *)*p + 1;
	} else {
		*fd = strtol(*p, &end, 10);
		if (end == *p || *fd < 0 || *fd > INT32_MAX)
			return false;
	}
	if (*end != ':')
		return false;
	*ino = strtoul(end + 1, &end, 10);
	if (*end != ',' && *end)
		return false;
	*p = *end ? end + 1 : end;
	return true;
}

/* fd is the socket of a "*:ino" entry? */
static void mark_moved(int fd, void *arg)
{
	const char *p = arg;
	unsigned long ino;
	struct stat st;
	long n;

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
		return;
	while (next_entry(&p, &n, &ino))
		if (n < 0 && ino == st.st_ino) {
			mark_if(fd, ino);
			return;
		}
}

/* "fd:ino": the converted socket at fd before the exec. "*:ino" (after
 * them, where a library that does not know the form stops): a converted
 * socket that posix_spawn() file actions may have given the program at
 * any number (adddup2 of a close-on-exec listener): every open fd is
 * looked at. */
static void mark_inherited(const char *list)
{
	const char *p = list;
	bool anywhere = false;
	unsigned long ino;
	long fd;

	while (next_entry(&p, &fd, &ino)) {
		if (fd >= 0)
			mark_if((int)fd, ino);
		else
			anywhere = true;
	}
	if (anywhere)
		ms_each_open_fd(mark_moved, (void *)list);
}

void ms_exec_init(void)
{
	const char *inherited = secure_getenv(INHERITED);

	for (size_t i = 0; i < NNAMES; i++) {
		const char *v = secure_getenv(ms_settings[i].var);

		saved[i] = v ? strdup(v) : NULL;
	}
	if (ms_self_path())
		snprintf(self_path, sizeof(self_path), "%s", ms_self_path());
	if (inherited) {
		mark_inherited(inherited);
		unsetenv(INHERITED); /* it is about this process only */
	}
}

/* ---- at execve() ---- */

static const char *base_name(const char *p, size_t len)
{
	for (size_t i = len; i > 0; i--)
		if (p[i - 1] == '/')
			return p + i;
	return p;
}

/* Is the new program this one again: the same file, or a file of the same
 * name (nginx's binary upgrade execs a new file at its own path)? fd >= 0
 * for fexecve(). */
static bool same_program(const char *path, int fd, char exe[PATH_MAX])
{
	struct stat self, it;
	char *del;
	ssize_t n;

	if (!exe || stat("/proc/self/exe", &self) != 0)
		return false;
	if ((fd >= 0 ? fstat(fd, &it) : stat(path, &it)) == 0 &&
	    it.st_dev == self.st_dev && it.st_ino == self.st_ino)
		return true;
	if (!path)
		return false;
	n = readlink("/proc/self/exe", exe, PATH_MAX - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	del = strstr(exe, " (deleted)");
	if (del && del[10] == '\0')
		*del = '\0'; /* the old binary, replaced by the new one */
	return strcmp(base_name(exe, strlen(exe)),
		      base_name(path, strlen(path))) == 0;
}

struct survivors {
	char *buf; /* "fd:ino,fd:ino", then "*:ino,*:ino" */
	size_t len, cap;
	unsigned n;
	bool anywhere; /* posix_spawn() file actions: at any number */
	bool star;     /* this walk: the "*:ino" entries */
	unsigned nstar;
};

static void add_survivor(int fd, ms_slot v, void *p)
{
	struct survivors *s = p;
	struct stat st;
	int fl;

	if (ms_slot_is_rec(v) || ms_slot_kind(v) != MS_KIND_CONV)
		return;
	fl = ms_real.fcntl(fd, F_GETFD);
	if (fl < 0 || (!s->star && (fl & FD_CLOEXEC)) || fstat(fd, &st) != 0)
		return;
	if (s->buf && s->len + 48 < s->cap) {
		/* "%s%d:%lu" without stdio: execve() is async-signal-safe */
		char *w = s->buf + s->len;

		if (s->n)
			*w++ = ',';
		if (s->star)
			*w++ = '*';
		else
			w = ms_fmt_uint(w, (unsigned)fd);
		*w++ = ':';
		w = ms_fmt_uint(w, st.st_ino);
		s->len = (size_t)(w - s->buf);
	}
	s->n++;
	s->nstar += s->star;
}

/* The converted sockets the new program keeps at their numbers (without
 * FD_CLOEXEC); with file actions, which may duplicate any of them to any
 * number (adddup2 makes an inheritable copy of a close-on-exec fd), all
 * of them by inode alone too. */
static void survivors(struct survivors *s)
{
	s->star = false;
	ms_table_walk(add_survivor, s);
	if (!s->anywhere)
		return;
	s->star = true;
	ms_table_walk(add_survivor, s);
}

static const char *env_value(char *const envp[], const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
			return envp[i] + n + 1;
	return NULL;
}

/* Does an LD_PRELOAD value name this library? */
static bool preload_has_self(const char *v)
{
	const char *self = base_name(self_path, strlen(self_path));

	while (v && *v) {
		size_t n = strcspn(v, ": ");
		const char *b = base_name(v, n);

		if ((n == strlen(self_path) && memcmp(v, self_path, n) == 0) ||
		    ((size_t)(v + n - b) == strlen(self) &&
		     memcmp(b, self, strlen(self)) == 0))
			return true;
		v += n + (v[n] != '\0');
	}
	return false;
}

/* Appends "NAME=VALUE" (or NAME=VALUE1:VALUE2) to the string area. */
static char *put(char **area, const char *name, const char *v1, const char *v2)
{
	char *s = *area, *p = stpcpy(stpcpy(s, name), "=");

	p = stpcpy(p, v1);
	if (v2)
		p = stpcpy(stpcpy(p, ":"), v2);
	*area = p + 1;
	return s;
}

static void say_passing(const char *verb, const char *path,
			const struct survivors *s, const char *added)
{
	struct ms_msg m;

	if (!ms_log_on(MS_LOG_INFO))
		return;
	ms_msg_begin(&m, MS_LOG_INFO);
	ms_msg_str(&m, verb);
	ms_msg_str(&m, "(");
	ms_msg_str(&m, path);
	ms_msg_str(&m, "): ");
	ms_msg_uint(&m, s->anywhere ? s->nstar : s->n);
	ms_msg_str(&m, s->anywhere ? " converted socket(s) may be open in the "
				     "new program (file actions)"
				   : " converted socket(s) stay open in the "
				     "new program");
	if (*added) {
		ms_msg_str(&m, "; passing on what its environment lacks: ");
		ms_msg_str(&m, added);
	}
	ms_msg_end(&m);
}

/* Marks the candidates a new program would inherit (no FD_CLOEXEC) as
 * shared: in a vfork() child about to exec, whose fds are its own but
 * whose memory - the table - is the parent's. */
static void mark_inheritable(int fd, ms_slot v, void *arg)
{
	int fl;

	(void)arg;
	if (!ms_slot_is_rec(v) && ms_slot_kind(v) != MS_KIND_CAND)
		return;
	fl = ms_real.fcntl(fd, F_GETFD);
	if (fl >= 0 && !(fl & FD_CLOEXEC))
		ms_taint(fd, MS_SHARED_FORK);
}

/* What the new environment needs: the fds that survive the exec, and its
 * size. */
struct plan {
	struct survivors s;
	size_t nenv, total;
	const char *preload;
};

/* Does a new program keep converted sockets (so that it may need an
 * environment of its own)? Then p says how much room that takes: the
 * pointers, the strings added, and PATH_MAX bytes for same_program(). No
 * when the program's pointers cannot be read (the kernel then says
 * EFAULT). anywhere: posix_spawn() file actions (see survivors()). */
static bool plan_env(const char *path, bool anywhere, char *const envp[],
		     struct plan *p)
{
	size_t strsz;

	memset(p, 0, sizeof(*p));
	p->s.anywhere = anywhere;
	survivors(&p->s);
	if (p->s.n == 0 || !self_path[0] || !ms_user_strings(envp, 1 << 20) ||
	    (path && !ms_user_string(path, 1 << 16)))
		return false;
	while (envp && envp[p->nenv])
		p->nenv++;
	p->preload = env_value(envp, "LD_PRELOAD");
	p->s.cap = (size_t)p->s.n * 48 + 1;
	/* the list, its copy as INHERITED=list, LD_PRELOAD=old:self */
	strsz = 2 * p->s.cap + sizeof(INHERITED) + 1 + sizeof("LD_PRELOAD=") +
		(p->preload ? strlen(p->preload) + 1 : 0) + strlen(self_path) +
		1;
	for (size_t i = 0; i < NNAMES; i++)
		if (saved[i])
			strsz += strlen(ms_settings[i].var) + strlen(saved[i]) +
				 2;
	p->total = (p->nenv + NNAMES + 3) * sizeof(char *) + strsz + PATH_MAX;
	return true;
}

/* The environment for a new program that keeps converted sockets, in
 * mem (p->total bytes): envp plus what it lacks. envp itself when the new
 * program is another one. */
static char *const *build_env(const char *verb, const char *path, int fd,
			      char *const envp[], struct plan *p, char *mem)
{
	const char *preload = p->preload;
	char added[256] = "", **env = (char **)(void *)mem, *area;
	size_t nenv = 0;

	if (!same_program(path, fd, mem + p->total - PATH_MAX))
		return envp;
	area = mem + (p->nenv + NNAMES + 3) * sizeof(char *);
	p->s.buf = area;
	p->s.len = 0;
	p->s.n = 0;
	p->s.nstar = 0;
	survivors(&p->s);
	area += p->s.len + 1;

	for (size_t i = 0; envp && envp[i]; i++) {
		if (strncmp(envp[i], INHERITED "=", sizeof(INHERITED)) == 0)
			continue;
		if (strncmp(envp[i], "LD_PRELOAD=", 11) == 0 &&
		    !preload_has_self(preload))
			continue; /* replaced below */
		env[nenv++] = envp[i];
	}
	if (!preload_has_self(preload)) {
		env[nenv++] = put(&area, "LD_PRELOAD",
				  preload && *preload ? preload : self_path,
				  preload && *preload ? self_path : NULL);
		strcat(added, "LD_PRELOAD");
	}
	for (size_t i = 0; i < NNAMES; i++) {
		if (!saved[i] || env_value(envp, ms_settings[i].var))
			continue;
		env[nenv++] = put(&area, ms_settings[i].var, saved[i], NULL);
		if (strlen(added) + strlen(ms_settings[i].var) + 3 <
		    sizeof(added))
			strcat(strcat(added, *added ? ", " : ""),
			       ms_settings[i].var);
	}
	env[nenv++] = put(&area, INHERITED, p->s.buf, NULL);
	env[nenv] = NULL;
	say_passing(verb, path ? path : "an fd", &p->s, added);
	return env;
}

static const char *const verb[] = {"execve", "execvpe", "fexecve"};

static int exec_call(enum ms_exec how, const char *path, int fd,
		     char *const argv[], char *const env[])
{
	return how == MS_EXECVE	   ? ms_real.execve(path, argv, env)
	       : how == MS_EXECVPE ? ms_real.execvpe(path, argv, env)
				   : ms_real.fexecve(fd, argv, env);
}

/* A vfork() child builds the new environment on its stack: an mmap()
 * there would stay in the parent. Only this path, taken only when
 * converted sockets survive the exec, takes that much stack (an exec from
 * a signal handler on a small alternate stack must not overflow it). */
#define VFORK_ENV_ROOM 16384

static __attribute__((noinline)) int
exec_vfork_child(enum ms_exec how, const char *path, int fd, char *const argv[],
		 char *const envp[], struct plan *p)
{
	char room[VFORK_ENV_ROOM] __attribute__((aligned(16)));

	if (p->total > sizeof(room))
		return exec_call(how, path, fd, argv, envp);
	return exec_call(how, path, fd, argv,
			 build_env(verb[how], how == MS_FEXECVE ? NULL : path,
				   how == MS_FEXECVE ? fd : -1, envp, p, room));
}

static void *map(size_t size)
{
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return m == MAP_FAILED ? NULL : m;
}

static int unmap(int rc, void *m, size_t size)
{
	int e = errno;

	if (m)
		munmap(m, size);
	errno = e;
	return rc;
}

int ms_exec(enum ms_exec how, const char *path, int fd, char *const argv[],
	    char *const envp[])
{
	const char *file = how == MS_FEXECVE ? NULL : path;
	struct plan p;
	char *mem;

	if (ms_vfork_child()) {
		ms_table_walk(mark_inheritable, NULL);
		/* The child's dup2() and fcntl() calls are not recorded (it
		 * must not write the parent's table): a converted socket may
		 * be at any number, as with posix_spawn()'s file actions, so
		 * each is named by inode too. */
		if (!plan_env(file, true, envp, &p))
			return exec_call(how, path, fd, argv, envp);
		return exec_vfork_child(how, path, fd, argv, envp, &p);
	}
	if (!plan_env(file, false, envp, &p) || !(mem = map(p.total)))
		return exec_call(how, path, fd, argv, envp);
	return unmap(exec_call(how, path, fd, argv,
			       build_env(verb[how], file,
					 how == MS_FEXECVE ? fd : -1, envp, &p,
					 mem)),
		     mem, p.total);
}

/* posix_spawn(): the new program gets the converted listeners that are
 * not close-on-exec, like an exec, and those its file actions duplicate;
 * the parent goes on, its errno untouched by what the library asked. */
int ms_spawn(bool search, pid_t *pid, const char *path,
	     const posix_spawn_file_actions_t *fa,
	     const posix_spawnattr_t *attr, char *const argv[],
	     char *const envp[])
{
	char *const *env = envp;
	struct plan p;
	char *mem = NULL;
	int e = errno;

	if (plan_env(path, fa != NULL, envp, &p) && (mem = map(p.total)))
		env = build_env(search ? "posix_spawnp" : "posix_spawn", path,
				-1, envp, &p, mem);
	errno = e;
	return unmap(
		search ? ms_real.posix_spawnp(pid, path, fa, attr, argv, env)
		       : ms_real.posix_spawn(pid, path, fa, attr, argv, env),
		mem, mem ? p.total : 0);
}
