/* SPDX-License-Identifier: MIT */
/*
 * test_step10_faults: every system call and ioctl the stages make can
 * fail, and each failure is explained, cleaned up and survived.
 *
 * Each test installs a seccomp filter (tests/faults.c) that makes one
 * call fail for real, then runs stages 01..10 in this process as step10
 * does.  The stage that makes the call must return failure, stderr must
 * name the call and the errno ("KVM_CREATE_VM failed: ENOMEM (...)"),
 * with the hint where one is known, and once vm_destroy() has run this
 * process must hold exactly the fds it held before.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "faults.h"
#include "kvm_names.h"
#include "kvm_test.h"
#include "report.h"
#include "step10.h"

/* What one injected fault must produce. */
struct stage_fault {
	long nr;		/* the system call to fail */
	int a;			/* argument conditions (faults.h) */
	uint32_t va;
	int b;
	uint32_t vb;
	int err;		/* ...with this errno */
	int stage;		/* the stage that must fail */
	const char *call;	/* "KVM_CREATE_VM": in "CALL failed: ENAME" */
	const char *hint;	/* a piece of the hint, or NULL */
};

/* The flags stage 01 opens the device with, and stage 05's mmap flags. */
#define OPEN_FLAGS	(O_RDWR | O_CLOEXEC)
#define MEM_MMAP_FLAGS	(MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

/*
 * Run stages 01..10 with the guest image (the built-in one if NULL);
 * return the first stage that failed, or 0 if the guest halted.
 * *status gets vcpu_run()'s result.
 */
static int stages_run(struct vm *vm, const struct run_options *opt,
		      const uint8_t *image, size_t size, int *status)
{
	*status = -1;
	if (kvm_open(vm) < 0)
		return 1;
	if (kvm_check_api_version(vm) < 0)
		return 2;
	if (vm_create(vm) < 0)
		return 3;
	if (vm_set_tss_addr(vm) < 0)
		return 4;
	if (vm_memory_add(vm, GUEST_MEM_SIZE) < 0)
		return 5;
	if (vcpu_create(vm, &vm->vcpu, 0) < 0)
		return 6;
	if (vcpu_map_run(vm, &vm->vcpu) < 0)
		return 7;
	if (vcpu_enter_long_mode(vm, &vm->vcpu) < 0)
		return 8;
	if (vcpu_regs_set(&vm->vcpu) < 0)
		return 9;
	if (!image) {
		image = guest_image;
		size = guest_image_end - guest_image;
	}
	if (guest_load(vm, image, size) < 0)
		return 10;
	*status = vcpu_run(vm, &vm->vcpu, opt, &(struct run_stats){ 0 });
	return *status == EXIT_SUCCESS ? 0 : 10;
}

/* "test_step10: CALL failed: ENAME (text)" at the start of a line. */
static void assert_failure_line(const char *err, const char *call, int errnum)
{
	char line[512];

	snprintf(line, sizeof(line), "%s: %s failed: %s (%s)\n",
		 program_invocation_short_name, call, errno_name(errnum),
		 strerror(errnum));
	cr_assert(strstr(err, line), "expected \"%s\" in stderr:\n%s", line, err);
}

static void stages_fail_cleanly(const struct stage_fault *f)
{
	struct vm vm = VM_EMPTY;
	struct capture cap;
	FILE *devnull = fopen("/dev/null", "w");
	struct run_options opt = { .out = devnull, .timeout = 10 };
	int before, after, failed, status;
	char *err;

	cr_assert(devnull,
		  "fopen /dev/null failed: %s", errno_name(errno));
	stage_quiet = 1;
	capture_begin(&cap, 2);
	before = fd_count();
	cr_assert_eq(fault_inject(f->nr, f->err, f->a, f->va, f->b, f->vb), 0,
		     "seccomp: %s", strerror(errno));
	failed = stages_run(&vm, &opt, NULL, 0, &status);
	vm_destroy(&vm);
	after = fd_count();
	err = capture_end(&cap);

	cr_assert_eq(failed, f->stage, "stage %d failed, not %d; stderr:\n%s",
		     failed, f->stage, err);
	if (f->stage == 10)
		cr_assert_eq(status, EXIT_SETUP,
			     "stage 10 failed, but vcpu_run returned %d, not "
			     "EXIT_SETUP (%d)", status, EXIT_SETUP);
	assert_failure_line(err, f->call, f->err);
	if (f->hint) {
		cr_assert(strstr(err, "  hint: "), "no hint:\n%s", err);
		cr_assert(strstr(err, f->hint), "hint without \"%s\":\n%s",
			  f->hint, err);
	}
	cr_assert_eq(after, before, "%d fds open before, %d after vm_destroy",
		     before, after);
	cr_assert(!strstr(err, "vCPU registers:"), "a setup failure dumped "
		  "registers:\n%s", err);
	free(err);
	fclose(devnull);
}

