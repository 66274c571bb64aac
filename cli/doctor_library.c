/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor, library and config: the library file the preload names,
 * and the configuration the library will read.
 */
#include "doctor.h"

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

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
		dr_fix(f,
		       "apt-get install mptcpshim  (or set MPTCPSHIM_LIBRARY "
		       "to the library's path)");
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
	struct finding *f;

	if (!dr.cfg_ok) {
		f = dr_add(SEV_ERROR, "config", "configuration: %s", err);
		dr_fix(f, "mptcpshim check %s  (after correcting it)", path);
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
