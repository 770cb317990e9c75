/* SPDX-License-Identifier: MIT */
/*
 * test_step01: stage 01 opens the KVM device read-write and close-on-exec,
 * and the step01 program says so; a missing device is a clear error.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

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

Test(step01, fd_is_the_kvm_device_and_answers_kvm_ioctls)
{
	struct vm vm = VM_EMPTY;
	struct stat dev, opened;

	stage_quiet = 1;
	cr_assert_geq(kvm_open(&vm), 0);
	cr_assert_str_eq(fd_target(vm.kvm_fd), "/dev/kvm");
	cr_assert(stat("/dev/kvm", &dev) == 0 && fstat(vm.kvm_fd, &opened) == 0);
	cr_assert(S_ISCHR(opened.st_mode), "not a character device");
	cr_assert_eq(opened.st_rdev, dev.st_rdev);
	/* Only KVM answers this: the fd really reaches the KVM module. */
	cr_assert_eq(kvm_ioctl_ok(vm.kvm_fd, KVM_GET_API_VERSION, 0UL),
		     KVM_STABLE_API_VERSION, "KVM_GET_API_VERSION on the fd is "
		     "not %d", KVM_STABLE_API_VERSION);
	vm_destroy(&vm);
}

Test(step01, opens_one_fd_and_vm_destroy_closes_it)
{
	struct vm vm = VM_EMPTY;
	int before = fd_count();

	stage_quiet = 1;
	cr_assert_geq(kvm_open(&vm), 0);
	cr_assert_eq(fd_count(), before + 1);
	vm_destroy(&vm);
	cr_assert_eq(fd_count(), before);
	cr_assert_eq(vm.kvm_fd, -1);
}

Test(step01, prints_its_stage_line)
{
	struct vm vm = VM_EMPTY;
	struct capture c;
	char *out, want[64];

	capture_begin(&c, 1);
	cr_assert_geq(kvm_open(&vm), 0);
	out = capture_end(&c);
	snprintf(want, sizeof(want), "[01] open /dev/kvm: fd %d\n", vm.kvm_fd);
	cr_assert_str_eq(out, want);
	free(out);
	vm_destroy(&vm);
}

Test(step01, reports_missing_device_with_errno_name_and_hint)
{
	struct vm vm = VM_EMPTY;
	struct capture c;
	char *err;

	setenv("KVM_DEVICE", "/nonexistent", 1);
	capture_begin(&c, 2);
	cr_assert_eq(kvm_open(&vm), -1);
	err = capture_end(&c);
	cr_assert_eq(vm.kvm_fd, -1);
	cr_assert(strstr(err, ": open /nonexistent failed: ENOENT (No such file "
			 "or directory)\n  hint: there is no KVM device"), "%s", err);
	free(err);
}

STEP_PROGRAM_TESTS(step01, 1)
