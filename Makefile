# SPDX-License-Identifier: MIT
# KVM, step by step: build, test and run every step.
#
# The learner's gate (README.md, "Test"): the tests of the steps' code.
#   make deps    install what building, testing and the sandbox need
#   make         build every step's program
#   make test    every step's (and chapter's) tests, against real KVM
#   make run     run step10's guest (natively, or in the QEMU sandbox)
#   make transcripts  rewrite the READMEs' code excerpts and program transcripts
#   make bench   where the time goes, from open() to the guest's hlt
#   make diffs   what each step adds over the one before (diffs/)
#   make workshop [STEP=05]  a copy with stages to write (workshop/)
#   make clean   remove everything built (not the sandbox kernel in .cache/, nor workshop/)
# The maintainers' gate (README.md, "Checking the project"): make check,
# which runs check-docs, check-build, check-suites, sandbox-test,
# exercises, mutants, check-sanitize and check-kernels, in that order.
# make check-intel: the learner's tests and the vendor tests on stock kvm_intel, in Bochs.
#   SANDBOX=1 forces the QEMU sandbox, SANDBOX=0 this machine's /dev/kvm;
#   SANDBOX_CPU=intel makes that sandbox Bochs, with kvm_intel;
#   V=1 shows the commands; bear -- make writes compile_commands.json.

# The ten steps, then the optional chapters in beyond/, built the same way.
STEPS := $(sort $(wildcard step[0-9][0-9]-*)) $(sort $(wildcard beyond/step[0-9][0-9]-*))
BUILD := $(if $(filter 1,$(SANITIZE)),.build-san,.build)
# step05-memory -> step05-memory/.build/test_step05
TEST_PROGS := $(foreach s,$(STEPS),$(s)/$(BUILD)/test_$(firstword $(subst -, ,$(notdir $(s)))))
# The maintainers' suites: what every program shares (common/), the test
# harness, the KVM facts the READMEs teach, and step 10's random guests.
CHECK_DIRS := $(patsubst %/Makefile,%,$(shell grep -l '^CHECK_SRCS' $(STEPS:=/Makefile)))
CHECK_PROGS := $(BUILD)/tests/check_steps \
	$(foreach s,$(CHECK_DIRS),$(s)/$(BUILD)/check_$(firstword $(subst -, ,$(notdir $(s)))))
SUB := --no-print-directory

