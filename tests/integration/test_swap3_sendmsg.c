/* SPDX-License-Identifier: MIT */
/*
 * Issue 21 case 8: sendmsg() and sendmmsg() with control data add no
 * system call on an fd the library does not track (every QUIC datagram
 * carries IP_PKTINFO or UDP_SEGMENT); they asked getsockopt(SO_DOMAIN)
 * for each. Only an SCM_RIGHTS message that passes a candidate may cost
 * one.
 *
 * The system calls are counted in a child under a seccomp filter that
 * lets sendmsg, sendmmsg and what a sanitizer's allocator may do through
 * and traps every other one (SIGSYS, counted; the call is not made and
 * fails with ENOSYS). Runs with the swap suite's settings.
 */
#include "swap.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <ucontext.h>

#if defined(__x86_64__)
#define ARCH	      AUDIT_ARCH_X86_64
#define SET_RC(uc, v) ((uc)->uc_mcontext.gregs[REG_RAX] = (v))
#elif defined(__aarch64__)
#define ARCH	      AUDIT_ARCH_AARCH64
#define SET_RC(uc, v) ((uc)->uc_mcontext.regs[0] = (unsigned long)(v))
#endif

#ifdef ARCH
static volatile sig_atomic_t trapped;

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	(void)sig, (void)si;
	trapped++;
	SET_RC((ucontext_t *)ctx, -ENOSYS);
}

#define ALLOW(nr)                                                              \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),                       \
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

/* From now on, every system call but these traps. */
static bool count_syscalls(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		ALLOW(SYS_sendmsg),
		ALLOW(SYS_sendmmsg),
		ALLOW(SYS_rt_sigreturn),
		ALLOW(SYS_exit_group),
		ALLOW(SYS_write),
		ALLOW(SYS_mmap),
		ALLOW(SYS_munmap),
		ALLOW(SYS_madvise),
		ALLOW(SYS_futex),
		ALLOW(SYS_sigaltstack), /* ASan's signal handling */
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	struct sigaction sa = {.sa_sigaction = on_sigsys,
			       .sa_flags = SA_SIGINFO};

	if (sigaction(SIGSYS, &sa, NULL) != 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		return false;
	return true;
}

/* What the child sends: n messages with control data on sock, in the way
 * `how` says; the result line it writes to out. */
enum how { PKTINFO_SENDMSG, PKTINFO_SENDMMSG, RIGHTS_UNTRACKED, PROBE };

static void child(int out, int sock, int passfd, enum how how, int n)
{
	char byte = 'x', ctl[CMSG_SPACE(sizeof(struct in_pktinfo))] = {0};
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct mmsghdr mm = {.msg_hdr = {.msg_iov = &iov,
					 .msg_iovlen = 1,
					 .msg_control = ctl,
					 .msg_controllen = sizeof(ctl)}};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mm.msg_hdr);
	int ok = 0, v = 0;
	socklen_t vl = sizeof(v);
	char line[64];

	if (how == RIGHTS_UNTRACKED) {
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &passfd, sizeof(int));
		mm.msg_hdr.msg_controllen = CMSG_SPACE(sizeof(int));
	} else {
		struct in_pktinfo pi = {0};

		pi.ipi_spec_dst.s_addr = htonl(INADDR_LOOPBACK);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
	if (!count_syscalls())
		_exit(77);
	for (int i = 0; i < n; i++) {
		if (how == PROBE)
			ok += getsockopt(sock, SOL_SOCKET, SO_TYPE, &v, &vl) ==
			      0;
		else if (how == PKTINFO_SENDMMSG)
			ok += sendmmsg(sock, &mm, 1, 0) == 1;
		else
			ok += sendmsg(sock, &mm.msg_hdr, 0) == 1;
	}
	/* by hand: snprintf() may make system calls of its own */
	memset(line, 0, sizeof(line));
	for (int i = 0, x = trapped; i < 8; i++, x /= 10)
		line[7 - i] = (char)('0' + x % 10);
	line[8] = ' ';
	for (int i = 0, x = ok; i < 8; i++, x /= 10)
		line[16 - i] = (char)('0' + x % 10);
	(void)!write(out, line, 17);
	_exit(0);
}

