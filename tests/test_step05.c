/* SPDX-License-Identifier: MIT */
/*
 * test_step05: stage 05 registers slot 0 for guest physical 0..2 MiB,
 * backed by the host memory at vm->mem: KVM refuses another slot over
 * that range, and the guest sees what the host writes there.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
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
#include "trace.h"

#define PAGE 4096ULL

#ifndef CHECK_SUITE
static void *scratch;	/* host pages for a second slot */

/* Register slot 1 at gpa (size bytes); returns 0 or the errno. */
static int slot1_set(struct vm *vm, uint64_t gpa, uint64_t size)
{
	struct kvm_userspace_memory_region region = {
		.slot = 1, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uintptr_t)scratch,
	};

	if (!scratch) {
		scratch = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		cr_assert(scratch != MAP_FAILED,
			  "mmap of two scratch pages for slot 1 failed: %s",
			  errno_name(errno));
	}
	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0 ? errno : 0;
}

/*
 * The end of the mapping (VMA) in /proc/self/maps that holds addr, or 0
 * if none does.  Stage 05 maps with MAP_NORESERVE, so its VMA is not
 * merged with a neighbour mapped without it: the end is the stage's own.
 */
static uintptr_t mapping_end(const void *addr)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	unsigned long start, end;
	char line[512];
	uintptr_t found = 0;

	cr_assert(maps, "fopen /proc/self/maps failed: %s", errno_name(errno));
	while (!found && fgets(line, sizeof(line), maps))
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 &&
		    start <= (uintptr_t)addr && (uintptr_t)addr < end)
			found = end;
	fclose(maps);
	return found;
}

/*
 * Whether KVM holds slot 0 at GPA 0..size: a slot 1 over its first or
 * last page is refused (EEXIST), the page just past it is free, and once
 * slot 0 is deleted the overlap is gone (it was slot 0's).
 */
static void slot_0_check(struct vm *vm, uint64_t size)
{
	struct kvm_userspace_memory_region delete = {
		.slot = GUEST_MEM_SLOT, .guest_phys_addr = GUEST_MEM_GPA,
		.memory_size = 0,	/* size 0 deletes the slot */
	};
	int err;

	err = slot1_set(vm, GUEST_MEM_GPA, PAGE);
	cr_assert_eq(err, EEXIST, "KVM_SET_USER_MEMORY_REGION for slot 1 over "
		     "GPA 0x0 returned %s, not EEXIST: KVM holds no slot 0 "
		     "starting at GPA 0x0", err ? errno_name(err) : "success");
	err = slot1_set(vm, GUEST_MEM_GPA + size - PAGE, 2 * PAGE);
	cr_assert_eq(err, EEXIST, "KVM_SET_USER_MEMORY_REGION for slot 1 over "
		     "the last page of 0x%llx bytes returned %s, not EEXIST: "
		     "KVM's slot 0 is shorter than 0x%llx bytes",
		     (unsigned long long)size, err ? errno_name(err) : "success",
		     (unsigned long long)size);
	err = slot1_set(vm, GUEST_MEM_GPA + size, PAGE);
	cr_assert_eq(err, 0, "KVM_SET_USER_MEMORY_REGION for slot 1 on the page "
		     "just past 0x%llx failed with %s: KVM's slot 0 is larger "
		     "than 0x%llx bytes", (unsigned long long)size,
		     errno_name(err), (unsigned long long)size);
	kvm_ioctl_ok(vm->fd, KVM_SET_USER_MEMORY_REGION, &delete);
	err = slot1_set(vm, GUEST_MEM_GPA, PAGE);
	cr_assert_eq(err, 0, "KVM_SET_USER_MEMORY_REGION for slot 1 at GPA 0x0 "
		     "failed with %s after slot 0 was deleted: the overlap was "
		     "not slot 0's", errno_name(err));
}

Test(step05, slot_0_is_gpa_0_to_2_mib)
{
	struct vm vm;

	vm_setup_through(&vm, 5);
	slot_0_check(&vm, GUEST_MEM_SIZE);
	vm_destroy(&vm);
}

