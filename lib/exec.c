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
 * So when converted sockets stay open across execve(), the library goes
 * with them: LD_PRELOAD gains the library and each MPTCPSHIM_ variable the
 * process was started with, if the new environment lacks it, and
 * MPTCPSHIM_INHERITED names the converted fds (fd:inode), so that the new
 * program's library answers SO_PROTOCOL for them as for sockets it
 * converted itself. Nothing changes for an execve() that takes no
 * converted socket along.
 */
#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
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

static void mark_inherited(const char *list)
{
	const char *p = list;

	while (*p) {
		char *end;
		long fd = strtol(p, &end, 10);
		unsigned long ino;
		struct stat st;
		int proto = 0;
		socklen_t len = sizeof(proto);

		if (end == p || *end != ':')
			return;
		ino = strtoul(end + 1, &end, 10);
		if (fd >= 0 && fd <= INT32_MAX && fstat((int)fd, &st) == 0 &&
		    S_ISSOCK(st.st_mode) && st.st_ino == ino &&
		    ms_real.getsockopt((int)fd, SOL_SOCKET, SO_PROTOCOL, &proto,
				       &len) == 0 &&
		    proto == IPPROTO_MPTCP)
			ms_slot_store((int)fd, MS_KIND_CONV);
		if (*end != ',')
			return;
		p = end + 1;
	}
}

void ms_exec_init(void)
{
	const char *inherited = secure_getenv(INHERITED);
	Dl_info di;

	for (size_t i = 0; i < NNAMES; i++) {
		const char *v = secure_getenv(ms_settings[i].var);

		saved[i] = v ? strdup(v) : NULL;
	}
	if (dladdr((void *)ms_exec_init, &di) && di.dli_fname)
		snprintf(self_path, sizeof(self_path), "%s", di.dli_fname);
	if (inherited) {
		mark_inherited(inherited);
		unsetenv(INHERITED); /* it is about this process only */
	}
}

/* ---- at execve() ---- */

struct survivors {
	char *buf; /* "fd:ino,fd:ino" */
	size_t len, cap;
	unsigned n;
};

static void add_survivor(int fd, ms_slot v, void *p)
{
	struct survivors *s = p;
	struct stat st;
	int fl;

	if (ms_slot_is_rec(v) || ms_slot_kind(v) != MS_KIND_CONV)
		return;
	fl = ms_real.fcntl(fd, F_GETFD);
	if (fl < 0 || (fl & FD_CLOEXEC) || fstat(fd, &st) != 0)
		return;
	if (s->buf && s->len + 48 < s->cap)
		s->len += (size_t)snprintf(s->buf + s->len, s->cap - s->len,
					   "%s%d:%lu", s->n ? "," : "", fd,
					   (unsigned long)st.st_ino);
	s->n++;
}

static const char *env_value(char *const envp[], const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
			return envp[i] + n + 1;
	return NULL;
}

static const char *base_name(const char *p, size_t len)
{
	for (size_t i = len; i > 0; i--)
		if (p[i - 1] == '/')
			return p + i;
	return p;
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
	char *s = *area;
	int n = sprintf(s, "%s=%s%s%s", name, v1, v2 ? ":" : "", v2 ? v2 : "");

	*area += n + 1;
	return s;
}

static void say_passing(const char *path, unsigned n, const char *added)
{
	struct ms_msg m;

	if (!ms_log_on(MS_LOG_INFO))
		return;
	ms_msg_begin(&m, MS_LOG_INFO);
	ms_msg_str(&m, "execve(");
	ms_msg_str(&m, path);
	ms_msg_str(&m, "): ");
	ms_msg_uint(&m, n);
	ms_msg_str(&m, " converted socket(s) stay open in the new program");
	if (*added) {
		ms_msg_str(&m, "; passing on what its environment lacks: ");
		ms_msg_str(&m, added);
	}
	ms_msg_end(&m);
}

/* The environment for a new program that keeps converted sockets: envp
 * plus what it lacks, in an mmap()ed block (*map, *size) that the caller
 * unmaps if the exec fails. envp itself when nothing survives the exec. */
static char *const *exec_env(const char *path, char *const envp[], void **map,
			     size_t *size)
{
	struct survivors s = {0};
	size_t nenv = 0, strsz, total;
	const char *preload;
	char added[256] = "", **env, *area;

	*map = NULL;
	ms_table_walk(add_survivor, &s);
	if (s.n == 0 || !self_path[0])
		return envp;
	while (envp && envp[nenv])
		nenv++;
	preload = env_value(envp, "LD_PRELOAD");
	s.cap = (size_t)s.n * 48 + 1;
	/* the list, its copy as INHERITED=list, LD_PRELOAD=old:self */
	strsz = 2 * s.cap + sizeof(INHERITED) + 1 + sizeof("LD_PRELOAD=") +
		(preload ? strlen(preload) + 1 : 0) + strlen(self_path) + 1;
	for (size_t i = 0; i < NNAMES; i++)
		if (saved[i])
			strsz += strlen(ms_settings[i].var) + strlen(saved[i]) +
				 2;
	total = (nenv + NNAMES + 3) * sizeof(char *) + strsz;
	*map = mmap(NULL, total, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*map == MAP_FAILED) {
		*map = NULL;
		return envp;
	}
	*size = total;
	env = *map;
	area = (char *)*map + (nenv + NNAMES + 3) * sizeof(char *);
	s.buf = area;
	s.len = 0;
	s.n = 0;
	ms_table_walk(add_survivor, &s);
	area += s.len + 1;

	nenv = 0;
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
	env[nenv++] = put(&area, INHERITED, s.buf, NULL);
	env[nenv] = NULL;
	say_passing(path, s.n, added);
	return env;
}

static int done(int rc, void *map, size_t size)
{
	int e = errno;

	if (map)
		munmap(map, size);
	errno = e;
	return rc;
}

int ms_execve(const char *path, char *const argv[], char *const envp[])
{
	size_t size = 0;
	void *map;
	char *const *env = exec_env(path, envp, &map, &size);

	return done(ms_real.execve(path, argv, env), map, size);
}

int ms_execvpe(const char *file, char *const argv[], char *const envp[])
{
	size_t size = 0;
	void *map;
	char *const *env = exec_env(file, envp, &map, &size);

	return done(ms_real.execvpe(file, argv, env), map, size);
}

int ms_fexecve(int fd, char *const argv[], char *const envp[])
{
	size_t size = 0;
	void *map;
	char *const *env = exec_env("(fexecve)", envp, &map, &size);

	return done(ms_real.fexecve(fd, argv, env), map, size);
}
