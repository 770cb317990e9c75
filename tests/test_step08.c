/* SPDX-License-Identifier: MIT */
/*
 * test_step08: after stage 08, KVM reports the vCPU in 64-bit long mode;
 * the page tables in guest memory identity-map the first GiB (walked here
 * by a walker of our own, not the builder); the GDT entries at CS's and
 * SS's selectors describe the segments KVM loaded; and 64-bit code runs.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "faults.h"
#include "kvm_names.h"
#include "kvm_test.h"
#include "report.h"

/* Written out again from the manuals, independent of common/stages/x86.h. */
#define T_CR0_PE	0x1ULL
#define T_CR0_PG	0x80000000ULL
#define T_CR4_PAE	0x20ULL
#define T_EFER_LME	0x100ULL
#define T_EFER_LMA	0x400ULL
#define T_P		0x1ULL		/* entry present */
#define T_RW		0x2ULL		/* writable */
#define T_PS		0x80ULL		/* large page (PDPTE: 1 GiB, PDE: 2 MiB) */
#define T_ADDR		0x000ffffffffff000ULL

static struct kvm_sregs sregs_get(struct vm *vm)
{
	struct kvm_sregs sregs;

	kvm_ioctl_ok(vm->vcpu.fd, KVM_GET_SREGS, &sregs);
	return sregs;
}

#ifndef CHECK_SUITE
/* One 8-byte paging entry read from guest memory at gpa. */
static uint64_t entry_read(const struct vm *vm, uint64_t gpa)
{
	uint64_t e;

	cr_assert(gpa + 8 <= vm->mem_size,
		  "paging structure at 0x%llx is outside guest memory",
		  (unsigned long long)gpa);
	memcpy(&e, vm->mem + gpa, 8);
	return e;
}

/*
 * Translate va with 4-level paging from cr3, as the CPU would (SDM Vol. 3A
 * §4.5).  Returns 1 and the physical address, writable at every level,
 * or 0 when some entry is not present.
 */
static int page_walk(const struct vm *vm, uint64_t cr3, uint64_t va,
		     uint64_t *pa, int *writable)
{
	static const int shift[] = { 39, 30, 21, 12 };	/* PML4, PDPT, PD, PT */
	uint64_t table = cr3 & T_ADDR;

	*writable = 1;
	for (int level = 0; level < 4; level++) {
		uint64_t e = entry_read(vm, table + (va >> shift[level] & 511) * 8);

		if (!(e & T_P))
			return 0;
		*writable &= !!(e & T_RW);
		if ((level == 1 || level == 2) && (e & T_PS)) {
			uint64_t size = 1ULL << shift[level];

			*pa = (e & T_ADDR & ~(size - 1)) | (va & (size - 1));
			return 1;
		}
		table = e & T_ADDR;
	}
	*pa = table | (va & 0xfff);
	return 1;
}

/* The bits long mode needs, in the registers KVM reports after stage 08. */
static void long_mode_bits_check(const struct kvm_sregs *s)
{
	const struct {
		const char *reg, *bit_name, *why;
		unsigned long long value, bit;
	} needed[] = {
		{ .reg = "EFER", .value = s->efer, .bit = T_EFER_LME,
		  .bit_name = "LME (bit 8)",
		  .why = "stage 08 must set EFER.LME for long mode" },
		{ .reg = "EFER", .value = s->efer, .bit = T_EFER_LMA,
		  .bit_name = "LMA (bit 10)",
		  .why = "stage 08 must set EFER.LMA itself (KVM_SET_SREGS hands "
			 "KVM the end state: see step08's README, 'Why we set "
			 "EFER.LMA ourselves')" },
		{ .reg = "CR0", .value = s->cr0, .bit = T_CR0_PE,
		  .bit_name = "PE (bit 0)",
		  .why = "long mode needs protected mode" },
		{ .reg = "CR0", .value = s->cr0, .bit = T_CR0_PG,
		  .bit_name = "PG (bit 31)", .why = "long mode needs paging" },
		{ .reg = "CR4", .value = s->cr4, .bit = T_CR4_PAE,
		  .bit_name = "PAE (bit 5)", .why = "long mode needs PAE paging" },
	};

	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		cr_assert(needed[i].value & needed[i].bit, "after stage 08, KVM "
			  "reports %s=0x%llx with %s clear; %s", needed[i].reg,
			  needed[i].value, needed[i].bit_name, needed[i].why);
}

