/* SPDX-License-Identifier: MIT */
/* x86.c: names for the bits in x86.h, for dumps and traces. */
#include <stdio.h>
#include <string.h>

#include "x86.h"

#define BIT(name, prefix) { prefix##name, #name }

const struct bit_name cr0_bits[] = {
	BIT(PE, CR0_), BIT(MP, CR0_), BIT(EM, CR0_), BIT(TS, CR0_),
	BIT(ET, CR0_), BIT(NE, CR0_), BIT(WP, CR0_), BIT(AM, CR0_),
	BIT(NW, CR0_), BIT(CD, CR0_), BIT(PG, CR0_), { 0, NULL },
};

const struct bit_name cr4_bits[] = {
	BIT(VME, CR4_), BIT(PVI, CR4_), BIT(TSD, CR4_), BIT(DE, CR4_),
	BIT(PSE, CR4_), BIT(PAE, CR4_), BIT(MCE, CR4_), BIT(PGE, CR4_),
	BIT(PCE, CR4_), BIT(OSFXSR, CR4_), BIT(OSXMMEXCPT, CR4_),
	BIT(UMIP, CR4_), BIT(LA57, CR4_), BIT(VMXE, CR4_), BIT(SMXE, CR4_),
	BIT(FSGSBASE, CR4_), BIT(PCIDE, CR4_), BIT(OSXSAVE, CR4_),
	BIT(SMEP, CR4_), BIT(SMAP, CR4_), BIT(PKE, CR4_), { 0, NULL },
};

const struct bit_name efer_bits[] = {
	BIT(SCE, EFER_), BIT(LME, EFER_), BIT(LMA, EFER_), BIT(NXE, EFER_),
	BIT(SVME, EFER_), { 0, NULL },
};

const struct bit_name rflags_bits[] = {
	BIT(CF, RFLAGS_), BIT(RESERVED_1, RFLAGS_), BIT(PF, RFLAGS_),
	BIT(AF, RFLAGS_), BIT(ZF, RFLAGS_), BIT(SF, RFLAGS_), BIT(TF, RFLAGS_),
	BIT(IF, RFLAGS_), BIT(DF, RFLAGS_), BIT(OF, RFLAGS_), BIT(IOPL, RFLAGS_),
	BIT(NT, RFLAGS_), BIT(RF, RFLAGS_), BIT(VM, RFLAGS_), BIT(AC, RFLAGS_),
	BIT(VIF, RFLAGS_), BIT(VIP, RFLAGS_), BIT(ID, RFLAGS_), { 0, NULL },
};

char *bits_describe(char *buf, size_t size, uint64_t value,
		    const struct bit_name *names)
{
	size_t used = 0;
	uint64_t rest = value;

	buf[0] = '\0';
	for (; names->name; names++) {
		if (!(value & names->bit))
			continue;
		used += snprintf(buf + used, used < size ? size - used : 0,
				 "%s%s", used ? "|" : "", names->name);
		rest &= ~names->bit;
	}
	if (rest || !value)
		snprintf(buf + used, used < size ? size - used : 0,
			 "%s0x%llx", used ? "|" : "", (unsigned long long)rest);
	return buf;
}
