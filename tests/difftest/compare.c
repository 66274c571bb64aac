/* SPDX-License-Identifier: MIT */
/*
 * Comparing the run without the library (base) with the run with it.
 * Every line must be the same, but for the kernel's answers ("K " lines):
 * - "K fd N kproto P lport X cand C" and "K probe fd N kproto P lport X":
 *   the same, or 6 without the library and 262 with it on a socket bound
 *   to a listed port (a conversion). A candidate (C = 1: a TCP stream
 *   socket bound to a port listed on every address) that stays 6 with the
 *   library must have been named in a line of the library's on standard
 *   error (the documented fallback: "stays TCP, with one warning");
 * - "K conn fd N acc A cli M": the same, or (6, 0) without the library
 *   and (262, 1) with it for a converted listener: its accepted socket
 *   and the client's connection are MPTCP.
 * - a setsockopt() that fails with the library, EOPNOTSUPP or ENOPROTOOPT,
 *   on a socket converted then (the "K setsockopt" line after it): MPTCP
 *   refuses the option (MPTCPSHIM_TOLERATE exists for these).
 * A sanitizer's report on either standard error is a difference too.
 */
#include "run.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXFD 64

static bool listed_port(int p)
{
	return p == 41000 || p == 41001 || p == 41010 || p == 41011;
}

static const char *next_line(const char *s, const char **end)
{
	*end = strchr(s, '\n');
	if (!*end)
		*end = s + strlen(s);
	return s;
}

static const char *sanitizer(const char *err)
{
	if (strstr(err, "runtime error:"))
		return "UBSan";
	if (strstr(err, "Sanitizer"))
		return "a sanitizer";
	return NULL;
}

static bool refused(const char *tok, size_t n)
{
	return (n == 10 && memcmp(tok, "EOPNOTSUPP", 10) == 0) ||
	       (n == 11 && memcmp(tok, "ENOPROTOOPT", 11) == 0);
}

/* "K fd N options V V ...": on a converted socket, an option the MPTCP
 * socket does not answer (or answers where TCP does not: IPv6 options of
 * an AF_INET socket) is the kernel's difference; two answers must be
 * equal. */
static bool options_allowed(const char *b, const char *be, const char *l,
			    const char *le)
{
	for (int k = 0; b < be && l < le; k++) {
		size_t bn, ln;

		b += strspn(b, " ");
		l += strspn(l, " ");
		bn = strcspn(b, " \n");
		ln = strcspn(l, " \n");
		if ((bn != ln || memcmp(b, l, bn) != 0) && !refused(l, ln) &&
		    !refused(b, bn))
			return false;
		b += bn;
		l += ln;
	}
	return true;
}

/* Both are K lines that differ; are they an allowed difference? */
static bool allowed(const char *b, const char *be, const char *l,
		    const char *le, bool *converted)
{
	int fd, bp, lp, bport, lport, bc = 0, lc = 0, ba, bm, la, lm, n = 0;
	int bq = -1, lq = -1;
	char via[8] = "";

	if ((sscanf(b, "K fd %d kproto %d lport %d cand %d", &fd, &bp, &bport,
		    &bc) == 4 &&
	     sscanf(l, "K fd %*d kproto %d lport %d cand %d", &lp, &lport,
		    &lc) == 3) ||
	    (sscanf(b, "K probe fd %d kproto %d lport %d protocol %d via %7s",
		    &fd, &bp, &bport, &bq, via) == 5 &&
	     sscanf(l, "K probe fd %*d kproto %d lport %d protocol %d", &lp,
		    &lport, &lq) == 3)) {
		if (bport != lport || fd < 0 || fd >= MAXFD)
			return false;
		if (bp == 6 && lp == 262 && listed_port(lport)) {
			converted[fd] = true;
			/* a program executed by system()'s shell is not
			 * told which sockets are converted (man page) */
			return bq == lq || (strcmp(via, "system") == 0 &&
					    bq == 6 && lq == 262);
		}
		return false;
	}
	if (sscanf(b, "K setsockopt fd %d kproto %d", &fd, &bp) == 2 &&
	    sscanf(l, "K setsockopt fd %*d kproto %d", &lp) == 1)
		return bp == 6 && lp == 262;
	if (sscanf(b, "K fd %d options%n", &fd, &n) == 1 && n > 0 && fd >= 0 &&
	    fd < MAXFD && converted[fd] && strncmp(b, l, (size_t)n) == 0)
		return options_allowed(b + n, be, l + n, le);
	if (sscanf(b, "K conn fd %d acc %d cli %d", &fd, &ba, &bm) == 3 &&
	    sscanf(l, "K conn fd %*d acc %d cli %d", &la, &lm) == 2 &&
	    fd >= 0 && fd < MAXFD)
		return converted[fd] && ba == 6 && bm == 0 && la == 262 &&
		       lm == 1;
	return false;
}

/* A candidate left TCP by the library without a word (or at all, in a
 * sequence where nothing justifies a fallback: strict). */
static bool silent_tcp(const char *l, const char *lib_err, bool strict)
{
	int fd, p, port, c;

	return sscanf(l, "K fd %d kproto %d lport %d cand %d", &fd, &p, &port,
		      &c) == 4 &&
	       c == 1 && p == 6 && (strict || !strstr(lib_err, "mptcpshim["));
}

