/* SPDX-License-Identifier: MIT */
/* step12.h: step12's stage, for its tests. */
#ifndef STEP12_H
#define STEP12_H

#include <stdint.h>
#include <stdio.h>

#include "vm.h"

/* The port the guest prints to, as in step 10. */
#define CONSOLE_PORT		0xe9
/*
 * The vector each tick arrives on: 0-31 are the CPU's exceptions, so
 * the first one free for devices is 32 (SDM Vol. 3A §6.2).
 */
#define TIMER_VECTOR		32
/* How often the host's timer ticks, and how long a guest may run. */
#define TICK_PERIOD_SECONDS	0.05
#define DEFAULT_TIMEOUT_SECONDS	10.0

/* The built-in guest, beyond/step12-interrupts/guest.asm (guest_blob.asm). */
extern const uint8_t guest_image[];
extern const uint8_t guest_image_end[];

struct run_options {
	FILE *out;		/* where CONSOLE_PORT output goes */
	double timeout;		/* seconds; 0 waits for ever */
	double period;		/* seconds between ticks */
	uint32_t vector;	/* what a tick injects: TIMER_VECTOR */
};

struct run_stats {
	uint64_t exits;		/* KVM_RUN returns with an exit to handle */
	uint64_t hlt_exits;	/* ... KVM_EXIT_HLT */
	uint64_t window_exits;	/* ... KVM_EXIT_IRQ_WINDOW_OPEN */
	uint64_t injected;	/* KVM_INTERRUPT calls */
	uint64_t out_bytes;	/* bytes written to CONSOLE_PORT */
	uint32_t last_exit;	/* exit_reason of the last exit */
};

/* What tick_exit_handle() tells the run loop. */
enum exit_action {
	EXIT_ACTION_CONTINUE,	/* handled: enter the guest again */
	EXIT_ACTION_WAIT,	/* hlt with interrupts on: wait for a tick */
	EXIT_ACTION_DONE,	/* hlt with interrupts off: the guest is done */
	EXIT_ACTION_FAIL,	/* explained on stderr: stop */
};

/* Copy the guest to GUEST_LOAD_ADDR; -1 after reporting if too large. */
int tick_guest_load(struct vm *vm, const uint8_t *image, size_t size);

/*
 * Handle the exit that run describes (run_size bytes): a pure function
 * of the kvm_run region, so tests can hand it made-up exits.
 */
enum exit_action tick_exit_handle(struct kvm_run *run, size_t run_size,
				  FILE *out, struct run_stats *stats);

/*
 * Stage 12: run the vCPU with a periodic tick, injecting each one as
 * opt->vector, until the guest halts with interrupts off, fails or times
 * out.  Returns EXIT_SUCCESS, else EXIT_GUEST, EXIT_TIMEOUT or
 * EXIT_SETUP, having explained why on stderr.
 */
int tick_vcpu_run(struct vm *vm, const struct run_options *opt,
		  struct run_stats *stats);

#endif
