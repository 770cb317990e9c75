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
#   make mutants  every catalogued wrong stage is caught by its tests
#   make clean   remove everything built (not the sandbox kernel in .cache/, nor workshop/)
#   SANDBOX=1 forces the QEMU sandbox, SANDBOX=0 this machine's /dev/kvm;
#   V=1 shows the commands; bear -- make writes compile_commands.json.

# The ten steps, then the optional chapters in beyond/, built the same way.
STEPS := $(sort $(wildcard step[0-9][0-9]-*)) $(sort $(wildcard beyond/step[0-9][0-9]-*))
BUILD := $(if $(filter 1,$(SANITIZE)),.build-san,.build)
# step05-memory -> step05-memory/.build/test_step05
TEST_PROGS := $(foreach s,$(STEPS),$(s)/$(BUILD)/test_$(firstword $(subst -, ,$(notdir $(s)))))
SUB := --no-print-directory

.PHONY: $(STEPS) all deps shared test test-build sandbox-test run check bench diffs \
	workshop check-docs mutants clean

all: $(STEPS:=.all)

# Each directory's own goals, through make's own recursion:
# `make step05-memory.test-build` runs `make -C step05-memory test-build`.
# common/'s objects are built once first, then shared by every step.
%.all: shared ; +@$(MAKE) $(SUB) -C $* all
%.test-build: shared ; +@$(MAKE) $(SUB) -C $* test-build
%.clean: ; +@$(MAKE) $(SUB) -C $* clean
$(STEPS): %: %.all
shared: ; +@$(MAKE) $(SUB) -f common/rules.mk shared

deps:
	@tools/deps

test-build: $(STEPS:=.test-build)

# The sandbox's own tests need no KVM on this machine.  SANDBOX=0 skips
# them, and so does `make check`: they build nothing it could sanitize;
# so does a machine where `make deps` has not prepared the sandbox
# (unless SANDBOX=1 asks for it).
sandbox-test:
	@if [ "$(SANDBOX)" = 0 ]; then echo "sandbox tests: skipped (SANDBOX=0)"; \
	elif [ "$(SANITIZE)" = 1 ]; then echo "sandbox tests: skipped (make check; make test runs them)"; \
	elif [ "$(SANDBOX)" != 1 ] && ! why=$$(tests/sandbox/run --ready 2>&1); then \
		echo "sandbox tests: skipped, the sandbox is not set up here ($${why#sandbox: })"; \
	else tests/sandbox/test_sandbox.sh; fi

# The warm sandbox: boots once, stays up for SANDBOX=1 (tests/sandbox/README.md).
.PHONY: sandbox-up sandbox-down
sandbox-up: ; @tests/sandbox/up
sandbox-down: ; @tests/sandbox/down

# Every step's tests in one run; in the sandbox (TCG, about 100 times
# slower) that run may take longer than the sandbox's 600 s default.
test: test-build check-docs sandbox-test
	@SANDBOX_TIMEOUT=$${SANDBOX_TIMEOUT:-1800} tests/run-tests $(TEST_PROGS)

# A failing program's own status, said before make's "Error N" (make exits 2).
run: step10-guest.all
	@tests/with-kvm step10-guest/step10 $(ARGS) || { s=$$?; echo "make run: step10 exited with status $$s (README.md, Exit statuses)" >&2; exit $$s; }

check:
	+@$(MAKE) $(SUB) test SANITIZE=1

bench: bench.all
	@bench/run

diffs:
	@tools/diffs --all

workshop:
	@tools/workshop $(STEP)

# A workshop copy (tools/workshop marks it with .workshop/) is checked
# in the repository it came from, not in itself: its stubs differ on purpose.
check-docs:
	@if [ -d .workshop ]; then echo "docs: not checked in a workshop copy; run make check-docs in the repository itself"; \
	else tools/regions --check && tools/pictures --check && tools/reading-time --check; fi

mutants:
	@tools/mutants

clean: $(STEPS:=.clean) bench.clean
	rm -rf .build .build-san diffs .cache/kvm_probe
