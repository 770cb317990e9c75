/* SPDX-License-Identifier: MIT */
/*
 * bench.h: what the benchmark's units share.  Measuring: timing.c (the
 * clock, summaries, whole processes), stages.c (step10's stages, stage 05
 * against memory), printing.c (four ways for a guest to print).
 * Reporting: tables.c (Markdown), csv.c.  Plotting: plot.gp (gnuplot,
 * from the CSV files).  bench.c runs the sections in order.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "step10.h"

#define ARRAY_LEN(a) (int)(sizeof(a) / sizeof((a)[0]))

/* ---- timing.c ---------------------------------------------------------- */

extern int runs;		/* samples per measurement (--runs) */
extern FILE *devnull;		/* where measured guest output goes */

struct summary {
	double min, median, max;	/* microseconds */
};

/* Microseconds on the monotonic clock. */
double now_us(void);

/* min/median/max of v[0..n-1]; sorts v. */
struct summary summarize(double *v, int n);

/* Spawn argv (stdout to /dev/null), wait: microseconds, or -1 if it failed. */
double process_time(char *const argv[]);

/* ---- stages.c ---------------------------------------------------------- */

enum stage_id {
	ST_OPEN, ST_VERSION, ST_CREATE, ST_TSS, ST_MEMORY, ST_VCPU, ST_MMAP,
	ST_SREGS, ST_REGS, ST_LOAD, ST_RUN, ST_DESTROY, ST_COUNT
};

extern const char *const stage_names[ST_COUNT];

/* One VM through every stage, each timed (us) into t; 0, or -1 reported. */
int stages_time(double t[ST_COUNT], struct run_stats *stats);

struct memory_result {
	unsigned long long size;
	int refused;			/* errno of the first failure, or 0 */
	struct summary us;		/* vm_memory_add: mmap + the ioctl */
	struct summary mmap_us;		/* its mmap alone */
};

extern const unsigned long long memory_sizes[];
#define N_MEMORY 5

/* Stage 05 alone with size bytes of guest memory, runs times. */
void memory_bench(unsigned long long size, struct memory_result *res);

/* ---- printing.c -------------------------------------------------------- */

struct variant {
	const char *name;	/* in tables, CSV and the plot */
	const char *id;		/* bench --once ID */
	const char *guest;	/* bench/guests/NAME.asm, assembled */
	int coalesce;		/* coalesced port I/O, as step11's --coalesce */
	int doorbell;		/* the guest rings DOORBELL_PORT */
};

extern const struct variant variants[];
#define N_VARIANTS 4
#define VARIANT_NOOUT (-1)	/* the plain guest's loop without its out */

extern const size_t message_sizes[];
#define N_SIZES 4

struct message_result {
	size_t bytes;
	uint64_t exits;
	int verified;			/* output == message, byte for byte */
	struct summary us;		/* the run: vcpu_run() (coalesced: +zone) */
	struct summary teardown_us;	/* vm_destroy() after it */
};

/* Print len bytes the variant's way (VARIANT_NOOUT: plain's loop, no out). */
int message_bench(int variant, size_t len, struct message_result *res);

/* The variant whose id is id, or -1. */
int variant_find(const char *id);

/* One VM printing len bytes to stdout, the variant's way: an exit status. */
int message_once(int variant, size_t len);

/* ---- tables.c and csv.c ------------------------------------------------ */

struct process_result {
	char what[80];			/* the command line, shortened */
	struct summary us;		/* exec to exit */
};

#define N_PROCESSES (4 + 2 * N_VARIANTS)

/* Everything bench measures, for the tables and the CSV files. */
struct results {
	char machine[512];
	int emulated;			/* inside the QEMU sandbox (TCG) */
	struct summary stage[ST_COUNT];
	double stage_first[ST_COUNT];	/* the process's first VM */
	uint64_t greeting_exits;
	struct process_result process[N_PROCESSES];
	int n_processes;
	struct message_result exit_with, exit_without;	/* EXIT_COST_OUTS */
	struct memory_result memory[N_MEMORY];
	struct message_result output[N_VARIANTS][N_SIZES];
};

#define EXIT_COST_OUTS 2000	/* outs per run when timing one exit */

/* "12.3 us", "4.56 ms", "1.20 s"; a few calls' results stay valid. */
const char *time_str(double us);

void machine_table(const struct results *r);
void stages_table(const struct results *r);
void processes_table(const struct results *r);
void exit_table(const struct results *r);
void memory_table(const struct results *r);
void output_table(const struct results *r);

/* The CSV files (and machine.txt) into dir; 0, or -1 reported. */
int csv_write(const char *dir, const struct results *r);

#endif
