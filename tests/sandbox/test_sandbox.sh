#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/sandbox/test_sandbox.sh: the sandbox's own tests: cold runs (a VM
# booted per command, 8 or 9 boots), then the same and more in a warm
# sandbox (tests/sandbox/up, 2 boots and a cold fallback), then the pool
# (tests/sandbox/pool.py, 4 boots). With SANDBOX_CPU=intel, only the
# checks of tests/sandbox/intel, in one boot of Bochs (the others of it
# need no boot, and run every time).
# Prints "ok - NAME" or "FAIL - NAME: DETAIL" per check, then
# "sandbox: N passed, N failed"; exits 1 if any check failed.

set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
run=$here/run
repo=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null) || repo=$(cd "$here/../.." && pwd)
repo=$(cd "$repo" && pwd -P)

passed=0
failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
bad() { echo "FAIL - $1: $2"; failed=$((failed + 1)); }
check() { # check NAME DETAIL-IF-FAILED COMMAND...
	local name=$1 detail=$2
	shift 2
	if "$@"; then ok "$name"; else bad "$name" "$detail"; fi
}
sha() { sha256sum <"$1" | cut -d' ' -f1; }

# Scratch: host temp dir (for data and the probe: the VM sees the host's
# /tmp read-only) and a folder in the repository (the VM writes there).
tmp=$(mktemp -d)
work=$(mktemp -d "$repo/.cache/sandbox-test.XXXXXX" 2>/dev/null) ||
	{ mkdir -p "$repo/.cache" && work=$(mktemp -d "$repo/.cache/sandbox-test.XXXXXX"); }
# A warm sandbox of these tests' own (never the one a caller may have up).
export SANDBOX_UP_DIR=$tmp/up
trap '"$here/down" >/dev/null 2>&1; rm -rf "$tmp" "$work"' EXIT

# ---- Intel, in Bochs (tests/sandbox/intel): no boot here; with
# SANDBOX_CPU=intel, one boot of Bochs and nothing else -------------------
intel=$here/intel
SANDBOX_CPU=intel SANDBOX_BOCHS=/nonexistent/bochs "$run" true >"$tmp/o" 2>"$tmp/e"
rc=$?
check "intel: no Bochs: status 125 and message says make deps SANDBOX_CPU=intel" \
	"got $rc; $(head -c 300 "$tmp/e")" \
	eval 'test "$rc" -eq 125 && grep -q "make deps SANDBOX_CPU=intel" "$tmp/e"'
SANDBOX_CPU=intel SANDBOX_CACHE=$tmp/no-cache "$run" --ready >"$tmp/o" 2>"$tmp/e"
rc=$?
check "intel: no kernel for kvm_intel: --ready says 125 and make deps SANDBOX_CPU=intel" \
	"got $rc; $(head -c 300 "$tmp/e")" \
	eval 'test "$rc" -eq 125 && grep -q "make deps SANDBOX_CPU=intel" "$tmp/e"'
# run-tests with SANDBOX_CPU=intel, its batch run by a stand-in for
# tests/sandbox/intel (SANDBOX_INTEL) that runs each job here, stopping
# (125) at a program named *_never: what it adds up and says.
mkdir -p "$tmp/t"
cat >"$tmp/t/fake-intel" <<'EOF'
#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
[ "$3" = --batch ] || exit 2
d=$4 n=1
while [ -f "$d/$n.argv" ]; do
	mapfile -d '' -t argv <"$d/$n.argv"
	case ${argv[0]} in *_never) exit 125 ;; esac
	params=
	[ ! -f "$d/$n.kvm_intel" ] || params=$(cat "$d/$n.kvm_intel")
	FAKE_KVM_INTEL=$params "${argv[@]}" >"$d/$n.out" 2>"$d/$n.err"
	echo $? >"$d/$n.status"
	n=$((n + 1))
done
EOF
tap_prog() { # tap_prog NAME STATUS TAP: a stand-in test program
	printf '#!/bin/sh\necho "%s ran"\nprintf "%s" >"${1#--tap=}"\nexit %s\n' "$1" "$3" "$2" >"$tmp/t/$1"
	chmod +x "$tmp/t/$1"
}
tap_prog test_pass 0 '1..2\nok 1 - s::a\nok 2 - s::b\n'
tap_prog test_fail 1 '1..2\nok 1 - s::c\nnot ok 2 - s::d\n'
tap_prog test_skips 0 '1..1\nok 1 - s::e  # SKIP needs AMD\n'
tap_prog test_never 0 '1..1\nok 1 - s::f\n'
chmod +x "$tmp/t/fake-intel"
fake_tests() { SANDBOX=1 SANDBOX_CPU=intel SANDBOX_INTEL=$tmp/t/fake-intel "$repo/tests/run-tests" "$@"; }
fake_tests "$tmp/t/test_pass" "$tmp/t/test_skips" >"$tmp/o" 2>"$tmp/e"
rc=$?
check "intel: run-tests adds up the batch's TAP reports, shows output and skips" \
	"got $rc; $(head -c 600 "$tmp/o" "$tmp/e")" \
	eval 'test "$rc" -eq 0 && grep -qx "steps: 2 passed, 0 failed" "$tmp/o" &&
		grep -qx "test_pass ran" "$tmp/o" && grep -q "s::e skipped: needs AMD" "$tmp/o" &&
		grep -q "one boot of Bochs" "$tmp/e"'
fake_tests "$tmp/t/test_pass" "$tmp/t/test_fail" >"$tmp/o" 2>"$tmp/e"
rc=$?
check "intel: a failed test in the batch fails the run, named" "got $rc; $(head -c 600 "$tmp/o")" \
	eval 'test "$rc" -eq 1 && grep -qx "steps: 3 passed, 1 failed" "$tmp/o" && grep -q "s::d failed" "$tmp/o"'
