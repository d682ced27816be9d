/*
 * A test double of libcartesi: exports the libcartesi C API of one generation (CM_STUB_API = 19
 * or 21; 20 exports only the version probe) and runs a tiny scripted guest instead of a RISC-V
 * emulator. Numbers, checks, error codes and the thread-local string rules follow the real
 * library so the Rust FFI layer can be tested without it. Stub-only hooks (cm_stub_*) count
 * handle deletions, stores and loads, inject failures and perturb a load. For tests that drive
 * a whole program, two environment variables are read once when the library is loaded:
 * CM_STUB_INJECT arms failures on any handle, "<fn>[=<code>][@<after>],..." (code -6, after 0
 * by default), and CM_STUB_PERTURB_LOAD="<after>" perturbs the load after that many.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef CM_STUB_API
#error "define CM_STUB_API as 19, 20 or 21"
#endif

#define EXPORT __attribute__((visibility("default")))
#define V21 (CM_STUB_API == 21)

typedef int32_t cm_error;

/* ---- thread-local strings ------------------------------------------------------------------ */

static _Thread_local char tl_err[1024];
static _Thread_local char *tl_json;
static _Thread_local size_t tl_json_cap;

/* Scribble the thread's returned strings so a caller reading a stale pointer sees garbage. */
__attribute__((unused)) static void enter(void) {
    memset(tl_err, '#', 255);
    tl_err[255] = 0;
    if (tl_json && tl_json_cap > 0) {
        memset(tl_json, '#', tl_json_cap - 1);
        tl_json[tl_json_cap - 1] = 0;
    }
}

__attribute__((unused)) static cm_error ok(void) {
    tl_err[0] = 0;
    return 0;
}

__attribute__((unused, format(printf, 2, 3))) static cm_error fail(cm_error code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tl_err, sizeof tl_err, fmt, ap);
    va_end(ap);
    return code;
}

EXPORT const char *cm_get_last_error_message(void) { return tl_err; }

#if CM_STUB_API == 20

EXPORT uint64_t cm_get_version(void) { return 20000; }

#else

#define E_INVALID_ARGUMENT (-1)
#define E_LOGIC (-5)
#define E_RUNTIME (-6)
#if V21
#define E_SYSTEM (-6) /* 0.21 has no SYSTEM_ERROR: OS failures surface as RUNTIME_ERROR */
#else
#define E_SYSTEM (-11)
#endif

#define STATE_LEN 4116
#define BUF_LEN ((uint64_t)1 << 21)
#define STEP 1000u
#define MAX_MCYCLES_PER_INPUT (((uint64_t)1 << 48) - 1)
#define ARCHIVE_VERSION (V21 ? 7 : 5)

enum { BR_FAILED, BR_HALTED, BR_MANUAL, BR_AUTOMATIC, BR_SOFT, BR_TARGET, BR_CON_OUT, BR_CON_IN, BR_OVERFLOW };
enum { PH_BOOT, PH_WAIT, PH_RUN, PH_SPIN, PH_HALTED };
enum {
    OP_ACCEPT, OP_REJECT, OP_MALFORMED, OP_EXCEPTION, OP_HALT, OP_REPORT, OP_OUTPUT, OP_BIG,
    OP_SPIN, OP_GIO, OP_I_STATE, OP_I_TWO, OP_I_NONE, OP_I_UNSUPPORTED
};

/* Register indices (cm_reg). */
#define REG_MVENDORID 66
#define REG_MARCHID 67
#define REG_MIMPID 68
#define REG_MCYCLE 69
#define REG_IFLAGS_X 94
#define REG_IFLAGS_Y 95
#define REG_IFLAGS_H 96
#if V21
#define REG_IMCYCLEMAX 98
#define REG_TOHOST 102
#define REG_FROMHOST 103
#define REG_UARCH_CYCLE 140
#else
#define REG_TOHOST 101
#define REG_FROMHOST 102
#define REG_UARCH_CYCLE 139
#endif

static const uint8_t EMPTY_ROOT[32] = {
    0x0a, 0x16, 0x29, 0x46, 0xe5, 0x61, 0x58, 0xba, 0xc0, 0x67, 0x3e, 0x6d, 0xd3, 0xbd, 0xfd, 0xc1,
    0xe4, 0xa0, 0xe7, 0x74, 0x4a, 0x12, 0x0f, 0xdb, 0x64, 0x00, 0x50, 0xc8, 0xd7, 0xab, 0xe1, 0xc6,
};

/* Everything that is hashed and stored. */
struct mstate {
    uint64_t mcycle, imcyclemax, tohost, fromhost, rx_hi, tx_hi;
    uint32_t ix, iy, ih, phase, step, op, partial, pad;
    uint8_t revert[32], acc[32];
    uint8_t gstate[STATE_LEN];
    uint8_t *rx, *tx;
};

typedef struct cm_machine {
    uint64_t serial;
    int destroyed;
    /* The root hash of `s` while it is unchanged (a hash tree is only rehashed where written). */
    int root_valid;
    uint8_t root[32];
    struct mstate s;
    struct mstate initial; /* v21: state as of load or create, for store with NONE/CONFIG */
    char *config;
} cm_machine;

/* ---- global registry, counters and injections --------------------------------------------- */

