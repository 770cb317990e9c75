/* SPDX-License-Identifier: MIT */
/*
 * step08: put the vCPU in 64-bit long mode.
 *
 * A new vCPU starts in real mode, like a PC at power-on.  KVM lets us skip
 * the boot-loader's work: we write page tables and a GDT into guest
 * memory, then load the control registers, EFER and the segment registers
 * of long mode in one KVM_SET_SREGS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "options.h"
#include "report.h"
#include "vm.h"
#include "x86.h"

/* region: vcpu_enter_long_mode */
/*
 * Identity-map the first GUEST_IDENTITY_SIZE bytes of guest physical
 * memory with 2 MiB pages: PML4[0] -> PDPT[0] -> PD[0..511].
 */
void guest_page_tables_build(struct vm *vm)
{
	uint64_t *pml4 = (uint64_t *)(vm->mem + GUEST_PML4_ADDR);
	uint64_t *pdpt = (uint64_t *)(vm->mem + GUEST_PDPT_ADDR);
	uint64_t *pd = (uint64_t *)(vm->mem + GUEST_PD_ADDR);

	memset(pml4, 0, PAGE_SIZE_4K);
	memset(pdpt, 0, PAGE_SIZE_4K);
	pml4[0] = GUEST_PDPT_ADDR | PTE_PRESENT | PTE_WRITABLE;
	pdpt[0] = GUEST_PD_ADDR | PTE_PRESENT | PTE_WRITABLE;
	for (uint64_t i = 0; i < PT_ENTRIES; i++)
		pd[i] = i * PAGE_SIZE_2M | PTE_PRESENT | PTE_WRITABLE |
			PTE_PAGE_SIZE;
}

/* The 8-byte GDT descriptor that describes seg (SDM Vol. 3A §3.4.5). */
uint64_t gdt_entry_from_segment(const struct kvm_segment *seg)
{
	/* With G set, the limit is counted in 4 KiB units. */
	uint64_t limit = seg->g ? seg->limit >> 12 : seg->limit;
	uint64_t base = seg->base;

	return (limit & 0xffff) << SEG_DESC_LIMIT_LOW_SHIFT |
	       (base & 0xffffff) << SEG_DESC_BASE_LOW_SHIFT |
	       (uint64_t)(seg->type & 0xf) << SEG_DESC_TYPE_SHIFT |
	       (seg->s ? SEG_DESC_S : 0) |
	       (uint64_t)(seg->dpl & 3) << SEG_DESC_DPL_SHIFT |
	       (seg->present ? SEG_DESC_P : 0) |
	       (limit >> 16 & 0xf) << SEG_DESC_LIMIT_HIGH_SHIFT |
	       (seg->avl ? SEG_DESC_AVL : 0) |
	       (seg->l ? SEG_DESC_L : 0) |
	       (seg->db ? SEG_DESC_DB : 0) |
	       (seg->g ? SEG_DESC_G : 0) |
	       (base >> 24 & 0xff) << SEG_DESC_BASE_HIGH_SHIFT;
}

/*
 * Write the GDT: a null entry, then code and data at their selectors.
 * KVM loads segment registers from kvm_sregs, not from this table, but a
 * guest that reloads a segment (or takes an interrupt) reads it here.
 */
void guest_gdt_build(struct vm *vm, const struct kvm_segment *code,
		     const struct kvm_segment *data)
{
	uint64_t *gdt = (uint64_t *)(vm->mem + GUEST_GDT_ADDR);

	gdt[0] = 0;
	gdt[GDT_SELECTOR_CODE / 8] = gdt_entry_from_segment(code);
	gdt[GDT_SELECTOR_DATA / 8] = gdt_entry_from_segment(data);
}

/* Stage 08: page tables, GDT, then long mode through KVM_SET_SREGS. */
int vcpu_enter_long_mode(struct vm *vm, struct vcpu *vcpu)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = GDT_SELECTOR_CODE,
		.type = SEG_TYPE_CODE_XR_ACCESSED, .present = 1, .dpl = 0,
		.s = 1,		/* a code or data segment, not a system one */
		.l = 1,		/* 64-bit code ... */
		.db = 0,	/* ... which requires D = 0 */
		.g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = GDT_SELECTOR_DATA,
		.type = SEG_TYPE_DATA_RW_ACCESSED, .present = 1, .dpl = 0,
		.s = 1, .db = 1, .g = 1,
	};
	struct kvm_sregs sregs;

	guest_page_tables_build(vm);
	guest_gdt_build(vm, &code, &data);

	/* Read first: kvm_sregs holds much that we leave as KVM set it. */
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return report_errno("KVM_GET_SREGS", errno);

	sregs.cr3 = GUEST_PML4_ADDR;		/* top of the page tables */
	sregs.cr4 = CR4_PAE;			/* long mode needs PAE paging */
	sregs.cr0 = CR0_PE | CR0_PG;		/* protected mode, paging on */
	/* LME asks for long mode; with PG set the CPU would set LMA. */
	sregs.efer = EFER_LME | EFER_LMA;
	sregs.gdt.base = GUEST_GDT_ADDR;
	sregs.gdt.limit = GDT_ENTRIES * 8 - 1;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;

	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return report_sregs_refused(&sregs, errno);
	stage_say(8, "KVM_SET_SREGS: long mode, CR0=0x%llx CR3=0x%llx "
		  "CR4=0x%llx EFER=0x%llx, CS.L=%d CS.D=%d",
		  (unsigned long long)sregs.cr0, (unsigned long long)sregs.cr3,
		  (unsigned long long)sregs.cr4, (unsigned long long)sregs.efer,
		  sregs.cs.l, sregs.cs.db);
	return 0;
}
/* endregion: vcpu_enter_long_mode */

int main(int argc, char **argv)
{
	struct vm vm = VM_EMPTY;
	int status = EXIT_SUCCESS;

	step_options(argc, argv, "Put a new vCPU in 64-bit long mode.");
	if (kvm_open(&vm) < 0 ||			/* 01 */
	    kvm_check_api_version(&vm) < 0 ||		/* 02 */
	    vm_create(&vm) < 0 ||			/* 03 */
	    vm_set_tss_addr(&vm) < 0 ||			/* 04 */
	    vm_memory_add(&vm, GUEST_MEM_SIZE) < 0 ||	/* 05 */
	    vcpu_create(&vm, &vm.vcpu, 0) < 0 ||	/* 06 */
	    vcpu_map_run(&vm, &vm.vcpu) < 0 ||		/* 07 */
	    vcpu_enter_long_mode(&vm, &vm.vcpu) < 0)	/* 08: this step */
		status = EXIT_SETUP;
	vm_destroy(&vm);
	return status;
}