Test(step08, kvm_reports_long_mode)
{
	struct kvm_sregs s;
	struct vm vm;

	vm_setup_through(&vm, 8);
	s = sregs_get(&vm);
	long_mode_bits_check(&s);
	cr_assert_eq(s.cr3, GUEST_PML4_ADDR,
		     "after stage 08, KVM reports CR3=0x%llx; it must hold "
		     "the PML4's address 0x%llx (GUEST_PML4_ADDR)",
		     (unsigned long long)s.cr3, GUEST_PML4_ADDR);
	cr_assert_eq(s.cs.l, 1,
		     "after stage 08, KVM reports CS.L=%u; 64-bit code needs "
		     "CS.L=1", s.cs.l);
	cr_assert_eq(s.cs.db, 0,
		     "after stage 08, KVM reports CS.D=%u; with CS.L=1 it "
		     "must be 0", s.cs.db);
	cr_assert_eq(s.cs.present, 1,
		     "after stage 08, KVM reports CS.P=%u; the code segment "
		     "must be present (1)", s.cs.present);
	cr_assert_eq(s.cs.s, 1,
		     "after stage 08, KVM reports CS.S=%u; a code segment is "
		     "a code or data descriptor (S=1), not a system one",
		     s.cs.s);
	cr_assert(s.cs.type & 0x8, "CS is not a code segment: type 0x%x",
		  s.cs.type);
	cr_assert_eq(s.cs.selector, GDT_SELECTOR_CODE,
		     "after stage 08, KVM reports CS selector 0x%x; it must "
		     "be 0x%x (GDT_SELECTOR_CODE)", s.cs.selector,
		     GDT_SELECTOR_CODE);
	cr_assert_eq(s.cs.dpl, 0,
		     "after stage 08, KVM reports CS.DPL=%u; the guest runs "
		     "in ring 0", s.cs.dpl);
	cr_assert_eq(s.ss.selector, GDT_SELECTOR_DATA,
		     "after stage 08, KVM reports SS selector 0x%x; it must "
		     "be 0x%x (GDT_SELECTOR_DATA)", s.ss.selector,
		     GDT_SELECTOR_DATA);
	cr_assert_eq(s.ds.selector, GDT_SELECTOR_DATA,
		     "after stage 08, KVM reports DS selector 0x%x; it must "
		     "be 0x%x (GDT_SELECTOR_DATA)", s.ds.selector,
		     GDT_SELECTOR_DATA);
	cr_assert(!(s.ss.type & 0x8) && (s.ss.type & 0x2),
		  "SS is not a writable data segment: type 0x%x", s.ss.type);
	vm_destroy(&vm);
}

Test(step08, page_tables_identity_map_every_2_mib_page)
{
	struct kvm_sregs s;
	struct vm vm;
	uint64_t pa, va;
	int writable;

	vm_setup_through(&vm, 8);
	s = sregs_get(&vm);
	for (va = 0; va < GUEST_IDENTITY_SIZE; va += 2ULL << 20) {
		cr_assert(page_walk(&vm, s.cr3, va, &pa, &writable),
			  "the page tables of stage 08 do not map virtual "
			  "address 0x%llx; they must identity-map the first "
			  "GUEST_IDENTITY_SIZE bytes", (unsigned long long)va);
		cr_assert_eq(pa, va,
			     "the page tables of stage 08 map virtual address "
			     "0x%llx to physical 0x%llx; an identity map maps "
			     "it to itself", (unsigned long long)va,
			     (unsigned long long)pa);
		cr_assert(writable,
			  "the page tables of stage 08 map virtual address "
			  "0x%llx read-only; the guest writes its stack, so "
			  "they must set R/W", (unsigned long long)va);
	}
	/* The map ends where vm.h says: the next byte is not mapped. */
	cr_assert(!page_walk(&vm, s.cr3, GUEST_IDENTITY_SIZE, &pa, &writable),
		  "the page tables of stage 08 map virtual address 0x%llx, "
		  "past the identity map's end (GUEST_IDENTITY_SIZE)",
		  (unsigned long long)GUEST_IDENTITY_SIZE);
	vm_destroy(&vm);
}

Test(step08, page_tables_identity_map_4_kib_addresses)
{
	static const uint64_t spots[] = {
		0x0, 0x1, 0xfff, 0x1000, GUEST_GDT_ADDR + 8, GUEST_PML4_ADDR,
		GUEST_LOAD_ADDR, GUEST_LOAD_ADDR + 0x1234, 0x100000, 0x1fffff,
		GUEST_STACK_TOP - 8, GUEST_STACK_TOP, 0x12345678, 0x3ffff000,
		GUEST_IDENTITY_SIZE - 1,
	};
	struct kvm_sregs s;
	struct vm vm;
	uint64_t pa;
	int writable;

	vm_setup_through(&vm, 8);
	s = sregs_get(&vm);
	for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		cr_assert(page_walk(&vm, s.cr3, spots[i], &pa, &writable),
			  "the page tables of stage 08 do not map virtual "
			  "address 0x%llx; they must identity-map it",
			  (unsigned long long)spots[i]);
		cr_assert_eq(pa, spots[i],
			     "the page tables of stage 08 map virtual address "
			     "0x%llx to physical 0x%llx; an identity map maps "
			     "it to itself", (unsigned long long)spots[i],
			     (unsigned long long)pa);
	}
	vm_destroy(&vm);
}

