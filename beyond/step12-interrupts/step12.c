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
 * Step 10's run loop (common/stages/vcpu_run.c) runs the guest; the tick's
 * exits and its injection reach us through its hooks.
 *
 * step12 --irqchip takes the other route: KVM emulates the PIC and the
 * PIT in the kernel, the guest programs them itself, and the ticks, the
 * delivery and the guest's hlt never come out to us.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "kvm_names.h"
#include "report.h"
#include "run.h"
#include "std_streams.h"
#include "step12.h"
#include "stop_signals.h"
#include "vm.h"

/*
 * The tick: a POSIX timer sends TICK_SIGNAL every period.  Its handler
 * marks a tick pending, then sets kvm_run.immediate_exit, so KVM_RUN
 * returns EINTR at once even when the signal comes just before we enter
 * it.  (The timeout and the stop signals are step 10's, stop_signals.c.)
 */
static struct kvm_run *volatile tick_run;
static volatile sig_atomic_t tick_pending;

static void tick_handler(int sig)
{
	(void)sig;
	tick_pending = 1;
	if (tick_run)
		tick_run->immediate_exit = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* TICK_SIGNAL every t->period seconds, to tick_handler(). */
static int tick_timer_arm(struct ticker *t, struct kvm_run *run)
{
	struct sigaction tick = { .sa_handler = tick_handler };	/* no SA_RESTART */
	struct sigevent ev = {
		.sigev_notify = SIGEV_SIGNAL, .sigev_signo = TICK_SIGNAL,
	};
	struct itimerspec every = { 0 };

	every.it_interval.tv_sec = (time_t)t->period;
	every.it_interval.tv_nsec = (long)((t->period - (time_t)t->period) * 1e9);
	if (!every.it_interval.tv_sec && !every.it_interval.tv_nsec)
		every.it_interval.tv_nsec = 1;
	every.it_value = every.it_interval;
	tick_pending = 0;
	tick_run = run;
	sigemptyset(&tick.sa_mask);
	if (sigaction(TICK_SIGNAL, &tick, &t->old) < 0)
		return report_errno("sigaction", errno);
	if (timer_create(CLOCK_MONOTONIC, &ev, &t->timer) < 0) {
		report_errno("timer_create", errno);
		sigaction(TICK_SIGNAL, &t->old, NULL);
		return -1;
	}
	t->armed = 1;
	if (timer_settime(t->timer, 0, &every, NULL) < 0)
		return report_errno("timer_settime", errno);
	return 0;
}

/* Sleep until the timer ticks or a stop signal comes, missing neither. */
static void tick_wait(void)
{
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, TICK_SIGNAL);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, &old);
	while (!tick_pending && !stop_signal)
		sigsuspend(&old);	/* unblocks, waits, blocks again */
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* region: tick_inject */
/*
 * A tick is pending: inject it if the guest can take an interrupt now
 * (IF set, no interrupt shadow, nothing else being delivered), else ask
 * KVM to exit with KVM_EXIT_IRQ_WINDOW_OPEN as soon as it can.
 */
static int tick_inject(struct vcpu *vcpu, struct ticker *t)
{
	struct kvm_interrupt irq = { .irq = t->vector };

	if (vcpu->run->ready_for_interrupt_injection && tick_pending) {
		tick_pending = 0;	/* a tick that comes now merges: one flag */
		if (ioctl(vcpu->fd, KVM_INTERRUPT, &irq) < 0)
			return report_errno("KVM_INTERRUPT", errno);
		t->injected++;
	}
	vcpu->run->request_interrupt_window = tick_pending;
	return 0;
}
/* endregion: tick_inject */

/* region: tick_enter */
/* Before each KVM_RUN: the timer on the first, then a pending tick. */
int tick_enter(void *ctx, struct vcpu *vcpu, struct run_stats *stats)
{
	struct ticker *t = ctx;

	(void)stats;
	if (!t->armed && tick_timer_arm(t, vcpu->run) < 0)
		return -1;
	vcpu->run->immediate_exit = 0;	/* a tick set it: the handlers set it again */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (stop_signal) {
		vcpu->run->immediate_exit = 1;	/* a stop is not forgotten */
		return 0;
	}
	return tick_inject(vcpu, t);
}
/* endregion: tick_enter */

/* region: tick_exit */
enum exit_action tick_exit(void *ctx, struct kvm_run *run, FILE *out,
			   struct run_stats *stats)
{
	struct ticker *t = ctx;

