/* SPDX-License-Identifier: MIT */
/*
 * test_step14: the Linux chapter.  Without booting: what linux_load()
 * puts in guest memory (the protected-mode kernel at 1 MiB, boot_params
 * with the image's setup header, the e820 map, command line and initrd),
 * the 64-bit entry's registers, the in-kernel irqchip and CPUID's
 * hypervisor bit, and the exit hook's devices fed made-up exits (the
 * UART's registers and IRQ 4, the keyboard controller's reset, ports
 * nobody has).  Then one boot of Debian's kernel on stock KVM (the
 * sandbox: this host's PVM cannot boot a stock kernel, README.md): its
 * version line, our greeting, status 0.  The maintainers' part boots
 * 6.12 too, and ends one boot in a panic and one in a triple fault.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_test.h"
#include "report.h"
#include "step14.h"
#include "x86.h"

#define GREETING "Hello from Linux user space on a tiny KVM VMM\n"

/* A kernel booted in the sandbox: tens of seconds under emulation. */
#define BOOT_SECONDS 240

/* The bzImages make deps keeps: 6.1, and 6.12 (SANDBOX_KERNEL=6.12). */
#define KERNEL_6_1 TOP_DIR "/.cache/sandbox/bzImage"
#define KERNEL_6_12 TOP_DIR "/.cache/sandbox/6.12/bzImage"

/* Boots need stock KVM (kvm_amd or kvm_intel) and the kernel from make deps. */
static void boot_or_skip(const char *kernel)
{
	if (access("/sys/module/kvm_amd", F_OK) &&
	    access("/sys/module/kvm_intel", F_OK))
		cr_skip_test("this host's KVM is not kvm_amd or kvm_intel; "
			     "the sandbox runs this test");
	if (getenv("SANDBOX_GUEST") && getenv("SANDBOX_CPU") &&
	    !strcmp(getenv("SANDBOX_CPU"), "intel"))
		cr_skip_test("too slow in Bochs (SANDBOX_CPU=intel): booting this "
			     "kernel takes Bochs minutes even unnested; the "
			     "QEMU sandbox runs this test");
	if (access(kernel, R_OK))
		cr_skip_test("no %s: make deps puts it there", kernel);
}

/*
 * The program booting kernel (NULL: its default) with --append words
 * (or NULL): it must exit with status, printing each of out_has
 * (NULL-terminated) on stdout and err_has (unless NULL) on stderr.
 */
static void boot_check(const char *kernel, const char *append, int status,
		       const char *const out_has[], const char *err_has)
{
	const char *argv[8] = { STEP_PROGRAM, "--timeout", "200" };
	struct program_result r;
	int n = 3;

	boot_or_skip(kernel ? kernel : KERNEL_6_1);
	if (kernel) {
		argv[n++] = "--kernel";
		argv[n++] = kernel;
	}
	if (append) {
		argv[n++] = "--append";
		argv[n++] = append;
	}
	program_run(argv, NULL, BOOT_SECONDS - 20, &r);
	cr_assert_eq(r.status, status, "exit %d, not %d:\n%s\n%s", r.status,
		     status, r.out, r.err);
	for (int i = 0; out_has[i]; i++)
		assert_has(r.out, out_has[i]);
	if (err_has)
		assert_has(r.err, err_has);
	program_result_free(&r);
}

#ifndef CHECK_SUITE
/* ---- linux_load(), on memory of our own: no KVM needed ---------------- */

#define FAKE_SETUP_SECTS 3
#define FAKE_SETUP_SIZE ((FAKE_SETUP_SECTS + 1) * 512)
#define FAKE_KERNEL_SIZE 8192
#define FAKE_INIT_SIZE 0x3000000U
#define FAKE_PREF_ADDRESS 0x1000000ULL

