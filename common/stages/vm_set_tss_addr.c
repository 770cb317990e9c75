/* SPDX-License-Identifier: MIT */
/*
 * Stage 04, promoted from step04-tss/step04.c for the steps after it.
 * The region below stays identical to the one there (make check-docs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/ioctl.h>

#include "report.h"
#include "vm.h"

/* region: vm_set_tss_addr */
/* Stage 04: place the TSS's three pages at GUEST_TSS_ADDR. */
int vm_set_tss_addr(struct vm *vm)
{
	/* The argument is the guest physical address itself, not a pointer. */
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, (unsigned long)GUEST_TSS_ADDR) < 0)
		return report_errno("KVM_SET_TSS_ADDR", errno);
	vm->tss_addr = GUEST_TSS_ADDR;
	stage_say(4, "KVM_SET_TSS_ADDR: 0x%llx (3 pages, below 4 GiB, "
		  "outside guest memory)", (unsigned long long)vm->tss_addr);
	return 0;
}
/* endregion: vm_set_tss_addr */
