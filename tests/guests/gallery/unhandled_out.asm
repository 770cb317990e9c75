; SPDX-License-Identifier: MIT
; unhandled_out.asm: write to ports nobody handles (0x80, the POST port,
; then 0x3f8 as a word and 0x1234 as a dword).  step10 reports each write
; on stderr, ignores it and goes on: the guest prints "still here" and
; halts, exit 0.

bits 64

start:
	mov al, 0x42
	out 0x80, al
	mov dx, 0x3f8
	mov ax, 0xbeef
	out dx, ax
	mov dx, 0x1234
	mov eax, 0xcafef00d
	out dx, eax
	lea rsi, [rel msg]
	mov ecx, msg_len
	mov dx, 0xe9
	rep outsb
	hlt

msg:
	db "still here", 10
msg_len equ $ - msg