/* A bzImage as the kernel's build makes one, with a kernel of made-up bytes. */
static uint8_t *fake_bzimage(size_t *size)
{
	uint8_t *image = calloc(1, FAKE_SETUP_SIZE + FAKE_KERNEL_SIZE);
	struct setup_header h = {
		.setup_sects = FAKE_SETUP_SECTS, .boot_flag = 0xaa55,
		.jump = 0x6aeb,		/* jmp to 0x26c: the header's end */
		.header = SETUP_HEADER_MAGIC, .version = 0x020f,
		.loadflags = LOADED_HIGH, .initrd_addr_max = 0x7fffffff,
		.kernel_alignment = 0x200000, .relocatable_kernel = 1,
		.xloadflags = XLF_KERNEL_64, .cmdline_size = 2047,
		.pref_address = FAKE_PREF_ADDRESS, .init_size = FAKE_INIT_SIZE,
	};

	cr_assert(image);
	memcpy(image + SETUP_HEADER_OFFSET, &h, sizeof(h));
	for (size_t i = 0; i < FAKE_KERNEL_SIZE; i++)
		image[FAKE_SETUP_SIZE + i] = (uint8_t)(i * 7 + 1);
	*size = FAKE_SETUP_SIZE + FAKE_KERNEL_SIZE;
	return image;
}

/* LINUX_MEM_SIZE bytes of zeroed memory, as a vm that has only memory. */
static struct vm memory_only(void)
{
	struct vm vm = VM_EMPTY;

