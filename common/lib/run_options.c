/* SPDX-License-Identifier: MIT */
/* run_options.c: the options of every program that runs a guest (run.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "report.h"
#include "run.h"
#include "std_streams.h"
#include "stop_signals.h"
#include "trace.h"

int run_option(int argc, char **argv, int *i, struct run_options *opt,
	       void (*usage)(FILE *to))
{
	const char *arg = argv[*i];

	if (!strcmp(arg, "--trace")) {
		trace_enable(1);
	} else if (!strcmp(arg, "--timeout")) {
		/* NULL as the last argument: option_seconds() says what is missing. */
		opt->timeout = option_seconds("--timeout",
					      *i + 1 < argc ? argv[++*i] : NULL);
	} else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
		usage(stdout);
		exit(stdout_finish() < 0 ? EXIT_SETUP : EXIT_SUCCESS);
	} else {
		return 0;
	}
	return 1;
}

void run_option_refuse(const char *arg, void (*usage)(FILE *to))
{
	report("unexpected argument '%s'", arg);
	usage(stderr);
	exit(EXIT_USAGE);
}

int run_prepare(struct run_options *opt)
{
	if (std_streams_prepare() < 0 || stop_signals_block() < 0)
		return -1;
	opt->out = stdout;
	return 0;
}
