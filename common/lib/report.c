/* SPDX-License-Identifier: MIT */
/* report.c: stage lines, error lines and the hints for beginners' errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "vm.h"
#include "x86.h"

int stage_quiet;

void stage_say(int stage, const char *fmt, ...)
{
	va_list ap;

	if (stage_quiet)
		return;
	printf("[%02d] ", stage);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

const char *errno_name(int err)
{
	static char unknown[32];
	const char *name = strerrorname_np(err);

	if (name)
		return name;
	snprintf(unknown, sizeof(unknown), "errno %d", err);
	return unknown;
}

/*
 * The causes beginners actually hit, by call and errno.  call "*" matches
 * any call.  The first match wins, so specific rows come first; a row
 * with no hint means none (its caller gives its own).
 */
static const struct {
	const char *call;
	int err;
	const char *hint;
} hints[] = {
	{ "open /dev/kvm", ENOENT, "there is no KVM device: the kvm module is not loaded "
	  "(lsmod | grep kvm), virtualization is off in the firmware (VT-x/AMD-V "
	  "in the BIOS/UEFI setup), or this is a VM without nested virtualization; "
	  "run the tutorial in the QEMU sandbox instead: make run / make test" },
	{ "open", ENOENT, "there is no KVM device there: KVM_DEVICE names a "
	  "file that does not exist (unset it to open /dev/kvm)" },
	{ "open", EACCES, "you may not open the KVM device: join the kvm group "
	  "(sudo usermod -aG kvm $USER), then log out and in again; "
	  "do not run the tutorial as root for this (if you are in the group, "
	  "an SELinux or AppArmor denial also gives EACCES: see the audit log)" },
	{ "open", EPERM, "the device cgroup refuses the KVM device to this "
	  "process, whatever its file mode: a container started without it "
	  "(docker/podman run --device /dev/kvm); see TROUBLESHOOTING.md" },
	{ "open /dev/kvm", ENXIO, "this node's major number has no driver at "
	  "all, which /dev/kvm (10:232, a misc device) never lacks: is it a "
	  "node made by hand with other numbers? (ls -l /dev/kvm)" },
	{ "open /dev/kvm", ENODEV, "the KVM device node exists but no driver is behind it: "
	  "load kvm_intel or kvm_amd (modprobe kvm_amd)" },
	{ "open", ENXIO, "this file is not a KVM device: KVM_DEVICE names a "
	  "device node with no device behind it (unset it to open /dev/kvm)" },
	{ "open", ENODEV, "this file is not a KVM device: KVM_DEVICE names a "
	  "device node with no device behind it (unset it to open /dev/kvm)" },
	{ "open", EISDIR, "KVM_DEVICE names a directory, not the KVM device" },
	{ "open", ENOTDIR, "KVM_DEVICE names a path through a file that is "
	  "not a directory (a '/' after the device's name?)" },
	{ "KVM_GET_API_VERSION", ENOTTY, "this file is not a KVM device "
	  "(is KVM_DEVICE set to another file?)" },
	{ "KVM_GET_API_VERSION", EINVAL, "KVM_GET_API_VERSION takes no "
	  "argument: pass 0 (a KVM device refuses anything else); or this file "
	  "is not a KVM device (is KVM_DEVICE set to another file?)" },
	{ "KVM_CREATE_VM", EINVAL, "the machine type is not one this host "
	  "supports: on x86 pass 0, the default (6.1 takes nothing else)" },
	{ "KVM_CREATE_VM", ENOMEM, "the host could not allocate a VM: free some "
	  "memory or close other VMs" },
	{ "KVM_SET_TSS_ADDR", EINVAL, "the TSS address must lie below 4 GiB with "
	  "room for its three pages" },
	{ "KVM_SET_TSS_ADDR", EEXIST, "Intel without unrestricted guest only: the "
	  "TSS pages overlap a memory slot (move the TSS or the slot), or the "
	  "TSS address was set already" },
	{ "mmap", ENOMEM, "the host could not map that much memory: ask for less, "
	  "or check ulimit -v" },
	{ "mmap", ENODEV, "this file cannot be mapped: is it a vCPU fd?" },
	{ "*mmap*", EBADF, "mmap's fd is not an open file: memory that no file "
	  "backs (guest memory, fd -1) needs MAP_ANONYMOUS in the flags "
	  "(mmap(2)); a vCPU fd that is not open means an earlier stage failed" },
	{ "KVM_SET_USER_MEMORY_REGION", EEXIST, "this slot's guest physical range "
	  "overlaps another slot's: give each slot its own range" },
	{ "KVM_SET_USER_MEMORY_REGION", EINVAL, "guest physical address, host "
	  "address and size must all be multiples of the page size (4096), the "
	  "host range must lie in user space, and the slot number below "
	  "KVM_CAP_NR_MEMSLOTS; a slot already in use keeps its size and host "
	  "address (only its GPA and its dirty-logging flag may change; size 0 "
	  "deletes it)" },
	{ "KVM_SET_USER_MEMORY_REGION", EFAULT, "KVM could not read the struct "
	  "kvm_userspace_memory_region: the argument pointer is bad (KVM does "
	  "not check that the host range is mapped; that fails at KVM_RUN)" },
	{ "KVM_CREATE_VCPU", EEXIST, "a vCPU with this id exists already: each "
	  "vCPU needs its own id" },
	{ "KVM_CREATE_VCPU", EINVAL, "the vCPU id is not below KVM_CAP_MAX_VCPU_ID, "
	  "or the VM cannot take more vCPUs, or the ioctl went to /dev/kvm "
	  "instead of the VM fd" },
	{ "KVM_GET_VCPU_MMAP_SIZE", ENOTTY, "ask /dev/kvm, not a VM fd" },
	{ "KVM_GET_VCPU_MMAP_SIZE", EINVAL, "ask /dev/kvm, not a vCPU fd" },
	{ "KVM_SET_SREGS", EINVAL, "KVM refused this state: EFER.LME needs long "
	  "mode in the vCPU's CPUID (stage 06's KVM_SET_CPUID2); EFER.LME with "
	  "CR0.PG needs EFER.LMA and CR4.PAE; CR0.PG needs CR0.PE; outside "
	  "long mode CS.L must be 0; CR0's upper 32 bits are reserved, which a "
	  "sign-extended 1 << 31 sets (write 1ULL << 31); step08's README" },
	{ "KVM_RUN", EFAULT, "the guest touched guest memory whose host pages "
	  "are not mapped: was guest memory unmapped (or never mapped) while a "
	  "slot still pointed at it?" },
	{ "KVM_RUN", EINVAL, "KVM_RUN takes 0 as its argument, kvm_run's "
	  "kvm_valid_regs and kvm_dirty_regs must hold no unknown bits, and "
	  "without an in-kernel local APIC kvm_run's cr8 (loaded into CR8 at "
	  "each KVM_RUN) no bits above 3; a guest state KVM cannot enter is an "
	  "exit (FAIL_ENTRY, or INTERNAL_ERROR where KVM emulates it), not "
	  "this error" },
	{ "KVM_REGISTER_COALESCED_MMIO", EINVAL, "KVM refused the zone: its pio "
	  "field must be 0 or 1 (whether port I/O can be coalesced at all is "
	  "KVM_CAP_COALESCED_PIO)" },
	{ "*", ENOTTY, "this ioctl was sent to the wrong kind of fd "
	  "(/dev/kvm, VM and vCPU fds each take their own; a VM fd answers "
	  "ENOTTY to others, /dev/kvm and vCPU fds answer EINVAL)" },
	{ "*", EMFILE, "this process has too many open files: check ulimit -n" },
	{ "*", ENFILE, "the system has too many open files" },
	/* No hint here: stdout_finish() says what a closed stdout means. */
	{ "writing to stdout", EBADF, NULL },
	{ "*", EBADF, "the fd is not open: did an earlier stage fail? (An mmap "
	  "of fd -1 without MAP_ANONYMOUS fails so too: mmap(2))" },
};

