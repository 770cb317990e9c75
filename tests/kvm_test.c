/* SPDX-License-Identifier: MIT */
/* kvm_test.c: helpers the step tests share (see kvm_test.h). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvm_names.h"
#include "kvm_test.h"
#include "report.h"
#include "run.h"
#include "stop_signals.h"
#include "trace.h"

/* The test seam common/lib/trace.c calls, when set (trace.h): here only. */
int (*ioctl_hook)(int fd, unsigned long request, void *arg, int *result);

extern char **environ;

/* The vm of the test running here, for crash_explain, and where its
 * kvm_run was last mapped (vm_destroy() forgets it; a timer may not). */
static const struct vm *crash_vm;
static uintptr_t crash_last_run;

/* Below this, an address is "near NULL": a NULL pointer plus an offset. */
#define NEAR_NULL	0x10000UL

/*
 * The rest of crash_explain's line for a fault in neither kvm_run nor
 * guest memory: only what the address and si_code show, and, near
 * NULL, which of the vm's pointers are NULL.  Returns what snprintf
 * returns.
 */
static int crash_hint_general(char *msg, size_t size, int sig,
			      const siginfo_t *si)
{
	uintptr_t addr = (uintptr_t)si->si_addr;
	const char *unset =
		!crash_vm ? "" :
		!crash_vm->mem && !crash_vm->vcpu.run ?
		" (at the fault, vm->mem and vm->vcpu.run are NULL)" :
		!crash_vm->mem ? " (at the fault, vm->mem is NULL)" :
		!crash_vm->vcpu.run ? " (at the fault, vm->vcpu.run is NULL)" :
		" (vm->mem and vm->vcpu.run are set)";

	if (sig == SIGSEGV && addr < NEAR_NULL)
		return snprintf(msg, size, ", near NULL\n  hint: a pointer "
				"your stage should have set is NULL, e.g. "
				"vm->mem or vm->vcpu.run%s\n", unset);
	if (sig == SIGSEGV && si->si_code == SEGV_MAPERR)
		return snprintf(msg, size, ", which no mapping holds\n  hint: "
				"a pointer points where nothing is mapped: "
				"memory already unmapped, or an address or "
				"offset computed wrong\n");
	if (sig == SIGSEGV && si->si_code == SEGV_ACCERR)
		return snprintf(msg, size, ", mapped but not for this access\n"
				"  hint: the mapping's protection forbids it, "
				"e.g. memory mapped without PROT_WRITE\n");
	return snprintf(msg, size, "\n");
}

/*
 * Whether addr is immediate_exit of the last kvm_run mapped, now gone,
 * after a stop signal's handler ran: it writes there (stop_signals.c).
 */
static int stray_stop_write(uintptr_t addr)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);

	return stop_signal && crash_last_run &&
	       addr == crash_last_run + offsetof(struct kvm_run, immediate_exit) &&
	       msync((void *)(addr & ~(page - 1)), page, MS_ASYNC) < 0 &&
	       errno == ENOMEM;
}

/*
 * SIGSEGV or SIGBUS in a test: say which test, where, and, when the
 * address lies in or just past the kvm_run mapping, the likely cause.
 * Then let the signal kill the test as before (SA_RESETHAND), so
 * Criterion still reports the crash.
 */
static void crash_explain(int sig, siginfo_t *si, void *context)
{
	const struct criterion_test *t = criterion_current_test;
	uintptr_t addr = (uintptr_t)si->si_addr;
	uintptr_t run = crash_vm ? (uintptr_t)crash_vm->vcpu.run : 0;
	char msg[768];
	int n;

	(void)context;
	n = snprintf(msg, sizeof(msg), "\n%s::%s: %s at address %p",
		     t ? t->category : "?", t ? t->name : "?",
		     sig == SIGBUS ? "SIGBUS" : "SIGSEGV", si->si_addr);
	if (stray_stop_write(addr))
		n += snprintf(msg + n, sizeof(msg) - n, ", kvm_run's "
			      "immediate_exit, after its mapping was gone\n"
			      "  hint: a stop signal (the timeout's SIGALRM) "
			      "came after the run and its handler set "
			      "immediate_exit in the unmapped kvm_run: the "
			      "timer was still armed; vcpu_run must call "
			      "stop_signals_disarm() before it returns\n");
	else if (run && addr >= run && addr < run + crash_vm->vcpu.run_size + 0x10000)
		n += snprintf(msg + n, sizeof(msg) - n, ", byte 0x%lx of the "
			      "vCPU's kvm_run mapping (stage 07 says it is "
			      "%zu bytes)\n  hint: kvm_run is "
			      "KVM_GET_VCPU_MMAP_SIZE bytes; reading past a "
			      "shorter mapping faults (SIGSEGV), and so does a "
			      "mapping from a wrong offset (SIGBUS)\n",
			      (unsigned long)(addr - run), crash_vm->vcpu.run_size);
	else if (crash_vm && crash_vm->mem && addr >= (uintptr_t)crash_vm->mem &&
		 addr < (uintptr_t)crash_vm->mem + crash_vm->mem_size)
		n += snprintf(msg + n, sizeof(msg) - n, ", byte 0x%lx of guest "
			      "memory\n  hint: stage 05 must map guest memory "
			      "readable and writable (PROT_READ | PROT_WRITE)\n",
			      (unsigned long)(addr - (uintptr_t)crash_vm->mem));
	else
		n += crash_hint_general(msg + n, sizeof(msg) - n, sig, si);
	if (n > (int)sizeof(msg))
		n = sizeof(msg);
	if (write(2, msg, n) < 0)
		return;
}