/*
 * Stage 05 maps and registers the size it is given, whatever it is, and
 * its line reports what KVM holds: slot, GPA, size (in KiB) and host
 * address.
 */
Test(step05, registers_and_reports_the_size_it_is_given)
{
	const size_t size = 2 * GUEST_MEM_SIZE;
	char *out, kib[24], host[24];
	struct capture c;
	struct vm vm;

	vm_setup_through(&vm, 4);
	capture_begin(&c, 1);
	cr_assert_eq(vm_memory_add(&vm, size), 0,
		     "stage 05 (vm_memory_add) with a size of %zu bytes did not "
		     "return 0", size);
	out = capture_end(&c);
	cr_assert_eq(vm.mem_size, size, "vm_memory_add(vm, %zu) left "
		     "vm->mem_size at %zu", size, vm.mem_size);
	cr_assert_geq(mapping_end(vm.mem), (uintptr_t)vm.mem + size,
		      "vm_memory_add(vm, %zu): the slot's host range runs past "
		      "the memory mapped for it: map as much as you register",
		      size);
	/* Its last page is mapped, writable and KVM's: the guest's too. */
	vm.mem[size - 1] = 1;
	slot_0_check(&vm, size);
	snprintf(kib, sizeof(kib), "%zu", size >> 10);
	snprintf(host, sizeof(host), "%p", (void *)vm.mem);
	stage_line_check(out, 5, (const char *const[]){ "0", "0x0", kib, host,
							 NULL });
	free(out);
	vm_destroy(&vm);
}

Test(step05, host_memory_is_mapped_zeroed_and_writable)
{
	struct vm vm;

	vm_setup_through(&vm, 5);
	cr_assert(vm.mem,
		  "stage 05 left vm->mem NULL; it must point at the guest "
		  "memory it mapped");
	for (size_t i = 0; i < vm.mem_size; i += PAGE)
		cr_assert_eq(vm.mem[i], 0, "byte 0x%zx not zero", i);
	vm.mem[0] = 1;
	vm.mem[vm.mem_size - 1] = 2;
	cr_assert_eq(vm.mem[0] + vm.mem[vm.mem_size - 1], 3,
		     "guest memory did not keep the bytes written to its "
		     "first and last byte (read %d, want 3): it must be "
		     "mapped readable and writable",
		     vm.mem[0] + vm.mem[vm.mem_size - 1]);
	vm_destroy(&vm);
}

/*
 * KVM's view of slot 0 is vm->mem: a guest reads a value the host put
 * there, and the host reads back what the guest wrote.
 */
Test(step05, guest_and_host_share_the_memory, .timeout = 20)
{
	static const uint8_t code[] = {
		0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x10, 0x00, /* mov rax, [0x100000] */
		0x48, 0xf7, 0xd0,			/* not rax */
		0x48, 0x89, 0x04, 0x25, 0x08, 0x00, 0x10, 0x00, /* mov [0x100008], rax */
		0xf4,					/* hlt */
	};
	const uint64_t value = 0x0123456789abcdefULL;
	struct kvm_regs regs;
	struct vm vm;
	unsigned int exit_reason;
	uint64_t back;

	vm_setup_with_code(&vm, code, sizeof(code));
	memcpy(vm.mem + 0x100000, &value, sizeof(value));
	exit_reason = vcpu_run_once(&vm);
	cr_assert_eq(exit_reason, KVM_EXIT_HLT,
		     "the guest that reads and writes guest memory did not "
		     "end in KVM_EXIT_HLT but in %s",
		     kvm_exit_name(exit_reason));
	kvm_ioctl_ok(vm.vcpu.fd, KVM_GET_REGS, &regs);
	cr_assert_eq(regs.rax, ~value, "guest read 0x%llx",
		     (unsigned long long)~regs.rax);
	memcpy(&back, vm.mem + 0x100008, sizeof(back));
	cr_assert_eq(back, ~value, "host read back 0x%llx",
		     (unsigned long long)back);
	vm_destroy(&vm);
}

/*
 * The "VmFlags:" line of the mapping that contains addr, from
 * /proc/self/smaps (two-letter codes, proc(5)); malloc'd.
 */
