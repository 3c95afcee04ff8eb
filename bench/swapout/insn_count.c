// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * insn_count: a TCG plugin for QEMU's system emulator that counts the guest instructions executed, per
 * virtual CPU, and writes the count each time the guest executes the marker instruction `xchg %bx,%bx`
 * (66 87 db, a no-op that compilers do not emit; bench/swapout/swapout.c executes it right before and
 * right after each swap-out). Under emulation the wall time of a guest varies with the host and with
 * how the emulator happens to translate the guest's code; the number of instructions the guest runs
 * for the same work does not, so bench/swapout/run.sh --insns compares kernels by it.
 *
 * Usage: qemu-system-x86_64 ... -plugin path/libinsn_count.so,out=FILE[,profile=PROFILE]
 * FILE gets one line per marker executed: "mark vcpu=<index> insns=<sum over all vCPUs>".
 * PROFILE, when given, gets at exit one line per translated block executed between a first and a second
 * marker (and a third and a fourth, ...): "<guest address, hex> <instructions> <executions>", which
 * profile.py maps to the guest kernel's symbols (/proc/kallsyms) to show where the instructions go.
 *
 * Counts are per translation block, added by a callback on each vCPU's own counter, so they are exact
 * with several vCPUs (an inline add, the cheaper way, is not atomic across vCPU threads). QEMU 7.2 and
 * later (plugin API version 1 and up); the plugin declares the few API functions it calls, as they are
 * documented in QEMU's docs/devel/tcg-plugins.rst, instead of needing QEMU's source tree to build.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The QEMU plugin API this plugin uses (symbols resolved from the emulator at load time). */
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_info_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
					  enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
					    enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);

#define EXPORT __attribute__((visibility("default")))
EXPORT int qemu_plugin_version = 1;

#define MAX_VCPUS 64
static const unsigned char marker[] = { 0x66, 0x87, 0xdb };

/* One counter per vCPU, each on its own cache line: a vCPU thread only ever adds to its own. */
static struct {
	uint64_t insns;
	char pad[56];
} count[MAX_VCPUS];
static FILE *out;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/* With a profile: one record per translation, and whether the guest is between two markers. */
struct tb_rec {
	uint64_t vaddr;
	uint64_t n_insns;
	uint64_t execs;
	struct tb_rec *next;
};
static const char *profile_path;
static struct tb_rec *recs;
static pthread_mutex_t recs_lock = PTHREAD_MUTEX_INITIALIZER;
static int active;

static void tb_exec(unsigned int vcpu, void *n_insns)
{
	count[vcpu % MAX_VCPUS].insns += (uintptr_t)n_insns;
}

static void tb_exec_profiled(unsigned int vcpu, void *udata)
{
	struct tb_rec *rec = udata;

	count[vcpu % MAX_VCPUS].insns += rec->n_insns;
	if (__atomic_load_n(&active, __ATOMIC_RELAXED))
		__atomic_fetch_add(&rec->execs, 1, __ATOMIC_RELAXED);
}

static uint64_t total(void)
{
	uint64_t sum = 0;

	for (int i = 0; i < MAX_VCPUS; i++)
		sum += __atomic_load_n(&count[i].insns, __ATOMIC_RELAXED);
	return sum;
}

static void mark(unsigned int vcpu, void *unused)
{
	(void)unused;
	pthread_mutex_lock(&out_lock);
	fprintf(out, "mark vcpu=%u insns=%" PRIu64 "\n", vcpu, total());
	fflush(out);
	__atomic_store_n(&active, !active, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&out_lock);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);

	(void)id;
	if (profile_path) {
		struct tb_rec *rec = calloc(1, sizeof(*rec));

		if (!rec)
			abort();
		rec->vaddr = qemu_plugin_tb_vaddr(tb);
		rec->n_insns = n;
		pthread_mutex_lock(&recs_lock);
		rec->next = recs;
		recs = rec;
		pthread_mutex_unlock(&recs_lock);
		qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec_profiled, QEMU_PLUGIN_CB_NO_REGS, rec);
	} else {
		qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)n);
	}
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);

		if (qemu_plugin_insn_size(insn) == sizeof(marker) &&
		    !memcmp(qemu_plugin_insn_data(insn), marker, sizeof(marker)))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, mark, QEMU_PLUGIN_CB_NO_REGS, NULL);
	}
}

static void at_exit(qemu_plugin_id_t id, void *unused)
{
	(void)id;
	(void)unused;
	pthread_mutex_lock(&out_lock);
	fprintf(out, "exit insns=%" PRIu64 "\n", total());
	fclose(out);
	pthread_mutex_unlock(&out_lock);
	if (profile_path) {
		FILE *prof = fopen(profile_path, "w");

		if (!prof) {
			perror(profile_path);
			return;
		}
		pthread_mutex_lock(&recs_lock);
		for (struct tb_rec *rec = recs; rec; rec = rec->next)
			if (rec->execs)
				fprintf(prof, "%" PRIx64 " %" PRIu64 " %" PRIu64 "\n", rec->vaddr, rec->n_insns,
					rec->execs);
		pthread_mutex_unlock(&recs_lock);
		fclose(prof);
	}
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info, int argc, char **argv)
{
	const char *path = NULL;

	(void)info;
	for (int i = 0; i < argc; i++)
		if (!strncmp(argv[i], "out=", 4))
			path = argv[i] + 4;
		else if (!strncmp(argv[i], "profile=", 8))
			profile_path = argv[i] + 8;
	if (!path) {
		fprintf(stderr, "insn_count: usage: -plugin libinsn_count.so,out=FILE[,profile=PROFILE]\n");
		return -1;
	}
	out = fopen(path, "w");
	if (!out) {
		perror(path);
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
