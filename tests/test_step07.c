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

Test(step07, mapping_is_the_size_kvm_asks_for)
{
	struct vm vm;
	int size;

	vm_setup_through(&vm, 7);
	size = kvm_ioctl_ok(vm.kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0UL);
	cr_assert_gt(size, 0, "KVM_GET_VCPU_MMAP_SIZE answered %d", size);
	cr_assert_eq(vm.run_size, (size_t)size,
		     "stage 07 says kvm_run is %zu bytes, but "
		     "KVM_GET_VCPU_MMAP_SIZE answers %d: it must map exactly "
		     "that much", vm.run_size, size);
	cr_assert_geq(vm.run_size, sizeof(struct kvm_run),
		      "stage 07 says kvm_run is %zu bytes, less than struct "
		      "kvm_run's %zu", vm.run_size, sizeof(struct kvm_run));
	vm_destroy(&vm);
}

Test(step07, mapping_is_the_vcpu_fds_shared_and_writable)
{
	char *maps = file_read("/proc/self/maps", NULL), *line, want[64];
	unsigned long start, end;
	char perms[8], path[128];
	struct vm vm;

	free(maps);
	vm_setup_through(&vm, 7);
	maps = file_read("/proc/self/maps", NULL);
	snprintf(want, sizeof(want), "\n%lx-", (unsigned long)vm.run);
	line = strstr(maps, want);
	cr_assert(line, "no mapping at %p in /proc/self/maps", (void *)vm.run);
	cr_assert_eq(sscanf(line + 1, "%lx-%lx %7s %*s %*s %*s %127s", &start,
			    &end, perms, path), 4,
		     "the /proc/self/maps line of the kvm_run mapping does "
		     "not read as start-end perms ... path: %.120s", line + 1);
	cr_assert_eq(end - start, (vm.run_size + 4095) / 4096 * 4096,
		     "the kvm_run mapping is %lu bytes; stage 07 says %zu, "
		     "which rounds up to %zu", end - start, vm.run_size,
		     (vm.run_size + 4095) / 4096 * 4096);
	cr_assert_str_eq(perms, "rw-s", "not a shared read-write mapping");
	cr_assert_str_eq(path, "anon_inode:kvm-vcpu:0",
			 "the kvm_run mapping is of %s; it must map the vCPU "
			 "fd (anon_inode:kvm-vcpu:0)", path);
	free(maps);
	vm_destroy(&vm);
}

Test(step07, kvm_run_is_readable_and_fresh)
{
	struct vm vm;
	volatile uint8_t sum = 0;

	vm_setup_through(&vm, 7);
	cr_assert_eq(vm.run->exit_reason, KVM_EXIT_UNKNOWN,
		     "a fresh kvm_run says exit reason %s; before any KVM_RUN "
		     "it is KVM_EXIT_UNKNOWN (0): is it the vCPU's mapping?",
		     kvm_exit_name(vm.run->exit_reason));
	cr_assert_eq(vm.run->immediate_exit, 0,
		     "a fresh kvm_run has immediate_exit = %u; before any "
		     "KVM_RUN it is 0", vm.run->immediate_exit);
	cr_assert_eq(vm.run->request_interrupt_window, 0,
		     "a fresh kvm_run has request_interrupt_window = %u; "
		     "before any KVM_RUN it is 0",
		     vm.run->request_interrupt_window);
	for (size_t i = 0; i < vm.run_size; i++)	/* every byte readable */
		sum += ((volatile uint8_t *)vm.run)[i];
	(void)sum;
	vm_destroy(&vm);
}

Test(step07, kvm_reads_what_we_write_into_kvm_run)
{
	struct vm vm;

	vm_setup_through(&vm, 7);
	/* KVM checks immediate_exit before entering: it must see our write. */
	vm.run->immediate_exit = 1;
	kvm_ioctl_refused(vm.vcpu_fd, KVM_RUN, 0UL, EINTR, "KVM reads "
			  "immediate_exit = 1 from kvm_run and returns before "
			  "entering the guest; it did not see our write, as "
			  "when kvm_run is mapped MAP_PRIVATE (copy on write)");
	vm_destroy(&vm);
}

