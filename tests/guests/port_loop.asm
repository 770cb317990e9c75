; SPDX-License-Identifier: MIT
; port_loop.asm: write port 0x80, which nothing handles, 1000 times, then
; halt.  step10 reports each write on stderr; test_step10.c checks that
; the same line is shown a few times and then counted, not 1000 times.

bits 64

UNHANDLED_PORT equ 0x80
WRITES equ 1000

start:
	mov ecx, WRITES
.again:
	out UNHANDLED_PORT, al
	loop .again
	hlt
