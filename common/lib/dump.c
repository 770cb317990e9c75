/* SPDX-License-Identifier: MIT */
/* dump.c: a register dump a reader can use. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

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

/*
 * The vCPU statistic called name, from KVM's binary statistics
 * (KVM_GET_STATS_FD, api.rst; Linux 5.14 on), or -1 when this KVM has
 * none by that name.  x86's "halt_exits" counts the guest's hlt
 * instructions that ended KVM_RUN (__kvm_emulate_halt() in x86.c).
 */
static long long vcpu_stat(int vcpu_fd, const char *name)
{
	struct kvm_stats_header head;
	long long value = -1;
	size_t desc_size;
	char *descs = NULL;
	int fd = ioctl(vcpu_fd, KVM_GET_STATS_FD, 0UL);

	if (fd < 0)
		return -1;
	if (pread(fd, &head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
	    head.num_desc > 4096 || head.name_size > 4096)
		goto out;
	desc_size = sizeof(struct kvm_stats_desc) + head.name_size;
	descs = malloc(desc_size * head.num_desc);
	if (!descs || pread(fd, descs, desc_size * head.num_desc,
			    head.desc_offset) != (ssize_t)(desc_size * head.num_desc))
		goto out;
	for (uint32_t i = 0; i < head.num_desc; i++) {
		struct kvm_stats_desc *d = (void *)(descs + i * desc_size);
		uint64_t data;

		if (strncmp(d->name, name, head.name_size))
			continue;
		if (pread(fd, &data, sizeof(data), head.data_offset + d->offset) ==
		    (ssize_t)sizeof(data))
			value = (long long)data;
		break;
	}
out:
	free(descs);
	close(fd);
	return value;
}

/*
 * What a reader would otherwise misread in the dump: a guest that halted
 * and was entered again (said only without an in-kernel irqchip, whose
 * halts never reach us: KVM_GET_IRQCHIP fails with ENXIO then), and,
 * after a failed entry, a RIP where no guest instruction ran.
 */
static void dump_explain(FILE *out, const struct vm *vm,
			 const struct vcpu *vcpu)
{
	/* With an in-kernel irqchip KVM handles hlt itself, and counts it. */
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_PIC_MASTER };
	int irqchip = ioctl(vm->fd, KVM_GET_IRQCHIP, &chip) == 0;
	long long halts = irqchip ? -1 : vcpu_stat(vcpu->fd, "halt_exits");
	int ended_on_hlt = vcpu->run && vcpu->run->exit_reason == KVM_EXIT_HLT;
	long long again = halts - (halts > 0 && ended_on_hlt);

	if (again > 0)
		fprintf(out, "  hint: KVM_RUN entered the guest again after a "
			"KVM_EXIT_HLT, %lld time%s (KVM's halt_exits count): "
			"unless something is meant to wake it (an interrupt, "
			"step 12), KVM_EXIT_HLT ends the run; entering again "
			"runs whatever follows the hlt\n", again,
			again == 1 ? "" : "s");
	if (vcpu->run && vcpu->run->exit_reason == KVM_EXIT_FAIL_ENTRY)
		fprintf(out, "  no guest instruction ran (the entry failed), so "
			"RIP is not where the guest stopped: it is what the CPU "
			"wrote back on the failed entry (AMD: the VMCB's, which "
			"svm_vcpu_run() copies; the sandbox's emulated CPU writes "
			"the guest RIP's page plus the page offset of kvm_amd's "
			"own vmrun instruction: 0x10209 on Debian's 6.1, "
			"0x10c5d on its 6.12)\n");
}

void vcpu_dump(FILE *out, const struct vm *vm, const struct vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	char bits[256];

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0) {
		report_errno("KVM_GET_REGS", errno);
		return;
	}
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
		report_errno("KVM_GET_SREGS", errno);
		return;
	}
	dump_explain(out, vm, vcpu);
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
	if (vcpu->run && vcpu->run->exit_reason == KVM_EXIT_FAIL_ENTRY)
		return;		/* no guest instruction ran: see above */
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
