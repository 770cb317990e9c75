/* SPDX-License-Identifier: MIT */
/*
 * step13: two vCPUs, each run by its own thread.
 *
 * A vCPU is a file descriptor, and KVM_RUN on it occupies the calling
 * thread for as long as the guest runs.  So a VMM with two vCPUs runs
 * two threads, one KVM_RUN loop each, sharing the guest's memory.  We
 * create vCPU 1 beside stage 06's vCPU 0 with stages 06-08, give it its
 * own stack, and start both at the same code.  Each thread runs step
 * 10's vcpu_run(); their console lines are gathered per vCPU and printed
 * whole.  The main thread owns step 10's stop signals and the timeout
 * (stop_signals.c), and stops the threads by kicking each out of KVM_RUN
 * with immediate_exit and a signal.
 *
 * step13 --sipi starts vCPU 1 the way firmware does instead: with a
 * local APIC in the kernel for each vCPU, vCPU 0 sends INIT and a
 * STARTUP IPI to vCPU 1, which until then sleeps in its KVM_RUN, and
 * which then starts in real mode at the page the IPI's vector names.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "dump.h"
#include "report.h"
#include "run.h"
#include "std_streams.h"
#include "step13.h"
#include "stop_signals.h"
#include "vm.h"
#include "x86.h"

/* The counter and the stacks lie in guest memory, clear of the code. */
_Static_assert(COUNTER_ADDR >= GUEST_LOAD_ADDR + 0x10000 &&
	       FINISHED_ADDR + 8 <= GUEST_STACK_TOP - GUEST_STACK_SIZE,
	       "the counter must be in guest memory, below the stacks");

/* Copy the guest to GUEST_LOAD_ADDR, where every vCPU's RIP points. */
int smp_guest_load(struct vm *vm, const uint8_t *image, size_t size)
{
	if (size > COUNTER_ADDR - GUEST_LOAD_ADDR)
		return report("the guest is %zu bytes; it has room for %llu",
			      size, COUNTER_ADDR - GUEST_LOAD_ADDR);
	memcpy(vm->mem + GUEST_LOAD_ADDR, image, size);
	memset(vm->mem + COUNTER_ADDR, 0, 16);	/* counter, finished */
	stage_say(13, "loaded the guest: %zu bytes at GPA 0x%llx", size,
		  GUEST_LOAD_ADDR);
	return 0;
}

/* region: vcpu_apic_id_set */
/*
 * Stage 13, part 0: write vcpu->id into the APIC id fields of the CPUID
 * it was given (stage 06's: the ids of the host CPU that asked KVM for
 * it, whatever the vCPU), and set it again.  KVM takes these fields as
 * they come (kvm_cpuid() does not patch them): only the VMM makes them
 * follow the vCPU.
 */
int vcpu_apic_id_set(const struct vcpu *vcpu)
{
	int id = vcpu->id;
	struct kvm_cpuid2 *cpuid = NULL;
	int err = E2BIG;

	for (uint32_t nent = 64; nent <= 4096 && err == E2BIG; nent *= 2) {
		free(cpuid);
		cpuid = calloc(1, sizeof(*cpuid) + nent * sizeof(cpuid->entries[0]));
		if (!cpuid)
			return report_errno("calloc", ENOMEM);
		cpuid->nent = nent;
		err = ioctl(vcpu->fd, KVM_GET_CPUID2, cpuid) < 0 ? errno : 0;
	}
	if (err) {
		free(cpuid);
		return report_errno("KVM_GET_CPUID2", err);
	}
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == CPUID_FEATURES) {	/* 8-bit initial APIC id */
			e->ebx &= ~CPUID_1_EBX_APIC_ID;
			e->ebx |= (uint32_t)id << CPUID_1_EBX_APIC_ID_SHIFT;
		}
		if (e->function == CPUID_TOPOLOGY || e->function == CPUID_TOPOLOGY_V2)
			e->edx = (uint32_t)id;		/* x2APIC id, every subleaf */
	}
	err = ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) < 0 ? errno : 0;
	free(cpuid);
	if (err)
		return report_errno("KVM_SET_CPUID2", err);
	stage_say(13, "KVM_SET_CPUID2: vcpu %d, APIC id %d in its CPUID", id,
		  id);
	return 0;
}
/* endregion: vcpu_apic_id_set */