fake_tests "$tmp/t/test_pass" "$tmp/t/test_never" >"$tmp/o" 2>"$tmp/e"
rc=$?
check "intel: a program the batch never ran fails the run, named" "got $rc; $(head -c 600 "$tmp/o")" \
	eval 'test "$rc" -eq 1 && grep -q "test_never did not run: tests/sandbox/intel ended first (exit 125" "$tmp/o"'
# check_step04 runs twice: as BOCHS_ONLY says, then its tests of a CPU
# without unrestricted guest on kvm_intel reloaded so (N.kvm_intel),
# only those counted; a failure says which run it came from
mkdir -p "$tmp/t/reload"
cat >"$tmp/t/reload/check_step04" <<'EOF'
#!/bin/sh
echo "check_step04 ran: [$FAKE_KVM_INTEL] $2 $3"
if [ -n "$FAKE_KVM_INTEL" ]; then r='not ok'; else r=ok; fi
printf '1..3\nok 1 - step04::real_mode_code_runs_without_a_tss_address\n%s 2 - %s\n%s\n' "$r" \
	step04::tss_address_is_kept_only_by_intel_without_unrestricted_guest \
	'ok 3 - step04::elsewhere  # SKIP test was skipped' >"${1#--tap=}"
EOF
chmod +x "$tmp/t/reload/check_step04"
fake_tests "$tmp/t/reload/check_step04" >"$tmp/o" 2>"$tmp/e"
rc=$?
check "intel: check_step04 runs again on kvm_intel reloaded with unrestricted_guest=0, its failure named so" \
	"got $rc; $(head -c 900 "$tmp/o")" \
	eval 'test "$rc" -eq 1 && grep -qx "check_step04 ran: \[\] --filter \*/\*" "$tmp/o" &&
		grep -qx "check_step04 ran: \[unrestricted_guest=0\] --filter @(step04/tss_address_is_kept_only_by_intel_without_unrestricted_guest|step04/real_mode_code_runs_without_a_tss_address)" "$tmp/o" &&
		grep -q "check_step04 (kvm_intel unrestricted_guest=0): " "$tmp/o" &&
		grep -q "without_unrestricted_guest (kvm_intel unrestricted_guest=0) failed" "$tmp/o" &&
		! grep -q "elsewhere (kvm_intel" "$tmp/o" && grep -qx "steps: 3 passed, 1 failed" "$tmp/o"'
# a program BOCHS_ONLY filters: what the filter left out is named so, not
# as Criterion's bare "test was skipped"
mkdir -p "$tmp/t/only"
tap_prog only/check_step10 0 '1..2\nok 1 - step10_dump::a\nok 2 - step10_random::b  # SKIP test was skipped\n'
fake_tests "$tmp/t/only/check_step10" >"$tmp/o" 2>"$tmp/e"
rc=$?
check "intel: a test BOCHS_ONLY's filter left out says so when skipped" "got $rc; $(head -c 600 "$tmp/o")" \
	eval 'test "$rc" -eq 0 && grep -q "step10_random::b skipped: not among the tests of check_step10 check-intel runs on Bochs" "$tmp/o"'

if [ "${SANDBOX_CPU:-amd}" = intel ]; then
	# One boot, of a warm Bochs of these tests' own (SANDBOX_UP_DIR): bytes,
	# statuses, a file written back, the working directory, a variable,
	# kvm_intel serving step 10's program; then what the warm Bochs adds:
	# files changed, added and removed since it came up, and a command
	# that times out taking it down. (make check-intel's learner's tests
	# then boot Bochs cold.)
	"$intel" --ready || exit 125
	make -s -C "$repo" step10-guest.all >/dev/null || bad "intel: build step10" "make failed"
	probe=$repo/.build/sandbox-warm-probe
	rm -f "$probe"
	start=$SECONDS
	"$here/up" --idle 1800 >"$tmp/o" 2>"$tmp/e"
	rc=$?
	echo "# intel: up: $((SECONDS - start)) s; $(cat "$tmp/o")"
	check "intel: up boots the warm Bochs, and run goes to it" "got $rc; $(head -c 600 "$tmp/o" "$tmp/e")" \
		eval 'test "$rc" -eq 0 && grep -q "up in .* kvm_intel" "$tmp/o" && test "$("$run" --which)" = warm'
	batch=$work/batch
	mkdir -p "$batch"
	words() { local n=$1; shift; printf '%s\0' "$@" >"$batch/$n.argv"; }
	bytes='printf "out\000\377\n"; printf "err\001\n" >&2; exit 3'
	words 1 sh -c "$bytes"
	words 2 sh -c 'pwd; echo "$INTEL_TEST_VAR"; printf "1..1\nok 1 - t::x\n" >"$1"' sh "$batch/2.tap"
	words 3 sh -c 'uname -r; cut -d" " -f1 /proc/modules; test -c /dev/kvm && echo /dev/kvm'
	words 4 ./step10
	start=$SECONDS
	(cd "$repo/step10-guest" && INTEL_TEST_VAR="it's here" SANDBOX_ENV=INTEL_TEST_VAR \
		"$intel" --batch "$batch") >"$tmp/o" 2>"$tmp/e"
	rc=$?
	echo "# intel: warm, 4 jobs: $((SECONDS - start)) s; $(grep Bochs "$tmp/e")"
	sh -c "$bytes" >"$tmp/out1" 2>"$tmp/err1"
	check "intel: the batch ends with 0, saying kernel and modules" "got $rc; $(head -c 600 "$tmp/e")" \
		eval 'test "$rc" -eq 0 && grep -q "modules: .*kvm_intel" "$tmp/e"'
	check "intel: a job's status, stdout and stderr come back byte for byte, apart" \
		"status $(cat "$batch/1.status" 2>/dev/null); $(od -c "$batch/1.out" "$batch/1.err" 2>&1 | head -5)" \
		eval 'test "$(cat "$batch/1.status")" = 3 && cmp -s "$tmp/out1" "$batch/1.out" &&
			cmp -s "$tmp/err1" "$batch/1.err"'
	check "intel: working directory and SANDBOX_ENV carried in, a file written back" \
		"$(head -c 300 "$batch/2.out" "$batch/2.tap" 2>&1)" \
		eval 'test "$(cat "$batch/2.out")" = "$repo/step10-guest
