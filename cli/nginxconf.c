/* SPDX-License-Identifier: MIT */
/*
 * What doctor needs to know of an nginx: its version ('nginx -v': does it
 * have the native `listen ... multipath` of nginx 1.29.7, freenginx
 * 1.27.5, Angie 1.10.0?) and its listen lines ('nginx -T': the whole
 * configuration, each file introduced by "# configuration file PATH:").
 */
#include "cli.h"
#include "diag.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DUMP_MAX (4u << 20)

/* Parameters after which nginx says "duplicate listen options" if another
 * listen of the same address sets one too (lsopt.set in nginx). */
static const char *const set_params[] = {
	"bind",	     "setfib=",	      "fastopen=", "backlog=",
	"rcvbuf=",   "sndbuf=",	      "deferred",  "ipv6only=",
	"reuseport", "so_keepalive=", "multipath", "accept_filter=",
};

bool ngx_listen_has(const struct ngx_listen *l, const char *param)
{
	size_t pl = strlen(param);
	bool prefix = pl > 0 && param[pl - 1] == '=';
	const char *p = l->text;

	/* skip "listen" and the address */
	for (int skip = 0; skip < 2 && *p; skip++) {
		p += strcspn(p, " ");
		p += strspn(p, " ");
	}
	while (*p) {
		size_t n = strcspn(p, " ");

		if (prefix ? (n >= pl && strncmp(p, param, pl) == 0)
			   : (n == pl && strncmp(p, param, pl) == 0))
			return true;
		p += n;
		p += strspn(p, " ");
	}
	return false;
}

/* "80" "*:80" "0.0.0.0:80" -> "*:80"; "[::]" -> "[::]:80"; unix: no key */
static void listen_key(struct ngx_listen *l, const char *addr)
{
	char a[300];
	const char *colon;
	int r;

	if (strncmp(addr, "unix:", 5) == 0) {
		l->unix_sock = true;
		return;
	}
	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');

		if (end && end[1] == ':')
			r = snprintf(a, sizeof(a), "%s", addr);
		else
			r = snprintf(a, sizeof(a), "%s:80", addr);
	} else if (strspn(addr, "0123456789") == strlen(addr)) {
		r = snprintf(a, sizeof(a), "*:%s", addr);
	} else if ((colon = strrchr(addr, ':'))) {
		if (strncmp(addr, "0.0.0.0:", 8) == 0)
			r = snprintf(a, sizeof(a), "*%s", colon);
		else
			r = snprintf(a, sizeof(a), "%s", addr);
	} else {
		r = snprintf(a, sizeof(a), "%s:80", addr);
	}
	if (r < 0 || (size_t)r >= sizeof(a))
		return; /* no key: never suggested */
	r = snprintf(l->key, sizeof(l->key), "%s %s%s", l->ctx, a,
		     l->udp ? " udp" : "");
	if (r < 0 || (size_t)r >= sizeof(l->key))
		l->key[0] = '\0';
}

struct parser {
	struct ngx_info *ni;
	char file[256];
	unsigned line, stmt_line;
	char words[32][256];
	int nwords;
	char stack[16][16];
	int depth;
	size_t cap;
	char dir[256]; /* the main file's directory, for relative includes */
	struct {
		char pattern[512];
		char ctx[8];
	} inc[64];
	int ninc;
};

static const char *ctx_of(const struct parser *p)
{
	const char *ctx = "";

	for (int i = 0; i < p->depth && i < 16; i++)
		if (strcmp(p->stack[i], "http") == 0 ||
		    strcmp(p->stack[i], "stream") == 0 ||
		    strcmp(p->stack[i], "mail") == 0)
			ctx = p->stack[i];
	return ctx;
}

/* An include inside http, stream or mail: the files it names are read
 * in that context, although nginx -T prints them at their own top level. */
