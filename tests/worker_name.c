/* SPDX-License-Identifier: MIT */
/*
 * worker_name.c: Criterion runs each test in a process of its own named
 * "boxfort-worker".  Give that process the step's name instead, so what a
 * stage reports during a test reads as it does from the program
 * ("step05: KVM_SET_USER_MEMORY_REGION failed: ..."); Criterion's own
 * line after it names the test.
 * Every test process also dies with the one that started it (a worker
 * with its runner, a runner with whatever ran it): a runner killed by a
 * timeout leaves no worker spinning in KVM_RUN.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

static void __attribute__((constructor)) worker_name_set(void)
{
	static const char program[] = STEP_PROGRAM;
	const char *slash = strrchr(program, '/');

	program_invocation_short_name = (char *)(slash ? slash + 1 : program);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}
