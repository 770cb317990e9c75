/* SPDX-License-Identifier: MIT */
/*
 * test_step04: stage 04 places the TSS's three pages with KVM_SET_TSS_ADDR
 * below 4 GiB, clear of guest memory and of what the page tables map.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "faults.h"
#include "kvm_test.h"
#include "report.h"

#ifndef CHECK_SUITE
Test(step04, sets_the_tss_address_on_the_vm_fd)
{
	struct vm vm;
	const struct ioctl_call *call;

	vm_setup_through(&vm, 3);
	stage_quiet = 1;
	ioctl_spy_start();
	cr_assert_eq(vm_set_tss_addr(&vm), 0,
		     "stage 04 (vm_set_tss_addr) did not return 0; it must "
		     "succeed here");
	ioctl_spy_stop();
	cr_assert_eq(vm.tss_addr, GUEST_TSS_ADDR,
		     "stage 04 stored vm->tss_addr = 0x%llx; it must be "
		     "GUEST_TSS_ADDR (0x%llx)", (unsigned long long)vm.tss_addr,
		     (unsigned long long)GUEST_TSS_ADDR);
	call = ioctl_spy_find(KVM_SET_TSS_ADDR);
	cr_assert(call, "no KVM_SET_TSS_ADDR");
	cr_assert_eq(call->fd, vm.fd, "not sent to the VM fd");
	/* The argument is the address itself, not a pointer to it. */
	cr_assert_eq(call->arg, GUEST_TSS_ADDR, "argument 0x%lx", call->arg);
	vm_destroy(&vm);
}

Test(step04, reports_a_failed_kvm_set_tss_addr)
{
	struct vm vm;

	vm_setup_through(&vm, 3);
	/* What Intel's KVM answers for an address it cannot use. */
	cr_assert_eq(fault_inject_ioctl(KVM_SET_TSS_ADDR, EINVAL), 0,
		     "installing the seccomp filter that fails "
		     "KVM_SET_TSS_ADDR with EINVAL failed: %s",
		     errno_name(errno));
	stage_failure_check(&vm, 4, ": KVM_SET_TSS_ADDR failed: EINVAL");
	vm_destroy(&vm);
}

Test(step04, prints_its_stage_line)
{
	struct vm vm;
	char *out = stage_printed(&vm, 4), addr[HEX_TEXT_SIZE];

	stage_line_check(out, 4, (const char *const[]){
		hex_text(addr, vm.tss_addr), NULL });
	free(out);
	vm_destroy(&vm);
}

STEP_PROGRAM_TEST(step04, 4)

#else
/* 1 if [a, a + an) and [b, b + bn) share a byte. */
static int ranges_overlap(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
	return a < b + bn && b < a + an;
}

/* A fresh VM's answer to KVM_SET_TSS_ADDR at addr: 0, or an errno. */
static int tss_addr_answer(unsigned long addr)
{
	struct vm vm;
	int r;

	vm_setup_through(&vm, 3);
	errno = 0;
	r = ioctl(vm.fd, KVM_SET_TSS_ADDR, addr) < 0 ? errno : 0;
	vm_destroy(&vm);
	return r;
}

/*
 * The maintainers' part (make check-suites builds it as check_step04):
 * what KVM itself answers, as the README teaches it, and what the test
 * harness and the hint table say; a wrong stage 04 fails the tests above.
 */
Test(step04, tss_pages_lie_below_4_gib_outside_guest_memory)
{
	cr_assert_eq(GUEST_TSS_SIZE, 3 * 4096ULL,
		     "GUEST_TSS_SIZE is %llu; KVM_SET_TSS_ADDR takes three "
		     "pages (12288 bytes)", (unsigned long long)GUEST_TSS_SIZE);
	cr_assert_eq(GUEST_TSS_ADDR % 4096, 0, "TSS not page-aligned");
	cr_assert_leq(GUEST_TSS_ADDR + GUEST_TSS_SIZE, 1ULL << 32,
		      "the TSS region ends at 0x%llx, above 4 GiB; "
		      "KVM_SET_TSS_ADDR takes a 32-bit address",
		      (unsigned long long)(GUEST_TSS_ADDR + GUEST_TSS_SIZE));
	cr_assert(!ranges_overlap(GUEST_TSS_ADDR, GUEST_TSS_SIZE,
				  GUEST_MEM_GPA, GUEST_MEM_SIZE),
		  "TSS pages overlap guest memory");
	/* Nor any address the guest's identity map could reach as RAM. */
	cr_assert(!ranges_overlap(GUEST_TSS_ADDR, GUEST_TSS_SIZE,
				  0, GUEST_IDENTITY_SIZE),
		  "the TSS region 0x%llx-0x%llx overlaps the identity-mapped "
		  "guest memory", (unsigned long long)GUEST_TSS_ADDR,
		  (unsigned long long)(GUEST_TSS_ADDR + GUEST_TSS_SIZE));
}

Test(step04, tss_pages_must_end_below_4_gib)
{
	/*
	 * Checked in common x86 code before Intel's or AMD's (x86.c,
	 * kvm_vm_ioctl_set_tss_addr): the same answer on every host.
	 */
	cr_assert_eq(tss_addr_answer(0xffffd000UL), 0,
		     "0xffffd000, the highest that fits, was refused");
	cr_assert_eq(tss_addr_answer(0xffffe000UL), EINVAL,
		     "0xffffe000 (crosses 4 GiB): %s",
		     errno_name(tss_addr_answer(0xffffe000UL)));
}

Test(step04, tss_address_is_accepted_twice_on_amd)
{
	struct vm vm;

	if (access("/sys/module/kvm_amd", F_OK) != 0)
		cr_skip_test("kvm_amd is not this host's KVM (the sandbox's is)");
	/* svm_set_tss_addr() ignores the address: again, and after a vCPU. */
	vm_setup_through(&vm, 6);
	cr_assert_eq(ioctl(vm.fd, KVM_SET_TSS_ADDR, (unsigned long)GUEST_TSS_ADDR),
		     0, "a second KVM_SET_TSS_ADDR: %s", errno_name(errno));
	cr_assert_eq(ioctl(vm.fd, KVM_SET_TSS_ADDR, 0x1000UL), 0,
		     "KVM_SET_TSS_ADDR inside guest memory: %s",
		     errno_name(errno));
	vm_destroy(&vm);
}
#endif
