/* SPDX-License-Identifier: MIT */
/* Helpers shared by the subcommands of mptcpshim. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MS_SYSCONFDIR
#define MS_SYSCONFDIR "/etc"
#endif
#ifndef MS_LIBRARY
#define MS_LIBRARY "/usr/local/lib/libmptcpshim.so"
#endif

const char *cli_sub = "";

void cli_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mptcpshim%s%s: ", *cli_sub ? " " : "", cli_sub);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_usage_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mptcpshim%s%s: ", *cli_sub ? " " : "", cli_sub);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'mptcpshim%s%s --help'.\n", *cli_sub ? " " : "",
		cli_sub);
	return EX_USAGE_2;
}

bool cli_is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int cli_opt_value(int argc, char **argv, int *i, const char *name,
		  const char **value)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*value = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		cli_usage_err("option %s needs a value", name);
		return -1;
	}
	*value = argv[++*i];
	return 1;
}

/* The long option that an argument like "--co" or "--ports=x" names, and
 * whether more than one starts with it. */
static const struct option *
long_named(const char *arg, const struct option *longopts, bool *ambiguous)
{
	const struct option *found = NULL;
	size_t n;

	*ambiguous = false;
	if (strncmp(arg, "--", 2) != 0)
		return NULL;
	arg += 2;
	n = strcspn(arg, "=");
	for (const struct option *o = longopts; o && o->name; o++) {
		if (strncmp(o->name, arg, n) != 0)
			continue;
		if (o->name[n] == '\0')
			return o; /* exact */
		if (found)
			*ambiguous = true;
		found = o;
	}
	return found;
}

int cli_getopt(int argc, char **argv, bool in_order, const char *optstring,
	       const struct option *longopts)
{
	char spec[64];
	const char *arg;
	bool ambiguous;
	const struct option *o;
	int c;

	/* Long options seen in this parse (a new parse starts at optind 1):
	 * a second --ports would silently replace the first. */
	static uint64_t seen;
	int idx = -1;

	if (optind <= 1)
		seen = 0;
	snprintf(spec, sizeof(spec), "%s:%s", in_order ? "+" : "", optstring);
	opterr = 0;
	c = getopt_long(argc, argv, spec, longopts, &idx);
	if (c != '?' && c != ':') {
		if (idx < 0 || idx >= 64)
			return c;
		o = &longopts[idx];
		if (seen & (UINT64_C(1) << idx)) {
			cli_usage_err(
				"option --%s is given twice; give it once",
				o->name);
			return '?';
		}
		seen |= UINT64_C(1) << idx;
		/* "--ports --root DIR": the value is the next option */
		if (o->has_arg == required_argument && optarg &&
		    strncmp(optarg, "--", 2) == 0 &&
		    (optarg[2] == '\0' ||
		     long_named(optarg, longopts, &ambiguous))) {
			cli_usage_err("option --%s needs a value (it was "
				      "followed by the option '%s')",
				      o->name, optarg);
			return '?';
		}
		return c;
	}
	/* What was wrong, named as the user wrote it. */
	arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	o = long_named(arg, longopts, &ambiguous);
	if (c == ':') {
		if (o)
			cli_usage_err("option --%s needs a value", o->name);
		else
			cli_usage_err("option -%c needs a value", optopt);
	} else if (o && ambiguous) {
		cli_usage_err("option '%.*s' is ambiguous",
			      (int)strcspn(arg, "="), arg);
	} else if (o && o->has_arg == no_argument && strchr(arg, '=')) {
		cli_usage_err("option --%s takes no value", o->name);
	} else if (optopt && !o && strncmp(arg, "--", 2) != 0) {
		cli_usage_err("unknown option '-%c'", optopt);
	} else {
		cli_usage_err("unknown option '%s'", arg);
	}
	return '?';
}

size_t cli_setting_options(struct option *out)
{
	size_t n = 0;

	for (unsigned i = 0; i < MS_NSETTINGS; i++) {
		const struct ms_setting *st = &ms_settings[i];

		out[n++] = (struct option){
			.name = st->name,
			.has_arg = st->arg ? required_argument : no_argument,
			.val = CLI_OPT_SETTING + (int)i,
		};
	}
	return n;
}

void cli_setting_help(FILE *f)
{
	enum { INDENT = 20, WIDTH = 79 };

	for (unsigned i = 0; i < MS_NSETTINGS; i++) {
		const struct ms_setting *st = &ms_settings[i];
		char head[32], text[512];
		const char *p = text;
		size_t col = INDENT;

		snprintf(head, sizeof(head), "  --%s%s%s", st->name,
			 st->arg ? " " : "", st->arg ? st->arg : "");
		if (strlen(head) >= INDENT - 1)
			fprintf(f, "%s\n%*s", head, INDENT, "");
		else
			fprintf(f, "%-*s", INDENT, head);
		snprintf(text, sizeof(text), "%s (%s%s%s)", st->doc, st->var,
			 st->flag ? "=" : "", st->flag ? st->flag : "");
		/* words wrapped at WIDTH columns, under the first one */
		while (*p) {
			size_t w = strcspn(p, " ");

			if (col > INDENT && col + 1 + w > WIDTH) {
				fprintf(f, "\n%*s", INDENT, "");
				col = INDENT;
			}
			fprintf(f, "%s%.*s", col > INDENT ? " " : "", (int)w,
				p);
			col += (col > INDENT ? 1 : 0) + w;
			p += w;
			p += strspn(p, " ");
		}
		fputc('\n', f);
	}
}

