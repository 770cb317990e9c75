/* SPDX-License-Identifier: MIT */
/*
 * vm.h: what every step shares.
 *
 * A step performs the stages before it by calling the helpers declared
 * here, then performs its own stage in its own source file.  Each helper
 * below was first written out, whole, in the step named beside it.
 */
#ifndef VM_H
#define VM_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Guest physical memory, as every step lays it out.  One memory slot of
 * GUEST_MEM_SIZE bytes starts at guest physical address 0:
 *
 *   0x001000  GDT (null, 64-bit code, data)             stage 08
 *   0x002000  PML4 \
 *   0x003000  PDPT  } page tables, identity map 1 GiB   stage 08
 *   0x004000  PD   /
 *   0x010000  guest code, loaded and entered here       stages 09, 10
 *      ...    room for the guest: GUEST_CODE_MAX bytes
 *   0x1f0000  stack (64 KiB), growing down from
 *   0x200000  GUEST_STACK_TOP = GUEST_MEM_SIZE          stage 09
 */
#define GUEST_MEM_SIZE		(2ULL << 20)	/* 2 MiB */
#define GUEST_MEM_SLOT		0
#define GUEST_MEM_GPA		0x0ULL
#define GUEST_GDT_ADDR		0x1000ULL
#define GUEST_PML4_ADDR		0x2000ULL
#define GUEST_PDPT_ADDR		0x3000ULL
#define GUEST_PD_ADDR		0x4000ULL
#define GUEST_IDENTITY_SIZE	(1ULL << 30)	/* what the page tables map */
#define GUEST_LOAD_ADDR		0x10000ULL
#define GUEST_STACK_TOP		GUEST_MEM_SIZE
#define GUEST_STACK_SIZE	0x10000ULL
#define GUEST_CODE_MAX		(GUEST_STACK_TOP - GUEST_STACK_SIZE - GUEST_LOAD_ADDR)

/*
 * The TSS that Intel's VMX needs for real-mode guests: three pages, below
 * 4 GiB, in a hole that no memory slot covers (stage 04's README).
 */
#define GUEST_TSS_ADDR		0xfffbd000ULL
#define GUEST_TSS_SIZE		(3 * 0x1000ULL)

/* Segment selectors: byte offsets of the GDT entries that stage 08 writes. */
#define GDT_SELECTOR_CODE	0x08
#define GDT_SELECTOR_DATA	0x10
#define GDT_ENTRIES		3

/* The one KVM API version KVM has spoken since Linux 2.6.22. */
#define KVM_STABLE_API_VERSION	12

/* Exit statuses of every step program (README: "Exit statuses"). */
#define EXIT_SETUP	1	/* a system call or ioctl failed */
#define EXIT_USAGE	2	/* bad command line or guest image */
#define EXIT_GUEST	3	/* the guest stopped in a way it should not */
#define EXIT_TIMEOUT	4	/* the guest was stopped: timeout or a signal */

/* One vCPU: stages 06 and 07 make it, 08 and 09 set its state. */
struct vcpu {
	int id;				/* 06: its KVM_CREATE_VCPU id */
	int fd;				/* 06 */
	struct kvm_run *run;		/* 07: shared with the kernel */
	size_t run_size;
};

#define VCPU_EMPTY { .fd = -1 }

/* Everything a step has built so far; vm_destroy() releases all of it. */
struct vm {
	int kvm_fd;			/* 01: /dev/kvm */
	int api_version;		/* 02 */
	int fd;				/* 03: the VM */
	uint64_t tss_addr;		/* 04 */
	uint8_t *mem;			/* 05: guest memory, as the host sees it */
	size_t mem_size;
	struct vcpu vcpu;		/* 06-09: its vCPU, the one steps 06-10 run */
};

#define VM_EMPTY { .kvm_fd = -1, .fd = -1, .vcpu = VCPU_EMPTY }

/* The stages; each returns 0 (or an fd) on success, -1 after reporting. */
int kvm_open(struct vm *vm);				/* step 01 */
int kvm_check_api_version(struct vm *vm);		/* step 02 */
int vm_create(struct vm *vm);				/* step 03 */
int vm_set_tss_addr(struct vm *vm);			/* step 04 */
int vm_memory_add(struct vm *vm, size_t size);		/* step 05 */
int vcpu_create(struct vm *vm, struct vcpu *vcpu, int id);	/* step 06 */
int vcpu_map_run(struct vm *vm, struct vcpu *vcpu);		/* step 07 */
int vcpu_enter_long_mode(struct vm *vm, struct vcpu *vcpu);	/* step 08 */
int vcpu_regs_set(struct vcpu *vcpu);				/* step 09 */

/*
 * Stages 01 to 09 in order, as steps 01-09 wrote them (vm_build.c), with
 * vm->vcpu as vCPU 0: the chapters in beyond/ start from here.  0, or -1
 * after reporting; the caller releases what was made with vm_destroy().
 */
int vm_build(struct vm *vm);

/* Step 06's part: give vcpu the CPUID KVM supports. */
int vcpu_cpuid_set(const struct vm *vm, const struct vcpu *vcpu);

/* Step 08's parts, which its tests (and step 14's GDT) use too. */
void guest_page_tables_build(struct vm *vm);
void guest_gdt_build(struct vm *vm, const struct kvm_segment *code,
		     const struct kvm_segment *data);
uint64_t gdt_entry_from_segment(const struct kvm_segment *seg);

/* Release what vcpu holds (its kvm_run, its fd); safe on a partial one. */
void vcpu_destroy(struct vcpu *vcpu);

/* Release whatever vm holds, in reverse order; safe on a partial vm. */
void vm_destroy(struct vm *vm);

/* The device stage 01 opens: $KVM_DEVICE, or /dev/kvm. */
const char *kvm_device_path(void);

#endif
