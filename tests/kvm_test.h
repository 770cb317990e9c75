/* SPDX-License-Identifier: MIT */
/*
 * kvm_test.h: helpers the step tests share.  Each Criterion test runs in
 * its own process, so a test builds its VM in its body or .init, never at
 * file scope.
 */
#ifndef KVM_TEST_H
#define KVM_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "vm.h"

/* The step's own main(), compiled in as step_main (common/rules.mk). */
int step_main(int argc, char **argv);

/*
 * Perform stages 1..last quietly, asserting each succeeds, and that the
 * kvm_run mapping of stage 07 is as long as it says.  From then on a
 * SIGSEGV or SIGBUS in the test names the test and, in kvm_run or guest
 * memory, the likely mistake, before Criterion reports the crash.
 */
void vm_setup_through(struct vm *vm, int last);

/* vm_setup_through(vm, 9), then code (size bytes) at GUEST_LOAD_ADDR. */
void vm_setup_with_code(struct vm *vm, const void *code, size_t size);

/*
 * vm_setup_through(vm, 9), then stage 10's guest_load() of image, quietly:
 * asserts it returns 0 and puts the guest at GUEST_LOAD_ADDR; stage_quiet
 * stays 1.  For the tests that run a guest with vcpu_run() (step 10 and
 * the chapters).
 */
void vm_setup_with_guest(struct vm *vm, const uint8_t *image, size_t size);

/* Stage n's function (1..9) on vm: its result, 0 or an fd, or -1. */
int stage_run(struct vm *vm, int n);

/*
 * Assert that every byte of vm->vcpu.run_size at vm->vcpu.run is mapped (checked
 * with msync, without touching it): a short mapping fails here with a
 * sentence, not later with a SIGSEGV.
 */
void run_mapping_check(const struct vm *vm);

/*
 * Perform stage on vm (set up through the stage before it) while some
 * call it makes fails (faults.h), and assert it fails as a stage must:
 * returns -1, says want (e.g. "KVM_CREATE_VM failed: EMFILE") on stderr,
 * and prints no stage line.
 */
void stage_failure_check(struct vm *vm, int stage, const char *want);

/*
 * ioctl(fd, request, arg) that must succeed: returns its result, or fails
 * the test with a sentence naming the request (not its expanded number),
 * the fd and the errno: "KVM_GET_REGS on fd 5 (anon_inode:kvm-vcpu:0)
 * failed: EBADF (Bad file descriptor)".
 */
