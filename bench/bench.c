/* SPDX-License-Identifier: MIT */
/*
 * bench: where the time goes, from open("/dev/kvm") to the guest's hlt.
 *
 * Runs the tutorial's own stage functions (common/ and step10's stage)
 * many times and reports min/median/max of: each stage; whole processes
 * from exec to exit (step10, step11 --coalesce, each way of printing);
 * one port-I/O exit's round trip; stage 05 against guest memory size; and
 * run time against bytes printed for four ways of printing.  Tables go to
 * stdout (Markdown), CSV files to --out; bench/run draws the plot from
 * them.  bench/README.md explains the numbers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"
#include "report.h"

#define SANDBOX_RUNS	5	/* default --runs under emulation */

/* The command line, to stdout (--help) or stderr (a mistake). */
static void usage(FILE *to)
{
	fprintf(to, "usage: bench [--runs N] [--quick] [--out DIR]\n"
		"       bench --once ID BYTES\n"
		"  --runs N   repeat each measurement N times (default 50; "
		"%d in the QEMU sandbox)\n"
		"  --quick    --runs 5\n"
		"  --out DIR  write the CSV files (and machine.txt) there\n"
		"  --once     one VM prints BYTES bytes to stdout the way ID does\n"
		"             (plain, rep_outsb, doorbell, coalesced), then exits\n",
		SANDBOX_RUNS);
}

/* --once ID BYTES: the process that the processes section times. */
static int once_main(const char *id, const char *bytes)
{
	int variant = variant_find(id);
	char *end;
	unsigned long len;

	errno = 0;
	len = strtoul(bytes, &end, 10);
	if (variant < 0 || errno || *end || end == bytes || len > 1UL << 20) {
		report("--once wants a variant and a byte count, not '%s %s'",
		       id, bytes);
		usage(stderr);
		return EXIT_USAGE;
	}
	return message_once(variant, len);
}

/* Parse argv; returns -1 to go on, else the status to exit with. */
static int options_parse(int argc, char **argv, const char **out_dir)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--runs") && i + 1 < argc &&
		    atoi(argv[i + 1]) > 0) {
			runs = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--quick")) {
			runs = 5;
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			*out_dir = argv[++i];
		} else if (!strcmp(argv[i], "--once") && i + 2 == argc - 1) {
			return once_main(argv[i + 1], argv[i + 2]);
		} else if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return EXIT_SUCCESS;
		} else {
			report("unexpected argument '%s'", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	return -1;
}

/* The kernel's clock source ("tsc"; "jiffies" ticks in milliseconds). */
static void clocksource_read(char *buf, size_t size)
{
	FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/"
			"current_clocksource", "r");

	snprintf(buf, size, "unknown");
	if (f && fgets(buf, size, f))
		buf[strcspn(buf, "\n")] = '\0';
	if (f)
		fclose(f);
}

/* "AMD EPYC, 2 CPUs, Linux 6.18.0, clock tsc; /dev/kvm from kvm_pvm ..." */
static void machine_describe(char *buf, size_t size, int emulated)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096], model[128] = "unknown CPU", clock[64];
	const char *const modules[] = { "kvm_intel", "kvm_amd", "kvm_pvm" };
	const char *module = "an unknown module";
	struct utsname u;

	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && colon) {
			snprintf(model, sizeof(model), "%.*s",
				 (int)strcspn(colon + 2, "\n"), colon + 2);
			break;
		}
	}
	if (f)
		fclose(f);
	if (uname(&u) < 0)
		strcpy(u.release, "(unknown)");
	for (int i = 0; i < ARRAY_LEN(modules); i++) {
		char path[64];

		snprintf(path, sizeof(path), "/sys/module/%s", modules[i]);
		if (!access(path, F_OK))
			module = modules[i];
	}
	clocksource_read(clock, sizeof(clock));
	snprintf(buf, size, "%s, %ld CPUs, Linux %s, clock %s; %s/dev/kvm "
		 "from %s%s", model, sysconf(_SC_NPROCESSORS_ONLN), u.release, clock,
		 emulated ? "inside the QEMU sandbox (TCG), " : "", module,
		 strcmp(module, "kvm_pvm") ? "" : " (PVM, not stock KVM)");
}

/* 1. Each stage, one whole VM per run, after one warm-up VM. */
static int section_stages(struct results *r)
{
	double *v = calloc((size_t)ST_COUNT * runs, sizeof(*v)), t[ST_COUNT];
	struct run_stats stats;

	if (!v)
		return report_errno("calloc", ENOMEM);
	if (stages_time(r->stage_first, &stats) < 0) {
		free(v);
		return -1;
	}
	for (int i = 0; i < runs; i++) {
		if (stages_time(t, &stats) < 0) {
			free(v);
			return -1;
		}
		for (int s = 0; s < ST_COUNT; s++)
			v[s * runs + i] = t[s];
	}
	for (int s = 0; s < ST_COUNT; s++)
		r->stage[s] = summarize(v + s * runs, runs);
	r->greeting_exits = stats.exits;
	free(v);
	stages_table(r);
	return 0;
}