Test(step07, asks_the_device_fd_for_the_size)
{
	struct vm vm;
	const struct ioctl_call *call;

	vm_setup_through(&vm, 6);
	stage_quiet = 1;
	ioctl_spy_start();
	cr_assert_eq(vcpu_map_run(&vm), 0,
		     "stage 07 (vcpu_map_run) did not return 0; it must "
		     "succeed here");
	ioctl_spy_stop();
	call = ioctl_spy_find(KVM_GET_VCPU_MMAP_SIZE);
	cr_assert(call, "no KVM_GET_VCPU_MMAP_SIZE");
	cr_assert_eq(call->fd, vm.kvm_fd,
		     "the ioctl was made on fd %d; it belongs on vm.kvm_fd "
		     "(fd %d)", call->fd, vm.kvm_fd);
	vm_destroy(&vm);
}

Test(step07, reports_a_failed_mmap)
{
	struct vm vm;

	vm_setup_through(&vm, 6);
	/* Only the stage's mmap passes the vCPU fd (argument 4). */
	cr_assert_eq(fault_inject(SYS_mmap, ENOMEM, 4, (uint32_t)vm.vcpu_fd,
				  FAULT_ANY, 0), 0,
		     "installing the seccomp filter that fails mmap with "
		     "ENOMEM failed: %s", errno_name(errno));
	stage_failure_check(&vm, 7, ": mmap failed: ENOMEM");
	cr_assert_null(vm.run, "vm.run is %p after a failed mmap", (void *)vm.run);
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
	cr_assert_gt(vm.run_size, page, "kvm_run is one page here");
	cr_assert_eq(munmap((char *)vm.run + page, vm.run_size - page), 0,
		     "munmap failed: %s", errno_name(errno));
	cr_assert_eq(pipe(pipefd), 0,
		     "pipe failed: %s", errno_name(errno));
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0,
		      "fork failed: %s", errno_name(errno));
	if (pid == 0) {		/* the crash, in a child, with its stderr */
		dup2(pipefd[1], 2);
		_exit(((volatile char *)vm.run)[page]);
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
	vm.run_size = page;
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
	kvm_ioctl_refused(vm.vcpu_fd, KVM_GET_VCPU_MMAP_SIZE, 0UL, EINVAL,
			  "only /dev/kvm answers it; a vCPU fd does not know it");
	cr_assert(strstr(errno_hint("KVM_GET_VCPU_MMAP_SIZE", EINVAL),
			 "not a vCPU fd"),
		  "the hint for KVM_GET_VCPU_MMAP_SIZE failing with EINVAL "
		  "does not contain \"%s\"", "not a vCPU fd");
	cr_assert(strstr(errno_hint("KVM_GET_VCPU_MMAP_SIZE", ENOTTY),
			 "not a VM fd"),
		  "the hint for KVM_GET_VCPU_MMAP_SIZE failing with ENOTTY "
		  "does not contain \"%s\"", "not a VM fd");
	vm_destroy(&vm);
}

Test(step07, prints_its_stage_line)
{
	struct vm vm;
	struct capture c;
	char *out, want[128];

	vm_setup_through(&vm, 6);
	capture_begin(&c, 1);
	cr_assert_eq(vcpu_map_run(&vm), 0,
		     "stage 07 (vcpu_map_run) did not return 0; it must "
		     "succeed here");
	out = capture_end(&c);
	snprintf(want, sizeof(want), "[07] KVM_GET_VCPU_MMAP_SIZE: %zu bytes; "
		 "kvm_run mapped at %p\n", vm.run_size, (void *)vm.run);
	cr_assert_str_eq(out, want,
			 "stage 07 printed\n%s\nbut its stage line must "
			 "read\n%s", out, want);
	free(out);
	vm_destroy(&vm);
}

STEP_PROGRAM_TESTS(step07, 7)
