/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim enable / disable: a systemd drop-in that preloads the library.
 *
 * The vendor unit is never touched: enable writes
 * ROOT/etc/systemd/system/UNIT.d/mptcpshim.conf, disable removes exactly
 * that file (and the directory if it was the last file in it).
 *
 * What the drop-in must keep (the unit's own LD_PRELOAD) and what can undo
 * it (a drop-in read after it, an EnvironmentFile=, UnsetEnvironment=) is
 * read from the unit's own files, in systemd's order: the running systemd
 * names them (systemctl show), or, with --root, they are looked up under
 * ROOT the way systemd would. Nothing outside ROOT is read or written:
 * files are read with openat2(RESOLVE_IN_ROOT), and the drop-in's
 * directories are walked without following a symbolic link.
 */
#include "cli.h"
#include "reach.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define DROPIN_NAME "mptcpshim.conf"
#define DROPIN_DIR  "/etc/systemd/system"
#ifndef MS_LIBRARY
#define MS_LIBRARY "/usr/local/lib/libmptcpshim.so"
#endif
#define MARKER	   "# Written by 'mptcpshim enable'."
#define EX_CHANGED 3 /* --detailed-exit: something was written or removed */
#define MAX_FILES  256
#define MAX_LIST   16
#define FILE_MAX   (1 << 20)
#define VALUE_MAX  8192
#define TEXT_MAX   (4 * VALUE_MAX)

/* Copies src into dst (len bytes), cut if it does not fit. */
static void copy(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

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
	      "the same options changes nothing. UNIT may be a template "
	      "(name@.service:\n"
	      "every instance) or one instance (name@inst.service).\n"
	      "\n",
	      stdout);
	cli_setting_help(stdout);
	fputs("  --root DIR        work on the unit files under DIR (an image, "
	      "a\n"
	      "                    container's tree; / for this one), not on "
	      "the\n"
	      "                    running systemd (no systemctl calls)\n"
	      "  --dry-run         print the drop-in, write nothing (without "
	      "a running\n"
	      "                    systemd, from the unit files under / or "
	      "--root)\n"
	      "  --detailed-exit   exit 3 when the drop-in was written (or "
	      "would be),\n"
	      "                    0 when it was already there\n"
	      "  -h, --help        this text\n"
	      "\n"
	      "Without a running systemd, --root is needed (or --dry-run). "
	      "Warnings name what "
	      "would\n"
	      "undo the drop-in (a later drop-in, an EnvironmentFile= or\n"
	      "UnsetEnvironment= naming LD_PRELOAD) and a program the library "
	      "cannot\n"
	      "reach (statically linked, Go, setuid, file capabilities).\n"
	      "Exit status: 0 done (or nothing to do), 1 failure, 2 bad "
	      "arguments;\n"
	      "with --detailed-exit, 3 when something was written and 0 when "
	      "nothing\n"
	      "changed. The first line says which: 'UNIT: wrote FILE' or "
	      "'UNIT: already\n"
	      "enabled (FILE unchanged)'.\n",
	      stdout);
}

static const char disable_help[] =
	"Usage: mptcpshim disable UNIT [--root DIR]\n"
	"\n"
	"Removes the drop-in that 'mptcpshim enable' wrote (or one written by\n"
	"hand with only [Service], comments and Environment= lines of\n"
	"LD_PRELOAD and MPTCPSHIM_* variables), and its directory if nothing\n"
	"else is left in it; runs 'systemctl daemon-reload' when systemd "
	"runs.\n"
	"Nothing to do is no error. Without a running systemd, --root is\n"
	"needed.\n"
	"\n"
	"  --root DIR        work on the unit files under DIR\n"
	"  --detailed-exit   exit 3 when the drop-in was removed, 0 when "
	"there\n"
	"                    was none\n"
	"  -h, --help        this text\n"
	"\n"
	"Exit status: 0 done (or nothing to do), 1 failure, 2 bad arguments;\n"
	"with --detailed-exit, 3 when something was removed and 0 when "
	"nothing\n"
	"changed. The first line says which: 'UNIT: removed FILE' or 'UNIT: "
	"not\n"
	"enabled (no FILE): nothing to do'.\n";

/* The system manager's unit directories, highest priority first (systemd
 * 252's search path, and /lib/systemd/system for an unmerged /usr). */
static const char *const unit_dirs[] = {
	"/etc/systemd/system.control", "/run/systemd/system.control",
	"/run/systemd/transient",      "/run/systemd/generator.early",
	"/etc/systemd/system",	       "/etc/systemd/system.attached",
	"/run/systemd/system",	       "/run/systemd/system.attached",
	"/run/systemd/generator",      "/usr/local/lib/systemd/system",
	"/usr/lib/systemd/system",     "/lib/systemd/system",
	"/run/systemd/generator.late",
};
#define N_UNIT_DIRS (sizeof(unit_dirs) / sizeof(unit_dirs[0]))

/* Where systemd looks for an unqualified ExecStart= program. */
static const char *const exec_dirs[] = {
	"/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
	"/usr/bin",	   "/sbin",	     "/bin",
};

/* ---- the unit ---- */

struct target {
	char unit[256];	  /* nginx.service, foo@a.service, foo@.service */
	char tmpl[256];	  /* foo@.service, for an instance or a template */
	char inst[256];	  /* "a" */
	bool is_template; /* foo@.service: its drop-in is every instance's */
};

/* "nginx" -> "nginx.service"; refuses names systemd would refuse. */
static bool parse_target(const char *in, struct target *t)
{
	const char *dot, *at;
	size_t n = strlen(in);

	memset(t, 0, sizeof(*t));
	if (n == 0 || n > 240)
		return false;
	for (const char *p = in; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
			    "YZ0123456789:-_.\\@",
			    *p))
			return false;
	if (in[0] == '.' || in[0] == '-' || in[0] == '@')
		return false;
	dot = strrchr(in, '.');
	if (dot && strcmp(dot, ".service") != 0)
		return false;
	snprintf(t->unit, sizeof(t->unit), "%s%s", in, dot ? "" : ".service");
	at = strchr(t->unit, '@');
	if (!at)
		return true;
	if (strchr(at + 1, '@'))
		return false;
	dot = strrchr(t->unit, '.');
	snprintf(t->tmpl, sizeof(t->tmpl), "%.*s%s", (int)(at + 1 - t->unit),
		 t->unit, dot);
	snprintf(t->inst, sizeof(t->inst), "%.*s", (int)(dot - at - 1), at + 1);
	t->is_template = t->inst[0] == '\0';
	return true;
}

/* ---- the root: where the unit files are ---- */

struct root {
	char path[PATH_MAX]; /* "/" or --root, without a trailing '/' */
	int fd;
	bool given; /* --root: files only, no systemctl */
};

static int root_open(const struct root *r, const char *path, int flags)
{
	int fd = cli_open_in_root(r->fd, path, flags);

	/* no openat2 (Linux < 5.6): on the running system, plain open */
	if (fd < 0 && errno == ENOSYS && !r->given)
		fd = open(path, flags | O_CLOEXEC);
	return fd;
}

