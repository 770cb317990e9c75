/* SPDX-License-Identifier: MIT */
/* options.h: the command line that steps 01 to 09 share. */
#ifndef OPTIONS_H
#define OPTIONS_H

/*
 * Handle "--trace" (same as KVM_TRACE=1) and "--help"; any other
 * argument is a usage error: print usage to stderr, exit EXIT_USAGE.
 * what is the step's one-line purpose, shown by --help.
 */
void step_options(int argc, char **argv, const char *what);

#endif
