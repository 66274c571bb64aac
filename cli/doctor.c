/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor: can MPTCP work on this machine, and what keeps it to
 * one path? Each finding says what to do, with the command.
 */
#include "cli.h"

#include <arpa/inet.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef TCP_IS_MPTCP
#define TCP_IS_MPTCP 43
#endif

static const char doctor_help[] =
	"Usage: mptcpshim doctor\n"
	"\n"
	"Checks that this machine can use MPTCP: kernel support and\n"
	"net.mptcp.enabled (an MPTCP socket and a loopback MPTCP connection\n"
	"are tried for real), the path manager, 'ip mptcp limits' and\n"
	"'ip mptcp endpoint' (without endpoints every connection keeps one\n"
	"path), the library file and the configuration. Every finding that\n"
	"needs action comes with the command to run.\n"
	"\n"
	"Exit status: 0 MPTCP can work here, 1 it cannot (kernel support\n"
	"missing, disabled or refused), 2 bad arguments. Problems with the\n"
	"library or the configuration are reported as errors but do not\n"
	"change the exit status; 'mptcpshim check' has its own.\n";

static unsigned n_warn, n_err;

static void finding(const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void finding(const char *tag, const char *fmt, ...)
{
	va_list ap;

	printf("%-7s ", tag);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (strcmp(tag, "[warn]") == 0)
		n_warn++;
	else if (strcmp(tag, "[error]") == 0)
		n_err++;
}

static void fix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fix(const char *fmt, ...)
{
	va_list ap;

	printf("        fix: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static bool read_sysctl(const char *name, char *out, size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/net/mptcp/%s", name);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(out, (int)len, f))
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	fclose(f);
	return true;
}

/* The kernel part. Returns false if MPTCP cannot work. */
static bool check_kernel(void)
{
	struct utsname u;
	char v[64];
	int fd, e;

	uname(&u);
	if (access("/proc/sys/net/mptcp", F_OK) != 0) {
		finding("[error]",
			"kernel %s has no MPTCP (no /proc/sys/net/mptcp)",
			u.release);
		fix("boot a kernel >= 5.6 built with CONFIG_MPTCP=y (Debian "
		    "12's linux-image-amd64 has it)");
		return false;
	}
	finding("[ok]", "kernel %s has MPTCP", u.release);
	if (!read_sysctl("enabled", v, sizeof(v)) || strcmp(v, "1") != 0) {
		finding("[error]",
			"net.mptcp.enabled = %s: MPTCP is off in "
			"this network namespace",
			v);
		fix("sysctl -w net.mptcp.enabled=1");
		fix("echo net.mptcp.enabled=1 > /etc/sysctl.d/90-mptcp.conf  "
		    "(to keep it after a reboot)");
		return false;
	}
	finding("[ok]", "net.mptcp.enabled = 1");
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP);
	if (fd < 0) {
		e = errno;
		finding("[error]",
			"socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP) "
			"fails: %s",
			strerror(e));
		if (e == EPERM || e == EACCES)
			fix("a seccomp filter, an LSM (SELinux, AppArmor) or a "
			    "BPF program refuses MPTCP sockets: allow "
			    "protocol 262");
		else if (ms_errno_means_no_mptcp(e))
			fix("boot a kernel with CONFIG_MPTCP=y and set "
			    "net.mptcp.enabled=1");
		else
			fix("a resource shortage (%s); try again", strerror(e));
		return false;
	}
	close(fd);
	finding("[ok]", "an MPTCP socket can be created");
	return true;
}

/* A loopback MPTCP connection, checked from the client side. */
static void check_loopback(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t l = sizeof(sa);
	int lfd, cfd = -1, afd = -1, v = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(lfd, 1) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &l) != 0)
		goto untested;
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto untested;
	afd = accept(lfd, NULL, NULL);
	l = sizeof(v);
	if (getsockopt(cfd, IPPROTO_TCP, TCP_IS_MPTCP, &v, &l) != 0)
		v = -1;
	if (v == 1)
		finding("[ok]", "a loopback MPTCP connection really is MPTCP "
				"(TCP_IS_MPTCP = 1)");
	else if (v == 0)
		finding("[warn]", "a loopback MPTCP connection fell back to "
				  "TCP; something strips MPTCP options "
				  "(iptables, a BPF program?)");
	else
		finding("[ok]", "a loopback MPTCP connection works (this "
				"kernel cannot say if it stayed MPTCP)");
	goto out;
