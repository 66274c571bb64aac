/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor: the findings, as text or as one JSON object.
 */
#include "doctor.h"

static const char *const sev_tag[] = {"[ok]", "[info]", "[warn]", "[error]"};
static const char *const sev_name[] = {"ok", "info", "warning", "error"};

void print_text(unsigned nerr, unsigned nwarn)
{
	for (size_t i = 0; i < nfindings; i++) {
		const struct finding *f = &findings[i];

		printf("%-7s %s\n", sev_tag[f->sev], f->msg);
		for (unsigned k = 0; k < f->ndetail; k++)
			printf("        %s\n", f->detail[k]);
		if (f->fix)
			printf("        fix: %s\n", f->fix);
		if (f->probe)
			printf("        check: %s\n", f->probe);
	}
	if (nerr == 0)
		printf("result: MPTCP can work here (%u warning%s)\n", nwarn,
		       nwarn == 1 ? "" : "s");
	else
		printf("result: %u error%s, %u warning%s: fix the errors "
		       "first\n",
		       nerr, nerr == 1 ? "" : "s", nwarn,
		       nwarn == 1 ? "" : "s");
}

void print_json(unsigned nerr, unsigned nwarn)
{
	printf("{\"result\":\"%s\",\"errors\":%u,\"warnings\":%u,"
	       "\"findings\":[",
	       nerr    ? "error"
	       : nwarn ? "warning"
		       : "ok",
	       nerr, nwarn);
	for (size_t i = 0; i < nfindings; i++) {
		const struct finding *f = &findings[i];

		printf("%s{\"check\":", i ? "," : "");
		json_str(stdout, f->check);
		printf(",\"severity\":\"%s\",\"message\":", sev_name[f->sev]);
		json_str(stdout, f->msg);
		if (f->fix) {
			printf(",\"fix\":");
			json_str(stdout, f->fix);
		}
		if (f->probe) {
			printf(",\"check_command\":");
			json_str(stdout, f->probe);
		}
		if (f->ndetail) {
			printf(",\"details\":[");
			for (unsigned k = 0; k < f->ndetail; k++) {
				if (k)
					putchar(',');
				json_str(stdout, f->detail[k]);
			}
			putchar(']');
		}
		putchar('}');
	}
	printf("],\"options\":[");
	opts_json(stdout);
	printf("]}\n");
}
