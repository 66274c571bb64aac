/* SPDX-License-Identifier: MIT */
/*
 * mkman TEMPLATE OUTPUT: writes a man page from its template (doc/PAGE.in,
 * the paths already substituted by meson's configure_file), replacing
 * each line ".\" mkman SECTION" by what the settings table (lib/config.c)
 * says, in roff. The settings are documented where they are defined:
 * a new setting is one row of the table, not an edit of three pages.
 *
 * SECTION:
 *   variables   .TP per setting: variable, file key, option, default, doc
 *   keys        one sentence naming the file's keys
 *   options     .TP per option of `run` and `enable`
 *   synopsis    the options in a SYNOPSIS (.RB [ --ports LIST ] ...)
 *   environment .TP per variable: its one line, for mptcpshim(1)
 *
 * mkman --readme FILE: rewrites, in FILE (README.md), the lines between
 * "<!-- mkman settings -->" and "<!-- mkman end -->" with the same table
 * in Markdown; tests/bats/docs.bats checks that it changes nothing.
 *
 * Not installed; built and run by cli/meson.build.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Text for roff: '\' and '-' escaped; the first letter in upper case
 * when cap. */
static void roff(FILE *out, const char *s, bool cap)
{
	for (const char *p = s; *p; p++) {
		if (p == s && cap)
			fputc(toupper((unsigned char)*p), out);
		else if (*p == '\\')
			fputs("\\e", out);
		else if (*p == '-')
			fputs("\\-", out);
		else
			fputc(*p, out);
	}
}

/* "--ports LIST" as \fB\-\-ports\fR \fILIST\fR */
static void option(FILE *out, const struct ms_setting *st)
{
	fputs("\\fB\\-\\-", out);
	roff(out, st->name, false);
	fputs("\\fR", out);
	if (st->arg)
		fprintf(out, " \\fI%s\\fR", st->arg);
}

static void variables(FILE *out)
{
	for (unsigned i = 0; i < MS_NSETTINGS; i++) {
		const struct ms_setting *st = &ms_settings[i];

		fprintf(out, ".TP\n.B %s\n", st->var);
		roff(out, st->doc, true);
		fputs(".\n", out);
		if (st->in_file) {
			fputs("File key: \\fB", out);
			roff(out, st->name, false);
			fputs("\\fR. ", out);
		}
		fputs("Option of \\fBmptcpshim run\\fR and \\fBenable\\fR: ",
		      out);
		option(out, st);
		/* not hyphenated, but broken after a comma if need be */
		fputs(". Default: \\fB\\%", out);
		for (const char *p = st->def; *p; p++) {
			char one[2] = {*p, 0};

			roff(out, one, false);
			if (*p == ',')
				fputs("\\:", out);
		}
		fputs("\\fR.\n", out);
	}
}

static void keys(FILE *out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < MS_NSETTINGS; i++)
		n += ms_settings[i].in_file;
	fputs("The keys are ", out);
	for (unsigned i = 0, k = 0; i < MS_NSETTINGS; i++) {
		if (!ms_settings[i].in_file)
			continue;
		k++;
		fprintf(out, "\\fB%s\\fR%s", ms_settings[i].name,
			k == n	     ? ""
			: k + 1 == n ? " and "
				     : ", ");
	}
	fputs(", with the values of the variables of the same names.\n", out);
}

static void options(FILE *out)
{
	for (unsigned i = 0; i < MS_NSETTINGS; i++) {
		const struct ms_setting *st = &ms_settings[i];

		fputs(".TP\n", out);
		option(out, st);
		fputc('\n', out);
		roff(out, st->doc, true);
		fprintf(out, ". Sets \\fB%s\\fR%s%s.\n", st->var,
			st->flag ? "=" : "", st->flag ? st->flag : "");
	}
}

static void synopsis(FILE *out)
{
	for (unsigned i = 0; i < MS_NSETTINGS; i++) {
		const struct ms_setting *st = &ms_settings[i];

		if (st->arg)
			fprintf(out, ".RB [ \\-\\-%s\n.IR %s ]\n", st->name,
				st->arg);
		else
			fprintf(out, ".RB [ \\-\\-%s ]\n", st->name);
	}
}

static void environment(FILE *out)
{
	for (unsigned i = 0; i < MS_NSETTINGS; i++) {
		const struct ms_setting *st = &ms_settings[i];

		fprintf(out, ".TP\n.B %s\n", st->var);
		roff(out, st->doc, true);
		fputs(" (see \\fBmptcpshim.conf\\fR(5)).\n", out);
	}
}

