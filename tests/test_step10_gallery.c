/* SPDX-License-Identifier: MIT */
/*
 * test_step10_gallery: what step10 does with guests that go wrong, with
 * bad guest images, with made-up exits, and with random bytes as code.
 *
 * The gallery guests (tests/guests/gallery/, one .asm each) each end one way: a
 * triple fault, an access where no memory is, a loop that never ends,
 * port I/O of every size, writes to ports nobody handles.  Each runs as
 * the real step10 program, which must exit with the documented status
 * and explain itself on stderr.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"
#include "faults.h"
#include "kvm_names.h"
#include "kvm_test.h"
#include "report.h"
#include "step10.h"

#define GALLERY TEST_GUESTS_DIR "/gallery/"

/* The random guests are the maintainers' (check_step10: make check-suites). */
#ifndef CHECK_SUITE
/* Run step10 --timeout timeout GUEST.bin; kill it after 30 s. */
static void gallery_run(const char *guest, const char *timeout,
			struct program_result *r)
{
	const char *argv[] = { STEP_PROGRAM, "--timeout", timeout,
			       GALLERY "x", NULL };
	char path[512];

	snprintf(path, sizeof(path), GALLERY "%s.bin", guest);
	argv[3] = path;
	program_run(argv, NULL, 30, r);
}

/*
 * A run that ends on a fatal exit explains it once: a loop that enters
 * the guest again (KVM_RUN) after it explains it again and again, until
 * the timeout or program_run's output limit stops it.  Checked first, so
 * that mistake fails in seconds with a sentence (a guest that has shut
 * down or failed entry gives the same exit at once, natively and under
 * TCG alike), not at the test's timeout; the output shown is cut short.
 */
static void assert_explained_once(const char *err, const char *piece,
				  const char *exit_name)
{
	int n = 0;

	for (const char *at = err; (at = strstr(at, piece)); at += strlen(piece))
		n++;
	cr_assert_eq(n, 1, "step10 explained %s %d times (\"%s\"); vcpu_run "
		     "must stop at that exit, not enter the guest again with "
		     "KVM_RUN.  Its stderr began:\n%.1500s", exit_name, n, piece,
		     err);
}

