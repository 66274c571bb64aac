/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the pure configuration code (lib/config.c): the
 * file parser, the value parsers and the address matcher. Built and run by
 * scripts/fuzz.sh (clang, -fsanitize=fuzzer,address,undefined).
 *
 * The first input byte picks the function (byte % 8, so the seeds in
 * tests/fuzz/corpus/ start with a digit and stay readable):
 *
 *   0  ms_parse_file(rest), then every rule of the result is matched
 *   1  ms_parse_ports(rest); a list that parses is written back with
 *      ms_portlist_format and must parse again to the same rules
 *   2  ms_parse_log(rest)
 *   3  ms_parse_bool(rest)
 *   4  ms_parse_optset(rest); written back, it must parse to the same set
 *   5  ms_apply_env: rest split at '\n' into the variables of the
 *      settings table, in its order: ports, connect, tolerate, log,
 *      strict (a missing field is an unset variable)
 *   6  ms_portlist_match / ms_connect_match: "LIST\nSOCKADDR" where
 *      SOCKADDR is kind, truncation, then raw bytes of the address (see
 *      fuzz_match); the sockaddr is a heap block of exactly the length
 *      passed, so reading past it is an ASan report
 *   7  ms_parse_file(rest), then ms_apply_env on the same text's lines
 *
 * Besides the sanitizers, the target aborts when a documented property
 * breaks: a failed parse leaves a non-empty, NUL-terminated message; a
 * written-back list parses to the same list; an IPv4-mapped IPv6 address
 * matches exactly where its IPv4 address does; the first and last port of
 * every rule match an address the rule names.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_config: property broken: %s\n",  \
				#cond);                                        \
			abort();                                               \
		}                                                              \
	} while (0)

/* A copy of the input as a C string (it may hold NULs: the string ends at
 * the first one, as getenv() would give it). */
static char *cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* err is filled with a pattern first: a message must be written over it,
 * end with a NUL inside the buffer and not be empty. */
static void err_prepare(char *err)
{
	memset(err, 'X', MS_ERRLEN);
}

static void err_check(const char *err)
{
	CHECK(memchr(err, '\0', MS_ERRLEN) != NULL);
	CHECK(err[0] != '\0' && err[0] != 'X');
}

static bool same_rules(const struct ms_portlist *a, const struct ms_portlist *b)
{
	if (a->mode != b->mode || a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct ms_rule *x = &a->rules[i], *y = &b->rules[i];

		if (x->lo != y->lo || x->hi != y->hi || x->family != y->family)
			return false;
		if (x->family && memcmp(x->addr, y->addr,
					x->family == AF_INET ? 4 : 16) != 0)
			return false;
	}
	return true;
}

/* ms_portlist_format, then ms_parse_ports again: the same list. */
static void roundtrip_ports(const struct ms_portlist *pl)
{
	static char buf[1 << 17];
	struct ms_portlist again = {0};
	char err[MS_ERRLEN];

	if (pl->mode == MS_LIST_UNSET)
		return;
	if (!ms_portlist_format(pl, buf, sizeof(buf)))
		return; /* did not fit: allowed, the caller says "long list" */
	if (!ms_parse_ports(buf, &again, err)) {
		fprintf(stderr, "fuzz_config: \"%.200s\" does not parse: %s\n",
			buf, err);
		abort();
	}
	CHECK(same_rules(pl, &again));
	ms_portlist_free(&again);
}

static void roundtrip_optset(const struct ms_optset *set)
{
	struct ms_optset again;
	char buf[4096], err[MS_ERRLEN];

	if (!ms_optset_format(set, buf, sizeof(buf)))
		return;
	CHECK(ms_parse_optset(buf, &again, err));
	CHECK(again.n == set->n);
	for (unsigned i = 0; i < set->n; i++)
		CHECK(ms_optset_has(&again, set->o[i].level, set->o[i].name));
}

/* Every setting, written by the table's writer, parses again with the
 * table's parser to the same text; the whole description fits or says it
 * did not. */
static void roundtrip_table(const struct ms_config *cfg)
{
	static char buf[1 << 17], again[1 << 17];
	char err[MS_ERRLEN];

	for (unsigned i = 0; i < MS_NKEYS; i++) {
		const struct ms_setting *st = &ms_settings[i];
		struct ms_config fresh;

		if (!st->format(cfg, buf, sizeof(buf)))
			continue;
		ms_config_init(&fresh);
		if (!st->parse(buf, &fresh, err)) {
			fprintf(stderr, "fuzz_config: %s \"%.200s\": %s\n",
				st->name, buf, err);
			abort();
		}
		CHECK(st->format(&fresh, again, sizeof(again)));
		CHECK(strcmp(buf, again) == 0);
		ms_config_free(&fresh);
	}
	if (ms_config_describe(cfg, buf, sizeof(buf)))
		CHECK(buf[0] != '\0' && buf[strlen(buf) - 1] == '\n');
}

/* A heap block of exactly len bytes (at least the family field) holding
 * the first len bytes of sa: ASan sees any read past len. */
