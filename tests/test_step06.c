/* SPDX-License-Identifier: MIT */
/*
 * test_step06: stage 06 creates vCPU 0: a new fd that KVM names after
 * the vCPU, and the id is taken (a second vCPU 0 is refused).  Then it
 * gives the vCPU the CPUID KVM supports, which KVM reads back with long
 * mode set: without it, kernels that check EFER against the guest's
 * CPUID refuse stage 08's long mode.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "faults.h"
#include "kvm_test.h"
#include "report.h"
#include "trace.h"
#include "x86.h"

/*
 * KVM_GET_CPUID2 into a table of nent entries; returns the ioctl's result
 * (errno in *err) and the table in *table (malloc'd).  Kernels differ in
 * whether they rewrite nent on success, so callers pass the size they
 * expect rather than trusting the nent that comes back.
 */
static int vcpu_cpuid_get(int vcpu_fd, uint32_t nent, struct kvm_cpuid2 **table,
			  int *err)
{
	struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) +
					  (nent + 1) * sizeof(cpuid->entries[0]));
	int r;

	cr_assert(cpuid,
		  "calloc of a CPUID table of %u entries failed", nent + 1);
	cpuid->nent = nent;
	errno = 0;
	r = ioctl(vcpu_fd, KVM_GET_CPUID2, cpuid);
	*err = errno;
	*table = cpuid;
	return r;
}

#ifndef CHECK_SUITE
/* How many leaves KVM_GET_SUPPORTED_CPUID offers on this host. */
static uint32_t supported_cpuid_count(int kvm_fd)
{
	uint32_t nent = 4096;
	struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) +
					  nent * sizeof(cpuid->entries[0]));

	cr_assert(cpuid,
		  "calloc of a CPUID table of %u entries failed", nent);
	cpuid->nent = nent;
	kvm_ioctl_ok(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid);
	nent = cpuid->nent;
	free(cpuid);
	return nent;
}

/* The entry for leaf function (subleaf 0), or NULL. */
static const struct kvm_cpuid_entry2 *cpuid_leaf(const struct kvm_cpuid2 *c,
						 uint32_t function)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == function && !c->entries[i].index)
			return &c->entries[i];
	return NULL;
}

Test(step06, vcpu_fd_is_vcpu_0)
{
	struct vm vm;

	vm_setup_through(&vm, 6);
	cr_assert_geq(vm.vcpu.fd, 0,
		      "stage 06 left vm->vcpu.fd = %d; KVM_CREATE_VCPU must "
		      "have given it the vCPU's fd", vm.vcpu.fd);
	cr_assert_neq(vm.vcpu.fd, vm.fd,
		      "stage 06 stored the VM fd %d as the vCPU fd; "
		      "KVM_CREATE_VCPU returns a new fd", vm.vcpu.fd);
	cr_assert_neq(vm.vcpu.fd, vm.kvm_fd,
		      "stage 06 stored the device's fd %d as the vCPU fd; "
		      "KVM_CREATE_VCPU returns a new fd", vm.vcpu.fd);
	cr_assert_str_eq(fd_target(vm.vcpu.fd), "anon_inode:kvm-vcpu:0",
			 "fd %d is %s; it must be %s", vm.vcpu.fd,
			 fd_target(vm.vcpu.fd), "anon_inode:kvm-vcpu:0");
	cr_assert(fcntl(vm.vcpu.fd, F_GETFD) & FD_CLOEXEC,
		  "vCPU fd not close-on-exec");
	vm_destroy(&vm);
}

/* Stage 06 makes the vCPU it is asked for (step 13 asks for vCPU 1). */
Test(step06, vcpu_create_makes_the_id_it_is_given)
{
	struct vcpu second = VCPU_EMPTY;
	struct vm vm;

	vm_setup_through(&vm, 6);
	stage_quiet = 1;
	cr_assert_geq(vcpu_create(&vm, &second, 1), 0,
		      "vcpu_create for id 1 failed");
	cr_assert_str_eq(fd_target(second.fd), "anon_inode:kvm-vcpu:1",
			 "vcpu_create(vm, vcpu, 1) made %s; it must make vCPU 1",
			 fd_target(second.fd));
	cr_assert_eq(second.id, 1, "vcpu->id is %d; vcpu_create must keep "
		     "the id it made", second.id);
	vcpu_destroy(&second);
	vm_destroy(&vm);
}