/* The register dump a failed run must end with: every line present. */
static void assert_dump_lines(const char *err)
{
	static const char *const lines[] = {
		"vCPU registers:\n", "  RIP=0x", " RSP=0x", "  RAX=0x",
		" R15=0x", "  RFLAGS=0x", "  CR0=0x", " CR3=0x", "  CR4=0x",
		"  EFER=0x", "  CS selector=0x", "  SS selector=0x",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		assert_has(err, lines[i]);
}

/* ... and, for a guest still in long mode, with its bits named. */
static void assert_dump(const char *err)
{
	static const char *const lines[] = {
		/* PE and PG; kvm_amd also shows ET (bit 4) set, 0x80000011
		 * (the sandbox); kvm_intel 0x80000001 (Bochs). */
		"  CR0=0x800000", " PE|", "|PG\n", " CR3=0x2000\n",
		"  CR4=0x20 PAE\n",
		"  EFER=0x500 LME|LMA\n", "  CS selector=0x0008",
		"  SS selector=0x0010",
	};

	assert_dump_lines(err);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		assert_has(err, lines[i]);
}

/* A failed or stopped guest: loaded, never reported as halted. */
static void assert_not_halted(const struct program_result *r)
{
	assert_has(r->out, "[10] loaded the guest");
	assert_lacks(r->out, "KVM_EXIT_HLT");
}

/*
 * guest ends on the fatal exit exit_name: step10 explains it once, exits
 * EXIT_GUEST, and says each of said (NULL-terminated) on stderr.
 */
static void gallery_fails(const char *guest, const char *exit_name,
			  const char *const said[], struct program_result *r)
{
	char piece[64];

	gallery_run(guest, "10", r);
	snprintf(piece, sizeof(piece), "(%s)", exit_name);
	assert_explained_once(r->err, piece, exit_name);
	cr_assert_eq(r->status, EXIT_GUEST, "status %d\n%s", r->status, r->err);
	for (int i = 0; said[i]; i++)
		assert_has(r->err, said[i]);
}

Test(step10_gallery, triple_fault, .timeout = 40)
{
	struct program_result r;

	gallery_fails("triple_fault", "KVM_EXIT_SHUTDOWN", (const char *const[]){
		"step10: the guest triple-faulted (KVM_EXIT_SHUTDOWN)\n",
		"  hint: ",
		"the IDTR keeps its reset value (base 0, limit 0xffff)", NULL }, &r);
	/* Some hosts reset the vCPU before this exit: values vary. */
	assert_dump_lines(r.err);
	assert_not_halted(&r);
	program_result_free(&r);
}

/*
 * What the SHUTDOWN hint says: a vCPU that stage 08 put in long mode still
 * has the reset IDTR, base 0 and limit 0xffff (kvm_amd: init_vmcb();
 * kvm_intel: vmx_vcpu_reset()), so its "IDT" is guest page 0: zeros, no
 * gate present.
 */
Test(step10_gallery, idt_is_page_0_with_no_gate_present, .timeout = 30)
{
	struct kvm_sregs sregs;
	struct vm vm;

	vm_setup_through(&vm, 9);
	cr_assert_eq(ioctl(vm.vcpu.fd, KVM_GET_SREGS, &sregs), 0,
		     "KVM_GET_SREGS failed: %s", errno_name(errno));
	cr_assert_eq(sregs.idt.base, 0, "IDT base 0x%llx",
		     (unsigned long long)sregs.idt.base);
	cr_assert_eq(sregs.idt.limit, 0xffff, "IDT limit 0x%x", sregs.idt.limit);
	for (size_t i = 0; i < 0x1000; i++)
		cr_assert_eq(vm.mem[i], 0, "guest page 0 byte %zu is 0x%02x", i,
			     vm.mem[i]);
	vm_destroy(&vm);
}

Test(step10_gallery, ud2_triple_fault, .timeout = 40)
{
	struct program_result r;

	gallery_fails("ud2", "KVM_EXIT_SHUTDOWN", (const char *const[]){ NULL },
		      &r);
	assert_dump_lines(r.err);
	program_result_free(&r);
}

Test(step10_gallery, mmio_write, .timeout = 40)
{
	struct program_result r;

	gallery_fails("mmio_write", "KVM_EXIT_MMIO", (const char *const[]){
		"step10: guest wrote 4 bytes at guest physical address "
		"0x20000000, where no memory slot is (KVM_EXIT_MMIO)\n",
		"  data: 78 56 34 12\n", "  hint: guest memory is GPA 0x0-0x1fffff",
		"RAX=0x0000000020000000",
		/* KVM moved RIP past the store before handing it over: the hlt. */
		"  bytes at RIP: f4 ", NULL }, &r);
	assert_dump(r.err);
	assert_not_halted(&r);
	program_result_free(&r);
}

/* A read is not done until KVM_RUN runs again: RIP is still on it. */
Test(step10_gallery, mmio_read, .timeout = 40)
{
	struct program_result r;

	gallery_fails("mmio_read", "KVM_EXIT_MMIO", (const char *const[]){
		"step10: guest read 8 bytes at guest physical address "
		"0x3ff00000, where no memory slot is (KVM_EXIT_MMIO)\n",
		"  bytes at RIP: 48 8b 18 f4", NULL }, &r);
	assert_lacks(r.err, "  data:");
	assert_dump(r.err);
	program_result_free(&r);
}

Test(step10_gallery, exec_unbacked, .timeout = 40)
{
	struct program_result r;

	gallery_fails("exec_unbacked", "KVM_EXIT_INTERNAL_ERROR",
		      (const char *const[]){
		"step10: KVM could not handle the guest "
		"(KVM_EXIT_INTERNAL_ERROR): KVM_INTERNAL_ERROR_EMULATION\n",
		"  ndata=", "no memory behind it", "  RIP=0x0000000000300000 ",
		"  RIP is outside guest memory (0x0-0x1fffff)\n", NULL }, &r);
	assert_dump(r.err);
	program_result_free(&r);
}

Test(step10_gallery, spin_times_out, .timeout = 40)
{
	struct program_result r;
	double start = seconds_now(), took;

	gallery_run("spin", "1", &r);
	took = seconds_now() - start;
	cr_assert_eq(r.status, EXIT_TIMEOUT, "status %d\n%s", r.status, r.err);
	assert_has(r.err, "step10: the guest did not halt within 1 s; it was "
		   "stopped\n");
	assert_dump(r.err);
	assert_has(r.err, "  RIP=0x0000000000010001 ");	/* the jmp $, past the sti */
	assert_has(r.err, "  bytes at RIP: eb fe 00");
	assert_not_halted(&r);
	cr_assert(took >= 0.9 && took < 10, "took %.2f s", took);
	program_result_free(&r);
}

Test(step10_gallery, every_port_size, .timeout = 40)
{
	struct program_result r;

	gallery_run("ports", "10", &r);
	cr_assert_eq(r.status, EXIT_SUCCESS, "status %d\n%s", r.status, r.err);
	assert_has(r.out, "\nabcdefg-string-YYYYYYYY\n[10] KVM_RUN: KVM_EXIT_HLT");
	for (int size = 1; size <= 4; size *= 2) {
		char line[128];

		snprintf(line, sizeof(line), "step10: guest read port 0x60 "
			 "(size %d, count 1), which nothing handles; it reads "
			 "all ones (0xff bytes)\n", size);
		assert_has(r.err, line);
	}
	assert_lacks(r.err, "vCPU registers:");
	program_result_free(&r);
}

Test(step10_gallery, unhandled_port_write_continues, .timeout = 40)
{
	struct program_result r;

	gallery_run("unhandled_out", "10", &r);
	cr_assert_eq(r.status, EXIT_SUCCESS, "status %d\n%s", r.status, r.err);
	assert_has(r.out, "\nstill here\n[10] KVM_RUN: KVM_EXIT_HLT");
	assert_has(r.err, "step10: guest wrote 1 byte to unhandled port 0x80 "
		   "(size 1, count 1); ignored\n");
	assert_has(r.err, "unhandled port 0x3f8 (size 2, count 1)");
	assert_has(r.err, "unhandled port 0x1234 (size 4, count 1)");
	assert_lacks(r.err, "vCPU registers:");
	program_result_free(&r);
}

/* --- Guest images that cannot be run --- */

/* "1 to 1966080 bytes": the hint every refused image gets. */
static char limit_text[64];

static void limit_text_init(void)
{
	snprintf(limit_text, sizeof(limit_text), "of 1 to %llu bytes",
		 GUEST_CODE_MAX);
}

/* step10 refuses path: exit 2, the file named, the limit, nothing run. */
static void assert_image_refused(const struct program_result *r,
				 const char *path, const char *why)
{
	cr_assert_eq(r->status, EXIT_USAGE, "status %d\n%s", r->status, r->err);
	assert_has(r->err, path);
	assert_has(r->err, why);
	assert_has(r->err, limit_text);
	cr_assert_eq(r->out_len, 0, "something ran:\n%s", r->out);
}

static void image_refused(const char *path, const char *why)
{
	const char *argv[] = { STEP_PROGRAM, path, NULL };
	struct program_result r;

	limit_text_init();
	program_run(argv, NULL, 20, &r);
	assert_image_refused(&r, path, why);
	program_result_free(&r);
}

/* A temporary file of size bytes, first holding head; returns its path. */
static char *temp_image(size_t size, const uint8_t *head, size_t head_len)
{
	char *path = strdup("/tmp/test_step10_image.XXXXXX");
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0,
		      "mkstemp failed: %s", errno_name(errno));
	cr_assert_eq(ftruncate(fd, size), 0,
		     "ftruncate failed: %s", errno_name(errno));
	cr_assert_eq(pwrite(fd, head, head_len, 0), (ssize_t)head_len,
		     "pwrite of the image's first bytes failed: %s",
		     errno_name(errno));
	close(fd);
	return path;
}