it'\''s here" && test "$(cat "$batch/2.tap")" = "1..1
ok 1 - t::x"'
	check "intel: kvm_intel loaded, /dev/kvm there" "$(head -c 300 "$batch/3.out" 2>&1)" \
		eval 'grep -qx kvm_intel "$batch/3.out" && grep -qx /dev/kvm "$batch/3.out"'
	check "intel: step 10's program greets on kvm_intel" \
		"status $(cat "$batch/4.status" 2>/dev/null); $(tail -c 300 "$batch/4.out" "$batch/4.err" 2>&1)" \
		eval 'test "$(cat "$batch/4.status")" = 0 && grep -q "^Hello" "$batch/4.out" &&
			grep -q "KVM_EXIT_HLT" "$batch/4.out"'
	# files: added, changed, removed since up; each command sees its own
	echo one >"$probe"
	"$run" cat "$probe" >"$tmp/o1" 2>"$tmp/e"
	echo three >"$probe"
	"$run" cat "$probe" >"$tmp/o2" 2>>"$tmp/e"
	rm -f "$probe"
	"$run" sh -c 'test -e "$1"; echo "$?"' sh "$probe" >"$tmp/o3" 2>>"$tmp/e"
	check "intel: warm: a file added, changed, then removed after up is seen so" \
		"$(head -c 300 "$tmp/o1" "$tmp/o2" "$tmp/o3" "$tmp/e")" \
		eval 'test "$(cat "$tmp/o1")" = one && test "$(cat "$tmp/o2")" = three && test "$(cat "$tmp/o3")" = 1'
	start=$SECONDS
	(cd "$repo/step10-guest" && "$run" ./step10) >"$tmp/o" 2>"$tmp/e"
	rc=$?
	echo "# intel: warm: step10: $((SECONDS - start)) s"
	check "intel: warm: step 10's program greets, status 0" "got $rc; $(tail -c 300 "$tmp/o" "$tmp/e")" \
		eval 'test "$rc" -eq 0 && grep -q "^Hello" "$tmp/o"'
	# a command that does not end in time takes the warm Bochs down (its
	# job may have stalled the VM): 124, and the next one goes cold
	pid=$(cat "$tmp/up/bochs.pid")
	SANDBOX_TIMEOUT=20 "$run" sleep 600 >"$tmp/o" 2>"$tmp/e"
	rc=$?
	# gone, or a zombie until its new parent reaps it: no working directory
	check "intel: warm: a command that times out gives 124 and takes the warm Bochs down" \
		"got $rc; $(head -c 600 "$tmp/e")" \
		eval 'test "$rc" -eq 124 && grep -q "warm Bochs is taken down" "$tmp/e" &&
			test "$("$run" --which)" = cold && test "$(readlink "/proc/$pid/cwd")" != "$tmp/up"'
	echo "sandbox: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
fi

# ---- no boot: missing parts give a clear message naming the fix, 125 ---
SANDBOX_CACHE=$tmp/no-cache "$run" true >"$tmp/o" 2>"$tmp/e"
rc=$?
check "no kernel cache: status 125" "got $rc" test "$rc" -eq 125
check "no kernel cache: message says make deps" "stderr: $(head -c 300 "$tmp/e")" \
	grep -q "make deps" "$tmp/e"
SANDBOX_QEMU=/nonexistent/qemu "$run" true >"$tmp/o" 2>"$tmp/e"
rc=$?
check "no QEMU: status 125 and message says make deps" "got $rc; $(head -c 300 "$tmp/e")" \
	eval 'test "$rc" -eq 125 && grep -q "make deps" "$tmp/e"'
SANDBOX_KERNEL=/nonexistent/vmlinux SANDBOX_MODULES=/nonexistent "$run" true >"$tmp/o" 2>"$tmp/e"
rc=$?
check "bad SANDBOX_KERNEL: status 125 and message" "got $rc; $(head -c 300 "$tmp/e")" \
	eval 'test "$rc" -eq 125 && grep -q "SANDBOX_KERNEL=/nonexistent/vmlinux" "$tmp/e"'

SANDBOX_KERNEL=6.0 "$run" true >"$tmp/o" 2>"$tmp/e"
rc=$?
check "unknown SANDBOX_KERNEL name: status 125 and the names it knows" "got $rc; $(head -c 300 "$tmp/e")" \
	eval 'test "$rc" -eq 125 && grep -q "SANDBOX_KERNEL=6.0: .*6.1 6.12" "$tmp/e"'
SANDBOX_KERNEL=6.12 SANDBOX_CACHE=$tmp/no-cache "$run" true >"$tmp/o" 2>"$tmp/e"
rc=$?
check "6.12 not prepared: status 125 and message says make deps SANDBOX_KERNEL=6.12" \
	"got $rc; $(head -c 300 "$tmp/e")" \
	eval 'test "$rc" -eq 125 && grep -q "make deps SANDBOX_KERNEL=6.12" "$tmp/e"'

# bad SANDBOX_* values: refused, status 125, before the command runs
for setting in SANDBOX_SMP=0 SANDBOX_SMP=abc SANDBOX_MEM=lots SANDBOX_WARM=yes; do
	rm -f "$work/ran"
	env "$setting" "$run" touch "$work/ran" >"$tmp/o" 2>"$tmp/e"
	rc=$?
	check "$setting: refused with status 125, the command not run" \
		"got $rc; ran: $(test -e "$work/ran" && echo yes || echo no); $(head -c 300 "$tmp/e")" \
		eval 'test "$rc" -eq 125 && test ! -e "$work/ran" && grep -q "${setting%%=*}" "$tmp/e"'
