/* SPDX-License-Identifier: MIT */
/* exit_explain.c: the exits that end a run badly, explained (run.h). */
#include <stdint.h>
#include <stdio.h>

#include "kvm_names.h"
#include "report.h"
#include "run.h"
#include "vm.h"

/* hardware_entry_failure_reason on Intel: bit 31 (entry failed), basic
 * exit reason 33, invalid guest state (SDM Vol. 3D, Appendix C). */
#define VMX_ENTRY_FAIL_GUEST_STATE	0x80000021ULL
/* ... and on AMD: VMEXIT_INVALID, -1, which KVM names SVM_EXIT_ERR (APM
 * Vol. 2, §15.5, the VMRUN consistency checks), as 64 or 32 bits. */
#define SVM_EXIT_ERR_64			0xffffffffffffffffULL
#define SVM_EXIT_ERR_32			0xffffffffULL

void mmio_explain(const struct kvm_run *run)
{
	typeof(run->mmio) mmio = run->mmio;
	unsigned int len = mmio.len <= 8 ? mmio.len : 8;

	report("guest %s %u byte%s at guest physical address 0x%llx, where no "
	       "memory slot is (KVM_EXIT_MMIO)", mmio.is_write ? "wrote" : "read",
	       mmio.len, mmio.len == 1 ? "" : "s",
	       (unsigned long long)mmio.phys_addr);
	if (mmio.is_write) {
		fprintf(stderr, "  data:");
		for (unsigned int i = 0; i < len; i++)
			fprintf(stderr, " %02x", mmio.data[i]);
		fputc('\n', stderr);
	}
	report_hint("guest memory is GPA 0x0-0x%llx; the page tables map up to "
		    "1 GiB, so any other address there is a device's (MMIO), "
		    "and this tutorial has none", GUEST_MEM_SIZE - 1);
}

void shutdown_explain(const struct kvm_run *run)
{
	(void)run;	/* KVM_EXIT_SHUTDOWN carries no data */
	report("the guest triple-faulted (KVM_EXIT_SHUTDOWN)");
	report_hint("an exception it could not deliver: these guests set no "
		    "IDT, so the IDTR keeps its reset value (base 0, limit "
		    "0xffff) and every gate it finds in guest page 0 is zero, "
		    "not present; any exception (#PF from an unmapped address, "
		    "#GP, #UD from bytes that are not code) ends here; on "
		    "Intel CR2 holds the address of the last #PF (on AMD the "
		    "vCPU was reset before this exit)");
}

void fail_entry_explain(const struct kvm_run *run)
{
	uint64_t reason = run->fail_entry.hardware_entry_failure_reason;

	report("the CPU refused to enter the guest (KVM_EXIT_FAIL_ENTRY), "
	       "hardware_entry_failure_reason 0x%llx, cpu %u",
	       (unsigned long long)reason, run->fail_entry.cpu);
	if (reason == VMX_ENTRY_FAIL_GUEST_STATE)
		report_hint("Intel: VM-entry failure (bit 31) with basic reason 33, "
			    "invalid guest state (also what an interrupt "
			    "injected while the guest has IF clear gets)");
	else if (reason == SVM_EXIT_ERR_64 || reason == SVM_EXIT_ERR_32)
		report_hint("AMD: VMRUN rejected the guest state (SVM_EXIT_ERR)");
	report_hint("check step08's code segment: CS.L=1 needs CS.D=0 (the "
		    "control registers KVM_SET_SREGS checks itself); for the "
		    "CPU's own account, "
		    "as root write 1 to /sys/module/kvm_intel/parameters/"
		    "dump_invalid_vmcs (kvm_amd: /sys/module/kvm_amd/parameters/"
		    "dump_invalid_vmcb), run again and read dmesg");
}

void unexpected_exit_explain(const struct kvm_run *run)
{
	uint32_t reason = run->exit_reason;

	report("unexpected exit %s (%u)", kvm_exit_name(reason), reason);
	/* An exit KVM_EXIT_UNKNOWN carries the hardware's reason; all zero is
	 * a kvm_run that no exit filled in (6.12's vcpu_run() in x86.c also
	 * stores 0 once KVM_RUN is past its first checks, immediate_exit's
	 * among them, which a run failing after that leaves; 6.1's does
	 * not). */
	if (reason == KVM_EXIT_UNKNOWN && !run->hw.hardware_exit_reason)
		report_hint("an exit_reason of 0 with no hardware reason is no "
			    "exit: no KVM_RUN has returned one yet, or the last "
			    "one failed: did KVM_RUN "
			    "return -1 (say EINTR with immediate_exit set, or "
			    "EINVAL) and the loop read kvm_run anyway? Check "
			    "ioctl's result first");
}

void internal_error_explain(const struct kvm_run *run)
{
	typeof(run->internal) internal = run->internal;
	uint32_t n = internal.ndata;

	report("KVM could not handle the guest (KVM_EXIT_INTERNAL_ERROR): %s",
	       kvm_internal_error_name(internal.suberror));
	if (n > sizeof(internal.data) / sizeof(internal.data[0]))
		n = sizeof(internal.data) / sizeof(internal.data[0]);
	fprintf(stderr, "  ndata=%u", internal.ndata);
	for (uint32_t i = 0; i < n; i++)
		fprintf(stderr, " data[%u]=0x%llx", i,
			(unsigned long long)internal.data[i]);
	fputc('\n', stderr);
	if (internal.suberror == KVM_INTERNAL_ERROR_EMULATION)
		report_hint("KVM had to emulate an instruction and could not: "
			    "most often the guest jumped to an address with no "
			    "memory behind it (is RIP inside 0x0-0x%llx?), or ran "
			    "into bytes that are not code", GUEST_MEM_SIZE - 1);
	else if (internal.suberror == KVM_INTERNAL_ERROR_DELIVERY_EV)
		report_hint("while the CPU delivered an exception or interrupt, "
			    "it made an access KVM cannot handle there, usually "
			    "one where no memory is (MMIO): is the IDT, or the "
			    "stack, the guest set up inside 0x0-0x%llx?",
			    GUEST_MEM_SIZE - 1);
}