untested:
	finding("[info]",
		"could not try a loopback MPTCP connection: %s "
		"(is lo up?)",
		strerror(errno));
out:
	if (afd >= 0)
		close(afd);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
}

static void check_path_manager(void)
{
	char v[64];

	if (read_sysctl("path_manager", v, sizeof(v))) {
		if (strcmp(v, "kernel") == 0) {
			finding("[ok]", "path manager: kernel "
					"(net.mptcp.path_manager)");
			return;
		}
		finding("[warn]",
			"path manager: %s (net.mptcp.path_manager): "
			"extra subflows need its daemon (mptcpd); "
			"'ip mptcp' endpoints and limits do not "
			"apply",
			v);
		fix("systemctl status mptcpd  (or go back to the kernel's: "
		    "sysctl -w net.mptcp.path_manager=kernel)");
		return;
	}
	if (read_sysctl("pm_type", v, sizeof(v))) {
		if (strcmp(v, "0") == 0) {
			finding("[ok]",
				"path manager: kernel (net.mptcp.pm_type "
				"= 0)");
			return;
		}
		finding("[warn]",
			"path manager: userspace (net.mptcp.pm_type "
			"= %s): extra subflows need its daemon "
			"(mptcpd)",
			v);
		fix("systemctl status mptcpd  (or go back to the kernel's: "
		    "sysctl -w net.mptcp.pm_type=0)");
		return;
	}
	finding("[info]", "path manager: not shown by this kernel (the "
			  "kernel's, older than 5.19)");
}

static unsigned num_after(const char *text, const char *key, bool *found)
{
	const char *p = strstr(text, key);

	*found = p != NULL;
	return p ? (unsigned)strtoul(p + strlen(key), NULL, 10) : 0;
}

static void check_limits(void)
{
	char *argv[] = {(char *)"ip", (char *)"mptcp", (char *)"limits",
			(char *)"show", NULL};
	char out[512];
	unsigned sub, acc;
	bool f1, f2;

	if (cli_capture(argv, out, sizeof(out), false) != 0) {
		finding("[warn]", "'ip mptcp limits' failed: limits not "
				  "checked");
		fix("apt-get install iproute2  (ip >= 5.8 knows 'ip mptcp')");
		return;
	}
	sub = num_after(out, "subflows ", &f1);
	acc = num_after(out, "add_addr_accepted ", &f2);
	if (f1 && sub == 0) {
		finding("[warn]", "ip mptcp limits: subflows 0: every "
				  "connection keeps a single path");
		fix("ip mptcp limits set subflows 2 add_addr_accepted 2");
	} else {
		finding("[ok]",
			"ip mptcp limits: subflows %u, "
			"add_addr_accepted %u",
			sub, acc);
	}
	if (f2 && acc == 0)
		finding("[info]",
			"add_addr_accepted 0: as a client, this "
			"machine ignores the extra addresses servers "
			"announce ('ip mptcp limits set subflows "
			"%u add_addr_accepted 2' to use them)",
			sub ? sub : 2);
}

/* Candidate addresses for endpoints: up, not loopback, not link-local,
 * not already an endpoint. */
static void suggest_endpoints(const char *endpoints, const char *flag)
{
	struct ifaddrs *ifa, *i;
	unsigned n = 0;

	if (getifaddrs(&ifa) != 0)
		return;
	for (i = ifa; i; i = i->ifa_next) {
		char a[INET6_ADDRSTRLEN];
		const void *p;

		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) ||
		    (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			p = &((struct sockaddr_in *)(void *)i->ifa_addr)
				     ->sin_addr;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct in6_addr *a6 =
				&((struct sockaddr_in6 *)(void *)i->ifa_addr)
					 ->sin6_addr;

			if (IN6_IS_ADDR_LINKLOCAL(a6))
				continue;
			p = a6;
		} else {
			continue;
		}
		inet_ntop(i->ifa_addr->sa_family, p, a, sizeof(a));
		if (strstr(endpoints, a))
			continue;
		fix("ip mptcp endpoint add %s dev %s %s", a, i->ifa_name, flag);
		n++;
	}
	freeifaddrs(ifa);
	if (n == 0)
		printf("        (no address to add: this machine has no "
		       "other usable address)\n");
}