done
env SANDBOX_SMP=0 "$here/up" >"$tmp/o" 2>"$tmp/e"
rc=$?
check "SANDBOX_SMP=0: up refuses it, status 125, nothing up" "got $rc; $(cat "$tmp/o" "$tmp/e" | head -c 300)" \
	eval 'test "$rc" -eq 125 && test ! -e "$SANDBOX_UP_DIR"'

# SIGKILL of run at any moment, also before it has a trap or a QEMU:
# nothing left in its TMPDIR, no QEMU of its own
mkdir -p "$tmp/early"
for delay in folder 0.02 0.05 0.1 0.15 0.2 0.3 0.5 1; do
	TMPDIR=$tmp/early SANDBOX_WARM=0 "$run" true >/dev/null 2>&1 &
	runner=$!
	if [ "$delay" = folder ]; then # the moment its folder appears
		for _ in $(seq 200000); do ! compgen -G "$tmp/early/*" >/dev/null || break; done
	else
		sleep "$delay"
	fi
	kill -KILL "$runner" 2>/dev/null
	wait "$runner" 2>/dev/null
	for _ in $(seq 50); do
		[ -z "$(ls -A "$tmp/early")" ] && ! pgrep -f "path=$tmp/early/" >/dev/null && break
		sleep 0.1
	done
	when="$delay s after it starts"
	[ "$delay" != folder ] || when="the moment its folder appears"
	check "SIGKILL of run $when: nothing left within 5 s" \
		"left: $(ls -A "$tmp/early") $(pgrep -af "path=$tmp/early/" | head -c 200)" \
		eval 'test -z "$(ls -A "$tmp/early")" && ! pgrep -f "path=$tmp/early/" >/dev/null'
	pkill -KILL -f "path=$tmp/early/" 2>/dev/null
	rm -rf "${tmp:?}/early/"*
done

# ---- boot 1: streams, status 42, cwd, environment, a file back ---------
head -c 1048576 /dev/urandom >"$tmp/out.bin"
{ head -c 65536 /dev/urandom; printf 'a\0b\0\0\n\r\n\377'; head -c 1000 /dev/zero; } >"$tmp/err.bin"
mkdir -p "$work/a dir"
value=$'spaces  and \'quotes\' "double" $HOME `x` \\ back\nnew line; *'
cat >"$work/job.sh" <<'EOF'
# SPDX-License-Identifier: MIT
cat "$1"
cat "$2" >&2
{ pwd; printf '%s' "$SANDBOX_TEST_VALUE"; } >"$3"
exit 42
EOF
{
	echo before
	(cd "$work/a dir" && SANDBOX_TEST_VALUE=$value "$run" sh "$work/job.sh" \
		"$tmp/out.bin" "$tmp/err.bin" "$work/from-vm.txt" 2>"$tmp/stderr1")
	echo "rc=$?"
	echo after
} >"$tmp/stdout1"
head -c 7 "$tmp/stdout1" >"$tmp/head"
tail -c +8 "$tmp/stdout1" | head -c 1048576 >"$tmp/body"
tail -c +$((8 + 1048576)) "$tmp/stdout1" >"$tmp/tail"
printable() { LC_ALL=C tr -cd '[:print:]\n' <"$1" | head -c 200; }
check "exit status 42 comes back" "$(printable "$tmp/tail")" grep -qx 'rc=42' "$tmp/tail"
check "stdout: 1 MB of random bytes intact" "sha256 differs ($(wc -c <"$tmp/stdout1") bytes in all)" \
	test "$(sha "$tmp/body")" = "$(sha "$tmp/out.bin")"
check "stdout: nothing else on it; a file's offset moves on" "$(printable "$tmp/head") / $(printable "$tmp/tail")" \
	eval 'cmp -s "$tmp/head" <(echo before) && cmp -s "$tmp/tail" <(printf "rc=42\nafter\n")'
check "stderr: binary bytes incl. NUL intact and separate" "sha256 differs ($(wc -c <"$tmp/stderr1") bytes)" \
	test "$(sha "$tmp/stderr1")" = "$(sha "$tmp/err.bin")"
check "a file written into the repo is visible outside" "no $work/from-vm.txt" \
	test -f "$work/from-vm.txt"
check "working directory carried in" "got: $(head -n1 "$work/from-vm.txt" 2>/dev/null)" \
	test "$(head -n1 "$work/from-vm.txt" 2>/dev/null)" = "$work/a dir"
check "environment variable carried in (quotes, newline)" \
	"got: $(tail -n +2 "$work/from-vm.txt" 2>/dev/null | head -c 200)" \
	test "$(tail -n +2 "$work/from-vm.txt" 2>/dev/null)" = "$value"

# ---- boot 2: /dev/kvm answers (a C probe built on the host), status 0 ---
cat >"$tmp/kvm_probe.c" <<'EOF'
// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		perror("open /dev/kvm");
		return 2;
	}
	int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	printf("api=%d create_vm=%s\n", api, vm >= 0 ? "ok" : "failed");
	return api == 12 && vm >= 0 ? 0 : 3;
}
EOF
if cc -O -o "$tmp/kvm_probe" "$tmp/kvm_probe.c" 2>"$tmp/cc.err"; then
	"$run" "$tmp/kvm_probe" 2>"$tmp/e" | cat >"$tmp/o" # stdout a pipe here
	rc=${PIPESTATUS[0]}
	check "exit status 0 comes back" "got $rc; $(cat "$tmp/e")" test "$rc" -eq 0
	check "/dev/kvm: KVM_GET_API_VERSION is 12" "got: $(cat "$tmp/o") $(cat "$tmp/e")" \
		grep -q 'api=12 ' "$tmp/o"
	check "/dev/kvm: KVM_CREATE_VM succeeds" "got: $(cat "$tmp/o") $(cat "$tmp/e")" \
		grep -q 'create_vm=ok' "$tmp/o"
else
	bad "kvm probe builds" "$(head -c 300 "$tmp/cc.err")"
fi

