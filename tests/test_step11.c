/* SPDX-License-Identifier: MIT */
/*
 * test_step11: the UART at GPA 0x10000000 works through KVM_EXIT_MMIO.
 * What KVM puts in an MMIO exit (address, width, bytes, direction), that
 * a read completes on the next KVM_RUN with the value we supply, that
 * memory does not exit and MMIO does; the built-in guest's greeting and
 * exit counts, with and without coalescing; and every way a guest can
 * misuse the device ends with the documented status and explanation.
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
#include <unistd.h>

#include "faults.h"
#include "kvm_names.h"
#include "chapter_test.h"
#include "kvm_test.h"
#include "report.h"
#include "step11.h"

#define GREETING "Hello from a 64-bit KVM guest!\n"
#define GREETING_LEN ((int)sizeof(GREETING) - 1)

/* What one in-process run of a guest did, and the registers it ended with. */
struct mmio_result {
	int status;		/* what mmio_vcpu_run() returned */
	char *out;		/* what the guest transmitted */
	size_t len;
	char *err;		/* what the run wrote to stderr */
	struct run_stats stats;
	uint64_t reads;		/* the UART's MMIO reads */
	uint64_t writes;	/* ... and writes */
	struct kvm_regs regs;	/* KVM_GET_REGS after the run */
};

/*
 * Stages 01-09, the guest at GUEST_LOAD_ADDR, then stage 11 with opt and
 * a UART whose status register reads lsr.
 */
static void uart_run(const uint8_t *image, size_t size,
		     const struct run_options *opt, uint8_t lsr, int coalesce,
		     struct mmio_result *r)
{
	struct uart uart = { .lsr = lsr, .coalesce = coalesce };
	struct run_options run_opt = *opt;
	struct capture c;
	struct vm vm;

	memset(r, 0, sizeof(*r));
	vm_setup_with_guest(&vm, image, size);
	run_opt.out = open_memstream(&r->out, &r->len);
	cr_assert(run_opt.out,
		  "open_memstream for the UART's output failed: %s",
		  errno_name(errno));
	capture_begin(&c, 2);
	r->status = uart_vcpu_run(&vm, &run_opt, &uart, &r->stats);
	r->err = capture_end(&c);
	r->reads = uart.reads;
	r->writes = uart.writes;
	fclose(run_opt.out);
	cr_assert_eq(ioctl(vm.vcpu.fd, KVM_GET_REGS, &r->regs), 0, "%s",
		     strerror(errno));
	vm_destroy(&vm);
}

/* Without coalescing, and with it. */
static void guest_run(const uint8_t *image, size_t size,
		      const struct run_options *opt, uint8_t lsr,
		      struct mmio_result *r)
{
	uart_run(image, size, opt, lsr, 0, r);
}

static void coalesced_run(const uint8_t *image, size_t size,
			  const struct run_options *opt, uint8_t lsr,
			  struct mmio_result *r)
{
	uart_run(image, size, opt, lsr, 1, r);
}

static void mmio_result_free(struct mmio_result *r)
{
	free(r->out);
	free(r->err);
}

static const struct run_options quick = { .timeout = 10 };

#define READY	(UART_LSR_THRE | UART_LSR_TEMT)

Test(step11, uart_lies_outside_memory_inside_the_page_tables)
{
	cr_assert_geq(UART_MMIO_BASE, GUEST_MEM_GPA + GUEST_MEM_SIZE,
		      "the UART overlaps guest memory");
	cr_assert_leq(UART_MMIO_BASE + UART_MMIO_SIZE, GUEST_IDENTITY_SIZE,
		      "the page tables do not map the UART");
}

