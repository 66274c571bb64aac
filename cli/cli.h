/* SPDX-License-Identifier: MIT */
/* The mptcpshim command: what its subcommands share. */
#ifndef MPTCPSHIM_CLI_H
#define MPTCPSHIM_CLI_H

#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

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

/* getopt_long(3) with the command's own messages. optstring is the short
 * options without getopt's leading '+' or ':' (added here); in_order stops
 * at the first operand (run: what follows is the command's). Returns the
 * option, -1 after the last one (operands from optind), or '?' when the
 * message ("unknown option '--x'", "option --ports needs a value") is
 * printed: the caller returns EX_USAGE_2. */
int cli_getopt(int argc, char **argv, bool in_order, const char *optstring,
	       const struct option *longopts);

/* The options of the settings table (--ports LIST ... --strict) that run
 * and enable share: getopt_long returns CLI_OPT_SETTING + the setting's
 * id. Fills out (room for MS_NSETTINGS entries), returns how many. */
#define CLI_OPT_SETTING 0x100
size_t cli_setting_options(struct option *out);
/* Their --help lines, from the table's one-line docs. */
void cli_setting_help(FILE *f);
/* Checks an option's value with the table's parser; the message names the
 * option ("--ports: invalid entry ..."). Not for config. */
bool cli_setting_valid(const struct ms_setting *st, const char *value);

/* Writes s for a one-line message: control characters become \n, \t or
 * \xHH, so that a value never breaks the line. Returns buf. */
const char *cli_quote(const char *s, char *buf, size_t len);
/* Does s hold a control character (a newline, a tab, DEL...)? */
bool cli_has_control(const char *s);

/* Old hand-written option matching, kept for doctor.c and status.c until
 * their rewrite (diag) lands; new code uses cli_getopt. */
int cli_opt_value(int argc, char **argv, int *i, const char *name,
		  const char **value);
bool cli_is_help(const char *arg);

/* Runs argv (PATH lookup, then /usr/sbin and /sbin), captures up to
 * len-1 bytes of its stdout into out (NUL terminated). Its stderr goes to
 * /dev/null, to ours, or into out too; it is killed after timeout_s
 * seconds (0: no limit). Returns the exit status, or -1 if it could not
 * run or was killed. */
enum cli_stderr { CLI_STDERR_NULL, CLI_STDERR_KEEP, CLI_STDERR_CAPTURE };
int cli_run(char *const argv[], char *out, size_t len, enum cli_stderr err,
	    int timeout_s);
/* cli_run with CLI_TIMEOUT; stderr to ours if keep_stderr, else dropped. */
#define CLI_TIMEOUT 60
int cli_capture(char *const argv[], char *out, size_t len, bool keep_stderr);
/* Opens path inside the directory rootfd: openat2 with RESOLVE_IN_ROOT
 * (symbolic links are resolved as if rootfd were "/", ".." stops there)
 * and RESOLVE_NO_MAGICLINKS; as open(2) when rootfd is AT_FDCWD. -1 with
 * errno on failure (ENOSYS: a kernel older than 5.6, without openat2). */
int cli_open_in_root(int rootfd, const char *path, int flags);
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
int cmd_probe(int argc, char **argv);

#endif