/* region: vcpu_add */
/* Stage 13, part 1: vCPU id, made as stages 06-08 made vCPU 0. */
int vcpu_add(struct vm *vm, struct vcpu *vcpu, int id)
{
	struct kvm_regs regs = {
		.rip = GUEST_LOAD_ADDR,		/* the same code as vCPU 0 */
		.rsp = CPU_STACK_TOP(id),	/* its own stack */
		.rdi = (uint64_t)id,		/* tells the guest who it is */
		.rflags = RFLAGS_RESERVED_1,
	};

	if (vcpu_create(vm, vcpu, id) < 0 ||		/* 06: its fd, CPUID */
	    vcpu_apic_id_set(vcpu) < 0 ||		/* 13: its own APIC id */
	    vcpu_map_run(vm, vcpu) < 0 ||		/* 07: its kvm_run */
	    vcpu_enter_long_mode(vm, vcpu) < 0)		/* 08: vCPU 0's mode */
		return -1;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)	/* 09, with its stack */
		return report_errno("KVM_SET_REGS", errno);
	stage_say(13, "vcpu %d: RIP=0x%llx RSP=0x%llx RDI=%llu", id,
		  (unsigned long long)regs.rip, (unsigned long long)regs.rsp,
		  (unsigned long long)regs.rdi);
	return 0;
}
/* endregion: vcpu_add */

/* region: console_put */
void console_put(struct console *c, int cpu, const uint8_t *data, size_t len)
{
	char *line = c->line[cpu];	/* only this vCPU's thread touches it */

	for (size_t i = 0; i < len; i++) {
		line[c->len[cpu]++] = (char)data[i];
		if (data[i] != '\n' && c->len[cpu] < CONSOLE_LINE_MAX - 1)
			continue;
		if (data[i] != '\n')
			line[c->len[cpu]++] = '\n';	/* too long: split it */
		pthread_mutex_lock(&c->lock);	/* one whole line at a time */
		fwrite(line, 1, c->len[cpu], c->out);
		fflush(c->out);
		pthread_mutex_unlock(&c->lock);
		c->len[cpu] = 0;
	}
}
/* endregion: console_put */

void console_flush(struct console *c)
{
	static const uint8_t newline = '\n';

	for (int cpu = 0; cpu < NR_VCPUS; cpu++)
		if (c->len[cpu])
			console_put(c, cpu, &newline, 1);
}

/* region: console_exit */
/* A vCPU's out to the console, as a run_hooks.exit: into its line. */
static enum exit_action console_exit(void *ctx, struct kvm_run *run, FILE *out,
				     struct run_stats *stats)
{
	struct cpu *cpu = ctx;
	typeof(run->io) io = run->io;	/* copy once: the guest chose these */
	size_t bytes = (size_t)io.size * io.count;
	size_t run_size = cpu->vcpu->run_size;

	(void)out;
	if (run->exit_reason == KVM_EXIT_IO && io.port == DONE_PORT &&
	    io.direction == KVM_EXIT_IO_OUT)
		return EXIT_ACTION_HALT;	/* --sipi: this vCPU is done */
	if (run->exit_reason != KVM_EXIT_IO || io.port != CONSOLE_PORT ||
	    io.direction != KVM_EXIT_IO_OUT || io.data_offset > run_size ||
	    bytes > run_size - io.data_offset)
		return EXIT_ACTION_PASS;	/* step 10 handles or refuses it */
	console_put(cpu->console, cpu->vcpu->id,
		    (uint8_t *)run + io.data_offset, bytes);
	stats->out_bytes += bytes;
	return EXIT_ACTION_CONTINUE;
}
/* endregion: console_exit */