/* ROOT/path, for messages. */
static const char *shown(const struct root *r, const char *path, char *buf,
			 size_t len)
{
	const char *pre = strcmp(r->path, "/") == 0 ? "" : r->path;
	size_t n = strlen(pre);

	if (n >= len)
		n = len - 1;
	memcpy(buf, pre, n);
	copy(buf + n, len - n, path);
	return buf;
}

/* The whole file at path inside the root, NUL-terminated, malloc'ed;
 * NULL with errno. */
static char *read_in_root(const struct root *r, const char *path)
{
	size_t got = 0, cap = 4096;
	char *buf = malloc(cap), *nb;
	int fd = root_open(r, path, O_RDONLY | O_NONBLOCK);

	if (fd < 0 || !buf) {
		int e = fd < 0 ? errno : ENOMEM;

		free(buf);
		if (fd >= 0)
			close(fd);
		errno = e;
		return NULL;
	}
	for (;;) {
		ssize_t n;

		if (got + 1 >= cap) {
			if (cap >= FILE_MAX)
				break;
			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb)
				break;
			buf = nb;
		}
		n = read(fd, buf + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return buf;
}

/* ---- what the unit's files say ---- */

/* A variable set or reset after the drop-in, undoing what it sets. */
struct undo {
	char var[64]; /* "LD_PRELOAD", or "*" for "Environment=" (reset) */
	char file[PATH_MAX];
	enum { UNDO_LATER, UNDO_ENVFILE, UNDO_UNSET, UNDO_RESET } how;
};

struct facts {
	char id[256]; /* the unit's name as systemd knows it */
	char fragment[PATH_MAX];
	bool masked;
	char *dropins[MAX_FILES]; /* in systemd's order */
	size_t ndropins;
	/* EnvironmentFile=, ExecStart= programs, User= ...: from systemctl
	 * when systemd runs, else from the files */
	bool from_systemd;
	char envfiles[MAX_LIST][PATH_MAX];
	bool envfile_optional[MAX_LIST];
	size_t nenvfiles;
	char exec[MAX_LIST][PATH_MAX];
	size_t nexec;
	char user[128], group[128];
	bool dynamic_user, no_new_privs;
	/* the environment as the files set it */
	char preload[VALUE_MAX]; /* LD_PRELOAD before the drop-in */
	bool has_preload;
	char preload_from[PATH_MAX];
	char godebug[VALUE_MAX]; /* GODEBUG, for Go programs */
	struct undo undo[MAX_LIST];
	size_t nundo;
};

static void facts_free(struct facts *f)
{
	for (size_t i = 0; i < f->ndropins; i++)
		free(f->dropins[i]);
	f->ndropins = 0;
}

/* Does the drop-in set this variable? LD_PRELOAD always; the library's
 * own only when given as options. */
static bool we_set(const char *var, const char *const *value)
{
	if (strcmp(var, "LD_PRELOAD") == 0)
		return true;
	for (unsigned i = 0; i < MS_NSETTINGS; i++)
		if (value[i] && strcmp(var, ms_settings[i].var) == 0)
			return true;
	return false;
}

static void add_undo(struct facts *f, const char *var, const char *file,
		     int how)
{
	struct undo *u;

	if (f->nundo == MAX_LIST)
		return;
	u = &f->undo[f->nundo++];
	copy(u->var, sizeof(u->var), var);
	copy(u->file, sizeof(u->file), file);
	u->how = how;
}

/* The next word of a value, as systemd's extract_first_word() with
 * EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE reads it: blanks separate words,
 * "..." and '...' quote, C escapes. Returns false at the end. */
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
			static const char from[] = "abfnrtvs", to[] = "\a\b\f\n"
								      "\r\t\v ";
			const char *e = strchr(from, s[1]);

			s++;
			if (e) {
				c = to[e - from];
			} else if (*s == 'x' && s[1] && s[2]) {
				char hex[3] = {s[1], s[2], 0};

				c = (char)strtol(hex, NULL, 16);
				s += 2;
			} else {
				c = *s;
			}
		}
		if (n + 1 < len)
			out[n++] = c;
	}
	out[n] = '\0';
	*sp = s;
	return true;
}

/* ExecStart=@-:+!/usr/sbin/nginx -g ... -> "/usr/sbin/nginx" */
static void add_exec(struct facts *f, const char *value)
{
	char word[PATH_MAX];
	const char *w = word;

	if (!next_word(&value, word, sizeof(word))) {
		f->nexec = 0; /* "ExecStart=" empties the list */
		return;
	}
	w += strspn(w, "@-:+!|");
	if (*w && f->nexec < MAX_LIST)
		copy(f->exec[f->nexec++], PATH_MAX, w);
}

/* Expands the specifiers an EnvironmentFile= path of an instance uses;
 * false if it has another one (the path cannot be known here). */
static bool expand_path(const char *in, const struct target *t, char *out,
			size_t len)
{
	size_t n = 0;

	for (const char *p = in; *p && n + 1 < len; p++) {
		const char *add = NULL;
		char one[2] = {*p, 0};

		if (*p != '%') {
			add = one;
		} else {
			switch (*++p) {
			case '%':
				add = "%";
				break;
			case 'i':
			case 'I':
				add = t->inst;
				break;
			case 'n':
				add = t->unit;
				break;
			case 'E':
				add = "/etc";
				break;
			default:
				return false;
			}
		}
		copy(out + n, len - n, add);
		n += strlen(out + n);
	}
	out[n < len ? n : len - 1] = '\0';
	return true;
}

struct parse_ctx {
	struct facts *f;
	const struct target *t;
	const char *const *value; /* the options: what the drop-in sets */
	bool after_ours;	  /* a drop-in read after mptcpshim.conf */
	const char *file;
};

/* Applies one Environment= value. */
static void apply_environment(struct parse_ctx *c, const char *v)
{
	char word[VALUE_MAX];
	bool any = false;

	while (next_word(&v, word, sizeof(word))) {
		char *eq = strchr(word, '=');

		any = true;
		if (!eq)
			continue;
		*eq = '\0';
		if (c->after_ours && we_set(word, c->value))
			add_undo(c->f, word, c->file, UNDO_LATER);
		if (strcmp(word, "LD_PRELOAD") == 0 && !c->after_ours) {
			copy(c->f->preload, sizeof(c->f->preload), eq + 1);
			copy(c->f->preload_from, sizeof(c->f->preload_from),
			     c->file);
			c->f->has_preload = true;
		}
		if (strcmp(word, "GODEBUG") == 0)
			copy(c->f->godebug, sizeof(c->f->godebug), eq + 1);
	}
	if (any)
		return;
	/* "Environment=" empties the list */
	if (c->after_ours)
		add_undo(c->f, "*", c->file, UNDO_RESET);
	else
		c->f->has_preload = false;
	c->f->godebug[0] = '\0';
}