Test(step10_gallery, image_missing, .timeout = 30)
{
	image_refused("/nonexistent/guest.bin", "opening guest image "
		      "/nonexistent/guest.bin failed: ENOENT");
}

Test(step10_gallery, image_directory, .timeout = 30)
{
	image_refused("/tmp", "guest image /tmp is a directory");
}

Test(step10_gallery, image_fifo_does_not_hang, .timeout = 30)
{
	char path[64] = "/tmp/test_step10_fifo.XXXXXX";

	cr_assert(mkdtemp(path),
		  "mkdtemp failed: %s", errno_name(errno));
	strcat(path, "/fifo");
	cr_assert_eq(mkfifo(path, 0600), 0,
		     "mkfifo failed: %s", errno_name(errno));
	image_refused(path, "is a device, FIFO or socket, not a regular file");
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
}

Test(step10_gallery, image_empty, .timeout = 30)
{
	char *path = temp_image(0, NULL, 0);

	image_refused(path, "is empty");
	unlink(path);
	free(path);
}

Test(step10_gallery, image_too_large, .timeout = 30)
{
	char *path = temp_image(GUEST_CODE_MAX + 1, NULL, 0);
	char why[128];

	snprintf(why, sizeof(why), "is %llu bytes; a guest has room for at "
		 "most %llu bytes", GUEST_CODE_MAX + 1, GUEST_CODE_MAX);
	image_refused(path, why);
	unlink(path);
	free(path);
}

/* The largest image that fits is run: hlt, then zeros up to the stack. */
Test(step10_gallery, image_exactly_the_limit_runs, .timeout = 30)
{
	static const uint8_t hlt = 0xf4;
	char *path = temp_image(GUEST_CODE_MAX, &hlt, 1);
	const char *argv[] = { STEP_PROGRAM, path, NULL };
	char loaded[128];
	struct program_result r;

	program_run(argv, NULL, 20, &r);
	cr_assert_eq(r.status, EXIT_SUCCESS, "%s", r.err);
	snprintf(loaded, sizeof(loaded), "[10] loaded the guest: %llu bytes",
		 GUEST_CODE_MAX);
	assert_has(r.out, loaded);
	assert_has(r.out, "KVM_EXIT_HLT after 1 exit\n");
	unlink(path);
	free(path);
	program_result_free(&r);
}

/*
 * Mode 000 stops everyone but root, so as root step10 runs as nobody
 * (setpriv); the file sits in a directory nobody may enter.
 */
Test(step10_gallery, image_unreadable, .timeout = 30)
{
	char dir[] = "/tmp/test_step10_dir.XXXXXX";
	char path[sizeof(dir) + 16];
	const char *as_root[] = { "/usr/bin/setpriv", "--reuid=65534",
				  "--regid=65534", "--clear-groups", "--",
				  STEP_PROGRAM, path, NULL };
	const char *as_user[] = { STEP_PROGRAM, path, NULL };
	struct program_result r;
	int fd;

	limit_text_init();
	cr_assert(mkdtemp(dir),
		  "mkdtemp failed: %s", errno_name(errno));
	cr_assert_eq(chmod(dir, 0755), 0,
		     "chmod failed: %s", errno_name(errno));
	snprintf(path, sizeof(path), "%s/guest.bin", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0000);
	cr_assert_geq(fd, 0,
		      "creating %s failed: %s", path, errno_name(errno));
	cr_assert_eq(write(fd, "\xf4", 1), 1,
		     "writing %s failed: %s", path, errno_name(errno));
	close(fd);
	if (geteuid() == 0 && access(as_root[0], X_OK) != 0)
		cr_skip_test("running as root without /usr/bin/setpriv: a "
			     "mode 000 file is readable");
	program_run(geteuid() == 0 ? as_root : as_user, NULL, 20, &r);
	unlink(path);
	rmdir(dir);
	assert_image_refused(&r, path, "failed: EACCES (Permission denied)");
	program_result_free(&r);
}

/* --- Made-up exits fed to exit_handle() --- */

#define FAKE_RUN_SIZE (3 * 4096)	/* what KVM_GET_VCPU_MMAP_SIZE says */

struct fake {
	struct kvm_run *run;
	const struct port_device *device;	/* opt.device, or NULL */
	struct run_stats stats;
	char *out;		/* what exit_handle wrote to its FILE */
	size_t out_len;
	char *err;		/* what it wrote to stderr */
	enum exit_action action;
};

/* run is filled in by the caller: hand it to exit_handle, capture all. */
static void fake_exit(struct fake *f)
{
	struct capture cap;
	struct run_options opt = { .out = open_memstream(&f->out, &f->out_len),
				   .device = f->device };

	cr_assert(opt.out,
		  "open_memstream failed: %s", errno_name(errno));
	capture_begin(&cap, 2);
	f->action = exit_handle(f->run, FAKE_RUN_SIZE, &opt, &f->stats);
	fclose(opt.out);
	f->err = capture_end(&cap);
}

