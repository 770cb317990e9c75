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
#include <sys/mman.h>
#include <unistd.h>

#include "faults.h"
#include "kvm_names.h"
#include "kvm_test.h"
#include "report.h"
#include "x86.h"

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

/*
 * Where KVM keeps no TSS of its own (AMD: kvm_amd has no set_tss_addr
 * hook, so the static call returns 0; Intel with
 * unrestricted guest: vmx_set_tss_addr() returns at once), every address
 * below 4 GiB minus three pages is accepted, again and after a vCPU.  Intel without unrestricted guest
 * makes the pages a private memory slot: a second address, or a memory
 * slot over the first, fails with EEXIST (seen in Bochs with kvm_intel
 * unrestricted_guest=0).
 */
Test(step04, tss_address_is_kept_only_by_intel_without_unrestricted_guest)
{
	const enum kvm_host host = stock_kvm_host();
	const int slot = host == KVM_HOST_INTEL && !kvm_intel_unrestricted_guest();
	struct kvm_userspace_memory_region region = {
		.slot = GUEST_MEM_SLOT, .guest_phys_addr = GUEST_MEM_GPA,
		.memory_size = GUEST_MEM_SIZE,
	};
	struct vm vm;
	void *mem;
	int r;

	vm_setup_through(&vm, 6);
	errno = 0;
	r = ioctl(vm.fd, KVM_SET_TSS_ADDR, (unsigned long)GUEST_TSS_ADDR) < 0 ? errno : 0;
	cr_assert_eq(r, slot ? EEXIST : 0, "a second KVM_SET_TSS_ADDR, at the "
		     "same address, after a vCPU: %s; it must be %s", errno_name(r),
		     slot ? "EEXIST (the private slot exists)" : "0 (ignored)");
	errno = 0;
	r = ioctl(vm.fd, KVM_SET_TSS_ADDR, 0x1000UL) < 0 ? errno : 0;
	cr_assert_eq(r, slot ? EEXIST : 0, "KVM_SET_TSS_ADDR inside guest "
		     "memory: %s; it must be %s", errno_name(r),
		     slot ? "EEXIST" : "0 (ignored)");
	vm_destroy(&vm);

	/* The TSS first, then guest memory over it (step 04's exercise 2). */
	vm_setup_through(&vm, 3);
	kvm_ioctl_ok(vm.fd, KVM_SET_TSS_ADDR, 0x1000UL);
	mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	cr_assert_neq(mem, MAP_FAILED, "mmap: %s", errno_name(errno));
	region.userspace_addr = (uintptr_t)mem;
	errno = 0;
	r = ioctl(vm.fd, KVM_SET_USER_MEMORY_REGION, &region) < 0 ? errno : 0;
	cr_assert_eq(r, slot ? EEXIST : 0, "a memory slot over the TSS pages "
		     "at 0x1000: %s; it must be %s", errno_name(r),
		     slot ? "EEXIST (it overlaps the private slot)" : "0");
	vm_destroy(&vm);
	munmap(mem, GUEST_MEM_SIZE);
}

/*
 * Without KVM_SET_TSS_ADDR a vCPU in real mode still runs a few
 * instructions, on every stock host: on Intel without unrestricted guest
 * enter_rmode() (arch/x86/kvm/vmx/vmx.c) points TR at guest physical
 * address 0, the guest's own memory (and on 6.1, not 6.12, warns once in
 * the kernel log).
 */
Test(step04, real_mode_code_runs_without_a_tss_address, .timeout = 20)
{
	static const uint8_t code[] = {
		0xe6, 0xe9,	/* out 0xe9, al */
		0xf4,		/* hlt */
	};
	struct kvm_regs regs = { .rip = 0, .rflags = 2 };
	struct kvm_sregs sregs;
	struct vm vm;

	stock_kvm_host();	/* skipped on another KVM */
	/* Stages 01 to 07 without 04. */
	vm_setup_through(&vm, 3);
	stage_quiet = 1;
	cr_assert_eq(vm_memory_add(&vm, GUEST_MEM_SIZE), 0, "stage 05 failed");
	cr_assert_geq(vcpu_create(&vm, &vm.vcpu, 0), 0, "stage 06 failed");
	cr_assert_eq(vcpu_map_run(&vm, &vm.vcpu), 0, "stage 07 failed");
	/* Real mode, as the vCPU starts, with CS:IP at 1000:0000. */
	kvm_ioctl_ok(vm.vcpu.fd, KVM_GET_SREGS, &sregs);
	cr_assert_eq(sregs.cr0 & CR0_PE, 0, "a new vCPU is not in real mode");
	sregs.cs.selector = GUEST_LOAD_ADDR >> 4;
	sregs.cs.base = GUEST_LOAD_ADDR;
	kvm_ioctl_ok(vm.vcpu.fd, KVM_SET_SREGS, &sregs);
	kvm_ioctl_ok(vm.vcpu.fd, KVM_SET_REGS, &regs);
	memcpy(vm.mem + GUEST_LOAD_ADDR, code, sizeof(code));
	cr_assert_eq(vcpu_run_once(&vm), KVM_EXIT_IO, "real-mode out ended in "
		     "%s, not KVM_EXIT_IO", kvm_exit_name(vm.vcpu.run->exit_reason));
	cr_assert_eq(vm.vcpu.run->io.port, 0xe9, "port 0x%x", vm.vcpu.run->io.port);
	cr_assert_eq(vcpu_run_once(&vm), KVM_EXIT_HLT, "real-mode hlt ended "
		     "in %s, not KVM_EXIT_HLT", kvm_exit_name(vm.vcpu.run->exit_reason));
	vm_destroy(&vm);
}
#endif
