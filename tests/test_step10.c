/* SPDX-License-Identifier: MIT */
/*
 * test_step10: guests run to their hlt and print exactly what they
 * should: the built-in greeting, and the test guests in tests/guests/
 * for `in` and `out` of every size, `rep outsb`, output longer than a
 * page, and memory the host wrote after loading the guest.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "dump.h"
#include "kvm_names.h"
#include "kvm_test.h"
#include "report.h"
#include "step10_test.h"

/* Where the host writes for guests/host_memory.asm (its HOST_DATA_GPA). */
#define HOST_DATA_GPA	0x100000ULL

static const char greeting[] = "Hello from a 64-bit KVM guest!\n";

/* Every in-process run here: no coalescing, 10 s at most. */
static const struct run_options run_opt = { .timeout = 10 };

/* text holds piece; if not, the failure says what was expected. */

/* r->out equals want (len bytes); on a difference, say where. */
static void output_is(const struct guest_result *r, const void *want,
		      size_t len)
{
	size_t i = 0;

	while (i < len && i < r->len && r->out[i] == ((const char *)want)[i])
		i++;
	cr_assert(i == len && r->len == len,
		  "output differs at byte %zu (%zu bytes, %zu expected); "
		  "got 0x%02x, expected 0x%02x", i, r->len, len,
		  i < r->len ? (uint8_t)r->out[i] : 0,
		  i < len ? ((const uint8_t *)want)[i] : 0);
}

/*
 * The run ended on the guest's hlt (EXIT_SUCCESS, its last exit
 * KVM_EXIT_HLT) after printing exactly want, len bytes, all counted.
 */
static void printed_then_halted(const struct guest_result *r,
				const void *want, size_t len)
{
	cr_assert_eq(r->status, EXIT_SUCCESS, "status %d:\n%s", r->status,
		     r->err);
	output_is(r, want, len);
	cr_assert_eq(r->stats.last_exit, KVM_EXIT_HLT,
		     "the run ended on %s; it must end on the guest's hlt "
		     "(KVM_EXIT_HLT)", kvm_exit_name(r->stats.last_exit));
	cr_assert_eq(r->stats.out_bytes, len, "vcpu_run counted %llu bytes "
		     "out; the guest printed %zu",
		     (unsigned long long)r->stats.out_bytes, len);
}

Test(step10, builtin_guest_prints_exactly_the_greeting, .timeout = 30)
{
	struct guest_result r;
	size_t n = strlen(greeting);

	guest_run(guest_image, guest_image_end - guest_image, &run_opt, NULL, &r);
	printed_then_halted(&r, greeting, n);
	/* One exit per `out` of a byte, then the hlt. */
	cr_assert_eq(r.stats.exits, n + 1, "vcpu_run counted %llu exits; the "
		     "greeting is %zu one-byte outs, then the hlt: %zu",
		     (unsigned long long)r.stats.exits, n, n + 1);
	cr_assert_eq(r.stats.io_exits, n, "vcpu_run counted %llu port I/O "
		     "exits; the greeting takes %zu",
		     (unsigned long long)r.stats.io_exits, n);
	cr_assert_str_eq(r.err, "", "expected nothing on stderr, got:\n%s", r.err);
	guest_result_free(&r);
}

Test(step10, guest_load_copies_to_the_load_address_and_says_so)
{
	static const uint8_t image[] = { 0x90, 0x90, 0xf4 };
	struct capture c;
	struct vm vm;
	char *out;

	vm_setup_through(&vm, 9);
	capture_begin(&c, 1);
	cr_assert_eq(guest_load(&vm, image, sizeof(image)), 0,
		     "guest_load() of a 3-byte guest must return 0");
	out = capture_end(&c);
	cr_assert_eq(memcmp(vm.mem + GUEST_LOAD_ADDR, image, sizeof(image)), 0,
		     "guest_load() must copy the guest to guest memory at "
		     "GUEST_LOAD_ADDR (0x%llx)", GUEST_LOAD_ADDR);
	cr_assert_str_eq(out, "[10] loaded the guest: 3 bytes at GPA 0x10000\n",
			 "expected \"[10] loaded the guest: 3 bytes at GPA "
			 "0x10000\\n\" on stdout, got \"%s\"", out);
	free(out);
	vm_destroy(&vm);
}