static void add_include(struct parser *p)
{
	const char *ctx = ctx_of(p);

	if (p->nwords < 2 || !*ctx || p->ninc >= 64)
		return;
	if (p->words[1][0] == '/')
		snprintf(p->inc[p->ninc].pattern, sizeof(p->inc[0].pattern),
			 "%s", p->words[1]);
	else
		snprintf(p->inc[p->ninc].pattern, sizeof(p->inc[0].pattern),
			 "%s/%s", p->dir, p->words[1]);
	snprintf(p->inc[p->ninc].ctx, sizeof(p->inc[0].ctx), "%s", ctx);
	p->ninc++;
}

static void add_listen(struct parser *p)
{
	struct ngx_listen l = {0};
	size_t off;

	if (p->nwords < 2)
		return;
	snprintf(l.ctx, sizeof(l.ctx), "%s", ctx_of(p));
	if (!l.ctx[0])
		return;
	snprintf(l.file, sizeof(l.file), "%s", p->file);
	l.line = p->stmt_line;
	off = (size_t)snprintf(l.text, sizeof(l.text), "listen");
	for (int i = 1; i < p->nwords && off < sizeof(l.text); i++)
		off += (size_t)snprintf(l.text + off, sizeof(l.text) - off,
					" %s", p->words[i]);
	l.multipath = ngx_listen_has(&l, "multipath");
	l.udp = ngx_listen_has(&l, "quic") || ngx_listen_has(&l, "udp");
	for (size_t i = 0; i < sizeof(set_params) / sizeof(set_params[0]); i++)
		if (ngx_listen_has(&l, set_params[i]))
			l.set_opt = true;
	listen_key(&l, p->words[1]);
	if (p->ni->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct ngx_listen *nv = realloc(p->ni->l, cap * sizeof(*nv));

		if (!nv)
			return;
		p->ni->l = nv;
		p->cap = cap;
	}
	p->ni->l[p->ni->n++] = l;
}

/* One file's text, from text up to the next "# configuration file". */
static void parse_text(struct parser *p, const char *s, const char *end)
{
	char w[256];
	size_t wl = 0;
	char quote = 0;
	bool inword = false;

	p->line = 1;
	for (; s < end; s++) {
		char c = *s;

		if (quote) {
			if (c == '\\' && s + 1 < end) {
				if (wl + 1 < sizeof(w))
					w[wl++] = *++s;
				continue;
			}
			if (c == quote) {
				quote = 0;
				continue;
			}
			if (c == '\n')
				p->line++;
			if (wl + 1 < sizeof(w))
				w[wl++] = c;
			continue;
		}
		if (c == '#' && !inword) {
			while (s < end && *s != '\n')
				s++;
			p->line++;
			continue;
		}
		if (c == '"' || c == '\'') {
			if (!inword && p->nwords == 0)
				p->stmt_line = p->line;
			quote = c;
			inword = true;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		    c == ';' || c == '{' || c == '}') {
			if (inword && p->nwords < 32) {
				w[wl] = '\0';
				snprintf(p->words[p->nwords++],
					 sizeof(p->words[0]), "%s", w);
			}
			inword = false;
			wl = 0;
			if (c == '\n')
				p->line++;
			if (c == ';') {
				if (p->nwords > 0 &&
				    strcmp(p->words[0], "listen") == 0)
					add_listen(p);
				else if (p->nwords > 0 &&
					 strcmp(p->words[0], "include") == 0)
					add_include(p);
				p->nwords = 0;
			} else if (c == '{') {
				if (p->depth < 16) {
					const char *b =
						p->nwords ? p->words[0] : "";
					size_t bl = strlen(b);

					if (bl >= sizeof(p->stack[0]))
						bl = 0; /* no context name */
					memcpy(p->stack[p->depth], b, bl);
					p->stack[p->depth][bl] = '\0';
				}
				p->depth++;
				p->nwords = 0;
			} else if (c == '}') {
				if (p->depth > 0)
					p->depth--;
				p->nwords = 0;
			}
			continue;
		}
		if (!inword && p->nwords == 0)
			p->stmt_line = p->line;
		inword = true;
		if (wl + 1 < sizeof(w))
			w[wl++] = c;
	}
}

