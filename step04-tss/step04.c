/* SPDX-License-Identifier: MIT */
/*
 * step04: give the VM a TSS address.
 *
 * Intel's VMX without "unrestricted guest" cannot run real-mode code
 * directly; KVM then emulates it with the help of a task state segment
 * in three guest pages that the host picks.  With unrestricted guest,
 * and on AMD's SVM, KVM accepts the address and ignores it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "options.h"
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

int main(int argc, char **argv)
{
	struct vm vm = VM_EMPTY;
	int status = EXIT_SUCCESS;

	step_options(argc, argv, "Create a VM and set its TSS address.");
	if (kvm_open(&vm) < 0 ||		/* 01 */
	    kvm_check_api_version(&vm) < 0 ||	/* 02 */
	    vm_create(&vm) < 0 ||		/* 03 */
	    vm_set_tss_addr(&vm) < 0)		/* 04: this step */
		status = EXIT_SETUP;
	vm_destroy(&vm);
	return status;
}