/* A segment descriptor decoded (SDM Vol. 3A §3.4.5, Figure 3-8). */
static struct kvm_segment descriptor_decode(uint64_t d)
{
	struct kvm_segment seg = {
		.base = (d >> 16 & 0xffffff) | (d >> 56 & 0xff) << 24,
		.limit = (uint32_t)((d & 0xffff) | (d >> 48 & 0xf) << 16),
		.type = d >> 40 & 0xf,
		.s = d >> 44 & 1,
		.dpl = d >> 45 & 3,
		.present = d >> 47 & 1,
		.avl = d >> 52 & 1,
		.l = d >> 53 & 1,
		.db = d >> 54 & 1,
		.g = d >> 55 & 1,
	};

	if (seg.g)	/* limit in 4 KiB units: the low 12 bits are all ones */
		seg.limit = seg.limit << 12 | 0xfff;
	return seg;
}

/* Descriptor fields that differ between a and b, as "base limit ..." */
static const char *segment_differences(const struct kvm_segment *a,
				       const struct kvm_segment *b)
{
	static char diff[128];

	snprintf(diff, sizeof(diff), "%s%s%s%s%s%s%s%s%s%s",
		 a->base != b->base ? "base " : "",
		 a->limit != b->limit ? "limit " : "",
		 a->type != b->type ? "type " : "", a->s != b->s ? "S " : "",
		 a->dpl != b->dpl ? "DPL " : "",
		 a->present != b->present ? "P " : "",
		 a->avl != b->avl ? "AVL " : "", a->l != b->l ? "L " : "",
		 a->db != b->db ? "D/B " : "", a->g != b->g ? "G " : "");
	return diff;
}

/* seg's descriptor fields, in buf, as "base 0x0 limit 0xfffff type 0xb ..." */
#define SEGMENT_TEXT_SIZE 128
static const char *segment_text(char buf[SEGMENT_TEXT_SIZE],
				const struct kvm_segment *seg)
{
	snprintf(buf, SEGMENT_TEXT_SIZE, "base 0x%llx limit 0x%x type 0x%x "
		 "S=%d DPL=%d P=%d AVL=%d L=%d D/B=%d G=%d",
		 (unsigned long long)seg->base, seg->limit, seg->type, seg->s,
		 seg->dpl, seg->present, seg->avl, seg->l, seg->db, seg->g);
	return buf;
}

static void segment_matches_gdt(const struct vm *vm,
				const struct kvm_sregs *s,
				const struct kvm_segment *reg, const char *name)
{
	char in_gdt[SEGMENT_TEXT_SIZE], given[SEGMENT_TEXT_SIZE];
	uint64_t d;
	struct kvm_segment gdt;

	cr_assert_leq(reg->selector + 7u, s->gdt.limit,
		      "the %s selector 0x%x points past the GDT's limit 0x%x "
		      "that KVM reports", name, reg->selector, s->gdt.limit);
	cr_assert_eq(reg->selector & 7, 0,
		     "the %s selector 0x%x has TI or RPL bits set; it must "
		     "index the GDT at ring 0 (low 3 bits 0)", name,
		     reg->selector);
	d = entry_read(vm, s->gdt.base + reg->selector);
	gdt = descriptor_decode(d);
	cr_assert_str_eq(segment_differences(&gdt, reg), "",
			 "%s's descriptor in the GDT (%s) and what "
			 "KVM_SET_SREGS gave KVM (%s) differ in %s: the table "
			 "and the registers must agree", name,
			 segment_text(in_gdt, &gdt), segment_text(given, reg),
			 segment_differences(&gdt, reg));
}

/*
 * gdt_entry_from_segment beyond the two segments the stage writes: each
 * row a segment and its descriptor, worked out by hand from SDM Vol. 3A
 * §3.4.5, Figure 3-8 (limit 15:0 in bits 15:0, base 23:0 in 39:16, type
 * 43:40, S 44, DPL 46:45, P 47, limit 19:16 in 51:48, AVL 52, L 53, D/B
 * 54, G 55, base 31:24 in 63:56; with G the limit counts 4 KiB units).
 */
