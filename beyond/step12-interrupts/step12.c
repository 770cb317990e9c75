/* SPDX-License-Identifier: MIT */
/*
 * step12: a host timer interrupts the guest.
 *
 * The guest builds an IDT, enables interrupts and sleeps in hlt.  We
 * play the interrupt controller, in user space: a periodic timer signal
 * marks a tick pending and kicks the vCPU out of KVM_RUN; when kvm_run
 * says the guest can take an interrupt we inject one with KVM_INTERRUPT,
 * and when it cannot we ask KVM to tell us as soon as it can
 * (request_interrupt_window).  With no interrupt controller in the
 * kernel, the guest's hlt comes back to us: we wait for the next tick.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <time.h>

#include "dump.h"
#include "kvm_names.h"
#include "options.h"
#include "report.h"
#include "step12.h"
#include "trace.h"
#include "vm.h"

/* Copy the guest to GUEST_LOAD_ADDR, where RIP points (as step 10). */
int tick_guest_load(struct vm *vm, const uint8_t *image, size_t size)
{
	if (size > GUEST_CODE_MAX)
		return report("the guest is %zu bytes; it has room for %llu",
			      size, GUEST_CODE_MAX);
	memcpy(vm->mem + GUEST_LOAD_ADDR, image, size);
	stage_say(12, "loaded the guest: %zu bytes at GPA 0x%llx", size,
		  GUEST_LOAD_ADDR);
	return 0;
}

/* KVM_EXIT_IO: the guest's console, port CONSOLE_PORT, as in step 10. */
static enum exit_action io_handle(struct kvm_run *run, size_t run_size,
				  FILE *out, struct run_stats *stats)
{
	typeof(run->io) io = run->io;	/* copy once: the guest chose these */
	size_t bytes = (size_t)io.size * io.count;
	uint8_t *data = (uint8_t *)run + io.data_offset;

	if (io.port != CONSOLE_PORT)
		return report("guest used port 0x%x (KVM_EXIT_IO); this "
			      "machine's console is port 0x%x", io.port,
			      CONSOLE_PORT), EXIT_ACTION_FAIL;
	if (io.data_offset > run_size || bytes > run_size - io.data_offset)
		return report("KVM_EXIT_IO data (offset %llu, %zu bytes) is "
			      "outside kvm_run's %zu bytes",
			      (unsigned long long)io.data_offset, bytes,
			      run_size), EXIT_ACTION_FAIL;
	if (io.direction == KVM_EXIT_IO_OUT) {
		fwrite(data, 1, bytes, out);
		stats->out_bytes += bytes;
	} else {
		memset(data, CONSOLE_PORT, bytes);	/* "the console is here" */
	}
	return EXIT_ACTION_CONTINUE;
}

