# SPDX-License-Identifier: MIT
# KVM, step by step: build, test and run every step.
#
#   make deps    install what building, testing and the sandbox need
#   make         build every step's program
#   make test    every step's tests and the sandbox's own, against real KVM
#   make run     run step10's guest (natively, or in the QEMU sandbox)
#   make check   the tests again under AddressSanitizer and UBSan
#   make bench   where the time goes, from open() to the guest's hlt
#   make diffs   what each step adds over the one before (diffs/)
#   make workshop [STEP=05]  a copy with stages to write (workshop/)
#   make check-docs  README excerpts and common/ match the step sources
#   SANDBOX=1 forces the QEMU sandbox, SANDBOX=0 this machine's /dev/kvm.

STEPS := $(sort $(wildcard step[0-9][0-9]-*))
BUILD := $(if $(filter 1,$(SANITIZE)),.build-san,.build)
# step05-memory -> step05-memory/.build/test_step05
TEST_PROGS := $(foreach s,$(STEPS),$(s)/$(BUILD)/test_$(firstword $(subst -, ,$(s))))

.PHONY: all deps test test-build sandbox-test run check bench diffs workshop check-docs clean $(STEPS)

all: $(STEPS)

$(STEPS):
	@$(MAKE) --no-print-directory -C $@

deps:
	@tools/deps

test-build:
	@for s in $(STEPS); do $(MAKE) --no-print-directory -C $$s test-build || exit 1; done

# The sandbox's own tests need no KVM on this machine.  SANDBOX=0 skips
# them, and so does `make check`: they build nothing it could sanitize.
sandbox-test:
	@if [ "$(SANDBOX)" = 0 ]; then echo "sandbox tests: skipped (SANDBOX=0)"; \
	elif [ "$(SANITIZE)" = 1 ]; then echo "sandbox tests: skipped (make check; make test runs them)"; \
	else tests/sandbox/test_sandbox.sh; fi

test: test-build check-docs sandbox-test
	@tests/with-kvm tests/run-tests $(TEST_PROGS)

run:
	@$(MAKE) --no-print-directory -C step10-guest
	@tests/with-kvm step10-guest/step10 $(ARGS)

check:
	@$(MAKE) --no-print-directory test SANITIZE=1

bench: all
	@bench/run

diffs:
	@tools/diffs --all

workshop:
	@tools/workshop $(STEP)

check-docs:
	@tools/regions --check
	@tools/pictures --check && tools/reading-time --check

clean:
	@for s in $(STEPS); do $(MAKE) --no-print-directory -C $$s clean; done
