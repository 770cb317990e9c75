/* SPDX-License-Identifier: MIT */
/*
 * bench: where the time goes, from open("/dev/kvm") to the guest's hlt.
 *
 * Runs the tutorial's own stage functions (common/ and step10's stage)
 * many times and reports min/median/max of: each stage; step10 from
 * exec to exit; one port-I/O exit's round trip; stage 05 against guest
 * memory size; and run time against bytes printed for four ways of
 * printing (plain out, rep outsb, a batched doorbell, coalesced PIO).
 * Tables go to stdout (Markdown), CSV files and plot.svg to --out.
 * bench/README.md explains the numbers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "step10.h"
#include "vm.h"

/* The batched guest's doorbell: as in bench/guests/doorbell.asm. */
#define DOORBELL_PORT	0xea
#define RECORD_GPA	0x80000ULL
/* Where the benchmark puts the message a guest prints (rsi points here). */
#define MESSAGE_GPA	0x100000ULL
#define MESSAGE_MAX	(GUEST_STACK_TOP - GUEST_STACK_SIZE - MESSAGE_GPA)

#define GREETING	"Hello from a 64-bit KVM guest!\n"
#define EXIT_COST_BYTES	2000	/* outs per run when timing one exit */

extern char **environ;

static int runs = 50;
static FILE *devnull;

/* Microseconds on the monotonic clock. */
static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

struct summary {
	double min, median, max;
};

static int double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* min/median/max of v[0..n-1]; sorts v. */
static struct summary summarize(double *v, int n)
{
	qsort(v, n, sizeof(*v), double_cmp);
	return (struct summary){
		v[0], n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, v[n - 1],
	};
}

/* "12.3" for 12.3 us, switching to ms and s where that reads better. */
static const char *time_str(double us)
{
	static char buf[8][32];
	static int next;
	char *s = buf[next++ % 8];

	if (us < 1000)
		snprintf(s, 32, "%.1f us", us);
	else if (us < 1e6)
		snprintf(s, 32, "%.2f ms", us / 1e3);
	else
		snprintf(s, 32, "%.2f s", us / 1e6);
	return s;
}

/* ---- stages ------------------------------------------------------------ */

enum stage_id {
	ST_OPEN, ST_VERSION, ST_CREATE, ST_TSS, ST_MEMORY, ST_VCPU, ST_MMAP,
	ST_SREGS, ST_REGS, ST_LOAD, ST_RUN, ST_DESTROY, ST_COUNT
};

static const char *const stage_names[ST_COUNT] = {
	"01 open /dev/kvm", "02 KVM_GET_API_VERSION", "03 KVM_CREATE_VM",
	"04 KVM_SET_TSS_ADDR", "05 memory (2 MiB)", "06 KVM_CREATE_VCPU",
	"07 kvm_run mmap", "08 sregs (long mode)", "09 KVM_SET_REGS",
	"10 load guest", "10 run to hlt", "vm_destroy",
};

/*
 * One VM through every stage, the way step10's main does it, with each
 * stage timed.  t[] receives microseconds.  Returns 0, or -1 after the
 * stage's own report.
 */
static int stages_time(double t[ST_COUNT], struct run_stats *stats)
{
	struct vm vm = VM_EMPTY;
	struct run_options opt = { .out = devnull, .timeout = 10 };
	double t0 = now_us();
	int ok;

#define STAGE(id, call) \
	(ok = (call) >= 0, t[id] = now_us() - t0, t0 = now_us(), ok)
	if (!STAGE(ST_OPEN, kvm_open(&vm)) ||
	    !STAGE(ST_VERSION, kvm_check_api_version(&vm)) ||
	    !STAGE(ST_CREATE, vm_create(&vm)) ||
	    !STAGE(ST_TSS, vm_set_tss_addr(&vm)) ||
	    !STAGE(ST_MEMORY, vm_memory_add(&vm, GUEST_MEM_SIZE)) ||
	    !STAGE(ST_VCPU, vcpu_create(&vm)) ||
	    !STAGE(ST_MMAP, vcpu_map_run(&vm)) ||
	    !STAGE(ST_SREGS, vcpu_enter_long_mode(&vm)) ||
	    !STAGE(ST_REGS, vcpu_regs_set(&vm)) ||
	    !STAGE(ST_LOAD, guest_load(&vm, guest_image,
				       guest_image_end - guest_image)) ||
	    !STAGE(ST_RUN, vcpu_run(&vm, &opt, stats) == EXIT_SUCCESS ? 0 : -1)) {
		vm_destroy(&vm);
		return -1;
	}
#undef STAGE
	vm_destroy(&vm);
	t[ST_DESTROY] = now_us() - t0;
	return 0;
}

