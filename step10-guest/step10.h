/* SPDX-License-Identifier: MIT */
/*
 * step10.h: what step 10 adds around its stage (run.h declares the
 * stage): the built-in guest, reading a guest file, the command line.
 * For step10's own files, its tests and the benchmarks.
 */
#ifndef STEP10_H
#define STEP10_H

#include <stdint.h>
#include <stdio.h>

#include "run.h"
#include "vm.h"

/* The built-in guest, step10-guest/guest.asm (embedded by guest_blob.asm). */
extern const uint8_t guest_image[];
extern const uint8_t guest_image_end[];

/*
 * guest_image.c: read a guest image file to its end (a /proc file's
 * size says 0).  Refuses a missing, unreadable, non-regular or empty file
 * and one over GUEST_CODE_MAX bytes, naming the file and the limit.  On
 * success *image is malloc'd.
 */
int guest_image_read(const char *path, uint8_t **image, size_t *size);

/*
 * The guest to run: the file at path, read into *file (malloc'd), or the
 * built-in one if path is NULL; its size in *size.  A file that will not
 * do is reported with what a guest image is, and exits EXIT_USAGE.
 */
const uint8_t *guest_image_choose(const char *path, uint8_t **file,
				  size_t *size);

/*
 * command_line.c: parse step10's command line into opt and *guest_path
 * (NULL for the built-in guest).  --help prints the usage and exits 0; a
 * bad argument prints the usage on stderr and exits EXIT_USAGE.
 */
void command_line_parse(int argc, char **argv, struct run_options *opt,
			const char **guest_path);

#endif
