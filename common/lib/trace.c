/* SPDX-License-Identifier: MIT */
/*
 * trace.c: the ioctl wrapper behind KVM_TRACE=1 and --trace.
 *
 * Each ioctl is printed on stderr after it returns, like strace but
 * decoded: "ioctl(FD, NAME, ARGUMENT) = RESULT".  Structures are printed
 * by their meaningful fields; KVM_SET_SREGS and KVM_GET_SREGS take two
 * more lines.  After KVM_RUN comes the exit reason and its details.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dump.h"
#include "kvm_names.h"
#include "report.h"
#include "trace.h"
#include "x86.h"

static int trace_state = -1;	/* -1: not decided yet, read KVM_TRACE */

void trace_enable(int on)
{
	trace_state = on;
}

int trace_enabled(void)
{
	if (trace_state < 0) {
		const char *env = getenv("KVM_TRACE");

		trace_state = env && *env && strcmp(env, "0");
	}
	return trace_state;
}

/* The capabilities the steps ask about, by name; NULL for the others. */
static const char *cap_name(unsigned long cap)
{
#define CAP(x) case x: return #x
	switch (cap) {
	CAP(KVM_CAP_IRQCHIP); CAP(KVM_CAP_HLT); CAP(KVM_CAP_USER_MEMORY);
	CAP(KVM_CAP_SET_TSS_ADDR); CAP(KVM_CAP_NR_VCPUS);
	CAP(KVM_CAP_NR_MEMSLOTS); CAP(KVM_CAP_COALESCED_MMIO);
	CAP(KVM_CAP_SYNC_MMU); CAP(KVM_CAP_MAX_VCPUS);
	CAP(KVM_CAP_IMMEDIATE_EXIT); CAP(KVM_CAP_COALESCED_PIO);
	CAP(KVM_CAP_CHECK_EXTENSION_VM); CAP(KVM_CAP_EXT_CPUID);
	}
#undef CAP
	return NULL;
}

/* "0x80000011 <PE|ET|PG>" */
static void reg_print(FILE *out, const char *name, uint64_t value,
		      const struct bit_name *bits)
{
	char buf[256];

	fprintf(out, "%s=0x%llx", name, (unsigned long long)value);
	if (bits && value)		/* no "<0x0>" for a clear register */
		fprintf(out, " <%s>", bits_describe(buf, sizeof(buf), value, bits));
}

/* bytes as hex, then as text when they all are: 48 69 0a "Hi\n"; 16 at most. */
static void bytes_print(FILE *out, const uint8_t *data, size_t n)
{
	size_t shown = n < 16 ? n : 16;
	int text = 1;

	for (size_t i = 0; i < shown; i++) {
		fprintf(out, "%s%02x", i ? " " : "", data[i]);
		if ((data[i] < 0x20 || data[i] >= 0x7f) && data[i] != '\n' &&
		    data[i] != '\t')
			text = 0;
	}
	if (shown < n)
		fprintf(out, " ... (%zu bytes)", n);
	if (!text)
		return;
	fputs(" \"", out);
	for (size_t i = 0; i < shown; i++) {
		if (data[i] == '\n')
			fputs("\\n", out);
		else if (data[i] == '\t')
			fputs("\\t", out);
		else if (data[i] == '"' || data[i] == '\\')
			fprintf(out, "\\%c", data[i]);
		else
			fputc(data[i], out);
	}
	fputc('"', out);
}

/*
 * The size of the struct request's argument points to, for the requests
 * printed by their fields; 0 for the others (a number, or not shown).
 */
static size_t arg_struct_size(unsigned long request)
{
	switch (request) {
	case KVM_INTERRUPT: return sizeof(struct kvm_interrupt);
	case KVM_CREATE_PIT2: return sizeof(struct kvm_pit_config);
	case KVM_SET_USER_MEMORY_REGION:
		return sizeof(struct kvm_userspace_memory_region);
	case KVM_REGISTER_COALESCED_MMIO:
	case KVM_UNREGISTER_COALESCED_MMIO:
		return sizeof(struct kvm_coalesced_mmio_zone);
	case KVM_GET_REGS:
	case KVM_SET_REGS: return sizeof(struct kvm_regs);
	case KVM_GET_SUPPORTED_CPUID:
	case KVM_GET_CPUID2:
	case KVM_SET_CPUID2: return sizeof(struct kvm_cpuid2);
	case KVM_GET_SREGS:
	case KVM_SET_SREGS: return sizeof(struct kvm_sregs);
	}
	return 0;
}

/*
 * Copy n bytes at src into dst without touching src directly: through
 * process_vm_readv on this very process, which fails (EFAULT) where a
 * read would fault, e.g. for a struct passed by value instead of by
 * address.  0, or -1 with errno set.
 */
