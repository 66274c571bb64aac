/* SPDX-License-Identifier: MIT */
/*
 * Epoll registrations across the swap (issue 21 cases 4, 5 and 10). The
 * program must see the events it would see without the library: the
 * registration it made, with its data, reports the client's connection;
 * one that is disarmed reports nothing. Where the library cannot make a
 * registration again as it is, the socket stays TCP with one warning.
 *
 * - case 4: a registration under another fd number (a dup closed since,
 *   the old number of a socket moved with dup2) was lost: the listener
 *   was converted and never reported a connection;
 * - case 5: a disarmed EPOLLONESHOT registration was armed again at the
 *   swap (EPOLLERR|EPOLLHUP): a spurious EPOLLHUP arrived;
 * - case 10: without /proc, EPOLLEXCLUSIVE and EPOLLONESHOT registrations
 *   were dropped silently.
 *
 * meson runs this program twice: with the library (swap3_epoll) and
 * without it (swap3_epoll_nolib), with the same expectations but the
 * kernel protocol and the warnings. Each scenario runs in a child (this
 * program again, through /proc/self/exe) whose stderr is a memfd: the
 * library writes to the stderr a process started with, and the parent
 * counts its "staying TCP" lines.
 */
#include "swap.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/kcmp.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define SKIP_STATUS 77

/* Is the library preloaded in this process? */
static bool with_lib(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "mptcpshim");
}

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "check failed at line %d: %s (%s)\n",  \
				__LINE__, #c, strerror(errno));                \
			return 1;                                              \
		}                                                              \
	} while (0)

/* ---- in the child ---- */

/* What the program is to see once s is bound to a listed port */
struct want {
	bool converts; /* with the library; otherwise one warning */
	int between;   /* events between bind() and listen(); -1: any */
	int n;	       /* events once a client connected (0 or 1) */
	uint64_t data; /* the first one's data */
	bool oneshot;  /* none after it */
};

/* Binds s to a listed port, listens, connects an MPTCP client and checks
 * what ep reports; then accepts the client and checks the listener's
 * protocol and the accepted socket's (MPTCP from a converted listener,
 * TCP from a TCP one). */
static int serve(int s, int ep, const struct want *w)
{
	int want = with_lib() && w->converts ? IPPROTO_MPTCP : IPPROTO_TCP;
	struct epoll_event out[4];
	struct sockaddr_storage ss;
	int port, c, a;

	port = bind_free(s, AF_INET, LISTED_LO);
	CHECK(port > 0);
	if (w->between >= 0)
		CHECK(epoll_wait(ep, out, 4, 100) == w->between);
	CHECK(listen(s, 8) == 0);
	c = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	CHECK(c >= 0);
	CHECK(connect(c, (struct sockaddr *)&ss,
		      loop_addr(AF_INET, port, &ss)) == 0);
	CHECK(epoll_wait(ep, out, 4, w->n ? 5000 : 300) == w->n);
	if (w->n) {
		CHECK(out[0].data.u64 == w->data);
		CHECK(out[0].events == EPOLLIN);
	}
	if (w->oneshot)
		CHECK(epoll_wait(ep, out, 4, 200) == 0);
	a = accept(s, NULL, NULL);
	CHECK(a >= 0);
	/* the events first: they are what the program lost */
	CHECK(kproto(s) == want);
	CHECK(kproto(a) == want);
	close(a);
	close(c);
	return 0;
}

/* Case 4: registered, then moved with dup2() and the old number closed
 * (reused by another socket, or left free). The registration lives on
 * under the old number: events arrive, and the new number has none. */
static int sc_dup2_moved(bool reuse)
{
	const struct want w = {.between = -1, .n = 1, .data = 0x4a};
	int ep = epoll_create1(0), s = socket(AF_INET, SOCK_STREAM, 0), t;
	int other = -1;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x4a};

	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0);
	t = dup2(s, 900);
	CHECK(t == 900);
	close(s);
	if (reuse) {
		other = socket(AF_INET, SOCK_STREAM, 0);
		CHECK(other == s);
	}
	CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, t, &ev) == -1 && errno == ENOENT);
	CHECK(serve(t, ep, &w) == 0);
	if (other >= 0)
		close(other);
	close(t);
	close(ep);
	return 0;
}

static int sc_dup2_moved_free(void)
{
	return sc_dup2_moved(false);
}

