; SPDX-License-Identifier: MIT
; ports.asm: port I/O of every size and kind step10 handles.
;   out to 0xe9, 1, 2 and 4 bytes:       prints "a", "bc", "defg"
;   rep outsb to 0xe9 (string output):   prints "-string-"
;   in from 0xe9, 1, 2 and 4 bytes:      each reads 0xe9 in every byte
;   rep insb from 0xe9, 4 bytes:         fills a buffer with 0xe9
;   in from 0x60 (unhandled), 1, 2, 4:   all ones, reported on stderr
; After each check it prints Y (as expected) or N, then a newline, and
; halts.  Expected stdout: "abcdefg-string-YYYYYYYY\n", exit 0.

bits 64

CONSOLE_PORT equ 0xe9

start:
	mov dx, CONSOLE_PORT
	mov al, 'a'
	out dx, al
	mov ax, 'bc'
	out dx, ax
	mov eax, 'defg'
	out dx, eax
	lea rsi, [rel string]
	mov ecx, string_len
	rep outsb

	in al, dx
	cmp al, 0xe9
	call verdict
	in ax, dx
	cmp ax, 0xe9e9
	call verdict
	in eax, dx
	cmp eax, 0xe9e9e9e9
	call verdict
	lea rdi, [rel buffer]
	mov ecx, 4
	rep insb
	cmp dword [rel buffer], 0xe9e9e9e9
	call verdict

	mov dx, 0x60
	in al, dx
	cmp al, 0xff
	call verdict
	in ax, dx
	cmp ax, 0xffff
	call verdict
	in eax, dx
	cmp eax, 0xffffffff
	call verdict
	mov rax, -1
	in eax, dx			; a 32-bit in zero-extends into rax
	mov rbx, 0xffffffff
	cmp rax, rbx
	call verdict

	mov dx, CONSOLE_PORT
	mov al, 10
	out dx, al
	hlt

; Print Y if the last comparison found equal, else N.  Keeps dx.
verdict:
	push rdx
	mov dx, CONSOLE_PORT
	mov al, 'Y'
	je .out
	mov al, 'N'
.out:
	out dx, al
	pop rdx
	ret

string:
	db "-string-"
string_len equ $ - string
buffer:
	dd 0
