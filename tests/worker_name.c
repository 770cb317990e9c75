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
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static void __attribute__((constructor)) worker_name_set(void)
{
	/* .../test_step05 or check_step05 (/proc/self/exe) -> step05 */
	static char name[64];
	char exe[4096], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	slash = slash ? slash + 1 : exe;
	if (!strncmp(slash, "test_", 5) || !strncmp(slash, "check_", 6))
		slash = strchr(slash, '_') + 1;
	snprintf(name, sizeof(name), "%.63s", slash);
	program_invocation_short_name = name;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}
