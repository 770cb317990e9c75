/* SPDX-License-Identifier: MIT */
/*
 * exit_explain.h: what step10 says about the exits that end a run badly:
 * what happened, the numbers KVM gave, and what to check.  Each prints
 * on stderr only; exit_handle() decides what happens next.
 */
#ifndef EXIT_EXPLAIN_H
#define EXIT_EXPLAIN_H

#include <linux/kvm.h>

/* KVM_EXIT_MMIO: the address, the size, the data of a write. */
void mmio_explain(const struct kvm_run *run);

/* KVM_EXIT_SHUTDOWN: a triple fault, and why these guests get one. */
void shutdown_explain(const struct kvm_run *run);

/* KVM_EXIT_FAIL_ENTRY: the hardware's reason, decoded for Intel and AMD. */
void fail_entry_explain(const struct kvm_run *run);

/* KVM_EXIT_INTERNAL_ERROR: the suberror by name, and its data[]. */
void internal_error_explain(const struct kvm_run *run);

#endif
