/* SPDX-License-Identifier: MIT */
/*
 * test_step10_signals: step10 stopped from outside, and step10 whose
 * stdin, stdout or stderr is not what a terminal gives it.
 *
 * A signal (Ctrl-C, SIGTERM, SIGHUP, a stray SIGALRM) must end a run with
 * status 4, a message saying which signal, the register dump, and the
 * guest's output written out; one that comes during setup must too.  A
 * stdout that cannot be written (a full disk, a pipe nobody reads, a
 * closed fd) must give a non-zero status and say why, and a closed fd
 * 0, 1 or 2 must never become a KVM fd.  Also what KVM leaves in
 * kvm_run when KVM_RUN returns EINTR.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvm_names.h"
#include "kvm_test.h"
#include "report.h"
#include "std_streams.h"
#include "step10_test.h"
#include "trace.h"

#define GUESTS TEST_GUESTS_DIR "/"
#define PRINTED "printed before the signal\n"	/* guests/print_spin.asm */

/* A step10 started by child_start(), its output read as it comes. */
struct child {
	pid_t pid;
	int fd[3];		/* [1], [2]: read ends of its stdout, stderr */
	char out[16384], err[32768];
	size_t len[3];
};

/* Start step10 with args (NULL-terminated), stdin /dev/null. */
static void child_start(struct child *c, const char *const args[])
{
	const char *argv[8] = { STEP_PROGRAM };
	int out[2], err[2];
	pid_t parent;

	for (int i = 0; args[i]; i++)
		argv[i + 1] = args[i];
	memset(c, 0, sizeof(*c));
	cr_assert(pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0,
		  "pipe2 for step10's stdout and stderr failed: %s",
		  errno_name(errno));
	fflush(NULL);
	parent = getpid();
	c->pid = fork();
	cr_assert_geq(c->pid, 0,
		      "fork failed: %s", errno_name(errno));
	if (c->pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null < 0 || dup2(null, 0) < 0 || dup2(out[1], 1) < 0 ||
		    dup2(err[1], 2) < 0)
			_exit(127);
		closefrom(3);
		signal(SIGINT, SIG_DFL);
		child_die_with_parent(parent);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	c->fd[1] = out[0];
	c->fd[2] = err[0];
}

/* Read what has come on stdout and stderr, waiting up to ms. */
static void child_read(struct child *c, int ms)
{
	struct pollfd pfd[2] = {
		{ .fd = c->fd[1], .events = POLLIN },
		{ .fd = c->fd[2], .events = POLLIN },
	};

	if (poll(pfd, 2, ms) <= 0)
		return;
	for (int i = 0; i < 2; i++) {
		int n = i + 1;
		char *buf = n == 1 ? c->out : c->err;
		size_t room = (n == 1 ? sizeof(c->out) : sizeof(c->err)) - 1;
		ssize_t got;

		if (c->fd[n] < 0 || !(pfd[i].revents & (POLLIN | POLLHUP)))
			continue;
		got = read(c->fd[n], buf + c->len[n], room - c->len[n]);
		if (got <= 0) {
			close(c->fd[n]);
			c->fd[n] = -1;
		} else {
			c->len[n] += got;
			buf[c->len[n]] = '\0';
		}
	}
}

/* Wait (20 s at most) until stream n (1 or 2) holds text. */
static void child_wait_for(struct child *c, int n, const char *text)
{
	double deadline = seconds_now() + 20;

	while (!strstr(n == 1 ? c->out : c->err, text) &&
	       seconds_now() < deadline && (c->fd[1] >= 0 || c->fd[2] >= 0))
		child_read(c, 100);
	assert_has(n == 1 ? c->out : c->err, text);
}

/*
 * Read to the end and reap it; its exit status, or 128 + signal.  A
 * step10 that has not ended 10 s after it was told to stop fails the test
 * here (a loop that retries EINTR after a stop signal never ends).
 */
