/* SPDX-License-Identifier: MIT */
/*
 * Turning an unbound TCP socket into an MPTCP socket on the same fd.
 *
 * The new socket is built completely on a spare fd (options replayed in the
 * order the program set them, file status flags copied) and only then put
 * in place with dup3(), which closes the TCP socket and keeps the fd's
 * close-on-exec state. Any failure before dup3() leaves the program's
 * socket exactly as it was.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Is fd still what socket() gave the program: a TCP socket, unbound and
 * unconnected? The table is exact for every call the library sees; this
 * asks the kernel too, for what it cannot see (a raw close system call,
 * listen() without bind()). An address bound with
 * IP_BIND_ADDRESS_NO_PORT counts as bound. */
bool ms_still_fresh(int fd, int domain)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(int);
	int proto = 0;

	if (ms_real.getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) !=
		    0 ||
	    proto != IPPROTO_TCP)
		return false;
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    ss.ss_family != domain)
		return false;
	/* listen() or connect() would have bound an ephemeral port. */
	if (domain == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&ss;

		return sin->sin_port == 0 && sin->sin_addr.s_addr == INADDR_ANY;
	}
	const struct sockaddr_in6 *sin6 = (const void *)&ss;

	return sin6->sin6_port == 0 &&
	       IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
}

static bool copy_owner(int from, int to)
{
	struct f_owner_ex owner;
	int sig;

	if (ms_real.fcntl(from, F_GETOWN_EX, &owner) != 0)
		return false;
	if (owner.pid != 0 && ms_real.fcntl(to, F_SETOWN_EX, &owner) != 0)
		return false;
	sig = ms_real.fcntl(from, F_GETSIG);
	if (sig < 0)
		return false;
	return sig == 0 || ms_real.fcntl(to, F_SETSIG, sig) == 0;
}

/* The new socket got the lowest free number, the one the program's
 * next open() or socket() in another thread would get: it moves out of
 * the way, to the lowest free number of the upper half of the fd limit
 * (at most 1024: the kernel's table grows to the highest number used),
 * so that during the conversion the program's fds are numbered as
 * without the library. Where nothing is free there (a program at its
 * limit), it stays: dup2() and dup3() wait meanwhile (ms_numbered_begin),
 * so no number the program uses is touched either way. */
static int move_up(int nfd)
{
	struct rlimit rl;
	rlim_t lo;
	int up;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return nfd;
	lo = rl.rlim_cur > 2048 ? 1024 : rl.rlim_cur / 2;
	if (lo <= (rlim_t)nfd)
		return nfd;
	up = ms_real.fcntl(nfd, F_DUPFD_CLOEXEC, (int)lo);
	if (up < 0)
		return nfd;
	ms_real.close(nfd);
	return up;
}

/* bind() of a TCP socket to an IPv6 address that is neither :: nor
 * v4-mapped sets IPV6_V6ONLY (inet6_bind()); on an MPTCP socket it sets it
 * on the first subflow only, and the socket answers 0. Set before bind(),
 * as the kernel would during it, the socket answers 1 like the TCP socket:
 * such an address never takes IPv4, so nothing else changes. A kernel
 * that refuses it leaves only the answer different. */
