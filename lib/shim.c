/* SPDX-License-Identifier: MIT */
/*
 * The interposition layer: the only exported symbols of libmptcpshim.
 *
 * Each exported function calls the real one and, only for sockets that can
 * still become MPTCP (listeners at bind(), listed destinations at
 * connect()), does a little bookkeeping. Settings are
 * read once, when the library is loaded (or earlier, on the first
 * interposed call if another library's constructor makes one): nginx
 * replaces its workers' environment, so a later getenv() would find
 * nothing.
 */
#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MS_SYSCONFDIR
#define MS_SYSCONFDIR "/etc"
#endif
#define MS_DEFAULT_CONFIG MS_SYSCONFDIR "/mptcpshim.conf"

#define MS_EXPORT __attribute__((visibility("default")))

struct ms_real ms_real;

static struct ms_config cfg;
/* socket() records candidates only when some bind() or connect() could
 * convert them. */
static bool track_on;
static bool connect_on;
static bool tolerate_on;
static atomic_bool ready;
static atomic_bool ctor_started;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void die_missing(const char *sym)
{
	struct ms_msg m;

	ms_msg_begin(&m, MS_LOG_ERROR);
	ms_msg_str(&m, "cannot find the real ");
	ms_msg_str(&m, sym);
	ms_msg_str(&m, "() in the libraries loaded after libmptcpshim");
	ms_msg_end(&m);
	abort();
}

static void *resolve(const char *sym, void *self)
{
	void *p = dlsym(RTLD_NEXT, sym);

	/* Finding ourselves again would recurse forever. */
	if (!p || p == self)
		die_missing(sym);
	return p;
}

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

static void on_fork_prepare(void)
{
	pthread_mutex_lock(&ms_lock);
}

static void on_fork_parent(void)
{
	pthread_mutex_unlock(&ms_lock);
}

static void ms_init(void)
{
	char err[MS_ERRLEN] = "";
	struct ms_env env;
	const char *path;
	bool ok, present;

	ms_real.socket = resolve("socket", (void *)socket);
	ms_real.bind = resolve("bind", (void *)bind);
	ms_real.setsockopt = resolve("setsockopt", (void *)setsockopt);
	ms_real.connect = resolve("connect", (void *)connect);
	ms_real.epoll_ctl = resolve("epoll_ctl", (void *)epoll_ctl);

	ms_config_init(&cfg);
	/* secure_getenv: a setuid program reads only the system file. */
	path = secure_getenv("MPTCPSHIM_CONFIG");
	ms_env_read(&env);
	ok = ms_config_read(&cfg, path ? path : MS_DEFAULT_CONFIG, path != NULL,
			    &env, &present, err);
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
	connect_on = !cfg.broken && ms_connect_may_match(&cfg.connect);
	track_on = !cfg.broken &&
		   (ms_portlist_may_match(&cfg.ports) || connect_on);
	/* tolerate only while the library is active: "none" everywhere
	 * leaves it inert */
	tolerate_on = track_on && cfg.tolerate.n > 0;
	pthread_atfork(on_fork_prepare, on_fork_parent, ms_track_atfork_child);

	if (ms_log_on(MS_LOG_DEBUG)) {
		struct ms_msg m;
		char list[256];

		if (!ms_portlist_format(&cfg.ports, list, sizeof(list)))
			strcpy(list, "(long list)");
		ms_msg_begin(&m, MS_LOG_DEBUG);
		ms_msg_str(&m, "loaded; ports=");
		ms_msg_str(&m, cfg.broken ? "none (configuration error)"
			       : cfg.ports.mode == MS_LIST_UNSET
				       ? "all (default)"
				       : list);
		if (!ms_portlist_format(&cfg.connect, list, sizeof(list)))
			strcpy(list, "(long list)");
		ms_msg_str(&m, " connect=");
		ms_msg_str(&m, cfg.broken || cfg.connect.mode == MS_LIST_UNSET
				       ? "none"
				       : list);
		if (!ms_optset_format(&cfg.tolerate, list, sizeof(list)))
			strcpy(list, "(long list)");
		ms_msg_str(&m, " tolerate=");
		ms_msg_str(&m, list);
		ms_msg_str(&m, cfg.strict ? " strict=1" : " strict=0");
		if (!atomic_load(&ctor_started))
			ms_msg_str(&m, "; initialised by an interposed call "
				       "before the library's constructor");
		ms_msg_end(&m);
	}
	atomic_store_explicit(&ready, true, memory_order_release);
}

static inline void ensure_init(void)
{
	if (MS_UNLIKELY(!atomic_load_explicit(&ready, memory_order_acquire))) {
		int saved = errno;

		pthread_once(&once, ms_init);
		errno = saved;
	}
}

__attribute__((constructor)) static void ms_ctor(void)
{
	atomic_store(&ctor_started, true);
	ensure_init();
}

