/* SPDX-License-Identifier: MIT */
/*
 * Stage 01, promoted from step01-open/step01.c for the steps after it.
 * The region below stays identical to the one there (make check-docs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>

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
