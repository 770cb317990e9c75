/* SPDX-License-Identifier: MIT */
/*
 * criterion_static.c: linked only with Criterion's static archive
 * (common/rules.mk).  libcriterion.a calls three libgit2 functions, from
 * its string_diff.c, which draws the diff of two strings for a failed
 * assertion of its new API (criterion/new/assert.h); the tests use the
 * cr_assert_* API, which never asks for a diff.  Answering them here
 * keeps libgit2, and the 15 libraries it loads, out of every test's
 * exec: the library says it is initialized, and a diff is never made.
 */
#include <stddef.h>

int git_libgit2_init(void);
int git_libgit2_shutdown(void);
int git_diff_buffers(const void *old_buffer, size_t old_len,
		     const char *old_as_path, const void *new_buffer,
		     size_t new_len, const char *new_as_path,
		     const void *options, void *file_cb, void *binary_cb,
		     void *hunk_cb, void *line_cb, void *payload);

int git_libgit2_init(void)
{
	return 1;	/* the number of initializations, as libgit2's */
}

int git_libgit2_shutdown(void)
{
	return 0;
}

int git_diff_buffers(const void *old_buffer, size_t old_len,
		     const char *old_as_path, const void *new_buffer,
		     size_t new_len, const char *new_as_path,
		     const void *options, void *file_cb, void *binary_cb,
		     void *hunk_cb, void *line_cb, void *payload)
{
	(void)old_buffer;
	(void)old_len;
	(void)old_as_path;
	(void)new_buffer;
	(void)new_len;
	(void)new_as_path;
	(void)options;
	(void)file_cb;
	(void)binary_cb;
	(void)hunk_cb;
	(void)line_cb;
	(void)payload;
	return -1;	/* no diff: libgit2's error status */
}
