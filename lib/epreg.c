/* SPDX-License-Identifier: MIT */
/*
 * A candidate's epoll registrations, made again on the MPTCP socket that
 * replaces it (convert.c). The kernel keys a registration by its epoll
 * instance, the open file and the fd number it was made under; replacing
 * the file behind an fd number ends every registration of the old file.
 *
 * The record (fdtable.c) has each registration the program made through
 * the library: epoll fd, fd number, events, data. At conversion each is
 * looked for in the kernel, without changing it where possible:
 * kcmp(KCMP_EPOLL_TFD) says whether the epoll instance still has it,
 * /proc/self/fdinfo/EPFD gives its events (an EPOLLONESHOT entry that has
 * fired keeps only its flags) and, through /proc/self/fd, the epoll fd
 * that has it when the program moved or closed its own.
 *
 * Only a registration under the number being converted, in a state that
 * ADD can make again, is replayed. The kernel arms every registration ADD
 * makes (EPOLLERR and EPOLLHUP at least), and an unlistening socket
 * reports EPOLLHUP: a disarmed EPOLLONESHOT entry cannot be made again
 * disarmed. A registration under another number (a dup closed since, the
 * old number of a socket moved with dup2) would need the new socket on
 * that number for a moment, where another thread may see or reuse it. And
 * without /proc the events of an EPOLLONESHOT entry cannot be read. In
 * these cases the socket stays TCP, as the program made it (ms_epoll_plan
 * says why): a converted socket must report every event the TCP one would.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Bits of an entry's events that are not events: a disarmed
 * EPOLLONESHOT entry keeps these only (the kernel's EP_PRIVATE_BITS). */
#define EP_FLAG_BITS (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE)

/* Skips blanks, then the text lit; NULL if it is not there. Numbers are
 * read by hand (ms_parse_uint): this may run in a signal handler (a bind()
 * there, when it did not interrupt the library). */
static const char *skip_lit(const char *p, const char *lit)
{
	size_t n = strlen(lit);

	while (*p == ' ' || *p == '\t')
		p++;
	return strncmp(p, lit, n) == 0 ? p + n : NULL;
}

/* "tfd: FD events: EV data: DATA pos:P ino:INO ..." of an fdinfo line */
static bool parse_tfd(const char *line, int *tfd, unsigned *ev,
		      unsigned long long *data, unsigned long long *ino)
{
	unsigned long long t, e, pos;
	const char *p = line;

	if (!(p = skip_lit(p, "tfd:")) || !(p = ms_parse_uint(p, 10, &t)) ||
	    !(p = skip_lit(p, "events:")) || !(p = ms_parse_uint(p, 16, &e)) ||
	    !(p = skip_lit(p, "data:")) || !(p = ms_parse_uint(p, 16, data)) ||
	    !(p = skip_lit(p, "pos:")) || !(p = ms_parse_uint(p, 10, &pos)) ||
	    !(p = skip_lit(p, "ino:")) || !(p = ms_parse_uint(p, 16, ino)))
		return false;
	*tfd = (int)t;
	*ev = (unsigned)e;
	return true;
}

/* Does the epoll instance at epfd watch the file with inode ino under
 * the number fd, with this data? /proc/self/fdinfo/EPFD has a line
 * "tfd: FD events: EV data: DATA pos:P ino:INO sdev:D" per watched file;
 * *events gets EV. */
static bool fdinfo_find(int epfd, int fd, unsigned long ino, uint64_t data,
			uint32_t *events)
{
	char path[48] = "/proc/self/fdinfo/", buf[4096], *line, *nl;
	size_t have = 0;
	bool found = false;
	int pfd;

	ms_fmt_uint(path + strlen(path), (unsigned)epfd);
	pfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pfd < 0)
		return false;
	for (;;) {
		ssize_t n = read(pfd, buf + have, sizeof(buf) - 1 - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
			unsigned long long d, i;
			unsigned ev;
			int t;

			*nl = '\0';
			if (!found && parse_tfd(line, &t, &ev, &d, &i) &&
			    t == fd && i == ino && d == data) {
				*events = ev;
				found = true;
			}
		}
		have = (size_t)(buf + have - line);
		memmove(buf, line, have);
		if (have == sizeof(buf) - 1)
			have = 0; /* a line this long is not ours */
	}
	ms_real.close(pfd);
	return found;
}

/* The epoll fd that watches fd (ino) with this data, when the one the
 * program registered through was closed or moved (F_DUPFD, dup2): every
 * epoll fd of the process is asked. -1 if none, -2 without /proc. */
static int find_epoll(int fd, unsigned long ino, uint64_t data,
		      uint32_t *events)
{
	char buf[4096], target[64];
	int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int found = -1;
	long n;

	if (dir < 0)
		return -2;
	while (found < 0 &&
	       (n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n && found < 0;) {
			/* struct linux_dirent64 */
			unsigned short reclen;
			const char *d_name = buf + off + 19;
			unsigned long long v;
			int e;
			ssize_t l;

			memcpy(&reclen, buf + off + 16, sizeof(reclen));
			off += reclen;
			if (*d_name < '0' || *d_name > '9' ||
			    !ms_parse_uint(d_name, 10, &v) || v > INT_MAX)
				continue;
			e = (int)v;
			if (e == dir)
				continue;
			l = readlinkat(dir, d_name, target, sizeof(target) - 1);
			if (l <= 0)
				continue;
			target[l] = '\0';
			if (strcmp(target, "anon_inode:[eventpoll]") == 0 &&
			    fdinfo_find(e, fd, ino, data, events))
				found = e;
		}
	}
	ms_real.close(dir);
	return found;
}

