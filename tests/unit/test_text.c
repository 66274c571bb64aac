/* SPDX-License-Identifier: MIT */
/* Numbers and addresses as text without stdio (lib/text.c): the same
 * text as printf and inet_ntop, and the numbers the kernel writes read
 * back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "text.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_fmt_uint(void **state)
{
	const unsigned long long v[] = {
		0, 1, 9, 10, 99, 100, 65535, 4294967295ULL, ULLONG_MAX};
	char got[32], want[32];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *end = ms_fmt_uint(got, v[i]);

		snprintf(want, sizeof(want), "%llu", v[i]);
		assert_string_equal(got, want);
		assert_ptr_equal(end, got + strlen(want));
	}
}

static void test_parse_uint(void **state)
{
	unsigned long long v = 7;

	(void)state;
	assert_string_equal(ms_parse_uint(" \t42 rest", 10, &v), " rest");
	assert_int_equal(v, 42);
	assert_string_equal(ms_parse_uint("0", 10, &v), "");
	assert_int_equal(v, 0);
	assert_non_null(ms_parse_uint("18446744073709551615", 10, &v));
	assert_true(v == ULLONG_MAX);
	assert_non_null(ms_parse_uint("ffffffffffffffff", 16, &v));
	assert_true(v == ULLONG_MAX);
	assert_string_equal(ms_parse_uint("DeadBeef:", 16, &v), ":");
	assert_int_equal(v, 0xdeadbeef);
	/* hex digits are not decimal ones */
	assert_string_equal(ms_parse_uint("12ab", 10, &v), "ab");
	assert_int_equal(v, 12);
	assert_null(ms_parse_uint("", 10, &v));
	assert_null(ms_parse_uint("  x1", 10, &v));
	assert_null(ms_parse_uint("-1", 10, &v));
	assert_null(ms_parse_uint(NULL, 10, &v));
}

static void same_as_inet_ntop(int family, const void *addr)
{
	char got[MS_IPSTRLEN], want[INET6_ADDRSTRLEN];
	char *end = ms_fmt_ip(got, family, addr);

	assert_non_null(inet_ntop(family, addr, want, sizeof(want)));
	assert_string_equal(got, want);
	assert_ptr_equal(end, got + strlen(want));
}

static void test_fmt_ip_like_inet_ntop(void **state)
{
	const char *v6[] = {
		"::",
		"::1",
		"1::",
		"2001:db8::1",
		"2001:db8:0:0:1:0:0:1", /* two runs of two: the first */
		"2001:0:0:1:0:0:0:1",	/* the longer run */
		"2001:db8:0:1:1:1:1:1", /* a single zero word stays */
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"::ffff:192.0.2.1", /* IPv4-mapped */
		"::192.0.2.1",	    /* IPv4-compatible */
		"::ffff:0:192.0.2.1",
		"fe80::1:2",
		"0:0:1::",
		"1:0:0:0:0:0:0:0",
		"0:0:0:0:0:0:0:1",
		"0:0:0:0:0:1:0:0",
		"100::ffff:1",
	};
	const char *v4[] = {"0.0.0.0", "127.0.0.1", "192.0.2.10",
			    "255.255.255.255"};
	unsigned char a[16];
	unsigned seed = 1;

	(void)state;
	for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
		assert_int_equal(inet_pton(AF_INET6, v6[i], a), 1);
		same_as_inet_ntop(AF_INET6, a);
	}
	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		assert_int_equal(inet_pton(AF_INET, v4[i], a), 1);
		same_as_inet_ntop(AF_INET, a);
	}
	/* random words, most of them zero: every shape of runs */
	for (int n = 0; n < 200000; n++) {
		for (int i = 0; i < 16; i += 2) {
			unsigned r = (unsigned)rand_r(&seed);

			a[i] = (r & 3) ? 0 : (unsigned char)(r >> 8);
			a[i + 1] = (r & 3) ? 0 : (unsigned char)(r >> 16);
			if ((r & 0x70000000) == 0x10000000)
				a[i] = a[i + 1] = 0xff;
		}
		same_as_inet_ntop(AF_INET6, a);
	}
	ms_fmt_ip((char *)a, 0, a);
	assert_string_equal((char *)a, "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_uint),
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_fmt_ip_like_inet_ntop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
