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
	if (st.st_size == 0) {
		report("guest image %s is empty", path);
		goto fail;
	}
	if ((unsigned long long)st.st_size > GUEST_CODE_MAX) {
		report("guest image %s is %lld bytes; a guest has room for at "
		       "most %llu bytes (GUEST_CODE_MAX)", path,
		       (long long)st.st_size, GUEST_CODE_MAX);
		goto fail;
	}
	buf = malloc(st.st_size);
	if (!buf) {
		report_errno("malloc", errno);
		goto fail;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				report_errno(call, errno);
			else
				report("guest image %s shrank while being read",
				       path);
			free(buf);
			goto fail;
		}
		done += n;
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
