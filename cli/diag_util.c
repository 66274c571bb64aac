/* SPDX-License-Identifier: MIT */
/* Small helpers of doctor and status: JSON strings, reading one-line
 * files (running a program with a time limit: cli_run in common.c). */
#include "diag.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