struct injection {
    const void *m;
    int any;  /* matches every handle (and calls without one) */
    int next; /* waits for the next handle created, then matches that one */
    char fn[64];
    cm_error code;
    char msg[256];
    uint32_t after;
    int active;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_next_serial = 1;
static cm_machine **g_live;
static size_t g_live_len, g_live_cap;
static uint64_t *g_deletes;
static size_t g_deletes_cap;
static uint64_t g_bad_deletes;
static struct injection g_inj[64];
/* Injections armed; read without the lock so that calls skip the table when there is none. */
static uint32_t g_armed;
/* A pending perturbation: after skipping `g_perturb_after` loads, one load changes its state. */
static int g_perturb_armed;
static uint32_t g_perturb_after;

/* Successful cm_store and cm_load_new calls made by the calling thread. */
static _Thread_local uint64_t tl_stores;
static _Thread_local uint64_t tl_loads;

/* Returns a nonzero code (with the message set) if an injected failure fires for this call. */
static cm_error injected(const void *m, const char *fn) {
    cm_error code = 0;
    if (__atomic_load_n(&g_armed, __ATOMIC_ACQUIRE) == 0) return 0;
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; i < sizeof g_inj / sizeof g_inj[0]; i++) {
        struct injection *in = &g_inj[i];
        if (!in->active || in->next || (!in->any && in->m != m) || strcmp(in->fn, fn) != 0)
            continue;
        if (in->after > 0) {
            in->after--;
            break;
        }
        in->active = 0;
        __atomic_fetch_sub(&g_armed, 1, __ATOMIC_RELEASE);
        code = in->code;
        snprintf(tl_err, sizeof tl_err, "%s", in->msg);
        break;
    }
    pthread_mutex_unlock(&g_lock);
    return code;
}

static int is_live_locked(const cm_machine *m) {
    for (size_t i = 0; i < g_live_len; i++)
        if (g_live[i] == m) return 1;
    return 0;
}

static void free_state(struct mstate *s) {
    free(s->rx);
    free(s->tx);
    s->rx = s->tx = NULL;
}

static int alloc_state(struct mstate *s) {
    s->rx = calloc(1, BUF_LEN);
    s->tx = calloc(1, BUF_LEN);
    if (!s->rx || !s->tx) {
        free_state(s);
        return -1;
    }
    return 0;
}

static void copy_state(struct mstate *dst, const struct mstate *src) {
    uint8_t *rx = dst->rx, *tx = dst->tx;
    *dst = *src;
    dst->rx = rx;
    dst->tx = tx;
    memcpy(rx, src->rx, BUF_LEN);
    memcpy(tx, src->tx, BUF_LEN);
}

static cm_machine *new_machine(void) {
    cm_machine *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    if (alloc_state(&m->s) != 0 || (V21 && alloc_state(&m->initial) != 0)) {
        free_state(&m->s);
        free(m);
        return NULL;
    }
    m->s.imcyclemax = UINT64_MAX;
    return m;
}

static void register_machine(cm_machine *m) {
    pthread_mutex_lock(&g_lock);
    m->serial = g_next_serial++;
    if (g_live_len == g_live_cap) {
        g_live_cap = g_live_cap ? 2 * g_live_cap : 16;
        g_live = realloc(g_live, g_live_cap * sizeof *g_live);
    }
    g_live[g_live_len++] = m;
    for (size_t i = 0; i < sizeof g_inj / sizeof g_inj[0]; i++) {
        if (g_inj[i].active && g_inj[i].next) {
            g_inj[i].m = m;
            g_inj[i].next = 0;
        }
    }
    pthread_mutex_unlock(&g_lock);
    if (V21) copy_state(&m->initial, &m->s);
}

/* Whether the armed perturbation fires for this load. */
static int perturb_fires(void) {
    int fire = 0;
    pthread_mutex_lock(&g_lock);
    if (g_perturb_armed) {
        if (g_perturb_after > 0) {
            g_perturb_after--;
        } else {
            g_perturb_armed = 0;
            fire = 1;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return fire;
}

static void free_machine(cm_machine *m) {
    free_state(&m->s);
    free_state(&m->initial);
    free(m->config);
    free(m);
}

/* ---- root hash: four FNV-1a-64 lanes over the serialised state ---------------------------- */

struct hasher {
    uint64_t lane[4];
};

static void h_init(struct hasher *h) {
    static const uint64_t bases[4] = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull,
                                      0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full};
    memcpy(h->lane, bases, sizeof bases);
}

static void h_word(struct hasher *h, uint64_t w) {
    for (int i = 0; i < 4; i++) h->lane[i] = (h->lane[i] ^ (w + (uint64_t)i)) * 0x100000001b3ull;
}

static void h_bytes(struct hasher *h, const uint8_t *p, uint64_t n) {
    uint64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h_word(h, w);
    }
    uint64_t w = 0;
    for (uint64_t j = 0; i + j < n; j++) w |= (uint64_t)p[i + j] << (8 * j);
    h_word(h, w ^ n);
}

static void root_hash(const struct mstate *s, uint8_t out[32]) {
    struct hasher h;
    h_init(&h);
    uint64_t words[] = {s->mcycle, V21 ? s->imcyclemax : 0, s->tohost, s->fromhost, s->ix, s->iy,
                        s->ih, s->phase, s->step, s->op, s->partial};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) h_word(&h, words[i]);
    if (V21) h_bytes(&h, s->revert, 32);
    h_bytes(&h, s->acc, 32);
    h_bytes(&h, s->gstate, STATE_LEN);
    h_bytes(&h, s->rx, BUF_LEN);
    for (int i = 0; i < 4; i++) {
        uint64_t x = h.lane[i];
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 33;
        memcpy(out + 8 * i, &x, 8);
    }
}

/* The root hash of the machine's current state, kept until the state changes. */
static void current_root(const cm_machine *m, uint8_t out[32]) {
    cm_machine *cached = (cm_machine *)m; /* the cache is the stub's own bookkeeping */
    if (!cached->root_valid) {
        root_hash(&m->s, cached->root);
        cached->root_valid = 1;
    }
    memcpy(out, m->root, 32);
}

/* ---- the scripted guest -------------------------------------------------------------------- */

static uint64_t be_word_low(const uint8_t *p, int *high_nonzero) {
    uint64_t v = 0;
    *high_nonzero = 0;
    for (int i = 0; i < 24; i++)
        if (p[i]) *high_nonzero = 1;
    for (int i = 24; i < 32; i++) v = (v << 8) | p[i];
    return v;
}

/* Locates the EvmAdvance payload in RX; returns -1 if malformed. */
static int payload_of(const struct mstate *s, uint64_t len, const uint8_t **p, uint64_t *n) {
    static const uint8_t selector[4] = {0x41, 0x5b, 0xf3, 0x63};
    int hi;
    if (len < 292 || memcmp(s->rx, selector, 4) != 0) return -1;
    if (be_word_low(s->rx + 228, &hi) != 0x100 || hi) return -1;
    uint64_t l = be_word_low(s->rx + 260, &hi);
    if (hi || l > len - 292) return -1;
    *p = s->rx + 292;
    *n = l;
    return 0;
}

