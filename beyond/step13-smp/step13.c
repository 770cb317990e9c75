/* SPDX-License-Identifier: MIT */
/*
 * step13: two vCPUs, each run by its own thread.
 *
 * A vCPU is a file descriptor, and KVM_RUN on it occupies the calling
 * thread for as long as the guest runs.  So a VMM with two vCPUs runs
 * two threads, one KVM_RUN loop each, sharing the guest's memory.  We
 * create vCPU 1 beside stage 06's vCPU 0, give it the same long mode and
 * its own stack, and start both at the same code.  Their console lines
 * are gathered per vCPU and printed whole; stopping them means kicking
 * each thread out of KVM_RUN with immediate_exit and a signal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"
#include "kvm_names.h"
#include "options.h"
#include "report.h"
#include "step13.h"
#include "trace.h"
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

/* region: vcpu_add */
/* Stage 13, part 1: vCPU id, in the same mode as vCPU 0 (vm->vcpu_fd). */
int vcpu_add(struct vm *vm, struct vcpu *cpu, int id)
{
	struct kvm_regs regs = {
		.rip = GUEST_LOAD_ADDR,		/* the same code as vCPU 0 */
		.rsp = CPU_STACK_TOP(id),	/* its own stack */
		.rdi = (uint64_t)id,		/* tells the guest who it is */
		.rflags = RFLAGS_RESERVED_1,
	};
	struct kvm_sregs mode, sregs;
	void *run;

	*cpu = (struct vcpu){ .id = id, .fd = -1 };
	cpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (cpu->fd < 0)
		return report_errno("KVM_CREATE_VCPU", errno);
	if (vcpu_cpuid_set(vm, cpu->fd) < 0)	/* as stage 06 did for vCPU 0 */
		return -1;
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   cpu->fd, 0);
	if (run == MAP_FAILED)
		return report_errno("mmap", errno);
	cpu->run = run;
	cpu->run_size = vm->run_size;

	/* Long mode as stage 08 set it on vCPU 0: control registers,
	 * page tables, GDT, segments.  The rest stays vCPU 1's own. */
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &mode) < 0 ||
	    ioctl(cpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return report_errno("KVM_GET_SREGS", errno);
	sregs.cr0 = mode.cr0;
	sregs.cr3 = mode.cr3;
	sregs.cr4 = mode.cr4;
	sregs.efer = mode.efer;
	sregs.gdt = mode.gdt;
	sregs.cs = mode.cs;
	sregs.ds = mode.ds;
	sregs.es = mode.es;
	sregs.fs = mode.fs;
	sregs.gs = mode.gs;
	sregs.ss = mode.ss;
	if (ioctl(cpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return report_errno("KVM_SET_SREGS", errno);
	if (ioctl(cpu->fd, KVM_SET_REGS, &regs) < 0)
		return report_errno("KVM_SET_REGS", errno);
	stage_say(13, "vcpu %d: fd %d, its CPUID and kvm_run, long mode as vcpu 0; "
		  "RIP=0x%llx RSP=0x%llx RDI=%d", id, cpu->fd,
		  (unsigned long long)regs.rip, (unsigned long long)regs.rsp, id);
	return 0;
}
/* endregion: vcpu_add */

/* Release what vcpu_add() made; safe on a partial one. */
static void vcpu_release(struct vcpu *cpu)
{
	if (cpu->run)
		munmap(cpu->run, cpu->run_size);
	if (cpu->fd >= 0)
		close(cpu->fd);
	cpu->run = NULL;
	cpu->fd = -1;
}

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

/*
 * What one vCPU's exit means: -1 to enter the guest again, or the
 * vCPU's final status, having explained why on stderr.
 */
static int vcpu_exit_handle(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	uint32_t reason = run->exit_reason;

	if (reason == KVM_EXIT_HLT)
		return EXIT_SUCCESS;
	if (reason == KVM_EXIT_IO) {
		typeof(run->io) io = run->io;	/* copy once */
		size_t bytes = (size_t)io.size * io.count;

		if (io.port != CONSOLE_PORT || io.direction != KVM_EXIT_IO_OUT) {
			report("vcpu %d: guest used port 0x%x (%s); this machine's "
			       "console is an output at port 0x%x", cpu->id,
			       io.port, io.direction == KVM_EXIT_IO_OUT ? "out" :
			       "in", CONSOLE_PORT);
			return EXIT_GUEST;
		}
		if (io.data_offset > cpu->run_size ||
		    bytes > cpu->run_size - io.data_offset) {
			report("vcpu %d: KVM_EXIT_IO data outside kvm_run", cpu->id);
			return EXIT_GUEST;
		}
		console_put(cpu->console, cpu->id,
			    (uint8_t *)run + io.data_offset, bytes);
		return -1;
	}
	if (reason == KVM_EXIT_SHUTDOWN)
		report("vcpu %d: the guest triple-faulted (KVM_EXIT_SHUTDOWN)",
		       cpu->id);
	else if (reason == KVM_EXIT_MMIO)
		report("vcpu %d: guest touched GPA 0x%llx, where no memory is "
		       "(KVM_EXIT_MMIO)", cpu->id,
		       (unsigned long long)run->mmio.phys_addr);
	else
		report("vcpu %d: unexpected exit %s (%u)", cpu->id,
		       kvm_exit_name(reason), reason);
	return EXIT_GUEST;
}

/*
 * Stopping: `stopping` tells the threads why KVM_RUN returned EINTR.
 * A kick is immediate_exit (KVM_RUN returns at once if the thread is
 * about to enter it), then SIGUSR1 to the thread (it returns if the
 * thread is inside).  Ctrl-C goes to the main thread, which kicks.
 */
static volatile int stopping;
static volatile sig_atomic_t stop_signal;
static sem_t *volatile finished_sem;

static void kick_handler(int sig)
{
	(void)sig;	/* its only job: to interrupt KVM_RUN */
}

static void stop_handler(int sig)
{
	stop_signal = sig;
	if (finished_sem)
		sem_post(finished_sem);	/* wake the waiting main thread */
}

/* region: vcpu_thread */
/* One vCPU's run loop, on its own thread: KVM_RUN until hlt or a stop. */
static void *vcpu_thread(void *arg)
{
	struct vcpu *cpu = arg;
	int status = -1;
	char call[32];

	while (status < 0) {
		if (ioctl(cpu->fd, KVM_RUN, 0UL) < 0) {
			int err = errno;

			if (err == EINTR &&
			    __atomic_load_n(&stopping, __ATOMIC_SEQ_CST))
				status = EXIT_TIMEOUT;	/* kicked: stop */
			else if (err != EINTR && err != EAGAIN) {
				snprintf(call, sizeof(call), "vcpu %d: KVM_RUN",
					 cpu->id);
				status = EXIT_SETUP;
				report_errno(call, err);
			}
			continue;
		}
		cpu->exits++;
		status = vcpu_exit_handle(cpu);
	}
	cpu->status = status;
	__atomic_store_n(&cpu->done, 1, __ATOMIC_RELEASE);
	sem_post(cpu->finished);
	return NULL;
}
/* endregion: vcpu_thread */

/* region: vcpus_stop */
/* Kick every vCPU thread that is still running out of KVM_RUN. */
static void vcpus_stop(struct vcpu *cpus, int n)
{
	__atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < n; i++) {
		if (__atomic_load_n(&cpus[i].done, __ATOMIC_ACQUIRE))
			continue;
		__atomic_store_n(&cpus[i].run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(cpus[i].thread, SIGUSR1);
	}
}
/* endregion: vcpus_stop */

/*
 * Wait until every vCPU is done, one fails, the deadline passes or
 * Ctrl-C; returns the run's status so far (EXIT_SUCCESS if all halted).
 */
static int vcpus_wait(struct vcpu *cpus, int n, sem_t *finished, double timeout)
{
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)timeout;
	deadline.tv_nsec += (long)((timeout - (time_t)timeout) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	for (int left = n; left > 0; ) {
		int r = timeout > 0 ? sem_clockwait(finished, CLOCK_MONOTONIC,
						    &deadline)
				    : sem_wait(finished);

		if (stop_signal)
			return EXIT_TIMEOUT;
		if (r < 0 && errno == ETIMEDOUT)
			return EXIT_TIMEOUT;
		if (r < 0)
			continue;	/* EINTR */
		left--;
		for (int i = 0; i < n; i++)
			if (__atomic_load_n(&cpus[i].done, __ATOMIC_ACQUIRE) &&
			    cpus[i].status != EXIT_SUCCESS)
				return cpus[i].status;	/* one failed: stop all */
	}
	return EXIT_SUCCESS;
}

/* region: vcpus_run */
/* Stage 13, part 2: one thread per vCPU, until all halt or one fails. */
int vcpus_run(struct vm *vm, struct vcpu *cpus, int n,
	      const struct run_options *opt)
{
	struct sigaction kick = { .sa_handler = kick_handler };	/* no SA_RESTART */
	struct sigaction stop = { .sa_handler = stop_handler };
	struct sigaction old_kick, old_int;
	sigset_t block, old_mask;
	sem_t finished;
	int started = 0, status = EXIT_SUCCESS, err = 0;

	stopping = 0;
	stop_signal = 0;
	sem_init(&finished, 0, 0);
	sigemptyset(&kick.sa_mask);
	sigemptyset(&stop.sa_mask);
	if (sigaction(SIGUSR1, &kick, &old_kick) < 0)
		return sem_destroy(&finished), report_errno("sigaction", errno),
		       EXIT_SETUP;
	finished_sem = &finished;
	sigaction(SIGINT, &stop, &old_int);

	/* The vCPU threads leave Ctrl-C to this thread: block it in them. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &old_mask);
	for (; started < n; started++) {
		cpus[started].finished = &finished;
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
		status = vcpus_wait(cpus, n, &finished, opt->timeout);
	}

	vcpus_stop(cpus, started);	/* those still running, if any */
	for (int i = 0; i < started; i++)
		pthread_join(cpus[i].thread, NULL);
	console_flush(cpus[0].console);
	finished_sem = NULL;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGUSR1, &old_kick, NULL);
	sem_destroy(&finished);

	if (status == EXIT_TIMEOUT && stop_signal == SIGINT)
		report("interrupted (Ctrl-C); every vCPU was stopped");
	else if (status == EXIT_TIMEOUT)
		report("the guest did not halt within %g s; every vCPU was "
		       "stopped", opt->timeout);
	for (int i = 0; i < started && status != EXIT_SUCCESS &&
			status != EXIT_SETUP; i++) {
		struct vm view = *vm;	/* vcpu_dump() reads vm->vcpu_fd */

		view.vcpu_fd = cpus[i].fd;
		fprintf(stderr, "vcpu %d (%s):\n", cpus[i].id,
			cpus[i].status == EXIT_SUCCESS ? "halted" :
			cpus[i].status == EXIT_TIMEOUT ? "stopped" : "failed");
		vcpu_dump(stderr, &view);
	}
	return status;
}
/* endregion: vcpus_run */

static void usage(FILE *to)
{
	fprintf(to,
		"usage: step13 [--trace] [--timeout SECONDS]\n"
		"Run a 64-bit guest on two vCPUs, one host thread each.\n\n"
		"  --timeout SECONDS  stop every vCPU if the guest has not halted\n"
		"                     (default %g; 0: never)\n"
		"  --trace            print every KVM ioctl to stderr (also KVM_TRACE=1)\n"
		"Exit status: 0 both vCPUs halted, 1 setup failed, 2 bad usage,\n"
		"3 the guest failed, 4 timeout or Ctrl-C.\n",
		DEFAULT_TIMEOUT_SECONDS);
}

/* Parse the command line into opt; exits on bad usage. */
static void options_parse(int argc, char **argv, struct run_options *opt)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, "--trace")) {
			trace_enable(1);
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
	struct console console = {
		.out = stdout, .lock = PTHREAD_MUTEX_INITIALIZER,
	};
	struct vcpu cpus[NR_VCPUS] = { { .fd = -1 }, { .fd = -1 } };
	uint64_t counter;
	int status;

	options_parse(argc, argv, &opt);
	if (kvm_open(&vm) < 0 ||			/* 01 */
	    kvm_check_api_version(&vm) < 0 ||		/* 02 */
	    vm_create(&vm) < 0 ||			/* 03 */
	    vm_set_tss_addr(&vm) < 0 ||			/* 04 */
	    vm_memory_add(&vm, GUEST_MEM_SIZE) < 0 ||	/* 05 */
	    vcpu_create(&vm) < 0 ||			/* 06: vCPU 0 */
	    vcpu_map_run(&vm) < 0 ||			/* 07 */
	    vcpu_enter_long_mode(&vm) < 0 ||		/* 08 */
	    vcpu_regs_set(&vm) < 0 ||			/* 09 */
	    smp_guest_load(&vm, guest_image,		/* 13: this chapter */
			   guest_image_end - guest_image) < 0 ||
	    vcpu_add(&vm, &cpus[1], 1) < 0) {		/* 13: vCPU 1 */
		vcpu_release(&cpus[1]);
		vm_destroy(&vm);
		return EXIT_SETUP;
	}
	cpus[0] = (struct vcpu){ .id = 0, .fd = vm.vcpu_fd, .run = vm.run,
				 .run_size = vm.run_size };
	cpus[0].console = cpus[1].console = &console;
	stage_say(13, "%d threads, one KVM_RUN loop each", NR_VCPUS);
	fflush(stdout);
	status = vcpus_run(&vm, cpus, NR_VCPUS, &opt);		/* 13 */

	memcpy(&counter, vm.mem + COUNTER_ADDR, sizeof(counter));
	if (status == EXIT_SUCCESS && counter != 2ULL * ADDS_PER_CPU) {
		report("the counter reads %llu, not %llu: increments were lost",
		       (unsigned long long)counter, 2ULL * ADDS_PER_CPU);
		status = EXIT_GUEST;
	} else if (status == EXIT_SUCCESS) {
		stage_say(13, "both vCPUs halted; the counter at GPA 0x%llx reads "
			  "%llu = %d x %d", COUNTER_ADDR,
			  (unsigned long long)counter, NR_VCPUS, ADDS_PER_CPU);
	}
	vcpu_release(&cpus[1]);
	vm_destroy(&vm);
	return status;
}
