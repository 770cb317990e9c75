/* SPDX-License-Identifier: MIT */
/* step13.h: step13's stage, for its tests. */
#ifndef STEP13_H
#define STEP13_H

#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>

#include "run.h"
#include "vm.h"

#define NR_VCPUS		2
/* Where the guest keeps the counter both CPUs add to (guest.asm). */
#define COUNTER_ADDR		0x100000ULL
#define FINISHED_ADDR		(COUNTER_ADDR + 8)
#define ADDS_PER_CPU		100000
/* Each vCPU's stack: the top of GUEST_STACK_SIZE, split in two. */
#define CPU_STACK_SIZE		(GUEST_STACK_SIZE / NR_VCPUS)
#define CPU_STACK_TOP(id)	(GUEST_STACK_TOP - (uint64_t)(id) * CPU_STACK_SIZE)
/*
 * The APIC id fields of CPUID: SDM Vol. 2A "CPUID", leaf 01H EBX bits
 * 31:24 (initial APIC id), leaves 0BH and 1FH EDX (x2APIC id).
 */
#define CPUID_FEATURES			0x1u
#define CPUID_1_EBX_APIC_ID_SHIFT	24
#define CPUID_1_EBX_APIC_ID		(0xffU << CPUID_1_EBX_APIC_ID_SHIFT)
#define CPUID_TOPOLOGY			0xbu
#define CPUID_TOPOLOGY_V2		0x1fu
/* The longest line a vCPU may print, newline included; a longer one is
 * split there: a newline added, the rest on the next line (console_put()). */
#define CONSOLE_LINE_MAX	128
/*
 * --sipi (sipi.asm): vCPU 1's code lies at AP_PAGE, where the SIPI's
 * vector sends it (vector AP_PAGE >> 12, CS AP_PAGE >> 4); an out to
 * DONE_PORT says a vCPU is done, as a hlt cannot with a local APIC in
 * the kernel.
 */
#define AP_PAGE			0x11000ULL
#define DONE_PORT		0xf4
/*
 * The local APIC's ID register, at offset 0x20 of its page (and of
 * struct kvm_lapic_state's regs): the APIC id in bits 31:24, in xAPIC
 * mode (SDM Vol. 3A, "Local APIC ID").
 */
#define APIC_REG_ID		0x20
#define APIC_ID_SHIFT		24

/* The built-in guest, beyond/step13-smp/guest.asm (guest_blob.asm). */
extern const uint8_t guest_image[];
extern const uint8_t guest_image_end[];
/* The guest of --sipi, beyond/step13-smp/sipi.asm (sipi_blob.asm). */
extern const uint8_t sipi_image[];
extern const uint8_t sipi_image_end[];

/*
 * The console both vCPUs print to: each vCPU's bytes gather in its own
 * line, and a whole line goes out at once, under the lock.
 */
struct console {
	FILE *out;
	pthread_mutex_t lock;
	char line[NR_VCPUS][CONSOLE_LINE_MAX];
	size_t len[NR_VCPUS];
};

/* One vCPU and the thread that runs it. */
struct cpu {
	struct vcpu *vcpu;	/* vm->vcpu for vCPU 0, vcpu_add()'s for vCPU 1 */
	struct console *console;
	struct vm *vm;		/* vcpus_run() sets the rest */
	pthread_t thread;
	sem_t *finished;	/* posted when the thread is done */
	pthread_mutex_t *lock;	/* guards status while the thread runs */
	int status;		/* vcpu_run()'s result; -1 while it runs */
	struct run_stats stats;	/* its exits, counted by exit_handle() */
};

/* Copy the guest to GUEST_LOAD_ADDR; -1 after reporting if too large. */
int smp_guest_load(struct vm *vm, const uint8_t *image, size_t size);

/* Stage 13, part 0: put vcpu->id in its CPUID's APIC id; -1 after reporting. */
int vcpu_apic_id_set(const struct vcpu *vcpu);

/* Stage 13, part 1: vCPU id as stages 06-08 made vCPU 0, with its own
 * APIC id, stack and RDI = id; -1 after reporting (vcpu_destroy() it). */
int vcpu_add(struct vm *vm, struct vcpu *vcpu, int id);

/*
 * --sipi: stages 01-09 with KVM_CREATE_IRQCHIP after 03, so that each
 * vCPU gets a local APIC in the kernel; -1 after reporting.
 */
int sipi_vm_build(struct vm *vm);

/*
 * --sipi: vCPU id as an application processor: stages 06-07, its own
 * APIC id, and its local APIC written back, but no registers: INIT and
 * SIPI give it those.  -1 after reporting (vcpu_destroy() it).
 */
int vcpu_ap_add(struct vm *vm, struct vcpu *vcpu, int id);

/*
 * --sipi, after the run: vCPU ap's CS must be the SIPI's page, AP_PAGE.
 * EXIT_SUCCESS after saying so; EXIT_GUEST after reporting where it is
 * instead, EXIT_SETUP if KVM_GET_SREGS failed (reported).
 */
int ap_started_check(const struct vcpu *ap);

/* Put len bytes that vCPU cpu wrote to the console, line by line. */
void console_put(struct console *c, int cpu, const uint8_t *data, size_t len);

/* Write out what is left of each vCPU's last line. */
void console_flush(struct console *c);

/*
 * Stage 13, part 2: run every vCPU in cpus[0..n) on its own thread, each
 * through step 10's vcpu_run(), until all halt, one fails, or a stop
 * (opt->timeout, a stop signal).  Returns EXIT_SUCCESS, or EXIT_GUEST,
 * EXIT_TIMEOUT or EXIT_SETUP, having explained why.
 */
int vcpus_run(struct vm *vm, struct cpu *cpus, int n,
	      const struct run_options *opt);

#endif