static struct fake fake_new(uint32_t reason)
{
	struct fake f = { .run = calloc(1, FAKE_RUN_SIZE) };

	cr_assert(f.run,
		  "calloc of a fake kvm_run failed");
	f.run->exit_reason = reason;
	return f;
}

static void fake_free(struct fake *f)
{
	free(f->run);
	free(f->out);
	free(f->err);
}

/* An exit of KVM_EXIT_IO: count items of size bytes, data at data_offset. */
static struct fake fake_io(uint8_t direction, uint8_t size, uint16_t port,
			   uint32_t count, uint64_t data_offset)
{
	struct fake f = fake_new(KVM_EXIT_IO);

	f.run->io = (typeof(f.run->io)){ .direction = direction, .size = size,
		.port = port, .count = count, .data_offset = data_offset };
	return f;
}

/* fake_exit(), after which exit_handle must end the run: after says what. */
static void fake_exit_ends_run(struct fake *f, const char *after)
{
	fake_exit(f);
	cr_assert_eq(f->action, EXIT_ACTION_FAIL, "exit_handle must end the "
		     "run (EXIT_ACTION_FAIL) after %s; it returned %d", after,
		     f->action);
}

/* ... and after which it must go on. */
static void fake_exit_goes_on(struct fake *f, const char *after)
{
	fake_exit(f);
	cr_assert_eq(f->action, EXIT_ACTION_CONTINUE, "exit_handle must go on "
		     "(EXIT_ACTION_CONTINUE) after %s; it returned %d", after,
		     f->action);
}

Test(step10_exits, fail_entry_intel_invalid_guest_state)
{
	struct fake f = fake_new(KVM_EXIT_FAIL_ENTRY);

	f.run->fail_entry.hardware_entry_failure_reason = 0x80000021;
	f.run->fail_entry.cpu = 3;
	fake_exit_ends_run(&f, "KVM_EXIT_FAIL_ENTRY");
	assert_has(f.err, "(KVM_EXIT_FAIL_ENTRY), hardware_entry_failure_reason "
		   "0x80000021, cpu 3\n");
	assert_has(f.err, "basic reason 33, invalid guest state");
	assert_has(f.err, "write 1 to /sys/module/kvm_intel/parameters/"
		   "dump_invalid_vmcs");
	fake_free(&f);
}

Test(step10_exits, fail_entry_amd)
{
	struct fake f = fake_new(KVM_EXIT_FAIL_ENTRY);

	f.run->fail_entry.hardware_entry_failure_reason = ~0ULL;
	fake_exit_ends_run(&f, "KVM_EXIT_FAIL_ENTRY");
	assert_has(f.err, "SVM_EXIT_ERR");
	fake_free(&f);
}

Test(step10_exits, internal_error_by_name)
{
	struct fake f = fake_new(KVM_EXIT_INTERNAL_ERROR);

	f.run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	f.run->internal.ndata = 2;
	f.run->internal.data[0] = 0x1234;
	f.run->internal.data[1] = 0xabcd;
	fake_exit_ends_run(&f, "KVM_EXIT_INTERNAL_ERROR");
	assert_has(f.err, "(KVM_EXIT_INTERNAL_ERROR): KVM_INTERNAL_ERROR_EMULATION\n");
	assert_has(f.err, "  ndata=2 data[0]=0x1234 data[1]=0xabcd\n");
	fake_free(&f);
}

/* An ndata larger than data[] holds prints only what is there. */
Test(step10_exits, internal_error_ndata_clamped)
{
	struct fake f = fake_new(KVM_EXIT_INTERNAL_ERROR);

	f.run->internal.suberror = 77;
	f.run->internal.ndata = 100000;
	fake_exit_ends_run(&f, "KVM_EXIT_INTERNAL_ERROR");
	assert_has(f.err, "unknown suberror 77");
	assert_has(f.err, " data[15]=0x0\n");
	assert_lacks(f.err, "data[16]");
	fake_free(&f);
}

Test(step10_exits, unknown_exit_by_number)
{
	struct fake f = fake_new(9999);

	fake_exit_ends_run(&f, "an unknown exit");
	assert_has(f.err, "unexpected exit");
	assert_has(f.err, "9999");
	cr_assert_eq(f.stats.last_exit, 9999,
		     "exit_handle recorded last_exit %u; it must record the "
		     "exit it was given (9999)", f.stats.last_exit);
	fake_free(&f);
}

Test(step10_exits, unhandled_exit_by_name)
{
	struct fake f = fake_new(KVM_EXIT_DEBUG);

	fake_exit_ends_run(&f, "KVM_EXIT_DEBUG, which step10 does not handle");
	assert_has(f.err, "unexpected exit KVM_EXIT_DEBUG (4)\n");
	fake_free(&f);
}

/* Every exit number up to 64 has a name or is called unknown; none crash. */
Test(step10_exits, every_exit_number_named)
{
	for (uint32_t reason = 0; reason < 64; reason++) {
		const char *name = kvm_exit_name(reason);

		cr_assert(!strncmp(name, "KVM_EXIT_", 9) ||
			  strstr(name, "unknown"), "%u: %s", reason, name);
	}
	cr_assert_str_eq(kvm_exit_name(KVM_EXIT_SHUTDOWN), "KVM_EXIT_SHUTDOWN",
			 "kvm_exit_name(KVM_EXIT_SHUTDOWN) is %s",
			 kvm_exit_name(KVM_EXIT_SHUTDOWN));
	cr_assert_str_eq(kvm_exit_name(39), "KVM_EXIT_MEMORY_FAULT",
			 "kvm_exit_name(39) is %s; exit 39 is "
			 "KVM_EXIT_MEMORY_FAULT", kvm_exit_name(39));
}

