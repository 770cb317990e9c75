; SPDX-License-Identifier: MIT
; long_output.asm: 5000 bytes of output, more than a page (test_step10.c):
; 50 lines, each 99 letters 'a' + (i mod 26) counting on across lines,
; i being the byte's index in the output, then "\n".

bits 64

CONSOLE_PORT equ 0xe9
LINES equ 50
LINE_LETTERS equ 99

start:
	mov dx, CONSOLE_PORT
	xor ebx, ebx			; ebx = i, index of the next byte
	mov r8d, LINES
.line:
	mov ecx, LINE_LETTERS
.letter:
	mov eax, ebx
	push rdx
	xor edx, edx
	mov r9d, 26
	div r9d				; edx = i mod 26
	lea eax, [rdx + 'a']
	pop rdx
	out dx, al
	inc ebx
	loop .letter
	mov al, 10
	out dx, al
	inc ebx
	dec r8d
	jnz .line
	hlt
