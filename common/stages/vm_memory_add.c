/* SPDX-License-Identifier: MIT */
/*
 * Stage 05, promoted from step05-memory/step05.c for the steps after it.
 * The region below stays identical to the one there (make check-docs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

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