static void check_endpoints(void)
{
	char *argv[] = {(char *)"ip", (char *)"mptcp", (char *)"endpoint",
			(char *)"show", NULL};
	char out[16384];
	bool signal = false, subflow = false;

	if (cli_capture(argv, out, sizeof(out), false) != 0) {
		finding("[warn]", "'ip mptcp endpoint' failed: endpoints not "
				  "checked");
		return;
	}
	for (char *l = out; *l;) {
		size_t n = strcspn(l, "\n");
		char save = l[n];

		l[n] = '\0';
		if (strstr(l, " signal"))
			signal = true;
		if (strstr(l, " subflow"))
			subflow = true;
		l[n] = save;
		l += n + (save ? 1 : 0);
	}
	if (signal) {
		finding("[ok]", "a 'signal' endpoint announces another address "
				"of this server to its clients");
	} else {
		finding("[warn]",
			"no 'signal' endpoint: as a server, this machine "
			"announces no other address; only clients with "
			"several addresses (their 'subflow' endpoints) add "
			"paths");
		suggest_endpoints(out, "signal");
	}
	if (subflow) {
		finding("[ok]", "a 'subflow' endpoint opens extra paths from "
				"this machine as a client");
	} else {
		finding("[info]",
			"no 'subflow' endpoint: as a client, this machine "
			"opens no extra paths");
		suggest_endpoints(out, "subflow");
	}
}

static void check_library(void)
{
	const char *lib = cli_library_path();
	unsigned char h[EI_NIDENT + 4];
	ssize_t n = -1;
	int fd = open(lib, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, h, sizeof(h));
		close(fd);
	}
	if (fd < 0) {
		finding("[error]", "library %s: %s", lib, strerror(errno));
		fix("meson install -C BUILDDIR  (or set MPTCPSHIM_LIBRARY to "
		    "the library's path)");
		return;
	}
	if (n < (ssize_t)sizeof(h) || memcmp(h, ELFMAG, SELFMAG) != 0 ||
	    h[EI_NIDENT] != ET_DYN) {
		finding("[error]", "library %s is not a shared library", lib);
		fix("meson install -C BUILDDIR");
		return;
	}
	finding("[ok]", "library %s", lib);
}

static void check_config(void)
{
	char err[MS_ERRLEN];
	bool explicit_path, present, ok;
	const char *path = cli_config_path(&explicit_path);
	struct ms_config cfg;
	struct ms_env env;

	ms_config_init(&cfg);
	ms_env_read(&env);
	ok = ms_config_read(&cfg, path, explicit_path, &env, &present, err);
	if (!ok) {
		finding("[error]", "configuration: %s", err);
		fix("correct it, then: mptcpshim check %s", path);
	} else if (cfg.ports.mode == MS_LIST_NONE) {
		finding("[warn]",
			"configuration: ports = none (%s): nothing "
			"will be converted",
			ms_source_name(cfg.ports_src));
	} else {
		finding("[ok]", "configuration %s%s", path,
			present ? ""
				: " (not present: every TCP listener is "
				  "converted)");
	}
	ms_config_free(&cfg);
}

int cmd_doctor(int argc, char **argv)
{
	bool works;

	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			fputs(doctor_help, stdout);
			return EX_OK;
		}
		return cli_usage_err("unexpected argument '%s'", argv[i]);
	}
	works = check_kernel();
	if (works) {
		check_loopback();
		check_path_manager();
		check_limits();
		check_endpoints();
	}
	check_library();
	check_config();
	if (works)
		printf("result: MPTCP can work here (%u warning%s, %u "
		       "error%s)\n",
		       n_warn, n_warn == 1 ? "" : "s", n_err,
		       n_err == 1 ? "" : "s");
	else
		printf("result: MPTCP cannot work here until the errors above "
		       "are fixed\n");
	return works ? EX_OK : EX_FAIL;
}