/* ---- warnings once per address ---- */

enum once_kind {
	ONCE_BIND,	   /* a listener fallback or strict failure */
	ONCE_CONNECT,	   /* an outbound fallback or strict failure */
	ONCE_CONNECT_INFO, /* the first outbound conversion */
};

struct warned {
	uint8_t kind;
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
};
#define MS_WARNED_MAX 256
static struct warned warned[MS_WARNED_MAX];
static unsigned nwarned;
static bool warned_full;

/* True the first time an address is seen for this kind of message (or
 * when the memory is full). */
static bool first_time_for(enum once_kind kind, const struct sockaddr *sa)
{
	struct warned w = {.kind = (uint8_t)kind,
			   .family = (uint8_t)sa->sa_family};
	bool first = true;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		memcpy(w.addr, &sin->sin_addr, 4);
		w.port = sin->sin_port;
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		memcpy(w.addr, &sin6->sin6_addr, 16);
		w.port = sin6->sin6_port;
	}
	pthread_mutex_lock(&ms_lock);
	for (unsigned i = 0; i < nwarned; i++) {
		if (memcmp(&warned[i], &w, sizeof(w)) == 0) {
			first = false;
			break;
		}
	}
	if (first && nwarned < MS_WARNED_MAX) {
		warned[nwarned++] = w;
	} else if (first) {
		/* Full: say so once, then stay quiet rather than flood. */
		first = false;
		if (!warned_full) {
			struct ms_msg m;

			warned_full = true;
			ms_msg_begin(&m, MS_LOG_WARN);
			ms_msg_str(&m, "more than 256 addresses to report on; "
				       "further once-per-address messages are "
				       "not written");
			ms_msg_end(&m);
		}
	}
	pthread_mutex_unlock(&ms_lock);
	return first;
}

