/* SPDX-License-Identifier: MIT */
/*
 * step10: load a guest and run it.
 *
 * Everything is ready: memory, a vCPU in long mode, its registers.  We
 * copy the guest's code into guest memory and call KVM_RUN in a loop.
 * Each time the guest does something KVM leaves to us (here: port I/O),
 * KVM_RUN returns and kvm_run says what; we handle it and go back in,
 * until the guest executes hlt.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "dump.h"
#include "kvm_names.h"
#include "options.h"
#include "report.h"
#include "step10.h"
#include "trace.h"
#include "vm.h"

/* region: guest_load */
/* Stage 10, part 1: copy the guest to GUEST_LOAD_ADDR, where RIP points. */
int guest_load(struct vm *vm, const uint8_t *image, size_t size)
{
	if (size > GUEST_CODE_MAX)
		return report("the guest is %zu bytes; it has room for %llu",
			      size, GUEST_CODE_MAX);
	memcpy(vm->mem + GUEST_LOAD_ADDR, image, size);
	stage_say(10, "loaded the guest: %zu bytes at GPA 0x%llx", size,
		  GUEST_LOAD_ADDR);
	return 0;
}
/* endregion: guest_load */

/* region: io_handle */
/*
 * KVM_EXIT_IO: the guest executed in or out (count times, for rep ins or
 * outs).  The data is inside the kvm_run mapping, data_offset bytes from
 * its start: we read it for out, and fill it for in before the next
 * KVM_RUN, which completes the instruction.
 */
static enum exit_action io_handle(struct kvm_run *run, size_t run_size,
				  const struct run_options *opt,
				  struct run_stats *stats)
{
	const struct port_device *device = opt->device;
	/* Copy once: the guest chose these values; the kernel shares them. */
	typeof(run->io) io = run->io;
	size_t bytes = (size_t)io.size * io.count;
	uint8_t *data;

	if (io.size != 1 && io.size != 2 && io.size != 4)
		return report("KVM_EXIT_IO with size %u", io.size), EXIT_ACTION_FAIL;
	if (io.data_offset > run_size || bytes > run_size - io.data_offset)
		return report("KVM_EXIT_IO data (offset %llu, %zu bytes) is "
			      "outside kvm_run's %zu bytes",
			      (unsigned long long)io.data_offset, bytes,
			      run_size), EXIT_ACTION_FAIL;
	data = (uint8_t *)run + io.data_offset;	/* inside, checked above */

	if (io.direction == KVM_EXIT_IO_OUT && io.port == CONSOLE_PORT) {
		fwrite(data, 1, bytes, opt->out);	/* each item's bytes, in order */
		stats->out_bytes += bytes;
	} else if (io.direction == KVM_EXIT_IO_IN && io.port == CONSOLE_PORT) {
		memset(data, CONSOLE_PORT, bytes);	/* "the console is here" */
	} else if (device && io.port == device->port) {
		return device->io(device->ctx, &(struct port_io){ io.direction,
				  io.size, io.port, io.count, data, bytes },
				  opt->out, stats);
	} else if (io.direction == KVM_EXIT_IO_OUT) {
		report("guest wrote %zu byte%s to unhandled port 0x%x (size %u, "
		       "count %u); ignored", bytes, bytes == 1 ? "" : "s",
		       io.port, io.size, io.count);
	} else {
		memset(data, UNHANDLED_PORT_BYTE, bytes);
		report("guest read port 0x%x (size %u, count %u), which nothing "
		       "handles; it reads all ones (0x%02x bytes)", io.port,
		       io.size, io.count, UNHANDLED_PORT_BYTE);
	}
	return EXIT_ACTION_CONTINUE;
}
/* endregion: io_handle */

/* The exits that end a run badly: say what happened and what to check. */
static void mmio_explain(const struct kvm_run *run)
{
	typeof(run->mmio) mmio = run->mmio;
	unsigned int len = mmio.len <= 8 ? mmio.len : 8;

	report("guest %s %u byte%s at guest physical address 0x%llx, where no "
	       "memory slot is (KVM_EXIT_MMIO)", mmio.is_write ? "wrote" : "read",
	       mmio.len, mmio.len == 1 ? "" : "s",
	       (unsigned long long)mmio.phys_addr);
	if (mmio.is_write) {
		fprintf(stderr, "  data:");
		for (unsigned int i = 0; i < len; i++)
			fprintf(stderr, " %02x", mmio.data[i]);
		fputc('\n', stderr);
	}
	report_hint("guest memory is GPA 0x0-0x%llx; the page tables map up to "
		    "1 GiB, so any other address there is a device's (MMIO), "
		    "and this tutorial has none", GUEST_MEM_SIZE - 1);
}

