/* SPDX-License-Identifier: MIT */
/*
 * test_step13: two vCPUs on two threads.  vCPU 1 gets vCPU 0's long mode,
 * its own stack and number, and a CPUID (read back from KVM); both run
 * the guest at once, the shared counter comes out exact in guest memory,
 * and every console line is whole.  What KVM does that the chapter
 * teaches: immediate_exit, a signal ending KVM_RUN, a used vCPU id
 * refused, and with an in-kernel irqchip a second vCPU waiting for
 * INIT/SIPI, which step13 --sipi sends it: it starts at the vector's
 * page.  A spinning, failing or broken vCPU never hangs the run.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <unistd.h>

#include "faults.h"
#include "kvm_names.h"
#include "chapter_test.h"
#include "kvm_test.h"
#include "report.h"
#include "step13.h"
#include "x86.h"

#define GUEST_SIZE ((size_t)(guest_image_end - guest_image))

static const char *const cpu0_lines[] = {
	"cpu 0: up, apic 0, adding 1 to the shared counter 100000 times",
	"cpu 0: added 100000",
	"cpu 0: both done, counter = 200000",
};
static const char *const cpu1_lines[] = {
	"cpu 1: up, apic 1, adding 1 to the shared counter 100000 times",
	"cpu 1: added 100000",
};

struct smp_result {
	int status;		/* what vcpus_run() returned */
	char *out;		/* the console */
	size_t len;
	char *err;
	double seconds;
	uint64_t counter, finished;	/* guest memory after the run */
	struct kvm_regs regs[NR_VCPUS];	/* KVM_GET_REGS after the run */
	int cpu_status[NR_VCPUS];
	uint64_t exits[NR_VCPUS];
};

/* Stages 01-09, the guest, vCPU 1, then stage 13 with opt. */
static void smp_run(const uint8_t *image, size_t size,
		    const struct run_options *opt, struct smp_result *r)
{
	struct console console = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct run_options run_opt = *opt;
	struct vcpu vcpu1 = VCPU_EMPTY;
	struct cpu cpus[NR_VCPUS];
	struct capture c;
	struct vm vm;
	double start;

	memset(r, 0, sizeof(*r));
	vm_setup_through(&vm, 9);
	stage_quiet = 1;
	cr_assert_eq(vcpu_apic_id_set(&vm.vcpu), 0,
		     "vcpu_apic_id_set did not return 0 for vCPU 0");
	cr_assert_eq(smp_guest_load(&vm, image, size), 0,
		     "smp_guest_load did not return 0; it must load the guest");
	cr_assert_eq(vcpu_add(&vm, &vcpu1, 1), 0,
		     "vcpu_add did not return 0 for vCPU 1; it must create "
		     "and set it up");
	console.out = open_memstream(&r->out, &r->len);
	cr_assert(console.out,
		  "open_memstream for the console failed: %s",
		  errno_name(errno));
	run_opt.out = console.out;
	cpus[0] = (struct cpu){ .vcpu = &vm.vcpu, .console = &console };
	cpus[1] = (struct cpu){ .vcpu = &vcpu1, .console = &console };
	capture_begin(&c, 2);
	start = seconds_now();
	r->status = vcpus_run(&vm, cpus, NR_VCPUS, &run_opt);
	r->seconds = seconds_now() - start;
	r->err = capture_end(&c);
	fclose(console.out);
	memcpy(&r->counter, vm.mem + COUNTER_ADDR, 8);
	memcpy(&r->finished, vm.mem + FINISHED_ADDR, 8);
	for (int i = 0; i < NR_VCPUS; i++) {
		cr_assert_eq(ioctl(cpus[i].vcpu->fd, KVM_GET_REGS, &r->regs[i]), 0,
			     "KVM_GET_REGS failed: %s", errno_name(errno));
		r->cpu_status[i] = cpus[i].status;
		r->exits[i] = cpus[i].stats.exits;
	}
	vcpu_destroy(&vcpu1);
	vm_destroy(&vm);
}

static void smp_result_free(struct smp_result *r)
{
	free(r->out);
	free(r->err);
}

static const struct run_options quick = { .timeout = 20 };

/* Every line is one the guest prints, and each vCPU's come in order. */
static void lines_check(const char *out)
{
	size_t next[NR_VCPUS] = { 0 };
	const char *p = out;

	while (*p) {
		size_t n = strcspn(p, "\n");
		int cpu = !strncmp(p, "cpu 1: ", 7);
		const char *const *want = cpu ? cpu1_lines : cpu0_lines;
		size_t max = cpu ? 2 : 3;

		cr_assert(p[n] == '\n', "a line without its newline: '%s'", p);
		cr_assert_lt(next[cpu], max, "cpu %d printed more lines:\n%s",
			     cpu, out);
		cr_assert(strlen(want[next[cpu]]) == n &&
			  !strncmp(p, want[next[cpu]], n),
			  "line '%.*s' is not cpu %d's next, '%s':\n%s", (int)n, p,
			  cpu, want[next[cpu]], out);
		next[cpu]++;
		p += n + 1;
	}
	cr_assert_eq(next[0], 3, "cpu 0 printed %zu lines:\n%s", next[0], out);
	cr_assert_eq(next[1], 2, "cpu 1 printed %zu lines:\n%s", next[1], out);
}

