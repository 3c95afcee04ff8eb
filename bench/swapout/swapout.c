// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * swapout: measure the swap-out throughput of one process.
 *
 * Maps SIZE MiB of private anonymous memory, fills every page (with data that compresses about
 * 2:1, like typical heap contents), then asks the kernel to reclaim the whole range with
 * madvise(MADV_PAGEOUT), which writes the pages to swap from this process' context. The time of
 * that call and the growth of VmSwap in /proc/self/status give the throughput. Repeats ROUNDS
 * times (swapping the pages back in between) and prints one line per round:
 *
 *   round=<n> mib=<swapped MiB> seconds=<s> mib_per_s=<throughput>
 *
 * Right before and right after each swap-out it executes the no-op `xchg %bx,%bx`, the marker at which
 * the emulator plugin of `run.sh --insns` (insn_count.c) records the guest's instruction count.
 *
 * Usage: swapout [SIZE_MIB [ROUNDS]]      (defaults: 128 MiB, 5 rounds)
 * Exit status: 0 on success, 1 when the pages were not swapped (no swap, or a policy forbids it),
 * 2 on a usage or system error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

static long vm_swap_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSwap: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* The marker of insn_count.c: a no-op, nothing to do without the plugin. */
static inline void mark(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ volatile(".byte 0x66, 0x87, 0xdb" ::: "memory");
#endif
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Half of each page from a xorshift generator, half zeros: about 2:1 for zram/zswap. */
static void fill(unsigned char *buf, size_t len, size_t page, uint64_t seed)
{
	uint64_t x = seed | 1;

	for (size_t off = 0; off < len; off += page) {
		uint64_t *p = (uint64_t *)(buf + off);

		for (size_t i = 0; i < page / 2 / sizeof(*p); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			p[i] = x;
		}
		memset(buf + off + page / 2, 0, page / 2);
	}
}

int main(int argc, char **argv)
{
	long size_mib = argc > 1 ? strtol(argv[1], NULL, 10) : 128;
	long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 5;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len;
	unsigned char *buf;
	int failed = 0;

	if (size_mib <= 0 || rounds <= 0) {
		fprintf(stderr, "usage: %s [SIZE_MIB [ROUNDS]]\n", argv[0]);
		return 2;
	}
	len = (size_t)size_mib << 20;
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	/* Small pages only: a THP would be split on the way out and blur the measurement. */
	madvise(buf, len, MADV_NOHUGEPAGE);

	for (long r = 1; r <= rounds; r++) {
		long before, after;
		double t0, dt, mib;

		fill(buf, len, page, (uint64_t)r * 0x9e3779b97f4a7c15ULL);
		before = vm_swap_kib();
		t0 = now();
		mark();
		if (madvise(buf, len, MADV_PAGEOUT)) {
			fprintf(stderr, "madvise(MADV_PAGEOUT): %s\n", strerror(errno));
			return 2;
		}
		mark();
		dt = now() - t0;
		after = vm_swap_kib();
		mib = (after - before) / 1024.0;
		printf("round=%ld mib=%.1f seconds=%.4f mib_per_s=%.1f\n", r, mib, dt, dt > 0 ? mib / dt : 0);
		fflush(stdout);
		if (mib < size_mib * 0.5)
			failed = 1;
		/* Fault everything back in (and free the swap slots) before the next round. */
		madvise(buf, len, MADV_POPULATE_WRITE);
	}
	munmap(buf, len);
	return failed;
}
