/* SPDX-License-Identifier: MIT */
/*
 * coalesced_ring.h: coalesced port I/O (--coalesce; COALESCED.md).  KVM
 * queues the guest's writes to CONSOLE_PORT in a ring page of the vCPU
 * mapping instead of exiting; the run loop drains the ring before it
 * handles every exit, so the output stays in order.
 */
#ifndef COALESCED_RING_H
#define COALESCED_RING_H

#include <linux/kvm.h>
#include <stdio.h>

#include "step10.h"

/* Register CONSOLE_PORT as a coalesced zone; the ring, or NULL after
 * reporting why not. */
struct kvm_coalesced_mmio_ring *coalesced_ring_setup(struct vm *vm);

/* Write out (to out) every entry KVM queued, and count them in stats;
 * -1 after reporting when the ring's indices are out of range. */
int coalesced_ring_drain(struct kvm_coalesced_mmio_ring *ring, FILE *out,
			 struct run_stats *stats);

#endif
