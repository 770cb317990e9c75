; SPDX-License-Identifier: MIT
; guest_blob.asm: embed the flat guest.bin in step13 as the bytes between
; guest_image and guest_image_end.

section .rodata
global guest_image, guest_image_end
guest_image:
	incbin "guest.bin"
guest_image_end:

section .note.GNU-stack noalloc noexec nowrite progbits
