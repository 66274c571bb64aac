/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim: runs programs with libmptcpshim preloaded, adds it to systemd
 * units, shows what the kernel says about a server's sockets, checks the
 * machine and the configuration. See mptcpshim(1).
 */
#include "cli.h"
#include "reach.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	"  probe HOST:PORT                 connect with MPTCP: what the path "
	"did\n"
	"  check [FILE]                    validate a configuration, show "
	"settings\n"
	"\n"
	"'mptcpshim COMMAND --help' describes each command; see also "
	"mptcpshim(1)\n"
	"and mptcpshim.conf(5).\n";

static void run_usage(void)
{
	fputs("Usage: mptcpshim run [OPTIONS] [--] CMD [ARGS...]\n"
	      "\n"
	      "Runs CMD with libmptcpshim preloaded: its TCP listeners on the "
	      "listed\n"
	      "ports become MPTCP listeners. An LD_PRELOAD already set is "
	      "kept; the\n"
	      "library is appended to it, never twice. Each option sets the "
	      "library's\n"
	      "variable for CMD:\n"
	      "\n",
	      stdout);
	cli_setting_help(stdout);
	fputs("  -h, --help        this text\n"
	      "\n"
	      "The settings are checked with the library's parser before CMD "
	      "runs.\n"
	      "A program that LD_PRELOAD cannot reach (statically linked, Go, "
	      "setuid,\n"
	      "file capabilities) gets a warning saying why, and runs "
	      "anyway.\n"
	      "Exit status: CMD's; 2 for invalid options or configuration, "
	      "126 if\n"
	      "CMD cannot be executed, 127 if it is not found.\n",
	      stdout);
}

static const char check_help[] =
	"Usage: mptcpshim check [--no-env] [FILE]\n"
	"\n"
	"Validates a configuration file with the library's own parser and "
	"prints\n"
	"the settings the library would use, each with its source (file,\n"
	"environment or default). Without FILE: $MPTCPSHIM_CONFIG, else\n"
	"the system file. The library's variables (MPTCPSHIM_PORTS ...) of\n"
	"this environment are applied as the library applies them,\n"
	"unless --no-env is given.\n"
	"\n"
	"  --no-env       leave the environment's variables out\n"
	"  -h, --help     this text\n"
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

/* The file execvp would run for cmd: its PATH lookup. */
static bool find_program(const char *cmd, char *out, size_t len)
{
	const char *path = getenv("PATH");

	if (strchr(cmd, '/'))
		return (size_t)snprintf(out, len, "%s", cmd) < len;
	if (!path)
		path = "/bin:/usr/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		struct stat st;

		/* an empty entry is the working directory */
		snprintf(out, len, "%.*s%s%s", (int)n, path, n ? "/" : "", cmd);
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(out, X_OK) == 0)
			return true;
		path += n;
		path += *path == ':';
	}
	return false;
}

/* Says so when the library cannot reach the program run will start. */
static void warn_unreachable(const char *cmd, const char *lib)
{
	char file[PATH_MAX], what[PATH_MAX + 256], advice[512];
	struct reach_runner as;
	struct reach_result r;

	if (!find_program(cmd, file, sizeof(file)))
		return; /* execvp says why */
	reach_runner_self(&as);
	if (reach_check(AT_FDCWD, file, &as, lib, &r) &&
	    reach_explain(&r, getenv("GODEBUG"), what, sizeof(what), advice,
			  sizeof(advice))) {
		cli_err("warning: %s", what);
		cli_err("%s", advice);
	}
}

/* The options of run: the settings table's, and --help. */
static int run_options(int argc, char **argv, const char **value)
{
	struct option longopts[MS_NSETTINGS + 2];
	size_t n = cli_setting_options(longopts);
	int c;

	longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[n] = (struct option){0};
	while ((c = cli_getopt(argc, argv, true, "h", longopts)) != -1) {
		if (c == 'h') {
			run_usage();
			return -1;
		}
		if (c < CLI_OPT_SETTING || c >= CLI_OPT_SETTING + MS_NSETTINGS)
			return EX_USAGE_2;
		c -= CLI_OPT_SETTING;
		value[c] = ms_settings[c].arg ? optarg : ms_settings[c].flag;
	}
	return 0;
}