# make cannot build in a path with a space or a quote (common/rules.mk).
ifneq ($(words $(CURDIR))$(findstring ',$(CURDIR))$(findstring ",$(CURDIR))$(findstring $$,$(CURDIR)),1)
$(error this checkout's path ($(CURDIR)) has a space, a quote or a $$ in it, which make cannot build in: move or clone it to a path without one)
endif

.PHONY: $(STEPS) all deps shared test test-build sandbox-test run check bench diffs \
	workshop check-docs mutants clean transcripts check-build check-suites \
	check-suites-build exercises check-sanitize check-kernels check-intel

all: $(STEPS:=.all)

# Each directory's own goals, through make's own recursion:
# `make step05-memory.test-build` runs `make -C step05-memory test-build`.
# common/'s objects are built once first, then shared by every step.
%.all: shared ; +@$(MAKE) $(SUB) -C $* all
%.test-build: shared ; +@$(MAKE) $(SUB) -C $* test-build
%.check-build: shared ; +@$(MAKE) $(SUB) -C $* check-build
%.clean: ; +@$(MAKE) $(SUB) -C $* clean
$(STEPS): %: %.all
shared: ; +@$(MAKE) $(SUB) -f common/rules.mk shared

deps:
	@tools/deps

test-build: $(STEPS:=.test-build)

# The warm sandbox: boots once, stays up for SANDBOX=1 (tests/sandbox/README.md).
.PHONY: sandbox-up sandbox-down
sandbox-up: ; @tests/sandbox/up
sandbox-down: ; @tests/sandbox/down

# ---- The learner's gate -------------------------------------------------
# Every step's tests in one run; in the sandbox (TCG, about 100 times
# slower) that run may take longer than the sandbox's 600 s default.
test: test-build
	@SANDBOX_TIMEOUT=$${SANDBOX_TIMEOUT:-1800} tests/run-tests $(TEST_PROGS)

# A failing program's own status, said before make's "Error N" (make
# exits 2); 125 is tests/sandbox/run's own: then the program never ran.
run: step10-guest.all
	@tests/with-kvm step10-guest/step10 $(ARGS) || { s=$$?; \
	if [ $$s = 125 ] && [ "$$(tests/with-kvm --which)" = sandbox ]; then \
		echo "make run: the QEMU sandbox failed (status 125; its reason is the line above), so step10 did not run" >&2; \
	else echo "make run: step10 exited with status $$s (README.md, Exit statuses)" >&2; fi; exit $$s; }

# What the READMEs show, from what it shows: code excerpts from the
# sources (tools/regions), transcripts from the programs' own output
# (tools/transcripts).
transcripts: all
	@tools/regions --update && tools/transcripts

bench: bench.all
	@bench/run

diffs:
	@tools/diffs --all

workshop:
	@tools/workshop $(STEP)

# ---- The maintainers' gate ----------------------------------------------
# Each part, in order; CI (.ci/run) runs `make deps`, `make test`, then this.
check:
	+@$(MAKE) $(SUB) check-docs
	+@$(MAKE) $(SUB) check-build
	+@$(MAKE) $(SUB) check-suites
	+@$(MAKE) $(SUB) sandbox-test
	+@$(MAKE) $(SUB) exercises
	+@$(MAKE) $(SUB) mutants
	+@$(MAKE) $(SUB) check-sanitize
	+@$(MAKE) $(SUB) check-kernels

# A workshop copy (tools/workshop marks it with .workshop/) is checked
# in the repository it came from, not in itself: its stubs differ on purpose.
check-docs:
	@if [ -d .workshop ]; then echo "docs: not checked in a workshop copy; run make check-docs in the repository itself"; \
	else tools/regions --check && tools/pictures --check && tools/reading-time --check; fi

# The build itself: a path with a space, CFLAGS changed, a null make,
# make run without a sandbox (tools/check-build).
check-build:
	@tools/check-build

check-suites-build: shared $(CHECK_DIRS:=.check-build)
	+@$(MAKE) $(SUB) -f common/rules.mk check-steps

check-suites: check-suites-build
	@SANDBOX_TIMEOUT=$${SANDBOX_TIMEOUT:-1800} tests/run-tests $(CHECK_PROGS)

# The sandbox's own tests need no KVM on this machine.
sandbox-test:
	@tests/sandbox/test_sandbox.sh

exercises:
	@tests/exercises

mutants:
	@tools/mutants

# The learner's tests built with AddressSanitizer and UBSan.
check-sanitize:
	+@$(MAKE) $(SUB) test SANITIZE=1

# The learner's tests on stock KVM (kvm_amd in the sandbox), with the
# maintainers' suites on Debian 12's 6.1 kernel (unless make test and
# check-suites ran there already: no usable /dev/kvm here), and the
# learner's alone on its 6.12 (prepared first: step14's suite boots its bzImage).
check-kernels: test-build check-suites-build
	@SANDBOX_KERNEL=6.12 tools/deps
	@if [ "$$(tests/with-kvm --which)" = native ]; then \
		SANDBOX=1 SANDBOX_TIMEOUT=$${SANDBOX_TIMEOUT:-1800} tests/run-tests $(TEST_PROGS) $(CHECK_PROGS); \
	else echo "check-kernels: make test and check-suites ran in the sandbox's 6.1 kernel already"; fi
	@SANDBOX=1 SANDBOX_KERNEL=6.12 SANDBOX_TIMEOUT=$${SANDBOX_TIMEOUT:-1800} tests/run-tests $(TEST_PROGS)

# The learner's tests on stock kvm_intel, in Bochs (one boot for them all,
# after one for the Intel sandbox's own checks); not part of check: CI
# runs it beside check, in a clone of its own (.ci/run).
# With the learner's tests, the maintainers' vendor tests (tests/run-tests,
# BOCHS_ONLY), in the same boot; those of a CPU without unrestricted guest
# once more there, on kvm_intel reloaded with unrestricted_guest=0
# (BOCHS_RELOADED).
INTEL_CHECK_PROGS := $(foreach n,04 08 10 12,$(filter %/check_step$(n),$(CHECK_PROGS)))
check-intel: test-build check-suites-build
	@tests/sandbox/intel --prepare
	@SANDBOX_CPU=intel tests/sandbox/test_sandbox.sh
	@SANDBOX=1 SANDBOX_CPU=intel SANDBOX_TIMEOUT=$${SANDBOX_TIMEOUT:-1800} \
		tests/run-tests $(TEST_PROGS) $(INTEL_CHECK_PROGS)

clean: $(STEPS:=.clean) bench.clean
	rm -rf .build .build-san diffs .cache/kvm_probe
