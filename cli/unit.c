/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim enable / disable: a systemd drop-in that preloads the library.
 *
 * The vendor unit is never touched: enable writes
 * ROOT/etc/systemd/system/UNIT.d/mptcpshim.conf, disable removes exactly
 * that file (and the directory if it was the last file in it).
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DROPIN_NAME "mptcpshim.conf"
#define MARKER	    "# Written by 'mptcpshim enable'."
#define VALUE_MAX   8192

static void enable_usage(void)
{
	fputs("Usage: mptcpshim enable UNIT [OPTIONS]\n"
	      "\n"
	      "Preloads the library into a systemd service with a drop-in "
	      "file,\n"
	      "/etc/systemd/system/UNIT.d/mptcpshim.conf; the vendor unit is "
	      "not\n"
	      "touched. An LD_PRELOAD the unit already sets is kept, the "
	      "library is\n"
	      "appended to it. Each option becomes the library's variable in "
	      "the\n"
	      "drop-in. When systemd runs, 'systemctl daemon-reload' follows; "
	      "restart\n"
	      "the service to apply (the command is printed). Running it again "
	      "with\n"
	      "the same options changes nothing.\n"
	      "\n",
	      stdout);
	cli_setting_help(stdout);
	fputs("  --root DIR        work on the unit files under DIR, not on "
	      "the "
	      "running\n"
	      "                    system (no systemctl calls)\n"
	      "  -h, --help        this text\n"
	      "\n"
	      "Exit status: 0 done (or nothing to do), 1 failure, 2 bad "
	      "arguments.\n",
	      stdout);
}

static const char disable_help[] =
	"Usage: mptcpshim disable UNIT [--root DIR]\n"
	"\n"
	"Removes the drop-in that 'mptcpshim enable' wrote, and its directory\n"
	"if nothing else is left in it; runs 'systemctl daemon-reload' when\n"
	"systemd runs. Nothing to do is no error.\n"
	"\n"
	"Exit status: 0 done (or nothing to do), 1 failure, 2 bad arguments.\n";

/* System unit directories, highest priority first. */
static const char *const unit_dirs[] = {
	"/etc/systemd/system",		 "/run/systemd/system",
	"/usr/local/lib/systemd/system", "/usr/lib/systemd/system",
	"/lib/systemd/system",
};
#define N_UNIT_DIRS (sizeof(unit_dirs) / sizeof(unit_dirs[0]))

/* "nginx" -> "nginx.service"; refuses names systemd would refuse. */
static bool unit_name(const char *in, char *out, size_t len)
{
	const char *dot;
	size_t n = strlen(in);

	if (n == 0 || n > 240)
		return false;
	for (const char *p = in; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
			    "YZ"
			    "0123456789:-_.\\@",
			    *p))
			return false;
	if (in[0] == '.' || in[0] == '-')
		return false;
	dot = strrchr(in, '.');
	if (dot && strcmp(dot, ".service") != 0)
		return false;
	snprintf(out, len, "%s%s", in, dot ? "" : ".service");
	/* "foo@.service" is a template: only instances run. */
	return strstr(out, "@.service") == NULL;
}

/* "foo@bar.service" -> "foo@.service"; false if not an instance. */
static bool template_of(const char *unit, char *out, size_t len)
{
	const char *at = strchr(unit, '@');
	const char *dot = strrchr(unit, '.');

	if (!at || !dot || dot < at)
		return false;
	snprintf(out, len, "%.*s%s", (int)(at + 1 - unit), unit, dot);
	return true;
}

static void join(char *out, size_t len, const char *root, const char *a,
		 const char *b, const char *c)
{
	if (strcmp(root, "/") == 0)
		root = "";
	snprintf(out, len, "%s%s%s%s%s%s", root, a, b ? "/" : "", b ? b : "",
		 c ? "/" : "", c ? c : "");
}

/* Extracts the next word of an Environment= value: blanks separate
 * words, "..." and '...' quote, backslash escapes. Returns false at the
 * end. */
static bool next_word(const char **sp, char *out, size_t len)
{
	const char *s = *sp;
	size_t n = 0;
	char q = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return false;
	for (; *s; s++) {
		char c = *s;

		if (!q && (c == ' ' || c == '\t'))
			break;
		if (!q && (c == '"' || c == '\'')) {
			q = c;
			continue;
		}
		if (q && c == q) {
			q = 0;
			continue;
		}
		if (c == '\\' && s[1]) {
			c = *++s;
			if (c == 'n')
				c = '\n';
			else if (c == 't')
				c = '\t';
		}
		if (n + 1 < len)
			out[n++] = c;
	}
	out[n] = '\0';
	*sp = s;
	return true;
}