static const struct {
	struct kvm_segment seg;
	uint64_t descriptor;
} gdt_cases[] = {
	{ { .base = 0, .limit = 0xffffffff, .type = 0xb, .s = 1, .present = 1,
	    .l = 1, .g = 1 }, 0x00af9b000000ffffULL },	/* 64-bit code */
	{ { .base = 0, .limit = 0xffffffff, .type = 0x3, .s = 1, .present = 1,
	    .db = 1, .g = 1 }, 0x00cf93000000ffffULL },	/* flat data */
	{ { .base = 0x12345678, .limit = 0xabcde, .type = 0x3, .s = 1,
	    .dpl = 3, .present = 1, .avl = 1, .db = 1 },
	  0x125af3345678bcdeULL },	/* every base byte differs; byte limit */
	{ { .base = 0xdeadbeef, .limit = 0x1ffff, .type = 0xa, .s = 1,
	    .dpl = 2 }, 0xde015aadbeefffffULL },	/* not present */
	{ { .base = 0x00abcdef, .limit = 0x00ffffff, .type = 0xf, .s = 1,
	    .dpl = 1, .present = 1, .db = 1, .g = 1 },
	  0x00c0bfabcdef0fffULL },	/* 16 MiB in 4 KiB units: 0x00fff */
	{ { .base = 0x1000, .limit = 0x67, .type = 0x9, .s = 0, .present = 1 },
	  0x0000890010000067ULL },	/* a system segment: a 64-bit TSS's low half */
	{ { .base = 0x80000000, .limit = 0x12345fff, .type = 0x2, .s = 1,
	    .present = 1, .avl = 1, .db = 1, .g = 1 },
	  0x80d1920000002345ULL },	/* scaled limit 0x12345 */
	{ { .base = 0xff00ff00, .limit = 0xfffff, .type = 0xe, .s = 1,
	    .dpl = 3, .present = 1, .l = 1 }, 0xff2ffe00ff00ffffULL },
};

Test(step08, gdt_entry_from_segment_encodes_every_field)
{
	for (size_t i = 0; i < sizeof(gdt_cases) / sizeof(gdt_cases[0]); i++) {
		const struct kvm_segment *seg = &gdt_cases[i].seg;
		uint64_t got = gdt_entry_from_segment(seg);
		struct kvm_segment decoded = descriptor_decode(got);
		struct kvm_segment want = descriptor_decode(gdt_cases[i].descriptor);
		char text[SEGMENT_TEXT_SIZE];

		/* The table itself decodes back to its segment. */
		cr_assert_str_eq(segment_differences(&want, seg), "",
				 "row %zu of this test's table of descriptors "
				 "does not decode to its own segment (%s "
				 "differ)", i, segment_differences(&want, seg));
		cr_assert_eq(got, gdt_cases[i].descriptor, "%s encodes as "
			     "0x%016llx, not 0x%016llx: these fields decode "
			     "wrong: %s(SDM Vol. 3A §3.4.5)",
			     segment_text(text, seg), (unsigned long long)got,
			     (unsigned long long)gdt_cases[i].descriptor,
			     segment_differences(&decoded, seg));
	}
}

Test(step08, gdt_build_writes_null_code_and_data)
{
	struct kvm_segment code = gdt_cases[0].seg, data = gdt_cases[2].seg;
	const struct { const char *what; int entry; uint64_t want; } written[] = {
		{ .what = "code", .entry = GDT_SELECTOR_CODE / 8,
		  .want = gdt_cases[0].descriptor },
		{ .what = "data", .entry = GDT_SELECTOR_DATA / 8,
		  .want = gdt_cases[2].descriptor },
	};
	uint64_t gdt[GDT_ENTRIES + 1];
	struct vm vm;

	vm_setup_through(&vm, 5);
	/* Whatever memory held before: the builder must write every entry. */
	memset(vm.mem + GUEST_GDT_ADDR, 0xa5, 4096);
	guest_gdt_build(&vm, &code, &data);
	memcpy(gdt, vm.mem + GUEST_GDT_ADDR, sizeof(gdt));
	cr_assert_eq(gdt[0], 0, "GDT entry 0 is 0x%016llx, not the null "
		     "descriptor", (unsigned long long)gdt[0]);
	for (size_t i = 0; i < sizeof(written) / sizeof(written[0]); i++) {
		const int entry = written[i].entry;

		cr_assert_eq(gdt[entry], written[i].want, "guest_gdt_build wrote "
			     "0x%016llx as the %s descriptor (entry %d); it must "
			     "be 0x%016llx", (unsigned long long)gdt[entry],
			     written[i].what, entry,
			     (unsigned long long)written[i].want);
	}
	cr_assert_eq(gdt[GDT_ENTRIES], 0xa5a5a5a5a5a5a5a5ULL,
		     "guest_gdt_build wrote past the GDT's %d entries (entry "
		     "%d is 0x%016llx, not the 0xa5 bytes it held)",
		     GDT_ENTRIES, GDT_ENTRIES,
		     (unsigned long long)gdt[GDT_ENTRIES]);
	vm_destroy(&vm);
}

/*
 * guest_page_tables_build, entry by entry, over memory that held
 * something else: PML4[0] -> PDPT at 0x3000, PDPT[0] -> PD at 0x4000,
 * PD[i] maps 2 MiB page i (present, writable, PS; not user, SDM Vol. 3A
 * §4.5 Tables 4-15 to 4-18); every other PML4 and PDPT entry is zero.
 */