static void crash_explain_install(const struct vm *vm)
{
	struct sigaction sa = { .sa_sigaction = crash_explain,
				.sa_flags = SA_SIGINFO | SA_RESETHAND };

	crash_vm = vm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

void run_mapping_check(const struct vm *vm)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), mapped = 0;

	cr_assert(vm->vcpu.run, "stage 07 left vm->vcpu.run NULL");
	cr_assert_geq(vm->vcpu.run_size, sizeof(struct kvm_run), "stage 07 says "
		      "kvm_run is %zu bytes, less than struct kvm_run's %zu",
		      vm->vcpu.run_size, sizeof(struct kvm_run));
	/* msync fails with ENOMEM on a page that nothing maps. */
	while (mapped < vm->vcpu.run_size &&
	       msync((char *)vm->vcpu.run + mapped, page, MS_ASYNC) == 0)
		mapped += page;
	cr_assert_geq(mapped, vm->vcpu.run_size, "stage 07 says kvm_run is %zu "
		      "bytes at %p, but only %zu of them are mapped: kvm_run "
		      "is KVM_GET_VCPU_MMAP_SIZE bytes; reading past a shorter "
		      "mapping faults", vm->vcpu.run_size, (void *)vm->vcpu.run, mapped);
}

/* Stage n's function on vm; its result (0 or an fd on success, -1). */
int stage_run(struct vm *vm, int n)
{
	switch (n) {
	case 1: return kvm_open(vm);
	case 2: return kvm_check_api_version(vm);
	case 3: return vm_create(vm);
	case 4: return vm_set_tss_addr(vm);
	case 5: return vm_memory_add(vm, GUEST_MEM_SIZE);
	case 6: return vcpu_create(vm, &vm->vcpu, 0);
	case 7: return vcpu_map_run(vm, &vm->vcpu);
	case 8: return vcpu_enter_long_mode(vm, &vm->vcpu);
	case 9: return vcpu_regs_set(&vm->vcpu);
	}
	cr_assert_fail("there is no stage %d", n);
	return -1;
}

static const char *const stage_names[] = {
	"", "kvm_open", "kvm_check_api_version", "vm_create",
	"vm_set_tss_addr", "vm_memory_add", "vcpu_create", "vcpu_map_run",
	"vcpu_enter_long_mode", "vcpu_regs_set",
};

void vm_setup_through(struct vm *vm, int last)
{
	stage_quiet = 1;
	*vm = (struct vm)VM_EMPTY;
	crash_explain_install(vm);
	for (int n = 1; n <= last && n <= 9; n++) {
		cr_assert_geq(stage_run(vm, n), 0, "stage %02d (%s) failed, as "
			      "it says above", n, stage_names[n]);
		if (n == 7) {
			run_mapping_check(vm);
			crash_last_run = (uintptr_t)vm->vcpu.run;
		}
	}
	stage_quiet = 0;
}

void vm_setup_with_code(struct vm *vm, const void *code, size_t size)
{
	vm_setup_through(vm, 9);
	memcpy(vm->mem + GUEST_LOAD_ADDR, code, size);
}

void vm_setup_with_guest(struct vm *vm, const uint8_t *image, size_t size)
{
	vm_setup_through(vm, 9);
	stage_quiet = 1;
	cr_assert_eq(guest_load(vm, image, size), 0,
		     "stage 10 (guest_load) did not return 0; it must succeed "
		     "here");
	cr_assert_eq(memcmp(vm->mem + GUEST_LOAD_ADDR, image, size), 0,
		     "the guest is not at GUEST_LOAD_ADDR");
}

char *stage_printed(struct vm *vm, int n)
{
	struct capture c;
	int r;

	vm_setup_through(vm, n - 1);
	capture_begin(&c, 1);
	r = stage_run(vm, n);
	if (n == 1 || n == 3 || n == 6)
		cr_assert_geq(r, 0, "stage %02d (%s) returned %d; it must "
			      "succeed here and return the new fd", n,
			      stage_names[n], r);
	else
		cr_assert_eq(r, 0, "stage %02d (%s) returned %d; it must "
			     "succeed here and return 0", n, stage_names[n], r);
	return capture_end(&c);
}