#define IOCTL_FAULT(req) SYS_ioctl, 1, (uint32_t)(req), FAULT_ANY, 0
#define IOCTL_FAULT_NR(req) SYS_ioctl, 1, (uint32_t)(req)
#define FAULT_TEST(name, ...)						\
	Test(step10_faults, name, .timeout = 30)			\
	{								\
		const struct stage_fault f = { __VA_ARGS__ };		\
		stages_fail_cleanly(&f);				\
	}

/* Stage 01: open.  Only an open with stage 01's flags is refused. */
FAULT_TEST(open_enoent, SYS_openat, 2, OPEN_FLAGS, FAULT_ANY, 0,
	   ENOENT, 1, "open /dev/kvm", "module is not loaded")
FAULT_TEST(open_eacces, SYS_openat, 2, OPEN_FLAGS, FAULT_ANY, 0,
	   EACCES, 1, "open /dev/kvm", "kvm group")
/* Stages 02..09: each ioctl. */
FAULT_TEST(get_api_version, IOCTL_FAULT(KVM_GET_API_VERSION), ENOTTY, 2,
	   "KVM_GET_API_VERSION", "not a KVM device")
FAULT_TEST(create_vm, IOCTL_FAULT(KVM_CREATE_VM), ENOMEM, 3,
	   "KVM_CREATE_VM", "could not allocate a VM")
FAULT_TEST(set_tss_addr, IOCTL_FAULT(KVM_SET_TSS_ADDR), EEXIST, 4,
	   "KVM_SET_TSS_ADDR", "overlap")
/* Stage 05's mmap: anonymous, GUEST_MEM_SIZE bytes; nobody else's. */
FAULT_TEST(mmap_memory, SYS_mmap, 1, (uint32_t)GUEST_MEM_SIZE, 3,
	   MEM_MMAP_FLAGS, ENOMEM, 5, "mmap guest memory", "ulimit -v")
FAULT_TEST(set_user_memory_region, IOCTL_FAULT(KVM_SET_USER_MEMORY_REGION),
	   EEXIST, 5, "KVM_SET_USER_MEMORY_REGION", "overlaps another slot")
FAULT_TEST(create_vcpu, IOCTL_FAULT(KVM_CREATE_VCPU), EEXIST, 6,
	   "KVM_CREATE_VCPU", "exists already")
FAULT_TEST(get_supported_cpuid, IOCTL_FAULT(KVM_GET_SUPPORTED_CPUID), ENOMEM,
	   6, "KVM_GET_SUPPORTED_CPUID", NULL)
FAULT_TEST(set_cpuid2, IOCTL_FAULT(KVM_SET_CPUID2), EINVAL, 6,
	   "KVM_SET_CPUID2", NULL)
FAULT_TEST(get_vcpu_mmap_size, IOCTL_FAULT(KVM_GET_VCPU_MMAP_SIZE), ENOTTY, 7,
	   "KVM_GET_VCPU_MMAP_SIZE", "ask /dev/kvm")
/* Stage 07's mmap: the only MAP_SHARED read-write mapping here. */
FAULT_TEST(mmap_run, SYS_mmap, 2, PROT_READ | PROT_WRITE, 3, MAP_SHARED,
	   ENODEV, 7, "mmap", "cannot be mapped")
FAULT_TEST(get_sregs, IOCTL_FAULT(KVM_GET_SREGS), EFAULT, 8,
	   "KVM_GET_SREGS", NULL)
FAULT_TEST(set_sregs, IOCTL_FAULT(KVM_SET_SREGS), EINVAL, 8,
	   "KVM_SET_SREGS", "EFER.LMA")
FAULT_TEST(set_regs, IOCTL_FAULT(KVM_SET_REGS), EINVAL, 9,
	   "KVM_SET_REGS", NULL)
/* Stage 10: KVM_RUN, and the timer that bounds it. */
FAULT_TEST(run, IOCTL_FAULT(KVM_RUN), EFAULT, 10, "KVM_RUN",
	   "host pages are not mapped")