static int sc_dup2_moved_reused(void)
{
	return sc_dup2_moved(true);
}

/* Case 4: registered through a dup, which is closed before bind(). */
static int sc_dup_registered(void)
{
	const struct want w = {.between = 0, .n = 1, .data = 0x4b};
	int ep = epoll_create1(0), s = socket(AF_INET, SOCK_STREAM, 0);
	int d = fcntl(s, F_DUPFD_CLOEXEC, 100);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 0x4b};

	CHECK(d >= 100);
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, d, &ev) == 0);
	close(d);
	CHECK(epoll_wait(ep, &ev, 1, 1000) == 1); /* the EPOLLHUP edge */
	CHECK(serve(s, ep, &w) == 0);
	close(s);
	close(ep);
	return 0;
}

/* Case 4: registered through a dup that is still open at bind(): the
 * dup refers to the same TCP socket, which a swap of the bound number
 * would leave behind (the rule for a dup, with its one warning). */
static int sc_dup_still_open(void)
{
	const struct want w = {.between = -1, .n = 1, .data = 0x4e};
	int ep = epoll_create1(0), s = socket(AF_INET, SOCK_STREAM, 0);
	int d = dup(s);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x4e};

	CHECK(d >= 0);
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, d, &ev) == 0);
	CHECK(serve(s, ep, &w) == 0);
	CHECK(local_port(d) == local_port(s));
	close(d);
	close(s);
	close(ep);
	return 0;
}

/* Case 4, the registrations that do not stop the swap: one through a dup
 * deleted again, and one through a dup in an epoll set closed since. The
 * socket's own registration is made again. */
static int sc_dup_registration_gone(void)
{
	const struct want w = {
		.converts = true, .between = -1, .n = 1, .data = 0x4d};
	int ep = epoll_create1(0), ep2 = epoll_create1(0);
	int s = socket(AF_INET, SOCK_STREAM, 0), d = dup(s);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x4c};

	CHECK(d >= 0);
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, d, &ev) == 0);
	CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, d, NULL) == 0);
	CHECK(epoll_ctl(ep2, EPOLL_CTL_ADD, d, &ev) == 0);
	close(ep2);
	close(d);
	ev.data.u64 = 0x4d;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0);
	CHECK(serve(s, ep, &w) == 0);
	close(s);
	close(ep);
	return 0;
}

/* Case 5: EPOLLONESHOT, fired (an unbound socket reports EPOLLHUP) and
 * not re-armed: nothing arrives, not even between bind() and listen()
 * (where the old code's spurious EPOLLHUP came); a re-arm then reports a
 * pending connection. */
static int sc_oneshot_disarmed(void)
{
	const struct want w = {.between = 0, .n = 0};
	int ep = epoll_create1(0), s = socket(AF_INET, SOCK_STREAM, 0), c;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT,
				 .data.u64 = 0x5a};
	struct sockaddr_storage ss;

	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0);
	CHECK(epoll_wait(ep, &ev, 1, 1000) == 1);
	CHECK(ev.events & EPOLLHUP);
	CHECK(serve(s, ep, &w) == 0);
	c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(connect(c, (struct sockaddr *)&ss,
		      loop_addr(AF_INET, local_port(s), &ss)) == 0);
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.u64 = 0x5b;
	CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev) == 0);
	CHECK(epoll_wait(ep, &ev, 1, 5000) == 1);
	CHECK(ev.data.u64 == 0x5b && ev.events == EPOLLIN);
	close(c);
	close(s);
	close(ep);
	return 0;
}

/* Case 5, the states that convert: armed (never waited for), and fired
 * then re-armed with EPOLL_CTL_MOD. One event, then none. */
static int sc_oneshot_armed(bool rearmed)
{
	const struct want w = {.converts = true,
			       .between = -1,
			       .n = 1,
			       .data = rearmed ? 0x5d : 0x5c,
			       .oneshot = true};
	int ep = epoll_create1(0), s = socket(AF_INET, SOCK_STREAM, 0);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT,
				 .data.u64 = 0x5c};

	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0);
	if (rearmed) {
		CHECK(epoll_wait(ep, &ev, 1, 1000) == 1);
		ev.events = EPOLLIN | EPOLLONESHOT;
		ev.data.u64 = 0x5d;
		CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev) == 0);
	}
	/* armed, an EPOLLHUP pending: listen() comes before the next
	 * epoll_wait(), which reports the connection */
	CHECK(serve(s, ep, &w) == 0);
	close(s);
	close(ep);
	return 0;
}

