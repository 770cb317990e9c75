; SPDX-License-Identifier: MIT
; rep_outsb.asm: print a string with one `rep outsb` (test_step10.c).

bits 64

CONSOLE_PORT equ 0xe9

start:
	lea rsi, [rel message]
	mov ecx, message_len
	mov dx, CONSOLE_PORT
	cld				; rsi counts up
	rep outsb			; ecx bytes from [rsi] to port dx
	hlt

message:
	db "rep outsb: 0123456789 abcdefghijklmnopqrstuvwxyz", 10
message_len equ $ - message
