/* SPDX-License-Identifier: MIT */
/*
 * Stage 02, promoted from step02-version/step02.c for the steps after it.
 * The region below stays identical to the one there (make check-docs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/ioctl.h>

#include "report.h"
#include "vm.h"

/* region: kvm_check_api_version */
/* Stage 02: refuse to go on unless KVM speaks API version 12. */
int kvm_check_api_version(struct vm *vm)
{
	/* It takes no argument: KVM refuses anything but 0 (EINVAL). */
	int version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0UL);

	if (version < 0)
		return report_errno("KVM_GET_API_VERSION", errno);
	vm->api_version = version;
	if (version != KVM_STABLE_API_VERSION) {
		report("KVM_GET_API_VERSION returned %d, not %d", version,
		       KVM_STABLE_API_VERSION);
		report_hint("this kernel's KVM speaks an API this program does "
			    "not know; only version %d is stable, so refuse to run",
			    KVM_STABLE_API_VERSION);
		return -1;
	}
	stage_say(2, "KVM_GET_API_VERSION: %d", version);
	return 0;
}
/* endregion: kvm_check_api_version */
