/* SPDX-License-Identifier: MIT */
/* The settings table, configuration parsing and allowlist matching (see
 * config.h). */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RULES 65536

#ifndef MS_SYSCONFDIR
#error "MS_SYSCONFDIR (the configuration directory) is set by meson.build"
#endif

static void seterr(char *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void seterr(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, MS_ERRLEN, fmt, ap);
	va_end(ap);
}

/* Copies at most len bytes of s, without surrounding blanks, into out. */
static void trim_copy(const char *s, size_t len, char *out, size_t outlen)
{
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

static bool parse_port(const char *s, uint16_t *out)
{
	unsigned long v = 0;

	if (*s == '\0')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return false;
	}
	*out = (uint16_t)v;
	return true;
}

/* "443" or "8000-8099" */
static bool parse_range(const char *s, struct ms_rule *r, const char *entry,
			char *err)
{
	/* as long as a whole entry, so that trim_copy() never truncates:
	 * "0000000000000808" must be refused, not read as 80 */
	char lo[128], hi[128];
	const char *dash = strchr(s, '-');

	if (dash) {
		trim_copy(s, (size_t)(dash - s), lo, sizeof(lo));
		trim_copy(dash + 1, strlen(dash + 1), hi, sizeof(hi));
	} else {
		trim_copy(s, strlen(s), lo, sizeof(lo));
		trim_copy(s, strlen(s), hi, sizeof(hi));
	}
	if (!parse_port(lo, &r->lo) || !parse_port(hi, &r->hi)) {
		seterr(err,
		       "invalid entry \"%s\": a port is a number from 1 to "
		       "65535",
		       entry);
		return false;
	}
	if (r->lo == 0 || r->hi == 0) {
		seterr(err,
		       "invalid entry \"%s\": port 0 (a port chosen by the "
		       "kernel) is never converted",
		       entry);
		return false;
	}
	if (r->lo > r->hi) {
		seterr(err,
		       "invalid entry \"%s\": range start is above its end",
		       entry);
		return false;
	}
	return true;
}

/* ::ffff:a.b.c.d, read bytewise (r->addr has no in6_addr alignment) */
static bool is_v4mapped(const uint8_t *a)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0,    0,
					   0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

static bool parse_entry(const char *entry, struct ms_rule *r, char *err)
{
	char addr[64];
	const char *portpart;

	memset(r, 0, sizeof(*r));
	if (entry[0] == '[') {
		const char *close = strchr(entry, ']');

		if (!close || close[1] != ':') {
			seterr(err,
			       "invalid entry \"%s\": an IPv6 address is "
			       "written [ADDR]:PORT",
			       entry);
			return false;
		}
		if ((size_t)(close - entry - 1) >= sizeof(addr)) {
			seterr(err, "invalid entry \"%s\": address too long",
			       entry);
			return false;
		}
		memcpy(addr, entry + 1, (size_t)(close - entry - 1));
		addr[close - entry - 1] = '\0';
		if (inet_pton(AF_INET6, addr, r->addr) != 1) {
			seterr(err,
			       "invalid entry \"%s\": \"%s\" is not an IPv6 "
			       "address",
			       entry, addr);
			return false;
		}
		r->family = AF_INET6;
		if (is_v4mapped(r->addr)) {
			/* binds to [::ffff:a.b.c.d] are matched as IPv4 */
			memmove(r->addr, r->addr + 12, 4);
			memset(r->addr + 4, 0, 12);
			r->family = AF_INET;
		}
		portpart = close + 2;
	} else if (strchr(entry, ':')) {
		const char *colon = strchr(entry, ':');

		if (strchr(colon + 1, ':')) {
			seterr(err,
			       "invalid entry \"%s\": write an IPv6 address "
			       "in brackets, [ADDR]:PORT",
			       entry);
			return false;
		}
		if ((size_t)(colon - entry) >= sizeof(addr)) {
			seterr(err, "invalid entry \"%s\": address too long",
			       entry);
			return false;
		}
		memcpy(addr, entry, (size_t)(colon - entry));
		addr[colon - entry] = '\0';
		if (inet_pton(AF_INET, addr, r->addr) != 1) {
			seterr(err,
			       "invalid entry \"%s\": \"%s\" is not an IPv4 "
			       "address",
			       entry, addr);
			return false;
		}
		r->family = AF_INET;
		portpart = colon + 1;
	} else {
		portpart = entry;
	}
	return parse_range(portpart, r, entry, err);
}

