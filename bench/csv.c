/* SPDX-License-Identifier: MIT */
/*
 * csv.c: the results as CSV files, one row per measurement, for
 * comparing runs and for bench/plot.gp; times in microseconds.
 */
#include <errno.h>
#include <sys/stat.h>

#include "bench.h"
#include "report.h"

/* dir/name opened for writing, or NULL after reporting why. */
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

/* Close f; a failed write or close is reported. */
static int csv_close(FILE *f, const char *name)
{
	int failed = ferror(f);

	if (fclose(f) != 0 || failed)
		return report("writing %s failed (disk full?)", name);
	return 0;
}

/* ",min,median,max" of s. */
static void summary_cells(FILE *f, struct summary s)
{
	fprintf(f, ",%.3f,%.3f,%.3f", s.min, s.median, s.max);
}

/* The machine line: one line of text, the plot's subtitle. */
static int machine_write(const char *dir, const struct results *r)
{
	FILE *f = csv_open(dir, "machine.txt");

	if (!f)
		return -1;
	fprintf(f, "%s; %d runs each%s\n", r->machine, runs,
		r->emulated ? "; times are emulated, only ratios count" : "");
	return csv_close(f, "machine.txt");
}

/* stages.csv: one row per stage. */
static int stages_write(const char *dir, const struct results *r)
{
	FILE *f = csv_open(dir, "stages.csv");

	if (!f)
		return -1;
	fprintf(f, "stage,runs,min_us,median_us,max_us,first_vm_us\n");
	for (int s = 0; s < ST_COUNT; s++) {
		fprintf(f, "%s,%d", stage_names[s], runs);
		summary_cells(f, r->stage[s]);
		fprintf(f, ",%.3f\n", r->stage_first[s]);
	}
	return csv_close(f, "stages.csv");
}

/* processes.csv: one row per process timed from exec to exit. */
static int processes_write(const char *dir, const struct results *r)
{
	FILE *f = csv_open(dir, "processes.csv");

	if (!f)
		return -1;
	fprintf(f, "process,runs,min_us,median_us,max_us\n");
	for (int i = 0; i < r->n_processes; i++) {
		fprintf(f, "%s,%d", r->process[i].what, runs);
		summary_cells(f, r->process[i].us);
		fprintf(f, "\n");
	}
	return csv_close(f, "processes.csv");
}

/* exit.csv: one row, the cost of one port-I/O exit. */
static int exit_write(const char *dir, const struct results *r)
{
	const struct message_result *w = &r->exit_with, *wo = &r->exit_without;
	FILE *f = csv_open(dir, "exit.csv");

	if (!f)
		return -1;
	fprintf(f, "outs,runs,with_out_median_us,without_out_median_us,"
		"exit_median_us,exit_min_us\n");
	fprintf(f, "%d,%d,%.3f,%.3f,%.3f,%.3f\n", EXIT_COST_OUTS, runs,
		w->us.median, wo->us.median,
		(w->us.median - wo->us.median) / EXIT_COST_OUTS,
		(w->us.min - wo->us.min) / EXIT_COST_OUTS);
	return csv_close(f, "exit.csv");
}

/* memory.csv: one row per guest memory size. */
static int memory_write(const char *dir, const struct results *r)
{
	FILE *f = csv_open(dir, "memory.csv");

	if (!f)
		return -1;
	fprintf(f, "guest_memory_bytes,runs,refused,min_us,median_us,max_us,"
		"mmap_median_us\n");
	for (int i = 0; i < N_MEMORY; i++) {
		const struct memory_result *m = &r->memory[i];

		fprintf(f, "%llu,%d,%s", m->size, runs,
			m->refused ? errno_name(m->refused) : "");
		summary_cells(f, m->us);
		fprintf(f, ",%.3f\n", m->mmap_us.median);
	}
	return csv_close(f, "memory.csv");
}

/* output.csv: one row per variant and message size. */
static int output_write(const char *dir, const struct results *r)
{
	FILE *f = csv_open(dir, "output.csv");

	if (!f)
		return -1;
	fprintf(f, "variant,bytes,runs,exits,min_us,median_us,max_us,"
		"teardown_median_us,verified\n");
	for (int k = 0; k < N_VARIANTS; k++)
		for (int i = 0; i < N_SIZES; i++) {
			const struct message_result *m = &r->output[k][i];

			fprintf(f, "%s,%zu,%d,%llu", variants[k].name, m->bytes,
				runs, (unsigned long long)m->exits);
			summary_cells(f, m->us);
			fprintf(f, ",%.3f,%d\n", m->teardown_us.median,
				m->verified);
		}
	return csv_close(f, "output.csv");
}

int csv_write(const char *dir, const struct results *r)
{
	if (mkdir(dir, 0777) < 0 && errno != EEXIST)
		return report_errno(dir, errno);
	if (machine_write(dir, r) < 0 || stages_write(dir, r) < 0 ||
	    processes_write(dir, r) < 0 || exit_write(dir, r) < 0 ||
	    memory_write(dir, r) < 0 || output_write(dir, r) < 0)
		return -1;
	return 0;
}