FAULT_TEST(run_einval, IOCTL_FAULT(KVM_RUN), EINVAL, 10, "KVM_RUN",
	   "takes 0 as its argument")
FAULT_TEST(setitimer, SYS_setitimer, FAULT_ANY, 0, FAULT_ANY, 0, EINVAL, 10,
	   "setitimer", NULL)
FAULT_TEST(sigaction_alrm, SYS_rt_sigaction, 0, SIGALRM, FAULT_ANY, 0,
	   EINVAL, 10, "sigaction", NULL)
FAULT_TEST(sigaction_int, SYS_rt_sigaction, 0, SIGINT, FAULT_ANY, 0,
	   EINVAL, 10, "sigaction", NULL)

/* A failed arm leaves no handler behind pointing at a dead kvm_run. */
Test(step10_faults, failed_timer_restores_signal_handlers, .timeout = 30)
{
	struct stage_fault f = {
		.nr = SYS_setitimer, .a = FAULT_ANY, .b = FAULT_ANY,
		.err = EINVAL, .stage = 10, .call = "setitimer",
	};
	struct sigaction alrm0, int0, alrm, intr;

	cr_assert_eq(sigaction(SIGALRM, NULL, &alrm0), 0,
		     "sigaction failed: %s", errno_name(errno));
	cr_assert_eq(sigaction(SIGINT, NULL, &int0), 0,
		     "sigaction failed: %s", errno_name(errno));
	stages_fail_cleanly(&f);
	cr_assert_eq(sigaction(SIGALRM, NULL, &alrm), 0,
		     "sigaction failed: %s", errno_name(errno));
	cr_assert_eq(sigaction(SIGINT, NULL, &intr), 0,
		     "sigaction failed: %s", errno_name(errno));
	cr_assert_eq(alrm.sa_handler, alrm0.sa_handler,
		     "SIGALRM handler left installed");
	cr_assert_eq(intr.sa_handler, int0.sa_handler,
		     "SIGINT handler left installed");
}

/*
 * KVM_RUN failing with EINTR with no stop signal is retried, as a stray
 * signal's would be; the timeout still ends it.
 */
Test(step10_faults, run_eintr_for_ever_times_out, .timeout = 30)
{
	struct vm vm = VM_EMPTY;
	struct capture cap;
	FILE *devnull = fopen("/dev/null", "w");
	struct run_options opt = { .out = devnull, .timeout = 0.3 };
	int status;
	char *err;

	stage_quiet = 1;
	capture_begin(&cap, 2);
	cr_assert_eq(fault_inject_ioctl(KVM_RUN, EINTR), 0,
		     "installing the seccomp filter that fails KVM_RUN with "
		     "EINTR failed: %s", errno_name(errno));
	cr_assert_eq(stages_run(&vm, &opt, NULL, 0, &status), 10,
		     "the stages stopped before stage 10; with only KVM_RUN "
		     "failing (EINTR) stages 01-09 must all succeed");
	vm_destroy(&vm);
	err = capture_end(&cap);
	cr_assert_eq(status, EXIT_TIMEOUT, "%s", err);
	assert_has(err, "did not halt within 0.3 s");
	free(err);
	fclose(devnull);
}

/* The register dump after a guest failure: its own ioctls may fail too. */
static void dump_fails(unsigned long request, const char *call)
{
	static const uint8_t ud2[] = { 0x0f, 0x0b };	/* triple fault */
	struct vm vm = VM_EMPTY;
	struct capture cap;
	FILE *devnull = fopen("/dev/null", "w");
	/*
	 * 5 s: the triple fault comes at the first KVM_RUN, in well under
	 * a second even under TCG; a loop that enters the guest again after
	 * it runs until this timeout and is caught by the exit count.
	 */
	struct run_options opt = { .out = devnull, .timeout = 5 };
	struct run_stats stats;
	int status;
	char *err;

	vm_setup_with_guest(&vm, ud2, sizeof(ud2));
	capture_begin(&cap, 2);
	cr_assert_eq(fault_inject_ioctl(request, EIO), 0,
		     "installing the seccomp filter that fails %s with EIO "
		     "failed: %s", call, errno_name(errno));
	status = vcpu_run(&vm, &vm.vcpu, &opt, &stats);
	vm_destroy(&vm);
	err = capture_end(&cap);
	cr_assert(stats.exits == 1 || stats.last_exit != KVM_EXIT_SHUTDOWN,
		  "vcpu_run handled %llu exits, the last KVM_EXIT_SHUTDOWN: it "
		  "must stop at the first KVM_EXIT_SHUTDOWN, not enter the "
		  "guest again.  Its stderr began:\n%.1500s",
		  (unsigned long long)stats.exits, err);
	cr_assert_eq(status, EXIT_GUEST, "%s", err);
	assert_has(err, "KVM_EXIT_SHUTDOWN");
	assert_failure_line(err, call, EIO);
	cr_assert(!strstr(err, "RIP="), "a dump without registers:\n%s", err);
	free(err);
	fclose(devnull);
}