const char *hex_text(char buf[HEX_TEXT_SIZE], unsigned long long value)
{
	snprintf(buf, HEX_TEXT_SIZE, "0x%llx", value);
	return buf;
}

void stage_failure_check(struct vm *vm, int stage, const char *want)
{
	struct capture out, err;
	char *o, *e;
	int r;

	capture_begin(&out, 1);
	capture_begin(&err, 2);
	r = stage_run(vm, stage);
	e = capture_end(&err);
	o = capture_end(&out);
	cr_assert_eq(r, -1, "stage %02d (%s) returned %d after a failed call; "
		     "it must report it and return -1", stage,
		     stage_names[stage], r);
	cr_assert(strstr(e, want), "stage %02d (%s) did not say \"%s\" on "
		  "stderr, it said:\n%s", stage, stage_names[stage], want, e);
	cr_assert_str_eq(o, "", "stage %02d (%s) printed its stage line after "
			 "a failed call:\n%s", stage, stage_names[stage], o);
	free(o);
	free(e);
}

static const char *fd_describe(int fd)
{
	static char target[256];
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return "not open";
	target[n] = '\0';
	return target;
}

long kvm_ioctl_ok_named(int fd, unsigned long request, const char *name,
			unsigned long arg)
{
	long r;

	errno = 0;
	r = ioctl(fd, request, arg);
	cr_assert_geq(r, 0, "%s on fd %d (%s) failed: %s (%s)", name, fd,
		      fd_describe(fd), errno_name(errno), strerror(errno));
	return r;
}

void kvm_ioctl_refused_named(int fd, unsigned long request, const char *name,
			     unsigned long arg, int err, const char *why)
{
	long r;

	errno = 0;
	r = ioctl(fd, request, arg);
	cr_assert_eq(r, -1, "%s on fd %d (%s) returned %ld, but KVM must refuse "
		     "it with %s: %s", name, fd, fd_describe(fd), r,
		     errno_name(err), why);
	cr_assert_eq(errno, err, "%s on fd %d (%s) failed with %s, but KVM "
		     "must refuse it with %s: %s", name, fd, fd_describe(fd),
		     errno_name(errno), errno_name(err), why);
}

double seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void buffer_append(char **buf, size_t *len, const char *data, size_t n)
{
	*buf = realloc(*buf, *len + n + 1);
	cr_assert(*buf,
		  "realloc of the captured output failed");
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/* environ, less the variables env sets, plus env; malloc'd array. */
static char **environment_with(const char *const env[])
{
	size_t n_env = 0, n_extra = 0, n = 0;
	char **envp;

	while (environ[n_env])
		n_env++;
	while (env && env[n_extra])
		n_extra++;
	envp = calloc(n_env + n_extra + 1, sizeof(*envp));
	cr_assert(envp,
		  "calloc of the environment failed");
	for (size_t i = 0; i < n_env; i++) {
		int replaced = 0;

		for (size_t j = 0; j < n_extra; j++) {
			size_t k = strcspn(env[j], "=");

			if (!strncmp(environ[i], env[j], k + 1))
				replaced = 1;
		}
		if (!replaced)
			envp[n++] = environ[i];
	}
	for (size_t j = 0; j < n_extra; j++)
		envp[n++] = (char *)env[j];
	return envp;
}

void child_die_with_parent(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);	/* cannot tie it, or the test is gone */
}

/* In the child: say why exec failed, on the captured stderr. */
static void __attribute__((noreturn)) child_fail(const char *what)
{
	dprintf(2, "program_run: %s: %s\n", what, strerror(errno));
	_exit(127);
}

/* program_run_as kills a program that writes more than this. */
#define PROGRAM_OUTPUT_MAX	(4 << 20)
#define KILLED_FOR_OUTPUT	2	/* killed's value then (1: timeout) */

void program_run_as(const char *const argv[], const char *const env[],
		    const char *cwd, uid_t uid, gid_t gid, double timeout_s,
		    struct program_result *r)
{
	int out[2], err[2], wstatus;
	char **envp = environment_with(env);
	pid_t pid, parent = getpid();
	double deadline = seconds_now() + timeout_s;
	int killed = 0;

