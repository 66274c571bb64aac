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
 *   offset 0   char     magic[16]   "MPTCPSHIM-PUB-2", NUL padded
 *   offset 16  uint32   text_len
 *   offset 20  uint32   flags       bit 0: configuration broken
 *   offset 24  uint64   converted   sockets converted (by this process and
 *                                   the ones it was forked from)
 *   offset 32  uint64   stayed_tcp  listed binds/connects left TCP (same)
 *   offset 40  uint64   converted_at_fork  converted when fork() made
 *                                   this process (0 in the first one)
 *   offset 48  uint64   stayed_at_fork     likewise
 *   offset 56  char     text[2048]  "key=value\n" lines
 *
 * A process's own conversions are converted - converted_at_fork; a tool
 * summing over a group of processes counts the whole of converted for a
 * process whose parent is not in the group (nginx's master after it
 * daemonized: the conversions were made before the fork).
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
	uint64_t converted_at_fork;
	uint64_t stayed_at_fork;
	char text[2048];
};
_Static_assert(offsetof(struct ms_pub, converted) == 24, "layout");
_Static_assert(offsetof(struct ms_pub, converted_at_fork) == 40, "layout");
_Static_assert(offsetof(struct ms_pub, text) == 56, "layout");

/* Initialised, so that it lives in .data, in the library's rw mapping. */
__attribute__((used)) static struct ms_pub pub = {.magic = "MPTCPSHIM-PUB-2"};

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

/* A child of fork(): what it inherited, so that a sum over processes
 * (`mptcpshim status`) counts each conversion once. */
void ms_publish_forked(void)
{
	pub.converted_at_fork = atomic_load(&pub.converted);
	pub.stayed_at_fork = atomic_load(&pub.stayed_tcp);
}

void ms_count_converted(void)
{
	atomic_fetch_add_explicit(&pub.converted, 1, memory_order_relaxed);
}

void ms_count_stayed_tcp(void)
{
	atomic_fetch_add_explicit(&pub.stayed_tcp, 1, memory_order_relaxed);
}
