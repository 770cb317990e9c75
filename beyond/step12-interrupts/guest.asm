; SPDX-License-Identifier: MIT
; guest.asm: the guest step12 runs.  64-bit code, entered at its first
; byte with a stack.  It builds an IDT whose vector 32 is its timer
; handler, then sleeps in hlt with interrupts enabled.  Each interrupt
; prints "tick N" to port 0xE9; after the fifth it tells the host it is
; done.  The byte at `route` says who delivers the ticks: 0, the host
; with KVM_INTERRUPT; ROUTE_IN_KERNEL (step12 --irqchip writes it before
; the run), KVM's own PIC and PIT, which the guest then programs itself.

bits 64

; region: tick_guest
CONSOLE_PORT	equ 0xe9
DONE_PORT	equ 0xf4	; "done", where a hlt would not come back
ROUTE_IN_KERNEL	equ 1		; route's value for step12 --irqchip
TIMER_VECTOR	equ 32		; the first vector that is not an exception
TICKS		equ 5
CODE_SELECTOR	equ 0x08	; the GDT's 64-bit code segment (stage 08)
GATE_INTERRUPT	equ 0x8e	; present, DPL 0, 64-bit interrupt gate

start:
	jmp short begin
route:	db 0			; the host's byte (step12.h, GUEST_ROUTE_OFFSET)
begin:
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
	cmp byte [rel route], ROUTE_IN_KERNEL
	jne .wait
	call pic_pit_program		; the kernel's chips: ours to set up

.wait:
	sti
	hlt				; in sti's shadow: sleeps before any interrupt
	cli				; the handler has run; IF off to decide
	cmp byte [rel ticks], TICKS
	jb .wait
	cmp byte [rel route], ROUTE_IN_KERNEL
	jne .halt
	out DONE_PORT, al		; KVM keeps a hlt to itself: say it
.halt:
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
	cmp byte [rel route], ROUTE_IN_KERNEL
	jne .return
	mov al, PIC_EOI
	out PIC1_COMMAND, al		; the PIC may raise IRQ 0 again
.return:
	pop rsi
	pop rdx
	pop rcx
	pop rax
	iretq				; back after the hlt, IF as it was
; endregion: tick_guest

; region: pic_pit_program
; The 8259 PIC and the 8254 PIT, as a PC's firmware sets them up.  With
; step12 --irqchip KVM emulates both in the kernel: none of these outs
; exits to the host.
PIC1_COMMAND	equ 0x20	; the master PIC's ports
PIC1_DATA	equ 0x21
PIC_ICW1	equ 0x11	; initialise: edge-triggered, cascade, ICW4 follows
PIC_ICW3	equ 0x04	; the slave PIC hangs on IRQ 2
PIC_ICW4	equ 0x01	; 8086 mode, normal EOI
PIC_ONLY_IRQ0	equ 0xfe	; interrupt mask: every IRQ off but IRQ 0
PIC_EOI		equ 0x20	; end of interrupt (non-specific)
PIT_COMMAND	equ 0x43
PIT_CHANNEL0	equ 0x40	; its output is IRQ 0
PIT_RATE	equ 0x34	; channel 0, low then high byte, mode 2: periodic
PIT_HZ		equ 1193182	; the PIT's input clock
TICK_MS		equ 50
PIT_DIVISOR	equ PIT_HZ * TICK_MS / 1000	; 59659: a tick every 50 ms

pic_pit_program:
	mov al, PIC_ICW1
	out PIC1_COMMAND, al
	mov al, TIMER_VECTOR		; ICW2: IRQ 0 to 7 on vectors 32 to 39
	out PIC1_DATA, al
	mov al, PIC_ICW3
	out PIC1_DATA, al
	mov al, PIC_ICW4
	out PIC1_DATA, al
	mov al, PIC_ONLY_IRQ0		; OCW1: unmask IRQ 0, the timer
	out PIC1_DATA, al
	mov al, PIT_RATE
	out PIT_COMMAND, al
	mov al, PIT_DIVISOR & 0xff
	out PIT_CHANNEL0, al
	mov al, PIT_DIVISOR >> 8
	out PIT_CHANNEL0, al		; counting starts: IRQ 0 every 50 ms
	ret
; endregion: pic_pit_program

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
