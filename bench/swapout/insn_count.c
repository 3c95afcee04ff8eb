// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * insn_count: a TCG plugin for QEMU's system emulator that counts the guest instructions executed, per
 * virtual CPU, and writes the count each time the guest executes the marker instruction `xchg %bx,%bx`
 * (66 87 db, a no-op that compilers do not emit; bench/swapout/swapout.c executes it right before and
 * right after each swap-out). Under emulation the wall time of a guest varies with the host and with
 * how the emulator happens to translate the guest's code; the number of instructions the guest runs
 * for the same work does not, so bench/swapout/run.sh --insns compares kernels by it.
 *
 * Usage: qemu-system-x86_64 ... -plugin path/libinsn_count.so,out=FILE
 * FILE gets one line per marker executed: "mark vcpu=<index> insns=<sum over all vCPUs>".
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

static void tb_exec(unsigned int vcpu, void *n_insns)
{
	count[vcpu % MAX_VCPUS].insns += (uintptr_t)n_insns;
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
	pthread_mutex_unlock(&out_lock);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);

	(void)id;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)n);
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
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info, int argc, char **argv)
{
	const char *path = NULL;

	(void)info;
	for (int i = 0; i < argc; i++)
		if (!strncmp(argv[i], "out=", 4))
			path = argv[i] + 4;
	if (!path) {
		fprintf(stderr, "insn_count: usage: -plugin libinsn_count.so,out=FILE\n");
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