Test(step13, both_vcpus_run_and_the_counter_is_exact, .timeout = 60)
{
	struct smp_result r;

	smp_run(guest_image, GUEST_SIZE, &quick, &r);
	cr_assert_eq(r.status, EXIT_SUCCESS, "status %d:\n%s", r.status, r.err);
	cr_assert_str_eq(r.err, "",
			 "two vCPUs counting must write nothing on stderr; "
			 "they wrote\n%s", r.err);
	lines_check(r.out);
	cr_assert_eq(r.counter, 2 * ADDS_PER_CPU, "counter %llu",
		     (unsigned long long)r.counter);
	cr_assert_eq(r.finished, 2,
		     "%llu vCPUs reported finished to the guest's counter; both "
		     "must", (unsigned long long)r.finished);
	for (int i = 0; i < NR_VCPUS; i++) {
		/* KVM's view of each: halted, its own number, its own stack. */
		cr_assert_eq(r.cpu_status[i], EXIT_SUCCESS, "vcpu %d", i);
		cr_assert_eq(r.regs[i].rdi, (uint64_t)i, "vcpu %d RDI", i);
		cr_assert_eq(r.regs[i].rsp, CPU_STACK_TOP(i), "vcpu %d RSP 0x%llx",
			     i, r.regs[i].rsp);
		cr_assert_gt(r.exits[i], 20, "vcpu %d: %llu exits", i,
			     (unsigned long long)r.exits[i]);
	}
	smp_result_free(&r);
}

Test(step13, vcpu_add_gives_vcpu_1_the_mode_of_vcpu_0, .timeout = 20)
{
	struct kvm_sregs s0, s1;
	struct kvm_regs regs;
	struct kvm_cpuid2 *cpuid;
	struct vcpu cpu = VCPU_EMPTY;
	struct vm vm;
	int lm = 0;

	vm_setup_through(&vm, 9);
	stage_quiet = 1;
	cr_assert_eq(vcpu_add(&vm, &cpu, 1), 0,
		     "vcpu_add did not return 0 for vCPU 1; it must create "
		     "and set it up");
	cr_assert_eq(ioctl(vm.vcpu.fd, KVM_GET_SREGS, &s0), 0,
		     "KVM_GET_SREGS failed: %s", errno_name(errno));
	cr_assert_eq(ioctl(cpu.fd, KVM_GET_SREGS, &s1), 0,
		     "KVM_GET_SREGS failed: %s", errno_name(errno));
	cr_assert_eq(s1.cr0, s0.cr0,
		     "vCPU 1 has CR0=0x%llx, vCPU 0 0x%llx; vcpu_add must "
		     "give it the same long-mode state",
		     (unsigned long long)s1.cr0, (unsigned long long)s0.cr0);
	cr_assert_eq(s1.cr3, s0.cr3,
		     "vCPU 1 has CR3=0x%llx, vCPU 0 0x%llx; both must use the "
		     "same page tables", (unsigned long long)s1.cr3,
		     (unsigned long long)s0.cr3);
	cr_assert_eq(s1.cr4, s0.cr4,
		     "vCPU 1 has CR4=0x%llx, vCPU 0 0x%llx; vcpu_add must "
		     "give it the same long-mode state",
		     (unsigned long long)s1.cr4, (unsigned long long)s0.cr4);
	cr_assert_eq(s1.efer, s0.efer, "EFER 0x%llx", s1.efer);
	cr_assert_eq(s1.gdt.base, s0.gdt.base,
		     "vCPU 1's GDT is at 0x%llx, vCPU 0's at 0x%llx; both "
		     "must use the same GDT", (unsigned long long)s1.gdt.base,
		     (unsigned long long)s0.gdt.base);
	cr_assert_eq(s1.cs.l, 1,
		     "vCPU 1 has CS.L=%u; it must run 64-bit code (CS.L=1)",
		     s1.cs.l);
	cr_assert_eq(s1.cs.selector, s0.cs.selector,
		     "vCPU 1's CS selector is 0x%x, vCPU 0's 0x%x; both must "
		     "use the same code segment", s1.cs.selector,
		     s0.cs.selector);
	cr_assert_eq(ioctl(cpu.fd, KVM_GET_REGS, &regs), 0,
		     "KVM_GET_REGS failed: %s", errno_name(errno));
	cr_assert_eq(regs.rip, GUEST_LOAD_ADDR,
		     "vCPU 1 starts at RIP 0x%llx; it must start at the "
		     "guest's entry, 0x%llx", (unsigned long long)regs.rip,
		     (unsigned long long)GUEST_LOAD_ADDR);
	cr_assert_eq(regs.rsp, CPU_STACK_TOP(1),
		     "vCPU 1's RSP is 0x%llx; it must have its own stack, top "
		     "0x%llx", (unsigned long long)regs.rsp,
		     (unsigned long long)CPU_STACK_TOP(1));
	cr_assert_eq(regs.rdi, 1,
		     "vCPU 1's RDI is %llu; it must hold its own number, 1",
		     (unsigned long long)regs.rdi);
	cr_assert_leq(CPU_STACK_TOP(1), CPU_STACK_TOP(0) - CPU_STACK_SIZE,
		      "vCPU 1's stack (top 0x%llx) overlaps vCPU 0's",
		      (unsigned long long)CPU_STACK_TOP(1));
	cr_assert_geq(CPU_STACK_TOP(1) - CPU_STACK_SIZE,
		      GUEST_STACK_TOP - GUEST_STACK_SIZE,
		      "vCPU 1's stack reaches below the guest's stack area");
	/* Its CPUID, as stage 06 gave vCPU 0: long mode among it. */
	cpuid = calloc(1, sizeof(*cpuid) + 4096 * sizeof(cpuid->entries[0]));
	cr_assert(cpuid,
		  "calloc of a CPUID table failed");
	cpuid->nent = 4096;
	cr_assert_eq(ioctl(cpu.fd, KVM_GET_CPUID2, cpuid), 0, "%s",
		     strerror(errno));
	for (uint32_t i = 0; i < cpuid->nent && i < 4096; i++)
		if (cpuid->entries[i].function == 0x80000001)
			lm = !!(cpuid->entries[i].edx & (1u << 29));
	cr_assert(lm, "vCPU 1's CPUID has no long mode");
	free(cpuid);
	vcpu_destroy(&cpu);
	vm_destroy(&vm);
}