static void fail_entry_explain(const struct kvm_run *run)
{
	uint64_t reason = run->fail_entry.hardware_entry_failure_reason;

	report("the CPU refused to enter the guest (KVM_EXIT_FAIL_ENTRY), "
	       "hardware_entry_failure_reason 0x%llx, cpu %u",
	       (unsigned long long)reason, run->fail_entry.cpu);
	if (reason == 0x80000021)
		report_hint("Intel: VM-entry failure (bit 31) with basic reason 33, "
			    "invalid guest state");
	else if (reason == 0xffffffffffffffffULL || reason == 0xffffffff)
		report_hint("AMD: VMRUN rejected the guest state (SVM_EXIT_ERR)");
	report_hint("check the long-mode state of step08: CS.L=1 needs CS.D=0, "
		    "CR0.PG needs CR0.PE and CR4.PAE; for the CPU's own account, "
		    "load kvm_intel with dump_invalid_vmcs=1 (kvm_amd: "
		    "dump_invalid_vmcb=1) and read dmesg");
}

static void internal_error_explain(const struct kvm_run *run)
{
	typeof(run->internal) internal = run->internal;
	uint32_t n = internal.ndata;

	report("KVM could not handle the guest (KVM_EXIT_INTERNAL_ERROR): %s",
	       kvm_internal_error_name(internal.suberror));
	if (n > sizeof(internal.data) / sizeof(internal.data[0]))
		n = sizeof(internal.data) / sizeof(internal.data[0]);
	fprintf(stderr, "  ndata=%u", internal.ndata);
	for (uint32_t i = 0; i < n; i++)
		fprintf(stderr, " data[%u]=0x%llx", i,
			(unsigned long long)internal.data[i]);
	fputc('\n', stderr);
	if (internal.suberror == KVM_INTERNAL_ERROR_EMULATION)
		report_hint("KVM had to emulate an instruction and could not: "
			    "most often the guest jumped to an address with no "
			    "memory behind it (is RIP inside 0x0-0x%llx?), or ran "
			    "into bytes that are not code", GUEST_MEM_SIZE - 1);
	else if (internal.suberror == KVM_INTERNAL_ERROR_DELIVERY_EV)
		report_hint("an exception hit while delivering another; the guest "
			    "has no IDT, so the first exception was fatal");
}

/* region: exit_handle */
enum exit_action exit_handle(struct kvm_run *run, size_t run_size,
			     const struct run_options *opt,
			     struct run_stats *stats)
{
	uint32_t reason = run->exit_reason;

	stats->exits++;
	stats->last_exit = reason;
	switch (reason) {
	case KVM_EXIT_IO:
		stats->io_exits++;
		return io_handle(run, run_size, opt, stats);
	case KVM_EXIT_HLT:
		return EXIT_ACTION_HALT;
	case KVM_EXIT_MMIO:
		mmio_explain(run);
		return EXIT_ACTION_FAIL;
	case KVM_EXIT_SHUTDOWN:
		report("the guest triple-faulted (KVM_EXIT_SHUTDOWN)");
		report_hint("an exception it could not deliver: these guests "
			    "have no IDT, so any exception (#PF from an unmapped "
			    "address, #GP, #UD from bytes that are not code) ends "
			    "here; CR2 holds the address of the last #PF");
		return EXIT_ACTION_FAIL;
	case KVM_EXIT_FAIL_ENTRY:
		fail_entry_explain(run);
		return EXIT_ACTION_FAIL;
	case KVM_EXIT_INTERNAL_ERROR:
		internal_error_explain(run);
		return EXIT_ACTION_FAIL;
	default:
		report("unexpected exit %s (%u)", kvm_exit_name(reason), reason);
		return EXIT_ACTION_FAIL;
	}
}
/* endregion: exit_handle */

/*
 * Stopping a guest that never halts: a timer (or Ctrl-C) sends a signal.
 * Its handler sets kvm_run.immediate_exit, so KVM_RUN returns EINTR at
 * once even if the signal came just before we entered it.
 */
static struct kvm_run *volatile running;
static volatile sig_atomic_t stop_signal;

