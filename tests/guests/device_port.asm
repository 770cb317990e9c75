; SPDX-License-Identifier: MIT
; device_port.asm: talk to a device on DEVICE_PORT (struct port_device,
; test_step10.c): out a dword to it, in a dword from it, print that dword
; on the console, then out a word to it, which the test's device refuses.

bits 64

CONSOLE_PORT equ 0xe9
DEVICE_PORT equ 0xea		; test_step10.c's DEVICE_PORT

start:
	mov dx, DEVICE_PORT
	mov eax, 0x12345678
	out dx, eax		; the device records it
	in eax, dx		; the device answers
	mov dx, CONSOLE_PORT
	out dx, eax		; its 4 bytes, little-endian
	mov dx, DEVICE_PORT
	out dx, ax		; refused: the run ends here
	hlt