void ms_portlist_free(struct ms_portlist *pl)
{
	free(pl->rules);
	pl->rules = NULL;
	pl->n = 0;
	pl->mode = MS_LIST_UNSET;
}

bool ms_parse_ports(const char *s, struct ms_portlist *out, char *err)
{
	struct ms_portlist pl = {.mode = MS_LIST_RULES};
	size_t cap = 0;
	const char *p = s;
	char entry[128];

	trim_copy(s, strlen(s), entry, sizeof(entry));
	if (entry[0] == '\0') {
		seterr(err, "empty list (write \"none\" to convert nothing)");
		return false;
	}
	if (strcmp(entry, "all") == 0 || strcmp(entry, "none") == 0) {
		ms_portlist_free(out);
		out->mode = entry[0] == 'a' ? MS_LIST_ALL : MS_LIST_NONE;
		return true;
	}
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len >= sizeof(entry)) {
			seterr(err, "invalid entry \"%.40s...\": too long", p);
			goto fail;
		}
		trim_copy(p, len, entry, sizeof(entry));
		if (entry[0] == '\0') {
			seterr(err, "empty entry in \"%.100s\"", s);
			goto fail;
		}
		if (strcmp(entry, "all") == 0 || strcmp(entry, "none") == 0) {
			seterr(err,
			       "\"%s\" cannot be combined with other entries",
			       entry);
			goto fail;
		}
		if (pl.n == cap) {
			struct ms_rule *nr;

			if (cap >= MAX_RULES) {
				seterr(err, "more than %d entries", MAX_RULES);
				goto fail;
			}
			cap = cap ? cap * 2 : 8;
			nr = realloc(pl.rules, cap * sizeof(*nr));
			if (!nr) {
				seterr(err, "out of memory");
				goto fail;
			}
			pl.rules = nr;
		}
		if (!parse_entry(entry, &pl.rules[pl.n], err))
			goto fail;
		pl.n++;
		if (!comma)
			break;
		p = comma + 1;
	}
	ms_portlist_free(out);
	*out = pl;
	return true;
fail:
	free(pl.rules);
	return false;
}

static const char *const level_names[] = {
	[MS_LOG_OFF] = "off",	  [MS_LOG_ERROR] = "error",
	[MS_LOG_WARN] = "warn",	  [MS_LOG_INFO] = "info",
	[MS_LOG_DEBUG] = "debug",
};

const char *ms_log_level_name(enum ms_log_level l)
{
	return (unsigned)l <= MS_LOG_DEBUG ? level_names[l] : "?";
}

const char *ms_source_name(enum ms_source s)
{
	switch (s) {
	case MS_SRC_FILE:
		return "file";
	case MS_SRC_ENV:
		return "environment";
	case MS_SRC_DEFAULT:
		break;
	}
	return "default";
}

bool ms_parse_log(const char *s, enum ms_log_level *out, char *err)
{
	char v[32];

	trim_copy(s, strlen(s), v, sizeof(v));
	for (unsigned i = 0; i <= MS_LOG_DEBUG; i++) {
		if (strcmp(v, level_names[i]) == 0) {
			*out = (enum ms_log_level)i;
			return true;
		}
	}
	seterr(err,
	       "invalid log level \"%.60s\" (use off, error, warn, info or "
	       "debug)",
	       s);
	return false;
}

