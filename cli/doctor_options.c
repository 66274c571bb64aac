/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor, options: the socket options nginx's listen parameters
 * set, tried on an MPTCP listener and an accepted MPTCP socket (see
 * doctor_loopback.c); which of them this kernel refuses, and what that does
 * to nginx.
 */
#include "doctor.h"

#include <limits.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/utsname.h>

struct opt_probe {
	const char *name;
	int level, opt, val;
	bool accepted;	   /* on the accepted socket, not the listener */
	const char *param; /* the nginx listen parameter (or directive) */
	int result;	   /* 0 ok, else the errno */
};

static struct opt_probe opts[] = {
	{"SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR, 1, false, "(every listen)",
	 0},
	{"SO_REUSEPORT", SOL_SOCKET, SO_REUSEPORT, 1, false, "reuseport", 0},
	{"SO_RCVBUF", SOL_SOCKET, SO_RCVBUF, 65536, false, "rcvbuf=", 0},
	{"SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, 65536, false, "sndbuf=", 0},
	{"SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, 1, false,
	 "so_keepalive=", 0},
	{"TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, 60, false,
	 "so_keepalive=", 0},
	{"TCP_KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL, 10, false,
	 "so_keepalive=", 0},
	{"TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT, 5, false, "so_keepalive=", 0},
	{"TCP_FASTOPEN", IPPROTO_TCP, TCP_FASTOPEN, 16, false, "fastopen=", 0},
	{"TCP_DEFER_ACCEPT", IPPROTO_TCP, TCP_DEFER_ACCEPT, 1, false,
	 "deferred", 0},
	{"TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, 1, true,
	 "tcp_nodelay on (the default)", 0},
	{"TCP_CORK", IPPROTO_TCP, TCP_CORK, 0, true, "tcp_nopush on", 0},
	/* no nginx parameter: other servers */
	{"TCP_MAXSEG", IPPROTO_TCP, TCP_MAXSEG, 1400, false, NULL, 0},
	{"TCP_USER_TIMEOUT", IPPROTO_TCP, TCP_USER_TIMEOUT, 30000, true, NULL,
	 0},
	{"TCP_QUICKACK", IPPROTO_TCP, TCP_QUICKACK, 1, true, NULL, 0},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))
static bool opts_probed;

static int try_opt(int fd, const struct opt_probe *o)
{
	return setsockopt(fd, o->level, o->opt, &o->val, sizeof(o->val)) == 0
		       ? 0
		       : errno;
}

void opts_try_listener(int fd, bool bound)
{
	/* SO_REUSEADDR and SO_REUSEPORT before bind, as nginx does */
	for (size_t i = bound ? 2 : 0; i < (bound ? NOPTS : 2); i++)
		if (!opts[i].accepted)
			opts[i].result = try_opt(fd, &opts[i]);
}

void opts_try_accepted(int fd)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (opts[i].accepted)
			opts[i].result = try_opt(fd, &opts[i]);
	opts_probed = true;
}

/* nginx listen lines that use param, into the finding's details. */
static unsigned nginx_lines_with(struct finding *f, const char *param)
{
	unsigned n = 0;

	if (!dr.ngx_found || !dr.ngx.conf_read)
		return 0;
	for (size_t i = 0; i < dr.ngx.n; i++) {
		const struct ngx_listen *l = &dr.ngx.l[i];

		if (l->udp || l->unix_sock || !ngx_listen_has(l, param))
			continue;
		if (f)
			dr_detail(f, "%s:%u: %s;", l->file, l->line, l->text);
		n++;
	}
	return n;
}

/* The one command that adds an option to the library's tolerate setting
 * in its configuration file, keeping the options already there. */
static void tolerate_fix(struct finding *f, const char *name)
{
	bool explicit_path;
	const char *path = cli_config_path(&explicit_path);
	char cur[512], q[PATH_MAX + 8];

	if (dr.cfg_ok && dr.cfg.tolerate.n > 0 &&
	    ms_optset_format(&dr.cfg.tolerate, cur, sizeof(cur)))
		dr_fix(f, "sed -i 's/^tolerate *=.*/tolerate = %s,%s/' %s", cur,
		       name, dr_shq(path, q, sizeof(q)));
	else
		dr_fix(f, "echo 'tolerate = %s' >> %s", name,
		       dr_shq(path, q, sizeof(q)));
	dr_detail(f, "then restart the server");
}

