/* SPDX-License-Identifier: MIT */
/*
 * run.h: stage 10, the run loop.  Step 10 writes it (guest_load,
 * vcpu_run, exit_handle); the chapters in beyond/ call its promoted copy,
 * common/stages/vcpu_run.c, and add their own exits through struct run_hooks.
 */
#ifndef RUN_H
#define RUN_H

#include <stdint.h>
#include <stdio.h>

#include "vm.h"

/* The port the guest writes its output to (the Bochs/QEMU debug port). */
#define CONSOLE_PORT		0xe9
/* What an `in` from a port nobody handles reads: all ones, a floating bus. */
#define UNHANDLED_PORT_BYTE	0xff
/* How long a guest may run before it is stopped, by default. */
#define DEFAULT_TIMEOUT_SECONDS	10.0

struct run_stats {
	uint64_t exits;		/* KVM_RUN returns with an exit to handle */
	uint64_t io_exits;	/* ... of which KVM_EXIT_IO, step 10's to handle */
	uint64_t out_bytes;	/* bytes the guest printed */
	uint64_t ring_bytes;	/* ... of which came through a coalesced ring */
	uint32_t last_exit;	/* exit_reason of the last exit */
};

/* What exit_handle() and a chapter's exit hook tell the run loop. */
enum exit_action {
	EXIT_ACTION_CONTINUE,	/* handled: enter the guest again */
	EXIT_ACTION_HALT,	/* the guest is done (hlt) */
	EXIT_ACTION_FAIL,	/* explained on stderr: stop */
	EXIT_ACTION_PASS,	/* a hook's answer: not mine, step 10 decides */
};

/* One in or out of the guest, as io_handle() checked it. */
struct port_io {
	uint8_t direction;	/* KVM_EXIT_IO_OUT: read data; _IN: fill it */
	uint8_t size;		/* bytes per item: 1, 2 or 4 */
	uint16_t port;
	uint32_t count;		/* items; above 1 for a rep ins (or a SEV-ES rep outs) */
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

/*
 * What a chapter adds to the run loop; any of the three may be NULL.
 * enter: before each KVM_RUN (step 12 injects a tick); 0, or -1 after
 * reporting, which ends the run.  exit: sees each exit first (step 11's
 * UART, step 12's windows); EXIT_ACTION_PASS leaves it to exit_handle().
 * leave: once the loop has ended, before the output is flushed (step 11
 * writes out what its rings still hold).
 */
struct run_hooks {
	int (*enter)(void *ctx, struct vcpu *vcpu, struct run_stats *stats);
	enum exit_action (*exit)(void *ctx, struct kvm_run *run, FILE *out,
				 struct run_stats *stats);
	void (*leave)(void *ctx, FILE *out, struct run_stats *stats);
	void *ctx;
};

struct run_options {
	FILE *out;		/* where CONSOLE_PORT output goes */
	double timeout;		/* seconds; 0 waits for ever */
	const struct port_device *device;	/* one more port, or NULL */
	const struct run_hooks *hooks;		/* a chapter's exits, or NULL */
	/*
	 * 1 for a thread of step 13, whose main thread arms the stop signals
	 * and the timeout, kicks each vCPU out of KVM_RUN (immediate_exit,
	 * then a signal that sets stop_signal), says why and dumps them all.
	 */
	int kicked;
};

/*
 * run_options.c: the options every program that runs a guest takes, at
 * argv[*i]: --trace, --timeout SECONDS (into opt->timeout), and --help or
 * -h (usage on stdout, then exit 0, or 1 if stdout failed).  Returns 1 if
 * argv[*i] was one of them (*i then past its value), else 0.
 */
int run_option(int argc, char **argv, int *i, struct run_options *opt,
	       void (*usage)(FILE *to));

/* An argument no option takes: say so, the usage on stderr, exit 2. */
void run_option_refuse(const char *arg, void (*usage)(FILE *to))
	__attribute__((noreturn));

/*
 * What a chapter's main() does first, before any fd is made, as step 10's
 * does: std_streams_prepare(), stop_signals_block(), and opt->out =
 * stdout (the guarded stream).  0, or -1 after saying why.
 */
int run_prepare(struct run_options *opt);

/* Stage 10, part 1: copy the guest to GUEST_LOAD_ADDR. */
int guest_load(struct vm *vm, const uint8_t *image, size_t size);

/*
 * Stage 10, part 2: run vcpu, one of vm's, until the guest halts, fails,
 * is stopped (timeout, SIGINT, SIGTERM, SIGHUP; opt->kicked: a kick) or
 * its output cannot be written.
 * Returns EXIT_SUCCESS on hlt, else EXIT_GUEST, EXIT_TIMEOUT or
 * EXIT_SETUP, having explained why on stderr (the output's errno is
 * stdout_finish()'s to report; with opt->kicked, a stop and the
 * registers are the caller's).
 */
int vcpu_run(struct vm *vm, struct vcpu *vcpu, const struct run_options *opt,
	     struct run_stats *stats);

/*
 * Handle the exit that run describes, counting it in stats.  No pure
 * function: it writes the guest's bytes to opt->out, fills an `in`'s data
 * in run, explains a failure on stderr and calls opt's hooks.  But it
 * makes no ioctl itself, and what it does depends only on the kvm_run
 * region (run_size bytes) and opt (its out, device and hooks), so tests
 * can hand it made-up exits.
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
void unexpected_exit_explain(const struct kvm_run *run);	/* any other */

#endif
