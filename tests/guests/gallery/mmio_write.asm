; SPDX-License-Identifier: MIT
; mmio_write.asm: store 4 bytes at GPA 0x20000000 (512 MiB).  The page
; tables map it, but no memory slot backs it: KVM_EXIT_MMIO, a write of
; 4 bytes, data 78 56 34 12.  step10 exits 3.

bits 64

start:
	mov rax, 0x20000000
	mov dword [rax], 0x12345678
	hlt				; not reached: step10 stops at the MMIO exit