Test(step10_faults, dump_get_regs, .timeout = 30)
{
	dump_fails(KVM_GET_REGS, "KVM_GET_REGS");
}

Test(step10_faults, dump_get_sregs, .timeout = 30)
{
	dump_fails(KVM_GET_SREGS, "KVM_GET_SREGS");
}

/*
 * EMFILE: with RLIMIT_NOFILE at the lowest free fd, the next fd a stage
 * creates (the device, the VM, the vCPU) is refused.
 */
static void emfile_at_stage(int stage, const char *call)
{
	struct vm vm = VM_EMPTY;
	struct capture cap;
	struct rlimit old, tight;
	int before, failed = 0, fd;
	char *err;

	stage_quiet = 1;
	capture_begin(&cap, 2);
	before = fd_count();
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0,
		     "getrlimit failed: %s", errno_name(errno));
	if (stage > 1)
		cr_assert_geq(kvm_open(&vm), 0,
			      "stage 01 (kvm_open) failed; it must succeed "
			      "here");
	if (stage > 3)
		cr_assert(vm_create(&vm) >= 0 && vm_set_tss_addr(&vm) == 0 &&
			  vm_memory_add(&vm, GUEST_MEM_SIZE) == 0,
			  "stages 03 to 05 failed with RLIMIT_NOFILE still at "
			  "its limit");
	fd = dup(0);		/* the lowest free fd */
	cr_assert_geq(fd, 0,
		      "dup(0) failed: %s", errno_name(errno));
	close(fd);
	tight = (struct rlimit){ .rlim_cur = fd, .rlim_max = old.rlim_max };
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &tight), 0,
		     "setrlimit failed: %s", errno_name(errno));
	if (stage == 1)
		failed = kvm_open(&vm) < 0;
	else if (stage == 3)
		failed = vm_create(&vm) < 0;
	else
		failed = vcpu_create(&vm, &vm.vcpu, 0) < 0;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0,
		     "setrlimit failed: %s", errno_name(errno));
	vm_destroy(&vm);
	cr_assert_eq(fd_count(), before,
		     "%d fds are open, %d before; there must be none more: "
		     "what it opened must be closed", fd_count(), before);
	err = capture_end(&cap);
	cr_assert(failed, "stage %d succeeded with no fd left", stage);
	assert_failure_line(err, call, EMFILE);
	assert_has(err, "ulimit -n");
	free(err);
}

Test(step10_faults, emfile_open, .timeout = 30)
{
	char call[300];

	snprintf(call, sizeof(call), "open %s", kvm_device_path());
	emfile_at_stage(1, call);
}

Test(step10_faults, emfile_create_vm, .timeout = 30)
{
	emfile_at_stage(3, "KVM_CREATE_VM");
}

Test(step10_faults, emfile_create_vcpu, .timeout = 30)
{
	emfile_at_stage(6, "KVM_CREATE_VCPU");
}

/* Reading a guest image: open, fstat and read failures name the file. */
static void image_read_fails(long nr, int a, uint32_t va, int errnum,
			     const char *what)
{
	char path[] = "/tmp/test_step10_image.XXXXXX";
	char call[300];
	uint8_t *image = NULL;
	size_t size = 0;
	struct capture cap;
	int fd = mkstemp(path), before, ret;
	char *err;

	cr_assert_geq(fd, 0,
		      "mkstemp failed: %s", errno_name(errno));
	cr_assert_eq(ftruncate(fd, 4099), 0,
		     "ftruncate failed: %s", errno_name(errno));	/* a size nobody else reads */
	close(fd);
	capture_begin(&cap, 2);
	before = fd_count();
	cr_assert_eq(fault_inject(nr, errnum, a, va, FAULT_ANY, 0), 0,
		     "installing the seccomp filter that fails %s with %s "
		     "failed: %s", what, errno_name(errnum), errno_name(errno));
	ret = guest_image_read(path, &image, &size);
	cr_assert_eq(fd_count(), before,
		     "%d fds are open, %d before; there must be none more: "
		     "what it opened must be closed", fd_count(), before);
	err = capture_end(&cap);
	unlink(path);
	cr_assert_eq(ret, -1,
		     "guest_image_read returned %d while %s failed; it must "
		     "report it and return -1", ret, what);
	cr_assert_null(image,
		       "guest_image_read failed but left *image set; it must "
		       "leave it NULL");
	snprintf(call, sizeof(call), "%s guest image %s", what, path);
	assert_failure_line(err, call, errnum);
	free(err);
}