static void v6only_like_tcp(int nfd, const struct sockaddr *sa, socklen_t len)
{
	const struct sockaddr_in6 *sin6 = (const void *)sa;
	int one = 1;

	/* the kernel takes 24 bytes, without sin6_scope_id (RFC 2133) */
	if (sa->sa_family != AF_INET6 ||
	    len < offsetof(struct sockaddr_in6, sin6_scope_id) ||
	    IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr) ||
	    IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return;
	ms_real.setsockopt(nfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
}

static bool fail(struct ms_failure *f, enum ms_stage stage, int err)
{
	f->stage = stage;
	f->err = err;
	return false;
}

static bool convert(int fd, struct ms_rec *rec, const struct sockaddr *sa,
		    socklen_t len, struct ms_failure *f)
{
	struct ms_eplan plan;
	unsigned flags = atomic_load(&rec->flags);
	int fl, fdflags, nfd;
	struct stat st;

	/* Checked here, after ms_conversion_enter(): a fork() that marked
	 * the socket shared has finished by now. */
	if (rec->refs > 1 || (flags & MS_SHARED_MASK)) {
		f->shared = flags & MS_SHARED_MASK;
		return fail(f, MS_STAGE_SHARED, EOPNOTSUPP);
	}
	if (flags & MS_REC_HANDLER)
		return fail(f, MS_STAGE_HANDLER, EOPNOTSUPP);
	if (!ms_still_fresh(fd, rec->domain))
		return fail(f, MS_STAGE_NOTFRESH, EINVAL);
	if (rec->why != MS_COPY_OK) {
		f->level = rec->bad_level;
		f->name = rec->bad_name;
		f->why = rec->why;
		return fail(f, MS_STAGE_UNCOPY,
			    rec->why == MS_COPY_NOMEM ? ENOMEM : EOPNOTSUPP);
	}
	fl = ms_real.fcntl(fd, F_GETFL);
	fdflags = ms_real.fcntl(fd, F_GETFD);
	if (fl < 0 || fdflags < 0 || fstat(fd, &st) != 0)
		return fail(f, MS_STAGE_FLAGS, errno);

	nfd = ms_real.socket(rec->domain, SOCK_STREAM | SOCK_CLOEXEC,
			     IPPROTO_MPTCP);
	if (nfd < 0)
		return fail(f, MS_STAGE_CREATE, errno);
	nfd = move_up(nfd);
	for (unsigned i = 0; i < rec->nopts; i++) {
		const struct ms_optrec *o = &rec->opt[i];

		if (ms_real.setsockopt(nfd, o->level, o->name,
				       o->null ? NULL : rec->val + o->off,
				       o->len) != 0 &&
		    !ms_tolerated(o->level, o->name, errno)) {
			f->level = o->level;
			f->name = o->name;
			fail(f, MS_STAGE_OPTION, errno);
			ms_real.close(nfd);
			return false;
		}
	}
	/* O_NONBLOCK (nginx sets it with ioctl(FIONBIO)), O_ASYNC, ..., and
	 * who gets SIGIO/SIGURG, with which signal */
	if (ms_real.fcntl(nfd, F_SETFL, fl) != 0 || !copy_owner(fd, nfd)) {
		fail(f, MS_STAGE_FLAGS, errno);
		ms_real.close(nfd);
		return false;
	}
	if (sa)
		v6only_like_tcp(nfd, sa, len);
	if (sa && ms_real.bind(nfd, sa, len) != 0) {
		fail(f, MS_STAGE_BIND, errno);
		ms_real.close(nfd);
		return false;
	}
	/* Certain now: where are the socket's epoll registrations? */
	if (!ms_epoll_plan(fd, st.st_ino, rec, &plan, f)) {
		ms_real.close(nfd);
		return false;
	}
	if (ms_real.dup3(nfd, fd, (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		fail(f, MS_STAGE_REPLACE, errno);
		ms_real.close(nfd);
		return false;
	}
	ms_real.close(nfd);
	/* The TCP socket's epoll registrations went with it; make them again
	 * on the new socket, under the same fd number. This cannot be done
	 * before dup3() and a failure here cannot be undone: it is reported
	 * (ENOMEM or max_user_watches are the only causes). */
	ms_epoll_replay(fd, &plan, f);
	return true;
}

bool ms_convert(int fd, struct ms_rec *rec, const struct sockaddr *sa,
		socklen_t len, struct ms_failure *f)
{
	sigset_t all, old;
	int state;
	bool ok;

	/* No signal handler runs in this thread while the socket is half
	 * converted (it could find the fd in between), and no fork() copies
	 * the spare fd. close() is a cancellation point and bind() is not: a
	 * pending cancel must not stop bind() half-way either. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &state);
	ms_conversion_enter();
	ms_own_fds_begin();
	ok = convert(fd, rec, sa, len, f);
	ms_own_fds_end();
	ms_conversion_leave();
	pthread_setcancelstate(state, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ok;
}

void ms_msg_failure(struct ms_msg *m, const struct ms_failure *f)
{
	switch (f->stage) {
	case MS_STAGE_CREATE:
		ms_msg_str(m, ms_errno_means_no_mptcp(f->err)
				      ? "the kernel refused an MPTCP socket: "
				      : "no MPTCP socket could be created: ");
		ms_msg_errno(m, f->err);
		if (f->err == ENOPROTOOPT)
			ms_msg_str(m, "; is net.mptcp.enabled 0?");
		return;
	case MS_STAGE_OPTION:
		ms_msg_str(m, "the MPTCP socket refused ");
		ms_msg_opt(m, f->level, f->name);
		ms_msg_str(m, " that the program set: ");
		ms_msg_errno(m, f->err);
		return;
	case MS_STAGE_UNCOPY:
		if (f->err == ENOMEM && f->why != MS_COPY_POINTER) {
			ms_msg_str(m, "out of memory recording socket options");
			return;
		}
		if (f->why == MS_COPY_EPOLL) {
			ms_msg_str(m, "the fd is registered in more epoll sets "
				      "than can be copied");
			return;
		}
		ms_msg_opt(m, f->level, f->name);
		ms_msg_str(m, f->why == MS_COPY_POINTER
				      ? " refers to memory or an fd and cannot "
					"be copied to a new socket"
			      : f->why == MS_COPY_TOO_BIG
				      ? " has a value too large to copy"
				      : ": the program set too many options to "
					"copy");
		return;
	case MS_STAGE_FLAGS:
		ms_msg_str(m, "reading or copying the fd's flags failed: ");
		ms_msg_errno(m, f->err);
		return;
	case MS_STAGE_REPLACE:
		ms_msg_str(m, "dup3() onto the fd failed: ");
		ms_msg_errno(m, f->err);
		return;
	case MS_STAGE_NOTFRESH:
		ms_msg_str(m, "the fd is not an unbound TCP socket (any more)");
		return;
	case MS_STAGE_BIND:
		ms_msg_str(m, "bind() of the MPTCP socket failed where the TCP "
			      "socket's succeeded: ");
		ms_msg_errno(m, f->err);
		return;
	case MS_STAGE_SHARED:
		ms_msg_str(m,
			   f->shared & MS_SHARED_TABLE
				   ? "a thread split the fd table "
				     "(close_range() with "
				     "CLOSE_RANGE_UNSHARE): the fd of "
				     "another thread would not follow"
			   : f->shared & MS_SHARED_SENT
				   ? "the socket was sent to another process "
				     "(SCM_RIGHTS) before bind(), and its "
				     "copy there would not follow"
			   : f->shared & MS_SHARED_FORK
				   ? "a child process (fork, posix_spawn) "
				     "shares the socket, made before "
				     "bind(), and its copy would not follow"
				   : "another file descriptor of the "
				     "program (dup) refers to the socket "
				     "and would not follow");
		return;
	case MS_STAGE_HANDLER:
		ms_msg_str(m, "the library could not follow the socket (a "
			      "call from a signal handler that interrupted "
			      "the library, or a raw system call)");
		return;
	case MS_STAGE_BOUND:
		ms_msg_str(m, "the program bound the socket before connect() "
			      "(to an unlisted local address or port 0); "
			      "only unbound sockets are converted");
		return;
	case MS_STAGE_NOMEM:
		ms_msg_str(m, "out of memory for the library's record of the "
			      "socket");
		return;
	case MS_STAGE_EPREG:
		ms_msg_epreg(m, f);
		return;
	case MS_STAGE_EPOLL:
		ms_msg_str(m, "converted, but adding it to its epoll set again "
			      "failed: ");
		ms_msg_errno(m, f->err);
		return;
	}
}
