/* SPDX-License-Identifier: MIT */
/*
 * What a running library publishes for `mptcpshim status`.
 *
 * nginx rewrites the memory of its processes' environment (setproctitle),
 * so /proc/PID/environ cannot tell which settings the library runs with.
 * This block, in the library's own writable data, can: a root tool finds
 * the library's mapping in /proc/PID/maps and reads it through
 * /proc/PID/mem. The layout is a contract with cli/status.c:
 *
 *   offset 0   char     magic[16]   "MPTCPSHIM-PUB-1", NUL padded
 *   offset 16  uint32   text_len
 *   offset 20  uint32   flags       bit 0: configuration broken
 *   offset 24  uint64   converted   sockets this process converted
 *   offset 32  uint64   stayed_tcp  listed binds/connects it left TCP
 *   offset 40  char     text[2048]  "key=value\n" lines
 */
#include "internal.h"

#include <stddef.h>
#include <stdio.h>

#ifndef MS_VERSION
#define MS_VERSION "unknown"
#endif

struct ms_pub {
	char magic[16];
	uint32_t text_len;
	uint32_t flags;
	_Atomic uint64_t converted;
	_Atomic uint64_t stayed_tcp;
	char text[2048];
};
_Static_assert(offsetof(struct ms_pub, converted) == 24, "layout");
_Static_assert(offsetof(struct ms_pub, text) == 40, "layout");

/* Initialised, so that it lives in .data, in the library's rw mapping. */
__attribute__((used)) static struct ms_pub pub = {.magic = "MPTCPSHIM-PUB-1"};

void ms_publish_settings(const struct ms_config *cfg, const char *config_path,
			 const char *error)
{
	char settings[sizeof(pub.text) - 64];
	int n;

	/* the settings table's writers: the same syntax as the file */
	if (!ms_config_describe(cfg, settings, sizeof(settings)))
		snprintf(settings, sizeof(settings), "ports=(long list)\n");
	n = snprintf(pub.text, sizeof(pub.text),
		     "version=%s\n%sconfig=%s\n%s%s%s", MS_VERSION, settings,
		     config_path ? config_path : "none", error ? "error=" : "",
		     error ? error : "", error ? "\n" : "");
	pub.text_len = n < 0			       ? 0
		       : (size_t)n >= sizeof(pub.text) ? sizeof(pub.text) - 1
						       : (uint32_t)n;
	pub.flags = cfg->broken ? 1 : 0;
}

/* A child of fork() counts its own conversions: the sum over the
 * processes (what `mptcpshim status` shows) counts each once. */
void ms_publish_forked(void)
{
	atomic_store(&pub.converted, 0);
	atomic_store(&pub.stayed_tcp, 0);
}

void ms_count_converted(void)
{
	atomic_fetch_add_explicit(&pub.converted, 1, memory_order_relaxed);
}

void ms_count_stayed_tcp(void)
{
	atomic_fetch_add_explicit(&pub.stayed_tcp, 1, memory_order_relaxed);
}
