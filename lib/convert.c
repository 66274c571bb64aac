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
#include <unistd.h>

/* Is fd still what socket() gave the program: a TCP socket, unbound and
 * unconnected? (The slot may be stale: close() is not interposed.) An
 * address bound with IP_BIND_ADDRESS_NO_PORT counts as bound. */
static bool still_fresh(int fd, int domain)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(int);
	int proto = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) != 0 ||
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

	if (fcntl(from, F_GETOWN_EX, &owner) != 0)
		return false;
	if (owner.pid != 0 && fcntl(to, F_SETOWN_EX, &owner) != 0)
		return false;
	sig = fcntl(from, F_GETSIG);
	if (sig < 0)
		return false;
	return sig == 0 || fcntl(to, F_SETSIG, sig) == 0;
}

/* Is this recorded registration really the current socket's? A record
 * can outlive its socket (close() is not interposed) and another socket
 * be put on the same number with dup2(): replaying a dead socket's epoll
 * data would hand the program a stale pointer. EPOLL_CTL_MOD with the
 * same events succeeds only if epfd watches the file now at fd. */
static bool registration_is_current(int fd, const struct ms_epreg *r)
{
	struct epoll_event ev = r->ev;

	if (ms_real.epoll_ctl(r->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		return true;
	/* EPOLLEXCLUSIVE registrations refuse MOD (EINVAL): they cannot be
	 * checked this way; keep them rather than lose the program's. */
	return errno == EINVAL && (r->ev.events & EPOLLEXCLUSIVE);
}

static bool fail(struct ms_failure *f, enum ms_stage stage, int err)
{
	f->stage = stage;
	f->err = err;
	return false;
}

static bool convert(int fd, ms_slot v, const struct sockaddr *sa, socklen_t len,
		    struct ms_failure *f)
{
	const struct ms_fdrec *rec =
		v > MS_SLOT_MAXTAG ? (const struct ms_fdrec *)v : NULL;
	int domain = ms_slot_domain(v);
	bool current[MS_MAX_EPOLL] = {false};
	int fl, fdflags, nfd;

	/* First: is the record about this socket at all? */
	if (!still_fresh(fd, domain))
		return fail(f, MS_STAGE_NOTFRESH, EINVAL);
	if (v == MS_SLOT_NOMEM)
		return fail(f, MS_STAGE_UNCOPY, ENOMEM);
	if (rec && rec->why != MS_COPY_OK) {
		f->level = rec->bad_level;
		f->name = rec->bad_name;
		f->why = rec->why;
		return fail(f, MS_STAGE_UNCOPY,
			    rec->why == MS_COPY_NOMEM ? ENOMEM : EOPNOTSUPP);
	}
	fl = fcntl(fd, F_GETFL);
	fdflags = fcntl(fd, F_GETFD);
	if (fl < 0 || fdflags < 0)
		return fail(f, MS_STAGE_FLAGS, errno);

	nfd = ms_real.socket(domain, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP);
	if (nfd < 0)
		return fail(f, MS_STAGE_CREATE, errno);
	for (const struct ms_opt *o = rec ? rec->head : NULL; o; o = o->next) {
		if (ms_real.setsockopt(nfd, o->level, o->name, o->val,
				       o->len) != 0 &&
		    !ms_tolerated(o->level, o->name, errno)) {
			f->level = o->level;
			f->name = o->name;
			fail(f, MS_STAGE_OPTION, errno);
			close(nfd);
			return false;
		}
	}
	/* O_NONBLOCK (nginx sets it with ioctl(FIONBIO)), O_ASYNC, ..., and
	 * who gets SIGIO/SIGURG, with which signal */
	if (fcntl(nfd, F_SETFL, fl) != 0 || !copy_owner(fd, nfd)) {
		fail(f, MS_STAGE_FLAGS, errno);
		close(nfd);
		return false;
	}
	for (unsigned i = 0; rec && i < rec->nep; i++)
		current[i] = registration_is_current(fd, &rec->ep[i]);
	if (sa && ms_real.bind(nfd, sa, len) != 0) {
		fail(f, MS_STAGE_BIND, errno);
		close(nfd);
		return false;
	}
	if (dup3(nfd, fd, (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		fail(f, MS_STAGE_REPLACE, errno);
		close(nfd);
		return false;
	}
	close(nfd);
	/* The TCP socket's epoll registrations went with it; make them again
	 * on the new socket, under the same fd number. This cannot be done
	 * before dup3() and a failure here cannot be undone: it is reported
	 * (ENOMEM or max_user_watches are the only causes). */
	for (unsigned i = 0; rec && i < rec->nep; i++) {
		struct epoll_event ev = rec->ep[i].ev;

		if (!current[i])
			continue;
		if (ms_real.epoll_ctl(rec->ep[i].epfd, EPOLL_CTL_ADD, fd,
				      &ev) != 0 &&
		    errno != EEXIST) {
			f->stage = MS_STAGE_EPOLL;
			f->err = errno;
		}
	}
	return true;
}

bool ms_convert(int fd, ms_slot v, const struct sockaddr *sa, socklen_t len,
		struct ms_failure *f)
{
	int state;
	bool ok;

	/* close() is a cancellation point and bind() is not: a pending
	 * cancel must not stop bind() half-way and leak the spare fd. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &state);
	ok = convert(fd, v, sa, len, f);
	pthread_setcancelstate(state, NULL);
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
		ms_msg_str(m, "the fd is no longer an unbound TCP socket");
		return;
	case MS_STAGE_BIND:
		ms_msg_str(m, "bind() of the MPTCP socket failed where the TCP "
			      "socket's succeeded: ");
		ms_msg_errno(m, f->err);
		return;
	case MS_STAGE_EPOLL:
		ms_msg_str(m, "converted, but adding it to its epoll set again "
			      "failed: ");
		ms_msg_errno(m, f->err);
		return;
	}
}