/* posix_spawn argv (stdout to /dev/null) and wait: microseconds, or -1. */
static double exec_time(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	double t0, t;
	pid_t pid;
	int status;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
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

/* ---- guests that print a message ------------------------------------- */

struct variant {
	const char *name;	/* in tables, CSV and the plot */
	const char *guest;	/* bench/guests/NAME.asm, assembled */
	int coalesce;		/* run with step10's --coalesce */
	int doorbell;		/* run with the doorbell loop below */
	const char *color;
};

static const struct variant variants[] = {
	{ "plain out", "plain", 0, 0, "#d62728" },
	{ "rep outsb", "rep_outsb", 0, 0, "#ff7f0e" },
	{ "batched doorbell", "doorbell", 0, 1, "#1f77b4" },
	{ "coalesced", "plain", 1, 0, "#2ca02c" },
};
#define N_VARIANTS (int)(sizeof(variants) / sizeof(variants[0]))

static const size_t message_sizes[] = { 31, 1000, 5000, 20000 };
#define N_SIZES (int)(sizeof(message_sizes) / sizeof(message_sizes[0]))

/* len bytes of the greeting, repeated; the 31-byte message is the greeting. */
static void message_fill(char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = GREETING[i % (sizeof(GREETING) - 1)];
}

/* Read bench/guests/NAME.bin (assembled by bench/Makefile). */
static int bench_guest_read(const char *name, uint8_t **image, size_t *size)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s.bin", BENCH_GUESTS_DIR, name);
	return guest_image_read(path, image, size);
}

/*
 * A VM through stage 10's load, quietly, with msg at MESSAGE_GPA and the
 * guest's arguments in its registers: rsi = MESSAGE_GPA, rcx = len.
 */
static int message_vm_build(struct vm *vm, const uint8_t *image, size_t size,
			    const char *msg, size_t len)
{
	struct kvm_regs regs;

	*vm = (struct vm)VM_EMPTY;
	if (kvm_open(vm) < 0 || kvm_check_api_version(vm) < 0 ||
	    vm_create(vm) < 0 || vm_set_tss_addr(vm) < 0 ||
	    vm_memory_add(vm, GUEST_MEM_SIZE) < 0 || vcpu_create(vm) < 0 ||
	    vcpu_map_run(vm) < 0 || vcpu_enter_long_mode(vm) < 0 ||
	    vcpu_regs_set(vm) < 0 || guest_load(vm, image, size) < 0)
		return -1;
	memcpy(vm->mem + MESSAGE_GPA, msg, len);
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0)
		return report_errno("KVM_GET_REGS", errno);
	regs.rsi = MESSAGE_GPA;
	regs.rcx = len;
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return report_errno("KVM_SET_REGS", errno);
	return 0;
}

/*
 * The guest rang the doorbell with the address of a record in its
 * memory: a 32-bit length, then that many bytes.  The guest chose both
 * numbers: the whole record must lie inside guest memory.
 */
static int doorbell_ring(struct vm *vm, uint32_t gpa, FILE *out,
			 struct run_stats *stats)
{
	uint32_t len;

	if (vm->mem_size < 4 || gpa > vm->mem_size - 4)
		return report("doorbell: record at GPA 0x%x is outside guest "
			      "memory", gpa);
	memcpy(&len, vm->mem + gpa, sizeof(len));	/* read it once */
	if (len > vm->mem_size - 4 - gpa)
		return report("doorbell: record at GPA 0x%x claims %u bytes, "
			      "past the end of guest memory", gpa, len);
	fwrite(vm->mem + gpa + 4, 1, len, out);
	stats->out_bytes += len;
	return 0;
}

/*
 * The batched variant's run loop: vcpu_run's loop (without its timer),
 * plus the doorbell port; every other exit goes to step10's exit_handle.
 */
static int doorbell_run(struct vm *vm, FILE *out, struct run_stats *stats)
{
	*stats = (struct run_stats){ 0 };
	for (;;) {
		struct kvm_run *run = vm->run;
		typeof(run->io) io;
		uint32_t gpa;

		if (ioctl(vm->vcpu_fd, KVM_RUN, 0UL) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return report_errno("KVM_RUN", errno), EXIT_SETUP;
		}
		io = run->io;
		if (run->exit_reason == KVM_EXIT_IO && io.port == DOORBELL_PORT &&
		    io.direction == KVM_EXIT_IO_OUT && io.size == 4 &&
		    io.count == 1 && io.data_offset <= vm->run_size - 4) {
			stats->exits++;
			stats->io_exits++;
			memcpy(&gpa, (uint8_t *)run + io.data_offset, 4);
			if (doorbell_ring(vm, gpa, out, stats) < 0)
				return EXIT_GUEST;
			continue;
		}
		switch (exit_handle(run, vm->run_size, out, stats)) {
		case EXIT_ACTION_CONTINUE:
			continue;
		case EXIT_ACTION_HALT:
			fflush(out);
			return EXIT_SUCCESS;
		default:
			return EXIT_GUEST;
		}
	}
}

