/* SPDX-License-Identifier: MIT */
/*
 * The interposition layer: socket(), bind(), connect(), setsockopt(),
 * getsockopt() and epoll_ctl(). fdops.c has close() and the dup family,
 * proc.c fork(), posix_spawn(), sendmsg() and execve().
 *
 * Each exported function calls the real one and, only for sockets that can
 * still become MPTCP (listeners at bind(), listed destinations at
 * connect()), does a little bookkeeping. Settings are read once, when the
 * library is loaded (or earlier, on the first interposed call if another
 * library's constructor makes one): nginx replaces its workers'
 * environment, so a later getenv() would find nothing.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS_EXPORT __attribute__((visibility("default")))

static struct ms_config cfg;
/* socket() records candidates only when some bind() or connect() could
 * convert them. */
bool ms_track_on;
static bool connect_on;
static bool tolerate_on;
atomic_bool ms_ready;
static atomic_bool ctor_started;
static pthread_once_t once = PTHREAD_ONCE_INIT;
/* The thread running ms_init(): its own calls (reading the configuration
 * file closes an fd) must not wait for ms_init() to finish. */
static __thread bool in_init __attribute__((tls_model("initial-exec")));

static void log_error_line(const char *text, const char *tail)
{
	struct ms_msg m;

	if (!ms_log_on(MS_LOG_ERROR))
		return;
	ms_msg_begin(&m, MS_LOG_ERROR);
	ms_msg_str(&m, text);
	ms_msg_str(&m, tail);
	ms_msg_end(&m);
}

/* ---- fork() ---- */

/* fork() counts as being inside the library: a signal handler that
 * interrupts the forking thread passes its calls through rather than wait
 * for the fork to end (it never would). */
static __thread bool fork_entered __attribute__((tls_model("initial-exec")));

static void on_fork_prepare(void)
{
	if (!ms_track_on)
		return;
	fork_entered = ms_enter();
	/* No conversion may be half done when the fds are copied, and every
	 * candidate the child gets a copy of is shared from now on. */
	ms_conversions_pause();
	ms_mark_all_shared(MS_SHARED_FORK, false);
}

static void on_fork_parent(void)
{
	if (!ms_track_on)
		return;
	/* Candidates made by other threads since on_fork_prepare() */
	ms_mark_all_shared(MS_SHARED_FORK, false);
	ms_conversions_resume();
	if (fork_entered)
		ms_leave();
}

static void on_fork_child(void)
{
	ms_set_owner();
	ms_publish_forked();
	if (!ms_track_on)
		return;
	ms_conversions_reset();
	ms_after_fork_child(); /* leaves the library */
}

static void log_loaded(void)
{
	char settings[512];
	struct ms_msg m;

	/* "ports=443\nconnect=none\n..." on one line */
	if (!ms_config_describe(&cfg, settings, sizeof(settings)))
		strcpy(settings, "(too long to show)");
	for (char *p = settings; *p; p++)
		if (*p == '\n')
			*p = p[1] ? ' ' : '\0';
	ms_msg_begin(&m, MS_LOG_DEBUG);
	ms_msg_str(&m, "loaded; ");
	ms_msg_str(&m, settings);
	if (cfg.broken)
		ms_msg_str(&m, "; converting nothing (configuration error)");
	if (!atomic_load(&ctor_started))
		ms_msg_str(&m, "; initialised by an interposed call before the "
			       "library's constructor");
	ms_msg_end(&m);
}

static void ms_init(void)
{
	char err[MS_ERRLEN] = "", realerr[MS_ERRLEN] = "";
	struct ms_env env;
	const char *path;
	bool ok, present, reached;

	in_init = true;
	ms_set_owner();
	ms_log_init();
	reached = ms_real_init(realerr, sizeof(realerr));

	ms_config_init(&cfg);
	ms_env_read(&env); /* secure_getenv() */
	path = env.config ? env.config : ms_settings[MS_SET_CONFIG].def;
	ok = ms_config_read(&cfg, path, env.config != NULL, &env, &present,
			    err);
	ms_log_level = cfg.log;
	if (!ok) {
		cfg.broken = true;
		if (cfg.strict) {
			/* Not even "off" hides the reason we stop. */
			ms_log_level = MS_LOG_ERROR;
			log_error_line(err, "; stopping (strict mode)");
			_exit(1);
		}
		log_error_line(err, "; converting nothing");
	}
	if (!reached) {
		/* Never take the program down for it: stay inert. */
		cfg.broken = true;
		log_error_line(realerr, "");
		/* the reason to publish, also when the settings are fine
		 * (status names it: a wrong preload order) */
		strcpy(err, realerr);
	}
	connect_on = !cfg.broken && ms_connect_may_match(&cfg.connect);
	ms_track_on = !cfg.broken &&
		      (ms_portlist_may_match(&cfg.ports) || connect_on);
	/* tolerate only while the library is active: "none" everywhere
	 * leaves it inert */
	tolerate_on = ms_track_on && cfg.tolerate.n > 0;
	if (reached) {
		pthread_atfork(on_fork_prepare, on_fork_parent, on_fork_child);
		ms_exec_init();
	}
	ms_publish_settings(&cfg, present ? path : NULL,
			    cfg.broken ? err : NULL);
	if (ms_log_on(MS_LOG_DEBUG))
		log_loaded();
	in_init = false;
	atomic_store_explicit(&ms_ready, true, memory_order_release);
}

