/* SPDX-License-Identifier: MIT */
/*
 * step11: a device at a guest physical address (MMIO).
 *
 * The guest has no port I/O now.  It prints through a UART whose
 * registers sit at guest physical address 0x10000000, where no memory
 * slot is.  Every load or store there leaves the guest with
 * KVM_EXIT_MMIO: KVM has decoded the instruction and tells us the
 * address, the width and, for a store, the bytes.  We act as the device:
 * a read of the status register says "ready", a write to the transmit
 * register is a character.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "dump.h"
#include "kvm_names.h"
#include "options.h"
#include "report.h"
#include "std_streams.h"
#include "stop_signals.h"
#include "step11.h"
#include "trace.h"
#include "vm.h"

/* The UART lies where the page tables map but no memory slot is. */
_Static_assert(UART_MMIO_BASE >= GUEST_MEM_GPA + GUEST_MEM_SIZE &&
	       UART_MMIO_BASE + UART_MMIO_SIZE <= GUEST_IDENTITY_SIZE,
	       "the UART must be mapped, and outside guest memory");

/* Copy the guest to GUEST_LOAD_ADDR, where RIP points (as step 10). */
int mmio_guest_load(struct vm *vm, const uint8_t *image, size_t size)
{
	if (size > GUEST_CODE_MAX)
		return report("the guest is %zu bytes; it has room for %llu",
			      size, GUEST_CODE_MAX);
	memcpy(vm->mem + GUEST_LOAD_ADDR, image, size);
	stage_say(11, "loaded the guest: %zu bytes at GPA 0x%llx", size,
		  GUEST_LOAD_ADDR);
	return 0;
}

/* The kvm_run fields of an MMIO exit, copied out once. */
typedef typeof(((struct kvm_run *)0)->mmio) mmio_exit;

/* region: uart_mmio_handle */
/*
 * An MMIO exit inside the UART.  A write's bytes are in mmio->data; for
 * a read we put the value in reply (run->mmio.data), and the next
 * KVM_RUN completes the guest's load with it.
 */
static enum exit_action uart_mmio_handle(const mmio_exit *mmio,
					 uint8_t reply[8], struct uart *uart,
					 struct run_stats *stats)
{
	unsigned int reg = (unsigned int)(mmio->phys_addr - UART_MMIO_BASE);

	if (mmio->len != 1)
		return report("guest %s %u bytes at UART register +%u; its "
			      "registers are one byte wide",
			      mmio->is_write ? "wrote" : "read", mmio->len, reg),
		       EXIT_ACTION_FAIL;
	if (mmio->is_write && reg == UART_THR) {
		fputc(mmio->data[0], uart->out);	/* transmit */
		stats->out_bytes++;
	} else if (mmio->is_write) {
		report("guest wrote 0x%02x to UART register +%u, which this "
		       "UART does not have; ignored", mmio->data[0], reg);
	} else {
		memset(reply, 0, 8);
		if (reg == UART_LSR)
			reply[0] = uart->lsr;		/* "ready to transmit" */
		else if (reg != UART_RBR)		/* RBR: nothing received */
			report("guest read UART register +%u, which this UART "
			       "does not have; it reads 0", reg);
	}
	return EXIT_ACTION_CONTINUE;
}
/* endregion: uart_mmio_handle */

/* An access to an address where neither memory nor the UART is. */
static void mmio_explain(const mmio_exit *mmio)
{
	unsigned int len = mmio->len <= 8 ? mmio->len : 8;

	report("guest %s %u byte%s at guest physical address 0x%llx, where "
	       "neither memory nor the UART is (KVM_EXIT_MMIO)",
	       mmio->is_write ? "wrote" : "read", mmio->len,
	       mmio->len == 1 ? "" : "s", (unsigned long long)mmio->phys_addr);
	if (mmio->is_write) {
		fprintf(stderr, "  data:");
		for (unsigned int i = 0; i < len; i++)
			fprintf(stderr, " %02x", mmio->data[i]);
		fputc('\n', stderr);
	}
	report_hint("memory is GPA 0x0-0x%llx and the UART's registers are "
		    "0x%llx-0x%llx", GUEST_MEM_SIZE - 1, UART_MMIO_BASE,
		    UART_MMIO_BASE + UART_MMIO_SIZE - 1);
}

/* region: mmio_exit_handle */
enum exit_action mmio_exit_handle(struct kvm_run *run, struct uart *uart,
				  struct run_stats *stats)
{
	uint32_t reason = run->exit_reason;
	mmio_exit mmio;

