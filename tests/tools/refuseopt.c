/* SPDX-License-Identifier: MIT */
/*
 * refuseopt: runs a command as if the kernel's MPTCP sockets refused some
 * TCP options, the way kernels 5.6 to 5.16 refuse TCP_NODELAY and
 * TCP_CORK (no such kernel with MPTCP can be downloaded from the archive
 * the project reaches: Debian 11's 5.10 is built without MPTCP).
 *
 *   refuseopt [--seconds S] [--detach PIDFILE] OPTION[,OPTION...] -- CMD
 * [ARGS...] OPTION: TCP_NODELAY, TCP_CORK, TCP_QUICKACK (by name)
 *       --detach: once CMD has exited (a daemon such as nginx forks and
 *       its first process exits), exit with CMD's status and leave the
 *       supervisor running in the background, its pid in PIDFILE
 *
 * How: CMD runs under a seccomp filter that hands every
 * setsockopt(fd, IPPROTO_TCP, OPTION, ...) to this process (seccomp user
 * notification, SECCOMP_RET_USER_NOTIF); the filter is inherited by every
 * process CMD forks (nginx's master and workers). A plain seccomp filter
 * cannot tell an MPTCP socket from a TCP one; this supervisor can: it
 * takes a copy of the caller's fd with pidfd_getfd() and reads its
 * SO_PROTOCOL. On an MPTCP socket (262) it answers -1/ENOPROTOOPT, the
 * error those kernels give, and the option is not set; on any other
 * socket it lets the real call run (SECCOMP_USER_NOTIF_FLAG_CONTINUE).
 *
 * What it simulates: the errno a pre-5.17 kernel's setsockopt() returns
 * for these options on MPTCP sockets, for every process of CMD, through
 * the real system call path (libc, the preloaded library, the program).
 * What it does not: everything else those kernels did differently
 * (other refused options, SO_KEEPALIVE before 5.13, no MPTCP_INFO before
 * 5.16, subflow behaviour); getsockopt() of the option still answers
 * what this kernel has (the default). The supervisor runs until every
 * process under the filter is gone, at most S seconds (default 120);
 * then the filtered processes' setsockopt() calls fail with ENOSYS.
 *
 * Prints "refuseopt: refused N, passed M" on exit (to stderr). Exit
 * status: CMD's, 1 on a setup failure, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kcheck.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#define MAX_OPTS 4

static const struct {
	const char *name;
	int opt;
} known[] = {
	{"TCP_NODELAY", TCP_NODELAY},
	{"TCP_CORK", TCP_CORK},
	{"TCP_QUICKACK", TCP_QUICKACK},
};

static int usage(void)
{
	fprintf(stderr, "usage: refuseopt [--seconds S] OPTION[,OPTION...] "
			"-- CMD [ARGS...]\n");
	return 2;
}

static int parse_opts(char *list, int *opts)
{
	int n = 0;

	for (char *t = strtok(list, ","); t; t = strtok(NULL, ",")) {
		size_t i;

		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(t, known[i].name) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0]) || n == MAX_OPTS) {
			fprintf(stderr, "refuseopt: unknown option %s\n", t);
			return -1;
		}
		opts[n++] = known[i].opt;
	}
	return n;
}

/* setsockopt(_, IPPROTO_TCP, one of opts) -> USER_NOTIF; all else ALLOW. */
static int install_filter(const int *opts, int n)
{
	struct sock_filter f[8 + 2 * MAX_OPTS];
	struct sock_fprog prog;
	int k = 0;

#define LD(off)	  (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define RET(v)	  (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, (v))
	f[k++] = LD(offsetof(struct seccomp_data, arch));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      AUDIT_ARCH_X86_64, 1, 0);
	f[k++] = RET(SECCOMP_RET_ALLOW);
	f[k++] = LD(offsetof(struct seccomp_data, nr));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      SYS_setsockopt, 1, 0);
	f[k++] = RET(SECCOMP_RET_ALLOW);
	f[k++] = LD(ARG_LO(1)); /* level (low 32 bits: an int) */
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      IPPROTO_TCP, 1, 0);
	f[k++] = RET(SECCOMP_RET_ALLOW);
	f[k++] = LD(ARG_LO(2)); /* optname */
	for (int i = 0; i < n; i++) {
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						      (unsigned)opts[i], 0, 1);
		f[k++] = RET(SECCOMP_RET_USER_NOTIF);
	}
	f[k++] = RET(SECCOMP_RET_ALLOW);
#undef LD
#undef ARG_LO
#undef RET
	prog.len = (unsigned short)k;
	prog.filter = f;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			    SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
}

/* One byte and one fd (SCM_RIGHTS) over a unix socket. */
struct fdmsg {
	char byte;
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m;
};

