/* SPDX-License-Identifier: MIT */
/* command_line.h: step10's options and its --help. */
#ifndef COMMAND_LINE_H
#define COMMAND_LINE_H

#include "step10.h"

/*
 * Parse step10's command line into opt and *guest_path (NULL for the
 * built-in guest).  --help prints the usage and exits 0; a bad argument
 * prints the usage on stderr and exits EXIT_USAGE.
 */
void command_line_parse(int argc, char **argv, struct run_options *opt,
			const char **guest_path);

#endif
