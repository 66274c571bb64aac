/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for the block libmptcpshim publishes (team contract, read by
 * `mptcpshim status`): preloaded into a process, it holds one block in
 * its writable data, filled at load from FAKEPUB_TEXT ("key=value;..."
 * with ';' for newlines), FAKEPUB_FLAGS, FAKEPUB_CONVERTED and
 * FAKEPUB_STAYED. Its file name contains "libmptcpshim", as the real
 * library's does, so the reader finds it the same way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct pub {
	char magic[16];
	uint32_t text_len;
	uint32_t flags;
	uint64_t converted;
	uint64_t stayed_tcp;
	uint64_t converted_at_fork;
	uint64_t stayed_at_fork;
	char text[2048];
};

/* in .data (initialised), 8-byte aligned like the real one */
__attribute__((used, aligned(8))) struct pub fakepub_block = {
	.magic = "MPTCPSHIM-PUB-2",
	.text = "filled at load",
};

__attribute__((constructor)) static void fakepub_init(void)
{
	const char *t = getenv("FAKEPUB_TEXT"), *v;
	size_t n = 0;

	if (t) {
		for (; *t && n + 1 < sizeof(fakepub_block.text); t++)
			fakepub_block.text[n++] = *t == ';' ? '\n' : *t;
		fakepub_block.text[n] = '\0';
		fakepub_block.text_len = (uint32_t)n;
	}
	if ((v = getenv("FAKEPUB_FLAGS")))
		fakepub_block.flags = (uint32_t)strtoul(v, NULL, 0);
	if ((v = getenv("FAKEPUB_CONVERTED")))
		fakepub_block.converted = strtoull(v, NULL, 0);
	if ((v = getenv("FAKEPUB_STAYED")))
		fakepub_block.stayed_tcp = strtoull(v, NULL, 0);
}
