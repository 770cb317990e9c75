; SPDX-License-Identifier: MIT
; host_memory.asm: print the NUL-terminated string the host wrote into
; guest memory at HOST_DATA_GPA after loading this guest (test_step10.c).
; Paging identity-maps it, so the guest reads it at the same address.

bits 64

CONSOLE_PORT equ 0xe9
HOST_DATA_GPA equ 0x100000	; test_step10.c's HOST_DATA_GPA

start:
	mov esi, HOST_DATA_GPA
	mov dx, CONSOLE_PORT
.next:
	lodsb
	test al, al
	jz .done
	out dx, al
	jmp .next
.done:
	hlt