static int child_finish(struct child *c)
{
	double deadline = seconds_now() + 10;
	int wstatus, stuck;

	while ((c->fd[1] >= 0 || c->fd[2] >= 0) && seconds_now() < deadline)
		child_read(c, 100);
	stuck = c->fd[1] >= 0 || c->fd[2] >= 0;
	if (stuck)
		kill(c->pid, SIGKILL);
	cr_assert_eq(waitpid(c->pid, &wstatus, 0), c->pid,
		     "waitpid failed: %s", errno_name(errno));
	cr_assert(!stuck, "step10 was still running 10 s after it was told "
		  "to stop: when KVM_RUN fails with EINTR because a stop "
		  "signal came (stop_signal is set), vcpu_run must stop with "
		  "EXIT_TIMEOUT, not enter the guest again; its stderr:\n%s",
		  c->err);
	return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus)
				  : 128 + WTERMSIG(wstatus);
}

/* The register dump of a guest stopped in print_spin.asm's jmp $. */
static void assert_dump_in_spin(const char *err)
{
	assert_has(err, "vCPU registers:\n");
	assert_has(err, "  EFER=0x500 LME|LMA\n");
	assert_has(err, "  bytes at RIP: eb fe ");
}

/*
 * Start print_spin.bin with --timeout timeout, wait until it printed,
 * send sig; step10 must exit 4 with message, the dump, and the line.
 */
static void signal_stops_run(int sig, const char *timeout, const char *message,
			     const char *also)
{
	const char *args[] = { "--timeout", timeout, GUESTS "print_spin.bin",
			       NULL };
	char from[64];
	struct child c;
	int status;

	child_start(&c, args);
	child_wait_for(&c, 2, "unhandled port 0x80");	/* it printed */
	cr_assert_eq(kill(c.pid, sig), 0,
		     "sending signal %d to step10 (pid %d) failed: %s", sig,
		     (int)c.pid, errno_name(errno));
	status = child_finish(&c);
	cr_assert_eq(status, EXIT_TIMEOUT, "status %d:\n%s", status, c.err);
	assert_has(c.err, message);
	if (also)
		assert_has(c.err, also);
	snprintf(from, sizeof(from), " from process %d", (int)getpid());
	assert_has(c.err, from);
	assert_dump_in_spin(c.err);
	/* Buffered while the guest ran, written out when it was stopped. */
	assert_has(c.out, "[10] loaded the guest: ");
	assert_has(c.out, "\n" PRINTED);
	assert_lacks(c.out, "KVM_EXIT_HLT");
}

Test(step10_signals, ctrl_c_stops_the_guest, .timeout = 40)
{
	signal_stops_run(SIGINT, "30", "step10: interrupted (Ctrl-C, SIGINT", NULL);
}

Test(step10_signals, sigterm_stops_the_guest, .timeout = 40)
{
	signal_stops_run(SIGTERM, "30", "step10: terminated (SIGTERM", NULL);
}

Test(step10_signals, sighup_stops_the_guest, .timeout = 40)
{
	signal_stops_run(SIGHUP, "30", "step10: hung up (SIGHUP", NULL);
}

/* With --timeout 0 there is no timer: a SIGALRM is someone else's. */
Test(step10_signals, stray_sigalrm_without_timeout_is_named, .timeout = 40)
{
	signal_stops_run(SIGALRM, "0", "step10: a SIGALRM from process ",
			 " stopped the guest; it is not a timeout: there is none "
			 "(--timeout 0)\n");
}

/* The timer's own SIGALRM is the timeout, named as such. */
Test(step10_signals, timeout_is_named_as_the_timeout, .timeout = 40)
{
	const char *args[] = { "--timeout", "0.5", GUESTS "print_spin.bin", NULL };
	struct child c;

	child_start(&c, args);
	cr_assert_eq(child_finish(&c), EXIT_TIMEOUT, "%s", c.err);
	assert_has(c.err, "step10: the guest did not halt within 0.5 s; it was "
		   "stopped\n");
	assert_lacks(c.err, "from process");
	assert_dump_in_spin(c.err);
	assert_has(c.out, "\n" PRINTED);
}

