; SPDX-License-Identifier: MIT
; guest.asm: the guest step13 runs on both of its vCPUs at once.  64-bit
; code, entered at its first byte, with RDI = this CPU's number (0 or 1)
; and RSP = its own stack.  Each CPU reads its APIC id with cpuid, then
; adds 1 to a shared counter ADDS times with lock xadd, saying what it
; does on port 0xE9; CPU 0 waits for
; CPU 1 to finish, prints the total and halts.

bits 64

; region: smp_guest
CONSOLE_PORT	equ 0xe9
COUNTER		equ 0x100000	; shared by both CPUs (step13.h)
FINISHED	equ COUNTER + 8	; how many CPUs are done adding
ADDS		equ 100000	; each CPU adds 1 this many times

start:
	mov eax, 1
	cpuid				; leaf 1: EBX bits 31:24 = the APIC id
	shr ebx, 24
	lea rsi, [rel up]
	call say			; "cpu N: up, apic "
	mov eax, ebx
	call print_decimal		; the APIC id this vCPU's CPUID gives
	lea rsi, [rel adding]
	call print			; ", adding 1 ... 100000 times"
	mov ecx, ADDS
.add:
	mov eax, 1
	lock xadd [COUNTER], rax	; atomically: rax = old, counter = old + 1
	dec ecx
	jnz .add
	lea rsi, [rel added]
	call say			; "cpu N: added 100000"
	lock inc qword [FINISHED]
	test edi, edi
	jnz .halt			; CPU 1 is done
.wait:
	pause				; CPU 0 waits for CPU 1
	cmp qword [FINISHED], 2
	jb .wait
	lea rsi, [rel total]
	call say			; "cpu 0: both done, counter = "
	mov rax, [COUNTER]
	call print_decimal
	mov al, 10
	out dx, al
.halt:
	hlt

; Print "cpu N: " then the NUL-terminated string at rsi.  DX = the port.
say:
	mov dx, CONSOLE_PORT
	push rsi
	lea rsi, [rel cpu_text]
	call print
	mov eax, edi
	add al, '0'
	out dx, al			; N
	lea rsi, [rel colon]
	call print
	pop rsi
print:					; the string at rsi, one out per byte
	lodsb
	test al, al
	jz .end
	out dx, al
	jmp print
.end:
	ret

; Print rax in decimal: digits pushed last first, then popped.
print_decimal:
	mov ecx, 10
	xor r8d, r8d			; digit count
.divide:
	xor edx, edx
	div rcx				; rax = rax / 10, rdx = rax % 10
	add dl, '0'
	push rdx
	inc r8d
	test rax, rax
	jnz .divide
	mov dx, CONSOLE_PORT
.digit:
	pop rax
	out dx, al
	dec r8d
	jnz .digit
	ret

cpu_text:	db "cpu ", 0
colon:		db ": ", 0
up:		db "up, apic ", 0
adding:		db ", adding 1 to the shared counter 100000 times", 10, 0
added:		db "added 100000", 10, 0
total:		db "both done, counter = ", 0
; endregion: smp_guest
