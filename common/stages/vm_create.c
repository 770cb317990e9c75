/* SPDX-License-Identifier: MIT */
/*
 * Stage 03, promoted from step03-vm/step03.c for the steps after it.
 * The region below stays identical to the one there (make check-docs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/ioctl.h>

#include "report.h"
#include "vm.h"

/* region: vm_create */
/* Stage 03: create an empty VM; returns its fd, or -1. */
int vm_create(struct vm *vm)
{
	/* The argument is the machine type: 0, the default, on x86. */
	vm->fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0UL);
	if (vm->fd < 0)
		return report_errno("KVM_CREATE_VM", errno);
	stage_say(3, "KVM_CREATE_VM: VM fd %d", vm->fd);
	return vm->fd;
}
/* endregion: vm_create */