struct env_state {
	char preload[VALUE_MAX]; /* the last LD_PRELOAD= seen */
	bool has_preload;
	char preload_from[PATH_MAX];
	bool env_file;
};

/* Applies one Environment= value. */
static void apply_environment(const char *value, const char *from,
			      struct env_state *st)
{
	char word[VALUE_MAX];
	bool any = false;

	while (next_word(&value, word, sizeof(word))) {
		any = true;
		if (strncmp(word, "LD_PRELOAD=", 11) == 0) {
			snprintf(st->preload, sizeof(st->preload), "%s",
				 word + 11);
			snprintf(st->preload_from, sizeof(st->preload_from),
				 "%s", from);
			st->has_preload = true;
		}
	}
	if (!any) /* "Environment=" empties the list */
		st->has_preload = false;
}

/* Reads the [Service] Environment= lines of one unit file. */
static void parse_unit_file(const char *path, struct env_state *st)
{
	char line[VALUE_MAX], joined[VALUE_MAX];
	bool in_service = false;
	size_t jl = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		size_t n = strcspn(line, "\r\n");
		char *l;

		line[n] = '\0';
		/* continuation lines: a trailing backslash */
		if (jl + n + 1 < sizeof(joined)) {
			memcpy(joined + jl, line, n + 1);
			jl += n;
		}
		if (jl > 0 && joined[jl - 1] == '\\') {
			joined[--jl] = ' ';
			jl++;
			continue;
		}
		jl = 0;
		l = joined;
		while (*l == ' ' || *l == '\t')
			l++;
		if (*l == '#' || *l == ';' || *l == '\0')
			continue;
		if (*l == '[') {
			in_service = strncmp(l, "[Service]", 9) == 0;
			continue;
		}
		if (!in_service)
			continue;
		if (strncmp(l, "Environment", 11) == 0) {
			char *v = l + 11;

			while (*v == ' ' || *v == '\t')
				v++;
			if (*v == '=')
				apply_environment(v + 1, path, st);
			else if (strncmp(v, "File", 4) == 0)
				st->env_file = true;
		}
	}
	fclose(f);
}

/* Finds the unit file under root and replays its Environment= lines and
 * those of its drop-ins (ours excluded) in systemd's order. Returns
 * false if the unit does not exist. */
static bool read_unit_env(const char *root, const char *unit,
			  struct env_state *st, char *unit_path, size_t len)
{
	char tmpl[256], path[PATH_MAX], *names[512];
	size_t nnames = 0, ndn;
	bool found = false, is_inst = template_of(unit, tmpl, sizeof(tmpl));

	memset(st, 0, sizeof(*st));
	for (size_t d = 0; d < N_UNIT_DIRS && !found; d++) {
		for (int t = 0; t < (is_inst ? 2 : 1) && !found; t++) {
			struct stat sb;

			join(path, sizeof(path), root, unit_dirs[d],
			     t ? tmpl : unit, NULL);
			if (lstat(path, &sb) != 0)
				continue;
			if (S_ISLNK(sb.st_mode) && strcmp(root, "/") != 0) {
				char target[PATH_MAX];
				ssize_t n = readlink(path, target,
						     sizeof(target) - 1);

				if (n > 0 && target[0] == '/') {
					target[n] = '\0';
					join(path, sizeof(path), root, target,
					     NULL, NULL);
				}
			}
			found = true;
		}
	}
	if (!found)
		return false;
	snprintf(unit_path, len, "%s", path);
	parse_unit_file(path, st);