static char *vm_flags_of(const void *addr)
{
	char *smaps = file_read("/proc/self/smaps", NULL), *line, want[32];
	char *flags;

	snprintf(want, sizeof(want), "\n%lx-", (unsigned long)addr);
	line = strstr(smaps, want);
	cr_assert(line, "no mapping starts at %p in /proc/self/smaps", addr);
	line = strstr(line, "\nVmFlags:");
	cr_assert(line, "no VmFlags line in /proc/self/smaps");
	flags = strndup(line + 9, strcspn(line + 1, "\n") - 8);
	cr_assert(flags,
		  "strndup of the VmFlags line failed");
	free(smaps);
	return flags;
}

Test(step05, memory_reserves_no_swap)
{
	char *overcommit = file_read("/proc/sys/vm/overcommit_memory", NULL);
	char *flags;
	struct vm vm;

	/* Under strict accounting (2) the kernel ignores MAP_NORESERVE. */
	if (overcommit[0] == '2')
		cr_skip_test("vm.overcommit_memory is 2: MAP_NORESERVE has no effect");
	free(overcommit);
	vm_setup_through(&vm, 5);
	flags = vm_flags_of(vm.mem);
	/* "nr": VM_NORESERVE, which mmap sets for MAP_NORESERVE. */
	cr_assert(strstr(flags, " nr"), "guest memory is mapped without "
		  "MAP_NORESERVE (VmFlags:%s): a large VM would reserve swap "
		  "for all of it up front", flags);
	free(flags);
	vm_destroy(&vm);
}

Test(step05, reports_a_failed_mmap)
{
	struct vm vm;

	vm_setup_through(&vm, 4);
	/* Only the stage's own mmap asks for exactly GUEST_MEM_SIZE bytes. */
	cr_assert_eq(fault_inject(SYS_mmap, ENOMEM, 1, (uint32_t)GUEST_MEM_SIZE,
				  FAULT_ANY, 0), 0,
		     "installing the seccomp filter that fails mmap failed: %s",
		     errno_name(errno));
	stage_failure_check(&vm, 5, ": mmap guest memory failed: ENOMEM");
	vm_destroy(&vm);
}

Test(step05, reports_a_refused_memory_region)
{
	struct vm vm;

	vm_setup_through(&vm, 4);
	cr_assert_eq(fault_inject_ioctl(KVM_SET_USER_MEMORY_REGION, EEXIST), 0,
		     "installing the seccomp filter that fails "
		     "KVM_SET_USER_MEMORY_REGION failed: %s", errno_name(errno));
	stage_failure_check(&vm, 5, ": KVM_SET_USER_MEMORY_REGION failed: EEXIST");
	vm_destroy(&vm);
}

STEP_PROGRAM_TEST(step05, 5)

#else
/* Slot 0 registered again with one field changed: 0 or the errno. */
static int slot0_change(struct vm *vm, uint64_t gpa, uint64_t size, void *host)
{
	struct kvm_userspace_memory_region region = {
		.slot = GUEST_MEM_SLOT, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uintptr_t)host,
	};

	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0 ? errno : 0;
}

/* size bytes of address space that nothing maps (mapped, then unmapped). */
static void *unmapped_range(size_t size)
{
	void *gone = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	cr_assert(gone != MAP_FAILED, "mmap of %zu scratch bytes failed: %s",
		  size, errno_name(errno));
	cr_assert_eq(munmap(gone, size), 0, "munmap of the scratch bytes "
		     "failed: %s", errno_name(errno));
	return gone;
}

/*
 * What the test process says when it reads the byte at addr and dies of
 * it (in a child, whose stderr is returned, malloc'd).
 */
