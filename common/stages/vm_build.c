/* SPDX-License-Identifier: MIT */
/* vm_build.c: stages 01 to 09 in one call, for the chapters (vm.h). */
#include "vm.h"

int vm_build(struct vm *vm)
{
	if (kvm_open(vm) < 0 ||				/* 01 */
	    kvm_check_api_version(vm) < 0 ||		/* 02 */
	    vm_create(vm) < 0 ||			/* 03 */
	    vm_set_tss_addr(vm) < 0 ||			/* 04 */
	    vm_memory_add(vm, GUEST_MEM_SIZE) < 0 ||	/* 05 */
	    vcpu_create(vm, &vm->vcpu, 0) < 0 ||	/* 06 */
	    vcpu_map_run(vm, &vm->vcpu) < 0 ||		/* 07 */
	    vcpu_enter_long_mode(vm, &vm->vcpu) < 0 ||	/* 08 */
	    vcpu_regs_set(&vm->vcpu) < 0)		/* 09 */
		return -1;
	return 0;
}
