/* SPDX-License-Identifier: MIT */
/*
 * Legacy iptables and ip6tables rules (x_tables), read from the kernel as
 * iptables-legacy-save reads them: getsockopt IPT_SO_GET_INFO and
 * IPT_SO_GET_ENTRIES on a raw socket. Only what doctor asks: the rules
 * that drop, reject or strip TCP option 30 (MPTCP).
 */
#include "diag.h"

#include <errno.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const hook_name[] = {"PREROUTING", "INPUT", "FORWARD",
					"OUTPUT", "POSTROUTING"};

/* The table's entries (a malloc'ed blob) and its hooks. */
static void *read_table(int family, const char *name, struct ipt_getinfo *gi,
			int *err)
{
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	int level = family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
	struct ipt_get_entries *ge = NULL;
	socklen_t l = sizeof(*gi);

	/* ipt_getinfo and ip6t_getinfo, ipt_get_entries and
	 * ip6t_get_entries: the same layout, the same option numbers */
	*err = 0;
	if (fd < 0) {
		*err = errno;
		return NL_OPT30_MATCH;
	}
	memset(gi, 0, sizeof(*gi));
	snprintf(gi->name, sizeof(gi->name), "%s", name);
	if (getsockopt(fd, level, IPT_SO_GET_INFO, gi, &l) != 0) {
		*err = errno;
		goto out;
	}
	ge = calloc(1, sizeof(*ge) + gi->size);
	if (!ge) {
		*err = ENOMEM;
		goto out;
	}
	snprintf(ge->name, sizeof(ge->name), "%s", name);
	ge->size = gi->size;
	l = (socklen_t)(sizeof(*ge) + gi->size);
	if (getsockopt(fd, level, IPT_SO_GET_ENTRIES, ge, &l) != 0) {
		*err = errno;
		free(ge);
		ge = NULL;
	}
out:
	close(fd);
	return ge;
}

/* What a rule does to MPTCP; NL_OPT30_MATCH: nothing that harms it. */
static enum nl_opt30 judge(const unsigned char *e, size_t first_match,
			   uint16_t target_offset)
{
	const struct xt_entry_target *t = (const void *)(e + target_offset);
	bool opt30 = false;

	for (size_t m = first_match;
	     m + sizeof(struct xt_entry_match) <= target_offset;) {
		const struct xt_entry_match *x = (const void *)(e + m);

		if (x->u.match_size < sizeof(*x))
			break;
		if (strcmp(x->u.user.name, "tcp") == 0 &&
		    x->u.match_size >= sizeof(*x) + sizeof(struct xt_tcp)) {
			const struct xt_tcp *tcp = (const void *)x->data;

			opt30 |= tcp->option == 30 &&
				 !(tcp->invflags & XT_TCP_INV_OPTION);
		}
		m += x->u.match_size;
	}
	if (strcmp(t->u.user.name, "TCPOPTSTRIP") == 0 &&
	    t->u.target_size >= sizeof(*t) + 4) {
		uint32_t bmap0;

		memcpy(&bmap0, t->data, 4);
		return bmap0 & (1u << 30) ? NL_OPT30_STRIP : NL_OPT30_MATCH;
	}
	if (!opt30)
		return NL_OPT30_MATCH;
	if (strcmp(t->u.user.name, "REJECT") == 0)
		return NL_OPT30_REJECT;
	if (t->u.user.name[0] == '\0' &&
	    t->u.target_size >= sizeof(*t) + sizeof(int)) {
		int verdict;

		memcpy(&verdict, t->data, sizeof(verdict));
		if (verdict == -NF_DROP - 1)
			return NL_OPT30_DROP;
	}
	return NL_OPT30_MATCH;
}

size_t xt_legacy_rules(int family, const char *name, struct xt_legacy_rule *out,
		       size_t max, int *err)
{
	struct ipt_getinfo gi;
	struct ipt_get_entries *ge = read_table(family, name, &gi, err);
	size_t n = 0, head = family == AF_INET6 ? sizeof(struct ip6t_entry)
						: sizeof(struct ipt_entry);
	char chain[XT_FUNCTION_MAXNAMELEN] = "";
	unsigned pos = 0;

	if (!ge)
		return 0;
	for (size_t off = 0; off + head <= ge->size && n < max;) {
		const unsigned char *e =
			(const unsigned char *)ge->entrytable + off;
		uint16_t toff, next;
		const struct xt_entry_target *t;
		bool policy = false;
		enum nl_opt30 what;

		if (family == AF_INET6) {
			toff = ((const struct ip6t_entry *)(const void *)e)
				       ->target_offset;
			next = ((const struct ip6t_entry *)(const void *)e)
				       ->next_offset;
		} else {
			toff = ((const struct ipt_entry *)(const void *)e)
				       ->target_offset;
			next = ((const struct ipt_entry *)(const void *)e)
				       ->next_offset;
		}
		if (next < head || toff < head || toff + sizeof(*t) > next ||
		    off + next > ge->size)
			break;
		t = (const void *)(e + toff);
		for (unsigned h = 0; h < NF_INET_NUMHOOKS; h++) {
			if (!(gi.valid_hooks & (1u << h)))
				continue;
			if (gi.hook_entry[h] == off) {
				snprintf(chain, sizeof(chain), "%s",
					 hook_name[h]);
				pos = 0;
			}
			policy |= gi.underflow[h] == off;
		}
		if (strcmp(t->u.user.name, XT_ERROR_TARGET) == 0) {
			/* a user chain begins (or the table ends) */
			snprintf(chain, sizeof(chain), "%.*s",
				 (int)(next - toff - sizeof(*t)),
				 (const char *)t->data);
			pos = 0;
		} else if (!policy) {
			pos++;
			what = judge(e, head, toff);
			if (what != NL_OPT30_MATCH) {
				snprintf(out[n].table, sizeof(out[n].table),
					 "%s", name);
				snprintf(out[n].chain, sizeof(out[n].chain),
					 "%s", chain);
				out[n].pos = pos;
				out[n++].act = what;
			}
		}
		off += next;
	}
	free(ge);
	return n;
}
