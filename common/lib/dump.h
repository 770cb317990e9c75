/* SPDX-License-Identifier: MIT */
/* dump.h: the vCPU's state, printed for a reader to debug a failed guest. */
#ifndef DUMP_H
#define DUMP_H

#include <stdio.h>

#include "vm.h"

/*
 * Print RIP, RSP, RAX..R15, RFLAGS, CR0/CR3/CR4/EFER with their set bits
 * named, CS and SS with their attributes, and the bytes at RIP when they
 * lie in guest memory.  Reads the registers with KVM_GET_REGS/SREGS.
 */
void vcpu_dump(FILE *out, const struct vm *vm, const struct vcpu *vcpu);

/* "  CS selector=0x0008 base=0x0 ... l=1 d=0 g=1": one segment register. */
void segment_print(FILE *out, const char *name, const struct kvm_segment *s);

#endif
