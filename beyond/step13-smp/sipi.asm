; SPDX-License-Identifier: MIT
; sipi.asm: the guest of step13 --sipi, which starts its second CPU the
; way firmware does.  vCPU 0, the bootstrap processor (BSP), enters at
; its first byte in 64-bit mode, as stages 08 and 09 left it: it maps its
; local APIC, sends INIT then a STARTUP IPI (SIPI) to APIC id 1, and waits
; for it.  vCPU 1, an application processor (AP), sleeps until then and
; starts at AP_PAGE, the page the SIPI's vector names, in real mode.
; Both say what they do on port 0xE9, and end with an out to port 0xF4:
; with a local APIC in the kernel, KVM keeps a hlt to itself.

bits 64

; region: sipi_bsp
CONSOLE_PORT	equ 0xe9
DONE_PORT	equ 0xf4	; "this CPU is done" (step13.h)
LOAD		equ 0x10000	; where this file lies, and vCPU 0's RIP (vm.h)
AP_PAGE		equ 0x11000	; the AP's code, the page after this one (step13.h)
SIPI_VECTOR	equ AP_PAGE >> 12	; a SIPI's vector is the page's number

APIC		equ 0xfee00000	; the local APIC's registers, one 4 KiB page
ICR_LOW		equ 0x300	; interrupt command: writing it sends the IPI
ICR_HIGH	equ 0x310	; bits 31:24: the destination's APIC id
ICR_INIT	equ 0x4500	; delivery mode 101b (INIT), level assert
ICR_STARTUP	equ 0x4600	; delivery mode 110b (STARTUP), level assert

PDPT		equ 0x3000	; stage 08's; its entry 0 maps the first GiB
APIC_PD		equ 0x5000	; a free page (vm.h): a page directory for the 4th
PTE_P_W		equ 0x03	; present, writable
PTE_PWT_PCD	equ 0x18	; uncached: registers, not memory
PTE_PS		equ 0x80	; a 2 MiB page

start:					; vCPU 0, the BSP
	mov eax, 1
	cpuid				; leaf 1: EBX bits 31:24 = the APIC id
	shr ebx, 24
	lea rsi, [rel bsp_up]
	call print			; "cpu 0: up, apic "
	lea eax, [rbx + '0']
	out dx, al			; its APIC id, one digit
	lea rsi, [rel bsp_sends]
	call print			; ", in long mode: INIT and SIPI ..."

	; Stage 08's page tables map the first GiB: add the APIC's 2 MiB page.
	mov eax, APIC_PD | PTE_P_W
	mov [PDPT + 3 * 8], rax		; the 4th GiB, from 0xc0000000: APIC_PD
	mov eax, APIC | PTE_PS | PTE_PWT_PCD | PTE_P_W
	mov [APIC_PD + ((APIC >> 21) & 511) * 8], rax	; 0xfee00000 itself

	mov ebx, APIC			; (as a displacement it would sign-extend)
	mov dword [rbx + ICR_HIGH], 1 << 24		; to APIC id 1
	mov dword [rbx + ICR_LOW], ICR_INIT		; INIT: it waits for a SIPI
	mov dword [rbx + ICR_LOW], ICR_STARTUP | SIPI_VECTOR	; SIPI: AP_PAGE
.wait:
	pause				; until the AP says it is up
	cmp byte [rel ap_up], 0
	je .wait
	lea rsi, [rel bsp_done]
	call print			; "cpu 0: cpu 1 is up; done"
	out DONE_PORT, al		; the VMM stops running this vCPU
	hlt
; endregion: sipi_bsp

; Print the NUL-terminated string at rsi, one out per byte; DX = the port.
print:
	mov dx, CONSOLE_PORT
.next:
	lodsb
	test al, al
	jz .end
	out dx, al
	jmp .next
.end:
	ret

bsp_up:		db "cpu 0: up, apic ", 0
bsp_sends:	db ", in long mode: INIT and SIPI to apic 1", 10, 0
bsp_done:	db "cpu 0: cpu 1 is up; done", 10, 0

	times AP_PAGE - LOAD - ($ - $$) db 0	; to the AP's page

bits 16
; region: sipi_ap
ap:					; vCPU 1, the AP: CS:IP = vector << 8 : 0
	mov ax, cs
	mov ds, ax			; its data, at offsets from ap
	mov ss, ax
	mov sp, 0x1000			; a stack: the top of this page
	mov eax, 1
	cpuid
	shr ebx, 24			; its APIC id, from its own CPUID
	mov si, ap_text_up - ap
	call ap_print			; "cpu 1: up, apic "
	lea ax, [bx + '0']
	out dx, al
	mov si, ap_text_mode - ap
	call ap_print			; ", in real mode, CS 0x"
	mov bx, cs			; the segment the SIPI gave it, in hex
	mov cx, 4
.hex:
	rol bx, 4			; the next digit into bits 3:0
	mov al, bl
	and al, 0x0f
	add al, '0'
	cmp al, '9'
	jbe .digit
	add al, 'a' - '9' - 1
.digit:
	out dx, al
	loop .hex
	mov al, 10
	out dx, al
	mov byte [ap_up - ap], 1	; tell the BSP
	out DONE_PORT, al
	hlt
; endregion: sipi_ap

ap_print:				; as print, in 16-bit code
	mov dx, CONSOLE_PORT
.next:
	lodsb
	test al, al
	jz .end
	out dx, al
	jmp .next
.end:
	ret

ap_text_up:	db "cpu 1: up, apic ", 0
ap_text_mode:	db ", in real mode, CS 0x", 0
ap_up:		db 0			; 1 once the AP has printed its line
