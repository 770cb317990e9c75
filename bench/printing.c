/* SPDX-License-Identifier: MIT */
/*
 * printing.c: a guest prints a message of N bytes, four ways (plain out,
 * rep outsb, a batched doorbell, coalesced port I/O); each run is timed
 * as vcpu_run() to hlt (for the coalesced variant, with the zone's
 * registration before it), and vm_destroy() after it on its own clock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "bench.h"
#include "coalesced_ring.h"
#include "report.h"

/* The batched guest's doorbell: as in bench/guests/doorbell.asm. */
#define DOORBELL_PORT	0xea
/* Where the benchmark puts the message a guest prints (rsi points here). */
#define MESSAGE_GPA	0x100000ULL
#define MESSAGE_MAX	(GUEST_STACK_TOP - GUEST_STACK_SIZE - MESSAGE_GPA)

#define GREETING	"Hello from a 64-bit KVM guest!\n"

const struct variant variants[N_VARIANTS] = {
	{ "plain out", "plain", "plain", 0, 0 },
	{ "rep outsb", "rep_outsb", "rep_outsb", 0, 0 },
	{ "batched doorbell", "doorbell", "doorbell", 0, 1 },
	{ "coalesced", "coalesced", "plain", 1, 0 },
};
static const struct variant noout = { "no out", "noout", "noout", 0, 0 };

const size_t message_sizes[N_SIZES] = { 31, 1000, 5000, 20000 };

int variant_find(const char *id)
{
	for (int k = 0; k < N_VARIANTS; k++)
		if (!strcmp(variants[k].id, id))
			return k;
	return -1;
}

/* len bytes of the greeting, repeated; the 31-byte message is the greeting. */
static void message_fill(char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = GREETING[i % (sizeof(GREETING) - 1)];
}

/* Read bench/guests/NAME.bin (assembled by bench/Makefile). */
static int bench_guest_read(const char *name, uint8_t **image, size_t *size)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s.bin", BENCH_GUESTS_DIR, name);
	return guest_image_read(path, image, size);
}

/*
 * A VM through stage 10's load, quietly, with msg at MESSAGE_GPA and the
 * guest's arguments in its registers: rsi = MESSAGE_GPA, rcx = len.
 */
static int message_vm_build(struct vm *vm, const uint8_t *image, size_t size,
			    const char *msg, size_t len)
{
	struct kvm_regs regs;

	*vm = (struct vm)VM_EMPTY;
	if (len > MESSAGE_MAX)
		return report("a message of %zu bytes does not fit below the "
			      "guest's stack (at most %llu)", len, MESSAGE_MAX);
	if (kvm_open(vm) < 0 || kvm_check_api_version(vm) < 0 ||
	    vm_create(vm) < 0 || vm_set_tss_addr(vm) < 0 ||
	    vm_memory_add(vm, GUEST_MEM_SIZE) < 0 || vcpu_create(vm, &vm->vcpu, 0) < 0 ||
	    vcpu_map_run(vm, &vm->vcpu) < 0 || vcpu_enter_long_mode(vm, &vm->vcpu) < 0 ||
	    vcpu_regs_set(&vm->vcpu) < 0 || guest_load(vm, image, size) < 0)
		return -1;
	memcpy(vm->mem + MESSAGE_GPA, msg, len);
	if (ioctl(vm->vcpu.fd, KVM_GET_REGS, &regs) < 0)
		return report_errno("KVM_GET_REGS", errno);
	regs.rsi = MESSAGE_GPA;
	regs.rcx = len;
	if (ioctl(vm->vcpu.fd, KVM_SET_REGS, &regs) < 0)
		return report_errno("KVM_SET_REGS", errno);
	return 0;
}

/*
 * The guest rang the doorbell with the address of a record in its
 * memory: a 32-bit length, then that many bytes.  The guest chose both
 * numbers: the whole record must lie inside guest memory.
 */
static int doorbell_ring(struct vm *vm, uint32_t gpa, FILE *out,
			 struct run_stats *stats)
{
	uint32_t len;

	if (vm->mem_size < 4 || gpa > vm->mem_size - 4)
		return report("doorbell: record at GPA 0x%x is outside guest "
			      "memory", gpa);
	memcpy(&len, vm->mem + gpa, sizeof(len));	/* read it once */
	if (len > vm->mem_size - 4 - gpa)
		return report("doorbell: record at GPA 0x%x claims %u bytes, "
			      "past the end of guest memory", gpa, len);
	fwrite(vm->mem + gpa + 4, 1, len, out);
	stats->out_bytes += len;
	return 0;
}

/*
 * The doorbell device on DOORBELL_PORT, for step10's run loop: one
 * 4-byte out of a record's address; anything else there is a guest bug.
 */
static enum exit_action doorbell_io(void *ctx, const struct port_io *io,
				    FILE *out, struct run_stats *stats)
{
	uint32_t gpa;

	if (io->direction != KVM_EXIT_IO_OUT || io->size != 4 || io->count != 1) {
		report("doorbell: port 0x%x takes one 4-byte out, not %s of "
		       "size %u, count %u", io->port,
		       io->direction == KVM_EXIT_IO_OUT ? "an out" : "an in",
		       io->size, io->count);
		return EXIT_ACTION_FAIL;
	}
	memcpy(&gpa, io->data, sizeof(gpa));
	if (doorbell_ring(ctx, gpa, out, stats) < 0)
		return EXIT_ACTION_FAIL;
	return EXIT_ACTION_CONTINUE;
}