/* Run a built VM the variant's way; *us gets the run's time. */
static int variant_run(struct vm *vm, const struct variant *v, FILE *out,
		       struct run_stats *stats, double *us)
{
	struct run_options opt = { .out = out, .timeout = 60,
				   .coalesce = v->coalesce };
	double t0 = now_us();
	int status;

	if (v->doorbell)
		status = doorbell_run(vm, out, stats);
	else
		status = vcpu_run(vm, &opt, stats);
	*us = now_us() - t0;
	return status;
}

struct message_result {
	size_t bytes;
	uint64_t exits;
	int verified;			/* output == message, byte for byte */
	struct summary us;
};

/*
 * Print len bytes through guest `guest` the variant's way, runs times
 * (output to /dev/null), after one checked run into memory.
 */
static int message_bench(const struct variant *v, const char *guest,
			 size_t len, struct message_result *res)
{
	uint8_t *image;
	size_t size;
	char *msg = malloc(len + 1), *got = NULL;
	size_t got_len = 0;
	double *t = calloc(runs, sizeof(*t));
	struct run_stats stats;
	struct vm vm = VM_EMPTY;
	FILE *mem;
	int err = -1;

	if (!msg || !t || bench_guest_read(guest, &image, &size) < 0)
		goto out;
	message_fill(msg, len);
	res->bytes = len;

	/* The checked run: exits, and the output byte for byte. */
	mem = open_memstream(&got, &got_len);
	if (!mem || message_vm_build(&vm, image, size, msg, len) < 0 ||
	    variant_run(&vm, v, mem, &stats, &t[0]) != EXIT_SUCCESS) {
		if (mem)
			fclose(mem);
		vm_destroy(&vm);
		goto out_image;
	}
	fclose(mem);
	vm_destroy(&vm);
	res->exits = stats.exits;
	res->verified = got_len == len && !memcmp(got, msg, len);
	if (strcmp(guest, "noout") && !res->verified)
		report("%s, %zu bytes: the output differs from the message "
		       "(%zu bytes came)", v->name, len, got_len);

	for (int i = 0; i < runs; i++) {
		if (message_vm_build(&vm, image, size, msg, len) < 0 ||
		    variant_run(&vm, v, devnull, &stats, &t[i]) != EXIT_SUCCESS) {
			vm_destroy(&vm);
			goto out_image;
		}
		vm_destroy(&vm);
	}
	res->us = summarize(t, runs);
	err = 0;
out_image:
	free(image);
out:
	free(got);
	free(msg);
	free(t);
	return err;
}

/* ---- stage 05 against memory size ------------------------------------- */

static const unsigned long long memory_sizes[] = {
	2ULL << 20, 64ULL << 20, 1ULL << 30, 4ULL << 30, 16ULL << 30,
};
#define N_MEMORY (int)(sizeof(memory_sizes) / sizeof(memory_sizes[0]))

struct memory_result {
	unsigned long long size;
	int refused;			/* errno of the first failure, or 0 */
	struct summary us;		/* vm_memory_add: mmap + the ioctl */
	struct summary mmap_us;		/* its mmap alone */
};

/* The mmap that vm_memory_add makes, alone: microseconds, or -1. */
static double mmap_time(size_t size)
{
	double t0 = now_us(), t;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	t = now_us() - t0;
	if (p == MAP_FAILED)
		return -1;
	munmap(p, size);
	return t;
}

/* Stage 05 alone (VM made and destroyed around it), runs times. */
static void memory_bench(unsigned long long size, struct memory_result *res)
{
	double *t = calloc(runs, sizeof(*t)), *m = calloc(runs, sizeof(*m));

	res->size = size;
	res->refused = 0;
	for (int i = 0; t && m && i < runs; i++) {
		struct vm vm = VM_EMPTY;
		double t0;
		int r;

		if (kvm_open(&vm) < 0 || vm_create(&vm) < 0) {
			res->refused = errno ? errno : EIO;
			vm_destroy(&vm);
			break;
		}
		t0 = now_us();
		r = vm_memory_add(&vm, size);
		t[i] = now_us() - t0;
		if (r < 0)
			res->refused = errno ? errno : EIO;
		vm_destroy(&vm);
		if (r < 0)
			break;
		m[i] = mmap_time(size);
	}
	if (t && !res->refused) {
		res->us = summarize(t, runs);
		res->mmap_us = summarize(m, runs);
	}
	free(t);
	free(m);
}

