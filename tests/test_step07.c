/* SPDX-License-Identifier: MIT */
/*
 * test_step07: stage 07 maps the vCPU's shared region: all of it, shared
 * with the kernel, starting with a readable struct kvm_run that KVM
 * reads and writes.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faults.h"
#include "kvm_names.h"
#include "kvm_test.h"
#include "report.h"

#ifndef CHECK_SUITE
Test(step07, mapping_is_the_size_kvm_asks_for)
{
	struct vm vm;
	int size;

	vm_setup_through(&vm, 7);
	size = kvm_ioctl_ok(vm.kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0UL);
	cr_assert_gt(size, 0, "KVM_GET_VCPU_MMAP_SIZE answered %d", size);
	cr_assert_eq(vm.vcpu.run_size, (size_t)size,
		     "stage 07 says kvm_run is %zu bytes, but "
		     "KVM_GET_VCPU_MMAP_SIZE answers %d: it must map exactly "
		     "that much", vm.vcpu.run_size, size);
	cr_assert_geq(vm.vcpu.run_size, sizeof(struct kvm_run),
		      "stage 07 says kvm_run is %zu bytes, less than struct "
		      "kvm_run's %zu", vm.vcpu.run_size, sizeof(struct kvm_run));
	vm_destroy(&vm);
}

Test(step07, kvm_reads_what_we_write_into_kvm_run)
{
	struct vm vm;

	vm_setup_through(&vm, 7);
	/* KVM checks immediate_exit before entering: it must see our write. */
	vm.vcpu.run->immediate_exit = 1;
	kvm_ioctl_refused(vm.vcpu.fd, KVM_RUN, 0UL, EINTR, "KVM reads "
			  "immediate_exit = 1 from kvm_run and returns before "
			  "entering the guest; it did not see our write, as "
			  "when kvm_run is mapped MAP_PRIVATE (copy on write)");
	vm_destroy(&vm);
}

Test(step07, reports_a_failed_mmap)
{
	struct vm vm;

	vm_setup_through(&vm, 6);
	/* Only the stage's mmap passes the vCPU fd (argument 4). */
	cr_assert_eq(fault_inject(SYS_mmap, ENOMEM, 4, (uint32_t)vm.vcpu.fd,
				  FAULT_ANY, 0), 0,
		     "installing the seccomp filter that fails mmap with "
		     "ENOMEM failed: %s", errno_name(errno));
	stage_failure_check(&vm, 7, ": mmap failed: ENOMEM");
	cr_assert_null(vm.vcpu.run, "vm.vcpu.run is %p after a failed mmap", (void *)vm.vcpu.run);
	vm_destroy(&vm);
}

Test(step07, reports_a_failed_kvm_get_vcpu_mmap_size)
{
	struct vm vm;

	vm_setup_through(&vm, 6);
	cr_assert_eq(fault_inject_ioctl(KVM_GET_VCPU_MMAP_SIZE, EINVAL), 0,
		     "installing the seccomp filter that fails "
		     "KVM_GET_VCPU_MMAP_SIZE with EINVAL failed: %s",
		     errno_name(errno));
	stage_failure_check(&vm, 7, ": KVM_GET_VCPU_MMAP_SIZE failed: EINVAL");
	vm_destroy(&vm);
}

Test(step07, prints_its_stage_line)
{
	struct vm vm;
	char *out = stage_printed(&vm, 7), size[24], addr[24];

	snprintf(size, sizeof(size), "%zu", vm.vcpu.run_size);
	snprintf(addr, sizeof(addr), "%p", (void *)vm.vcpu.run);
	stage_line_check(out, 7, (const char *const[]){ size, addr, NULL });
	free(out);
	vm_destroy(&vm);
}

STEP_PROGRAM_TEST(step07, 7)

#else
/*
 * The maintainers' part (make check-suites builds it as check_step07):
 * what KVM itself answers, as the README teaches it, and what the test
 * harness and the hint table say; a wrong stage 07 fails the tests above.
 */
/*
 * A read past a short kvm_run mapping is explained: the test's name,
 * the offset, and the hint, before the crash.  The mapping is cut short
 * here as a stage that mapped only sizeof(struct kvm_run) would leave it.
 */
Test(step07, a_fault_past_a_short_kvm_run_mapping_is_explained)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char said[2048] = "", want[128];
	struct vm vm;
	int pipefd[2], wstatus;
	ssize_t n, got = 0;
	pid_t pid;

	vm_setup_through(&vm, 7);
	cr_assert_gt(vm.vcpu.run_size, page, "kvm_run is one page here");
	cr_assert_eq(munmap((char *)vm.vcpu.run + page, vm.vcpu.run_size - page), 0,
		     "munmap failed: %s", errno_name(errno));
	cr_assert_eq(pipe(pipefd), 0,
		     "pipe failed: %s", errno_name(errno));
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0,
		      "fork failed: %s", errno_name(errno));
	if (pid == 0) {		/* the crash, in a child, with its stderr */
		dup2(pipefd[1], 2);
		_exit(((volatile char *)vm.vcpu.run)[page]);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], said + got, sizeof(said) - 1 - got)) > 0)
		got += n;
	close(pipefd[0]);
	cr_assert_eq(waitpid(pid, &wstatus, 0), pid,
		     "waitpid failed: %s", errno_name(errno));
	cr_assert(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGSEGV,
		  "the read past the mapping did not end in SIGSEGV");
	snprintf(want, sizeof(want), "byte 0x%zx of the vCPU's kvm_run mapping",
		 page);
	assert_has(said, "step07::a_fault_past_a_short_kvm_run_mapping_"
		   "is_explained: SIGSEGV at address ");
	cr_assert(strstr(said, want), "%s", said);
	assert_has(said, "hint: kvm_run is KVM_GET_VCPU_MMAP_SIZE bytes; "
		   "reading past a shorter mapping faults");
	vm.vcpu.run_size = page;
	vm_destroy(&vm);
}

Test(step07, only_dev_kvm_answers_the_mmap_size)
{
	struct vm vm;

	/*
	 * A VM fd answers ENOTTY to ioctls it does not know, a vCPU fd EINVAL
	 * (x86.c: kvm_arch_vm_ioctl(), kvm_arch_vcpu_ioctl()).
	 */
	vm_setup_through(&vm, 6);
	kvm_ioctl_refused(vm.fd, KVM_GET_VCPU_MMAP_SIZE, 0UL, ENOTTY,
			  "only /dev/kvm answers it; a VM fd does not know it");
	kvm_ioctl_refused(vm.vcpu.fd, KVM_GET_VCPU_MMAP_SIZE, 0UL, EINVAL,
			  "only /dev/kvm answers it; a vCPU fd does not know it");
	vm_destroy(&vm);
}
#endif
