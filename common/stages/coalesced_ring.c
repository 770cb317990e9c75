/* SPDX-License-Identifier: MIT */
/*
 * coalesced_ring.c: coalesced I/O, as beyond/step11-mmio/step11.c writes
 * it (coalesced_ring.h).  step11 never links this copy; the bench does.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "coalesced_ring.h"
#include "report.h"

#define PAGE_SIZE ((size_t)sysconf(_SC_PAGESIZE))	/* for the ring's size */

/* region: coalesced_ring_setup */
/* Queue the guest's writes to zone in the ring; returns the ring, or NULL. */
struct kvm_coalesced_mmio_ring *
coalesced_ring_setup(struct vm *vm, const struct kvm_coalesced_mmio_zone *zone)
{
	size_t offset = KVM_COALESCED_MMIO_PAGE_OFFSET * PAGE_SIZE;
	int cap = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, zone->pio ?
			KVM_CAP_COALESCED_PIO : KVM_CAP_COALESCED_MMIO);

	if (cap < 0) {
		report_errno("KVM_CHECK_EXTENSION", errno);
		return NULL;
	}
	if (cap == 0) {
		report("this kernel cannot coalesce %s (KVM_CAP_COALESCED_%s "
		       "is 0)", zone->pio ? "port I/O" : "MMIO",
		       zone->pio ? "PIO" : "MMIO");
		report_hint("run without --coalesce");
		return NULL;
	}
	if (vm->vcpu.run_size < offset + PAGE_SIZE) {
		report("the vCPU mapping (%zu bytes) has no ring page",
		       vm->vcpu.run_size);
		return NULL;
	}
	if (ioctl(vm->fd, KVM_REGISTER_COALESCED_MMIO, zone) < 0) {
		report_errno("KVM_REGISTER_COALESCED_MMIO", errno);
		return NULL;
	}
	return (struct kvm_coalesced_mmio_ring *)((uint8_t *)vm->vcpu.run + offset);
}
/* endregion: coalesced_ring_setup */

/* region: coalesced_ring_drain */
/* Print every write KVM queued; we own `first`, KVM owns `last`. */
int coalesced_ring_drain(struct kvm_coalesced_mmio_ring *ring, FILE *out,
			 struct run_stats *stats)
{
	uint32_t max = KVM_COALESCED_MMIO_MAX;
	uint32_t first = ring->first;
	uint32_t last = __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE);

	if (first >= max || last >= max)
		return report("coalesced ring indices out of range (first %u, "
			      "last %u, %u entries)", first, last, max);
	while (first != last) {
		struct kvm_coalesced_mmio entry = ring->coalesced_mmio[first];
		uint32_t len = entry.len <= 8 ? entry.len : 8;

		fwrite(entry.data, 1, len, out);	/* only output zones */
		stats->out_bytes += len;
		stats->ring_bytes += len;
		first = (first + 1) % max;
		__atomic_store_n(&ring->first, first, __ATOMIC_RELEASE);
	}
	return 0;
}
/* endregion: coalesced_ring_drain */