/* The built-in guest: the greeting, one read and one write per byte. */
Test(step11, guest_prints_the_greeting_through_mmio, .timeout = 30)
{
	size_t size = guest_image_end - guest_image;
	struct mmio_result r;

	guest_run(guest_image, size, &quick, READY, &r);
	cr_assert_eq(r.status, EXIT_SUCCESS, "status %d:\n%s", r.status, r.err);
	cr_assert_eq(r.len, GREETING_LEN,
		     "the guest printed %zu bytes through the UART; the "
		     "greeting is %d", r.len, GREETING_LEN);
	cr_assert_eq(memcmp(r.out, GREETING, GREETING_LEN), 0, "got '%s'", r.out);
	cr_assert_str_eq(r.err, "",
			 "the greeting through MMIO must write nothing on "
			 "stderr; it wrote\n%s", r.err);
	cr_assert_eq(r.reads, GREETING_LEN, "%llu reads",
		     (unsigned long long)r.reads);
	cr_assert_eq(r.writes, GREETING_LEN,
		     "the UART saw %llu writes to THR; the greeting is %d "
		     "bytes, one KVM_EXIT_MMIO write each",
		     (unsigned long long)r.writes, GREETING_LEN);
	cr_assert_eq(r.stats.exits, 2 * GREETING_LEN + 1, "%llu exits",
		     (unsigned long long)r.stats.exits);
	cr_assert_eq(r.stats.last_exit, KVM_EXIT_HLT,
		     "the last exit was %s; the guest ends with hlt "
		     "(KVM_EXIT_HLT)", kvm_exit_name(r.stats.last_exit));
	/* KVM's view: stopped just past hlt, the greeting all sent. */
	cr_assert_eq(r.regs.rip, GUEST_LOAD_ADDR + size - GREETING_LEN,
		     "RIP 0x%llx", r.regs.rip);
	cr_assert_eq(r.regs.rcx, 0, "RCX %llu bytes left", r.regs.rcx);
	cr_assert_eq(r.regs.rdi, UART_MMIO_BASE,
		     "after the greeting RDI is 0x%llx; the guest keeps the "
		     "UART's base 0x%llx there", (unsigned long long)r.regs.rdi,
		     (unsigned long long)UART_MMIO_BASE);
	mmio_result_free(&r);
}

/* What KVM_EXIT_MMIO carries for a load, and how the load completes. */
Test(step11, mmio_read_completes_with_our_value_on_the_next_run, .timeout = 20)
{
	static const uint8_t code[] = {
		0x8a, 0x04, 0x25, 0x05, 0x00, 0x00, 0x10, /* mov al, [0x10000005] */
		0xf4,					  /* hlt */
	};
	struct kvm_regs regs;
	struct vm vm;

	vm_setup_with_code(&vm, code, sizeof(code));
	run_once_ends_in(&vm, KVM_EXIT_MMIO);
	cr_assert_eq(vm.vcpu.run->mmio.phys_addr, UART_MMIO_BASE + UART_LSR,
		     "GPA 0x%llx", vm.vcpu.run->mmio.phys_addr);
	cr_assert_eq(vm.vcpu.run->mmio.len, 1,
		     "KVM_EXIT_MMIO for mov al, [...] has len %u; a one-byte "
		     "load is 1", vm.vcpu.run->mmio.len);
	cr_assert_eq(vm.vcpu.run->mmio.is_write, 0,
		     "KVM_EXIT_MMIO for a load has is_write = %u; it must be 0",
		     vm.vcpu.run->mmio.is_write);
	vm.vcpu.run->mmio.data[0] = 0x60;		/* the device's answer */
	run_once_ends_in(&vm, KVM_EXIT_HLT);
	regs = regs_after_hlt(&vm, sizeof(code));	/* the load completed */
	cr_assert_eq(regs.rax & 0xff, 0x60, "the guest read 0x%llx",
		     regs.rax & 0xff);
	vm_destroy(&vm);
}

/* A store's exit: the address, the instruction's width, the bytes. */
struct store_case {
	uint8_t code[24];
	size_t size;
	uint64_t gpa;
	uint32_t len;
	uint8_t data[8];
};

