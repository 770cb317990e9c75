/* SPDX-License-Identifier: MIT */
/* coalesced_ring.c: coalesced port I/O for --coalesce (COALESCED.md). */
#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "report.h"
#include "step10.h"

/* <linux/kvm.h> sizes the ring with PAGE_SIZE, which user space lacks. */
#define PAGE_SIZE ((size_t)sysconf(_SC_PAGESIZE))

/* region: coalesced_ring_setup */
/* Queue CONSOLE_PORT writes in the ring; returns the ring, or NULL. */
struct kvm_coalesced_mmio_ring *coalesced_ring_setup(struct vm *vm)
{
	struct kvm_coalesced_mmio_zone zone = {
		.addr = CONSOLE_PORT, .size = 1, .pio = 1,
	};
	size_t offset = KVM_COALESCED_MMIO_PAGE_OFFSET * PAGE_SIZE;
	int cap = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO);

	if (cap < 0)
		return report_errno("KVM_CHECK_EXTENSION", errno), NULL;
	if (cap == 0) {
		report("this kernel cannot coalesce port I/O "
		       "(KVM_CAP_COALESCED_PIO is 0)");
		report_hint("run without --coalesce");
		return NULL;
	}
	if (vm->run_size < offset + PAGE_SIZE)
		return report("the vCPU mapping (%zu bytes) has no ring page",
			      vm->run_size), NULL;
	if (ioctl(vm->fd, KVM_REGISTER_COALESCED_MMIO, &zone) < 0)
		return report_errno("KVM_REGISTER_COALESCED_MMIO", errno), NULL;
	return (struct kvm_coalesced_mmio_ring *)((uint8_t *)vm->run + offset);
}
/* endregion: coalesced_ring_setup */

/* region: coalesced_ring_drain */
/* Write out every entry KVM queued; we own `first`, KVM owns `last`. */
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

		if (entry.pio && entry.phys_addr == CONSOLE_PORT) {
			fwrite(entry.data, 1, len, out);
			stats->out_bytes += len;
			stats->ring_bytes += len;
		}
		first = (first + 1) % max;
		__atomic_store_n(&ring->first, first, __ATOMIC_RELEASE);
	}
	return 0;
}
/* endregion: coalesced_ring_drain */
