/* SPDX-License-Identifier: MIT */
/* Configuration parsing, matching and the fallback decision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

static struct sockaddr_in v4(const char *a, uint16_t port)
{
	struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(port)};

	assert_int_equal(inet_pton(AF_INET, a, &s.sin_addr), 1);
	return s;
}

static struct sockaddr_in6 v6(const char *a, uint16_t port)
{
	struct sockaddr_in6 s = {.sin6_family = AF_INET6,
				 .sin6_port = htons(port)};

	assert_int_equal(inet_pton(AF_INET6, a, &s.sin6_addr), 1);
	return s;
}

static bool match4(const struct ms_portlist *pl, const char *a, uint16_t p)
{
	struct sockaddr_in s = v4(a, p);

	return ms_portlist_match(pl, (struct sockaddr *)&s, sizeof(s));
}

static bool match6(const struct ms_portlist *pl, const char *a, uint16_t p)
{
	struct sockaddr_in6 s = v6(a, p);

	return ms_portlist_match(pl, (struct sockaddr *)&s, sizeof(s));
}

/* Every valid list, and what it becomes when written back. */
static void test_ports_valid(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"443", "443"},
		{" 443 ", "443"},
		{"443,80", "443,80"},
		{"8000-8099", "8000-8099"},
		{"8000 - 8099 , 443", "8000-8099,443"},
		{"1-65535", "1-65535"},
		/* leading zeros are read whole, never cut short */
		{"0000000000000808", "808"},
		{"192.0.2.10:443", "192.0.2.10:443"},
		{"[2001:db8::1]:443", "[2001:db8::1]:443"},
		{"[::]:80", "[::]:80"},
		/* a v4-mapped entry is the IPv4 address, as binds to it are */
		{"[::ffff:192.0.2.1]:443", "192.0.2.1:443"},
		{"0.0.0.0:80", "0.0.0.0:80"},
		{"192.0.2.10:8000-8010", "192.0.2.10:8000-8010"},
		{"all", "all"},
		{"none", "none"},
		{" all ", "all"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ms_portlist pl = {0};
		char err[MS_ERRLEN] = "", out[256];

		if (!ms_parse_ports(cases[i].in, &pl, err))
			fail_msg("\"%s\" rejected: %s", cases[i].in, err);
		assert_true(ms_portlist_format(&pl, out, sizeof(out)));
		assert_string_equal(out, cases[i].out);
		ms_portlist_free(&pl);
	}
}

/* Every invalid list gives an error naming the offending text. */
static void test_ports_invalid(void **state)
{
	static const struct {
		const char *in, *named;
	} cases[] = {
		{"", "empty list"},
		{"   ", "empty list"},
		{"70000", "\"70000\""},
		{"0", "\"0\""},
		{"80,0-10", "\"0-10\""},
		{"http", "\"http\""},
		{"-5", "\"-5\""},
		{"443,", "empty entry"},
		{",443", "empty entry"},
		{"443,,80", "empty entry"},
		{"9000-8000", "\"9000-8000\""},
		{"all,443", "\"all\""},
		{"443,none", "\"none\""},
		{"192.0.2.300:443", "\"192.0.2.300\""},
		{"192.0.2.1:", "\"192.0.2.1:\""},
		{"2001:db8::1:443", "\"2001:db8::1:443\""},
		{"[2001:db8::1]443", "\"[2001:db8::1]443\""},
		{"[2001:db8::zz]:443", "\"2001:db8::zz\""},
		{"[192.0.2.1]:443", "\"192.0.2.1\""},
		{"443x", "\"443x\""},
		{"99999999999999999999", "\"99999999999999999999\""},
		{"00000000000000000000000000000065536",
		 "\"00000000000000000000000000000065536\""},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ms_portlist pl = {0};
		char err[MS_ERRLEN] = "";

		if (ms_parse_ports(cases[i].in, &pl, err))
			fail_msg("\"%s\" accepted", cases[i].in);
		if (!strstr(err, cases[i].named))
			fail_msg("error for \"%s\" does not name %s: %s",
				 cases[i].in, cases[i].named, err);
		assert_int_equal(pl.mode, MS_LIST_UNSET);
		assert_null(pl.rules);
	}
}

/* A failed parse leaves the previous list untouched. */
static void test_ports_failure_keeps_old(void **state)
{
	struct ms_portlist pl = {0};
	char err[MS_ERRLEN], out[64];

	(void)state;
	assert_true(ms_parse_ports("443", &pl, err));
	assert_false(ms_parse_ports("bad", &pl, err));
	assert_true(ms_portlist_format(&pl, out, sizeof(out)));
	assert_string_equal(out, "443");
	ms_portlist_free(&pl);
}