void ms_init_slow(void)
{
	if (!in_init) {
		int saved = errno;

		pthread_once(&once, ms_init);
		errno = saved;
	}
}

__attribute__((constructor)) static void ms_ctor(void)
{
	atomic_store(&ctor_started, true);
	ms_ensure_init();
}

/* ---- messages once per address ---- */

enum once_kind {
	ONCE_BIND,	   /* a listener fallback or strict failure */
	ONCE_CONNECT,	   /* an outbound fallback or strict failure */
	ONCE_CONNECT_INFO, /* the first outbound conversion */
	ONCE_ELSEWHERE,	   /* the port is listed, but for another address */
	ONCE_NATIVE,	   /* the program made the socket MPTCP itself */
	ONCE_CLIENT,	   /* a socket converted at bind() connect()s */
	ONCE_ALWAYS,	   /* a vfork() child's: the table is the parent's */
};

/* A key: kind, family, port, address. Slots are claimed with a
 * compare-and-swap, so no lock is needed (a signal handler may log). */
struct warned {
	_Atomic unsigned state; /* 0 free, 1 being written, 2 set */
	unsigned char key[20];
};
#define MS_WARNED_MAX 256
static struct warned warned[MS_WARNED_MAX];
static atomic_bool warned_full;

static void key_of(enum once_kind kind, const struct sockaddr *sa,
		   unsigned char key[20])
{
	memset(key, 0, 20);
	key[0] = (unsigned char)kind;
	key[1] = (unsigned char)sa->sa_family;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		memcpy(key + 2, &sin->sin_port, 2);
		memcpy(key + 4, &sin->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		memcpy(key + 2, &sin6->sin6_port, 2);
		memcpy(key + 4, &sin6->sin6_addr, 16);
	}
}

/* True the first time an address is seen for this kind of message. */
static bool first_time_for(enum once_kind kind, const struct sockaddr *sa)
{
	unsigned char key[20];

	key_of(kind, sa, key);
	for (unsigned i = 0; i < MS_WARNED_MAX; i++) {
		struct warned *w = &warned[i];
		unsigned st = atomic_load(&w->state);

		if (st == 0 &&
		    atomic_compare_exchange_strong(&w->state, &st, 1)) {
			memcpy(w->key, key, sizeof(key));
			atomic_store(&w->state, 2);
			return true;
		}
		if (st == 2 && memcmp(w->key, key, sizeof(key)) == 0)
			return false;
	}
	/* Full: say so once, then stay quiet rather than flood. */
	if (!atomic_exchange(&warned_full, true) && ms_log_on(MS_LOG_WARN)) {
		struct ms_msg m;

		ms_msg_begin(&m, MS_LOG_WARN);
		ms_msg_str(&m, "more than 256 addresses to report on; further "
			       "once-per-address messages are not written");
		ms_msg_end(&m);
	}
	return false;
}

/* One line, once per address and kind: PRE ADDR POST REASON. */
static void report_once(enum ms_log_level l, enum once_kind kind,
			const struct sockaddr *sa, socklen_t len,
			const char *pre, const char *post,
			const struct ms_failure *f)
{
	struct ms_msg m;

	if (!ms_log_on(l) || (kind != ONCE_ALWAYS && !first_time_for(kind, sa)))
		return;
	ms_msg_begin(&m, l);
	ms_msg_str(&m, pre);
	ms_msg_addr(&m, sa, len);
	ms_msg_str(&m, post);
	if (f)
		ms_msg_failure(&m, f);
	ms_msg_end(&m);
}

/* ms_convert() succeeded but could not add the new socket to an epoll set
 * the old one was in: the program will not hear of it. Say so loudly. */
static void report_epoll_failure(const struct sockaddr *sa, socklen_t len,
				 const struct ms_failure *f)
{
	struct ms_msg m;

	if (f->err == 0 || !ms_log_on(MS_LOG_ERROR))
		return;
	ms_msg_begin(&m, MS_LOG_ERROR);
	ms_msg_addr(&m, sa, len);
	ms_msg_str(&m, ": ");
	ms_msg_failure(&m, f);
	ms_msg_end(&m);
}

/* ---- addresses ---- */

/* Copies the program's address into ss, if the kernel could read it:
 * the library never reads memory the kernel would refuse, and assumes
 * nothing of its size or alignment. */
static bool copy_addr(const struct sockaddr *sa, socklen_t len,
		      struct sockaddr_storage *ss)
{
	if (len < (socklen_t)sizeof(sa_family_t) || len > sizeof(*ss) ||
	    !ms_user_readable(sa, len))
		return false;
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, sa, len);
	return true;
}

/* The address as the kernel reads it for a socket of this family, in ss
 * (zero-padded: an IPv6 address of 24 bytes, without sin6_scope_id, is
 * valid), for matching and messages; false if the kernel will refuse it
 * whatever the library does: unreadable, shorter than the family's
 * address (EINVAL, checked before the family), another family. The
 * kernel takes AF_UNSPEC with INADDR_ANY for AF_INET in bind() (an old
 * compatibility rule). */