	stats->exits++;
	stats->last_exit = reason;
	switch (reason) {
	case KVM_EXIT_MMIO:
		mmio = run->mmio;	/* copy once: the guest chose these */
		if (mmio.is_write)
			stats->mmio_writes++;
		else
			stats->mmio_reads++;
		if (mmio.phys_addr - UART_MMIO_BASE < UART_MMIO_SIZE)
			return uart_mmio_handle(&mmio, run->mmio.data, uart,
						stats);
		mmio_explain(&mmio);
		return EXIT_ACTION_FAIL;
	case KVM_EXIT_HLT:
		return EXIT_ACTION_HALT;
	case KVM_EXIT_IO:
		report("guest used port 0x%x (KVM_EXIT_IO); this machine's one "
		       "device is the UART at GPA 0x%llx", run->io.port,
		       UART_MMIO_BASE);
		return EXIT_ACTION_FAIL;
	case KVM_EXIT_SHUTDOWN:
		report("the guest triple-faulted (KVM_EXIT_SHUTDOWN)");
		report_hint("an exception it could not deliver: the guest has "
			    "no IDT; above 1 GiB nothing is mapped, so a #PF");
		return EXIT_ACTION_FAIL;
	case KVM_EXIT_INTERNAL_ERROR:
		report("KVM could not handle the guest (KVM_EXIT_INTERNAL_ERROR): "
		       "%s", kvm_internal_error_name(run->internal.suberror));
		return EXIT_ACTION_FAIL;
	default:
		report("unexpected exit %s (%u)", kvm_exit_name(reason), reason);
		return EXIT_ACTION_FAIL;
	}
}
/* endregion: mmio_exit_handle */

/*
 * Coalesced MMIO (--coalesce): KVM appends the guest's writes to THR to
 * a ring page of the vCPU mapping instead of exiting.  Reads still exit.
 */
#define PAGE_SIZE ((size_t)sysconf(_SC_PAGESIZE))	/* for the ring's size */

/* region: uart_ring_setup */
/* Queue writes to THR in the ring; returns the ring, or NULL. */
static struct kvm_coalesced_mmio_ring *uart_ring_setup(struct vm *vm)
{
	struct kvm_coalesced_mmio_zone zone = {
		.addr = UART_MMIO_BASE + UART_THR, .size = 1, .pio = 0,
	};
	size_t offset = KVM_COALESCED_MMIO_PAGE_OFFSET * PAGE_SIZE;
	int cap = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);

	if (cap < 0)
		return report_errno("KVM_CHECK_EXTENSION", errno), NULL;
	if (cap == 0)
		return report("this kernel cannot coalesce MMIO "
			      "(KVM_CAP_COALESCED_MMIO is 0)"), NULL;
	if (vm->run_size < offset + PAGE_SIZE)
		return report("the vCPU mapping (%zu bytes) has no ring page",
			      vm->run_size), NULL;
	if (ioctl(vm->fd, KVM_REGISTER_COALESCED_MMIO, &zone) < 0)
		return report_errno("KVM_REGISTER_COALESCED_MMIO", errno), NULL;
	return (struct kvm_coalesced_mmio_ring *)((uint8_t *)vm->run + offset);
}
/* endregion: uart_ring_setup */

/* region: uart_ring_drain */
/* Transmit every write KVM queued; we own `first`, KVM owns `last`. */
static int uart_ring_drain(struct kvm_coalesced_mmio_ring *ring,
			   struct uart *uart, struct run_stats *stats)
{
	uint32_t max = KVM_COALESCED_MMIO_MAX;
	uint32_t first = ring->first;
	uint32_t last = __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE);

	if (first >= max || last >= max)
		return report("coalesced ring indices out of range (first %u, "
			      "last %u, %u entries)", first, last, max);
	while (first != last) {
		struct kvm_coalesced_mmio entry = ring->coalesced_mmio[first];

		if (!entry.pio && entry.phys_addr == UART_MMIO_BASE + UART_THR &&
		    entry.len == 1) {
			fputc(entry.data[0], uart->out);
			stats->out_bytes++;
			stats->ring_bytes++;
		}
		first = (first + 1) % max;
		__atomic_store_n(&ring->first, first, __ATOMIC_RELEASE);
	}
	return 0;
}
/* endregion: uart_ring_drain */

/* region: mmio_vcpu_run */
/* Stage 11: KVM_RUN until the guest halts, fails or times out. */
int mmio_vcpu_run(struct vm *vm, const struct run_options *opt,
		  struct uart *uart, struct run_stats *stats)
{
	struct kvm_coalesced_mmio_ring *ring = NULL;
	struct stop_saved saved;
	enum exit_action action = EXIT_ACTION_CONTINUE;
	int status = EXIT_SUCCESS;

	*stats = (struct run_stats){ 0 };
	if (opt->coalesce && !(ring = uart_ring_setup(vm)))
		return EXIT_SETUP;
	if (stop_signals_arm(vm, opt->timeout, &saved) < 0)
		return EXIT_SETUP;

