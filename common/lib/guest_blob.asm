; SPDX-License-Identifier: MIT
; guest_blob.asm: embed the step's flat guest.bin (assembled from its own
; guest.asm into its build folder) in its program, as the bytes between
; guest_image and guest_image_end.  Steps 10 to 13 and the bench share it.

section .rodata
global guest_image, guest_image_end
guest_image:
	incbin "guest.bin"
guest_image_end:

section .note.GNU-stack noalloc noexec nowrite progbits