Test(step10_exits, mmio_len_clamped)
{
	struct fake f = fake_new(KVM_EXIT_MMIO);

	f.run->mmio.phys_addr = 0x40000000;
	f.run->mmio.len = 200;		/* data[] holds 8 */
	f.run->mmio.is_write = 1;
	memset(f.run->mmio.data, 0xab, sizeof(f.run->mmio.data));
	fake_exit_ends_run(&f, "KVM_EXIT_MMIO");
	assert_has(f.err, "  data: ab ab ab ab ab ab ab ab\n");
	fake_free(&f);
}

/* A well-formed IO exit: the data inside the mapping is used. */
Test(step10_exits, io_out_console)
{
	struct fake f = fake_io(KVM_EXIT_IO_OUT, 2, CONSOLE_PORT, 3, 4096);

	memcpy((char *)f.run + 4096, "abcdef", 6);
	fake_exit_goes_on(&f, "an out to CONSOLE_PORT");
	cr_assert_eq(f.out_len, 6,
		     "an out of 3 items of 2 bytes to CONSOLE_PORT printed "
		     "%zu bytes, not 6", f.out_len);
	cr_assert_str_eq(f.out, "abcdef",
			 "an out of \"abcdef\" to CONSOLE_PORT printed '%s'",
			 f.out);
	cr_assert_eq(f.stats.out_bytes, 6,
		     "exit_handle counted %llu output bytes for an out of 6",
		     (unsigned long long)f.stats.out_bytes);
	fake_free(&f);
}

Test(step10_exits, io_in_fills_exactly)
{
	struct fake f = fake_io(KVM_EXIT_IO_IN, 4, 0x71, 2, 8192);
	uint8_t *data = (uint8_t *)f.run + 8192;

	fake_exit_goes_on(&f, "an in from an unhandled port");
	for (int i = 0; i < 8; i++)
		cr_assert_eq(data[i], UNHANDLED_PORT_BYTE,
			     "byte %d of the in's data is 0x%02x; an "
			     "unhandled port reads 0x%02x "
			     "(UNHANDLED_PORT_BYTE)", i, data[i],
			     UNHANDLED_PORT_BYTE);
	cr_assert_eq(data[8], 0, "wrote past size * count");
	assert_has(f.err, "guest read port 0x71 (size 4, count 2)");
	fake_free(&f);
}

/* IO exits whose data would lie outside kvm_run: refused, nothing read. */
static void io_refused(uint8_t direction, uint8_t size, uint32_t count,
		       uint64_t data_offset, const char *why)
{
	struct fake f = fake_io(direction, size, CONSOLE_PORT, count,
				data_offset);

	fake_exit(&f);
	cr_assert_eq(f.action, EXIT_ACTION_FAIL, "a KVM_EXIT_IO whose data "
		     "(data_offset %llu, size %u, count %u: %llu bytes) does "
		     "not lie inside kvm_run's %u bytes, or of a size other "
		     "than 1, 2 or 4, must be refused (EXIT_ACTION_FAIL), not "
		     "handled", (unsigned long long)data_offset, size, count,
		     (unsigned long long)size * count, (unsigned)FAKE_RUN_SIZE);
	assert_has(f.err, why);
	cr_assert_eq(f.out_len, 0, "printed data from outside kvm_run");
	fake_free(&f);
}

Test(step10_exits, io_out_past_end)
{
	io_refused(KVM_EXIT_IO_OUT, 4, 1, FAKE_RUN_SIZE - 3, "outside kvm_run");
}

Test(step10_exits, io_in_past_end)
{
	io_refused(KVM_EXIT_IO_IN, 1, 2, FAKE_RUN_SIZE - 1, "outside kvm_run");
}

Test(step10_exits, io_offset_beyond)
{
	io_refused(KVM_EXIT_IO_OUT, 1, 1, FAKE_RUN_SIZE + 1, "outside kvm_run");
	io_refused(KVM_EXIT_IO_OUT, 1, 1, 1ULL << 63, "outside kvm_run");
	io_refused(KVM_EXIT_IO_OUT, 1, 1, ~0ULL, "outside kvm_run");
}

Test(step10_exits, io_count_huge)
{
	io_refused(KVM_EXIT_IO_OUT, 4, 0xffffffff, 4096, "outside kvm_run");
}

Test(step10_exits, io_bad_size)
{
	io_refused(KVM_EXIT_IO_OUT, 3, 1, 4096, "KVM_EXIT_IO with size 3");
	io_refused(KVM_EXIT_IO_OUT, 0, 1, 4096, "KVM_EXIT_IO with size 0");
}

/* A device on one more port (struct port_device): what it was handed. */
struct device_seen {
	int calls;
	struct port_io io;
	uint8_t data[16];	/* io.data[0..bytes) when called */
	FILE *out;
	enum exit_action answer;
};

static enum exit_action device_record(void *ctx, const struct port_io *io,
				      FILE *out, struct run_stats *stats)
{
	struct device_seen *seen = ctx;

	(void)stats;
	seen->calls++;
	seen->io = *io;
	seen->out = out;
	memcpy(seen->data, io->data, io->bytes < 16 ? io->bytes : 16);
	if (io->direction == KVM_EXIT_IO_IN)
		memset(io->data, 0x5a, io->bytes);
	return seen->answer;
}

#define DEVICE_PORT 0xea

/*
 * fake_exit() of one access to the device's port (what: "out to", "in
 * from"): the device is called once, and its answer is exit_handle's.
 */
static void device_exit(struct fake *f, const struct device_seen *seen,
			const char *what)
{
	fake_exit(f);
	cr_assert_eq(seen->calls, 1, "the device was called %d times for one "
		     "%s its port", seen->calls, what);
	cr_assert_eq(f->action, seen->answer, "exit_handle returned %d; after "
		     "the device said %s it must too", f->action,
		     seen->answer == EXIT_ACTION_FAIL ? "EXIT_ACTION_FAIL" :
		     "EXIT_ACTION_CONTINUE");
}