Test(step10_faults, image_open, .timeout = 30)
{
	image_read_fails(SYS_openat, 2, O_RDONLY | O_CLOEXEC | O_NONBLOCK,
			 EACCES, "opening");
}

Test(step10_faults, image_read, .timeout = 30)
{
	image_read_fails(SYS_read, 2, 4099, EIO, "reading");
}

/*
 * The whole program: a seccomp filter is inherited by the children a
 * process starts, so step10 run from here meets the same failure.  It
 * must exit EXIT_SETUP with the message, after the stages before it.
 */
static void program_fails(long nr, int a, uint32_t va, int errnum,
			  const char *call, const char *last_stage)
{
	const char *argv[] = { STEP_PROGRAM, NULL };
	struct program_result r;
	char line[256];

	cr_assert_eq(fault_inject(nr, errnum, a, va, FAULT_ANY, 0), 0,
		     "installing the seccomp filter that fails %s with %s "
		     "failed: %s", call, errno_name(errnum), errno_name(errno));
	program_run(argv, NULL, 20, &r);
	cr_assert_eq(r.status, EXIT_SETUP, "status %d\n%s", r.status, r.err);
	snprintf(line, sizeof(line), "step10: %s failed: %s (%s)\n", call,
		 errno_name(errnum), strerror(errnum));
	cr_assert(strstr(r.err, line), "expected \"%s\" in:\n%s", line, r.err);
	cr_assert(strstr(r.err, "  hint: "), "no hint:\n%s", r.err);
	cr_assert(!strstr(r.err, "vCPU registers:"), "%s", r.err);
	if (last_stage)
		cr_assert(strstr(r.out, last_stage), "%s", r.out);
	else
		cr_assert_eq(r.out_len, 0, "%s", r.out);
	cr_assert(!strstr(r.out, "KVM_EXIT_HLT"), "%s", r.out);
	program_result_free(&r);
}

Test(step10_faults, program_open, .timeout = 30)
{
	char call[300];

	snprintf(call, sizeof(call), "open %s", kvm_device_path());
	program_fails(SYS_openat, 2, OPEN_FLAGS, EACCES, call, NULL);
}

Test(step10_faults, program_create_vm, .timeout = 30)
{
	program_fails(IOCTL_FAULT_NR(KVM_CREATE_VM), ENOMEM, "KVM_CREATE_VM",
		      "[02] KVM_GET_API_VERSION: 12\n");
}

Test(step10_faults, program_set_sregs, .timeout = 30)
{
	program_fails(IOCTL_FAULT_NR(KVM_SET_SREGS), EINVAL, "KVM_SET_SREGS",
		      "[07] KVM_GET_VCPU_MMAP_SIZE: ");
}

Test(step10_faults, program_run, .timeout = 30)
{
	program_fails(IOCTL_FAULT_NR(KVM_RUN), EFAULT, "KVM_RUN",
		      "[10] loaded the guest: ");
}

Test(step10_faults, kvm_run_takes_no_argument)
{
	struct vm vm;

	/* kvm_vcpu_ioctl(): KVM_RUN with a non-zero argument is EINVAL. */
	vm_setup_through(&vm, 9);
	errno = 0;
	cr_assert_eq(ioctl(vm.vcpu.fd, KVM_RUN, 1UL), -1,
		     "KVM_RUN with argument 1 succeeded; KVM must refuse any "
		     "argument but 0 with EINVAL");
	cr_assert_eq(errno, EINVAL, "KVM_RUN(1): %s", errno_name(errno));
	cr_assert(strstr(errno_hint("KVM_RUN", EINVAL), "takes 0"),
		  "the hint for KVM_RUN failing with EINVAL does not contain "
		  "\"%s\"", "takes 0");
	vm_destroy(&vm);
}
