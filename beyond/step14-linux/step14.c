/* SPDX-License-Identifier: MIT */
/*
 * step14: boot Debian's own Linux kernel to a user space of our own.
 * We do what a boot loader does (Documentation/arch/x86/boot.rst;
 * Documentation/x86/boot.rst in Debian's 6.1): the bzImage's
 * protected-mode kernel at 1 MiB, boot_params, the 64-bit entry in stage
 * 08's long mode.  KVM emulates the interrupt controllers and
 * timer (stage 14); we play a 16550 UART for console=ttyS0 through step
 * 10's exit hook.  The kernel's reset through the keyboard controller
 * ends the run: cold after our init's reboot(), status 0; warm after a
 * panic, status 3.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm_names.h"
#include "report.h"
#include "run.h"
#include "std_streams.h"
#include "step14.h"
#include "stop_signals.h"
#include "vm.h"
#include "x86.h"

_Static_assert(LINUX_MEM_SIZE <= GUEST_IDENTITY_SIZE,
	       "the 64-bit entry needs all of memory identity-mapped");

/* What the kernel is told; --append adds to it. */
#define CMDLINE_DEFAULT "console=ttyS0 panic=-1 reboot=panic_warm " \
	"initcall_blacklist=i8042_init,cmos_init"
/* A kernel in the sandbox takes about 30 s to reach user space. */
#define LINUX_TIMEOUT_SECONDS 300.0

/* region: linux_irqchip_create */
/*
 * Stage 14: interrupt controllers and a timer, emulated in the kernel.
 * KVM_CREATE_IRQCHIP makes the PC's two 8259 PICs and an IOAPIC, and
 * gives every vCPU created after it a local APIC; KVM_CREATE_PIT2 adds an
 * 8254 timer on ports 0x40-0x43 wired to IRQ 0, the PC's timer (Linux
 * can do with the local APIC's alone).  Our UART raises IRQ 4 through
 * KVM_IRQ_LINE.
 */
int linux_irqchip_create(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = 0 };	/* port 0x61 stays ours */

	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0UL) < 0)
		return report_errno("KVM_CREATE_IRQCHIP", errno);
	if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0)
		return report_errno("KVM_CREATE_PIT2", errno);
	stage_say(14, "KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2: PICs, IOAPIC, "
		  "local APIC and PIT in the kernel");
	return 0;
}
/* endregion: linux_irqchip_create */

/* region: cpuid_hypervisor_set */
/*
 * KVM's supported CPUID (stage 06) leaves out "a hypervisor is present"
 * (leaf 1, ECX bit 31): the VMM sets it.  Linux then reads KVM's leaves
 * at 0x40000000 and uses KVM's clock (kvm-clock) instead of calibrating
 * one against the PIT.
 */
int cpuid_hypervisor_set(struct vm *vm)
{
	struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) +
					  CPUID_ENTRIES_MAX * sizeof(cpuid->entries[0]));
	int err = 0;

	if (!cpuid)
		return report_errno("calloc", errno);
	cpuid->nent = CPUID_ENTRIES_MAX;
	if (ioctl(vm->vcpu.fd, KVM_GET_CPUID2, cpuid) < 0) {
		err = report_errno("KVM_GET_CPUID2", errno);
	} else {
		for (uint32_t i = 0; i < cpuid->nent; i++)
			if (cpuid->entries[i].function == CPUID_FEATURES)
				cpuid->entries[i].ecx |= CPUID_1_ECX_HYPERVISOR;
		if (ioctl(vm->vcpu.fd, KVM_SET_CPUID2, cpuid) < 0)
			err = report_errno("KVM_SET_CPUID2", errno);
	}
	free(cpuid);
	if (!err)
		stage_say(14, "KVM_SET_CPUID2: CPUID 1 ECX bit 31, a hypervisor "
			  "is present");
	return err;
}
/* endregion: cpuid_hypervisor_set */

/* Stages 01-08 with stage 14 before the vCPU, and LINUX_MEM_SIZE of memory. */
static int linux_vm_build(struct vm *vm)
{
	if (kvm_open(vm) < 0 ||				/* 01 */
	    kvm_check_api_version(vm) < 0 ||		/* 02 */
	    vm_create(vm) < 0 ||			/* 03 */
	    vm_set_tss_addr(vm) < 0 ||			/* 04 */
	    linux_irqchip_create(vm) < 0 ||			/* 14: before any vCPU */
	    vm_memory_add(vm, LINUX_MEM_SIZE) < 0 ||	/* 05 */
	    vcpu_create(vm, &vm->vcpu, 0) < 0 ||	/* 06 */
	    cpuid_hypervisor_set(vm) < 0 ||		/* 14 */
	    vcpu_map_run(vm, &vm->vcpu) < 0 ||		/* 07 */
	    vcpu_enter_long_mode(vm, &vm->vcpu) < 0)	/* 08 */
		return -1;
	return 0;
}

