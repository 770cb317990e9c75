/* SPDX-License-Identifier: MIT */
/*
 * Stage 09, promoted from step09-regs/step09.c for the steps after it.
 * The region below stays identical to the one there (make check-docs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/ioctl.h>

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
