# SPDX-License-Identifier: MIT
# common/rules.mk: how every step builds, tests and runs.  A step's
# Makefile sets STEP (its program, e.g. step05), STEP_SRCS (its sources)
# and STAGE (the common/stages/ file holding its promoted stage, e.g.
# vm_memory_add), then includes this.
#
#   make            build the program ./$(STEP)
#   make test       build and run tests/test_$(STEP).c against real KVM
#   make run        run the program (in the QEMU sandbox if no /dev/kvm)
#   make diff       what this step adds over the step before it
#   make mutants    every catalogued wrong stage fails this step's tests
#   make V=1        show the commands;  make SANITIZE=1  ASan + UBSan build
#
# common/ (stages/ and lib/) is compiled once per flavour, into
# $(TOP)/.build/common (or .build-san), and every step links those objects
# except its own stage's: the step must define that stage itself, or its
# build fails saying so.

.DEFAULT_GOAL := all
COMMON := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
TOP := $(abspath $(COMMON)/..)
TESTS := $(TOP)/tests

# make cannot name a file whose path has a space, and the recipes quote
# paths in single quotes: such a checkout is refused, in one sentence.
ifneq ($(words $(TOP))$(findstring ',$(TOP))$(findstring ",$(TOP))$(findstring $$,$(TOP)),1)
$(error this checkout's path ($(TOP)) has a space, a quote or a $$ in it, which make cannot build in: move or clone it to a path without one)
endif

NASM ?= nasm
CFLAGS ?= -O2 -g
# What the code needs, whatever CFLAGS and LDFLAGS say: every ioctl()
# passes through common/lib/trace.c (KVM_TRACE=1, --trace).
KVM_CFLAGS := -std=gnu11 -Wall -Wextra
KVM_CPPFLAGS := -I$(COMMON)/stages -I$(COMMON)/lib -MMD -MP
KVM_LDFLAGS := -Wl,--wrap=ioctl
ifeq ($(SANITIZE),1)
BUILD := .build-san
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD := .build
endif
COMPILE = $(CC) $(KVM_CPPFLAGS) $(CPPFLAGS) $(KVM_CFLAGS) $(CFLAGS) $(SAN)
LINK = $(CC) $(KVM_LDFLAGS) $(LDFLAGS) $(SAN)

Q := $(if $(filter 1,$(V)),,@)
say = $(if $(Q),@printf '  %-6s %s\n' $(1) $(patsubst $(TOP)/%,$(TOPREL)%,$(2));)
TOPREL := $(shell realpath --relative-to=. $(TOP))/

# ---- Shared by every step and the bench: common/, the test helpers ----
SHARED := $(TOP)/$(BUILD)
ALL_COMMON_OBJS := $(patsubst $(COMMON)/%.c,$(SHARED)/common/%.o,\
	$(wildcard $(COMMON)/stages/*.c $(COMMON)/lib/*.c))
TEST_GUESTS := $(patsubst $(TESTS)/guests/%.asm,$(TOP)/.build/guests/%.bin,\
	$(wildcard $(TESTS)/guests/*.asm $(TESTS)/guests/gallery/*.asm))
# The helpers every test program links (kvm_test.h, faults.h), once per flavour.
TEST_LIB := $(SHARED)/tests/libkvmtest.a
TEST_LIB_OBJS := $(patsubst %,$(SHARED)/tests/%.o,kvm_test faults worker_name)

# Criterion runs each test in a fresh exec of the test program, and its
# shared library loads 20 others (libgit2, Kerberos, OpenSSL, ...): under
# the sandbox's emulation that is 0.5 s a test.  Linked statically from
# Debian's archives (libcriterion-dev, libnanopb-dev, which make deps
# installs), an exec costs 0.15 s; its three calls into libgit2, which
# only the diffs of Criterion's new assertion API use, are answered by
# tests/criterion_static.c.  Without those archives, the shared library;
# with the sanitizers too (LeakSanitizer blames BoxFort's own timeouts
# on the program that holds its code).
CRITERION_A := $(if $(SAN),,$(foreach a,criterion boxfort protobuf-nanopb,\
	$(shell $(CC) -print-file-name=lib$(a).a)))
ifeq ($(words $(filter /%,$(CRITERION_A))),3)
CRITERION_LIBS := $(SHARED)/tests/criterion_static.o -Wl,-Bstatic $(CRITERION_A) -Wl,-Bdynamic -lnanomsg
CRITERION_DEPS := $(SHARED)/tests/criterion_static.o
else
CRITERION_LIBS := -lcriterion
endif

# What the compiler is told, kept in a file: when CFLAGS (or CC, ...)
# change, every object of this flavour is older than it, and rebuilt.
FLAGS := $(SHARED)/compile-flags
# (No path of the checkout in it: a copy of the tree, as tools/mutants
# makes, keeps its objects.)
FLAGS_NOW := $(strip $(CC) $(CPPFLAGS) $(KVM_CFLAGS) $(CFLAGS) $(SAN) | $(LDFLAGS) \
	criterion-$(if $(CRITERION_DEPS),static,shared))
ifneq ($(file <$(FLAGS)),$(FLAGS_NOW))
$(shell mkdir -p $(SHARED))
$(file >$(FLAGS),$(FLAGS_NOW))
endif

.PHONY: all shared test test-build check-build run diff mutants clean
shared: $(ALL_COMMON_OBJS) $(TEST_GUESTS) $(TEST_LIB) $(CRITERION_DEPS) ; @:

$(SHARED)/common/%.o: $(COMMON)/%.c $(FLAGS)
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D) && $(COMPILE) -c -o $@ $<

$(SHARED)/tests/%.o: $(TESTS)/%.c $(FLAGS)
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D) && $(COMPILE) -I$(TESTS) -c -o $@ $< || \
	{ echo '#include <criterion/criterion.h>' | $(CC) -E -x c - >/dev/null 2>&1 || \
	  echo "Criterion is not installed; make deps, at the top, installs it" >&2; exit 1; }

$(TEST_LIB): $(TEST_LIB_OBJS)
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# The maintainers' suite of what all steps share (tests/check_steps.c),
# linked with every stage from common/ (make check-suites).
CHECK_STEPS := $(SHARED)/tests/check_steps
.PHONY: check-steps
check-steps: $(CHECK_STEPS) ; @:
$(CHECK_STEPS): $(SHARED)/tests/check_steps.o $(ALL_COMMON_OBJS) $(TEST_LIB) $(CRITERION_DEPS) $(FLAGS)
	$(call say,LD,$@)
	$(Q)$(LINK) -o $@ $(SHARED)/tests/check_steps.o $(ALL_COMMON_OBJS) \
		-Wl,--whole-archive $(TEST_LIB) -Wl,--no-whole-archive $(CRITERION_LIBS) $(LDLIBS)

$(TOP)/.build/guests/%.bin: $(TESTS)/guests/%.asm
	$(call say,NASM,$@)
	$(Q)mkdir -p $(@D) && $(NASM) -f bin -MD $@.d -MP -o $@ $<

-include $(ALL_COMMON_OBJS:.o=.d) $(TEST_GUESTS:=.d) $(TEST_LIB_OBJS:.o=.d) \
	$(SHARED)/tests/check_steps.d

ifdef STEP
# ---- One step ----------------------------------------------------------
PROG := $(if $(SAN),$(BUILD)/$(STEP),$(STEP))
STAGE_OBJ := $(if $(STAGE),$(SHARED)/common/stages/$(STAGE).o)
COMMON_OBJS := $(filter-out $(STAGE_OBJ),$(ALL_COMMON_OBJS))
STEP_OBJS := $(STEP_SRCS:%.c=$(BUILD)/%.o) $(STEP_EXTRA_OBJS)
# The same sources with main renamed, for linking into the test program.
STEP_TEST_OBJS := $(STEP_SRCS:%.c=$(BUILD)/%.test.o) $(STEP_EXTRA_OBJS)
TEST_PROG := $(BUILD)/test_$(STEP)
TEST_SRCS ?= test_$(STEP).c
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/tests/%.o)

# (The empty recipe: a null make says nothing.)
all: $(PROG) ; @:

# The stage is the step's to write: each function common/stages/$(STAGE).c
# defines (and each of STAGE_FUNCS) must be defined by the step's own
# objects, because the common/ copy is never linked into this step.
STAGE_WHERE := $(if $(word 2,$(STEP_SRCS)),one of $(STEP_SRCS),$(STEP_SRCS))
STAGE_FUNCS += $(if $(STAGE_OBJ),$$(nm --defined-only $(STAGE_OBJ) | awk '$$2 == "T" { print $$3 }'))
$(BUILD)/stage-ok: $(STEP_OBJS) $(STAGE_OBJ)
	$(Q)defined=" $$(nm --defined-only $(STEP_OBJS) | awk '$$2 == "T" { printf "%s ", $$3 }')"; \
	for f in $(STAGE_FUNCS); do case $$defined in *" $$f "*) ;; *) \
		echo "$(STAGE_WHERE) must define $$f() (stage $(STEP:step%=%)); nothing falls back to common/" >&2; \
		exit 1;; esac; done; touch $@

$(PROG): $(STEP_OBJS) $(COMMON_OBJS) $(FLAGS) | $(BUILD)/stage-ok
	$(call say,LD,$@)
	$(Q)$(LINK) -o $@ $(STEP_OBJS) $(COMMON_OBJS) $(LDLIBS)

$(BUILD)/%.o: %.c $(FLAGS)
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D) && $(COMPILE) -c -o $@ $<

$(BUILD)/%.test.o: %.c $(FLAGS)
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D) && $(COMPILE) -Dmain=step_main -c -o $@ $<

# NASM: guest.asm -> a flat binary; guest_blob.asm embeds it (incbin).
$(BUILD)/%.bin: %.asm
	$(call say,NASM,$@)
	$(Q)mkdir -p $(@D) && $(NASM) -f bin -MD $@.d -MP -o $@ $<

.SECONDARY: $(BUILD)/guest.bin
$(BUILD)/%_blob.o: %_blob.asm $(BUILD)/guest.bin
	$(call say,NASM,$@)
	$(Q)$(NASM) -f elf64 -i $(BUILD)/ -MD $@.d -MP -o $@ $<

# Tests: tests/test_$(STEP).c with the step's own stage code and Criterion.
TEST_CPPFLAGS := -DSTEP_PROGRAM='"$(abspath $(PROG))"' \
	-DSTEP_DIR='"$(CURDIR)"' -DTOP_DIR='"$(TOP)"' \
	-DTEST_GUESTS_DIR='"$(TOP)/.build/guests"'

$(BUILD)/tests/%.check.o: $(TESTS)/%.c $(FLAGS)
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D) && $(COMPILE) -I$(TESTS) -I$(CURDIR) $(TEST_CPPFLAGS) -DCHECK_SUITE -c -o $@ $<

$(BUILD)/tests/%.o: $(TESTS)/%.c $(FLAGS)
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D) && $(COMPILE) -I$(TESTS) -I$(CURDIR) $(TEST_CPPFLAGS) -c -o $@ $< || \
	{ echo '#include <criterion/criterion.h>' | $(CC) -E -x c - >/dev/null 2>&1 || \
	  echo "$(STEP): Criterion is not installed; make deps, at the top, installs it" >&2; exit 1; }

$(TEST_PROG): $(TEST_OBJS) $(STEP_TEST_OBJS) $(COMMON_OBJS) $(TEST_LIB) $(CRITERION_DEPS) $(FLAGS) | $(BUILD)/stage-ok
	$(call say,LD,$@)
	$(Q)$(LINK) -o $@ $(TEST_OBJS) $(STEP_TEST_OBJS) $(COMMON_OBJS) \
		-Wl,--whole-archive $(TEST_LIB) -Wl,--no-whole-archive $(CRITERION_LIBS) $(LDLIBS)

test-build: $(PROG) $(TEST_PROG) $(TEST_GUESTS) ; @:

# A step's maintainers' suite, if it has one (CHECK_SRCS; make check-suites
# at the top runs it): $(BUILD)/check_$(STEP), built like its tests.
# Its sources are compiled with CHECK_SUITE defined: a test file holds
# the learner's tests, then, under #ifdef CHECK_SUITE, the maintainers'.
CHECK_PROG := $(if $(CHECK_SRCS),$(BUILD)/check_$(STEP))
CHECK_OBJS := $(CHECK_SRCS:%.c=$(BUILD)/tests/%.check.o)
check-build: $(PROG) $(CHECK_PROG) $(TEST_GUESTS) ; @:
ifneq ($(CHECK_PROG),)
$(CHECK_PROG): $(CHECK_OBJS) $(STEP_TEST_OBJS) $(COMMON_OBJS) $(TEST_LIB) $(CRITERION_DEPS) $(FLAGS) | $(BUILD)/stage-ok
	$(call say,LD,$@)
	$(Q)$(LINK) -o $@ $(CHECK_OBJS) $(STEP_TEST_OBJS) $(COMMON_OBJS) \
		-Wl,--whole-archive $(TEST_LIB) -Wl,--no-whole-archive $(CRITERION_LIBS) $(LDLIBS)
endif

test: test-build
	$(Q)$(TESTS)/run-tests $(TEST_PROG)

diff:
	$(Q)$(TOP)/tools/diffs $(patsubst $(TOP)/%,%,$(CURDIR))

mutants:
	$(Q)$(TOP)/tools/mutants $(CURDIR)

# 125 is tests/sandbox/run's own status: then the program never ran.
run: $(PROG)
	$(Q)$(TESTS)/with-kvm $(abspath $(PROG)) $(ARGS) || { s=$$?; \
	if [ $$s = 125 ] && [ "$$($(TESTS)/with-kvm --which)" = sandbox ]; then \
		echo "make run: the QEMU sandbox failed (status 125; its reason is the line above), so $(STEP) did not run" >&2; \
	else echo "make run: $(STEP) exited with status $$s (README.md, Exit statuses)" >&2; fi; exit $$s; }

clean:
	rm -rf .build .build-san $(STEP) $(CLEAN_FILES)

-include $(STEP_OBJS:.o=.d) $(STEP_TEST_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(CHECK_OBJS:.o=.d) \
	$(STEP_EXTRA_OBJS:.o=.d) $(STEP_EXTRA_OBJS:=.d) $(BUILD)/guest.bin.d
endif
.DELETE_ON_ERROR:
