/* SPDX-License-Identifier: MIT */
/*
 * step10_test.h: running a guest in the test process, for step10's test
 * files (test_step10*.c), which link step10's own stage.
 */
#ifndef STEP10_TEST_H
#define STEP10_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "step10.h"

struct guest_result {
	int status;		/* what vcpu_run() returned */
	char *out;		/* the guest's port 0xE9 output */
	size_t len;
	char *err;		/* what the run wrote to stderr */
	struct run_stats stats;
};

/*
 * Set up stages 01-09, load image (asserting it lands at GUEST_LOAD_ADDR),
 * call before_run (if any) to prepare guest memory, and run it with
 * opt's timeout and coalescing; output and stderr are kept in r.
 */
void guest_run(const uint8_t *image, size_t size, const struct run_options *opt,
	       void (*before_run)(struct vm *), struct guest_result *r);

/* The same for tests/guests/NAME.asm, as built into TEST_GUESTS_DIR/NAME.bin. */
void guest_file_run(const char *name, const struct run_options *opt,
		    void (*before_run)(struct vm *), struct guest_result *r);

void guest_result_free(struct guest_result *r);

#endif
