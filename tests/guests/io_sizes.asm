; SPDX-License-Identifier: MIT
; io_sizes.asm: `out` and `in` of 1, 2 and 4 bytes (test_step10.c).
; Prints, to port 0xE9:
;   "1:A 2:BC 4:DEFG\n"      out of a byte, word, dword: bytes little-endian
;   then, from `in` at 0xE9 into eax = 0x11223344, eax as 4 bytes:
;   E9 33 22 11, E9 E9 22 11, E9 E9 E9 E9, "\n"  (in writes only its size)
;   the same from port 0x1234, which nothing handles (reads all ones):
;   FF 33 22 11, FF FF 22 11, FF FF FF FF, "\n"
;   then writes 'X' to port 0x1234 (ignored) and prints "end\n".

bits 64

CONSOLE_PORT equ 0xe9
UNHANDLED_PORT equ 0x1234

%macro putc 1
	mov al, %1
	out dx, al
%endmacro

; One `in` of the given register from port %2, reported as eax's 4 bytes.
%macro in_report 2
	mov eax, 0x11223344
	mov dx, %2
	in %1, dx
	mov dx, CONSOLE_PORT
	out dx, eax
%endmacro

start:
	mov dx, CONSOLE_PORT
	putc '1'
	putc ':'
	putc 'A'
	putc ' '
	putc '2'
	putc ':'
	mov ax, 'BC'			; al = 'B', ah = 'C'
	out dx, ax
	putc ' '
	putc '4'
	putc ':'
	mov eax, 'DEFG'			; al = 'D' ... the top byte 'G'
	out dx, eax
	putc 10

	in_report al, CONSOLE_PORT
	in_report ax, CONSOLE_PORT
	in_report eax, CONSOLE_PORT
	putc 10

	in_report al, UNHANDLED_PORT
	in_report ax, UNHANDLED_PORT
	in_report eax, UNHANDLED_PORT
	putc 10

	mov dx, UNHANDLED_PORT
	putc 'X'			; reported by the host, not printed
	mov dx, CONSOLE_PORT
	putc 'e'
	putc 'n'
	putc 'd'
	putc 10
	hlt
