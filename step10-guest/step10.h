/* SPDX-License-Identifier: MIT */
/*
 * step10.h: step 10's types and functions, grouped by the file that
 * defines them: the stage (step10.c) first, then what it calls.  For
 * step10's own files, its tests and the benchmarks.
 */
#ifndef STEP10_H
#define STEP10_H

#include <stdint.h>
#include <stdio.h>

#include "vm.h"

/* The port the guest writes its output to (the Bochs/QEMU debug port). */
#define CONSOLE_PORT		0xe9
/* What an `in` from a port nobody handles reads: all ones, a floating bus. */
#define UNHANDLED_PORT_BYTE	0xff
/* How long a guest may run before it is stopped, by default. */
#define DEFAULT_TIMEOUT_SECONDS	10.0

/* The built-in guest, step10-guest/guest.asm (embedded by guest_blob.asm). */
extern const uint8_t guest_image[];
extern const uint8_t guest_image_end[];

struct run_stats {
	uint64_t exits;		/* KVM_RUN returns with an exit to handle */
	uint64_t io_exits;	/* ... of which KVM_EXIT_IO */
	uint64_t out_bytes;	/* bytes written to CONSOLE_PORT */
	uint64_t ring_bytes;	/* ... of which came through the ring */
	uint32_t last_exit;	/* exit_reason of the last exit */
};

/* What exit_handle() tells the run loop. */
enum exit_action {
	EXIT_ACTION_CONTINUE,	/* handled: enter the guest again */
	EXIT_ACTION_HALT,	/* the guest is done (hlt) */
	EXIT_ACTION_FAIL,	/* explained on stderr: stop */
};

/* One in or out of the guest, as io_handle() checked it. */
struct port_io {
	uint8_t direction;	/* KVM_EXIT_IO_OUT: read data; _IN: fill it */
	uint8_t size;		/* bytes per item: 1, 2 or 4 */
	uint16_t port;
	uint32_t count;		/* items; above 1 only for rep ins */
	uint8_t *data;		/* size * count bytes, inside kvm_run */
	size_t bytes;		/* size * count */
};

/*
 * A device on one more port (not CONSOLE_PORT), for a caller that needs
 * one: the bench's doorbell.  io_handle() calls io() for every in or out
 * on port, instead of calling the port unhandled, once it has checked that
 * the data lies inside kvm_run.  io() returns what the run loop does next
 * (EXIT_ACTION_FAIL after reporting why); ctx is passed back to it.
 */
struct port_device {
	uint16_t port;
	enum exit_action (*io)(void *ctx, const struct port_io *io, FILE *out,
			       struct run_stats *stats);
	void *ctx;
};

struct run_options {
	FILE *out;		/* where CONSOLE_PORT output goes */
	double timeout;		/* seconds; 0 waits for ever */
	int coalesce;		/* queue CONSOLE_PORT writes in the ring */
	const struct port_device *device;	/* one more port, or NULL */
};

/* Stage 10, part 1: copy the guest to GUEST_LOAD_ADDR. */
int guest_load(struct vm *vm, const uint8_t *image, size_t size);

/*
 * Stage 10, part 2: run the vCPU until the guest halts, fails or times
 * out.  Returns EXIT_SUCCESS on hlt, else EXIT_GUEST, EXIT_TIMEOUT or
 * EXIT_SETUP, having explained why on stderr.
 */
int vcpu_run(struct vm *vm, const struct run_options *opt,
	     struct run_stats *stats);

/*
 * Handle the exit that run describes: a pure function of the kvm_run
 * region (run_size bytes) and opt (its out and device), so tests can
 * hand it made-up exits.
 */
enum exit_action exit_handle(struct kvm_run *run, size_t run_size,
			     const struct run_options *opt,
			     struct run_stats *stats);

/* exit_explain.c: the exits that end a run badly, explained on stderr:
 * what happened, the numbers KVM gave, and what to check. */
void mmio_explain(const struct kvm_run *run);		/* KVM_EXIT_MMIO */
void shutdown_explain(const struct kvm_run *run);	/* KVM_EXIT_SHUTDOWN */
void fail_entry_explain(const struct kvm_run *run);	/* KVM_EXIT_FAIL_ENTRY */
void internal_error_explain(const struct kvm_run *run);	/* ..._INTERNAL_ERROR */

/*
 * coalesced_ring.c (--coalesce; COALESCED.md).  Setup registers
 * CONSOLE_PORT as a coalesced zone and returns the ring, or NULL after
 * reporting why not.  Drain writes every queued entry to out and counts
 * it in stats; -1 after reporting when the ring's indices are out of range.
 */
struct kvm_coalesced_mmio_ring *coalesced_ring_setup(struct vm *vm);
int coalesced_ring_drain(struct kvm_coalesced_mmio_ring *ring, FILE *out,
			 struct run_stats *stats);

/*
 * guest_image.c: read a guest image file to its end (a /proc file's
 * size says 0).  Refuses a missing, unreadable, non-regular or empty file
 * and one over GUEST_CODE_MAX bytes, naming the file and the limit.  On
 * success *image is malloc'd.
 */
int guest_image_read(const char *path, uint8_t **image, size_t *size);

/*
 * command_line.c: parse step10's command line into opt and *guest_path
 * (NULL for the built-in guest).  --help prints the usage and exits 0; a
 * bad argument prints the usage on stderr and exits EXIT_USAGE.
 */
void command_line_parse(int argc, char **argv, struct run_options *opt,
			const char **guest_path);

#endif