/* The APIC id fields of fd's CPUID, as KVM_GET_CPUID2 reads them back. */
static void apic_ids_check(int fd, int id)
{
	struct kvm_cpuid2 *cpuid;
	int leaf1 = 0;

	cpuid = calloc(1, sizeof(*cpuid) + 4096 * sizeof(cpuid->entries[0]));
	cr_assert(cpuid, "calloc of a CPUID table failed");
	cpuid->nent = 4096;
	cr_assert_eq(ioctl(fd, KVM_GET_CPUID2, cpuid), 0,
		     "KVM_GET_CPUID2 failed: %s", errno_name(errno));
	for (uint32_t i = 0; i < cpuid->nent && i < 4096; i++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == 1) {
			leaf1 = 1;
			cr_assert_eq(e->ebx >> 24, (uint32_t)id,
				     "vCPU %d's CPUID leaf 1 gives APIC id %u "
				     "(EBX 31:24); it must be its own, %d", id,
				     e->ebx >> 24, id);
		}
		if (e->function == 0xb || e->function == 0x1f)
			cr_assert_eq(e->edx, (uint32_t)id,
				     "vCPU %d's CPUID leaf 0x%x subleaf %u gives "
				     "x2APIC id %u (EDX); it must be %d", id,
				     e->function, e->index, e->edx, id);
	}
	cr_assert(leaf1, "vCPU %d's CPUID has no leaf 1", id);
	free(cpuid);
}

/*
 * KVM takes the APIC id in CPUID as the VMM wrote it: stage 06's table
 * holds the id of the host CPU that asked for it, not the vCPU's.  Id 3:
 * no host CPU's.
 */
Test(step13, each_vcpu_has_its_own_apic_id_in_cpuid, .timeout = 20)
{
	struct vcpu cpu = VCPU_EMPTY;
	struct vm vm;

	vm_setup_through(&vm, 9);
	stage_quiet = 1;
	cr_assert_eq(vcpu_apic_id_set(&vm.vcpu), 0,
		     "vcpu_apic_id_set did not return 0 for vCPU 0");
	apic_ids_check(vm.vcpu.fd, 0);
	cr_assert_eq(vcpu_add(&vm, &cpu, 3), 0,
		     "vcpu_add did not return 0 for vCPU 3");
	apic_ids_check(cpu.fd, 3);
	vcpu_destroy(&cpu);
	vm_destroy(&vm);
}

/*
 * vcpu_add(vm, id) where KVM_CREATE_VCPU fails (why: as vcpu_add must
 * say it, e.g. "KVM_CREATE_VCPU failed: EEXIST"): it reports that and
 * returns -1, leaving no fd in the vCPU.
 */
static void vcpu_add_fails(struct vm *vm, int id, const char *why)
{
	struct vcpu cpu = VCPU_EMPTY;
	struct capture c;
	char *err;

	capture_begin(&c, 2);
	cr_assert_eq(vcpu_add(vm, &cpu, id), -1,
		     "vcpu_add for id %d did not return -1 though %s; it must "
		     "report it and return -1", id, why);
	err = capture_end(&c);
	assert_has(err, why);
	cr_assert_eq(cpu.fd, -1,
		     "vcpu_add failed but left cpu.fd = %d; it must be -1",
		     cpu.fd);
	free(err);
}

/* Id 0 is vCPU 0's already: KVM refuses it (EEXIST). */
Test(step13, vcpu_add_refuses_an_id_in_use, .timeout = 20)
{
	struct vm vm;

	vm_setup_through(&vm, 9);
	vcpu_add_fails(&vm, 0, "KVM_CREATE_VCPU failed: EEXIST");
	vm_destroy(&vm);
}

/* Bytes of two vCPUs, alternating, still come out as two whole lines. */
Test(step13, console_keeps_each_line_whole)
{
	struct console c = { .lock = PTHREAD_MUTEX_INITIALIZER };
	const char *a = "cpu 0: abc\n", *b = "cpu 1: xyz\n";
	char *out = NULL;
	size_t len = 0;

	c.out = open_memstream(&out, &len);
	cr_assert(c.out,
		  "open_memstream failed: %s", errno_name(errno));
	for (size_t i = 0; i < strlen(a); i++) {
		console_put(&c, 0, (const uint8_t *)a + i, 1);
		console_put(&c, 1, (const uint8_t *)b + i, 1);
	}
	fclose(c.out);
	cr_assert_str_eq(out, "cpu 0: abc\ncpu 1: xyz\n",
			 "stage 13 printed\n%s\nbut its stage line must "
			 "read\n%s", out, "cpu 0: abc\ncpu 1: xyz\n");
	free(out);
}

