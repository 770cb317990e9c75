/* SPDX-License-Identifier: MIT */
/* command_line.c: step10's options and its --help (step10.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "report.h"
#include "std_streams.h"
#include "step10.h"
#include "trace.h"

static void usage(FILE *to)
{
	fprintf(to,
		"usage: step10 [--trace] [--timeout SECONDS] [--coalesce] [GUEST.bin]\n"
		"Run a 64-bit guest: the built-in greeting, or the flat binary GUEST.bin\n"
		"(loaded and entered at 0x%llx; see step10-guest/README.md).\n\n"
		"  --timeout SECONDS  stop a guest that has not halted (default %g; 0: never)\n"
		"  --coalesce         queue port 0x%x output in KVM's coalesced ring\n"
		"  --trace            print every KVM ioctl to stderr (also KVM_TRACE=1)\n"
		"Exit status: 0 the guest halted, 1 a call or writing the output failed,\n"
		"2 bad usage or guest image, 3 the guest failed, 4 the guest was stopped\n"
		"(timeout, Ctrl-C, SIGTERM, SIGHUP, SIGALRM).\n",
		GUEST_LOAD_ADDR, DEFAULT_TIMEOUT_SECONDS, CONSOLE_PORT);
}

void command_line_parse(int argc, char **argv, struct run_options *opt,
			const char **guest_path)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, "--trace")) {
			trace_enable(1);
		} else if (!strcmp(arg, "--coalesce")) {
			opt->coalesce = 1;
		} else if (!strcmp(arg, "--timeout")) {
			opt->timeout = option_seconds("--timeout", argv[++i]);
		} else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			usage(stdout);
			exit(stdout_finish() < 0 ? EXIT_SETUP : EXIT_SUCCESS);
		} else if (arg[0] == '-' || *guest_path) {
			report("unexpected argument '%s'", arg);
			usage(stderr);
			exit(EXIT_USAGE);
		} else {
			*guest_path = arg;
		}
	}
}
