# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# tests/sandbox/kernels.sh: which kernel the sandbox boots, and where its
# files live. Sourced by tests/sandbox/run and tools/deps, so both agree.
#
# SANDBOX_KERNEL selects it:
#   unset or 6.1   Debian 12's own kernel (the one linux-image-amd64 depends on)
#   6.12           Debian 12's 6.12 kernel (newest linux-image-6.12.N+deb12-amd64)
#   a path         that vmlinux or bzImage, with SANDBOX_MODULES=lib/modules/VERSION
# Each has its own folder under the cache root (SANDBOX_CACHE, default
# .cache/sandbox): 6.1 the root itself, 6.12 in 6.12/, a path in custom-HASH/.

# The Debian kernels by name; the first is the default.
SANDBOX_DEBIAN_KERNELS=(6.1 6.12)

# kernel_is_debian NAME: true if NAME is one of SANDBOX_DEBIAN_KERNELS.
kernel_is_debian() {
	local k
	for k in "${SANDBOX_DEBIAN_KERNELS[@]}"; do [ "$1" = "$k" ] && return 0; done
	return 1
}

# kernel_select: sets kernel_name (6.1, 6.12 or custom), kernel_path and
# modules_path (custom only) from SANDBOX_KERNEL and SANDBOX_MODULES;
# returns 1 with the reason in kernel_error when they are not usable.
kernel_select() {
	local k=${SANDBOX_KERNEL:-${SANDBOX_DEBIAN_KERNELS[0]}}
	kernel_path= modules_path= kernel_error=
	if kernel_is_debian "$k" && [ -z "${SANDBOX_MODULES:-}" ]; then
		kernel_name=$k
		return 0
	fi
	kernel_name=custom
	if kernel_is_debian "$k"; then
		kernel_error="SANDBOX_MODULES is for a kernel given by path, not SANDBOX_KERNEL=$k"
		return 1
	fi
	[ -r "$k" ] && [ -f "$k" ] || {
		kernel_error="SANDBOX_KERNEL=$k: neither a kernel name (${SANDBOX_DEBIAN_KERNELS[*]}) nor a readable vmlinux or bzImage"
		return 1
	}
	[ -n "${SANDBOX_MODULES:-}" ] || {
		kernel_error="SANDBOX_KERNEL=$k is a path: set SANDBOX_MODULES=/path/lib/modules/VERSION too"
		return 1
	}
	[ -d "$SANDBOX_MODULES/kernel" ] || {
		kernel_error="SANDBOX_MODULES=$SANDBOX_MODULES: not a lib/modules/VERSION folder (no kernel/ in it)"
		return 1
	}
	kernel_path=$(readlink -f "$k")
	modules_path=$(readlink -f "$SANDBOX_MODULES")
}

# kernel_cache ROOT: the folder of the selected kernel under ROOT.
kernel_cache() {
	case $kernel_name in
	"${SANDBOX_DEBIAN_KERNELS[0]}") echo "$1" ;;
	custom) echo "$1/custom-$(printf '%s\n%s\n' "$kernel_path" "$modules_path" |
		sha256sum | cut -c1-12)" ;;
	*) echo "$1/$kernel_name" ;;
	esac
}

# initramfs_sum TOP: what the initramfs is made from (its init and the
# scripts that build it), and the relay that init runs; the cache is
# rebuilt, and a warm sandbox of another sum refused, when this changes.
initramfs_sum() {
	cat "$1/tests/sandbox/init" "$1/tests/sandbox/relay" "$1/tests/sandbox/kernels.sh" "$1/tools/deps" |
		sha256sum | cut -d' ' -f1
}
