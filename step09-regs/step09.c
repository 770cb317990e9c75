/* SPDX-License-Identifier: MIT */
/*
 * step09: set the general-purpose registers.
 *
 * KVM_SET_REGS loads RIP, RSP, RFLAGS and the other general-purpose
 * registers: where the guest starts, and where its stack is.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "options.h"
#include "report.h"
#include "vm.h"
#include "x86.h"

/* region: vcpu_regs_set */
/* Stage 09: start at GUEST_LOAD_ADDR with the stack at GUEST_STACK_TOP. */
int vcpu_regs_set(struct vcpu *vcpu)
{
	struct kvm_regs regs = {
		.rip = GUEST_LOAD_ADDR,		/* the guest's first instruction */
		.rsp = GUEST_STACK_TOP,		/* the stack grows down from here */
		.rflags = RFLAGS_RESERVED_1,	/* bit 1 must be 1; IF off */
	};

	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return report_errno("KVM_SET_REGS", errno);
	stage_say(9, "KVM_SET_REGS: RIP=0x%llx RSP=0x%llx RFLAGS=0x%llx",
		  (unsigned long long)regs.rip, (unsigned long long)regs.rsp,
		  (unsigned long long)regs.rflags);
	return 0;
}
/* endregion: vcpu_regs_set */

int main(int argc, char **argv)
{
	struct vm vm = VM_EMPTY;
	int status = EXIT_SUCCESS;

	step_options(argc, argv, "Set up a long-mode vCPU's registers.");
	if (kvm_open(&vm) < 0 ||			/* 01 */
	    kvm_check_api_version(&vm) < 0 ||		/* 02 */
	    vm_create(&vm) < 0 ||			/* 03 */
	    vm_set_tss_addr(&vm) < 0 ||			/* 04 */
	    vm_memory_add(&vm, GUEST_MEM_SIZE) < 0 ||	/* 05 */
	    vcpu_create(&vm, &vm.vcpu, 0) < 0 ||	/* 06 */
	    vcpu_map_run(&vm, &vm.vcpu) < 0 ||		/* 07 */
	    vcpu_enter_long_mode(&vm, &vm.vcpu) < 0 ||	/* 08 */
	    vcpu_regs_set(&vm.vcpu) < 0)		/* 09: this step */
		status = EXIT_SETUP;
	vm_destroy(&vm);
	return status;
}
