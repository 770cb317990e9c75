; SPDX-License-Identifier: MIT
; coalesce_spin.asm: print the 26 letters A..Z to port 0xE9, then spin
; for ever.  With port 0xE9 coalesced the letters sit in the ring when
; the timeout stops the guest: the host must still drain and print them.

bits 64

CONSOLE_PORT equ 0xe9

start:
	mov dx, CONSOLE_PORT
	mov al, 'A'
.next:
	out dx, al
	inc al
	cmp al, 'Z'
	jbe .next
	jmp $				; never halts: only the timeout ends it
