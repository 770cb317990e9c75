/* SPDX-License-Identifier: MIT */
/*
 * step10: load a guest and run it.
 *
 * Memory, a vCPU in long mode, its registers: all is ready.  We copy the
 * guest in and call KVM_RUN in a loop; at each exit KVM leaves to us (port
 * I/O), kvm_run says what, we handle it and go back in, until hlt.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "dump.h"
#include "kvm_names.h"
#include "report.h"
#include "std_streams.h"
#include "step10.h"
#include "stop_signals.h"
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

/* region: vcpu_run */
/* Stage 10, part 2: KVM_RUN until the guest halts, fails or is stopped. */
int vcpu_run(struct vm *vm, struct vcpu *vcpu, const struct run_options *opt,
	     struct run_stats *stats)
{
	const struct run_hooks *hooks = opt->hooks;
	struct stop_saved saved;
	enum exit_action action = EXIT_ACTION_CONTINUE;
	int status = EXIT_SUCCESS;

	*stats = (struct run_stats){ 0 };
	if (!opt->kicked && stop_signals_arm(vm, vcpu, opt->timeout, &saved) < 0)
		return EXIT_SETUP;
	while (action == EXIT_ACTION_CONTINUE && !ferror(opt->out)) {
		if (hooks && hooks->enter && hooks->enter(hooks->ctx, vcpu, stats) < 0) {
			status = EXIT_SETUP;
			break;
		}
		if (ioctl(vcpu->fd, KVM_RUN, 0UL) < 0) {
			/* No exit to decode: KVM_EXIT_INTR, or left as it was. */
			if (errno == EINTR && stop_signal) {
				status = EXIT_TIMEOUT;
				break;
			}
			if (errno == EINTR || errno == EAGAIN)
				continue;
			status = EXIT_SETUP;
			report_errno("KVM_RUN", errno);
			break;
		}
		action = exit_handle(vcpu->run, vcpu->run_size, opt, stats);
		if (action == EXIT_ACTION_FAIL)
			status = EXIT_GUEST;
	}
	if (hooks && hooks->leave)
		hooks->leave(hooks->ctx, opt->out, stats);
	if ((fflush(opt->out) != 0 || ferror(opt->out)) && status != EXIT_GUEST)
		status = EXIT_SETUP;	/* the output failed: stdout_finish() says why */
	if (opt->kicked)
		return status;		/* step 13: its main thread does the rest */
	stop_signals_disarm(vcpu, &saved);
	if (status == EXIT_TIMEOUT)
		stop_report(opt->timeout);
	if (status != EXIT_SUCCESS && status != EXIT_SETUP)
		vcpu_dump(stderr, vm, vcpu);
	return status;
}
/* endregion: vcpu_run */

/* region: io_handle */
/*
 * KVM_EXIT_IO: the guest executed in or out (count items: above 1 for a
 * rep ins; KVM exits once per item of a rep outs, except in SEV-ES guests).
 * The data is in the kvm_run mapping, data_offset bytes from its start:
 * we read it for out, and fill it for in; the next KVM_RUN completes it.
 */
static enum exit_action io_handle(struct kvm_run *run, size_t run_size,
				  const struct run_options *opt,
				  struct run_stats *stats)
{
	const struct port_device *device = opt->device;
	/* Copy once, from a page the kernel shares; the guest chose the port. */
	typeof(run->io) io = run->io;
	size_t bytes = (size_t)io.size * io.count;
	uint8_t *data;

