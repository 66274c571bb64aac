/* SPDX-License-Identifier: MIT */
/*
 * Numbers and addresses as text without stdio: the library writes and
 * reads them on paths a signal handler may reach (sprintf, sscanf,
 * inet_ntop - glibc's is written with sprintf - and atoi are not
 * async-signal-safe). Pure functions, tested in tests/unit/test_text.c.
 */
#ifndef MPTCPSHIM_TEXT_H
#define MPTCPSHIM_TEXT_H

/* INET6_ADDRSTRLEN: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" */
#define MS_IPSTRLEN 46

/* v in decimal and a NUL at dst (at most 21 bytes); the NUL's address. */
char *ms_fmt_uint(char *dst, unsigned long long v);

/* Skips blanks (space, tab), reads a number in base 10 or 16 (either
 * case) into *v; the first byte after it, or NULL if there is no digit
 * (or p is NULL). Digits beyond what *v holds wrap (callers read
 * kernel-made numbers). */
const char *ms_parse_uint(const char *p, unsigned base, unsigned long long *v);

/* The address (a struct in_addr or in6_addr) as inet_ntop() writes it
 * (IPv6: RFC 5952 compression, lower case, IPv4-mapped and -compatible
 * forms in dotted quads, as glibc) and a NUL at dst, which holds
 * MS_IPSTRLEN bytes; the NUL's address. family: AF_INET or AF_INET6
 * (anything else writes "?"). */
char *ms_fmt_ip(char *dst, int family, const void *addr);

#endif