static bool kernel_addr(const struct sockaddr *sa, socklen_t len, int domain,
			bool for_bind, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	if (len < (domain == AF_INET6 ? 24 : sizeof(*sin)) ||
	    !copy_addr(sa, len, ss))
		return false;
	if (for_bind && domain == AF_INET && ss->ss_family == AF_UNSPEC &&
	    len >= sizeof(*sin) && sin->sin_addr.s_addr == htonl(INADDR_ANY))
		ss->ss_family = AF_INET;
	return ss->ss_family == domain;
}

/* The port of a bind() that was not converted is listed, but only for
 * other addresses (`127.0.0.1:80` and nginx's `listen 80`): say so once. */
static void note_listed_elsewhere(const struct sockaddr *sa, socklen_t len)
{
	const struct sockaddr_in *sin = (const void *)sa;
	const struct ms_rule *hit = NULL;
	char where[MS_IPSTRLEN] = "";
	uint16_t port;
	struct ms_msg m;

	if (cfg.ports.mode != MS_LIST_RULES || !ms_log_on(MS_LOG_INFO) ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return;
	/* sin_port and sin6_port are at the same offset */
	port = ntohs(sin->sin_port);
	for (size_t i = 0; i < cfg.ports.n && !hit; i++) {
		const struct ms_rule *r = &cfg.ports.rules[i];

		if (r->family != 0 && r->lo <= port && port <= r->hi)
			hit = r;
	}
	if (!hit || !first_time_for(ONCE_ELSEWHERE, sa))
		return;
	ms_fmt_ip(where, hit->family, hit->addr);
	ms_msg_begin(&m, MS_LOG_INFO);
	ms_msg_addr(&m, sa, len);
	ms_msg_str(&m, ": stays TCP: its port is listed only for the address ");
	ms_msg_str(&m, where);
	ms_msg_str(&m, " (list the port without an address to convert every "
		       "address)");
	ms_msg_end(&m);
}

/* Does this error of the MPTCP socket's bind() depend on the protocol?
 * An address in use, not on this host or not allowed is the program's
 * answer, whatever the socket: the socket stays a candidate, and the
 * program's retry (nginx retries on EADDRINUSE) converts. Anything else
 * may be MPTCP's own (a BPF or LSM rule on MPTCP sockets, ...): the TCP
 * socket gets its chance, and gives the program the same error where it
 * was not (EINVAL, say: the family, length and readability of the
 * address were checked before; an EINVAL left may be MPTCP's alone). */
static bool bind_error_is_the_answer(int e)
{
	switch (e) {
	case EADDRINUSE:
	case EADDRNOTAVAIL:
	case EACCES:
		return true;
	default:
		return false;
	}
}

/* ---- bind() ---- */

static int bind_native(int fd, const struct sockaddr *sa, socklen_t len)
{
	int rc = ms_real.bind(fd, sa, len);

	if (rc == 0) {
		int saved = errno;
		struct sockaddr_storage ss;

		/* The kernel read len bytes (at most a sockaddr_storage, or
		 * it answers EINVAL): those are readable, and only those (an
		 * AF_UNSPEC address of 16 bytes is not an IPv6 one). */
		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, sa, len < sizeof(ss) ? len : sizeof(ss));
		report_once(MS_LOG_DEBUG, ONCE_NATIVE, (void *)&ss, len, "",
			    ": the program made this socket MPTCP itself "
			    "(IPPROTO_MPTCP); left as it is",
			    NULL);
		ms_slot_store(fd, 0);
		errno = saved;
	}
	return rc;
}

/* A candidate the library cannot convert at this bind(), for the reason
 * in f: a listed address stays TCP with one warning, or fails in strict
 * mode, as after any other failure. taint 0: the socket is the library's
 * no more once bound; otherwise it is marked with these bits (a signal
 * handler's call: the record may be held by the code it interrupted, and
 * is left as it is). child: a vfork() child's call, which changes nothing
 * in the parent's memory (not even the once-per-address list: the child
 * says it for itself). An address the kernel refuses gets its answer. */
static int bind_unconverted(int fd, const struct sockaddr *sa, socklen_t len,
			    const struct ms_failure *f, unsigned taint,
			    bool child)
{
	const enum once_kind kind = child ? ONCE_ALWAYS : ONCE_BIND;
	struct sockaddr_storage ss;
	const socklen_t mlen = sizeof(ss);
	int domain = 0, rc, e = errno;
	socklen_t dl = sizeof(domain);
	bool listed;

	/* the socket's family from the kernel: exact, also where the record
	 * cannot be read (a handler) or was not made (no memory) */
	if (ms_real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dl) != 0)
		domain = 0;
	errno = e;
	listed = kernel_addr(sa, len, domain, true, &ss) &&
		 ms_portlist_match(&cfg.ports, (void *)&ss, mlen);

	if (listed && cfg.strict) {
		report_once(MS_LOG_ERROR, kind, (void *)&ss, mlen, "",
			    ": bind() fails (strict mode): ", f);
		errno = f->err;
		return -1;
	}
	rc = ms_real.bind(fd, sa, len);
	if (rc == 0) {
		int saved = errno;

		if (child)
			;
		else if (taint)
			ms_taint(fd, taint);
		else
			ms_slot_store(fd, 0);
		if (listed) {
			if (!child)
				ms_count_stayed_tcp();
			report_once(MS_LOG_WARN, kind, (void *)&ss, mlen, "",
				    ": staying TCP: ", f);
		}
		errno = saved;
	}
	return rc;
}

