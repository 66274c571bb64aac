/* SPDX-License-Identifier: MIT */
/* The results channel (out.h). */
#include "out.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct outbuf {
	unsigned len;
	char text[OUT_SIZE - sizeof(unsigned)];
};
static struct outbuf *buf;

int out_attach(void)
{
	const char *path = getenv(OUT_ENV);
	int fd;

	if (!path || (fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return -1;
	buf = mmap(NULL, OUT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (buf == MAP_FAILED) {
		buf = NULL;
		return -1;
	}
	return 0;
}

void out(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;
	unsigned at;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (!buf) {
		if (write(1, line, (size_t)n) < 0)
			return;
		return;
	}
	at = __atomic_fetch_add(&buf->len, (unsigned)n, __ATOMIC_SEQ_CST);
	if (at + (unsigned)n <= sizeof(buf->text))
		memcpy(buf->text + at, line, (size_t)n);
}

int out_create(void)
{
	int fd = memfd_create("difftest-out", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, OUT_SIZE) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

char *out_read(int fd)
{
	struct outbuf *b = mmap(NULL, OUT_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	char *s;
	unsigned n;

	if (b == MAP_FAILED)
		return NULL;
	n = b->len;
	if (n > sizeof(b->text))
		n = sizeof(b->text);
	s = malloc(n + 1);
	if (s) {
		memcpy(s, b->text, n);
		s[n] = 0;
	}
	munmap(b, OUT_SIZE);
	return s;
}