static void stop_handler(int sig)
{
	stop_signal = sig;
	if (running)
		running->immediate_exit = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static int stop_signals_arm(struct vm *vm, double timeout,
			    struct sigaction *old_alrm, struct sigaction *old_int)
{
	struct sigaction sa = { .sa_handler = stop_handler };	/* no SA_RESTART */
	struct itimerval timer = { 0 };
	const char *call = "sigaction";
	int err;

	stop_signal = 0;
	running = vm->run;
	sigemptyset(&sa.sa_mask);
	timer.it_value.tv_sec = (time_t)timeout;
	timer.it_value.tv_usec = (suseconds_t)((timeout - (time_t)timeout) * 1e6);
	if (timeout > 0 && !timer.it_value.tv_sec && !timer.it_value.tv_usec)
		timer.it_value.tv_usec = 1;
	if (sigaction(SIGALRM, &sa, old_alrm) < 0)
		goto fail;
	if (sigaction(SIGINT, &sa, old_int) < 0)
		goto fail_alrm;
	call = "setitimer";
	if (setitimer(ITIMER_REAL, &timer, NULL) < 0)
		goto fail_int;
	return 0;

	/* Leave no handler behind that points at this kvm_run. */
fail_int:
	err = errno;
	sigaction(SIGINT, old_int, NULL);
	errno = err;
fail_alrm:
	err = errno;
	sigaction(SIGALRM, old_alrm, NULL);
	errno = err;
fail:
	running = NULL;
	return report_errno(call, errno);
}

static void stop_signals_disarm(struct vm *vm, const struct sigaction *old_alrm,
				const struct sigaction *old_int)
{
	struct itimerval off = { 0 };

	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, old_alrm, NULL);
	sigaction(SIGINT, old_int, NULL);
	running = NULL;
	vm->run->immediate_exit = 0;
}

/*
 * Coalesced port I/O (--coalesce): KVM queues the guest's writes to
 * CONSOLE_PORT in a ring page of the vCPU mapping instead of exiting.
 * We drain the ring before handling every exit, so output stays in order.
 */
#define PAGE_SIZE ((size_t)sysconf(_SC_PAGESIZE))	/* for the header */

/* region: coalesced_ring_setup */
/* Queue CONSOLE_PORT writes in the ring; returns the ring, or NULL. */
static struct kvm_coalesced_mmio_ring *coalesced_ring_setup(struct vm *vm)
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
static int coalesced_ring_drain(struct kvm_coalesced_mmio_ring *ring,
				FILE *out, struct run_stats *stats)
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

/* region: vcpu_run */
/* Stage 10, part 2: KVM_RUN until the guest halts, fails or times out. */
int vcpu_run(struct vm *vm, const struct run_options *opt,
	     struct run_stats *stats)
{
	struct kvm_coalesced_mmio_ring *ring = NULL;
	struct sigaction old_alrm, old_int;
	enum exit_action action = EXIT_ACTION_CONTINUE;
	int status = EXIT_SUCCESS;

	*stats = (struct run_stats){ 0 };
	if (opt->coalesce && !(ring = coalesced_ring_setup(vm)))
		return EXIT_SETUP;
	if (stop_signals_arm(vm, opt->timeout, &old_alrm, &old_int) < 0)
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
		if (ring && coalesced_ring_drain(ring, opt->out, stats) < 0) {
			status = EXIT_GUEST;
			break;
		}
		action = exit_handle(vm->run, vm->run_size, opt, stats);
		if (action == EXIT_ACTION_FAIL)
			status = EXIT_GUEST;
	}
	/* Stopped without an exit (timeout, KVM_RUN failed): bytes may wait. */
	if (ring && status != EXIT_GUEST)
		coalesced_ring_drain(ring, opt->out, stats);
	fflush(opt->out);
	stop_signals_disarm(vm, &old_alrm, &old_int);

	if (status == EXIT_TIMEOUT && stop_signal == SIGINT)
		report("interrupted (Ctrl-C); the guest was stopped");
	else if (status == EXIT_TIMEOUT)
		report("the guest did not halt within %g s; it was stopped",
		       opt->timeout);
	if (status != EXIT_SUCCESS && status != EXIT_SETUP)
		vcpu_dump(stderr, vm);
	return status;
}
/* endregion: vcpu_run */

