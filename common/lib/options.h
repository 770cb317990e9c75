/* SPDX-License-Identifier: MIT */
/* options.h: the command line that steps 01 to 09 share; --timeout's seconds. */
#ifndef OPTIONS_H
#define OPTIONS_H

/*
 * Handle "--trace" (same as KVM_TRACE=1) and "--help"; any other
 * argument is a usage error: print usage to stderr, exit EXIT_USAGE.
 * what is the step's one-line purpose, shown by --help.
 */
void step_options(int argc, char **argv, const char *what);

/*
 * The number of seconds text gives, from 0 to 1000000 (a fraction is
 * fine).  Anything else, or no text (NULL: the option came last, as
 * argv[argc] is NULL), is a usage error naming option: exit EXIT_USAGE.
 */
double option_seconds(const char *option, const char *text);

#endif