/*
 * Stopping.  The stop signals (step 10's handler, the timeout's SIGALRM
 * included) go to the main thread, as the vCPU threads block them.  To
 * stop a thread, the main thread kicks it: immediate_exit (KVM_RUN
 * returns at once if the thread is about to enter it), then SIGUSR1 (it
 * returns if the thread is inside), whose handler, on that thread, sets
 * stop_signal if no stop signal has: vcpu_run() then ends, stopped.
 */
static void kick_handler(int sig)
{
	if (!stop_signal)
		stop_signal = sig;
}

/* region: vcpu_thread */
/* One vCPU's thread: step 10's run loop, with this chapter's console. */
static void *vcpu_thread(void *arg)
{
	struct cpu *cpu = arg;
	const struct run_hooks hooks = { .exit = console_exit, .ctx = cpu };
	const struct run_options opt = {
		.out = cpu->console->out, .hooks = &hooks,
		.kicked = 1,	/* the main thread stops us, and reports */
	};
	int status = vcpu_run(cpu->vm, cpu->vcpu, &opt, &cpu->stats);

	pthread_mutex_lock(cpu->lock);
	cpu->status = status;
	pthread_mutex_unlock(cpu->lock);
	sem_post(cpu->finished);
	return NULL;
}
/* endregion: vcpu_thread */

/* region: vcpus_stop */
/* Kick every vCPU thread out of KVM_RUN; one that is done ignores it. */
static void vcpus_stop(struct cpu *cpus, int n)
{
	for (int i = 0; i < n; i++) {
		cpus[i].vcpu->run->immediate_exit = 1;
		pthread_kill(cpus[i].thread, SIGUSR1);
	}
}
/* endregion: vcpus_stop */

/* What vcpu_run() returned on cpu's thread, or -1 while it runs. */
static int cpu_status(struct cpu *cpu)
{
	int status;

	pthread_mutex_lock(cpu->lock);
	status = cpu->status;
	pthread_mutex_unlock(cpu->lock);
	return status;
}

/*
 * Wait until every vCPU is done, one fails, or a stop signal (the
 * timeout's included) comes; returns the run's status so far.
 */
static int vcpus_wait(struct cpu *cpus, int n, sem_t *finished)
{
	for (int left = n; left > 0; ) {
		int r = sem_wait(finished);	/* a stop signal: EINTR */

		if (stop_signal)
			return EXIT_TIMEOUT;
		if (r < 0)
			continue;
		left--;
		for (int i = 0; i < n; i++) {
			int status = cpu_status(&cpus[i]);

			if (status != -1 && status != EXIT_SUCCESS)
				return status;	/* one failed: stop all */
		}
	}
	return EXIT_SUCCESS;
}