/* "2 MiB", "16 GiB" */
static const char *size_str(unsigned long long bytes)
{
	static char buf[4][16];
	static int next;
	char *s = buf[next++ % 4];

	if (bytes >= 1ULL << 30)
		snprintf(s, 16, "%llu GiB", bytes >> 30);
	else
		snprintf(s, 16, "%llu MiB", bytes >> 20);
	return s;
}

/* ---- SVG --------------------------------------------------------------- */

struct series {
	const char *name, *color;
	int n;
	double x[8], y[8];
};

struct axis {
	double lo, hi;		/* data range; log axes need lo > 0 */
	int log;
	const char *label;
	int n_ticks;		/* explicit ticks, or 0 for automatic */
	double ticks[8];
	char tick_labels[8][16];
};

static double axis_pos(const struct axis *a, double v, double from, double len)
{
	double f = a->log ? (log10(v) - log10(a->lo)) /
				    (log10(a->hi) - log10(a->lo))
			  : (v - a->lo) / (a->hi - a->lo);
	return from + f * len;
}

/* Automatic ticks: powers of ten (log) or five steps (linear). */
static void axis_ticks(struct axis *a)
{
	if (a->n_ticks)
		return;
	if (a->log) {
		for (double p = pow(10, ceil(log10(a->lo))); p <= a->hi * 1.0001 &&
		     a->n_ticks < 8; p *= 10)
			a->ticks[a->n_ticks++] = p;
	} else {
		for (int i = 0; i <= 4; i++)
			a->ticks[a->n_ticks++] = a->lo + (a->hi - a->lo) * i / 4;
	}
	for (int i = 0; i < a->n_ticks; i++) {
		double v = a->ticks[i];

		if (v >= 1e6)
			snprintf(a->tick_labels[i], 16, "%.3gM", v / 1e6);
		else if (v >= 1e3)
			snprintf(a->tick_labels[i], 16, "%.3gk", v / 1e3);
		else
			snprintf(a->tick_labels[i], 16, "%.3g", v);
	}
}

/* One line chart at (px, py), w x h, with axes, grid and legend. */
static void svg_chart(FILE *f, double px, double py, double w, double h,
		      const char *title, struct axis ax, struct axis ay,
		      const struct series *s, int ns)
{
	double l = px + 60, r = px + w - 10, t = py + 30, b = py + h - 45;

	axis_ticks(&ax);
	axis_ticks(&ay);
	fprintf(f, "<text x='%g' y='%g' font-weight='bold'>%s</text>\n",
		px + 60, py + 15, title);
	fprintf(f, "<rect x='%g' y='%g' width='%g' height='%g' fill='none' "
		"stroke='#888'/>\n", l, t, r - l, b - t);
	for (int i = 0; i < ax.n_ticks; i++) {
		double x = axis_pos(&ax, ax.ticks[i], l, r - l);

		fprintf(f, "<line x1='%.1f' y1='%g' x2='%.1f' y2='%g' stroke='#ddd'/>"
			"<text x='%.1f' y='%g' text-anchor='middle'>%s</text>\n",
			x, t, x, b, x, b + 15, ax.tick_labels[i]);
	}
	for (int i = 0; i < ay.n_ticks; i++) {
		double y = axis_pos(&ay, ay.ticks[i], b, t - b);

		fprintf(f, "<line x1='%g' y1='%.1f' x2='%g' y2='%.1f' stroke='#ddd'/>"
			"<text x='%g' y='%.1f' text-anchor='end'>%s</text>\n",
			l, y, r, y, l - 4, y + 4, ay.tick_labels[i]);
	}
	fprintf(f, "<text x='%g' y='%g' text-anchor='middle'>%s</text>\n",
		(l + r) / 2, b + 33, ax.label);
	fprintf(f, "<text transform='translate(%g %g) rotate(-90)' "
		"text-anchor='middle'>%s</text>\n", px + 12, (t + b) / 2, ay.label);
	for (int k = 0; k < ns; k++) {
		fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='2' "
			"points='", s[k].color);
		for (int i = 0; i < s[k].n; i++)
			fprintf(f, "%.1f,%.1f ", axis_pos(&ax, s[k].x[i], l, r - l),
				axis_pos(&ay, s[k].y[i], b, t - b));
		fprintf(f, "'/>\n");
		for (int i = 0; i < s[k].n; i++)
			fprintf(f, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'/>\n",
				axis_pos(&ax, s[k].x[i], l, r - l),
				axis_pos(&ay, s[k].y[i], b, t - b), s[k].color);
		if (ns > 1)
			fprintf(f, "<rect x='%g' y='%g' width='10' height='10' "
				"fill='%s'/><text x='%g' y='%g'>%s</text>\n",
				l + 8, t + 8 + 16 * k, s[k].color, l + 22,
				t + 17 + 16 * k, s[k].name);
	}
}

