; SPDX-License-Identifier: MIT
; print_forever.asm: fill a page with "abc...z" and print it again and
; again with rep outsb (KVM hands a rep outs over one byte per exit), and
; never halt.  test_step10_signals.c runs it with no timeout: only a
; failed stdout or a signal can end the run.

bits 64

CONSOLE_PORT equ 0xe9
PAGE equ 4096
BUFFER equ 0x100000		; guest memory, clear of the code and stack

start:
	mov rdi, BUFFER
	mov ecx, PAGE
	mov al, 'a'
.fill:
	stosb
	inc al
	cmp al, 'z' + 1
	jne .same
	mov al, 'a'
.same:
	loop .fill
	mov dx, CONSOLE_PORT
.print:
	mov rsi, BUFFER
	mov ecx, PAGE
	rep outsb
	jmp .print
