/* SPDX-License-Identifier: MIT */
/* timing.c: the clock, min/median/max, and timing a whole process. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#include "bench.h"

extern char **environ;

int runs = 50;
FILE *devnull;

double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct summary summarize(double *v, int n)
{
	qsort(v, n, sizeof(*v), double_cmp);
	return (struct summary){
		v[0], n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, v[n - 1],
	};
}

/* From posix_spawn to waitpid's return: exec, the run, exit, teardown. */
double process_time(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	double t0, t;
	pid_t pid;
	int status = -1;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	if (posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0)) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	t0 = now_us();
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	if (waitpid(pid, &status, 0) < 0)
		status = -1;
	t = now_us() - t0;
	posix_spawn_file_actions_destroy(&fa);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? t : -1;
}
