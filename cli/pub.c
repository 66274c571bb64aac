/* SPDX-License-Identifier: MIT */
/*
 * Reads the block a running libmptcpshim publishes (team contract): in
 * the library's writable data, found through /proc/PID/maps and read
 * through /proc/PID/mem (ptrace access: root or the process's user).
 *
 *   offset 0   char     magic[16]   "MPTCPSHIM-PUB-2" then NUL padding
 *   offset 16  uint32   text_len
 *   offset 20  uint32   flags       bit 0: configuration broken
 *   offset 24  uint64   converted   (with what it inherited at fork())
 *   offset 32  uint64   stayed_tcp  (likewise)
 *   offset 40  uint64   converted_at_fork
 *   offset 48  uint64   stayed_at_fork
 *   offset 56  char     text[2048]  "key=value\n" lines
 * ("MPTCPSHIM-PUB-1", the first layout, has no *_at_fork: text at 40.)
 */
#include "diag.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PUB_MAGIC    "MPTCPSHIM-PUB-2"
#define PUB_MAGIC1   "MPTCPSHIM-PUB-1"
#define PUB_HEAD     56
#define PUB_HEAD1    40
#define PUB_SIZE     (PUB_HEAD + PUB_TEXT_MAX)
#define PUB_SCAN_MAX (16u << 20) /* never read more than this per range */

bool pub_parse(const unsigned char *mem, size_t len, struct pub_block *out)
{
	static const char magic[16] = PUB_MAGIC, magic1[16] = PUB_MAGIC1;

	/* the block is 8-byte aligned (it holds uint64 fields) */
	for (size_t off = 0; off + PUB_HEAD1 <= len; off += 8) {
		size_t head;
		uint32_t tl;

		if (memcmp(mem + off, magic, sizeof(magic)) == 0 &&
		    off + PUB_HEAD <= len)
			head = PUB_HEAD;
		else if (memcmp(mem + off, magic1, sizeof(magic1)) == 0)
			head = PUB_HEAD1;
		else
			continue;
		memcpy(&tl, mem + off + 16, 4);
		memcpy(&out->flags, mem + off + 20, 4);
		memcpy(&out->converted, mem + off + 24, 8);
		memcpy(&out->stayed_tcp, mem + off + 32, 8);
		out->converted_at_fork = out->stayed_at_fork = 0;
		if (head == PUB_HEAD) {
			memcpy(&out->converted_at_fork, mem + off + 40, 8);
			memcpy(&out->stayed_at_fork, mem + off + 48, 8);
		}
		if (tl > PUB_TEXT_MAX)
			tl = PUB_TEXT_MAX;
		if (off + head + tl > len)
			tl = (uint32_t)(len - off - head);
		memcpy(out->text, mem + off + head, tl);
		out->text[tl] = '\0';
		out->found = true;
		return true;
	}
	return false;
}

bool pub_value(const struct pub_block *b, const char *key, char *val,
	       size_t len)
{
	size_t kl = strlen(key);

	for (const char *l = b->text; *l;) {
		size_t n = strcspn(l, "\n");

		if (n > kl && strncmp(l, key, kl) == 0 && l[kl] == '=') {
			snprintf(val, len, "%.*s", (int)(n - kl - 1),
				 l + kl + 1);
			return true;
		}
		l += n;
		if (*l)
			l++;
	}
	return false;
}

/* Reads [lo, hi) of /proc/PID/mem and looks for the block. */
static bool scan_range(int mem, uint64_t lo, uint64_t hi, struct pub_block *out)
{
	size_t len = (size_t)(hi - lo);
	unsigned char *buf;
	ssize_t n;
	bool ok;

	if (hi <= lo)
		return false;
	if (len > PUB_SCAN_MAX)
		len = PUB_SCAN_MAX;
	buf = malloc(len);
	if (!buf)
		return false;
	n = pread(mem, buf, len, (off_t)lo);
	ok = n > 0 && pub_parse(buf, (size_t)n, out);
	free(buf);
	return ok;
}

int pub_read(int pid, struct pub_block *out)
{
	char path[64], line[4096];
	uint64_t lo, hi, lib_end = 0;
	FILE *maps;
	int mem = -1, e = 0;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = fopen(path, "re");
	if (!maps)
		return errno;
	while (fgets(line, sizeof(line), maps)) {
		char perms[8] = "", file[4096];
		bool lib, anon_after;

		file[0] = '\0';
		if (sscanf(line,
			   "%" SCNx64 "-%" SCNx64 " %7s %*s %*s %*s %4095[^\n]",
			   &lo, &hi, perms, file) < 3)
			continue;
		lib = strstr(file, "libmptcpshim") != NULL;
		/* .bss past the file's end is an anonymous mapping that
		 * directly follows the library's last one */
		anon_after = !lib && file[0] == '\0' && lo == lib_end;
		if (lib)
			out->mapped = true;
		lib_end = lib ? hi : 0;
		if ((!lib && !anon_after) || strncmp(perms, "rw", 2) != 0)
			continue;
		if (mem < 0) {
			snprintf(path, sizeof(path), "/proc/%d/mem", pid);
			mem = open(path, O_RDONLY | O_CLOEXEC);
			if (mem < 0) {
				e = errno;
				break;
			}
		}
		if (scan_range(mem, lo, hi, out))
			break;
	}
	fclose(maps);
	if (mem >= 0)
		close(mem);
	return e;
}