	(void)out;
	(void)stats;
	switch (run->exit_reason) {
	case KVM_EXIT_HLT:
		/* No interrupt controller in the kernel: the sleep is ours. */
		t->hlt_exits++;
		if (!run->if_flag)
			return EXIT_ACTION_PASS;	/* interrupts off: done */
		tick_wait();
		return EXIT_ACTION_CONTINUE;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		/* We asked: the guest can take an interrupt now. */
		t->window_exits++;
		return EXIT_ACTION_CONTINUE;
	case KVM_EXIT_SHUTDOWN:
		report("the guest triple-faulted (KVM_EXIT_SHUTDOWN)");
		report_hint("an exception or interrupt it could not deliver: its "
			    "IDT has one gate, vector %d, so any exception or "
			    "other vector ends here", TIMER_VECTOR);
		return EXIT_ACTION_FAIL;
	default:
		return EXIT_ACTION_PASS;	/* the console, MMIO: as step 10 */
	}
}
/* endregion: tick_exit */

/* When the run ends: the timer off, its handler as it was. */
static void tick_leave(void *ctx, FILE *out, struct run_stats *stats)
{
	struct ticker *t = ctx;

	(void)out;
	(void)stats;
	if (t->armed) {
		timer_delete(t->timer);
		sigaction(TICK_SIGNAL, &t->old, NULL);
		t->armed = 0;
	}
	if (tick_run)
		tick_run->request_interrupt_window = 0;
	tick_run = NULL;
}

/* region: pit_exit */
enum exit_action pit_exit(void *ctx, struct kvm_run *run, FILE *out,
			  struct run_stats *stats)
{
	struct ticker *t = ctx;

	(void)out;
	(void)stats;
	if (run->exit_reason == KVM_EXIT_HLT)
		t->hlt_exits++;		/* never, with KVM's local APIC */
	if (run->exit_reason == KVM_EXIT_IO && run->io.port == DONE_PORT &&
	    run->io.direction == KVM_EXIT_IO_OUT)
		return EXIT_ACTION_HALT;	/* the guest's last word */
	return EXIT_ACTION_PASS;
}
/* endregion: pit_exit */

/* region: tick_vcpu_run */
/* Stage 12: step 10's run loop, with a ticking timer. */
int tick_vcpu_run(struct vm *vm, const struct run_options *opt,
		  struct ticker *t, struct run_stats *stats)
{
	const struct run_hooks hooks = {
		.enter = tick_enter, .exit = tick_exit, .leave = tick_leave,
		.ctx = t,
	};
	const struct run_hooks in_kernel = { .exit = pit_exit, .ctx = t };
	struct run_options with_ticks = *opt;

	with_ticks.hooks = t->in_kernel ? &in_kernel : &hooks;
	t->armed = 0;
	return vcpu_run(vm, &vm->vcpu, &with_ticks, stats);
}
/* endregion: tick_vcpu_run */

/* region: irqchip_create */
/*
 * --irqchip: KVM's interrupt controllers, then its timer, on the VM fd.
 * KVM_CREATE_IRQCHIP gives two 8259 PICs, an I/O APIC, and a local APIC
 * to each vCPU created after it: with a vCPU already there it fails with
 * EINVAL (kvm->created_vcpus, kvm_arch_vm_ioctl() in arch/x86/kvm/x86.c).
 * KVM_CREATE_PIT2 adds an 8254 whose IRQ 0 goes to that PIC, so it comes
 * second (api.rst: "only valid after enabling in-kernel irqchip support";
 * current kernels refuse it before with ENOENT).
 */
int irqchip_create(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = 0 };
	int err;

	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0UL) < 0) {
		err = errno;
		report_errno("KVM_CREATE_IRQCHIP", err);
		if (err == EINVAL || err == EEXIST)
			report_hint("it must come once, before KVM_CREATE_VCPU");
		return -1;
	}
	if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0) {
		err = errno;
		report_errno("KVM_CREATE_PIT2", err);
		if (err == ENOENT)
			report_hint("no PIC in the kernel yet: KVM_CREATE_IRQCHIP "
				    "comes first");
		return -1;
	}
	stage_say(12, "KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2: the PIC, I/O "
		  "APIC and PIT in the kernel, before the vCPU");
	return 0;
}
/* endregion: irqchip_create */

/* region: irqchip_vm_build */
/* Stages 01-09 as vm_build() makes them, with the irqchip after 03. */
int irqchip_vm_build(struct vm *vm)
{
	if (kvm_open(vm) < 0 ||				/* 01 */
	    kvm_check_api_version(vm) < 0 ||		/* 02 */
	    vm_create(vm) < 0 ||			/* 03 */
	    irqchip_create(vm) < 0 ||			/* 12, before 06 */
	    vm_set_tss_addr(vm) < 0 ||			/* 04 */
	    vm_memory_add(vm, GUEST_MEM_SIZE) < 0 ||	/* 05 */
	    vcpu_create(vm, &vm->vcpu, 0) < 0 ||	/* 06 */
	    vcpu_map_run(vm, &vm->vcpu) < 0 ||		/* 07 */
	    vcpu_enter_long_mode(vm, &vm->vcpu) < 0 ||	/* 08 */
	    vcpu_regs_set(&vm->vcpu) < 0)		/* 09 */
		return -1;
	return 0;
}
/* endregion: irqchip_vm_build */

