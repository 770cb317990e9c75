/* SPDX-License-Identifier: MIT */
/*
 * stop_signals.h: stopping a guest that does not halt, for a run loop.
 * The timeout's timer (SIGALRM), Ctrl-C (SIGINT), kill (SIGTERM) and a
 * closed terminal (SIGHUP) all end a run the same way: their handler
 * sets kvm_run.immediate_exit, so KVM_RUN returns EINTR at once, even if
 * the signal came just before the thread entered the guest.
 */
#ifndef STOP_SIGNALS_H
#define STOP_SIGNALS_H

#include <signal.h>

#include "vm.h"

#define STOP_SIGNAL_COUNT 4	/* SIGINT, SIGTERM, SIGHUP, SIGALRM */

/* The stop signal that came during the run, or 0. */
extern volatile sig_atomic_t stop_signal;

/* What stop_signals_arm() replaced, for stop_signals_disarm(). */
struct stop_saved {
	struct sigaction old[STOP_SIGNAL_COUNT];
	sigset_t mask;
};

/*
 * Block the stop signals until stop_signals_arm() unblocks them: one that
 * comes during setup waits, and then stops the run at once, with the
 * documented status.  Returns 0, or -1 after reporting.
 */
int stop_signals_block(void);

/*
 * Check that vm's KVM has immediate_exit, catch the stop signals for
 * vcpu's kvm_run, start the timer (timeout seconds; 0: none) and unblock them.
 * Returns 0, or -1 after reporting, with nothing left installed.
 */
int stop_signals_arm(struct vm *vm, struct vcpu *vcpu, double timeout,
		     struct stop_saved *saved);

/* Timer off, signal mask and handlers as they were, immediate_exit 0. */
void stop_signals_disarm(struct vcpu *vcpu, const struct stop_saved *saved);

/* Say which signal stopped the guest: the timeout's, or whose. */
void stop_report(double timeout);

#endif