	if (io.size != 1 && io.size != 2 && io.size != 4) {
		report("KVM_EXIT_IO with size %u", io.size);
		return EXIT_ACTION_FAIL;
	}
	if (io.data_offset > run_size || bytes > run_size - io.data_offset) {
		report("KVM_EXIT_IO data (offset %llu, %zu bytes) is outside "
		       "kvm_run's %zu bytes", (unsigned long long)io.data_offset,
		       bytes, run_size);
		return EXIT_ACTION_FAIL;
	}
	data = (uint8_t *)run + io.data_offset;	/* inside, checked above */
	if (io.direction == KVM_EXIT_IO_OUT && io.port == CONSOLE_PORT) {
		fwrite(data, 1, bytes, opt->out);	/* each item's bytes, in order */
		stats->out_bytes += bytes;
	} else if (io.direction == KVM_EXIT_IO_IN && io.port == CONSOLE_PORT) {
		memset(data, CONSOLE_PORT, bytes);	/* "the console is here" */
	} else if (device && io.port == device->port) {
		return device->io(device->ctx, &(struct port_io){
			.direction = io.direction, .size = io.size, .port = io.port,
			.count = io.count, .data = data, .bytes = bytes,
		}, opt->out, stats);
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

/* region: exit_handle */
enum exit_action exit_handle(struct kvm_run *run, size_t run_size,
			     const struct run_options *opt,
			     struct run_stats *stats)
{
	const struct run_hooks *hooks = opt->hooks;
	uint32_t reason = run->exit_reason;

	stats->exits++;
	stats->last_exit = reason;
	if (hooks && hooks->exit) {		/* a chapter's exits first */
		enum exit_action action = hooks->exit(hooks->ctx, run, opt->out,
						      stats);
		if (action != EXIT_ACTION_PASS)
			return action;
	}
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
		shutdown_explain(run);
		return EXIT_ACTION_FAIL;
	case KVM_EXIT_FAIL_ENTRY:
		fail_entry_explain(run);
		return EXIT_ACTION_FAIL;
	case KVM_EXIT_INTERNAL_ERROR:
		internal_error_explain(run);
		return EXIT_ACTION_FAIL;
	default:
		unexpected_exit_explain(run);
		return EXIT_ACTION_FAIL;
	}
}
/* endregion: exit_handle */

/* region: main */
int main(int argc, char **argv)
{
	struct vm vm = VM_EMPTY;
	struct run_options opt = { .timeout = DEFAULT_TIMEOUT_SECONDS };
	struct run_stats stats;
	const char *guest_path = NULL;
	const uint8_t *image;
	uint8_t *file_image = NULL;
	size_t size;
	int status;

	if (std_streams_prepare() < 0 || stop_signals_block() < 0)
		return EXIT_SETUP;			/* before any fd is made */
	opt.out = stdout;	/* the guarded stream std_streams_prepare() made */
	command_line_parse(argc, argv, &opt, &guest_path);
	image = guest_image_choose(guest_path, &file_image, &size);
	if (kvm_open(&vm) < 0 ||			/* 01 */
	    kvm_check_api_version(&vm) < 0 ||		/* 02 */
	    vm_create(&vm) < 0 ||			/* 03 */
	    vm_set_tss_addr(&vm) < 0 ||			/* 04 */
	    vm_memory_add(&vm, GUEST_MEM_SIZE) < 0 ||	/* 05 */
	    vcpu_create(&vm, &vm.vcpu, 0) < 0 ||	/* 06 */
	    vcpu_map_run(&vm, &vm.vcpu) < 0 ||		/* 07 */
	    vcpu_enter_long_mode(&vm, &vm.vcpu) < 0 ||	/* 08 */
	    vcpu_regs_set(&vm.vcpu) < 0 ||		/* 09 */
	    guest_load(&vm, image, size) < 0) {		/* 10: this step */
		status = EXIT_SETUP;
	} else {
		status = vcpu_run(&vm, &vm.vcpu, &opt, &stats);	/* 10: this step */
		if (status == EXIT_SUCCESS)
			stage_say(10, "KVM_RUN: %s after %llu exit%s",
				  kvm_exit_name(stats.last_exit),
				  (unsigned long long)stats.exits,
				  stats.exits == 1 ? "" : "s");
	}
	vm_destroy(&vm);
	free(file_image);
	if (stdout_finish() < 0 && status != EXIT_GUEST)
		status = EXIT_SETUP;			/* the output was lost */
	return status;
}
/* endregion: main */