	vm.mem = mmap(NULL, LINUX_MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_assert_neq(vm.mem, MAP_FAILED, "mmap: %s", errno_name(errno));
	vm.mem_size = LINUX_MEM_SIZE;
	return vm;
}

static const uint8_t initrd[] = "070701 made-up initramfs bytes";

/* linux_load() of image with our initrd and command line; its result. */
static int load(struct vm *vm, const uint8_t *image, size_t size,
		const char *cmdline)
{
	stage_quiet = 1;
	return linux_load(vm, image, size, initrd, sizeof(initrd), cmdline);
}

Test(step14, load_puts_the_protected_mode_kernel_at_1_mib)
{
	size_t size;
	uint8_t *image = fake_bzimage(&size);
	struct vm vm = memory_only();

	cr_assert_eq(load(&vm, image, size, "console=ttyS0"), 0);
	cr_assert_eq(memcmp(vm.mem + KERNEL_ADDR, image + FAKE_SETUP_SIZE,
			    FAKE_KERNEL_SIZE), 0, "GPA 0x%llx must hold the "
		     "bytes after the %d setup sectors and the boot sector",
		     KERNEL_ADDR, FAKE_SETUP_SECTS);
	free(image);
}

Test(step14, load_fills_boot_params)
{
	size_t size;
	uint8_t *image = fake_bzimage(&size);
	struct vm vm = memory_only();
	const struct boot_params *bp = (void *)(vm.mem + BOOT_PARAMS_ADDR);
	const struct setup_header *hdr = &bp->hdr;
	uint64_t rd;

	cr_assert_eq(load(&vm, image, size, "console=ttyS0 quiet"), 0);
	/* The image's header, to its end (init_size lies near it). */
	cr_assert_eq(hdr->header, SETUP_HEADER_MAGIC, "no HdrS at 0x202");
	cr_assert_eq(hdr->version, 0x020f);
	cr_assert_eq(hdr->init_size, FAKE_INIT_SIZE, "init_size (0x260) not "
		     "copied: the header runs to 0x26c");
	cr_assert_eq(hdr->pref_address, FAKE_PREF_ADDRESS);
	cr_assert_eq(hdr->type_of_loader, LOADER_UNDEFINED);
	cr_assert_eq(hdr->cmd_line_ptr, CMDLINE_ADDR);
	cr_assert_str_eq((char *)vm.mem + hdr->cmd_line_ptr, "console=ttyS0 quiet");
	/* The initrd: where the header says, whole, above the kernel's room. */
	rd = hdr->ramdisk_image;
	cr_assert_eq(hdr->ramdisk_size, sizeof(initrd));
	cr_assert_eq(rd % PAGE_SIZE_4K, 0, "initrd at 0x%llx", (unsigned long long)rd);
	cr_assert_geq(rd, FAKE_PREF_ADDRESS + FAKE_INIT_SIZE, "the initrd at "
		      "0x%llx lies below pref_address + init_size (0x%llx), "
		      "the room kept for the kernel", (unsigned long long)rd,
		      FAKE_PREF_ADDRESS + FAKE_INIT_SIZE);
	cr_assert_leq(rd + sizeof(initrd), LINUX_MEM_SIZE);
	cr_assert_eq(memcmp(vm.mem + rd, initrd, sizeof(initrd)), 0);
	/* e820: RAM below 640 KiB and from 1 MiB to the end, nothing else. */
	cr_assert_eq(bp->e820_entries, 2);
	cr_assert_eq(bp->e820_table[0].addr, 0);
	cr_assert_eq(bp->e820_table[0].size, LOW_RAM_END);
	cr_assert_eq(bp->e820_table[1].addr, KERNEL_ADDR);
	cr_assert_eq(bp->e820_table[1].addr + bp->e820_table[1].size, LINUX_MEM_SIZE);
	cr_assert_eq(bp->e820_table[0].type, E820_RAM);
	cr_assert_eq(bp->e820_table[1].type, E820_RAM);
	free(image);
}

/* Each wrong image is refused: -1, and linux_load says why. */
/* One field of fake_bzimage()'s header set to a value linux_load() refuses. */
#define HEADER_FIELD(f) .offset = offsetof(struct setup_header, f), \
	.width = sizeof(((struct setup_header *)0)->f)
static const struct unbootable {
	const char *what;
	size_t offset, width;
	uint64_t value;
} unbootable[] = {
	{ "a kernel without XLF_KERNEL_64", HEADER_FIELD(xloadflags), .value = 0 },
	{ "boot protocol 2.11 (no 64-bit entry)", HEADER_FIELD(version),
	  .value = 0x020b },
	{ "a kernel needing more than memory", HEADER_FIELD(init_size),
	  .value = LINUX_MEM_SIZE },
	{ "an image without HdrS", HEADER_FIELD(header), .value = 0 },
};

Test(step14, load_refuses_what_it_cannot_boot)
{
	size_t size;
	uint8_t *image = fake_bzimage(&size);
	struct vm vm = memory_only();
	char cmdline[3000];

	memset(cmdline, 'x', sizeof(cmdline) - 1);
	cmdline[sizeof(cmdline) - 1] = '\0';
	cr_assert_eq(load(&vm, image, size, cmdline), -1,
		     "a command line over cmdline_size (2047) was taken");
	free(image);
	for (size_t i = 0; i < sizeof(unbootable) / sizeof(unbootable[0]); i++) {
		const struct unbootable *u = &unbootable[i];

		image = fake_bzimage(&size);
		/* x86 is little-endian: the value's low bytes, in place. */
		memcpy(image + SETUP_HEADER_OFFSET + u->offset, &u->value,
		       u->width);
		cr_assert_eq(load(&vm, image, size, ""), -1, "%s was taken",
			     u->what);
		free(image);
	}
}

/* ---- The vCPU and the VM: KVM's answers ----------------------------- */

Test(step14, enter_sets_the_64_bit_entry_state, .timeout = 30)
{
	const uint64_t *gdt;
	struct kvm_sregs s;
	struct kvm_regs r;
	struct vm vm;

	vm_setup_through(&vm, 8);
	stage_quiet = 1;
	cr_assert_eq(linux_enter(&vm), 0);
	kvm_ioctl_ok(vm.vcpu.fd, KVM_GET_REGS, &r);
	kvm_ioctl_ok(vm.vcpu.fd, KVM_GET_SREGS, &s);
	cr_assert_eq(r.rip, KERNEL_ADDR + 0x200, "RIP 0x%llx", r.rip);
	cr_assert_eq(r.rsi, BOOT_PARAMS_ADDR, "RSI 0x%llx", r.rsi);
	cr_assert_eq(r.rflags & RFLAGS_IF, 0, "interrupts must be off");
	cr_assert(s.cs.l && (s.efer & EFER_LMA), "not in 64-bit mode");
	cr_assert_eq(s.cs.selector, BOOT_CS);
	cr_assert_eq(s.ds.selector, BOOT_DS);
	cr_assert_eq(s.ss.selector, BOOT_DS);
	cr_assert_eq(s.es.selector, BOOT_DS);
	cr_assert_geq(s.gdt.limit, BOOT_DS + 7, "GDT limit 0x%x", s.gdt.limit);
	gdt = (const uint64_t *)(vm.mem + s.gdt.base);
	cr_assert_eq(gdt[BOOT_CS / 8], gdt_entry_from_segment(&s.cs),
		     "the GDT's entry 0x10 is not the code segment");
	cr_assert_eq(gdt[BOOT_DS / 8], gdt_entry_from_segment(&s.ds),
		     "the GDT's entry 0x18 is not the data segment");
	vm_destroy(&vm);
}

Test(step14, cpuid_says_a_hypervisor_is_present, .timeout = 30)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 256 * sizeof(c->entries[0]));
	struct vm vm;
	int found = 0;

	vm_setup_through(&vm, 6);
	stage_quiet = 1;
	/* Clear the bit first: some hosts' KVM (PVM) already offers it. */
	c->nent = 256;
	kvm_ioctl_ok(vm.vcpu.fd, KVM_GET_CPUID2, c);
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == 1)
			c->entries[i].ecx &= ~CPUID_1_ECX_HYPERVISOR;
	kvm_ioctl_ok(vm.vcpu.fd, KVM_SET_CPUID2, c);
	cr_assert_eq(cpuid_hypervisor_set(&vm), 0);
	c->nent = 256;
	kvm_ioctl_ok(vm.vcpu.fd, KVM_GET_CPUID2, c);
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == 1) {
			found = 1;
			cr_assert(c->entries[i].ecx & CPUID_1_ECX_HYPERVISOR,
				  "CPUID 1 ECX 0x%x: bit 31 clear", c->entries[i].ecx);
		}
	cr_assert(found, "the vCPU's CPUID has no leaf 1");
	free(c);
	vm_destroy(&vm);
}