int cmd_run(int argc, char **argv)
{
	const char *value[MS_NSETTINGS] = {NULL}, *lib, *path, *cmd;
	char err[MS_ERRLEN], abs[PATH_MAX], *preload;
	const char *config;
	struct ms_config cfg;
	struct ms_env env;
	bool explicit_path, present;
	int r = run_options(argc, argv, value);

	if (r)
		return r < 0 ? EX_OK : r;
	if (optind >= argc)
		return cli_usage_err("no command to run (mptcpshim run "
				     "[OPTIONS] -- CMD [ARGS...])");
	cmd = argv[optind];

	/* Each option with the library's parser, named as the user wrote
	 * it, then the whole configuration as the library will see it. */
	for (unsigned i = 0; i < MS_NKEYS; i++)
		if (value[i] && !cli_setting_valid(&ms_settings[i], value[i]))
			return EX_USAGE_2;
	config = value[MS_SET_CONFIG];
	if (config) {
		if (*config == '\0')
			return cli_usage_err("--config: empty file name");
		if (strcmp(config, "/dev/null") != 0 && config[0] != '/') {
			if (!realpath(config, abs)) {
				cli_err("--config: %s: %s", config,
					strerror(errno));
				return EX_USAGE_2;
			}
			config = value[MS_SET_CONFIG] = abs;
		}
		path = config;
		explicit_path = true;
	} else {
		path = cli_config_path(&explicit_path);
	}
	ms_config_init(&cfg);
	ms_env_read(&env);
	for (unsigned i = 0; i < MS_NKEYS; i++)
		if (value[i])
			env.value[i] = value[i];
	if (!ms_config_read(&cfg, path, explicit_path, &env, &present, err)) {
		ms_config_free(&cfg);
		cli_err("%s", err);
		cli_err("invalid configuration: not starting %s (see "
			"'mptcpshim check')",
			cmd);
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
	if (!preload || setenv("LD_PRELOAD", preload, 1) != 0) {
		cli_err("out of memory");
		return EX_FAIL;
	}
	free(preload);
	warn_unreachable(cmd, lib);
	for (unsigned i = 0; i < MS_NSETTINGS; i++) {
		if (value[i] && setenv(ms_settings[i].var, value[i], 1) != 0) {
			cli_err("out of memory");
			return EX_FAIL;
		}
	}
	execvp(cmd, argv + optind);
	r = errno;
	cli_err("%s: %s", cmd, strerror(r));
	return r == ENOENT ? 127 : 126;
}

static void print_setting(const struct ms_setting *st, const char *value,
			  enum ms_source src)
{
	if (src == MS_SRC_ENV)
		printf("%s = %s (environment: %s)\n", st->name, value, st->var);
	else
		printf("%s = %s (%s)\n", st->name, value, ms_source_name(src));
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"no-env", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *file = NULL, *path;
	char err[MS_ERRLEN], value[4096];
	bool explicit_path, present, no_env = false;
	struct ms_config cfg;
	struct ms_env env = {0};
	int c;

	while ((c = cli_getopt(argc, argv, false, "h", longopts)) != -1) {
		switch (c) {
		case 'h':
			fputs(check_help, stdout);
			return EX_OK;
		case 'n':
			no_env = true;
			break;
		default:
			return EX_USAGE_2;
		}
	}
	if (argc - optind > 1)
		return cli_usage_err("one FILE at most ('%s' and '%s')",
				     argv[optind], argv[optind + 1]);
	if (optind < argc)
		file = argv[optind];
	if (file) {
		path = file;
		explicit_path = true;
	} else {
		path = cli_config_path(&explicit_path);
	}
	if (!no_env)
		ms_env_read(&env);
	ms_config_init(&cfg);
	if (!ms_config_read(&cfg, path, explicit_path, &env, &present, err)) {
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
		printf("; environment: %s)\n", ms_settings[MS_SET_CONFIG].var);
	else
		printf("; default)\n");
	for (unsigned i = 0; i < MS_NKEYS; i++) {
		const struct ms_setting *st = &ms_settings[i];

		if (!st->format(&cfg, value, sizeof(value)))
			strcpy(value, "(a list too long to show)");
		print_setting(st, value, cfg.src[i]);
	}
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
	{"probe", cmd_probe},
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
			     "status, doctor, check, probe)",
			     argv[1]);
}
