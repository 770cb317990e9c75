/* SPDX-License-Identifier: MIT */
/*
 * test_step02: stage 02 asks the KVM device for its API version, accepts
 * 12 and nothing else, and refuses a device that is not KVM.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm_test.h"
#include "report.h"
#include "trace.h"

#ifndef CHECK_SUITE
Test(step02, version_is_12_as_kvm_answers_it)
{
	struct vm vm;

	vm_setup_through(&vm, 2);
	cr_assert_eq(vm.api_version, KVM_STABLE_API_VERSION,
		     "stage 02 stored API version %d; KVM_GET_API_VERSION "
		     "answers %d (KVM_STABLE_API_VERSION)", vm.api_version,
		     KVM_STABLE_API_VERSION);
	/* Asked again, directly: the stage stored what KVM said. */
	cr_assert_eq(kvm_ioctl_ok(vm.kvm_fd, KVM_GET_API_VERSION, 0UL),
		     vm.api_version, "KVM answers a version other than the "
		     "stage stored (%d)", vm.api_version);
	vm_destroy(&vm);
}

Test(step02, prints_its_stage_line)
{
	struct vm vm;
	char *out = stage_printed(&vm, 2), version[16];

	snprintf(version, sizeof(version), "%d", vm.api_version);
	stage_line_check(out, 2, (const char *const[]){ version, NULL });
	free(out);
	vm_destroy(&vm);
}

Test(step02, refuses_a_device_that_is_not_kvm)
{
	struct vm vm;
	struct capture c;
	char *err;

	setenv("KVM_DEVICE", "/dev/null", 1);
	vm_setup_through(&vm, 1);	/* opening /dev/null works */
	capture_begin(&c, 2);
	cr_assert_eq(kvm_check_api_version(&vm), -1,
		     "stage 02 (kvm_check_api_version) did not return -1; "
		     "after a failed call it must report it and return -1");
	err = capture_end(&c);
	assert_has(err, ": KVM_GET_API_VERSION failed: ENOTTY");
	free(err);
	vm_destroy(&vm);
}

/* KVM_GET_API_VERSION answers 11: a kernel speaking an API we do not know. */
static int version_11(int fd, unsigned long request, void *arg, int *result)
{
	(void)fd;
	(void)arg;
	if (request != KVM_GET_API_VERSION)
		return 0;
	*result = 11;
	return 1;
}

Test(step02, refuses_api_version_11)
{
	struct vm vm;
	struct capture c;
	char *err;

	vm_setup_through(&vm, 1);
	ioctl_hook = version_11;
	capture_begin(&c, 2);
	cr_assert_eq(kvm_check_api_version(&vm), -1,
		     "stage 02 (kvm_check_api_version) did not return -1; "
		     "after a failed call it must report it and return -1");
	err = capture_end(&c);
	ioctl_hook = NULL;
	/* It names the call and the version KVM gave. */
	assert_has(err, ": KVM_GET_API_VERSION ");
	assert_has(err, " 11");
	free(err);
	vm_destroy(&vm);
}

/* KVM_GET_API_VERSION answers 13: newer is not stable either. */
static int version_13(int fd, unsigned long request, void *arg, int *result)
{
	(void)fd;
	(void)arg;
	if (request != KVM_GET_API_VERSION)
		return 0;
	*result = 13;
	return 1;
}

Test(step02, refuses_api_version_13)
{
	struct vm vm;
	struct capture c;
	char *err;

	vm_setup_through(&vm, 1);
	ioctl_hook = version_13;
	capture_begin(&c, 2);
	cr_assert_eq(kvm_check_api_version(&vm), -1,
		     "stage 02 accepted API version 13: only 12 is stable");
	err = capture_end(&c);
	ioctl_hook = NULL;
	/* It names the call and the version KVM gave. */
	assert_has(err, ": KVM_GET_API_VERSION ");
	assert_has(err, " 13");
	free(err);
	vm_destroy(&vm);
}

/* The program's main, in this process so the hook reaches it. */
Test(step02, program_exits_1_on_api_version_11)
{
	char *argv[] = { "step02", NULL };
	struct capture out, err;
	char *o, *e;
	int status;

	ioctl_hook = version_11;
	capture_begin(&out, 1);
	capture_begin(&err, 2);
	status = step_main(1, argv);
	e = capture_end(&err);
	o = capture_end(&out);
	ioctl_hook = NULL;
	cr_assert_eq(status, EXIT_SETUP, "status %d; stderr:\n%s", status, e);
	assert_has(e, ": KVM_GET_API_VERSION ");
	cr_assert(!strstr(o, "[02]"), "stage 02 said it succeeded:\n%s", o);
	cr_assert(!strncmp(o, "[01] ", 5), "stage 01's line is missing:\n%s", o);
	free(o);
	free(e);
}

STEP_PROGRAM_TEST(step02, 2)

#else
/*
 * The maintainers' part (make check-suites builds it as check_step02):
 * what KVM itself answers, as the README teaches it, and what the test
 * harness and the hint table say; a wrong stage 02 fails the tests above.
 */
Test(step02, refuses_a_nonzero_argument)
{
	struct vm vm;

	/* kvm_dev_ioctl(): KVM_GET_API_VERSION takes none, so 0 only. */
	vm_setup_through(&vm, 1);
	kvm_ioctl_refused(vm.kvm_fd, KVM_GET_API_VERSION, 1UL, EINVAL,
			  "KVM_GET_API_VERSION takes no argument (1 here)");
	vm_destroy(&vm);
}
#endif