static void apply_directive(struct parse_ctx *c, const char *key, const char *v)
{
	struct facts *f = c->f;
	char word[VALUE_MAX];

	if (strcmp(key, "Environment") == 0) {
		apply_environment(c, v);
	} else if (strcmp(key, "UnsetEnvironment") == 0) {
		while (next_word(&v, word, sizeof(word))) {
			word[strcspn(word, "=")] = '\0';
			if (we_set(word, c->value))
				add_undo(f, word, c->file, UNDO_UNSET);
		}
	} else if (f->from_systemd) {
		return; /* the rest comes from systemctl */
	} else if (strcmp(key, "EnvironmentFile") == 0) {
		if (!next_word(&v, word, sizeof(word))) {
			f->nenvfiles = 0;
		} else if (f->nenvfiles < MAX_LIST) {
			bool opt = word[0] == '-';

			f->envfile_optional[f->nenvfiles] = opt;
			copy(f->envfiles[f->nenvfiles++], PATH_MAX, word + opt);
		}
	} else if (strcmp(key, "ExecStart") == 0) {
		add_exec(f, v);
	} else if (strcmp(key, "User") == 0) {
		copy(f->user, sizeof(f->user), v);
	} else if (strcmp(key, "Group") == 0) {
		copy(f->group, sizeof(f->group), v);
	} else if (strcmp(key, "DynamicUser") == 0) {
		f->dynamic_user = v[0] == '1' || v[0] == 'y' || v[0] == 't' ||
				  strcmp(v, "on") == 0;
	} else if (strcmp(key, "NoNewPrivileges") == 0) {
		f->no_new_privs = v[0] == '1' || v[0] == 'y' || v[0] == 't' ||
				  strcmp(v, "on") == 0;
	}
}

/* Reads the [Service] section of one unit file or drop-in. */
static void parse_unit_file(const struct root *r, struct parse_ctx *c)
{
	char *text = read_in_root(r, c->file), *line, *next;
	bool in_service = false;

	if (!text)
		return;
	/* continuation lines: a trailing backslash joins the next one */
	for (char *p = text; (p = strstr(p, "\\\n"));) {
		p[0] = ' ';
		p[1] = ' ';
	}
	for (line = text; line; line = next) {
		char *eq, *k, *v;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		line[strcspn(line, "\r")] = '\0';
		line += strspn(line, " \t");
		if (*line == '#' || *line == ';' || *line == '\0')
			continue;
		if (*line == '[') {
			in_service = strncmp(line, "[Service]", 9) == 0;
			continue;
		}
		eq = strchr(line, '=');
		if (!in_service || !eq)
			continue;
		*eq = '\0';
		k = line;
		for (char *e = eq; e > k && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = '\0';
		v = eq + 1;
		v += strspn(v, " \t");
		for (char *e = v + strlen(v);
		     e > v && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = '\0';
		apply_directive(c, k, v);
	}
	free(text);
}

/* ---- finding the files, as systemd would (with --root) ---- */

/* Is path inside the root a unit file, or a mask (a link to /dev/null)? */
static bool unit_file_at(const struct root *r, const char *path, bool *masked)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;
	int fd = root_open(r, path, O_PATH | O_NOFOLLOW);

	if (fd < 0)
		return false;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 && S_ISLNK(st.st_mode)) {
		n = readlinkat(fd, "", target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			*masked = strcmp(target, "/dev/null") == 0;
		}
	}
	close(fd);
	if (*masked)
		return true;
	fd = root_open(r, path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int by_base_name(const void *a, const void *b)
{
	const char *x = strrchr(*(char *const *)a, '/') + 1;
	const char *y = strrchr(*(char *const *)b, '/') + 1;

	return strcmp(x, y);
}

/* The .conf files of one drop-in directory, unless a directory found
 * earlier (higher priority) has the same name. */
static void add_dropins(const struct root *r, const char *dir, struct facts *f)
{
	struct dirent *de;
	DIR *dp;
	int fd = root_open(r, dir, O_RDONLY | O_DIRECTORY);

	if (fd < 0)
		return;
	dp = fdopendir(fd);
	if (!dp) {
		close(fd);
		return;
	}
	while ((de = readdir(dp)) && f->ndropins < MAX_FILES) {
		size_t n = strlen(de->d_name);
		bool dup = false;
		char *path;

		if (n < 6 || strcmp(de->d_name + n - 5, ".conf") != 0)
			continue;
		for (size_t j = 0; j < f->ndropins && !dup; j++)
			dup = strcmp(strrchr(f->dropins[j], '/') + 1,
				     de->d_name) == 0;
		if (!dup && asprintf(&path, "%s/%s", dir, de->d_name) >= 0)
			f->dropins[f->ndropins++] = path;
	}
	closedir(dp);
}

/* The unit file and its drop-ins under the root (systemd's lookup: the
 * instance, else its template; drop-ins of the unit, its template, its
 * dash prefixes and "service.d", sorted by file name). */
static bool files_from_root(const struct root *r, const struct target *t,
			    struct facts *f)
{
	const char *names[2 + 16];
	char prefixes[16][256], dir[PATH_MAX + 300];
	size_t nnames = 0, np = 0;
	bool found = false;

	names[nnames++] = t->unit;
	if (t->tmpl[0] && !t->is_template)
		names[nnames++] = t->tmpl;
	copy(f->id, sizeof(f->id), t->unit);
	for (size_t k = 0; k < nnames && !found; k++) {
		for (size_t d = 0; d < N_UNIT_DIRS && !found; d++) {
			snprintf(f->fragment, sizeof(f->fragment), "%s/%s",
				 unit_dirs[d], names[k]);
			found = unit_file_at(r, f->fragment, &f->masked);
		}
	}
	if (!found)
		return false;
	/* "a-b-c.service": drop-ins of "a-.service" and "a-b-.service" */
	for (const char *p = t->unit; (p = strchr(p, '-')) && np < 16; p++)
		if (p < strchr(t->unit, t->tmpl[0] ? '@' : '.'))
			snprintf(prefixes[np++], sizeof(prefixes[0]),
				 "%.*s.service", (int)(p + 1 - t->unit),
				 t->unit);
	for (size_t i = 0; i < np; i++)
		names[nnames++] = prefixes[i];
	for (size_t d = 0; d < N_UNIT_DIRS; d++) {
		for (size_t k = 0; k < nnames; k++) {
			snprintf(dir, sizeof(dir), "%s/%s.d", unit_dirs[d],
				 names[k]);
			add_dropins(r, dir, f);
		}
	}
	for (size_t d = 0; d < N_UNIT_DIRS; d++) {
		snprintf(dir, sizeof(dir), "%s/service.d", unit_dirs[d]);
		add_dropins(r, dir, f);
	}
	qsort(f->dropins, f->ndropins, sizeof(f->dropins[0]), by_base_name);
	return true;
}

/* ---- asking the running systemd ---- */

/* Fills f from `systemctl show`; EX_OK, or EX_FAIL (message printed). */
static int files_from_systemd(const struct target *t, struct facts *f)
{
	char *argv[] = {
		(char *)"systemctl",
		(char *)"show",
		(char *)t->unit,
		(char *)"-p",
		(char *)"Id",
		(char *)"-p",
		(char *)"LoadState",
		(char *)"-p",
		(char *)"FragmentPath",
		(char *)"-p",
		(char *)"DropInPaths",
		(char *)"-p",
		(char *)"EnvironmentFiles",
		(char *)"-p",
		(char *)"ExecStart",
		(char *)"-p",
		(char *)"User",
		(char *)"-p",
		(char *)"Group",
		(char *)"-p",
		(char *)"DynamicUser",
		(char *)"-p",
		(char *)"NoNewPrivileges",
		NULL,
	};
	static char out[1 << 16];
	char load[64] = "";
	char *line, *next;

	f->from_systemd = true;
	if (cli_capture(argv, out, sizeof(out), false) != 0) {
		cli_err("'systemctl show %s' failed", t->unit);
		return EX_FAIL;
	}
	for (line = out; line && *line; line = next) {
		char *v = strchr(line, '=');

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!v)
			continue;
		*v++ = '\0';
		if (strcmp(line, "Id") == 0) {
			copy(f->id, sizeof(f->id), v);
		} else if (strcmp(line, "LoadState") == 0) {
			copy(load, sizeof(load), v);
		} else if (strcmp(line, "FragmentPath") == 0) {
			copy(f->fragment, sizeof(f->fragment), v);
		} else if (strcmp(line, "DropInPaths") == 0) {
			char *save = NULL;

			for (char *w = strtok_r(v, " ", &save);
			     w && f->ndropins < MAX_FILES;
			     w = strtok_r(NULL, " ", &save))
				f->dropins[f->ndropins++] = strdup(w);
		} else if (strcmp(line, "EnvironmentFiles") == 0) {
			/* "/etc/default/x (ignore_errors=yes)" */
			char *paren = strstr(v, " (ignore_errors=");

			if (f->nenvfiles == MAX_LIST)
				continue;
			f->envfile_optional[f->nenvfiles] =
				paren &&
				strncmp(paren, " (ignore_errors=yes", 19) == 0;
			if (paren)
				*paren = '\0';
			copy(f->envfiles[f->nenvfiles++], PATH_MAX, v);
		} else if (strcmp(line, "ExecStart") == 0) {
			/* "{ path=/usr/sbin/nginx ; argv[]=... }", one per
			 * command */
			for (char *p = v; (p = strstr(p, "path="));) {
				p += 5;
				if (f->nexec < MAX_LIST)
					snprintf(f->exec[f->nexec++], PATH_MAX,
						 "%.*s", (int)strcspn(p, " ;"),
						 p);
			}
		} else if (strcmp(line, "User") == 0) {
			copy(f->user, sizeof(f->user), v);
		} else if (strcmp(line, "Group") == 0) {
			copy(f->group, sizeof(f->group), v);
		} else if (strcmp(line, "DynamicUser") == 0) {
			f->dynamic_user = strcmp(v, "yes") == 0;
		} else if (strcmp(line, "NoNewPrivileges") == 0) {
			f->no_new_privs = strcmp(v, "yes") == 0;
		}
	}
	if (strcmp(load, "loaded") == 0)
		return EX_OK;
	if (strcmp(load, "masked") == 0)
		cli_err("unit %s is masked (systemctl unmask %s)", t->unit,
			t->unit);
	else if (strcmp(load, "not-found") == 0)
		cli_err("unit %s not found (is it installed?)", t->unit);
	else
		cli_err("unit %s: %s", t->unit, *load ? load : "unknown");
	return EX_FAIL;
}

/* The name systemd knows a unit by (an alias's target); false if it
 * does not know it (no longer installed: the name as given is used). */
static bool unit_id(const char *unit, char *id, size_t len)
{
	char *argv[] = {(char *)"systemctl", (char *)"show",
			(char *)"-p",	     (char *)"Id",
			(char *)"-p",	     (char *)"LoadState",
			(char *)unit,	     NULL};
	char out[512], *line, *next;
	bool known = false;

	id[0] = '\0';
	if (cli_capture(argv, out, sizeof(out), false) != 0)
		return false;
	for (line = out; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, "Id=", 3) == 0)
			copy(id, len, line + 3);
		else if (strncmp(line, "LoadState=", 10) == 0)
			known = strcmp(line + 10, "not-found") != 0;
	}
	return known && id[0] != '\0';
}