Test(step10, guest_load_refuses_a_guest_larger_than_its_room)
{
	struct capture c;
	struct vm vm;
	char *err, want[128];
	uint8_t *big = calloc(1, GUEST_CODE_MAX + 1);
	uint64_t i = 0;

	cr_assert(big, "calloc of %llu bytes failed", GUEST_CODE_MAX + 1);
	memset(big, 0xf4, GUEST_CODE_MAX + 1);	/* hlt, not zero */
	vm_setup_through(&vm, 9);
	capture_begin(&c, 2);
	cr_assert_eq(guest_load(&vm, big, GUEST_CODE_MAX + 1), -1,
		     "guest_load() of GUEST_CODE_MAX + 1 bytes must refuse "
		     "it and return -1");
	err = capture_end(&c);
	snprintf(want, sizeof(want), "the guest is %llu bytes; it has room "
		 "for %llu\n", GUEST_CODE_MAX + 1, GUEST_CODE_MAX);
	assert_has(err, want);
	while (i <= GUEST_CODE_MAX && !vm.mem[GUEST_LOAD_ADDR + i])
		i++;
	cr_assert_gt(i, GUEST_CODE_MAX, "guest_load() refused the guest but "
		     "wrote guest memory at GPA 0x%llx: check the size before "
		     "copying", GUEST_LOAD_ADDR + i);
	free(err);
	free(big);
	vm_destroy(&vm);
}

Test(step10, in_and_out_of_1_2_and_4_bytes, .timeout = 30)
{
	static const uint8_t want[] = {
		'1', ':', 'A', ' ', '2', ':', 'B', 'C', ' ',
		'4', ':', 'D', 'E', 'F', 'G', '\n',
		/* in from 0xE9 reads 0xE9 bytes, only as many as its size */
		0xe9, 0x33, 0x22, 0x11, 0xe9, 0xe9, 0x22, 0x11,
		0xe9, 0xe9, 0xe9, 0xe9, '\n',
		/* in from a port nobody handles reads all ones */
		0xff, 0x33, 0x22, 0x11, 0xff, 0xff, 0x22, 0x11,
		0xff, 0xff, 0xff, 0xff, '\n',
		'e', 'n', 'd', '\n',
	};
	struct guest_result r;

	guest_file_run("io_sizes", &run_opt, NULL, &r);
	printed_then_halted(&r, want, sizeof(want));
	for (int size = 1; size <= 4; size *= 2) {
		char line[128];

		snprintf(line, sizeof(line), "guest read port 0x1234 (size %d, "
			 "count 1), which nothing handles", size);
		cr_assert(strstr(r.err, line), "no '%s' in:\n%s", line, r.err);
	}
	assert_has(r.err, "guest wrote 1 byte to unhandled port 0x1234 "
		   "(size 1, count 1); ignored\n");
	guest_result_free(&r);
}

Test(step10, rep_outsb_prints_the_whole_string, .timeout = 30)
{
	static const char want[] =
		"rep outsb: 0123456789 abcdefghijklmnopqrstuvwxyz\n";
	struct guest_result r;

	guest_file_run("rep_outsb", &run_opt, NULL, &r);
	printed_then_halted(&r, want, strlen(want));
	/* KVM hands rep outs over one item per exit (em_out(), count 1). */
	cr_assert_eq(r.stats.io_exits, strlen(want), "%llu I/O exits",
		     (unsigned long long)r.stats.io_exits);
	guest_result_free(&r);
}

Test(step10, long_output_of_5000_bytes, .timeout = 60)
{
	char want[5000];
	struct guest_result r;

	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = i % 100 == 99 ? '\n' : 'a' + i % 26;
	guest_file_run("long_output", &run_opt, NULL, &r);
	printed_then_halted(&r, want, sizeof(want));
	cr_assert_eq(r.stats.exits, sizeof(want) + 1, "vcpu_run counted %llu "
		     "exits; %zu one-byte outs and the hlt make %zu",
		     (unsigned long long)r.stats.exits, sizeof(want),
		     sizeof(want) + 1);
	guest_result_free(&r);
}

static char host_text[128];

static void host_text_write(struct vm *vm)
{
	/* After guest_load and before KVM_RUN, through the host mapping. */
	memcpy(vm->mem + HOST_DATA_GPA, host_text, strlen(host_text) + 1);
}

Test(step10, guest_reads_what_the_host_wrote, .timeout = 30)
{
	struct guest_result r;

	/* Different in every run: no guest could print it by chance. */
	snprintf(host_text, sizeof(host_text), "written by the host, pid %d, "
		 "at GPA 0x%llx\n", (int)getpid(), HOST_DATA_GPA);
	guest_file_run("host_memory", &run_opt, host_text_write, &r);
	cr_assert_eq(r.status, EXIT_SUCCESS, "status %d:\n%s", r.status, r.err);
	output_is(&r, host_text, strlen(host_text));
	guest_result_free(&r);
}

#define DEVICE_PORT	0xea	/* guests/device_port.asm's DEVICE_PORT */
#define DEVICE_ANSWER	0x21214b4fU	/* "OK!!" in little-endian order */

