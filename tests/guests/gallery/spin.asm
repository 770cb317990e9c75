; SPDX-License-Identifier: MIT
; spin.asm: a guest that never halts.  step10 stops it after --timeout
; seconds (or on Ctrl-C) and exits 4 with a register dump: RIP is 0x10001,
; the jmp itself.
; It spins with interrupts on (sti): step10 has no interrupt controller
; and injects nothing, so IF changes nothing KVM does, and Bochs stalls
; on a guest spinning with them off (tests/sandbox/README.md).

bits 64

start:
	sti
	jmp $