	/* Drop-ins: ordered by file name over all directories; a name in a
	 * higher-priority directory hides the same name below. */
	/* service.d, then TEMPLATE.d for an instance, then UNIT.d */
	ndn = is_inst ? 3 : 2;
	for (size_t d = 0; d < N_UNIT_DIRS; d++) {
		for (size_t k = 0; k < ndn; k++) {
			char dir[PATH_MAX], sub[300];
			struct dirent *de;
			DIR *dp;

			if (k == 0)
				snprintf(sub, sizeof(sub), "service.d");
			else if (is_inst && k == 1)
				snprintf(sub, sizeof(sub), "%s.d", tmpl);
			else
				snprintf(sub, sizeof(sub), "%s.d", unit);
			join(dir, sizeof(dir), root, unit_dirs[d], sub, NULL);
			dp = opendir(dir);
			if (!dp)
				continue;
			while ((de = readdir(dp)) && nnames < 512) {
				size_t n = strlen(de->d_name);
				bool dup = false;

				if (n < 6 ||
				    strcmp(de->d_name + n - 5, ".conf") != 0)
					continue;
				if (k == ndn - 1 && d == 0 &&
				    strcmp(de->d_name, DROPIN_NAME) == 0)
					continue; /* ours */
				for (size_t j = 0; j < nnames; j++)
					if (strcmp(strrchr(names[j], '/') + 1,
						   de->d_name) == 0)
						dup = true;
				if (dup)
					continue;
				if (asprintf(&names[nnames], "%s/%s", dir,
					     de->d_name) >= 0)
					nnames++;
			}
			closedir(dp);
		}
	}
	/* sort by base name */
	for (size_t a = 1; a < nnames; a++)
		for (size_t b = a; b > 0; b--) {
			const char *x = strrchr(names[b - 1], '/') + 1;
			const char *y = strrchr(names[b], '/') + 1;
			char *t;

			if (strcmp(x, y) <= 0)
				break;
			t = names[b];
			names[b] = names[b - 1];
			names[b - 1] = t;
		}
	for (size_t j = 0; j < nnames; j++) {
		parse_unit_file(names[j], st);
		free(names[j]);
	}
	return true;
}

/* Removes entries that are a copy of our library from an LD_PRELOAD
 * value (any path whose file name starts with libmptcpshim.so). */
static void strip_library(const char *in, const char *lib, char *out,
			  size_t len)
{
	char copy[VALUE_MAX], *save = NULL, *tok;
	size_t n = 0;

	snprintf(copy, sizeof(copy), "%s", in);
	out[0] = '\0';
	for (tok = strtok_r(copy, ": ", &save); tok;
	     tok = strtok_r(NULL, ": ", &save)) {
		const char *base = strrchr(tok, '/');

		base = base ? base + 1 : tok;
		if (cli_is_library(tok, lib) ||
		    strncmp(base, "libmptcpshim.so", 15) == 0)
			continue;
		n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s",
				      n ? ":" : "", tok);
	}
}

/* Appends "Environment=..." for NAME=VALUE, quoted for systemd. */
static void add_env_line(char *buf, size_t len, const char *name,
			 const char *value)
{
	size_t n = strlen(buf);

	n += (size_t)snprintf(buf + n, len - n, "Environment=\"%s=", name);
	for (const char *p = value; *p && n + 4 < len; p++) {
		if (*p == '"' || *p == '\\')
			buf[n++] = '\\';
		else if (*p == '%')
			buf[n++] = '%';
		buf[n++] = *p;
	}
	snprintf(buf + n, len - n, "\"\n");
}

static bool read_whole(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return true;
}

static bool mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			return false;
		*p = '/';
	}
	return mkdir(tmp, 0755) == 0 || errno == EEXIST;
}

static bool write_file(const char *path, const char *text)
{
	char tmp[PATH_MAX + 64];
	size_t len = strlen(text);
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return false;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		close(fd);
		unlink(tmp);
		return false;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return false;
	}
	return true;
}

static bool daemon_reload(void)
{
	char *argv[] = {(char *)"systemctl", (char *)"daemon-reload", NULL};
	char out[256];

	if (cli_capture(argv, out, sizeof(out), true) == 0)
		return true;
	cli_err("'systemctl daemon-reload' failed; run it yourself");
	return false;
}

/* Parses UNIT and --root for enable and disable. */
struct unit_args {
	char unit[256];
	const char *root;
	const char *value[MS_NSETTINGS]; /* enable: --ports ... */
};