/* Time argv as a process, runs times, into the next row named what. */
static int process_bench(struct results *r, const char *what,
			 char *const argv[])
{
	struct process_result *p = &r->process[r->n_processes];
	double *v = calloc(runs, sizeof(*v));

	if (!v)
		return report_errno("calloc", ENOMEM);
	for (int i = 0; i < runs; i++)
		if ((v[i] = process_time(argv)) < 0) {
			free(v);
			return report("'%s' did not run to exit status 0 "
				      "(run it by hand to see why)", what);
		}
	snprintf(p->what, sizeof(p->what), "%s", what);
	p->us = summarize(v, runs);
	r->n_processes++;
	free(v);
	return 0;
}

/* 2. Whole processes: step10 as a reader runs it, and each variant. */
static int section_processes(struct results *r)
{
	char step10[PATH_MAX], step11[PATH_MAX], self[PATH_MAX] = "", what[80], bytes[16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const size_t sizes[2] = { message_sizes[0], message_sizes[N_SIZES - 1] };

	if (n < 0)
		return report_errno("readlink /proc/self/exe", errno);
	self[n] = '\0';
	snprintf(step10, sizeof(step10), "%s/step10-guest/step10", TOP_DIR);
	snprintf(step11, sizeof(step11), "%s/beyond/step11-mmio/step11", TOP_DIR);
	if (process_bench(r, "/bin/true", (char *[]){ "/bin/true", NULL }) ||
	    process_bench(r, "step10 --help",
			  (char *[]){ step10, "--help", NULL }) ||
	    process_bench(r, "step10", (char *[]){ step10, NULL }) ||
	    process_bench(r, "step11 --coalesce",
			  (char *[]){ step11, "--coalesce", NULL }))
		return -1;
	for (int k = 0; k < N_VARIANTS; k++)
		for (int i = 0; i < 2; i++) {
			char *id = (char *)variants[k].id;

			snprintf(bytes, sizeof(bytes), "%zu", sizes[i]);
			snprintf(what, sizeof(what), "bench --once %s %s", id,
				 bytes);
			if (process_bench(r, what, (char *[]){ self, "--once",
							      id, bytes, NULL }))
				return -1;
		}
	processes_table(r);
	return 0;
}

/* 3. One exit's round trip: EXIT_COST_OUTS outs against no out. */
static int section_exit(struct results *r)
{
	if (message_bench(0, EXIT_COST_OUTS, &r->exit_with) < 0 ||
	    message_bench(VARIANT_NOOUT, EXIT_COST_OUTS, &r->exit_without) < 0)
		return -1;
	exit_table(r);
	return 0;
}

/* 4. Stage 05 against guest memory size (a refusal is a result). */
static int section_memory(struct results *r)
{
	for (int i = 0; i < N_MEMORY; i++)
		memory_bench(memory_sizes[i], &r->memory[i]);
	memory_table(r);
	return 0;
}

/* 5. Printing: four variants, four message sizes. */
static int section_output(struct results *r)
{
	for (int k = 0; k < N_VARIANTS; k++)
		for (int i = 0; i < N_SIZES; i++)
			if (message_bench(k, message_sizes[i],
					  &r->output[k][i]) < 0)
				return -1;
	output_table(r);
	return 0;
}

int main(int argc, char **argv)
{
	static struct results r;
	const char *out_dir = NULL;
	int status;

	stage_quiet = 1;
	r.emulated = getenv("SANDBOX_GUEST") != NULL;
	runs = r.emulated ? SANDBOX_RUNS : runs;
	if ((status = options_parse(argc, argv, &out_dir)) >= 0)
		return status;				/* --help, --once */
	devnull = fopen("/dev/null", "w");
	if (!devnull) {
		report_errno("/dev/null", errno);
		return EXIT_SETUP;
	}
	machine_describe(r.machine, sizeof(r.machine), r.emulated);
	machine_table(&r);
	if (section_stages(&r) < 0 ||			/* 1. stages */
	    section_processes(&r) < 0 ||		/* 2. processes */
	    section_exit(&r) < 0 ||			/* 3. one exit */
	    section_memory(&r) < 0 ||			/* 4. stage 05 */
	    section_output(&r) < 0)			/* 5. printing */
		return EXIT_SETUP;
	if (out_dir && csv_write(out_dir, &r) < 0)	/* 6. the CSV files */
		return EXIT_SETUP;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		report("writing the tables to stdout failed");
		return EXIT_SETUP;
	}
	return EXIT_SUCCESS;
}
