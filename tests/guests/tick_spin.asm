; SPDX-License-Identifier: MIT
; tick_spin.asm: print "ab", point vector 32 (step12's timer tick) at a
; handler that returns at once, then spin for ever with interrupts on.
; test_step12.c stops it with a signal while the ticks go in: a guest
; that spins with interrupts off would stall Bochs
; (tests/sandbox/README.md), and one with them on but no handler would
; triple-fault at the first tick.

bits 64

CONSOLE_PORT	equ 0xe9
TIMER_VECTOR	equ 32		; step12.h's TIMER_VECTOR
CODE_SELECTOR	equ 0x08	; the GDT's 64-bit code segment (stage 08)
GATE_INTERRUPT	equ 0x8e	; present, DPL 0, 64-bit interrupt gate

start:
	mov al, 'a'
	out CONSOLE_PORT, al
	mov al, 'b'
	out CONSOLE_PORT, al
	lea rdi, [rel idt + TIMER_VECTOR * 16]
	lea rax, [rel tick]
	mov [rdi], ax			; offset 15:0
	mov word [rdi + 2], CODE_SELECTOR
	mov byte [rdi + 5], GATE_INTERRUPT
	shr rax, 16
	mov [rdi + 6], ax		; offset 31:16
	shr rax, 16
	mov [rdi + 8], eax		; offset 63:32
	lea rax, [rel idt]
	mov [rel idtr + 2], rax		; the IDT's linear address
	lidt [rel idtr]
	sti
	jmp $				; only a signal or the timeout ends it

tick:
	iretq				; no interrupt controller: no EOI

align 8
idtr:
	dw (TIMER_VECTOR + 1) * 16 - 1	; limit: vectors 0 to TIMER_VECTOR
	dq 0				; base, filled in at start
align 16
idt:
	times (TIMER_VECTOR + 1) * 16 db 0
