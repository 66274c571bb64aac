/* SPDX-License-Identifier: MIT */
/*
 * Can LD_PRELOAD reach a program? The loader preloads the library only
 * into a dynamically linked program of its own ELF class that does not run
 * in secure-execution mode, and the library sees only the calls made
 * through libc. `run` and `enable` warn before doing nothing silently;
 * `doctor` can check a running server's /proc/PID/exe the same way.
 *
 * Usage:
 *	struct reach_runner as;
 *	struct reach_result r;
 *	char what[512], advice[512];
 *
 *	reach_runner_self(&as);		(or fill it from a unit's User=)
 *	if (reach_check(AT_FDCWD, "/usr/sbin/nginx", &as, library, &r) &&
 *	    reach_explain(&r, getenv("GODEBUG"), what, sizeof(what), advice,
 *			  sizeof(advice)))
 *		printf("warning: %s\n%s\n", what, advice);
 */
#ifndef MPTCPSHIM_REACH_H
#define MPTCPSHIM_REACH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum reach_verdict {
	REACH_OK,      /* dynamically linked: the library is preloaded */
	REACH_UNKNOWN, /* could not tell: unreadable, not ELF, foreign */
	REACH_STATIC,  /* no program interpreter: no loader, no preload */
	REACH_GO,      /* Go: its socket calls bypass libc */
	REACH_SECURE,  /* setuid/setgid/capabilities: LD_PRELOAD ignored */
	REACH_ABI,     /* another ELF class or machine than the library */
};

/* Who runs the program: whether the loader enters secure-execution mode
 * depends on it (a setuid file run by its owner does not). */
struct reach_runner {
	uid_t uid;	   /* the real user id it runs with */
	gid_t gid;	   /* the real group id */
	bool known;	   /* false: an unknown non-root user (DynamicUser=) */
	bool no_new_privs; /* setuid bits and file capabilities are ignored */
};

struct reach_result {
	enum reach_verdict verdict;
	char file[PATH_MAX]; /* the file examined (a script's interpreter) */
	char why[160];	     /* REACH_SECURE, REACH_ABI: the details */
	/* REACH_SECURE: which of the file's properties it is */
	enum { REACH_SETUID, REACH_SETGID, REACH_CAPS } secure;
	char go_version[32]; /* REACH_GO: "go1.22.5", "" if not found */
	/* REACH_GO: the module's default for multipathtcp when it differs
	 * from its Go version's ("0" for a go.mod older than 1.24), or "" */
	char go_default_godebug[8];
};

/* The current process as the runner (`mptcpshim run`). */
void reach_runner_self(struct reach_runner *as);

/* Examines the program at path: absolute, or relative to the working
 * directory. With a rootfd other than AT_FDCWD, path is resolved inside
 * that directory (openat2 RESOLVE_IN_ROOT), never outside it. library:
 * the library's file, for the ELF class check (NULL: not checked).
 * Returns false, with errno, only if path cannot be opened. */
bool reach_check(int rootfd, const char *path, const struct reach_runner *as,
		 const char *library, struct reach_result *r);

/* What a verdict means, as one line (what), and what to do instead, as
 * another (advice); godebug is the GODEBUG value the program will run
 * with (NULL: none). Returns false for REACH_OK and REACH_UNKNOWN
 * (nothing to say). */
bool reach_explain(const struct reach_result *r, const char *godebug,
		   char *what, size_t wlen, char *advice, size_t alen);

#endif