/* Runs child(); the calls trapped and the messages sent. */
static void run(int sock, int passfd, enum how how, int n, int *traps,
		int *sent)
{
	int p[2], status;
	char line[32] = {0};
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		child(p[1], sock, passfd, how, n);
	}
	close(p[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		close(p[0]);
		printf("# seccomp filters are not available here (prctl "
		       "failed): the system calls cannot be counted\n");
		skip();
	}
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(read(p[0], line, sizeof(line) - 1), 17);
	close(p[0]);
	line[8] = '\0';
	*traps = atoi(line);
	*sent = atoi(line + 9);
}

static int udp_pair(int *sink)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int fd;

	*sink = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(*sink >= 0);
	assert_int_equal(bind(*sink, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(*sink, (struct sockaddr *)&a, &al), 0);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* The counter counts: 100 getsockopt() calls are 100 traps. */
static void test_counter_counts(void **state)
{
	int sink, fd = udp_pair(&sink), traps, sent;

	(void)state;
	run(fd, -1, PROBE, 100, &traps, &sent);
	printf("# 100 getsockopt(): %d trapped\n", traps);
	assert_int_equal(traps, 100);
	close(fd);
	close(sink);
}

/* 1000 UDP datagrams with IP_PKTINFO: sendmsg() and sendmmsg() alone. */
static void test_pktinfo_no_syscall(void **state)
{
	static const enum how hows[] = {PKTINFO_SENDMSG, PKTINFO_SENDMMSG};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		int sink, fd = udp_pair(&sink), traps, sent;

		assert_int_equal(fcntl(sink, F_SETFL, O_NONBLOCK), 0);
		run(fd, -1, hows[i], 1000, &traps, &sent);
		printf("# 1000 %s with IP_PKTINFO: %d sent, %d other system "
		       "calls\n",
		       i ? "sendmmsg" : "sendmsg", sent, traps);
		assert_int_equal(sent, 1000);
		assert_int_equal(traps, 0);
		close(fd);
		close(sink);
	}
}

/* SCM_RIGHTS of an fd the library does not track (a pipe) over a unix
 * socket: no system call either. */
static void test_rights_untracked_no_syscall(void **state)
{
	int sv[2], pfd[2], traps, sent;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	run(sv[0], pfd[0], RIGHTS_UNTRACKED, 100, &traps, &sent);
	printf("# 100 sendmsg with SCM_RIGHTS of a pipe: %d sent, %d other "
	       "system calls\n",
	       sent, traps);
	assert_true(sent > 0);
	assert_int_equal(traps, 0);
	close(sv[0]);
	close(sv[1]);
	close(pfd[0]);
	close(pfd[1]);
}
#endif

/* A candidate passed with SCM_RIGHTS still counts as shared: it stays
 * TCP when bound (the receiver's copy would not follow). */
static void test_rights_candidate_shared(void **state)
{
	int sv[2], fd = socket(AF_INET, SOCK_STREAM, 0);
	char byte = 'x', ctl[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = ctl,
			   .msg_controllen = sizeof(ctl)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	assert_int_equal(sendmsg(sv[0], &m, 0), 1);
	assert_true(bind_free(fd, AF_INET, LISTED_LO) > 0);
	assert_int_equal(kproto(fd), IPPROTO_TCP);
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#ifdef ARCH
		cmocka_unit_test(test_counter_counts),
		cmocka_unit_test(test_pktinfo_no_syscall),
		cmocka_unit_test(test_rights_untracked_no_syscall),
#endif
		cmocka_unit_test(test_rights_candidate_shared),
	};

#ifndef ARCH
	printf("# no seccomp counter for this architecture: only the "
	       "SCM_RIGHTS test runs\n");
#endif
	/* one test alone: CMOCKA_FILTER=test_name */
	if (getenv("CMOCKA_FILTER"))
		cmocka_set_test_filter(getenv("CMOCKA_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