static int sc_oneshot_armed_fresh(void)
{
	return sc_oneshot_armed(false);
}

static int sc_oneshot_rearmed(void)
{
	return sc_oneshot_armed(true);
}

/* ---- case 10: no /proc ---- */

/* Does kcmp(KCMP_EPOLL_TFD) answer here? Not where the kernel lacks
 * CONFIG_KCMP, a seccomp filter refuses it, or qemu-user does not
 * translate it: then the library stays TCP where it needs it. */
static bool kcmp_works(void)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int ep = epoll_create1(EPOLL_CLOEXEC), p[2];
	bool ok = false;

	if (ep >= 0 && pipe2(p, O_CLOEXEC) == 0) {
		struct kcmp_epoll_slot slot = {(__u32)ep, (__u32)p[0], 0};
		long pid = (long)getpid();

		ok = epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0 &&
		     syscall(SYS_kcmp, pid, pid, KCMP_EPOLL_TFD,
			     (unsigned long)p[0], (unsigned long)&slot) == 0;
		close(p[0]);
		close(p[1]);
	}
	if (ep >= 0)
		close(ep);
	return ok;
}

/* Did hide_proc() mount its tmpfs (in its own mount namespace)? */
static bool proc_covered;

/* A private mount namespace with an empty tmpfs over /proc. */
static int hide_proc(void)
{
	if (unshare(CLONE_NEWNS) != 0 &&
	    unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
		fprintf(stderr, "no mount namespace: %s\n", strerror(errno));
		return SKIP_STATUS;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("none", "/proc", "tmpfs", 0, NULL) != 0) {
		fprintf(stderr, "cannot cover /proc: %s\n", strerror(errno));
		return SKIP_STATUS;
	}
	proc_covered = true;
	if (access("/proc/self/fdinfo", F_OK) == 0) {
		fprintf(stderr, "/proc still there\n");
		return 1;
	}
	return 0;
}

/* kcmp() answers ENOSYS, as on a kernel without CONFIG_KCMP or under a
 * container's seccomp profile. */
static int refuse_kcmp(void)
{
#if defined(__x86_64__)
	const unsigned arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
	const unsigned arch = AUDIT_ARCH_AARCH64;
#elif defined(__arm__) && !defined(__ARMEB__)
	const unsigned arch = AUDIT_ARCH_ARM;
#else
	const unsigned arch = 0;
#endif
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_kcmp, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};

	if (arch == 0) {
		fprintf(stderr, "no seccomp filter for this architecture\n");
		return SKIP_STATUS;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		fprintf(stderr, "no seccomp: %s\n", strerror(errno));
		return SKIP_STATUS;
	}
	errno = 0;
	if (syscall(SYS_kcmp, 0, 0, 0, 0, 0) != -1 || errno != ENOSYS)
		return 1;
	return 0;
}

/* A registration made before bind(), without /proc, of these flags,
 * with or without kcmp(). Plain ones and EPOLLEXCLUSIVE ones are found
 * with kcmp() (plain ones also with EPOLL_CTL_MOD); the state of an
 * EPOLLONESHOT one cannot be read, nor an EPOLLEXCLUSIVE one's presence
 * without kcmp(). */
static int sc_noproc(uint32_t flags, bool kcmp, bool converts)
{
	const struct want w = {.converts = converts,
			       .between = -1,
			       .n = 1,
			       .data = 0x10,
			       .oneshot = flags & EPOLLONESHOT};
	struct epoll_event ev = {.events = EPOLLIN | flags, .data.u64 = 0x10};
	int rc = hide_proc(), ep, s;

	if (rc == 0 && !kcmp)
		rc = refuse_kcmp();
	if (rc == 0) {
		ep = epoll_create1(0);
		s = socket(AF_INET, SOCK_STREAM, 0);
		rc = epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0 ? 0 : 1;
		if (rc == 0)
			rc = serve(s, ep, &w);
		close(s);
		close(ep);
	}
	/* LeakSanitizer reads /proc at exit; only the namespace's own
	 * tmpfs is taken away */
	if (proc_covered)
		umount2("/proc", MNT_DETACH);
	return rc;
}