/* A VM with stage 14 done: the in-kernel PIC and PIT answer. */
static void vm_with_irqchip(struct vm *vm)
{
	vm_setup_through(vm, 3);
	stage_quiet = 1;
	cr_assert_eq(linux_irqchip_create(vm), 0);
}

/* The master PIC's interrupt request register, as KVM holds it. */
static uint8_t pic_irr(struct vm *vm)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_PIC_MASTER };

	kvm_ioctl_ok(vm->fd, KVM_GET_IRQCHIP, &chip);
	return chip.chip.pic.irr;
}

Test(step14, irqchip_gives_a_pic_and_a_pit, .timeout = 30)
{
	struct kvm_pit_state2 pit;
	struct vm vm;

	vm_with_irqchip(&vm);
	pic_irr(&vm);
	kvm_ioctl_ok(vm.fd, KVM_GET_PIT2, &pit);
	vm_destroy(&vm);
}

/* ---- The exit hook, fed made-up exits ------------------------------ */

/* A machine on a VM with an irqchip, and a kvm_run page of our own. */
struct bench {
	struct vm vm;
	struct machine m;
	struct kvm_run *run;
	char *out;
	size_t len;
	FILE *f;
	struct run_stats stats;
};

static void bench_init(struct bench *b)
{
	memset(b, 0, sizeof(*b));
	vm_with_irqchip(&b->vm);
	b->vm.vcpu.run_size = 3 * 4096;
	b->run = calloc(1, b->vm.vcpu.run_size);
	b->m.vm = &b->vm;
	b->f = open_memstream(&b->out, &b->len);
	cr_assert(b->run && b->f);
}

static void bench_fini(struct bench *b)
{
	fclose(b->f);
	free(b->out);
	free(b->run);
	vm_destroy(&b->vm);
}

/* One in or out of count items of size bytes; data in and out through buf. */
static enum exit_action port_io(struct bench *b, uint16_t port, int out,
				uint8_t size, uint32_t count, uint8_t *buf)
{
	enum exit_action a;

	b->run->exit_reason = KVM_EXIT_IO;
	b->run->io.direction = out ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN;
	b->run->io.port = port;
	b->run->io.size = size;
	b->run->io.count = count;
	b->run->io.data_offset = 4096;
	memcpy((uint8_t *)b->run + 4096, buf, (size_t)size * count);
	a = machine_exit(&b->m, b->run, b->f, &b->stats);
	memcpy(buf, (uint8_t *)b->run + 4096, (size_t)size * count);
	return a;
}

static void uart_out(struct bench *b, int reg, uint8_t value)
{
	cr_assert_eq(port_io(b, UART_PORT + reg, 1, 1, 1, &value),
		     EXIT_ACTION_CONTINUE);
}

static uint8_t uart_in(struct bench *b, int reg)
{
	uint8_t v = 0x5a;

	cr_assert_eq(port_io(b, UART_PORT + reg, 0, 1, 1, &v),
		     EXIT_ACTION_CONTINUE);
	return v;
}