static bool match_exact(const struct ms_portlist *pl, const void *sa,
			socklen_t len, bool outbound)
{
	size_t n = len < sizeof(sa_family_t) ? sizeof(sa_family_t) : len;
	void *copy = malloc(n);
	bool r;

	if (!copy)
		abort();
	memcpy(copy, sa, n);
	r = outbound ? ms_connect_match(pl, copy, len)
		     : ms_portlist_match(pl, copy, len);
	free(copy);
	return r;
}

static bool match4(const struct ms_portlist *pl, const uint8_t *addr,
		   uint16_t port)
{
	struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(port)};

	memcpy(&s.sin_addr, addr, 4);
	return match_exact(pl, &s, sizeof(s), false);
}

static bool match6(const struct ms_portlist *pl, const uint8_t *addr,
		   uint16_t port)
{
	struct sockaddr_in6 s = {.sin6_family = AF_INET6,
				 .sin6_port = htons(port)};

	memcpy(&s.sin6_addr, addr, 16);
	return match_exact(pl, &s, sizeof(s), false);
}

/* The first and last port of every rule match an address it names; port
 * 0 never matches. */
static void check_rules_match(const struct ms_portlist *pl)
{
	static const uint8_t any4[4] = {192, 0, 2, 1};
	static const uint8_t any6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

	if (pl->mode != MS_LIST_RULES)
		return;
	for (size_t i = 0; i < pl->n && i < 64; i++) {
		const struct ms_rule *r = &pl->rules[i];

		if (r->family == AF_INET) {
			uint8_t mapped[16] = {[10] = 0xff, [11] = 0xff};

			memcpy(mapped + 12, r->addr, 4);
			CHECK(match4(pl, r->addr, r->lo));
			CHECK(match4(pl, r->addr, r->hi));
			CHECK(match6(pl, mapped, r->lo));
		} else if (r->family == AF_INET6) {
			CHECK(match6(pl, r->addr, r->lo));
			CHECK(match6(pl, r->addr, r->hi));
		} else {
			CHECK(match4(pl, any4, r->lo));
			CHECK(match6(pl, any6, r->hi));
		}
		CHECK(!match4(pl, r->addr, 0));
	}
}

/* The lines of s, in the order of the settings table, as the variables
 * (ports, connect, tolerate, log, strict); a missing line is unset. */
static void split_env(char *s, struct ms_env *env)
{
	char *p = s;

	memset(env, 0, sizeof(*env));
	for (unsigned i = 0; i < MS_NKEYS && p; i++) {
		char *nl = strchr(p, '\n');

		env->value[i] = p;
		if (nl)
			*nl = '\0';
		p = nl ? nl + 1 : NULL;
	}
}

static void fuzz_file(const uint8_t *data, size_t size, bool env_too)
{
	struct ms_config cfg;
	char err[MS_ERRLEN];
	bool ok;

	ms_config_init(&cfg);
	err_prepare(err);
	ok = ms_parse_file((const char *)data, size, "fuzz.conf", &cfg, err);
	if (!ok)
		err_check(err);
	if (ok) {
		roundtrip_ports(&cfg.ports);
		roundtrip_ports(&cfg.connect);
		roundtrip_optset(&cfg.tolerate);
		roundtrip_table(&cfg);
		check_rules_match(&cfg.ports);
	}
	if (env_too) {
		/* The same text, each of its first lines as one variable. */
		char *s = cstr(data, size);
		struct ms_env env;

		split_env(s, &env);
		err_prepare(err);
		if (!ms_apply_env(&env, &cfg, err))
			err_check(err);
		free(s);
	}
	ms_config_free(&cfg);
}

static void fuzz_ports(const uint8_t *data, size_t size)
{
	char *s = cstr(data, size);
	struct ms_portlist pl = {0};
	char err[MS_ERRLEN];

	err_prepare(err);
	if (ms_parse_ports(s, &pl, err)) {
		roundtrip_ports(&pl);
		check_rules_match(&pl);
		CHECK(ms_portlist_may_match(&pl) == (pl.mode != MS_LIST_NONE));
	} else {
		err_check(err);
		/* a failed parse leaves the list as it was */
		CHECK(pl.mode == MS_LIST_UNSET && pl.n == 0 && !pl.rules);
	}
	ms_portlist_free(&pl);
	free(s);
}

static void fuzz_log(const uint8_t *data, size_t size)
{
	char *s = cstr(data, size);
	enum ms_log_level l = MS_LOG_INFO;
	char err[MS_ERRLEN];

	err_prepare(err);
	if (ms_parse_log(s, &l, err))
		CHECK(l <= MS_LOG_DEBUG &&
		      strcmp(ms_log_level_name(l), "?") != 0);
	else
		err_check(err);
	free(s);
}

static void fuzz_bool(const uint8_t *data, size_t size)
{
	char *s = cstr(data, size);
	bool b = false;
	char err[MS_ERRLEN];

	err_prepare(err);
	if (!ms_parse_bool(s, &b, err))
		err_check(err);
	free(s);
}

