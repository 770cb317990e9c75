; SPDX-License-Identifier: MIT
; sipi_blob.asm: embed sipi.bin (assembled from sipi.asm into the build
; folder) in step13, as the bytes between sipi_image and sipi_image_end,
; as common/lib/guest_blob.asm embeds guest.bin.

section .rodata
global sipi_image, sipi_image_end
sipi_image:
	incbin "sipi.bin"
sipi_image_end:

section .note.GNU-stack noalloc noexec nowrite progbits
