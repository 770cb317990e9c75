/* SPDX-License-Identifier: MIT */
/* step11.h: step11's stage, for its tests. */
#ifndef STEP11_H
#define STEP11_H

#include <stdint.h>
#include <stdio.h>

#include "run.h"
#include "vm.h"

/*
 * The UART: eight one-byte registers at a guest physical address that no
 * memory slot covers, inside the 1 GiB the page tables map.  Register
 * offsets and bits as in a 16550 (National Semiconductor PC16550D data
 * sheet, "Registers"); this UART implements two of them.
 */
#define UART_MMIO_BASE		0x10000000ULL	/* 256 MiB */
#define UART_MMIO_SIZE		8
#define UART_THR		0	/* transmit holding register (write) */
#define UART_RBR		0	/* receive buffer register (read) */
#define UART_LSR		5	/* line status register (read) */
#define UART_LSR_THRE		(1u << 5)	/* transmit holding register empty */
#define UART_LSR_TEMT		(1u << 6)	/* transmitter empty */

/* The built-in guest, beyond/step11-mmio/guest.asm (guest_blob.asm). */
extern const uint8_t guest_image[];
extern const uint8_t guest_image_end[];

/* The device's state; what it transmits goes to the run's out. */
struct uart {
	uint8_t lsr;		/* what a read of LSR returns */
	int coalesce;		/* queue THR and console writes in KVM's ring */
	struct kvm_coalesced_mmio_ring *ring;	/* uart_vcpu_run() sets it */
	uint64_t reads;		/* KVM_EXIT_MMIO reads */
	uint64_t writes;	/* KVM_EXIT_MMIO writes */
};

/*
 * The UART's exits, as a run_hooks.exit (ctx: the uart): first whatever
 * the ring holds, then an MMIO exit; EXIT_ACTION_PASS for any other exit.
 * It calls no ioctl and reads only the kvm_run region it is given and
 * the uart (its ring too), so tests can hand it made-up exits.
 */
enum exit_action uart_exit(void *ctx, struct kvm_run *run, FILE *out,
			   struct run_stats *stats);

/*
 * Stage 11: with uart->coalesce, register THR and the console port for
 * coalescing; then step 10's vcpu_run() with the UART's hooks.  Returns
 * what vcpu_run() returns (EXIT_SETUP if the rings could not be set up).
 */
int uart_vcpu_run(struct vm *vm, const struct run_options *opt,
		  struct uart *uart, struct run_stats *stats);

#endif
