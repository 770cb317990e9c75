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
	cr_assert_geq(fd, 0,
		      "stage 01 (kvm_open) returned %d; it must open the KVM "
		      "device and return its fd", fd);
	cr_assert_eq(fd, vm.kvm_fd,
		     "stage 01 returned fd %d but stored vm->kvm_fd = %d; "
		     "they must be the same fd", fd, vm.kvm_fd);
	cr_assert_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR,
		     "stage 01 opened the KVM device with access mode %d, not "
		     "O_RDWR (%d): KVM's ioctls need it read-write",
		     fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC, "fd is not close-on-exec");
	vm_destroy(&vm);
}

Test(step01, fd_is_the_kvm_device_and_answers_kvm_ioctls)
{
	struct vm vm = VM_EMPTY;
	struct stat dev, opened;

	stage_quiet = 1;
	cr_assert_geq(kvm_open(&vm), 0,
		      "stage 01 (kvm_open) failed; it must succeed here");
	cr_assert_str_eq(fd_target(vm.kvm_fd), "/dev/kvm",
			 "fd %d is %s; it must be %s", vm.kvm_fd,
			 fd_target(vm.kvm_fd), "/dev/kvm");
	cr_assert(stat("/dev/kvm", &dev) == 0 && fstat(vm.kvm_fd, &opened) == 0,
		  "stat of /dev/kvm or fstat of the fd of stage 01 failed: %s",
		  errno_name(errno));
	cr_assert(S_ISCHR(opened.st_mode), "not a character device");
	cr_assert_eq(opened.st_rdev, dev.st_rdev,
		     "the fd of stage 01 is device 0x%llx, but /dev/kvm is "
		     "0x%llx: it must open the KVM device",
		     (unsigned long long)opened.st_rdev,
		     (unsigned long long)dev.st_rdev);
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
	cr_assert_geq(kvm_open(&vm), 0,
		      "stage 01 (kvm_open) failed; it must succeed here");
	cr_assert_eq(fd_count(), before + 1,
		     "%d fds are open, %d before; there must be exactly one "
		     "more (its own)", fd_count(), before);
	vm_destroy(&vm);
	cr_assert_eq(fd_count(), before,
		     "%d fds are open, %d before; there must be none more: "
		     "what it opened must be closed", fd_count(), before);
	cr_assert_eq(vm.kvm_fd, -1,
		     "vm_destroy left vm->kvm_fd = %d; after closing it must "
		     "be -1", vm.kvm_fd);
}

Test(step01, prints_its_stage_line)
{
	struct vm vm;
	char *out = stage_printed(&vm, 1), fd[16];

	snprintf(fd, sizeof(fd), "%d", vm.kvm_fd);
	stage_line_check(out, 1, (const char *const[]){ "/dev/kvm", fd, NULL });
	free(out);
	vm_destroy(&vm);
}

Test(step01, reports_missing_device_with_errno_name_and_hint)
{
	struct vm vm = VM_EMPTY;

	/* Returns -1, names the call and the errno, prints no stage line. */
	setenv("KVM_DEVICE", "/nonexistent", 1);
	stage_failure_check(&vm, 1, ": open /nonexistent failed: ENOENT");
	cr_assert_eq(vm.kvm_fd, -1,
		     "stage 01 failed but left vm->kvm_fd = %d; a failed open "
		     "must leave it -1", vm.kvm_fd);
}

STEP_PROGRAM_TEST(step01, 1)