# ---- boot 3: status 1; bash's <(...) works (needs /dev/fd); the kernel --
"$run" bash -c 'cat <(echo devfd-ok); uname -r; exit 1' >"$tmp/o" 2>"$tmp/e"
rc=$?
check "exit status 1 comes back" "got $rc; $(cat "$tmp/e")" test "$rc" -eq 1
check "process substitution works (/dev/fd)" "stdout: $(cat "$tmp/o"); stderr: $(head -c 300 "$tmp/e")" \
	grep -qx devfd-ok "$tmp/o"
kernel=${SANDBOX_KERNEL:-6.1}
case $kernel in
6.1) want='6\.1\.0-.*' ;;
6.12) want='6\.12\..*' ;;
*) want=.* ;; # a kernel given by path: any version
esac
check "the VM runs the kernel SANDBOX_KERNEL selects ($kernel)" "uname -r: $(tail -n1 "$tmp/o")" \
	grep -qx "$want" <(tail -n1 "$tmp/o")

# ---- boot 3b: the other Debian kernel, when it is prepared --------------
other=6.12
[ "$kernel" != 6.12 ] || other=6.1
other_cache=$repo/.cache/sandbox
[ "$other" = 6.1 ] || other_cache=$other_cache/6.12
if [ -z "${SANDBOX_CACHE:-}" ] && [ -f "$other_cache/sandbox.env" ]; then
	SANDBOX_KERNEL=$other "$run" uname -r >"$tmp/o" 2>"$tmp/e"
	rc=$?
	check "SANDBOX_KERNEL=$other boots Debian's $other kernel" "got $rc; uname -r: $(cat "$tmp/o") $(head -c 300 "$tmp/e")" \
		eval 'test "$rc" -eq 0 && grep -q "^${other//./\\.}[.-]" "$tmp/o"'
else
	echo "skip - SANDBOX_KERNEL=$other: not prepared here (make deps SANDBOX_KERNEL=$other)"
fi

# ---- boot 4: a command that is not there: 127 ---------------------------
"$run" sandbox-no-such-command >"$tmp/o" 2>"$tmp/e"
rc=$?
check "missing command: status 127" "got $rc" test "$rc" -eq 127

# ---- boot 5: a hang is stopped: 124 and a message -----------------------
start=$(date +%s)
"$run" --timeout 10 sleep 1000 >"$tmp/o" 2>"$tmp/e"
rc=$?
took=$(($(date +%s) - start))
check "hang: timeout status 124" "got $rc after ${took}s" test "$rc" -eq 124
check "hang: stopped within the bound" "took ${took}s" test "$took" -lt 25
check "hang: message on stderr" "stderr: $(head -c 300 "$tmp/e")" grep -q 'timed out' "$tmp/e"

# ---- boot 6: a guest kernel panic ends the run: 125 and a message ------
SANDBOX_WARM=0 "$run" sh -c 'echo c >/proc/sysrq-trigger; sleep 1000' >"$tmp/o" 2>"$tmp/e"
rc=$?
check "guest kernel panic: status 125 and message" "got $rc; $(head -c 300 "$tmp/e")" \
	eval 'test "$rc" -eq 125 && grep -q "guest kernel panic" "$tmp/e"'


# ---- boot 7: a reader that goes away ends the command, as natively ------
# (natively yes dies of SIGPIPE: 141)
yes_head() { # yes_head NAME: `run yes | head -c 10`, against the native pipeline
	local start took rc native
	start=$(date +%s)
	"$run" --timeout 60 yes 2>"$tmp/e" | head -c 10 >"$tmp/o"
	rc=${PIPESTATUS[0]}
	took=$(($(date +%s) - start))
	yes | head -c 10 >/dev/null
	native=${PIPESTATUS[0]}
	check "$1: run yes | head -c 10 ends, status $native as natively" \
		"status $rc after ${took}s; $(head -c 300 "$tmp/e")" test "$rc" -eq "$native"
	check "$1: run yes | head -c 10 gives y\\n five times" "got: $(printable "$tmp/o")" \
		cmp -s "$tmp/o" <(yes | head -c 10)
}
yes_head cold

# ---- boot 8 (killed while booting): SIGKILL of run ends its QEMU, removes
# its job folder
"$run" sleep 1000 >/dev/null 2>&1 &
runner=$!
qemu_pid=
for _ in $(seq 300); do
	qemu_pid=$(pgrep -P "$runner" -f qemu-system) && break
	sleep 0.1
done
jobdir=$(tr '\0' '\n' <"/proc/$qemu_pid/cmdline" 2>/dev/null | sed -n 's/^local,id=jobs,path=\([^,]*\),.*/\1/p')
if [ -n "$qemu_pid" ] && [ -d "$jobdir" ]; then
	kill -KILL "$runner"
	wait "$runner" 2>/dev/null
	for _ in $(seq 100); do
		{ kill -0 "$qemu_pid" 2>/dev/null || [ -e "$jobdir" ]; } || break
		sleep 0.1
	done
	check "SIGKILL of run: its QEMU ends within 10 s" "QEMU pid $qemu_pid still there" \
		eval '! kill -0 "$qemu_pid" 2>/dev/null'
	check "SIGKILL of run: its job folder goes" "$jobdir still there" test ! -e "$jobdir"
else
	kill -KILL "$runner" 2>/dev/null
	bad "SIGKILL of run: its QEMU starts" "no QEMU child of run (pid $runner) with a job folder"
fi

# ---- warm: tests/sandbox/up, the same checks, and what only warm has -----
"$here/up" --idle 0 >"$tmp/o" 2>"$tmp/e"
rc=$?
check "up: boots the warm sandbox" "got $rc; $(cat "$tmp/o" "$tmp/e" | head -c 300)" \
	eval 'test "$rc" -eq 0 && grep -q "^sandbox: up in" "$tmp/o"'