/* Replays the files' [Service] sections in systemd's order: what comes
 * before the drop-in, and what after it undoes it. */
static void replay(const struct root *r, const struct target *t,
		   const char *const *value, struct facts *f)
{
	struct parse_ctx c = {.f = f, .t = t, .value = value};

	c.file = f->fragment;
	parse_unit_file(r, &c);
	for (size_t i = 0; i < f->ndropins; i++) {
		int cmp = strcmp(strrchr(f->dropins[i], '/') + 1, DROPIN_NAME);

		if (cmp == 0)
			continue; /* ours, or one that ours hides */
		c.after_ours = cmp > 0;
		c.file = f->dropins[i];
		parse_unit_file(r, &c);
	}
}

/* An EnvironmentFile= that sets what the drop-in sets replaces it. */
static void check_envfiles(const struct root *r, const struct target *t,
			   const char *const *value, struct facts *f)
{
	for (size_t i = 0; i < f->nenvfiles; i++) {
		char path[PATH_MAX], *text, *line, *next;

		if (!expand_path(f->envfiles[i], t, path, sizeof(path)))
			continue;
		text = read_in_root(r, path);
		if (!text)
			continue;
		for (line = text; line; line = next) {
			char *eq;

			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			line += strspn(line, " \t");
			if (strncmp(line, "export ", 7) == 0)
				line += 7 + strspn(line + 7, " \t");
			eq = strchr(line, '=');
			if (*line == '#' || *line == ';' || !eq)
				continue;
			*eq = '\0';
			line[strcspn(line, " \t")] = '\0';
			if (we_set(line, value))
				add_undo(f, line, path, UNDO_ENVFILE);
			if (strcmp(line, "GODEBUG") == 0)
				copy(f->godebug, sizeof(f->godebug),
				     eq + 1 + strspn(eq + 1, "\"'"));
		}
		free(text);
	}
}

/* ---- the drop-in's text ---- */

/* Appends value to buf as the inside of a double-quoted Environment=
 * word: backslash, quote and control characters escaped; '%' doubled
 * unless the value is the unit's own text, whose specifiers (%E, %i ...)
 * must stay specifiers. Returns false if buf is full. */
