// SPDX-License-Identifier: GPL-2.0
/*
 * Workloads of the experiments (experiments/, make experiment) and of the
 * memory priority benchmark (bench/mem_priority/run.sh).
 *
 *   memload service MB   a latency-sensitive service: touches MB of anonymous
 *                        memory once, then serves "requests" (64 random pages
 *                        read and written each), printing once a second
 *                        "t=<s> requests=<n> p50_us=<..> p99_us=<..>"
 *   memload batch MB     a batch job: writes MB of anonymous memory, then
 *                        sweeps it sequentially forever (one byte written per
 *                        page), printing once a second "t=<s> mb_per_s=<..>"
 *   memload hold MB      writes MB of anonymous memory and keeps it
 *
 * Each runs until killed. The data is random enough that zram cannot
 * store it as same-filled pages.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define REQ_PAGES 64
#define MAX_REQS 200000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static char *fill(size_t size)
{
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t off;

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	madvise(p, size, MADV_NOHUGEPAGE);
	for (off = 0; off < size; off += sizeof(uint64_t))
		*(uint64_t *)(p + off) = (off & 4095) < 2048 ? next() : 0;
	return p;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void service(char *p, size_t pages)
{
	static double lat[MAX_REQS];
	double start = now(), tick = start + 1;
	unsigned long n = 0;
	volatile uint64_t sink = 0;

	for (;;) {
		double t0 = now();
		int i;

		for (i = 0; i < REQ_PAGES; i++) {
			char *pg = p + (next() % pages) * PAGE;

			sink += *(uint64_t *)pg;
			pg[8]++;
		}
		if (n < MAX_REQS)
			lat[n] = (now() - t0) * 1e6;
		n++;
		if (now() >= tick) {
			unsigned long m = n < MAX_REQS ? n : MAX_REQS;

			qsort(lat, m, sizeof(lat[0]), cmp);
			printf("t=%.0f requests=%lu p50_us=%.0f p99_us=%.0f\n",
			       tick - start, n, lat[m / 2], lat[m * 99 / 100]);
			fflush(stdout);
			n = 0;
			tick += 1;
		}
	}
}

static void batch(char *p, size_t size)
{
	double start = now(), last = start, t;
	unsigned long pages = 0;
	size_t off;

	for (;;) {
		for (off = 0; off < size; off += PAGE) {
			p[off]++;
			/* the clock is read every 256 pages (1 MiB) only */
			if (++pages % 256)
				continue;
			t = now();
			if (t < last + 1)
				continue;
			printf("t=%.0f mb_per_s=%.1f\n", t - start,
			       pages * PAGE / 1048576.0 / (t - last));
			fflush(stdout);
			pages = 0;
			last = t;
		}
	}
}

int main(int argc, char **argv)
{
	size_t size;
	char *p;

	if (argc != 3) {
		fprintf(stderr, "usage: memload service|batch|hold MB\n");
		return 2;
	}
	size = strtoul(argv[2], NULL, 10) << 20;
	p = fill(size);
	if (!strcmp(argv[1], "service"))
		service(p, size / PAGE);
	if (!strcmp(argv[1], "batch"))
		batch(p, size);
	for (;;)
		pause();
}