static const struct store_case stores[] = {
	{ /* mov byte [0x10000003], 0x80 */
	  { 0xc6, 0x04, 0x25, 0x03, 0x00, 0x00, 0x10, 0x80, 0xf4 }, 9,
	  UART_MMIO_BASE + 3, 1, { 0x80 } },
	{ /* mov word [0x10000000], ax (ax = 0) */
	  { 0x66, 0x89, 0x04, 0x25, 0x00, 0x00, 0x00, 0x10, 0xf4 }, 9,
	  UART_MMIO_BASE, 2, { 0, 0 } },
	{ /* mov dword [0x10000100], 0x11223344 */
	  { 0xc7, 0x04, 0x25, 0x00, 0x01, 0x00, 0x10, 0x44, 0x33, 0x22, 0x11,
	    0xf4 }, 12, UART_MMIO_BASE + 0x100, 4, { 0x44, 0x33, 0x22, 0x11 } },
	{ /* mov rax, 0x8877665544332211; mov [0x10000200], rax */
	  { 0x48, 0xb8, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
	    0x48, 0x89, 0x04, 0x25, 0x00, 0x02, 0x00, 0x10 }, 18,
	  UART_MMIO_BASE + 0x200, 8,
	  { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 } },
};

Test(step11, mmio_write_carries_address_width_and_bytes, .timeout = 20)
{
	for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++) {
		const struct store_case *s = &stores[i];
		struct vm vm;

		vm_setup_with_code(&vm, s->code, s->size);
		cr_assert_eq(vcpu_run_once(&vm), KVM_EXIT_MMIO, "case %zu: exit %u",
			     i, vm.vcpu.run->exit_reason);
		cr_assert_eq(vm.vcpu.run->mmio.is_write, 1, "case %zu", i);
		cr_assert_eq(vm.vcpu.run->mmio.phys_addr, s->gpa, "case %zu: 0x%llx",
			     i, vm.vcpu.run->mmio.phys_addr);
		cr_assert_eq(vm.vcpu.run->mmio.len, s->len, "case %zu: len %u", i,
			     vm.vcpu.run->mmio.len);
		cr_assert_eq(memcmp(vm.vcpu.run->mmio.data, s->data, s->len), 0,
			     "case %zu: data", i);
		vm_destroy(&vm);
	}
}

/* Memory is not MMIO: a store to RAM never leaves the guest. */
Test(step11, store_to_memory_does_not_exit, .timeout = 20)
{
	static const uint8_t code[] = {
		0xc6, 0x04, 0x25, 0x00, 0x00, 0x10, 0x00, 0x5a, /* mov byte [0x100000], 0x5a */
		0xf4,						/* hlt */
	};
	struct vm vm;

	vm_setup_with_code(&vm, code, sizeof(code));
	run_once_ends_in(&vm, KVM_EXIT_HLT);
	cr_assert_eq(vm.mem[0x100000], 0x5a,
		     "guest memory at 0x100000 holds 0x%02x; the guest stored "
		     "0x5a there, which is RAM, not MMIO", vm.mem[0x100000]);
	vm_destroy(&vm);
}

/*
 * Stores the UART cannot take end the run (EXIT_GUEST) with a dump and
 * the reason, and nothing is transmitted: a store wider than a register,
 * and one where neither memory nor the UART is.
 */