static void test_match(void **state)
{
	struct ms_portlist pl = {0};
	char err[MS_ERRLEN];

	(void)state;
	assert_true(ms_parse_ports(
		"443,8000-8099,192.0.2.10:25,[2001:db8::1]:110", &pl, err));
	assert_true(match4(&pl, "0.0.0.0", 443));
	assert_true(match6(&pl, "::", 443));
	assert_true(match4(&pl, "127.0.0.1", 8000));
	assert_true(match4(&pl, "127.0.0.1", 8099));
	assert_false(match4(&pl, "127.0.0.1", 7999));
	assert_false(match4(&pl, "127.0.0.1", 8100));
	assert_false(match4(&pl, "127.0.0.1", 80));
	/* address entries match only that address */
	assert_true(match4(&pl, "192.0.2.10", 25));
	assert_false(match4(&pl, "192.0.2.11", 25));
	assert_false(match4(&pl, "0.0.0.0", 25));
	assert_true(match6(&pl, "::ffff:192.0.2.10", 25)); /* v4-mapped */
	ms_portlist_free(&pl);
	assert_true(ms_parse_ports("[::ffff:192.0.2.10]:25", &pl, err));
	assert_true(match4(&pl, "192.0.2.10", 25));
	assert_true(match6(&pl, "::ffff:192.0.2.10", 25));
	assert_false(match6(&pl, "::", 25));
	ms_portlist_free(&pl);
	assert_true(ms_parse_ports(
		"443,8000-8099,192.0.2.10:25,[2001:db8::1]:110", &pl, err));
	assert_true(match6(&pl, "2001:db8::1", 110));
	assert_false(match6(&pl, "2001:db8::2", 110));
	assert_false(match6(&pl, "::", 110));
	assert_false(match4(&pl, "192.0.2.10", 110));
	/* port 0 never matches */
	assert_false(match4(&pl, "0.0.0.0", 0));
	ms_portlist_free(&pl);
}

static void test_match_modes(void **state)
{
	struct ms_portlist unset = {0}, all = {0}, none = {0};
	struct sockaddr_un {
		sa_family_t f;
		char p[108];
	} un = {.f = AF_UNIX};
	struct sockaddr_in short4 = v4("127.0.0.1", 443);
	char err[MS_ERRLEN];

	(void)state;
	assert_true(ms_parse_ports("all", &all, err));
	assert_true(ms_parse_ports("none", &none, err));
	/* no allowlist at all: every listener (documented default) */
	assert_true(match4(&unset, "127.0.0.1", 1));
	assert_true(match6(&unset, "::1", 65535));
	assert_true(match4(&all, "127.0.0.1", 443));
	assert_false(match4(&all, "127.0.0.1", 0));
	assert_false(match4(&none, "127.0.0.1", 443));
	assert_true(ms_portlist_may_match(&unset));
	assert_true(ms_portlist_may_match(&all));
	assert_false(ms_portlist_may_match(&none));
	assert_false(
		ms_portlist_match(&all, (struct sockaddr *)&un, sizeof(un)));
	/* a truncated address is not matched */
	assert_false(ms_portlist_match(&all, (struct sockaddr *)&short4,
				       sizeof(short4) - 4));
}

static void test_log_and_bool(void **state)
{
	static const char *const levels[] = {"off", "error", "warn", "info",
					     "debug"};
	enum ms_log_level l;
	char err[MS_ERRLEN];
	bool b;

	(void)state;
	for (unsigned i = 0; i < 5; i++) {
		assert_true(ms_parse_log(levels[i], &l, err));
		assert_int_equal(l, i);
		assert_string_equal(ms_log_level_name(l), levels[i]);
	}
	assert_false(ms_parse_log("verbose", &l, err));
	assert_non_null(strstr(err, "\"verbose\""));
	assert_false(ms_parse_log("", &l, err));
	assert_true(ms_parse_bool("1", &b, err));
	assert_true(b);
	assert_true(ms_parse_bool(" yes ", &b, err));
	assert_true(b);
	assert_true(ms_parse_bool("0", &b, err));
	assert_false(b);
	assert_true(ms_parse_bool("off", &b, err));
	assert_false(b);
	assert_false(ms_parse_bool("2", &b, err));
	assert_non_null(strstr(err, "\"2\""));
	assert_false(ms_parse_bool("", &b, err));
}

static bool parse_text(const char *text, struct ms_config *cfg, char *err)
{
	ms_config_init(cfg);
	return ms_parse_file(text, strlen(text), "test.conf", cfg, err);
}

