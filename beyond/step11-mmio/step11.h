/* SPDX-License-Identifier: MIT */
/* step11.h: step11's stage, for its tests. */
#ifndef STEP11_H
#define STEP11_H

#include <stdint.h>
#include <stdio.h>

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

/* How long a guest may run before it is stopped, by default. */
#define DEFAULT_TIMEOUT_SECONDS	10.0

/* The built-in guest, beyond/step11-mmio/guest.asm (guest_blob.asm). */
extern const uint8_t guest_image[];
extern const uint8_t guest_image_end[];

/* The device's state, and where what the guest transmits goes. */
struct uart {
	FILE *out;		/* the transmit register's bytes */
	uint8_t lsr;		/* what a read of LSR returns */
};

struct run_options {
	double timeout;		/* seconds; 0 waits for ever */
	int coalesce;		/* queue THR writes in KVM's ring */
};

struct run_stats {
	uint64_t exits;		/* KVM_RUN returns with an exit to handle */
	uint64_t mmio_reads;	/* ... KVM_EXIT_MMIO reads */
	uint64_t mmio_writes;	/* ... KVM_EXIT_MMIO writes */
	uint64_t out_bytes;	/* bytes the guest wrote to THR */
	uint64_t ring_bytes;	/* ... of which came through the ring */
	uint32_t last_exit;	/* exit_reason of the last exit */
};

/* What mmio_exit_handle() tells the run loop. */
enum exit_action {
	EXIT_ACTION_CONTINUE,	/* handled: enter the guest again */
	EXIT_ACTION_HALT,	/* the guest is done (hlt) */
	EXIT_ACTION_FAIL,	/* explained on stderr: stop */
};

/* Copy the guest to GUEST_LOAD_ADDR; -1 after reporting if too large. */
int mmio_guest_load(struct vm *vm, const uint8_t *image, size_t size);

/*
 * Handle the exit that run describes, for the UART: a pure function of
 * the kvm_run region, so tests can hand it made-up exits.
 */
enum exit_action mmio_exit_handle(struct kvm_run *run, struct uart *uart,
				  struct run_stats *stats);

/*
 * Stage 11: run the vCPU until the guest halts, fails or times out.
 * Returns EXIT_SUCCESS on hlt, else EXIT_GUEST, EXIT_TIMEOUT or
 * EXIT_SETUP, having explained why on stderr.
 */
int mmio_vcpu_run(struct vm *vm, const struct run_options *opt,
		  struct uart *uart, struct run_stats *stats);

#endif
