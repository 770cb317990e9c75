/* SPDX-License-Identifier: MIT */
/* step10_test.c: running a guest in the test process (step10_test.h). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm_test.h"
#include "report.h"
#include "step10_test.h"

void guest_run(const uint8_t *image, size_t size, const struct run_options *opt,
	       void (*before_run)(struct vm *), struct guest_result *r)
{
	struct run_options run_opt = *opt;
	struct capture c;
	struct vm vm;

	memset(r, 0, sizeof(*r));
	vm_setup_with_guest(&vm, image, size);
	if (before_run)
		before_run(&vm);
	run_opt.out = open_memstream(&r->out, &r->len);
	cr_assert(run_opt.out,
		  "open_memstream for the guest's output failed: %s",
		  errno_name(errno));
	capture_begin(&c, 2);
	r->status = vcpu_run(&vm, &vm.vcpu, &run_opt, &r->stats);
	r->err = capture_end(&c);
	fclose(run_opt.out);
	vm_destroy(&vm);
}

void guest_file_run(const char *name, const struct run_options *opt,
		    void (*before_run)(struct vm *), struct guest_result *r)
{
	char path[512];
	uint8_t *image;
	size_t size;

	snprintf(path, sizeof(path), "%s/%s.bin", TEST_GUESTS_DIR, name);
	cr_assert_eq(guest_image_read(path, &image, &size), 0, "cannot read %s",
		     path);
	guest_run(image, size, opt, before_run, r);
	free(image);
}

void guest_result_free(struct guest_result *r)
{
	free(r->out);
	free(r->err);
}
