/* SPDX-License-Identifier: MIT */
/*
 * One call of a sequence, made as a program would make it (through libc,
 * so through the library when it is preloaded), and its result line:
 * "I NAME = RET ERRNO". errno is set to EDOM before each call, so a call
 * that changes errno on success shows. Children (fork family, probes)
 * add lines of their own.
 */
#include "exec.h"
#include "out.h"

#include "kcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define SENTINEL EDOM

const char *self_path;
static unsigned char *page;   /* read-write, followed by... */
static unsigned char *noread; /* ...a PROT_NONE page */
static long pagesz;

/* What the SIGUSR1 handler does, and what it got. */
static volatile sig_atomic_t sig_act, sig_b, sig_c, sig_d;
static volatile sig_atomic_t sig_ret, sig_errno;

static char probe_opt[] = "--probe";
static char *probe_argv[] = {NULL, probe_opt, NULL};

static int do_act(int act, int b, int c, int d)
{
	struct sockaddr_storage ss;
	socklen_t len;

	switch (act) {
	case ACT_CLOSE:
		return close(b);
	case ACT_BIND:
		len = make_addr(c, d, &ss);
		return bind(b, (struct sockaddr *)&ss, len);
	case ACT_LISTEN:
		return listen(b, 16);
	case ACT_DUP2:
		return dup2(b, c);
	case ACT_SOCKET:
		close(b);
		return socket(AF_INET, SOCK_STREAM, 0);
	case ACT_EXEC:
		return execve(self_path, probe_argv, environ);
	default:
		return 0;
	}
}

static void on_usr1(int sig)
{
	int e = errno;

	(void)sig;
	errno = SENTINEL;
	sig_ret = do_act(sig_act, sig_b, sig_c, sig_d);
	sig_errno = errno;
	errno = e;
}

static void on_usr2(int sig)
{
	(void)sig;
	execve(self_path, probe_argv, environ);
	_exit(3);
}

int calls_init(void)
{
	struct sigaction sa = {.sa_handler = on_usr1};

	pagesz = sysconf(_SC_PAGESIZE);
	page = mmap(NULL, (size_t)pagesz * 2, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return -1;
	noread = page + pagesz;
	if (mprotect(noread, (size_t)pagesz, PROT_NONE) != 0)
		return -1;
	probe_argv[0] = (char *)self_path;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR1, &sa, NULL);
}

static const char *status_text(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "signal %d", WTERMSIG(st));
	else
		snprintf(buf, len, "status %#x", st);
	return buf;
}

