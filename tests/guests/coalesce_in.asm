; SPDX-License-Identifier: MIT
; coalesce_in.asm: read a byte from port 0xE9, write it back, halt.
; With port 0xE9 coalesced the `in` must still exit (a read needs its
; answer now); the `out` may go through the ring.

bits 64

CONSOLE_PORT equ 0xe9

start:
	mov dx, CONSOLE_PORT
	in al, dx			; always a KVM_EXIT_IO, direction in
	out dx, al			; echo what the host answered
	hlt
