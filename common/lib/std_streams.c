/* SPDX-License-Identifier: MIT */
/* std_streams.c: stdin, stdout and stderr kept safe (std_streams.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "report.h"
#include "std_streams.h"
#include "vm.h"

/*
 * Why stdout's first write failed, or 0.  stdio itself forgets: a failed
 * fflush() drops what it could not write, and the next one succeeds.
 */
static int stdout_errno;

/* fd 1, all of buf or -1; a signal (EINTR) does not lose the output. */
static ssize_t stdout_write(void *cookie, const char *buf, size_t size)
{
	size_t done = 0;

	(void)cookie;
	while (done < size) {
		ssize_t n = write(STDOUT_FILENO, buf + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (!stdout_errno)
				stdout_errno = errno;
			return -1;
		}
		done += n;
	}
	return done;
}

int std_streams_prepare(void)
{
	FILE *out;

	for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
		int got;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* The lowest free number: fd itself, as the ones below are open. */
		got = open("/dev/null", O_RDONLY);
		if (got < 0)
			return report_errno("open /dev/null", errno);
		if (got != fd) {
			close(got);
			return report("fd %d is closed, and /dev/null did not "
				      "take its place", fd);
		}
	}
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return report_errno("signal SIGPIPE", errno);

	out = fopencookie(NULL, "w", (cookie_io_functions_t){
				  .write = stdout_write });
	if (!out)
		return report_errno("fopencookie", errno);
	/* Buffered as stdio buffers stdout: by line on a terminal. */
	if (setvbuf(out, NULL, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF,
		    BUFSIZ) != 0) {
		fclose(out);
		return report("setvbuf failed");
	}
	fflush(stdout);
	stdout = out;
	return 0;
}

/* At exit: output that did not arrive makes the exit status 1. */
static void stdout_check_at_exit(void)
{
	if (stdout_finish() < 0)
		_exit(EXIT_SETUP);
}

int std_streams_guard(void)
{
	static int registered;

	if (std_streams_prepare() < 0)
		return -1;
	if (!registered && atexit(stdout_check_at_exit) != 0)
		return report("atexit failed");
	registered = 1;
	return 0;
}

int stdout_finish(void)
{
	int err;

	report_repeats_end();	/* a count of repeated lines still held */
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 0;
	err = stdout_errno ? stdout_errno : errno;
	report_errno("writing to stdout", err);
	if (err == EBADF)
		report_hint("stdout is closed (started with >&-?): give it a "
			    "terminal, a file or a pipe");
	else if (err == EPIPE)
		report_hint("the program reading this output through a pipe "
			    "exited before all of it was written");
	else if (err == ENOSPC)
		report_hint("the file system that stdout writes to is full");
	return -1;
}
