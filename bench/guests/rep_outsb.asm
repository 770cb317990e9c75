; SPDX-License-Identifier: MIT
; rep_outsb.asm: print a message with one string instruction.  In: rsi =
; message, rcx = length.  One instruction, but KVM still hands user space
; one KVM_EXIT_IO per byte (count 1 each).

bits 64

CONSOLE_PORT equ 0xe9

start:
	mov dx, CONSOLE_PORT
	rep outsb			; [rsi] -> port dx, rcx times
	hlt