/* One line, once per address and kind: PRE ADDR POST REASON. */
static void report_once(enum ms_log_level l, enum once_kind kind,
			const struct sockaddr *sa, socklen_t len,
			const char *pre, const char *post,
			const struct ms_failure *f)
{
	struct ms_msg m;

	if (!ms_log_on(l) || !first_time_for(kind, sa))
		return;
	ms_msg_begin(&m, l);
	ms_msg_str(&m, pre);
	ms_msg_addr(&m, sa, len);
	ms_msg_str(&m, post);
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

/* bind() of a socket that socket() recorded as a candidate. */
static int bind_candidate(int fd, const struct sockaddr *sa, socklen_t len,
			  ms_slot v)
{
	struct ms_failure f = {0};
	int saved = errno;
	struct ms_msg m;
	int rc;

	/* A NULL or near-NULL address is left to the kernel (EFAULT). */
	if ((uintptr_t)sa < 4096 || len < (socklen_t)sizeof(sa_family_t) ||
	    (int)sa->sa_family != ms_slot_domain(v) ||
	    !ms_portlist_match(&cfg.ports, sa, len)) {
		rc = ms_real.bind(fd, sa, len);
		if (rc == 0) {
			ms_slot_free(v);
			if (ms_log_on(MS_LOG_DEBUG)) {
				ms_msg_begin(&m, MS_LOG_DEBUG);
				ms_msg_addr(&m, sa, len);
				ms_msg_str(&m, ": not listed, stays TCP");
				ms_msg_end(&m);
			}
		} else {
			/* Still unbound: a later bind() may be to a listed
			 * port. */
			saved = errno;
			ms_track_put_back(fd, v);
			errno = saved;
		}
		return rc;
	}

	if (ms_convert(fd, v, sa, len, &f)) {
		/* fd is now the MPTCP socket, already bound to sa */
		ms_slot_free(v);
		report_epoll_failure(sa, len, &f);
		if (ms_log_on(MS_LOG_INFO)) {
			ms_msg_begin(&m, MS_LOG_INFO);
			ms_msg_addr(&m, sa, len);
			ms_msg_str(&m, ": socket converted to MPTCP (fd ");
			ms_msg_uint(&m, (unsigned long)fd);
			ms_msg_str(&m, ")");
			ms_msg_end(&m);
		}
		errno = saved;
		return 0;
	}
	if (f.stage == MS_STAGE_BIND && cfg.strict) {
		/* strict: no TCP listener where MPTCP could not bind */
		ms_track_put_back(fd, v);
		errno = f.err;
		return -1;
	}
	if (f.stage == MS_STAGE_BIND) {
		/* The address is in use, not on this host, ...: the program's
		 * own TCP socket, untouched, gives it the real answer. */
		rc = ms_real.bind(fd, sa, len);
		if (rc != 0) {
			saved = errno;
			ms_track_put_back(fd, v); /* a retry may convert */
			errno = saved;
			return rc;
		}
		ms_slot_free(v);
		report_once(MS_LOG_WARN, ONCE_BIND, sa, len, "",
			    ": staying TCP: ", &f);
		errno = saved;
		return rc;
	}
	ms_slot_free(v);
	if (f.stage == MS_STAGE_NOTFRESH) {
		/* A stale record: this fd is not a socket we saw created. */
		errno = saved;
		return ms_real.bind(fd, sa, len);
	}
	if (cfg.strict) {
		report_once(MS_LOG_ERROR, ONCE_BIND, sa, len, "",
			    ": bind() fails (strict mode): ", &f);
		errno = f.err;
		return -1;
	}
	report_once(MS_LOG_WARN, ONCE_BIND, sa, len, "", ": staying TCP: ", &f);
	errno = saved;
	return ms_real.bind(fd, sa, len);
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

	return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 &&
	       proto == IPPROTO_MPTCP;
}

/* connect() of a candidate to a destination in the `connect` list. */
static int connect_candidate(int fd, const struct sockaddr *sa, socklen_t len,
			     ms_slot v)
{
	struct ms_failure f = {0};
	int saved = errno;
	struct ms_msg m;
	bool ok = ms_convert(fd, v, NULL, 0, &f);

	ms_slot_free(v);
	if (ok) {
		report_epoll_failure(sa, len, &f);
		enum ms_log_level l = first_time_for(ONCE_CONNECT_INFO, sa)
					      ? MS_LOG_INFO
					      : MS_LOG_DEBUG;

		if (ms_log_on(l)) {
			ms_msg_begin(&m, l);
			ms_msg_str(&m, "outbound connection to ");
			ms_msg_addr(&m, sa, len);
			ms_msg_str(&m, " uses MPTCP");
			if (l == MS_LOG_INFO)
				ms_msg_str(&m, " (said once per destination)");
			ms_msg_end(&m);
		}
	} else if (f.stage != MS_STAGE_NOTFRESH) {
		if (cfg.strict) {
			report_once(MS_LOG_ERROR, ONCE_CONNECT, sa, len, "",
				    ": connect() fails (strict mode): ", &f);
			errno = f.err;
			return -1;
		}
		report_once(MS_LOG_WARN, ONCE_CONNECT, sa, len,
			    "outbound connection to ", " stays TCP: ", &f);
	}
	errno = saved;
	return ms_real.connect(fd, sa, len);
}

/* ---- the exported functions ---- */

static inline bool is_candidate(int domain, int type, int protocol)
{
	return (domain == AF_INET || domain == AF_INET6) &&
	       (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == SOCK_STREAM &&
	       (protocol == 0 || protocol == IPPROTO_TCP);
}

MS_EXPORT int socket(int domain, int type, int protocol)
{
	int fd;

	ensure_init();
	fd = ms_real.socket(domain, type, protocol);
	if (fd >= 0 && track_on) {
		int saved = errno;

		if (is_candidate(domain, type, protocol))
			ms_track_socket(fd, domain);
		else
			ms_untrack(fd); /* in case of a stale slot */
		errno = saved;
	}
	return fd;
}

MS_EXPORT int setsockopt(int fd, int level, int name, const void *val,
			 socklen_t len)
{
	int before = errno, rc;

	ensure_init();
	rc = ms_real.setsockopt(fd, level, name, val, len);
	if (rc == 0) {
		if (track_on && ms_is_tracked(fd)) {
			ms_track_setsockopt(fd, level, name, val, len);
			errno = before;
		}
		return rc;
	}
	/* Only a failed call looks at `tolerate`: no cost on success. */
	if (MS_UNLIKELY(tolerate_on)) {
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

MS_EXPORT int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	ms_slot v;

	ensure_init();
	if (!track_on || !ms_is_tracked(fd))
		return ms_real.bind(fd, sa, len);
	v = ms_track_take(fd);
	if (v == 0)
		return ms_real.bind(fd, sa, len);
	return bind_candidate(fd, sa, len, v);
}

MS_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	int rc;

	ensure_init();
	rc = ms_real.epoll_ctl(epfd, op, fd, ev);
	if (rc == 0 && track_on && ms_is_tracked(fd)) {
		int saved = errno;

		ms_track_epoll(fd, epfd, op, ev);
		errno = saved;
	}
	return rc;
}

MS_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	ms_slot v;
	int saved;

	ensure_init();
	if (!track_on || !ms_is_tracked(fd))
		return ms_real.connect(fd, sa, len);
	/* An outbound socket: never a listener candidate again. */
	saved = errno;
	v = ms_track_take(fd);
	if (v != 0 && connect_on && sa &&
	    len >= (socklen_t)sizeof(sa_family_t) &&
	    (int)sa->sa_family == ms_slot_domain(v) &&
	    ms_connect_match(&cfg.connect, sa, len))
		return connect_candidate(fd, sa, len, v);
	ms_slot_free(v);
	errno = saved;
	return ms_real.connect(fd, sa, len);
}
