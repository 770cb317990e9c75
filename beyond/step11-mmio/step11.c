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
 * register is a character.  Step 10's run loop (common/stages/vcpu_run.c) runs
 * the guest; the UART's exits reach us through its hooks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm_names.h"
#include "report.h"
#include "run.h"
#include "std_streams.h"
#include "coalesced_ring.h"
#include "step11.h"
#include "stop_signals.h"
#include "vm.h"

/* The UART lies where the page tables map but no memory slot is. */
_Static_assert(UART_MMIO_BASE >= GUEST_MEM_GPA + GUEST_MEM_SIZE &&
	       UART_MMIO_BASE + UART_MMIO_SIZE <= GUEST_IDENTITY_SIZE,
	       "the UART must be mapped, and outside guest memory");

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
					 FILE *out, struct run_stats *stats)
{
	unsigned int reg = (unsigned int)(mmio->phys_addr - UART_MMIO_BASE);

	if (mmio->len != 1) {
		report("guest %s %u bytes at UART register +%u; its registers "
		       "are one byte wide", mmio->is_write ? "wrote" : "read",
		       mmio->len, reg);
		return EXIT_ACTION_FAIL;
	}
	if (mmio->is_write && reg == UART_THR) {
		fputc(mmio->data[0], out);		/* transmit */
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
static void uart_mmio_explain(const mmio_exit *mmio)
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

/* region: uart_exit */
enum exit_action uart_exit(void *ctx, struct kvm_run *run, FILE *out,
			   struct run_stats *stats)
{
	struct uart *uart = ctx;
	mmio_exit mmio;

	/* Queued writes came before this exit: transmit them first. */
	if (uart->ring && coalesced_ring_drain(uart->ring, out, stats) < 0)
		return EXIT_ACTION_FAIL;
	if (run->exit_reason != KVM_EXIT_MMIO)
		return EXIT_ACTION_PASS;	/* port I/O, hlt: as step 10 */
	mmio = run->mmio;	/* copy once: the guest chose these */
	if (mmio.is_write)
		uart->writes++;
	else
		uart->reads++;
	if (mmio.phys_addr - UART_MMIO_BASE < UART_MMIO_SIZE)
		return uart_mmio_handle(&mmio, run->mmio.data, uart, out, stats);
	uart_mmio_explain(&mmio);
	return EXIT_ACTION_FAIL;
}
/* endregion: uart_exit */

/*
 * Coalesced I/O (--coalesce): KVM appends the guest's writes to a zone
 * (THR, and the console port) to a ring page of the vCPU mapping instead
 * of exiting.  Reads still exit.
 */
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

/* When the run ends (a timeout, a signal): what the ring still holds. */
static void uart_leave(void *ctx, FILE *out, struct run_stats *stats)
{
	struct uart *uart = ctx;

	if (uart->ring)
		coalesced_ring_drain(uart->ring, out, stats);
}

/* region: uart_vcpu_run */
/* Stage 11: step 10's run loop, with the UART's exits and rings. */
int uart_vcpu_run(struct vm *vm, const struct run_options *opt,
		  struct uart *uart, struct run_stats *stats)
{
	const struct kvm_coalesced_mmio_zone thr = {
		.addr = UART_MMIO_BASE + UART_THR, .size = 1, .pio = 0,
	};
	const struct kvm_coalesced_mmio_zone console = {
		.addr = CONSOLE_PORT, .size = 1, .pio = 1,
	};
	const struct run_hooks hooks = {
		.exit = uart_exit, .leave = uart_leave, .ctx = uart,
	};
	struct run_options with_uart = *opt;

	with_uart.hooks = &hooks;
	uart->ring = NULL;
	if (uart->coalesce && (!coalesced_ring_setup(vm, &console) ||
			       !(uart->ring = coalesced_ring_setup(vm, &thr)))) {
		*stats = (struct run_stats){ 0 };
		return EXIT_SETUP;
	}
	return vcpu_run(vm, &vm->vcpu, &with_uart, stats);
}
/* endregion: uart_vcpu_run */

static void usage(FILE *to)
{
	fprintf(to,
		"usage: step11 [--trace] [--timeout SECONDS] [--coalesce]\n"
		"Run a 64-bit guest that prints through a UART at GPA 0x%llx (MMIO).\n\n"
		"  --timeout SECONDS  stop a guest that has not halted (default %g; 0: never)\n"
		"  --coalesce         queue the UART's and port 0x%x's writes in KVM's ring\n"
		"  --trace            print every KVM ioctl to stderr (also KVM_TRACE=1)\n"
		"Exit status: 0 the guest halted, 1 a call or writing the output failed,\n"
		"2 bad usage, 3 the guest failed, 4 the guest was stopped (timeout,\n"
		"Ctrl-C, SIGTERM, SIGHUP, SIGALRM).\n",
		UART_MMIO_BASE, DEFAULT_TIMEOUT_SECONDS, CONSOLE_PORT);
}

/* Parse the command line into opt and uart; exits on bad usage. */
static void options_parse(int argc, char **argv, struct run_options *opt,
			  struct uart *uart)
{
	for (int i = 1; i < argc; i++) {
		if (run_option(argc, argv, &i, opt, usage))
			continue;
		if (strcmp(argv[i], "--coalesce"))
			run_option_refuse(argv[i], usage);
		uart->coalesce = 1;
	}
}

int main(int argc, char **argv)
{
	struct vm vm = VM_EMPTY;
	struct run_options opt = { .timeout = DEFAULT_TIMEOUT_SECONDS };
	struct uart uart = { .lsr = UART_LSR_THRE | UART_LSR_TEMT };
	struct run_stats stats;
	int status;

	if (run_prepare(&opt) < 0)
		return EXIT_SETUP;			/* before any fd is made */
	options_parse(argc, argv, &opt, &uart);
	if (vm_build(&vm) < 0 ||			/* 01-09 */
	    guest_load(&vm, guest_image,		/* 10 */
		       guest_image_end - guest_image) < 0) {
		status = EXIT_SETUP;
	} else {
		stage_say(11, "UART at GPA 0x%llx, no memory slot there: THR +%d "
			  "(transmit), LSR +%d (status)", UART_MMIO_BASE,
			  UART_THR, UART_LSR);
		status = uart_vcpu_run(&vm, &opt, &uart, &stats);	/* 11 */
	}
	if (status == EXIT_SUCCESS)
		stage_say(11, "KVM_RUN: %s after %llu exits: %llu MMIO reads, "
			  "%llu MMIO writes", kvm_exit_name(stats.last_exit),
			  (unsigned long long)stats.exits,
			  (unsigned long long)uart.reads,
			  (unsigned long long)uart.writes);
	if (status == EXIT_SUCCESS && uart.coalesce)
		stage_say(11, "coalesced ring: %llu of %llu transmitted bytes",
			  (unsigned long long)stats.ring_bytes,
			  (unsigned long long)stats.out_bytes);
	vm_destroy(&vm);
	if (stdout_finish() < 0 && status != EXIT_GUEST)
		status = EXIT_SETUP;			/* the output was lost */
	return status;
}
