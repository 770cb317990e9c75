# SPDX-License-Identifier: MIT
# bench/plot.gp: draw make bench's results, from its CSV files, as
# plot.svg and plot.png beside them.  bench/run calls it:
#   gnuplot -c bench/plot.gp bench/results

results = ARGC > 0 ? ARG1 : "bench/results"
csv(name) = results . "/" . name

# "12.3 us", "4.56 ms", "1.20 s", as bench's tables print times.
time_label(us) = us < 1000 ? sprintf("%.1f us", us) : \
	us < 1e6 ? sprintf("%.2f ms", us / 1e3) : sprintf("%.2f s", us / 1e6)
size_label(b) = b >= 2**30 ? sprintf("%d GiB", b / 2**30) : \
	sprintf("%d MiB", b / 2**20)

# The subtitle: machine.txt's one line.
set datafile separator "\t"
machine = "unknown machine"
stats csv("machine.txt") using (machine = strcol(1), 0) nooutput

# The variants' names, in output.csv's order, as quoted words.
set datafile separator ","
variants = ""
previous = ""
stats csv("output.csv") skip 1 using (name = strcol(1), \
	variants = variants . (name ne previous ? sprintf('"%s" ', name) : ""), \
	previous = name, 0) nooutput

set style fill solid 0.8 noborder
set grid xtics mxtics ytics lc rgb "#dddddd"
do for [format in "svg png"] {
	if (format eq "svg") {
		set terminal svg size 1100,820 dynamic noenhanced font "sans,11" background "white"
	} else {
		set terminal pngcairo size 1100,820 noenhanced font "sans,9" background "white"
	}
	set output csv("plot." . format)
	set multiplot layout 2,2 title "KVM, step by step: make bench\n" . machine

	# 1. Where one VM's time goes, stage by stage (medians).
	set title "Each stage of step10 (median, one VM per run)"
	set key off
	set xlabel "microseconds"
	set logscale x
	set format x "%g"
	unset logscale y
	set yrange [*:*] reverse
	set offsets 0, graph 0.3, 0, 0
	set lmargin 24
	plot csv("stages.csv") skip 1 using 4:0:(0.1):4:($0 - 0.35):($0 + 0.35):ytic(1) \
		with boxxyerror lc rgb "#1f77b4", \
	     "" skip 1 using 4:0:(" " . time_label($4)) with labels left font ",8"

	# 2. Whole processes, exec to exit (medians).
	set title "Whole processes, exec to exit (median)"
	set xlabel "milliseconds"
	set lmargin 28
	plot csv("processes.csv") skip 1 using ($4 / 1e3):0:(0.01):($4 / 1e3):($0 - 0.35):($0 + 0.35):ytic(1) \
		with boxxyerror lc rgb "#555555", \
	     "" skip 1 using ($4 / 1e3):0:(" " . time_label($4)) with labels left font ",8"

	# 3. Printing: run time against bytes, one line per variant.
	set title "Printing: run time against bytes (median)"
	set key top left
	set xlabel "bytes printed"
	set ylabel "run time, microseconds"
	set logscale xy
	set format y "%g"
	set offsets 0, 0, 0, 0
	set yrange [*:*] noreverse
	set lmargin 10
	plot for [i = 1:words(variants)] csv("output.csv") skip 1 \
		using 2:(strcol(1) eq word(variants, i) ? $6 : NaN) \
		with linespoints lw 2 pt 7 title word(variants, i)

	# 4. Stage 05 against guest memory.
	set title "Stage 05 (vm_memory_add) against guest memory (median)"
	set key off
	set xlabel "guest memory"
	set ylabel "microseconds"
	unset logscale y
	set yrange [0:*]
	plot csv("memory.csv") skip 1 \
		using 1:(strcol(3) eq "" ? $5 : NaN):xtic(size_label($1)) \
		with linespoints lw 2 pt 7 lc rgb "#1f77b4"
	unset multiplot
	unset ylabel
	set yrange [*:*]
}
