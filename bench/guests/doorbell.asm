; SPDX-License-Identifier: MIT
; doorbell.asm: the batched variant.  In: rsi = message, rcx = length.
; The guest writes a record into its own memory (a 32-bit length, then
; the bytes), then rings the host once: `out` of the record's address to
; DOORBELL_PORT.  One exit for the whole message, then the hlt.
; DOORBELL_PORT and RECORD_GPA are also defined in bench/printing.c.

bits 64

DOORBELL_PORT equ 0xea
RECORD_GPA equ 0x80000

start:
	mov edi, RECORD_GPA
	mov [rdi], ecx			; the record: length ...
	add rdi, 4
	rep movsb			; ... and bytes: memory writes, no exit
	mov eax, RECORD_GPA
	mov dx, DOORBELL_PORT
	out dx, eax			; ring: "print the record at eax"
	hlt
