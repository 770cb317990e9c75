/* SPDX-License-Identifier: MIT */
/* tables.c: the results as Markdown tables on stdout. */
#include <stdio.h>

#include "bench.h"
#include "report.h"

const char *time_str(double us)
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

/* "| min | median | max |" cells of s. */
static void summary_cells(struct summary s)
{
	printf(" %s | %s | %s |", time_str(s.min), time_str(s.median),
	       time_str(s.max));
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

/* The header: the machine and the number of runs. */
void machine_table(const struct results *r)
{
	printf("# make bench\n\nmachine: %s\nruns: %d per measurement "
	       "(min / median / max)\n", r->machine, runs);
	if (r->emulated)
		printf("NOTE: times are emulated (KVM inside QEMU's TCG), "
		       "only ratios count\n");
}

void stages_table(const struct results *r)
{
	double sum = 0, first_sum = 0;

	printf("\n## Stages of step10 (one VM each run)\n\n"
	       "| stage | min | median | max | first VM of the process |\n"
	       "|---|--:|--:|--:|--:|\n");
	for (int s = 0; s < ST_COUNT; s++) {
		if (s != ST_DESTROY) {
			sum += r->stage[s].median;
			first_sum += r->stage_first[s];
		}
		printf("| %s |", stage_names[s]);
		summary_cells(r->stage[s]);
		printf(" %s |\n", time_str(r->stage_first[s]));
	}
	printf("| sum 01..10 | | %s | | %s |\n", time_str(sum),
	       time_str(first_sum));
	printf("\nexits for the greeting (step10's own guest): %llu\n",
	       (unsigned long long)r->greeting_exits);
}

void processes_table(const struct results *r)
{
	printf("\n## Whole processes, exec to exit (posix_spawn to waitpid)\n\n"
	       "| process | min | median | max |\n|---|--:|--:|--:|\n");
	for (int i = 0; i < r->n_processes; i++) {
		printf("| %s |", r->process[i].what);
		summary_cells(r->process[i].us);
		printf("\n");
	}
	printf("\n(`bench --once ID BYTES`: one VM printing BYTES bytes the "
	       "variant's way, built, run and torn down in a process of its "
	       "own)\n");
}

void exit_table(const struct results *r)
{
	const struct message_result *w = &r->exit_with, *wo = &r->exit_without;

	printf("\n## One port-I/O exit (guest out -> KVM_RUN returns -> "
	       "KVM_RUN again)\n\n"
	       "%d outs: %s (%llu exits); the same loop without out: %s "
	       "(%llu exit)\none exit round trip: %.2f us (difference of the "
	       "medians / %d; of the minimums: %.2f us)\n", EXIT_COST_OUTS,
	       time_str(w->us.median), (unsigned long long)w->exits,
	       time_str(wo->us.median), (unsigned long long)wo->exits,
	       (w->us.median - wo->us.median) / EXIT_COST_OUTS, EXIT_COST_OUTS,
	       (w->us.min - wo->us.min) / EXIT_COST_OUTS);
}

void memory_table(const struct results *r)
{
	const struct memory_result *lo = &r->memory[0];
	const struct memory_result *hi = &r->memory[N_MEMORY - 1];

	printf("\n## Stage 05 against guest memory (MAP_NORESERVE)\n\n"
	       "| guest memory | min | median | max | its mmap alone (median) |\n"
	       "|---|--:|--:|--:|--:|\n");
	for (int i = 0; i < N_MEMORY; i++) {
		const struct memory_result *m = &r->memory[i];

		printf("| %s |", size_str(m->size));
		if (m->refused) {
			printf(" refused: %s | | | |\n", errno_name(m->refused));
			continue;
		}
		summary_cells(m->us);
		printf(" %s |\n", time_str(m->mmap_us.median));
	}
	if (!lo->refused && !hi->refused && lo->us.median > 0)
		printf("\n%s / %s: %.2fx\n", size_str(hi->size),
		       size_str(lo->size), hi->us.median / lo->us.median);
}

/* Two tables: every run, then the slope per byte of each variant. */
void output_table(const struct results *r)
{
	double bytes = message_sizes[N_SIZES - 1] - message_sizes[0];

	printf("\n## Printing N bytes: exits, run time, teardown\n\n"
	       "| variant | bytes | exits | min | median | max | "
	       "vm_destroy (median) | checked |\n"
	       "|---|--:|--:|--:|--:|--:|--:|---|\n");
	for (int k = 0; k < N_VARIANTS; k++)
		for (int i = 0; i < N_SIZES; i++) {
			const struct message_result *m = &r->output[k][i];

			printf("| %s | %zu | %llu |", variants[k].name, m->bytes,
			       (unsigned long long)m->exits);
			summary_cells(m->us);
			printf(" %s | %s |\n", time_str(m->teardown_us.median),
			       m->verified ? "output = message" : "DIFFERS");
		}
	printf("\n## Per byte (the greeting's exits; time per byte from "
	       "%zu -> %zu bytes)\n\n| variant | greeting exits | "
	       "us per byte (medians) | us per byte (mins) |\n"
	       "|---|--:|--:|--:|\n",
	       message_sizes[0], message_sizes[N_SIZES - 1]);
	for (int k = 0; k < N_VARIANTS; k++) {
		const struct message_result *lo = &r->output[k][0];
		const struct message_result *hi = &r->output[k][N_SIZES - 1];

		printf("| %s | %llu | %.3f | %.3f |\n", variants[k].name,
		       (unsigned long long)lo->exits,
		       (hi->us.median - lo->us.median) / bytes,
		       (hi->us.min - lo->us.min) / bytes);
	}
	printf("\n(every count includes the final hlt exit)\n");
}
