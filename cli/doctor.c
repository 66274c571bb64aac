/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor: a server's checklist. Can MPTCP work here, and what
 * keeps a connection to one path? The kernel is read through netlink (the
 * MPTCP path manager, routes and rules, nftables) and tried for real (an
 * MPTCP listener and connection on loopback, the socket options nginx
 * sets). Each finding that needs action carries one command that works
 * when pasted.
 *
 * This file reads the options, runs the check groups in order and gives
 * the verdict. Each group is a file of its own: doctor_kernel.c,
 * doctor_loopback.c, doctor_options.c, doctor_pm.c, doctor_endpoints.c
 * (limits, endpoints), doctor_routing.c, doctor_rp_filter.c,
 * doctor_nft.c, doctor_iptables.c, doctor_balancer.c,
 * doctor_counters.c, doctor_persistence.c,
 * doctor_library.c (library, config), doctor_nginx.c, doctor_program.c;
 * doctor --print-unit is doctor_unit.c. A finding's text is in its
 * group's file: grep for it there.
 */
#include "doctor.h"

#include <getopt.h>

struct doctor_state dr;

static const char doctor_help[] =
	"Usage: mptcpshim doctor [--json] [--window SECONDS] [--nginx PATH]\n"
	"                        [--program PATH]...\n"
	"       mptcpshim doctor --print-unit\n"
	"\n"
	"A server's checklist for Multipath TCP. Reads the kernel through\n"
	"netlink and tries it for real: MPTCP support and net.mptcp.enabled,\n"
	"a loopback MPTCP connection, the socket options nginx sets (which\n"
	"listen parameters this kernel refuses on MPTCP sockets), the path\n"
	"manager, its limits and endpoints (does the server announce its\n"
	"other addresses?), routing for several addresses (one table per\n"
	"address), rp_filter, firewall rules on TCP option 30 (nftables,\n"
	"iptables-nft, legacy iptables: one that drops, rejects or strips it\n"
	"is an error, named, with the command that deletes it), the kernel's\n"
	"MPTCP blackhole detection, the MPTcpExt counters (fallbacks, joins;\n"
	"since boot, or over --window), whether endpoints and limits survive "
	"a\n"
	"reboot, the library and its configuration, and the programs the\n"
	"library must reach (nginx found on PATH, and each --program):\n"
	"set-user-ID or file capabilities (the loader ignores LD_PRELOAD),\n"
	"Go or static binaries (no libc socket() to interpose). An nginx with\n"
	"native 'listen ... multipath' gets the listen lines to write.\n"
	"Each finding that needs action carries one command (\"fix:\"), which\n"
	"works when pasted into a shell; explanations are on lines of their\n"
	"own.\n"
	"\n"
	"  --json          the findings as one JSON object\n"
	"  --nginx PATH    the nginx binary to check (default: nginx on PATH)\n"
	"  --program PATH  another server binary to check (repeatable)\n"
	"  --window SECONDS  judge the MPTcpExt counters (fallbacks, joins)\n"
	"                  over SECONDS measured now (1-3600), not since boot\n"
	"  --print-unit    print a systemd unit that restores the current\n"
	"                  MPTCP endpoints and limits at boot\n"
	"\n"
	"Exit status: 0 no error (warnings allowed), 1 at least one error\n"
	"(MPTCP cannot work, or the library cannot reach the server),\n"
	"2 bad arguments.\n";

int cmd_doctor(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"json", no_argument, NULL, 'j'},
		{"nginx", required_argument, NULL, 'n'},
		{"program", required_argument, NULL, 'p'},
		{"print-unit", no_argument, NULL, 'u'},
		{"window", required_argument, NULL, 'w'},
		{NULL, 0, NULL, 0},
	};
	const char *nginx = NULL, *programs[32];
	unsigned nprog = 0, nerr = 0, nwarn = 0, window = 0;
	bool json = false, unit = false;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(doctor_help, stdout);
			return EX_OK;
		case 'j':
			json = true;
			break;
		case 'n':
			nginx = optarg;
			break;
		case 'p':
			if (nprog >= 32)
				return cli_usage_err("--program: at most 32");
			programs[nprog++] = optarg;
			break;
		case 'u':
			unit = true;
			break;
		case 'w': {
			char *end;
			unsigned long w;

			errno = 0;
			w = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || w < 1 ||
			    w > 3600 || optarg[0] == '-')
				return cli_usage_err(
					"--window: '%s' is not a number of "
					"seconds from 1 to 3600",
					optarg);
			window = (unsigned)w;
			break;
		}
		case ':':
			return cli_usage_err("option '%s' needs a value",
					     argv[optind - 1]);
		default:
			return cli_usage_err("unknown option '%s'",
					     argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_err("unexpected argument '%s'", argv[optind]);
	if (unit)
		return print_unit();

	load_config();
	dr.mptcp = check_kernel();
	if (dr.mptcp) {
		/* read before the loopback test, which counts too */
		read_counters(window);
		check_loopback();
		check_blackhole();
		check_path_manager();
		check_limits();
		check_endpoints();
		check_routing();
		check_rp_filter();
		check_nft();
		check_iptables();
		check_balancer();
		check_counters();
		check_persistence();
	}
	check_library();
	check_config();
	check_nginx(nginx);
	for (unsigned i = 0; i < nprog; i++)
		check_program(programs[i], true);
	if (dr.mptcp)
		check_options(); /* after nginx: names its listen lines */

	/* the verdict: any error, and MPTCP cannot work (exit 1) */
	for (size_t i = 0; i < nfindings; i++) {
		nerr += findings[i].sev == SEV_ERROR;
		nwarn += findings[i].sev == SEV_WARN;
	}
	if (json)
		print_json(nerr, nwarn);
	else
		print_text(nerr, nwarn);
	ms_config_free(&dr.cfg);
	ngx_free(&dr.ngx);
	free(dr.ep);
	return nerr ? EX_FAIL : EX_OK;
}