void ngx_parse_dump(const char *dump, struct ngx_info *ni)
{
	static const char hdr[] = "# configuration file ";
	struct parser *p = calloc(1, sizeof(*p));
	const char *s = strstr(dump, hdr);

	if (!p)
		return;
	p->ni = ni;
	/* nginx -T prints each file whole, once: an included file starts at
	 * its own top level, in the context of the include that named it */
	while (s) {
		const char *name = s + sizeof(hdr) - 1;
		const char *eol = strchr(name, '\n');
		const char *next;
		size_t nl;

		if (!eol)
			break;
		nl = (size_t)(eol - name);
		if (nl > 0 && name[nl - 1] == ':')
			nl--;
		snprintf(p->file, sizeof(p->file), "%.*s", (int)nl, name);
		if (!p->dir[0]) {
			char *slash;

			snprintf(p->dir, sizeof(p->dir), "%s", p->file);
			slash = strrchr(p->dir, '/');
			if (slash)
				*slash = '\0';
		}
		next = strstr(eol, hdr);
		p->nwords = 0;
		p->depth = 0;
		for (int i = p->ninc - 1; i >= 0; i--) {
			if (fnmatch(p->inc[i].pattern, p->file, 0) == 0) {
				snprintf(p->stack[0], sizeof(p->stack[0]), "%s",
					 p->inc[i].ctx);
				p->depth = 1;
				break;
			}
		}
		parse_text(p, eol + 1, next ? next : eol + strlen(eol));
		s = next;
	}
	free(p);
}

static bool at_least(const unsigned v[3], unsigned a, unsigned b, unsigned c)
{
	return v[0] != a ? v[0] > a : v[1] != b ? v[1] > b : v[2] >= c;
}

static void parse_version(struct ngx_info *ni, const char *out)
{
	const char *v = strstr(out, "version: ");
	char prod[32];
	unsigned a = 0, b = 0, c = 0;

	if (!v || sscanf(v + 9, "%31[^/]/%u.%u.%u", prod, &a, &b, &c) < 3)
		return;
	snprintf(ni->product, sizeof(ni->product), "%s", prod);
	snprintf(ni->version, sizeof(ni->version), "%u.%u.%u", a, b, c);
	ni->v[0] = a;
	ni->v[1] = b;
	ni->v[2] = c;
	if (strcmp(prod, "nginx") == 0)
		ni->native = at_least(ni->v, 1, 29, 7);
	else if (strcmp(prod, "freenginx") == 0)
		ni->native = at_least(ni->v, 1, 27, 5);
	else if (strcmp(prod, "Angie") == 0)
		ni->native = at_least(ni->v, 1, 10, 0);
}

int ngx_inspect(const char *path, struct ngx_info *ni)
{
	char *argv[3] = {(char *)path, (char *)"-v", NULL};
	char *out;
	int r;

	memset(ni, 0, sizeof(*ni));
	snprintf(ni->path, sizeof(ni->path), "%s", path);
	out = malloc(DUMP_MAX);
	if (!out)
		return ENOMEM;
	r = cli_run(argv, out, 4096, CLI_STDERR_CAPTURE, 10);
	if (r < 0) {
		free(out);
		return ENOEXEC;
	}
	parse_version(ni, out);
	argv[1] = (char *)"-T";
	r = cli_run(argv, out, DUMP_MAX, CLI_STDERR_NULL, 20);
	if (r == 0 && strstr(out, "# configuration file ")) {
		ni->conf_read = true;
		ngx_parse_dump(out, ni);
	} else {
		/* the reason is on stderr: run it again for the message */
		r = cli_run(argv, out, 4096, CLI_STDERR_CAPTURE, 20);
		snprintf(ni->conf_err, sizeof(ni->conf_err), "%.*s",
			 (int)strcspn(out, "\n"), out);
		if (!ni->conf_err[0])
			snprintf(ni->conf_err, sizeof(ni->conf_err),
				 "exit status %d", r);
	}
	free(out);
	return 0;
}

void ngx_free(struct ngx_info *ni)
{
	free(ni->l);
	ni->l = NULL;
	ni->n = 0;
}