static void test_file(void **state)
{
	struct ms_config cfg;
	char err[MS_ERRLEN], out[64];

	(void)state;
	assert_true(parse_text("# comment\n\n  ports = 443, 8000-8001 # web\n"
			       "log=debug\nstrict = 1",
			       &cfg, err));
	assert_true(ms_portlist_format(&cfg.ports, out, sizeof(out)));
	assert_string_equal(out, "443,8000-8001");
	assert_int_equal(cfg.log, MS_LOG_DEBUG);
	assert_true(cfg.strict);
	assert_int_equal(cfg.ports_src, MS_SRC_FILE);
	ms_config_free(&cfg);

	/* an empty file changes nothing */
	assert_true(parse_text("", &cfg, err));
	assert_int_equal(cfg.ports.mode, MS_LIST_UNSET);
	assert_int_equal(cfg.log, MS_LOG_INFO);
	assert_false(cfg.strict);
	assert_int_equal(cfg.ports_src, MS_SRC_DEFAULT);
}

static void test_file_errors(void **state)
{
	static const struct {
		const char *text, *named;
	} cases[] = {
		{"port = 443\n", "test.conf:1: unknown key \"port\" (known: "
				 "ports, connect, tolerate, log, strict)"},
		{"tolerate = TCP_NOPE\n",
		 "test.conf:1: unknown socket option \"TCP_NOPE\""},
		{"\n\nports 443\n", "test.conf:3: expected \"key = value\""},
		{"ports = 443\nports = 80\n",
		 "test.conf:2: key \"ports\" given twice"},
		{"ports = 99999\n", "test.conf:1: invalid entry \"99999\""},
		{"log = loud\n", "test.conf:1: invalid log level \"loud\""},
		{"strict = maybe\n", "test.conf:1: invalid value \"maybe\""},
		{"ports =\n", "test.conf:1: empty list"},
		{"ports = 443\0\n", "NUL"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ms_config cfg;
		char err[MS_ERRLEN] = "";
		size_t len = strlen(cases[i].text);

		if (strcmp(cases[i].named, "NUL") == 0)
			len += 2;
		ms_config_init(&cfg);
		if (ms_parse_file(cases[i].text, len, "test.conf", &cfg, err))
			fail_msg("file %zu accepted", i);
		if (!strstr(err, cases[i].named))
			fail_msg("file %zu: error does not say \"%s\": %s", i,
				 cases[i].named, err);
		ms_config_free(&cfg);
	}
}

/* A bad line does not stop the others from being read, so that a valid
 * strict key is known even when another key is broken. */
static void test_file_keeps_valid_keys(void **state)
{
	struct ms_config cfg;
	char err[MS_ERRLEN];

	(void)state;
	assert_false(parse_text("ports = nope\nstrict = 1\n", &cfg, err));
	assert_true(cfg.strict);
	assert_non_null(strstr(err, "\"nope\""));
	ms_config_free(&cfg);
}

static void test_env_overrides_file(void **state)
{
	struct ms_config cfg;
	struct ms_env env = {.ports = "8080", .log = NULL, .strict = "0"};
	char err[MS_ERRLEN], out[64];

	(void)state;
	assert_true(
		parse_text("ports = 443\nlog = warn\nstrict = 1\n", &cfg, err));
	assert_true(ms_apply_env(&env, &cfg, err));
	assert_true(ms_portlist_format(&cfg.ports, out, sizeof(out)));
	assert_string_equal(out, "8080");
	assert_int_equal(cfg.ports_src, MS_SRC_ENV);
	assert_int_equal(cfg.log, MS_LOG_WARN);
	assert_int_equal(cfg.log_src, MS_SRC_FILE);
	assert_false(cfg.strict);
	ms_config_free(&cfg);

	env = (struct ms_env){.ports = "80,x"};
	ms_config_init(&cfg);
	assert_false(ms_apply_env(&env, &cfg, err));
	assert_non_null(strstr(err, "MPTCPSHIM_PORTS"));
	assert_non_null(strstr(err, "\"x\""));
	ms_config_free(&cfg);
}

/* Which errno values of socket(..., IPPROTO_MPTCP) mean "no MPTCP here". */
static void test_fallback_decision(void **state)
{
	static const int no_mptcp[] = {ENOPROTOOPT, EPROTONOSUPPORT, EINVAL,
				       EPERM, EACCES};
	static const int resource[] = {EMFILE, ENFILE, ENOBUFS, ENOMEM};

	(void)state;
	for (size_t i = 0; i < sizeof(no_mptcp) / sizeof(no_mptcp[0]); i++)
		assert_true(ms_errno_means_no_mptcp(no_mptcp[i]));
	for (size_t i = 0; i < sizeof(resource) / sizeof(resource[0]); i++)
		assert_false(ms_errno_means_no_mptcp(resource[i]));
}

/* `connect`: same syntax, but an unset list matches nothing. */
static void test_connect_list(void **state)
{
	struct ms_config cfg;
	struct sockaddr_in d = v4("192.0.2.1", 443);
	struct ms_env env = {.connect = "443,[2001:db8::1]:8443"};
	char err[MS_ERRLEN];

	(void)state;
	ms_config_init(&cfg);
	assert_false(ms_connect_match(&cfg.connect, (struct sockaddr *)&d,
				      sizeof(d)));
	assert_false(ms_connect_may_match(&cfg.connect));
	assert_true(ms_apply_env(&env, &cfg, err));
	assert_true(ms_connect_may_match(&cfg.connect));
	assert_int_equal(cfg.connect_src, MS_SRC_ENV);
	assert_true(ms_connect_match(&cfg.connect, (struct sockaddr *)&d,
				     sizeof(d)));
	d.sin_port = htons(80);
	assert_false(ms_connect_match(&cfg.connect, (struct sockaddr *)&d,
				      sizeof(d)));
	ms_config_free(&cfg);

	assert_true(parse_text("connect = none\n", &cfg, err));
	assert_false(ms_connect_may_match(&cfg.connect));
	ms_config_free(&cfg);
	assert_false(parse_text("connect = 0\n", &cfg, err));
	assert_non_null(strstr(err, "test.conf:1: invalid entry \"0\""));
	ms_config_free(&cfg);
}

static void test_tolerate(void **state)
{
	struct ms_config cfg;
	struct ms_optset set;
	char err[MS_ERRLEN], out[256];

	(void)state;
	/* the default: what nginx sets and kernels before 6.10 refused */
	ms_config_init(&cfg);
	assert_true(ms_optset_format(&cfg.tolerate, out, sizeof(out)));
	assert_string_equal(out, "TCP_NODELAY,TCP_CORK,TCP_KEEPIDLE,"
				 "TCP_KEEPINTVL,TCP_KEEPCNT,TCP_DEFER_ACCEPT,"
				 "TCP_FASTOPEN");
	assert_true(ms_optset_has(&cfg.tolerate, IPPROTO_TCP, TCP_NODELAY));
	assert_false(
		ms_optset_has(&cfg.tolerate, IPPROTO_TCP, TCP_USER_TIMEOUT));
	ms_config_free(&cfg);

	assert_true(ms_parse_optset(" TCP_QUICKACK , TCP_USER_TIMEOUT,"
				    "TCP_QUICKACK",
				    &set, err));
	assert_int_equal(set.n, 2);
	assert_true(ms_optset_has(&set, IPPROTO_TCP, TCP_QUICKACK));
	assert_true(ms_parse_optset("none", &set, err));
	assert_int_equal(set.n, 0);
	assert_true(ms_optset_format(&set, out, sizeof(out)));
	assert_string_equal(out, "none");

	assert_false(ms_parse_optset("TCP_NODELAY,tcp_cork", &set, err));
	assert_non_null(strstr(err, "\"tcp_cork\""));
	assert_false(ms_parse_optset("TCP_NODELAY,", &set, err));
	assert_non_null(strstr(err, "empty entry"));
	assert_false(ms_parse_optset("", &set, err));

	assert_true(parse_text("tolerate = none\n", &cfg, err));
	assert_int_equal(cfg.tolerate.n, 0);
	assert_int_equal(cfg.tolerate_src, MS_SRC_FILE);
	ms_config_free(&cfg);
}

/* 1,000 entries parse and match (the benchmark's large allowlist). */
static void test_many_entries(void **state)
{
	static char big[8192];
	struct ms_portlist pl = {0};
	char err[MS_ERRLEN];
	size_t n = 0;

	(void)state;
	for (unsigned p = 10000; p < 11000; p++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s%u",
				      p == 10000 ? "" : ",", p);
	assert_true(ms_parse_ports(big, &pl, err));
	assert_int_equal(pl.n, 1000);
	assert_true(match4(&pl, "127.0.0.1", 10999));
	assert_false(match4(&pl, "127.0.0.1", 11000));
	ms_portlist_free(&pl);
}

/* The settings table: one row per setting, complete, its defaults the
 * state of a fresh configuration, and every file key reachable by the
 * file parser and its variable by ms_apply_env. */
static void test_settings_table(void **state)
{
	char err[MS_ERRLEN], out[512];
	struct ms_config cfg;

	(void)state;
	for (unsigned i = 0; i < MS_NSETTINGS; i++) {
		const struct ms_setting *st = &ms_settings[i];

		assert_non_null(st->name);
		assert_ptr_equal(ms_setting_find(st->name), st);
		assert_int_equal(strncmp(st->var, "MPTCPSHIM_", 10), 0);
		assert_non_null(st->def);
		assert_non_null(st->doc);
		assert_null(strchr(st->doc, '\n'));
		/* an option takes an argument or is a flag, never both */
		assert_true((st->arg != NULL) != (st->flag != NULL));
		assert_int_equal(st->in_file, i < MS_NKEYS);
		if (!st->in_file) {
			assert_null(st->parse);
			continue;
		}
		assert_non_null(st->parse);
		assert_non_null(st->format);
		/* the documented default is what a fresh configuration has */
		ms_config_init(&cfg);
		assert_true(st->format(&cfg, out, sizeof(out)));
		assert_string_equal(out, st->def);
		assert_int_equal(cfg.src[i], MS_SRC_DEFAULT);
		ms_config_free(&cfg);
	}
	assert_null(ms_setting_find("port"));
	assert_string_equal(ms_settings[MS_SET_CONFIG].name, "config");
	assert_string_equal(ms_settings[MS_SET_STRICT].flag, "1");
	/* the named aliases are the array's members */
	ms_config_init(&cfg);
	cfg.src[MS_SET_LOG] = MS_SRC_ENV;
	assert_int_equal(cfg.log_src, MS_SRC_ENV);
	ms_config_free(&cfg);

	/* every file key, and every variable, reaches its setting */
	for (unsigned i = 0; i < MS_NKEYS; i++) {
		const struct ms_setting *st = &ms_settings[i];
		static const char *const value[MS_NKEYS] = {
			[MS_SET_PORTS] = "8443",
			[MS_SET_CONNECT] = "443",
			[MS_SET_TOLERATE] = "TCP_QUICKACK",
			[MS_SET_LOG] = "debug",
			[MS_SET_STRICT] = "1",
		};
		char text[128];
		struct ms_env env = {0};

		snprintf(text, sizeof(text), "%s = %s\n", st->name, value[i]);
		assert_true(parse_text(text, &cfg, err));
		assert_int_equal(cfg.src[i], MS_SRC_FILE);
		assert_true(st->format(&cfg, out, sizeof(out)));
		assert_string_equal(out, value[i]);
		ms_config_free(&cfg);

		env.value[i] = value[i];
		ms_config_init(&cfg);
		assert_true(ms_apply_env(&env, &cfg, err));
		assert_int_equal(cfg.src[i], MS_SRC_ENV);
		assert_true(st->format(&cfg, out, sizeof(out)));
		assert_string_equal(out, value[i]);
		ms_config_free(&cfg);
	}
}

/* What a running library publishes: one name=value line per setting. */
static void test_config_describe(void **state)
{
	struct ms_config cfg;
	char err[MS_ERRLEN], out[512];

	(void)state;
	assert_true(parse_text("ports = 443,[2001:db8::1]:8443\nstrict = yes\n",
			       &cfg, err));
	assert_true(ms_config_describe(&cfg, out, sizeof(out)));
	assert_string_equal(out, "ports=443,[2001:db8::1]:8443\n"
				 "connect=none\n"
				 "tolerate=TCP_NODELAY,TCP_CORK,TCP_KEEPIDLE,"
				 "TCP_KEEPINTVL,TCP_KEEPCNT,TCP_DEFER_ACCEPT,"
				 "TCP_FASTOPEN\n"
				 "log=info\n"
				 "strict=1\n");
	/* too small: false, and still a string */
	assert_false(ms_config_describe(&cfg, out, 20));
	assert_non_null(memchr(out, '\0', 20));
	ms_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ports_valid),
		cmocka_unit_test(test_ports_invalid),
		cmocka_unit_test(test_ports_failure_keeps_old),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_match_modes),
		cmocka_unit_test(test_log_and_bool),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_file_keeps_valid_keys),
		cmocka_unit_test(test_env_overrides_file),
		cmocka_unit_test(test_fallback_decision),
		cmocka_unit_test(test_connect_list),
		cmocka_unit_test(test_tolerate),
		cmocka_unit_test(test_many_entries),
		cmocka_unit_test(test_settings_table),
		cmocka_unit_test(test_config_describe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
