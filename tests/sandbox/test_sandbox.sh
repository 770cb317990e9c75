#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/sandbox/test_sandbox.sh: the sandbox's own tests (6 or 7 VM boots).
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
trap 'rm -rf "$tmp" "$work"' EXIT

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
"$run" sh -c 'echo c >/proc/sysrq-trigger; sleep 1000' >"$tmp/o" 2>"$tmp/e"
rc=$?
check "guest kernel panic: status 125 and message" "got $rc; $(head -c 300 "$tmp/e")" \
	eval 'test "$rc" -eq 125 && grep -q "guest kernel panic" "$tmp/e"'

echo "sandbox: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
