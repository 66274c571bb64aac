/* SPDX-License-Identifier: MIT */
/*
 * Sequences as text (tests/difftest/cases, NAME.seq): one call per line,
 * "name thread a b c d e"; '#' starts a comment. A line "# known TAGS"
 * says the case shows known defects (see known.c).
 */
#include "seq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void op_text(const struct op *o, char *buf, size_t len)
{
	snprintf(buf, len, "%s %d %d %d %d %d %d", kinds[o->kind].name,
		 o->thread, o->a, o->b, o->c, o->d, o->e);
}

int seq_write(const struct seq *s, const char *path, const char *comment)
{
	FILE *f = fopen(path, "w");
	char line[128];

	if (!f)
		return -1;
	if (comment)
		fprintf(f, "# %s\n", comment);
	for (int i = 0; i < s->n; i++) {
		op_text(&s->ops[i], line, sizeof(line));
		fprintf(f, "%s\n", line);
	}
	return fclose(f);
}

static int kind_of(const char *name)
{
	for (int k = 0; k < OP_NKINDS; k++)
		if (strcmp(kinds[k].name, name) == 0)
			return k;
	return -1;
}

int seq_read(struct seq *s, const char *path, char *known, size_t known_len)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, name[32];
	size_t cap = 0;
	int lineno = 0;

	if (!f)
		return -1;
	s->n = 0;
	if (known && known_len)
		known[0] = 0;
	while (getline(&line, &cap, f) > 0) {
		struct op o = {0};

		lineno++;
		if (line[0] == '#') {
			if (known && strncmp(line, "# known ", 8) == 0)
				snprintf(known, known_len, "%.*s",
					 (int)strcspn(line + 8, "\n"),
					 line + 8);
			continue;
		}
		if (line[strspn(line, " \t\n")] == 0)
			continue;
		if (sscanf(line, "%31s %d %d %d %d %d %d", name, &o.thread,
			   &o.a, &o.b, &o.c, &o.d, &o.e) != 7 ||
		    (o.kind = kind_of(name)) < 0 || o.thread < 0 ||
		    o.thread > 2 || s->n == MAX_OPS) {
			fprintf(stderr, "difftest: %s:%d: bad call line: %s",
				path, lineno, line);
			fclose(f);
			free(line);
			errno = EINVAL;
			return -1;
		}
		s->ops[s->n++] = o;
	}
	free(line);
	fclose(f);
	return 0;
}
