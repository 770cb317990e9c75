; SPDX-License-Identifier: MIT
; exec_unbacked.asm: jump to GPA 0x300000, mapped by the page tables but
; with no memory behind it.  The CPU cannot fetch code there; KVM tries
; to emulate the fetch and gives up: KVM_EXIT_INTERNAL_ERROR, suberror
; KVM_INTERNAL_ERROR_EMULATION.  step10 exits 3.

bits 64

start:
	mov rax, 0x300000
	jmp rax