Test(step06, creates_one_vcpu_on_the_vm_fd)
{
	struct vm vm;
	const struct ioctl_call *call;
	int before;

	vm_setup_through(&vm, 5);
	before = fd_count();
	stage_quiet = 1;
	ioctl_spy_start();
	cr_assert_eq(vcpu_create(&vm, &vm.vcpu, 0), vm.vcpu.fd,
		     "stage 06 (vcpu_create) must return the vCPU fd it "
		     "stored in vm->vcpu.fd (%d)", vm.vcpu.fd);
	ioctl_spy_stop();
	cr_assert_eq(fd_count(), before + 1,
		     "%d fds are open, %d before; there must be exactly one "
		     "more (its own)", fd_count(), before);
	call = ioctl_spy_find(KVM_CREATE_VCPU);
	cr_assert(call, "no KVM_CREATE_VCPU");
	cr_assert_eq(call->fd, vm.fd, "not sent to the VM fd");
	cr_assert_eq(call->arg, 0, "vCPU id %lu", call->arg);
	vm_destroy(&vm);
}

Test(step06, vcpu_cpuid_reads_back_with_long_mode)
{
	struct vm vm;
	struct kvm_cpuid2 *cpuid;
	const struct kvm_cpuid_entry2 *ext, *basic;
	uint32_t nent;
	int err;

	vm_setup_through(&vm, 6);
	nent = supported_cpuid_count(vm.kvm_fd);
	cr_assert_gt(nent, 1, "KVM offers %u CPUID leaves", nent);
	/* The vCPU holds exactly the leaves KVM offers: one fewer is E2BIG. */
	cr_assert_eq(vcpu_cpuid_get(vm.vcpu.fd, nent - 1, &cpuid, &err), -1,
		     "the vCPU's CPUID fits in %u entries, KVM offers %u",
		     nent - 1, nent);
	cr_assert_eq(err, E2BIG, "KVM_GET_CPUID2: %s", errno_name(err));
	free(cpuid);
	cr_assert_eq(vcpu_cpuid_get(vm.vcpu.fd, nent, &cpuid, &err), 0,
		     "KVM_GET_CPUID2 failed: %s", errno_name(err));
	cpuid->nent = nent;
	ext = cpuid_leaf(cpuid, CPUID_EXT_FEATURES);
	cr_assert(ext, "the vCPU's CPUID has no leaf 0x80000001");
	cr_assert(ext->edx & CPUID_EXT_EDX_LM,
		  "CPUID 0x80000001 EDX=0x%x: long mode (bit 29) is clear",
		  ext->edx);
	basic = cpuid_leaf(cpuid, 0);
	cr_assert(basic, "the vCPU's CPUID has no leaf 0");
	cr_assert_geq(basic->eax, 1, "leaf 0 reports no basic leaves");
	free(cpuid);
	vm_destroy(&vm);
}

Test(step06, reports_a_failed_kvm_create_vcpu)
{
	struct vm vm;

	vm_setup_through(&vm, 5);
	cr_assert_eq(fault_inject_ioctl(KVM_CREATE_VCPU, EMFILE), 0,
		     "installing the seccomp filter that fails "
		     "KVM_CREATE_VCPU with EMFILE failed: %s",
		     errno_name(errno));
	stage_failure_check(&vm, 6, ": KVM_CREATE_VCPU failed: EMFILE");
	vm_destroy(&vm);
}

/*
 * Perform stage 06 on vm, set up through stage 05, and assert that it
 * fails after creating the vCPU, saying want, without claiming a CPUID.
 */
static void cpuid_failure_check(struct vm *vm, const char *want)
{
	struct capture out, err;
	char *o, *e;
	int r;

	capture_begin(&out, 1);
	capture_begin(&err, 2);
	r = vcpu_create(vm, &vm->vcpu, 0);
	e = capture_end(&err);
	o = capture_end(&out);
	cr_assert_eq(r, -1, "stage 06 returned %d: it must fail when the vCPU "
		     "gets no usable CPUID", r);
	cr_assert(strstr(e, want), "no \"%s\" on stderr:\n%s", want, e);
	cr_assert(!strstr(o, "KVM_SET_CPUID2"), "stage 06 claims a CPUID:\n%s", o);
	free(o);
	free(e);
}

Test(step06, reports_a_failed_kvm_set_cpuid2)
{
	struct vm vm;

	vm_setup_through(&vm, 5);
	cr_assert_eq(fault_inject_ioctl(KVM_SET_CPUID2, EINVAL), 0,
		     "installing the seccomp filter that fails KVM_SET_CPUID2 "
		     "with EINVAL failed: %s", errno_name(errno));
	cpuid_failure_check(&vm, ": KVM_SET_CPUID2 failed: EINVAL");
	vm_destroy(&vm);
}

Test(step06, reports_a_failed_kvm_get_supported_cpuid)
{
	struct vm vm;

	vm_setup_through(&vm, 5);
	cr_assert_eq(fault_inject_ioctl(KVM_GET_SUPPORTED_CPUID, ENOMEM), 0,
		     "installing the seccomp filter that fails "
		     "KVM_GET_SUPPORTED_CPUID with ENOMEM failed: %s",
		     errno_name(errno));
	cpuid_failure_check(&vm, ": KVM_GET_SUPPORTED_CPUID failed: ENOMEM");
	vm_destroy(&vm);
}

