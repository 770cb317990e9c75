; SPDX-License-Identifier: MIT
; print_spin.asm: print a line, tell the host it did (an out to port
; 0x80, which step10 reports on stderr at once), then spin for ever.
; test_step10_signals.c stops it with a signal and checks the line got
; out: step10 buffers the guest's output and must flush it when stopped.
; It spins with interrupts on (sti): step10 has no interrupt controller
; and injects nothing, so IF changes nothing KVM does, and Bochs stalls
; on a guest spinning with them off (tests/sandbox/README.md).

bits 64

CONSOLE_PORT equ 0xe9
PRINTED_PORT equ 0x80		; nobody handles it: step10 says so on stderr

start:
	sti				; first: a stop just after the out finds RIP on the jmp
	lea rsi, [rel line]
	mov ecx, line_len
	mov dx, CONSOLE_PORT
	rep outsb
	out PRINTED_PORT, al
	jmp $

line:
	db "printed before the signal", 10
line_len equ $ - line