static void usage(FILE *to)
{
	fprintf(to,
		"usage: step12 [--trace] [--timeout SECONDS] [--vector N | --irqchip]\n"
		"Run a 64-bit guest that a host timer interrupts every %g ms.\n\n"
		"  --irqchip          KVM's own PIC and PIT tick instead, which the guest\n"
		"                     programs (KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2)\n"
		"  --timeout SECONDS  stop a guest that has not finished (default %g; 0: never)\n"
		"  --vector N         inject ticks as vector N, 0 to 255, decimal (default %d)\n"
		"  --trace            print every KVM ioctl to stderr (also KVM_TRACE=1)\n"
		"Exit status: 0 the guest finished, 1 a call or writing the output failed,\n"
		"2 bad usage, 3 the guest failed, 4 the guest was stopped (timeout,\n"
		"Ctrl-C, SIGTERM, SIGHUP, SIGALRM).\n",
		TICK_PERIOD_SECONDS * 1000, DEFAULT_TIMEOUT_SECONDS, TIMER_VECTOR);
}

/* --vector N: a decimal number from 0 to 255 (010 is ten); exits if not. */
static uint32_t vector_parse(const char *text)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || end == text || text[0] == '-' || v > 255) {
		report("--vector wants an interrupt vector from 0 to 255, not "
		       "'%s'", text);
		exit(EXIT_USAGE);
	}
	return (uint32_t)v;
}

/* Parse the command line into opt and t; exits on bad usage. */
static void options_parse(int argc, char **argv, struct run_options *opt,
			  struct ticker *t)
{
	int vector_given = 0;

	for (int i = 1; i < argc; i++) {
		if (run_option(argc, argv, &i, opt, usage))
			continue;
		if (!strcmp(argv[i], "--irqchip")) {
			t->in_kernel = 1;
			continue;
		}
		if (strcmp(argv[i], "--vector") || i + 1 == argc)
			run_option_refuse(argv[i], usage);
		t->vector = vector_parse(argv[++i]);
		vector_given = 1;
	}
	if (vector_given && t->in_kernel) {
		report("--vector is what KVM_INTERRUPT injects; with --irqchip "
		       "the guest's PIC chooses the vector");
		exit(EXIT_USAGE);
	}
}

int main(int argc, char **argv)
{
	struct vm vm = VM_EMPTY;
	struct run_options opt = { .timeout = DEFAULT_TIMEOUT_SECONDS };
	struct ticker t = {
		.period = TICK_PERIOD_SECONDS, .vector = TIMER_VECTOR,
	};
	struct run_stats stats;
	int status;

	if (run_prepare(&opt) < 0)
		return EXIT_SETUP;			/* before any fd is made */
	options_parse(argc, argv, &opt, &t);
	if ((t.in_kernel ? irqchip_vm_build(&vm) :	/* 01-09 (and 12) */
	     vm_build(&vm)) < 0 ||
	    guest_load(&vm, guest_image,		/* 10 */
		       guest_image_end - guest_image) < 0) {
		status = EXIT_SETUP;
	} else if (t.in_kernel) {
		vm.mem[GUEST_LOAD_ADDR + GUEST_ROUTE_OFFSET] = GUEST_ROUTE_IN_KERNEL;
		stage_say(12, "timer: the guest programs KVM's PIT and PIC; "
			  "no KVM_INTERRUPT");
		status = tick_vcpu_run(&vm, &opt, &t, &stats);	/* 12 */
	} else {
		stage_say(12, "timer: a tick every %g ms, injected as vector %u "
			  "with KVM_INTERRUPT", t.period * 1000, t.vector);
		status = tick_vcpu_run(&vm, &opt, &t, &stats);	/* 12 */
	}
	if (status == EXIT_SUCCESS && t.in_kernel)
		stage_say(12, "KVM_RUN: %llu exits: %llu to the console, %llu "
			  "KVM_EXIT_HLT, then the out to port 0x%x: the guest "
			  "is done", (unsigned long long)stats.exits,
			  (unsigned long long)stats.io_exits,
			  (unsigned long long)t.hlt_exits, DONE_PORT);
	else if (status == EXIT_SUCCESS)
		stage_say(12, "KVM_RUN: %s with interrupts off: the guest is done",
			  kvm_exit_name(stats.last_exit));
	vm_destroy(&vm);
	if (stdout_finish() < 0 && status != EXIT_GUEST)
		status = EXIT_SETUP;			/* the output was lost */
	return status;
}