/* region: vcpus_run */
/* Stage 13, part 2: one thread per vCPU, until all halt or one fails. */
int vcpus_run(struct vm *vm, struct cpu *cpus, int n,
	      const struct run_options *opt)
{
	struct sigaction kick = { .sa_handler = kick_handler };	/* no SA_RESTART */
	struct sigaction old_kick;
	struct stop_saved saved;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	sigset_t block, old_mask;
	sem_t finished;
	int started = 0, status = EXIT_SUCCESS, err = 0;

	sigemptyset(&kick.sa_mask);
	if (sigaction(SIGUSR1, &kick, &old_kick) < 0) {
		report_errno("sigaction", errno);
		return EXIT_SETUP;
	}
	if (sem_init(&finished, 0, 0) < 0) {
		report_errno("sem_init", errno);
		sigaction(SIGUSR1, &old_kick, NULL);
		return EXIT_SETUP;
	}
	/* Here a stop signal sets vCPU 0's immediate_exit; the kick, both. */
	if (stop_signals_arm(vm, cpus[0].vcpu, opt->timeout, &saved) < 0) {
		sem_destroy(&finished);
		sigaction(SIGUSR1, &old_kick, NULL);
		return EXIT_SETUP;
	}

	/* The vCPU threads leave the stop signals to this thread. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &block, &old_mask);
	for (; started < n; started++) {
		cpus[started].vm = vm;
		cpus[started].finished = &finished;
		cpus[started].lock = &lock;
		cpus[started].status = -1;
		err = pthread_create(&cpus[started].thread, NULL, vcpu_thread,
				     &cpus[started]);
		if (err)
			break;
	}
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	if (err) {
		report_errno("pthread_create", err);
		status = EXIT_SETUP;
	} else {
		status = vcpus_wait(cpus, n, &finished);
	}

	vcpus_stop(cpus, started);	/* those still running, if any */
	for (int i = 0; i < started; i++)
		pthread_join(cpus[i].thread, NULL);
	console_flush(cpus[0].console);
	fflush(opt->out);
	stop_signals_disarm(cpus[0].vcpu, &saved);
	sigaction(SIGUSR1, &old_kick, NULL);
	sem_destroy(&finished);

	if (status == EXIT_TIMEOUT)
		stop_report(opt->timeout);
	for (int i = 0; i < started && status != EXIT_SUCCESS; i++) {
		fprintf(stderr, "vcpu %d (%s):\n", cpus[i].vcpu->id,
			cpus[i].status == EXIT_SUCCESS ? "halted" :
			cpus[i].status == EXIT_TIMEOUT ? "stopped" : "failed");
		if (status != EXIT_SETUP)
			vcpu_dump(stderr, vm, cpus[i].vcpu);
	}
	return status;
}
/* endregion: vcpus_run */

/* region: sipi_vm_build */
/*
 * --sipi: stages 01-09 as vm_build() makes them, with an irqchip in the
 * kernel after 03.  KVM_CREATE_IRQCHIP gives the VM a PIC and an I/O
 * APIC, and a local APIC to each vCPU made after it; once a vCPU exists
 * it fails with EINVAL.  vCPU 0 is then the bootstrap processor, and
 * runnable; every other vCPU waits for INIT and SIPI.
 */
int sipi_vm_build(struct vm *vm)
{
	int err;

	if (kvm_open(vm) < 0 ||				/* 01 */
	    kvm_check_api_version(vm) < 0 ||		/* 02 */
	    vm_create(vm) < 0)				/* 03 */
		return -1;
	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0UL) < 0) {	/* 13, before 06 */
		err = errno;
		report_errno("KVM_CREATE_IRQCHIP", err);
		if (err == EINVAL || err == EEXIST)
			report_hint("it must come once, before KVM_CREATE_VCPU");
		return -1;
	}
	stage_say(13, "KVM_CREATE_IRQCHIP: a local APIC in the kernel for each "
		  "vCPU made from now on");
	if (vm_set_tss_addr(vm) < 0 ||			/* 04 */
	    vm_memory_add(vm, GUEST_MEM_SIZE) < 0 ||	/* 05 */
	    vcpu_create(vm, &vm->vcpu, 0) < 0 ||	/* 06 */
	    vcpu_map_run(vm, &vm->vcpu) < 0 ||		/* 07 */
	    vcpu_enter_long_mode(vm, &vm->vcpu) < 0 ||	/* 08 */
	    vcpu_regs_set(&vm->vcpu) < 0)		/* 09 */
		return -1;
	return 0;
}
/* endregion: sipi_vm_build */

/* A failed KVM_GET_LAPIC or KVM_SET_LAPIC, and its likely cause. */
static int lapic_report(const char *call, int err)
{
	report_errno(call, err);
	if (err == EINVAL)
		report_hint("this vCPU has no local APIC in the kernel: "
			    "KVM_CREATE_IRQCHIP must come before KVM_CREATE_VCPU");
	return -1;
}

static const char *mp_state_name(uint32_t state)
{
	switch (state) {
	case KVM_MP_STATE_RUNNABLE: return "KVM_MP_STATE_RUNNABLE";
	case KVM_MP_STATE_UNINITIALIZED: return "KVM_MP_STATE_UNINITIALIZED";
	case KVM_MP_STATE_INIT_RECEIVED: return "KVM_MP_STATE_INIT_RECEIVED";
	case KVM_MP_STATE_HALTED: return "KVM_MP_STATE_HALTED";
	}
	return "another KVM_MP_STATE";
}