static int is_word(const uint8_t *p, uint64_t n, const char *w) {
    return n == strlen(w) && memcmp(p, w, n) == 0;
}

static int starts_with(const uint8_t *p, uint64_t n, const char *w) {
    return n >= strlen(w) && memcmp(p, w, strlen(w)) == 0;
}

static uint32_t classify(const struct mstate *s, uint16_t reason, uint64_t len) {
    const uint8_t *p = s->rx;
    uint64_t n = len;
    if (reason == 0) {
        if (payload_of(s, len, &p, &n) != 0) return OP_MALFORMED;
        if (is_word(p, n, "reject")) return OP_REJECT;
        if (is_word(p, n, "exception")) return OP_EXCEPTION;
        if (is_word(p, n, "halt")) return OP_HALT;
        if (is_word(p, n, "big")) return OP_BIG;
        if (is_word(p, n, "spin")) return OP_SPIN;
        if (is_word(p, n, "gio")) return OP_GIO;
        if (starts_with(p, n, "report")) return OP_REPORT;
        if (starts_with(p, n, "output")) return OP_OUTPUT;
        return OP_ACCEPT;
    }
    if (reason == 1) {
        if (is_word(p, n, "state")) return OP_I_STATE;
        if (is_word(p, n, "two")) return OP_I_TWO;
        if (is_word(p, n, "none")) return OP_I_NONE;
    }
    return OP_I_UNSUPPORTED;
}

static uint64_t yield_word(uint64_t cmd, uint64_t reason, uint64_t data) {
    return ((uint64_t)2 << 56) | (cmd << 48) | (reason << 32) | (data & 0xffffffffull);
}

static void put_tx(struct mstate *s, const uint8_t *p, uint64_t n) {
    memcpy(s->tx, p, n);
    if (n > s->tx_hi) s->tx_hi = n;
}

static uint32_t automatic(struct mstate *s, uint16_t reason, const uint8_t *p, uint64_t n) {
    put_tx(s, p, n);
    s->tohost = yield_word(0, reason, n);
    s->ix = 1;
    return BR_AUTOMATIC;
}

static uint32_t manual(struct mstate *s, uint16_t reason, const uint8_t *p, uint64_t n) {
    put_tx(s, p, n);
    s->tohost = yield_word(1, reason, n);
    s->iy = 1;
    s->phase = PH_WAIT;
    return BR_MANUAL;
}

static void fold_output(struct mstate *s, const uint8_t *p, uint64_t n) {
    struct hasher h;
    h_init(&h);
    h_bytes(&h, s->acc, 32);
    h_bytes(&h, p, n);
    for (int i = 0; i < 4; i++) memcpy(s->acc + 8 * i, &h.lane[i], 8);
}

static uint32_t accept_advance(struct mstate *s, const uint8_t *p, uint64_t n) {
    uint64_t count, total;
    memcpy(&count, s->gstate, 8);
    memcpy(&total, s->gstate + 8, 8);
    count++;
    total += n;
    uint32_t l = n > 4096 ? 4096 : (uint32_t)n;
    memcpy(s->gstate, &count, 8);
    memcpy(s->gstate + 8, &total, 8);
    memcpy(s->gstate + 16, &l, 4);
    memset(s->gstate + 20, 0, 4096);
    memcpy(s->gstate + 20, p, l);
    return manual(s, 1, s->acc, 32);
}

/*
 * What emulating one step costs: a microsecond per 1,000 mcycles, as an emulator running 10^9
 * mcycles per second would (libcartesi 0.19 runs guests some 15-20 times slower than native, a
 * few 10^8 per second). Without it the stub's guest runs for free, and a benchmark against the
 * stub measures nothing but call overhead.
 */
#define STEP_COST_NS 1000

static int64_t monotonic_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void emulate_step(void) {
    int64_t until = monotonic_ns() + STEP_COST_NS;
    while (monotonic_ns() < until) {
    }
}

/* Performs the guest action of the current step; returns a break reason or 0 to go on. */
static uint32_t guest_step(struct mstate *s) {
    static const char exception_msg[] = "test-guest exception";
    uint32_t step = s->step++;
    if (s->phase == PH_BOOT) return manual(s, 1, EMPTY_ROOT, 32);
    if (step == 0) {
        uint32_t permille = 500;
        s->tohost = yield_word(0, 1, permille);
        s->ix = 1;
        return BR_AUTOMATIC;
    }
    const uint8_t *p = s->rx;
    uint64_t n = s->fromhost & 0xffffffffull;
    if (s->op <= OP_GIO) (void)payload_of(s, n, &p, &n);
    switch (s->op) {
    case OP_ACCEPT:
        return accept_advance(s, p, n);
    case OP_REJECT:
        if (step == 1) {
            memset(s->gstate, 0xff, 64);
            return 0;
        }
        return manual(s, 2, NULL, 0);
    case OP_MALFORMED:
        return manual(s, 2, NULL, 0);
    case OP_EXCEPTION:
        return manual(s, 4, (const uint8_t *)exception_msg, sizeof exception_msg - 1);
    case OP_HALT:
        s->tohost = (7u << 1) | 1u;
        s->ih = 1;
        s->phase = PH_HALTED;
        return BR_HALTED;
    case OP_REPORT:
        if (step == 1) return automatic(s, 4, p, n);
        return accept_advance(s, p, n);
    case OP_OUTPUT:
        if (step == 1) {
            fold_output(s, p, n);
            return automatic(s, 2, p, n);
        }
        return accept_advance(s, p, n);
    case OP_BIG:
        if (step == 1) {
            for (uint64_t i = 0; i < BUF_LEN; i++) s->tx[i] = (uint8_t)(i % 251);
            s->tx_hi = BUF_LEN;
            s->tohost = yield_word(0, 4, BUF_LEN);
            s->ix = 1;
            return BR_AUTOMATIC;
        }
        return accept_advance(s, p, n);
    case OP_SPIN:
        s->phase = PH_SPIN;
        return 0;
    case OP_GIO:
        return manual(s, 16, (const uint8_t *)"gio", 3);
    case OP_I_STATE:
        if (step == 1) return automatic(s, 4, s->gstate, STATE_LEN);
        return manual(s, 1, s->acc, 32);
    case OP_I_TWO:
        if (step == 1) return automatic(s, 4, (const uint8_t *)"one", 3);
        if (step == 2) return automatic(s, 4, (const uint8_t *)"two", 3);
        return manual(s, 1, s->acc, 32);
    case OP_I_NONE:
        return manual(s, 1, s->acc, 32);
    default:
        if (step == 1) return automatic(s, 4, (const uint8_t *)"unsupported", 11);
        return manual(s, 1, s->acc, 32);
    }
}

