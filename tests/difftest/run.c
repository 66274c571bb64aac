/* SPDX-License-Identifier: MIT */
/*
 * One run of a sequence: a child joins a new network namespace (loopback
 * up, ephemeral ports 45000-45999, away from the ports the sequences
 * use), then executes `difftest --exec FILE` in its own process group,
 * with the library preloaded or not. Its results come back through a
 * shared memory file (out.c), its standard error through another. A run
 * that outlives the timeout is a hang: its whole process group is killed.
 */
#include "run.h"
#include "out.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int netns_setup(void)
{
	struct ifreq ifr;
	int s, f, ok;

	if (unshare(CLONE_NEWNET) != 0)
		return -1;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	ok = ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
	ifr.ifr_flags |= IFF_UP;
	ok = ok && ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
	close(s);
	f = open("/proc/sys/net/ipv4/ip_local_port_range", O_WRONLY);
	if (f >= 0) {
		ok = ok && write(f, "45000 45999\n", 12) == 12;
		close(f);
	}
	return ok ? 0 : -1;
}

/* The environment of a run: ours without LD_PRELOAD or MPTCPSHIM_*, the
 * results channel, and the library's settings when it is preloaded. */
static char **run_env(const struct settings *st, bool with_lib, int outfd)
{
	static char outvar[64], preload[4200], portvar[128];
	static char config[] = "MPTCPSHIM_CONFIG=/dev/null";
	static char log[] = "MPTCPSHIM_LOG=warn";
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 8, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0 &&
		    strncmp(environ[i], "MPTCPSHIM_", 10) != 0 &&
		    strncmp(environ[i], OUT_ENV "=", sizeof(OUT_ENV)) != 0)
			env[k++] = environ[i];
	snprintf(outvar, sizeof(outvar), "%s=/proc/%d/fd/%d", OUT_ENV,
		 (int)getppid(), outfd);
	env[k++] = outvar;
	if (with_lib) {
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", st->lib);
		snprintf(portvar, sizeof(portvar), "MPTCPSHIM_PORTS=%s",
			 ports_env);
		env[k++] = preload;
		env[k++] = portvar;
		env[k++] = config;
		env[k++] = log;
	}
	env[k] = NULL;
	return env;
}

static void child(const struct settings *st, const char *seq_path,
		  bool with_lib, int outfd, int errfd)
{
	static char exec_opt[] = "--exec";
	char *argv[] = {(char *)st->self, exec_opt, (char *)seq_path, NULL};
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	setpgid(0, 0);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
	    dup2(errfd, 2) < 0)
		_exit(120);
	if (netns_setup() != 0) {
		dprintf(2, "difftest: network namespace: %s\n",
			strerror(errno));
		_exit(121);
	}
	char **env = run_env(st, with_lib, outfd);

	if (env)
		execve(st->self, argv, env);
	_exit(122);
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static char *read_err(int fd)
{
	off_t n = lseek(fd, 0, SEEK_END);
	char *s;

	if (n < 0)
		n = 0;
	if (n > 65536)
		n = 65536;
	s = calloc(1, (size_t)n + 1);
	if (s && n && pread(fd, s, (size_t)n, 0) < 0)
		s[0] = 0;
	return s;
}

int run_seq(const struct settings *st, const char *seq_path, bool with_lib,
	    struct run_result *r)
{
	int outfd = out_create();
	int errfd = memfd_create("difftest-err", MFD_CLOEXEC);
	long deadline = now_ms() + st->timeout_ms;
	bool hung = false;
	siginfo_t si;
	pid_t pid;
	int stt = 0;
	char tail[64], *o;

	memset(r, 0, sizeof(*r));
	if (outfd < 0 || errfd < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		child(st, seq_path, with_lib, outfd, errfd);
	setpgid(pid, pid);
	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si,
			   WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == pid)
			break;
		if (now_ms() > deadline) {
			hung = true;
			break;
		}
		usleep(2000);
	}
	kill(-pid, SIGKILL); /* the executor's children too */
	while (waitpid(pid, &stt, 0) < 0 && errno == EINTR)
		;
	if (hung)
		snprintf(tail, sizeof(tail), "hang\n");
	else if (WIFSIGNALED(stt))
		snprintf(tail, sizeof(tail), "exit signal %d\n", WTERMSIG(stt));
	else
		snprintf(tail, sizeof(tail), "exit %d\n", WEXITSTATUS(stt));
	o = out_read(outfd);
	r->out = malloc((o ? strlen(o) : 0) + sizeof(tail));
	if (r->out)
		sprintf(r->out, "%s%s", o ? o : "", tail);
	free(o);
	r->err = read_err(errfd);
	close(outfd);
	close(errfd);
	return r->out && r->err ? 0 : -1;
}

void run_free(struct run_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}
