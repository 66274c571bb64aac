/* SPDX-License-Identifier: MIT */
/*
 * shimprobe: a small socket program for the tests and the demo.
 *
 *   shimprobe listen [--opt NAME=VAL]... [--count N] [--serve N] [--exec]
 *                    [--clearenv] [--fd-limit] [--count-fds] ADDR PORT
 *       socket(0), options, bind, listen (N times with --count, for
 *       SO_REUSEPORT groups); prints "fd=N proto=P" for each, where P is
 *       the kernel's SO_PROTOCOL (262 = MPTCP; read with the raw system
 *       call: under the library, getsockopt() answers 6 for a socket it
 *       converted); with --serve answers N
 *       connections with "proto=P\n" (the accepted socket's protocol);
 *       with --exec, re-executes itself on the listener (fork + execve
 *       without FD_CLOEXEC, as nginx's binary upgrade does); --clearenv
 *       empties the environment first, as nginx does in its workers.
 *       --fd-limit lowers RLIMIT_NOFILE to fd+1 after socket() and the
 *       options, for the bind() only (so the library cannot create
 *       another socket; the old limit is back after bind()).
 *       --count-fds prints "fds start=A open=B end=C" at the end: the
 *       open fds at the start, after the last bind()/listen() (or the
 *       failed call) and after closing every socket it made. A bind()
 *       or listen() failure still prints it, after the error.
 *   shimprobe connect [--tcp|--mptcp] [--send TEXT] [--read] ADDR PORT
 *       connects, prints "proto=P is_mptcp=M" from the client side (M:
 *       1 = the kernel reports an MPTCP connection, 0 = TCP or fallen
 *       back, -1 = its answers disagree; see kcheck.h: MPTCP_INFO on every
 *       kernel, TCP_IS_MPTCP too where it exists), sends TEXT and prints
 *       the first reply line.
 *   shimprobe inherited FD [--serve N]
 *       prints the protocol of an inherited listener and serves on it:
 *       "inherited fd=N proto=P said=S", P the kernel's, S what
 *       getsockopt(SO_PROTOCOL) tells the program (6 for a socket the
 *       library converted, where the library is loaded).
 *   shimprobe udp ADDR PORT
 *       binds a UDP socket and prints its protocol.
 *
 * Exit status: 0 success, 1 a socket call failed (errno printed), 2 usage.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kcheck.h"

static int die(const char *what)
{
	fprintf(stderr, "shimprobe: %s: %s (%s)\n", what, strerror(errno),
		strerrorname_np(errno) ? strerrorname_np(errno) : "?");
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: shimprobe listen|connect|inherited|udp ... "
			"(see the source)\n");
	return 2;
}

static int parse_addr(const char *a, const char *p, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	int port = atoi(p);

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return AF_INET6;
	}
	fprintf(stderr, "shimprobe: bad address %s\n", a);
	return -1;
}

/* The kernel's answer: the library answers IPPROTO_TCP to the program
 * for a socket it converted, so ask without it. */
static int proto_of(int fd)
{
	return k_protocol(fd);
}

struct optname {
	const char *name;
	int level, opt;
};
static const struct optname opts[] = {
	{"reuseaddr", SOL_SOCKET, SO_REUSEADDR},
	{"reuseport", SOL_SOCKET, SO_REUSEPORT},
	{"keepalive", SOL_SOCKET, SO_KEEPALIVE},
	{"rcvbuf", SOL_SOCKET, SO_RCVBUF},
	{"v6only", IPPROTO_IPV6, IPV6_V6ONLY},
	{"nodelay", IPPROTO_TCP, TCP_NODELAY},
	{"user_timeout", IPPROTO_TCP, TCP_USER_TIMEOUT},
	{"quickack", IPPROTO_TCP, TCP_QUICKACK},
	{"defer_accept", IPPROTO_TCP, TCP_DEFER_ACCEPT},
};