static int bind_candidate(int fd, const struct sockaddr *sa, socklen_t len)
{
	const socklen_t mlen = sizeof(struct sockaddr_storage);
	const struct sockaddr *addr = sa;
	struct ms_failure f = {0};
	struct sockaddr_storage ss;
	int saved = errno, rc, e;
	struct ms_held h;
	struct ms_msg m;

	switch (ms_hold(fd, &h)) {
	case MS_HOLD_NONE:
		ms_leave();
		return ms_real.bind(fd, sa, len);
	case MS_HOLD_NOMEM: {
		struct ms_failure nomem = {.stage = MS_STAGE_NOMEM,
					   .err = ENOMEM};

		ms_leave();
		return bind_unconverted(fd, sa, len, &nomem, 0, false);
	}
	case MS_HOLD_LOCKED:
		break;
	}
	if (h.rec->done || !kernel_addr(sa, len, h.rec->domain, true, &ss)) {
		/* Shared and already bound, or an address the kernel will
		 * refuse (EFAULT, EINVAL, EAFNOSUPPORT): its answer. */
		rc = ms_real.bind(fd, sa, len);
		ms_held_unlock(&h);
		ms_leave();
		return rc;
	}
	addr = (const struct sockaddr *)&ss;
	if (!ms_portlist_match(&cfg.ports, addr, mlen)) {
		rc = ms_real.bind(fd, sa, len);
		if (rc != 0) {
			/* still unbound: a later bind() may be to a listed
			 * port */
			ms_held_unlock(&h);
			ms_leave();
			return rc;
		}
		/* With a connect list, remembered until connect(): a socket
		 * bound first is not converted there, and it says why. */
		if (connect_on && h.rec->refs == 1)
			ms_held_set(&h, MS_KIND_BOUND);
		else
			ms_held_done(&h);
		ms_leave();
		if (ms_log_on(MS_LOG_DEBUG)) {
			ms_msg_begin(&m, MS_LOG_DEBUG);
			ms_msg_addr(&m, addr, mlen);
			ms_msg_str(&m, ": not listed, stays TCP");
			ms_msg_end(&m);
		}
		note_listed_elsewhere(addr, mlen);
		errno = saved;
		return 0;
	}

	if (ms_convert(fd, h.rec, addr, len, &f)) {
		/* fd is now the MPTCP socket, already bound to addr */
		ms_held_set(&h, MS_KIND_CONV);
		ms_leave();
		ms_count_converted();
		report_epoll_failure(addr, mlen, &f);
		if (ms_log_on(MS_LOG_INFO)) {
			ms_msg_begin(&m, MS_LOG_INFO);
			ms_msg_addr(&m, addr, mlen);
			ms_msg_str(&m, ": socket converted to MPTCP (fd ");
			ms_msg_uint(&m, (unsigned long)fd);
			ms_msg_str(&m, ")");
			ms_msg_end(&m);
		}
		errno = saved;
		return 0;
	}
	/* In strict mode the TCP socket cannot be asked: an EINVAL is taken
	 * as the program's own (a v4-mapped address on an IPV6_V6ONLY
	 * socket), no error line. */
	if (f.stage == MS_STAGE_BIND && (bind_error_is_the_answer(f.err) ||
					 (cfg.strict && f.err == EINVAL))) {
		ms_held_unlock(&h); /* a retry may convert */
		ms_leave();
		errno = f.err;
		return -1;
	}
	if (f.stage == MS_STAGE_NOTFRESH) {
		/* listen() without bind(), or a raw system call: not a
		 * candidate (any more); the kernel answers. */
		rc = ms_real.bind(fd, sa, len);
		e = errno;
		ms_held_done(&h);
		ms_leave();
		errno = e;
		return rc;
	}
	if (cfg.strict) {
		/* No TCP listener where MPTCP could not be made; every
		 * attempt fails the same way. */
		ms_held_unlock(&h);
		ms_leave();
		report_once(MS_LOG_ERROR, ONCE_BIND, addr, mlen, "",
			    ": bind() fails (strict mode): ", &f);
		errno = f.err;
		return -1;
	}
	rc = ms_real.bind(fd, sa, len);
	e = errno;
	if (rc != 0) {
		ms_held_unlock(&h); /* a retry may convert */
		ms_leave();
		errno = e;
		return rc;
	}
	ms_held_done(&h);
	ms_leave();
	ms_count_stayed_tcp();
	report_once(MS_LOG_WARN, ONCE_BIND, addr, mlen, "",
		    ": staying TCP: ", &f);
	errno = saved;
	return 0;
}

/* bind() of a socket the library never saw made - a TCP socket received
 * with SCM_RIGHTS (recvmsg() is not interposed), inherited from a process
 * without the library, made by a raw system call - to a listed port: it
 * stays TCP, said once per address. Asked after the bind succeeded, from
 * the kernel's address. */
