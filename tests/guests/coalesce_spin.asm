; SPDX-License-Identifier: MIT
; coalesce_spin.asm: print the 26 letters A..Z to port 0xE9, then spin
; for ever.  With port 0xE9 coalesced the letters sit in the ring when
; the timeout stops the guest: the host must still drain and print them.
; It spins with interrupts on (sti): step11 has no interrupt controller
; and injects nothing, so IF changes nothing KVM does, and Bochs stalls
; on a guest spinning with them off (tests/sandbox/README.md).

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
	sti
	jmp $				; never halts: only the timeout ends it