/* An out to the device's port reaches it, checked and whole; it decides. */
Test(step10_exits, device_port_out_reaches_the_device)
{
	struct device_seen seen = { .answer = EXIT_ACTION_CONTINUE };
	const struct port_device dev = { DEVICE_PORT, device_record, &seen };
	struct fake f = fake_io(KVM_EXIT_IO_OUT, 4, DEVICE_PORT, 1, 4096);

	f.device = &dev;
	memcpy((char *)f.run + 4096, "\x78\x56\x34\x12", 4);
	device_exit(&f, &seen, "out to");
	cr_assert_eq(seen.io.direction, KVM_EXIT_IO_OUT,
		     "the device was handed direction %u; the guest's out is "
		     "KVM_EXIT_IO_OUT", seen.io.direction);
	cr_assert_eq(seen.io.size, 4,
		     "the device was handed size %u; the guest's out is 4 "
		     "bytes", seen.io.size);
	cr_assert_eq(seen.io.port, DEVICE_PORT,
		     "the device was handed port 0x%x; the guest's out is to "
		     "0x%x", seen.io.port, DEVICE_PORT);
	cr_assert_eq(seen.io.count, 1,
		     "the device was handed count %u; the guest's out is one "
		     "item", seen.io.count);
	cr_assert_eq(seen.io.bytes, 4,
		     "the device was handed %zu bytes; size 4 times count 1 "
		     "is 4", (size_t)seen.io.bytes);
	cr_assert_eq(seen.io.data, (uint8_t *)f.run + 4096,
		     "the device was handed data at %p; it lies at "
		     "data_offset 4096 in kvm_run, %p", (void *)seen.io.data,
		     (void *)((uint8_t *)f.run + 4096));
	cr_assert_eq(memcmp(seen.data, "\x78\x56\x34\x12", 4), 0,
		     "the device was handed other bytes than the guest wrote "
		     "(78 56 34 12)");
	cr_assert_neq(seen.out, NULL, "the device got no output stream");
	cr_assert_eq(f.stats.io_exits, 1,
		     "exit_handle counted %llu KVM_EXIT_IO exits for one",
		     (unsigned long long)f.stats.io_exits);
	cr_assert_str_eq(f.err, "", "the device's port was called unhandled");
	fake_free(&f);
}

/* The device's answer is the loop's: here it stops the run. */
Test(step10_exits, device_port_in_and_its_failure)
{
	struct device_seen seen = { .answer = EXIT_ACTION_FAIL };
	const struct port_device dev = { DEVICE_PORT, device_record, &seen };
	struct fake f = fake_io(KVM_EXIT_IO_IN, 2, DEVICE_PORT, 3, 8192);
	uint8_t *data = (uint8_t *)f.run + 8192;

	f.device = &dev;
	device_exit(&f, &seen, "in from");
	cr_assert_eq(seen.io.bytes, 6,
		     "the device was handed %zu bytes; size 2 times count 3 "
		     "is 6", (size_t)seen.io.bytes);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(data[i], 0x5a,
			     "byte %d of the in's data is 0x%02x; the device "
			     "filled it with 0x5a", i, data[i]);
	fake_free(&f);
}

/* Other ports, and data outside kvm_run, never reach the device. */
Test(step10_exits, device_sees_only_its_port_and_checked_data)
{
	struct device_seen seen = { .answer = EXIT_ACTION_CONTINUE };
	const struct port_device dev = { DEVICE_PORT, device_record, &seen };
	struct fake f = fake_io(KVM_EXIT_IO_OUT, 1, DEVICE_PORT + 1, 1, 4096);

	f.device = &dev;
	fake_exit(&f);
	assert_has(f.err, "unhandled port 0xeb");
	free(f.out);
	free(f.err);
	f.run->io.port = DEVICE_PORT;
	f.run->io.data_offset = FAKE_RUN_SIZE;
	fake_exit_ends_run(&f, "an out to the device's port whose data lies "
			   "outside kvm_run");
	assert_has(f.err, "outside kvm_run");
	cr_assert_eq(seen.calls, 0, "the device was called");
	fake_free(&f);
}

#else
/* --- Random bytes as guests --- */

/* xorshift64*: the same sequence on every libc. */
static uint64_t random_next(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dULL;
}

enum outcome { OUT_HLT, OUT_SHUTDOWN, OUT_MMIO, OUT_INTERNAL, OUT_FAIL_ENTRY,
	       OUT_OTHER_EXIT, OUT_TIMEOUT, OUT_COUNT };

static const char *const outcome_names[OUT_COUNT] = {
	"HLT", "SHUTDOWN", "MMIO", "INTERNAL_ERROR", "FAIL_ENTRY",
	"other exit", "TIMEOUT",
};

#define RANDOM_GUESTS		300
#define RANDOM_GUEST_MAX_LEN	64
#define RANDOM_GUEST_TIMEOUT	0.2
#define RANDOM_GUEST_SEED	0x4b564d2053544550ULL	/* "KVM STEP" */

/*
 * RANDOM_GUESTS byte strings of 1..RANDOM_GUEST_MAX_LEN bytes, each run
 * in a fresh VM with a short timeout.  Each must end in a classified
 * outcome: it halted, failed in a way step10 explains, or timed out.
 * RANDOM_GUEST_SEED=N in the environment replays another sequence.
 */
