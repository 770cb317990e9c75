; SPDX-License-Identifier: MIT
; coalesce_5000.asm: print 5000 bytes to port 0xE9, one `out` per byte,
; then halt.  The bytes are lines "NNNN\n" (line numbers 0000 to 0999),
; so a lost, doubled or reordered byte shows in the output.  Used by
; tests/test_step11_coalesce.c to fill KVM's coalesced ring many times.

bits 64

CONSOLE_PORT equ 0xe9
LINES equ 1000			; 1000 lines of 5 bytes: 5000 bytes

start:
	mov dx, CONSOLE_PORT
	xor ebx, ebx			; ebx: the line number
.line:
	mov eax, ebx			; four decimal digits, most significant first
	xor ecx, ecx
	mov edi, 1000
.digit:
	xor edx, edx
	div edi				; eax = quotient digit, edx = remainder
	add al, '0'
	push rdx
	mov dx, CONSOLE_PORT
	out dx, al
	pop rax				; the remainder goes on
	push rax
	mov eax, edi			; edi /= 10
	xor edx, edx
	mov esi, 10
	div esi
	mov edi, eax
	pop rax
	test edi, edi
	jnz .digit
	mov dx, CONSOLE_PORT
	mov al, 10
	out dx, al			; end of line
	inc ebx
	cmp ebx, LINES
	jb .line
	hlt
