/* SPDX-License-Identifier: MIT */
/* step12.h: step12's stage, for its tests. */
#ifndef STEP12_H
#define STEP12_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "run.h"
#include "vm.h"

/*
 * The vector each tick arrives on: 0-31 are the CPU's exceptions, so
 * the first one free for devices is 32 (SDM Vol. 3A §6.2; §7.2 in the newest editions).
 */
#define TIMER_VECTOR		32
/* How often the host's timer ticks, and the signal it ticks with. */
#define TICK_PERIOD_SECONDS	0.05
#define TICK_SIGNAL		SIGUSR1

/*
 * step12 --irqchip: KVM's own PIC and PIT deliver the ticks.  The host
 * tells the guest so by writing GUEST_ROUTE_IN_KERNEL into the byte at
 * GUEST_ROUTE_OFFSET of its image (guest.asm's `route`), and the guest,
 * which cannot halt for good there, writes DONE_PORT when it is done.
 */
#define GUEST_ROUTE_OFFSET	2
#define GUEST_ROUTE_IN_KERNEL	1
#define DONE_PORT		0xf4

/* The built-in guest, beyond/step12-interrupts/guest.asm (guest_blob.asm). */
extern const uint8_t guest_image[];
extern const uint8_t guest_image_end[];

/* The host's timer, its setting and what it counted. */
struct ticker {
	double period;		/* seconds between ticks */
	uint32_t vector;	/* what a tick injects: TIMER_VECTOR */
	uint64_t hlt_exits;	/* KVM_EXIT_HLT */
	uint64_t window_exits;	/* KVM_EXIT_IRQ_WINDOW_OPEN */
	uint64_t injected;	/* KVM_INTERRUPT calls */
	int in_kernel;		/* --irqchip: KVM's PIC and PIT tick instead */
	timer_t timer;		/* set while armed */
	int armed;
	struct sigaction old;	/* TICK_SIGNAL's handler before */
};

/*
 * The tick's hooks into step 10's run loop (ctx: the ticker).  enter:
 * arm the timer on the first call, then inject a pending tick or ask for
 * the window.  exit: hlt with interrupts on waits for a tick, the window
 * goes on; EXIT_ACTION_PASS for the rest.  exit calls no ioctl and reads
 * only the kvm_run it is given, so tests hand it made-up exits; enter
 * arms the timer and calls KVM_INTERRUPT on the vCPU.
 */
int tick_enter(void *ctx, struct vcpu *vcpu, struct run_stats *stats);
enum exit_action tick_exit(void *ctx, struct kvm_run *run, FILE *out,
			   struct run_stats *stats);

/*
 * The in-kernel route's exits: the guest's out to DONE_PORT ends the run
 * (EXIT_ACTION_HALT); a hlt is counted in t->hlt_exits and, like the
 * rest, passed to step 10.
 */
enum exit_action pit_exit(void *ctx, struct kvm_run *run, FILE *out,
			  struct run_stats *stats);

/*
 * Stage 12, --irqchip's part, between stages 03 and 04: KVM_CREATE_IRQCHIP
 * then KVM_CREATE_PIT2 on the VM, before any vCPU exists.  0, or -1
 * after reporting.
 */
int irqchip_create(struct vm *vm);

/* Stages 01-09 as vm_build() makes them, with irqchip_create() after 03. */
int irqchip_vm_build(struct vm *vm);

/*
 * Stage 12: step 10's vcpu_run() with the tick's hooks, injecting each
 * tick as t->vector, until the guest halts with interrupts off, fails or
 * is stopped; with t->in_kernel, no host timer and no injection: KVM's
 * PIC and PIT deliver the ticks, until the guest's out to DONE_PORT.
 * Returns what vcpu_run() returns.
 */
int tick_vcpu_run(struct vm *vm, const struct run_options *opt,
		  struct ticker *t, struct run_stats *stats);

#endif