bool ms_parse_bool(const char *s, bool *out, char *err)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};
	char v[16];

	trim_copy(s, strlen(s), v, sizeof(v));
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(v, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	seterr(err, "invalid value \"%.60s\" (use 1 or 0)", s);
	return false;
}

bool ms_parse_optset(const char *s, struct ms_optset *out, char *err)
{
	struct ms_optset set = {0};
	const char *p = s;
	char name[64];

	trim_copy(s, strlen(s), name, sizeof(name));
	if (strcmp(name, "none") == 0) {
		*out = set;
		return true;
	}
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		int level, opt;

		if (len >= sizeof(name)) {
			seterr(err,
			       "invalid option name \"%.40s...\": too long", p);
			return false;
		}
		trim_copy(p, len, name, sizeof(name));
		if (name[0] == '\0') {
			seterr(err,
			       "empty entry in \"%.100s\" (write \"none\" to "
			       "tolerate nothing)",
			       s);
			return false;
		}
		if (!ms_opt_lookup(name, &level, &opt)) {
			seterr(err,
			       "unknown socket option \"%s\" (write names such "
			       "as TCP_NODELAY)",
			       name);
			return false;
		}
		if (set.n == MS_TOLERATE_MAX) {
			seterr(err, "more than %d options", MS_TOLERATE_MAX);
			return false;
		}
		if (!ms_optset_has(&set, level, opt)) {
			set.o[set.n].level = level;
			set.o[set.n].name = opt;
			set.n++;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	*out = set;
	return true;
}

bool ms_optset_has(const struct ms_optset *set, int level, int name)
{
	for (unsigned i = 0; i < set->n; i++)
		if (set->o[i].level == level && set->o[i].name == name)
			return true;
	return false;
}

bool ms_optset_format(const struct ms_optset *set, char *buf, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return false;
	if (set->n == 0)
		return (size_t)snprintf(buf, len, "none") < len;
	buf[0] = '\0';
	for (unsigned i = 0; i < set->n; i++) {
		const char *n = ms_opt_name(set->o[i].level, set->o[i].name);
		int w = snprintf(buf + used, len - used, "%s%s", i ? "," : "",
				 n ? n : "?");

		if (w < 0 || (size_t)w >= len - used)
			return false;
		used += (size_t)w;
	}
	return true;
}

/* What MPTCP sockets refused before kernel 5.17-6.10 and nginx sets: a
 * failure of the first two makes nginx drop the connection, of the others
 * it logs an alert. */
#define MS_TOLERATE_DEFAULT                                                    \
	"TCP_NODELAY,TCP_CORK,TCP_KEEPIDLE,TCP_KEEPINTVL,TCP_KEEPCNT,"         \
	"TCP_DEFER_ACCEPT,TCP_FASTOPEN"

/* ---- the table: a parser and a writer per setting ---- */

static bool parse_ports(const char *s, struct ms_config *cfg, char *err)
{
	return ms_parse_ports(s, &cfg->ports, err);
}

static bool parse_connect(const char *s, struct ms_config *cfg, char *err)
{
	return ms_parse_ports(s, &cfg->connect, err);
}

static bool parse_tolerate(const char *s, struct ms_config *cfg, char *err)
{
	return ms_parse_optset(s, &cfg->tolerate, err);
}

static bool parse_log(const char *s, struct ms_config *cfg, char *err)
{
	return ms_parse_log(s, &cfg->log, err);
}

static bool parse_strict(const char *s, struct ms_config *cfg, char *err)
{
	return ms_parse_bool(s, &cfg->strict, err);
}

static bool format_list(const struct ms_portlist *pl, const char *unset,
			char *buf, size_t len)
{
	if (pl->mode == MS_LIST_UNSET)
		return (size_t)snprintf(buf, len, "%s", unset) < len;
	return ms_portlist_format(pl, buf, len);
}

static bool format_ports(const struct ms_config *cfg, char *buf, size_t len)
{
	return format_list(&cfg->ports, "all", buf, len);
}

static bool format_connect(const struct ms_config *cfg, char *buf, size_t len)
{
	return format_list(&cfg->connect, "none", buf, len);
}

static bool format_tolerate(const struct ms_config *cfg, char *buf, size_t len)
{
	return ms_optset_format(&cfg->tolerate, buf, len);
}

static bool format_log(const struct ms_config *cfg, char *buf, size_t len)
{
	return (size_t)snprintf(buf, len, "%s", ms_log_level_name(cfg->log)) <
	       len;
}

static bool format_strict(const struct ms_config *cfg, char *buf, size_t len)
{
	return (size_t)snprintf(buf, len, "%d", cfg->strict ? 1 : 0) < len;
}

const struct ms_setting ms_settings[MS_NSETTINGS] = {
	[MS_SET_PORTS] =
		{
			.name = "ports",
			.var = "MPTCPSHIM_PORTS",
			.in_file = true,
			.arg = "LIST",
			.def = "all",
			.doc = "the listeners to convert, by local port "
			       "(443,8000-8099, 192.0.2.1:443, "
			       "[2001:db8::1]:443, all or none)",
			.parse = parse_ports,
			.format = format_ports,
		},
	[MS_SET_CONNECT] =
		{
			.name = "connect",
			.var = "MPTCPSHIM_CONNECT",
			.in_file = true,
			.arg = "LIST",
			.def = "none",
			.doc = "the outbound connections to convert, by "
			       "destination (the same syntax as ports)",
			.parse = parse_connect,
			.format = format_connect,
		},
	[MS_SET_TOLERATE] =
		{
			.name = "tolerate",
			.var = "MPTCPSHIM_TOLERATE",
			.in_file = true,
			.arg = "OPTIONS",
			.def = MS_TOLERATE_DEFAULT,
			.doc = "socket options whose refusal by an MPTCP "
			       "socket is reported to the program as "
			       "success (or none)",
			.parse = parse_tolerate,
			.format = format_tolerate,
		},
	[MS_SET_LOG] =
		{
			.name = "log",
			.var = "MPTCPSHIM_LOG",
			.in_file = true,
			.arg = "LEVEL",
			.def = "info",
			.doc = "the library's messages on stderr: off, "
			       "error, warn, info or debug",
			.parse = parse_log,
			.format = format_log,
		},
	[MS_SET_STRICT] =
		{
			.name = "strict",
			.var = "MPTCPSHIM_STRICT",
			.in_file = true,
			.flag = "1",
			.def = "0",
			.doc = "an invalid configuration stops the program "
			       "at load, and a bind() that would stay TCP "
			       "fails (1 or 0)",
			.parse = parse_strict,
			.format = format_strict,
		},
	[MS_SET_CONFIG] =
		{
			.name = "config",
			.var = "MPTCPSHIM_CONFIG",
			.arg = "FILE",
			.def = MS_SYSCONFDIR "/mptcpshim.conf",
			.doc = "the configuration file (read only if it "
			       "exists, unless named); /dev/null for none",
		},
};

const struct ms_setting *ms_setting_find(const char *name)
{
	for (unsigned i = 0; i < MS_NSETTINGS; i++)
		if (strcmp(ms_settings[i].name, name) == 0)
			return &ms_settings[i];
	return NULL;
}

bool ms_config_describe(const struct ms_config *cfg, char *buf, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return false;
	buf[0] = '\0';
	for (unsigned i = 0; i < MS_NKEYS; i++) {
		const struct ms_setting *st = &ms_settings[i];
		int n = snprintf(buf + used, len - used, "%s=", st->name);

		if (n < 0 || (size_t)n >= len - used)
			return false;
		used += (size_t)n;
		if (!st->format(cfg, buf + used, len - used))
			return false;
		used += strlen(buf + used);
		if (used + 1 >= len)
			return false;
		buf[used++] = '\n';
		buf[used] = '\0';
	}
	return true;
}

void ms_config_init(struct ms_config *cfg)
{
	char err[MS_ERRLEN];

	memset(cfg, 0, sizeof(*cfg));
	cfg->log = MS_LOG_INFO;
	ms_parse_optset(ms_settings[MS_SET_TOLERATE].def, &cfg->tolerate, err);
}

void ms_config_free(struct ms_config *cfg)
{
	ms_portlist_free(&cfg->ports);
	ms_portlist_free(&cfg->connect);
}

/* The row of a file key, or NULL. */
static const struct ms_setting *file_key(const char *key)
{
	const struct ms_setting *st = ms_setting_find(key);

	return st && st->in_file ? st : NULL;
}

/* "ports, connect, tolerate, log, strict": for messages. */
static void known_keys(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < MS_NKEYS && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 i ? ", " : "", ms_settings[i].name);
}