Test(step08, page_table_builder_writes_every_entry)
{
	uint64_t pml4[512], pdpt[512], pd[512];
	struct vm vm;

	vm_setup_through(&vm, 5);
	memset(vm.mem + GUEST_PML4_ADDR, 0x5a, 3 * 4096);
	guest_page_tables_build(&vm);
	memcpy(pml4, vm.mem + GUEST_PML4_ADDR, sizeof(pml4));
	memcpy(pdpt, vm.mem + GUEST_PDPT_ADDR, sizeof(pdpt));
	memcpy(pd, vm.mem + GUEST_PD_ADDR, sizeof(pd));
	cr_assert_eq(pml4[0], 0x3000 | T_P | T_RW,
		     "guest_page_tables_build wrote PML4[0] = 0x%llx; it must "
		     "point at the PDPT, present and writable: 0x%llx",
		     (unsigned long long)pml4[0],
		     (unsigned long long)(0x3000 | T_P | T_RW));
	cr_assert_eq(pdpt[0], 0x4000 | T_P | T_RW,
		     "guest_page_tables_build wrote PDPT[0] = 0x%llx; it must "
		     "point at the PD, present and writable: 0x%llx",
		     (unsigned long long)pdpt[0],
		     (unsigned long long)(0x4000 | T_P | T_RW));
	for (int i = 1; i < 512; i++) {
		cr_assert_eq(pml4[i], 0,
			     "guest_page_tables_build left PML4[%d] = 0x%llx; "
			     "every PML4 entry but the first must be 0", i,
			     (unsigned long long)pml4[i]);
		cr_assert_eq(pdpt[i], 0,
			     "guest_page_tables_build left PDPT[%d] = 0x%llx; "
			     "every PDPT entry but the first must be 0", i,
			     (unsigned long long)pdpt[i]);
	}
	for (uint64_t i = 0; i < 512; i++)
		cr_assert_eq(pd[i], i << 21 | T_P | T_RW | T_PS,
			     "guest_page_tables_build wrote PD[%llu] = "
			     "0x%llx; it must map 2 MiB page %llu present, "
			     "writable and large (PS): 0x%llx",
			     (unsigned long long)i, (unsigned long long)pd[i],
			     (unsigned long long)i,
			     (unsigned long long)(i << 21 | T_P | T_RW | T_PS));
	vm_destroy(&vm);
}

Test(step08, reports_a_refused_kvm_set_sregs)
{
	struct vm vm;

	vm_setup_through(&vm, 7);
	cr_assert_eq(fault_inject_ioctl(KVM_SET_SREGS, EINVAL), 0,
		     "installing the seccomp filter that fails KVM_SET_SREGS "
		     "failed: %s", errno_name(errno));
	stage_failure_check(&vm, 8, ": KVM_SET_SREGS failed: EINVAL");
	vm_destroy(&vm);
}

/*
 * The README's flat segments: base 0, limit 4 GiB - 1.  kvm_segment
 * counts the limit in bytes; the descriptor's 0xfffff with G=1 is the
 * same 4 GiB.
 */
static void segment_is_flat(const struct kvm_segment *reg, const char *name)
{
	cr_assert_eq(reg->base, 0,
		     "after stage 08, KVM reports %s base 0x%llx; segments are "
		     "flat: base 0", name, (unsigned long long)reg->base);
	cr_assert_eq(reg->limit, 0xffffffff,
		     "after stage 08, KVM reports %s limit 0x%x; kvm_segment "
		     "counts the limit in bytes: a flat segment's is "
		     "0xffffffff", name, reg->limit);
}

Test(step08, gdt_entries_match_the_segment_registers)
{
	struct kvm_sregs s;
	struct vm vm;

	vm_setup_through(&vm, 8);
	s = sregs_get(&vm);
	cr_assert_eq(s.gdt.base, GUEST_GDT_ADDR,
		     "after stage 08, KVM reports the GDT at 0x%llx; it must "
		     "be at 0x%llx (GUEST_GDT_ADDR)",
		     (unsigned long long)s.gdt.base, GUEST_GDT_ADDR);
	cr_assert_eq(s.gdt.limit, GDT_ENTRIES * 8 - 1,
		     "after stage 08, KVM reports a GDT limit of %u; for %d "
		     "entries of 8 bytes it is %d (the limit is the last "
		     "byte's offset, size - 1)", s.gdt.limit, GDT_ENTRIES,
		     GDT_ENTRIES * 8 - 1);
	cr_assert_eq(entry_read(&vm, s.gdt.base), 0,
		     "GDT entry 0 is 0x%016llx; it must be the null "
		     "descriptor (0)",
		     (unsigned long long)entry_read(&vm, s.gdt.base));
	segment_is_flat(&s.cs, "CS");
	segment_is_flat(&s.ds, "DS");
	segment_is_flat(&s.es, "ES");
	segment_is_flat(&s.ss, "SS");
	segment_matches_gdt(&vm, &s, &s.cs, "CS");
	segment_matches_gdt(&vm, &s, &s.ss, "SS");
	segment_matches_gdt(&vm, &s, &s.ds, "DS");
	vm_destroy(&vm);
}

