/* SPDX-License-Identifier: MIT */
/* faults.c: seccomp fault injection (see faults.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "faults.h"

/* Where the low 32 bits of argument i lie in struct seccomp_data (x86-64). */
#define ARG_LOW(i)	(offsetof(struct seccomp_data, args) + 8 * (i))

int fault_inject(long nr, int err, int a, uint32_t va, int b, uint32_t vb)
{
	/*
	 * Jump offsets count instructions to skip.  Any mismatch jumps to
	 * the last instruction, ALLOW; an unused argument test becomes a
	 * load and a jump that always matches.
	 */
	struct sock_filter code[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, arch)),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 7),
		/* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, nr)),
		/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 5),
		/* 4 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LOW(a < 0 ? 0 : a)),
		/* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, va, 0, 3),
		/* 6 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LOW(b < 0 ? 0 : b)),
		/* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, vb, 0, 1),
		/* 8 */ BPF_STMT(BPF_RET | BPF_K,
				 SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
		/* 9 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]),
				   .filter = code };

	if (a < 0)	/* compare nothing: jump on both outcomes to the next */
		code[5] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0);
	if (b < 0)
		code[7] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0);
	if (a > 5 || b > 5 || err <= 0 || err > 4095) {
		errno = EINVAL;
		return -1;
	}
	/* Without this an unprivileged process may not install a filter. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0 ? -1 : 0;
}

int fault_inject_ioctl(unsigned long request, int err)
{
	/* The request is an unsigned long, but only its low 32 bits count. */
	return fault_inject(SYS_ioctl, err, 1, (uint32_t)request, FAULT_ANY, 0);
}

/*
 * Under AddressSanitizer (make check) LeakSanitizer reports, at exit,
 * what Criterion's runner allocates once and never frees; that is not
 * ours to fix.  Every test program links this file, so say it once here.
 */
#if defined(__SANITIZE_ADDRESS__)
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libcriterion.so\n";
}

const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
	return "print_suppressions=0";
}
#endif
