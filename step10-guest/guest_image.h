/* SPDX-License-Identifier: MIT */
/* guest_image.h: reading a guest image file (step10 GUEST.bin). */
#ifndef GUEST_IMAGE_H
#define GUEST_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Read a guest image file.  Refuses a missing, unreadable, non-regular
 * or empty file and one over GUEST_CODE_MAX bytes, naming the file and
 * the limit.  On success *image is malloc'd.
 */
int guest_image_read(const char *path, uint8_t **image, size_t *size);

#endif
