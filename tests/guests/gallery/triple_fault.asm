; SPDX-License-Identifier: MIT
; triple_fault.asm: jump to 2 GiB, which the page tables do not map.
; The instruction fetch raises #PF; with no IDT the CPU cannot deliver
; it (nor the #DF that follows), so it shuts down: KVM_EXIT_SHUTDOWN.
; step10 exits 3 with "triple-faulted" and a register dump.

bits 64

start:
	mov rax, 0x80000000		; beyond the 1 GiB identity map
	jmp rax
