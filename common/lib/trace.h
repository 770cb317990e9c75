/* SPDX-License-Identifier: MIT */
/*
 * trace.h: every ioctl() a step makes passes through __wrap_ioctl()
 * (the linker's --wrap=ioctl, set in common/rules.mk), which can print it
 * decoded.  The steps' code calls plain ioctl() and does not change.
 * The trace goes to stderr, one line per call ("ioctl(FD, NAME, ARG) =
 * RESULT"; after KVM_RUN the exit and its details), so stdout stays the
 * program's own.
 */
#ifndef TRACE_H
#define TRACE_H

/* Turn tracing on or off; it starts on when KVM_TRACE is set and not "0". */
void trace_enable(int on);
int trace_enabled(void);

/*
 * The test seam, defined in the test programs only (tests/kvm_test.c):
 * in a step's own program this weak reference resolves to nothing.  When
 * set, called before each ioctl.  Return nonzero to skip the real call;
 * *result (and errno) is then what ioctl() returns.
 */
extern int (*ioctl_hook)(int fd, unsigned long request, void *arg,
			 int *result) __attribute__((weak));

#endif
