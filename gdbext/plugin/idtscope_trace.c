/*
 * idtscope_trace.c - a QEMU TCG plugin that writes one line per interrupt,
 * exception and IRET of an x86 guest, for idtscope to read (docs/trace.md
 * describes the lines).
 *
 *   qemu-system-x86_64 -accel tcg -plugin PATH/idtscope_trace.so,out=trace.txt[,icount=on] ...
 *
 * Interrupts and exceptions come from the discontinuity callback
 * (qemu_plugin_register_vcpu_discon_cb, from QEMU 10.2, plugin API 5, on):
 * it runs once the CPU has pushed its frame and loaded the handler's address,
 * so RSP is the new stack top; the plugin reads RSP and the first three 8-byte
 * slots there (error code, RIP, CS or RIP, CS, RFLAGS: SDM Vol. 3A 6.14.2).
 * IRET/IRETD/IRETQ (opcode CF after any prefixes, SDM Vol. 2A "IRET") are
 * found when a block is translated and get an execution callback that
 * records RSP before the instruction pops its frame.
 *
 * Arguments: out=FILE (required), icount=on (count each vCPU's executed
 * instructions and put the count on every line).
 *
 * It compiles against the qemu-plugin.h of API 5 or 6 (callbacks take the
 * plugin id first) and of API 7 (QEMU 11: callbacks take a userdata pointer
 * last, registrations pass it), whichever QEMU it is built for.
 */

#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <qemu-plugin.h>

#if QEMU_PLUGIN_VERSION < 5
#error "qemu-plugin.h older than API 5: no discontinuity callbacks or register reads"
#endif

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define FORMAT_VERSION 1
#define OUT_BUFFER (1 << 16)
#define FLUSH_NS 50000000ull /* the file follows the guest within 50 ms */
#define SLOT_BYTES 24
#define MAX_PREFIXES 14
#define IRET_OPCODE 0xcf

static FILE *out;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t start_ns;
static uint64_t last_flush_ns;
static struct qemu_plugin_register *rsp_handle;
static struct qemu_plugin_scoreboard *insn_counts;
static qemu_plugin_u64 insn_count;
static bool icount;

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The instruction count column: the vCPU's count, or '-' when icount is off. */
static void format_count(char *buf, size_t len, unsigned int vcpu)
{
    if (icount) {
        snprintf(buf, len, "%" PRIu64, qemu_plugin_u64_get(insn_count, vcpu));
    } else {
        snprintf(buf, len, "-");
    }
}

static void emit(const char *line, uint64_t at)
{
    pthread_mutex_lock(&out_lock);
    if (out == NULL) {
        pthread_mutex_unlock(&out_lock);
        return;
    }
    fputs(line, out);
    if (at - last_flush_ns >= FLUSH_NS) {
        fflush(out);
        last_flush_ns = at;
    }
    pthread_mutex_unlock(&out_lock);
}

/* RSP (ESP on i386) of the current vCPU, or false when it cannot be read here. */
static bool read_rsp(uint64_t *rsp)
{
    GByteArray *buf;
    int size;
    bool ok;

    if (rsp_handle == NULL) {
        return false;
    }
    buf = g_byte_array_new();
#if QEMU_PLUGIN_VERSION >= 6
    ok = qemu_plugin_read_register(rsp_handle, buf);
#else
    ok = qemu_plugin_read_register(rsp_handle, buf) > 0;
#endif
    size = (int)buf->len;
    ok = ok && (size == 4 || size == 8);
    if (ok) {
        *rsp = 0;
        memcpy(rsp, buf->data, (size_t)size);
    }
    g_byte_array_free(buf, TRUE);
    return ok;
}