static int arg_copy(void *dst, const void *src, size_t n)
{
	struct iovec local = { .iov_base = dst, .iov_len = n };
	struct iovec remote = { .iov_base = (void *)src, .iov_len = n };
	ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);

	if (got == (ssize_t)n)
		return 0;
	if (got >= 0)
		errno = EFAULT;	/* only part of it is readable */
	return -1;
}

/*
 * ", " and the argument, as it was passed in (SET) or came back (GET),
 * or nothing for the ioctls that take none; a struct is read into copy
 * first, and an unreadable one is said to be so.  Returns nonzero when
 * continuation lines (of copy, a struct kvm_sregs) are due after the
 * result.
 */
static int arg_print(FILE *out, unsigned long request, void *arg_passed,
		     int ok, void *copy)
{
	unsigned long n = (unsigned long)arg_passed;
	size_t size = arg_struct_size(request);
	void *arg = size ? copy : arg_passed;

	switch (request) {
	case KVM_GET_API_VERSION:	/* no argument: none is shown */
	case KVM_GET_VCPU_MMAP_SIZE:
	case KVM_RUN:
	case KVM_GET_STATS_FD:
		return 0;
	}
	fputs(", ", out);
	if (size && arg_copy(copy, arg_passed, size) < 0) {
		fprintf(out, "0x%lx <unreadable (%s): %s takes the address of "
			"its struct>", n, errno_name(errno),
			kvm_ioctl_name(request));
		return 0;
	}
	switch (request) {
	case KVM_CREATE_VM:
		fprintf(out, "type %lu", n);
		return 0;
	case KVM_CREATE_VCPU:
		fprintf(out, "id %lu", n);
		return 0;
	case KVM_INTERRUPT:
		fprintf(out, "vector %u", ((const struct kvm_interrupt *)arg)->irq);
		return 0;
	case KVM_CREATE_PIT2:
		fprintf(out, "{flags 0x%x}", ((const struct kvm_pit_config *)arg)->flags);
		return 0;
	case KVM_SET_TSS_ADDR:
		fprintf(out, "0x%lx", n);
		return 0;
	case KVM_CHECK_EXTENSION: {
		const char *name = cap_name(n);

		if (name)
			fprintf(out, "%s", name);
		else
			fprintf(out, "cap %lu", n);
		return 0;
	}
	case KVM_SET_USER_MEMORY_REGION: {
		const struct kvm_userspace_memory_region *r = arg;

		fprintf(out, "{slot %u, flags 0x%x, GPA 0x%llx, size 0x%llx "
			"(%llu KiB), host 0x%llx}", r->slot, r->flags,
			(unsigned long long)r->guest_phys_addr,
			(unsigned long long)r->memory_size,
			(unsigned long long)r->memory_size >> 10,
			(unsigned long long)r->userspace_addr);
		return 0;
	}
	case KVM_REGISTER_COALESCED_MMIO:
	case KVM_UNREGISTER_COALESCED_MMIO: {
		const struct kvm_coalesced_mmio_zone *z = arg;

		fprintf(out, "{%s 0x%llx, size %u}", z->pio ? "port" : "GPA",
			(unsigned long long)z->addr, z->size);
		return 0;
	}
	case KVM_GET_REGS:
	case KVM_SET_REGS: {
		const struct kvm_regs *r = arg;

		if (!ok && request == KVM_GET_REGS) {
			fputs("{...}", out);
			return 0;
		}
		fputc('{', out);
		reg_print(out, "RIP", r->rip, NULL);
		reg_print(out, ", RSP", r->rsp, NULL);
		reg_print(out, ", RFLAGS", r->rflags, rflags_bits);
		fputc('}', out);
		return 0;
	}
	case KVM_GET_SUPPORTED_CPUID:
	case KVM_GET_CPUID2:
	case KVM_SET_CPUID2:
		fprintf(out, "{nent %u}", ((const struct kvm_cpuid2 *)arg)->nent);
		return 0;
	case KVM_GET_SREGS:
	case KVM_SET_SREGS:
		fputs("{...}", out);
		return ok || request == KVM_SET_SREGS;
	default:
		fprintf(out, "0x%lx", n);
		return 0;
	}
}

/* Control registers and CS/SS, on the lines after KVM_[GS]ET_SREGS. */
static void sregs_print(FILE *out, const struct kvm_sregs *s)
{
	fputs("  ", out);
	reg_print(out, "CR0", s->cr0, cr0_bits);
	reg_print(out, " CR3", s->cr3, NULL);
	reg_print(out, " CR4", s->cr4, cr4_bits);
	reg_print(out, " EFER", s->efer, efer_bits);
	fputc('\n', out);
	segment_print(out, "CS", &s->cs);
	segment_print(out, "SS", &s->ss);
}

