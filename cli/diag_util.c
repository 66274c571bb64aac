/* SPDX-License-Identifier: MIT */
/* Small helpers of doctor, status and probe: JSON strings, reading
 * one-line files, the MPTcpExt counters (running a program with a time
 * limit: cli_run in common.c). */
#include "diag.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

int diag_mib_read(struct diag_mib *out)
{
	char names[8192], vals[8192];
	bool found = false;
	FILE *f = fopen("/proc/net/netstat", "re");

	out->n = 0;
	if (!f)
		return errno;
	/* pairs of lines: "MPTcpExt: A B ..." then "MPTcpExt: 1 2 ..." */
	while (fgets(names, sizeof(names), f) && fgets(vals, sizeof(vals), f)) {
		char *sn, *sv, *n, *v;

		if (strncmp(names, "MPTcpExt:", 9) != 0)
			continue;
		found = true;
		n = strtok_r(names + 9, " \n", &sn);
		v = strtok_r(vals + 9, " \n", &sv);
		for (; n && v && out->n < DIAG_MIB_MAX;
		     n = strtok_r(NULL, " \n", &sn),
		     v = strtok_r(NULL, " \n", &sv)) {
			snprintf(out->name[out->n], sizeof(out->name[0]), "%s",
				 n);
			out->val[out->n++] = strtoull(v, NULL, 10);
		}
	}
	fclose(f);
	return found ? 0 : ENOENT;
}

bool diag_mib_get(const struct diag_mib *m, const char *name,
		  unsigned long long *val)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->name[i], name) == 0) {
			*val = m->val[i];
			return true;
		}
	*val = 0;
	return false;
}

bool diag_netns_is_initial(double *uptime_s)
{
	struct stat a, b;
	char up[64];

	*uptime_s = -1;
	if (diag_read_line("/proc/uptime", up, sizeof(up)))
		*uptime_s = strtod(up, NULL);
	/* pid 1's namespace: the initial one, unless this runs in a
	 * container (whose namespace is then "since boot" of the container) */
	return stat("/proc/1/ns/net", &a) == 0 &&
	       stat("/proc/self/ns/net", &b) == 0 && a.st_ino == b.st_ino &&
	       a.st_dev == b.st_dev;
}