#define kvm_ioctl_ok(fd, request, arg) \
	kvm_ioctl_ok_named((fd), (request), #request, (unsigned long)(arg))
long kvm_ioctl_ok_named(int fd, unsigned long request, const char *name,
			unsigned long arg);

/*
 * ioctl(fd, request, arg) that KVM must refuse with err, for the reason
 * why (a sentence about KVM); otherwise fails the test saying so, with
 * the request's name.
 */
#define kvm_ioctl_refused(fd, request, arg, err, why) \
	kvm_ioctl_refused_named((fd), (request), #request, \
				(unsigned long)(arg), (err), (why))
void kvm_ioctl_refused_named(int fd, unsigned long request, const char *name,
			     unsigned long arg, int err, const char *why);

/* text must hold piece (must not, for assert_lacks): else the test fails
 * showing both.  Where they are used, criterion.h and string.h are. */
#define assert_has(text, piece) \
	cr_assert(strstr(text, piece), "expected \"%s\" in:\n%s", piece, text)
#define assert_lacks(text, piece) \
	cr_assert(!strstr(text, piece), "unexpected \"%s\" in:\n%s", piece, text)

/* What a program run by program_run() did. */
struct program_result {
	int status;		/* exit status, or 128 + signal number */
	char *out, *err;	/* NUL-terminated captured stdout, stderr */
	size_t out_len, err_len;
};

/*
 * Run argv[0] with the environment plus env (NULL-terminated "K=V"
 * strings, or NULL; they replace variables of the same name), stdin from
 * /dev/null, no other fds inherited, capturing stdout and stderr; kill it
 * after timeout_s seconds, or once it has written 4 MiB (status 128 +
 * SIGKILL then, and a line on its stderr saying why).
 */
void program_run(const char *const argv[], const char *const env[],
		 double timeout_s, struct program_result *r);
/* The same, in directory cwd (or here if NULL) as user uid (or as we are
 * if uid is (uid_t)-1; then also gid, with no supplementary groups). */
void program_run_as(const char *const argv[], const char *const env[],
		    const char *cwd, uid_t uid, gid_t gid, double timeout_s,
		    struct program_result *r);
void program_result_free(struct program_result *r);

/*
 * In a child just forked by parent (the test), before exec: have the
 * kernel SIGKILL it when the test's process ends, so a program a failed
 * or timed-out test started never outlives the test; _exit(127) if the
 * test has already gone (it then has another parent).
 */
void child_die_with_parent(pid_t parent);

/* Read a whole file into a NUL-terminated malloc'd buffer; asserts. */
char *file_read(const char *path, size_t *size);

/* CLOCK_MONOTONIC, in seconds. */
double seconds_now(void);

/* The number of open fds in this process (entries in /proc/self/fd). */
int fd_count(void);

/* What /proc/self/fd/FD links to, e.g. "anon_inode:kvm-vm"; static buffer. */
const char *fd_target(int fd);

/*
 * Capture what this process writes to fd (1 or 2) between capture_begin
 * and capture_end; capture_end returns it, malloc'd and NUL-terminated.
 */
struct capture {
	int fd, saved;
	FILE *tmp;
};
void capture_begin(struct capture *c, int fd);
char *capture_end(struct capture *c);

/*
 * The step's directory and program, found from where this test program
 * is (DIR/.build/test_stepNN tests DIR/stepNN; the sanitizer's
 * DIR/.build-san/test_stepNN tests DIR/.build-san/stepNN), so a copy of
 * a step with its build (tools/mutants) tests its own program.
 * step_program_set() names another program instead.  STEP_PROGRAM, in
 * the tests, means step_program().
 */
const char *step_dir(void);
const char *step_program(void);
void step_program_set(const char *path);
#undef STEP_PROGRAM
#define STEP_PROGRAM step_program()

/* "step05", from STEP_PROGRAM. */
const char *step_name(void);

/*
 * Replace every 0x followed by 9 or more hex digits (host addresses,
 * which vary per run) with "0x<varies>"; returns a malloc'd copy.
 */
char *output_normalize(const char *text);

/*
 * Assert that output, the stdout of `./stepNN` with no arguments, equals
 * the transcript in step_dir/README.md: a `<!-- transcript -->` line, then
 * a ```console block whose first line is `$ ./stepNN` (after normalizing
 * addresses).  Fails with "no transcript in README" when there is none.
 */
void readme_transcript_check(const char *step_dir, const char *output);

/*
 * Assert that out has a line starting "[01] " ... "[last] ", their first
 * occurrences in that order, and no stage line above last.
 */
void stage_lines_check(const char *out, int last);

/*
 * Assert that out is stage n's line or lines (each "[NN] ...\n"), in
 * which each of values (NULL-terminated; e.g. "3" or "0x2000") stands as
 * a whole word: what the lines report, not how they are worded.
 */
void stage_line_check(const char *out, int n, const char *const values[]);

/*
 * Stages 1..n-1 as vm_setup_through() does them, then stage n, asserting
 * it succeeds (an fd for stages 01, 03 and 06, else 0): what stage n
 * printed on stdout, malloc'd, for stage_line_check().
 */
char *stage_printed(struct vm *vm, int n);

/* value as "0x" and lower-case hex digits, in buf; returns buf. */
#define HEX_TEXT_SIZE 19
const char *hex_text(char buf[HEX_TEXT_SIZE], unsigned long long value);

/*
 * The one test of the step program's own output: run as a user runs it,
 * it exits 0, writes nothing on stderr, prints stages 01..last in order
 * and exactly the transcript its README shows (make transcripts).
 */
void program_check_output(int last);
/* Only the transcript, for a program with options of its own. */
void program_check_readme(void);
#define STEP_PROGRAM_TEST(suite, last)					\
	Test(suite, program_output_is_its_readme_transcript, .timeout = 30) \
	{ program_check_output(last); }

/*
 * What every step program does the same way, through common/, checked
 * once for every step by the maintainers' suite (tests/check_steps.c):
 * on step_program() (step_program_set), whose last stage is last.
 */
void program_check_missing_device(void);
void program_check_not_kvm_device(int last);
void program_check_permission_denied(void);
void program_check_unknown_argument(void);
void program_check_help(void);
void program_check_trace(int last);

/*
 * Record the ioctls the code under test makes, without changing them
 * (through ioctl_hook, common/lib/trace.h): up to IOCTL_SPY_MAX calls, with
 * the first IOCTL_SPY_ARG bytes the argument points to (when it is a
 * pointer to a struct the request reads).
 */
#define IOCTL_SPY_MAX	64
#define IOCTL_SPY_ARG	512	/* more than struct kvm_sregs */
struct ioctl_call {
	int fd;
	unsigned long request;
	unsigned long arg;		/* the argument as passed */
	unsigned char data[IOCTL_SPY_ARG]; /* *arg, for _IOW requests */
};
extern struct ioctl_call ioctl_spy_calls[IOCTL_SPY_MAX];
extern int ioctl_spy_count;
void ioctl_spy_start(void);
void ioctl_spy_stop(void);
/* The first recorded call of request, or NULL. */
const struct ioctl_call *ioctl_spy_find(unsigned long request);

/*
 * Enter the vCPU once (KVM_RUN) and return the exit reason; asserts that
 * KVM_RUN itself succeeded.  For tests that run a few bytes of code.
 */
unsigned int vcpu_run_once(struct vm *vm);
/* The same, where the exit must be want: a failure names both exits. */
void run_once_ends_in(struct vm *vm, unsigned int want);

/*
 * The vCPU's registers (KVM_GET_REGS) once its code, size bytes at
 * GUEST_LOAD_ADDR ending in hlt, has run to that hlt: asserts that RIP
 * is just past it.
 */
struct kvm_regs regs_after_hlt(struct vm *vm, size_t size);

/*
 * Which stock KVM serves /dev/kvm here, from its module in /sys/module:
 * kvm_amd (the QEMU sandbox), kvm_intel (Bochs, or an Intel host), or
 * another KVM (such as kvm_pvm), whose answers the tests of vendor
 * behaviour do not check.
 */
enum kvm_host { KVM_HOST_OTHER, KVM_HOST_AMD, KVM_HOST_INTEL };
enum kvm_host kvm_host(void);
/* kvm_host(), or, on another KVM, the test is skipped (the sandbox runs it). */
enum kvm_host stock_kvm_host(void);
/* kvm_intel with "unrestricted guest" on (its module parameter says Y). */
int kvm_intel_unrestricted_guest(void);

#endif
