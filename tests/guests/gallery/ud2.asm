; SPDX-License-Identifier: MIT
; ud2.asm: an undefined instruction.  #UD finds no IDT: a triple fault,
; KVM_EXIT_SHUTDOWN.  step10 exits 3.

bits 64

start:
	ud2
