/* SPDX-License-Identifier: MIT */
/*
 * step06: create a vCPU.
 *
 * KVM_CREATE_VCPU on the VM fd returns a new fd: one virtual CPU.  Its
 * registers, and running it, go through this fd from now on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "options.h"
#include "report.h"
#include "vm.h"

/* region: vcpu_create */
/* Stage 06: create vCPU 0; returns its fd, or -1. */
int vcpu_create(struct vm *vm)
{
	unsigned long id = 0;	/* on x86 the vCPU id is its APIC id */

	vm->vcpu_fd = ioctl(vm->fd, KVM_CREATE_VCPU, id);
	if (vm->vcpu_fd < 0)
		return report_errno("KVM_CREATE_VCPU", errno);
	stage_say(6, "KVM_CREATE_VCPU: vcpu %lu, fd %d", id, vm->vcpu_fd);
	return vm->vcpu_fd;
}
/* endregion: vcpu_create */

int main(int argc, char **argv)
{
	struct vm vm = VM_EMPTY;
	int status = EXIT_SUCCESS;

	step_options(argc, argv, "Create a VM with memory and one vCPU.");
	if (kvm_open(&vm) < 0 ||			/* 01 */
	    kvm_check_api_version(&vm) < 0 ||		/* 02 */
	    vm_create(&vm) < 0 ||			/* 03 */
	    vm_set_tss_addr(&vm) < 0 ||			/* 04 */
	    vm_memory_add(&vm, GUEST_MEM_SIZE) < 0 ||	/* 05 */
	    vcpu_create(&vm) < 0)			/* 06: this step */
		status = EXIT_SETUP;
	vm_destroy(&vm);
	return status;
}
