/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim: runs programs with libmptcpshim preloaded, adds it to systemd
 * units, shows what the kernel says about a server's sockets, checks the
 * machine and the configuration. See mptcpshim(1).
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MS_VERSION
#define MS_VERSION "?"
#endif

static const char main_help[] =
	"Usage: mptcpshim COMMAND [OPTIONS]\n"
	"\n"
	"Makes unmodified TCP servers accept Multipath TCP on chosen ports,\n"
	"with the LD_PRELOAD library libmptcpshim.\n"
	"\n"
	"Commands:\n"
	"  run [OPTIONS] -- CMD [ARGS...]  run CMD with the library preloaded\n"
	"  enable UNIT [OPTIONS]           add the library to a systemd unit "
	"(drop-in)\n"
	"  disable UNIT [--root DIR]       remove what enable wrote\n"
	"  status PID | --unit UNIT        MPTCP and TCP sockets of a server\n"
	"  doctor                          can MPTCP work here? what to fix\n"
	"  check [FILE]                    validate a configuration, show "
	"settings\n"
	"\n"
	"'mptcpshim COMMAND --help' describes each command; see also "
	"mptcpshim(1)\n"
	"and mptcpshim.conf(5).\n";

static const char run_help[] =
	"Usage: mptcpshim run [--ports LIST] [--log LEVEL] [--strict]\n"
	"                     [--config FILE] -- CMD [ARGS...]\n"
	"\n"
	"Runs CMD with libmptcpshim preloaded: its TCP listeners on the "
	"listed\n"
	"ports become MPTCP listeners. An LD_PRELOAD already set is kept; the\n"
	"library is appended to it, never twice.\n"
	"\n"
	"  --ports LIST    ports to convert, e.g. 443,8000-8099,[::1]:8443,\n"
	"                  or all, or none (sets MPTCPSHIM_PORTS)\n"
	"  --log LEVEL     off, error, warn, info or debug (MPTCPSHIM_LOG)\n"
	"  --strict        an invalid configuration stops the program at "
	"load,\n"
	"                  and bind() fails where it would stay TCP\n"
	"                  (MPTCPSHIM_STRICT=1)\n"
	"  --config FILE   configuration file (MPTCPSHIM_CONFIG); /dev/null "
	"for none\n"
	"\n"
	"The settings are checked with the library's parser before CMD runs.\n"
	"Exit status: CMD's; 2 for invalid options or configuration, 126 if\n"
	"CMD cannot be executed, 127 if it is not found.\n";

static const char check_help[] =
	"Usage: mptcpshim check [--no-env] [FILE]\n"
	"\n"
	"Validates a configuration file with the library's own parser and "
	"prints\n"
	"the settings the library would use, each with its source (file,\n"
	"environment or default). Without FILE: $MPTCPSHIM_CONFIG, else\n"
	"the system file. The MPTCPSHIM_PORTS, MPTCPSHIM_CONNECT,\n"
	"MPTCPSHIM_TOLERATE, MPTCPSHIM_LOG and MPTCPSHIM_STRICT variables of\n"
	"this environment are applied as the library applies them,\n"
	"unless --no-env is given.\n"
	"\n"
	"Exit status: 0 valid, 1 invalid (the parser's message on stderr),\n"
	"2 bad arguments.\n";

/* Adds the library to the LD_PRELOAD value cur (may be NULL). Returns a
 * malloc'ed string, or NULL on allocation failure. */
static char *preload_with(const char *cur, const char *lib)
{
	char *copy, *save = NULL, *tok, *out;
	bool present = false;

	if (!cur || !*cur)
		return strdup(lib);
	copy = strdup(cur);
	if (!copy)
		return NULL;
	for (tok = strtok_r(copy, ": ", &save); tok;
	     tok = strtok_r(NULL, ": ", &save))
		if (cli_is_library(tok, lib))
			present = true;
	free(copy);
	if (present)
		return strdup(cur);
	if (asprintf(&out, "%s:%s", cur, lib) < 0)
		return NULL;
	return out;
}