Test(step13, console_splits_a_line_too_long_and_flushes_the_rest)
{
	struct console c = { .lock = PTHREAD_MUTEX_INITIALIZER };
	uint8_t big[300];
	char *out = NULL;
	size_t len = 0;

	memset(big, 'x', sizeof(big));
	c.out = open_memstream(&out, &len);
	cr_assert(c.out,
		  "open_memstream failed: %s", errno_name(errno));
	console_put(&c, 1, big, sizeof(big));
	console_put(&c, 0, (const uint8_t *)"tail", 4);
	console_flush(&c);
	fclose(c.out);
	/* 127 + 127 bytes, each line closed, then 46 and "tail" flushed. */
	cr_assert_eq(len, 300 + 4 + 4, "%zu bytes", len);
	cr_assert_eq(out[CONSOLE_LINE_MAX - 1], '\n',
		     "the console's first line does not end in a newline at "
		     "its %d-byte limit", CONSOLE_LINE_MAX);
	cr_assert_eq(strspn(out, "x"), CONSOLE_LINE_MAX - 1,
		     "the console's first line is not %d bytes of 'x' before "
		     "its newline", CONSOLE_LINE_MAX - 1);
	assert_has(out, "tail\n");
	free(out);
}

/* The timeout holds for every vCPU: both spin, both are kicked out. */
Test(step13, timeout_stops_every_vcpu, .timeout = 30)
{
	static const uint8_t code[] = { SPIN_CODE };
	const struct run_options opt = { .timeout = 0.5 };
	struct smp_result r;

	smp_run(code, sizeof(code), &opt, &r);
	cr_assert_eq(r.status, EXIT_TIMEOUT, "status %d:\n%s", r.status, r.err);
	cr_assert_lt(r.seconds, 5.0, "took %.1f s", r.seconds);
	cr_assert_eq(r.cpu_status[0], EXIT_TIMEOUT,
		     "vCPU 0 ended with %d; the timeout must stop it "
		     "(EXIT_TIMEOUT)", r.cpu_status[0]);
	cr_assert_eq(r.cpu_status[1], EXIT_TIMEOUT,
		     "vCPU 1 ended with %d; the timeout must stop it "
		     "(EXIT_TIMEOUT)", r.cpu_status[1]);
	assert_has(r.err, "within 0.5 s");	/* the timeout's, not a signal's */
	assert_has(r.err, "vcpu 0 (stopped):\n");
	assert_has(r.err, "vcpu 1 (stopped):\n");
	smp_result_free(&r);
}

Test(step13, ctrl_c_stops_every_vcpu, .timeout = 30)
{
	static const uint8_t code[] = { SPIN_CODE };
	struct ctrl_c c = { .target = pthread_self(), .after = 1.0 };
	struct smp_result r;
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, ctrl_c_later, &c), 0,
		     "pthread_create failed");
	smp_run(code, sizeof(code), &quick, &r);
	ctrl_c_done(t);
	cr_assert_eq(r.status, EXIT_TIMEOUT, "status %d:\n%s", r.status, r.err);
	cr_assert_lt(r.seconds, 5.0,
		     "Ctrl-C took %.1f s to stop both vCPUs", r.seconds);
	cr_assert_eq(r.cpu_status[0], EXIT_TIMEOUT,
		     "vCPU 0 ended with %d; Ctrl-C must stop it (EXIT_TIMEOUT)",
		     r.cpu_status[0]);
	cr_assert_eq(r.cpu_status[1], EXIT_TIMEOUT,
		     "vCPU 1 ended with %d; Ctrl-C must stop it (EXIT_TIMEOUT)",
		     r.cpu_status[1]);
	assert_has(r.err, "SIGINT");	/* which signal: stop_signals.c's words */
	smp_result_free(&r);
}

/* SIGTERM stops both vCPUs as Ctrl-C does, and their unfinished lines
 * are written out: every byte the guest printed is kept. */
Test(step13, sigterm_keeps_every_byte_printed, .timeout = 30)
{
	static const uint8_t code[] = {
		PRINT_AB_CODE,
		SPIN_CODE,		/* no newline, no hlt */
	};
	struct ctrl_c c = { .target = pthread_self(), .after = 0.5 };
	struct smp_result r;
	pthread_t t;

	c.sig = SIGTERM;
	cr_assert_eq(pthread_create(&t, NULL, ctrl_c_later, &c), 0,
		     "pthread_create failed");
	smp_run(code, sizeof(code), &quick, &r);
	ctrl_c_done(t);
	cr_assert_eq(r.status, EXIT_TIMEOUT, "status %d:\n%s", r.status, r.err);
	cr_assert_str_eq(r.out, "ab\nab\n",
			 "each vCPU printed \"ab\" with no newline before "
			 "SIGTERM; the console must write both out at the stop, "
			 "got '%s'", r.out);
	smp_result_free(&r);
}

