/* SPDX-License-Identifier: MIT */
/*
 * faults.h: make one system call fail, for real, inside a test.
 *
 * fault_inject() installs a seccomp filter (SECCOMP_RET_ERRNO) in the
 * calling process: from then on the kernel answers the chosen system
 * call, when its arguments match, with -1 and the chosen errno, without
 * running it.  Every other call runs as usual, so Criterion's own
 * reporting is untouched.  A filter cannot be removed: Criterion runs
 * each test in its own process, and the filter ends with it.
 */
#ifndef FAULTS_H
#define FAULTS_H

#include <stdint.h>

/* An argument index that matches any value. */
#define FAULT_ANY	(-1)

/*
 * Make system call nr fail with err whenever argument a equals va and
 * argument b equals vb (low 32 bits of each; FAULT_ANY for no
 * condition).  Returns 0, or -1 with errno set if the filter could not
 * be installed.  Filters add up: each installed one stays in force.
 */
int fault_inject(long nr, int err, int a, uint32_t va, int b, uint32_t vb);

/* Make ioctl(fd, request, ...) fail with err, on any fd. */
int fault_inject_ioctl(unsigned long request, int err);

#endif