Test(step10_random, random_guests_end_classified, .timeout = 240)
{
	const char *env = getenv("RANDOM_GUEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : RANDOM_GUEST_SEED;
	uint64_t state = seed ? seed : 1;
	unsigned int tally[OUT_COUNT] = { 0 };
	FILE *devnull = fopen("/dev/null", "w");
	struct run_options opt = { .out = devnull,
				   .timeout = RANDOM_GUEST_TIMEOUT };
	int saved_err = dup(2), before = fd_count();
	double start = seconds_now();

	cr_assert(devnull && saved_err >= 0,
		  "opening /dev/null or saving stderr failed: %s",
		  errno_name(errno));
	fprintf(stderr, "random guests: seed 0x%llx, %d guests of 1..%d bytes, "
		"timeout %g s\n", (unsigned long long)seed, RANDOM_GUESTS,
		RANDOM_GUEST_MAX_LEN, RANDOM_GUEST_TIMEOUT);
	for (int i = 0; i < RANDOM_GUESTS; i++) {
		uint8_t code[RANDOM_GUEST_MAX_LEN];
		size_t len = 1 + random_next(&state) % RANDOM_GUEST_MAX_LEN;
		struct run_stats stats;
		struct vm vm;
		int status;
		enum outcome o;

		for (size_t j = 0; j < len; j++)
			code[j] = (uint8_t)(random_next(&state) >> 56);
		vm_setup_with_guest(&vm, code, len);
		dup2(fileno(devnull), 2);	/* a dump per guest: too many */
		status = vcpu_run(&vm, &vm.vcpu, &opt, &stats);
		dup2(saved_err, 2);
		vm_destroy(&vm);

		/*
		 * Only port I/O lets the run go on: a run stopped by the
		 * timeout ended on an I/O exit, or on none.  Otherwise the
		 * loop re-entered after an exit that ends the run; caught at
		 * the first such guest, not after 300 timeouts.
		 */
		cr_assert(status != EXIT_TIMEOUT || stats.exits == 0 ||
			  stats.last_exit == KVM_EXIT_IO, "guest %d (seed "
			  "0x%llx): vcpu_run went on after %s until the "
			  "timeout (%llu exits); that exit ends the run", i,
			  (unsigned long long)seed,
			  kvm_exit_name(stats.last_exit),
			  (unsigned long long)stats.exits);
		if (status == EXIT_SUCCESS)
			o = OUT_HLT;
		else if (status == EXIT_TIMEOUT)
			o = OUT_TIMEOUT;
		else if (status != EXIT_GUEST) {
			o = OUT_HLT;	/* (cr_assert_fail does not return) */
			cr_assert_fail("guest %d (seed 0x%llx): vcpu_run "
				       "returned %d", i,
				       (unsigned long long)seed, status);
		} else if (stats.last_exit == KVM_EXIT_SHUTDOWN)
			o = OUT_SHUTDOWN;
		else if (stats.last_exit == KVM_EXIT_MMIO)
			o = OUT_MMIO;
		else if (stats.last_exit == KVM_EXIT_INTERNAL_ERROR)
			o = OUT_INTERNAL;
		else if (stats.last_exit == KVM_EXIT_FAIL_ENTRY)
			o = OUT_FAIL_ENTRY;
		else
			o = OUT_OTHER_EXIT;
		tally[o]++;
	}
	fprintf(stderr, "random guests: %d runs in %.1f s:", RANDOM_GUESTS,
		seconds_now() - start);
	for (int o = 0; o < OUT_COUNT; o++)
		fprintf(stderr, " %s %u%s", outcome_names[o], tally[o],
			o + 1 < OUT_COUNT ? "," : "\n");
	cr_assert_eq(fd_count(), before, "fds leaked over the runs");
	close(saved_err);
	fclose(devnull);
}

/* hlt; jmp back to it: each KVM_RUN ends on the hlt, RIP just past it. */
static const uint8_t hlt_loop[] = { 0xf4, 0xeb, 0xfd };

/*
 * A loop that enters the guest again after KVM_EXIT_HLT: the guest halts
 * each time, RIP past its hlt, and the dump says so (KVM's halt_exits);
 * after a single KVM_EXIT_HLT it says nothing of the kind.
 */
Test(step10_dump, names_entering_again_after_hlt, .timeout = 30)
{
	struct vm vm;
	char *text = NULL;
	size_t len;
	FILE *f;

	vm_setup_with_code(&vm, hlt_loop, sizeof(hlt_loop));
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(vcpu_run_once(&vm), KVM_EXIT_HLT,
			     "KVM_RUN %d on hlt; jmp $-1 ended in %s, not "
			     "KVM_EXIT_HLT", i + 1,
			     kvm_exit_name(vm.vcpu.run->exit_reason));
		regs_after_hlt(&vm, 1);
		f = open_memstream(&text, &len);
		cr_assert(f);
		vcpu_dump(f, &vm, &vm.vcpu);
		fclose(f);
		if (i == 0)
			assert_lacks(text, "KVM_RUN entered the guest again");
		else if (i == 1)
			assert_has(text, "KVM_RUN entered the guest again after a "
				   "KVM_EXIT_HLT, 1 time ");
		else
			assert_has(text, ", 2 times ");
		free(text);
		text = NULL;
	}
	vm_destroy(&vm);
}

/*
 * After KVM_EXIT_FAIL_ENTRY no guest instruction ran: the dump says its
 * RIP is not where the guest stopped and shows no bytes there.
 */
