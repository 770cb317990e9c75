/* SPDX-License-Identifier: MIT */
/* vm.c: what is not a stage: where the device is, and tearing down. */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vm.h"

const char *kvm_device_path(void)
{
	const char *path = getenv("KVM_DEVICE");

	return path && *path ? path : "/dev/kvm";
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	*vcpu = (struct vcpu)VCPU_EMPTY;
}

void vm_destroy(struct vm *vm)
{
	vcpu_destroy(&vm->vcpu);
	if (vm->fd >= 0)
		close(vm->fd);		/* the kernel drops the memory slot */
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	*vm = (struct vm)VM_EMPTY;
}