/* region: vcpu_ap_add */
/*
 * --sipi, stage 13, part 1: vCPU id, made as an application processor.
 * Stages 06-07 give it its fd, CPUID and kvm_run; not 08-09: INIT and
 * SIPI set its registers.  KVM finds an IPI's destination in a map of
 * APIC ids, which creating this vCPU rebuilt before the vCPU was listed
 * in the VM; KVM_SET_LAPIC rebuilds it (kvm_apic_set_state()), so its
 * local APIC is read and written back.  (QEMU writes each vCPU's local
 * APIC with KVM_SET_LAPIC at every reset, from its own model.)
 */
int vcpu_ap_add(struct vm *vm, struct vcpu *vcpu, int id)
{
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp;
	uint32_t apic_id;

	if (vcpu_create(vm, vcpu, id) < 0 ||		/* 06: fd and CPUID */
	    vcpu_apic_id_set(vcpu) < 0 ||		/* 13: its APIC id, in CPUID */
	    vcpu_map_run(vm, vcpu) < 0)			/* 07: kvm_run */
		return -1;
	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
		return lapic_report("KVM_GET_LAPIC", errno);
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
		return lapic_report("KVM_SET_LAPIC", errno);
	memcpy(&apic_id, &lapic.regs[APIC_REG_ID], sizeof(apic_id));
	stage_say(13, "KVM_GET_LAPIC, KVM_SET_LAPIC: vcpu %d's local APIC, id "
		  "%u, written back: now KVM finds it by that id", id,
		  apic_id >> APIC_ID_SHIFT);
	if (ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp) < 0)
		return report_errno("KVM_GET_MP_STATE", errno);
	stage_say(13, "KVM_GET_MP_STATE: vcpu %d is %s%s", id,
		  mp_state_name(mp.mp_state),
		  mp.mp_state == KVM_MP_STATE_UNINITIALIZED ?
		  ": its KVM_RUN sleeps until INIT and SIPI" : "");
	return 0;
}
/* endregion: vcpu_ap_add */

/* region: ap_started_check */
/*
 * --sipi, after the run: where did vCPU 1 start?  A SIPI with vector V
 * starts its CPU in real mode at CS = V << 8 (base V << 12), IP = 0
 * (kvm_vcpu_deliver_sipi_vector() in arch/x86/kvm/x86.c).
 */
int ap_started_check(const struct vcpu *ap)
{
	struct kvm_sregs sregs;

	if (ioctl(ap->fd, KVM_GET_SREGS, &sregs) < 0) {
		report_errno("KVM_GET_SREGS", errno);
		return EXIT_SETUP;
	}
	if (sregs.cs.base != AP_PAGE || sregs.cs.selector != AP_PAGE >> 4) {
		report("vcpu %d's CS is 0x%x, base 0x%llx, not 0x%llx at the "
		       "SIPI's page: it did not start there", ap->id,
		       sregs.cs.selector, (unsigned long long)sregs.cs.base,
		       AP_PAGE >> 4);
		return EXIT_GUEST;
	}
	stage_say(13, "both vCPUs done; KVM_GET_SREGS: vcpu %d's CS is 0x%x, "
		  "base 0x%llx: the page of SIPI vector 0x%llx", ap->id,
		  sregs.cs.selector, (unsigned long long)sregs.cs.base,
		  AP_PAGE >> 12);
	return EXIT_SUCCESS;
}
/* endregion: ap_started_check */

