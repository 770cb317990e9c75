; SPDX-License-Identifier: MIT
; plain.asm: print a message one `out` per byte, as step10's guest does.
; In: rsi = the message's guest physical address, rcx = its length
; (the benchmark sets both).  One VM exit per byte, then hlt.

bits 64

CONSOLE_PORT equ 0xe9

start:
	mov dx, CONSOLE_PORT
	jrcxz .done
.next:
	lodsb				; al = [rsi], rsi += 1
%ifndef NO_OUT			; (noout.asm defines it)
	out dx, al			; one exit
%endif
	loop .next
.done:
	hlt