/* One vCPU fails: the run ends at once, the other kicked out of its spin. */
Test(step13, one_failing_vcpu_stops_the_other, .timeout = 30)
{
	static const uint8_t code[] = {
		0x85, 0xff,	/* test edi, edi */
		0x75, 0x03,	/* jnz +3: vCPU 1 goes to ud2 */
		SPIN_CODE,	/* vCPU 0 spins */
		0x0f, 0x0b,	/* ud2: no IDT, so a triple fault */
	};
	struct smp_result r;

	smp_run(code, sizeof(code), &quick, &r);
	cr_assert_eq(r.status, EXIT_GUEST, "status %d:\n%s", r.status, r.err);
	cr_assert_lt(r.seconds, 5.0, "took %.1f s: waited for the timeout",
		     r.seconds);
	cr_assert_eq(r.cpu_status[1], EXIT_GUEST,
		     "vCPU 1 ended with %d; its triple fault must end it with "
		     "EXIT_GUEST", r.cpu_status[1]);
	cr_assert_eq(r.cpu_status[0], EXIT_TIMEOUT, "vcpu 0 was not stopped");
	assert_has(r.err, "triple-faulted");
	assert_has(r.err, "vcpu 0 (stopped):\n");
	assert_has(r.err, "vcpu 1 (failed):\n");
	smp_result_free(&r);
}

/* KVM_RUN made to fail for real in the threads: reported, and no hang. */
Test(step13, failed_kvm_run_is_reported_per_vcpu, .timeout = 30)
{
	struct smp_result r;
	int fds = fd_count();

	cr_assert_eq(fault_inject_ioctl(KVM_RUN, EIO), 0,
		     "installing the seccomp filter that fails KVM_RUN with "
		     "EIO failed: %s", errno_name(errno));
	smp_run(guest_image, GUEST_SIZE, &quick, &r);
	cr_assert_eq(r.status, EXIT_SETUP, "status %d:\n%s", r.status, r.err);
	assert_has(r.err, ": KVM_RUN failed: EIO");
	cr_assert(strstr(r.err, "vcpu 0 (failed)") || strstr(r.err, "vcpu 1 (failed)"),
		  "%s", r.err);
	cr_assert_lt(r.seconds, 5.0,
		     "the run with KVM_RUN failing took %.1f s to end",
		     r.seconds);
	cr_assert_eq(fd_count(), fds, "a descriptor was left open");
	smp_result_free(&r);
}

Test(step13, failed_second_vcpu_is_reported, .timeout = 20)
{
	struct vm vm;

	vm_setup_through(&vm, 9);
	cr_assert_eq(fault_inject_ioctl(KVM_CREATE_VCPU, EMFILE), 0,
		     "installing the seccomp filter that fails "
		     "KVM_CREATE_VCPU with EMFILE failed: %s",
		     errno_name(errno));
	vcpu_add_fails(&vm, 1, "KVM_CREATE_VCPU failed: EMFILE");
	vm_destroy(&vm);
}

/* What the README teaches about kicking a vCPU, on KVM itself. */
Test(step13, immediate_exit_makes_kvm_run_return_eintr_at_once, .timeout = 20)
{
	static const uint8_t code[] = { SPIN_CODE };
	struct vm vm;

	vm_setup_through(&vm, 9);
	memcpy(vm.mem + GUEST_LOAD_ADDR, code, sizeof(code));
	vm.vcpu.run->immediate_exit = 1;
	cr_assert_eq(ioctl(vm.vcpu.fd, KVM_RUN, 0UL), -1, "the guest ran");
	cr_assert_eq(errno, EINTR,
		     "KVM_RUN with immediate_exit set failed with %s; KVM "
		     "must return EINTR", errno_name(errno));
	vm_destroy(&vm);
}

static void ignore(int sig)
{
	(void)sig;
}

struct spinner {
	struct vm *vm;
	int ret, err;
};

static void *spin_thread(void *arg)
{
	struct spinner *s = arg;

	s->ret = ioctl(s->vm->vcpu.fd, KVM_RUN, 0UL);
	s->err = errno;
	return NULL;
}

Test(step13, a_signal_ends_kvm_run_in_another_thread, .timeout = 20)
{
	static const uint8_t code[] = { SPIN_CODE };
	struct sigaction sa = { .sa_handler = ignore };
	struct spinner s;
	pthread_t t;
	struct vm vm;

	vm_setup_through(&vm, 9);
	memcpy(vm.mem + GUEST_LOAD_ADDR, code, sizeof(code));
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0,
		     "sigaction failed: %s", errno_name(errno));
	s = (struct spinner){ .vm = &vm };
	cr_assert_eq(pthread_create(&t, NULL, spin_thread, &s), 0,
		     "pthread_create failed");
	usleep(200000);			/* it is in the guest by now */
	vm.vcpu.run->immediate_exit = 1;	/* in case it is not yet */
	cr_assert_eq(pthread_kill(t, SIGUSR1), 0,
		     "pthread_kill failed");
	cr_assert_eq(pthread_join(t, NULL), 0,
		     "pthread_join failed");
	cr_assert_eq(s.ret, -1,
		     "KVM_RUN of the spinning vCPU returned %d after SIGUSR1; "
		     "it must return -1 (EINTR)", s.ret);
	cr_assert_eq(s.err, EINTR,
		     "KVM_RUN of the spinning vCPU failed with %s after "
		     "SIGUSR1; it must be EINTR", errno_name(s.err));
	vm_destroy(&vm);
}

/*
 * How real machines start CPUs: with an in-kernel irqchip, vCPU 0 is
 * the bootstrap processor and runs; any other waits for INIT and SIPI
 * (KVM_MP_STATE_UNINITIALIZED), and KVM_RUN on it sleeps until a signal.
 * Without an irqchip, as in this chapter, every vCPU is runnable.
 */
