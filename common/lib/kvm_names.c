/* SPDX-License-Identifier: MIT */
/* kvm_names.c: tables of exit reasons, internal-error suberrors, ioctls. */
#include <linux/kvm.h>
#include <stddef.h>
#include <stdio.h>

#include "kvm_names.h"

#define NAME(x) [x] = #x

static const char *const exit_names[] = {
	NAME(KVM_EXIT_UNKNOWN), NAME(KVM_EXIT_EXCEPTION), NAME(KVM_EXIT_IO),
	NAME(KVM_EXIT_HYPERCALL), NAME(KVM_EXIT_DEBUG), NAME(KVM_EXIT_HLT),
	NAME(KVM_EXIT_MMIO), NAME(KVM_EXIT_IRQ_WINDOW_OPEN),
	NAME(KVM_EXIT_SHUTDOWN), NAME(KVM_EXIT_FAIL_ENTRY), NAME(KVM_EXIT_INTR),
	NAME(KVM_EXIT_SET_TPR), NAME(KVM_EXIT_TPR_ACCESS),
	NAME(KVM_EXIT_S390_SIEIC), NAME(KVM_EXIT_S390_RESET),
	NAME(KVM_EXIT_DCR), NAME(KVM_EXIT_NMI), NAME(KVM_EXIT_INTERNAL_ERROR),
	NAME(KVM_EXIT_OSI), NAME(KVM_EXIT_PAPR_HCALL),
	NAME(KVM_EXIT_S390_UCONTROL), NAME(KVM_EXIT_WATCHDOG),
	NAME(KVM_EXIT_S390_TSCH), NAME(KVM_EXIT_EPR),
	NAME(KVM_EXIT_SYSTEM_EVENT), NAME(KVM_EXIT_S390_STSI),
	NAME(KVM_EXIT_IOAPIC_EOI), NAME(KVM_EXIT_HYPERV),
	NAME(KVM_EXIT_ARM_NISV), NAME(KVM_EXIT_X86_RDMSR),
	NAME(KVM_EXIT_X86_WRMSR), NAME(KVM_EXIT_DIRTY_RING_FULL),
	NAME(KVM_EXIT_AP_RESET_HOLD), NAME(KVM_EXIT_X86_BUS_LOCK),
	NAME(KVM_EXIT_XEN), NAME(KVM_EXIT_RISCV_SBI), NAME(KVM_EXIT_RISCV_CSR),
	NAME(KVM_EXIT_NOTIFY),
	/* Newer than some installed headers; the numbers are fixed ABI. */
	[38] = "KVM_EXIT_LOONGARCH_IOCSR", [39] = "KVM_EXIT_MEMORY_FAULT",
	[40] = "KVM_EXIT_TDX",
};

static const char *const internal_error_names[] = {
	NAME(KVM_INTERNAL_ERROR_EMULATION), NAME(KVM_INTERNAL_ERROR_SIMUL_EX),
	NAME(KVM_INTERNAL_ERROR_DELIVERY_EV),
	NAME(KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON),
};

static const char *lookup(const char *const *names, size_t count, uint32_t n)
{
	return n < count && names[n] ? names[n] : NULL;
}

const char *kvm_exit_name(uint32_t reason)
{
	const char *name = lookup(exit_names,
				  sizeof(exit_names) / sizeof(exit_names[0]), reason);

	return name ? name : "unknown";
}

const char *kvm_internal_error_name(uint32_t suberror)
{
	static char unknown[40];
	const char *name = lookup(internal_error_names,
				  sizeof(internal_error_names) /
				  sizeof(internal_error_names[0]), suberror);

	if (name)
		return name;
	snprintf(unknown, sizeof(unknown), "unknown suberror %u", suberror);
	return unknown;
}

#define IOCTL(x) { x, #x }

static const struct {
	unsigned long request;
	const char *name;
} ioctl_names[] = {
	IOCTL(KVM_GET_API_VERSION), IOCTL(KVM_CREATE_VM),
	IOCTL(KVM_CHECK_EXTENSION), IOCTL(KVM_GET_VCPU_MMAP_SIZE),
	IOCTL(KVM_SET_TSS_ADDR), IOCTL(KVM_SET_USER_MEMORY_REGION),
	IOCTL(KVM_CREATE_VCPU), IOCTL(KVM_RUN), IOCTL(KVM_GET_REGS),
	IOCTL(KVM_SET_REGS), IOCTL(KVM_GET_SREGS), IOCTL(KVM_SET_SREGS),
	IOCTL(KVM_REGISTER_COALESCED_MMIO), IOCTL(KVM_UNREGISTER_COALESCED_MMIO),
	IOCTL(KVM_SET_IDENTITY_MAP_ADDR), IOCTL(KVM_CREATE_IRQCHIP),
	IOCTL(KVM_GET_SUPPORTED_CPUID), IOCTL(KVM_SET_CPUID2),
	IOCTL(KVM_GET_CPUID2),
	IOCTL(KVM_TRANSLATE), IOCTL(KVM_GET_FPU), IOCTL(KVM_SET_FPU),
	IOCTL(KVM_GET_MSRS), IOCTL(KVM_SET_MSRS), IOCTL(KVM_ENABLE_CAP),
	IOCTL(KVM_SET_GUEST_DEBUG), IOCTL(KVM_GET_VCPU_EVENTS),
	IOCTL(KVM_INTERRUPT), IOCTL(KVM_IRQ_LINE), IOCTL(KVM_CREATE_PIT2),
	IOCTL(KVM_GET_MP_STATE), IOCTL(KVM_SET_MP_STATE),
	IOCTL(KVM_GET_LAPIC), IOCTL(KVM_SET_LAPIC),
	IOCTL(KVM_GET_STATS_FD),
};

const char *kvm_ioctl_name(unsigned long request)
{
	for (size_t i = 0; i < sizeof(ioctl_names) / sizeof(ioctl_names[0]); i++)
		if (ioctl_names[i].request == request)
			return ioctl_names[i].name;
	return NULL;
}
