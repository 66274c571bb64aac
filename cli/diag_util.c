/* SPDX-License-Identifier: MIT */
/* Small helpers of doctor and status: JSON strings, running a program
 * with a time limit, reading one-line files. */
#include "diag.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

int diag_capture(char *const argv[], char *out, size_t len, int timeout_s,
		 bool with_stderr)
{
	int p[2], status;
	size_t got = 0;
	long deadline = now_ms() + timeout_s * 1000L;
	bool killed = false;
	pid_t pid;

	if (len)
		out[0] = '\0';
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null >= 0) {
			dup2(null, 0);
			if (!with_stderr)
				dup2(null, 2);
		}
		dup2(p[1], 1);
		if (with_stderr)
			dup2(p[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		long left = deadline - now_ms();
		char sink[512];
		ssize_t n;

		if (left <= 0) {
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		if (poll(&pf, 1, (int)left) == 0)
			continue;
		if (got + 1 < len)
			n = read(p[0], out + got, len - 1 - got);
		else
			n = read(p[0], sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (got + 1 < len)
			got += (size_t)n;
	}
	close(p[0]);
	if (len)
		out[got] = '\0';
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (killed || !WIFEXITED(status) || WEXITSTATUS(status) == 127)
		return -1;
	return WEXITSTATUS(status);
}

bool diag_read_line(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	int e;

	if (len)
		buf[0] = '\0';
	if (fd < 0)
		return false;
	n = read(fd, buf, len ? len - 1 : 0);
	e = errno;
	close(fd);
	if (n < 0) {
		buf[0] = '\0';
		errno = e;
		return false;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

const char *diag_which(const char *name, char *buf, size_t len)
{
	const char *path = getenv("PATH");
	char dirs[4096];

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? name : NULL;
	snprintf(dirs, sizeof(dirs), "%s:/usr/local/sbin:/usr/sbin:/sbin",
		 path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (char *d = dirs; *d;) {
		size_t n = strcspn(d, ":");

		if (n > 0 &&
		    snprintf(buf, len, "%.*s/%s", (int)n, d, name) < (int)len &&
		    access(buf, X_OK) == 0)
			return buf;
		d += n;
		if (*d)
			d++;
	}
	return NULL;
}
