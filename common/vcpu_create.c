/* SPDX-License-Identifier: MIT */
/*
 * Stage 06, promoted from step06-vcpu/step06.c for the steps after it.
 * The region below stays identical to the one there (make check-docs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/ioctl.h>

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