/*
 * The proof that matters: 64-bit code runs.  mov rax, imm64 exists only
 * in 64-bit mode (in 32-bit mode 0x48 is dec eax); push and pop use the
 * stack through the page tables.
 */
Test(step08, sixty_four_bit_code_runs, .timeout = 20)
{
	static const uint8_t code[] = {
		0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
					/* mov rax, 0x1122334455667788 */
		0x50,			/* push rax */
		0x5b,			/* pop rbx */
		0xf4,			/* hlt */
	};
	struct kvm_regs regs;
	struct vm vm;

	vm_setup_with_code(&vm, code, sizeof(code));
	run_once_ends_in(&vm, KVM_EXIT_HLT);	/* the 64-bit code halted */
	regs = regs_after_hlt(&vm, sizeof(code));
	cr_assert_eq(regs.rbx, 0x1122334455667788ULL,
		     "after mov rax, imm64; push rax; pop rbx the guest's RBX "
		     "is 0x%llx, not 0x1122334455667788: it did not run as "
		     "64-bit code", (unsigned long long)regs.rbx);
	vm_destroy(&vm);
}

Test(step08, prints_its_stage_line)
{
	struct kvm_sregs s;
	struct vm vm;
	char *out = stage_printed(&vm, 8), cr[4][HEX_TEXT_SIZE];

	/* The control registers as KVM holds them. */
	s = sregs_get(&vm);
	stage_line_check(out, 8, (const char *const[]){
		hex_text(cr[0], s.cr0), hex_text(cr[1], s.cr3),
		hex_text(cr[2], s.cr4), hex_text(cr[3], s.efer), NULL });
	free(out);
	vm_destroy(&vm);
}

/* Stage 08 edits what KVM_GET_SREGS gave it: the rest keeps KVM's values. */
Test(step08, keeps_the_apic_base_kvm_had)
{
	struct kvm_sregs before, after;
	struct capture c;
	struct vm vm;

	vm_setup_through(&vm, 7);
	before = sregs_get(&vm);
	capture_begin(&c, 1);
	cr_assert_eq(vcpu_enter_long_mode(&vm, &vm.vcpu), 0,
		     "stage 08 (vcpu_enter_long_mode) did not return 0");
	free(capture_end(&c));
	after = sregs_get(&vm);
	cr_assert_eq(after.apic_base, before.apic_base,
		     "stage 08 changed the APIC base from 0x%llx to 0x%llx: "
		     "start from KVM_GET_SREGS, not from zeroed sregs",
		     (unsigned long long)before.apic_base,
		     (unsigned long long)after.apic_base);
	vm_destroy(&vm);
}

STEP_PROGRAM_TEST(step08, 8)

#else
/* After stages 01-08, KVM_SET_SREGS of the vCPU's state with edit. */
static int sregs_set_edited(struct vm *vm, void (*edit)(struct kvm_sregs *))
{
	struct kvm_sregs s = sregs_get(vm);

	edit(&s);
	errno = 0;
	return ioctl(vm->vcpu.fd, KVM_SET_SREGS, &s) < 0 ? errno : 0;
}

static void cs_l_in_protected_mode(struct kvm_sregs *s)
{
	s->cr0 = T_CR0_PE;	/* paging off: not long mode */
	s->efer = 0;
	s->cs.l = 1;
}

static void cs_d_in_long_mode(struct kvm_sregs *s)
{
	s->cs.db = 1;
}

static void cr0_pg_sign_extended(struct kvm_sregs *s)
{
	s->cr0 = T_CR0_PE | (uint64_t)(int64_t)(int32_t)T_CR0_PG;
}

static void pg_without_pe(struct kvm_sregs *s) { s->cr0 &= ~T_CR0_PE; }
static void long_mode_without_pae(struct kvm_sregs *s) { s->cr4 &= ~T_CR4_PAE; }
static void lme_and_pg_without_lma(struct kvm_sregs *s) { s->efer &= ~T_EFER_LMA; }
static void lma_without_lme(struct kvm_sregs *s) { s->efer &= ~T_EFER_LME; }

/*
 * The maintainers' part (make check-suites builds it as check_step08):
 * what KVM itself answers, as the README teaches it, and what the test
 * harness and the hint table say; a wrong stage 08 fails the tests above.
 */
