/* SPDX-License-Identifier: MIT */
/*
 * coalesced_ring.h: coalesced I/O, which beyond/step11-mmio teaches and
 * the bench uses: KVM queues the guest's writes to a registered zone in
 * a ring page of the vCPU mapping instead of exiting for each.
 */
#ifndef COALESCED_RING_H
#define COALESCED_RING_H

#include <stdio.h>

#include "run.h"
#include "vm.h"

/*
 * Register zone (a port with .pio = 1, else MMIO) for coalescing and
 * return the vCPU mapping's ring, or NULL after reporting why not.
 */
struct kvm_coalesced_mmio_ring *
coalesced_ring_setup(struct vm *vm, const struct kvm_coalesced_mmio_zone *zone);

/*
 * Print every queued write to out (only output zones are registered) and
 * count it in stats; -1 after reporting if the ring's indices are out of
 * range.
 */
int coalesced_ring_drain(struct kvm_coalesced_mmio_ring *ring, FILE *out,
			 struct run_stats *stats);

#endif
