/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor: the findings the checks add, each with its severity,
 * message, details, and the one command that fixes it (or shows what to
 * look at).
 */
#include "doctor.h"

#include <stdarg.h>

struct finding *findings;
size_t nfindings;
static size_t capfindings;

static char *vfmt(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0) {
		fputs("mptcpshim doctor: out of memory\n", stderr);
		exit(EX_FAIL);
	}
	return s;
}

struct finding *dr_add(enum sev sev, const char *check, const char *fmt, ...)
{
	va_list ap;
	struct finding *f;

	if (nfindings == capfindings) {
		size_t cap = capfindings ? capfindings * 2 : 64;
		struct finding *nv = realloc(findings, cap * sizeof(*nv));

		if (!nv) {
			fputs("mptcpshim doctor: out of memory\n", stderr);
			exit(EX_FAIL);
		}
		findings = nv;
		capfindings = cap;
	}
	f = &findings[nfindings++];
	memset(f, 0, sizeof(*f));
	f->sev = sev;
	f->check = check;
	va_start(ap, fmt);
	f->msg = vfmt(fmt, ap);
	va_end(ap);
	return f;
}

void dr_fix(struct finding *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(f->fix);
	f->fix = vfmt(fmt, ap);
	va_end(ap);
}

void dr_probe(struct finding *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(f->probe);
	f->probe = vfmt(fmt, ap);
	va_end(ap);
}

void dr_detail(struct finding *f, const char *fmt, ...)
{
	va_list ap;

	if (f->ndetail >= MAX_DETAIL)
		return;
	va_start(ap, fmt);
	f->detail[f->ndetail++] = vfmt(fmt, ap);
	va_end(ap);
}

const char *dr_shq(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	if (s[0] &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789_.,:/@%+=-") == strlen(s)) {
		snprintf(buf, len, "%s", s);
		return buf;
	}
	/* 'it''s' as 'it'\''s' */
	if (len < 3)
		return "''";
	buf[o++] = '\'';
	for (; *s && o + 6 < len; s++) {
		if (*s == '\'') {
			memcpy(buf + o, "'\\''", 4);
			o += 4;
		} else {
			buf[o++] = *s;
		}
	}
	buf[o++] = '\'';
	buf[o] = '\0';
	return buf;
}