/* Markdown text: '|' would end a table cell. */
static void md(FILE *out, const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '|')
			fputc('\\', out);
		fputc(*p, out);
	}
}

/* The README's table. The configuration file's default depends on the
 * build's prefix: written as <sysconfdir>, which the README explains. */
static void markdown(FILE *out)
{
	fputs("| variable | file key | option of `run`, `enable` | default "
	      "| what it does |\n",
	      out);
	fputs("| --- | --- | --- | --- | --- |\n", out);
	for (unsigned i = 0; i < MS_NSETTINGS; i++) {
		const struct ms_setting *st = &ms_settings[i];
		const char *base = strrchr(st->def, '/');

		fprintf(out, "| `%s` | ", st->var);
		if (st->in_file)
			fprintf(out, "`%s`", st->name);
		else
			fputs("-", out);
		fprintf(out, " | `--%s%s%s`%s%s%s | `", st->name,
			st->arg ? " " : "", st->arg ? st->arg : "",
			st->flag ? " (sets " : "", st->flag ? st->flag : "",
			st->flag ? ")" : "");
		if (i == MS_SET_CONFIG && base)
			fprintf(out, "<sysconfdir>%s", base);
		else
			md(out, st->def);
		fputs("` | ", out);
		md(out, st->doc);
		fputs(" |\n", out);
	}
}

/* Replaces the table between the markers of the file at path. */
static int readme(const char *path)
{
	static const char begin[] = "<!-- mkman settings -->\n";
	static const char end[] = "<!-- mkman end -->\n";
	char tmp[4096], line[4096];
	bool inside = false, found = false;
	FILE *in = fopen(path, "re"), *out;

	if (!in) {
		perror(path);
		return 1;
	}
	snprintf(tmp, sizeof(tmp), "%s.mkman", path);
	out = fopen(tmp, "we");
	if (!out) {
		perror(tmp);
		return 1;
	}
	while (fgets(line, sizeof(line), in)) {
		if (inside && strcmp(line, end) != 0)
			continue;
		fputs(line, out);
		if (!inside && strcmp(line, begin) == 0) {
			markdown(out);
			inside = found = true;
		} else if (inside) {
			inside = false;
		}
	}
	fclose(in);
	if (fclose(out) != 0 || !found || inside) {
		if (!found || inside)
			fprintf(stderr, "%s: no \"%.*s\" ... \"%.*s\" block\n",
				path, (int)strlen(begin) - 1, begin,
				(int)strlen(end) - 1, end);
		else
			perror(tmp);
		remove(tmp);
		return 1;
	}
	if (rename(tmp, path) != 0) {
		perror(path);
		remove(tmp);
		return 1;
	}
	return 0;
}

static const struct {
	const char *name;
	void (*fn)(FILE *);
} sections[] = {
	{"variables", variables},     {"keys", keys},
	{"options", options},	      {"synopsis", synopsis},
	{"environment", environment},
};

int main(int argc, char **argv)
{
	static const char mark[] = ".\\\" mkman ";
	char line[4096];
	FILE *in, *out;
	unsigned lineno = 0;

	if (argc != 3) {
		fputs("usage: mkman TEMPLATE OUTPUT | mkman --readme FILE\n",
		      stderr);
		return 2;
	}
	if (strcmp(argv[1], "--readme") == 0)
		return readme(argv[2]);
	in = fopen(argv[1], "re");
	out = fopen(argv[2], "we");
	if (!in || !out) {
		perror(in ? argv[2] : argv[1]);
		return 1;
	}
	while (fgets(line, sizeof(line), in)) {
		size_t i;

		lineno++;
		if (strncmp(line, mark, sizeof(mark) - 1) != 0) {
			fputs(line, out);
			continue;
		}
		line[strcspn(line, "\n")] = '\0';
		for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
			if (strcmp(line + sizeof(mark) - 1, sections[i].name) ==
			    0)
				break;
		if (i == sizeof(sections) / sizeof(sections[0])) {
			fprintf(stderr, "%s:%u: unknown section \"%s\"\n",
				argv[1], lineno, line + sizeof(mark) - 1);
			return 1;
		}
		sections[i].fn(out);
	}
	if (ferror(in) || fclose(out) != 0) {
		perror(argv[2]);
		return 1;
	}
	fclose(in);
	return 0;
}
