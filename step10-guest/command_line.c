/* SPDX-License-Identifier: MIT */
/* command_line.c: step10's options and its --help (step10.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"
#include "step10.h"

static void usage(FILE *to)
{
	fprintf(to,
		"usage: step10 [--trace] [--timeout SECONDS] [GUEST.bin]\n"
		"Run a 64-bit guest: the built-in greeting, or the flat binary GUEST.bin\n"
		"(loaded and entered at 0x%llx; see step10-guest/README.md).\n\n"
		"  --timeout SECONDS  stop a guest that has not halted (default %g; 0: never)\n"
		"  --trace            print every KVM ioctl to stderr (also KVM_TRACE=1)\n"
		"Exit status: 0 the guest halted, 1 a call or writing the output failed,\n"
		"2 bad usage or guest image, 3 the guest failed, 4 the guest was stopped\n"
		"(timeout, Ctrl-C, SIGTERM, SIGHUP, SIGALRM).\n",
		GUEST_LOAD_ADDR, DEFAULT_TIMEOUT_SECONDS);
}

void command_line_parse(int argc, char **argv, struct run_options *opt,
			const char **guest_path)
{
	for (int i = 1; i < argc; i++) {
		if (run_option(argc, argv, &i, opt, usage))
			continue;
		if (argv[i][0] == '-' || *guest_path)
			run_option_refuse(argv[i], usage);
		*guest_path = argv[i];
	}
}