/* Parses one value into cfg; prefix names where it came from. */
static bool apply_setting(struct ms_config *cfg, const struct ms_setting *st,
			  const char *value, enum ms_source src,
			  const char *prefix, char *err)
{
	char sub[MS_ERRLEN];

	if (!st->parse(value, cfg, sub)) {
		seterr(err, "%s: %s", prefix, sub);
		return false;
	}
	cfg->src[st - ms_settings] = src;
	return true;
}

bool ms_parse_file(const char *text, size_t len, const char *name,
		   struct ms_config *cfg, char *err)
{
	unsigned seen = 0; /* bit per key, to refuse a key given twice */
	unsigned lineno = 0;
	size_t pos = 0;
	bool ok = true;
	char e[MS_ERRLEN];

	if (memchr(text, '\0', len)) {
		seterr(err, "%s: contains a NUL byte; not a text file", name);
		return false;
	}
	/* Every line is read even after an error, so that the valid keys
	 * (strict, log) are known; err keeps the first error. */
	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - line) : len - pos;
		const char *hash, *eq;
		const struct ms_setting *st;
		char key[32], value[4096], prefix[128];
		unsigned bit;

		pos += llen + (nl ? 1 : 0);
		lineno++;
		hash = memchr(line, '#', llen);
		if (hash)
			llen = (size_t)(hash - line);
		snprintf(prefix, sizeof(prefix), "%.80s:%u", name, lineno);
		eq = memchr(line, '=', llen);
		if (!eq) {
			trim_copy(line, llen, value, sizeof(value));
			if (value[0] == '\0')
				continue;
			seterr(e, "%s: expected \"key = value\", got \"%.60s\"",
			       prefix, value);
			goto bad;
		}
		if (llen - (size_t)(eq + 1 - line) >= sizeof(value)) {
			seterr(e, "%s: value too long", prefix);
			goto bad;
		}
		trim_copy(line, (size_t)(eq - line), key, sizeof(key));
		trim_copy(eq + 1, llen - (size_t)(eq + 1 - line), value,
			  sizeof(value));
		st = file_key(key);
		if (!st) {
			char known[128];

			known_keys(known, sizeof(known));
			seterr(e, "%s: unknown key \"%.60s\" (known: %s)",
			       prefix, key, known);
			goto bad;
		}
		bit = 1u << (st - ms_settings);
		if (bit & seen) {
			seterr(e, "%s: key \"%s\" given twice", prefix, key);
			goto bad;
		}
		seen |= bit;
		if (apply_setting(cfg, st, value, MS_SRC_FILE, prefix, e))
			continue;
	bad:
		if (ok)
			memcpy(err, e, MS_ERRLEN);
		ok = false;
	}
	return ok;
}