/* Does the epoll instance at epfd have a registration of fd's file under
 * the number tfd? kcmp(KCMP_EPOLL_TFD) compares the file of the toff-th
 * registration under tfd (several files may have had that number) with
 * fd's, and changes nothing. 1 yes, 0 no, -1 unknown (no kcmp: a kernel
 * without CONFIG_KCMP, or a seccomp filter). */
static int kcmp_has(int fd, int epfd, int tfd)
{
	long pid = (long)getpid();

	for (unsigned toff = 0; toff < 64; toff++) {
		struct kcmp_epoll_slot slot = {(__u32)epfd, (__u32)tfd, toff};
		long rc = syscall(SYS_kcmp, pid, pid, KCMP_EPOLL_TFD,
				  (unsigned long)fd, (unsigned long)&slot);

		if (rc == 0)
			return 1;
		if (rc > 0)
			continue; /* another file under that number */
		/* ENOENT: no (more) registrations under tfd; EBADF: epfd
		 * closed; EINVAL: epfd is no epoll fd (every kernel with
		 * MPTCP knows KCMP_EPOLL_TFD) */
		return errno == ENOENT || errno == EBADF || errno == EINVAL
			       ? 0
			       : -1;
	}
	return -1;
}

enum ep_state {
	EP_GONE,     /* the epoll instance is closed: nothing to make */
	EP_HERE,     /* *epfd has it, with the recorded events */
	EP_DISARMED, /* an EPOLLONESHOT entry that fired, not re-armed */
	EP_UNKNOWN,  /* cannot be told without /proc */
};

/* Where is this recorded registration of fd (inode ino) now, and in which
 * state? The record is exact for the socket's calls, but the epoll fd
 * may have been closed or moved since. Plain entries are asked with kcmp;
 * without it, under the converted number, with EPOLL_CTL_MOD and the same
 * events (no change but a new look at readiness), which EPOLLEXCLUSIVE
 * entries refuse and which would re-arm an EPOLLONESHOT one. The rest is
 * read in /proc. */
static enum ep_state where(int fd, unsigned long ino, const struct ms_epreg *r,
			   int *epfd)
{
	bool oneshot = r->ev.events & EPOLLONESHOT;
	int k = kcmp_has(fd, r->epfd, r->fd);
	uint32_t events = 0;

	*epfd = r->epfd;
	if (k == 1 && !oneshot)
		return EP_HERE;
	if (k < 0 && r->fd == fd &&
	    !(r->ev.events & (EPOLLEXCLUSIVE | EPOLLONESHOT))) {
		struct epoll_event same = r->ev;

		if (ms_real.epoll_ctl(r->epfd, EPOLL_CTL_MOD, fd, &same) == 0)
			return EP_HERE;
	}
	if (!fdinfo_find(r->epfd, r->fd, ino, r->ev.data.u64, &events)) {
		int e = find_epoll(r->fd, ino, r->ev.data.u64, &events);

		if (e == -2 || (e < 0 && k == 1))
			return EP_UNKNOWN; /* no /proc; or data changed by
					      a raw system call */
		if (e < 0)
			return EP_GONE;
		*epfd = e;
	}
	return oneshot && !(events & ~(uint32_t)EP_FLAG_BITS) ? EP_DISARMED
							      : EP_HERE;
}

bool ms_epoll_plan(int fd, unsigned long ino, const struct ms_rec *rec,
		   struct ms_eplan *p, struct ms_failure *f)
{
	p->n = 0;
	for (unsigned i = 0; i < rec->nep; i++) {
		const struct ms_epreg *r = &rec->ep[i];
		enum ep_state s = where(fd, ino, r, &p->epfd[p->n]);

		if (s == EP_GONE)
			continue;
		if (s == EP_HERE && r->fd == fd) {
			p->ev[p->n++] = r->ev;
			continue;
		}
		f->stage = MS_STAGE_EPREG;
		f->err = EOPNOTSUPP;
		f->regfd = r->fd;
		f->ep = s == EP_DISARMED  ? MS_EP_DISARMED
			: s == EP_UNKNOWN ? MS_EP_UNKNOWN
					  : MS_EP_OTHER_FD;
		return false;
	}
	return true;
}

void ms_epoll_replay(int fd, const struct ms_eplan *p, struct ms_failure *f)
{
	for (unsigned i = 0; i < p->n; i++) {
		struct epoll_event ev = p->ev[i];

		if (ms_real.epoll_ctl(p->epfd[i], EPOLL_CTL_ADD, fd, &ev) !=
			    0 &&
		    errno != EEXIST) {
			f->stage = MS_STAGE_EPOLL;
			f->err = errno;
		}
	}
}

void ms_msg_epreg(struct ms_msg *m, const struct ms_failure *f)
{
	switch (f->ep) {
	case MS_EP_OTHER_FD:
		ms_msg_str(m, "the socket is in an epoll set under another fd "
			      "number (");
		ms_msg_uint(m, (unsigned long)f->regfd);
		ms_msg_str(m, ", a dup or its number before dup2), which a "
			      "new socket cannot take over");
		return;
	case MS_EP_DISARMED:
		ms_msg_str(m, "its EPOLLONESHOT registration fired and was "
			      "not re-armed; a new socket cannot be "
			      "registered disarmed");
		return;
	case MS_EP_UNKNOWN:
		ms_msg_str(m, "its epoll registration cannot be checked "
			      "without /proc (an EPOLLONESHOT or "
			      "EPOLLEXCLUSIVE one, or its epoll fd moved)");
		return;
	}
}
