/* SPDX-License-Identifier: MIT */
/*
 * worker_name.c: Criterion runs each test in a process of its own named
 * "boxfort-worker".  Give that process the step's name instead, so what a
 * stage reports during a test reads as it does from the program
 * ("step05: KVM_SET_USER_MEMORY_REGION failed: ..."); Criterion's own
 * line after it names the test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

static void __attribute__((constructor)) worker_name_set(void)
{
	static const char program[] = STEP_PROGRAM;
	const char *slash = strrchr(program, '/');

	program_invocation_short_name = (char *)(slash ? slash + 1 : program);
}