/* Horizontal bars: where one run's time goes, stage by stage. */
static void svg_stage_bars(FILE *f, double px, double py, double w,
			   const struct summary st[ST_COUNT], double exec_us)
{
	double max = exec_us, l = px + 190, bw = w - 190 - 90;

	fprintf(f, "<text x='%g' y='%g' font-weight='bold'>Where the time "
		"goes: median per stage, and step10 from exec to exit</text>\n",
		px + 60, py + 15);
	for (int i = 0; i < ST_COUNT; i++)
		if (st[i].median > max)
			max = st[i].median;
	for (int i = 0; i <= ST_COUNT; i++) {
		double v = i < ST_COUNT ? st[i].median : exec_us;
		double y = py + 28 + i * 17;

		fprintf(f, "<text x='%g' y='%g' text-anchor='end'>%s</text>"
			"<rect x='%g' y='%g' width='%.1f' height='12' fill='%s'/>"
			"<text x='%.1f' y='%g'>%s</text>\n",
			l - 6, y + 10, i < ST_COUNT ? stage_names[i] :
			"step10, exec to exit", l, y, v / max * bw,
			i < ST_COUNT ? "#1f77b4" : "#555", l + v / max * bw + 4,
			y + 10, time_str(v));
	}
}

static void svg_write(const char *path, const char *subtitle,
		      const struct summary st[ST_COUNT], double exec_us,
		      struct message_result mr[N_VARIANTS][N_SIZES],
		      const struct memory_result *mem)
{
	FILE *f = fopen(path, "w");
	struct series out[N_VARIANTS], memory = {
		.name = "stage 05", .color = "#1f77b4",
	};
	struct axis ax = { .lo = 10, .hi = 1e5, .log = 1,
			   .label = "bytes printed" };
	struct axis ay = { .log = 1, .label = "run time, us (median)" };
	struct axis mx = { .lo = 1 << 20, .hi = 32ULL << 30, .log = 1,
			   .label = "guest memory" };
	struct axis my = { .label = "stage 05, us (median)" };
	double lo = 1e30, hi = 0;

	if (!f) {
		report_errno(path, errno);
		return;
	}
	for (int k = 0; k < N_VARIANTS; k++) {
		out[k] = (struct series){ .name = variants[k].name,
					  .color = variants[k].color };
		for (int i = 0; i < N_SIZES; i++) {
			out[k].x[i] = mr[k][i].bytes;
			out[k].y[i] = mr[k][i].us.median;
			lo = fmin(lo, mr[k][i].us.median);
			hi = fmax(hi, mr[k][i].us.median);
		}
		out[k].n = N_SIZES;
	}
	ay.lo = pow(10, floor(log10(lo)));
	ay.hi = pow(10, ceil(log10(hi)));
	for (int i = 0; i < N_MEMORY; i++) {
		if (mem[i].refused)
			continue;
		memory.x[memory.n] = mem[i].size;
		memory.y[memory.n++] = mem[i].us.median;
		my.hi = fmax(my.hi, mem[i].us.median);
		mx.ticks[mx.n_ticks] = mem[i].size;
		snprintf(mx.tick_labels[mx.n_ticks++], 16, "%s",
			 size_str(mem[i].size));
	}
	my.hi = my.hi > 0 ? my.hi * 1.25 : 1;

	fprintf(f, "<!-- SPDX-License-Identifier: MIT -->\n"
		"<!-- written by bench/bench (make bench) -->\n"
		"<svg xmlns='http://www.w3.org/2000/svg' width='960' "
		"height='660' font-family='sans-serif' font-size='12'>\n"
		"<rect width='100%%' height='100%%' fill='white'/>\n"
		"<text x='480' y='20' text-anchor='middle' font-size='15' "
		"font-weight='bold'>KVM, step by step: make bench</text>\n"
		"<text x='480' y='38' text-anchor='middle'>");
	for (const char *c = subtitle; *c; c++)	/* text from /proc/cpuinfo */
		fputs(*c == '&' ? "&amp;" : *c == '<' ? "&lt;" :
		      *c == '>' ? "&gt;" : (char[]){ *c, 0 }, f);
	fprintf(f, "</text>\n");
	svg_stage_bars(f, 0, 48, 960, st, exec_us);
	svg_chart(f, 0, 305, 560, 350, "Printing: run time against bytes",
		  ax, ay, out, N_VARIANTS);
	svg_chart(f, 560, 305, 400, 350, "Stage 05 against guest memory",
		  mx, my, &memory, 1);
	fprintf(f, "</svg>\n");
	fclose(f);
}

