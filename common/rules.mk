# SPDX-License-Identifier: MIT
# common/rules.mk: how every step builds, tests and runs.  A step's
# Makefile sets STEP (its program's name, e.g. step05) and includes this.
#
#   make            build the program ./$(STEP)
#   make test       build and run tests/test_$(STEP).c against real KVM
#   make run        run the program (in the QEMU sandbox if no /dev/kvm)
#   make diff       what this step adds over the step before it
#   make V=1        show the commands;  make SANITIZE=1  ASan + UBSan build

.DEFAULT_GOAL := all
COMMON := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
TOP := $(abspath $(COMMON)/..)
TESTS := $(TOP)/tests

CC ?= cc
NASM ?= nasm
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra
CPPFLAGS += -I$(COMMON) -MMD -MP
# Every ioctl() passes through common/trace.c (KVM_TRACE=1, --trace).
LDFLAGS += -Wl,--wrap=ioctl

ifeq ($(SANITIZE),1)
BUILD := .build-san
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS += $(SAN)
LDFLAGS += $(SAN)
PROG := $(BUILD)/$(STEP)
else
BUILD := .build
PROG := $(STEP)
endif

Q := $(if $(filter 1,$(V)),,@)
say = $(if $(Q),@printf '  %-6s %s\n' $(1) $(2);)

COMMON_OBJS := $(patsubst $(COMMON)/%.c,$(BUILD)/common/%.o,$(wildcard $(COMMON)/*.c))
STEP_OBJS := $(STEP_SRCS:%.c=$(BUILD)/%.o) $(STEP_EXTRA_OBJS)
# The same sources with main renamed, for linking into the test program.
STEP_TEST_OBJS := $(STEP_SRCS:%.c=$(BUILD)/%.test.o) $(STEP_EXTRA_OBJS)
TEST_PROG := $(BUILD)/test_$(STEP)
TEST_SRCS ?= test_$(STEP).c
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/tests/%.o) $(BUILD)/tests/kvm_test.o \
	$(BUILD)/tests/faults.o

.PHONY: all test test-build run diff clean
all: $(PROG)

$(PROG): $(STEP_OBJS) $(BUILD)/libcommon.a
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(STEP_OBJS) $(BUILD)/libcommon.a $(LDLIBS)

# One object per stage in the archive: the linker takes a stage from it
# only when the step has not written that stage out itself.
$(BUILD)/libcommon.a: $(COMMON_OBJS)
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/%.test.o: %.c
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(CPPFLAGS) $(CFLAGS) -Dmain=step_main -c -o $@ $<

$(BUILD)/common/%.o: $(COMMON)/%.c
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# NASM: guest.asm -> a flat binary; guest_blob.asm embeds it (incbin).
$(BUILD)/%.bin: %.asm
	$(call say,NASM,$@)
	$(Q)mkdir -p $(@D) && $(NASM) -f bin -MD $@.d -o $@ $<

$(BUILD)/%_blob.o: %_blob.asm $(BUILD)/guest.bin
	$(call say,NASM,$@)
	$(Q)$(NASM) -f elf64 -i $(BUILD)/ -MD $@.d -o $@ $<

# Tests: tests/test_$(STEP).c with the step's own stage code and Criterion.
# Test guests: tests/guests/*.asm and the gallery, tests/guests/gallery/*.asm.
TEST_GUESTS := $(patsubst $(TESTS)/guests/%.asm,$(BUILD)/guests/%.bin,\
	$(wildcard $(TESTS)/guests/*.asm $(TESTS)/guests/gallery/*.asm))
TEST_CPPFLAGS := -DSTEP_PROGRAM='"$(abspath $(PROG))"' \
	-DSTEP_DIR='"$(CURDIR)"' -DTOP_DIR='"$(TOP)"' \
	-DTEST_GUESTS_DIR='"$(abspath $(BUILD))/guests"'

$(BUILD)/tests/%.o: $(TESTS)/%.c
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(CPPFLAGS) -I$(TESTS) -I$(CURDIR) $(TEST_CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/guests/%.bin: $(TESTS)/guests/%.asm
	$(call say,NASM,$@)
	$(Q)mkdir -p $(@D) && $(NASM) -f bin -MD $@.d -o $@ $<

$(TEST_PROG): $(TEST_OBJS) $(STEP_TEST_OBJS) $(BUILD)/libcommon.a
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lcriterion $(LDLIBS)

test-build: $(PROG) $(TEST_PROG) $(TEST_GUESTS)

test: test-build
	$(Q)$(TESTS)/with-kvm $(TEST_PROG)

diff:
	$(Q)$(TOP)/tools/diffs $(notdir $(CURDIR))

run: $(PROG)
	$(Q)$(TESTS)/with-kvm $(abspath $(PROG)) $(ARGS)

clean:
	rm -rf .build .build-san $(STEP)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
.DELETE_ON_ERROR:
