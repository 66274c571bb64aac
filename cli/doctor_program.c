/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor, program: can LD_PRELOAD reach a server binary
 * (set-user-ID, file capabilities, Go, static, another ABI)?
 */
#include "doctor.h"

#include <fcntl.h>
#include <limits.h>
#include <reach.h>

void check_program(const char *path, bool named)
{
	/* who will run it is not known here: any user but its owner */
	const struct reach_runner anyone = {.known = false};
	char what[PATH_MAX + 512], advice[PATH_MAX + 256], q[PATH_MAX + 8];
	struct reach_result r;
	struct finding *f;

	if (!reach_check(AT_FDCWD, path, &anyone, cli_library_path(), &r)) {
		dr_add(named ? SEV_ERROR : SEV_INFO, "program", "%s: %s", path,
		       strerror(errno));
		return;
	}
	reach_explain(&r, NULL, what, sizeof(what), advice, sizeof(advice));
	switch (r.verdict) {
	case REACH_SECURE:
		if (r.secure == REACH_CAPS) {
			f = dr_add(
				SEV_ERROR, "program",
				"%s has file capabilities: the loader ignores "
				"LD_PRELOAD for it, the library is silently "
				"absent",
				r.file);
			dr_fix(f, "setcap -r %s", dr_shq(r.file, q, sizeof(q)));
			dr_detail(f, "then give the capability to its service "
				     "instead: AmbientCapabilities="
				     "CAP_NET_BIND_SERVICE");
		} else {
			bool uid = r.secure == REACH_SETUID;

			f = dr_add(SEV_ERROR, "program",
				   "%s is set-%s-ID: the loader ignores "
				   "LD_PRELOAD for it, the library is silently "
				   "absent",
				   r.file, uid ? "user" : "group");
			dr_fix(f, "chmod %s %s", uid ? "u-s" : "g-s",
			       dr_shq(r.file, q, sizeof(q)));
		}
		break;
	case REACH_GO:
		f = dr_add(
			SEV_WARN, "program",
			"%s is a Go program%s%s: its sockets are made by Go's "
			"own system calls, LD_PRELOAD does not reach them",
			r.file, r.go_version[0] ? " built with " : "",
			r.go_version);
		dr_detail(f, "%s", advice);
		break;
	case REACH_STATIC:
		f = dr_add(SEV_WARN, "program",
			   "%s is statically linked: no dynamic loader, "
			   "LD_PRELOAD does nothing",
			   r.file);
		dr_detail(f,
			  "a dynamically linked build of it, or a server with "
			  "native MPTCP");
		break;
	case REACH_ABI:
		f = dr_add(SEV_ERROR, "program", "%s", what);
		dr_detail(f, "%s", advice);
		break;
	case REACH_OK:
	case REACH_UNKNOWN:
		dr_add(SEV_OK, "program", "%s: LD_PRELOAD reaches it%s", path,
		       strcmp(r.file, path) != 0
			       ? " (a script: through its interpreter)"
			       : "");
		break;
	}
}