/* ---- the report ------------------------------------------------------- */

/* "AMD EPYC, 2 CPUs, Linux 6.1.0; a VM itself (nested KVM)" */
static void machine_describe(char *buf, size_t size)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096], model[128] = "unknown CPU";
	const char *const modules[] = { "kvm_intel", "kvm_amd", "kvm_pvm" };
	const char *module = "kvm";
	int nested = 0;
	struct utsname u;

	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && colon &&
		    !strcmp(model, "unknown CPU"))
			snprintf(model, sizeof(model), "%.*s",
				 (int)strcspn(colon + 2, "\n"), colon + 2);
		if (!strncmp(line, "flags", 5) && strstr(line, " hypervisor"))
			nested = 1;
	}
	if (f)
		fclose(f);
	uname(&u);
	for (int i = 0; i < 3; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/sys/module/%s", modules[i]);
		if (!access(path, F_OK))
			module = modules[i];
	}
	snprintf(buf, size, "%s, %ld CPUs, Linux %s; %s%s, %s", model,
		 sysconf(_SC_NPROCESSORS_ONLN), u.release,
		 getenv("SANDBOX_GUEST") ? "inside the QEMU sandbox (TCG), " : "",
		 nested ? "a VM itself (nested KVM)" : "bare metal", module);
}

static FILE *csv_open(const char *dir, const char *name)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		report_errno(path, errno);
	return f;
}

static void usage(FILE *to)
{
	fprintf(to, "usage: bench [--runs N] [--quick] [--out DIR]\n"
		"  --runs N   repeat each measurement N times (default 50)\n"
		"  --quick    --runs 5\n"
		"  --out DIR  write stages.csv, memory.csv, output.csv, plot.svg\n");
}