/* region: linux_load */
int linux_load(struct vm *vm, const uint8_t *kernel, size_t kernel_size,
	       const uint8_t *initrd, size_t initrd_size, const char *cmdline)
{
	struct boot_params *bp = (struct boot_params *)(vm->mem + BOOT_PARAMS_ADDR);
	struct setup_header hdr;
	size_t setup_size, hdr_size, cmdline_size = strlen(cmdline) + 1;
	uint64_t initrd_addr, kernel_end;

	if (kernel_size < SETUP_HEADER_JUMP_END + sizeof(hdr))
		return report("the kernel is %zu bytes: too small for a bzImage",
			      kernel_size);
	memcpy(&hdr, kernel + SETUP_HEADER_OFFSET, sizeof(hdr));
	if (hdr.header != SETUP_HEADER_MAGIC)
		return report("the kernel is no bzImage: no \"HdrS\" at 0x202");
	if (hdr.version < BOOT_PROTOCOL_64 || !(hdr.xloadflags & XLF_KERNEL_64))
		return report("the kernel (boot protocol %u.%02u) has no 64-bit "
			      "entry; it needs 2.12 and XLF_KERNEL_64",
			      hdr.version >> 8, hdr.version & 0xff);
	/* The real-mode part: boot sector and setup_sects sectors (0: 4). */
	setup_size = ((hdr.setup_sects ? hdr.setup_sects : 4) + 1) * 512;
	/* The header runs to the jump's target (byte 0x201 is its offset). */
	hdr_size = SETUP_HEADER_JUMP_END + kernel[0x201] - SETUP_HEADER_OFFSET;
	/* The kernel decompresses itself at pref_address or, with KASLR, at a
	 * random place above it that avoids the initrd; it needs init_size. */
	kernel_end = (hdr.pref_address > KERNEL_ADDR ? hdr.pref_address :
		      KERNEL_ADDR) + hdr.init_size;
	initrd_addr = ((hdr.initrd_addr_max + 1ULL < LINUX_MEM_SIZE ?
			hdr.initrd_addr_max + 1ULL : LINUX_MEM_SIZE) - initrd_size)
		      & ~(PAGE_SIZE_4K - 1);
	if (setup_size >= kernel_size || hdr_size > sizeof(hdr) ||
	    initrd_size > LINUX_MEM_SIZE / 2 || initrd_addr < kernel_end ||
	    KERNEL_ADDR + kernel_size - setup_size > kernel_end)
		return report("the kernel (%zu bytes, init_size %u) and initrd "
			      "(%zu bytes) do not fit in %llu MiB", kernel_size,
			      hdr.init_size, initrd_size, LINUX_MEM_SIZE >> 20);
	if (cmdline_size - 1 > hdr.cmdline_size)	/* the size without NUL */
		return report("the command line is %zu bytes; this kernel takes "
			      "%u", cmdline_size - 1, hdr.cmdline_size);

	memcpy(vm->mem + KERNEL_ADDR, kernel + setup_size, kernel_size - setup_size);
	memcpy(vm->mem + initrd_addr, initrd, initrd_size);
	memcpy(vm->mem + CMDLINE_ADDR, cmdline, cmdline_size);

	memset(bp, 0, sizeof(*bp));
	memcpy(&bp->hdr, kernel + SETUP_HEADER_OFFSET, hdr_size);
	bp->hdr.type_of_loader = LOADER_UNDEFINED;
	bp->hdr.cmd_line_ptr = CMDLINE_ADDR;
	bp->hdr.ramdisk_image = (uint32_t)initrd_addr;
	bp->hdr.ramdisk_size = (uint32_t)initrd_size;
	/* The memory map a BIOS would give (e820): RAM below 640 KiB and
	 * from 1 MiB; the hole between is where VGA and the BIOS were. */
	bp->e820_table[0] = (struct boot_e820_entry){
		.addr = 0, .size = LOW_RAM_END, .type = E820_RAM };
	bp->e820_table[1] = (struct boot_e820_entry){
		.addr = KERNEL_ADDR, .size = LINUX_MEM_SIZE - KERNEL_ADDR,
		.type = E820_RAM };
	bp->e820_entries = 2;

	stage_say(14, "bzImage, boot protocol %u.%02u: %zu bytes of setup "
		  "skipped, %zu bytes of kernel at GPA 0x%llx", hdr.version >> 8,
		  hdr.version & 0xff, setup_size, kernel_size - setup_size,
		  KERNEL_ADDR);
	stage_say(14, "initrd: %zu bytes at GPA 0x%llx; boot_params at 0x%llx, "
		  "command line at 0x%llx", initrd_size,
		  (unsigned long long)initrd_addr, BOOT_PARAMS_ADDR, CMDLINE_ADDR);
	stage_say(14, "command line: %s", cmdline);
	return 0;
}
/* endregion: linux_load */

