/* SPDX-License-Identifier: MIT */
/*
 * step05: give the VM memory.
 *
 * Guest memory is ordinary memory of this process.  We map it with mmap,
 * then KVM_SET_USER_MEMORY_REGION tells KVM which guest physical
 * addresses it backs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "options.h"
#include "report.h"
#include "vm.h"

/* region: vm_memory_add */
/* Stage 05: back guest physical 0..size with fresh host memory (slot 0). */
int vm_memory_add(struct vm *vm, size_t size)
{
	struct kvm_userspace_memory_region region;
	void *mem;

	/*
	 * Anonymous, private, zero-filled; pages are only taken when first
	 * touched.  MAP_NORESERVE: reserve no swap for it either, so even a
	 * large VM costs nothing up front.
	 */
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return report_errno("mmap guest memory", errno);
	vm->mem = mem;
	vm->mem_size = size;

	region = (struct kvm_userspace_memory_region) {
		.slot = GUEST_MEM_SLOT,
		.flags = 0,
		.guest_phys_addr = GUEST_MEM_GPA,
		.memory_size = size,		/* a multiple of the page size */
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return report_errno("KVM_SET_USER_MEMORY_REGION", errno);
	stage_say(5, "KVM_SET_USER_MEMORY_REGION: slot %u, GPA 0x%llx, "
		  "%zu KiB at host %p", region.slot,
		  (unsigned long long)region.guest_phys_addr, size >> 10, mem);
	return 0;
}
/* endregion: vm_memory_add */

int main(int argc, char **argv)
{
	struct vm vm = VM_EMPTY;
	int status = EXIT_SUCCESS;

	step_options(argc, argv, "Create a VM and give it memory.");
	if (kvm_open(&vm) < 0 ||			/* 01 */
	    kvm_check_api_version(&vm) < 0 ||		/* 02 */
	    vm_create(&vm) < 0 ||			/* 03 */
	    vm_set_tss_addr(&vm) < 0 ||			/* 04 */
	    vm_memory_add(&vm, GUEST_MEM_SIZE) < 0)	/* 05: this step */
		status = EXIT_SETUP;
	vm_destroy(&vm);
	return status;
}