Test(step14, uart_transmits_thr_writes, .timeout = 30)
{
	struct bench b;

	bench_init(&b);
	for (const char *p = "ok\r\n"; *p; p++)
		uart_out(&b, UART_THR, (uint8_t)*p);
	fflush(b.f);
	cr_assert_str_eq(b.out, "ok\n", "the UART sent '%s'", b.out);
	cr_assert_eq(uart_in(&b, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT),
		     UART_LSR_THRE | UART_LSR_TEMT, "LSR must say "
		     "the transmitter is empty, or the kernel's console polls "
		     "it 10000 times a byte and the tty layer never sends");
	bench_fini(&b);
}

/* What the 8250 driver probes: IER and SCR keep what was written; with
 * DLAB set, registers 0 and 1 are the divisor and THR sends nothing. */
Test(step14, uart_registers_keep_their_values, .timeout = 30)
{
	struct bench b;

	bench_init(&b);
	uart_out(&b, UART_IER, 0x0f);
	cr_assert_eq(uart_in(&b, UART_IER), 0x0f);
	uart_out(&b, UART_IER, 0);
	cr_assert_eq(uart_in(&b, UART_IER), 0);
	uart_out(&b, UART_SCR, 0xa5);
	cr_assert_eq(uart_in(&b, UART_SCR), 0xa5);
	uart_out(&b, UART_LCR, UART_LCR_DLAB | 3);
	uart_out(&b, UART_THR, 1);		/* divisor 1: 115200 baud */
	uart_out(&b, UART_IER, 0);
	cr_assert_eq(uart_in(&b, UART_THR), 1, "DLL must read back");
	cr_assert_eq(uart_in(&b, UART_LCR), UART_LCR_DLAB | 3);
	uart_out(&b, UART_LCR, 3);
	cr_assert_eq(uart_in(&b, UART_IER), 0, "IER changed under DLAB");
	fflush(b.f);
	cr_assert_eq(b.len, 0, "a divisor write was transmitted");
	bench_fini(&b);
}

/* THR empty with THRI enabled: IIR says so once, and IRQ 4 rises. */
Test(step14, uart_raises_irq_4_when_thr_empties, .timeout = 30)
{
	struct bench b;

	bench_init(&b);
	uart_out(&b, UART_IIR, UART_FCR_FIFO);	/* FCR: FIFOs on */
	cr_assert_eq(uart_in(&b, UART_IIR), UART_IIR_FIFOS | UART_IIR_NO_INT);
	cr_assert_eq(pic_irr(&b.vm) & (1U << UART_IRQ), 0);
	uart_out(&b, UART_IER, UART_IER_THRI);
	cr_assert_neq(pic_irr(&b.vm) & (1U << UART_IRQ), 0,
		      "enabling THRI with THR empty must raise IRQ 4 "
		      "(KVM_IRQ_LINE): the PIC's IRR has no bit 4");
	cr_assert_eq(uart_in(&b, UART_IIR), UART_IIR_FIFOS | UART_IIR_THRI);
	cr_assert_eq(uart_in(&b, UART_IIR), UART_IIR_FIFOS | UART_IIR_NO_INT,
		     "reading IIR acknowledges THR empty");
	uart_out(&b, UART_THR, 'x');
	cr_assert_eq(uart_in(&b, UART_IIR), UART_IIR_FIFOS | UART_IIR_THRI,
		     "after a byte, THR empties again: IIR must say so");
	bench_fini(&b);
}

Test(step14, ports_without_a_device_read_all_ones, .timeout = 30)
{
	uint8_t buf[8] = { 0 };
	struct bench b;

	bench_init(&b);
	cr_assert_eq(port_io(&b, 0x71, 0, 2, 4, buf), EXIT_ACTION_CONTINUE);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(buf[i], 0xff, "byte %d of a rep insw: 0x%x", i, buf[i]);
	buf[0] = 0xff;
	cr_assert_eq(port_io(&b, KBD_STATUS_PORT, 0, 1, 1, buf), EXIT_ACTION_CONTINUE);
	cr_assert_eq(buf[0] & 2, 0, "the keyboard controller's status must "
		     "say \"ready for a command\" (bit 1 clear)");
	b.run->io.data_offset = b.vm.vcpu.run_size;
	b.run->io.size = 1;
	b.run->io.count = 1;
	cr_assert_eq(machine_exit(&b.m, b.run, b.f, &b.stats), EXIT_ACTION_FAIL,
		     "data outside kvm_run must end the run");
	b.run->exit_reason = KVM_EXIT_SHUTDOWN;
	cr_assert_eq(machine_exit(&b.m, b.run, b.f, &b.stats), EXIT_ACTION_PASS,
		     "a triple fault is step 10's to explain");
	bench_fini(&b);
}

