/* SPDX-License-Identifier: MIT */
/* Numbers and addresses as text, without stdio: see text.h. */
#include "text.h"

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

char *ms_fmt_uint(char *dst, unsigned long long v)
{
	char tmp[24];
	size_t i = sizeof(tmp), n;

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	n = sizeof(tmp) - i;
	memcpy(dst, tmp + i, n);
	dst[n] = '\0';
	return dst + n;
}

const char *ms_parse_uint(const char *p, unsigned base, unsigned long long *v)
{
	const char *start;

	if (!p)
		return NULL;
	while (*p == ' ' || *p == '\t')
		p++;
	*v = 0;
	for (start = p;; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			break;
		*v = *v * base + d;
	}
	return p == start ? NULL : p;
}

static char *fmt_ipv4(char *dst, const unsigned char *b)
{
	for (int i = 0; i < 4; i++) {
		if (i)
			*dst++ = '.';
		dst = ms_fmt_uint(dst, b[i]);
	}
	return dst;
}

static char *fmt_hex16(char *dst, unsigned w)
{
	static const char hex[] = "0123456789abcdef";
	int shift = 12;

	while (shift > 0 && !(w >> shift))
		shift -= 4; /* no leading zeros */
	for (; shift >= 0; shift -= 4)
		*dst++ = hex[(w >> shift) & 0xf];
	*dst = '\0';
	return dst;
}

char *ms_fmt_ip(char *dst, int family, const void *addr)
{
	const unsigned char *b = addr;
	unsigned w[8];
	int best = -1, best_len = 0, cur = -1, cur_len = 0;

	if (family == AF_INET) {
		dst = fmt_ipv4(dst, b);
		*dst = '\0';
		return dst;
	}
	if (family != AF_INET6) {
		memcpy(dst, "?", 2);
		return dst + 1;
	}
	for (int i = 0; i < 8; i++)
		w[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
	/* the longest run of zero words, the first of equal ones */
	for (int i = 0; i < 8; i++) {
		if (w[i] == 0) {
			if (cur < 0)
				cur = i, cur_len = 0;
			cur_len++;
			if (cur_len > best_len)
				best = cur, best_len = cur_len;
		} else {
			cur = -1;
		}
	}
	if (best_len < 2)
		best = -1; /* a single zero word is not compressed */
	for (int i = 0; i < 8; i++) {
		if (best >= 0 && i >= best && i < best + best_len) {
			if (i == best)
				*dst++ = ':';
			continue;
		}
		if (i)
			*dst++ = ':';
		/* ::a.b.c.d and ::ffff:a.b.c.d, as glibc writes them */
		if (i == 6 && best == 0 &&
		    (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
			dst = fmt_ipv4(dst, b + 12);
			break;
		}
		dst = fmt_hex16(dst, w[i]);
	}
	if (best >= 0 && best + best_len == 8)
		*dst++ = ':';
	*dst = '\0';
	return dst;
}
