/* SPDX-License-Identifier: MIT */
/*
 * test_step03: stage 03 creates a VM: a new fd, distinct from /dev/kvm's,
 * that KVM answers VM ioctls on.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "faults.h"
#include "kvm_test.h"
#include "report.h"

#ifndef CHECK_SUITE
Test(step03, vm_fd_is_a_kvm_vm_and_not_the_device_fd)
{
	struct vm vm;

	vm_setup_through(&vm, 3);
	cr_assert_geq(vm.fd, 0,
		      "stage 03 left vm->fd = %d; KVM_CREATE_VM must have "
		      "given it the VM's fd", vm.fd);
	cr_assert_neq(vm.fd, vm.kvm_fd,
		      "stage 03 stored the device's fd %d as the VM fd; "
		      "KVM_CREATE_VM returns a new fd", vm.fd);
	/* KVM names the anonymous inode behind each VM fd "kvm-vm". */
	cr_assert_str_eq(fd_target(vm.fd), "anon_inode:kvm-vm",
			 "fd %d is %s; it must be %s", vm.fd, fd_target(vm.fd),
			 "anon_inode:kvm-vm");
	cr_assert_str_eq(fd_target(vm.kvm_fd), "/dev/kvm",
			 "fd %d is %s; it must be %s", vm.kvm_fd,
			 fd_target(vm.kvm_fd), "/dev/kvm");
	cr_assert(fcntl(vm.fd, F_GETFD) & FD_CLOEXEC, "VM fd not close-on-exec");
	vm_destroy(&vm);
}

Test(step03, creates_exactly_one_vm_with_type_0)
{
	struct vm vm;
	const struct ioctl_call *call;
	int before;

	vm_setup_through(&vm, 2);
	before = fd_count();
	stage_quiet = 1;
	ioctl_spy_start();
	cr_assert_eq(vm_create(&vm), vm.fd,
		     "stage 03 (vm_create) must return the VM fd it stored in "
		     "vm->fd (%d)", vm.fd);
	ioctl_spy_stop();
	cr_assert_eq(fd_count(), before + 1,
		     "%d fds are open, %d before; there must be exactly one "
		     "more (its own)", fd_count(), before);
	call = ioctl_spy_find(KVM_CREATE_VM);
	cr_assert(call, "no KVM_CREATE_VM");
	cr_assert_eq(call->fd, vm.kvm_fd,
		     "the ioctl was made on fd %d; it belongs on vm.kvm_fd "
		     "(fd %d)", call->fd, vm.kvm_fd);
	cr_assert_eq(call->arg, 0, "machine type %lu", call->arg);
	vm_destroy(&vm);
	cr_assert_eq(fd_count(), before - 1,
		     "%d fds are open, %d before; there must be exactly one "
		     "fewer: closing releases the fd", fd_count(), before);	/* the device fd is gone too */
}

Test(step03, reports_a_failed_kvm_create_vm)
{
	struct vm vm;

	vm_setup_through(&vm, 2);
	/* As when the process has no fd left for the VM. */
	cr_assert_eq(fault_inject_ioctl(KVM_CREATE_VM, EMFILE), 0,
		     "installing the seccomp filter that fails KVM_CREATE_VM "
		     "with EMFILE failed: %s", errno_name(errno));
	stage_failure_check(&vm, 3, ": KVM_CREATE_VM failed: EMFILE");
	cr_assert_eq(vm.fd, -1, "vm.fd is %d after a failed KVM_CREATE_VM",
		     vm.fd);
	vm_destroy(&vm);
}

Test(step03, prints_its_stage_line)
{
	struct vm vm;
	char *out = stage_printed(&vm, 3), fd[16];

	snprintf(fd, sizeof(fd), "%d", vm.fd);
	stage_line_check(out, 3, (const char *const[]){ fd, NULL });
	free(out);
	vm_destroy(&vm);
}

STEP_PROGRAM_TEST(step03, 3)

#else
/*
 * The maintainers' part (make check-suites builds it as check_step03):
 * what KVM itself answers, as the README teaches it, and what the test
 * harness and the hint table say; a wrong stage 03 fails the tests above.
 */
Test(step03, an_unknown_machine_type_is_refused)
{
	struct vm vm;

	/* kvm_arch_init_vm(): 6.1's x86 knows type 0 alone, 6.12's a few
	 * special ones too (KVM_X86_SW_PROTECTED_VM, SEV...). */
	vm_setup_through(&vm, 2);
	kvm_ioctl_refused(vm.kvm_fd, KVM_CREATE_VM, 99UL, EINVAL,
			  "there is no machine type 99");
	vm_destroy(&vm);
}

Test(step03, vm_fd_answers_vm_ioctls)
{
	struct vm vm;
	int slots;

	vm_setup_through(&vm, 3);
	/* KVM_CHECK_EXTENSION works on a VM fd where KVM says it may. */
	cr_assert_gt(kvm_ioctl_ok(vm.kvm_fd, KVM_CHECK_EXTENSION,
				  KVM_CAP_CHECK_EXTENSION_VM), 0,
		     "KVM_CAP_CHECK_EXTENSION_VM is 0: KVM says VM fds do not "
		     "answer KVM_CHECK_EXTENSION");
	slots = ioctl(vm.fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	cr_assert_gt(slots, 0, "KVM_CAP_NR_MEMSLOTS on the VM fd: %d (%s)",
		     slots, strerror(errno));
	vm_destroy(&vm);
}

Test(step03, vm_fd_refuses_device_ioctls)
{
	struct vm vm;

	vm_setup_through(&vm, 3);
	/* KVM_GET_API_VERSION is /dev/kvm's: a VM fd does not know it. */
	kvm_ioctl_refused(vm.fd, KVM_GET_API_VERSION, 0UL, ENOTTY,
			  "the VM fd must not be /dev/kvm's");
	vm_destroy(&vm);
}
#endif