Test(step08, kvm_refuses_cs_l_outside_long_mode)
{
	struct vm vm;
	int err;

	/* kvm_is_valid_sregs(): not in long mode, CS.L must be 0. */
	vm_setup_through(&vm, 8);
	err = sregs_set_edited(&vm, cs_l_in_protected_mode);
	cr_assert_eq(err, EINVAL,
		     "KVM_SET_SREGS with CS.L=1 and paging off returned %s; "
		     "KVM must refuse it with EINVAL (kvm_is_valid_sregs)",
		     err ? errno_name(err) : "success");
	vm_destroy(&vm);
}

Test(step08, kvm_accepts_cs_l_with_d_in_long_mode)
{
	struct vm vm;
	int err;

	/* The reserved L=1, D=1 pair is left to the hardware's entry checks. */
	vm_setup_through(&vm, 8);
	err = sregs_set_edited(&vm, cs_d_in_long_mode);
	cr_assert_eq(err, 0,
		     "KVM_SET_SREGS with CS.L=1 and CS.D=1 in long mode "
		     "failed with %s; KVM leaves that pair to the entry "
		     "checks and must accept it", errno_name(err));
	cr_assert_eq(sregs_get(&vm).cs.db, 1,
		     "KVM_GET_SREGS after setting CS.D=1 reports CS.D=0; KVM "
		     "must keep what it was given");
	vm_destroy(&vm);
}

/*
 * The reserved pair fails at entry, on both vendors (seen in the QEMU
 * sandbox, kvm_amd, and in Bochs, kvm_intel); VMX writes no guest state
 * back on a failed entry, so on Intel RIP stays where it was set.
 */
Test(step08, cs_l_with_d_fails_entry_on_stock_kvm, .timeout = 20)
{
	const enum kvm_host host = stock_kvm_host();
	const int amd = host == KVM_HOST_AMD;
	struct kvm_regs regs;
	struct vm vm;

	vm_setup_through(&vm, 9);
	cr_assert_eq(sregs_set_edited(&vm, cs_d_in_long_mode), 0,
		     "KVM_SET_SREGS with CS.L=1 and CS.D=1 in long mode "
		     "failed; KVM must accept it (the pair fails only at "
		     "entry)");
	vm.mem[GUEST_LOAD_ADDR] = 0xf4;		/* hlt, never reached */
	cr_assert_eq(vcpu_run_once(&vm), KVM_EXIT_FAIL_ENTRY,
		     "KVM_RUN with CS.L=1 and CS.D=1 ended in %s; stock KVM "
		     "must fail the entry (KVM_EXIT_FAIL_ENTRY)",
		     kvm_exit_name(vm.vcpu.run->exit_reason));
	/* SVM_EXIT_ERR on AMD; on Intel bit 31 and 33, invalid guest state. */
	cr_assert_eq(vm.vcpu.run->fail_entry.hardware_entry_failure_reason,
		     amd ? 0xffffffffULL : 0x80000021ULL,
		     "KVM_EXIT_FAIL_ENTRY came with "
		     "hardware_entry_failure_reason 0x%llx; it must be 0x%llx "
		     "(%s)",
		     (unsigned long long)vm.vcpu.run->fail_entry.hardware_entry_failure_reason,
		     amd ? 0xffffffffULL : 0x80000021ULL,
		     amd ? "SVM_EXIT_ERR" : "invalid guest state");
	if (!amd) {
		kvm_ioctl_ok(vm.vcpu.fd, KVM_GET_REGS, &regs);
		cr_assert_eq(regs.rip, GUEST_LOAD_ADDR, "after the failed entry "
			     "kvm_intel reports RIP 0x%llx; VMX leaves the guest "
			     "state as it was given (0x%llx)", regs.rip,
			     (unsigned long long)GUEST_LOAD_ADDR);
	}
	vm_destroy(&vm);
}

static void segments_not_accessed(struct kvm_sregs *s)
{
	s->cs.type &= ~1u;
	s->ds.type &= ~1u;
	s->es.type &= ~1u;
	s->fs.type &= ~1u;
	s->gs.type &= ~1u;
	s->ss.type &= ~1u;
}

/*
 * Segment registers whose type lacks the accessed bit still enter: VMX
 * requires the bit in every usable segment, and kvm_intel with
 * unrestricted guest sets it itself (__vmx_set_segment(), so
 * KVM_GET_SREGS shows it set); kvm_amd, and kvm_intel without
 * unrestricted guest, keep the type as given (seen in the sandbox and in
 * Bochs).
 */