bool ms_apply_env(const struct ms_env *env, struct ms_config *cfg, char *err)
{
	bool ok = true;
	char e[MS_ERRLEN];

	for (unsigned i = 0; i < MS_NKEYS; i++) {
		const struct ms_setting *st = &ms_settings[i];

		if (!env->value[i] || apply_setting(cfg, st, env->value[i],
						    MS_SRC_ENV, st->var, e))
			continue;
		if (ok)
			memcpy(err, e, MS_ERRLEN);
		ok = false;
	}
	return ok;
}

static bool rule_match(const struct ms_rule *r, int family, const uint8_t *addr,
		       uint16_t port)
{
	if (port < r->lo || port > r->hi)
		return false;
	if (r->family == 0)
		return true;
	if (r->family != family)
		return false;
	return memcmp(r->addr, addr, family == AF_INET ? 4 : 16) == 0;
}

bool ms_portlist_match(const struct ms_portlist *pl, const struct sockaddr *sa,
		       socklen_t len)
{
	uint8_t addr[16];
	int family;
	uint16_t port;

	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const void *)sa;

		family = AF_INET;
		port = ntohs(sin->sin_port);
		memcpy(addr, &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 &&
		   len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		port = ntohs(sin6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			/* [::ffff:192.0.2.1] is 192.0.2.1 for matching */
			family = AF_INET;
			memcpy(addr, &sin6->sin6_addr.s6_addr[12], 4);
		} else {
			family = AF_INET6;
			memcpy(addr, &sin6->sin6_addr, 16);
		}
	} else {
		return false;
	}
	if (port == 0)
		return false;
	switch (pl->mode) {
	case MS_LIST_UNSET:
	case MS_LIST_ALL:
		return true;
	case MS_LIST_NONE:
		return false;
	case MS_LIST_RULES:
		break;
	}
	for (size_t i = 0; i < pl->n; i++)
		if (rule_match(&pl->rules[i], family, addr, port))
			return true;
	return false;
}

