/* SPDX-License-Identifier: MIT */
/* The mptcpshim command: what its subcommands share. */
#ifndef MPTCPSHIM_CLI_H
#define MPTCPSHIM_CLI_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>

/* Exit statuses of the subcommands (run: the command's own status). */
#define EX_OK	   0
#define EX_FAIL	   1
#define EX_USAGE_2 2

/* Messages: "mptcpshim SUBCOMMAND: ..." on stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the message and "try 'mptcpshim SUB --help'", returns 2. */
int cli_usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern const char *cli_sub; /* the subcommand, for messages */

/* The library to preload: $MPTCPSHIM_LIBRARY, else the installed one,
 * else the one in the build tree next to this program. */
const char *cli_library_path(void);
/* The configuration file the library reads, and whether it was named
 * explicitly ($MPTCPSHIM_CONFIG): a missing explicit file is an error. */
const char *cli_config_path(bool *explicit_path);
/* True for an LD_PRELOAD entry that is the library at path. */
bool cli_is_library(const char *entry, const char *path);

/* Loads a configuration file into cfg the way the library does: a missing
 * non-explicit file is no error, /dev/null is "no file". Sets *present. */
/* The library's environment overrides, as this process sees them. */

/* Option parsing: matches "--name VALUE" and "--name=VALUE". Advances *i
 * past the value. Returns 1 if matched, 0 if not, -1 if the value is
 * missing (message printed). */
int cli_opt_value(int argc, char **argv, int *i, const char *name,
		  const char **value);
bool cli_is_help(const char *arg);

/* Runs argv (PATH lookup), captures up to len-1 bytes of its stdout into
 * out (NUL terminated; stderr goes to /dev/null unless keep_stderr).
 * Returns the exit status, or -1 if it could not run. */
int cli_capture(char *const argv[], char *out, size_t len, bool keep_stderr);
/* Is systemd the running init (sd_booted())? */
bool cli_systemd_running(void);
/* Is this program on PATH? */
bool cli_have_program(const char *name);

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_enable(int argc, char **argv);
int cmd_disable(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_doctor(int argc, char **argv);

#endif
