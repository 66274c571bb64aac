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

/* Like sshd's StrictModes: a privileged process trusts only a file that
 * nobody else could have written. */
static bool trusted(const char *path, const struct stat *st, char *err)
{
	if (geteuid() != 0 && !getauxval(AT_SECURE))
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

bool ms_load_file(const char *path, bool explicit_path, struct ms_config *cfg,
		  bool *present, char *err)
{
	bool ok;
	int fd;

	*present = false;
	if (strcmp(path, "/dev/null") == 0)
		return true; /* the usual way to say "no file" */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT && !explicit_path)
			return true;
		snprintf(err, MS_ERRLEN,
			 "cannot open configuration file %s: %s", path,
			 strerror(e));
		return false;
	}
	*present = true;
	ok = ms_load_fd(fd, path, cfg, err);
	close(fd);
	return ok;
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