static void vcpu_init(unsigned int vcpu, void *userdata)
{
    GArray *regs;

    if (rsp_handle != NULL) {
        return;
    }
    regs = qemu_plugin_get_registers();
    for (guint i = 0; i < regs->len; i++) {
        qemu_plugin_reg_descriptor *reg = &g_array_index(regs, qemu_plugin_reg_descriptor, i);
        if (strcmp(reg->name, "rsp") == 0 || strcmp(reg->name, "esp") == 0) {
            rsp_handle = reg->handle;
        }
    }
    g_array_free(regs, TRUE);
}

/* I/E line: the CPU has pushed the frame and jumped to to_pc. */
static void discon(unsigned int vcpu, enum qemu_plugin_discon_type type, uint64_t from_pc, uint64_t to_pc,
                   void *userdata)
{
    char line[256], count[24], stack[96];
    uint64_t at = now_ns();
    uint64_t rsp;

    format_count(count, sizeof(count), vcpu);
    if (read_rsp(&rsp)) {
        GByteArray *slots = g_byte_array_new();
        if (qemu_plugin_read_memory_vaddr(rsp, slots, SLOT_BYTES)) {
            uint64_t slot[3];
            memcpy(slot, slots->data, sizeof(slot));
            snprintf(stack, sizeof(stack), "%" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64, rsp, slot[0], slot[1],
                     slot[2]);
        } else {
            snprintf(stack, sizeof(stack), "%" PRIx64 " - - -", rsp);
        }
        g_byte_array_free(slots, TRUE);
    } else {
        snprintf(stack, sizeof(stack), "- - - -");
    }
    snprintf(line, sizeof(line), "%c %u %" PRIu64 " %s %" PRIx64 " %" PRIx64 " %s\n",
             type == QEMU_PLUGIN_DISCON_INTERRUPT ? 'I' : 'E', vcpu, at - start_ns, count,
             from_pc, to_pc, stack);
    emit(line, at);
}

/* R line: an IRET about to pop the frame at RSP. */
static void iret_exec(unsigned int vcpu, void *userdata)
{
    char line[160], count[24], rsp_text[24];
    uint64_t at = now_ns();
    uint64_t rsp;

    format_count(count, sizeof(count), vcpu);
    if (read_rsp(&rsp)) {
        snprintf(rsp_text, sizeof(rsp_text), "%" PRIx64, rsp);
    } else {
        snprintf(rsp_text, sizeof(rsp_text), "-");
    }
    snprintf(line, sizeof(line), "R %u %" PRIu64 " %s %" PRIx64 " %s\n", vcpu, at - start_ns, count,
             (uint64_t)(uintptr_t)userdata, rsp_text);
    emit(line, at);
}

/* True for IRET in any operand size: legacy and REX prefixes, then CF. */
static bool is_iret(const struct qemu_plugin_insn *insn)
{
    uint8_t bytes[MAX_PREFIXES + 1];
    size_t len = qemu_plugin_insn_data(insn, bytes, sizeof(bytes));

    for (size_t i = 0; i < len; i++) {
        uint8_t b = bytes[i];
        if (b == IRET_OPCODE) {
            return true;
        }
        if (!(b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x26 || b == 0x2e ||
              b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65 || (b & 0xf0) == 0x40)) {
            return false;
        }
    }
    return false;
}

static void tb_trans(struct qemu_plugin_tb *tb, void *userdata)
{
    size_t n = qemu_plugin_tb_n_insns(tb);

    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        if (icount) {
            qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(insn, QEMU_PLUGIN_INLINE_ADD_U64, insn_count, 1);
        }
        if (is_iret(insn)) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, iret_exec, QEMU_PLUGIN_CB_R_REGS,
                                                   (void *)(uintptr_t)qemu_plugin_insn_vaddr(insn));
        }
    }
}

static void vcpu_idle(unsigned int vcpu, void *userdata)
{
    pthread_mutex_lock(&out_lock);
    if (out != NULL) {
        fflush(out);
    }
    last_flush_ns = now_ns();
    pthread_mutex_unlock(&out_lock);
}

static void at_exit(void *userdata)
{
    pthread_mutex_lock(&out_lock);
    fclose(out);
    out = NULL;
    pthread_mutex_unlock(&out_lock);
    if (insn_counts != NULL) {
        qemu_plugin_scoreboard_free(insn_counts);
    }
}

