/* SPDX-License-Identifier: MIT */
/*
 * init.c: the guest's whole user space, the initramfs's /init (process 1).
 * Built static (no libraries in the initramfs).  It greets, waits until
 * the UART has sent every byte, and asks the kernel to restart the
 * machine: with no ACPI, a restart is the one way out that reaches the
 * VMM (README.md, "Power-off").
 */
#include <sys/reboot.h>
#include <termios.h>
#include <unistd.h>

int main(void)
{
	static const char greeting[] =
		"Hello from Linux user space on a tiny KVM VMM\n";

	if (write(STDOUT_FILENO, greeting, sizeof(greeting) - 1) < 0)
		return 1;		/* init exits: the kernel panics */
	tcdrain(STDOUT_FILENO);		/* the bytes are out, not queued */
	reboot(RB_AUTOBOOT);		/* returns only if it failed */
	return 1;
}