/* Nothing in s is a documented reason to stay TCP: no second reference
 * (dup, child, SCM_RIGHTS), no handler, no epoll registration, no
 * option MPTCP refuses or given with an odd length or an unreadable
 * pointer, no connect(). */
static bool no_fallback_reason(const struct seq *s)
{
	for (int i = 0; i < s->n; i++) {
		const struct op *o = &s->ops[i];
		int name = opts[IDX(o->b, n_opts)].optname;

		switch (o->kind) {
		case OP_SOCKET:
		case OP_BIND:
		case OP_LISTEN:
		case OP_FCNTL_SETFL:
		case OP_FCNTL_SETFD:
		case OP_EPOLL_CREATE:
		case OP_EPOLL_WAIT:
			break;
		case OP_SETSOCKOPT:
			if (opts[IDX(o->b, n_opts)].level == IPPROTO_TCP &&
			    (name == TCP_USER_TIMEOUT || name == TCP_QUICKACK))
				return false;
			if (IDX(o->d, n_opt_lens) != 0 || o->e == PTR_NONE ||
			    o->thread != 0)
				return false;
			break;
		default:
			return false;
		}
	}
	return true;
}

const char *compare_runs(const struct run_result *base,
			 const struct run_result *lib, bool strict, char *why,
			 size_t why_len)
{
	bool converted[MAXFD] = {false};
	const char *b = base->out, *l = lib->out, *be, *le, *s;
	int line = 1, refused_at = 0;
	bool quiet = strstr(lib->out, "fd 2: replaced") != NULL;

	if ((s = sanitizer(lib->err)) != NULL) {
		snprintf(why, why_len, "%s reports with the library", s);
		return "sanitizer";
	}
	if ((s = sanitizer(base->err)) != NULL) {
		snprintf(why, why_len, "%s reports without the library", s);
		return "sanitizer";
	}
	for (; *b || *l; line++) {
		next_line(b, &be);
		next_line(l, &le);
		if (be - b != le - l || memcmp(b, l, (size_t)(be - b)) != 0) {
			int fd;

			/* a setsockopt() that MPTCP refuses, on a socket
			 * converted then (the next line says) */
			if (sscanf(l, "%*d setsockopt fd %d", &fd) == 1 &&
			    strncmp(b, l, (size_t)(strchr(l, '=') - l)) == 0 &&
			    (strstr(l, "= -1 EOPNOTSUPP") ||
			     strstr(l, "= -1 ENOPROTOOPT"))) {
				refused_at = line;
			} else if (strncmp(b, "K ", 2) != 0 ||
				   strncmp(l, "K ", 2) != 0 ||
				   !allowed(b, be, l, le, converted)) {
				snprintf(why, why_len,
					 "line %d: without: %.*s | with: %.*s",
					 line, (int)(be - b), b, (int)(le - l),
					 l);
				if (strncmp(l, "hang", 4) == 0 ||
				    strncmp(b, "hang", 4) == 0)
					return "hang";
				if (strncmp(l, "exit signal", 11) == 0)
					return "crash";
				return "difference";
			}
		} else if (!quiet && silent_tcp(l, lib->err, strict)) {
			snprintf(why, why_len,
				 "line %d: %.*s: a listed listener stays TCP%s",
				 line, (int)(le - l), l,
				 strict ? " with no reason to"
					: " and the library says nothing");
			return strict ? "stays TCP" : "silent TCP";
		}
		if (refused_at && refused_at < line &&
		    strncmp(l, "K setsockopt", 12) == 0 &&
		    strstr(l, "kproto 262") && strstr(b, "kproto 6"))
			refused_at = 0; /* converted: MPTCP refused it */
		if (refused_at && refused_at < line) {
			snprintf(why, why_len,
				 "line %d: setsockopt refused with the library "
				 "on a socket that is not converted",
				 refused_at);
			return "difference";
		}
		b = *be ? be + 1 : be;
		l = *le ? le + 1 : le;
	}
	return NULL;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && strcmp(s + n - t, tail) == 0;
}

const char *check_seq(const struct settings *st, const struct seq *s, char *why,
		      size_t why_len)
{
	struct run_result base, lib;
	char path[4200];
	const char *verdict;

	snprintf(path, sizeof(path), "%s/current.seq", st->workdir);
	if (seq_write(s, path, NULL) != 0) {
		snprintf(why, why_len, "cannot write %s", path);
		return "setup";
	}
	if (run_seq(st, path, false, &base) != 0 ||
	    run_seq(st, path, true, &lib) != 0) {
		snprintf(why, why_len, "cannot run %s", path);
		return "setup";
	}
	verdict =
		compare_runs(&base, &lib, no_fallback_reason(s), why, why_len);
	if (getenv("DIFFTEST_SHOW")) /* both runs, for a look by hand */
		printf("--- without the library:\n%s%s--- with it:\n%s%s---\n",
		       base.out, base.err, lib.out, lib.err);
	if (verdict && strcmp(verdict, "hang") == 0 &&
	    ends_with(base.out, "hang\n") && ends_with(lib.out, "hang\n")) {
		printf("difftest: both runs hang (the sequence blocks)\n");
		verdict = NULL;
	}
	run_free(&base);
	run_free(&lib);
	return verdict;
}