Test(step13, with_an_irqchip_vcpu_1_waits_for_init_sipi, .timeout = 30)
{
	struct sigaction sa = { .sa_handler = ignore };
	struct itimerval timer = { .it_value = { .tv_usec = 300000 } };
	struct kvm_mp_state mp;
	struct vm vm = VM_EMPTY;
	int fd1, ret, err;

	stage_quiet = 1;
	cr_assert(kvm_open(&vm) >= 0 && kvm_check_api_version(&vm) == 0 &&
		  vm_create(&vm) >= 0,
		  "stages 01-03 failed, as they say above");
	cr_assert_eq(ioctl(vm.fd, KVM_CREATE_IRQCHIP, 0UL), 0, "%s",
		     strerror(errno));
	cr_assert(vm_memory_add(&vm, GUEST_MEM_SIZE) == 0 && vcpu_create(&vm, &vm.vcpu, 0) >= 0,
		  "stages 05-06 failed after KVM_CREATE_IRQCHIP, as they say "
		  "above");
	fd1 = ioctl(vm.fd, KVM_CREATE_VCPU, 1UL);
	cr_assert_geq(fd1, 0,
		      "KVM_CREATE_VCPU for vCPU 1 failed: %s",
		      errno_name(errno));
	cr_assert_eq(ioctl(vm.vcpu.fd, KVM_GET_MP_STATE, &mp), 0,
		     "KVM_GET_MP_STATE failed: %s", errno_name(errno));
	cr_assert_eq(mp.mp_state, KVM_MP_STATE_RUNNABLE, "vcpu 0: %u", mp.mp_state);
	cr_assert_eq(ioctl(fd1, KVM_GET_MP_STATE, &mp), 0,
		     "KVM_GET_MP_STATE failed: %s", errno_name(errno));
	cr_assert_eq(mp.mp_state, KVM_MP_STATE_UNINITIALIZED, "vcpu 1: %u",
		     mp.mp_state);

	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0,
		     "sigaction failed: %s", errno_name(errno));
	cr_assert_eq(setitimer(ITIMER_REAL, &timer, NULL), 0,
		     "setitimer failed: %s", errno_name(errno));
	ret = ioctl(fd1, KVM_RUN, 0UL);
	err = errno;
	cr_assert_eq(ret, -1, "vcpu 1 ran without a SIPI");
	cr_assert_eq(err, EINTR,
		     "KVM_RUN of vCPU 1 failed with %s; waiting for INIT and "
		     "SIPI it must sleep until the SIGALRM (EINTR)",
		     errno_name(err));
	close(fd1);
	vm_destroy(&vm);

	/* No irqchip: both runnable from the start. */
	vm_setup_through(&vm, 6);
	fd1 = ioctl(vm.fd, KVM_CREATE_VCPU, 1UL);
	cr_assert_geq(fd1, 0,
		      "KVM_CREATE_VCPU for vCPU 1 failed: %s",
		      errno_name(errno));
	cr_assert_eq(ioctl(fd1, KVM_GET_MP_STATE, &mp), 0,
		     "KVM_GET_MP_STATE failed: %s", errno_name(errno));
	cr_assert_eq(mp.mp_state, KVM_MP_STATE_RUNNABLE, "vcpu 1: %u", mp.mp_state);
	close(fd1);
	vm_destroy(&vm);
}

/*
 * step13 --sipi, its stage: the VM with an irqchip, vCPU 1 made as an
 * application processor, both run on their threads.  What KVM says of
 * vCPU 1 before and after is the proof: asleep until INIT and SIPI, then
 * in real mode at the page of the SIPI's vector, having run the code
 * there; and the guest's own lines say the same.
 */
