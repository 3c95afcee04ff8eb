# One entry point per job. Each target installs or builds what it needs (cached under .cache/).
SHELL := /bin/bash
.DEFAULT_GOAL := help

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup:  ## create .venv (Python >= 3.12) with pinned tools and install the collection
	scripts/setup-venv.sh

test-static: setup  ## unit tests, ansible-test sanity, ansible-lint
	scripts/test-static.sh

kernel:  ## build (or fetch from cache) the reference kernel
	kernel/build.sh

image:  ## build (or fetch from cache) the guest root filesystem
	vm/image.sh

test-vm: setup  ## Molecule scenarios in QEMU guests (reference kernel and stock kernel)
	scripts/test-vm.sh

test: test-static test-vm  ## everything CI runs

demo: setup  ## roll the example fleet out into VMs, tamper, show the drift report, clean up
	scripts/demo.sh

bench: setup  ## benchmarks (print ratios; not pass/fail)
	scripts/bench.sh

.PHONY: help setup test-static kernel image test-vm test demo bench