int main(int argc, char **argv)
{
	const char *out_dir = NULL;
	char machine[512], step10_path[512], subtitle[700];
	double *samples, st_t[ST_COUNT], st_first[ST_COUNT], *st_v[ST_COUNT];
	double *ex_v, *true_v, *help_v;
	struct summary st[ST_COUNT], exec_s, true_s, help_s;
	struct message_result mr[N_VARIANTS][N_SIZES], plain_n, noout_n;
	struct memory_result mem[N_MEMORY];
	struct run_stats stats;
	int emulated = getenv("SANDBOX_GUEST") != NULL;
	double sum = 0, first_sum = 0, exit_us, exit_min_us;
	FILE *f;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--runs") && i + 1 < argc &&
		    atoi(argv[i + 1]) > 0) {
			runs = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--quick")) {
			runs = 5;
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			out_dir = argv[++i];
		} else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		return report_errno("/dev/null", errno), EXIT_SETUP;
	stage_quiet = 1;
	machine_describe(machine, sizeof(machine));
	snprintf(subtitle, sizeof(subtitle), "%s; %d runs each%s", machine, runs,
		 emulated ? "; times are emulated, only ratios count" : "");
	printf("# make bench\n\nmachine: %s\nruns: %d per measurement "
	       "(min / median / max)\n", machine, runs);
	if (emulated)
		printf("NOTE: times are emulated (KVM inside QEMU's TCG), "
		       "only ratios count\n");

	/* 1. Each stage, one whole VM per run (after one warm-up run). */
	samples = calloc((size_t)(ST_COUNT + 3) * runs, sizeof(double));
	if (!samples)
		return report_errno("calloc", errno), EXIT_SETUP;
	for (int s = 0; s < ST_COUNT; s++)
		st_v[s] = samples + s * runs;
	ex_v = samples + ST_COUNT * runs;
	true_v = ex_v + runs;
	help_v = true_v + runs;
	if (stages_time(st_first, &stats) < 0)
		return EXIT_SETUP;
	for (int i = 0; i < runs; i++) {
		if (stages_time(st_t, &stats) < 0)
			return EXIT_SETUP;
		for (int s = 0; s < ST_COUNT; s++)
			st_v[s][i] = st_t[s];
	}
	printf("\n## Stages of step10 (one VM each run)\n\n"
	       "| stage | min | median | max | first VM of the process |\n"
	       "|---|--:|--:|--:|--:|\n");
	for (int s = 0; s < ST_COUNT; s++) {
		st[s] = summarize(st_v[s], runs);
		if (s != ST_DESTROY)
			sum += st[s].median;
		first_sum += s != ST_DESTROY ? st_first[s] : 0;
		printf("| %s | %s | %s | %s | %s |\n", stage_names[s],
		       time_str(st[s].min), time_str(st[s].median),
		       time_str(st[s].max), time_str(st_first[s]));
	}
	printf("| sum 01..10 | | %s | | %s |\n", time_str(sum),
	       time_str(first_sum));
	printf("\nexits for the greeting (step10's own guest): %llu\n",
	       (unsigned long long)stats.exits);

	/* 2. The whole program, from exec to exit; and exec alone. */
	snprintf(step10_path, sizeof(step10_path), "%s/step10-guest/step10",
		 TOP_DIR);
	for (int i = 0; i < runs; i++) {
		char *step10_argv[] = { step10_path, NULL };
		char *help_argv[] = { step10_path, "--help", NULL };
		char *true_argv[] = { "/bin/true", NULL };

		ex_v[i] = exec_time(step10_argv);
		help_v[i] = exec_time(help_argv);
		true_v[i] = exec_time(true_argv);
		if (ex_v[i] < 0 || help_v[i] < 0 || true_v[i] < 0) {
			report("%s or /bin/true did not run (build step10 first: "
			       "make -C step10-guest)", step10_path);
			return EXIT_SETUP;
		}
	}
	exec_s = summarize(ex_v, runs);
	true_s = summarize(true_v, runs);
	help_s = summarize(help_v, runs);
	printf("\n## The whole program\n\n| what | min | median | max |\n"
	       "|---|--:|--:|--:|\n"
	       "| step10, exec to exit (posix_spawn + waitpid) | %s | %s | %s |\n"
	       "| step10 --help (the process, no KVM) | %s | %s | %s |\n"
	       "| /bin/true, exec to exit | %s | %s | %s |\n",
	       time_str(exec_s.min), time_str(exec_s.median), time_str(exec_s.max),
	       time_str(help_s.min), time_str(help_s.median), time_str(help_s.max),
	       time_str(true_s.min), time_str(true_s.median), time_str(true_s.max));
	printf("\nstep10 exec-to-exit %s = stages %s + vm_destroy %s + "
	       "the process itself (step10 --help) %s + %s not in any of them "
	       "(%.0f%%)\n",
	       time_str(exec_s.median), time_str(sum),
	       time_str(st[ST_DESTROY].median), time_str(help_s.median),
	       time_str(exec_s.median - sum - st[ST_DESTROY].median - help_s.median),
	       100 * (exec_s.median - sum - st[ST_DESTROY].median -
		      help_s.median) / exec_s.median);

	/* 3. One exit's round trip: N outs against the same loop without. */
	if (message_bench(&variants[0], "plain", EXIT_COST_BYTES, &plain_n) < 0 ||
	    message_bench(&variants[0], "noout", EXIT_COST_BYTES, &noout_n) < 0)
		return EXIT_SETUP;
	exit_us = (plain_n.us.median - noout_n.us.median) / EXIT_COST_BYTES;
	exit_min_us = (plain_n.us.min - noout_n.us.min) / EXIT_COST_BYTES;
	printf("\n## One port-I/O exit (guest out -> KVM_RUN returns -> "
	       "KVM_RUN again)\n\n"
	       "%d outs: %s (%llu exits); the same loop without out: %s "
	       "(%llu exit)\none exit round trip: %.2f us (difference of the "
	       "medians / %d; of the minimums: %.2f us)\n", EXIT_COST_BYTES,
	       time_str(plain_n.us.median), (unsigned long long)plain_n.exits,
	       time_str(noout_n.us.median), (unsigned long long)noout_n.exits,
	       exit_us, EXIT_COST_BYTES, exit_min_us);

	/* 4. Stage 05 against guest memory size. */
	printf("\n## Stage 05 against guest memory (MAP_NORESERVE)\n\n"
	       "| guest memory | min | median | max | its mmap alone (median) |\n"
	       "|---|--:|--:|--:|--:|\n");
	for (int i = 0; i < N_MEMORY; i++) {
		memory_bench(memory_sizes[i], &mem[i]);
		if (mem[i].refused)
			printf("| %s | refused: %s | | |\n", size_str(mem[i].size),
			       errno_name(mem[i].refused));
		else
			printf("| %s | %s | %s | %s | %s |\n",
			       size_str(mem[i].size), time_str(mem[i].us.min),
			       time_str(mem[i].us.median), time_str(mem[i].us.max),
			       time_str(mem[i].mmap_us.median));
	}
	if (!mem[0].refused && !mem[N_MEMORY - 1].refused)
		printf("\n%s / %s: %.2fx (target: within 2x)\n",
		       size_str(mem[N_MEMORY - 1].size), size_str(mem[0].size),
		       mem[N_MEMORY - 1].us.median / mem[0].us.median);

	/* 5. Printing: four variants, four message sizes. */
	printf("\n## Printing N bytes: exits and run time (median)\n\n"
	       "| variant | bytes | exits | min | median | max | checked |\n"
	       "|---|--:|--:|--:|--:|--:|---|\n");
	for (int k = 0; k < N_VARIANTS; k++)
		for (int i = 0; i < N_SIZES; i++) {
			struct message_result *m = &mr[k][i];

			if (message_bench(&variants[k], variants[k].guest,
					  message_sizes[i], m) < 0)
				return EXIT_SETUP;
			printf("| %s | %zu | %llu | %s | %s | %s | %s |\n",
			       variants[k].name, m->bytes,
			       (unsigned long long)m->exits, time_str(m->us.min),
			       time_str(m->us.median), time_str(m->us.max),
			       m->verified ? "output = message" : "DIFFERS");
		}
	printf("\n## Per byte (the greeting's exits; time per byte from "
	       "%zu -> %zu bytes)\n\n| variant | greeting exits | "
	       "us per byte (medians) | us per byte (mins) |\n"
	       "|---|--:|--:|--:|\n",
	       message_sizes[0], message_sizes[N_SIZES - 1]);
	for (int k = 0; k < N_VARIANTS; k++) {
		double bytes = message_sizes[N_SIZES - 1] - message_sizes[0];
		const struct message_result *lo = &mr[k][0];
		const struct message_result *hi = &mr[k][N_SIZES - 1];

		printf("| %s | %llu | %.3f | %.3f |\n", variants[k].name,
		       (unsigned long long)lo->exits,
		       (hi->us.median - lo->us.median) / bytes,
		       (hi->us.min - lo->us.min) / bytes);
	}
	printf("\n(every count includes the final hlt exit)\n");

	/* 6. Machine-readable results and the plot. */
	free(samples);
	if (!out_dir)
		return EXIT_SUCCESS;
	mkdir(out_dir, 0777);
	if ((f = csv_open(out_dir, "stages.csv"))) {
		fprintf(f, "what,min_us,median_us,max_us\n");
		for (int s = 0; s < ST_COUNT; s++)
			fprintf(f, "%s,%.3f,%.3f,%.3f\n", stage_names[s],
				st[s].min, st[s].median, st[s].max);
		fprintf(f, "step10 exec to exit,%.3f,%.3f,%.3f\n",
			exec_s.min, exec_s.median, exec_s.max);
		fprintf(f, "step10 --help exec to exit,%.3f,%.3f,%.3f\n",
			help_s.min, help_s.median, help_s.max);
		fprintf(f, "/bin/true exec to exit,%.3f,%.3f,%.3f\n",
			true_s.min, true_s.median, true_s.max);
		fprintf(f, "one port-I/O exit,%.3f,%.3f,\n", exit_min_us,
			exit_us);
		fclose(f);
	}
	if ((f = csv_open(out_dir, "memory.csv"))) {
		fprintf(f, "guest_memory_bytes,refused,min_us,median_us,max_us,"
			"mmap_median_us\n");
		for (int i = 0; i < N_MEMORY; i++)
			fprintf(f, "%llu,%s,%.3f,%.3f,%.3f,%.3f\n", mem[i].size,
				mem[i].refused ? errno_name(mem[i].refused) : "",
				mem[i].us.min, mem[i].us.median, mem[i].us.max,
				mem[i].mmap_us.median);
		fclose(f);
	}
	if ((f = csv_open(out_dir, "output.csv"))) {
		fprintf(f, "variant,bytes,exits,min_us,median_us,max_us,verified\n");
		for (int k = 0; k < N_VARIANTS; k++)
			for (int i = 0; i < N_SIZES; i++)
				fprintf(f, "%s,%zu,%llu,%.3f,%.3f,%.3f,%d\n",
					variants[k].name, mr[k][i].bytes,
					(unsigned long long)mr[k][i].exits,
					mr[k][i].us.min, mr[k][i].us.median,
					mr[k][i].us.max, mr[k][i].verified);
		fclose(f);
	}
	snprintf(step10_path, sizeof(step10_path), "%s/plot.svg", out_dir);
	svg_write(step10_path, subtitle, st, exec_s.median, mr, mem);
	printf("\nresults: %s/{stages,memory,output}.csv, %s\n", out_dir,
	       step10_path);
	return EXIT_SUCCESS;
}
