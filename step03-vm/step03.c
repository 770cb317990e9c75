/* SPDX-License-Identifier: MIT */
/*
 * step03: create a VM.
 *
 * KVM_CREATE_VM on /dev/kvm returns a new fd: the VM.  It has no memory
 * and no vCPUs yet; the next steps give it both through this fd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "options.h"
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

int main(int argc, char **argv)
{
	struct vm vm = VM_EMPTY;
	int status = EXIT_SUCCESS;

	step_options(argc, argv, "Open the KVM device and create a VM.");
	if (kvm_open(&vm) < 0 ||		/* 01 */
	    kvm_check_api_version(&vm) < 0 ||	/* 02 */
	    vm_create(&vm) < 0)			/* 03: this step */
		status = EXIT_SETUP;
	vm_destroy(&vm);
	return status;
}