/* 0xfe to port 0x64: a cold reset is the power-off, a warm one a panic. */
Test(step14, reset_is_power_off_unless_warm, .timeout = 30)
{
	uint8_t cmd = 0xd1;	/* another command: nothing happens */
	uint16_t warm = BIOS_RESET_FLAG_WARM;
	struct bench b;

	bench_init(&b);
	b.vm.mem = calloc(1, PAGE_SIZE_4K);	/* 0 at 0x472: cold */
	cr_assert_eq(port_io(&b, KBD_STATUS_PORT, 1, 1, 1, &cmd), EXIT_ACTION_CONTINUE);
	cmd = KBD_CMD_RESET;
	cr_assert_eq(port_io(&b, KBD_STATUS_PORT, 1, 1, 1, &cmd), EXIT_ACTION_HALT,
		     "a cold reset must end the run, status 0");
	cr_assert(b.m.powered_off);
	b.m.powered_off = 0;
	memcpy(b.vm.mem + BIOS_RESET_FLAG_ADDR, &warm, sizeof(warm));
	cr_assert_eq(port_io(&b, KBD_STATUS_PORT, 1, 1, 1, &cmd), EXIT_ACTION_FAIL,
		     "a warm reset (0x1234 at 0x472: a panic) must fail");
	cr_assert_not(b.m.powered_off);
	free(b.vm.mem);
	b.vm.mem = NULL;
	bench_fini(&b);
}

/* ---- The program ---------------------------------------------------- */

Test(step14, program_reports_missing_device, .timeout = 30)
{ program_check_missing_device(); }
Test(step14, program_reports_device_that_is_not_kvm, .timeout = 30)
{ program_check_not_kvm_device(14); }
Test(step14, program_refuses_unknown_argument, .timeout = 30)
{ program_check_unknown_argument(); }
Test(step14, program_help_exits_0, .timeout = 30)
{ program_check_help(); }

Test(step14, program_refuses_a_file_that_is_no_kernel, .timeout = 60)
{
	const char *argv[] = { STEP_PROGRAM, "--kernel", "/bin/sh", NULL };
	struct program_result r;

	program_run(argv, NULL, 50, &r);
	cr_assert_eq(r.status, EXIT_USAGE, "exit %d:\n%s", r.status, r.err);
	assert_has(r.err, "no bzImage");
	program_result_free(&r);
}

/*
 * The one boot of the learner's tests: Debian's kernel to our greeting.
 * Its name sorts last, so a --fail-fast run (make mutants) that a test
 * above has failed does not boot.
 */
Test(step14, with_debian_6_1_boots_to_our_greeting_and_powers_off,
     .timeout = BOOT_SECONDS)
{
	boot_check(NULL, NULL, EXIT_SUCCESS, (const char *[]){ "Linux version 6.1.",
		   "\n" GREETING, "[14] KVM_RUN: the guest reset the machine cold",
		   NULL }, NULL);
}

#else /* the maintainers' part */

Test(step14, boots_linux_6_12, .timeout = BOOT_SECONDS)
{
	boot_check(KERNEL_6_12, NULL, EXIT_SUCCESS, (const char *[]){
		   "Linux version 6.12.", "\n" GREETING, NULL }, NULL);
}

/* No init: the kernel panics, and with panic=-1 resets warm: status 3. */
Test(step14, a_panic_is_a_guest_failure, .timeout = BOOT_SECONDS)
{
	boot_check(NULL, "rdinit=/none init=/none", EXIT_GUEST,
		   (const char *[]){ "Kernel panic", NULL }, "panicked");
}

/* reboot=t: the restart is a triple fault, not a power-off: status 3. */
Test(step14, a_triple_fault_is_a_guest_failure, .timeout = BOOT_SECONDS)
{
	boot_check(NULL, "reboot=t", EXIT_GUEST, (const char *[]){
		   "\n" GREETING, NULL }, "KVM_EXIT_SHUTDOWN");
}
#endif