/* ---- handles ------------------------------------------------------------------------------- */

/* Common entry checks for calls on a handle. */
static cm_error check_handle(const cm_machine *m, const char *fn) {
    if (!m) return fail(E_INVALID_ARGUMENT, "invalid machine");
    cm_error code = injected(m, fn);
    if (code) return code;
    if (m->destroyed) return fail(E_LOGIC, "machine is empty");
    return 0;
}

#define ENTER(m, name)                                                                             \
    enter();                                                                                       \
    do {                                                                                           \
        cm_error code_ = check_handle((m), (name));                                                \
        if (code_) return code_;                                                                   \
    } while (0)

EXPORT uint32_t cm_stub_api_version(void) { return CM_STUB_API; }

EXPORT uint64_t cm_stub_serial(const cm_machine *m) {
    pthread_mutex_lock(&g_lock);
    uint64_t serial = is_live_locked(m) ? m->serial : 0;
    pthread_mutex_unlock(&g_lock);
    return serial;
}

EXPORT uint64_t cm_stub_delete_count(uint64_t serial) {
    pthread_mutex_lock(&g_lock);
    uint64_t n = serial < g_deletes_cap ? g_deletes[serial] : 0;
    pthread_mutex_unlock(&g_lock);
    return n;
}

EXPORT uint64_t cm_stub_live_count(void) {
    pthread_mutex_lock(&g_lock);
    uint64_t n = g_live_len;
    pthread_mutex_unlock(&g_lock);
    return n;
}

EXPORT uint64_t cm_stub_bad_delete_count(void) {
    pthread_mutex_lock(&g_lock);
    uint64_t n = g_bad_deletes;
    pthread_mutex_unlock(&g_lock);
    return n;
}

static void add_injection_locked(const cm_machine *m, int any, int next, const char *fn,
                                 int32_t code, const char *msg, uint32_t after) {
    for (size_t i = 0; i < sizeof g_inj / sizeof g_inj[0]; i++) {
        struct injection *in = &g_inj[i];
        if (in->active) continue;
        in->m = m;
        in->any = any;
        in->next = next;
        snprintf(in->fn, sizeof in->fn, "%s", fn ? fn : "");
        in->code = code;
        snprintf(in->msg, sizeof in->msg, "%s", msg ? msg : "");
        in->after = after;
        in->active = 1;
        __atomic_fetch_add(&g_armed, 1, __ATOMIC_RELEASE);
        break;
    }
}

EXPORT void cm_stub_inject(const cm_machine *m, const char *fn, int32_t code, const char *msg,
                           uint32_t after) {
    pthread_mutex_lock(&g_lock);
    add_injection_locked(m, 0, 0, fn, code, msg, after);
    pthread_mutex_unlock(&g_lock);
}

/* Like cm_stub_inject, for the live handle with this serial (ignored if none is live). */
EXPORT void cm_stub_inject_serial(uint64_t serial, const char *fn, int32_t code, const char *msg,
                                  uint32_t after) {
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; i < g_live_len; i++)
        if (g_live[i]->serial == serial)
            add_injection_locked(g_live[i], 0, 0, fn, code, msg, after);
    pthread_mutex_unlock(&g_lock);
}

/* Like cm_stub_inject, for every handle and for calls without one. */
EXPORT void cm_stub_inject_any(const char *fn, int32_t code, const char *msg, uint32_t after) {
    pthread_mutex_lock(&g_lock);
    add_injection_locked(NULL, 1, 0, fn, code, msg, after);
    pthread_mutex_unlock(&g_lock);
}

/* Like cm_stub_inject, for the next handle created (by a load or a create). */
EXPORT void cm_stub_inject_next(const char *fn, int32_t code, const char *msg, uint32_t after) {
    pthread_mutex_lock(&g_lock);
    add_injection_locked(NULL, 0, 1, fn, code, msg, after);
    pthread_mutex_unlock(&g_lock);
}

/* After `after` loads, the next cm_load_new succeeds with a state that differs from the stored
   one (one guest-state byte flipped): a library that does not reproduce what it stored. */
EXPORT void cm_stub_perturb_load(uint32_t after) {
    pthread_mutex_lock(&g_lock);
    g_perturb_armed = 1;
    g_perturb_after = after;
    pthread_mutex_unlock(&g_lock);
}

EXPORT uint64_t cm_stub_store_count(void) { return tl_stores; }

EXPORT uint64_t cm_stub_load_count(void) { return tl_loads; }

/* Arms the failures named by CM_STUB_INJECT ("<fn>[=<code>][@<after>],...") and the
   perturbation of CM_STUB_PERTURB_LOAD ("<after>"). */
__attribute__((constructor)) static void inject_from_environment(void) {
    const char *perturb = getenv("CM_STUB_PERTURB_LOAD");
    if (perturb) cm_stub_perturb_load((uint32_t)strtoul(perturb, NULL, 10));
    const char *spec = getenv("CM_STUB_INJECT");
    if (!spec) return;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        int32_t code = E_RUNTIME;
        uint32_t after = 0;
        char *at = strchr(item, '@');
        if (at) {
            *at = 0;
            after = (uint32_t)strtoul(at + 1, NULL, 10);
        }
        char *eq = strchr(item, '=');
        if (eq) {
            *eq = 0;
            code = (int32_t)strtol(eq + 1, NULL, 10);
        }
        if (*item) cm_stub_inject_any(item, code, "injected by CM_STUB_INJECT", after);
    }
}