static void report_child(int i, const char *name, pid_t pid)
{
	char buf[32];
	int st = 0;

	if (pid < 0) {
		out("%d %s = -1 %s", i, name, errno_name(errno));
		return;
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	out("%d %s child %s", i, name, status_text(st, buf, sizeof(buf)));
}

static void forked_child(int i, const struct op *o)
{
	int r;

	errno = SENTINEL;
	r = do_act(o->a, o->b, o->c, o->d);
	out("%d child %s = %d %s", i, act_names[IDX(o->a, ACT_NKINDS)], r,
	    errno_name(errno));
	_exit(0);
}

static void call_fork(int i, const struct op *o)
{
	pid_t pid = o->kind == OP_FORK ? fork() : _Fork();

	if (pid == 0)
		forked_child(i, o);
	report_child(i, kinds[o->kind].name, pid);
}

static void call_vfork(int i, const struct op *o)
{
	static volatile int vret, verrno;
	pid_t pid;

	vret = 0;
	verrno = 0;
	pid = vfork();
	if (pid == 0) {
		errno = SENTINEL;
		vret = do_act(o->a, o->b, o->c, o->d);
		verrno = errno;
		if (o->e == 0)
			execve(self_path, probe_argv, environ);
		_exit(0);
	}
	report_child(i, "vfork", pid);
	if (pid > 0)
		out("%d vfork child %s = %d %s", i,
		    act_names[IDX(o->a, ACT_NKINDS)], vret, errno_name(verrno));
}

static void call_spawn(int i, const struct op *o)
{
	posix_spawn_file_actions_t fa;
	pid_t pid = -1;
	int r, e;

	posix_spawn_file_actions_init(&fa);
	if (o->a)
		posix_spawn_file_actions_adddup2(&fa, o->b, o->c);
	errno = SENTINEL;
	r = posix_spawn(&pid, self_path, o->a ? &fa : NULL, NULL, probe_argv,
			environ);
	e = errno;
	posix_spawn_file_actions_destroy(&fa);
	/* the child reports first: wait for it before writing */
	if (r == 0)
		report_child(i, "posix_spawn", pid);
	out("%d posix_spawn = %d %s", i, r, errno_name(e));
}

/* system(), or popen() and pclose() (a: 1): a shell that executes the
 * probe. */
static void call_system(int i, const struct op *o)
{
	char cmd[4200];
	FILE *p;
	int r;

	snprintf(cmd, sizeof(cmd), "exec '%s' --probe system", self_path);
	errno = SENTINEL;
	if (!o->a) {
		r = system(cmd);
		out("%d system = %#x %s", i, r, errno_name(errno));
		return;
	}
	p = popen(cmd, "r");
	if (!p) {
		out("%d popen = NULL %s", i, errno_name(errno));
		return;
	}
	r = pclose(p);
	out("%d popen, pclose = %#x %s", i, r, errno_name(errno));
}

static void call_altexec(int i, const struct op *o)
{
	pid_t pid = fork();

	if (pid == 0) {
		size_t size = (size_t)(o->a < 4 ? 4 : o->a) * 1024;
#ifdef __SANITIZE_ADDRESS__
		/* ASan's frames are several times larger (redzones): the
		 * library's exec path with converted listeners open needs
		 * 8-12 KiB there. Issue 21 case 9's sizes are the plain
		 * build's; here both runs get four times as much. */
		size *= 4;
#endif
		stack_t st = {.ss_sp = malloc(size), .ss_size = size};
		struct sigaction sa = {.sa_handler = on_usr2,
				       .sa_flags = SA_ONSTACK};

		sigemptyset(&sa.sa_mask);
		if (!st.ss_sp || sigaltstack(&st, NULL) != 0 ||
		    sigaction(SIGUSR2, &sa, NULL) != 0)
			_exit(2);
		raise(SIGUSR2);
		_exit(4);
	}
	report_child(i, "altstack_exec", pid);
}

static void call_sendfd(int i, const struct op *o)
{
	char byte = 'x';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = u.buf,
			   .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c;
	int r, got = -1;

	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &o->b, sizeof(int));
	errno = SENTINEL;
	if (o->d) {
		struct mmsghdr mm = {.msg_hdr = m};

		r = sendmmsg(o->a, &mm, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		r = r == 1 ? (int)mm.msg_len : r;
	} else {
		r = (int)sendmsg(o->a, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	out("%d %s = %d %s", i, o->d ? "sendmmsg" : "sendmsg", r,
	    errno_name(errno));
	if (r < 0)
		return;
	memset(&u, 0, sizeof(u));
	m.msg_controllen = sizeof(u.buf);
	r = (int)recvmsg(o->c, &m,
			 MSG_DONTWAIT | (o->e ? MSG_CMSG_CLOEXEC : 0));
	c = r > 0 ? CMSG_FIRSTHDR(&m) : NULL;
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(&got, CMSG_DATA(c), sizeof(int));
	out("%d recvmsg = %d fd %d", i, r, got);
}

static void call_setsockopt(int i, const struct op *o)
{
	unsigned char val[64];
	socklen_t len = opt_value(o, val);
	const struct opt_info *oi = &opts[IDX(o->b, n_opts)];
	void *p = NULL;
	int r;

	if (len > 64)
		len = 64;
	if (o->e == PTR_GOOD) {
		p = page + pagesz - (len ? len : 1);
		memcpy(p, val, len);
	} else if (o->e == PTR_NONE) {
		p = noread;
	}
	errno = SENTINEL;
	r = setsockopt(o->a, oi->level, oi->optname, p, len);
	out("%d setsockopt fd %d %s = %d %s", i, o->a, oi->name, r,
	    errno_name(errno));
	/* the protocol then: an option MPTCP refuses may fail after a
	 * conversion (compare.c) */
	out("K setsockopt fd %d kproto %d", o->a, k_protocol(o->a));
}

void call_op(int i, const struct op *o)
{
	struct sockaddr_storage ss;
	const char *name = kinds[o->kind].name;
	socklen_t len;
	int r = 0, sv[2] = {-1, -1};
	struct epoll_event ev;

	errno = SENTINEL;
	switch (o->kind) {
	case OP_SOCKET:
		r = socket(o->a, o->b, o->c);
		break;
	case OP_SETSOCKOPT:
		call_setsockopt(i, o);
		return;
	case OP_BIND:
		len = make_addr(o->b, o->c, &ss);
		r = bind(o->a, (struct sockaddr *)&ss, len);
		break;
	case OP_LISTEN:
		r = listen(o->a, o->b);
		break;
	case OP_CONNECT:
		len = make_addr(o->b, o->c, &ss);
		state_connected(o->a);
		r = connect(o->a, (struct sockaddr *)&ss, len);
		break;
	case OP_DUP:
		r = dup(o->a);
		break;
	case OP_DUP2:
		r = dup2(o->a, o->b);
		break;
	case OP_DUP3:
		r = dup3(o->a, o->b, o->c);
		break;
	case OP_FCNTL_DUPFD:
		r = fcntl(o->a, o->c ? F_DUPFD_CLOEXEC : F_DUPFD, o->b);
		break;
	case OP_FCNTL_SETFL:
		r = fcntl(o->a, F_SETFL, o->b ? O_NONBLOCK : 0);
		break;
	case OP_FCNTL_SETFD:
		r = fcntl(o->a, F_SETFD, o->b ? FD_CLOEXEC : 0);
		break;
	case OP_CLOSE:
		r = close(o->a);
		break;
	case OP_CLOSE_RANGE:
		r = close_range((unsigned)o->a, (unsigned)o->b, o->c);
		if (r == 0 && (o->c & CLOSE_RANGE_UNSHARE))
			state_unshared();
		break;
	case OP_CLOSEFROM:
		closefrom(o->a);
		break;
	case OP_EPOLL_CREATE:
		r = epoll_create1(o->a ? EPOLL_CLOEXEC : 0);
		break;
	case OP_EPOLL_CTL:
		memset(&ev, 0, sizeof(ev));
		ev.events = (uint32_t)o->d;
		ev.data.fd = o->c;
		r = epoll_ctl(o->a, o->b, o->c, &ev);
		break;
	case OP_SOCKETPAIR:
		r = socketpair(AF_UNIX, o->a, 0, sv);
		out("%d socketpair = %d %s %d %d", i, r, errno_name(errno),
		    sv[0], sv[1]);
		return;
	case OP_SENDFD:
		call_sendfd(i, o);
		return;
	case OP_FORK:
	case OP_RAWFORK:
		call_fork(i, o);
		return;
	case OP_VFORK:
		call_vfork(i, o);
		return;
	case OP_SPAWN:
		call_spawn(i, o);
		return;
	case OP_SYSTEM:
		call_system(i, o);
		return;
	case OP_SIGNAL:
		sig_act = IDX(o->a, ACT_NKINDS) == ACT_EXEC ? ACT_NONE : o->a;
		sig_b = o->b;
		sig_c = o->c;
		sig_d = o->d;
		r = raise(SIGUSR1);
		out("%d signal = %d handler %s = %d %s", i, r,
		    act_names[IDX(sig_act, ACT_NKINDS)], (int)sig_ret,
		    errno_name(sig_errno));
		return;
	case OP_ALTEXEC:
		call_altexec(i, o);
		return;
	case OP_EPOLL_WAIT: {
		struct epoll_event evs[8];
		char line[200];
		size_t at = 0;

		r = epoll_wait(o->a, evs, 8, 0);
		line[0] = 0;
		for (int k = 0; k < r && at < sizeof(line); k++)
			at += (size_t)snprintf(line + at, sizeof(line) - at,
					       " fd %d events %#x",
					       evs[k].data.fd, evs[k].events);
		out("%d epoll_wait = %d %s%s", i, r, errno_name(errno), line);
		return;
	}
	}
	out("%d %s = %d %s", i, name, r, errno_name(errno));
}