Test(step11, stores_it_cannot_take_end_the_run_explained, .timeout = 20)
{
	static const struct {
		const char *what;
		uint8_t code[9];
		const char *said[3];	/* each on stderr; NULL: no more */
	} stores[] = {
		{ .what = "a 2-byte store to a UART register",
		  .code = { 0x66, 0x89, 0x04, 0x25, 0x00, 0x00, 0x00, 0x10, /* mov [0x10000000], ax */
			    0xf4 },
		  .said = { "guest wrote 2 bytes at UART register +0; its "
			    "registers are one byte wide", "RIP=" } },
		{ .what = "a store where nothing is",
		  .code = { 0xc6, 0x04, 0x25, 0x00, 0x00, 0x30, 0x00, 0x41, /* mov byte [0x300000], 0x41 */
			    0xf4 },
		  .said = { "guest wrote 1 byte at guest physical address "
			    "0x300000, where neither memory nor the UART is",
			    "  data: 41\n", "  hint: memory is GPA 0x0-0x1fffff "
			    "and the UART's registers are 0x10000000-0x10000007" } },
	};

	for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++) {
		struct mmio_result r;

		guest_run(stores[i].code, sizeof(stores[i].code), &quick, READY,
			  &r);
		cr_assert_eq(r.status, EXIT_GUEST, "%s: status %d, not EXIT_GUEST:"
			     "\n%s", stores[i].what, r.status, r.err);
		for (int j = 0; j < 3 && stores[i].said[j]; j++)
			assert_has(r.err, stores[i].said[j]);
		cr_assert_eq(r.len, 0, "%s was transmitted", stores[i].what);
		mmio_result_free(&r);
	}
}

/* Registers the UART lacks: reads give 0, writes are dropped, both noted. */
Test(step11, registers_it_lacks_read_zero_and_drop_writes, .timeout = 20)
{
	static const uint8_t code[] = {
		0xb0, 0xff,				  /* mov al, 0xff */
		0x8a, 0x04, 0x25, 0x01, 0x00, 0x00, 0x10, /* mov al, [0x10000001] */
		0xc6, 0x04, 0x25, 0x03, 0x00, 0x00, 0x10, 0x80, /* mov byte [0x10000003], 0x80 */
		0xf4,
	};
	struct mmio_result r;

	guest_run(code, sizeof(code), &quick, READY, &r);
	cr_assert_eq(r.status, EXIT_SUCCESS, "status %d:\n%s", r.status, r.err);
	cr_assert_eq(r.regs.rax & 0xff, 0, "register +1 read 0x%llx",
		     r.regs.rax & 0xff);
	assert_has(r.err, "guest read UART register +1, which this UART "
		   "does not have; it reads 0");
	assert_has(r.err, "guest wrote 0x80 to UART register +3, which "
		   "this UART does not have; ignored");
	cr_assert_eq(r.len, 0,
		     "the guest printed %zu bytes; it writes only to "
		     "registers the UART does not have", r.len);
	mmio_result_free(&r);
}

/* The status register matters: a UART that is never ready never hangs us. */
Test(step11, uart_never_ready_is_stopped_by_the_timeout, .timeout = 30)
{
	const struct run_options opt = { .timeout = 0.3 };
	struct mmio_result r;
	double start = seconds_now();

	guest_run(guest_image, guest_image_end - guest_image, &opt, 0, &r);
	cr_assert_eq(r.status, EXIT_TIMEOUT, "status %d:\n%s", r.status, r.err);
	cr_assert_lt(seconds_now() - start, 5.0,
		     "the 0.3 s timeout took %.1f s to stop a guest polling a "
		     "UART that is never ready", seconds_now() - start);
	cr_assert_eq(r.len, 0, "transmitted while not ready");
	cr_assert_gt(r.reads, 1, "the guest did not poll LSR");
	cr_assert_eq(r.writes, 0,
		     "the UART saw %llu writes, though it was never ready",
		     (unsigned long long)r.writes);
	assert_has(r.err, "the guest did not halt within 0.3 s");
	mmio_result_free(&r);
}

/* Step 10's console port still works: the run loop is step 10's. */
Test(step11, console_port_prints_as_in_step10, .timeout = 20)
{
	static const uint8_t code[] = {
		0xb0, 0x41,	/* mov al, 0x41 */
		0xe6, 0xe9,	/* out 0xe9, al */
		0xf4,
	};
	struct mmio_result r;

	guest_run(code, sizeof(code), &quick, READY, &r);
	cr_assert_eq(r.status, EXIT_SUCCESS, "status %d:\n%s", r.status, r.err);
	cr_assert_eq(r.len, 1, "the guest's out printed %zu bytes, not 1", r.len);
	cr_assert_eq(r.out[0], 'A', "the guest's out printed '%c'", r.out[0]);
	cr_assert_eq(r.stats.io_exits, 1, "%llu KVM_EXIT_IO exits, not 1",
		     (unsigned long long)r.stats.io_exits);
	mmio_result_free(&r);
}

