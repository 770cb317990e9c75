/* SPDX-License-Identifier: MIT */
/* options.c: the command line of steps 01 to 09; --timeout's seconds. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "report.h"
#include "std_streams.h"
#include "trace.h"
#include "vm.h"

static void usage(FILE *to, const char *what)
{
	fprintf(to, "usage: %s [--trace]\n%s\n\n"
		"  --trace   print every KVM ioctl to stderr (also KVM_TRACE=1)\n"
		"  KVM_DEVICE=PATH   open PATH instead of /dev/kvm\n",
		program_invocation_short_name, what);
}

void step_options(int argc, char **argv, const char *what)
{
	if (std_streams_guard() < 0)	/* a lost output is status 1 */
		exit(EXIT_SETUP);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--trace")) {
			trace_enable(1);
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout, what);
			exit(EXIT_SUCCESS);
		} else {
			fprintf(stderr, "%s: unknown argument '%s'\n",
				program_invocation_short_name, argv[i]);
			usage(stderr, what);
			exit(EXIT_USAGE);
		}
	}
}

double option_seconds(const char *option, const char *text)
{
	char *end;
	double seconds;

	if (!text) {	/* the option was the last argument */
		report("%s wants a number of seconds (0 to 1000000) after it",
		       option);
		exit(EXIT_USAGE);
	}
	errno = 0;
	seconds = strtod(text, &end);
	if (errno || *end || end == text || !(seconds >= 0) || seconds > 1e6) {
		report("%s wants seconds from 0 to 1000000, not '%s'", option, text);
		exit(EXIT_USAGE);
	}
	return seconds;
}
