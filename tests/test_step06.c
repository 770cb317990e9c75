/* SPDX-License-Identifier: MIT */
/*
 * test_step06: stage 06 creates vCPU 0: a new fd that KVM names after
 * the vCPU, and the id is taken (a second vCPU 0 is refused).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm_test.h"
#include "report.h"

Test(step06, vcpu_fd_is_vcpu_0)
{
	struct vm vm;

	vm_setup_through(&vm, 6);
	cr_assert_geq(vm.vcpu_fd, 0);
	cr_assert_neq(vm.vcpu_fd, vm.fd);
	cr_assert_neq(vm.vcpu_fd, vm.kvm_fd);
	cr_assert_str_eq(fd_target(vm.vcpu_fd), "anon_inode:kvm-vcpu:0");
	cr_assert(fcntl(vm.vcpu_fd, F_GETFD) & FD_CLOEXEC,
		  "vCPU fd not close-on-exec");
	vm_destroy(&vm);
}

Test(step06, a_second_vcpu_0_is_refused)
{
	struct vm vm;
	int fd;

	vm_setup_through(&vm, 6);
	errno = 0;
	fd = ioctl(vm.fd, KVM_CREATE_VCPU, 0UL);
	cr_assert_eq(fd, -1, "KVM created a second vCPU 0");
	cr_assert_eq(errno, EEXIST, "errno %s", errno_name(errno));
	/* Only the id is taken: vCPU 1 is still possible. */
	fd = ioctl(vm.fd, KVM_CREATE_VCPU, 1UL);
	cr_assert_geq(fd, 0, "vCPU 1: %s", strerror(errno));
	cr_assert_str_eq(fd_target(fd), "anon_inode:kvm-vcpu:1");
	vm_destroy(&vm);
}

Test(step06, vcpu_fd_answers_vcpu_ioctls)
{
	struct vm vm;
	struct kvm_regs regs;

	vm_setup_through(&vm, 6);
	cr_assert_eq(ioctl(vm.vcpu_fd, KVM_GET_REGS, &regs), 0, "%s",
		     strerror(errno));
	/* A new vCPU is at the reset vector: real mode, RIP 0xfff0. */
	cr_assert_eq(regs.rip, 0xfff0);
	vm_destroy(&vm);
}

Test(step06, creates_one_vcpu_on_the_vm_fd)
{
	struct vm vm;
	const struct ioctl_call *call;
	int before;

	vm_setup_through(&vm, 5);
	before = fd_count();
	stage_quiet = 1;
	ioctl_spy_start();
	cr_assert_eq(vcpu_create(&vm), vm.vcpu_fd);
	ioctl_spy_stop();
	cr_assert_eq(fd_count(), before + 1);
	call = ioctl_spy_find(KVM_CREATE_VCPU);
	cr_assert(call, "no KVM_CREATE_VCPU");
	cr_assert_eq(call->fd, vm.fd, "not sent to the VM fd");
	cr_assert_eq(call->arg, 0, "vCPU id %lu", call->arg);
	vm_destroy(&vm);
}

Test(step06, prints_its_stage_line)
{
	struct vm vm;
	struct capture c;
	char *out, want[64];

	vm_setup_through(&vm, 5);
	capture_begin(&c, 1);
	cr_assert_geq(vcpu_create(&vm), 0);
	out = capture_end(&c);
	snprintf(want, sizeof(want), "[06] KVM_CREATE_VCPU: vcpu 0, fd %d\n",
		 vm.vcpu_fd);
	cr_assert_str_eq(out, want);
	free(out);
	vm_destroy(&vm);
}

STEP_PROGRAM_TESTS(step06, 6)
