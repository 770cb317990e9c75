/* SPDX-License-Identifier: MIT */
/*
 * std_streams.h: a program's output arrives, or the program says it did
 * not.  A closed stdin, stdout or stderr must not hand its number to a
 * KVM fd, and a failed write to stdout (a full disk, a reader that went
 * away, a closed stdout) is an error, not a silent success.
 */
#ifndef STD_STREAMS_H
#define STD_STREAMS_H

/*
 * Put /dev/null, read-only, on any of fds 0, 1 and 2 that is closed, so
 * no later open() gets that number and a write to it fails (EBADF);
 * ignore SIGPIPE, so a closed pipe is a write error (EPIPE), not a
 * silent death; and send stdout through a stream that keeps the errno
 * of its first failed write.  Returns 0, or -1 after reporting.
 */
int std_streams_prepare(void);

/*
 * std_streams_prepare(), and at exit stdout_finish(): if the output did
 * not arrive, the program exits 1 having said why.  For steps 01 to 09,
 * whose main() ends with a plain return (step_options() calls it).
 * Returns 0, or -1 after reporting.
 */
int std_streams_guard(void);

/*
 * Flush stdout and check that everything written to it arrived.
 * Returns 0, or -1 after reporting the write's errno with a hint.
 */
int stdout_finish(void);

#endif