/*
 * "open" matches "open" and "open /dev/kvm"; "*" matches every call;
 * "*mmap*" every call whose name contains "mmap", in any case (attendees
 * name their calls as they like).
 */
static int call_matches(const char *pattern, const char *call)
{
	size_t n = strlen(pattern);

	if (!strcmp(pattern, "*"))
		return 1;
	if (n > 2 && pattern[0] == '*' && pattern[n - 1] == '*') {
		char word[32];

		snprintf(word, sizeof(word), "%.*s", (int)(n - 2), pattern + 1);
		return strcasestr(call, word) != NULL;
	}
	return !strncmp(pattern, call, n) && (call[n] == '\0' || call[n] == ' ');
}

const char *errno_hint(const char *call, int err)
{
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
		if (hints[i].err != err)
			continue;
		if (call_matches(hints[i].call, call))
			return hints[i].hint;
	}
	return NULL;
}

/* "step08: KVM_SET_SREGS failed: EINVAL (Invalid argument)" on stderr. */
static void failed_line(const char *call, int err)
{
	fflush(stdout);
	report_repeats_end();
	fprintf(stderr, "%s: %s failed: %s (%s)\n", program_invocation_short_name,
		call, errno_name(err), strerror(err));
}

int report_errno(const char *call, int err)
{
	const char *hint = errno_hint(call, err);

	failed_line(call, err);
	if (hint)
		report_hint("%s", hint);
	return -1;
}