/*
 * The exit KVM_RUN just reported.  We read it through a second view of
 * our own (MAP_SHARED, read-only) of the vCPU's region: the kernel offers
 * the same pages to every mmap of the vCPU fd, so no step has to tell us
 * where its own mapping is.  The view lives only while we print.
 */
static void exit_print(FILE *out, int vcpu_fd)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t size = (KVM_PIO_PAGE_OFFSET + 1) * page;	/* kvm_run, PIO data */
	struct kvm_run *run;
	uint32_t reason;

	run = mmap(NULL, size, PROT_READ, MAP_SHARED, vcpu_fd, 0);
	if (run == MAP_FAILED) {
		fprintf(out, ", exit unknown (mmap of the vCPU: %s)",
			errno_name(errno));
		return;
	}
	reason = run->exit_reason;
	fprintf(out, ", %s", kvm_exit_name(reason));
	switch (reason) {
	case KVM_EXIT_IO: {
		typeof(run->io) io = run->io;
		size_t bytes = (size_t)io.size * io.count;

		fprintf(out, ": %s port 0x%x, size %u, count %u",
			io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			io.port, io.size, io.count);
		if (io.direction != KVM_EXIT_IO_OUT)
			break;
		if (io.data_offset > size || bytes > size - io.data_offset) {
			fprintf(out, ", data at offset %llu",
				(unsigned long long)io.data_offset);
			break;
		}
		fputs(", data ", out);
		bytes_print(out, (uint8_t *)run + io.data_offset, bytes);
		break;
	}
	case KVM_EXIT_MMIO: {
		typeof(run->mmio) mmio = run->mmio;

		fprintf(out, ": %s %u bytes at GPA 0x%llx",
			mmio.is_write ? "write" : "read", mmio.len,
			(unsigned long long)mmio.phys_addr);
		if (mmio.is_write) {
			fputs(", data ", out);
			bytes_print(out, mmio.data, mmio.len <= 8 ? mmio.len : 8);
		}
		break;
	}
	case KVM_EXIT_FAIL_ENTRY:
		fprintf(out, ": hardware_entry_failure_reason 0x%llx, cpu %u",
			(unsigned long long)
			run->fail_entry.hardware_entry_failure_reason,
			run->fail_entry.cpu);
		break;
	case KVM_EXIT_INTERNAL_ERROR: {
		typeof(run->internal) in = run->internal;
		uint32_t n = in.ndata < 16 ? in.ndata : 16;

		fprintf(out, ": %s, ndata %u", kvm_internal_error_name(in.suberror),
			in.ndata);
		for (uint32_t i = 0; i < n; i++)
			fprintf(out, " 0x%llx", (unsigned long long)in.data[i]);
		break;
	}
	}
	munmap(run, size);
}

static void trace_ioctl(int fd, unsigned long request, void *arg, int ret,
			int err)
{
	const char *name = kvm_ioctl_name(request);
	/* The argument's struct, as read; as large as any arg_struct_size(). */
	union {
		struct kvm_sregs sregs;
		struct kvm_regs regs;
		struct kvm_userspace_memory_region region;
		struct kvm_coalesced_mmio_zone zone;
		struct kvm_cpuid2 cpuid;
		struct kvm_interrupt interrupt;
	} copy;
	int more;

	flockfile(stderr);	/* one call's lines whole, whatever other threads print */
	if (name)
		fprintf(stderr, "ioctl(%d, %s", fd, name);
	else
		fprintf(stderr, "ioctl(%d, 0x%lx", fd, request);
	more = arg_print(stderr, request, arg, ret >= 0, &copy);
	if (ret < 0)
		fprintf(stderr, ") = -1 %s (%s)", errno_name(err), strerror(err));
	else
		fprintf(stderr, ") = %d", ret);
	/* After EINTR or any failure, exit_reason is stale: say nothing. */
	if (request == KVM_RUN && ret == 0)
		exit_print(stderr, fd);
	fputc('\n', stderr);
	if (more)
		sregs_print(stderr, &copy.sregs);
	funlockfile(stderr);
}

int __real_ioctl(int fd, unsigned long request, ...);

int __wrap_ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;
	int ret, err;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);

	if (&ioctl_hook && ioctl_hook && ioctl_hook(fd, request, arg, &ret))
		return ret;
	ret = __real_ioctl(fd, request, arg);
	err = errno;
	if (trace_enabled())
		trace_ioctl(fd, request, arg, ret, err);
	errno = err;
	return ret;
}