pid1=$(cat "$SANDBOX_UP_DIR/qemu.pid" 2>/dev/null)
"$here/up" >"$tmp/o" 2>"$tmp/e"
rc=$?
check "up twice: harmless, says it is up, same QEMU" "got $rc; $(cat "$tmp/o" "$tmp/e" | head -c 300)" \
	eval 'test "$rc" -eq 0 && grep -q "already up" "$tmp/o" && test "$(cat "$SANDBOX_UP_DIR/qemu.pid")" = "$pid1"'
"$run" --which >"$tmp/o" 2>"$tmp/e"
check "up: run --which says warm" "$(cat "$tmp/o" "$tmp/e" | head -c 300)" grep -qx warm "$tmp/o"

# tests/run-tests keeps to the warm sandbox that is up: no pool, no boot.
# Two test programs that each report one passing test, and the VM's boot id.
for name in fake_a fake_b; do
	cat >"$tmp/$name" <<'EOF'
#!/bin/sh
# SPDX-License-Identifier: MIT
echo "ran in $(cat /proc/sys/kernel/random/boot_id)"
for arg; do
	case $arg in --tap=*) printf '1..1\nok - fake::one\n' >"${arg#--tap=}" ;; esac
done
EOF
	chmod +x "$tmp/$name"
done
"$run" cat /proc/sys/kernel/random/boot_id >"$tmp/boot" 2>"$tmp/e"
SANDBOX=1 SANDBOX_VMS=2 "$repo/tests/run-tests" "$tmp/fake_a" "$tmp/fake_b" >"$tmp/o" 2>>"$tmp/e"
rc=$?
check "warm: run-tests runs every program in it, and says so" \
	"got $rc; $(cat "$tmp/o" "$tmp/e" | head -c 600)" \
	eval 'test "$rc" -eq 0 && grep -qx "steps: 2 passed, 0 failed" "$tmp/o" &&
		test "$(grep -c "^ran in $(cat "$tmp/boot")$" "$tmp/o")" -eq 2 &&
		grep -q "the warm sandbox is up: every test program runs in it" "$tmp/e"'

# the bytes and the status of boot 1, again, warm
rm -f "$work/from-vm.txt"
{
	echo before
	(cd "$work/a dir" && SANDBOX_TEST_VALUE=$value "$run" sh "$work/job.sh" \
		"$tmp/out.bin" "$tmp/err.bin" "$work/from-vm.txt" 2>"$tmp/stderr1w")
	echo "rc=$?"
	echo after
} >"$tmp/stdout1w"
check "warm: stdout and status the same bytes as cold" "$(wc -c <"$tmp/stdout1w") bytes; $(tail -c 20 "$tmp/stdout1w" | printable /dev/stdin)" \
	cmp -s "$tmp/stdout1" "$tmp/stdout1w"
check "warm: stderr the same bytes as cold" "$(wc -c <"$tmp/stderr1w") bytes" \
	cmp -s "$tmp/stderr1" "$tmp/stderr1w"
check "warm: the repository at its own path, cwd and variable carried in" \
	"got: $(head -c 200 "$work/from-vm.txt" 2>/dev/null)" \
	test "$(cat "$work/from-vm.txt" 2>/dev/null)" = "$work/a dir"$'\n'"$value"
"$run" sandbox-no-such-command >"$tmp/o" 2>"$tmp/e"
rc=$?
check "warm: missing command: status 127" "got $rc" test "$rc" -eq 127

# a fresh scratch layer per command
mark=sandbox-scratch-$$
"$run" sh -c "echo x >/tmp/$mark && echo x >/etc/$mark && test -f /tmp/$mark" >"$tmp/o" 2>"$tmp/e"
rc=$?
check "warm: scratch writes outside the repository work" "got $rc; $(head -c 300 "$tmp/e")" test "$rc" -eq 0
"$run" sh -c "test ! -e /tmp/$mark && test ! -e /etc/$mark" >"$tmp/o" 2>"$tmp/e"
rc=$?
check "warm: the next command does not see them" "got $rc; $(head -c 300 "$tmp/e")" test "$rc" -eq 0
check "warm: nor does the host" "/tmp/$mark or /etc/$mark on the host" \
	eval 'test ! -e "/tmp/$mark" && test ! -e "/etc/$mark"'

# the guest caches the host's / (cache=loose); a host file changed between
# two commands is seen changed, length and bytes
printf 'first\n' >"$tmp/host-file"
"$run" cat "$tmp/host-file" >"$tmp/o1" 2>"$tmp/e"
printf 'second, longer\n' >"$tmp/host-file"
"$run" cat "$tmp/host-file" >"$tmp/o2" 2>>"$tmp/e"
check "warm: a host file changed between two commands is read as it is now" \
	"read $(printable "$tmp/o1") then $(printable "$tmp/o2"); $(head -c 300 "$tmp/e")" \
	eval 'test "$(cat "$tmp/o1")" = first && test "$(cat "$tmp/o2")" = "second, longer"'

# two commands at once, from two shells
"$run" sh -c 'sleep 2; echo one; echo one-err >&2; exit 11' >"$tmp/o1" 2>"$tmp/e1" &
p1=$!
"$run" sh -c 'sleep 2; echo two; echo two-err >&2; exit 12' >"$tmp/o2" 2>"$tmp/e2" &
p2=$!
wait "$p1"
rc1=$?
wait "$p2"
rc2=$?
check "warm: two concurrent commands: each its own status" "got $rc1 and $rc2" \
	eval 'test "$rc1" -eq 11 && test "$rc2" -eq 12'
check "warm: two concurrent commands: each its own stdout and stderr" \
	"$(cat "$tmp/o1" "$tmp/e1" "$tmp/o2" "$tmp/e2" | printable /dev/stdin)" \
	eval 'test "$(cat "$tmp/o1")" = one && test "$(cat "$tmp/e1")" = one-err &&
		test "$(cat "$tmp/o2")" = two && test "$(cat "$tmp/e2")" = two-err'