const char *sregs_broken_rule(const struct kvm_sregs *s)
{
	int long_mode = (s->efer & EFER_LME) && (s->cr0 & CR0_PG);

	if (s->cr0 >> 32)
		return "CR0's bits 32-63 are reserved, and they are set: a "
		       "sign-extended 1 << 31 (an int) sets them all; write "
		       "CR0_PG as 1ULL << 31";
	if ((s->cr0 & CR0_PG) && !(s->cr0 & CR0_PE))
		return "CR0.PG needs CR0.PE: paging only in protected mode";
	if (long_mode && !(s->cr4 & CR4_PAE))
		return "EFER.LME with CR0.PG is long mode, which needs CR4.PAE";
	if (long_mode && !(s->efer & EFER_LMA))
		return "EFER.LME with CR0.PG is long mode: set EFER.LMA too "
		       "(KVM_SET_SREGS checks EFER as given; it does not set "
		       "LMA for you)";
	if (!long_mode && (s->efer & EFER_LMA))
		return "EFER.LMA without both EFER.LME and CR0.PG: long mode "
		       "cannot be active";
	if (!long_mode && s->cs.l)
		return "CS.L=1 outside long mode (that needs EFER.LME, "
		       "EFER.LMA and CR0.PG)";
	if ((s->cr0 & CR0_NW) && !(s->cr0 & CR0_CD))
		return "CR0.NW needs CR0.CD";
	return NULL;
}

int report_sregs_refused(const struct kvm_sregs *s, int err)
{
	const char *rule = err == EINVAL ? sregs_broken_rule(s) : NULL;

	if (!rule)
		return report_errno("KVM_SET_SREGS", err);
	failed_line("KVM_SET_SREGS", err);
	report_hint("%s (CR0=0x%llx CR4=0x%llx EFER=0x%llx CS.L=%d); "
		    "step08's README", rule, (unsigned long long)s->cr0,
		    (unsigned long long)s->cr4, (unsigned long long)s->efer,
		    s->cs.l);
	return -1;
}

/*
 * A line that repeats (a guest writing an unhandled port in a loop) is
 * printed REPORT_BURST times, then counted until another line comes:
 * stderr stays readable.  (The kernel's printk_ratelimit() also prints a
 * burst and counts the rest, but of all messages, per 5 s interval.)
 */
#define REPORT_BURST	5
static char last_line[1024];
static unsigned long repeats;	/* times last_line came again */
static int hint_muted;		/* the line was not printed: nor its hint */

void report_repeats_end(void)
{
	if (repeats >= REPORT_BURST)
		fprintf(stderr, "%s: the line above came %lu more times\n",
			program_invocation_short_name, repeats - REPORT_BURST + 1);
	repeats = 0;
	last_line[0] = '\0';
	hint_muted = 0;
}

int report(const char *fmt, ...)
{
	char line[sizeof(last_line)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fflush(stdout);
	if (last_line[0] && !strcmp(line, last_line)) {
		hint_muted = ++repeats >= REPORT_BURST;
		if (hint_muted)
			return -1;
	} else {
		report_repeats_end();
		snprintf(last_line, sizeof(last_line), "%s", line);
	}
	fprintf(stderr, "%s: %s\n", program_invocation_short_name, line);
	return -1;
}

void report_hint(const char *fmt, ...)
{
	va_list ap;

	if (hint_muted)
		return;
	fputs("  hint: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
