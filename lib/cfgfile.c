/* SPDX-License-Identifier: MIT */
/*
 * Reading the settings from where they live: the configuration file and
 * the environment. Shared by the library and the mptcpshim command, so
 * that `mptcpshim check` judges a file exactly as the library will.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#define MS_CONFIG_MAX (64 * 1024)

void ms_env_read(struct ms_env *env)
{
	/* secure_getenv: a setuid program reads only the system file. */
	for (unsigned i = 0; i < MS_NSETTINGS; i++)
		env->value[i] = secure_getenv(ms_settings[i].var);
}

static bool privileged(void)
{
	return geteuid() == 0 || getauxval(AT_SECURE);
}

/* Like sshd's StrictModes: a privileged process trusts only a file that
 * nobody else could have written. */
static bool trusted(const char *path, const struct stat *st, char *err)
{
	if (!privileged())
		return true;
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(err, MS_ERRLEN,
			 "configuration file %s is owned by uid %u, not by "
			 "root or this process's user; refusing it",
			 path, (unsigned)st->st_uid);
		return false;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, MS_ERRLEN,
			 "configuration file %s is writable by group or others "
			 "(mode %03o); refusing it (chmod go-w %s)",
			 path, (unsigned)(st->st_mode & 0777), path);
		return false;
	}
	return true;
}

bool ms_load_fd(int fd, const char *path, struct ms_config *cfg, char *err)
{
	struct stat st;
	size_t got = 0;
	ssize_t n = 0;
	char *buf;
	bool ok;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, MS_ERRLEN,
			 "configuration file %s: not a regular file", path);
		return false;
	}
	if (!trusted(path, &st, err))
		return false;
	if (st.st_size > MS_CONFIG_MAX) {
		snprintf(err, MS_ERRLEN,
			 "configuration file %s: larger than %d bytes", path,
			 MS_CONFIG_MAX);
		return false;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, MS_ERRLEN, "configuration file %s: out of memory",
			 path);
		return false;
	}
	for (;;) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (n < 0) {
		snprintf(err, MS_ERRLEN,
			 "cannot read configuration file %s: %s", path,
			 strerror(errno));
		free(buf);
		return false;
	}
	ok = ms_parse_file(buf, got, path, cfg, err);
	free(buf);
	return ok;
}

/* The name of the directory open at dfd, for a message. */
static void dir_name(int dfd, char *buf, size_t size)
{
	char link[32];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", dfd);
	n = readlink(link, buf, size - 1);
	if (n <= 0) {
		snprintf(buf, size, "(an ancestor)");
		return;
	}
	buf[n] = '\0';
}

/* sshd's StrictModes for the directories: each one from the file's up to
 * the root must be owned by root or this process's user and writable by
 * nobody else, or another user could put a file of their choosing (or a
 * link to /etc/shadow) in the file's place. A directory with the sticky
 * bit (/tmp) lets nobody rename or remove another user's entries: it may
 * be writable by all. The walk goes up through "..", so a link on the
 * way is judged by where it leads. dfd is the file's directory. */
static bool dirs_trusted(int dfd, const char *path, char *err)
{
	struct stat st, up;
	int cur = dfd;
	bool ok = false;

	if (fstat(cur, &st) != 0)
		goto fail_errno;
	for (unsigned depth = 0; depth < 256; depth++) {
		char name[256];
		int parent;

		if (st.st_uid != 0 && st.st_uid != geteuid()) {
			dir_name(cur, name, sizeof(name));
			snprintf(err, MS_ERRLEN,
				 "configuration file %s: its directory %.100s "
				 "is "
				 "owned by uid %u, not by root or this "
				 "process's user; refusing it",
				 path, name, (unsigned)st.st_uid);
			goto out;
		}
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
		    !(st.st_mode & S_ISVTX)) {
			dir_name(cur, name, sizeof(name));
			snprintf(err, MS_ERRLEN,
				 "configuration file %s: its directory %.100s "
				 "is "
				 "writable by group or others (mode %03o); "
				 "refusing it",
				 path, name, (unsigned)(st.st_mode & 0777));
			goto out;
		}
		parent = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (parent < 0 || fstat(parent, &up) != 0) {
			if (parent >= 0)
				close(parent);
			goto fail_errno;
		}
		if (cur != dfd)
			close(cur);
		cur = parent;
		if (up.st_dev == st.st_dev && up.st_ino == st.st_ino) {
			ok = true; /* the root: its ".." is itself */
			goto out;
		}
		st = up;
	}
	snprintf(err, MS_ERRLEN,
		 "configuration file %s: more than 256 directories deep; "
		 "refusing it",
		 path);
	goto out;
fail_errno:
	snprintf(err, MS_ERRLEN,
		 "configuration file %s: cannot check its directories: %s",
		 path, strerror(errno));
out:
	if (cur != dfd)
		close(cur);
	return ok;
}

bool ms_load_file(const char *path, bool explicit_path, struct ms_config *cfg,
		  bool *present, char *err)
{
	const char *slash = strrchr(path, '/'), *base = path;
	char dir[4096] = ".";
	bool ok;
	int dfd, fd, e;

	*present = false;
	if (strcmp(path, "/dev/null") == 0)
		return true; /* the usual way to say "no file" */
	if (slash) {
		size_t n = slash == path ? 1 : (size_t)(slash - path);

		if (n >= sizeof(dir)) {
			snprintf(err, MS_ERRLEN,
				 "configuration file %.200s...: name too long",
				 path);
			return false;
		}
		memcpy(dir, path, n);
		dir[n] = '\0';
		base = slash + 1;
	}
	/* The file itself is never reached through a symbolic link
	 * (O_NOFOLLOW); its directory is checked before it is opened. */
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		e = errno;
		goto cannot_open;
	}
	if (privileged() && !dirs_trusted(dfd, path, err)) {
		close(dfd);
		return false;
	}
	fd = openat(dfd, base,
		    O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	e = errno;
	close(dfd);
	if (fd < 0) {
		struct stat st;

		if (e == ELOOP && lstat(path, &st) == 0 &&
		    S_ISLNK(st.st_mode)) {
			snprintf(err, MS_ERRLEN,
				 "configuration file %s is a symbolic link; "
				 "refusing it (name the file itself)",
				 path);
			return false;
		}
		goto cannot_open;
	}
	*present = true;
	ok = ms_load_fd(fd, path, cfg, err);
	close(fd);
	return ok;
cannot_open:
	if (e == ENOENT && !explicit_path)
		return true;
	snprintf(err, MS_ERRLEN, "cannot open configuration file %s: %s", path,
		 strerror(e));
	return false;
}

bool ms_config_read(struct ms_config *cfg, const char *path, bool explicit_path,
		    const struct ms_env *env, bool *present, char *err)
{
	char ignored[MS_ERRLEN];
	bool ok = ms_load_file(path, explicit_path, cfg, present, err);

	/* Both sources are read to the end, so that a valid strict or log
	 * setting counts even next to a broken one; err keeps the first
	 * error. */
	if (!env)
		return ok;
	if (!ok) {
		ms_apply_env(env, cfg, ignored);
		return false;
	}
	return ms_apply_env(env, cfg, err);
}