static int set_named(int fd, const char *spec)
{
	const char *eq = strchr(spec, '=');
	int val;

	if (!eq)
		return usage();
	val = atoi(eq + 1);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (strncmp(spec, opts[i].name, (size_t)(eq - spec)) == 0 &&
		    opts[i].name[eq - spec] == '\0') {
			if (setsockopt(fd, opts[i].level, opts[i].opt, &val,
				       sizeof(val)) != 0)
				return die(spec);
			return 0;
		}
	}
	fprintf(stderr, "shimprobe: unknown option %s\n", spec);
	return 2;
}

static int serve(int lfd, int n)
{
	for (int i = 0; i < n; i++) {
		char reply[32];
		int c = accept(lfd, NULL, NULL);

		if (c < 0)
			return die("accept");
		snprintf(reply, sizeof(reply), "proto=%d\n", proto_of(c));
		if (write(c, reply, strlen(reply)) < 0)
			return die("write");
		close(c);
	}
	return 0;
}

/* Open fds of this process (the directory's own fd not counted). */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

#define MAX_LISTENERS 64

struct listen_run {
	int fds[MAX_LISTENERS];
	int nfds;
	int count_fds;
	int fds_start;
};

/* With --count-fds: how many fds are open now, then after closing every
 * socket this run made. Returns rc. */
static int finish_listen(struct listen_run *r, int rc)
{
	int open_now;

	if (!r->count_fds)
		return rc;
	open_now = count_fds();
	for (int i = 0; i < r->nfds; i++)
		close(r->fds[i]);
	printf("fds start=%d open=%d end=%d\n", r->fds_start, open_now,
	       count_fds());
	fflush(stdout);
	return rc;
}

/* bind() with RLIMIT_NOFILE at fd+1: no other fd can be created. */
static int bind_at_fd_limit(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct rlimit old, low;
	int rc, e;

	if (getrlimit(RLIMIT_NOFILE, &old) != 0)
		return -1;
	low = old;
	low.rlim_cur = (rlim_t)fd + 1;
	if (setrlimit(RLIMIT_NOFILE, &low) != 0)
		return -1;
	rc = bind(fd, sa, len);
	e = errno;
	if (setrlimit(RLIMIT_NOFILE, &old) != 0)
		return -1;
	errno = e;
	return rc;
}

static int cmd_listen(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct listen_run run = {.nfds = 0};
	socklen_t len;
	int fd = -1, family, nserve = 0, rc, exec_self = 0, count = 1;
	int first = 0, fd_limit = 0;

	/* options are applied in order after socket(), so parse twice */
	while (first < argc && strncmp(argv[first], "--", 2) == 0)
		first += strcmp(argv[first], "--exec") == 0 ||
					 strcmp(argv[first], "--clearenv") ==
						 0 ||
					 strcmp(argv[first], "--fd-limit") ==
						 0 ||
					 strcmp(argv[first], "--count-fds") == 0
				 ? 1
				 : 2;
	if (argc - first != 2)
		return usage();
	family = parse_addr(argv[first], argv[first + 1], &ss, &len);
	if (family < 0)
		return 2;
	for (int i = 0; i < first; i++) {
		if (strcmp(argv[i], "--count") == 0)
			count = atoi(argv[i + 1]);
		if (strcmp(argv[i], "--clearenv") == 0)
			clearenv();
		if (strcmp(argv[i], "--fd-limit") == 0)
			fd_limit = 1;
		if (strcmp(argv[i], "--count-fds") == 0)
			run.count_fds = 1;
	}
	if (count < 1 || count > MAX_LISTENERS)
		return usage();
	if (run.count_fds)
		run.fds_start = count_fds();
	for (int n = 0; n < count; n++) {
		fd = socket(family, SOCK_STREAM, 0);
		if (fd < 0)
			return finish_listen(&run, die("socket"));
		run.fds[run.nfds++] = fd;
		for (int i = 0; i < first; i++) {
			if (strcmp(argv[i], "--exec") == 0) {
				exec_self = 1;
			} else if (strcmp(argv[i], "--clearenv") == 0 ||
				   strcmp(argv[i], "--fd-limit") == 0 ||
				   strcmp(argv[i], "--count-fds") == 0) {
				continue;
			} else if (strcmp(argv[i], "--opt") == 0) {
				rc = set_named(fd, argv[++i]);
				if (rc)
					return rc;
			} else if (strcmp(argv[i], "--serve") == 0) {
				nserve = atoi(argv[++i]);
			} else if (strcmp(argv[i], "--count") == 0) {
				i++;
			} else {
				return usage();
			}
		}
		rc = fd_limit
			     ? bind_at_fd_limit(fd, (struct sockaddr *)&ss, len)
			     : bind(fd, (struct sockaddr *)&ss, len);
		if (rc != 0)
			return finish_listen(&run, die("bind"));
		if (listen(fd, 16) != 0)
			return finish_listen(&run, die("listen"));
		printf("fd=%d proto=%d\n", fd, proto_of(fd));
		fflush(stdout);
	}
	if (exec_self) {
		char fdstr[16], nstr[16];

		snprintf(fdstr, sizeof(fdstr), "%d", fd);
		snprintf(nstr, sizeof(nstr), "%d", nserve);
		execl("/proc/self/exe", "shimprobe", "inherited", fdstr,
		      "--serve", nstr, (char *)NULL);
		return die("execl");
	}
	return finish_listen(&run, serve(fd, nserve));
}