static int parse_unit_args(int argc, char **argv, struct unit_args *a,
			   bool enable)
{
	struct option longopts[MS_NSETTINGS + 3];
	size_t n = enable ? cli_setting_options(longopts) : 0;
	const char *name;
	int c;

	longopts[n++] = (struct option){"root", required_argument, NULL, 'r'};
	longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[n] = (struct option){0};
	memset(a, 0, sizeof(*a));
	a->root = "/";
	while ((c = cli_getopt(argc, argv, false, "h", longopts)) != -1) {
		if (c == 'h') {
			if (enable)
				enable_usage();
			else
				fputs(disable_help, stdout);
			return -1;
		}
		if (c == 'r') {
			a->root = optarg;
		} else if (c >= CLI_OPT_SETTING &&
			   c < CLI_OPT_SETTING + MS_NSETTINGS) {
			const struct ms_setting *st =
				&ms_settings[c - CLI_OPT_SETTING];

			a->value[c - CLI_OPT_SETTING] =
				st->arg ? optarg : st->flag;
		} else {
			return EX_USAGE_2;
		}
	}
	if (optind >= argc)
		return cli_usage_err("which unit? (mptcpshim %s UNIT)",
				     enable ? "enable" : "disable");
	if (argc - optind > 1)
		return cli_usage_err("one UNIT only ('%s' and '%s')",
				     argv[optind], argv[optind + 1]);
	name = argv[optind];
	if (!unit_name(name, a->unit, sizeof(a->unit)))
		return cli_usage_err("'%s' is not the name of a service unit "
				     "(e.g. nginx or nginx.service)",
				     name);
	if (a->root[0] != '/')
		return cli_usage_err("--root: '%s' is not an absolute path",
				     a->root);
	return 0;
}

static bool use_systemctl(const char *root)
{
	return strcmp(root, "/") == 0 && cli_systemd_running();
}

/* The unit's LD_PRELOAD, from the running systemd. */
static int preload_from_systemd(const char *unit, struct env_state *st)
{
	char *load[] = {(char *)"systemctl",
			(char *)"show",
			(char *)"-p",
			(char *)"LoadState",
			(char *)"--value",
			(char *)unit,
			NULL};
	char *envq[] = {(char *)"systemctl",
			(char *)"show",
			(char *)"-p",
			(char *)"Environment",
			(char *)"--value",
			(char *)unit,
			NULL};
	char out[VALUE_MAX];

	memset(st, 0, sizeof(*st));
	if (cli_capture(load, out, sizeof(out), false) != 0) {
		cli_err("'systemctl show %s' failed", unit);
		return EX_FAIL;
	}
	out[strcspn(out, "\n")] = '\0';
	if (strcmp(out, "loaded") != 0) {
		cli_err("unit %s: %s (is it installed?)", unit,
			*out ? out : "unknown");
		return EX_FAIL;
	}
	if (cli_capture(envq, out, sizeof(out), false) != 0) {
		cli_err("'systemctl show -p Environment %s' failed", unit);
		return EX_FAIL;
	}
	out[strcspn(out, "\n")] = '\0';
	apply_environment(out, "systemctl show", st);
	return EX_OK;
}