EXPORT void cm_delete(cm_machine *m) {
    if (!m) return;
    pthread_mutex_lock(&g_lock);
    size_t i = 0;
    while (i < g_live_len && g_live[i] != m) i++;
    if (i == g_live_len) {
        g_bad_deletes++;
        pthread_mutex_unlock(&g_lock);
        return;
    }
    g_live[i] = g_live[--g_live_len];
    if (m->serial >= g_deletes_cap) {
        size_t cap = g_deletes_cap ? g_deletes_cap : 64;
        while (cap <= m->serial) cap *= 2;
        g_deletes = realloc(g_deletes, cap * sizeof *g_deletes);
        memset(g_deletes + g_deletes_cap, 0, (cap - g_deletes_cap) * sizeof *g_deletes);
        g_deletes_cap = cap;
    }
    g_deletes[m->serial]++;
    pthread_mutex_unlock(&g_lock);
    free_machine(m);
}

EXPORT cm_error cm_destroy(cm_machine *m) {
    ENTER(m, "cm_destroy");
    m->destroyed = 1;
    return ok();
}

#if V21
EXPORT cm_error cm_create_new(const char *config, const char *runtime, const char *dir,
                              cm_machine **out) {
#else
EXPORT cm_error cm_create_new(const char *config, const char *runtime, cm_machine **out) {
    const char *dir = NULL;
#endif
    (void)runtime;
    enter();
    if (!out) return fail(E_INVALID_ARGUMENT, "invalid machine output");
    *out = NULL;
    cm_error code = injected(NULL, "cm_create_new");
    if (code) return code;
    if (!config) return fail(E_INVALID_ARGUMENT, "invalid machine configuration");
    if (dir && *dir) return fail(E_INVALID_ARGUMENT, "stub: creating into a directory is unsupported");
    cm_machine *m = new_machine();
    if (!m) return fail(-16, "out of memory");
    m->config = strdup(config);
    m->s.phase = PH_BOOT;
    memcpy(m->s.acc, EMPTY_ROOT, 32);
    register_machine(m);
    *out = m;
    return ok();
}

EXPORT cm_error cm_set_runtime_config(cm_machine *m, const char *runtime) {
    ENTER(m, "cm_set_runtime_config");
    (void)runtime;
    return ok();
}

static const char *json_out(const char *text) {
    size_t n = strlen(text) + 1;
    if (n > tl_json_cap) {
        free(tl_json);
        tl_json = malloc(n);
        tl_json_cap = tl_json ? n : 0;
        if (!tl_json) return NULL;
    }
    memcpy(tl_json, text, n);
    return tl_json;
}

EXPORT cm_error cm_get_initial_config(const cm_machine *m, const char **config) {
    ENTER(m, "cm_get_initial_config");
    if (!config) return fail(E_INVALID_ARGUMENT, "invalid config output");
    *config = json_out(m->config ? m->config : "{}");
    return *config ? ok() : fail(-16, "out of memory");
}

#if !V21
EXPORT cm_error cm_get_memory_ranges(const cm_machine *m, const char **ranges) {
    ENTER(m, "cm_get_memory_ranges");
    if (!ranges) return fail(E_INVALID_ARGUMENT, "invalid ranges output");
    *ranges = json_out("[]");
    return ok();
}
#endif

EXPORT cm_error cm_read_reg(const cm_machine *m, uint32_t reg, uint64_t *val) {
    ENTER(m, "cm_read_reg");
    if (!val) return fail(E_INVALID_ARGUMENT, "invalid value output");
    const struct mstate *s = &m->s;
    switch (reg) {
    case REG_MVENDORID: *val = 0x6361727465736920ull; break;
    case REG_MARCHID:
    case REG_MIMPID: *val = CM_STUB_API; break;
    case REG_MCYCLE: *val = s->mcycle; break;
    case REG_IFLAGS_X: *val = s->ix; break;
    case REG_IFLAGS_Y: *val = s->iy; break;
    case REG_IFLAGS_H: *val = s->ih; break;
#if V21
    case REG_IMCYCLEMAX: *val = s->imcyclemax; break;
#endif
    case REG_TOHOST: *val = s->tohost; break;
    case REG_FROMHOST: *val = s->fromhost; break;
    case REG_UARCH_CYCLE: *val = 0; break;
    default: return fail(E_INVALID_ARGUMENT, "unknown register");
    }
    return ok();
}

EXPORT cm_error cm_get_root_hash(const cm_machine *m, uint8_t (*hash)[32]) {
    ENTER(m, "cm_get_root_hash");
    if (!hash) return fail(E_INVALID_ARGUMENT, "invalid hash output");
    current_root(m, *hash);
    return ok();
}

#if V21
EXPORT cm_error cm_read_revert_root_hash(const cm_machine *m, uint8_t (*hash)[32]) {
    ENTER(m, "cm_read_revert_root_hash");
    if (!hash) return fail(E_INVALID_ARGUMENT, "invalid hash output");
    memcpy(*hash, m->s.revert, 32);
    return ok();
}
#endif

EXPORT cm_error cm_run(cm_machine *m, uint64_t mcycle_end, uint32_t *break_reason) {
    ENTER(m, "cm_run");
    struct mstate *s = &m->s;
    uint32_t br = BR_TARGET;
    if (mcycle_end < s->mcycle) return fail(E_INVALID_ARGUMENT, "mcycle is past");
    if (V21 && s->mcycle >= s->imcyclemax) br = BR_OVERFLOW;
    else if (s->ih) br = BR_HALTED;
    else if (s->iy) br = BR_MANUAL;
    else if (s->mcycle >= mcycle_end) br = BR_TARGET;
    else {
        m->root_valid = 0;
        s->ix = 0;
        uint64_t end = mcycle_end;
        if (V21 && s->imcyclemax < end) end = s->imcyclemax;
        for (;;) {
            if (s->phase == PH_SPIN) {
                s->mcycle = end;
                break;
            }
            uint64_t need = STEP - s->partial;
            if (end - s->mcycle < need) {
                s->partial += (uint32_t)(end - s->mcycle);
                s->mcycle = end;
                break;
            }
            s->mcycle += need;
            s->partial = 0;
            emulate_step();
            uint32_t r = guest_step(s);
            if (r) {
                br = r;
                goto done;
            }
        }
        br = (V21 && s->mcycle >= s->imcyclemax) ? BR_OVERFLOW : BR_TARGET;
    }
done:
    if (break_reason) *break_reason = br;
    return ok();
}

EXPORT cm_error cm_receive_cmio_request(const cm_machine *m, uint8_t *cmd, uint16_t *reason,
                                        uint8_t *data, uint64_t *length) {
    ENTER(m, "cm_receive_cmio_request");
    const struct mstate *s = &m->s;
    if (!s->ix && !s->iy) return fail(E_RUNTIME, "machine is not yielded");
    if (!length) return fail(E_INVALID_ARGUMENT, "invalid length output");
    uint8_t c = (uint8_t)(s->tohost >> 48);
    uint16_t r = (uint16_t)(s->tohost >> 32);
    uint64_t n = s->tohost & 0xffffffffull;
    uint8_t progress[4];
    const uint8_t *src = s->tx;
    if (c == 0 && r == 1) {
        uint32_t permille = (uint32_t)n;
        memcpy(progress, &permille, 4);
        src = progress;
        n = 4;
    } else if (V21 && n > BUF_LEN) {
        return fail(E_RUNTIME, "CMIO request data is too large");
    }
    int want_data = data != NULL && (!V21 || *length != 0);
    if (want_data) {
        if (*length < n) return fail(E_INVALID_ARGUMENT, "data buffer length is too small");
        memcpy(data, src, n);
    }
    if (cmd) *cmd = c;
    if (reason) *reason = r;
    *length = n;
    return ok();
}

#if V21
EXPORT cm_error cm_send_cmio_response(cm_machine *m, uint16_t reason, const uint8_t *data,
                                      uint64_t length, const uint8_t (*revert_root_hash)[32]) {
    ENTER(m, "cm_send_cmio_response");
    struct mstate *s = &m->s;
    if (!s->iy) return fail(E_INVALID_ARGUMENT, "iflags.Y is not set");
    if (length > BUF_LEN) return fail(E_INVALID_ARGUMENT, "CMIO response data is too large");
    if (reason == 0) {
        if (((s->tohost >> 48) & 0xff) != 1 || ((s->tohost >> 32) & 0xffff) != 1)
            return fail(E_INVALID_ARGUMENT,
                        "machine is not waiting on an rx-accepted manual yield");
        if (!revert_root_hash)
            return fail(E_INVALID_ARGUMENT, "advance-state response requires a revert root hash");
        uint8_t current[32];
        current_root(m, current);
        if (memcmp(current, *revert_root_hash, 32) != 0)
            return fail(E_INVALID_ARGUMENT, "revert root hash does not match the current root hash");
        memcpy(s->revert, *revert_root_hash, 32);
        s->imcyclemax = s->mcycle > UINT64_MAX - MAX_MCYCLES_PER_INPUT
                            ? UINT64_MAX
                            : s->mcycle + MAX_MCYCLES_PER_INPUT;
    } else if (revert_root_hash) {
        return fail(E_INVALID_ARGUMENT,
                    "revert root hash is only accepted for advance-state responses");
    }
#else
EXPORT cm_error cm_send_cmio_response(cm_machine *m, uint16_t reason, const uint8_t *data,
                                      uint64_t length) {
    ENTER(m, "cm_send_cmio_response");
    struct mstate *s = &m->s;
    if (!s->iy) return fail(E_RUNTIME, "iflags.Y is not set");
    if (length > BUF_LEN) return fail(E_RUNTIME, "CMIO response data is too large");
#endif
    if (length > 0) {
        if (!data) return fail(E_INVALID_ARGUMENT, "invalid data");
        uint64_t padded = 32;
        while (padded < length) padded <<= 1;
        memcpy(s->rx, data, length);
        memset(s->rx + length, 0, padded - length);
        if (padded > s->rx_hi) s->rx_hi = padded;
    }
    m->root_valid = 0;
    s->fromhost = ((uint64_t)reason << 32) | length;
    s->iy = 0;
    s->phase = PH_RUN;
    s->step = 0;
    s->partial = 0;
    s->op = classify(s, reason, length);
    return ok();
}

/* Memory reads: every nvram[] entry with label, start and length is a window on the guest state. */
static int find_window(const char *config, uint64_t addr, uint64_t len, uint64_t *offset) {
    const char *p = config ? strstr(config, "\"nvram\"") : NULL;
    if (!p || !(p = strchr(p, '['))) return -1;
    const char *end = strchr(p, ']');
    while (end && (p = strchr(p, '{')) && p < end) {
        const char *close = strchr(p, '}');
        if (!close) return -1;
        const char *label = strstr(p, "\"label\""), *start = strstr(p, "\"start\"");
        const char *length = strstr(p, "\"length\"");
        if (label && start && length && label < close && start < close && length < close) {
            uint64_t s0 = strtoull(strchr(start, ':') + 1, NULL, 0);
            uint64_t l0 = strtoull(strchr(length, ':') + 1, NULL, 0);
            if (addr >= s0 && len <= l0 && addr - s0 <= l0 - len) {
                *offset = addr - s0;
                return 0;
            }
        }
        p = close + 1;
    }
    return -1;
}

EXPORT cm_error cm_read_memory(const cm_machine *m, uint64_t address, uint8_t *data,
                               uint64_t length) {
    ENTER(m, "cm_read_memory");
    uint64_t offset;
    if (length > 0 && !data) return fail(E_INVALID_ARGUMENT, "invalid data buffer");
    if (find_window(m->config, address, length, &offset) != 0)
        return fail(E_INVALID_ARGUMENT, "address range not entirely in memory PMA");
    for (uint64_t i = 0; i < length; i++) {
        uint64_t g = offset + i;
        data[i] = g < STATE_LEN ? m->s.gstate[g] : 0;
    }
    return ok();
}

/* ---- stored machines ----------------------------------------------------------------------- */

#define MAGIC "CMSTUB\x01\x00"

static int write_all(const char *path, const void *p, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            close(fd);
            return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return close(fd);
}

static uint8_t *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap + 1);
    for (;;) {
        if (!buf) break;
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap) break;
        cap *= 2;
        uint8_t *nb = realloc(buf, cap + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
        }
        buf = nb;
    }
    fclose(f);
    if (buf) buf[len] = 0;
    *n = len;
    return buf;
}

