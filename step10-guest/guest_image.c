/* SPDX-License-Identifier: MIT */
/* guest_image.c: reading a guest image file (step10.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"
#include "std_streams.h"
#include "step10.h"
#include "vm.h"

int guest_image_read(const char *path, uint8_t **image, size_t *size)
{
	char call[300];
	struct stat st;
	uint8_t *buf;
	size_t done = 0;
	int fd;

	snprintf(call, sizeof(call), "opening guest image %s", path);
	/* O_NONBLOCK: naming a FIFO by mistake must not hang the open. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return report_errno(call, errno);
	snprintf(call, sizeof(call), "reading guest image %s", path);
	if (fstat(fd, &st) < 0) {
		report_errno(call, errno);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		report("guest image %s is %s, not a regular file", path,
		       S_ISDIR(st.st_mode) ? "a directory"
					   : "a device, FIFO or socket");
		goto fail;
	}
	if ((unsigned long long)st.st_size > GUEST_CODE_MAX) {
		report("guest image %s is %lld bytes; a guest has room for at "
		       "most %llu bytes (GUEST_CODE_MAX)", path,
		       (long long)st.st_size, GUEST_CODE_MAX);
		goto fail;
	}
	/*
	 * Read to the end of the file, not only st_size bytes: a file of
	 * /proc or /sys says 0 bytes and has content; one byte more than
	 * fits tells a file that grew too long.
	 */
	buf = malloc(GUEST_CODE_MAX + 1);
	if (!buf) {
		report_errno("malloc", errno);
		goto fail;
	}
	while (done <= GUEST_CODE_MAX) {
		/* st_size bytes first, then whatever follows */
		size_t want = done < (size_t)st.st_size ? st.st_size - done
						       : GUEST_CODE_MAX + 1 - done;
		ssize_t n = read(fd, buf + done, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			report_errno(call, errno);
			free(buf);
			goto fail;
		}
		if (n == 0)
			break;
		done += n;
	}
	if (done == 0 || done > GUEST_CODE_MAX) {
		if (done == 0)
			report("guest image %s is empty", path);
		else
			report("guest image %s grew past %llu bytes while being "
			       "read (GUEST_CODE_MAX)", path, GUEST_CODE_MAX);
		free(buf);
		goto fail;
	}
	close(fd);
	*image = buf;
	*size = done;
	return 0;
fail:
	close(fd);
	return -1;
}

const uint8_t *guest_image_choose(const char *path, uint8_t **file,
				  size_t *size)
{
	if (!path) {
		*size = guest_image_end - guest_image;
		return guest_image;
	}
	if (guest_image_read(path, file, size) < 0) {
		report_hint("a guest image is a flat binary (nasm -f bin) of 1 "
			    "to %llu bytes, loaded and entered at 0x%llx",
			    GUEST_CODE_MAX, GUEST_LOAD_ADDR);
		stdout_finish();
		exit(EXIT_USAGE);
	}
	return *file;
}
