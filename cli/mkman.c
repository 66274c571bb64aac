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
		fputs("usage: mkman TEMPLATE OUTPUT\n", stderr);
		return 2;
	}
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