static void fuzz_optset(const uint8_t *data, size_t size)
{
	char *s = cstr(data, size);
	struct ms_optset set;
	char err[MS_ERRLEN];

	err_prepare(err);
	if (ms_parse_optset(s, &set, err)) {
		CHECK(set.n <= MS_TOLERATE_MAX);
		roundtrip_optset(&set);
	} else {
		err_check(err);
	}
	free(s);
}

static void fuzz_env(const uint8_t *data, size_t size)
{
	struct ms_config cfg;
	char err[MS_ERRLEN];
	char *s = cstr(data, size);
	struct ms_env env;

	split_env(s, &env);
	ms_config_init(&cfg);
	err_prepare(err);
	if (ms_apply_env(&env, &cfg, err)) {
		roundtrip_ports(&cfg.ports);
		roundtrip_ports(&cfg.connect);
		roundtrip_optset(&cfg.tolerate);
		roundtrip_table(&cfg);
	} else {
		err_check(err);
	}
	ms_config_free(&cfg);
	free(s);
}

/*
 * "LIST\nSOCKADDR". SOCKADDR bytes: kind (% 4: 0 AF_INET, 1 AF_INET6,
 * 2 AF_INET6 holding an IPv4-mapped address, 3 the family from the next
 * two bytes), cut (the length passed is the full length minus cut % (full
 * + 1): truncated lengths down to 0), then the raw port and address bytes.
 */
static void fuzz_match(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	struct ms_portlist pl = {0};
	char err[MS_ERRLEN];
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
		struct sockaddr_storage ss;
	} u;
	uint8_t raw[sizeof(u)] = {0};
	const uint8_t *p;
	size_t rest, full;
	uint8_t kind, cut;
	socklen_t len;
	char *list;
	bool r, r_out;

	if (!nl)
		return;
	list = cstr(data, (size_t)(nl - data));
	if (!ms_parse_ports(list, &pl, err)) {
		/* also the default (unset) list */
		memset(&pl, 0, sizeof(pl));
	}
	free(list);
	p = nl + 1;
	rest = size - (size_t)(p - data);
	kind = rest > 0 ? p[0] % 4 : 0;
	cut = rest > 1 ? p[1] : 0;
	if (rest > 2)
		memcpy(raw, p + 2,
		       rest - 2 < sizeof(raw) ? rest - 2 : sizeof(raw));

	memset(&u, 0, sizeof(u));
	switch (kind) {
	case 0:
		u.in.sin_family = AF_INET;
		memcpy(&u.in.sin_port, raw, 2);
		memcpy(&u.in.sin_addr, raw + 2, 4);
		full = sizeof(u.in);
		break;
	case 1:
	case 2:
		u.in6.sin6_family = AF_INET6;
		memcpy(&u.in6.sin6_port, raw, 2);
		memcpy(&u.in6.sin6_flowinfo, raw + 2, 4);
		memcpy(&u.in6.sin6_addr, raw + 6, 16);
		memcpy(&u.in6.sin6_scope_id, raw + 22, 4);
		if (kind == 2) {
			memset(u.in6.sin6_addr.s6_addr, 0, 10);
			u.in6.sin6_addr.s6_addr[10] = 0xff;
			u.in6.sin6_addr.s6_addr[11] = 0xff;
		}
		full = sizeof(u.in6);
		break;
	default:
		memcpy(&u.ss, raw, sizeof(u.ss));
		full = sizeof(u.ss);
		break;
	}
	len = (socklen_t)(full - cut % (full + 1));
	r = match_exact(&pl, &u, len, false);
	r_out = match_exact(&pl, &u, len, true);
	CHECK(r_out == (pl.mode != MS_LIST_UNSET && r));
	if (r)
		CHECK(ms_portlist_may_match(&pl));
	/* An IPv4-mapped address matches exactly where its IPv4 address
	 * does. */
	if (kind == 2 && len >= sizeof(u.in6)) {
		struct sockaddr_in v4 = {.sin_family = AF_INET,
					 .sin_port = u.in6.sin6_port};

		memcpy(&v4.sin_addr, &u.in6.sin6_addr.s6_addr[12], 4);
		CHECK(r == match_exact(&pl, &v4, sizeof(v4), false));
	}
	/* A truncated address never matches. */
	if ((kind == 0 && len < sizeof(u.in)) ||
	    ((kind == 1 || kind == 2) && len < sizeof(u.in6)))
		CHECK(!r);
	ms_portlist_free(&pl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 8) {
	case 0:
		fuzz_file(data + 1, size - 1, false);
		break;
	case 1:
		fuzz_ports(data + 1, size - 1);
		break;
	case 2:
		fuzz_log(data + 1, size - 1);
		break;
	case 3:
		fuzz_bool(data + 1, size - 1);
		break;
	case 4:
		fuzz_optset(data + 1, size - 1);
		break;
	case 5:
		fuzz_env(data + 1, size - 1);
		break;
	case 6:
		fuzz_match(data + 1, size - 1);
		break;
	default:
		fuzz_file(data + 1, size - 1, true);
		break;
	}
	return 0;
}
