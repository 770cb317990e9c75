/* SPDX-License-Identifier: MIT */
/*
 * check_steps: what every step program does the same way, through
 * common/, checked once for steps 01 to 10 rather than in each step's
 * tests; and the hint table's wording, the one place it is checked.
 * The maintainers' suite: make check-suites (README.md).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm_test.h"
#include "report.h"

#define STEPS	10

/* Point step_program() at step n's program: TOP/stepNN-x/stepNN. */
static void step_program_choose(int n)
{
	char exe[4096], pattern[64], path[8192];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;
	FILE *ls;

	cr_assert(len > 0, "readlink /proc/self/exe failed: %s", errno_name(errno));
	exe[len] = '\0';
	for (int i = 0; i < 3 && (slash = strrchr(exe, '/')); i++)
		*slash = '\0';	/* TOP/.build/tests/check_steps -> TOP */
	snprintf(pattern, sizeof(pattern), "/step%02d-*/step%02d", n, n);
	snprintf(path, sizeof(path), "ls -d '%s'%s 2>/dev/null", exe, pattern);
	ls = popen(path, "r");
	cr_assert(ls, "popen failed: %s", errno_name(errno));
	cr_assert(fgets(path, sizeof(path), ls), "no program %s%s: make, at the top, "
		  "builds it", exe, pattern);
	pclose(ls);
	path[strcspn(path, "\n")] = '\0';
	step_program_set(path);
}

static int *steps(void)
{
	static int n[STEPS];

	for (int i = 0; i < STEPS; i++)
		n[i] = i + 1;
	return n;
}

ParameterizedTestParameters(programs, behave_as_every_step_must)
{
	return cr_make_param_array(int, steps(), STEPS);
}

/* Its output lost on a full disk: status 1 naming ENOSPC, not a silent 0. */
static void program_check_full_stdout(void)
{
	const char *argv[] = { "/bin/sh", "-c", "exec \"$0\" >/dev/full",
			       step_program(), NULL };
	struct program_result r;

	program_run(argv, NULL, 60, &r);
	cr_assert_eq(r.status, EXIT_SETUP, "%s >/dev/full exited %d; its output "
		     "was lost, so it must exit %d:\n%s", step_program(),
		     r.status, EXIT_SETUP, r.err);
	cr_assert(strstr(r.err, "ENOSPC"), "%s >/dev/full did not name ENOSPC:\n%s",
		  step_program(), r.err);
	program_result_free(&r);
}

/*
 * Step n's program, as a user runs it: a missing device, a device that
 * is not KVM, one it may not open, an unknown option, --help, --trace,
 * a full stdout.
 */
ParameterizedTest(int *n, programs, behave_as_every_step_must, .timeout = 120)
{
	step_program_choose(*n);
	program_check_missing_device();
	program_check_not_kvm_device(*n);
	program_check_permission_denied();
	program_check_unknown_argument();
	program_check_help();
	program_check_trace(*n);
	program_check_full_stdout();
}

/* Each hint of the table (common/lib/report.c) says what it is there for. */
Test(hints, say_the_likely_cause)
{
	static const struct {
		const char *call;
		int err;
		const char *says;	/* NULL: must not say */
		const char *not;
	} cases[] = {
		{ "open /dev/kvm", ENOENT, "there is no KVM device", NULL },
		{ "open /dev/kvm", EACCES, "join the kvm group", NULL },
		{ "KVM_GET_API_VERSION", ENOTTY, "this file is not a KVM device", NULL },
		{ "KVM_GET_API_VERSION", EINVAL, "pass 0", NULL },
		{ "KVM_SET_USER_MEMORY_REGION", EINVAL,
		  "keeps its size and host address", NULL },
		/* MAP_ANONYMOUS named whatever the attendee called the mmap. */
		{ "mmap guest memory", EBADF, "MAP_ANONYMOUS", NULL },
		{ "mmap", EBADF, "MAP_ANONYMOUS", NULL },
		{ "Guest memory mmap", EBADF, "MAP_ANONYMOUS", NULL },
		{ "guest memory", EBADF, "MAP_ANONYMOUS", NULL },
		/* KVM_DEVICE naming another path: a hint about that path. */
		{ "open /nonexistent", ENOENT, "KVM_DEVICE", "module" },
		{ "open /dev/tty", ENXIO, "KVM_DEVICE", "module" },
		{ "open /dev/null", ENODEV, "KVM_DEVICE", "module" },
		{ "open /dev/kvm/", ENOTDIR, "KVM_DEVICE", NULL },
		{ "KVM_CREATE_VCPU", EINVAL, "/dev/kvm", NULL },
		{ "KVM_GET_VCPU_MMAP_SIZE", EINVAL, "not a vCPU fd", NULL },
		{ "KVM_GET_VCPU_MMAP_SIZE", ENOTTY, "not a VM fd", NULL },
		{ "KVM_SET_SREGS", EINVAL, "1ULL << 31", NULL },
		{ "KVM_SET_SREGS", EINVAL, "CPUID", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *hint = errno_hint(cases[i].call, cases[i].err);

		cr_assert(hint && strstr(hint, cases[i].says),
			  "the hint for %s failing with %s does not say \"%s\": %s",
			  cases[i].call, errno_name(cases[i].err), cases[i].says,
			  hint ? hint : "(none)");
		cr_assert(!cases[i].not || !strstr(hint, cases[i].not),
			  "the hint for %s failing with %s says \"%s\": %s",
			  cases[i].call, errno_name(cases[i].err), cases[i].not, hint);
	}
	/* A closed stdout: stdout_finish() says what it means, not the table. */
	cr_assert_null(errno_hint("writing to stdout", EBADF),
		       "writing to a closed stdout got the table's hint: %s",
		       errno_hint("writing to stdout", EBADF));
}
