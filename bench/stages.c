/* SPDX-License-Identifier: MIT */
/* stages.c: step10's stages one by one, and stage 05 against memory. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "bench.h"

const char *const stage_names[ST_COUNT] = {
	"01 open /dev/kvm", "02 KVM_GET_API_VERSION", "03 KVM_CREATE_VM",
	"04 KVM_SET_TSS_ADDR", "05 memory (2 MiB)", "06 vCPU + CPUID",
	"07 kvm_run mmap", "08 sregs (long mode)", "09 KVM_SET_REGS",
	"10 load guest", "10 run to hlt", "vm_destroy",
};

const unsigned long long memory_sizes[N_MEMORY] = {
	2ULL << 20, 64ULL << 20, 1ULL << 30, 4ULL << 30, 16ULL << 30,
};

/* The way step10's main chains the stages, with a clock between them. */
int stages_time(double t[ST_COUNT], struct run_stats *stats)
{
	struct vm vm = VM_EMPTY;
	struct run_options opt = { .out = devnull, .timeout = 10 };
	double t0 = now_us();
	int ok;

#define STAGE(id, call) \
	(ok = (call) >= 0, t[id] = now_us() - t0, t0 = now_us(), ok)
	if (!STAGE(ST_OPEN, kvm_open(&vm)) ||
	    !STAGE(ST_VERSION, kvm_check_api_version(&vm)) ||
	    !STAGE(ST_CREATE, vm_create(&vm)) ||
	    !STAGE(ST_TSS, vm_set_tss_addr(&vm)) ||
	    !STAGE(ST_MEMORY, vm_memory_add(&vm, GUEST_MEM_SIZE)) ||
	    !STAGE(ST_VCPU, vcpu_create(&vm, &vm.vcpu, 0)) ||
	    !STAGE(ST_MMAP, vcpu_map_run(&vm, &vm.vcpu)) ||
	    !STAGE(ST_SREGS, vcpu_enter_long_mode(&vm, &vm.vcpu)) ||
	    !STAGE(ST_REGS, vcpu_regs_set(&vm.vcpu)) ||
	    !STAGE(ST_LOAD, guest_load(&vm, guest_image,
				       guest_image_end - guest_image)) ||
	    !STAGE(ST_RUN, vcpu_run(&vm, &vm.vcpu, &opt, stats) == EXIT_SUCCESS ? 0 : -1)) {
		vm_destroy(&vm);
		return -1;
	}
#undef STAGE
	vm_destroy(&vm);
	t[ST_DESTROY] = now_us() - t0;
	return 0;
}

/* The mmap that vm_memory_add makes, alone: microseconds, or -1. */
static double mmap_time(size_t size)
{
	double t0 = now_us(), t;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	t = now_us() - t0;
	if (p == MAP_FAILED)
		return -1;
	munmap(p, size);
	return t;
}

/* A new VM each run; only vm_memory_add is on the clock. */
void memory_bench(unsigned long long size, struct memory_result *res)
{
	double *t = calloc(runs, sizeof(*t)), *m = calloc(runs, sizeof(*m));

	res->size = size;
	res->refused = t && m ? 0 : ENOMEM;
	for (int i = 0; !res->refused && i < runs; i++) {
		struct vm vm = VM_EMPTY;
		double t0;
		int r;

		if (kvm_open(&vm) < 0 || vm_create(&vm) < 0) {
			res->refused = errno ? errno : EIO;
			vm_destroy(&vm);
			break;
		}
		t0 = now_us();
		r = vm_memory_add(&vm, size);
		t[i] = now_us() - t0;
		if (r < 0)
			res->refused = errno ? errno : EIO;
		vm_destroy(&vm);
		if (r < 0)
			break;
		m[i] = mmap_time(size);
	}
	if (!res->refused) {
		res->us = summarize(t, runs);
		res->mmap_us = summarize(m, runs);
	}
	free(t);
	free(m);
}