bool cli_setting_valid(const struct ms_setting *st, const char *value)
{
	char err[MS_ERRLEN];
	struct ms_config scratch;
	bool ok;

	ms_config_init(&scratch);
	ok = st->parse(value, &scratch, err);
	ms_config_free(&scratch);
	if (!ok)
		cli_usage_err("--%s: %s", st->name, err);
	return ok;
}

bool cli_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

const char *cli_quote(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	if (len == 0)
		return buf;
	for (; *s && n + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n')
			n += (size_t)snprintf(buf + n, len - n, "\\n");
		else if (c == '\t')
			n += (size_t)snprintf(buf + n, len - n, "\\t");
		else if (c == '\r')
			n += (size_t)snprintf(buf + n, len - n, "\\r");
		else if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", c);
		else
			buf[n++] = (char)c;
	}
	buf[n] = '\0';
	return buf;
}

static bool readable_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, R_OK) == 0;
}

const char *cli_library_path(void)
{
	static char path[PATH_MAX];
	const char *env = secure_getenv("MPTCPSHIM_LIBRARY");
	char exe[PATH_MAX], probe[PATH_MAX + 32];
	ssize_t n;
	char *slash;

	if (env && *env) {
		if (env[0] != '/' && realpath(env, path))
			return path;
		return env;
	}
	if (readable_file(MS_LIBRARY))
		return MS_LIBRARY;
	/* Not installed: the build tree (this program is in BUILD/cli/). */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			/* the unversioned name, not the file it points to */
			snprintf(probe, sizeof(probe), "%s/..", exe);
			if (realpath(probe, path) &&
			    strlen(path) + 20 < sizeof(path)) {
				strcat(path, "/libmptcpshim.so");
				if (readable_file(path))
					return path;
			}
		}
	}
	return MS_LIBRARY;
}

const char *cli_config_path(bool *explicit_path)
{
	const char *p = secure_getenv("MPTCPSHIM_CONFIG");

	*explicit_path = p != NULL;
	return p ? p : MS_SYSCONFDIR "/mptcpshim.conf";
}

bool cli_is_library(const char *entry, const char *path)
{
	struct stat a, b;

	if (strcmp(entry, path) == 0)
		return true;
	return stat(entry, &a) == 0 && stat(path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

int cli_run(char *const argv[], char *out, size_t len, enum cli_stderr err,
	    int timeout_s)
{
	long deadline = now_ms() + timeout_s * 1000L;
	bool killed = false;
	int p[2], status;
	size_t got = 0;
	pid_t pid;

	if (len)
		out[0] = '\0';
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(p[1], 1);
		if (err == CLI_STDERR_CAPTURE)
			dup2(p[1], 2);
		if (null >= 0) {
			dup2(null, 0);
			if (err == CLI_STDERR_NULL)
				dup2(null, 2);
		}
		execvp(argv[0], argv);
		if (!strchr(argv[0], '/')) {
			/* ip lives in /usr/sbin, often not on a user's PATH */
			char alt[PATH_MAX];

			snprintf(alt, sizeof(alt), "/usr/sbin/%s", argv[0]);
			execv(alt, argv);
			snprintf(alt, sizeof(alt), "/sbin/%s", argv[0]);
			execv(alt, argv);
		}
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		long left = deadline - now_ms();
		char sink[512];
		ssize_t n;

		if (timeout_s > 0 && left <= 0) {
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		if (timeout_s > 0 && poll(&pf, 1, (int)left) == 0)
			continue;
		if (got + 1 < len)
			n = read(p[0], out + got, len - 1 - got);
		else
			n = read(p[0], sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (got + 1 < len)
			got += (size_t)n;
	}
	close(p[0]);
	if (len)
		out[got] = '\0';
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (killed || !WIFEXITED(status) || WEXITSTATUS(status) == 127)
		return -1;
	return WEXITSTATUS(status);
}

int cli_capture(char *const argv[], char *out, size_t len, bool keep_stderr)
{
	return cli_run(argv, out, len,
		       keep_stderr ? CLI_STDERR_KEEP : CLI_STDERR_NULL,
		       CLI_TIMEOUT);
}

int cli_open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	if (rootfd == AT_FDCWD)
		return open(path, flags | O_CLOEXEC);
	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

bool cli_systemd_running(void)
{
	struct stat st;

	/* sd_booted(): this directory exists only under systemd. */
	return lstat("/run/systemd/system/", &st) == 0 && S_ISDIR(st.st_mode);
}

bool cli_have_program(const char *name)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/"
		       "sbin:"
		       "/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		if (n > 0 &&
		    snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name) <
			    (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return true;
		path += n;
		if (*path == ':')
			path++;
	}
	return false;
}