/* region: linux_enter */
/*
 * The 64-bit entry, as boot.rst asks: long mode with the kernel, zero page
 * and command line identity-mapped (stage 08's map), flat code and data
 * at __BOOT_CS (0x10) and __BOOT_DS (0x18), interrupts off, and RSI
 * holding boot_params' address.
 */
int linux_enter(struct vm *vm)
{
	uint64_t *gdt = (uint64_t *)(vm->mem + GUEST_GDT_ADDR);
	struct kvm_regs regs = {
		.rip = KERNEL_ADDR + KERNEL_ENTRY_64,
		.rsi = BOOT_PARAMS_ADDR,
		.rflags = RFLAGS_RESERVED_1,	/* IF clear */
	};
	struct kvm_sregs sregs;

	if (ioctl(vm->vcpu.fd, KVM_GET_SREGS, &sregs) < 0)
		return report_errno("KVM_GET_SREGS", errno);
	sregs.cs.selector = BOOT_CS;
	sregs.ds.selector = sregs.es.selector = sregs.ss.selector = BOOT_DS;
	gdt[BOOT_CS / 8] = gdt_entry_from_segment(&sregs.cs);
	gdt[BOOT_DS / 8] = gdt_entry_from_segment(&sregs.ds);
	sregs.gdt.limit = BOOT_DS + 8 - 1;
	if (ioctl(vm->vcpu.fd, KVM_SET_SREGS, &sregs) < 0)
		return report_sregs_refused(&sregs, errno);
	if (ioctl(vm->vcpu.fd, KVM_SET_REGS, &regs) < 0)
		return report_errno("KVM_SET_REGS", errno);
	stage_say(14, "64-bit entry: RIP=0x%llx RSI=0x%llx, CS=0x%x DS=0x%x",
		  (unsigned long long)regs.rip, (unsigned long long)regs.rsi,
		  BOOT_CS, BOOT_DS);
	return 0;
}
/* endregion: linux_enter */

/* region: uart_access */
/*
 * One byte to or from UART register reg.  We transmit at once, so THR is
 * always empty: LSR says so, and with IER's THRI set, IIR reports "THR
 * empty" once after each byte (reading IIR acknowledges it).
 */
static uint8_t uart_access(struct uart *u, unsigned int reg, int is_write,
			   uint8_t value, FILE *out, struct run_stats *stats)
{
	int dlab = u->lcr & UART_LCR_DLAB;

	if (is_write && reg == UART_THR && !dlab) {
		if (value != '\r')	/* a serial line's CR LF: keep the LF */
			fputc(value, out);
		stats->out_bytes++;
		u->thre_pending = 1;
	} else if (is_write && reg == UART_IER && !dlab) {
		if (value & ~u->ier & UART_IER_THRI)
			u->thre_pending = 1;	/* THR is already empty */
		u->ier = value & 0x0f;
	} else if (is_write) {
		uint8_t *regs[UART_PORTS] = {
			&u->dll, &u->dlm, &u->fcr, &u->lcr, &u->mcr, &u->scr,
			&u->scr, &u->scr };	/* LSR and MSR: read-only */

		if (reg != UART_LSR && reg != UART_MSR)
			*regs[reg] = value;
	} else if (reg == UART_THR || reg == UART_IER) {
		return dlab ? (reg == UART_THR ? u->dll : u->dlm) :
			      (reg == UART_IER ? u->ier : 0);	/* RBR: none */
	} else if (reg == UART_IIR) {
		uint8_t fifos = u->fcr & UART_FCR_FIFO ? UART_IIR_FIFOS : 0;

		if (!(u->ier & UART_IER_THRI) || !u->thre_pending)
			return fifos | UART_IIR_NO_INT;
		u->thre_pending = 0;
		return fifos | UART_IIR_THRI;
	} else {
		uint8_t regs[UART_PORTS] = {
			[UART_LCR] = u->lcr, [UART_MCR] = u->mcr,
			[UART_LSR] = UART_LSR_THRE | UART_LSR_TEMT,
			[UART_MSR] = UART_MSR_CONNECTED, [UART_SCR] = u->scr };

		return regs[reg];
	}
	return 0;
}
/* endregion: uart_access */

