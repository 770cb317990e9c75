/* SPDX-License-Identifier: MIT */
/* kvm_test.c: helpers the step tests share (see kvm_test.h). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvm_test.h"
#include "report.h"

extern char **environ;

void vm_setup_through(struct vm *vm, int last)
{
	stage_quiet = 1;
	*vm = (struct vm)VM_EMPTY;
	cr_assert(last < 1 || kvm_open(vm) >= 0, "stage 01 failed");
	cr_assert(last < 2 || kvm_check_api_version(vm) == 0, "stage 02 failed");
	cr_assert(last < 3 || vm_create(vm) >= 0, "stage 03 failed");
	cr_assert(last < 4 || vm_set_tss_addr(vm) == 0, "stage 04 failed");
	cr_assert(last < 5 || vm_memory_add(vm, GUEST_MEM_SIZE) == 0,
		  "stage 05 failed");
	cr_assert(last < 6 || vcpu_create(vm) >= 0, "stage 06 failed");
	cr_assert(last < 7 || vcpu_map_run(vm) == 0, "stage 07 failed");
	cr_assert(last < 8 || vcpu_enter_long_mode(vm) == 0, "stage 08 failed");
	cr_assert(last < 9 || vcpu_regs_set(vm) == 0, "stage 09 failed");
	stage_quiet = 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void buffer_append(char **buf, size_t *len, const char *data, size_t n)
{
	*buf = realloc(*buf, *len + n + 1);
	cr_assert(*buf);
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
}

void program_run(const char *const argv[], const char *const env[],
		 double timeout_s, struct program_result *r)
{
	int out[2], err[2], wstatus;
	posix_spawn_file_actions_t fa;
	char **envp;
	size_t n_env = 0, n_extra = 0;
	pid_t pid;
	double deadline = now() + timeout_s;
	int killed = 0;

	memset(r, 0, sizeof(*r));
	buffer_append(&r->out, &r->out_len, "", 0);
	buffer_append(&r->err, &r->err_len, "", 0);
	while (environ[n_env])
		n_env++;
	while (env && env[n_extra])
		n_extra++;
	envp = calloc(n_env + n_extra + 1, sizeof(*envp));
	cr_assert(envp);
	memcpy(envp, environ, n_env * sizeof(*envp));
	for (size_t i = 0; i < n_extra; i++)
		envp[n_env + i] = (char *)env[i];

	cr_assert(pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	errno = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, envp);
	cr_assert(errno == 0, "posix_spawn %s: %s", argv[0], strerror(errno));
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	close(out[1]);
	close(err[1]);

	struct pollfd pfd[2] = { { out[0], POLLIN, 0 }, { err[0], POLLIN, 0 } };
	int open_fds = 2;

	while (open_fds) {
		int left = (int)((deadline - now()) * 1000);

		if (left <= 0 && !killed) {
			kill(pid, SIGKILL);
			killed = 1;
		}
		if (poll(pfd, 2, left > 0 ? left : 1000) < 0 && errno != EINTR)
			cr_assert_fail("poll: %s", strerror(errno));
		for (int i = 0; i < 2; i++) {
			char buf[65536];
			ssize_t got;

			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP)))
				continue;
			got = read(pfd[i].fd, buf, sizeof(buf));
			if (got > 0) {
				if (i == 0)
					buffer_append(&r->out, &r->out_len, buf, got);
				else
					buffer_append(&r->err, &r->err_len, buf, got);
			} else {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
			}
		}
	}
	cr_assert(waitpid(pid, &wstatus, 0) == pid);
	r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus)
				       : 128 + WTERMSIG(wstatus);
}

void program_result_free(struct program_result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

char *file_read(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, got;
	char chunk[65536];

	cr_assert(f, "cannot open %s: %s", path, strerror(errno));
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buffer_append(&buf, &len, chunk, got);
	fclose(f);
	if (!buf)
		buffer_append(&buf, &len, "", 0);
	if (size)
		*size = len;
	return buf;
}

int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	cr_assert(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* not counting the directory's own fd */
}
