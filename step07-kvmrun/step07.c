/* SPDX-License-Identifier: MIT */
/*
 * step07: map the vCPU's kvm_run structure.
 *
 * Each vCPU shares a region of memory with the kernel.  It starts with
 * struct kvm_run, where KVM_RUN will say why the guest stopped; its size
 * (with the pages that follow it) comes from KVM_GET_VCPU_MMAP_SIZE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "options.h"
#include "report.h"
#include "vm.h"

/* region: vcpu_map_run */
/* Stage 07: map the vCPU fd's shared region as vcpu->run. */
int vcpu_map_run(struct vm *vm, struct vcpu *vcpu)
{
	/* Asked of /dev/kvm, not of the vCPU: it is the same for all. */
	int size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0UL);
	void *run;

	if (size < 0)
		return report_errno("KVM_GET_VCPU_MMAP_SIZE", errno);
	if ((size_t)size < sizeof(struct kvm_run))
		return report("KVM_GET_VCPU_MMAP_SIZE returned %d, smaller than "
			      "struct kvm_run (%zu bytes)", size,
			      sizeof(struct kvm_run));

	/* MAP_SHARED: the kernel writes here, and must see what we write. */
	run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu->fd, 0);
	if (run == MAP_FAILED)
		return report_errno("mmap", errno);
	vcpu->run = run;
	vcpu->run_size = size;
	stage_say(7, "KVM_GET_VCPU_MMAP_SIZE: %d bytes; kvm_run mapped at %p",
		  size, run);
	return 0;
}
/* endregion: vcpu_map_run */

int main(int argc, char **argv)
{
	struct vm vm = VM_EMPTY;
	int status = EXIT_SUCCESS;

	step_options(argc, argv, "Create a vCPU and map its kvm_run structure.");
	if (kvm_open(&vm) < 0 ||			/* 01 */
	    kvm_check_api_version(&vm) < 0 ||		/* 02 */
	    vm_create(&vm) < 0 ||			/* 03 */
	    vm_set_tss_addr(&vm) < 0 ||			/* 04 */
	    vm_memory_add(&vm, GUEST_MEM_SIZE) < 0 ||	/* 05 */
	    vcpu_create(&vm, &vm.vcpu, 0) < 0 ||	/* 06 */
	    vcpu_map_run(&vm, &vm.vcpu) < 0)		/* 07: this step */
		status = EXIT_SETUP;
	vm_destroy(&vm);
	return status;
}
