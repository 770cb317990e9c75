; SPDX-License-Identifier: MIT
; guest.asm: the guest step12 runs.  64-bit code, entered at its first
; byte with a stack.  It builds an IDT whose vector 32 is its timer
; handler, then sleeps in hlt with interrupts enabled.  Each interrupt
; prints "tick N" to port 0xE9; after the fifth it halts with interrupts
; off, which tells the host it is done.

bits 64

; region: tick_guest
CONSOLE_PORT	equ 0xe9
TIMER_VECTOR	equ 32		; the first vector that is not an exception
TICKS		equ 5
CODE_SELECTOR	equ 0x08	; the GDT's 64-bit code segment (stage 08)
GATE_INTERRUPT	equ 0x8e	; present, DPL 0, 64-bit interrupt gate

start:
	; IDT entry TIMER_VECTOR: 16 bytes that point at timer_handler.
	lea rdi, [rel idt + TIMER_VECTOR * 16]
	lea rax, [rel timer_handler]
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

.wait:
	sti
	hlt				; in sti's shadow: sleeps before any interrupt
	cli				; the handler has run; IF off to decide
	cmp byte [rel ticks], TICKS
	jb .wait
	hlt				; IF=0: no interrupt can wake us, we are done

timer_handler:			; the CPU cleared IF on the way in
	push rax
	push rcx
	push rdx
	push rsi
	cmp byte [rel ticks], TICKS
	jae .out			; one late interrupt after the last: ignore it
	inc byte [rel ticks]
	mov dx, CONSOLE_PORT
	lea rsi, [rel tick_text]
	mov ecx, tick_text_len
	rep outsb			; "tick "
	mov al, [rel ticks]
	add al, '0'
	out dx, al			; the digit
	mov al, 10
	out dx, al			; newline
.out:
	pop rsi
	pop rdx
	pop rcx
	pop rax
	iretq				; back after the hlt, IF as it was

tick_text:
	db "tick "
tick_text_len equ $ - tick_text
ticks:
	db 0
align 8
idtr:
	dw (TIMER_VECTOR + 1) * 16 - 1	; limit: vectors 0 to TIMER_VECTOR
	dq 0				; base, filled in at start
align 16
idt:
	times (TIMER_VECTOR + 1) * 16 db 0
; endregion: tick_guest