static char *crash_report_of_read(const volatile char *addr)
{
	char said[2048] = "";
	int pipefd[2], wstatus;
	ssize_t n, got = 0;
	pid_t pid;

	cr_assert_eq(pipe(pipefd), 0, "pipe failed: %s", errno_name(errno));
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0, "fork failed: %s", errno_name(errno));
	if (pid == 0) {		/* the crash, in a child, with its stderr */
		dup2(pipefd[1], 2);
		_exit(*addr);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], said + got, sizeof(said) - 1 - got)) > 0)
		got += n;
	close(pipefd[0]);
	cr_assert_eq(waitpid(pid, &wstatus, 0), pid, "waitpid failed: %s",
		     errno_name(errno));
	cr_assert(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGSEGV,
		  "reading %p did not end in SIGSEGV:\n%s", (void *)addr, said);
	return strdup(said);
}

/*
 * The maintainers' part (make check-suites builds it as check_step05):
 * what KVM itself answers, as the README teaches it, and what the test
 * harness and the hint table say; a wrong stage 05 fails the tests above.
 */
Test(step05, a_slot_over_unmapped_host_memory_is_accepted)
{
	struct vm vm;
	void *gone;

	/* KVM checks alignment and the user-space range, not the mapping. */
	vm_setup_through(&vm, 3);
	gone = unmapped_range(2 * PAGE);
	struct kvm_userspace_memory_region region = {
		.slot = 1, .guest_phys_addr = 0x40000000ULL,
		.memory_size = 2 * PAGE, .userspace_addr = (uintptr_t)gone,
	};
	cr_assert_eq(ioctl(vm.fd, KVM_SET_USER_MEMORY_REGION, &region), 0,
		     "a slot over unmapped host memory: %s", errno_name(errno));
	vm_destroy(&vm);
}

Test(step05, guest_memory_unmapped_under_a_slot_fails_kvm_run, .timeout = 20)
{
	struct vm vm;

	/* Stock KVM's answer: kvm_handle_error_pfn() in 6.12's mmu/mmu.c,
	 * kvm_handle_bad_page() in 6.1's. */
	if (access("/sys/module/kvm_amd", F_OK) &&
	    access("/sys/module/kvm_intel", F_OK))
		cr_skip_test("this host's KVM is not kvm_amd or kvm_intel; "
			     "the sandbox runs this test");
	vm_setup_through(&vm, 9);
	cr_assert_eq(munmap(vm.mem + GUEST_LOAD_ADDR, PAGE), 0,
		     "munmap of the guest's code page failed: %s",
		     errno_name(errno));
	kvm_ioctl_refused(vm.vcpu.fd, KVM_RUN, 0UL, EFAULT, "the guest's code "
			  "page is no longer mapped in this process");
	vm_destroy(&vm);
}

Test(step05, a_live_slot_moves_but_keeps_its_size_and_host_memory)
{
	struct vm vm;
	void *other;
	int err;

	/* __kvm_set_memory_region(): only the GPA and the flags (not
	 * KVM_MEM_READONLY) may change. */
	vm_setup_through(&vm, 5);
	err = slot0_change(&vm, GUEST_MEM_GPA, GUEST_MEM_SIZE / 2, vm.mem);
	cr_assert_eq(err, EINVAL,
		     "KVM_SET_USER_MEMORY_REGION resizing live slot 0 "
		     "returned %s; KVM must refuse it with EINVAL (a slot "
		     "keeps its size)", err ? errno_name(err) : "success");
	other = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(other != MAP_FAILED,
		  "mmap of 2 MiB of other host memory failed: %s",
		  errno_name(errno));
	err = slot0_change(&vm, GUEST_MEM_GPA, GUEST_MEM_SIZE, other);
	cr_assert_eq(err, EINVAL,
		     "KVM_SET_USER_MEMORY_REGION moving live slot 0 to other "
		     "host memory returned %s; KVM must refuse it with EINVAL "
		     "(a slot keeps its host address)",
		     err ? errno_name(err) : "success");
	err = slot0_change(&vm, 0x400000, GUEST_MEM_SIZE, vm.mem);
	cr_assert_eq(err, 0,
		     "KVM_SET_USER_MEMORY_REGION moving live slot 0 to GPA "
		     "0x400000 failed with %s; KVM lets a slot's GPA change",
		     errno_name(err));
	munmap(other, GUEST_MEM_SIZE);
	vm_destroy(&vm);
}