/* region: uart_irq_update */
/* IRQ 4 is high while a THR-empty interrupt is enabled and unread. */
static int uart_irq_update(struct vm *vm, struct uart *u)
{
	struct kvm_irq_level line = { .irq = UART_IRQ };

	line.level = (u->ier & UART_IER_THRI) && u->thre_pending;
	if (line.level == u->irq_level)
		return 0;
	if (ioctl(vm->fd, KVM_IRQ_LINE, &line) < 0)
		return report_errno("KVM_IRQ_LINE", errno);
	u->irq_level = (uint8_t)line.level;
	return 0;
}
/* endregion: uart_irq_update */

/* region: reset_handle */
/*
 * The kernel writes 0xfe to port 0x64 to reset the machine; before that
 * it sets the BIOS's reset flag at 0x472: 0x1234 for a warm reset, which
 * our command line (reboot=panic_warm) asks for after a panic only.
 */
static enum exit_action reset_handle(struct machine *m)
{
	uint16_t flag;

	memcpy(&flag, m->vm->mem + BIOS_RESET_FLAG_ADDR, sizeof(flag));
	if (flag == BIOS_RESET_FLAG_WARM) {
		report("the guest kernel panicked: it reset the machine warm "
		       "(0x%x at 0x%x), as reboot=panic_warm asks after a panic",
		       flag, BIOS_RESET_FLAG_ADDR);
		report_hint("the kernel's last lines above say why");
		return EXIT_ACTION_FAIL;
	}
	m->powered_off = 1;
	return EXIT_ACTION_HALT;
}
/* endregion: reset_handle */

/* region: machine_exit */
enum exit_action machine_exit(void *ctx, struct kvm_run *run, FILE *out,
			      struct run_stats *stats)
{
	struct machine *m = ctx;
	typeof(run->io) io = run->io;	/* copy once: the guest chose these */
	size_t bytes = (size_t)io.size * io.count;
	uint8_t *data = (uint8_t *)run + io.data_offset;

	if (run->exit_reason != KVM_EXIT_IO)
		return EXIT_ACTION_PASS;	/* shutdown, failures: step 10 */
	stats->io_exits++;
	if (io.data_offset > m->vm->vcpu.run_size ||
	    bytes > m->vm->vcpu.run_size - io.data_offset) {
		report("KVM_EXIT_IO data (offset %llu, %zu bytes) is outside "
		       "kvm_run", (unsigned long long)io.data_offset, bytes);
		return EXIT_ACTION_FAIL;
	}
	for (size_t i = 0; i < bytes; i += io.size) {
		int out_dir = io.direction == KVM_EXIT_IO_OUT;

		if (io.port >= UART_PORT && io.port < UART_PORT + UART_PORTS &&
		    io.size == 1) {
			uint8_t v = uart_access(&m->uart, io.port - UART_PORT,
						out_dir, data[i], out, stats);
			if (!out_dir)
				data[i] = v;
			if (uart_irq_update(m->vm, &m->uart) < 0)
				return EXIT_ACTION_FAIL;
		} else if (io.port == KBD_STATUS_PORT && out_dir) {
			if (data[i] == KBD_CMD_RESET)
				return reset_handle(m);
		} else if (io.port == KBD_STATUS_PORT || io.port == KBD_DATA_PORT) {
			if (!out_dir)	/* nothing to read, ready for a command */
				memset(data + i, 0, io.size);
		} else if (!out_dir) {	/* no device: the bus floats high */
			memset(data + i, UNHANDLED_PORT_BYTE, io.size);
		}
	}
	return EXIT_ACTION_CONTINUE;
}
/* endregion: machine_exit */

/* region: linux_run */
int linux_run(struct machine *m, const struct run_options *opt,
	      struct run_stats *stats)
{
	const struct run_hooks hooks = { .exit = machine_exit, .ctx = m };
	struct run_options with_machine = *opt;

	with_machine.hooks = &hooks;
	return vcpu_run(m->vm, &m->vm->vcpu, &with_machine, stats);
}
/* endregion: linux_run */