static bool append_quoted(char *buf, size_t len, const char *value,
			  bool keep_specifiers)
{
	size_t n = strlen(buf);

	for (const char *p = value; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (n + 5 >= len)
			return false;
		if (c == '"' || c == '\\') {
			buf[n++] = '\\';
			buf[n++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", c);
		} else if (c == '%' && !keep_specifiers) {
			buf[n++] = '%';
			buf[n++] = '%';
		} else {
			buf[n++] = (char)c;
		}
	}
	buf[n] = '\0';
	return true;
}

/* Appends Environment="NAME=VALUE" for a value of ours (no specifiers). */
static bool add_env_line(char *buf, size_t len, const char *name,
			 const char *value)
{
	size_t n = strlen(buf);

	if ((size_t)snprintf(buf + n, len - n, "Environment=\"%s=", name) >=
		    len - n ||
	    !append_quoted(buf, len, value, false))
		return false;
	n = strlen(buf);
	return (size_t)snprintf(buf + n, len - n, "\"\n") < len - n;
}

/* The entries of an LD_PRELOAD value other than this library (any file
 * named libmptcpshim.so*), joined with ':'. */
static void strip_library(const char *in, const char *lib, char *out,
			  size_t len)
{
	char buf[VALUE_MAX], *save = NULL, *tok;
	size_t n = 0;

	copy(buf, sizeof(buf), in);
	out[0] = '\0';
	for (tok = strtok_r(buf, ": \t", &save); tok;
	     tok = strtok_r(NULL, ": \t", &save)) {
		const char *base = strrchr(tok, '/');

		base = base ? base + 1 : tok;
		if (cli_is_library(tok, lib) ||
		    strncmp(base, "libmptcpshim.so", 15) == 0)
			continue;
		n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s",
				      n ? ":" : "", tok);
	}
}

/* ---- writing without following a link ---- */

/* Opens the directory ROOT/rel (rel starts with '/') one component at a
 * time, never following a symbolic link, creating the missing ones when
 * create. -1 with errno (ELOOP: a component is a symbolic link), and the
 * failing component in where. */
static int walk_nofollow(const struct root *r, const char *rel, bool create,
			 char *where, size_t wlen)
{
	char buf[PATH_MAX], done[PATH_MAX] = "", *save = NULL, *comp;
	int fd = dup(r->fd);

	copy(buf, sizeof(buf), rel);
	for (comp = strtok_r(buf, "/", &save); comp && fd >= 0;
	     comp = strtok_r(NULL, "/", &save)) {
		struct stat st;
		int next;

		snprintf(done + strlen(done), sizeof(done) - strlen(done),
			 "/%s", comp);
		if (create && mkdirat(fd, comp, 0755) != 0 && errno != EEXIST)
			goto fail;
		if (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode)) {
			errno = ELOOP;
			goto fail;
		}
		next = openat(fd, comp,
			      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			goto fail;
		close(fd);
		fd = next;
	}
	return fd;
fail:
	shown(r, done, where, wlen);
	if (fd >= 0) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return -1;
}

/* Reads dirfd/name into buf (at most len - 1 bytes) without following a
 * symbolic link. 0, or an errno (ENOENT: none, ELOOP: a link, EISDIR ...:
 * not a regular file). */
static int read_nofollow(int dirfd, const char *name, char *buf, size_t len)
{
	struct stat st;
	size_t got = 0;
	int fd = openat(dirfd, name,
			O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return EISDIR;
	}
	for (;;) {
		ssize_t n = read(fd, buf + got, len - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (got += (size_t)n) + 1 >= len)
			break;
	}
	buf[got] = '\0';
	close(fd);
	return 0;
}

/* Writes dirfd/DROPIN_NAME atomically: a new file of a name nobody can
 * have prepared (O_EXCL), then rename(2), which replaces the name itself
 * and never follows it. */
static bool write_dropin(int dirfd, const char *text)
{
	size_t len = strlen(text);
	char tmp[64];
	int fd = -1, e;

	for (int tries = 0; tries < 16 && fd < 0; tries++) {
		unsigned rnd = 0;

		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd ^= (unsigned)getpid() * 2654435761u +
			       (unsigned)tries;
		snprintf(tmp, sizeof(tmp), ".%s.%08x", DROPIN_NAME, rnd);
		fd = openat(dirfd, tmp,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				    O_CLOEXEC,
			    0644);
		if (fd < 0 && errno != EEXIST)
			return false;
	}
	if (fd < 0)
		return false;
	if (fchmod(fd, 0644) != 0 || write(fd, text, len) != (ssize_t)len ||
	    fsync(fd) != 0 || close(fd) != 0) {
		e = errno;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		errno = e;
		return false;
	}
	if (renameat(dirfd, tmp, dirfd, DROPIN_NAME) != 0) {
		e = errno;
		unlinkat(dirfd, tmp, 0);
		errno = e;
		return false;
	}
	fsync(dirfd);
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

/* ---- arguments ---- */

struct unit_args {
	struct target t;
	const char *root; /* NULL: no --root */
	bool dry_run;
	bool detailed_exit;		 /* 3 when something changed */
	const char *value[MS_NSETTINGS]; /* enable: --ports ... */
};

static int parse_unit_args(int argc, char **argv, struct unit_args *a,
			   bool enable)
{
	struct option longopts[MS_NSETTINGS + 5];
	size_t n = enable ? cli_setting_options(longopts) : 0;
	const char *name;
	int c;

	longopts[n++] = (struct option){"root", required_argument, NULL, 'r'};
	if (enable)
		longopts[n++] =
			(struct option){"dry-run", no_argument, NULL, 'n'};
	longopts[n++] =
		(struct option){"detailed-exit", no_argument, NULL, 'x'};
	longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[n] = (struct option){0};
	memset(a, 0, sizeof(*a));
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
		} else if (c == 'n') {
			a->dry_run = true;
		} else if (c == 'x') {
			a->detailed_exit = true;
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
	if (!parse_target(name, &a->t))
		return cli_usage_err("'%s' is not the name of a service unit "
				     "(e.g. nginx, nginx.service, "
				     "name@instance)",
				     name);
	if (a->root && a->root[0] != '/')
		return cli_usage_err("--root: '%s' is not an absolute path",
				     a->root);
	/* A value with a newline would end the Environment= line there:
	 * systemd drops the line and the library converts everything. */
	for (unsigned i = 0; i < MS_NSETTINGS; i++) {
		char q[512];

		if (a->value[i] && cli_has_control(a->value[i]))
			return cli_usage_err(
				"--%s: \"%s\" holds a control character; "
				"refused (it would break the drop-in's line)",
				ms_settings[i].name,
				cli_quote(a->value[i], q, sizeof(q)));
	}
	return 0;
}

/* The root to work in: --root, or "/" when systemd runs; refuses the rest
 * (nothing would read a drop-in written here). */
static int open_root(const struct unit_args *a, struct root *r)
{
	size_t n;

	memset(r, 0, sizeof(*r));
	r->given = a->root != NULL;
	if (!r->given && !cli_systemd_running()) {
		if (a->dry_run) {
			/* nothing is written: the files under / tell */
			r->given = true;
		} else {
			cli_err("systemd is not running here (no "
				"/run/systemd/system), so no drop-in would be "
				"read; to prepare the unit files of an image "
				"or a container tree, give --root DIR (--root "
				"/ for this file system)");
			return EX_FAIL;
		}
	}
	copy(r->path, sizeof(r->path), a->root ? a->root : "/");
	n = strlen(r->path);
	while (n > 1 && r->path[n - 1] == '/')
		r->path[--n] = '\0';
	r->fd = open(r->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->fd < 0) {
		/* a --root that is no directory is a bad argument */
		cli_usage_err("--root %s: %s", r->path, strerror(errno));
		return EX_USAGE_2;
	}
	return EX_OK;
}

/* The unit's drop-in directory, relative to the root. */
static void dropin_dir(const char *unit, char *out, size_t len)
{
	snprintf(out, len, "%s/%s.d", DROPIN_DIR, unit);
}

/* Who runs the service: its User= and Group=, looked up in the root. */
static void runner_of(const struct root *r, const struct facts *f,
		      struct reach_runner *as)
{
	char *text;

	memset(as, 0, sizeof(*as));
	as->known = !f->dynamic_user;
	as->no_new_privs = f->no_new_privs;
	if (!f->user[0] || !as->known)
		return; /* root */
	if (f->user[strspn(f->user, "0123456789")] == '\0') {
		as->uid = (uid_t)strtoul(f->user, NULL, 10);
		as->gid = as->uid;
		return;
	}
	as->known = false;
	text = read_in_root(r, "/etc/passwd");
	for (char *line = text, *next; line; line = next) {
		size_t n = strlen(f->user);
		char *fields[4] = {0};

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, f->user, n) != 0 || line[n] != ':')
			continue;
		fields[0] = line;
		for (int k = 1; k < 4 && fields[k - 1]; k++) {
			fields[k] = strchr(fields[k - 1], ':');
			if (fields[k])
				*fields[k]++ = '\0';
		}
		if (fields[2] && fields[3]) {
			as->uid = (uid_t)strtoul(fields[2], NULL, 10);
			as->gid = (gid_t)strtoul(fields[3], NULL, 10);
			as->known = true;
		}
		break;
	}
	free(text);
}

