/* SPDX-License-Identifier: MIT */
/*
 * kvm_test.h: helpers the step tests share.  Each Criterion test runs in
 * its own process, so a test builds its VM in its body or .init, never at
 * file scope.
 */
#ifndef KVM_TEST_H
#define KVM_TEST_H

#include <stddef.h>

#include "vm.h"

/* Perform stages 1..last quietly, asserting each succeeds. */
void vm_setup_through(struct vm *vm, int last);

/* What a program run by program_run() did. */
struct program_result {
	int status;		/* exit status, or 128 + signal number */
	char *out, *err;	/* NUL-terminated captured stdout, stderr */
	size_t out_len, err_len;
};

/*
 * Run argv[0] with the environment plus env (NULL-terminated "K=V"
 * strings, or NULL), stdin from /dev/null, capturing stdout and stderr;
 * kill it after timeout_s seconds (status 128 + SIGKILL then).
 */
void program_run(const char *const argv[], const char *const env[],
		 double timeout_s, struct program_result *r);
void program_result_free(struct program_result *r);

/* Read a whole file into a NUL-terminated malloc'd buffer; asserts. */
char *file_read(const char *path, size_t *size);

/* The number of open fds in this process (entries in /proc/self/fd). */
int fd_count(void);

#endif