/* region: tick_exit_handle */
enum exit_action tick_exit_handle(struct kvm_run *run, size_t run_size,
				  FILE *out, struct run_stats *stats)
{
	uint32_t reason = run->exit_reason;

	stats->exits++;
	stats->last_exit = reason;
	switch (reason) {
	case KVM_EXIT_IO:
		return io_handle(run, run_size, out, stats);
	case KVM_EXIT_HLT:
		/* No interrupt controller in the kernel: the sleep is ours. */
		stats->hlt_exits++;
		return run->if_flag ? EXIT_ACTION_WAIT : EXIT_ACTION_DONE;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		/* We asked: the guest can take an interrupt now. */
		stats->window_exits++;
		return EXIT_ACTION_CONTINUE;
	case KVM_EXIT_SHUTDOWN:
		report("the guest triple-faulted (KVM_EXIT_SHUTDOWN)");
		report_hint("an exception or interrupt it could not deliver: its "
			    "IDT has one entry, vector %d, so any exception or "
			    "other vector ends here", TIMER_VECTOR);
		return EXIT_ACTION_FAIL;
	case KVM_EXIT_MMIO:
		report("guest %s GPA 0x%llx, where no memory is (KVM_EXIT_MMIO)",
		       run->mmio.is_write ? "wrote" : "read",
		       (unsigned long long)run->mmio.phys_addr);
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
/* endregion: tick_exit_handle */

/*
 * The timer and Ctrl-C.  Each handler sets its flag, then
 * kvm_run.immediate_exit, so KVM_RUN returns EINTR at once even when the
 * signal comes just before we enter it.  The loop clears immediate_exit
 * before it looks at the flags, so no signal is missed.
 */
static struct kvm_run *volatile running;
static volatile sig_atomic_t tick_pending;
static volatile sig_atomic_t stop_signal;

static void vcpu_kick(void)
{
	if (running)
		running->immediate_exit = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static void tick_handler(int sig)
{
	(void)sig;
	tick_pending = 1;
	vcpu_kick();
}

static void stop_handler(int sig)
{
	stop_signal = sig;
	vcpu_kick();
}

/* SIGALRM every period seconds, and Ctrl-C; old handlers into old[0..1]. */
static int tick_timer_arm(struct vm *vm, double period, struct sigaction old[2])
{
	struct sigaction tick = { .sa_handler = tick_handler };	/* no SA_RESTART */
	struct sigaction stop = { .sa_handler = stop_handler };
	struct itimerval timer = { 0 };
	int err;

	tick_pending = 0;
	stop_signal = 0;
	running = vm->run;
	sigemptyset(&tick.sa_mask);
	sigemptyset(&stop.sa_mask);
	timer.it_interval.tv_sec = (time_t)period;
	timer.it_interval.tv_usec = (suseconds_t)((period - (time_t)period) * 1e6);
	if (!timer.it_interval.tv_sec && !timer.it_interval.tv_usec)
		timer.it_interval.tv_usec = 1;
	timer.it_value = timer.it_interval;
	if (sigaction(SIGALRM, &tick, &old[0]) < 0)
		return running = NULL, report_errno("sigaction", errno);
	if (sigaction(SIGINT, &stop, &old[1]) < 0) {
		err = errno;
		sigaction(SIGALRM, &old[0], NULL);
		return running = NULL, report_errno("sigaction", err);
	}
	if (setitimer(ITIMER_REAL, &timer, NULL) < 0) {
		err = errno;
		sigaction(SIGALRM, &old[0], NULL);
		sigaction(SIGINT, &old[1], NULL);
		return running = NULL, report_errno("setitimer", err);
	}
	return 0;
}

static void tick_timer_disarm(struct vm *vm, const struct sigaction old[2])
{
	struct itimerval off = { 0 };

	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old[0], NULL);
	sigaction(SIGINT, &old[1], NULL);
	running = NULL;
	vm->run->immediate_exit = 0;
	vm->run->request_interrupt_window = 0;
}

/* Sleep until the timer ticks (or Ctrl-C), without missing one. */
static void tick_wait(void)
{
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	while (!tick_pending && !stop_signal)
		sigsuspend(&old);	/* unblocks, waits, blocks again */
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static double seconds_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* region: tick_inject */
/*
 * A tick is pending: inject it if the guest can take an interrupt now
 * (IF set, no interrupt shadow, nothing else being delivered), else ask
 * KVM to exit with KVM_EXIT_IRQ_WINDOW_OPEN as soon as it can.
 */
static int tick_inject(struct vm *vm, uint32_t vector, struct run_stats *stats)
{
	struct kvm_interrupt irq = { .irq = vector };

	if (vm->run->ready_for_interrupt_injection &&
	    __atomic_exchange_n(&tick_pending, 0, __ATOMIC_SEQ_CST)) {
		if (ioctl(vm->vcpu_fd, KVM_INTERRUPT, &irq) < 0)
			return report_errno("KVM_INTERRUPT", errno);
		stats->injected++;
	}
	vm->run->request_interrupt_window = tick_pending;
	return 0;
}
/* endregion: tick_inject */

/* region: tick_vcpu_run */
/* Stage 12: KVM_RUN with a ticking timer, until the guest is done. */
int tick_vcpu_run(struct vm *vm, const struct run_options *opt,
		  struct run_stats *stats)
{
	double deadline = opt->timeout > 0 ? seconds_monotonic() + opt->timeout : 0;
	struct sigaction old[2];
	int status = -1;		/* still running */

	*stats = (struct run_stats){ 0 };
	if (tick_timer_arm(vm, opt->period, old) < 0)
		return EXIT_SETUP;

	while (status < 0) {
		vm->run->immediate_exit = 0;	/* the handlers set it again */
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		if (stop_signal || (deadline && seconds_monotonic() >= deadline)) {
			status = EXIT_TIMEOUT;
			break;
		}
		if (tick_inject(vm, opt->vector, stats) < 0) {
			status = EXIT_SETUP;
			break;
		}
		if (ioctl(vm->vcpu_fd, KVM_RUN, 0UL) < 0) {
			int err = errno;

			/* exit_reason is stale now: do not decode it. */
			if (err == EINTR || err == EAGAIN)
				continue;	/* a tick or a stop: look again */
			status = EXIT_SETUP;
			report_errno("KVM_RUN", err);
			break;
		}
		switch (tick_exit_handle(vm->run, vm->run_size, opt->out, stats)) {
		case EXIT_ACTION_CONTINUE:
			break;
		case EXIT_ACTION_WAIT:		/* the guest sleeps: so do we */
			tick_wait();
			break;
		case EXIT_ACTION_DONE:
			status = EXIT_SUCCESS;
			break;
		case EXIT_ACTION_FAIL:
			status = EXIT_GUEST;
			break;
		}
	}
	fflush(opt->out);
	tick_timer_disarm(vm, old);

	if (status == EXIT_TIMEOUT && stop_signal == SIGINT)
		report("interrupted (Ctrl-C); the guest was stopped");
	else if (status == EXIT_TIMEOUT)
		report("the guest did not finish within %g s; it was stopped",
		       opt->timeout);
	if (status != EXIT_SUCCESS && status != EXIT_SETUP)
		vcpu_dump(stderr, vm);
	return status;
}
/* endregion: tick_vcpu_run */

static void usage(FILE *to)
{
	fprintf(to,
		"usage: step12 [--trace] [--timeout SECONDS] [--vector N]\n"
		"Run a 64-bit guest that a host timer interrupts every %g ms.\n\n"
		"  --timeout SECONDS  stop a guest that has not finished (default %g; 0: never)\n"
		"  --vector N         inject ticks as vector N, 0 to 255 (default %d)\n"
		"  --trace            print every KVM ioctl to stderr (also KVM_TRACE=1)\n"
		"Exit status: 0 the guest finished, 1 setup failed, 2 bad usage,\n"
		"3 the guest failed, 4 timeout or Ctrl-C.\n",
		TICK_PERIOD_SECONDS * 1000, DEFAULT_TIMEOUT_SECONDS, TIMER_VECTOR);
}

/* Parse the command line into opt; exits on bad usage. */
static void options_parse(int argc, char **argv, struct run_options *opt)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		char *end;

		if (!strcmp(arg, "--trace")) {
			trace_enable(1);
		} else if (!strcmp(arg, "--timeout")) {
			opt->timeout = option_seconds("--timeout", argv[++i]);
		} else if (!strcmp(arg, "--vector") && i + 1 < argc) {
			unsigned long v;

			errno = 0;
			v = strtoul(argv[++i], &end, 0);
			if (errno || *end || end == argv[i] || argv[i][0] == '-' ||
			    v > 255) {
				report("--vector wants an interrupt vector from 0 "
				       "to 255, not '%s'", argv[i]);
				exit(EXIT_USAGE);
			}
			opt->vector = (uint32_t)v;
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
	struct run_options opt = {
		.out = stdout, .timeout = DEFAULT_TIMEOUT_SECONDS,
		.period = TICK_PERIOD_SECONDS, .vector = TIMER_VECTOR,
	};
	struct run_stats stats;
	int status;

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
	    tick_guest_load(&vm, guest_image,		/* 12: this chapter */
			    guest_image_end - guest_image) < 0) {
		vm_destroy(&vm);
		return EXIT_SETUP;
	}
	stage_say(12, "timer: a tick every %g ms, injected as vector %u with "
		  "KVM_INTERRUPT", opt.period * 1000, opt.vector);
	status = tick_vcpu_run(&vm, &opt, &stats);		/* 12 */
	if (status == EXIT_SUCCESS)
		stage_say(12, "KVM_RUN: %s with interrupts off: the guest is done",
			  kvm_exit_name(stats.last_exit));
	vm_destroy(&vm);
	return status;
}