	memset(r, 0, sizeof(*r));
	buffer_append(&r->out, &r->out_len, "", 0);
	buffer_append(&r->err, &r->err_len, "", 0);
	cr_assert(pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0,
		  "pipe2 for the program's stdout and stderr failed: %s",
		  errno_name(errno));
	fflush(NULL);
	pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY), prog;

		if (null < 0 || dup2(null, 0) < 0 || dup2(out[1], 1) < 0 ||
		    dup2(err[1], 2) < 0)
			_exit(127);
		closefrom(3);	/* as from a shell: only fds 0, 1 and 2 */
		if (cwd && chdir(cwd) < 0)
			child_fail(cwd);
		if (uid == (uid_t)-1) {
			child_die_with_parent(parent);
			execve(argv[0], (char *const *)argv, envp);
			child_fail(argv[0]);
		}
		/*
		 * Open the program while still root: the other user may not
		 * search the directories it lies in (a clone under /root).
		 */
		prog = open(argv[0], O_RDONLY | O_CLOEXEC);
		if (prog < 0)
			child_fail(argv[0]);
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
			child_fail("setuid");
		child_die_with_parent(parent);	/* setuid cleared it */
		execveat(prog, "", (char *const *)argv, envp, AT_EMPTY_PATH);
		child_fail(argv[0]);
	}
	free(envp);
	close(out[1]);
	close(err[1]);

	struct pollfd pfd[2] = { { out[0], POLLIN, 0 }, { err[0], POLLIN, 0 } };
	int open_fds = 2;

	while (open_fds) {
		int left = (int)((deadline - seconds_now()) * 1000);

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
			if (got > 0 &&
			    r->out_len + r->err_len >= PROGRAM_OUTPUT_MAX) {
				if (!killed) {	/* keep the first bytes */
					kill(pid, SIGKILL);
					killed = KILLED_FOR_OUTPUT;
				}
			} else if (got > 0) {
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
	cr_assert(waitpid(pid, &wstatus, 0) == pid,
		  "waitpid for %s failed: %s", argv[0], errno_name(errno));
	r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus)
				       : 128 + WTERMSIG(wstatus);
	if (WIFSIGNALED(wstatus)) {
		/* Said on its stderr, so every assertion that shows it says why. */
		int sig = WTERMSIG(wstatus);
		char why[512];

		if (killed == KILLED_FOR_OUTPUT)
			snprintf(why, sizeof(why), "\n[%s was killed by the "
				 "test after writing %d MiB, more than any test "
				 "wants; the rest is not kept.  A loop that "
				 "repeats itself writes that much, e.g. one that "
				 "enters the guest again (KVM_RUN) after an exit "
				 "that should end the run, and explains it each "
				 "time]\n", argv[0], PROGRAM_OUTPUT_MAX >> 20);
		else if (killed)
			snprintf(why, sizeof(why), "\n[%s was killed by the test "
				 "after its timeout of %.0f s]\n", argv[0], timeout_s);
		else
			snprintf(why, sizeof(why), "\n[%s was killed by signal "
				 "%d, %s%s]\n", argv[0], sig, strsignal(sig),
				 sig == SIGSEGV || sig == SIGBUS ? ": it touched "
				 "memory that is not mapped; if that was kvm_run: "
				 "kvm_run is KVM_GET_VCPU_MMAP_SIZE bytes, and "
				 "reading past a shorter mapping faults" : "");
		buffer_append(&r->err, &r->err_len, why, strlen(why));
	}
}

void program_run(const char *const argv[], const char *const env[],
		 double timeout_s, struct program_result *r)
{
	program_run_as(argv, env, NULL, (uid_t)-1, (gid_t)-1, timeout_s, r);
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

	cr_assert(d,
		  "opendir /proc/self/fd failed: %s", errno_name(errno));
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* not counting the directory's own fd */
}

const char *fd_target(int fd)
{
	static char target[256];
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	cr_assert(n >= 0, "readlink %s: %s", link, strerror(errno));
	target[n] = '\0';
	return target;
}

void capture_begin(struct capture *c, int fd)
{
	fflush(stdout);
	fflush(stderr);
	c->fd = fd;
	c->tmp = tmpfile();
	cr_assert(c->tmp, "tmpfile: %s", strerror(errno));
	c->saved = dup(fd);
	cr_assert(c->saved >= 0 && dup2(fileno(c->tmp), fd) == fd,
		  "redirecting fd %d to a temporary file failed: %s", fd,
		  errno_name(errno));
}

char *capture_end(struct capture *c)
{
	char *buf = NULL;
	size_t len = 0, got;
	char chunk[4096];

	fflush(stdout);
	fflush(stderr);
	cr_assert(dup2(c->saved, c->fd) == c->fd,
		  "restoring fd %d after the capture failed: %s", c->fd,
		  errno_name(errno));
	close(c->saved);
	rewind(c->tmp);
	buffer_append(&buf, &len, "", 0);
	while ((got = fread(chunk, 1, sizeof(chunk), c->tmp)) > 0)
		buffer_append(&buf, &len, chunk, got);
	fclose(c->tmp);
	return buf;
}

/* Set by step_program_set(), else found from where this program is. */
static char program_path[4096];

void step_program_set(const char *path)
{
	snprintf(program_path, sizeof(program_path), "%s", path);
}

const char *step_dir(void)
{
	static char dir[4096];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", step_program());
	slash = strrchr(dir, '/');	/* .../stepNN-x/stepNN */
	if (slash)
		*slash = '\0';
	slash = strrchr(dir, '/');	/* .../stepNN-x/.build-san/stepNN */
	if (slash && !strcmp(slash, "/.build-san"))
		*slash = '\0';
	return dir;
}

