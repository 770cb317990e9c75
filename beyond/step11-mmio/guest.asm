; SPDX-License-Identifier: MIT
; guest.asm: the guest step11 runs.  64-bit code, entered at its first
; byte with a stack; it prints a greeting through the transmit register
; of a UART at guest physical address 0x10000000, waiting before each
; byte until the UART's status register says it can take one, then halts.

bits 64

; region: uart_guest
UART_BASE	equ 0x10000000	; no memory here: every access is MMIO
UART_THR	equ 0		; transmit holding register (write)
UART_LSR	equ 5		; line status register (read)
UART_LSR_THRE	equ 0x20	; bit 5: ready for the next byte

start:
	lea rsi, [rel greeting]		; rsi walks the string
	mov ecx, greeting_len
	mov rdi, UART_BASE		; virtual = physical: the identity map
.next:
	mov dl, [rdi + UART_LSR]	; MMIO read: one VM exit
	test dl, UART_LSR_THRE
	jz .next			; not ready: ask again
	lodsb				; al = [rsi], rsi += 1
	mov [rdi + UART_THR], al	; MMIO write: one VM exit
	loop .next			; rcx -= 1, until 0
	hlt				; done: KVM_RUN returns KVM_EXIT_HLT

greeting:
	db "Hello from a 64-bit KVM guest!", 10
greeting_len equ $ - greeting
; endregion: uart_guest