static void note_unseen(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss), l = sizeof(int);
	int type = 0, proto = 0, e = errno;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) &&
	    ms_portlist_match(&cfg.ports, (struct sockaddr *)&ss, sizeof(ss)) &&
	    ms_real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) == 0 &&
	    type == SOCK_STREAM &&
	    ms_real.getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) == 0 &&
	    proto == IPPROTO_TCP) {
		ms_count_stayed_tcp();
		report_once(MS_LOG_WARN, ONCE_BIND, (struct sockaddr *)&ss, len,
			    "",
			    ": staying TCP: the library did not see this "
			    "socket made (received with SCM_RIGHTS, inherited, "
			    "or made by a raw system call)",
			    NULL);
	}
	errno = e;
}

MS_EXPORT int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	ms_slot v;
	int rc;

	ms_ensure_init();
	v = ms_peek(fd);
	if (MS_LIKELY(v == 0) || !ms_track_on) {
		rc = ms_real.bind(fd, sa, len);
		if (rc == 0 && v == 0 && ms_track_on)
			note_unseen(fd);
		return rc;
	}
	if (MS_UNLIKELY(ms_vfork_child())) {
		/* It runs in the parent's memory: no conversion, no change. */
		struct ms_failure f = {.stage = MS_STAGE_SHARED,
				       .err = EOPNOTSUPP,
				       .shared = MS_SHARED_FORK};

		if (!ms_slot_is_rec(v) && ms_slot_kind(v) != MS_KIND_CAND &&
		    ms_slot_kind(v) != MS_KIND_NOMEM)
			return ms_real.bind(fd, sa, len);
		return bind_unconverted(fd, sa, len, &f, 0, true);
	}
	if (!ms_slot_is_rec(v) && ms_slot_kind(v) == MS_KIND_NATIVE)
		return bind_native(fd, sa, len);
	if (!ms_enter()) {
		/* A signal handler that interrupted the library: no
		 * conversion here (the interrupted code may hold the
		 * record), and none later for this socket once bound. Only
		 * a candidate (a record, or a tag) is one; a socket the
		 * library converted or let go gets the kernel's answer. */
		struct ms_failure h = {.stage = MS_STAGE_HANDLER,
				       .err = EOPNOTSUPP};

		if (!ms_slot_is_rec(v) && ms_slot_kind(v) != MS_KIND_CAND &&
		    ms_slot_kind(v) != MS_KIND_NOMEM)
			return ms_real.bind(fd, sa, len);
		return bind_unconverted(fd, sa, len, &h, MS_REC_HANDLER, false);
	}
	return bind_candidate(fd, sa, len);
}

/* ---- tolerate ---- */

static atomic_uint tolerated_logged; /* bit per entry of cfg.tolerate */

bool ms_tolerated(int level, int name, int err)
{
	if (!tolerate_on || (err != ENOPROTOOPT && err != EOPNOTSUPP))
		return false;
	for (unsigned i = 0; i < cfg.tolerate.n; i++) {
		unsigned bit = 1u << i;

		if (cfg.tolerate.o[i].level != level ||
		    cfg.tolerate.o[i].name != name)
			continue;
		if (!(atomic_fetch_or(&tolerated_logged, bit) & bit) &&
		    ms_log_on(MS_LOG_WARN)) {
			struct ms_msg m;

			ms_msg_begin(&m, MS_LOG_WARN);
			ms_msg_opt(&m, level, name);
			ms_msg_str(&m, " is not supported on MPTCP sockets by "
				       "this kernel (");
			ms_msg_errno(&m, err);
			ms_msg_str(&m, "); reporting success as `tolerate` "
				       "says (logged once)");
			ms_msg_end(&m);
		}
		return true;
	}
	return false;
}

static bool is_mptcp(int fd)
{
	int proto = 0;
	socklen_t len = sizeof(proto);

	return ms_real.getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) ==
		       0 &&
	       proto == IPPROTO_MPTCP;
}

/* ---- connect() ---- */