/*
 * The test program is DIR/.build/test_stepNN (DIR/.build-san/ in the
 * sanitizer's flavour, whose program is there too): its program is
 * DIR/stepNN, or DIR/.build-san/stepNN.
 */
const char *step_program(void)
{
	char exe[4096], *slash, *name;
	ssize_t n;

	if (program_path[0])
		return program_path;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert(n > 0, "readlink /proc/self/exe failed: %s", errno_name(errno));
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	cr_assert(slash && (!strncmp(slash + 1, "test_", 5) ||
			    !strncmp(slash + 1, "check_", 6)),
		  "%s is not named test_stepNN or check_stepNN", exe);
	name = strchr(slash + 1, '_') + 1;
	*slash = '\0';
	if (strcmp(strrchr(exe, '/') ? strrchr(exe, '/') : exe, "/.build-san")) {
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
	}
	cr_assert(strlen(exe) + strlen(name) + 2 <= sizeof(program_path),
		  "the path %s/%s is too long", exe, name);
	strcat(strcat(strcpy(program_path, exe), "/"), name);
	return program_path;
}

const char *step_name(void)
{
	const char *slash = strrchr(step_program(), '/');

	return slash ? slash + 1 : step_program();
}

char *output_normalize(const char *text)
{
	char *copy = malloc(strlen(text) + 1), *to = copy;

	cr_assert(copy,
		  "strdup failed");
	while (*text) {
		size_t n = 0;

		if (text[0] == '0' && text[1] == 'x')
			while (strchr("0123456789abcdef", text[2 + n]) && text[2 + n])
				n++;
		if (n >= 9) {
			/* "0x<varies>" is no longer than what it replaces. */
			to = stpcpy(to, "0x<varies>");
			text += 2 + n;
		} else {
			*to++ = *text++;
		}
	}
	*to = '\0';
	return copy;
}

/* The next line of *p (without its newline) into a malloc'd string. */
static char *line_next(const char **p)
{
	size_t n = strcspn(*p, "\n");
	char *line = strndup(*p, n);

	cr_assert(line,
		  "strndup of a README line failed");
	*p += n + ((*p)[n] == '\n');
	while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
		line[--n] = '\0';	/* trailing blanks are invisible in Markdown */
	return line;
}

/*
 * The stdout lines of the README transcript whose command is `command`,
 * malloc'd, each ending in a newline; NULL if there is none.
 */
static char *readme_transcript_find(const char *readme, const char *command)
{
	const char *p = readme;

	while (*p) {
		char *line = line_next(&p), *fence, *cmd, *out = NULL;
		size_t len = 0;

		if (strcmp(line, "<!-- transcript -->")) {
			free(line);
			continue;
		}
		free(line);
		fence = line_next(&p);
		cmd = line_next(&p);
		if (strcmp(fence, "```console") || strcmp(cmd, command)) {
			free(fence);
			free(cmd);
			continue;
		}
		free(fence);
		free(cmd);
		buffer_append(&out, &len, "", 0);
		while (*p) {
			line = line_next(&p);
			if (!strcmp(line, "```")) {
				free(line);
				return out;
			}
			buffer_append(&out, &len, line, strlen(line));
			buffer_append(&out, &len, "\n", 1);
			free(line);
		}
		cr_assert_fail("README transcript `%s` has no closing ```", command);
	}
	return NULL;
}

void readme_transcript_check(const char *step_dir, const char *output)
{
	char path[512], command[64];
	char *readme, *shown, *want, *got;
	const char *w, *g;
	struct stat st;
	int line = 1;

	snprintf(path, sizeof(path), "%s/README.md", step_dir);
	snprintf(command, sizeof(command), "$ ./%.32s", step_name());
	cr_assert(stat(path, &st) == 0,
		  "no transcript in README: %s does not exist", path);
	readme = file_read(path, NULL);
	shown = readme_transcript_find(readme, command);
	cr_assert(shown, "no transcript in README: %s has no `<!-- transcript -->` "
		  "line followed by a ```console block starting `%s`",
		  path, command);
	want = output_normalize(shown);
	got = output_normalize(output);
	for (w = want, g = got; *w || *g; line++) {
		int w_end = !*w, g_end = !*g;
		char *wl = line_next(&w), *gl = line_next(&g);

		cr_assert(!w_end && !g_end && !strcmp(gl, wl),
			  "%s transcript `%s`, output line %d:\n"
			  "  README shows:    %s%s%s\n  program printed: %s%s%s",
			  path, command, line, w_end ? "" : "'", w_end ?
			  "(nothing: the transcript ends)" : wl, w_end ? "" : "'",
			  g_end ? "" : "'", g_end ? "(nothing: the output ends)" : gl,
			  g_end ? "" : "'");
		free(wl);
		free(gl);
	}
	free(readme);
	free(shown);
	free(want);
	free(got);
}