/* Coalescing: the writes are queued in the ring; only the reads exit. */
Test(step11, coalesced_writes_skip_the_exit_and_keep_order, .timeout = 30)
{
	const struct run_options opt = { .timeout = 10 };
	struct mmio_result r;

	coalesced_run(guest_image, guest_image_end - guest_image, &opt, READY, &r);
	cr_assert_eq(r.status, EXIT_SUCCESS, "status %d:\n%s", r.status, r.err);
	cr_assert_eq(r.len, GREETING_LEN,
		     "the guest printed %zu bytes with --coalesce; the "
		     "greeting is %d", r.len, GREETING_LEN);
	cr_assert_eq(memcmp(r.out, GREETING, GREETING_LEN), 0, "got '%s'", r.out);
	cr_assert_eq(r.writes, 0, "%llu write exits",
		     (unsigned long long)r.writes);
	cr_assert_eq(r.reads, GREETING_LEN,
		     "with --coalesce the UART saw %llu LSR reads; reads "
		     "still exit, one per byte: %d",
		     (unsigned long long)r.reads, GREETING_LEN);
	cr_assert_eq(r.stats.ring_bytes, GREETING_LEN,
		     "with --coalesce %llu bytes came through the ring; all "
		     "%d writes to THR must",
		     (unsigned long long)r.stats.ring_bytes, GREETING_LEN);
	cr_assert_eq(r.stats.exits, GREETING_LEN + 1,
		     "with --coalesce the greeting took %llu exits; one per "
		     "LSR read and the hlt: %d",
		     (unsigned long long)r.stats.exits, GREETING_LEN + 1);
	mmio_result_free(&r);
}

/*
 * More writes than the ring holds: when it is full KVM exits with an
 * ordinary MMIO write, and the ring must be drained before that exit is
 * handled, or the bytes come out of order.
 */
Test(step11, full_ring_falls_back_to_exits_in_order, .timeout = 30)
{
	static const uint8_t code[] = {
		0xbf, 0x00, 0x00, 0x00, 0x10,	/* mov edi, 0x10000000 */
		0x31, 0xc0,			/* xor eax, eax */
		0xb9, 0x90, 0x01, 0x00, 0x00,	/* mov ecx, 400 */
		0x88, 0x07,			/* .l: mov [rdi], al */
		0xff, 0xc0,			/* inc eax */
		0xe2, 0xfa,			/* loop .l */
		0xf4,				/* hlt */
	};
	const struct run_options opt = { .timeout = 10 };
	struct mmio_result r;

	coalesced_run(code, sizeof(code), &opt, READY, &r);
	cr_assert_eq(r.status, EXIT_SUCCESS, "status %d:\n%s", r.status, r.err);
	cr_assert_eq(r.len, 400,
		     "the guest printed %zu bytes; it writes 400", r.len);
	for (size_t i = 0; i < 400; i++)
		cr_assert_eq((uint8_t)r.out[i], (uint8_t)i, "byte %zu is %u", i,
			     (uint8_t)r.out[i]);
	cr_assert_gt(r.writes, 0, "the ring never filled");
	cr_assert_lt(r.writes, 400, "nothing went through the ring");
	cr_assert_eq(r.stats.ring_bytes + r.writes, 400,
		     "%llu bytes came through the ring and %llu as "
		     "KVM_EXIT_MMIO writes; together they must be the 400 "
		     "written", (unsigned long long)r.stats.ring_bytes,
		     (unsigned long long)r.writes);
	mmio_result_free(&r);
}