/* Ctrl-C while stage 06 runs: it waits for the run loop, which stops. */
static int sigint_at_create_vcpu(int fd, unsigned long request, void *arg,
				 int *result)
{
	(void)fd, (void)arg, (void)result;
	if (request == KVM_CREATE_VCPU)
		raise(SIGINT);
	return 0;	/* and make the real call */
}

Test(step10_signals, ctrl_c_during_setup_exits_4, .timeout = 30)
{
	char *argv[] = { "step10", NULL };
	struct capture out, err;
	char *o, *e;
	int status;

	capture_begin(&out, 1);
	capture_begin(&err, 2);
	ioctl_hook = sigint_at_create_vcpu;
	status = step_main(1, argv);	/* without the block, SIGINT kills us */
	ioctl_hook = NULL;
	e = capture_end(&err);
	o = capture_end(&out);
	cr_assert_eq(status, EXIT_TIMEOUT, "status %d:\n%s", status, e);
	assert_has(e, ": interrupted (Ctrl-C, SIGINT); the guest was "
		   "stopped\n");
	/* Setup went on to the end; the guest never ran an instruction. */
	assert_has(o, "[10] loaded the guest: ");
	assert_lacks(o, "Hello");
	assert_has(e, "  RIP=0x0000000000010000 ");
	free(o);
	free(e);
}

/* --- stdin, stdout, stderr --- */

enum stdout_kind { STDOUT_PIPE, STDOUT_DEV_FULL, STDOUT_NO_READER, STDOUT_CLOSED };

/*
 * Run step10 args with stdout as kind says and fd closed_fd closed (0 or
 * 2; -1 for none); stdout (for STDOUT_PIPE) and stderr are kept in r.
 */