void stage_lines_check(const char *out, int last)
{
	int first_line[100] = { 0 };	/* 1-based line of each stage's first */
	int line = 0, prev = 0;

	for (const char *p = out; *p; ) {
		char *text = line_next(&p);
		int stage;

		line++;
		if (text[0] == '[' && sscanf(text, "[%2d] ", &stage) == 1 &&
		    text[3] == ']' && text[4] == ' ') {
			cr_assert(stage >= 1 && stage <= last,
				  "line %d '%s': stage above %02d", line, text, last);
			cr_assert_geq(stage, prev, "line %d '%s' comes after "
				      "stage %02d's line", line, text, prev);
			if (!first_line[stage])
				first_line[stage] = line;
			prev = stage;
		}
		free(text);
	}
	for (int s = 1; s <= last; s++)
		cr_assert(first_line[s], "no line starting [%02d] in:\n%s", s, out);
}

static void program_run_plain(const char *arg, const char *env0,
			      struct program_result *r)
{
	const char *argv[] = { step_program(), arg, NULL };
	const char *env[] = { env0, NULL };

	program_run(argv, env0 ? env : NULL, 30, r);
}

void program_check_output(int last)
{
	struct program_result r;

	program_run_plain(NULL, NULL, &r);
	cr_assert_eq(r.status, 0, "./%s exited %d:\n%s", step_name(), r.status,
		     r.err);
	cr_assert_str_eq(r.err, "", "./%s wrote to stderr:\n%s", step_name(),
			 r.err);
	stage_lines_check(r.out, last);
	readme_transcript_check(step_dir(), r.out);
	program_result_free(&r);
}

void program_check_readme(void)
{
	struct program_result r;

	program_run_plain(NULL, NULL, &r);
	cr_assert_eq(r.status, 0, "./%s exited %d:\n%s", step_name(), r.status,
		     r.err);
	readme_transcript_check(step_dir(), r.out);
	program_result_free(&r);
}

/* Whether value stands in line as a whole word or words. */
static int has_word(const char *line, const char *value)
{
	size_t n = strlen(value);

	for (const char *p = strstr(line, value); p; p = strstr(p + 1, value)) {
		int before = p == line || !isalnum((unsigned char)p[-1]);
		int after = !isalnum((unsigned char)p[n]);

		if (before && after)
			return 1;
	}
	return 0;
}

void stage_line_check(const char *out, int n, const char *const values[])
{
	char start[8];
	const char *line = out;

	snprintf(start, sizeof(start), "[%02d] ", n % 100);
	do {
		cr_assert(!strncmp(line, start, 5) && strchr(line, '\n'),
			  "stage %02d must print whole lines starting \"%s\"; "
			  "it printed:\n%s", n, start, out);
		line = strchr(line, '\n') + 1;
	} while (*line);
	for (int i = 0; values[i]; i++)
		cr_assert(has_word(out, values[i]), "stage %02d's line does not "
			  "report %s:\n%s", n, values[i], out);
}

void program_check_missing_device(void)
{
	struct program_result r;

	program_run_plain(NULL, "KVM_DEVICE=/nonexistent", &r);
	cr_assert_eq(r.status, EXIT_SETUP, "exit %d, stderr:\n%s", r.status, r.err);
	cr_assert_str_eq(r.out, "", "a failed open printed a stage line");
	assert_has(r.err, "open /nonexistent failed: ENOENT");
	assert_has(r.err, "\n  hint: ");
	program_result_free(&r);
}

void program_check_not_kvm_device(int last)
{
	struct program_result r;

	program_run_plain(NULL, "KVM_DEVICE=/dev/null", &r);
	/* Opening /dev/null works: stage 01 cannot tell it is not KVM ... */
	cr_assert_str_eq(r.out, "[01] open /dev/null: fd 3\n",
			 "with KVM_DEVICE=/dev/null the program must print "
			 "only stage 01's line, with fd 3; it printed\n%s",
			 r.out);
	if (last == 1) {
		cr_assert_eq(r.status, 0, "stderr:\n%s", r.err);
		cr_assert_str_eq(r.err, "",
				 "with KVM_DEVICE=/dev/null and only stage 01 "
				 "the program must write nothing on stderr; "
				 "it wrote\n%s", r.err);
	} else {
		/* ... stage 02's ioctl is the first to find out. */
		cr_assert_eq(r.status, EXIT_SETUP, "exit %d, stderr:\n%s",
			     r.status, r.err);
		assert_has(r.err, "KVM_GET_API_VERSION failed: ENOTTY");
		assert_has(r.err, "\n  hint: ");
	}
	program_result_free(&r);
}