/* ExecStart's program: an unqualified name is searched where systemd
 * searches it. */
static void exec_path(const struct root *r, const char *prog, char *out,
		      size_t len)
{
	copy(out, len, prog);
	if (prog[0] == '/')
		return;
	for (size_t i = 0; i < sizeof(exec_dirs) / sizeof(exec_dirs[0]); i++) {
		int fd;

		snprintf(out, len, "%s/%s", exec_dirs[i], prog);
		fd = root_open(r, out, O_PATH);
		if (fd >= 0) {
			close(fd);
			return;
		}
	}
	copy(out, len, prog);
}

/* Warnings: what undoes the drop-in, programs it cannot reach. (nginx's
 * env lines are not needed for its binary upgrade: the library passes
 * itself on; README, "nginx versions".) */
static void report(FILE *out, const struct root *r, const struct unit_args *a,
		   struct facts *f, const char *lib)
{
	const char *unit = a->t.unit;
	char shown_file[PATH_MAX * 2];
	struct reach_runner as;

	for (size_t i = 0; i < f->nundo; i++) {
		const struct undo *u = &f->undo[i];
		const char *file =
			shown(r, u->file, shown_file, sizeof(shown_file));

		switch (u->how) {
		case UNDO_LATER:
			fprintf(out,
				"%s: warning: %s sets %s and is read after %s, "
				"so it replaces the drop-in's value%s; add "
				"%s to it there, or remove it\n",
				unit, file, u->var, DROPIN_NAME,
				strcmp(u->var, "LD_PRELOAD") == 0
					? ": the library will not be loaded"
					: "",
				strcmp(u->var, "LD_PRELOAD") == 0
					? lib
					: "the value");
			break;
		case UNDO_ENVFILE:
			fprintf(out,
				"%s: warning: %s (EnvironmentFile=) sets %s, "
				"which wins over every Environment= line%s; "
				"remove it there%s\n",
				unit, file, u->var,
				strcmp(u->var, "LD_PRELOAD") == 0
					? ": the library will not be loaded"
					: "",
				strcmp(u->var, "LD_PRELOAD") == 0
					? ", or add the library to it"
					: "");
			break;
		case UNDO_UNSET:
			fprintf(out,
				"%s: warning: %s unsets %s "
				"(UnsetEnvironment=): the drop-in's value is "
				"dropped; remove it there\n",
				unit, file, u->var);
			break;
		case UNDO_RESET:
			fprintf(out,
				"%s: warning: %s has an empty Environment= "
				"and is read after %s: it drops the drop-in's "
				"variables (the library will not be loaded)\n",
				unit, file, DROPIN_NAME);
			break;
		}
	}
	runner_of(r, f, &as);
	for (size_t i = 0; i < f->nexec; i++) {
		char prog[PATH_MAX], what[PATH_MAX + 512],
			advice[PATH_MAX + 256];
		struct reach_result res;
		bool seen = false;

		for (size_t j = 0; j < i; j++)
			seen |= strcmp(f->exec[j], f->exec[i]) == 0;
		if (seen)
			continue;
		exec_path(r, f->exec[i], prog, sizeof(prog));
		if (!reach_check(r->fd, prog, &as, lib, &res) ||
		    !reach_explain(&res, f->godebug, what, sizeof(what), advice,
				   sizeof(advice)))
			continue;
		fprintf(out, "%s: warning: %s\n%s: %s\n", unit, what, unit,
			advice);
	}
}

/* The unit's files: from systemd, or from the root. EX_OK or EX_FAIL. */
static int unit_facts(const struct root *r, const struct unit_args *a,
		      struct facts *f)
{
	char where[PATH_MAX];

	memset(f, 0, sizeof(*f));
	if (!r->given && !a->t.is_template) {
		/* systemctl cannot show a template: its files are read */
		int rc = files_from_systemd(&a->t, f);

		if (rc)
			return rc;
	} else if (!files_from_root(r, &a->t, f)) {
		cli_err("unit %s not found under %s (looked in "
			"etc/systemd/system, run/, usr/local/lib/, usr/lib/ "
			"and lib/systemd/system)",
			a->t.unit, r->path);
		return EX_FAIL;
	}
	if (f->masked) {
		cli_err("unit %s is masked (%s links to /dev/null)", a->t.unit,
			shown(r, f->fragment, where, sizeof(where)));
		return EX_FAIL;
	}
	replay(r, &a->t, a->value, f);
	check_envfiles(r, &a->t, a->value, f);
	return EX_OK;
}