/*
 * A stage that leaves vm->mem NULL makes the test fault near NULL; the
 * crash report names the test and says which pointer is still NULL.
 */
Test(step05, a_fault_near_null_names_the_unset_pointer)
{
	struct vm vm;
	uint8_t *mem;
	char *said;

	vm_setup_through(&vm, 5);
	mem = vm.mem;
	vm.mem = NULL;		/* as a stage that never set it leaves it */
	said = crash_report_of_read((volatile char *)(uintptr_t)0x1000);
	vm.mem = mem;
	cr_assert(strstr(said, "step05::a_fault_near_null_names_the_unset_"
			 "pointer: SIGSEGV at address 0x1000, near NULL\n"),
		  "the crash report does not name the test and the address:"
		  "\n%s", said);
	cr_assert(strstr(said, "hint: a pointer your stage should have set is "
			 "NULL, e.g. vm->mem or vm->vcpu.run (at the fault, "
			 "vm->mem and vm->vcpu.run are NULL)\n"), "the crash report does not say vm->mem is "
		  "NULL:\n%s", said);
	free(said);
	vm_destroy(&vm);
}

/* A fault where nothing is mapped is said to be one, without a guess. */
Test(step05, a_fault_in_no_mapping_is_said_to_be_one)
{
	struct vm vm;
	char *gone, *said;

	vm_setup_through(&vm, 5);
	gone = unmapped_range(PAGE);
	said = crash_report_of_read(gone);
	cr_assert(strstr(said, ", which no mapping holds\n  hint: a pointer "
			 "points where nothing is mapped"), "the crash report "
		  "does not say no mapping holds the address:\n%s", said);
	cr_assert(!strstr(said, "NULL"), "the crash report blames a NULL "
		  "pointer, though the address is not near NULL:\n%s", said);
	free(said);
	vm_destroy(&vm);
}

/*
 * A beginner's ioctl(fd, KVM_SET_USER_MEMORY_REGION, region), the struct
 * by value, hands KVM some number that is no address of it.  KVM answers
 * EFAULT (copy_from_user() in kvm_vm_ioctl(), virt/kvm/kvm_main.c), and
 * --trace, which reads the struct to print it, must say the pointer is
 * unreadable rather than crash on it.  An unmapped page stands for it.
 */
Test(step05, trace_of_an_unreadable_argument_says_so, .timeout = 20)
{
	struct capture c;
	struct vm vm;
	void *gone;
	char *err;
	int r, e;

	vm_setup_through(&vm, 3);
	gone = unmapped_range(PAGE);
	trace_enable(1);
	capture_begin(&c, 2);
	r = ioctl(vm.fd, KVM_SET_USER_MEMORY_REGION, gone);
	e = errno;
	err = capture_end(&c);
	trace_enable(0);
	cr_assert(r == -1 && e == EFAULT, "KVM_SET_USER_MEMORY_REGION with an "
		  "unmapped argument returned %d (%s); KVM must fail it with "
		  "EFAULT", r, r < 0 ? errno_name(e) : "no error");
	cr_assert(strstr(err, "KVM_SET_USER_MEMORY_REGION, 0x") &&
		  strstr(err, " <unreadable (EFAULT): KVM_SET_USER_MEMORY_REGION "
			 "takes the address of its struct>) = -1 EFAULT"),
		  "the trace of KVM_SET_USER_MEMORY_REGION with an unreadable "
		  "argument does not say it is unreadable:\n%s", err);
	free(err);
	vm_destroy(&vm);
}

/* mmap with fd -1 but no MAP_ANONYMOUS is EBADF, the error the hint for
 * any call named "...mmap..." explains (tests/check_steps.c). */
Test(step05, mmap_of_fd_minus_1_without_map_anonymous_is_ebadf)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, -1, 0);

	cr_assert_eq(p, MAP_FAILED, "mmap of fd -1 without MAP_ANONYMOUS "
		     "should fail");
	cr_assert_eq(errno, EBADF, "mmap of fd -1 without MAP_ANONYMOUS "
		     "should fail with EBADF, not %s", errno_name(errno));
}
#endif