struct sink {
    uint8_t *p;
    size_t len, cap;
};

static void put(struct sink *k, const void *p, size_t n) {
    if (k->len + n > k->cap) {
        while (k->len + n > k->cap) k->cap = k->cap ? 2 * k->cap : 65536;
        k->p = realloc(k->p, k->cap);
    }
    memcpy(k->p + k->len, p, n);
    k->len += n;
}

static void serialise(const struct mstate *s, struct sink *k) {
    uint32_t api = CM_STUB_API;
    put(k, MAGIC, 8);
    put(k, &api, 4);
    put(k, s, offsetof(struct mstate, rx));
    put(k, s->rx, s->rx_hi);
    put(k, s->tx, s->tx_hi);
}

static int deserialise(struct mstate *s, const uint8_t *p, size_t n, uint32_t *api) {
    size_t head = offsetof(struct mstate, rx);
    if (n < 12 + head || memcmp(p, MAGIC, 8) != 0) return -1;
    memcpy(api, p + 8, 4);
    uint8_t *rx = s->rx, *tx = s->tx;
    memcpy(s, p + 12, head);
    s->rx = rx;
    s->tx = tx;
    if (s->rx_hi > BUF_LEN || s->tx_hi > BUF_LEN || n != 12 + head + s->rx_hi + s->tx_hi) return -1;
    memset(rx, 0, BUF_LEN);
    memset(tx, 0, BUF_LEN);
    memcpy(rx, p + 12 + head, s->rx_hi);
    memcpy(tx, p + 12 + head + s->rx_hi, s->tx_hi);
    return 0;
}