static void program_run_fds(const char *const args[], enum stdout_kind kind,
			    int closed_fd, struct program_result *r)
{
	const char *argv[8] = { STEP_PROGRAM };
	int out[2], err[2], wstatus;
	FILE *o, *e;
	pid_t pid, parent;

	for (int i = 0; args[i]; i++)
		argv[i + 1] = args[i];
	memset(r, 0, sizeof(*r));
	cr_assert(pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0,
		  "pipe2 for step10's stdout and stderr failed: %s",
		  errno_name(errno));
	if (kind == STDOUT_NO_READER) {
		close(out[0]);		/* nobody will ever read it */
		out[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	fflush(NULL);
	parent = getpid();
	pid = fork();
	cr_assert_geq(pid, 0,
		      "fork failed: %s", errno_name(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		int full = open("/dev/full", O_WRONLY);

		if (null < 0 || full < 0 || dup2(null, 0) < 0 ||
		    dup2(kind == STDOUT_DEV_FULL ? full : out[1], 1) < 0 ||
		    dup2(err[1], 2) < 0)
			_exit(127);
		closefrom(3);	/* as from a shell: only fds 0, 1 and 2 */
		if (kind == STDOUT_CLOSED)
			close(1);
		if (closed_fd >= 0)
			close(closed_fd);
		child_die_with_parent(parent);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	/* Small outputs: stdout then stderr, each to its end. */
	o = open_memstream(&r->out, &r->out_len);
	e = open_memstream(&r->err, &r->err_len);
	cr_assert(o && e,
		  "open_memstream failed: %s", errno_name(errno));
	for (int i = 0; i < 2; i++) {
		char buf[4096];
		ssize_t n;

		while ((n = read(i ? err[0] : out[0], buf, sizeof(buf))) > 0)
			fwrite(buf, 1, n, i ? e : o);
	}
	fclose(o);
	fclose(e);
	close(out[0]);
	close(err[0]);
	cr_assert_eq(waitpid(pid, &wstatus, 0), pid,
		     "waitpid failed: %s", errno_name(errno));
	r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus)
				       : 128 + WTERMSIG(wstatus);
}

static void stdout_fails(enum stdout_kind kind, const char *errno_text,
			 const char *hint)
{
	const char *args[] = { NULL };
	struct program_result r;

	program_run_fds(args, kind, -1, &r);
	cr_assert_eq(r.status, EXIT_SETUP, "status %d:\n%s", r.status, r.err);
	assert_has(r.err, errno_text);
	assert_has(r.err, hint);
	assert_lacks(r.err, "vCPU registers:");
	program_result_free(&r);
}

Test(step10_output, full_disk_is_an_error, .timeout = 30)
{
	stdout_fails(STDOUT_DEV_FULL, "step10: writing to stdout failed: ENOSPC",
		     "is full");
}

Test(step10_output, pipe_without_reader_is_an_error, .timeout = 30)
{
	stdout_fails(STDOUT_NO_READER, "step10: writing to stdout failed: EPIPE",
		     "exited before all of it was written");
}

/*
 * A guest that prints for ever, with no timeout: a dead or full stdout
 * must end the run (status 1, the errno named), or it would never end
 * (the test's own timeout would catch that).
 */
static void runaway_output_fails(enum stdout_kind kind, const char *errno_text)
{
	const char *args[] = { "--timeout", "0", GUESTS "print_forever.bin",
			       NULL };
	struct program_result r;

	program_run_fds(args, kind, -1, &r);
	cr_assert_eq(r.status, EXIT_SETUP,
		     "with stdout failing, step10 exited %d; it must stop the "
		     "guest and exit %d:\n%.2000s", r.status, EXIT_SETUP, r.err);
	assert_has(r.err, errno_text);
	assert_lacks(r.err, "vCPU registers:");
	program_result_free(&r);
}

Test(step10_output, dead_stdout_ends_a_guest_without_timeout, .timeout = 30)
{
	runaway_output_fails(STDOUT_NO_READER, "EPIPE");
}

Test(step10_output, full_stdout_ends_a_guest_without_timeout, .timeout = 30)
{
	runaway_output_fails(STDOUT_DEV_FULL, "ENOSPC");
}

/*
 * The other end of step10's stdout.  It reads nothing until the pipe is
 * full (the run is then blocked in write), sends Ctrl-C to the run's
 * thread, and only then reads everything: how fast the guest prints
 * (natively or in the sandbox) does not matter.
 */
struct slow_reader {
	int fd;
	pthread_t target;	/* the thread in vcpu_run() */
	size_t got;
};

static void *slow_read(void *arg)
{
	struct slow_reader *s = arg;
	char buf[4096];
	ssize_t n;
	int queued = 0;

	while (ioctl(s->fd, FIONREAD, &queued) == 0 && queued < 4096)
		usleep(10000);		/* until the pipe is full */
	/* Ctrl-C twice, as an impatient user does: the first ends a write
	 * that had written part of its bytes, the second one that had
	 * written none (EINTR), which must be retried, not dropped. */
	for (int i = 0; i < 2; i++) {
		usleep(100000);		/* the writer is blocked by now */
		pthread_kill(s->target, SIGINT);
	}
	usleep(100000);
	while ((n = read(s->fd, buf, sizeof(buf))) > 0)
		s->got += n;
	return NULL;
}

/*
 * Ctrl-C while the run blocks writing to a slow reader: the guarded
 * stdout (std_streams.c) retries the interrupted write, so every byte the
 * guest printed (stats.out_bytes) reaches the reader.
 */
Test(step10_output, stop_while_writing_keeps_every_byte, .timeout = 30)
{
	struct run_options opt = { .timeout = 0 };
	struct slow_reader reader = { .target = pthread_self() };
	pthread_t rt;
	struct run_stats stats;
	int p[2], saved, status;
	uint8_t *image;
	size_t size;
	struct vm vm;
	char path[512];

	snprintf(path, sizeof(path), "%s/print_forever.bin", TEST_GUESTS_DIR);
	cr_assert_eq(guest_image_read(path, &image, &size), 0, "cannot read %s",
		     path);
	vm_setup_with_guest(&vm, image, size);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	cr_assert(pipe(p) == 0 && saved >= 0 && dup2(p[1], STDOUT_FILENO) >= 0,
		  "pipe, dup or dup2 failed: %s", errno_name(errno));
	close(p[1]);
	/* A small pipe: a write blocks after a few pages, even in the sandbox. */
	cr_assert_geq(fcntl(p[0], F_SETPIPE_SZ, 4096), 4096, "F_SETPIPE_SZ: %s",
		      errno_name(errno));
	cr_assert_eq(std_streams_prepare(), 0, "std_streams_prepare failed");
	opt.out = stdout;
	reader.fd = p[0];
	cr_assert_eq(pthread_create(&rt, NULL, slow_read, &reader), 0,
		     "pthread_create failed");
	status = vcpu_run(&vm, &vm.vcpu, &opt, &stats);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);	/* the pipe's last writer: EOF */
	close(saved);
	pthread_join(rt, NULL);
	close(p[0]);
	vm_destroy(&vm);
	free(image);
	cr_assert_eq(status, EXIT_TIMEOUT, "vcpu_run returned %d after Ctrl-C; "
		     "it must be EXIT_TIMEOUT", status);
	cr_assert_gt(stats.out_bytes, 4096, "the guest printed %llu bytes: "
		     "too few to fill the pipe, so no write blocked",
		     (unsigned long long)stats.out_bytes);
	cr_assert_eq(reader.got, stats.out_bytes,
		     "the guest printed %llu bytes, the reader got %zu: a stop "
		     "during a blocked write must lose none",
		     (unsigned long long)stats.out_bytes, reader.got);
}

/*
 * A guest that writes an unhandled port 1000 times: stderr shows the
 * line a few times, then how many more came (report.c, as printk's
 * ratelimit does), not 1000 lines.
 */
Test(step10_output, repeated_lines_are_counted_not_repeated, .timeout = 30)
{
	char path[512];
	const char *argv[] = { STEP_PROGRAM, path, NULL };
	struct program_result r;
	int shown = 0;

	snprintf(path, sizeof(path), "%s/port_loop.bin", TEST_GUESTS_DIR);
	program_run(argv, NULL, 30, &r);
	cr_assert_eq(r.status, EXIT_SUCCESS, "exit %d:\n%.2000s", r.status, r.err);
	for (const char *p = r.err; (p = strstr(p, "unhandled port 0x80")); p++)
		shown++;
	cr_assert(shown >= 1 && shown <= 10,
		  "the unhandled port's line was shown %d times for the guest's "
		  "1000 writes; a few, then a count", shown);
	cr_assert(strstr(r.err, " 995 "),
		  "no count of the 995 lines held back (1000 - 5 shown):\n%s",
		  r.err);
	program_result_free(&r);
}

/* >&-: fd 1 must not become /dev/kvm; writing to it is an error. */
Test(step10_output, closed_stdout_is_an_error_not_a_kvm_fd, .timeout = 30)
{
	const char *args[] = { "--trace", NULL };
	struct program_result r;

	program_run_fds(args, STDOUT_CLOSED, -1, &r);
	cr_assert_eq(r.status, EXIT_SETUP, "status %d:\n%s", r.status, r.err);
	assert_has(r.err, "ioctl(3, KVM_GET_API_VERSION) = 12\n");
	assert_has(r.err, "KVM_CREATE_VCPU, id 0) = 5\n");	/* not fd 1 */
	assert_has(r.err, "step10: writing to stdout failed: EBADF");
	assert_has(r.err, "stdout is closed");
	program_result_free(&r);
}

/* <&- and 2>&-: the guest runs as usual, with /dev/kvm as fd 3. */
static void closed_fd_is_not_a_kvm_fd(int fd)
{
	const char *args[] = { NULL };
	struct program_result r;

	program_run_fds(args, STDOUT_PIPE, fd, &r);
	cr_assert_eq(r.status, 0, "status %d:\n%s", r.status, r.err);
	assert_has(r.out, "[01] open /dev/kvm: fd 3\n");
	assert_has(r.out, "[03] KVM_CREATE_VM: VM fd 4\n");
	assert_has(r.out, "\nHello from a 64-bit KVM guest!\n");
	program_result_free(&r);
}

Test(step10_output, closed_stdin_is_not_a_kvm_fd, .timeout = 30)
{
	closed_fd_is_not_a_kvm_fd(0);
}

Test(step10_output, closed_stderr_is_not_a_kvm_fd, .timeout = 30)
{
	closed_fd_is_not_a_kvm_fd(2);
}

/* --- What KVM_RUN leaves in kvm_run when it returns EINTR --- */

/*
 * A signal while the guest runs: KVM_RUN returns EINTR with exit_reason
 * KVM_EXIT_INTR (include/linux/kvm_host.h, kvm_handle_signal_exit).
 */
Test(step10_signals, signal_in_the_guest_gives_kvm_exit_intr, .timeout = 30)
{
	static const uint8_t spin[] = { 0xfb, 0xeb, 0xfe };	/* sti; jmp $: as print_spin.asm */
	FILE *devnull = fopen("/dev/null", "w");
	struct run_options opt = { .out = devnull, .timeout = 0.3 };
	struct run_stats stats;
	struct capture err;
	struct vm vm;
	int status;

	cr_assert(devnull,
		  "fopen /dev/null failed: %s", errno_name(errno));
	vm_setup_with_guest(&vm, spin, sizeof(spin));
	capture_begin(&err, 2);
	status = vcpu_run(&vm, &vm.vcpu, &opt, &stats);
	free(capture_end(&err));
	cr_assert_eq(status, EXIT_TIMEOUT,
		     "vcpu_run returned %d; the signal must stop the spinning "
		     "guest (EXIT_TIMEOUT, %d)", status, EXIT_TIMEOUT);
	cr_assert_eq(vm.vcpu.run->exit_reason, KVM_EXIT_INTR, "exit_reason %u",
		     vm.vcpu.run->exit_reason);
	vm_destroy(&vm);
	fclose(devnull);
}

/*
 * immediate_exit set before KVM_RUN: EINTR before the guest runs, and
 * exit_reason left as it was (arch/x86/kvm/x86.c, kvm_arch_vcpu_ioctl_run).
 */
Test(step10_signals, immediate_exit_leaves_exit_reason_alone, .timeout = 30)
{
	static const uint8_t hlt[] = { 0xf4 };
	struct kvm_regs regs;
	struct vm vm;

	vm_setup_with_guest(&vm, hlt, sizeof(hlt));
	vm.vcpu.run->exit_reason = 0x1234;		/* no exit has that number */
	vm.vcpu.run->immediate_exit = 1;
	cr_assert_eq(ioctl(vm.vcpu.fd, KVM_RUN, 0UL), -1,
		     "KVM_RUN with immediate_exit set succeeded; KVM must "
		     "return at once with EINTR");
	cr_assert_eq(errno, EINTR,
		     "KVM_RUN with immediate_exit set failed with %s; KVM "
		     "must return EINTR", errno_name(errno));
	cr_assert_eq(vm.vcpu.run->exit_reason, 0x1234, "exit_reason %u",
		     vm.vcpu.run->exit_reason);
	cr_assert_eq(ioctl(vm.vcpu.fd, KVM_GET_REGS, &regs), 0,
		     "KVM_GET_REGS failed: %s", errno_name(errno));
	cr_assert_eq(regs.rip, GUEST_LOAD_ADDR, "the guest ran");
	vm_destroy(&vm);
}

/* A kernel without KVM_CAP_IMMEDIATE_EXIT: step10 refuses to run. */
static int no_immediate_exit(int fd, unsigned long request, void *arg,
			     int *result)
{
	(void)fd;
	if (request != KVM_CHECK_EXTENSION ||
	    (unsigned long)arg != KVM_CAP_IMMEDIATE_EXIT)
		return 0;
	*result = 0;
	return 1;
}

Test(step10_signals, without_immediate_exit_it_refuses, .timeout = 30)
{
	struct run_options opt = { .out = stdout, .timeout = 10 };
	struct guest_result r;

	ioctl_hook = no_immediate_exit;
	guest_run(guest_image, guest_image_end - guest_image, &opt, NULL, &r);
	ioctl_hook = NULL;
	cr_assert_eq(r.status, EXIT_SETUP, "status %d:\n%s", r.status, r.err);
	assert_has(r.err, "KVM_CAP_IMMEDIATE_EXIT is 0");
	cr_assert_eq(r.len, 0, "the guest ran");
	guest_result_free(&r);
}