# the environment: an allow-list, never the caller's whole environment
SANDBOX_TEST_SECRET_HOLDER=x TEST_SECRET_TOKEN=s3cr3t-$$ EXTRA_FOR_TEST=extra-$$ \
	SANDBOX_ENV="EXTRA_FOR_TEST" "$run" sh -c 'env; cat /run/sandbox/job' >"$tmp/o" 2>"$tmp/e"
check "environment: a variable off the allow-list stays out (job and environment)" \
	"$(grep -a "s3cr3t" "$tmp/o" | head -c 200)" eval '! grep -aq "s3cr3t-$$" "$tmp/o"'
check "environment: PATH, HOME and SANDBOX_GUEST=1 are there" "$(grep -aE '^(PATH|HOME|SANDBOX_GUEST)=' "$tmp/o")" \
	eval 'grep -aq "^PATH=$PATH\$" "$tmp/o" && grep -aq "^HOME=" "$tmp/o" && grep -aqx "SANDBOX_GUEST=1" "$tmp/o"'
check "environment: SANDBOX_ENV adds names" "$(grep -a EXTRA_FOR_TEST "$tmp/o" | head -c 200)" \
	grep -aqx "EXTRA_FOR_TEST=extra-$$" "$tmp/o"

# a job that prints 64 MiB: it all comes back, while the warm folder
# never holds more than a few MiB of it
du_max() { # du_max DIR PID: the most KiB DIR held while PID ran
	local max=0 k
	while kill -0 "$2" 2>/dev/null; do
		k=$(du -sk "$1" 2>/dev/null | cut -f1)
		[ -z "$k" ] || [ "$k" -le "$max" ] || max=$k
		sleep 0.05
	done
	echo "$max"
}
base=$(du -sk "$SANDBOX_UP_DIR" | cut -f1)
"$run" head -c 64M /dev/zero 2>"$tmp/e" | wc -c >"$tmp/o" &
runner=$!
peak=$(du_max "$SANDBOX_UP_DIR" "$runner")
wait "$runner"
check "warm: 64 MiB of output all come back" "got $(cat "$tmp/o") bytes; $(head -c 300 "$tmp/e")" \
	test "$(cat "$tmp/o")" = 67108864
check "warm: 64 MiB of output: the job folder holds at most 8 MiB of it" \
	"it grew from $base to $peak KiB" test "$((peak - base))" -lt 8192

# stdout and stderr to one file (a terminal, 2>&1): in the order written
order='for i in $(seq 300); do echo out$i; echo err$i >&2; done; echo last-out; echo last-err >&2'
sh -c "$order" >"$tmp/native" 2>&1
"$run" sh -c "$order" >"$tmp/o" 2>&1
check "warm: stdout and stderr to one file come back in the order written" \
	"$(diff "$tmp/native" "$tmp/o" | head -n 6 | tr '\n' ' ')" cmp -s "$tmp/native" "$tmp/o"
"$run" sh -c "$order" >"$tmp/o" 2>"$tmp/e"
check "warm: stdout and stderr to two files stay apart" "$(head -c 100 "$tmp/o") / $(head -c 100 "$tmp/e")" \
	eval 'cmp -s "$tmp/o" <(grep -v err "$tmp/native") && cmp -s "$tmp/e" <(grep err "$tmp/native")'

# a user who may not use the warm sandbox (root's): told so, and a VM
# booted for the command; up and down refuse with the reason
as_nobody() { runuser -u nobody -- env SANDBOX_UP_DIR="$SANDBOX_UP_DIR" TMPDIR=/tmp "$@"; }
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v runuser >/dev/null &&
	(cd /tmp && as_nobody "$run" --ready) >/dev/null 2>&1; then
	chmod 755 "$tmp" # nobody may see the warm folder, not use it
	as_nobody "$run" --which >"$tmp/o" 2>"$tmp/e"
	rc=$?
	check "not the warm sandbox's user: run --which says cold, no shell error" \
		"got $rc; $(cat "$tmp/o" "$tmp/e" | head -c 300)" \
		eval 'test "$rc" -eq 0 && grep -qx cold "$tmp/o" && ! grep -Eq "unbound variable|Permission denied|line [0-9]+:" "$tmp/e"'
	(cd /tmp && as_nobody "$run" sh -c 'echo as-nobody') >"$tmp/o" 2>"$tmp/e"
	rc=$?
	check "not the warm sandbox's user: run says why and boots a VM instead" \
		"got $rc; $(cat "$tmp/o" "$tmp/e" | head -c 400)" \
		eval 'test "$rc" -eq 0 && grep -qx as-nobody "$tmp/o" && grep -q "cannot use it" "$tmp/e" &&
			! grep -Eq "unbound variable|Permission denied|line [0-9]+:" "$tmp/e"'
	for tool in up down; do
		as_nobody "$here/$tool" >"$tmp/o" 2>"$tmp/e"
		rc=$?
		check "not the warm sandbox's user: $tool refuses, status 125, no shell error" \
			"got $rc; $(cat "$tmp/o" "$tmp/e" | head -c 300)" \
			eval 'test "$rc" -eq 125 && grep -q "cannot use it" "$tmp/e" &&
				! grep -Eq "unbound variable|line [0-9]+:" "$tmp/e"'
	done
	chmod 700 "$tmp"
else
	echo "skip - a user who may not use the warm sandbox: needs root, runuser, and a user nobody who can read this checkout and its sandbox kernel"
fi

yes_head warm

"$run" --timeout 3 sleep 1000 >"$tmp/o" 2>"$tmp/e"
rc=$?
check "warm: hang: timeout status 124 and message" "got $rc; $(head -c 300 "$tmp/e")" \
	eval 'test "$rc" -eq 124 && grep -q "timed out" "$tmp/e"'

# SIGKILL of a warm run: its command ends in the VM, its job folder goes
"$run" sh -c 'echo started; exec sleep 1234' >"$tmp/started" 2>/dev/null &
runner=$!
for _ in $(seq 300); do grep -q started "$tmp/started" && break; sleep 0.1; done
kill -KILL "$runner"
wait "$runner" 2>/dev/null
for _ in $(seq 100); do
	[ -z "$(ls -d "$SANDBOX_UP_DIR"/job.* 2>/dev/null)" ] && break
	sleep 0.1