Test(step13, sipi_starts_vcpu_1_at_the_vectors_page, .timeout = 60)
{
	const struct run_options opt = { .timeout = 10 };
	struct console console = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct run_options run_opt = opt;
	struct vcpu vcpu1 = VCPU_EMPTY;
	struct cpu cpus[NR_VCPUS];
	struct kvm_mp_state mp;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct capture c;
	struct vm vm = VM_EMPTY;
	char *out = NULL, *err, cs_text[32];
	size_t len = 0;
	int status;

	stage_quiet = 1;
	cr_assert_eq(sipi_vm_build(&vm), 0,
		     "sipi_vm_build did not return 0; it must make stages 01-09 "
		     "with an irqchip");
	cr_assert_eq(vcpu_apic_id_set(&vm.vcpu), 0,
		     "vcpu_apic_id_set did not return 0 for vCPU 0");
	cr_assert_eq(smp_guest_load(&vm, sipi_image, sipi_image_end - sipi_image),
		     0, "smp_guest_load did not return 0 for sipi.asm's guest");
	cr_assert_gt((size_t)(sipi_image_end - sipi_image),
		     AP_PAGE - GUEST_LOAD_ADDR,
		     "sipi.asm's guest ends before AP_PAGE, where vCPU 1's code "
		     "must be");
	cr_assert_eq(vcpu_ap_add(&vm, &vcpu1, 1), 0,
		     "vcpu_ap_add did not return 0 for vCPU 1");
	cr_assert_eq(ioctl(vcpu1.fd, KVM_GET_MP_STATE, &mp), 0,
		     "KVM_GET_MP_STATE failed: %s", errno_name(errno));
	cr_assert_eq(mp.mp_state, KVM_MP_STATE_UNINITIALIZED,
		     "before the run vCPU 1 is in MP state %u; with a local APIC "
		     "in the kernel it must wait for INIT and SIPI", mp.mp_state);

	console.out = open_memstream(&out, &len);
	cr_assert(console.out, "open_memstream for the console failed: %s",
		  errno_name(errno));
	run_opt.out = console.out;
	cpus[0] = (struct cpu){ .vcpu = &vm.vcpu, .console = &console };
	cpus[1] = (struct cpu){ .vcpu = &vcpu1, .console = &console };
	capture_begin(&c, 2);
	status = vcpus_run(&vm, cpus, NR_VCPUS, &run_opt);
	err = capture_end(&c);
	fclose(console.out);
	cr_assert_eq(status, EXIT_SUCCESS,
		     "vcpus_run returned %d, not 0: INIT and SIPI did not start "
		     "vCPU 1, or it did not finish; stderr:\n%s\nconsole:\n%s",
		     status, err, out);
	cr_assert_str_eq(err, "", "the run wrote on stderr:\n%s", err);

	/* KVM's view of vCPU 1: runnable, in real mode at the SIPI's page. */
	cr_assert_eq(ioctl(vcpu1.fd, KVM_GET_MP_STATE, &mp), 0,
		     "KVM_GET_MP_STATE failed: %s", errno_name(errno));
	cr_assert_eq(mp.mp_state, KVM_MP_STATE_RUNNABLE,
		     "after the run vCPU 1 is in MP state %u, not runnable",
		     mp.mp_state);
	cr_assert_eq(ioctl(vcpu1.fd, KVM_GET_SREGS, &sregs), 0,
		     "KVM_GET_SREGS failed: %s", errno_name(errno));
	cr_assert_eq(sregs.cs.base, AP_PAGE,
		     "vCPU 1's CS base is 0x%llx; a SIPI to the page at 0x%llx "
		     "sets it there", (unsigned long long)sregs.cs.base, AP_PAGE);
	cr_assert_eq(sregs.cs.selector, AP_PAGE >> 4,
		     "vCPU 1's CS is 0x%x; a SIPI with vector 0x%llx sets it to "
		     "the vector << 8", sregs.cs.selector, AP_PAGE >> 12);
	cr_assert_eq(sregs.cr0 & CR0_PE, 0, "vCPU 1 is not in real mode: CR0 0x%llx",
		     (unsigned long long)sregs.cr0);
	cr_assert_eq(ioctl(vcpu1.fd, KVM_GET_REGS, &regs), 0,
		     "KVM_GET_REGS failed: %s", errno_name(errno));
	cr_assert(regs.rip > 0 && regs.rip < 0x1000,
		  "vCPU 1's IP is 0x%llx: it must have run on from 0, within "
		  "its page", (unsigned long long)regs.rip);
	cr_assert_eq(ap_started_check(&vcpu1), EXIT_SUCCESS,
		     "ap_started_check did not find vCPU 1 at the SIPI's page");

	/* The guest's view: vCPU 1 read its own CS, after vCPU 0's first line. */
	snprintf(cs_text, sizeof(cs_text), "CS 0x%llx\n", AP_PAGE >> 4);
	cr_assert(strstr(out, "cpu 0: ") == out && strstr(out, "\ncpu 1: ") &&
		  strstr(strstr(out, "\ncpu 1: "), cs_text) &&
		  strstr(strstr(out, "\ncpu 1: ") + 1, "\ncpu 0: "),
		  "vCPU 0 first, then vCPU 1 with its %.*s, then vCPU 0 again:\n%s",
		  (int)strlen(cs_text) - 1, cs_text, out);
	free(out);
	free(err);
	vcpu_destroy(&vcpu1);
	vm_destroy(&vm);
}

/* The ```console block after `<!-- transcript -->` and `$ ./step13`. */
static char *readme_transcript(void)
{
	char *readme = file_read(STEP_DIR "/README.md", NULL);
	const char *start = strstr(readme, "<!-- transcript -->\n```console\n"
				   "$ ./step13\n"), *end;
	char *shown;

	cr_assert(start, "no transcript of ./step13 in README.md");
	start = strchr(strstr(start, "$ ./step13"), '\n') + 1;
	end = strstr(start, "\n```");
	cr_assert(end, "the transcript does not end");
	shown = strndup(start, end - start + 1);
	free(readme);
	return shown;
}