void check_options(void)
{
	struct utsname u;
	char refused_other[256] = "";
	bool any_nginx_refused = false;
	struct finding *f;

	if (!opts_probed)
		return;
	uname(&u);
	for (size_t i = 0; i < NOPTS; i++) {
		struct opt_probe *o = &opts[i];
		bool tolerated;

		if (o->result == 0)
			continue;
		if (!o->param) {
			size_t n = strlen(refused_other);

			snprintf(refused_other + n, sizeof(refused_other) - n,
				 "%s%s", n ? ", " : "", o->name);
			continue;
		}
		any_nginx_refused = true;
		tolerated = dr.cfg_ok &&
			    ms_optset_has(&dr.cfg.tolerate, o->level, o->opt);
		if (strcmp(o->name, "TCP_NODELAY") == 0) {
			f = dr_add(
				tolerated ? SEV_INFO : SEV_ERROR, "options",
				"kernel %s refuses TCP_NODELAY on MPTCP "
				"sockets (%s): nginx closes every keepalive "
				"and TLS connection whose TCP_NODELAY fails%s",
				u.release, strerror(o->result),
				tolerated ? "; the library's tolerate "
					    "setting covers it"
					  : "");
			if (!tolerated)
				tolerate_fix(f, "TCP_NODELAY");
			dr_detail(f, "or boot Debian 12's 6.1 or later: "
				     "measured to accept it");
			continue;
		}
		if (strcmp(o->name, "TCP_CORK") == 0) {
			f = dr_add(
				tolerated ? SEV_INFO : SEV_WARN, "options",
				"kernel %s refuses TCP_CORK on MPTCP sockets "
				"(%s): with 'tcp_nopush on' nginx's sends "
				"fail%s",
				u.release, strerror(o->result),
				tolerated ? "; tolerate covers it" : "");
			if (!tolerated) {
				tolerate_fix(f, "TCP_CORK");
				dr_detail(f, "or 'tcp_nopush off;' in nginx");
			}
			continue;
		}
		f = dr_add(
			SEV_WARN, "options",
			"kernel %s refuses %s on MPTCP listeners (%s): nginx "
			"'listen ... %s' logs \"setsockopt(%s) ... failed, "
			"ignored\" and goes on without it",
			u.release, o->name, strerror(o->result), o->param,
			o->name);
		if (nginx_lines_with(f, o->param) == 0 && dr.ngx_found &&
		    dr.ngx.conf_read) {
			f->sev = SEV_INFO;
			dr_detail(f, "no listen line of this nginx uses %s",
				  o->param);
		} else if (!dr.ngx_found || !dr.ngx.conf_read) {
			dr_probe(f, "grep -rn '%s' /etc/nginx", o->param);
		}
		if (strcmp(o->name, "TCP_FASTOPEN") == 0)
			dr_detail(f, "Debian 13's 6.12 accepts it (measured): "
				     "TCP Fast Open on an MPTCP listener");
	}
	if (!any_nginx_refused)
		dr_add(SEV_OK, "options",
		       "this kernel accepts on MPTCP sockets every option "
		       "nginx's listen parameters set (reuseport, rcvbuf=, "
		       "sndbuf=, so_keepalive=, fastopen=, deferred, "
		       "tcp_nodelay, tcp_nopush)");
	if (refused_other[0]) {
		f = dr_add(
			SEV_INFO, "options",
			"refused on MPTCP sockets by this kernel: %s (no nginx "
			"parameter sets them; another server that does gets "
			"ENOPROTOOPT or EOPNOTSUPP unless the library's "
			"tolerate setting names them)",
			refused_other);
	}
}

void opts_json(FILE *out)
{
	for (size_t i = 0; opts_probed && i < NOPTS; i++) {
		fprintf(out,
			"%s{\"name\":\"%s\",\"socket\":\"%s\",\"value\":%d,"
			"\"accepted\":%s",
			i ? "," : "", opts[i].name,
			opts[i].accepted ? "accepted" : "listener", opts[i].val,
			opts[i].result ? "false" : "true");
		if (opts[i].result)
			fprintf(out, ",\"errno\":\"%s\"",
				strerrorname_np(opts[i].result));
		if (opts[i].param) {
			fprintf(out, ",\"nginx\":");
			json_str(out, opts[i].param);
		}
		fputc('}', out);
	}
}