void program_check_permission_denied(void)
{
	const char *argv[] = { step_program(), NULL };
	char path[] = "/tmp/kvm-test-device-XXXXXX", env_dev[64], want[128];
	const char *env[] = { env_dev, NULL };
	const char *device = "/dev/kvm";
	struct program_result r;
	struct stat st;
	int fd = -1;

	cr_assert(stat(device, &st) == 0, "stat /dev/kvm: %s", strerror(errno));
	if (geteuid() != 0 || (st.st_mode & (S_IROTH | S_IWOTH))) {
		/*
		 * Not root (cannot become another user), or /dev/kvm is open
		 * to everyone: a stand-in device file nobody may open.
		 */
		fd = mkstemp(path);
		cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
		cr_assert(fchmod(fd, geteuid() ? 0000 : 0600) == 0,
			  "fchmod of the stand-in device failed: %s",
			  errno_name(errno));
		device = path;
	}
	snprintf(env_dev, sizeof(env_dev), "KVM_DEVICE=%s", device);
	if (geteuid() == 0)	/* as nobody, like a user outside the kvm group */
		program_run_as(argv, env, NULL, 65534, 65534, 30, &r);
	else
		program_run(argv, env, 30, &r);
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	snprintf(want, sizeof(want), "open %s failed: EACCES", device);
	cr_assert_eq(r.status, EXIT_SETUP, "exit %d, stderr:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, want), "no '%s' in:\n%s", want, r.err);
	assert_has(r.err, "\n  hint: ");
	cr_assert_str_eq(r.out, "",
			 "when opening the device fails the program must "
			 "print no stage line; it printed\n%s", r.out);
	program_result_free(&r);
}

void program_check_unknown_argument(void)
{
	struct program_result r;

	program_run_plain("--no-such-option", NULL, &r);
	cr_assert_eq(r.status, EXIT_USAGE, "exit %d, stderr:\n%s", r.status, r.err);
	assert_has(r.err, "'--no-such-option'");
	assert_has(r.err, "usage: ");
	cr_assert_str_eq(r.out, "", "a usage error printed a stage line");
	program_result_free(&r);
}

void program_check_help(void)
{
	struct program_result r;
	char want[64];

	program_run_plain("--help", NULL, &r);
	snprintf(want, sizeof(want), "usage: %.32s ", step_name());
	cr_assert_eq(r.status, 0, "exit %d, stderr:\n%s", r.status, r.err);
	cr_assert(!strncmp(r.out, want, strlen(want)), "%s", r.out);
	cr_assert_str_eq(r.err, "",
			 "--help must write nothing on stderr; it wrote\n%s",
			 r.err);
	program_result_free(&r);
}

/*
 * What --trace must print on stderr for each stage's ioctls (the stage's
 * number is the index; stage 01 makes none).  For step10 the guest's
 * first `out` and its `hlt`.
 */
static const char *const trace_wanted[][3] = {
	[2] = { "ioctl(3, KVM_GET_API_VERSION) = 12\n" },
	[3] = { "ioctl(3, KVM_CREATE_VM, type 0) = 4\n" },
	[4] = { "ioctl(4, KVM_SET_TSS_ADDR, 0xfffbd000) = 0\n" },
	[5] = { "ioctl(4, KVM_SET_USER_MEMORY_REGION, {slot 0, flags 0x0, "
		"GPA 0x0, size 0x200000 (2048 KiB), host 0x" },
	[6] = { "ioctl(4, KVM_CREATE_VCPU, id 0) = 5\n",
		"ioctl(3, KVM_GET_SUPPORTED_CPUID, {nent ",
		"ioctl(5, KVM_SET_CPUID2, {nent " },
	[7] = { "ioctl(3, KVM_GET_VCPU_MMAP_SIZE) = " },
	[8] = { "ioctl(5, KVM_GET_SREGS, {...}) = 0\n",
		"ioctl(5, KVM_SET_SREGS, {...}) = 0\n"
		"  CR0=0x80000001 <PE|PG> CR3=0x2000 CR4=0x20 <PAE> "
		"EFER=0x500 <LME|LMA>\n"
		"  CS selector=0x0008 base=0x0 limit=0xffffffff type=0xb "
		"present=1 dpl=0 s=1 l=1 d=0 g=1\n" },
	[9] = { "ioctl(5, KVM_SET_REGS, {RIP=0x10000, RSP=0x200000, "
		"RFLAGS=0x2 <RESERVED_1>}) = 0\n" },
	[10] = { "ioctl(5, KVM_RUN) = 0, KVM_EXIT_IO: out port 0xe9, size 1, "
		 "count 1, data 48 \"H\"\n",
		 "ioctl(5, KVM_RUN) = 0, KVM_EXIT_HLT\n" },
};

/* Assert a and b are equal once host addresses are normalized. */
static void normalized_eq(const char *a, const char *b, const char *what)
{
	char *na = output_normalize(a), *nb = output_normalize(b);

	cr_assert_str_eq(na, nb, "%s differ", what);
	free(na);
	free(nb);
}

void program_check_trace(int last)
{
	struct program_result plain, flag, env;
	const char *at;

	program_run_plain(NULL, NULL, &plain);
	program_run_plain("--trace", NULL, &flag);
	program_run_plain(NULL, "KVM_TRACE=1", &env);
	cr_assert_eq(flag.status, 0, "--trace exited %d:\n%s", flag.status,
		     flag.err);
	cr_assert_eq(env.status, 0, "KVM_TRACE=1 exited %d", env.status);
	/* The trace goes to stderr only, and only when asked for. */
	cr_assert_str_eq(plain.err, "",
			 "without --trace or KVM_TRACE the program must write "
			 "nothing on stderr; it wrote\n%s", plain.err);
	normalized_eq(flag.out, plain.out, "stdout with --trace");
	normalized_eq(env.err, flag.err, "KVM_TRACE=1 and --trace");
	at = flag.err;
	/* Each stage's calls, in the order the stages make them. */
	for (int stage = 2; stage <= last; stage++)
		for (int i = 0; i < 3 && trace_wanted[stage][i]; i++) {
			const char *hit = strstr(at, trace_wanted[stage][i]);

			cr_assert(hit, "stage %02d: no \"%s\" in the trace "
				  "after the calls before it:\n%s", stage,
				  trace_wanted[stage][i], flag.err);
			at = hit + strlen(trace_wanted[stage][i]);
		}
	if (last == 1)
		cr_assert_str_eq(flag.err, "", "step01 makes no ioctl");
	program_result_free(&plain);
	program_result_free(&flag);
	program_result_free(&env);
}

struct ioctl_call ioctl_spy_calls[IOCTL_SPY_MAX];
int ioctl_spy_count;

static int ioctl_spy(int fd, unsigned long request, void *arg, int *result)
{
	struct ioctl_call *c;
	size_t size = _IOC_SIZE(request);

	(void)result;
	if (ioctl_spy_count >= IOCTL_SPY_MAX)
		return 0;
	c = &ioctl_spy_calls[ioctl_spy_count++];
	*c = (struct ioctl_call){ .fd = fd, .request = request,
				  .arg = (unsigned long)arg };
	if ((_IOC_DIR(request) & _IOC_WRITE) && size && arg)
		memcpy(c->data, arg, size < IOCTL_SPY_ARG ? size : IOCTL_SPY_ARG);
	return 0;	/* make the real call */
}

void ioctl_spy_start(void)
{
	ioctl_spy_count = 0;
	ioctl_hook = ioctl_spy;
}

void ioctl_spy_stop(void)
{
	ioctl_hook = NULL;
}

const struct ioctl_call *ioctl_spy_find(unsigned long request)
{
	for (int i = 0; i < ioctl_spy_count; i++)
		if (ioctl_spy_calls[i].request == request)
			return &ioctl_spy_calls[i];
	return NULL;
}

unsigned int vcpu_run_once(struct vm *vm)
{
	kvm_ioctl_ok(vm->vcpu.fd, KVM_RUN, 0UL);
	return vm->vcpu.run->exit_reason;
}

enum kvm_host kvm_host(void)
{
	if (access("/sys/module/kvm_amd", F_OK) == 0)
		return KVM_HOST_AMD;
	if (access("/sys/module/kvm_intel", F_OK) == 0)
		return KVM_HOST_INTEL;
	return KVM_HOST_OTHER;
}

enum kvm_host stock_kvm_host(void)
{
	const enum kvm_host host = kvm_host();

	if (host == KVM_HOST_OTHER)
		cr_skip_test("this host's KVM is not kvm_amd or kvm_intel; "
			     "the sandbox runs this test");
	return host;
}

int kvm_intel_unrestricted_guest(void)
{
	FILE *f = fopen("/sys/module/kvm_intel/parameters/unrestricted_guest", "r");
	int c;

	if (!f)
		return 0;
	c = fgetc(f);
	fclose(f);
	return c == 'Y';
}

struct kvm_regs regs_after_hlt(struct vm *vm, size_t size)
{
	struct kvm_regs regs;

	kvm_ioctl_ok(vm->vcpu.fd, KVM_GET_REGS, &regs);
	cr_assert_eq(regs.rip, GUEST_LOAD_ADDR + size,
		     "after the guest's hlt KVM reports RIP=0x%llx; it must be "
		     "just past the hlt, 0x%llx", (unsigned long long)regs.rip,
		     (unsigned long long)(GUEST_LOAD_ADDR + size));
	return regs;
}

void run_once_ends_in(struct vm *vm, unsigned int want)
{
	cr_assert_eq(vcpu_run_once(vm), want,
		     "KVM_RUN ended in %s; here it must end in %s",
		     kvm_exit_name(vm->vcpu.run->exit_reason), kvm_exit_name(want));
}