Test(step08, segments_without_the_accessed_bit_still_enter, .timeout = 20)
{
	const enum kvm_host host = stock_kvm_host();
	const int sets_it = host == KVM_HOST_INTEL && kvm_intel_unrestricted_guest();
	struct kvm_sregs s;
	struct vm vm;

	vm_setup_through(&vm, 9);
	cr_assert_eq(sregs_set_edited(&vm, segments_not_accessed), 0,
		     "KVM_SET_SREGS with the accessed bits clear failed");
	s = sregs_get(&vm);
	cr_assert_eq(s.cs.type, sets_it ? 0xbu : 0xau, "CS type 0xa (execute/read, "
		     "not accessed) reads back as 0x%x; %s", s.cs.type, sets_it ?
		     "kvm_intel with unrestricted guest sets the accessed bit (0xb)" :
		     "this host keeps it as given");
	cr_assert_eq(s.ss.type, sets_it ? 0x3u : 0x2u, "SS type 0x2 reads back "
		     "as 0x%x", s.ss.type);
	vm.mem[GUEST_LOAD_ADDR] = 0xf4;		/* hlt */
	cr_assert_eq(vcpu_run_once(&vm), KVM_EXIT_HLT, "KVM_RUN ended in %s, "
		     "not KVM_EXIT_HLT", kvm_exit_name(vm.vcpu.run->exit_reason));
	vm_destroy(&vm);
}

Test(step08, kvm_refuses_a_sign_extended_cr0_pg)
{
	struct vm vm;
	int err;

	/* (int)1 << 31 widened to 64 bits sets CR0's reserved upper half. */
	vm_setup_through(&vm, 8);
	err = sregs_set_edited(&vm, cr0_pg_sign_extended);
	cr_assert_eq(err, EINVAL,
		     "KVM_SET_SREGS with CR0=0xffffffff80000001 (PG "
		     "sign-extended) returned %s; KVM must refuse reserved "
		     "CR0 bits with EINVAL", err ? errno_name(err) : "success");
	vm_destroy(&vm);
}

/*
 * Each rule report_sregs_refused() names, broken alone in the long-mode
 * state stage 08 wrote: KVM refuses it with EINVAL (kvm_is_valid_sregs()
 * and kvm_is_valid_cr0(), arch/x86/kvm/regs.c; x86.c in 6.1), and the
 * hint names that rule, not another one.
 */
Test(step08, a_refused_sregs_hint_names_the_broken_rule)
{
	static const struct {
		void (*edit)(struct kvm_sregs *);
		const char *what, *rule;
	} cases[] = {
		{ cr0_pg_sign_extended, "CR0.PG as a sign-extended 1 << 31", "1ULL << 31" },
		{ pg_without_pe, "CR0.PG without CR0.PE", "CR0.PG needs CR0.PE" },
		{ long_mode_without_pae, "long mode without CR4.PAE", "needs CR4.PAE" },
		{ lme_and_pg_without_lma, "EFER.LME and CR0.PG without EFER.LMA", "set EFER.LMA too" },
		{ lma_without_lme, "EFER.LMA without EFER.LME", "long mode cannot be active" },
		{ cs_l_in_protected_mode, "CS.L with paging off", "CS.L=1 outside long mode" },
	};
	struct vm vm;

	vm_setup_through(&vm, 8);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kvm_sregs s = sregs_get(&vm);
		struct capture c;
		const char *rule;
		char *err_text;
		int err;

		cases[i].edit(&s);
		rule = sregs_broken_rule(&s);
		cr_assert(rule && strstr(rule, cases[i].rule),
			  "%s: the hint should say \"%s\", it says \"%s\"",
			  cases[i].what, cases[i].rule, rule ? rule : "(no rule)");
		err = ioctl(vm.vcpu.fd, KVM_SET_SREGS, &s) < 0 ? errno : 0;
		cr_assert_eq(err, EINVAL, "%s: KVM_SET_SREGS should fail with "
			     "EINVAL, it gave %s", cases[i].what,
			     err ? errno_name(err) : "success");
		capture_begin(&c, 2);
		cr_assert_eq(report_sregs_refused(&s, err), -1,
			     "report_sregs_refused must return -1 after "
			     "reporting the refused KVM_SET_SREGS (%s)",
			     cases[i].what);
		err_text = capture_end(&c);
		cr_assert(strstr(err_text, "KVM_SET_SREGS failed: EINVAL") &&
			  strstr(err_text, cases[i].rule),
			  "%s: report_sregs_refused() printed \"%s\"",
			  cases[i].what, err_text);
		free(err_text);
	}
	/* The state stage 08 writes breaks no rule. */
	struct kvm_sregs ok = sregs_get(&vm);

	cr_assert_null(sregs_broken_rule(&ok), "stage 08's own state: \"%s\"",
		       sregs_broken_rule(&ok));
	vm_destroy(&vm);
}

Test(step08, sregs_are_asked_of_the_vcpu_fd)
{
	struct vm vm;
	struct kvm_sregs s;

	vm_setup_through(&vm, 6);
	kvm_ioctl_refused(vm.kvm_fd, KVM_GET_SREGS, &s, EINVAL,
			  "registers belong to a vCPU fd, not to /dev/kvm");
	kvm_ioctl_refused(vm.fd, KVM_GET_SREGS, &s, ENOTTY,
			  "registers belong to a vCPU fd, not to the VM fd");
	vm_destroy(&vm);
}
#endif
