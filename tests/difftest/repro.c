/* SPDX-License-Identifier: MIT */
/*
 * A found sequence as a self-contained C program: the same calls, each
 * printing its result, then the state of descriptors 3-63 (with the
 * kernel's protocol from the raw system call). Built and run twice, in
 * fresh network namespaces, without and with the library; the header
 * says how.
 */
#include "run.h"

#include <stdio.h>

static const char prologue[] =
	"#define _GNU_SOURCE\n"
	"#include <arpa/inet.h>\n#include <errno.h>\n#include <fcntl.h>\n"
	"#include <netinet/in.h>\n#include <netinet/tcp.h>\n"
	"#include <pthread.h>\n#include <signal.h>\n#include <spawn.h>\n"
	"#include <stddef.h>\n#include <stdio.h>\n#include "
	"<stdlib.h>\n#include <string.h>\n"
	"#include <sys/epoll.h>\n#include <sys/mman.h>\n"
	"#include <sys/socket.h>\n#include <sys/syscall.h>\n"
	"#include <sys/un.h>\n#include <sys/wait.h>\n#include <unistd.h>\n"
	"#ifndef IPPROTO_MPTCP\n#define IPPROTO_MPTCP 262\n#endif\n"
	"extern char **environ;\n"
	"static char *probe[] = {\"/proc/self/exe\", \"probe\", NULL};\n"
	"static void show(int i, const char *what, long r, int e)\n{\n"
	"\tprintf(\"%d %s = %ld errno %s\\n\", i, what, r, e ? "
	"strerrorname_np(e) : \"0\");\n\tfflush(stdout);\n}\n"
	"__attribute__((unused))\n"
	"static socklen_t addr(struct sockaddr_storage *ss, int fam,\n"
	"\t\t      const char *a, int port)\n{\n"
	"\tmemset(ss, 0, sizeof(*ss));\n"
	"\tif (fam == AF_INET) {\n"
	"\t\tstruct sockaddr_in *s = (struct sockaddr_in *)ss;\n"
	"\t\ts->sin_family = AF_INET;\n\t\ts->sin_port = htons(port);\n"
	"\t\tinet_pton(AF_INET, a, &s->sin_addr);\n"
	"\t\treturn sizeof(*s);\n\t}\n"
	"\tif (fam == AF_INET6) {\n"
	"\t\tstruct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;\n"
	"\t\ts->sin6_family = AF_INET6;\n\t\ts->sin6_port = htons(port);\n"
	"\t\tinet_pton(AF_INET6, a, &s->sin6_addr);\n"
	"\t\treturn sizeof(*s);\n\t}\n"
	"\tstruct sockaddr_un *u = (struct sockaddr_un *)ss;\n"
	"\tu->sun_family = AF_UNIX;\n"
	"\tmemcpy(u->sun_path + 1, a, strlen(a));\n"
	"\treturn offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a);\n"
	"}\n"
	"#define ADDR(fam, a, port) (struct sockaddr *)&ss, addr(&ss, fam, "
	"a, port)\n"
	"static void state(const char *who)\n{\n"
	"\tfor (int fd = 3; fd < 64; fd++) {\n"
	"\t\tint fdfl = fcntl(fd, F_GETFD), fl = fcntl(fd, F_GETFL);\n"
	"\t\tint p = -1, k = -1, lis = -1, v6 = -1;\n"
	"\t\tsocklen_t l = sizeof(int);\n"
	"\t\tstruct sockaddr_storage ss;\n"
	"\t\tsocklen_t sl = sizeof(ss);\n"
	"\t\tif (fdfl < 0)\n\t\t\tcontinue;\n"
	"\t\tgetsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &p, &l);\n"
	"\t\tl = sizeof(int);\n"
	"\t\tsyscall(SYS_getsockopt, fd, SOL_SOCKET, SO_PROTOCOL, &k, &l);\n"
	"\t\tl = sizeof(int);\n"
	"\t\tgetsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &lis, &l);\n"
	"\t\tl = sizeof(int);\n"
	"\t\tgetsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, &l);\n"
	"\t\tmemset(&ss, 0, sizeof(ss));\n"
	"\t\tgetsockname(fd, (struct sockaddr *)&ss, &sl);\n"
	"\t\tprintf(\"%s fd %d: cloexec %d nonblock %d protocol %d \"\n"
	"\t\t       \"kernel protocol %d listening %d v6only %d port %d\\n\",\n"
	"\t\t       who, fd, !!(fdfl & FD_CLOEXEC), !!(fl & O_NONBLOCK), p, "
	"k,\n"
	"\t\t       lis, v6,\n"
	"\t\t       ntohs(((struct sockaddr_in *)&ss)->sin_port));\n"
	"\t}\n\tfflush(stdout);\n}\n";