static int sc_noproc_plain(void)
{
	return sc_noproc(0, true, true);
}

static int sc_noproc_plain_nokcmp(void)
{
	return sc_noproc(0, false, true);
}

static int sc_noproc_exclusive(void)
{
	return sc_noproc(EPOLLEXCLUSIVE, true, kcmp_works());
}

static int sc_noproc_exclusive_nokcmp(void)
{
	return sc_noproc(EPOLLEXCLUSIVE, false, false);
}

static int sc_noproc_oneshot(void)
{
	return sc_noproc(EPOLLONESHOT, true, false);
}

/* ---- the parent ---- */

struct scenario {
	int issue_case;
	const char *name;
	int (*run)(void);
	bool converts; /* with the library; otherwise one warning */
};

static const struct scenario scenarios[] = {
	{4, "dup2_moved_free", sc_dup2_moved_free, false},
	{4, "dup2_moved_reused", sc_dup2_moved_reused, false},
	{4, "dup_registered", sc_dup_registered, false},
	{4, "dup_still_open", sc_dup_still_open, false},
	{4, "dup_registration_gone", sc_dup_registration_gone, true},
	{5, "oneshot_disarmed", sc_oneshot_disarmed, false},
	{5, "oneshot_armed", sc_oneshot_armed_fresh, true},
	{5, "oneshot_rearmed", sc_oneshot_rearmed, true},
	{10, "noproc_plain", sc_noproc_plain, true},
	{10, "noproc_plain_nokcmp", sc_noproc_plain_nokcmp, true},
	{10, "noproc_exclusive", sc_noproc_exclusive, true},
	{10, "noproc_exclusive_nokcmp", sc_noproc_exclusive_nokcmp, false},
	{10, "noproc_oneshot", sc_noproc_oneshot, false},
};
#define NSCEN (sizeof(scenarios) / sizeof(scenarios[0]))

static unsigned count_lines(const char *text, const char *what)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, what)); p++)
		n++;
	return n;
}

/* Runs one scenario in a child, stderr captured; checks its status and
 * the library's warnings. False if the machine lacks what it needs. */
static bool run_scenario(const struct scenario *sc)
{
	bool converts =
		sc->converts &&
		(strcmp(sc->name, "noproc_exclusive") != 0 || kcmp_works());
	unsigned want = with_lib() && !converts ? 1 : 0;
	char out[8192] = "";
	int mfd = memfd_create("stderr", MFD_CLOEXEC), st;
	ssize_t n;
	pid_t pid;

	print_message("# %s\n", sc->name);
	assert_true(mfd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char name[] = "test_swap3_epoll",
		     *argv[] = {name, (char *)sc->name, NULL};

		dup2(mfd, 2);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	n = pread(mfd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(mfd);
	if (WIFEXITED(st) && WEXITSTATUS(st) == SKIP_STATUS) {
		print_message("# skipped: %s", out);
		return false;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    count_lines(out, "staying TCP") != want ||
	    count_lines(out, "mptcpshim[") != want)
		print_message("# status %d, child said:\n%s", st, out);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(count_lines(out, "staying TCP"), want);
	assert_int_equal(count_lines(out, "mptcpshim["), want);
	return true;
}

/* The scenarios of one case; the test is skipped (after the others ran)
 * if one of them cannot run here. */
static void run_case(int issue_case)
{
	unsigned skipped = 0;

	for (unsigned i = 0; i < NSCEN; i++)
		if (scenarios[i].issue_case == issue_case &&
		    !run_scenario(&scenarios[i]))
			skipped++;
	if (skipped)
		skip();
}

/* Case 4: registrations under another fd number. */
static void test_registration_under_another_number(void **state)
{
	(void)state;
	run_case(4);
}

/* Case 5: EPOLLONESHOT, disarmed or armed. */
static void test_oneshot_state_kept(void **state)
{
	(void)state;
	run_case(5);
}

/* Case 10: no /proc (a private mount namespace, a tmpfs over it). */
static void test_without_proc(void **state)
{
	(void)state;
	run_case(10);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registration_under_another_number),
		cmocka_unit_test(test_oneshot_state_kept),
		cmocka_unit_test(test_without_proc),
	};

	if (argc == 2) {
		for (unsigned i = 0; i < NSCEN; i++)
			if (strcmp(argv[1], scenarios[i].name) == 0)
				return scenarios[i].run();
		return 2;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
