; SPDX-License-Identifier: MIT
; guest.asm: the guest step10 runs.  64-bit code, entered at its first
; byte with a stack; it prints a greeting to port 0xE9, one byte per
; `out`, then halts.  Position-independent: it runs wherever it is loaded.

bits 64

; region: guest
CONSOLE_PORT equ 0xe9

start:
	lea rsi, [rel greeting]		; rsi walks the string
	mov ecx, greeting_len
	mov dx, CONSOLE_PORT
.next:
	lodsb				; al = [rsi], rsi += 1
	out dx, al			; one VM exit per byte
	loop .next			; rcx -= 1, until 0
	hlt				; done: KVM_RUN returns KVM_EXIT_HLT

greeting:
	db "Hello from a 64-bit KVM guest!", 10
greeting_len equ $ - greeting
; endregion: guest
