#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/test_run.sh: checks of bench/run's command line: a mistake is
# refused before anything is built or booted; --out DIR is where the CSV
# files, the plot and the "results:" line go (one bench/run --runs 1,
# about 20 s natively). Prints "ok - NAME" or "FAIL - NAME: DETAIL";
# exits 1 if any check failed.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd -P)
passed=0 failed=0
check() { # check NAME DETAIL-IF-FAILED COMMAND...
	local name=$1 detail=$2
	shift 2
	if "$@"; then echo "ok - $name"; passed=$((passed + 1)); else
		echo "FAIL - $name: $detail"; failed=$((failed + 1)); fi
}
tmp=$(mktemp -d)
out=$(mktemp -d "$repo/.cache/bench-test.XXXXXX" 2>/dev/null) ||
	{ mkdir -p "$repo/.cache" && out=$(mktemp -d "$repo/.cache/bench-test.XXXXXX"); }
trap 'rm -rf "$tmp" "$out"' EXIT

# A QEMU that cannot start: any attempt to boot the sandbox would show.
for args in "--bogus" "--runs" "--runs 0" "--runs x" "--out"; do
	# shellcheck disable=SC2086 # the words of $args are the arguments
	SANDBOX=1 SANDBOX_QEMU=/nonexistent/qemu "$here/run" $args >"$tmp/o" 2>"$tmp/e"
	rc=$?
	check "bench/run $args: refused, status 2, before the sandbox" \
		"got $rc; $(head -c 300 "$tmp/e")" \
		eval 'test "$rc" -eq 2 && ! grep -q "sandbox" "$tmp/e" && grep -q "^usage: " "$tmp/e"'
done
SANDBOX=1 SANDBOX_QEMU=/nonexistent/qemu "$here/run" --out "$tmp/x" >"$tmp/o" 2>"$tmp/e"
rc=$?
check "bench/run --out outside the repository, in the sandbox: refused, nothing made" \
	"got $rc; $(head -c 300 "$tmp/e")" eval 'test "$rc" -eq 2 && test ! -e "$tmp/x"'

# --out DIR: everything there, bench/results untouched
if [ "$("$repo/tests/with-kvm" --which)" = native ]; then
	before=$(stat -c %Y "$here/results/plot.svg" 2>/dev/null)
	"$here/run" --runs 1 --out "$out/r" >"$tmp/o" 2>"$tmp/e"
	rc=$?
	check "bench/run --out DIR: status 0, the results: line names DIR" \
		"got $rc; $(tail -n 3 "$tmp/o") $(tail -c 300 "$tmp/e")" \
		eval 'test "$rc" -eq 0 && grep -q "^results: $out/r/{" "$tmp/o"'
	check "bench/run --out DIR: the CSV files and the plot are in DIR" "$(ls "$out/r" 2>&1)" \
		eval 'test -s "$out/r/stages.csv" && test -s "$out/r/plot.svg" && test -s "$out/r/plot.png"'
	check "bench/run --out DIR: bench/results/plot.svg untouched" "it changed" \
		test "$(stat -c %Y "$here/results/plot.svg" 2>/dev/null)" = "$before"
else
	echo "skip - bench/run --out DIR: no usable /dev/kvm here (it would take minutes in the sandbox)"
fi
echo "bench/run: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