/* Made-up exits through step 10's exit_handle() with the UART's hook. */
Test(step11, exit_handle_answers_each_kind_of_exit)
{
	struct kvm_run run;
	struct uart uart = { .lsr = READY };
	const struct run_hooks hooks = { .exit = uart_exit, .ctx = &uart };
	struct run_options opt = { .hooks = &hooks };
	struct run_stats stats = { 0 };
	char *out = NULL;
	size_t len = 0;
	struct capture c;
	char *err;

	opt.out = open_memstream(&out, &len);
	cr_assert(opt.out,
		  "open_memstream for the UART's output failed: %s",
		  errno_name(errno));
	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_MMIO;
	run.mmio.phys_addr = UART_MMIO_BASE + UART_LSR;
	run.mmio.len = 1;
	memset(run.mmio.data, 0xaa, 8);
	cr_assert_eq(exit_handle(&run, sizeof(run), &opt, &stats), EXIT_ACTION_CONTINUE,
		     "exit_handle with uart_exit must go on (EXIT_ACTION_CONTINUE) "
		     "after a read of LSR");
	cr_assert_eq(run.mmio.data[0], READY, "LSR read 0x%x", run.mmio.data[0]);
	cr_assert_eq(run.mmio.data[1], 0, "the rest of data[] is not cleared");

	run.mmio.phys_addr = UART_MMIO_BASE + UART_THR;
	run.mmio.is_write = 1;
	run.mmio.data[0] = 'Z';
	cr_assert_eq(exit_handle(&run, sizeof(run), &opt, &stats), EXIT_ACTION_CONTINUE,
		     "exit_handle with uart_exit must go on (EXIT_ACTION_CONTINUE) "
		     "after a write to THR");
	fflush(opt.out);
	cr_assert_eq(len, 1,
		     "a write of 'Z' to THR printed %zu bytes, not 1", len);
	cr_assert_eq(out[0], 'Z',
		     "a write of 'Z' to THR printed '%c'", out[0]);

	run.mmio.phys_addr = UART_MMIO_BASE - 1;	/* just below the UART */
	capture_begin(&c, 2);
	cr_assert_eq(exit_handle(&run, sizeof(run), &opt, &stats), EXIT_ACTION_FAIL,
		     "exit_handle with uart_exit must end the run (EXIT_ACTION_FAIL) "
		     "for an access just below the UART");
	run.mmio.phys_addr = UART_MMIO_BASE + UART_MMIO_SIZE;	/* just above */
	cr_assert_eq(exit_handle(&run, sizeof(run), &opt, &stats), EXIT_ACTION_FAIL,
		     "exit_handle with uart_exit must end the run (EXIT_ACTION_FAIL) "
		     "for an access just above the UART");
	run.exit_reason = KVM_EXIT_HLT;
	cr_assert_eq(exit_handle(&run, sizeof(run), &opt, &stats), EXIT_ACTION_HALT,
		     "exit_handle with uart_exit must stop (EXIT_ACTION_HALT) at "
		     "KVM_EXIT_HLT");
	run.exit_reason = KVM_EXIT_SHUTDOWN;
	cr_assert_eq(exit_handle(&run, sizeof(run), &opt, &stats), EXIT_ACTION_FAIL,
		     "exit_handle with uart_exit must end the run (EXIT_ACTION_FAIL) at "
		     "KVM_EXIT_SHUTDOWN");
	run.exit_reason = 1234;
	cr_assert_eq(exit_handle(&run, sizeof(run), &opt, &stats), EXIT_ACTION_FAIL,
		     "exit_handle with uart_exit must end the run (EXIT_ACTION_FAIL) at "
		     "an unknown exit");
	err = capture_end(&c);
	assert_has(err, "at guest physical address 0xfffffff, where neither");
	assert_has(err, "triple-faulted (KVM_EXIT_SHUTDOWN)");
	assert_has(err, "unexpected exit unknown (1234)");
	assert_has(err, "at guest physical address 0x10000008, where "
		   "neither");
	cr_assert_eq(stats.exits, 7,
		     "exit_handle with uart_exit counted %llu exits for the 7 it was "
		     "given", (unsigned long long)stats.exits);
	cr_assert_eq(uart.reads, 1,
		     "exit_handle with uart_exit counted %llu UART reads for the 1 it "
		     "was given", (unsigned long long)uart.reads);
	cr_assert_eq(uart.writes, 3,
		     "exit_handle with uart_exit counted %llu MMIO writes for the 3 it "
		     "was given", (unsigned long long)uart.writes);
	fclose(opt.out);
	free(out);
	free(err);
}

