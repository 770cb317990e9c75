/* SPDX-License-Identifier: MIT */
/*
 * step01: open the KVM device.
 *
 * Every conversation with KVM starts with a file descriptor for
 * /dev/kvm.  Its ioctls answer questions about KVM itself and create VMs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "options.h"
#include "report.h"
#include "vm.h"

/* region: kvm_open */
/* Stage 01: open the KVM device read-write; returns the fd, or -1. */
int kvm_open(struct vm *vm)
{
	const char *path = kvm_device_path();	/* $KVM_DEVICE or /dev/kvm */
	char call[300];

	/* O_CLOEXEC: a program we exec must not inherit /dev/kvm. */
	vm->kvm_fd = open(path, O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int err = errno;

		snprintf(call, sizeof(call), "open %s", path);
		return report_errno(call, err);
	}
	stage_say(1, "open %s: fd %d", path, vm->kvm_fd);
	return vm->kvm_fd;
}
/* endregion: kvm_open */

int main(int argc, char **argv)
{
	struct vm vm = VM_EMPTY;
	int status = EXIT_SUCCESS;

	step_options(argc, argv, "Open the KVM device.");
	if (kvm_open(&vm) < 0)			/* 01: this step */
		status = EXIT_SETUP;
	vm_destroy(&vm);
	return status;
}