int cmd_run(int argc, char **argv)
{
	const char *ports = NULL, *log = NULL, *config = NULL, *lib;
	char err[MS_ERRLEN], abs[PATH_MAX], *preload;
	struct ms_config cfg;
	struct ms_portlist pl = {0};
	enum ms_log_level lvl;
	struct ms_env env;
	bool strict = false, explicit_path, present;
	const char *path;
	int i, r;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-')
			break;
		if (cli_is_help(a)) {
			fputs(run_help, stdout);
			return EX_OK;
		}
		if (strcmp(a, "--strict") == 0) {
			strict = true;
			continue;
		}
		if ((r = cli_opt_value(argc, argv, &i, "--ports", &ports)) ||
		    (r = cli_opt_value(argc, argv, &i, "--log", &log)) ||
		    (r = cli_opt_value(argc, argv, &i, "--config", &config))) {
			if (r < 0)
				return EX_USAGE_2;
			continue;
		}
		return cli_usage_err("unknown option '%s'", a);
	}
	if (i >= argc)
		return cli_usage_err("no command to run (mptcpshim run "
				     "[OPTIONS] -- CMD [ARGS...])");

	/* Each option with the library's parser, named as the user wrote
	 * it, then the whole configuration as the library will see it. */
	if (ports && !ms_parse_ports(ports, &pl, err))
		return cli_usage_err("--ports: %s", err);
	ms_portlist_free(&pl);
	if (log && !ms_parse_log(log, &lvl, err))
		return cli_usage_err("--log: %s", err);
	if (config) {
		if (*config == '\0')
			return cli_usage_err("--config: empty file name");
		if (strcmp(config, "/dev/null") != 0 && config[0] != '/') {
			if (!realpath(config, abs)) {
				cli_err("--config: %s: %s", config,
					strerror(errno));
				return EX_USAGE_2;
			}
			config = abs;
		}
		path = config;
		explicit_path = true;
	} else {
		path = cli_config_path(&explicit_path);
	}
	ms_config_init(&cfg);
	ms_env_read(&env);
	if (ports)
		env.ports = ports;
	if (log)
		env.log = log;
	if (strict)
		env.strict = "1";
	if (!ms_config_read(&cfg, path, explicit_path, &env, &present, err)) {
		ms_config_free(&cfg);
		cli_err("%s", err);
		cli_err("invalid configuration: not starting %s (see "
			"'mptcpshim check')",
			argv[i]);
		return EX_USAGE_2;
	}
	ms_config_free(&cfg);

	lib = cli_library_path();
	if (access(lib, R_OK) != 0) {
		cli_err("the library %s: %s (install mptcpshim, or set "
			"MPTCPSHIM_LIBRARY)",
			lib, strerror(errno));
		return EX_USAGE_2;
	}
	if (strpbrk(lib, ": ")) {
		cli_err("the library path %s contains ':' or a space, which "
			"LD_PRELOAD cannot hold",
			lib);
		return EX_USAGE_2;
	}
	preload = preload_with(getenv("LD_PRELOAD"), lib);
	if (!preload || setenv("LD_PRELOAD", preload, 1) != 0 ||
	    (config && setenv("MPTCPSHIM_CONFIG", config, 1) != 0) ||
	    (ports && setenv("MPTCPSHIM_PORTS", ports, 1) != 0) ||
	    (log && setenv("MPTCPSHIM_LOG", log, 1) != 0) ||
	    (strict && setenv("MPTCPSHIM_STRICT", "1", 1) != 0)) {
		cli_err("out of memory");
		return EX_FAIL;
	}
	free(preload);
	execvp(argv[i], argv + i);
	r = errno;
	cli_err("%s: %s", argv[i], strerror(r));
	return r == ENOENT ? 127 : 126;
}

static void print_setting(const char *key, const char *value,
			  enum ms_source src, const char *var)
{
	if (src == MS_SRC_ENV)
		printf("%s = %s (environment: %s)\n", key, value, var);
	else
		printf("%s = %s (%s)\n", key, value, ms_source_name(src));
}

int cmd_check(int argc, char **argv)
{
	const char *file = NULL, *path;
	char err[MS_ERRLEN], list[4096];
	bool explicit_path, present, no_env = false, ok;
	struct ms_config cfg;
	struct ms_env env = {0};

	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			fputs(check_help, stdout);
			return EX_OK;
		}
		if (strcmp(argv[i], "--no-env") == 0)
			no_env = true;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return cli_usage_err("unknown option '%s'", argv[i]);
		else if (file)
			return cli_usage_err("one FILE at most ('%s' and '%s')",
					     file, argv[i]);
		else
			file = argv[i];
	}
	if (file) {
		path = file;
		explicit_path = true;
	} else {
		path = cli_config_path(&explicit_path);
	}
	if (!no_env)
		ms_env_read(&env);
	ms_config_init(&cfg);
	ok = ms_config_read(&cfg, path, explicit_path, &env, &present, err);
	if (!ok) {
		ms_config_free(&cfg);
		cli_err("%s", err);
		return EX_FAIL;
	}
	if (strcmp(path, "/dev/null") == 0)
		printf("config = none (/dev/null");
	else
		printf("config = %s (%s", path,
		       present ? "read" : "not present, defaults apply");
	if (file)
		printf("; given on the command line)\n");
	else if (explicit_path)
		printf("; environment: MPTCPSHIM_CONFIG)\n");
	else
		printf("; default)\n");
	if (cfg.ports.mode == MS_LIST_UNSET)
		strcpy(list, "all");
	else if (!ms_portlist_format(&cfg.ports, list, sizeof(list)))
		strcpy(list, "(a list too long to show)");
	print_setting("ports", list, cfg.ports_src, "MPTCPSHIM_PORTS");
	if (cfg.connect.mode == MS_LIST_UNSET)
		strcpy(list, "none");
	else if (!ms_portlist_format(&cfg.connect, list, sizeof(list)))
		strcpy(list, "(a list too long to show)");
	print_setting("connect", list, cfg.connect_src, "MPTCPSHIM_CONNECT");
	if (!ms_optset_format(&cfg.tolerate, list, sizeof(list)))
		strcpy(list, "(a list too long to show)");
	print_setting("tolerate", list, cfg.tolerate_src, "MPTCPSHIM_TOLERATE");
	print_setting("log", ms_log_level_name(cfg.log), cfg.log_src,
		      "MPTCPSHIM_LOG");
	print_setting("strict", cfg.strict ? "1" : "0", cfg.strict_src,
		      "MPTCPSHIM_STRICT");
	printf("library = %s (%s)\n", cli_library_path(),
	       secure_getenv("MPTCPSHIM_LIBRARY") ? "environment: "
						    "MPTCPSHIM_LIBRARY"
						  : "default");
	ms_config_free(&cfg);
	return EX_OK;
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
} commands[] = {
	{"run", cmd_run},	  {"enable", cmd_enable},
	{"disable", cmd_disable}, {"status", cmd_status},
	{"doctor", cmd_doctor},	  {"check", cmd_check},
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(main_help, stderr);
		return EX_USAGE_2;
	}
	if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
		fputs(main_help, stdout);
		return EX_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("mptcpshim %s\n", MS_VERSION);
		return EX_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			cli_sub = commands[i].name;
			return commands[i].fn(argc - 1, argv + 1);
		}
	}
	return cli_usage_err("unknown command '%s' (run, enable, disable, "
			     "status, doctor, check)",
			     argv[1]);
}
