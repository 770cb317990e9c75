/* SPDX-License-Identifier: MIT */
/*
 * step06: create a vCPU.
 *
 * KVM_CREATE_VCPU on the VM fd returns a new fd: one virtual CPU.  Its
 * registers, and running it, go through this fd from now on.  A new vCPU
 * claims no CPU features at all, so we give it the CPUID that KVM
 * supports here (KVM_GET_SUPPORTED_CPUID, KVM_SET_CPUID2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "options.h"
#include "report.h"
#include "vm.h"
#include "x86.h"

/* region: vcpu_create */
/*
 * Every CPUID leaf this host's KVM can offer a guest, malloc'd; NULL after
 * reporting.  KVM answers E2BIG while the array is too small for them all.
 */
static struct kvm_cpuid2 *kvm_supported_cpuid(const struct vm *vm)
{
	for (uint32_t nent = 64; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *cpuid;
		int err;

		cpuid = calloc(1, sizeof(*cpuid) +
				  nent * sizeof(cpuid->entries[0]));
		if (!cpuid) {
			report_errno("calloc", errno);
			return NULL;
		}
		cpuid->nent = nent;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			return cpuid;
		err = errno;
		free(cpuid);
		if (err != E2BIG) {
			report_errno("KVM_GET_SUPPORTED_CPUID", err);
			return NULL;
		}
	}
	report("KVM_GET_SUPPORTED_CPUID: E2BIG even with room for 4096 "
	       "entries");
	return NULL;
}

/* Whether a CPUID table says the CPU has long mode (x86-64). */
static int cpuid_has_long_mode(const struct kvm_cpuid2 *cpuid)
{
	for (uint32_t i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == CPUID_EXT_FEATURES)
			return !!(cpuid->entries[i].edx & CPUID_EXT_EDX_LM);
	return 0;
}

/*
 * Tell vcpu what CPU it is: the CPUID that KVM supports here.  Returns 0,
 * or -1 after reporting.
 */
int vcpu_cpuid_set(const struct vm *vm, const struct vcpu *vcpu)
{
	struct kvm_cpuid2 *cpuid = kvm_supported_cpuid(vm);
	int err;

	if (!cpuid)
		return -1;
	if (!cpuid_has_long_mode(cpuid)) {
		free(cpuid);
		return report("KVM offers no long mode here (CPUID 0x80000001 "
			      "EDX bit 29): a 64-bit guest cannot run");
	}
	err = ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) < 0 ? errno : 0;
	free(cpuid);
	if (err)
		return report_errno("KVM_SET_CPUID2", err);
	return 0;
}

/* Stage 06: create vCPU id as vcpu, with a CPUID; returns its fd, or -1. */
int vcpu_create(struct vm *vm, struct vcpu *vcpu, int id)
{
	vcpu->id = id;		/* an in-kernel APIC's ID, if any */
	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0)
		return report_errno("KVM_CREATE_VCPU", errno);
	stage_say(6, "KVM_CREATE_VCPU: vcpu %d, fd %d", id, vcpu->fd);

	/*
	 * A new vCPU's CPUID is empty: it claims no feature, not even long
	 * mode, and KVM checks later state against it (stage 08).
	 */
	if (vcpu_cpuid_set(vm, vcpu) < 0)
		return -1;
	stage_say(6, "KVM_SET_CPUID2: the CPUID KVM supports here, "
		  "long mode included");
	return vcpu->fd;
}
/* endregion: vcpu_create */

int main(int argc, char **argv)
{
	struct vm vm = VM_EMPTY;
	int status = EXIT_SUCCESS;

	step_options(argc, argv, "Create a VM with memory and one vCPU.");
	if (kvm_open(&vm) < 0 ||			/* 01 */
	    kvm_check_api_version(&vm) < 0 ||		/* 02 */
	    vm_create(&vm) < 0 ||			/* 03 */
	    vm_set_tss_addr(&vm) < 0 ||			/* 04 */
	    vm_memory_add(&vm, GUEST_MEM_SIZE) < 0 ||	/* 05 */
	    vcpu_create(&vm, &vm.vcpu, 0) < 0)		/* 06: this step */
		status = EXIT_SETUP;
	vm_destroy(&vm);
	return status;
}
