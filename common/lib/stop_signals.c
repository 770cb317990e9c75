/* SPDX-License-Identifier: MIT */
/* stop_signals.c: stopping a guest that does not halt (stop_signals.h). */
#include <errno.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/time.h>

#include "report.h"
#include "stop_signals.h"

static const int stop_signals[STOP_SIGNAL_COUNT] = {
	SIGINT, SIGTERM, SIGHUP, SIGALRM,
};

volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t stop_by_timer;	/* it was our own SIGALRM */
static volatile sig_atomic_t stop_sender;	/* the pid that sent it, or 0 */
static struct kvm_run *volatile running;

static void stop_handler(int sig, siginfo_t *info, void *context)
{
	(void)context;
	stop_signal = sig;
	/* setitimer's SIGALRM comes from the kernel (kernel/time/itimer.c,
	 * it_real_fn): SI_KERNEL; kill() sends SI_USER, with the pid. */
	stop_by_timer = sig == SIGALRM && info->si_code == SI_KERNEL;
	stop_sender = info->si_code == SI_USER ? info->si_pid : 0;
	if (running)
		running->immediate_exit = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static void stop_set_fill(sigset_t *set)
{
	sigemptyset(set);
	for (int i = 0; i < STOP_SIGNAL_COUNT; i++)
		sigaddset(set, stop_signals[i]);
}

int stop_signals_block(void)
{
	sigset_t set;

	stop_set_fill(&set);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return report_errno("sigprocmask", errno);
	return 0;
}

/* Put back the first n handlers that saved holds; errno is kept. */
static void handlers_restore(const struct stop_saved *saved, int n)
{
	int err = errno;

	for (int i = 0; i < n; i++)
		sigaction(stop_signals[i], &saved->old[i], NULL);
	running = NULL;
	errno = err;
}

int stop_signals_arm(struct vm *vm, struct vcpu *vcpu, double timeout,
		     struct stop_saved *saved)
{
	struct sigaction sa = {
		.sa_sigaction = stop_handler, .sa_flags = SA_SIGINFO,
	};	/* KVM_RUN returns EINTR, SA_RESTART or not (kvm_handle_signal_exit) */
	struct itimerval timer = { 0 };
	sigset_t set;
	int cap = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT);
	int i;

	if (cap < 0)
		return report_errno("KVM_CHECK_EXTENSION", errno);
	if (cap == 0) {
		report("this kernel has no kvm_run.immediate_exit "
		       "(KVM_CAP_IMMEDIATE_EXIT is 0), so a signal could not "
		       "stop the guest reliably");
		report_hint("KVM has had it since Linux 4.11; use a newer kernel");
		return -1;
	}
	stop_signal = stop_by_timer = stop_sender = 0;
	running = vcpu->run;
	stop_set_fill(&set);
	sa.sa_mask = set;	/* one stop handler at a time */
	timer.it_value.tv_sec = (time_t)timeout;
	timer.it_value.tv_usec = (suseconds_t)((timeout - (time_t)timeout) * 1e6);
	if (timeout > 0 && !timer.it_value.tv_sec && !timer.it_value.tv_usec)
		timer.it_value.tv_usec = 1;

	for (i = 0; i < STOP_SIGNAL_COUNT; i++)
		if (sigaction(stop_signals[i], &sa, &saved->old[i]) < 0) {
			handlers_restore(saved, i);
			return report_errno("sigaction", errno);
		}
	if (setitimer(ITIMER_REAL, &timer, NULL) < 0) {
		handlers_restore(saved, i);
		return report_errno("setitimer", errno);
	}
	/* A signal that came during setup (blocked) is delivered now. */
	if (sigprocmask(SIG_UNBLOCK, &set, &saved->mask) < 0) {
		int err = errno;

		setitimer(ITIMER_REAL, &(struct itimerval){ 0 }, NULL);
		handlers_restore(saved, i);
		return report_errno("sigprocmask", err);
	}
	return 0;
}

void stop_signals_disarm(struct vcpu *vcpu, const struct stop_saved *saved)
{
	struct itimerval off = { 0 };

	setitimer(ITIMER_REAL, &off, NULL);
	sigprocmask(SIG_SETMASK, &saved->mask, NULL);
	handlers_restore(saved, STOP_SIGNAL_COUNT);
	vcpu->run->immediate_exit = 0;
}

void stop_report(double timeout)
{
	char from[40] = "";

	if (stop_signal == SIGALRM && stop_by_timer) {
		report("the guest did not halt within %g s; it was stopped",
		       timeout);
		return;
	}
	if (stop_sender)
		snprintf(from, sizeof(from), " from process %d",
			 (int)stop_sender);
	if (stop_signal == SIGINT)
		report("interrupted (Ctrl-C, SIGINT%s); the guest was stopped",
		       from);
	else if (stop_signal == SIGTERM)
		report("terminated (SIGTERM%s); the guest was stopped", from);
	else if (stop_signal == SIGHUP)
		report("hung up (SIGHUP%s: the terminal closed?); the guest was "
		       "stopped", from);
	else if (timeout > 0)
		report("a SIGALRM%s, not the %g s timeout's, stopped the guest",
		       from, timeout);
	else
		report("a SIGALRM%s stopped the guest; it is not a timeout: "
		       "there is none (--timeout 0)", from);
}
