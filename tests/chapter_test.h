/* SPDX-License-Identifier: MIT */
/*
 * chapter_test.h: what every chapter's program (beyond/step11-13) must do
 * as a user runs it, the same for each: the missing, wrong and
 * forbidden device, a bad or unknown argument,
 * --help, and a full disk under stdout.  CHAPTER_PROGRAM_TESTS(suite,
 * last) makes them Criterion tests of suite; last is the chapter's stage.
 */
#ifndef CHAPTER_TEST_H
#define CHAPTER_TEST_H

#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm_test.h"
#include "vm.h"

/*
 * Ctrl-C (or sig, if set), as a terminal or kill sends it, to the thread
 * that runs the guest, after a while: pthread_create(..., ctrl_c_later, &c).
 */
struct ctrl_c {
	pthread_t target;
	double after;		/* seconds */
	int sig;		/* SIGINT if 0 */
};

static inline void *ctrl_c_later(void *arg)
{
	struct ctrl_c *c = arg;

	usleep((useconds_t)(c->after * 1e6));
	pthread_kill(c->target, c->sig ? c->sig : SIGINT);
	return NULL;
}

/*
 * After the run: a signal not sent yet is not sent (a run that ended
 * early fails its test's status check instead of being killed by it).
 */
static inline void ctrl_c_done(pthread_t t)
{
	pthread_cancel(t);	/* usleep() is a cancellation point */
	pthread_join(t, NULL);
}

/* Guest code that prints "ab" on the console port, for a guest to go on from. */
#define PRINT_AB_CODE \
	0xb0, 'a', 0xe6, 0xe9,	/* mov al, 'a'; out 0xe9, al */ \
	0xb0, 'b', 0xe6, 0xe9	/* mov al, 'b'; out 0xe9, al */

/*
 * Guest code that spins for ever with interrupts on.  Where nothing is
 * injected (no KVM_INTERRUPT, no irqchip) IF changes nothing KVM does,
 * and Bochs stalls on a guest spinning with IF clear
 * (tests/sandbox/README.md, "What Bochs cannot run").
 */
#define SPIN_CODE \
	0xfb,			/* sti */ \
	0xeb, 0xfe		/* jmp $ */

/* The program with up to two arguments (NULL for none), as a user runs it. */
static inline void program_run_args(const char *a, const char *b,
				    struct program_result *r)
{
	const char *argv[] = { STEP_PROGRAM, a, b, NULL };

	program_run(argv, NULL, 60, r);
}

/* The same, and it must exit with status: else the test shows its stderr. */
static inline void program_run_args_status(const char *a, const char *b,
					   int status, struct program_result *r)
{
	program_run_args(a, b, r);
	cr_assert_eq(r->status, status, "%s %s %s exited %d, not %d:\n%s",
		     step_name(), a ? a : "", b ? b : "", r->status, status,
		     r->err);
}

/*
 * --trace: the program exits 0 and its trace (stderr) holds each of
 * pieces (NULL-terminated), e.g. the guest's exits as the chapter decodes
 * them.
 */
static inline void chapter_check_traced(const char *const pieces[])
{
	struct program_result r;

	program_run_args_status("--trace", NULL, EXIT_SUCCESS, &r);
	for (int i = 0; pieces[i]; i++)
		assert_has(r.err, pieces[i]);
	program_result_free(&r);
}

/*
 * The program run plainly: it must exit 0, print nothing on stderr, and
 * print stages 01 to shared in order before its own first "[NN] " line;
 * returns where that line begins in r->out.
 */
static inline char *chapter_run_plain(int chapter, int shared,
				      struct program_result *r)
{
	char tag[8], *own;

	program_run_args_status(NULL, NULL, EXIT_SUCCESS, r);
	cr_assert_str_eq(r->err, "", "the program must write nothing on "
			 "stderr; it wrote\n%s", r->err);
	snprintf(tag, sizeof(tag), "[%02d] ", chapter);
	own = strstr(r->out, tag);
	cr_assert(own, "no %s line:\n%s", tag, r->out);
	*own = '\0';
	stage_lines_check(r->out, shared);
	*own = '[';
	return own;
}

/* chapter_run_plain(), whose own lines must hold own_lines. */
static inline void chapter_check_plain(int chapter, int shared,
				       const char *own_lines)
{
	struct program_result r;

	assert_has(chapter_run_plain(chapter, shared, &r), own_lines);
	program_result_free(&r);
}

/* --timeout with a value nobody means: status 2, and no stage line. */
static inline void chapter_check_bad_timeout(void)
{
	const char *argv[] = { STEP_PROGRAM, "--timeout", "soon", NULL };
	struct program_result r;

	program_run(argv, NULL, 30, &r);
	cr_assert_eq(r.status, EXIT_USAGE, "--timeout soon: exit %d", r.status);
	assert_has(r.err, "--timeout wants seconds from 0 to 1000000, not "
		   "'soon'");
	cr_assert_str_eq(r.out, "", "with a bad --timeout the program must "
			 "print no stage line; it printed\n%s", r.out);
	program_result_free(&r);
}

/* stdout on a full disk: the output was lost, so status 1 and ENOSPC. */
static inline void chapter_check_full_stdout(void)
{
	const char *argv[] = { "/bin/sh", "-c", "exec \"$0\" >/dev/full",
			       STEP_PROGRAM, NULL };
	struct program_result r;

	program_run(argv, NULL, 30, &r);
	cr_assert_eq(r.status, EXIT_SETUP,
		     "with stdout on /dev/full the program exited %d; its "
		     "output was lost, so it must exit %d:\n%s", r.status,
		     EXIT_SETUP, r.err);
	assert_has(r.err, "ENOSPC");
	program_result_free(&r);
}

#define CHAPTER_PROGRAM_TESTS(suite, last)				\
	Test(suite, program_reports_missing_device, .timeout = 30)	\
	{ program_check_missing_device(); }				\
	Test(suite, program_reports_device_that_is_not_kvm, .timeout = 30) \
	{ program_check_not_kvm_device(last); }				\
	Test(suite, program_reports_permission_denied, .timeout = 30)	\
	{ program_check_permission_denied(); }				\
	Test(suite, program_refuses_unknown_argument, .timeout = 30)	\
	{ program_check_unknown_argument(); }				\
	Test(suite, program_refuses_bad_timeout, .timeout = 30)	\
	{ chapter_check_bad_timeout(); }				\
	Test(suite, program_help_exits_0, .timeout = 30)		\
	{ program_check_help(); }					\
	Test(suite, program_full_stdout_is_an_error, .timeout = 30)	\
	{ chapter_check_full_stdout(); }

#endif