static void fdmsg_init(struct fdmsg *f)
{
	memset(f, 0, sizeof(*f));
	f->byte = 'f';
	f->iov.iov_base = &f->byte;
	f->iov.iov_len = 1;
	f->m.msg_iov = &f->iov;
	f->m.msg_iovlen = 1;
	f->m.msg_control = f->u.buf;
	f->m.msg_controllen = sizeof(f->u.buf);
}

static int send_fd(int sock, int fd)
{
	struct fdmsg f;
	struct cmsghdr *c;

	fdmsg_init(&f);
	c = CMSG_FIRSTHDR(&f.m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &f.m, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	struct fdmsg f;
	struct cmsghdr *c;
	int fd;

	fdmsg_init(&f);
	if (recvmsg(sock, &f.m, 0) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&f.m);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* SO_PROTOCOL of fd in process pid, or -1 (gone, not a socket). */
static int protocol_in(pid_t pid, int fd)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0), copy, v;

	if (pfd < 0)
		return -1;
	copy = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
	close(pfd);
	if (copy < 0)
		return -1;
	v = k_protocol(copy); /* raw: this process may run the library */
	close(copy);
	return v;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int opts[MAX_OPTS], n, sv[2], nfd, first = 1, status = 0;
	unsigned long refused = 0, passed = 0;
	double seconds = 120, end;
	const char *pidfile = NULL;
	pid_t child;

	while (argc > first + 1 && (strcmp(argv[first], "--seconds") == 0 ||
				    strcmp(argv[first], "--detach") == 0)) {
		if (strcmp(argv[first], "--seconds") == 0)
			seconds = atof(argv[first + 1]);
		else
			pidfile = argv[first + 1];
		first += 2;
	}
	if (argc - first < 3 || strcmp(argv[first + 1], "--") != 0)
		return usage();
	n = parse_opts(argv[first], opts);
	if (n <= 0)
		return usage();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		perror("refuseopt: socketpair");
		return 1;
	}
	child = fork();
	if (child < 0) {
		perror("refuseopt: fork");
		return 1;
	}
	if (child == 0) {
		int lfd = install_filter(opts, n);

		if (lfd < 0 || send_fd(sv[1], lfd) != 0) {
			perror("refuseopt: seccomp");
			_exit(1);
		}
		close(lfd);
		close(sv[0]);
		close(sv[1]);
		execvp(argv[first + 2], argv + first + 2);
		fprintf(stderr, "refuseopt: %s: %s\n", argv[first + 2],
			strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	nfd = recv_fd(sv[0]);
	close(sv[0]);
	if (nfd < 0) {
		fprintf(stderr, "refuseopt: no seccomp listener from the "
				"child\n");
		waitpid(child, NULL, 0);
		return 1;
	}
	end = now() + seconds;
	if (pidfile) {
		pid_t sup;
		FILE *f;

		if (waitpid(child, &status, 0) != child)
			return 1;
		sup = fork();
		if (sup < 0)
			return 1;
		if (sup > 0) {
			f = fopen(pidfile, "w");
			if (!f || fprintf(f, "%d\n", (int)sup) < 0 || fclose(f))
				return 1;
			close(nfd);
			return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
		}
		child = 0;
		setsid();
		/* leave the caller's pipes (bats waits for them to close) */
		if (freopen("/dev/null", "r", stdin) == NULL ||
		    freopen("/dev/null", "w", stdout) == NULL)
			_exit(1);
	}
	for (;;) {
		struct seccomp_notif req;
		struct seccomp_notif_resp resp;
		struct pollfd p = {.fd = nfd, .events = POLLIN};
		int r, proto;
		pid_t w;

		if (child > 0) {
			w = waitpid(child, &status, WNOHANG);
			if (w == child)
				child = 0;
		}
		if (now() > end) {
			fprintf(stderr, "refuseopt: %.0f s are up; stopping\n",
				seconds);
			break;
		}
		r = poll(&p, 1, 200);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (p.revents & (POLLHUP | POLLERR)))
			break; /* every filtered process is gone */
		if (r == 0)
			continue;
		memset(&req, 0, sizeof(req));
		if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
			if (errno == EINTR || errno == ENOENT)
				continue;
			perror("refuseopt: NOTIF_RECV");
			break;
		}
		proto = protocol_in((pid_t)req.pid, (int)req.data.args[0]);
		memset(&resp, 0, sizeof(resp));
		resp.id = req.id;
		/* the caller may have died or reused the fd meanwhile: the
		 * id check makes sure the answer goes to the same call */
		if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) != 0)
			continue;
		if (proto == IPPROTO_MPTCP) {
			resp.error = -ENOPROTOOPT;
			refused++;
		} else {
			resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
			passed++;
		}
		if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0 &&
		    errno != ENOENT)
			perror("refuseopt: NOTIF_SEND");
	}
	close(nfd);
	fprintf(stderr, "refuseopt: refused %lu, passed %lu\n", refused,
		passed);
	if (pidfile)
		_exit(0);
	if (child > 0 && waitpid(child, &status, 0) != child)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
