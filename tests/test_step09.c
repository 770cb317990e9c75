/* SPDX-License-Identifier: MIT */
/*
 * test_step09: stage 09's registers are what KVM reports back and what
 * the guest starts with: RIP at the load address, RSP at the stack top,
 * RFLAGS with only the reserved bit 1.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "faults.h"
#include "kvm_names.h"
#include "kvm_test.h"
#include "report.h"

#ifndef CHECK_SUITE
static struct kvm_regs regs_get(struct vm *vm)
{
	struct kvm_regs regs;

	kvm_ioctl_ok(vm->vcpu.fd, KVM_GET_REGS, &regs);
	return regs;
}

Test(step09, kvm_get_regs_returns_what_was_set)
{
	struct kvm_regs r;
	struct vm vm;

	vm_setup_through(&vm, 9);
	r = regs_get(&vm);
	cr_assert_eq(r.rip, GUEST_LOAD_ADDR, "RIP 0x%llx", r.rip);
	cr_assert_eq(r.rsp, GUEST_STACK_TOP, "RSP 0x%llx", r.rsp);
	cr_assert_eq(r.rflags, 0x2, "RFLAGS 0x%llx", r.rflags);
	/* The rest are zero; at reset RDX held the CPU signature. */
	cr_assert_eq(r.rax | r.rbx | r.rcx | r.rdx | r.rsi | r.rdi | r.rbp |
		     r.r8 | r.r9 | r.r10 | r.r11 | r.r12 | r.r13 | r.r14 | r.r15,
		     0, "a general-purpose register is not zero");
	vm_destroy(&vm);
}

/* The guest starts at RIP, with RSP and RFLAGS as set: it reports them. */
Test(step09, guest_starts_with_these_registers, .timeout = 20)
{
	static const uint8_t code[] = {
		0x48, 0x89, 0xe0,	/* mov rax, rsp */
		0x9c,			/* pushfq */
		0x5b,			/* pop rbx */
		0xf4,			/* hlt */
	};
	struct kvm_regs r;
	struct vm vm;

	vm_setup_with_code(&vm, code, sizeof(code));
	run_once_ends_in(&vm, KVM_EXIT_HLT);
	r = regs_after_hlt(&vm, sizeof(code));
	cr_assert_eq(r.rax, GUEST_STACK_TOP, "the guest's RSP was 0x%llx", r.rax);
	cr_assert_eq(r.rbx, 0x2, "the guest's RFLAGS were 0x%llx", r.rbx);
	cr_assert_eq(r.rsp, GUEST_STACK_TOP,
		     "after push/pop and hlt the guest's RSP is 0x%llx; it "
		     "must be back at 0x%llx (GUEST_STACK_TOP)",
		     (unsigned long long)r.rsp,
		     (unsigned long long)GUEST_STACK_TOP);
	vm_destroy(&vm);
}

/*
 * What the stage hands KVM, read from the argument: KVM sets RFLAGS
 * bit 1 whatever we pass (KVM_GET_REGS cannot show a missing bit 1),
 * and a register left as the reset state had it would pass unseen.
 */
Test(step09, passes_kvm_exactly_these_registers)
{
	struct kvm_regs regs;
	struct vm vm;
	const struct ioctl_call *call;
	uint64_t others = 0;

	vm_setup_through(&vm, 8);
	stage_quiet = 1;
	ioctl_spy_start();
	cr_assert_eq(vcpu_regs_set(&vm.vcpu), 0,
		     "stage 09 (vcpu_regs_set) did not return 0; it must "
		     "succeed here");
	ioctl_spy_stop();
	call = ioctl_spy_find(KVM_SET_REGS);
	cr_assert(call, "no KVM_SET_REGS");
	memcpy(&regs, call->data, sizeof(regs));
	cr_assert_eq(regs.rip, GUEST_LOAD_ADDR, "RIP 0x%llx", regs.rip);
	cr_assert_eq(regs.rsp, GUEST_STACK_TOP, "RSP 0x%llx", regs.rsp);
	cr_assert_eq(regs.rflags, 0x2, "RFLAGS 0x%llx: only bit 1, which is "
		     "reserved and always 1 (SDM Vol. 1 §3.4.3)", regs.rflags);
	others = regs.rax | regs.rbx | regs.rcx | regs.rdx | regs.rsi |
		 regs.rdi | regs.rbp | regs.r8 | regs.r9 | regs.r10 |
		 regs.r11 | regs.r12 | regs.r13 | regs.r14 | regs.r15;
	cr_assert_eq(others, 0, "a general-purpose register passed is not 0");
	vm_destroy(&vm);
}

Test(step09, reports_a_failed_kvm_set_regs)
{
	struct vm vm;

	vm_setup_through(&vm, 8);
	cr_assert_eq(fault_inject_ioctl(KVM_SET_REGS, EINVAL), 0,
		     "installing the seccomp filter that fails KVM_SET_REGS "
		     "with EINVAL failed: %s", errno_name(errno));
	stage_failure_check(&vm, 9, ": KVM_SET_REGS failed: EINVAL");
	vm_destroy(&vm);
}

Test(step09, prints_its_stage_line)
{
	struct kvm_regs r;
	struct vm vm;
	char *out = stage_printed(&vm, 9), v[3][HEX_TEXT_SIZE];

	/* The registers as KVM holds them. */
	r = regs_get(&vm);
	stage_line_check(out, 9, (const char *const[]){
		hex_text(v[0], r.rip), hex_text(v[1], r.rsp),
		hex_text(v[2], r.rflags), NULL });
	free(out);
	vm_destroy(&vm);
}

STEP_PROGRAM_TEST(step09, 9)

#else
/*
 * The maintainers' part (make check-suites builds it as check_step09):
 * what KVM itself answers, as the README teaches it, and what the test
 * harness and the hint table say; a wrong stage 09 fails the tests above.
 */
Test(step09, stack_and_entry_point_lie_in_guest_memory)
{
	cr_assert_geq(GUEST_LOAD_ADDR, GUEST_PD_ADDR + 0x1000,
		      "the guest would overwrite the page tables");
	cr_assert_leq(GUEST_LOAD_ADDR + GUEST_CODE_MAX,
		      GUEST_STACK_TOP - GUEST_STACK_SIZE,
		      "the guest's code (up to 0x%llx) runs into its stack "
		      "(from 0x%llx)",
		      (unsigned long long)(GUEST_LOAD_ADDR + GUEST_CODE_MAX),
		      (unsigned long long)(GUEST_STACK_TOP - GUEST_STACK_SIZE));
	cr_assert_leq(GUEST_STACK_TOP, GUEST_MEM_GPA + GUEST_MEM_SIZE,
		      "the guest's stack top 0x%llx lies past the end of "
		      "guest memory 0x%llx",
		      (unsigned long long)GUEST_STACK_TOP,
		      (unsigned long long)(GUEST_MEM_GPA + GUEST_MEM_SIZE));
	cr_assert_eq(GUEST_STACK_TOP % 16, 0, "stack not 16-byte aligned");
}
#endif
