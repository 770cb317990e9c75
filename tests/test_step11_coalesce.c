/* SPDX-License-Identifier: MIT */
/*
 * test_step11_coalesce: step11's --coalesce for port I/O.  With port
 * 0xE9 registered as a coalesced PIO zone (beside the UART's THR, an
 * MMIO zone: test_step11.c) the guest's bytes reach us through KVM's
 * ring page instead of one exit each; these tests check that the output
 * is still whole and in order, that it costs far fewer exits, and that
 * a read from the port still exits.  Lesson: step11's README.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <criterion/redirect.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm_names.h"
#include "kvm_test.h"
#include "report.h"
#include "step11.h"

/* One in-process run of a test guest, as step11 runs it. */
struct guest_result {
	int status;		/* what uart_vcpu_run() returned */
	char *out;		/* what the guest printed, port and UART */
	size_t len;
	char *err;		/* what the run wrote to stderr */
	struct run_stats stats;
};

/* TEST_GUESTS_DIR/NAME.bin, read whole into a malloc'd *image. */
static void test_guest_read(const char *name, uint8_t **image, size_t *size)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.bin", TEST_GUESTS_DIR, name);
	f = fopen(path, "rb");
	cr_assert(f, "cannot open %s: %s", path, errno_name(errno));
	*image = malloc(GUEST_CODE_MAX);
	cr_assert(*image, "malloc failed");
	*size = fread(*image, 1, GUEST_CODE_MAX, f);
	cr_assert_gt(*size, 0, "%s is empty", path);
	fclose(f);
}

/* tests/guests/NAME.asm through stage 11, coalescing, with timeout. */
static void coalesced_file_run(const char *name, double timeout,
			       struct guest_result *r)
{
	struct run_options opt = { .timeout = timeout };
	struct uart uart = { .lsr = UART_LSR_THRE, .coalesce = 1 };
	struct capture c;
	struct vm vm;
	uint8_t *image;
	size_t size;

	memset(r, 0, sizeof(*r));
	test_guest_read(name, &image, &size);
	vm_setup_with_guest(&vm, image, size);
	opt.out = open_memstream(&r->out, &r->len);
	cr_assert(opt.out, "open_memstream failed: %s", errno_name(errno));
	capture_begin(&c, 2);
	r->status = uart_vcpu_run(&vm, &opt, &uart, &r->stats);
	r->err = capture_end(&c);
	fclose(opt.out);
	vm_destroy(&vm);
	free(image);
}

static void guest_result_free(struct guest_result *r)
{
	free(r->out);
	free(r->err);
}

/* What tests/guests/coalesce_5000.asm prints: "0000\n" .. "0999\n". */
static char *lines_5000(void)
{
	char *s = malloc(5001);

	cr_assert(s,
		  "malloc of 5001 bytes failed");
	for (int i = 0; i < 1000; i++)
		snprintf(s + 5 * i, 6, "%04d\n", i);
	return s;
}

Test(step11_coalesce, coalesce_5000_bytes_whole_in_order_few_exits, .timeout = 60)
{
	struct guest_result r = { 0 };
	char *want = lines_5000();
	size_t bytes = 5000;

	coalesced_file_run("coalesce_5000", 30, &r);
	cr_assert_eq(r.status, EXIT_SUCCESS,
		     "vcpu_run returned %d for coalesce_5000; it must run to "
		     "its hlt (EXIT_SUCCESS):\n%.2000s", r.status, r.err);
	cr_assert_eq(r.len, bytes, "coalesce_5000 writes %zu bytes through the "
		     "ring; vcpu_run printed %zu", bytes, r.len);
	for (size_t i = 0; i < bytes; i++)
		cr_assert_eq(r.out[i], want[i], "byte %zu: got '%c', want '%c' "
			     "(lost or reordered output)", i, r.out[i], want[i]);
	/*
	 * The bound.  The ring has KVM_COALESCED_MMIO_MAX slots (170 with
	 * 4 KiB pages) and holds at most 169 (one stays empty), but older
	 * kernels' free-space arithmetic calls it full much earlier (85
	 * entries on a first fill, seen in the sandbox's 6.1).  When
	 * it is full the next write exits as an ordinary KVM_EXIT_IO and we
	 * empty the ring.  So each exit carries well over 32 bytes; one per
	 * 32 bytes is a generous bound that still fails at once if bytes
	 * exit one by one (5001 exits).
	 */
	cr_assert_leq(r.stats.exits, bytes / 32, "%llu exits for %zu bytes",
		      (unsigned long long)r.stats.exits, bytes);
	/* Every byte came either through the ring or by its own exit. */
	cr_assert_eq(r.stats.out_bytes, bytes,
		     "%llu bytes were printed; coalesce_5000 writes %zu",
		     (unsigned long long)r.stats.out_bytes, bytes);
	cr_assert_eq(r.stats.ring_bytes + r.stats.io_exits, bytes,
		     "%llu bytes came through the ring and %llu by their own "
		     "KVM_EXIT_IO; together they must be the %zu written",
		     (unsigned long long)r.stats.ring_bytes,
		     (unsigned long long)r.stats.io_exits, bytes);
	free(want);
	guest_result_free(&r);
}

