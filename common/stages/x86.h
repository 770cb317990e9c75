/* SPDX-License-Identifier: MIT */
/*
 * x86.h: the architectural bits the steps set, each named after the
 * manuals.  SDM = Intel 64 and IA-32 Architectures Software Developer's
 * Manual, numbered as in its editions whose Vol. 3A chapter 8 is
 * "Multiple-Processor Management" (newer ones add a chapter before it,
 * chapters 2 to 6 alike; the newest, of 2025, also a chapter 4,
 * "Linear-Address Pre-Processing", so paging is chapter 5 there);
 * APM = AMD64 Architecture Programmer's Manual.
 */
#ifndef X86_H
#define X86_H

#include <stddef.h>
#include <stdint.h>

/* CR0: SDM Vol. 3A §2.5 "Control Registers"; APM Vol. 2 §3.1.1. */
#define CR0_PE		(1ULL << 0)	/* protection enable */
#define CR0_MP		(1ULL << 1)	/* monitor coprocessor */
#define CR0_EM		(1ULL << 2)	/* x87 emulation */
#define CR0_TS		(1ULL << 3)	/* task switched */
#define CR0_ET		(1ULL << 4)	/* extension type, fixed at 1 */
#define CR0_NE		(1ULL << 5)	/* native x87 error reporting */
#define CR0_WP		(1ULL << 16)	/* write protect in ring 0 */
#define CR0_AM		(1ULL << 18)	/* alignment mask */
#define CR0_NW		(1ULL << 29)	/* not write-through */
#define CR0_CD		(1ULL << 30)	/* cache disable */
#define CR0_PG		(1ULL << 31)	/* paging */

/* CR4: SDM Vol. 3A §2.5; APM Vol. 2 §3.1.3. */
#define CR4_VME		(1ULL << 0)
#define CR4_PVI		(1ULL << 1)
#define CR4_TSD		(1ULL << 2)
#define CR4_DE		(1ULL << 3)
#define CR4_PSE		(1ULL << 4)
#define CR4_PAE		(1ULL << 5)	/* physical address extension */
#define CR4_MCE		(1ULL << 6)
#define CR4_PGE		(1ULL << 7)
#define CR4_PCE		(1ULL << 8)
#define CR4_OSFXSR	(1ULL << 9)
#define CR4_OSXMMEXCPT	(1ULL << 10)
#define CR4_UMIP	(1ULL << 11)
#define CR4_LA57	(1ULL << 12)	/* 5-level paging */
#define CR4_VMXE	(1ULL << 13)
#define CR4_SMXE	(1ULL << 14)
#define CR4_FSGSBASE	(1ULL << 16)
#define CR4_PCIDE	(1ULL << 17)
#define CR4_OSXSAVE	(1ULL << 18)
#define CR4_SMEP	(1ULL << 20)
#define CR4_SMAP	(1ULL << 21)
#define CR4_PKE		(1ULL << 22)

/* IA32_EFER (MSR 0xC0000080): SDM Vol. 3A §2.2.1; APM Vol. 2 §3.1.7. */
#define EFER_SCE	(1ULL << 0)	/* SYSCALL enable */
#define EFER_LME	(1ULL << 8)	/* long mode enable */
#define EFER_LMA	(1ULL << 10)	/* long mode active */
#define EFER_NXE	(1ULL << 11)	/* no-execute enable */
#define EFER_SVME	(1ULL << 12)	/* AMD: SVM enable */

/*
 * CPUID leaf 0x80000001, extended features: SDM Vol. 2A "CPUID";
 * APM Vol. 3 Appendix E.4.2.
 */
#define CPUID_EXT_FEATURES	0x80000001u
#define CPUID_EXT_EDX_LM	(1U << 29)	/* long mode (x86-64) */

/* RFLAGS: SDM Vol. 1 §3.4.3. */
#define RFLAGS_CF	(1ULL << 0)
#define RFLAGS_RESERVED_1 (1ULL << 1)	/* reserved, always 1 */
#define RFLAGS_PF	(1ULL << 2)
#define RFLAGS_AF	(1ULL << 4)
#define RFLAGS_ZF	(1ULL << 6)
#define RFLAGS_SF	(1ULL << 7)
#define RFLAGS_TF	(1ULL << 8)
#define RFLAGS_IF	(1ULL << 9)
#define RFLAGS_DF	(1ULL << 10)
#define RFLAGS_OF	(1ULL << 11)
#define RFLAGS_IOPL	(3ULL << 12)	/* I/O privilege level, 2 bits */
#define RFLAGS_NT	(1ULL << 14)
#define RFLAGS_RF	(1ULL << 16)	/* resume flag */
#define RFLAGS_VM	(1ULL << 17)
#define RFLAGS_AC	(1ULL << 18)
#define RFLAGS_VIF	(1ULL << 19)
#define RFLAGS_VIP	(1ULL << 20)
#define RFLAGS_ID	(1ULL << 21)

/*
 * Paging-structure entries of 4-level paging: SDM Vol. 3A §4.5,
 * Tables 4-15 to 4-18; APM Vol. 2 §5.3.
 */
#define PTE_PRESENT	(1ULL << 0)
#define PTE_WRITABLE	(1ULL << 1)
#define PTE_USER	(1ULL << 2)
#define PTE_PAGE_SIZE	(1ULL << 7)	/* in a PD entry: maps a 2 MiB page */
#define PTE_ADDR_MASK	0x000ffffffffff000ULL	/* bits 51:12 */
#define PAGE_SIZE_4K	0x1000ULL
#define PAGE_SIZE_2M	(1ULL << 21)
#define PT_ENTRIES	512

/*
 * Segment descriptor fields: SDM Vol. 3A §3.4.5, Figure 3-8; APM Vol. 2
 * §4.8.  Shifts into the 64-bit descriptor.
 */
#define SEG_DESC_LIMIT_LOW_SHIFT	0	/* limit 15:0 */
#define SEG_DESC_BASE_LOW_SHIFT		16	/* base 23:0 */
#define SEG_DESC_TYPE_SHIFT		40	/* 4 bits */
#define SEG_DESC_S			(1ULL << 44)	/* code/data, not system */
#define SEG_DESC_DPL_SHIFT		45	/* 2 bits */
#define SEG_DESC_P			(1ULL << 47)	/* present */
#define SEG_DESC_LIMIT_HIGH_SHIFT	48	/* limit 19:16 */
#define SEG_DESC_AVL			(1ULL << 52)
#define SEG_DESC_L			(1ULL << 53)	/* 64-bit code */
#define SEG_DESC_DB			(1ULL << 54)	/* default size 32 */
#define SEG_DESC_G			(1ULL << 55)	/* limit in 4 KiB units */
#define SEG_DESC_BASE_HIGH_SHIFT	56	/* base 31:24 */

/* Segment types with S=1: SDM Vol. 3A §3.4.5.1, Table 3-1. */
#define SEG_TYPE_DATA_RW_ACCESSED	0x3
#define SEG_TYPE_CODE_XR_ACCESSED	0xb

/* A register bit and its name, for printing values bit by bit. */
struct bit_name {
	uint64_t bit;
	const char *name;
};

extern const struct bit_name cr0_bits[], cr4_bits[], efer_bits[], rflags_bits[];

/*
 * Write "PE|PG" (the names of value's set bits, and "0x..." for bits
 * without a name) into buf.  Returns buf.
 */
char *bits_describe(char *buf, size_t size, uint64_t value,
		    const struct bit_name *names);

#endif