/* The lines of text that begin with prefix (or, if NULL, with neither). */
static char *lines_select(const char *text, const char *prefix)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	cr_assert(f,
		  "open_memstream failed: %s", errno_name(errno));
	for (const char *p = text; *p; ) {
		size_t n = strcspn(p, "\n");
		int cpu = !strncmp(p, "cpu 0: ", 7) || !strncmp(p, "cpu 1: ", 7);

		if (prefix ? !strncmp(p, prefix, strlen(prefix)) : !cpu)
			fprintf(f, "%.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
	fclose(f);
	return out;
}

/*
 * The README's transcript is one real run.  How cpu 0's and cpu 1's
 * lines interleave differs from run to run; each vCPU's own lines, and
 * everything else, must match it exactly.
 */

Test(step13, program_prints_stages_then_its_own, .timeout = 60)
{
	struct program_result r;
	char *own, *cpu_lines;

	own = chapter_run_plain(13, 9, &r);
	assert_has(own, "[13] both vCPUs halted; the counter at GPA "
		   "0x100000 reads 200000 = 2 x 100000\n");
	cpu_lines = lines_select(own, "cpu ");
	lines_check(cpu_lines);
	free(cpu_lines);
	program_result_free(&r);
}

Test(step13, program_traces_the_second_vcpu, .timeout = 150)
{
	static const char *const wanted[] = {
		"ioctl(4, KVM_CREATE_VCPU, id 0) = 5\n",
		"ioctl(4, KVM_CREATE_VCPU, id 1) = 6\n",
		"ioctl(6, KVM_SET_CPUID2, ",
		("ioctl(6, KVM_SET_REGS, {RIP=0x10000, RSP=0x1f8000, "
		 "RFLAGS=0x2 <RESERVED_1>}) = 0\n"),
		"ioctl(6, KVM_RUN) = 0, KVM_EXIT_IO: out port 0xe9",
		"ioctl(5, KVM_RUN) = 0, KVM_EXIT_HLT",
		"ioctl(6, KVM_RUN) = 0, KVM_EXIT_HLT",
	};
	const char *env[] = { "KVM_TRACE=1", NULL };
	const char *argv[] = { STEP_PROGRAM, NULL };
	struct program_result flag, environ_;
	char *a, *b, *cut;

	const char *flag_argv[] = { STEP_PROGRAM, "--trace", NULL };

	/* Slow: each traced exit maps the vCPU's kvm_run to decode it. */
	program_run(flag_argv, NULL, 70, &flag);
	program_run(argv, env, 70, &environ_);
	cr_assert_eq(flag.status, 0, "exit %d:\n%s", flag.status, flag.err);
	cr_assert_eq(environ_.status, 0,
		     "step13 with KVM_TRACE=1 exited %d:\n%s", environ_.status,
		     environ_.err);
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
		cr_assert(strstr(flag.err, wanted[i]), "no \"%s\" in the trace",
			  wanted[i]);
	/* Two threads trace at once, yet every line is one call's, whole. */
	for (const char *p = flag.err; *p; ) {
		size_t n = strcspn(p, "\n");

		cr_assert(!strncmp(p, "ioctl(", 6) || !strncmp(p, "  ", 2),
			  "a trace line broken into: '%.*s'", (int)n, p);
		cr_assert(n < 6 || !memmem(p + 1, n - 1, "ioctl(", 6),
			  "two calls on one line: '%.*s'", (int)n, p);
		p += n + (p[n] == '\n');
	}
	/* The setup is the same both ways; the threads' order is not. */
	a = output_normalize(flag.err);
	b = output_normalize(environ_.err);
	cut = strstr(a, ", KVM_RUN)");
	cr_assert(cut,
		  "no KVM_RUN in the trace:\n%s", a);
	while (cut > a && cut[-1] != '\n')
		cut--;		/* the start of the first KVM_RUN's line */
	*cut = '\0';
	cr_assert(!strncmp(a, b, strlen(a)), "--trace and KVM_TRACE=1 differ:\n"
		  "%s\n---\n%.*s", a, (int)strlen(a), b);
	free(a);
	free(b);
	program_result_free(&flag);
	program_result_free(&environ_);
}

Test(step13, program_output_matches_readme_transcript, .timeout = 60)
{
	static const char *const parts[] = { NULL, "cpu 0: ", "cpu 1: " };
	struct program_result r;
	char *shown, *want, *got;

	program_run_args(NULL, NULL, &r);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	shown = readme_transcript();
	want = output_normalize(shown);
	got = output_normalize(r.out);
	for (size_t i = 0; i < 3; i++) {
		char *w = lines_select(want, parts[i]), *g = lines_select(got, parts[i]);

		cr_assert_str_eq(g, w, "README.md's transcript, %s lines:\n"
				 "README shows:\n%s\nprogram printed:\n%s",
				 parts[i] ? parts[i] : "other", w, g);
		free(w);
		free(g);
	}
	free(shown);
	free(want);
	free(got);
	program_result_free(&r);
}

/* step13 --sipi as a user runs it: exactly the README's transcript. */
Test(step13, program_sipi_matches_readme_transcript, .timeout = 60)
{
	static const char marker[] = "<!-- transcript -->\n```console\n"
				     "$ ./step13 --sipi\n";
	struct program_result r;
	char *readme, *shown, *end, *want, *got;

	program_run_args_status("--sipi", NULL, EXIT_SUCCESS, &r);
	cr_assert_str_eq(r.err, "", "step13 --sipi wrote on stderr:\n%s", r.err);
	readme = file_read(STEP_DIR "/README.md", NULL);
	shown = strstr(readme, marker);
	cr_assert(shown, "README.md has no transcript of ./step13 --sipi");
	shown += strlen(marker);
	end = strstr(shown, "```");
	cr_assert(end, "the --sipi transcript has no closing ```");
	*end = '\0';
	want = output_normalize(shown);
	got = output_normalize(r.out);
	cr_assert_str_eq(got, want, "step13 --sipi printed\n%s\nthe README "
			 "shows\n%s", got, want);
	free(want);
	free(got);
	free(readme);
	program_result_free(&r);
}

CHAPTER_PROGRAM_TESTS(step13, 13)
