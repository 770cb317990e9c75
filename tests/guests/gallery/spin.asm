; SPDX-License-Identifier: MIT
; spin.asm: a guest that never halts.  step10 stops it after --timeout
; seconds (or on Ctrl-C) and exits 4 with a register dump: RIP is 0x10000,
; the jmp itself.

bits 64

start:
	jmp $