#if QEMU_PLUGIN_VERSION < 7
/* API 5 and 6: the same callbacks with the plugin id first and no userdata. */
static void vcpu_init_v5(qemu_plugin_id_t id, unsigned int vcpu)
{
    vcpu_init(vcpu, NULL);
}

static void discon_v5(qemu_plugin_id_t id, unsigned int vcpu, enum qemu_plugin_discon_type type, uint64_t from_pc,
                      uint64_t to_pc)
{
    discon(vcpu, type, from_pc, to_pc, NULL);
}

static void tb_trans_v5(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    tb_trans(tb, NULL);
}

static void vcpu_idle_v5(qemu_plugin_id_t id, unsigned int vcpu)
{
    vcpu_idle(vcpu, NULL);
}

static void at_exit_v5(qemu_plugin_id_t id, void *userdata)
{
    at_exit(userdata);
}
#endif

static void register_callbacks(qemu_plugin_id_t id)
{
    enum qemu_plugin_discon_type kinds = QEMU_PLUGIN_DISCON_INTERRUPT | QEMU_PLUGIN_DISCON_EXCEPTION;

#if QEMU_PLUGIN_VERSION >= 7
    qemu_plugin_register_vcpu_init_cb(id, vcpu_init, NULL);
    qemu_plugin_register_vcpu_discon_cb(id, kinds, discon, NULL);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans, NULL);
    qemu_plugin_register_vcpu_idle_cb(id, vcpu_idle, NULL);
#else
    qemu_plugin_register_vcpu_init_cb(id, vcpu_init_v5);
    qemu_plugin_register_vcpu_discon_cb(id, kinds, discon_v5);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans_v5);
    qemu_plugin_register_vcpu_idle_cb(id, vcpu_idle_v5);
#endif
#if QEMU_PLUGIN_VERSION >= 7
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
#else
    qemu_plugin_register_atexit_cb(id, at_exit_v5, NULL);
#endif
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    const char *path = NULL;

    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL) {
            fprintf(stderr, "idtscope_trace: argument %s: expected NAME=VALUE\n", argv[i]);
            return -1;
        }
        *eq = '\0';
        if (strcmp(argv[i], "out") == 0) {
            path = eq + 1;
        } else if (strcmp(argv[i], "icount") == 0) {
            if (!qemu_plugin_bool_parse(argv[i], eq + 1, &icount)) {
                fprintf(stderr, "idtscope_trace: icount=%s: expected on or off\n", eq + 1);
                return -1;
            }
        } else {
            fprintf(stderr, "idtscope_trace: unknown argument %s (out=FILE, icount=on|off)\n", argv[i]);
            return -1;
        }
    }
    if (path == NULL) {
        fprintf(stderr, "idtscope_trace: give out=FILE\n");
        return -1;
    }
    if (strcmp(info->target_name, "x86_64") != 0 && strcmp(info->target_name, "i386") != 0) {
        fprintf(stderr, "idtscope_trace: target %s is not x86\n", info->target_name);
        return -1;
    }
    out = fopen(path, "w");
    if (out == NULL) {
        fprintf(stderr, "idtscope_trace: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    setvbuf(out, NULL, _IOFBF, OUT_BUFFER);
    start_ns = now_ns();
    last_flush_ns = start_ns;
    fprintf(out, "# idtscope-trace %d api=%d target=%s vcpus=%d icount=%s\n", FORMAT_VERSION, info->version.cur,
            info->target_name, info->system_emulation ? info->system.smp_vcpus : 1, icount ? "on" : "off");
    fflush(out);
    if (icount) {
        insn_counts = qemu_plugin_scoreboard_new(sizeof(uint64_t));
        insn_count = qemu_plugin_scoreboard_u64(insn_counts);
    }
    register_callbacks(id);
    return 0;
}
