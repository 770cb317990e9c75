# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# tests/sandbox/vm.sh: what tests/sandbox/run, up and down share: the
# kernel files, the QEMU command line, the warm sandbox's folder. Sourced;
# expects $me (the name to print), $verbose (0 or 1) and fail() (print,
# exit 125) from the script that sources it.

vm_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(git -C "$vm_here" rev-parse --show-toplevel 2>/dev/null) || repo=$(cd "$vm_here/../.." && pwd)
repo=$(cd "$repo" && pwd -P)
# shellcheck source=SCRIPTDIR/kernels.sh
. "$vm_here/kernels.sh"

# vm_prepare: finds QEMU and the selected kernel's files (rebuilding the
# initramfs from the cache when its sources changed); sets qemu, cache,
# kernel, initramfs, init_sum, tsc_khz, warm (the warm sandbox's folder:
# SANDBOX_UP_DIR, else up/ in the kernel's cache folder).
vm_prepare() {
	local env_file log want tsc
	vm_settings_check
	qemu=${SANDBOX_QEMU:-qemu-system-x86_64}
	qemu=$(command -v "$qemu") ||
		fail "${SANDBOX_QEMU:-qemu-system-x86_64} not found: run 'make deps' (installs qemu-system-x86)"
	kernel_select || fail "$kernel_error"
	cache=$(kernel_cache "${SANDBOX_CACHE:-$repo/.cache/sandbox}")
	deps_cmd="make deps"
	[ "$kernel_name" = "${SANDBOX_DEBIAN_KERNELS[0]}" ] ||
		deps_cmd="make deps SANDBOX_KERNEL=$SANDBOX_KERNEL"
	env_file=$cache/sandbox.env
	want=$(initramfs_sum "$repo")
	# init or the scripts that build the initramfs changed since it was
	# built: rebuild it (no download: from what the cache holds)
	if [ -f "$env_file" ] && [ "$(sed -n 's/^# init: //p' "$env_file")" != "$want" ]; then
		rm -f "$env_file"
	fi
	if [ ! -f "$env_file" ] && { [ "$kernel_name" = custom ] || [ -f "$cache/kernel.key" ] ||
		[ -f "$cache/pkg.key" ]; }; then
		log=$(SANDBOX_CACHE=${SANDBOX_CACHE:-$repo/.cache/sandbox} "$repo/tools/deps" --sandbox-only 2>&1) ||
			fail "preparing the kernel failed: $log"
		[ "$verbose" = 0 ] || printf '%s\n' "$log" >&2
	fi
	[ -f "$env_file" ] ||
		fail "no sandbox kernel $kernel_name in ${cache#"$repo"/}: run '$deps_cmd' (or tools/deps)"
	init_sum=$want
	kernel=$(in_cache "$(sed -n 's/^kernel=//p' "$env_file")")
	initramfs=$(in_cache "$(sed -n 's/^initramfs=//p' "$env_file")")
	[ -r "$kernel" ] && [ -r "$initramfs" ] ||
		fail "sandbox kernel files missing in ${cache#"$repo"/}: run '$deps_cmd'"
	warm=${SANDBOX_UP_DIR:-$cache/up}
	# The host's TSC rate: SANDBOX_TSC_KHZ, else dmesg now, else what
	# tools/deps read from dmesg, else /proc/cpuinfo; without it the VM
	# uses -M pc instead of microvm.
	tsc_khz=${SANDBOX_TSC_KHZ:-}
	if [ -z "$tsc_khz" ]; then
		tsc=$(dmesg 2>/dev/null | sed -n 's/.*tsc: Refined TSC clocksource calibration: \([0-9.]*\) MHz.*/\1/p;
			s/.*tsc: Detected \([0-9.]*\) MHz processor.*/\1/p' | tail -n1)
		[ -z "$tsc" ] || tsc_khz=$(awk -v m="$tsc" 'BEGIN { printf "%d", m * 1000 }')
	fi
	[ -n "$tsc_khz" ] || tsc_khz=$(sed -n 's/^tsc_khz=//p' "$env_file")
	# Else /proc/cpuinfo: with a constant TSC, "cpu MHz" is its rate (dmesg's
	# lines are gone once its ring buffer wraps).
	if [ -z "$tsc_khz" ] && grep -qw constant_tsc /proc/cpuinfo 2>/dev/null; then
		tsc=$(sed -n 's/^cpu MHz[[:space:]]*: *\([0-9.]*\)$/\1/p' /proc/cpuinfo | head -n1)
		[ -z "$tsc" ] || tsc_khz=$(awk -v m="$tsc" 'BEGIN { printf "%d", m * 1000 }')
	fi
	[[ "$tsc_khz" =~ ^[0-9]*$ ]] || fail "SANDBOX_TSC_KHZ wants a number of kHz, not '$tsc_khz'"
	[ "$tsc_khz" != 0 ] || tsc_khz= # SANDBOX_TSC_KHZ=0: use -M pc
}
in_cache() { case $1 in /*) echo "$1" ;; *) echo "$cache/$1" ;; esac; }

# vm_cpus: how many vCPUs: SANDBOX_SMP (a number, or "all": this
# machine's cores), else 1. With two, step10's tests panicked (6.12) or
# wedged (6.1) the guest, in kernel code patched under the other vCPU;
# batches use both cores through pool.py's one-vCPU VMs instead
# (README.md, "Both cores"). vm_prepare checks SANDBOX_SMP first: this
# one runs inside $(...), where fail() could not end the script.
vm_cpus() {
	local n=${SANDBOX_SMP:-1}
	[ "$n" != all ] || n=$(nproc 2>/dev/null || echo 1)
	echo "$n"
}

# vm_settings_check: refuses (fail, status 125) a SANDBOX_* value that
# is not one of those the README lists, before anything runs.
vm_settings_check() {
	local smp=${SANDBOX_SMP:-1} mem=${SANDBOX_MEM:-512}
	[ "$smp" = all ] || [[ "$smp" =~ ^[1-9][0-9]{0,2}$ ]] ||
		fail "SANDBOX_SMP wants a number of vCPUs (1 to 999) or 'all', not '$smp'"
	[[ "$mem" =~ ^[1-9][0-9]{0,6}$ ]] && [ "$mem" -ge 128 ] ||
		fail "SANDBOX_MEM wants MiB, a whole number from 128, not '$mem'"
	case ${SANDBOX_WARM:-1} in 0|1) ;; *) fail "SANDBOX_WARM wants 0 or 1, not '$SANDBOX_WARM'" ;; esac
	case ${SANDBOX_VERBOSE:-0} in 0|1) ;; *) fail "SANDBOX_VERBOSE wants 0 or 1, not '$SANDBOX_VERBOSE'" ;; esac
	[[ "${SANDBOX_IDLE:-900}" =~ ^[0-9]+$ ]] ||
		fail "SANDBOX_IDLE wants whole seconds, not '$SANDBOX_IDLE'"
	[[ "${SANDBOX_TIMEOUT:-600}" =~ ^[0-9]+(\.[0-9]{1,6})?$ ]] ||
		fail "SANDBOX_TIMEOUT wants seconds, not '$SANDBOX_TIMEOUT'"
}

# vm_args DIR WORDS...: sets args, QEMU's command line for a VM whose job
# folder is DIR (shared as "jobs", with the FIFOs DIR/control.in and .out
# for the port "control"); WORDS go on the kernel command line.
vm_args() {
	local dir=$1 append machine vdev console
	shift
	esc() { printf '%s' "${1//,/,,}"; } # QEMU option values: a comma is ",,"
	# tsc=reliable: TCG derives every vCPU's TSC from the host clock; the
	# kernel's watchdog would distrust it whenever the host is too busy to
	# keep jiffies on time, and fall back to a jiffies clock.
	append="console=ttyS0 panic=-1 cryptomgr.notests tsc=reliable ${SANDBOX_APPEND:-} $*"
	if [ "$verbose" = 1 ]; then
		append="$append sandbox.verbose=1"
	else
		append="$append quiet"
	fi
	if [ -n "$tsc_khz" ]; then
		machine=(-M microvm)
		append="$append tsc_early_khz=$tsc_khz"
		vdev=device
	else
		# microvm may hang calibrating the TSC without tsc_early_khz: use pc
		machine=(-M pc)
		vdev=pci
	fi
	args=(
		"${machine[@]}" -accel tcg,thread=multi -cpu max -m "${SANDBOX_MEM:-512}"
		-smp "$(vm_cpus)" -nodefaults -no-user-config -display none -no-reboot
		-kernel "$kernel" -initrd "$initramfs" -append "$append"
		-fsdev local,id=host,path=/,security_model=none,readonly=on,multidevs=remap
		-device "virtio-9p-$vdev,fsdev=host,mount_tag=host"
		-fsdev "local,id=repo,path=$(esc "$repo"),security_model=none,multidevs=remap"
		-device "virtio-9p-$vdev,fsdev=repo,mount_tag=repo"
		-fsdev "local,id=jobs,path=$(esc "$dir"),security_model=none"
		-device "virtio-9p-$vdev,fsdev=jobs,mount_tag=jobs"
		-device "virtio-serial-$vdev"
		-chardev "pipe,id=control,path=$(esc "$dir/control")"
		-device virtserialport,chardev=control,name=control
	)
}

# vm_dir_make DIR: a job folder for a VM: the repository's path, the
# control FIFOs.
vm_dir_make() {
	printf '%s\n' "$repo" >"$1/repo" &&
		mkfifo -m 600 "$1/control.in" "$1/control.out"
}

# vm_send DIR MESSAGE: one line to the VM's port "control" (one write, so
# lines from concurrent callers never mix; opened read-write, so it never
# blocks even when QEMU is gone).
vm_send() {
	local fd
	exec {fd}<>"$1/control.in" || return 1
	printf '%s\n' "$2" >&"$fd"
	exec {fd}>&-
}

# warm_pid: the warm sandbox's QEMU pid if it is up and ready, else fails.
warm_pid() {
	local pid
	[ -f "$warm/ready" ] && read -r pid <"$warm/qemu.pid" 2>/dev/null &&
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# warm_lock: waits until no up or down is busy with the warm folder.
# Fails, with warm_error saying why and what to do, when this user may not
# use that folder (a warm sandbox that root started, for a user who is not
# root).
warm_lock() {
	local owner
	warm_lock_fd=
	if mkdir -p "${warm%/*}" 2>/dev/null && { exec {warm_lock_fd}>>"$warm.lock"; } 2>/dev/null &&
		{ [ ! -e "$warm" ] || { [ -w "$warm" ] && [ -x "$warm" ]; }; }; then
		flock "$warm_lock_fd"
		return 0
	fi
	warm_unlock
	owner=$(stat -c %U "$warm" 2>/dev/null || stat -c %U "$warm.lock" 2>/dev/null ||
		stat -c %U "${warm%/*}" 2>/dev/null)
	warm_error="the warm sandbox's folder ${warm#"$repo"/} belongs to ${owner:-another user}; user $(id -un) cannot use it (run as ${owner:-its owner}, or give yourself one: SANDBOX_UP_DIR=a folder of yours, for up and for run)"
	return 1
}
warm_unlock() {
	[ -z "${warm_lock_fd:-}" ] || exec {warm_lock_fd}>&-
	warm_lock_fd=
}

# The variables a job carries: these, and the names in SANDBOX_ENV.
env_allowed() {
	case $1 in
	PATH|HOME|USER|LOGNAME|SHELL|TERM|LANG|LANGUAGE|LC_*|TZ|TMPDIR|COLUMNS|NO_COLOR) return 0 ;;
	CRITERION_*|KVM_*|SANDBOX_*|RANDOM_GUEST_SEED|ASAN_OPTIONS|UBSAN_OPTIONS|LSAN_OPTIONS|V) return 0 ;;
	esac
	case " ${SANDBOX_ENV:-} " in *" $1 "*) return 0 ;; esac
	return 1
}

# job_script CMD [ARGS...]: the sh script a job is, on stdout: the allowed
# variables exported, SANDBOX_GUEST=1, cd to the caller's working
# directory, exec CMD ARGS (each word single-quoted: any value survives).
q() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; } # one word, single-quoted
job_script() {
	local kv name v a
	echo '# SPDX-License-Identifier: MIT'
	echo '# generated by tests/sandbox'
	while IFS= read -r -d '' kv; do
		name=${kv%%=*}
		[[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] && env_allowed "$name" || continue
		v=${kv#*=}
		printf "export %s='%s'\n" "$name" "${v//\'/\'\\\'\'}" # no fork per variable
	done < <(env -0)
	echo 'export SANDBOX_GUEST=1'
	printf 'cd %s || exit 126\n' "$(q "$PWD")"
	printf 'exec'
	for a; do printf ' %s' "$(q "$a")"; done
	printf '\n'
}
