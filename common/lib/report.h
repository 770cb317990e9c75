/* SPDX-License-Identifier: MIT */
/*
 * report.h: what a step prints.  One line per stage on stdout as it
 * succeeds; on failure one line on stderr naming the program, the call,
 * the errno's name and text, then a hint about the likely cause.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdio.h>

/* Set to 1 to silence stage_say() (benchmarks, some tests). */
extern int stage_quiet;

/* "[05] text": the line a stage prints when it has done its work. */
void stage_say(int stage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * "step05: KVM_SET_USER_MEMORY_REGION failed: EEXIST (File exists)",
 * then "  hint: ..." when a likely cause is known.  err is an errno
 * value.  Returns -1, so a stage can end with "return report_errno(...)".
 */
int report_errno(const char *call, int err);

struct kvm_sregs;

/*
 * report_errno("KVM_SET_SREGS", err), except that when err is EINVAL and
 * s breaks one of the rules kvm_is_valid_sregs() and kvm_is_valid_cr0()
 * check (arch/x86/kvm/regs.c; x86.c in 6.1), the hint names that rule and
 * the values.
 */
int report_sregs_refused(const struct kvm_sregs *s, int err);

/* The rule of kvm_is_valid_sregs()/kvm_is_valid_cr0() s breaks, or NULL. */
const char *sregs_broken_rule(const struct kvm_sregs *s);

/* "step02: text" on stderr, for failures that have no errno.  Returns -1. */
int report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A line report() prints again and again (a guest in a loop) is shown
 * five times, then counted: this prints the count, if any, and
 * forgets the line.  stdout_finish() calls it as a program ends.
 */
void report_repeats_end(void);

/* "  hint: text" on stderr (not after a line report() held back). */
void report_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "EEXIST" for EEXIST; "errno 4095" for a number it does not know. */
const char *errno_name(int err);

/* The hint report_errno() prints for call failing with err, or NULL. */
const char *errno_hint(const char *call, int err);

#endif
