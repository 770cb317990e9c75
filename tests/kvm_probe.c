/* SPDX-License-Identifier: MIT */
/*
 * kvm_probe: exit 0 if /dev/kvm here can create a VM; else say why on
 * stdout and exit 1.  tests/with-kvm uses it to pick native or sandbox.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int version, vm;

	if (kvm < 0) {
		printf("open /dev/kvm: %s\n", strerror(errno));
		return 1;
	}
	version = ioctl(kvm, KVM_GET_API_VERSION, 0UL);
	if (version != 12) {
		printf("KVM_GET_API_VERSION gave %d\n", version);
		return 1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
	if (vm < 0) {
		printf("KVM_CREATE_VM: %s\n", strerror(errno));
		return 1;
	}
	close(vm);
	close(kvm);
	return 0;
}
