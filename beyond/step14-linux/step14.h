/* SPDX-License-Identifier: MIT */
/* step14.h: the Linux chapter's machine, for step14.c and its tests.
 * The boot protocol: the kernel's Documentation/arch/x86/boot.rst
 * (Documentation/x86/boot.rst in Debian's 6.1). */
#ifndef STEP14_H
#define STEP14_H

#include <asm/bootparam.h>
#include <stdint.h>
#include <stdio.h>

#include "run.h"
#include "vm.h"

/* Guest memory: one slot from GPA 0, all of it inside stage 08's map. */
#define LINUX_MEM_SIZE		(256ULL << 20)
#define BOOT_PARAMS_ADDR	0x10000ULL	/* struct boot_params, "zero page" */
#define CMDLINE_ADDR		0x20000ULL	/* the kernel command line */
#define LOW_RAM_END		0xa0000ULL	/* 640 KiB; VGA and BIOS above */
#define KERNEL_ADDR		0x100000ULL	/* the protected-mode kernel: 1 MiB */
#define KERNEL_ENTRY_64		0x200		/* boot.rst: 64-bit entry offset */

/* boot.rst, "64-bit Boot Protocol": the selectors the entry expects. */
#define BOOT_CS			0x10
#define BOOT_DS			0x18

/* Fields of the setup header (boot.rst, "The Real-Mode Kernel Header"). */
#define SETUP_HEADER_OFFSET	0x1f1	/* struct setup_header in the file */
#define SETUP_HEADER_JUMP_END	0x202	/* after the jump; its byte at 0x201 */
#define SETUP_HEADER_MAGIC	0x53726448	/* "HdrS" */
#define BOOT_PROTOCOL_64	0x020c	/* 2.12: xloadflags, the 64-bit entry */
#define LOADER_UNDEFINED	0xff	/* type_of_loader: no assigned id */
#define E820_RAM		1	/* e820 type: usable memory */

/* CPUID leaf 1 ECX bit 31: 0 on hardware (SDM Vol. 2A "CPUID"),
 * X86_FEATURE_HYPERVISOR in the kernel's cpufeatures.h. */
#define CPUID_FEATURES		1u
#define CPUID_1_ECX_HYPERVISOR	(1U << 31)
#define CPUID_ENTRIES_MAX	256	/* a vCPU's table; KVM's has < 100 */

/*
 * The reset the kernel asks of the keyboard controller (port 0x64) and the
 * BIOS's reset flag at 0x472, where arch/x86/kernel/reboot.c writes 0x1234
 * for a warm reset and 0 for a cold one before it resets.
 */
#define KBD_STATUS_PORT		0x64
#define KBD_DATA_PORT		0x60
#define KBD_CMD_RESET		0xfe	/* pulse the CPU's reset line */
#define BIOS_RESET_FLAG_ADDR	0x472
#define BIOS_RESET_FLAG_WARM	0x1234

/* The 16550 UART of COM1 on IRQ 4 (PC/AT), for console=ttyS0. */
#define UART_PORT		0x3f8
#define UART_PORTS		8
#define UART_IRQ		4
#define UART_THR		0	/* write: transmit; read: RBR */
#define UART_IER		1	/* interrupt enable */
#define UART_IIR		2	/* read: interrupt id; write: FCR */
#define UART_LCR		3	/* line control */
#define UART_MCR		4	/* modem control */
#define UART_LSR		5	/* line status */
#define UART_MSR		6	/* modem status */
#define UART_SCR		7	/* scratch */
#define UART_IER_THRI		(1U << 1)	/* interrupt when THR is empty */
#define UART_IIR_NO_INT		(1U << 0)	/* no interrupt pending */
#define UART_IIR_THRI		(1U << 1)	/* pending: THR empty */
#define UART_IIR_FIFOS		(3U << 6)	/* FIFOs on (a 16550A) */
#define UART_FCR_FIFO		(1U << 0)	/* FCR: enable the FIFOs */
#define UART_LCR_DLAB		(1U << 7)	/* registers 0-1: divisor latch */
#define UART_LSR_THRE		(1U << 5)	/* THR empty */
#define UART_LSR_TEMT		(1U << 6)	/* transmitter empty */
#define UART_MSR_CONNECTED	0xb0	/* DCD, DSR, CTS: a cable, ready */

/* The UART's registers, as the guest wrote them. */
struct uart {
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	uint8_t thre_pending;	/* THR empty, not yet read from IIR */
	uint8_t irq_level;	/* what KVM was last told of IRQ 4 */
};

/* The machine the exit hook serves: memory, the UART, what ended it. */
struct machine {
	struct vm *vm;
	struct uart uart;
	int powered_off;	/* the guest reset it cold: its power-off */
};

/* Stage 14: the in-kernel PIC, IOAPIC, local APIC and PIT; CPUID leaf 1
 * saying "hypervisor present".  0, or -1 after reporting. */
int linux_irqchip_create(struct vm *vm);
int cpuid_hypervisor_set(struct vm *vm);

/*
 * Load a bzImage and an initrd (their bytes) into guest memory and fill
 * boot_params; 0, or -1 after saying what is wrong with them.
 */
int linux_load(struct vm *vm, const uint8_t *kernel, size_t kernel_size,
	       const uint8_t *initrd, size_t initrd_size, const char *cmdline);

/* The 64-bit entry: boot.rst's selectors, RIP and RSI; 0, or -1. */
int linux_enter(struct vm *vm);

/* Step 10's loop with the machine's port I/O as its exit hook. */
int linux_run(struct machine *m, const struct run_options *opt,
	      struct run_stats *stats);

/* The exit hook: the UART, the keyboard controller's reset, other ports. */
enum exit_action machine_exit(void *ctx, struct kvm_run *run, FILE *out,
			      struct run_stats *stats);

#endif