/* The drop-in for these options; false if it does not fit. */
static bool dropin_text(const struct unit_args *a, const struct facts *f,
			const char *lib, char *text, size_t len)
{
	char kept[VALUE_MAX];
	size_t n;
	bool ok;

	strip_library(f->has_preload ? f->preload : "", lib, kept,
		      sizeof(kept));
	snprintf(text, len,
		 "%s 'mptcpshim disable %s' removes this file.\n"
		 "# LD_PRELOAD keeps what the unit itself sets%s.\n"
		 "[Service]\n"
		 "Environment=\"LD_PRELOAD=",
		 MARKER, a->t.unit, *kept ? "" : " (nothing)");
	/* the unit's own entries keep their specifiers, as the unit wrote
	 * them; the library's path is a path */
	ok = append_quoted(text, len, kept, true);
	n = strlen(text);
	if (*kept && n + 1 < len)
		text[n++] = ':', text[n] = '\0';
	ok = ok && append_quoted(text, len, lib, false);
	n = strlen(text);
	ok = ok && (size_t)snprintf(text + n, len - n, "\"\n") < len - n;
	for (unsigned i = 0; i < MS_NSETTINGS && ok; i++)
		if (a->value[i])
			ok = add_env_line(text, len, ms_settings[i].var,
					  a->value[i]);
	return ok;
}

/* Is the library where the drop-in will say? On this system it is an error
 * (the service would run without it, the loader complaining at each
 * start); under --root a warning: an image may get it installed later. */
static bool library_there(const struct root *r, const char *lib, bool dry_run,
			  bool *missing)
{
	char where[PATH_MAX * 2];
	int fd = root_open(r, lib, O_RDONLY | O_NONBLOCK);
	struct stat st;
	bool ok = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);

	if (fd >= 0)
		close(fd);
	*missing = !ok;
	if (ok || (r->given && strcmp(r->path, "/") != 0))
		return true; /* the warning comes after the first line */
	shown(r, lib, where, sizeof(where));
	cli_err("the library %s is not there%s: nothing written (the command "
		"takes $MPTCPSHIM_LIBRARY, else %s, else the libmptcpshim.so "
		"of its build tree; to name it, run enable again with "
		"MPTCPSHIM_LIBRARY=/its/path/libmptcpshim.so before it)",
		where, dry_run ? " (dry run)" : "", MS_LIBRARY);
	return false;
}

/* After daemon-reload: does systemd show the library in LD_PRELOAD? */
static void verify_loaded(const char *unit, const char *lib, bool warned)
{
	char *argv[] = {(char *)"systemctl",
			(char *)"show",
			(char *)"-p",
			(char *)"Environment",
			(char *)"--value",
			(char *)unit,
			NULL};
	static char out[1 << 16];

	if (warned || cli_capture(argv, out, sizeof(out), false) != 0 ||
	    strstr(out, lib))
		return;
	printf("%s: warning: systemd does not show the library in the unit's "
	       "LD_PRELOAD; check 'systemctl show -p Environment %s'\n",
	       unit, unit);
}

int cmd_enable(int argc, char **argv)
{
	struct unit_args a;
	struct root r = {.fd = -1};
	struct facts f;
	char err[MS_ERRLEN], where[PATH_MAX], dir[PATH_MAX + 300];
	char path[PATH_MAX * 2], text[TEXT_MAX], old[TEXT_MAX], q[PATH_MAX];
	const char *lib, *config;
	FILE *out;
	bool changed = false, lib_missing = false;
	int dirfd, rc = parse_unit_args(argc, argv, &a, true);

	if (rc)
		return rc < 0 ? EX_OK : rc;
	for (unsigned i = 0; i < MS_NKEYS; i++)
		if (a.value[i] &&
		    !cli_setting_valid(&ms_settings[i], a.value[i]))
			return EX_USAGE_2;
	config = a.value[MS_SET_CONFIG];
	if (config && config[0] != '/')
		return cli_usage_err("--config: give an absolute path (the "
				     "service does not run in this "
				     "directory)");
	lib = cli_library_path();
	if (lib[0] != '/' || strpbrk(lib, ": ") || cli_has_control(lib)) {
		cli_err("the library path \"%s\" cannot go into LD_PRELOAD "
			"(relative, or holds ':', a blank or a control "
			"character)",
			cli_quote(lib, q, sizeof(q)));
		return EX_FAIL;
	}
	rc = open_root(&a, &r);
	if (rc)
		return rc;
	/* The drop-in names a file that must be there, or every process of
	 * the service starts with a loader error and without the library. */
	if (!library_there(&r, lib, a.dry_run, &lib_missing)) {
		close(r.fd);
		return EX_FAIL;
	}
	/* the configuration is checked where the service will read it */
	if (config && strcmp(config, "/dev/null") != 0) {
		struct ms_config cfg;
		int fd = root_open(&r, config, O_RDONLY | O_NONBLOCK);
		bool ok;

		shown(&r, config, where, sizeof(where));
		if (fd < 0) {
			cli_usage_err("--config: cannot open %s: %s", where,
				      strerror(errno));
			close(r.fd);
			return EX_USAGE_2;
		}
		ms_config_init(&cfg);
		ok = ms_load_fd(fd, where, &cfg, err);
		ms_config_free(&cfg);
		close(fd);
		if (!ok) {
			cli_usage_err("--config: %s", err);
			close(r.fd);
			return EX_USAGE_2;
		}
	}
	rc = unit_facts(&r, &a, &f);
	if (rc) {
		close(r.fd);
		return rc;
	}
	if (!dropin_text(&a, &f, lib, text, sizeof(text))) {
		cli_err("the drop-in would be longer than %zu bytes",
			sizeof(text));
		rc = EX_FAIL;
		goto done;
	}
	/* the name systemd knows the unit by (an alias resolves) */
	dropin_dir(f.id[0] ? f.id : a.t.unit, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, DROPIN_NAME);
	shown(&r, path, where, sizeof(where));
	out = a.dry_run ? stderr : stdout;
	if (a.dry_run) {
		bool same = false;

		dirfd = walk_nofollow(&r, dir, false, q, sizeof(q));
		if (dirfd >= 0) {
			same = read_nofollow(dirfd, DROPIN_NAME, old,
					     sizeof(old)) == 0 &&
			       strcmp(old, text) == 0;
			close(dirfd);
		}
		changed = !same;
		fputs(text, stdout);
		if (same)
			fprintf(out,
				"%s: already enabled (%s unchanged; dry run)\n",
				a.t.unit, where);
		else
			fprintf(out,
				"%s: would write %s (dry run: nothing "
				"written)\n",
				a.t.unit, where);
	} else {
		dirfd = walk_nofollow(&r, dir, true, q, sizeof(q));
		if (dirfd < 0) {
			if (errno == ELOOP)
				cli_err("%s is a symbolic link: not followed, "
					"nothing written",
					q);
			else
				cli_err("cannot create %s: %s", q,
					strerror(errno));
			rc = EX_FAIL;
			goto done;
		}
		rc = read_nofollow(dirfd, DROPIN_NAME, old, sizeof(old));
		if (rc == 0 && strcmp(old, text) == 0) {
			printf("%s: already enabled (%s unchanged)\n", a.t.unit,
			       where);
		} else if (rc == ELOOP || rc == EISDIR ||
			   (rc == 0 &&
			    strncmp(old, MARKER, strlen(MARKER)) != 0)) {
			cli_err("%s exists and was not written by mptcpshim%s; "
				"leaving it alone (remove it first)",
				where, rc == ELOOP ? " (a symbolic link)" : "");
			close(dirfd);
			rc = EX_FAIL;
			goto done;
		} else if (rc != 0 && rc != ENOENT) {
			cli_err("cannot read %s: %s", where, strerror(rc));
			close(dirfd);
			rc = EX_FAIL;
			goto done;
		} else if (!write_dropin(dirfd, text)) {
			cli_err("cannot write %s: %s", where, strerror(errno));
			close(dirfd);
			rc = EX_FAIL;
			goto done;
		} else {
			printf("%s: wrote %s\n", a.t.unit, where);
			changed = true;
		}
		close(dirfd);
	}
	if (f.has_preload) {
		char kept[VALUE_MAX];

		strip_library(f.preload, lib, kept, sizeof(kept));
		if (*kept)
			fprintf(out, "%s: kept the unit's LD_PRELOAD (%s)\n",
				a.t.unit, kept);
	}
	if (lib_missing)
		fprintf(out,
			"%s: warning: the library %s is not there: the service "
			"will run without it until it is installed there\n",
			a.t.unit, shown(&r, lib, q, sizeof(q)));
	report(out, &r, &a, &f, lib);
	rc = changed && a.detailed_exit ? EX_CHANGED : EX_OK;
	if (!r.given && !a.dry_run) {
		if (!daemon_reload())
			rc = EX_FAIL;
		else if (!a.t.is_template)
			verify_loaded(a.t.unit, lib, f.nundo > 0);
	}
	if (a.t.is_template)
		fprintf(out,
			"to apply it: restart each instance "
			"(systemctl restart %.*s<instance>.service)\n",
			(int)strlen(a.t.tmpl) - 8, a.t.tmpl);
	else
		fprintf(out, "to apply it: systemctl restart %s\n", a.t.unit);
done:
	facts_free(&f);
	close(r.fd);
	return rc;
}