static void usage(FILE *to)
{
	fprintf(to,
		"usage: step13 [--trace] [--timeout SECONDS] [--sipi]\n"
		"Run a 64-bit guest on two vCPUs, one host thread each.\n\n"
		"  --sipi             start vCPU 1 as firmware does: vCPU 0 sends it\n"
		"                     INIT and SIPI through local APICs in the kernel\n"
		"                     (KVM_CREATE_IRQCHIP)\n"
		"  --timeout SECONDS  stop every vCPU if the guest has not halted\n"
		"                     (default %g; 0: never)\n"
		"  --trace            print every KVM ioctl to stderr (also KVM_TRACE=1)\n"
		"Exit status: 0 both vCPUs halted (--sipi: both were done), 1 a call\n"
		"or writing the output failed, 2 bad usage, 3 the guest failed, 4 the\n"
		"guest was stopped (timeout, Ctrl-C, SIGTERM, SIGHUP, SIGALRM).\n",
		DEFAULT_TIMEOUT_SECONDS);
}

/* Parse the command line into opt and *sipi; exits on bad usage. */
static void options_parse(int argc, char **argv, struct run_options *opt,
			  int *sipi)
{
	for (int i = 1; i < argc; i++) {
		if (run_option(argc, argv, &i, opt, usage))
			continue;
		if (strcmp(argv[i], "--sipi"))
			run_option_refuse(argv[i], usage);
		*sipi = 1;
	}
}

/* The default route's result: the counter, read from guest memory. */
static int counter_check(const struct vm *vm)
{
	uint64_t counter;

	memcpy(&counter, vm->mem + COUNTER_ADDR, sizeof(counter));
	if (counter != 2ULL * ADDS_PER_CPU) {
		report("the counter reads %llu, not %llu: increments were lost",
		       (unsigned long long)counter, 2ULL * ADDS_PER_CPU);
		return EXIT_GUEST;
	}
	stage_say(13, "both vCPUs halted; the counter at GPA 0x%llx reads "
		  "%llu = %d x %d", COUNTER_ADDR, (unsigned long long)counter,
		  NR_VCPUS, ADDS_PER_CPU);
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	struct vm vm = VM_EMPTY;
	struct run_options opt = { .timeout = DEFAULT_TIMEOUT_SECONDS };
	struct console console = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct vcpu vcpu1 = VCPU_EMPTY;		/* vCPU 0 is vm.vcpu */
	struct cpu cpus[NR_VCPUS] = {
		{ .vcpu = &vm.vcpu, .console = &console },
		{ .vcpu = &vcpu1, .console = &console },
	};
	const uint8_t *image, *image_end;
	int sipi = 0, status;

	if (run_prepare(&opt) < 0)
		return EXIT_SETUP;			/* before any fd is made */
	console.out = opt.out;		/* the guarded stdout, as vcpu_run()'s */
	options_parse(argc, argv, &opt, &sipi);
	image = sipi ? sipi_image : guest_image;
	image_end = sipi ? sipi_image_end : guest_image_end;
	if ((sipi ? sipi_vm_build(&vm) :		/* 01-09: vCPU 0 */
	     vm_build(&vm)) < 0 ||
	    vcpu_apic_id_set(&vm.vcpu) < 0 ||		/* 13: its APIC id */
	    smp_guest_load(&vm, image, image_end - image) < 0 ||	/* 13: this chapter */
	    (sipi ? vcpu_ap_add(&vm, &vcpu1, 1) :	/* 13: vCPU 1 */
	     vcpu_add(&vm, &vcpu1, 1)) < 0) {
		vcpu_destroy(&vcpu1);
		vm_destroy(&vm);
		stdout_finish();
		return EXIT_SETUP;
	}
	stage_say(13, "%d threads, one KVM_RUN loop each", NR_VCPUS);
	fflush(stdout);
	status = vcpus_run(&vm, cpus, NR_VCPUS, &opt);		/* 13 */

	if (status == EXIT_SUCCESS)			/* what the guest did */
		status = sipi ? ap_started_check(&vcpu1) : counter_check(&vm);
	vcpu_destroy(&vcpu1);
	vm_destroy(&vm);
	if (stdout_finish() < 0 && status != EXIT_GUEST)
		status = EXIT_SETUP;			/* the output was lost */
	return status;
}
