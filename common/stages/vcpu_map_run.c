/* SPDX-License-Identifier: MIT */
/*
 * Stage 07, promoted from step07-kvmrun/step07.c for the steps after it.
 * The region below stays identical to the one there (make check-docs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

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