static void path_join(char *out, size_t cap, const char *dir, const char *name) {
    snprintf(out, cap, "%s/%s", dir, name);
}

static void remove_stored_files(const char *dir) {
    char path[4096];
    const char *names[] = {"config.json", "machine.bin", "hash"};
    for (size_t i = 0; i < 3; i++) {
        path_join(path, sizeof path, dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static cm_error store_state(const cm_machine *m, const struct mstate *s, const char *dir) {
    char path[4096];
    if (!dir || !*dir) return fail(E_INVALID_ARGUMENT, "invalid directory");
    if (mkdir(dir, 0700) != 0)
        return fail(E_SYSTEM, "unable to create directory %s: %s", dir, strerror(errno));
    struct sink k = {0};
    serialise(s, &k);
    const char *cfg = m->config ? m->config : "{}";
    size_t clen = strlen(cfg) + 64;
    char *config = malloc(clen);
    snprintf(config, clen, "{\"archive_version\":%d,\"stub\":true,\"config\":%s}", ARCHIVE_VERSION,
             cfg);
    int rc = 0;
    path_join(path, sizeof path, dir, "machine.bin");
    rc |= write_all(path, k.p, k.len);
    if (!V21 && rc == 0) {
        uint8_t h[32];
        if (s == &m->s) current_root(m, h);
        else root_hash(s, h);
        path_join(path, sizeof path, dir, "hash");
        rc |= write_all(path, h, 32);
    }
    path_join(path, sizeof path, dir, "config.json");
    if (rc == 0) rc |= write_all(path, config, strlen(config));
    free(config);
    free(k.p);
    if (rc != 0) {
        int e = errno;
        if (V21) remove_stored_files(dir); /* 0.19 leaves a partial directory behind */
        return fail(E_SYSTEM, "unable to write stored machine in %s: %s", dir, strerror(e));
    }
    tl_stores++;
    return ok();
}

#if V21
EXPORT cm_error cm_store(const cm_machine *m, const char *dir, uint32_t sharing) {
    ENTER(m, "cm_store");
    if (sharing > 2) return fail(E_INVALID_ARGUMENT, "invalid sharing mode");
    return store_state(m, sharing == 2 ? &m->s : &m->initial, dir);
}
#else
EXPORT cm_error cm_store(const cm_machine *m, const char *dir) {
    ENTER(m, "cm_store");
    return store_state(m, &m->s, dir);
}
#endif

#if V21
EXPORT cm_error cm_load_new(const char *dir, const char *runtime, uint32_t sharing,
                            cm_machine **out) {
    if (sharing > 2) {
        enter();
        return fail(E_INVALID_ARGUMENT, "invalid sharing mode");
    }
#else
EXPORT cm_error cm_load_new(const char *dir, const char *runtime, cm_machine **out) {
#endif
    (void)runtime;
    enter();
    if (!out) return fail(E_INVALID_ARGUMENT, "invalid machine output");
    *out = NULL;
    cm_error code = injected(NULL, "cm_load_new");
    if (code) return code;
    if (!dir) return fail(E_INVALID_ARGUMENT, "invalid directory");
    char path[4096];
    size_t n;
    path_join(path, sizeof path, dir, "config.json");
    char *config = (char *)read_all(path, &n);
    if (!config) return fail(E_SYSTEM, "unable to open %s: %s", path, strerror(errno));
    const char *av = strstr(config, "\"archive_version\":");
    long version = av ? strtol(av + 18, NULL, 10) : -1;
    const char *cfg = strstr(config, "\"config\":");
    char *last = strrchr(config, '}');
    if (version != ARCHIVE_VERSION || !cfg || !last) {
        free(config);
        return fail(E_RUNTIME, "expected \"archive_version\" %d (got %ld)", ARCHIVE_VERSION,
                    version);
    }
    *last = 0;
    char *cfg_copy = strdup(cfg + 9);
    free(config);
    path_join(path, sizeof path, dir, "machine.bin");
    uint8_t *bin = read_all(path, &n);
    if (!bin) {
        free(cfg_copy);
        return fail(E_SYSTEM, "unable to open %s: %s", path, strerror(errno));
    }
    cm_machine *m = new_machine();
    uint32_t api = 0;
    int bad = !m || deserialise(&m->s, bin, n, &api) != 0;
    free(bin);
    if (bad) {
        if (m) free_machine(m);
        free(cfg_copy);
        return fail(E_RUNTIME, "unable to read %s: corrupt stored machine", path);
    }
    m->config = cfg_copy;
    if (api != CM_STUB_API) {
        free_machine(m);
        return fail(E_INVALID_ARGUMENT, "mimpid mismatch, emulator version is incompatible");
    }
    if (!V21) {
        uint8_t stored[32], now[32];
        path_join(path, sizeof path, dir, "hash");
        uint8_t *h = read_all(path, &n);
        current_root(m, now);
        if (h && n == 32) memcpy(stored, h, 32);
        int mismatch = !h || n != 32 || memcmp(stored, now, 32) != 0;
        free(h);
        if (mismatch) {
            free_machine(m);
            return fail(E_RUNTIME, "stored and restored hashes do not match");
        }
    }
    if (perturb_fires()) {
        m->s.gstate[STATE_LEN - 1] ^= 0xff;
        m->root_valid = 0;
    }
    register_machine(m);
    tl_loads++;
    *out = m;
    return ok();
}

#if V21
static void parent_of(const char *dir, char *out, size_t cap) {
    snprintf(out, cap, "%s", dir);
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '/') out[--n] = 0;
    char *slash = strrchr(out, '/');
    if (!slash) snprintf(out, cap, ".");
    else if (slash == out) out[1] = 0;
    else *slash = 0;
}

static int fsync_path(const char *path, int flags) {
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int is_stored(const char *dir) {
    char path[4096];
    path_join(path, sizeof path, dir, "config.json");
    return access(path, R_OK) == 0;
}

EXPORT cm_error cm_sync_stored(const cm_machine *m, const char *dir) {
    (void)m;
    enter();
    cm_error code = injected(NULL, "cm_sync_stored");
    if (code) return code;
    if (!dir || !is_stored(dir)) return fail(E_RUNTIME, "not a stored machine: %s", dir ? dir : "");
    char path[4096];
    const char *names[] = {"config.json", "machine.bin"};
    for (size_t i = 0; i < 2; i++) {
        path_join(path, sizeof path, dir, names[i]);
        if (fsync_path(path, O_RDONLY) != 0)
            return fail(E_RUNTIME, "unable to sync %s: %s", path, strerror(errno));
    }
    parent_of(dir, path, sizeof path);
    if (fsync_path(dir, O_RDONLY | O_DIRECTORY) != 0 || fsync_path(path, O_RDONLY | O_DIRECTORY) != 0)
        return fail(E_RUNTIME, "unable to sync directory %s: %s", dir, strerror(errno));
    return ok();
}

EXPORT cm_error cm_rename_stored(const cm_machine *m, const char *from, const char *to) {
    (void)m;
    enter();
    cm_error code = injected(NULL, "cm_rename_stored");
    if (code) return code;
    if (!from || !to || !is_stored(from))
        return fail(E_RUNTIME, "not a stored machine: %s", from ? from : "");
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) != 0)
        return fail(E_RUNTIME, "unable to rename %s to %s: %s", from, to, strerror(errno));
    char a[4096], b[4096];
    parent_of(to, a, sizeof a);
    parent_of(from, b, sizeof b);
    if (fsync_path(a, O_RDONLY | O_DIRECTORY) != 0 ||
        (strcmp(a, b) != 0 && fsync_path(b, O_RDONLY | O_DIRECTORY) != 0))
        return fail(E_RUNTIME, "unable to sync parent of %s: %s", to, strerror(errno));
    return ok();
}

EXPORT cm_error cm_remove_stored(const cm_machine *m, const char *dir) {
    (void)m;
    enter();
    cm_error code = injected(NULL, "cm_remove_stored");
    if (code) return code;
    if (!dir || !is_stored(dir)) return fail(E_RUNTIME, "not a stored machine: %s", dir ? dir : "");
    char path[4096];
    const char *names[] = {"config.json", "machine.bin"};
    for (size_t i = 0; i < 2; i++) {
        path_join(path, sizeof path, dir, names[i]);
        unlink(path);
    }
    if (rmdir(dir) != 0) return fail(E_RUNTIME, "unable to remove %s: %s", dir, strerror(errno));
    parent_of(dir, path, sizeof path);
    (void)fsync_path(path, O_RDONLY | O_DIRECTORY);
    return ok();
}

EXPORT cm_error cm_clone_stored(const cm_machine *m, const char *from, const char *to) {
    (void)m;
    enter();
    cm_error code = injected(NULL, "cm_clone_stored");
    if (code) return code;
    if (!from || !to || !is_stored(from))
        return fail(E_RUNTIME, "not a stored machine: %s", from ? from : "");
    if (mkdir(to, 0700) != 0)
        return fail(E_RUNTIME, "unable to create directory %s: %s", to, strerror(errno));
    char src[4096], dst[4096];
    const char *names[] = {"config.json", "machine.bin"};
    for (size_t i = 0; i < 2; i++) {
        size_t n;
        path_join(src, sizeof src, from, names[i]);
        path_join(dst, sizeof dst, to, names[i]);
        uint8_t *data = read_all(src, &n);
        int rc = data ? write_all(dst, data, n) : -1;
        free(data);
        if (rc != 0) {
            remove_stored_files(to);
            return fail(E_RUNTIME, "unable to clone %s: %s", from, strerror(errno));
        }
    }
    return ok();
}

EXPORT uint64_t cm_get_version(void) { return 21000; }
#endif

#endif /* CM_STUB_API != 20 */
