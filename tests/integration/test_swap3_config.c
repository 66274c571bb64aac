/* SPDX-License-Identifier: MIT */
/*
 * Issue 21 case 13: MPTCPSHIM_CONFIG of a root process pointing to a
 * symbolic link in a directory another user can write followed it to a
 * root-only file (/etc/shadow) and quoted its first line in the error.
 * Now the file is opened with O_NOFOLLOW (a link is refused, named), the
 * directories up to / are checked as sshd's StrictModes does for a
 * privileged process, and nothing of a refused file is read.
 *
 * Each case runs /bin/true with the library preloaded and the file in
 * MPTCPSHIM_CONFIG, and reads what the library wrote to stderr.
 */
#include "swap.h"

#include <sys/stat.h>
#include <sys/wait.h>

extern char **environ;

#define SECRET "root:$y$j9T$notreallyasecret:19000:0:99999:7:::"

static char top[64];

/* What the library says at load with MPTCPSHIM_CONFIG=path. */
static void load_with(const char *path, char *out, size_t size)
{
	char cfg[4200], log[] = "MPTCPSHIM_LOG=error", name[] = "true";
	char *env[256];
	int p[2], n = 0, status;
	size_t got = 0;
	pid_t pid;

	snprintf(cfg, sizeof(cfg), "MPTCPSHIM_CONFIG=%s", path);
	for (char **e = environ; *e && n < 250; e++)
		if (strncmp(*e, "MPTCPSHIM_CONFIG=", 17) != 0 &&
		    strncmp(*e, "MPTCPSHIM_LOG=", 14) != 0 &&
		    strncmp(*e, "MPTCPSHIM_STRICT=", 17) != 0)
			env[n++] = *e;
	env[n++] = cfg;
	env[n++] = log;
	env[n] = NULL;
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = {name, NULL};

		dup2(p[1], 2);
		execve("/bin/true", argv, env);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t r = read(p[0], out + got, size - 1 - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	out[got] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	printf("# %s: %s", path, got ? out : "(nothing)\n");
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static int setup(void **state)
{
	(void)state;
	strcpy(top, "/tmp/mptcpshim-cfg.XXXXXX");
	return mkdtemp(top) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

/* The control: the same invalid file where it is trusted is quoted (so
 * the absence of the text below means something). */
static void test_invalid_file_is_quoted(void **state)
{
	char path[128], out[4096];

	(void)state;
	snprintf(path, sizeof(path), "%s/plain.conf", top);
	write_file(path, SECRET "\n", 0600);
	load_with(path, out, sizeof(out));
	assert_non_null(strstr(out, "notreallyasecret"));
}

/* A link, wherever it points, is refused by name, and its target's
 * content never shows. */
static void test_symlink_refused(void **state)
{
	char target[128], link[128], out[4096];

	(void)state;
	snprintf(target, sizeof(target), "%s/shadow", top);
	snprintf(link, sizeof(link), "%s/link.conf", top);
	write_file(target, SECRET "\n", 0600);
	assert_int_equal(symlink(target, link), 0);
	load_with(link, out, sizeof(out));
	assert_non_null(strstr(out, link));
	assert_non_null(strstr(out, "symbolic link"));
	assert_null(strstr(out, "notreallyasecret"));
	assert_non_null(strchr(out, '\n'));
	assert_null(strchr(strchr(out, '\n') + 1, '\n')); /* one line */
}

/* A privileged process refuses a file in a directory that another user
 * owns or that group or others may write (not sticky), and reads
 * nothing of it. A sticky one (/tmp, where this test lives) is fine. */
static void test_directory_chain(void **state)
{
	char dir[128], path[160], out[4096];

	(void)state;
	if (geteuid() != 0) {
		printf("# not root: the directory checks are for privileged "
		       "processes only\n");
		skip();
	}
	/* writable by others */
	snprintf(dir, sizeof(dir), "%s/open", top);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	snprintf(path, sizeof(path), "%s/x.conf", dir);
	write_file(path, SECRET "\n", 0600);
	load_with(path, out, sizeof(out));
	assert_non_null(strstr(out, "writable by group or others"));
	assert_non_null(strstr(out, dir));
	assert_null(strstr(out, "notreallyasecret"));

	/* owned by another user, and a level higher up */
	snprintf(dir, sizeof(dir), "%s/theirs", top);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(chown(dir, 65534, 65534), 0);
	snprintf(path, sizeof(path), "%s/sub/x.conf", dir);
	write_file(path, SECRET "\n", 0600);
	load_with(path, out, sizeof(out));
	assert_non_null(strstr(out, "owned by uid 65534"));
	assert_non_null(strstr(out, dir));
	assert_null(strstr(out, "notreallyasecret"));

	/* sticky and writable by all: fine (as /tmp is) */
	snprintf(dir, sizeof(dir), "%s/sticky", top);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 01777), 0);
	snprintf(path, sizeof(path), "%s/x.conf", dir);
	write_file(path, "ports = 41000\n", 0644);
	load_with(path, out, sizeof(out));
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_file_is_quoted),
		cmocka_unit_test(test_symlink_refused),
		cmocka_unit_test(test_directory_chain),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