done
check "warm: SIGKILL of run: its job folder goes within 10 s" "$(ls -d "$SANDBOX_UP_DIR"/job.* 2>/dev/null)" \
	test -z "$(ls -d "$SANDBOX_UP_DIR"/job.* 2>/dev/null)"
"$run" ps -eo args >"$tmp/o" 2>"$tmp/e"
check "warm: SIGKILL of run: its command ends in the VM" "ps: $(grep -a sleep "$tmp/o")" \
	eval '! grep -aqx "sleep 1234" "$tmp/o"'

# down while a command runs: the command ends (125), and its message
# names no file that down removed
"$run" sh -c 'echo started; exec sleep 1234' >"$tmp/started" 2>"$tmp/e1" &
runner=$!
for _ in $(seq 300); do grep -q started "$tmp/started" && break; sleep 0.1; done
"$here/down" >"$tmp/o" 2>"$tmp/e"
rc=$?
check "down: stops it" "got $rc; $(cat "$tmp/o" "$tmp/e" | head -c 300)" \
	eval 'test "$rc" -eq 0 && grep -q "^sandbox: down" "$tmp/o" && ! kill -0 "$pid1" 2>/dev/null && test ! -e "$SANDBOX_UP_DIR"'
wait "$runner"
rc=$?
gone=$(grep -o "${SANDBOX_UP_DIR}[^ )]*" "$tmp/e1" | while read -r f; do [ -e "$f" ] || echo "$f"; done)
check "down during a command: it ends with 125, its message names no file down removed" \
	"got $rc; $(head -c 300 "$tmp/e1")" eval 'test "$rc" -eq 125 && test -s "$tmp/e1" && test -z "$gone"'

"$run" --which >"$tmp/o" 2>"$tmp/e"
check "down: run --which says cold" "$(cat "$tmp/o" "$tmp/e" | head -c 300)" grep -qx cold "$tmp/o"

# the idle stop, and a cold boot (with a message) once the warm one is gone
"$here/up" --idle 2 >"$tmp/o" 2>"$tmp/e"
pid=$(cat "$SANDBOX_UP_DIR/qemu.pid" 2>/dev/null)
for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
check "idle stop: the warm sandbox stops by itself" "QEMU ${pid:-?} still up after 30 s; $(cat "$tmp/o" "$tmp/e")" \
	eval 'test -n "$pid" && ! kill -0 "$pid" 2>/dev/null'
"$run" sh -c 'echo cold-ok' >"$tmp/o" 2>"$tmp/e"
rc=$?
check "warm sandbox gone: run boots a VM instead, and says why" "got $rc; $(head -c 300 "$tmp/e")" \
	eval 'test "$rc" -eq 0 && grep -qx cold-ok "$tmp/o" &&
		grep -q "warm sandbox is down (stopped after 2 s without a command)" "$tmp/e"'

# ---- the pool: two single-vCPU sandboxes side by side (2 boots) -------
# Each call holds its VM for 3 s, so the second call gets the other VM:
# two boot ids, statuses and output kept apart, and no QEMU after close.
SANDBOX_VMS=2 SANDBOX_UP_DIR= python3 - "$here" >"$tmp/o" 2>"$tmp/e" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import pool
cmd = "cat /proc/sys/kernel/random/boot_id; nproc; echo err-$0 >&2; sleep 3; exit $0"
with pool.Pool() as vms:
    print("dir", vms.dir)
    for p in vms.map(lambda run, n: run(["sh", "-c", cmd, str(n)], timeout=60), [3, 5]):
        print("rc", p.returncode, "out", p.stdout.decode().split(), "err", p.stderr.decode().strip())
PY
rc=$?
check "pool: two VMs, each command in its own" "got $rc; $(head -c 600 "$tmp/o" "$tmp/e")" \
	eval 'test "$rc" -eq 0 && test "$(grep -c "^rc " "$tmp/o")" -eq 2 &&
		test "$(grep "^rc " "$tmp/o" | cut -d"[" -f2 | cut -d, -f1 | sort -u | wc -l)" -eq 2'
check "pool: one vCPU each; statuses, stdout and stderr kept apart" "$(head -c 600 "$tmp/o")" \
	eval 'grep -q "^rc 3 out .*, .1.. err err-3$" "$tmp/o" && grep -q "^rc 5 out .*, .1.. err err-5$" "$tmp/o"'
pooldir=$(sed -n 's/^dir //p' "$tmp/o")
check "pool: closed, it leaves no QEMU and no folder" "$(pgrep -af "qemu.*${pooldir:-none}")" \
	eval 'test -n "$pooldir" && test ! -e "$pooldir" && ! pgrep -f "qemu.*$pooldir" >/dev/null'

# A pool VM killed under a command: booted again, the command run again.
SANDBOX_VMS=1 SANDBOX_UP_DIR= python3 - "$here" >"$tmp/o" 2>"$tmp/e" <<'PY'
import os, sys, threading, time
sys.path.insert(0, sys.argv[1])
import pool
logs = []
with pool.Pool(log=logs.append) as vms:
    qemu = int(open(os.path.join(vms.envs[0]["SANDBOX_UP_DIR"], "qemu.pid")).read())
    threading.Timer(3, os.kill, (qemu, 9)).start()
    p = vms.map(lambda run, _: run(["sh", "-c", "sleep 6; echo done"], timeout=120), [0])[0]
print("rc", p.returncode, p.stdout.decode().strip())
print("\n".join(logs))
PY
rc=$?
check "pool: a VM killed under a command is booted again, the command rerun" \
	"got $rc; $(head -c 600 "$tmp/o" "$tmp/e")" \
	eval 'test "$rc" -eq 0 && grep -qx "rc 0 done" "$tmp/o" && grep -q "booting it again" "$tmp/o"'

echo "sandbox: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
