/* SPDX-License-Identifier: MIT */
/*
 * test_step01: stage 01 opens the KVM device read-write and close-on-exec,
 * and the step01 program says so; a missing device is a clear error.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <string.h>

#include "kvm_test.h"
#include "report.h"

Test(step01, opens_device_read_write_close_on_exec)
{
	struct vm vm = VM_EMPTY;
	int fd;

	stage_quiet = 1;
	fd = kvm_open(&vm);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fd, vm.kvm_fd);
	cr_assert_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC, "fd is not close-on-exec");
	vm_destroy(&vm);
}

Test(step01, program_reports_missing_device)
{
	const char *argv[] = { STEP_PROGRAM, NULL };
	const char *env[] = { "KVM_DEVICE=/nonexistent", NULL };
	struct program_result r;

	program_run(argv, env, 10, &r);
	cr_assert_eq(r.status, EXIT_SETUP);
	cr_assert(strstr(r.err, "open /nonexistent failed: ENOENT"), "%s", r.err);
	cr_assert(strstr(r.err, "hint:"), "%s", r.err);
	program_result_free(&r);
}
