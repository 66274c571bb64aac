/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor, nginx: its version, whether it has native multipath
 * listeners (then the listen lines to write), and its listen lines.
 */
#include "doctor.h"

void check_nginx(const char *given)
{
	char buf[4096];
	const char *path =
		given ? given : diag_which("nginx", buf, sizeof(buf));
	struct finding *f;
	int e;

	if (!path) {
		dr_add(SEV_INFO, "nginx", "no nginx on PATH (or give --nginx)");
		return;
	}
	if ((e = ngx_inspect(path, &dr.ngx))) {
		f = dr_add(given ? SEV_ERROR : SEV_INFO, "nginx",
			   "%s could not be run: %s", path, strerror(e));
		return;
	}
	dr.ngx_found = true;
	check_program(path, given != NULL);
	if (!dr.ngx.version[0]) {
		dr_add(SEV_INFO, "nginx", "%s: no version from 'nginx -v'",
		       path);
		return;
	}
	if (!dr.ngx.native) {
		dr_add(SEV_OK, "nginx",
		       "%s %s has no native 'listen ... multipath' (nginx "
		       "1.29.7, "
		       "freenginx 1.27.5, Angie 1.10): the library converts "
		       "its "
		       "listeners",
		       dr.ngx.product, dr.ngx.version);
		if (!dr.ngx.conf_read)
			dr_add(SEV_INFO, "nginx",
			       "'nginx -T' failed (%s): listen lines not read",
			       dr.ngx.conf_err);
		return;
	}
	f = dr_add(SEV_INFO, "nginx",
		   "%s %s has native 'listen ... multipath': prefer it to the "
		   "library (no preload, no 'env' lines for binary upgrades)",
		   dr.ngx.product, dr.ngx.version);
	if (!dr.ngx.conf_read) {
		dr_detail(f,
			  "'nginx -T' failed (%s); the pattern, once per "
			  "address and port: listen ADDRESS:PORT [...] "
			  "multipath;",
			  dr.ngx.conf_err);
	} else {
		unsigned todo = 0;

		for (size_t i = 0; i < dr.ngx.n; i++) {
			const struct ngx_listen *l = &dr.ngx.l[i], *pick = NULL;
			bool done = false, first = true;

			if (l->udp || l->unix_sock || !l->key[0])
				continue;
			/* one line per address: nginx refuses options on
			 * two listens of one address ("duplicate listen
			 * options"), so the one that already sets some */
			for (size_t k = 0; k < dr.ngx.n; k++) {
				const struct ngx_listen *o = &dr.ngx.l[k];

				if (strcmp(o->key, l->key) != 0)
					continue;
				if (k < i)
					first = false;
				done |= o->multipath;
				if (o->set_opt && !pick)
					pick = o;
			}
			if (!first || done)
				continue;
			if (!pick)
				pick = l;
			dr_detail(f, "%s:%u: %s;  ->  %s multipath;",
				  pick->file, pick->line, pick->text,
				  pick->text);
			todo++;
		}
		if (todo == 0)
			dr_detail(f, "every TCP listen address already has "
				     "multipath");
	}
	dr_detail(f, "after writing the listen lines, the library's drop-in "
		     "goes:");
	dr_fix(f, "mptcpshim disable nginx && systemctl restart nginx");
}