bool ms_portlist_may_match(const struct ms_portlist *pl)
{
	return pl->mode != MS_LIST_NONE;
}

bool ms_connect_match(const struct ms_portlist *pl, const struct sockaddr *sa,
		      socklen_t len)
{
	return pl->mode != MS_LIST_UNSET && ms_portlist_match(pl, sa, len);
}

bool ms_connect_may_match(const struct ms_portlist *pl)
{
	return pl->mode == MS_LIST_ALL || pl->mode == MS_LIST_RULES;
}

bool ms_portlist_format(const struct ms_portlist *pl, char *buf, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return false;
	buf[0] = '\0';
	if (pl->mode != MS_LIST_RULES)
		return (size_t)snprintf(buf, len, "%s",
					pl->mode == MS_LIST_NONE ? "none"
								 : "all") < len;
	for (size_t i = 0; i < pl->n; i++) {
		const struct ms_rule *r = &pl->rules[i];
		char a[INET6_ADDRSTRLEN + 3] = "", ports[16];
		int n;

		if (r->family == AF_INET) {
			inet_ntop(AF_INET, r->addr, a, sizeof(a));
			strcat(a, ":");
		} else if (r->family == AF_INET6) {
			a[0] = '[';
			inet_ntop(AF_INET6, r->addr, a + 1, sizeof(a) - 3);
			strcat(a, "]:");
		}
		if (r->lo == r->hi)
			snprintf(ports, sizeof(ports), "%u", r->lo);
		else
			snprintf(ports, sizeof(ports), "%u-%u", r->lo, r->hi);
		n = snprintf(buf + used, len - used, "%s%s%s", i ? "," : "", a,
			     ports);
		if (n < 0 || (size_t)n >= len - used)
			return false;
		used += (size_t)n;
	}
	return true;
}

bool ms_errno_means_no_mptcp(int e)
{
	switch (e) {
	case ENOPROTOOPT:     /* net.mptcp.enabled = 0 */
	case EPROTONOSUPPORT: /* built without CONFIG_MPTCP */
	case EINVAL:	      /* kernel older than 5.6 */
	case EAFNOSUPPORT:
	case EPERM:  /* refused by seccomp, a BPF program or an LSM */
	case EACCES: /* likewise */
		return true;
	default:
		return false;
	}
}