/* The test's device: keeps dword outs, answers dword ins, refuses words. */
static enum exit_action device_io(void *ctx, const struct port_io *io,
				  FILE *out, struct run_stats *stats)
{
	uint32_t *kept = ctx, answer = DEVICE_ANSWER;

	(void)out;
	(void)stats;
	if (io->size != 4 || io->count != 1 || io->bytes != 4) {
		report("device: %u-byte access refused", io->size);
		return EXIT_ACTION_FAIL;
	}
	if (io->direction == KVM_EXIT_IO_OUT)
		memcpy(kept, io->data, 4);
	else
		memcpy(io->data, &answer, 4);
	return EXIT_ACTION_CONTINUE;
}

/* run_options.device: a real guest's port I/O reaches it, and it decides. */
Test(step10, guest_talks_to_a_device_on_its_port, .timeout = 30)
{
	uint32_t kept = 0;
	const struct port_device device = {
		.port = DEVICE_PORT, .io = device_io, .ctx = &kept,
	};
	struct run_options opt = run_opt;
	struct guest_result r;

	opt.device = &device;
	guest_file_run("device_port", &opt, NULL, &r);
	cr_assert_eq(kept, 0x12345678, "the device kept 0x%x", kept);
	output_is(&r, "OK!!", 4);
	cr_assert_eq(r.status, EXIT_GUEST, "status %d:\n%s", r.status, r.err);
	assert_has(r.err, "device: 2-byte access refused");
	cr_assert_eq(r.stats.io_exits, 4, "vcpu_run counted %llu port I/O "
		     "exits; the guest makes 4, the last one refused",
		     (unsigned long long)r.stats.io_exits);
	cr_assert_eq(r.stats.last_exit, KVM_EXIT_IO, "the run ended on %s; it "
		     "must end on the refused port I/O (KVM_EXIT_IO)",
		     kvm_exit_name(r.stats.last_exit));
	guest_result_free(&r);
}

Test(step10, program_prints_greeting_then_hlt_after_32_exits, .timeout = 30)
{
	const char *argv[] = { STEP_PROGRAM, NULL };
	struct program_result r;

	program_run(argv, NULL, 30, &r);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	assert_has(r.out, "\nHello from a 64-bit KVM guest!\n"
		   "[10] KVM_RUN: KVM_EXIT_HLT after 32 exits\n");
	program_result_free(&r);
}

Test(step10, program_runs_a_guest_file, .timeout = 30)
{
	char path[512];
	const char *argv[] = { STEP_PROGRAM, path, NULL };
	struct program_result r;

	snprintf(path, sizeof(path), "%s/rep_outsb.bin", TEST_GUESTS_DIR);
	program_run(argv, NULL, 30, &r);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	stage_lines_check(r.out, 10);
	assert_has(r.out, "[10] loaded the guest: 69 bytes at GPA 0x10000\n"
		   "rep outsb: 0123456789 abcdefghijklmnopqrstuvwxyz\n"
		   "[10] KVM_RUN: KVM_EXIT_HLT after ");
	program_result_free(&r);
}

STEP_PROGRAM_TEST(step10, 10)

/*
 * After vcpu_run() returns, its timeout timer is off and the stop
 * signals are as they were: a SIGALRM still armed would later set
 * immediate_exit in a kvm_run that vm_destroy() has unmapped.
 */
Test(step10, vcpu_run_leaves_no_timer_armed, .timeout = 30)
{
	static const uint8_t hlt[] = { 0xf4 };
	const struct run_options opt = { .timeout = 5 };
	struct sigaction before, after;
	struct itimerval timer;
	struct guest_result r;

	cr_assert_eq(sigaction(SIGALRM, NULL, &before), 0);
	guest_run(hlt, sizeof(hlt), &opt, NULL, &r);
	cr_assert_eq(r.status, EXIT_SUCCESS, "status %d:\n%s", r.status, r.err);
	cr_assert_eq(getitimer(ITIMER_REAL, &timer), 0);
	cr_assert(!timer.it_value.tv_sec && !timer.it_value.tv_usec,
		  "after vcpu_run returned, the %g s timer is still armed "
		  "(%ld.%06ld s left): vcpu_run must call "
		  "stop_signals_disarm() before it returns", opt.timeout,
		  (long)timer.it_value.tv_sec, (long)timer.it_value.tv_usec);
	cr_assert_eq(sigaction(SIGALRM, NULL, &after), 0);
	cr_assert(after.sa_handler == before.sa_handler,
		  "after vcpu_run returned, SIGALRM still has the stop "
		  "handler: vcpu_run must call stop_signals_disarm()");
	guest_result_free(&r);
}