static int connect_candidate(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct ms_failure f = {0};
	struct sockaddr_storage ss;
	const socklen_t mlen = sizeof(ss);
	int saved = errno, rc, e;
	struct ms_held h;
	bool ok;

	if (ms_hold(fd, &h) != MS_HOLD_LOCKED) {
		if (h.v && ms_slot_kind(h.v) == MS_KIND_NOMEM)
			ms_slot_store(fd, 0); /* outbound: done */
		ms_leave();
		return ms_real.connect(fd, sa, len);
	}
	if (connect_on && !h.rec->done && !copy_addr(sa, len, &ss)) {
		/* The kernel refuses the address (EFAULT, EINVAL): the
		 * socket stays as it is, a candidate. */
		ms_held_unlock(&h);
		ms_leave();
		errno = saved;
		return ms_real.connect(fd, sa, len);
	}
	/* An outbound socket: never a listener candidate again. */
	if (h.rec->done || !connect_on || ss.ss_family != h.rec->domain ||
	    !ms_connect_match(&cfg.connect, (void *)&ss, mlen)) {
		if (!h.rec->done)
			ms_held_done(&h);
		else
			ms_held_unlock(&h);
		ms_leave();
		errno = saved;
		return ms_real.connect(fd, sa, len);
	}
	ok = ms_convert(fd, h.rec, NULL, 0, &f);
	if (ok) {
		ms_held_set(&h, MS_KIND_CONV);
	} else if (cfg.strict && f.stage != MS_STAGE_NOTFRESH) {
		ms_held_unlock(&h);
		ms_leave();
		report_once(MS_LOG_ERROR, ONCE_CONNECT, (void *)&ss, mlen, "",
			    ": connect() fails (strict mode): ", &f);
		errno = f.err;
		return -1;
	} else {
		ms_held_done(&h);
	}
	ms_leave();
	errno = saved;
	rc = ms_real.connect(fd, sa, len);
	e = errno;
	/* Messages come after the call: nothing the library writes goes
	 * out before the program's own bytes. */
	if (ok) {
		enum ms_log_level l =
			first_time_for(ONCE_CONNECT_INFO, (void *)&ss)
				? MS_LOG_INFO
				: MS_LOG_DEBUG;
		struct ms_msg m;

		ms_count_converted();
		report_epoll_failure((void *)&ss, mlen, &f);
		if (ms_log_on(l)) {
			ms_msg_begin(&m, l);
			ms_msg_str(&m, "outbound connection to ");
			ms_msg_addr(&m, (void *)&ss, mlen);
			ms_msg_str(&m, " uses MPTCP");
			if (l == MS_LOG_INFO)
				ms_msg_str(&m, " (said once per destination)");
			ms_msg_end(&m);
		}
	} else if (f.stage != MS_STAGE_NOTFRESH) {
		ms_count_stayed_tcp();
		report_once(MS_LOG_WARN, ONCE_CONNECT, (void *)&ss, mlen,
			    "outbound connection to ", " stays TCP: ", &f);
	}
	errno = e;
	return rc;
}

/* connect() of a socket bound (to an unlisted address) before: not
 * converted, and said so once if the destination is listed. */
static int connect_bound(int fd, ms_slot v, const struct sockaddr *sa,
			 socklen_t len)
{
	struct ms_failure f = {.stage = MS_STAGE_BOUND, .err = EOPNOTSUPP};
	struct sockaddr_storage ss;
	int saved = errno, rc, e;

	if (!copy_addr(sa, len, &ss))
		return ms_real.connect(fd, sa, len);
	/* outbound now, whatever connect() says */
	atomic_compare_exchange_strong(ms_slot_of(fd), &v, 0);
	errno = saved;
	rc = ms_real.connect(fd, sa, len);
	e = errno;
	if (ms_connect_match(&cfg.connect, (void *)&ss, sizeof(ss))) {
		ms_count_stayed_tcp();
		report_once(MS_LOG_WARN, ONCE_CONNECT, (void *)&ss, sizeof(ss),
			    "outbound connection to ", " stays TCP: ", &f);
	}
	errno = e;
	return rc;
}

/* connect() of a converted socket. One converted at bind() - a client
 * that bound a listed port first: nothing told it from a listener there -
 * is an MPTCP client now, which the kernel's MPTCP socket makes differ
 * from TCP in small ways: said once per local address. One converted at
 * connect() (a non-blocking one's repeated connect()) says nothing. */
static int connect_converted(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr_storage dst, local;
	socklen_t llen = sizeof(local);
	int rc = ms_real.connect(fd, sa, len), e = errno;

	if (ms_log_on(MS_LOG_WARN) &&
	    !(connect_on && copy_addr(sa, len, &dst) &&
	      ms_connect_match(&cfg.connect, (void *)&dst, sizeof(dst))) &&
	    getsockname(fd, (struct sockaddr *)&local, &llen) == 0)
		report_once(MS_LOG_WARN, ONCE_CLIENT, (void *)&local, llen, "",
			    ": a socket converted to MPTCP at bind() (a listed "
			    "port) connect()s: an MPTCP client, not a "
			    "listener; list only listeners' ports",
			    NULL);
	errno = e;
	return rc;
}

static int connect_fd(int fd, const struct sockaddr *sa, socklen_t len)
{
	ms_slot v;

	ms_ensure_init();
	v = ms_peek(fd);
	if (MS_UNLIKELY(ms_slot_kind(v) == MS_KIND_BOUND) &&
	    !ms_slot_is_rec(v) && ms_track_on)
		return ms_vfork_child() ? ms_real.connect(fd, sa, len)
					: connect_bound(fd, v, sa, len);
	if (MS_UNLIKELY(ms_slot_kind(v) == MS_KIND_CONV) &&
	    !ms_slot_is_rec(v) && ms_track_on)
		return connect_converted(fd, sa, len);
	if (MS_LIKELY(v == 0) || !ms_track_on ||
	    (!ms_slot_is_rec(v) && ms_slot_kind(v) != MS_KIND_CAND &&
	     ms_slot_kind(v) != MS_KIND_NOMEM))
		return ms_real.connect(fd, sa, len);
	if (MS_UNLIKELY(ms_vfork_child()))
		return ms_real.connect(fd, sa, len); /* stays TCP (LIMITS) */
	if (!ms_enter()) {
		ms_taint(fd, MS_REC_HANDLER);
		return ms_real.connect(fd, sa, len);
	}
	return connect_candidate(fd, sa, len);
}