/* System calls made to fail for real (a seccomp filter, tests/faults.c). */
static void run_with_fault(unsigned long request, int err_no, int coalesce,
			   const char *want)
{
	struct mmio_result r;

	cr_assert_eq(fault_inject_ioctl(request, err_no), 0, "%s",
		     strerror(errno));
	/* Stages 01-09 make none of these calls: they still succeed. */
	{
		struct uart uart = { .lsr = READY, .coalesce = coalesce };
		struct run_options opt = quick;
		struct capture c;
		struct vm vm;
		int fds;

		fds = fd_count();
		vm_setup_with_guest(&vm, guest_image,
				    guest_image_end - guest_image);
		opt.out = open_memstream(&r.out, &r.len);
		capture_begin(&c, 2);
		r.status = uart_vcpu_run(&vm, &opt, &uart, &r.stats);
		r.err = capture_end(&c);
		fclose(opt.out);
		vm_destroy(&vm);
		cr_assert_eq(fd_count(), fds, "a descriptor was left open");
	}
	cr_assert_eq(r.status, EXIT_SETUP, "status %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, want), "no '%s' in:\n%s", want, r.err);
	free(r.out);
	free(r.err);
}

Test(step11, failed_kvm_run_is_reported, .timeout = 20)
{
	run_with_fault(KVM_RUN, EFAULT, 0, "KVM_RUN failed: EFAULT");
}

Test(step11, failed_coalesced_registration_is_reported, .timeout = 20)
{
	run_with_fault(KVM_REGISTER_COALESCED_MMIO, ENOSPC, 1,
		       "KVM_REGISTER_COALESCED_MMIO failed: ENOSPC");
}

/* Stages 01-09 as every step prints them, then this chapter's [11]. */
Test(step11, program_prints_stages_then_its_own, .timeout = 60)
{
	chapter_check_plain(11, 10,	/* 10: guest_load */
			    "\n" GREETING "[11] KVM_RUN: KVM_EXIT_HLT after 63 "
			    "exits: 31 MMIO reads, 31 MMIO writes\n");
}

Test(step11, program_coalesce_prints_fewer_exits, .timeout = 60)
{
	struct program_result r;

	program_run_args_status("--coalesce", NULL, EXIT_SUCCESS, &r);
	cr_assert(strstr(r.out, "\n" GREETING "[11] KVM_RUN: KVM_EXIT_HLT after "
			 "32 exits: 31 MMIO reads, 0 MMIO writes\n[11] coalesced "
			 "ring: 31 of 31 transmitted bytes\n"), "%s", r.out);
	program_result_free(&r);
}

Test(step11, program_traces_mmio_exits, .timeout = 60)
{
	chapter_check_traced((const char *const[]){
		"ioctl(5, KVM_RUN) = 0, KVM_EXIT_MMIO: read 1 bytes at GPA "
		"0x10000005\nioctl(5, KVM_RUN) = 0, KVM_EXIT_MMIO: write 1 "
		"bytes at GPA 0x10000000, data 48 \"H\"\n",
		"ioctl(5, KVM_RUN) = 0, KVM_EXIT_HLT\n", NULL });
}

Test(step11, program_stages_traced_as_in_every_step, .timeout = 60)
{
	program_check_trace(9);
}

Test(step11, program_output_matches_readme_transcript, .timeout = 60)
{
	program_check_readme();
}

CHAPTER_PROGRAM_TESTS(step11, 11)
