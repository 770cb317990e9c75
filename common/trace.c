/* SPDX-License-Identifier: MIT */
/* trace.c: the ioctl wrapper behind KVM_TRACE=1 and --trace. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm_names.h"
#include "report.h"
#include "trace.h"

int (*ioctl_hook)(int fd, unsigned long request, void *arg, int *result);

static int trace_state = -1;	/* -1: not decided yet, read KVM_TRACE */

void trace_enable(int on)
{
	trace_state = on;
}

int trace_enabled(void)
{
	if (trace_state < 0) {
		const char *env = getenv("KVM_TRACE");

		trace_state = env && *env && strcmp(env, "0");
	}
	return trace_state;
}

static void trace_ioctl(int fd, unsigned long request, void *arg, int ret,
			int err)
{
	const char *name = kvm_ioctl_name(request);

	(void)arg;
	if (name)
		fprintf(stderr, "ioctl(%d, %s)", fd, name);
	else
		fprintf(stderr, "ioctl(%d, 0x%lx)", fd, request);
	if (ret < 0)
		fprintf(stderr, " = -1 %s (%s)\n", errno_name(err), strerror(err));
	else
		fprintf(stderr, " = %d\n", ret);
}

int __real_ioctl(int fd, unsigned long request, ...);

int __wrap_ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;
	int ret, err;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);

	if (ioctl_hook && ioctl_hook(fd, request, arg, &ret))
		return ret;
	ret = __real_ioctl(fd, request, arg);
	err = errno;
	if (trace_enabled())
		trace_ioctl(fd, request, arg, ret, err);
	errno = err;
	return ret;
}
