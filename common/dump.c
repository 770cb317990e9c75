/* SPDX-License-Identifier: MIT */
/* dump.c: a register dump a reader can use. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "dump.h"
#include "report.h"
#include "x86.h"

void segment_print(FILE *out, const char *name, const struct kvm_segment *s)
{
	fprintf(out, "  %s selector=0x%04x base=0x%llx limit=0x%x type=0x%x "
		"present=%d dpl=%d s=%d l=%d d=%d g=%d\n", name, s->selector,
		(unsigned long long)s->base, s->limit, s->type, s->present,
		s->dpl, s->s, s->l, s->db, s->g);
}

/* " PE|PG" for a register's set bits; nothing when none is set. */
static const char *bits_named(char *buf, size_t size, uint64_t value,
			      const struct bit_name *names)
{
	if (!value)
		return "";
	buf[0] = ' ';
	bits_describe(buf + 1, size - 1, value, names);
	return buf;
}

void vcpu_dump(FILE *out, const struct vm *vm)
{
	vcpu_fd_dump(out, vm, vm->vcpu_fd);
}

void vcpu_fd_dump(FILE *out, const struct vm *vm, int vcpu_fd)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	char bits[256];

	if (ioctl(vcpu_fd, KVM_GET_REGS, &r) < 0) {
		report_errno("KVM_GET_REGS", errno);
		return;
	}
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &s) < 0) {
		report_errno("KVM_GET_SREGS", errno);
		return;
	}
	fprintf(out, "vCPU registers:\n"
		"  RIP=0x%016llx RSP=0x%016llx RBP=0x%016llx\n"
		"  RAX=0x%016llx RBX=0x%016llx RCX=0x%016llx\n"
		"  RDX=0x%016llx RSI=0x%016llx RDI=0x%016llx\n"
		"  R8 =0x%016llx R9 =0x%016llx R10=0x%016llx\n"
		"  R11=0x%016llx R12=0x%016llx R13=0x%016llx\n"
		"  R14=0x%016llx R15=0x%016llx\n",
		r.rip, r.rsp, r.rbp, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi,
		r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15);
	fprintf(out, "  RFLAGS=0x%llx%s\n", r.rflags,
		bits_named(bits, sizeof(bits), r.rflags, rflags_bits));
	fprintf(out, "  CR0=0x%llx%s\n", s.cr0,
		bits_named(bits, sizeof(bits), s.cr0, cr0_bits));
	fprintf(out, "  CR2=0x%llx CR3=0x%llx\n", s.cr2, s.cr3);
	fprintf(out, "  CR4=0x%llx%s\n", s.cr4,
		bits_named(bits, sizeof(bits), s.cr4, cr4_bits));
	fprintf(out, "  EFER=0x%llx%s\n", s.efer,
		bits_named(bits, sizeof(bits), s.efer, efer_bits));
	segment_print(out, "CS", &s.cs);
	segment_print(out, "SS", &s.ss);

	/* After a triple fault some hosts (AMD) reset the vCPU before exiting. */
	if (r.rip == 0xfff0 && s.cs.selector == 0xf000) {
		fprintf(out, "  this is the reset state (CS:IP f000:fff0): the "
			"vCPU was reset after it failed, so these registers do "
			"not show where the guest was\n");
		return;
	}

	/* Guest memory is identity-mapped, so RIP is a guest physical address. */
	if (vm->mem && r.rip < vm->mem_size) {
		size_t n = vm->mem_size - r.rip < 16 ? vm->mem_size - r.rip : 16;

		fprintf(out, "  bytes at RIP:");
		for (size_t i = 0; i < n; i++)
			fprintf(out, " %02x", vm->mem[r.rip + i]);
		fputc('\n', out);
	} else if (vm->mem) {
		fprintf(out, "  RIP is outside guest memory (0x0-0x%zx)\n",
			vm->mem_size - 1);
	}
}
