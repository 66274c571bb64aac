/* SPDX-License-Identifier: MIT */
/*
 * Can an LD_PRELOAD library reach this program? The checks doctor makes on
 * a server's binary (and that run/enable can share, see cli/reach.c):
 * set-user-ID or set-group-ID bits and file capabilities (the loader then
 * runs in secure mode and ignores LD_PRELOAD: the library is silently
 * absent), a Go program (its net package makes system calls itself: no
 * libc socket() to interpose), a static binary (no loader at all).
 */
#ifndef MPTCPSHIM_PROGCHECK_H
#define MPTCPSHIM_PROGCHECK_H

#include <stdbool.h>

struct prog_info {
	bool elf;    /* an ELF file we could read */
	bool script; /* starts with #! (the interpreter is what loads) */
	bool setuid, setgid;
	bool filecaps;	     /* security.capability is set */
	bool is_static;	     /* no PT_INTERP: no dynamic loader */
	bool go;	     /* a Go program (.go.buildinfo or a Go build id) */
	char go_version[32]; /* "go1.22.5" when the build info says */
};

/* Inspects the file at path. Returns 0 or an errno. */
int prog_inspect(const char *path, struct prog_info *out);
/* True if LD_PRELOAD cannot reach the program. */
bool prog_unreachable(const struct prog_info *p);

#endif