/* Threads 1 and 2 live from the start (as in the executor: a thread
 * started later would share a table close_range(CLOSE_RANGE_UNSHARE)
 * gave the main thread); each call is handed over and waited for. */
static const char workers[] =
	"static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;\n"
	"static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;\n"
	"static void (*job[3])(void);\n"
	"static void *worker(void *arg)\n{\n"
	"\tlong t = (long)arg;\n"
	"\tfor (;;) {\n\t\tpthread_mutex_lock(&mu);\n"
	"\t\twhile (!job[t])\n\t\t\tpthread_cond_wait(&cv, &mu);\n"
	"\t\tpthread_mutex_unlock(&mu);\n\t\tjob[t]();\n"
	"\t\tpthread_mutex_lock(&mu);\n\t\tjob[t] = NULL;\n"
	"\t\tpthread_cond_broadcast(&cv);\n"
	"\t\tpthread_mutex_unlock(&mu);\n\t}\n\treturn NULL;\n}\n"
	"static void hand_over(int t, void (*fn)(void))\n{\n"
	"\tpthread_mutex_lock(&mu);\n\tjob[t] = fn;\n"
	"\tpthread_cond_broadcast(&cv);\n\twhile (job[t])\n"
	"\t\tpthread_cond_wait(&cv, &mu);\n"
	"\tpthread_mutex_unlock(&mu);\n}\n";

static void act_text(FILE *f, int act, int b, int c, int d)
{
	const struct addr_info *a = &addrs[IDX(c, n_addrs)];

	switch (IDX(act, ACT_NKINDS)) {
	case ACT_CLOSE:
		fprintf(f, "close(%d)", b);
		break;
	case ACT_BIND:
		fprintf(f, "bind(%d, ADDR(%d, \"%s\", %d))", b, a->family,
			a->addr, ports[IDX(d, n_ports)]);
		break;
	case ACT_LISTEN:
		fprintf(f, "listen(%d, 16)", b);
		break;
	case ACT_DUP2:
		fprintf(f, "dup2(%d, %d)", b, c);
		break;
	case ACT_SOCKET:
		fprintf(f, "(close(%d), socket(AF_INET, SOCK_STREAM, 0))", b);
		break;
	case ACT_EXEC:
		fprintf(f, "execve(probe[0], probe, environ)");
		break;
	default:
		fprintf(f, "0");
	}
}