int guest_image_read(const char *path, uint8_t **image, size_t *size)
{
	char call[300];
	struct stat st;
	uint8_t *buf;
	size_t done = 0;
	int fd;

	snprintf(call, sizeof(call), "opening guest image %s", path);
	/* O_NONBLOCK: naming a FIFO by mistake must not hang the open. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return report_errno(call, errno);
	snprintf(call, sizeof(call), "reading guest image %s", path);
	if (fstat(fd, &st) < 0) {
		report_errno(call, errno);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		report("guest image %s is %s, not a regular file", path,
		       S_ISDIR(st.st_mode) ? "a directory"
					   : "a device, FIFO or socket");
		goto fail;
	}
	if (st.st_size == 0) {
		report("guest image %s is empty", path);
		goto fail;
	}
	if ((unsigned long long)st.st_size > GUEST_CODE_MAX) {
		report("guest image %s is %lld bytes; a guest has room for at "
		       "most %llu bytes (GUEST_CODE_MAX)", path,
		       (long long)st.st_size, GUEST_CODE_MAX);
		goto fail;
	}
	buf = malloc(st.st_size);
	if (!buf) {
		report_errno("malloc", errno);
		goto fail;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				report_errno(call, errno);
			else
				report("guest image %s shrank while being read",
				       path);
			free(buf);
			goto fail;
		}
		done += n;
	}
	close(fd);
	*image = buf;
	*size = done;
	return 0;
fail:
	close(fd);
	return -1;
}

static void usage(FILE *to)
{
	fprintf(to,
		"usage: step10 [--trace] [--timeout SECONDS] [--coalesce] [GUEST.bin]\n"
		"Run a 64-bit guest: the built-in greeting, or the flat binary GUEST.bin\n"
		"(loaded and entered at 0x%llx; see step10-guest/README.md).\n\n"
		"  --timeout SECONDS  stop a guest that has not halted (default %g; 0: never)\n"
		"  --coalesce         queue port 0x%x output in KVM's coalesced ring\n"
		"  --trace            print every KVM ioctl to stderr (also KVM_TRACE=1)\n"
		"Exit status: 0 the guest halted, 1 setup failed, 2 bad usage or\n"
		"guest image, 3 the guest failed, 4 timeout or Ctrl-C.\n",
		GUEST_LOAD_ADDR, DEFAULT_TIMEOUT_SECONDS, CONSOLE_PORT);
}

/* Parse the command line into opt and *guest_path; exits on bad usage. */
static void options_parse(int argc, char **argv, struct run_options *opt,
			  const char **guest_path)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		char *end;

		if (!strcmp(arg, "--trace")) {
			trace_enable(1);
		} else if (!strcmp(arg, "--coalesce")) {
			opt->coalesce = 1;
		} else if (!strcmp(arg, "--timeout") && i + 1 < argc) {
			errno = 0;
			opt->timeout = strtod(argv[++i], &end);
			if (errno || *end || end == argv[i] || !(opt->timeout >= 0) ||
			    opt->timeout > 1e6) {
				report("--timeout wants seconds from 0 to 1000000, "
				       "not '%s'", argv[i]);
				exit(EXIT_USAGE);
			}
		} else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			usage(stdout);
			exit(EXIT_SUCCESS);
		} else if (arg[0] == '-' || *guest_path) {
			report("unexpected argument '%s'", arg);
			usage(stderr);
			exit(EXIT_USAGE);
		} else {
			*guest_path = arg;
		}
	}
}

int main(int argc, char **argv)
{
	struct vm vm = VM_EMPTY;
	struct run_options opt = {
		.out = stdout, .timeout = DEFAULT_TIMEOUT_SECONDS,
	};
	struct run_stats stats;
	const char *guest_path = NULL;
	const uint8_t *image = guest_image;
	size_t size = guest_image_end - guest_image;
	uint8_t *file_image = NULL;
	int status = EXIT_SUCCESS;

	options_parse(argc, argv, &opt, &guest_path);
	if (guest_path) {
		if (guest_image_read(guest_path, &file_image, &size) < 0) {
			report_hint("a guest image is a flat binary (nasm -f bin) "
				    "of 1 to %llu bytes, loaded and entered at "
				    "0x%llx", GUEST_CODE_MAX, GUEST_LOAD_ADDR);
			return EXIT_USAGE;
		}
		image = file_image;
	}
	if (kvm_open(&vm) < 0 ||			/* 01 */
	    kvm_check_api_version(&vm) < 0 ||		/* 02 */
	    vm_create(&vm) < 0 ||			/* 03 */
	    vm_set_tss_addr(&vm) < 0 ||			/* 04 */
	    vm_memory_add(&vm, GUEST_MEM_SIZE) < 0 ||	/* 05 */
	    vcpu_create(&vm) < 0 ||			/* 06 */
	    vcpu_map_run(&vm) < 0 ||			/* 07 */
	    vcpu_enter_long_mode(&vm) < 0 ||		/* 08 */
	    vcpu_regs_set(&vm) < 0 ||			/* 09 */
	    guest_load(&vm, image, size) < 0) {		/* 10: this step */
		status = EXIT_SETUP;
	} else {
		status = vcpu_run(&vm, &opt, &stats);		/* 10: this step */
		if (status == EXIT_SUCCESS)
			stage_say(10, "KVM_RUN: %s after %llu exit%s",
				  kvm_exit_name(stats.last_exit),
				  (unsigned long long)stats.exits,
				  stats.exits == 1 ? "" : "s");
		if (status == EXIT_SUCCESS && opt.coalesce)
			stage_say(10, "coalesced ring: %llu of %llu output bytes",
				  (unsigned long long)stats.ring_bytes,
				  (unsigned long long)stats.out_bytes);
	}
	vm_destroy(&vm);
	free(file_image);
	return status;
}