MS_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	return connect_fd(fd, sa, len);
}

/* glibc's alias of connect (one function in libc), as old binaries call
 * it */
MS_EXPORT int __connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	return connect_fd(fd, sa, len);
}

/* ---- the other socket functions ---- */

static inline bool is_candidate(int domain, int type, int protocol)
{
	return (domain == AF_INET || domain == AF_INET6) &&
	       (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == SOCK_STREAM &&
	       (protocol == 0 || protocol == IPPROTO_TCP);
}

MS_EXPORT int socket(int domain, int type, int protocol)
{
	int fd;

	ms_ensure_init();
	fd = ms_real.socket(domain, type, protocol);
	if (fd >= 0 && ms_track_on) {
		int saved = errno;
		bool change = true;
		ms_slot v = 0;

		if (is_candidate(domain, type, protocol))
			v = MS_KIND_CAND |
			    (domain == AF_INET6 ? MS_TAG_INET6 : 0) |
			    (atomic_load(&ms_tables_split) ? MS_SHARED_TABLE
							   : 0);
		else if (protocol == IPPROTO_MPTCP && ms_log_on(MS_LOG_DEBUG))
			v = MS_KIND_NATIVE;
		else /* 0 if it was closed behind our back */
			change = MS_UNLIKELY(ms_peek(fd) != 0);
		/* A vfork() child's socket may have the number of one of the
		 * parent's, whose record is in the slot: it is left alone. */
		if (change && MS_LIKELY(!ms_vfork_child()))
			ms_slot_store(fd, v);
		errno = saved;
	}
	return fd;
}

/* A vfork() child changed a socket (an option, an epoll registration)
 * that the parent's record may be about: that record cannot follow, so
 * the socket stays TCP. The child takes no lock in the parent's memory
 * (it could die holding it); a flag is set with one atomic operation. */
static void child_changed(int fd)
{
	int e = errno;

	if (ms_owner_has_file(fd))
		ms_taint(fd, MS_SHARED_FORK);
	errno = e;
}

/* setsockopt(), __setsockopt64(): the real function of that name. */
typedef int (*setsockopt_fn)(int, int, int, const void *, socklen_t);

/* setsockopt() of a candidate: the option is recorded, under the
 * record's lock, together with the real call. */
static int setsockopt_candidate(setsockopt_fn real, int fd, int level, int name,
				const void *val, socklen_t len)
{
	struct ms_held h;
	int rc, e;

	if (MS_UNLIKELY(ms_vfork_child())) {
		rc = real(fd, level, name, val, len);
		if (rc == 0)
			child_changed(fd);
		return rc;
	}
	if (!ms_enter()) {
		rc = real(fd, level, name, val, len);
		if (rc == 0) {
			e = errno;
			ms_taint(fd, MS_REC_HANDLER);
			errno = e;
		}
		return rc;
	}
	if (ms_hold(fd, &h) != MS_HOLD_LOCKED) {
		ms_leave();
		return -2; /* not a candidate: the plain path */
	}
	rc = real(fd, level, name, val, len);
	e = errno;
	/* After success the kernel has read val: reading it is safe. */
	if (rc == 0 && !h.rec->done)
		ms_track_setsockopt(h.rec, level, name, val, len);
	ms_held_unlock(&h);
	ms_leave();
	errno = e;
	return rc;
}

/* An option set on a candidate is replayed on the MPTCP socket with
 * setsockopt(), whichever name set it: the two differ only where the
 * kernel answers ENOPROTOOPT to SO_RCVTIMEO_NEW and its kind (before
 * Linux 5.1, which has no MPTCP). */
/* Is fd a socket the library converted from an AF_INET one? IPv6
 * options fail there as on TCP (ip_setsockopt(): ENOPROTOOPT,
 * ip_getsockopt(): EOPNOTSUPP), while the MPTCP socket answers
 * IPV6_V6ONLY, IPV6_TRANSPARENT and IPV6_FREEBIND whatever its family,
 * and refuses other IPv6 options with EOPNOTSUPP. */
static bool converted_inet(int fd)
{
	ms_slot v = ms_peek(fd);
	int domain = 0, e = errno;
	socklen_t dlen = sizeof(domain);
	bool yes = v && !ms_slot_is_rec(v) && ms_slot_kind(v) == MS_KIND_CONV &&
		   ms_real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain,
				      &dlen) == 0 &&
		   domain == AF_INET;

	errno = e;
	return yes;
}

/* TCP_DEFER_ACCEPT on a converted socket: the MPTCP socket ignores
 * every error of it (net/mptcp/sockopt.c: "See tcp.c: TCP_DEFER_ACCEPT
 * does not fail"), TCP's has two, EINVAL for a value shorter than an int,
 * then EFAULT for one it cannot read: the program gets them. 0 when the
 * kernel may be asked. */
static int defer_accept_error(const void *val, socklen_t len)
{
	if (len < sizeof(int))
		return EINVAL;
	if (ms_user_readable_prefix(val, sizeof(int)) != sizeof(int))
		return EFAULT;
	return 0;
}

