# One entry point per job. Each target installs or builds what it needs (cached under .cache/).
SHELL := /bin/bash
.DEFAULT_GOAL := help

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup:  ## create .venv (Python >= 3.12) with pinned tools and install the collection
	scripts/setup-venv.sh

test-static: setup  ## unit tests, ansible-test sanity, ansible-lint
	scripts/test-static.sh

kernel:  ## build (or fetch from cache) the reference kernel: series applies, checkpatch --strict clean, builds
	kernel/build.sh

kernel-prefixes:  ## build every prefix of the series on its own (patch 1 alone, 1-2, ..., all; cached; long when cold)
	kernel/build-prefixes.sh

test-kernel:  ## build the reference kernel, smoke-test the ABI in a guest, run the kernel selftest there
	scripts/test-kernel.sh

test-kernel-role: setup  ## the policy_kernel role on a guest that boots through GRUB: check mode, install, reboot by its handler, ABI
	scripts/test-kernel-role.sh

test-kernel-deb: setup  ## the kernel as Debian packages: a guest's modules collected, localmod packages built, installed by the role into a GRUB+initramfs guest, selftest, rollback (long build; not in make test)
	scripts/test-kernel-deb.sh

image:  ## build (or fetch from cache) the guest root filesystem
	vm/image.sh

test-vm: setup  ## Molecule scenario on Debian's stock kernel (systemd backend, policy groups reported missing)
	scripts/test-vm.sh stock

test-policyfs: setup  ## Molecule scenario on the reference kernel: converge, drift, verify in the kernel, reboot
	scripts/test-vm.sh policyfs

test-fleet: setup  ## the fleet layer in guests: rollout batches, drift reports, reboot restore (checks the demo)
	scripts/test-fleet.sh

test-team: setup  ## a team's fleet (examples/team: web, database, timer jobs, zram + file) validated, rendered, rolled out, verified and audited in guests on both kernels
	scripts/test-team.sh

test-assess: setup  ## assess.yml on stock- and reference-kernel guests; each starter fleet document applied to a fresh guest reproduces what was read
	scripts/test-assess.sh

test-experiment: setup  ## the experiment loop as a smoke test: the shipped experiment in quick mode in guests, its report checked, a lost run resumed
	scripts/test-experiment.sh

# test-vm needs only the guest image and Debian's kernel: on a cold cache CI runs it while the reference kernel
# still builds in the background; .ci/run then runs test-kernel and the others in two lanes.
test: test-static test-vm test-kernel test-policyfs test-kernel-role test-experiment test-fleet  ## what CI runs (docs/testing-vms.md)

demo: setup  ## roll the example fleet out into VMs, tamper, show the drift report, clean up
	scripts/demo.sh

experiment: setup  ## run an experiment in guests and write its report with plots (EXPERIMENT=experiments/swap-tier.yml, QUICK=1 for the smoke test)
	.venv/bin/python scripts/experiment.py $(or $(EXPERIMENT),experiments/swap-tier.yml) $(if $(QUICK),--quick) $(EXPERIMENT_ARGS)

bench: setup  ## benchmarks (print ratios; not pass/fail)
	scripts/bench.sh

.PHONY: help setup test-static kernel kernel-prefixes test-kernel test-kernel-role test-kernel-deb image test-vm test-policyfs test-fleet test-assess test-team test-experiment test demo experiment bench
