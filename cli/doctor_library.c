/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor, library and config: the library file the preload names,
 * and the configuration the library will read.
 */
#include "doctor.h"

#include <elf.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <unistd.h>

/* Where the library is looked for, and how to point to it: mptcpshim is
 * in no archive, so no package to install is named. */
static void library_advice(struct finding *f, const char *lib)
{
	static const char *const where[] = {"/usr/lib/*/libmptcpshim.so",
					    "/usr/lib/libmptcpshim.so",
					    "/usr/local/lib/*/libmptcpshim.so",
					    "/usr/local/lib/libmptcpshim.so",
					    "/opt/*/lib*/libmptcpshim.so",
					    "/opt/*/lib/*/libmptcpshim.so"};
	const char *env = getenv("MPTCPSHIM_LIBRARY");
	char q[PATH_MAX + 8];

	if (env && *env)
		dr_detail(f, "MPTCPSHIM_LIBRARY names it (%s)", env);
	else
		dr_detail(f,
			  "looked for in MPTCPSHIM_LIBRARY (not set), at %s "
			  "(where meson install and the Debian package "
			  "built from this source put it), and beside this "
			  "program's build tree",
			  MS_LIBRARY);
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		glob_t g;

		if (glob(where[i], 0, NULL, &g) != 0)
			continue;
		for (size_t k = 0; k < g.gl_pathc; k++) {
			if (strcmp(g.gl_pathv[k], lib) == 0 ||
			    access(g.gl_pathv[k], R_OK) != 0)
				continue;
			dr_detail(f, "found at %s; to use it:", g.gl_pathv[k]);
			dr_fix(f, "export MPTCPSHIM_LIBRARY=%s",
			       dr_shq(g.gl_pathv[k], q, sizeof(q)));
			globfree(&g);
			return;
		}
		globfree(&g);
	}
	dr_detail(f, "mptcpshim is in no package archive: build and "
		     "install it from its source (meson setup build && "
		     "meson install -C build), or set MPTCPSHIM_LIBRARY to "
		     "the path of libmptcpshim.so");
}

void check_library(void)
{
	const char *lib = cli_library_path();
	unsigned char h[EI_NIDENT + 4];
	ssize_t n = -1;
	struct finding *f;
	int fd = open(lib, O_RDONLY | O_CLOEXEC), e = errno;

	if (fd >= 0) {
		n = read(fd, h, sizeof(h));
		close(fd);
	}
	if (fd < 0) {
		f = dr_add(SEV_ERROR, "library", "library %s: %s", lib,
			   strerror(e));
		library_advice(f, lib);
		return;
	}
	if (n < (ssize_t)sizeof(h) || memcmp(h, ELFMAG, SELFMAG) != 0 ||
	    h[EI_NIDENT] != ET_DYN) {
		dr_add(SEV_ERROR, "library",
		       "library %s is not a shared library", lib);
		return;
	}
	dr_add(SEV_OK, "library", "library %s", lib);
}

static char cfg_err[MS_ERRLEN];
static bool cfg_present;

/* Read first: the checks use its tolerate and connect settings. */
void load_config(void)
{
	bool explicit_path;
	const char *path = cli_config_path(&explicit_path);
	struct ms_env env;

	ms_config_init(&dr.cfg);
	ms_env_read(&env);
	dr.cfg_ok = ms_config_read(&dr.cfg, path, explicit_path, &env,
				   &cfg_present, cfg_err);
}

void check_config(void)
{
	bool explicit_path;
	const char *path = cli_config_path(&explicit_path);
	const char *err = cfg_err;
	bool present = cfg_present;
	char q[PATH_MAX + 8];
	struct finding *f;

	if (!dr.cfg_ok) {
		f = dr_add(SEV_ERROR, "config", "configuration: %s", err);
		dr_detail(f, "correct it, then check it again:");
		dr_fix(f, "mptcpshim check %s", dr_shq(path, q, sizeof(q)));
	} else if (dr.cfg.ports.mode == MS_LIST_NONE) {
		dr_add(SEV_WARN, "config",
		       "configuration: ports = none (%s): nothing will be "
		       "converted",
		       ms_source_name(dr.cfg.ports_src));
	} else {
		dr_add(SEV_OK, "config", "configuration %s%s", path,
		       present ? ""
			       : " (not present: every TCP listener is "
				 "converted)");
	}
}