static int setsockopt_via(setsockopt_fn real, int fd, int level, int name,
			  const void *val, socklen_t len)
{
	int before = errno, rc;
	ms_slot v = ms_peek(fd);

	if (MS_UNLIKELY(v != 0) && ms_track_on &&
	    (ms_slot_is_rec(v) || ms_slot_kind(v) == MS_KIND_CAND)) {
		rc = setsockopt_candidate(real, fd, level, name, val, len);
		if (rc != -2)
			return rc;
	}
	if (MS_UNLIKELY(v != 0) && level == IPPROTO_TCP &&
	    name == TCP_DEFER_ACCEPT && !ms_slot_is_rec(v) &&
	    ms_slot_kind(v) == MS_KIND_CONV &&
	    (rc = defer_accept_error(val, len)) != 0) {
		errno = rc;
		return -1;
	}
	if (MS_UNLIKELY(v != 0 && level == IPPROTO_IPV6) &&
	    converted_inet(fd)) {
		errno = ENOPROTOOPT;
		return -1;
	}
	rc = real(fd, level, name, val, len);
	/* Only a failed call looks at `tolerate`: no cost on success. */
	if (MS_UNLIKELY(rc != 0 && tolerate_on)) {
		int err = errno;

		if ((err == ENOPROTOOPT || err == EOPNOTSUPP) &&
		    ms_optset_has(&cfg.tolerate, level, name) && is_mptcp(fd) &&
		    ms_tolerated(level, name, err)) {
			errno = before;
			return 0;
		}
		errno = err;
	}
	return rc;
}

MS_EXPORT int setsockopt(int fd, int level, int name, const void *val,
			 socklen_t len)
{
	ms_ensure_init(); /* before ms_real is read */
	return setsockopt_via(ms_real.setsockopt, fd, level, name, val, len);
}

#if MS_TIME64_ABI
MS_EXPORT int __setsockopt64(int fd, int level, int name, const void *val,
			     socklen_t len)
{
	ms_ensure_init();
	return setsockopt_via(ms_real.setsockopt64, fd, level, name, val, len);
}
#endif

/* getsockopt(SO_PROTOCOL) of a socket the library converted answers what
 * the program asked for, IPPROTO_TCP: the program sees its own socket
 * (nginx 1.29.7+ compares it with its configuration on a binary upgrade
 * and would otherwise open a second socket). The kernel's view (ss -M,
 * sock_diag) shows MPTCP. */
static int getsockopt_via(int (*real)(int, int, int, void *, socklen_t *),
			  int fd, int level, int name, void *val,
			  socklen_t *len)
{
	int rc;

	if (MS_UNLIKELY(level == IPPROTO_IPV6) && converted_inet(fd)) {
		errno = EOPNOTSUPP;
		return -1;
	}
	rc = real(fd, level, name, val, len);

	if (MS_UNLIKELY(level == SOL_SOCKET && name == SO_PROTOCOL) &&
	    rc == 0) {
		ms_slot v = ms_peek(fd);

		if (v && !ms_slot_is_rec(v) &&
		    ms_slot_kind(v) == MS_KIND_CONV) {
			int tcp = IPPROTO_TCP;

			/* the kernel wrote *len <= sizeof(int) bytes */
			memcpy(val, &tcp,
			       *len < sizeof(tcp) ? *len : sizeof(tcp));
		}
	}
	return rc;
}

MS_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	ms_ensure_init();
	return getsockopt_via(ms_real.getsockopt, fd, level, name, val, len);
}

#if MS_TIME64_ABI
MS_EXPORT int __getsockopt64(int fd, int level, int name, void *val,
			     socklen_t *len)
{
	ms_ensure_init();
	return getsockopt_via(ms_real.getsockopt64, fd, level, name, val, len);
}
#endif

MS_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct ms_held h;
	ms_slot v;
	int rc, e;

	ms_ensure_init();
	v = ms_peek(fd);
	if (MS_LIKELY(v == 0) || !ms_track_on ||
	    !(ms_slot_is_rec(v) || ms_slot_kind(v) == MS_KIND_CAND))
		return ms_real.epoll_ctl(epfd, op, fd, ev);
	if (MS_UNLIKELY(ms_vfork_child())) {
		rc = ms_real.epoll_ctl(epfd, op, fd, ev);
		if (rc == 0)
			child_changed(fd);
		return rc;
	}
	if (!ms_enter()) {
		rc = ms_real.epoll_ctl(epfd, op, fd, ev);
		if (rc == 0) {
			e = errno;
			ms_taint(fd, MS_REC_HANDLER);
			errno = e;
		}
		return rc;
	}
	if (ms_hold(fd, &h) != MS_HOLD_LOCKED) {
		ms_leave();
		return ms_real.epoll_ctl(epfd, op, fd, ev);
	}
	rc = ms_real.epoll_ctl(epfd, op, fd, ev);
	e = errno;
	if (rc == 0 && !h.rec->done)
		ms_track_epoll(h.rec, epfd, fd, op, ev);
	ms_held_unlock(&h);
	ms_leave();
	errno = e;
	return rc;
}