static void op_c(FILE *f, int i, const struct op *o)
{
	const struct addr_info *a = &addrs[IDX(o->b, n_addrs)];
	unsigned char val[64];

	/* errno is EDOM before each call: one changed on success shows */
	fprintf(f, "\terrno = EDOM;\n");
	switch (o->kind) {
	case OP_SOCKET:
		fprintf(f, "\tr = socket(%d, %#x, %d);\n", o->a, o->b, o->c);
		break;
	case OP_SETSOCKOPT: {
		const struct opt_info *oi = &opts[IDX(o->b, n_opts)];
		socklen_t len = opt_value(o, val);

		if (len > 64)
			len = 64;
		if (o->e == PTR_GOOD) {
			fprintf(f, "\tp = page + pg - %u;\n\tmemcpy(p, \"",
				len ? len : 1);
			for (socklen_t k = 0; k < len; k++)
				fprintf(f, "\\x%02x", val[k]);
			fprintf(f, "\", %u);\n", len);
		} else {
			fprintf(f, "\tp = %s;\n",
				o->e == PTR_NULL ? "NULL" : "page + pg");
		}
		fprintf(f, "\tr = setsockopt(%d, %d, %d /* %s */, p, %u);\n",
			o->a, oi->level, oi->optname, oi->name, len);
		break;
	}
	case OP_BIND:
	case OP_CONNECT:
		fprintf(f, "\tr = %s(%d, ADDR(%d, \"%s\", %d));\n",
			kinds[o->kind].name, o->a, a->family, a->addr,
			ports[IDX(o->c, n_ports)]);
		break;
	case OP_LISTEN:
		fprintf(f, "\tr = listen(%d, %d);\n", o->a, o->b);
		break;
	case OP_DUP:
		fprintf(f, "\tr = dup(%d);\n", o->a);
		break;
	case OP_DUP2:
		fprintf(f, "\tr = dup2(%d, %d);\n", o->a, o->b);
		break;
	case OP_DUP3:
		fprintf(f, "\tr = dup3(%d, %d, %#x);\n", o->a, o->b, o->c);
		break;
	case OP_FCNTL_DUPFD:
		fprintf(f, "\tr = fcntl(%d, %s, %d);\n", o->a,
			o->c ? "F_DUPFD_CLOEXEC" : "F_DUPFD", o->b);
		break;
	case OP_FCNTL_SETFL:
		fprintf(f, "\tr = fcntl(%d, F_SETFL, %s);\n", o->a,
			o->b ? "O_NONBLOCK" : "0");
		break;
	case OP_FCNTL_SETFD:
		fprintf(f, "\tr = fcntl(%d, F_SETFD, %s);\n", o->a,
			o->b ? "FD_CLOEXEC" : "0");
		break;
	case OP_CLOSE:
		fprintf(f, "\tr = close(%d);\n", o->a);
		break;
	case OP_CLOSE_RANGE:
		fprintf(f, "\tr = close_range(%uU, %uU, %#x);\n",
			(unsigned)o->a, (unsigned)o->b, o->c);
		break;
	case OP_CLOSEFROM:
		fprintf(f, "\tclosefrom(%d);\n\tr = 0;\n", o->a);
		break;
	case OP_EPOLL_CREATE:
		fprintf(f, "\tr = epoll_create1(%s);\n",
			o->a ? "EPOLL_CLOEXEC" : "0");
		break;
	case OP_EPOLL_CTL:
		fprintf(f,
			"\tev.events = %#x;\n\tev.data.fd = %d;\n"
			"\tr = epoll_ctl(%d, %d, %d, &ev);\n",
			(unsigned)o->d, o->c, o->a, o->b, o->c);
		break;
	case OP_SOCKETPAIR:
		fprintf(f,
			"\tr = socketpair(AF_UNIX, %#x, 0, sv);\n"
			"\tprintf(\"socketpair: %%d %%d\\n\", sv[0], sv[1]);\n",
			o->a);
		break;
	case OP_SENDFD:
		fprintf(f,
			"\t{\n\t\tchar b = 'x', cb[CMSG_SPACE(sizeof(int))];\n"
			"\t\tstruct iovec v = {&b, 1};\n"
			"\t\tstruct msghdr m = {.msg_iov = &v, .msg_iovlen = "
			"1,\n"
			"\t\t\t.msg_control = cb, .msg_controllen = "
			"sizeof(cb)};\n"
			"\t\tstruct cmsghdr *c = CMSG_FIRSTHDR(&m);\n"
			"\t\tint sent = %d, got = -1;\n"
			"\t\tmemset(cb, 0, sizeof(cb));\n"
			"\t\tc = CMSG_FIRSTHDR(&m);\n"
			"\t\tc->cmsg_level = SOL_SOCKET;\n"
			"\t\tc->cmsg_type = SCM_RIGHTS;\n"
			"\t\tc->cmsg_len = CMSG_LEN(sizeof(int));\n"
			"\t\tmemcpy(CMSG_DATA(c), &sent, sizeof(int));\n"
			"\t\tstruct mmsghdr mm = {.msg_hdr = m};\n"
			"\t\tr = %s(%d, %s, MSG_DONTWAIT | MSG_NOSIGNAL);\n"
			"\t\tm.msg_controllen = sizeof(cb);\n"
			"\t\tif (r > 0 && recvmsg(%d, &m, MSG_DONTWAIT%s) > 0 "
			"&&\n"
			"\t\t    (c = CMSG_FIRSTHDR(&m)))\n"
			"\t\t\tmemcpy(&got, CMSG_DATA(c), sizeof(int));\n"
			"\t\tprintf(\"received fd %%d\\n\", got);\n\t}\n",
			o->b, o->d ? "sendmmsg" : "sendmsg", o->a,
			o->d ? "&mm, 1" : "&m", o->c,
			o->e ? " | MSG_CMSG_CLOEXEC" : "");
		break;
	case OP_FORK:
	case OP_RAWFORK:
		fprintf(f, "\tif ((pid = %s()) == 0) {\n\t\tr = ",
			o->kind == OP_FORK ? "fork" : "_Fork");
		act_text(f, o->a, o->b, o->c, o->d);
		fprintf(f,
			";\n\t\tshow(%d, \"child\", r, errno);\n"
			"\t\t_exit(0);\n\t}\n"
			"\tr = waitpid(pid, &st, 0) < 0 ? -1 : st;\n",
			i);
		break;
	case OP_VFORK:
		fprintf(f, "\tif ((pid = vfork()) == 0) {\n\t\t");
		act_text(f, o->a, o->b, o->c, o->d);
		fprintf(f,
			";\n%s\t\t_exit(0);\n\t}\n"
			"\tr = waitpid(pid, &st, 0) < 0 ? -1 : st;\n",
			o->e ? "" : "\t\texecve(probe[0], probe, environ);\n");
		break;
	case OP_SPAWN:
		fprintf(f, "\tposix_spawn_file_actions_init(&fa);\n");
		if (o->a)
			fprintf(f,
				"\tposix_spawn_file_actions_adddup2(&fa, %d, "
				"%d);\n",
				o->b, o->c);
		fprintf(f,
			"\tr = posix_spawn(&pid, probe[0], %s, NULL, probe, "
			"environ);\n"
			"\tif (r == 0)\n\t\twaitpid(pid, &st, 0);\n",
			o->a ? "&fa" : "NULL");
		break;
	case OP_SYSTEM:
		if (o->a)
			fprintf(f, "\tr = pclose(popen(\"exec /proc/$PPID/exe "
				   "probe\", \"r\"));\n");
		else
			fprintf(f, "\tr = system(\"exec /proc/$PPID/exe "
				   "probe\");\n");
		break;
	case OP_SIGNAL:
		fprintf(f, "\tsig_op = %d;\n\tr = raise(SIGUSR1);\n", i);
		break;
	case OP_EPOLL_WAIT:
		fprintf(f,
			"\t{\n\t\tstruct epoll_event e[8];\n"
			"\t\tr = epoll_wait(%d, e, 8, 0);\n"
			"\t\tfor (int k = 0; k < r; k++)\n"
			"\t\t\tprintf(\"event fd %%d %%#x\\n\", "
			"e[k].data.fd, e[k].events);\n\t}\n",
			o->a);
		break;
	case OP_ALTEXEC:
		fprintf(f,
			"\tif ((pid = fork()) == 0) {\n"
			"\t\tstack_t ss2 = {.ss_sp = malloc(%d * 1024), "
			".ss_size = %d * 1024};\n"
			"\t\tstruct sigaction sa = {.sa_handler = on_usr2, "
			".sa_flags = SA_ONSTACK};\n"
			"\t\tsigaltstack(&ss2, NULL);\n"
			"\t\tsigaction(SIGUSR2, &sa, NULL);\n"
			"\t\traise(SIGUSR2);\n\t\t_exit(4);\n\t}\n"
			"\tr = waitpid(pid, &st, 0) < 0 ? -1 : st;\n",
			o->a, o->a);
		break;
	}
	fprintf(f, "\tshow(%d, \"%s\", r, errno);\n", i, kinds[o->kind].name);
}