/*
 * KVM_GET_SUPPORTED_CPUID as KVM answers it, with long mode taken out
 * (and ECX's bit 29, which is not long mode, set).
 */
static int cpuid_without_long_mode(int fd, unsigned long request, void *arg,
				   int *result)
{
	struct kvm_cpuid2 *cpuid = arg;
	int err;

	if (request != KVM_GET_SUPPORTED_CPUID)
		return 0;
	ioctl_hook = NULL;	/* the real call, through the trace */
	*result = ioctl(fd, request, arg);
	err = errno;
	ioctl_hook = cpuid_without_long_mode;
	for (uint32_t i = 0; *result == 0 && i < cpuid->nent; i++)
		if (cpuid->entries[i].function == CPUID_EXT_FEATURES) {
			cpuid->entries[i].edx &= ~CPUID_EXT_EDX_LM;
			/* Long mode is EDX's bit 29 alone, not ECX's. */
			cpuid->entries[i].ecx |= CPUID_EXT_EDX_LM;
		}
	errno = err;
	return 1;
}

Test(step06, refuses_a_cpuid_without_long_mode)
{
	struct vm vm;

	vm_setup_through(&vm, 5);
	ioctl_hook = cpuid_without_long_mode;
	cpuid_failure_check(&vm, "no long mode");
	ioctl_hook = NULL;
	vm_destroy(&vm);
}

Test(step06, prints_its_stage_line)
{
	struct vm vm;
	char *out = stage_printed(&vm, 6), fd[16];

	snprintf(fd, sizeof(fd), "%d", vm.vcpu.fd);
	stage_line_check(out, 6, (const char *const[]){ fd, NULL });
	free(out);
	vm_destroy(&vm);
}

STEP_PROGRAM_TEST(step06, 6)

#else
/*
 * The maintainers' part (make check-suites builds it as check_step06):
 * what KVM itself answers, as the README teaches it, and what the test
 * harness and the hint table say; a wrong stage 06 fails the tests above.
 */
Test(step06, a_second_vcpu_0_is_refused)
{
	struct vm vm;
	int fd;

	vm_setup_through(&vm, 6);
	errno = 0;
	fd = ioctl(vm.fd, KVM_CREATE_VCPU, 0UL);
	cr_assert_eq(fd, -1, "KVM created a second vCPU 0");
	cr_assert_eq(errno, EEXIST, "errno %s", errno_name(errno));
	/* Only the id is taken: vCPU 1 is still possible. */
	fd = ioctl(vm.fd, KVM_CREATE_VCPU, 1UL);
	cr_assert_geq(fd, 0, "vCPU 1: %s", strerror(errno));
	cr_assert_str_eq(fd_target(fd), "anon_inode:kvm-vcpu:1",
			 "fd %d is %s; it must be %s", fd, fd_target(fd),
			 "anon_inode:kvm-vcpu:1");
	vm_destroy(&vm);
}

Test(step06, vcpu_fd_answers_vcpu_ioctls)
{
	struct vm vm;
	struct kvm_regs regs;

	vm_setup_through(&vm, 6);
	kvm_ioctl_ok(vm.vcpu.fd, KVM_GET_REGS, &regs);
	/* A new vCPU is at the reset vector: real mode, RIP 0xfff0. */
	cr_assert_eq(regs.rip, 0xfff0,
		     "a new vCPU's RIP is 0x%llx; KVM puts it at the reset "
		     "vector, RIP 0xfff0", (unsigned long long)regs.rip);
	vm_destroy(&vm);
}

Test(step06, a_new_vcpu_has_an_empty_cpuid)
{
	struct vm vm;
	struct kvm_cpuid2 *cpuid;
	int fd, err;

	vm_setup_through(&vm, 5);
	fd = ioctl(vm.fd, KVM_CREATE_VCPU, 0UL);
	cr_assert_geq(fd, 0, "KVM_CREATE_VCPU failed: %s", errno_name(errno));
	/*
	 * What stage 06 must fix: a table of no entries holds all of a new
	 * vCPU's CPUID (KVM answers E2BIG only when it has more).
	 */
	cr_assert_eq(vcpu_cpuid_get(fd, 0, &cpuid, &err), 0,
		     "KVM_GET_CPUID2 with room for no entry: %s: a new vCPU "
		     "already has a CPUID", errno_name(err));
	free(cpuid);
	close(fd);
	vm_destroy(&vm);
}

Test(step06, dev_kvm_refuses_to_create_a_vcpu)
{
	struct vm vm;

	/* /dev/kvm answers EINVAL to what it does not know (kvm_arch_dev_ioctl). */
	vm_setup_through(&vm, 5);
	kvm_ioctl_refused(vm.kvm_fd, KVM_CREATE_VCPU, 0UL, EINVAL,
			  "vCPUs are created on a VM fd, not on /dev/kvm");
	vm_destroy(&vm);
}
#endif