	while (action == EXIT_ACTION_CONTINUE) {
		if (ioctl(vm->vcpu_fd, KVM_RUN, 0UL) < 0) {
			int err = errno;

			/* exit_reason is stale now: do not decode it. */
			if (err == EINTR && stop_signal) {
				status = EXIT_TIMEOUT;
				break;
			}
			if (err == EINTR || err == EAGAIN)
				continue;
			status = EXIT_SETUP;
			report_errno("KVM_RUN", err);
			break;
		}
		/* Queued writes came before this exit: transmit them first. */
		if (ring && uart_ring_drain(ring, uart, stats) < 0) {
			status = EXIT_GUEST;
			break;
		}
		action = mmio_exit_handle(vm->run, uart, stats);
		if (action == EXIT_ACTION_FAIL)
			status = EXIT_GUEST;
	}
	if (ring && status != EXIT_GUEST)
		uart_ring_drain(ring, uart, stats);
	fflush(uart->out);
	stop_signals_disarm(vm, &saved);

	if (status == EXIT_TIMEOUT)
		stop_report(opt->timeout);	/* the timeout's, or whose signal */
	if (status != EXIT_SUCCESS && status != EXIT_SETUP)
		vcpu_dump(stderr, vm);
	return status;
}
/* endregion: mmio_vcpu_run */

static void usage(FILE *to)
{
	fprintf(to,
		"usage: step11 [--trace] [--timeout SECONDS] [--coalesce]\n"
		"Run a 64-bit guest that prints through a UART at GPA 0x%llx (MMIO).\n\n"
		"  --timeout SECONDS  stop a guest that has not halted (default %g; 0: never)\n"
		"  --coalesce         queue the UART's transmit writes in KVM's coalesced ring\n"
		"  --trace            print every KVM ioctl to stderr (also KVM_TRACE=1)\n"
		"Exit status: 0 the guest halted, 1 setup failed, 2 bad usage,\n"
		"3 the guest failed, 4 the guest was stopped (timeout, Ctrl-C,\n"
		"SIGTERM, SIGHUP, SIGALRM).\n",
		UART_MMIO_BASE, DEFAULT_TIMEOUT_SECONDS);
}

/* Parse the command line into opt; exits on bad usage. */
static void options_parse(int argc, char **argv, struct run_options *opt)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, "--trace")) {
			trace_enable(1);
		} else if (!strcmp(arg, "--coalesce")) {
			opt->coalesce = 1;
		} else if (!strcmp(arg, "--timeout")) {
			opt->timeout = option_seconds("--timeout", argv[++i]);
		} else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			usage(stdout);
			exit(EXIT_SUCCESS);
		} else {
			report("unexpected argument '%s'", arg);
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
}

int main(int argc, char **argv)
{
	struct vm vm = VM_EMPTY;
	struct run_options opt = { .timeout = DEFAULT_TIMEOUT_SECONDS };
	struct uart uart = {
		.out = stdout, .lsr = UART_LSR_THRE | UART_LSR_TEMT,
	};
	struct run_stats stats;
	int status;

	if (std_streams_prepare() < 0 || stop_signals_block() < 0)
		return EXIT_SETUP;			/* before any fd is made */
	options_parse(argc, argv, &opt);
	if (kvm_open(&vm) < 0 ||			/* 01 */
	    kvm_check_api_version(&vm) < 0 ||		/* 02 */
	    vm_create(&vm) < 0 ||			/* 03 */
	    vm_set_tss_addr(&vm) < 0 ||			/* 04 */
	    vm_memory_add(&vm, GUEST_MEM_SIZE) < 0 ||	/* 05 */
	    vcpu_create(&vm) < 0 ||			/* 06 */
	    vcpu_map_run(&vm) < 0 ||			/* 07 */
	    vcpu_enter_long_mode(&vm) < 0 ||		/* 08 */
	    vcpu_regs_set(&vm) < 0 ||			/* 09 */
	    mmio_guest_load(&vm, guest_image,		/* 11: this chapter */
			    guest_image_end - guest_image) < 0) {
		vm_destroy(&vm);
		return EXIT_SETUP;
	}
	stage_say(11, "UART at GPA 0x%llx, no memory slot there: THR +%d "
		  "(transmit), LSR +%d (status)", UART_MMIO_BASE, UART_THR,
		  UART_LSR);
	status = mmio_vcpu_run(&vm, &opt, &uart, &stats);	/* 11 */
	if (status == EXIT_SUCCESS)
		stage_say(11, "KVM_RUN: %s after %llu exits: %llu MMIO reads, "
			  "%llu MMIO writes", kvm_exit_name(stats.last_exit),
			  (unsigned long long)stats.exits,
			  (unsigned long long)stats.mmio_reads,
			  (unsigned long long)stats.mmio_writes);
	if (status == EXIT_SUCCESS && opt.coalesce)
		stage_say(11, "coalesced ring: %llu of %llu transmitted bytes",
			  (unsigned long long)stats.ring_bytes,
			  (unsigned long long)stats.out_bytes);
	vm_destroy(&vm);
	return status;
}