/* Coalesced port I/O (step 11): before each exit, what the ring holds. */
static enum exit_action ring_exit(void *ctx, struct kvm_run *run, FILE *out,
				  struct run_stats *stats)
{
	(void)run;
	if (coalesced_ring_drain(ctx, out, stats) < 0)
		return EXIT_ACTION_FAIL;
	return EXIT_ACTION_PASS;
}

static void ring_leave(void *ctx, FILE *out, struct run_stats *stats)
{
	coalesced_ring_drain(ctx, out, stats);
}

/* Run a built VM the variant's way, in step10's run loop: an exit status. */
static int variant_run(struct vm *vm, const struct variant *v, FILE *out,
		       struct run_stats *stats)
{
	const struct kvm_coalesced_mmio_zone console = {
		.addr = CONSOLE_PORT, .size = 1, .pio = 1,
	};
	struct port_device doorbell = {
		.port = DOORBELL_PORT, .io = doorbell_io, .ctx = vm,
	};
	struct run_hooks ring = { .exit = ring_exit, .leave = ring_leave };
	struct run_options opt = {
		.out = out, .timeout = 60,
		.device = v->doorbell ? &doorbell : NULL,
		.hooks = v->coalesce ? &ring : NULL,
	};

	if (v->coalesce && !(ring.ctx = coalesced_ring_setup(vm, &console)))
		return EXIT_SETUP;
	return vcpu_run(vm, &vm->vcpu, &opt, stats);
}

/* One VM: build, run (timed into *run_us), destroy (into *teardown_us). */
static int message_run(const struct variant *v, const uint8_t *image,
		       size_t size, const char *msg, size_t len, FILE *out,
		       struct run_stats *stats, double *run_us,
		       double *teardown_us)
{
	struct vm vm;
	double t0;
	int status = EXIT_SETUP;

	if (message_vm_build(&vm, image, size, msg, len) == 0) {
		t0 = now_us();
		status = variant_run(&vm, v, out, stats);
		*run_us = now_us() - t0;
	}
	t0 = now_us();
	vm_destroy(&vm);
	*teardown_us = now_us() - t0;
	return status;
}

/* The checked run: into memory, counting exits, compared byte for byte. */
static int message_check(const struct variant *v, const uint8_t *image,
			 size_t size, const char *msg, size_t len,
			 struct message_result *res)
{
	char *got = NULL;
	size_t got_len = 0;
	FILE *mem = open_memstream(&got, &got_len);
	struct run_stats stats;
	double run_us, teardown_us;
	int status;

	if (!mem)
		return report_errno("open_memstream", errno);
	status = message_run(v, image, size, msg, len, mem, &stats, &run_us,
			     &teardown_us);
	fclose(mem);
	res->exits = stats.exits;
	res->verified = got_len == len && !memcmp(got, msg, len);
	free(got);
	if (status != EXIT_SUCCESS)
		return -1;
	if (v != &noout && !res->verified)
		report("%s, %zu bytes: the output differs from the message "
		       "(%zu bytes came)", v->name, len, got_len);
	return 0;
}

int message_bench(int variant, size_t len, struct message_result *res)
{
	const struct variant *v = variant < 0 ? &noout : &variants[variant];
	double *t = calloc(2 * (size_t)runs, sizeof(*t)), *td = t + runs;
	char *msg = malloc(len + 1);
	struct run_stats stats;
	uint8_t *image = NULL;
	size_t size;
	int err = -1;

	if (!msg || !t) {
		report_errno("malloc", ENOMEM);
		goto out;
	}
	if (bench_guest_read(v->guest, &image, &size) < 0)
		goto out;
	message_fill(msg, len);
	res->bytes = len;
	if (message_check(v, image, size, msg, len, res) < 0)
		goto out;
	for (int i = 0; i < runs; i++)
		if (message_run(v, image, size, msg, len, devnull, &stats,
				&t[i], &td[i]) != EXIT_SUCCESS)
			goto out;
	res->us = summarize(t, runs);
	res->teardown_us = summarize(td, runs);
	err = 0;
out:
	free(image);
	free(msg);
	free(t);
	return err;
}

int message_once(int variant, size_t len)
{
	const struct variant *v = &variants[variant];
	char *msg = malloc(len + 1);
	struct run_stats stats;
	uint8_t *image = NULL;
	size_t size;
	double run_us, teardown_us;
	int status = EXIT_SETUP;

	if (!msg) {
		report_errno("malloc", ENOMEM);
		return EXIT_SETUP;
	}
	if (bench_guest_read(v->guest, &image, &size) == 0) {
		message_fill(msg, len);
		status = message_run(v, image, size, msg, len, stdout, &stats,
				     &run_us, &teardown_us);
	}
	free(image);
	free(msg);
	return status;
}
