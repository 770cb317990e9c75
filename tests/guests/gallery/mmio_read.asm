; SPDX-License-Identifier: MIT
; mmio_read.asm: load 8 bytes from GPA 0x3ff00000, just below 1 GiB:
; mapped, but not memory.  KVM_EXIT_MMIO, a read of 8 bytes.  step10
; exits 3.

bits 64

start:
	mov rax, 0x3ff00000
	mov rbx, [rax]
	hlt				; not reached
