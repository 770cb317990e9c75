/* SPDX-License-Identifier: MIT */
/* kvm_names.h: the names of KVM's numbers, for messages and traces. */
#ifndef KVM_NAMES_H
#define KVM_NAMES_H

#include <stdint.h>

/* "KVM_EXIT_HLT" for 5; "unknown" for a number <linux/kvm.h> does not name. */
const char *kvm_exit_name(uint32_t reason);

/* "KVM_INTERNAL_ERROR_EMULATION" for 1, and so on. */
const char *kvm_internal_error_name(uint32_t suberror);

/* "KVM_CREATE_VM" for KVM_CREATE_VM; NULL if not a KVM ioctl we know. */
const char *kvm_ioctl_name(unsigned long request);

#endif