/* A drop-in written by hand as README.Debian shows it: nothing but blank
 * lines, comments, [Service], and Environment= assignments of LD_PRELOAD
 * (the library only) and MPTCPSHIM_* variables. Removing it undoes only
 * what enable would have done. Otherwise false, with the first line that
 * is not such a line in why. */
static bool written_like_enable(const char *text, char *why, size_t len)
{
	char line[VALUE_MAX], word[VALUE_MAX];
	bool preload = false;

	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		const char *l, *w;

		copy(line, n + 1 < sizeof(line) ? n + 1 : sizeof(line), p);
		p += n + (p[n] == '\n');
		for (l = line; *l == ' ' || *l == '\t'; l++)
			;
		if (!*l || *l == '#' || *l == ';' ||
		    strcmp(l, "[Service]") == 0)
			continue;
		if (strncmp(l, "Environment=", 12) != 0)
			goto other;
		w = l + 12;
		while (next_word(&w, word, sizeof(word))) {
			char *eq = strchr(word, '=');

			if (!eq)
				goto other;
			*eq = '\0';
			if (strncmp(word, "MPTCPSHIM_", 10) == 0)
				continue;
			if (strcmp(word, "LD_PRELOAD") != 0)
				goto other;
			for (char *save = NULL,
				  *e = strtok_r(eq + 1, ": ", &save);
			     e; e = strtok_r(NULL, ": ", &save)) {
				const char *base = strrchr(e, '/');

				base = base ? base + 1 : e;
				if (strncmp(base, "libmptcpshim.so", 15) != 0)
					goto other;
			}
			preload = true;
		}
		continue;
	other:
		snprintf(why, len, "it has the line \"%.*s\"", 200, l);
		return false;
	}
	if (!preload)
		snprintf(why, len, "it sets no LD_PRELOAD of the library");
	return preload;
}

int cmd_disable(int argc, char **argv)
{
	struct unit_args a;
	struct root r;
	char dir[PATH_MAX + 300], path[PATH_MAX * 2], where[PATH_MAX * 2];
	char parent[PATH_MAX], old[TEXT_MAX], q[PATH_MAX], name[300];
	char id[256], why[300];
	const char *unit;
	int dirfd, pfd, rc = parse_unit_args(argc, argv, &a, false);

	if (rc)
		return rc < 0 ? EX_OK : rc;
	rc = open_root(&a, &r);
	if (rc)
		return rc;
	unit = a.t.unit;
	/* the name enable wrote under: systemd's for an alias */
	if (!r.given && !a.t.is_template && unit_id(unit, id, sizeof(id)))
		unit = id;
	dropin_dir(unit, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, DROPIN_NAME);
	shown(&r, path, where, sizeof(where));
	snprintf(name, sizeof(name), "%s.d", unit);
	pfd = walk_nofollow(&r, DROPIN_DIR, false, q, sizeof(q));
	dirfd = pfd < 0 ? -1
			: openat(pfd, name,
				 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					 O_CLOEXEC);
	if (dirfd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
		struct stat st;

		if (pfd >= 0 &&
		    fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			copy(q, sizeof(q),
			     shown(&r, dir, parent, sizeof(parent)));
		cli_err("%s is a symbolic link: not followed, nothing removed",
			q);
		rc = EX_FAIL;
		goto done;
	}
	rc = dirfd < 0 ? errno
		       : read_nofollow(dirfd, DROPIN_NAME, old, sizeof(old));
	if (rc == ENOENT) {
		printf("%s: not enabled (no %s): nothing to do\n", unit, where);
		rc = EX_OK;
		goto done;
	}
	if (rc == ELOOP || rc == EISDIR) {
		cli_err("%s was not written by mptcpshim%s; leaving it alone",
			where, rc == ELOOP ? " (a symbolic link)" : "");
		rc = EX_FAIL;
		goto done;
	}
	if (rc == 0 && strncmp(old, MARKER, strlen(MARKER)) != 0 &&
	    !written_like_enable(old, why, sizeof(why))) {
		cli_err("%s was not written by mptcpshim and %s; leaving it "
			"alone (edit or remove it by hand)",
			where, why);
		rc = EX_FAIL;
		goto done;
	}
	if (rc != 0) {
		cli_err("cannot read %s: %s", where, strerror(rc));
		rc = EX_FAIL;
		goto done;
	}
	if (unlinkat(dirfd, DROPIN_NAME, 0) != 0) {
		cli_err("cannot remove %s: %s", where, strerror(errno));
		rc = EX_FAIL;
		goto done;
	}
	printf("%s: removed %s\n", unit, where);
	if (unlinkat(pfd, name, AT_REMOVEDIR) == 0)
		printf("%s: removed the empty directory %s\n", unit,
		       shown(&r, dir, parent, sizeof(parent)));
	rc = a.detailed_exit ? EX_CHANGED : EX_OK;
	if (!r.given && !daemon_reload())
		rc = EX_FAIL;
	printf("to apply it: systemctl restart %s\n", unit);
done:
	if (dirfd >= 0)
		close(dirfd);
	if (pfd >= 0)
		close(pfd);
	close(r.fd);
	return rc;
}