/* The whole of file path, malloc'd into *bytes; its size, or -1. */
static ssize_t file_read(const char *path, uint8_t **bytes)
{
	struct stat st;
	ssize_t got = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*bytes = NULL;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int err = errno;

		report("%s: %s (%s)", path, errno_name(err), strerror(err));
		if (err == ENOENT)
			report_hint("make deps puts Debian's kernel in "
				    ".cache/sandbox; make builds the initrd");
	} else if (!(*bytes = malloc(st.st_size ? st.st_size : 1))) {
		report_errno("malloc", errno);
	} else if ((got = read(fd, *bytes, st.st_size)) != st.st_size) {
		report("%s: read %zd of %lld bytes (%s)", path, got,
		       (long long)st.st_size, got < 0 ? errno_name(errno) : "short");
		got = -1;
	}
	if (fd >= 0)
		close(fd);
	return got;
}

static void usage(FILE *to)
{
	fprintf(to,
		"usage: step14 [--kernel BZIMAGE] [--initrd CPIO] [--append WORDS]\n"
		"              [--timeout SECONDS] [--trace]\n"
		"Boot a Linux bzImage with an initramfs; its console is ttyS0.\n\n"
		"  --kernel BZIMAGE   default %s\n"
		"  --initrd CPIO      default %s\n"
		"  --append WORDS     added to the command line: " CMDLINE_DEFAULT "\n"
		"  --timeout SECONDS  stop a guest still running (default %g; 0: never)\n"
		"  --trace            print every KVM ioctl to stderr (also KVM_TRACE=1)\n"
		"Exit status: 0 powered off (a cold reset), 1 a call or the output\n"
		"failed, 2 bad usage or image, 3 a panic or triple fault, 4 stopped.\n",
		LINUX_KERNEL_DEFAULT, LINUX_INITRD_DEFAULT, LINUX_TIMEOUT_SECONDS);
}

/* The paths and command line the user chose; exits on bad usage. */
struct linux_options {
	const char *kernel, *initrd, *append;
};

static void options_parse(int argc, char **argv, struct run_options *opt,
			  struct linux_options *lo)
{
	for (int i = 1; i < argc; i++) {
		const char **value = !strcmp(argv[i], "--kernel") ? &lo->kernel :
				     !strcmp(argv[i], "--initrd") ? &lo->initrd :
				     !strcmp(argv[i], "--append") ? &lo->append : NULL;

		if (run_option(argc, argv, &i, opt, usage))
			continue;
		if (!value || i + 1 == argc)
			run_option_refuse(argv[i], usage);
		*value = argv[++i];
	}
}

int main(int argc, char **argv)
{
	struct vm vm = VM_EMPTY;
	struct machine m = { .vm = &vm };
	struct run_options opt = { .timeout = LINUX_TIMEOUT_SECONDS };
	struct linux_options lo = { .kernel = LINUX_KERNEL_DEFAULT,
				    .initrd = LINUX_INITRD_DEFAULT, .append = "" };
	uint8_t *kernel = NULL, *initrd = NULL;
	ssize_t kernel_size, initrd_size;
	struct run_stats stats;
	char cmdline[4096];
	int status;

	if (run_prepare(&opt) < 0)
		return EXIT_SETUP;			/* before any fd is made */
	options_parse(argc, argv, &opt, &lo);
	snprintf(cmdline, sizeof(cmdline), "%s%s%s", CMDLINE_DEFAULT,
		 *lo.append ? " " : "", lo.append);
	if (linux_vm_build(&vm) < 0)				/* 01-08, 14 */
		status = EXIT_SETUP;
	else if ((kernel_size = file_read(lo.kernel, &kernel)) < 0 ||
		 (initrd_size = file_read(lo.initrd, &initrd)) < 0)
		status = EXIT_USAGE;
	else if (linux_load(&vm, kernel, kernel_size, initrd, initrd_size,
			    cmdline) < 0)			/* 14 */
		status = EXIT_USAGE;
	else if (linux_enter(&vm) < 0)				/* 14 */
		status = EXIT_SETUP;
	else
		status = linux_run(&m, &opt, &stats);		/* 10, 14 */
	if (status == EXIT_SUCCESS)
		stage_say(14, "KVM_RUN: the guest reset the machine cold (0x%x "
			  "to port 0x%x): powered off after %llu exits, %llu of "
			  "them port I/O", KBD_CMD_RESET, KBD_STATUS_PORT,
			  (unsigned long long)stats.exits,
			  (unsigned long long)stats.io_exits);
	vm_destroy(&vm);
	free(kernel);
	free(initrd);
	if (stdout_finish() < 0 && status != EXIT_GUEST)
		status = EXIT_SETUP;			/* the output was lost */
	return status;
}