Test(step10_dump, after_a_failed_entry_says_nothing_ran, .timeout = 30)
{
	struct kvm_sregs s;
	struct vm vm;
	char *text = NULL;
	size_t len;
	FILE *f;

	if (access("/sys/module/kvm_amd", F_OK) && access("/sys/module/kvm_intel", F_OK))
		cr_skip_test("this host's KVM is not kvm_amd or kvm_intel; "
			     "the sandbox runs this test");
	vm_setup_through(&vm, 9);
	kvm_ioctl_ok(vm.vcpu.fd, KVM_GET_SREGS, &s);
	s.cs.db = 1;			/* with L=1: reserved, the entry fails */
	kvm_ioctl_ok(vm.vcpu.fd, KVM_SET_SREGS, &s);
	cr_assert_eq(vcpu_run_once(&vm), KVM_EXIT_FAIL_ENTRY,
		     "KVM_RUN with CS.L=1 and CS.D=1 ended in %s, not "
		     "KVM_EXIT_FAIL_ENTRY", kvm_exit_name(vm.vcpu.run->exit_reason));
	f = open_memstream(&text, &len);
	cr_assert(f);
	vcpu_dump(f, &vm, &vm.vcpu);
	fclose(f);
	assert_has(text, "no guest instruction ran");
	assert_lacks(text, "bytes at RIP");
	free(text);
	vm_destroy(&vm);
}

/*
 * What a triple fault leaves in the vCPU: kvm_amd resets it before
 * KVM_EXIT_SHUTDOWN (shutdown_interception(): the VMCB is undefined after
 * a shutdown), kvm_intel keeps the state of the fault (Bochs: RIP on the
 * faulting instruction, CR2 the address of the #PF), which is what the
 * SHUTDOWN hint and the dump tell the reader.
 */
Test(step10_dump, triple_fault_state_by_vendor, .timeout = 30)
{
	static const uint8_t code[] = {
		0x48, 0xc7, 0xc0, 0x00, 0x00, 0x00, 0x40,	/* mov rax, 1 GiB */
		0x48, 0x8b, 0x18,	/* mov rbx, [rax]: #PF, unmapped */
		0xf4,			/* hlt, never reached */
	};
	const enum kvm_host host = stock_kvm_host();
	struct kvm_sregs s;
	struct kvm_regs r;
	struct vm vm;

	vm_setup_through(&vm, 9);
	memcpy(vm.mem + GUEST_LOAD_ADDR, code, sizeof(code));
	cr_assert_eq(vcpu_run_once(&vm), KVM_EXIT_SHUTDOWN, "the #PF with no "
		     "IDT ended in %s, not KVM_EXIT_SHUTDOWN",
		     kvm_exit_name(vm.vcpu.run->exit_reason));
	kvm_ioctl_ok(vm.vcpu.fd, KVM_GET_REGS, &r);
	kvm_ioctl_ok(vm.vcpu.fd, KVM_GET_SREGS, &s);
	if (host == KVM_HOST_AMD) {
		cr_assert(r.rip == 0xfff0 && s.cs.selector == 0xf000,
			  "kvm_amd must reset the vCPU before KVM_EXIT_SHUTDOWN "
			  "(CS:IP f000:fff0); it reports %04x:%llx",
			  s.cs.selector, r.rip);
	} else {
		cr_assert_eq(r.rip, GUEST_LOAD_ADDR + 7, "kvm_intel must keep "
			     "the state of the fault: RIP 0x%llx, not the "
			     "faulting mov's 0x%llx", r.rip,
			     (unsigned long long)GUEST_LOAD_ADDR + 7);
		cr_assert_eq(s.cr2, 0x40000000ULL, "CR2 0x%llx, not the "
			     "address of the #PF (0x40000000)", s.cr2);
		/* Stage 08's CR0, PE|PG, as given: no ET added (kvm_amd's has it). */
		cr_assert_eq(s.cr0, 0x80000001ULL, "CR0 0x%llx, not stage 08's "
			     "0x80000001", s.cr0);
	}
	vm_destroy(&vm);
}

/*
 * Messages: --timeout as the last argument is a usage error about
 * --timeout; a guest image whose size says 0 but has bytes (/proc) is
 * read whole.
 */
Test(step10_messages, timeout_without_value_and_a_proc_file,
     .timeout = 30)
{
	const char *argv[] = { STEP_PROGRAM, "--timeout", NULL };
	struct program_result r;
	uint8_t *image = NULL;
	size_t size = 0, want;
	char *proc;

	program_run(argv, NULL, 30, &r);
	cr_assert_eq(r.status, EXIT_USAGE, "exit %d:\n%s", r.status, r.err);
	assert_has(r.err, "step10: --timeout wants");
	program_result_free(&r);

	proc = file_read("/proc/version", &want);
	cr_assert_eq(guest_image_read("/proc/version", &image, &size), 0,
		     "/proc/version (st_size 0, %zu bytes) was refused", want);
	cr_assert(size == want && !memcmp(image, proc, want),
		  "read %zu bytes of /proc/version's %zu", size, want);
	free(image);
	free(proc);

}

/* An all-zero kvm_run read as an exit (KVM_RUN returned -1 and the loop
 * decoded it anyway) is told apart from a real KVM_EXIT_UNKNOWN. */
Test(step10_messages, exit_0_without_a_hardware_reason_names_kvm_run_failing)
{
	struct kvm_run run = { .exit_reason = KVM_EXIT_UNKNOWN };
	struct capture c;
	char *zeroed, *real;

	capture_begin(&c, 2);
	unexpected_exit_explain(&run);
	zeroed = capture_end(&c);
	run.hw.hardware_exit_reason = 0x7b;
	capture_begin(&c, 2);
	unexpected_exit_explain(&run);
	real = capture_end(&c);
	assert_has(zeroed, "unexpected exit KVM_EXIT_UNKNOWN (0)");
	assert_has(zeroed, "KVM_RUN return -1");
	assert_has(real, "unexpected exit KVM_EXIT_UNKNOWN (0)");
	assert_lacks(real, "KVM_RUN return -1");
	free(zeroed);
	free(real);
}
#endif