/*
 * A read cannot be queued: the guest needs its answer now.  Checked on
 * the bare kernel first (a zone registered by hand, one KVM_RUN), then
 * through step 11's run.
 */
Test(step11_coalesce, coalesce_in_from_coalesced_port_still_exits, .timeout = 30)
{
	struct kvm_coalesced_mmio_zone zone = {
		.addr = CONSOLE_PORT, .size = 1, .pio = 1,
	};
	struct vm vm;
	uint8_t *image;
	size_t size;

	test_guest_read("coalesce_in", &image, &size);
	vm_setup_with_guest(&vm, image, size);
	cr_assert_eq(ioctl(vm.fd, KVM_REGISTER_COALESCED_MMIO, &zone), 0,
		     "KVM_REGISTER_COALESCED_MMIO failed: %s",
		     errno_name(errno));
	cr_assert_eq(ioctl(vm.vcpu.fd, KVM_RUN, 0UL), 0,
		     "KVM_RUN failed: %s", errno_name(errno));
	cr_assert_eq(vm.vcpu.run->exit_reason, KVM_EXIT_IO,
		     "KVM_RUN ended in %s; here it must end in KVM_EXIT_IO",
		     kvm_exit_name(vm.vcpu.run->exit_reason));
	cr_assert_eq(vm.vcpu.run->io.direction, KVM_EXIT_IO_IN,
		     "the exit of the guest's in is KVM_EXIT_IO with "
		     "direction %u; it must be KVM_EXIT_IO_IN: a read is "
		     "never coalesced", vm.vcpu.run->io.direction);
	cr_assert_eq(vm.vcpu.run->io.port, CONSOLE_PORT,
		     "the guest's in exited for port 0x%x; it reads port 0x%x "
		     "(CONSOLE_PORT)", vm.vcpu.run->io.port, CONSOLE_PORT);
	vm_destroy(&vm);
	free(image);
}

Test(step11_coalesce, coalesce_in_is_answered_and_echoed, .timeout = 30)
{
	struct guest_result r = { 0 };

	coalesced_file_run("coalesce_in", 10, &r);
	cr_assert_eq(r.status, EXIT_SUCCESS,
		     "vcpu_run returned %d for coalesce_in; it must run to "
		     "its hlt (EXIT_SUCCESS):\n%s", r.status, r.err);
	cr_assert_eq(r.stats.io_exits, 1, "the in must exit");
	cr_assert_eq(r.stats.exits, 2,
		     "coalesce_in took %llu exits; it must take 2, the in "
		     "then the hlt", (unsigned long long)r.stats.exits);		/* the in, then the hlt */
	cr_assert_eq(r.len, 1,
		     "coalesce_in printed %zu bytes; it echoes the one it read",
		     r.len);
	cr_assert_eq((uint8_t)r.out[0], CONSOLE_PORT,
		     "coalesce_in echoed 0x%02x; the guest reads "
		     "CONSOLE_PORT, which answers with its port number 0x%x",
		     (uint8_t)r.out[0], CONSOLE_PORT);	/* what `in` read */
	cr_assert_eq(r.stats.ring_bytes, 1,
		     "coalesce_in's echo came through the ring as %llu bytes; "
		     "the one byte must be queued there",
		     (unsigned long long)r.stats.ring_bytes);	/* the echo was queued */
	guest_result_free(&r);
}

/* Bytes still in the ring when the timeout stops the guest are printed. */
Test(step11_coalesce, coalesce_timeout_keeps_queued_output, .timeout = 30)
{
	struct guest_result r = { 0 };

	cr_redirect_stderr();	/* the timeout report and register dump */
	coalesced_file_run("coalesce_spin", 0.3, &r);
	cr_assert_eq(r.status, EXIT_TIMEOUT,
		     "vcpu_run returned %d for coalesce_spin; the timeout "
		     "must stop it (EXIT_TIMEOUT)", r.status);
	cr_assert_eq(r.len, 26, "coalesce_spin queues 26 bytes in the ring, "
		     "then spins; vcpu_run printed %zu of them: after the "
		     "timeout stops the guest, the ring must still be drained "
		     "(step11's README)", r.len);
	cr_assert_eq(memcmp(r.out, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 26), 0,
		     "the bytes still in the ring at the timeout were not "
		     "printed in order: got '%.26s'", r.out);
	cr_assert_eq(r.stats.ring_bytes, 26,
		     "%llu bytes came through the ring; coalesce_spin queues "
		     "26 before it spins",
		     (unsigned long long)r.stats.ring_bytes);
	guest_result_free(&r);
}