int cmd_enable(int argc, char **argv)
{
	struct unit_args a;
	struct env_state st;
	char err[MS_ERRLEN], dir[PATH_MAX], path[PATH_MAX + 32];
	char unit_path[PATH_MAX] = "", kept[VALUE_MAX], preload[VALUE_MAX];
	char text[4 * VALUE_MAX], old[4 * VALUE_MAX];
	const char *lib, *config;
	bool systemd;
	int r = parse_unit_args(argc, argv, &a, true);

	if (r)
		return r < 0 ? EX_OK : r;
	for (unsigned i = 0; i < MS_NKEYS; i++)
		if (a.value[i] &&
		    !cli_setting_valid(&ms_settings[i], a.value[i]))
			return EX_USAGE_2;
	config = a.value[MS_SET_CONFIG];
	if (config) {
		struct ms_config cfg;
		bool present;

		if (config[0] != '/')
			return cli_usage_err("--config: give an absolute path "
					     "(the service does not run in "
					     "this directory)");
		ms_config_init(&cfg);
		/* checked in the root the unit will run in */
		join(path, sizeof(path), a.root, config, NULL, NULL);
		if (strcmp(config, "/dev/null") != 0 &&
		    !ms_load_file(path, true, &cfg, &present, err)) {
			ms_config_free(&cfg);
			return cli_usage_err("--config: %s", err);
		}
		ms_config_free(&cfg);
	}
	lib = cli_library_path();
	if (lib[0] != '/' || strpbrk(lib, ": ")) {
		cli_err("the library path '%s' cannot go into LD_PRELOAD", lib);
		return EX_FAIL;
	}
	systemd = use_systemctl(a.root);
	if (systemd) {
		r = preload_from_systemd(a.unit, &st);
		if (r)
			return r;
	} else if (!read_unit_env(a.root, a.unit, &st, unit_path,
				  sizeof(unit_path))) {
		cli_err("unit %s not found under %s (looked in "
			"etc/systemd/system, run/, usr/local/lib/, usr/lib/ "
			"and lib/systemd/system)",
			a.unit, a.root);
		return EX_FAIL;
	}
	strip_library(st.has_preload ? st.preload : "", lib, kept,
		      sizeof(kept));
	snprintf(preload, sizeof(preload), "%s%s%s", kept, *kept ? ":" : "",
		 lib);

	snprintf(text, sizeof(text),
		 "%s 'mptcpshim disable %s' removes this file.\n"
		 "# LD_PRELOAD keeps what the unit itself set (%s).\n"
		 "[Service]\n",
		 MARKER, a.unit, *kept ? kept : "nothing");
	add_env_line(text, sizeof(text), "LD_PRELOAD", preload);
	for (unsigned i = 0; i < MS_NSETTINGS; i++)
		if (a.value[i])
			add_env_line(text, sizeof(text), ms_settings[i].var,
				     a.value[i]);

	join(dir, sizeof(dir), a.root, "/etc/systemd/system", a.unit, NULL);
	strcat(dir, ".d");
	snprintf(path, sizeof(path), "%s/%s", dir, DROPIN_NAME);
	if (read_whole(path, old, sizeof(old))) {
		if (strcmp(old, text) == 0) {
			printf("%s: already enabled (%s unchanged)\n", a.unit,
			       path);
			return EX_OK;
		}
		if (strncmp(old, MARKER, strlen(MARKER)) != 0) {
			cli_err("%s exists and was not written by mptcpshim; "
				"leaving it alone (remove it first)",
				path);
			return EX_FAIL;
		}
	}
	if (!mkdir_p(dir) || !write_file(path, text)) {
		cli_err("cannot write %s: %s", path, strerror(errno));
		return EX_FAIL;
	}
	printf("%s: wrote %s\n", a.unit, path);
	if (*kept)
		printf("%s: kept the unit's LD_PRELOAD (%s)\n", a.unit, kept);
	if (st.env_file)
		printf("%s: note: the unit has EnvironmentFile=; an "
		       "LD_PRELOAD set there wins over this drop-in\n",
		       a.unit);
	if (!systemd && st.has_preload &&
	    strcmp(strrchr(st.preload_from, '/') + 1, DROPIN_NAME) > 0 &&
	    strstr(st.preload_from, ".d/"))
		printf("%s: warning: %s sets LD_PRELOAD and is read after "
		       "%s, so it replaces it; add %s to it by hand\n",
		       a.unit, st.preload_from, DROPIN_NAME, lib);
	if (systemd) {
		struct env_state now;

		if (!daemon_reload())
			return EX_FAIL;
		if (preload_from_systemd(a.unit, &now) == EX_OK &&
		    (!now.has_preload || !strstr(now.preload, lib)))
			printf("%s: warning: systemd does not show the library "
			       "in LD_PRELOAD (another drop-in read later sets "
			       "it?); check 'systemctl show -p Environment "
			       "%s'\n",
			       a.unit, a.unit);
	} else if (strcmp(a.root, "/") == 0) {
		printf("%s: systemd is not running: no daemon-reload done\n",
		       a.unit);
	}
	printf("to apply it: systemctl restart %s\n", a.unit);
	return EX_OK;
}

int cmd_disable(int argc, char **argv)
{
	struct unit_args a;
	char dir[PATH_MAX], path[PATH_MAX + 32], old[4 * VALUE_MAX];
	int r = parse_unit_args(argc, argv, &a, false);

	if (r)
		return r < 0 ? EX_OK : r;
	join(dir, sizeof(dir), a.root, "/etc/systemd/system", a.unit, NULL);
	strcat(dir, ".d");
	snprintf(path, sizeof(path), "%s/%s", dir, DROPIN_NAME);
	if (!read_whole(path, old, sizeof(old))) {
		if (errno != ENOENT) {
			cli_err("cannot read %s: %s", path, strerror(errno));
			return EX_FAIL;
		}
		printf("%s: not enabled (no %s): nothing to do\n", a.unit,
		       path);
		return EX_OK;
	}
	if (strncmp(old, MARKER, strlen(MARKER)) != 0) {
		cli_err("%s was not written by mptcpshim; leaving it alone",
			path);
		return EX_FAIL;
	}
	if (unlink(path) != 0) {
		cli_err("cannot remove %s: %s", path, strerror(errno));
		return EX_FAIL;
	}
	printf("%s: removed %s\n", a.unit, path);
	if (rmdir(dir) == 0)
		printf("%s: removed the empty directory %s\n", a.unit, dir);
	if (use_systemctl(a.root) && !daemon_reload())
		return EX_FAIL;
	printf("to apply it: systemctl restart %s\n", a.unit);
	return EX_OK;
}