static void handlers(FILE *f, const struct seq *s)
{
	fprintf(f, "static volatile int sig_op;\n"
		   "__attribute__((unused)) static void on_usr2(int "
		   "sig)\n{\n\t(void)sig;\n"
		   "\texecve(probe[0], probe, environ);\n\t_exit(3);\n}\n"
		   "static void on_usr1(int sig)\n{\n"
		   "\tstruct sockaddr_storage ss;\n\tint r = 0;\n"
		   "\t(void)sig;\n\t(void)ss;\n\tswitch (sig_op) {\n");
	for (int i = 0; i < s->n; i++) {
		const struct op *o = &s->ops[i];

		if (o->kind != OP_SIGNAL)
			continue;
		fprintf(f, "\tcase %d:\n\t\tr = ", i);
		act_text(f, IDX(o->a, ACT_NKINDS) == ACT_EXEC ? ACT_NONE : o->a,
			 o->b, o->c, o->d);
		fprintf(f, ";\n\t\tbreak;\n");
	}
	fprintf(f, "\t}\n\tdprintf(1, \"handler: %%d\\n\", r);\n}\n");
}

int write_repro(const struct seq *s, const char *path, const char *what,
		const struct settings *st)
{
	FILE *f = fopen(path, "w");
	bool threads = false;

	if (!f)
		return -1;
	fprintf(f,
		"/* difftest reproducer (tests/difftest, issue 21).\n"
		" * %s\n"
		" * Build: cc -O1 -pthread -o repro repro.c\n"
		" * Run it without and with the library, each in a fresh "
		"network namespace:\n"
		" *   unshare -n sh -c 'ip link set lo up && ./repro' > "
		"without\n"
		" *   unshare -n sh -c 'ip link set lo up && "
		"LD_PRELOAD=%s MPTCPSHIM_CONFIG=/dev/null "
		"MPTCPSHIM_PORTS=%s ./repro' > with\n"
		" *   diff without with\n"
		" * Only \"kernel protocol\" may differ (6 -> 262) on a "
		"listener bound to a listed port.\n */\n",
		what, st->lib, ports_env);
	fputs(prologue, f);
	handlers(f, s);
	for (int i = 0; i < s->n; i++)
		threads |= s->ops[i].thread != 0;
	if (threads)
		fputs(workers, f);
	for (int i = 0; i < s->n; i++) {
		fprintf(f, "static void op%d(void)\n{\n", i);
		fprintf(f, "\tstatic unsigned char *page;\n"
			   "\tlong pg = sysconf(_SC_PAGESIZE);\n"
			   "\tstruct sockaddr_storage ss;\n"
			   "\tstruct epoll_event ev;\n"
			   "\tposix_spawn_file_actions_t fa;\n"
			   "\tpid_t pid;\n\tint st = 0, sv[2];\n\tlong r;\n"
			   "\tvoid *p;\n"
			   "\tif (!page) {\n"
			   "\t\tpage = mmap(NULL, 2 * pg, PROT_READ | "
			   "PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);\n"
			   "\t\tmprotect(page + pg, pg, PROT_NONE);\n\t}\n"
			   "\t(void)ss; (void)ev; (void)fa; (void)pid; "
			   "(void)st; (void)sv; (void)p;\n");
		op_c(f, i, &s->ops[i]);
		fprintf(f, "}\n");
	}
	fprintf(f, "int main(int argc, char **argv)\n{\n"
		   "\tstruct sigaction sa = {.sa_handler = on_usr1};\n"
		   "\tif (argc > 1) {\n\t\tstate(\"child\");\n"
		   "\t\treturn 0;\n\t}\n"
		   "\tsigaction(SIGUSR1, &sa, NULL);\n");
	if (threads)
		fprintf(f, "\tpthread_t t;\n"
			   "\tpthread_create(&t, NULL, worker, (void *)1);\n"
			   "\tpthread_create(&t, NULL, worker, (void *)2);\n");
	for (int i = 0; i < s->n; i++)
		if (s->ops[i].thread)
			fprintf(f, "\thand_over(%d, op%d);\n", s->ops[i].thread,
				i);
		else
			fprintf(f, "\top%d();\n", i);
	fprintf(f, "\tstate(\"end\");\n\treturn 0;\n}\n");
	return fclose(f);
}