static int cmd_inherited(int argc, char **argv)
{
	int fd, n = 0;

	if (argc != 1 && argc != 3)
		return usage();
	fd = atoi(argv[0]);
	if (argc == 3)
		n = atoi(argv[2]);
	{
		int said = -1;
		socklen_t l = sizeof(said);

		getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &said, &l);
		printf("inherited fd=%d proto=%d said=%d\n", fd, proto_of(fd),
		       said);
	}
	fflush(stdout);
	return serve(fd, n);
}

static int cmd_connect(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *send = NULL, *why;
	int proto = IPPROTO_MPTCP, fd, family, is_mptcp, do_read = 0;
	int i;

	for (i = 0; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--tcp") == 0)
			proto = 0;
		else if (strcmp(argv[i], "--mptcp") == 0)
			proto = IPPROTO_MPTCP;
		else if (strcmp(argv[i], "--read") == 0)
			do_read = 1;
		else if (strcmp(argv[i], "--send") == 0 && i + 1 < argc)
			send = argv[++i];
		else
			return usage();
	}
	if (argc - i != 2)
		return usage();
	family = parse_addr(argv[i], argv[i + 1], &ss, &len);
	if (family < 0)
		return 2;
	fd = socket(family, SOCK_STREAM, proto);
	if (fd < 0)
		return die("socket");
	if (connect(fd, (struct sockaddr *)&ss, len) != 0)
		return die("connect");
	is_mptcp = k_is_mptcp(fd, &why);
	if (is_mptcp < 0)
		fprintf(stderr, "shimprobe: %s: %s\n", why, strerror(errno));
	printf("proto=%d is_mptcp=%d\n", proto_of(fd), is_mptcp);
	if (send && write(fd, send, strlen(send)) < 0)
		return die("write");
	if (do_read) {
		char buf[512];
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n = 0;

		if (poll(&p, 1, 5000) == 1)
			n = read(fd, buf, sizeof(buf) - 1);
		if (n < 0)
			return die("read");
		buf[n] = '\0';
		buf[strcspn(buf, "\r\n")] = '\0';
		printf("reply=%s\n", buf);
	}
	close(fd);
	return 0;
}

static int cmd_udp(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, family;

	if (argc != 2)
		return usage();
	family = parse_addr(argv[0], argv[1], &ss, &len);
	if (family < 0)
		return 2;
	fd = socket(family, SOCK_DGRAM, 0);
	if (fd < 0)
		return die("socket");
	if (bind(fd, (struct sockaddr *)&ss, len) != 0)
		return die("bind");
	printf("fd=%d proto=%d\n", fd, proto_of(fd));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "listen") == 0)
		return cmd_listen(argc - 2, argv + 2);
	if (strcmp(argv[1], "connect") == 0)
		return cmd_connect(argc - 2, argv + 2);
	if (strcmp(argv[1], "inherited") == 0)
		return cmd_inherited(argc - 2, argv + 2);
	if (strcmp(argv[1], "udp") == 0)
		return cmd_udp(argc - 2, argv + 2);
	return usage();
}
