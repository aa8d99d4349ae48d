/*
 * _v1fast: old-format (Go <= 1.21) traces straight from the parser's compact store to the
 * TraceColumns rows, without one Python Event per event.
 *
 * A C port of two Python loops, run as one:
 *   - diagnose/read/v1/convert.py (V1Conversion.__iter__/_convert: Go's tracev1.go converter,
 *     old events -> new-model events, with the time fix-up), and the Sync events
 *     reader.V1Reader adds first and last;
 *   - diagnose/timeline/columns.py (_build_from_reader: each new-model event -> one row).
 * Both stay in Python as the reference (NETPOLL_DIAGNOSE_PURE=1, or this module not built);
 * tests/test_read_fast_v1.py checks the columns are identical on every old-format fixture,
 * cut and corrupted variants.
 *
 * Rows name strings and stacks by "refs" (dense, 1-based; 0 = "" / no stack), assigned in
 * first-use order; every first use is appended to a log of (kind, id) pairs (kind SK_*) in
 * the order the reference interns them (main stack, then the string, then a GoCreate's new
 * stack). Python (timeline/kernel_v1.py) replays the log through the reference interning and
 * remaps the columns. Per-type tables (kinds, stack argument indexes, the converter's
 * reasons...) come from Python at each call; constants from the generated header.
 *
 * convert_chunk returns None ("punt") for whatever the reference would answer with something
 * other than rows (an event type the converter rejects, a value past int64): the caller then
 * runs the reference, which gives the reference's outcome by construction. Nothing here
 * changes the store or the order.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../_fastwire_tables.h"

enum { NCOLS = 13 };
enum { C_KIND, C_T, C_G, C_P, C_M, C_STK, C_RK, C_RID, C_SFROM, C_STO, C_S1, C_TSTK, C_VAL };
static const int COL_SIZE[NCOLS] = {1, 8, 8, 8, 8, 4, 1, 8, 1, 1, 4, 4, 8};
enum { NTABLES = 12 };
enum { T_REASON_NEW, T_REASON_STR, T_HAS_STACK, T_STACK_ARG, T_KIND, T_MAIN_STACK, T_NAME_IDX, T_SCOPE_KIND,
       T_SCOPE_SRC, T_STW, T_BUILTIN, T_INLINE };
static const Py_ssize_t TABLE_MIN[NTABLES] = {512, 512, 256, 256, 256, 256, 256, 256, 256, 64, V1_NBUILTIN, 0};
#define EV_SYNC 255
#define U64 ((int64_t)-1)

/* ---------------------------------------------------------------- (int64, int64) -> 2 x int64 map */
typedef struct { int64_t k1, k2, v1, v2; uint8_t used, present; } Slot;
typedef struct { Slot *s; size_t cap, n; } Map;

static inline size_t mix(int64_t a, int64_t b) {
    uint64_t x = (uint64_t)a * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)b + 0x632BE59BD9B4E019ULL);
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ULL;
    return (size_t)(x ^ (x >> 29));
}

static void map_free(Map *m) { free(m->s); m->s = NULL; m->cap = m->n = 0; }

/* The slot of key (k1, k2): found, or the empty one where it would go (NULL: out of memory). */
static Slot *map_slot(Map *m, int64_t k1, int64_t k2) {
    if (2 * (m->n + 1) > m->cap) {
        size_t ncap = m->cap ? 2 * m->cap : 64;
        Slot *ns = calloc(ncap, sizeof(Slot));
        if (!ns) return NULL;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->s[i].used) continue;
            size_t j = mix(m->s[i].k1, m->s[i].k2) & (ncap - 1);
            while (ns[j].used) j = (j + 1) & (ncap - 1);
            ns[j] = m->s[i];
        }
        free(m->s);
        m->s = ns;
        m->cap = ncap;
    }
    size_t j = mix(k1, k2) & (m->cap - 1);
    while (m->s[j].used && !(m->s[j].k1 == k1 && m->s[j].k2 == k2)) j = (j + 1) & (m->cap - 1);
    return &m->s[j];
}

static inline Slot *map_get(Map *m, int64_t k1, int64_t k2) {
    if (!m->cap) return NULL;
    size_t j = mix(k1, k2) & (m->cap - 1);
    while (m->s[j].used) {
        if (m->s[j].k1 == k1 && m->s[j].k2 == k2) return m->s[j].present ? &m->s[j] : NULL;
        j = (j + 1) & (m->cap - 1);
    }
    return NULL;
}

/* Insert or overwrite; returns 0 on out of memory. */
static int map_put(Map *m, int64_t k1, int64_t k2, int64_t v1, int64_t v2) {
    Slot *s = map_slot(m, k1, k2);
    if (!s) return 0;
    if (!s->used) { s->used = 1; s->k1 = k1; s->k2 = k2; m->n++; }
    s->present = 1;
    s->v1 = v1;
    s->v2 = v2;
    return 1;
}

/* ---------------------------------------------------------------- growable int64 vector */
typedef struct { int64_t *v; size_t n, cap; } Vec;
enum { RAW_W = 9 };

static int vec_push(Vec *x, int64_t a) {
    if (x->n == x->cap) {
        size_t ncap = x->cap ? 2 * x->cap : 256;
        int64_t *nv = realloc(x->v, ncap * sizeof(int64_t));
        if (!nv) return 0;
        x->v = nv;
        x->cap = ncap;
    }
    x->v[x->n++] = a;
    return 1;
}

/* ================================================================ the packed store */
/* The parser's store in the compiled path (parser.py Packed): each event in 40 bytes instead of
 * SLOTS int64 (72): its time (int64); G and the four arguments as int32, each either the value
 * or, when its bit of `wide` is set, the index of the value in a side array of int64 (`ovf`:
 * the few values past int32, e.g. a syscall exit's real time in ticks); the stack id (uint32:
 * the decoder masks it to 32 bits), the P (int32: Go's P ids and the fake Ps) and the type
 * (the v1 type, with BLOCKED). Rows are unpacked into the E_* layout where they are read. */
typedef struct { int64_t ts; int32_t v[5]; uint32_t stk; int32_t p; uint16_t type, wide; } PRow;
_Static_assert(sizeof(PRow) == 40, "a packed row is 40 bytes");
_Static_assert(V1_E_TS == 0 && V1_E_G == 1 && V1_E_A0 == 2 && V1_E_A2 == 4 && V1_E_STK == 6 && V1_E_P == 7
               && V1_E_TYPE == 8 && V1_SLOTS == 9, "the packed row follows the E_* layout");
typedef struct { PRow *rows; int64_t *ovf; Py_ssize_t n, novf; } PStore;

/* Event r in the E_* layout; 0 if its side-array index is bad (never, for a store packed here). */
static inline int pload(const PStore *s, int64_t r, int64_t ev[V1_SLOTS]) {
    const PRow *w = &s->rows[r];
    ev[V1_E_TS] = w->ts;
    for (int k = 0; k < 5; k++) {
        int64_t x = w->v[k];
        if (w->wide & (1u << k)) {
            uint32_t i = (uint32_t)w->v[k];
            if ((Py_ssize_t)i >= s->novf) return 0;
            x = s->ovf[i];
        }
        ev[1 + k] = x;
    }
    ev[V1_E_STK] = w->stk;
    ev[V1_E_P] = w->p;
    ev[V1_E_TYPE] = w->type;
    return 1;
}

/* Can slot k of event r take v in place? (G/args: an int32, or a slot already wide) */
static int pset_ok(const PStore *s, int64_t r, int k, int64_t v) {
    if (r < 0 || r >= s->n) return 0;
    switch (k) {
    case V1_E_TS: return 1;
    case V1_E_STK: return v >= 0 && v <= UINT32_MAX;
    case V1_E_P: return v >= INT32_MIN && v <= INT32_MAX;
    case V1_E_TYPE: return v >= 0 && v <= UINT16_MAX;
    default: return (k >= 1 && k <= 5) && ((v >= INT32_MIN && v <= INT32_MAX) || (s->rows[r].wide & (1u << (k - 1))));
    }
}

static void pset(PStore *s, int64_t r, int k, int64_t v) { /* after pset_ok */
    PRow *w = &s->rows[r];
    switch (k) {
    case V1_E_TS: w->ts = v; break;
    case V1_E_STK: w->stk = (uint32_t)v; break;
    case V1_E_P: w->p = (int32_t)v; break;
    case V1_E_TYPE: w->type = (uint16_t)v; break;
    default:
        if (v >= INT32_MIN && v <= INT32_MAX) {
            w->v[k - 1] = (int32_t)v;
            w->wide &= (uint16_t)~(1u << (k - 1));
        } else {
            s->ovf[(uint32_t)w->v[k - 1]] = v;
        }
    }
}

/* The rows and side array of a packed store from two writable buffers (0 + exception if bad). */
static int pstore_get(PStore *s, Py_buffer *rows, Py_buffer *ovf) {
    if (rows->len % (Py_ssize_t)sizeof(PRow) || ovf->len % 8) {
        PyErr_SetString(PyExc_ValueError, "packed store: bad buffer sizes");
        return 0;
    }
    s->rows = rows->buf;
    s->n = rows->len / (Py_ssize_t)sizeof(PRow);
    s->ovf = ovf->buf;
    s->novf = ovf->len / 8;
    return 1;
}

/* pack_rows(wide, ovf_base) -> (rows, side values) | None
 *
 * Events in the E_* layout (int64 each) as packed rows; the values past int32 go to the side
 * array, numbered from ovf_base (its length so far). None: a stack id, P or type the packed row
 * cannot hold (the caller keeps the int64 layout). */
static PyObject *pack_rows(PyObject *self, PyObject *args) {
    Py_buffer wide;
    Py_ssize_t base;
    if (!PyArg_ParseTuple(args, "y*n", &wide, &base)) return NULL;
    PyObject *res = NULL;
    Py_ssize_t n = wide.len / 8 / V1_SLOTS;
    const int64_t *e = wide.buf;
    PyObject *rows_o = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(PRow));
    Vec side = {0};
    if (!rows_o) goto done;
    PRow *rows = (PRow *)PyBytes_AS_STRING(rows_o);
    for (Py_ssize_t i = 0; i < n; i++, e += V1_SLOTS) {
        PRow *w = &rows[i];
        if (e[V1_E_STK] < 0 || e[V1_E_STK] > UINT32_MAX || e[V1_E_P] < INT32_MIN || e[V1_E_P] > INT32_MAX
            || e[V1_E_TYPE] < 0 || e[V1_E_TYPE] > UINT16_MAX) {
            Py_DECREF(rows_o);
            Py_INCREF(Py_None);
            res = Py_None;
            goto done;
        }
        w->ts = e[V1_E_TS];
        w->wide = 0;
        for (int k = 0; k < 5; k++) {
            int64_t x = e[1 + k];
            if (x >= INT32_MIN && x <= INT32_MAX) {
                w->v[k] = (int32_t)x;
            } else {
                Py_ssize_t at = base + (Py_ssize_t)side.n;
                if (at > UINT32_MAX || !vec_push(&side, x)) {
                    Py_DECREF(rows_o);
                    if (at > UINT32_MAX) { Py_INCREF(Py_None); res = Py_None; } else PyErr_NoMemory();
                    goto done;
                }
                w->v[k] = (int32_t)(uint32_t)at;
                w->wide |= (uint16_t)(1u << k);
            }
        }
        w->stk = (uint32_t)e[V1_E_STK];
        w->p = (int32_t)e[V1_E_P];
        w->type = (uint16_t)e[V1_E_TYPE];
    }
    res = Py_BuildValue("(Ny#)", rows_o, (const char *)side.v, (Py_ssize_t)(side.n * sizeof(int64_t)));
done:
    free(side.v);
    PyBuffer_Release(&wide);
    return res;
}

/* unpack_rows(rows, ovf, refs, out) -> None
 *
 * The events numbered `refs` (int64; None: every event in order) of a packed store in the E_*
 * layout, written into `out` (int64, room for them all). */
static PyObject *unpack_rows(PyObject *self, PyObject *args) {
    Py_buffer rows, ovf, out, refs = {0};
    PyObject *refs_o;
    if (!PyArg_ParseTuple(args, "w*w*Ow*", &rows, &ovf, &refs_o, &out)) return NULL;
    PyObject *res = NULL;
    PStore s;
    int have_refs = refs_o != Py_None;
    if (have_refs && PyObject_GetBuffer(refs_o, &refs, PyBUF_SIMPLE) < 0) goto done;
    if (!pstore_get(&s, &rows, &ovf)) goto done;
    Py_ssize_t n = have_refs ? refs.len / 8 : s.n;
    if (out.len / 8 / V1_SLOTS < n) {
        PyErr_SetString(PyExc_ValueError, "unpack_rows: out too small");
        goto done;
    }
    const int64_t *rf = refs.buf;
    int64_t *o = out.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t r = have_refs ? rf[i] : i;
        if (r < 0 || r >= s.n || !pload(&s, r, o + i * V1_SLOTS)) {
            PyErr_SetString(PyExc_ValueError, "unpack_rows: bad event number or side index");
            goto done;
        }
    }
    Py_INCREF(Py_None);
    res = Py_None;
done:
    if (have_refs && refs.obj) PyBuffer_Release(&refs);
    PyBuffer_Release(&rows);
    PyBuffer_Release(&ovf);
    PyBuffer_Release(&out);
    return res;
}

/* ---------------------------------------------------------------- state */
typedef struct {
    const int64_t *tab[NTABLES];
    Py_ssize_t ninline;
    char *col[NCOLS];
    int64_t *raw; /* or NULL: per row its wire form, RAW_W int64 (typ t g p m a0 a1 a2 a3), for the dump */
    Py_ssize_t cap_rows, nrows;
    int64_t last_ts;
    int pre_init;
    int64_t last_stw_reason;
    Map proc_ms, seen_procs, tasks, refs;
    Vec pre_ops; /* (gid, 1 = created | 0 = seen) while pre_init: Go's createdPreInit map */
    Vec log;
    int64_t nref[2]; /* [0]: strings, [1]: stacks */
    int oom;
} St;

enum { OK = 0, PUNT = 1, NOMEM = 2 };

/* The ref of (kind, id), logging its first use. Strings: SK_TABLE 0 is "" (ref 0). */
static int ref_of(St *S, int kind, int64_t id, int32_t *out) {
    if (kind == SK_STACK && id == 0) { *out = 0; return OK; }
    if (kind == SK_TABLE && id == 0) { *out = 0; return OK; }
    Slot *s = map_slot(&S->refs, kind, id);
    if (!s) return NOMEM;
    if (!s->used) {
        int ns = kind == SK_STACK;
        if (S->nref[ns] >= INT32_MAX - 1) return PUNT;
        s->used = s->present = 1;
        s->k1 = kind;
        s->k2 = id;
        s->v1 = ++S->nref[ns];
        S->refs.n++;
        if (!vec_push(&S->log, kind) || !vec_push(&S->log, id)) return NOMEM;
    }
    *out = (int32_t)s->v1;
    return OK;
}

#define PUT(c, T, v) (((T *)S->col[c])[r] = (T)(v))
#define TRY(x) do { int rc_ = (x); if (rc_ != OK) return rc_; } while (0)

/* One new-model event (columns.py _build_from_reader's row, after convert.py's time fix-up). */
static int emit(St *S, int64_t g, int64_t p, int64_t m, int typ, int64_t t, const int64_t a[4], int fixup) {
    if (S->nrows >= S->cap_rows) return PUNT;
    if (fixup) {
        if (t <= S->last_ts) {
            if (S->last_ts == INT64_MAX) return PUNT;
            t = S->last_ts + 1;
        }
        S->last_ts = t;
    }
    Py_ssize_t r = S->nrows++;
    if (S->raw) {
        int64_t *w = S->raw + r * RAW_W;
        w[0] = typ; w[1] = t; w[2] = g; w[3] = p; w[4] = m; w[5] = a[0]; w[6] = a[1]; w[7] = a[2]; w[8] = a[3];
    }
    int kc = (int)S->tab[T_KIND][typ];
    int32_t stk = 0, s1 = 0, tstk = 0;
    int64_t si = S->tab[T_MAIN_STACK][typ];
    if (si > 3) return PUNT;
    if (si >= 0) TRY(ref_of(S, SK_STACK, a[si], &stk));
    int rk = R_NONE, sfrom = 0, sto = 0;
    int64_t rid = -1;
    double val = 0.0;
    if (kc == K_STATE) {
        rk = R_GOROUTINE;
        switch (typ) {
        case EvGoStart: rid = a[0]; sfrom = GS_Runnable; sto = GS_Running; break;
        case EvGoBlock: case EvGoStop:
            rid = g; sfrom = GS_Running; sto = typ == EvGoBlock ? GS_Waiting : GS_Runnable;
            TRY(ref_of(S, SK_TABLE, a[0], &s1));
            tstk = stk;
            break;
        case EvGoUnblock: rid = a[0]; sfrom = GS_Waiting; sto = GS_Runnable; break;
        case EvGoSyscallBegin: rid = g; sfrom = GS_Running; sto = GS_Syscall; tstk = stk; break;
        case EvGoSyscallEnd: rid = g; sfrom = GS_Syscall; sto = GS_Running; break;
        case EvGoSyscallEndBlocked: rid = g; sfrom = GS_Syscall; sto = GS_Runnable; break;
        case EvProcStart: rk = R_PROC; rid = a[0]; sfrom = PS_Idle; sto = PS_Running; break;
        case EvProcStop: rk = R_PROC; rid = p; sfrom = PS_Running; sto = PS_Idle; break;
        case EvProcStatus:
            if ((uint64_t)a[1] >= 5) return PUNT;
            rk = R_PROC; rid = a[0]; sfrom = (int)(a[2] & 0xFF); sto = PROC_STATUS_TO_STATE[a[1]];
            break;
        case EvGoStatus:
            if (((uint64_t)a[2] & 0xFFFFFFFFu) >= 5) return PUNT;
            rid = a[0]; sfrom = (int)((a[2] >> 32) & 0xFF); sto = GO_STATUS_TO_STATE[a[2] & 0xFFFFFFFF];
            tstk = stk;
            break;
        case EvGoCreate:
            rid = a[0]; sfrom = GS_NotExist; sto = GS_Runnable;
            TRY(ref_of(S, SK_STACK, a[1], &tstk));
            break;
        case EvGoDestroy: rid = g; sfrom = GS_Running; sto = GS_NotExist; break;
        default: return PUNT; /* not a type the converter makes */
        }
    } else if (kc == K_METRIC || kc == K_RANGE_BEGIN || kc == K_RANGE_ACTIVE || kc == K_RANGE_END) {
        if (typ == EvSTWBegin || typ == EvSTWEnd) {
            TRY(ref_of(S, SK_STW, a[0], &s1));
            rk = R_GOROUTINE; rid = g;
        } else {
            int64_t ni = S->tab[T_NAME_IDX][typ];
            if (ni < 0) return PUNT;
            TRY(ref_of(S, SK_CONST, ni, &s1));
            if (kc == K_METRIC) {
                val = (double)(uint64_t)a[0];
            } else {
                rk = (int)S->tab[T_SCOPE_KIND][typ];
                int64_t src = S->tab[T_SCOPE_SRC][typ];
                rid = src == SCOPE_G ? g : src == SCOPE_P ? p : 0;
            }
        }
    } else if (kc == K_LABEL) {
        TRY(ref_of(S, SK_TABLE, a[0], &s1));
        rk = R_GOROUTINE; rid = g;
    } else if (kc == K_TASK_BEGIN) {
        TRY(ref_of(S, SK_TABLE, a[2], &s1));
        val = (double)(uint64_t)a[0];
    } else if (kc == K_TASK_END) {
        /* a[3]: the TaskCreate's string id (SK_TASKNAME), or -1 for "" (the task was not seen) */
        if (a[3] != -1) TRY(ref_of(S, SK_TASKNAME, a[3], &s1));
        val = (double)(uint64_t)a[0];
    } else if (kc == K_REGION_BEGIN || kc == K_REGION_END) {
        TRY(ref_of(S, SK_TABLE, a[1], &s1));
        val = (double)(uint64_t)a[0];
    } else if (kc == K_LOG) {
        TRY(ref_of(S, SK_TABLE, a[1], &s1));
        val = (double)(uint64_t)a[0];
    } else if (kc == K_SYNC) {
        val = (double)a[0];
    } else if (kc != K_BAD && kc != K_STACKSAMPLE) {
        return PUNT;
    }
    PUT(C_KIND, uint8_t, kc);
    PUT(C_T, int64_t, t);
    PUT(C_G, int64_t, g);
    PUT(C_P, int64_t, p);
    PUT(C_M, int64_t, m);
    PUT(C_STK, int32_t, stk);
    PUT(C_RK, uint8_t, rk);
    PUT(C_RID, int64_t, rk ? rid : -1);
    PUT(C_SFROM, uint8_t, sfrom);
    PUT(C_STO, uint8_t, sto);
    PUT(C_S1, int32_t, s1);
    PUT(C_TSTK, int32_t, tstk);
    PUT(C_VAL, double, val);
    return OK;
}

static inline int64_t proc_m(St *S, int64_t p, int64_t dflt) {
    Slot *s = map_get(&S->proc_ms, p, 0);
    return s ? s->v1 : dflt;
}

static int cmp_op(const void *x, const void *y) {
    const int64_t *a = x, *b = y;
    if (a[0] != b[0]) return a[0] < b[0] ? -1 : 1;
    return a[2] < b[2] ? -1 : a[2] > b[2];
}

/* Go's createdPreInit at the first EvGomaxprocs: one GoStatus(Runnable) per goroutine still in
 * it, in ID order (convert.py sorts the map's keys). */
static int flush_pre_init(St *S, int64_t ts) {
    size_t n = S->pre_ops.n / 2;
    int64_t *ops = malloc((n ? n : 1) * 3 * sizeof(int64_t));
    if (!ops) return NOMEM;
    for (size_t i = 0; i < n; i++) {
        ops[3 * i] = S->pre_ops.v[2 * i];
        ops[3 * i + 1] = S->pre_ops.v[2 * i + 1];
        ops[3 * i + 2] = (int64_t)i;
    }
    qsort(ops, n, 3 * sizeof(int64_t), cmp_op);
    int rc = OK;
    for (size_t i = 0; i < n && rc == OK; i++) {
        if (i + 1 < n && ops[3 * (i + 1)] == ops[3 * i]) continue; /* a later op on the same G decides */
        if (!ops[3 * i + 1]) continue;
        int64_t a[4] = {ops[3 * i], U64, GoRunnable, 0};
        rc = emit(S, -1, -1, -1, EvGoStatus, ts, a, 1);
    }
    free(ops);
    S->pre_ops.n = 0;
    return rc;
}

static inline int pre_op(St *S, int64_t gid, int created) {
    return vec_push(&S->pre_ops, gid) && vec_push(&S->pre_ops, created) ? OK : NOMEM;
}

/* ProcStart/ProcStop of P p: the new type `seen` (args: p) once the P has been seen, else
 * the P's first event, a ProcStatus(status) (convert.py: seen_procs). */
static int proc_change(St *S, int64_t p, int seen, int64_t status, int *mtyp, int64_t a[4]) {
    a[0] = p;
    a[1] = a[2] = a[3] = 0;
    if (map_get(&S->seen_procs, p, 0)) {
        *mtyp = seen;
        return OK;
    }
    if (!map_put(&S->seen_procs, p, 0, 1, 0)) return NOMEM;
    *mtyp = EvProcStatus;
    a[1] = status;
    return OK;
}

/* convert.py V1Conversion._convert for one old event, emitting what it returns and adds. */
static int convert_one(St *S, const int64_t *ev) {
    int64_t typ = ev[V1_E_TYPE], p = ev[V1_E_P], ts = ev[V1_E_TS], g = ev[V1_E_G], stk = ev[V1_E_STK];
    const int64_t *A = ev + V1_E_A0;
    if (typ < 0 || typ >= 512) return PUNT;
    int64_t rnew = S->tab[T_REASON_NEW][typ];
    if (rnew >= 0) { /* blocking / yielding events: GoBlock or GoStop with a reason */
        int64_t bi = S->tab[T_REASON_STR][typ];
        if (rnew > 255 || bi < 0 || bi >= V1_NBUILTIN) return PUNT;
        int64_t m = p != -1 ? proc_m(S, p, -1) : -1;
        int64_t a[4] = {S->tab[T_BUILTIN][bi], stk, 0, 0};
        return emit(S, g ? g : -1, p, m, (int)rnew, ts, a, 1);
    }
    if (typ == V1_EvGoStart && !S->pre_init) {
        int64_t m = p != -1 ? proc_m(S, p, -1) : -1;
        return emit(S, g ? g : -1, p, m, EvGoStart, ts, A, 1);
    }
    int64_t a[4] = {A[0], A[1], A[2], A[3]};
    int blocked = typ > 0xFF;
    if (blocked) typ &= 0xFF;
    const int64_t *B = S->tab[T_BUILTIN];
    int mtyp;
    switch (typ) {
    case V1_EvGomaxprocs:
        mtyp = EvProcsChange;
        if (S->pre_init) {
            S->pre_init = 0;
            return flush_pre_init(S, ts);
        }
        break;
    case V1_EvProcStart:
        if (!map_put(&S->proc_ms, p, 0, A[0], 0)) return NOMEM;
        TRY(proc_change(S, p, EvProcStart, ProcRunning, &mtyp, a));
        break;
    case V1_EvProcStop:
        TRY(proc_change(S, p, EvProcStop, ProcIdle, &mtyp, a));
        break;
    case V1_EvGCStart: mtyp = EvGCBegin; break;
    case V1_EvGCDone: mtyp = EvGCEnd; break;
    case V1_EvSTWStart: {
        int64_t k = A[0] >= 0 && A[0] < 64 ? S->tab[T_STW][A[0]] : S->tab[T_STW][63];
        if (k < 0 || V1_sSTWUnknown + k >= V1_NBUILTIN) return PUNT;
        int64_t sid = B[V1_sSTWUnknown + k];
        S->last_stw_reason = sid;
        mtyp = EvSTWBegin;
        a[0] = sid; a[1] = a[2] = a[3] = 0;
        break;
    }
    case V1_EvSTWDone:
        mtyp = EvSTWEnd;
        a[0] = S->last_stw_reason; a[1] = a[2] = a[3] = 0;
        break;
    case V1_EvGCSweepStart: mtyp = EvGCSweepBegin; break;
    case V1_EvGCSweepDone: mtyp = EvGCSweepEnd; break;
    case V1_EvGoCreate:
        if (S->pre_init) return pre_op(S, A[0], 1);
        mtyp = EvGoCreate;
        break;
    case V1_EvGoStart: /* pre_init only (above) */
        mtyp = EvGoStatus;
        a[0] = A[0]; a[1] = U64; a[2] = GoRunning; a[3] = 0;
        TRY(pre_op(S, A[0], 0));
        break;
    case V1_EvGoStartLabel: {
        int64_t m = proc_m(S, p, 0);
        int64_t l[4] = {A[2], 0, 0, 0};
        TRY(emit(S, g, p, m, EvGoStart, ts, a, 1));
        return emit(S, g, p, m, EvGoLabel, ts, l, 1);
    }
    case V1_EvGoEnd: mtyp = EvGoDestroy; break;
    case V1_EvGoUnblock: mtyp = EvGoUnblock; break;
    case V1_EvGoSysCall:
        if (blocked) {
            mtyp = EvGoSyscallBegin;
            a[0] = 0; a[1] = stk; a[2] = a[3] = 0;
        } else {
            int64_t m = proc_m(S, p, 0);
            int64_t b[4] = {0, stk, 0, 0}, z[4] = {0, 0, 0, 0};
            if (ts == INT64_MAX) return PUNT;
            TRY(emit(S, g, p, m, EvGoSyscallBegin, ts, b, 1));
            return emit(S, g, p, m, EvGoSyscallEnd, ts + 1, z, 1);
        }
        break;
    case V1_EvGoSysExit: mtyp = EvGoSyscallEndBlocked; break;
    case V1_EvGoSysBlock: return OK;
    case V1_EvGoWaiting:
        mtyp = EvGoStatus;
        a[0] = A[0]; a[1] = U64; a[2] = GoWaiting; a[3] = 0;
        if (S->pre_init) TRY(pre_op(S, A[0], 0));
        break;
    case V1_EvGoInSyscall:
        mtyp = EvGoStatus;
        a[0] = A[0]; a[1] = U64; a[2] = GoSyscall; a[3] = 0;
        if (S->pre_init) TRY(pre_op(S, A[0], 0));
        break;
    case V1_EvHeapAlloc: mtyp = EvHeapAlloc; break;
    case V1_EvHeapGoal: mtyp = EvHeapGoal; break;
    case V1_EvGCMarkAssistStart: mtyp = EvGCMarkAssistBegin; break;
    case V1_EvGCMarkAssistDone: mtyp = EvGCMarkAssistEnd; break;
    case V1_EvUserTaskCreate:
        mtyp = EvUserTaskBegin;
        a[0] = A[0]; a[1] = A[1] == 0 ? U64 : A[1]; a[2] = A[2]; a[3] = stk;
        if (!map_put(&S->tasks, A[0], 0, A[2], A[1])) return NOMEM;
        break;
    case V1_EvUserTaskEnd: {
        mtyp = EvUserTaskEnd;
        Slot *t = map_get(&S->tasks, A[0], 0);
        a[0] = A[0]; a[1] = A[1];
        if (t) { a[2] = t->v2; a[3] = t->v1; t->present = 0; }
        else { a[2] = U64; a[3] = -1; }
        /* the row needs only a[0] and the name (a[3]); no stack argument on this type */
        break;
    }
    case V1_EvUserRegion:
        mtyp = A[1] == 0 ? EvUserRegionBegin : A[1] == 1 ? EvUserRegionEnd : 0;
        a[0] = A[0]; a[1] = A[2]; a[2] = stk; a[3] = 0;
        break;
    case V1_EvUserLog:
        if (A[3] < 0 || A[3] >= S->ninline) return PUNT;
        mtyp = EvUserLog;
        a[0] = A[0]; a[1] = A[1]; a[2] = S->tab[T_INLINE][A[3]]; a[3] = stk;
        break;
    case V1_EvCPUSample:
        mtyp = EvCPUSample;
        a[0] = stk; a[1] = U64; a[2] = p; a[3] = g;
        break;
    default:
        return PUNT; /* convert.py raises ReadError("unexpected event type"): the reference says it */
    }
    if (S->tab[T_HAS_STACK][typ]) {
        int64_t k = S->tab[T_STACK_ARG][mtyp];
        if (k > 3) return PUNT;
        if (k >= 0) {
            if (mtyp == EvUserTaskEnd && k == 3) return PUNT; /* a[3] carries the name here */
            a[k] = stk;
        }
    }
    int64_t m = -1;
    if (p != -1 && typ != V1_EvCPUSample) m = proc_m(S, p, -1);
    if (typ == V1_EvProcStop) {
        Slot *s = map_get(&S->proc_ms, p, 0);
        if (s) s->present = 0;
    }
    return emit(S, g == 0 ? -1 : g, p, m, mtyp, ts, a, 1);
}

/* ---------------------------------------------------------------- Python entry point */
static void release(Py_buffer *b, int n) {
    for (int i = 0; i < n; i++)
        if (b[i].obj) PyBuffer_Release(&b[i]);
}

/* A conversion in progress: the converter's state between chunks of the merged order, and the
 * table buffers it points into (held until the capsule is freed). */
typedef struct {
    St S;
    Py_buffer tabs[NTABLES];
    int ntabs;
    int has_first, started;
} Conv;

static void conv_free(PyObject *cap) {
    Conv *C = PyCapsule_GetPointer(cap, "v1conv");
    if (!C) return;
    release(C->tabs, C->ntabs);
    map_free(&C->S.proc_ms);
    map_free(&C->S.seen_procs);
    map_free(&C->S.tasks);
    map_free(&C->S.refs);
    free(C->S.pre_ops.v);
    free(C->S.log.v);
    free(C);
}

/* convert_start(tables, has_first) -> conversion (a capsule for convert_chunk)
 *
 * tables: NTABLES int64 buffers (see kernel_v1.py _tables); has_first: the trace has events
 * (the opening Sync at first_ts - 1). */
static PyObject *convert_start(PyObject *self, PyObject *args) {
    PyObject *tabs_o;
    int has_first;
    if (!PyArg_ParseTuple(args, "O!p", &PyTuple_Type, &tabs_o, &has_first)) return NULL;
    if (PyTuple_GET_SIZE(tabs_o) != NTABLES) {
        PyErr_SetString(PyExc_ValueError, "convert_start: 12 tables expected");
        return NULL;
    }
    Conv *C = calloc(1, sizeof(Conv));
    if (!C) return PyErr_NoMemory();
    PyObject *cap = PyCapsule_New(C, "v1conv", conv_free);
    if (!cap) { free(C); return NULL; }
    for (int i = 0; i < NTABLES; i++) {
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(tabs_o, i), &C->tabs[i], PyBUF_SIMPLE) < 0) { Py_DECREF(cap); return NULL; }
        C->ntabs++;
        if (C->tabs[i].len / 8 < TABLE_MIN[i]) {
            PyErr_Format(PyExc_ValueError, "convert_start: table %d too short", i);
            Py_DECREF(cap);
            return NULL;
        }
        C->S.tab[i] = C->tabs[i].buf;
        if (i == T_INLINE) C->S.ninline = C->tabs[i].len / 8;
    }
    C->S.last_ts = -1;
    C->S.pre_init = 1;
    C->has_first = has_first;
    return cap;
}

/* convert_chunk(conversion, store, ovf, order, columns, last[, raw]) -> (nrows, last_ts, log) | None
 *
 * The next events of the merged order (`order`: event numbers into the parser's packed store,
 * Trace.store: its rows and side values, see PRow) as rows written into `columns` (13 writable buffers, kind t g p m stk rk rid
 * sfrom sto s1 tstk val in the TraceColumns dtypes, of equal row capacity) from row 0; the
 * first chunk opens with the Sync, the `last` one ends with the closing Sync. log: the (kind,
 * id) int64 pairs of the string and stack refs first used in this chunk. None: the kernel
 * declines the trace (the reference converts it; the conversion must not be continued).
 * raw (the dump): a writable int64 buffer of RAW_W a row that gets each row's event in its wire
 * form, as convert.py's Event has it (typ t g p m args), except a TaskEnd's a3: the string id of
 * its TaskCreate's name, or -1. */
static PyObject *convert_chunk(PyObject *self, PyObject *args) {
    PyObject *cap_o, *store_o, *ovf_o, *order_o, *cols_o, *raw_o = Py_None;
    int last;
    if (!PyArg_ParseTuple(args, "OOOOO!p|O", &cap_o, &store_o, &ovf_o, &order_o, &PyTuple_Type, &cols_o, &last,
                          &raw_o))
        return NULL;
    Conv *C = PyCapsule_GetPointer(cap_o, "v1conv");
    if (!C) return NULL;
    if (PyTuple_GET_SIZE(cols_o) != NCOLS) {
        PyErr_SetString(PyExc_ValueError, "convert_chunk: 13 columns expected");
        return NULL;
    }
    St *S = &C->S;
    Py_buffer bufs[4 + NCOLS];
    memset(bufs, 0, sizeof(bufs));
    int nb = 0;
    PyObject *result = NULL;
    if (PyObject_GetBuffer(store_o, &bufs[nb], PyBUF_WRITABLE) < 0) goto done;
    nb++;
    if (PyObject_GetBuffer(ovf_o, &bufs[nb], PyBUF_WRITABLE) < 0) goto done;
    nb++;
    PStore stv;
    if (!pstore_get(&stv, &bufs[0], &bufs[1])) goto done;
    if (PyObject_GetBuffer(order_o, &bufs[nb], PyBUF_SIMPLE) < 0) goto done;
    nb++;
    Py_ssize_t cap = -1;
    for (int i = 0; i < NCOLS; i++) {
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(cols_o, i), &bufs[nb], PyBUF_WRITABLE) < 0) goto done;
        Py_ssize_t rows = bufs[nb].len / COL_SIZE[i];
        cap = cap < 0 || rows < cap ? rows : cap;
        S->col[i] = bufs[nb].buf;
        nb++;
    }
    S->raw = NULL;
    if (raw_o != Py_None) {
        if (PyObject_GetBuffer(raw_o, &bufs[nb], PyBUF_WRITABLE) < 0) goto done;
        Py_ssize_t rows = bufs[nb].len / 8 / RAW_W;
        cap = rows < cap ? rows : cap;
        S->raw = bufs[nb].buf;
        nb++;
    }
    const int64_t *order = bufs[2].buf;
    Py_ssize_t nstore = stv.n, norder = bufs[2].len / 8;
    int64_t ev[V1_SLOTS];
    S->cap_rows = cap;
    S->nrows = 0;
    S->log.n = 0;
    int rc = OK;
    Py_BEGIN_ALLOW_THREADS
    if (!C->started && C->has_first) {
        if (norder == 0 || order[0] < 0 || order[0] >= nstore) rc = PUNT;
        else {
            int64_t t0 = stv.rows[order[0]].ts;
            int64_t a[4] = {1, 0, 0, 0};
            if (t0 == INT64_MIN) rc = PUNT;
            else rc = emit(S, -1, -1, -1, EV_SYNC, t0 - 1, a, 0);
        }
    }
    C->started = 1;
    for (Py_ssize_t i = 0; i < norder && rc == OK; i++) {
        int64_t e = order[i];
        if (e < 0 || e >= nstore) { rc = PUNT; break; }
        if (!pload(&stv, e, ev)) { rc = PUNT; break; }
        rc = convert_one(S, ev);
    }
    if (rc == OK && last) {
        int64_t a[4] = {C->has_first ? 2 : 1, 0, 0, 0};
        if (S->last_ts == INT64_MAX) rc = PUNT;
        else rc = emit(S, -1, -1, -1, EV_SYNC, S->last_ts + 1, a, 0);
    }
    Py_END_ALLOW_THREADS
    if (rc == NOMEM) {
        PyErr_NoMemory();
    } else if (rc == PUNT) {
        Py_INCREF(Py_None);
        result = Py_None;
    } else {
        PyObject *log = PyBytes_FromStringAndSize((const char *)S->log.v, (Py_ssize_t)(S->log.n * sizeof(int64_t)));
        if (log) result = Py_BuildValue("(nLN)", S->nrows, (long long)S->last_ts, log);
    }
done:
    for (int i = 0; i < NCOLS; i++) S->col[i] = NULL;
    S->raw = NULL;
    release(bufs, nb);
    return result;
}

/* ================================================================ the decoder's plain events */
/* decode_events(data, off, n, last_ts, last_g, last_p, tables, out, refs) -> (off, last_ts, last_g, count, nrefs)
 *
 * parser.py _Decoder.run for the records it handles with no Python object: timed events of a
 * known type (tables: per header type byte & 0x3F, 5 x 64 int64: plain?, argnum, has_stack, gcode,
 * the slot of a string-id argument or -1; built by parser.py from its own tables). Each becomes
 * SLOTS int64 in `out`; the first event of the call naming each string id adds (id, offset, type)
 * to `refs` (Python keeps the first in the file: Decoder.string_refs). Stops -- returning
 * the offset of the record, which Python then reads itself -- at anything else: strings, batches,
 * stacks, the footer, CPU samples, user logs, and every record Python
 * would reject or that needs a value past int64 (so errors and their messages stay Python's),
 * or when `out` or `refs` is full. */
enum { DT_PLAIN = 0, DT_ARGNUM = 64, DT_HASSTACK = 128, DT_GCODE = 192, DT_SREF = 256, DT_LEN = 320 };

/* binary.Uvarint of at most 9 bytes (a value below 2^63) within [*pos, end): 0 if not that */
static inline int uv63(const uint8_t *d, Py_ssize_t end, Py_ssize_t *pos, int64_t *out) {
    uint64_t x = 0;
    for (int i = 0, s = 0; i < 9; i++, s += 7) {
        if (*pos + i >= end) return 0;
        uint8_t b = d[*pos + i];
        if (b < 0x80) {
            *out = (int64_t)(x | ((uint64_t)b << s));
            *pos += i + 1;
            return 1;
        }
        x |= (uint64_t)(b & 0x7F) << s;
    }
    return 0;
}

static PyObject *decode_events(PyObject *self, PyObject *args) {
    Py_buffer data, tabs, out, refs;
    Py_ssize_t off, n;
    long long last_ts_in, last_g_in, last_p_in;
    if (!PyArg_ParseTuple(args, "y*nnLLLy*w*w*", &data, &off, &n, &last_ts_in, &last_g_in, &last_p_in, &tabs, &out,
                          &refs))
        return NULL;
    PyObject *res = NULL;
    Map seen = {0};
    if (tabs.len < DT_LEN * 8 || n > data.len || off < 0) {
        PyErr_SetString(PyExc_ValueError, "decode_events: bad arguments");
        goto done;
    }
    const uint8_t *d = data.buf;
    const int64_t *T = tabs.buf;
    int64_t *o = out.buf;
    Py_ssize_t cap = out.len / (8 * V1_SLOTS), k = 0;
    int64_t *rf = refs.buf;
    Py_ssize_t rcap = refs.len / (8 * 3), nr = 0;
    int64_t last_ts = last_ts_in, last_g = last_g_in, last_p = last_p_in;
    while (off < n && k < cap) {
        Py_ssize_t pos = off;
        uint8_t b = d[pos++];
        int typ = b & 0x3F, narg = (b >> 6) + 1;
        if (!T[DT_PLAIN + typ]) break;
        int64_t a[8];
        int na = 0;
        if (narg <= 3) {
            for (; na < narg; na++)
                if (!uv63(d, n, &pos, &a[na])) goto stop;
        } else {
            int64_t v;
            if (!uv63(d, n, &pos, &v) || v > 2048 || pos + v > n) goto stop;
            Py_ssize_t end = pos + v;
            while (pos < end) {
                if (na == 8 || !uv63(d, end, &pos, &a[na])) goto stop;
                na++;
            }
        }
        if (na != T[DT_ARGNUM + typ]) goto stop;
        if (a[0] > 0 && last_ts > INT64_MAX - a[0]) goto stop; /* Python's ints would go on */
        int64_t *e = o + k * V1_SLOTS;
        int hs = (int)T[DT_HASSTACK + typ];
        int nA = hs ? na - 2 : na - 1;
        if (nA > 4) goto stop;
        e[V1_E_TS] = last_ts + a[0]; /* last_ts itself moves only once the event is taken */
        e[V1_E_G] = last_g;
        for (int i = 0; i < 4; i++) e[V1_E_A0 + i] = i < nA ? a[1 + i] : 0;
        e[V1_E_STK] = hs ? (a[na - 1] & 0xFFFFFFFF) : 0;
        e[V1_E_P] = last_p;
        e[V1_E_TYPE] = typ;
        int64_t sref = T[DT_SREF + typ];
        if (sref >= V1_SLOTS) goto stop;
        if (sref >= 0 && e[sref]) {
            Slot *sl = map_slot(&seen, e[sref], 0);
            if (!sl) { PyErr_NoMemory(); goto done; }
            if (!sl->used) {
                if (nr == rcap) goto stop;
                sl->used = sl->present = 1;
                sl->k1 = e[sref];
                seen.n++;
                rf[3 * nr] = e[sref];
                rf[3 * nr + 1] = off;
                rf[3 * nr + 2] = typ;
                nr++;
            }
        }
        switch (T[DT_GCODE + typ]) {
        case 1: last_g = e[V1_E_A0]; e[V1_E_G] = last_g; break; /* sets the P's current G */
        case 2: last_g = 0; break;                              /* clears it */
        case 3: e[V1_E_G] = e[V1_E_A0]; break;                  /* the event's G from its arg */
        }
        last_ts = e[V1_E_TS];
        k++;
        off = pos;
        continue;
    stop:
        break;
    }
    res = Py_BuildValue("(nLLnn)", off, (long long)last_ts, (long long)last_g, k, nr);
done:
    map_free(&seen);
    PyBuffer_Release(&refs);
    PyBuffer_Release(&data);
    PyBuffer_Release(&tabs);
    PyBuffer_Release(&out);
    return res;
}

/* The end of merge_order / post_process: OK -- apply the buffered store changes (`mods`: index,
 * value pairs) and return 1 (the caller builds the result); PUNT -- *res = None; NOMEM -- raise. */
static int settle(int rc, PStore *st, const Vec *mods, PyObject **res) {
    for (size_t k = 0; rc == OK && k < mods->n; k += 2)
        if (!pset_ok(st, mods->v[k] / V1_SLOTS, (int)(mods->v[k] % V1_SLOTS), mods->v[k + 1])) rc = PUNT;
    if (rc == NOMEM) {
        PyErr_NoMemory();
        return 0;
    }
    if (rc == PUNT) {
        Py_INCREF(Py_None);
        *res = Py_None;
        return 0;
    }
    for (size_t k = 0; k < mods->n; k += 2) pset(st, mods->v[k] / V1_SLOTS, (int)(mods->v[k] % V1_SLOTS), mods->v[k + 1]);
    return 1;
}

/* ================================================================ the merge */
/* merge_order(store, ranges, proc_off, tables, budget, out) -> (n, moved) | None
 *
 * parser.py _merge (Go's parseEventBatches merge loop and its tail) for a trace it can order
 * with no surprise: the per-P queues (`ranges[proc_off[i]:proc_off[i+1]]`: first, end event
 * numbers, the Ps in ID order, then the CPU samples) merged through Go's heap by time, each
 * goroutine-ordered event taken only when its goroutine's state allows, the time-order check
 * and the real times of syscall exits. tables: int64 ocodes[256] (parser._OCODES) then
 * rename[256] (parser._LOCAL_RENAME, -1 when none). On success the store gets the renamed
 * types and moved times, and the order is sorted by time again, stably (`moved` is then 0;
 * 1 would ask the caller to); the order is written into `out` (int64, room for every event:
no copy of it is ever held beside the store), its length is n. Returns
 * None, with the store untouched, for everything else -- a stuck ordering, events out of time
 * order, a bad syscall exit, more scanning than `budget` (Python then parks Ps), an empty range:
 * Python's _merge then does it all, with its warnings and errors. */
typedef struct { int64_t ts, r; int32_t proc; } HEnt;
typedef struct { int64_t key, pos; } KP;

static int cmp_kp(const void *x, const void *y) {
    const KP *a = x, *b = y;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* parser.py _stable_sort_by_time for an order that is sorted but for the `nm` events at
 * positions `mpos` (increasing) whose times moved: those are sorted apart (by time, then
 * position) and merged back, ties going to the earlier position -- a stable sort. */
static int sort_moved(const PStore *st, int64_t *order, Py_ssize_t n, const int64_t *mpos, size_t nm) {
    KP *b = malloc((nm ? nm : 1) * sizeof(KP));
    int64_t *out = malloc((n ? n : 1) * sizeof(int64_t));
    if (!b || !out) { free(b); free(out); return NOMEM; }
    for (size_t k = 0; k < nm; k++) b[k] = (KP){st->rows[order[mpos[k]]].ts, mpos[k]};
    qsort(b, nm, sizeof(KP), cmp_kp);
    Py_ssize_t o = 0, i = 0;
    size_t j = 0, m = 0; /* m: next moved position to skip in the unmoved run */
    while (i < n || j < nm) {
        while (i < n && m < nm && mpos[m] == i) { i++; m++; }
        if (i >= n && j >= nm) break;
        int take_a;
        if (i >= n) take_a = 0;
        else if (j >= nm) take_a = 1;
        else {
            int64_t ka = st->rows[order[i]].ts;
            take_a = ka < b[j].key || (ka == b[j].key && i < b[j].pos);
        }
        if (take_a) out[o++] = order[i++];
        else out[o++] = order[b[j++].pos];
    }
    memcpy(order, out, n * sizeof(int64_t));
    free(b);
    free(out);
    return OK;
}
typedef struct { Py_ssize_t lo, hi, ri; int64_t pos; int done; } Q;

static void heap_up(HEnt *h, Py_ssize_t j) { /* order.py heap_push after the append */
    HEnt x = h[j];
    while (j > 0) {
        Py_ssize_t i = (j - 1) >> 1;
        if (!(x.ts < h[i].ts)) break;
        h[j] = h[i];
        h[i] = x;
        j = i;
    }
}

static HEnt heap_pop_go(HEnt *h, Py_ssize_t len) { /* order.py heap_pop */
    Py_ssize_t n = len - 1;
    HEnt t = h[0];
    h[0] = h[n];
    h[n] = t;
    Py_ssize_t i = 0;
    for (;;) {
        Py_ssize_t j1 = 2 * i + 1;
        if (j1 >= n) break;
        Py_ssize_t j = j1, j2 = j1 + 1;
        if (j2 < n && h[j2].ts < h[j1].ts) j = j2;
        if (!(h[j].ts < h[i].ts)) break;
        t = h[i];
        h[i] = h[j];
        h[j] = t;
        i = j;
    }
    return h[n];
}

#define GARBAGE_G ((int64_t)-2) /* order.GARBAGE (2^64 - 2) as an int64 key: no real G is negative */

static PyObject *merge_order(PyObject *self, PyObject *args) {
    Py_buffer store, ovf, ranges, poff, tabs, out;
    long long budget;
    if (!PyArg_ParseTuple(args, "w*w*y*y*y*Lw*", &store, &ovf, &ranges, &poff, &tabs, &budget, &out)) return NULL;
    PyObject *res = NULL;
    int rc = OK;
    Map gs = {0}, lsb = {0};
    Vec mods = {0}, mpos = {0};
    int64_t *order = NULL;
    int32_t *avail = NULL;
    HEnt *heap = NULL;
    Q *qs = NULL;
    PStore stv, *st = &stv;
    const int64_t *rs = ranges.buf, *po = poff.buf, *OC = tabs.buf, *REN = (const int64_t *)tabs.buf + 256;
    Py_ssize_t nev = 0, nprocs = poff.len / 8 - 1, nrs = ranges.len / 8;
    if (!pstore_get(st, &store, &ovf)) goto done;
    nev = st->n;
    if (tabs.len < 512 * 8 || nprocs < 0) {
        PyErr_SetString(PyExc_ValueError, "merge_order: bad arguments");
        goto done;
    }
    int64_t total = 0;
    Py_ssize_t navail = nprocs, nheap = 0, norder = 0;
    int64_t work = 0, prev = 0;
    int have_prev = 0, moved = 0;
    qs = calloc(nprocs ? nprocs : 1, sizeof(Q));
    avail = malloc((nprocs ? nprocs : 1) * sizeof(int32_t));
    heap = malloc((nprocs ? nprocs : 1) * sizeof(HEnt));
    if (!qs || !avail || !heap) { PyErr_NoMemory(); goto done; }
    for (Py_ssize_t i = 0; i < nprocs; i++) {
        qs[i].lo = po[i];
        qs[i].hi = po[i + 1];
        if (qs[i].lo < 0 || qs[i].hi > nrs || qs[i].lo > qs[i].hi || (qs[i].hi - qs[i].lo) % 2) rc = PUNT;
        for (Py_ssize_t k = qs[i].lo; rc == OK && k < qs[i].hi; k += 2) {
            if (rs[k] < 0 || rs[k] >= rs[k + 1] || rs[k + 1] > nev) rc = PUNT; /* Python fails on an empty one */
            else total += rs[k + 1] - rs[k];
        }
        qs[i].ri = qs[i].lo;
        qs[i].pos = qs[i].lo < qs[i].hi ? rs[qs[i].lo] : 0;
        avail[i] = (int32_t)i;
    }
    if (rc != OK || nprocs > INT32_MAX) { rc = PUNT; goto finish; }
    if (total > out.len / 8) { rc = PUNT; goto finish; }
    order = out.buf;
    Py_BEGIN_ALLOW_THREADS
    for (;;) {
        work += navail;
        if (work > budget) { rc = PUNT; break; } /* Python parks the waiting Ps from here */
        Py_ssize_t i = 0;
        while (i < navail) {
            Q *q = &qs[avail[i]];
            if (q->ri >= q->hi) { /* this P has no more events */
                q->done = 1;
                avail[i] = avail[--navail];
                continue;
            }
            int64_t ev[V1_SLOTS];
            if (!pload(st, q->pos, ev)) { rc = PUNT; break; }
            int64_t typ = ev[V1_E_TYPE];
            if (typ < 0 || typ > 255) { rc = PUNT; break; }
            int oc = (int)OC[typ], ok = 1;
            if (oc) {
                int64_t g = oc == V1_OC_UNBLOCK || oc == V1_OC_UNBLOCK_LOCAL ? ev[V1_E_A0]
                            : oc == V1_OC_CREATE ? ev[V1_E_A0] : oc == V1_OC_GC ? GARBAGE_G : ev[V1_E_G];
                Slot *s = map_get(&gs, g, 0);
                uint64_t cseq = s ? (uint64_t)s->v1 : 0;
                int64_t cst = s ? s->v2 : V1_G_DEAD;
                switch (oc) {
                case V1_OC_BLOCK: case V1_OC_SCHED: ok = cst == V1_G_RUNNING; break;
                case V1_OC_START: ok = cst == V1_G_RUNNABLE && cseq == (uint64_t)ev[V1_E_A1]; break;
                case V1_OC_UNBLOCK: ok = cst == V1_G_WAITING && cseq == (uint64_t)ev[V1_E_A1]; break;
                case V1_OC_START_LOCAL: ok = cst == V1_G_RUNNABLE; break;
                case V1_OC_UNBLOCK_LOCAL: ok = cst == V1_G_WAITING; break;
                case V1_OC_CREATE: ok = cseq == 0 && cst == V1_G_DEAD; break;
                case V1_OC_WAITING: ok = cseq == 1 && cst == V1_G_RUNNABLE; break;
                case V1_OC_GC: ok = cseq == (uint64_t)ev[V1_E_A0] && cst == V1_G_DEAD; break;
                default: rc = PUNT;
                }
                if (rc != OK) break;
            }
            if (!ok) { i++; continue; }
            int64_t r = q->pos;
            if (++q->pos >= rs[q->ri + 1]) {
                q->ri += 2;
                if (q->ri < q->hi) q->pos = rs[q->ri];
            }
            int32_t pi = avail[i];
            avail[i] = avail[--navail];
            heap[nheap] = (HEnt){ev[V1_E_TS], r, pi};
            heap_up(heap, nheap++);
        }
        if (rc != OK) break;
        if (!nheap) {
            for (Py_ssize_t k = 0; k < nprocs; k++)
                if (!qs[k].done) rc = PUNT; /* "no consistent ordering of events possible" */
            break;
        }
        HEnt h = heap_pop_go(heap, nheap--);
        int64_t ev[V1_SLOTS];
        if (!pload(st, h.r, ev)) { rc = PUNT; break; }
        int64_t typ = ev[V1_E_TYPE], ts = h.ts;
        int oc = (int)OC[typ];
        if (oc) { /* Go: transition(gs, stateTransition(ev)) */
            int64_t g;
            uint64_t iseq = 0, nseq = 0;
            int noseq_in = 0, seq_mode = 0; /* seq_mode: 0 = nseq, 1 = keep (NOSEQ), 2 = +1 (SEQINC) */
            int ist, nst;
            switch (oc) {
            case V1_OC_BLOCK: g = ev[V1_E_G]; noseq_in = 1; ist = V1_G_RUNNING; seq_mode = 1; nst = V1_G_WAITING; break;
            case V1_OC_SCHED: g = ev[V1_E_G]; noseq_in = 1; ist = V1_G_RUNNING; seq_mode = 1; nst = V1_G_RUNNABLE; break;
            case V1_OC_START:
                g = ev[V1_E_G]; iseq = (uint64_t)ev[V1_E_A1]; ist = V1_G_RUNNABLE; nseq = iseq + 1; nst = V1_G_RUNNING;
                break;
            case V1_OC_START_LOCAL: g = ev[V1_E_G]; noseq_in = 1; ist = V1_G_RUNNABLE; seq_mode = 2; nst = V1_G_RUNNING; break;
            case V1_OC_UNBLOCK:
                g = ev[V1_E_A0]; iseq = (uint64_t)ev[V1_E_A1]; ist = V1_G_WAITING; nseq = iseq + 1; nst = V1_G_RUNNABLE;
                break;
            case V1_OC_UNBLOCK_LOCAL:
                g = ev[V1_E_A0]; noseq_in = 1; ist = V1_G_WAITING; seq_mode = 2; nst = V1_G_RUNNABLE;
                break;
            case V1_OC_CREATE: g = ev[V1_E_A0]; iseq = 0; ist = V1_G_DEAD; nseq = 1; nst = V1_G_RUNNABLE; break;
            case V1_OC_WAITING: g = ev[V1_E_G]; iseq = 1; ist = V1_G_RUNNABLE; nseq = 2; nst = V1_G_WAITING; break;
            default: /* V1_OC_GC */
                g = GARBAGE_G; iseq = (uint64_t)ev[V1_E_A0]; ist = V1_G_DEAD; nseq = iseq + 1; nst = V1_G_DEAD;
                break;
            }
            Slot *s = map_get(&gs, g, 0);
            uint64_t cseq = s ? (uint64_t)s->v1 : 0;
            int64_t cst = s ? s->v2 : V1_G_DEAD;
            if (!((noseq_in || iseq == cseq) && ist == cst)) { rc = PUNT; break; } /* impossible transition */
            if (seq_mode == 1) nseq = cseq;
            else if (seq_mode == 2) nseq = cseq + 1;
            if (!map_put(&gs, g, 0, (int64_t)nseq, nst)) { rc = NOMEM; break; }
            int64_t nt = REN[typ];
            if (nt >= 0) {
                if (!vec_push(&mods, h.r * V1_SLOTS + V1_E_TYPE) || !vec_push(&mods, nt)) { rc = NOMEM; break; }
                typ = nt;
            }
        }
        /* the tail of parseEventBatches, as events come out (parser.py: `fixing`) */
        if (have_prev && ts < prev) { rc = PUNT; break; } /* out of time order: Python cuts or fails */
        prev = ts;
        have_prev = 1;
        if (typ == V1_EvGoSysBlock || typ == V1_EvGoInSyscall) {
            if (!map_put(&lsb, ev[V1_E_G], 0, ts, 0)) { rc = NOMEM; break; }
        } else if (typ == V1_EvGoSysExit) {
            int64_t t = ev[V1_E_A2];
            if (t != 0) {
                Slot *b = map_get(&lsb, ev[V1_E_G], 0);
                int64_t block = b ? b->v1 : 0;
                if (block == 0 || t < block) { rc = PUNT; break; } /* stray exit / out of order */
                if (t != ts) {
                    if (!vec_push(&mods, h.r * V1_SLOTS + V1_E_TS) || !vec_push(&mods, t)
                        || !vec_push(&mpos, norder)) { rc = NOMEM; break; }
                    moved = 1;
                }
            }
        }
        order[norder++] = h.r;
        avail[navail++] = h.proc;
    }
    Py_END_ALLOW_THREADS
finish:
    if (settle(rc, st, &mods, &res)) {
        if (moved && sort_moved(st, order, norder, mpos.v, mpos.n) != OK) {
            PyErr_NoMemory();
            goto done;
        }
        res = Py_BuildValue("(ni)", norder, 0); /* sorted here */
    }
done:
    map_free(&gs);
    map_free(&lsb);
    free(mods.v);
    free(mpos.v);
    free(avail);
    free(heap);
    free(qs);
    PyBuffer_Release(&store);
    PyBuffer_Release(&ovf);
    PyBuffer_Release(&ranges);
    PyBuffer_Release(&poff);
    PyBuffer_Release(&tabs);
    PyBuffer_Release(&out);
    return res;
}

/* ================================================================ the validation */
/* post_process(store, order, stack_ids, timer_goids) -> (dropped, create_stacks_dropped) | None
 *
 * parser.py _prepared + _post_process (Go's postProcessTrace, and the tail of Parse) over the
 * merged order, for a trace that passes: the goroutine/P/GC/STW/sweep/mark-assist/task/region
 * checks, timers and syscall exits moved to their fake Ps, GC starts to GCP, unblocks of
 * network waits to NetpollP, a goroutine's creation stack given to its first GoStart, stack
 * references that name no stack dropped (counted), GoCreate's missing new-goroutine stacks
 * dropped (counted), and the BLOCKED flag of a GoSysCall whose goroutine's next event is
 * GoSysBlock. The store changes only on success; any failed check returns None (Python then
 * validates the trace itself, with its error or its salvage warning). */
typedef struct { int64_t a0, a2, next; } Region;

static int in_set(Map *m, int64_t k) { return map_get(m, k, 0) != NULL; }

static PyObject *post_process(PyObject *self, PyObject *args) {
    Py_buffer store, ovf, order, sids, timers;
    if (!PyArg_ParseTuple(args, "w*w*y*y*y*", &store, &ovf, &order, &sids, &timers)) return NULL;
    PyObject *res = NULL;
    int rc = OK;
    /* gs: g -> v1 = state | ev_type << 8 | mark_assist << 20, v2 = create stack (has: bit 21) */
    Map gs = {0}, ps = {0}, tasks = {0}, regions = {0}, stacks = {0}, tg = {0}, pending = {0};
    Vec mods = {0}, pool = {0};
    int64_t free_region = -1, dropped = 0, create_dropped = 0;
    PStore stv, *st = &stv;
    const int64_t *ord = order.buf, *sv = sids.buf, *tv = timers.buf;
    Py_ssize_t nev = 0, n = order.len / 8;
    if (!pstore_get(st, &store, &ovf)) goto out;
    nev = st->n;
    for (Py_ssize_t i = 0; i < sids.len / 8; i++)
        if (!map_put(&stacks, sv[i], 0, 1, 0)) rc = NOMEM;
    for (Py_ssize_t i = 0; i < timers.len / 8; i++)
        if (!map_put(&tg, tv[i], 0, 1, 0)) rc = NOMEM;
    if (!map_put(&gs, 0, 0, V1_G_RUNNING | (0xFFll << 8), 0)) rc = NOMEM; /* g0: running, no event */
    int ev_gc = 0, ev_stw = 0;
#define GST(s) ((s) ? (s)->v1 & 0xFF : V1_G_DEAD)
#define MOD(at, v) do { if (!vec_push(&mods, (at)) || !vec_push(&mods, (v))) { rc = NOMEM; goto out; } } while (0)
#define FAIL() do { rc = PUNT; goto out; } while (0)
    for (Py_ssize_t idx = 0; idx < n && rc == OK; idx++) {
        int64_t r = ord[idx];
        if (r < 0 || r >= nev) FAIL();
        int64_t row[V1_SLOTS], ev[V1_SLOTS];
        if (!pload(st, r, row)) FAIL();
        memcpy(ev, row, sizeof(ev));
        int64_t typ = ev[V1_E_TYPE], g = ev[V1_E_G];
        if (typ < 0 || typ > 255) FAIL();
        /* _prepared: timers and syscall exits to their fake Ps */
        if (typ == V1_EvGoUnblock) {
            if (in_set(&tg, g)) ev[V1_E_P] = V1_TimerP;
        } else if (typ == V1_EvGoSysExit) {
            ev[V1_E_P] = V1_SyscallP;
        }
        Slot *gd, *pd;
        switch (typ) {
        case V1_EvGoStart: case V1_EvGoStartLabel: {
            gd = map_get(&gs, g, 0);
            pd = map_get(&ps, ev[V1_E_P], 0);
            if (GST(gd) != V1_G_RUNNABLE || (pd && pd->v2 != 0)) FAIL();
            if (!pd) { if (!map_put(&ps, ev[V1_E_P], 0, 0, 0)) { rc = NOMEM; goto out; } pd = map_get(&ps, ev[V1_E_P], 0); }
            pd->v2 = g;
            int64_t v1 = gd->v1, v2 = gd->v2;
            if (v1 & (1ll << 21)) ev[V1_E_STK] = v2 & 0xFFFFFFFF;
            /* state running, no event type, no creation stack; mark assist kept */
            if (!map_put(&gs, g, 0, V1_G_RUNNING | (0xFFll << 8) | (v1 & (1ll << 20)), 0)) { rc = NOMEM; goto out; }
            break;
        }
        case V1_EvGoSched: case V1_EvGoPreempt:
        case V1_EvGoSleep: case V1_EvGoBlock: case V1_EvGoBlockSend: case V1_EvGoBlockRecv: case V1_EvGoBlockSelect:
        case V1_EvGoBlockSync: case V1_EvGoBlockCond: case V1_EvGoBlockNet: case V1_EvGoBlockGC:
        case V1_EvGoSysCall: case V1_EvGoEnd: case V1_EvGoStop: case V1_EvGoSysBlock: {
            gd = map_get(&gs, g, 0);
            pd = map_get(&ps, ev[V1_E_P], 0);
            if (!(GST(gd) == V1_G_RUNNING && pd && pd->v2 == g && g != 0)) FAIL();
            int64_t v1 = gd->v1, nstate = v1 & 0xFF, ntype = (v1 >> 8) & 0xFF;
            if (typ == V1_EvGoSched || typ == V1_EvGoPreempt) { nstate = V1_G_RUNNABLE; ntype = typ; pd->v2 = 0; }
            else if (typ == V1_EvGoSysCall) ntype = typ;
            else if (typ == V1_EvGoEnd || typ == V1_EvGoStop) {
                nstate = V1_G_DEAD;
                pd->v2 = 0;
                if (typ == V1_EvGoEnd) { /* flush all active regions */
                    Slot *rg = map_get(&regions, g, 0);
                    if (rg) {
                        for (int64_t k = rg->v1; k >= 0;) {
                            int64_t nx = pool.v[3 * k + 2];
                            pool.v[3 * k + 2] = free_region;
                            free_region = k;
                            k = nx;
                        }
                        rg->present = 0;
                    }
                }
            } else if (typ == V1_EvGoSysBlock) { nstate = V1_G_WAITING; pd->v2 = 0; }
            else { nstate = V1_G_WAITING; ntype = typ; pd->v2 = 0; } /* blocking */
            gd->v1 = (v1 & ~0xFFFFll) | nstate | (ntype << 8);
            break;
        }
        case V1_EvProcStart: case V1_EvProcStop: case V1_EvGCSweepStart: case V1_EvGCSweepDone: {
            pd = map_get(&ps, ev[V1_E_P], 0);
            if (!pd) { if (!map_put(&ps, ev[V1_E_P], 0, 0, 0)) { rc = NOMEM; goto out; } pd = map_get(&ps, ev[V1_E_P], 0); }
            /* ps: v1 = running | sweeping << 1, v2 = g */
            if (typ == V1_EvProcStart) { if (pd->v1 & 1) FAIL(); pd->v1 |= 1; }
            else if (typ == V1_EvProcStop) { if (!(pd->v1 & 1) || pd->v2 != 0) FAIL(); pd->v1 &= ~1ll; }
            else if (typ == V1_EvGCSweepStart) { if (pd->v1 & 2) FAIL(); pd->v1 |= 2; }
            else { if (!(pd->v1 & 2)) FAIL(); pd->v1 &= ~2ll; }
            break;
        }
        case V1_EvGCStart: if (ev_gc) FAIL(); ev_gc = 1; ev[V1_E_P] = V1_GCP; break;
        case V1_EvGCDone: if (!ev_gc) FAIL(); ev_gc = 0; break;
        case V1_EvSTWStart: if (ev_stw) FAIL(); ev_stw = 1; break;
        case V1_EvSTWDone: if (!ev_stw) FAIL(); ev_stw = 0; break;
        case V1_EvGCMarkAssistStart: case V1_EvGCMarkAssistDone: {
            gd = map_get(&gs, g, 0);
            int64_t v1 = gd ? gd->v1 : V1_G_DEAD | (0xFFll << 8), v2 = gd ? gd->v2 : 0;
            if (typ == V1_EvGCMarkAssistStart) { if (v1 & (1ll << 20)) FAIL(); v1 |= 1ll << 20; }
            else v1 &= ~(1ll << 20);
            if (!map_put(&gs, g, 0, v1, v2)) { rc = NOMEM; goto out; }
            break;
        }
        case V1_EvGoWaiting: case V1_EvGoInSyscall: {
            gd = map_get(&gs, g, 0);
            if (GST(gd) != V1_G_RUNNABLE) FAIL();
            gd->v1 = (gd->v1 & ~0xFFFFll) | V1_G_WAITING | (typ << 8);
            break;
        }
        case V1_EvGoCreate: {
            gd = map_get(&gs, g, 0);
            pd = map_get(&ps, ev[V1_E_P], 0);
            if (GST(gd) != V1_G_RUNNING || (pd ? pd->v2 : 0) != g) FAIL();
            if (!pd && !map_put(&ps, ev[V1_E_P], 0, 0, 0)) { rc = NOMEM; goto out; }
            if (map_get(&gs, ev[V1_E_A0], 0)) FAIL(); /* already exists */
            if (!map_put(&gs, ev[V1_E_A0], 0, V1_G_RUNNABLE | (typ << 8) | (1ll << 21), ev[V1_E_A1])) { rc = NOMEM; goto out; }
            break;
        }
        case V1_EvGoUnblock: {
            gd = map_get(&gs, g, 0);
            pd = map_get(&ps, ev[V1_E_P], 0);
            if (GST(gd) != V1_G_RUNNING) FAIL();
            if (ev[V1_E_P] != V1_TimerP && (pd ? pd->v2 : 0) != g) FAIL();
            Slot *g1 = map_get(&gs, ev[V1_E_A0], 0);
            if (GST(g1) != V1_G_WAITING) FAIL();
            if (((g1->v1 >> 8) & 0xFF) == V1_EvGoBlockNet) ev[V1_E_P] = V1_NetpollP;
            g1->v1 = (g1->v1 & ~0xFFFFll) | V1_G_RUNNABLE | (typ << 8);
            break;
        }
        case V1_EvGoSysExit: {
            gd = map_get(&gs, g, 0);
            if (GST(gd) != V1_G_WAITING) FAIL();
            gd->v1 = (gd->v1 & ~0xFFFFll) | V1_G_RUNNABLE | (typ << 8);
            break;
        }
        case V1_EvUserTaskCreate:
            if (in_set(&tasks, ev[V1_E_A0])) FAIL(); /* task id conflicts */
            if (!map_put(&tasks, ev[V1_E_A0], 0, 1, 0)) { rc = NOMEM; goto out; }
            break;
        case V1_EvUserTaskEnd: {
            Slot *t = map_get(&tasks, ev[V1_E_A0], 0);
            if (t) t->present = 0;
            break;
        }
        case V1_EvUserRegion: {
            int64_t mode = ev[V1_E_A1];
            Slot *rg = map_get(&regions, g, 0);
            if (mode == 0) {
                int64_t k = free_region;
                if (k >= 0) free_region = pool.v[3 * k + 2];
                else {
                    k = (int64_t)pool.n / 3;
                    if (!vec_push(&pool, 0) || !vec_push(&pool, 0) || !vec_push(&pool, 0)) { rc = NOMEM; goto out; }
                }
                pool.v[3 * k] = ev[V1_E_A0];
                pool.v[3 * k + 1] = ev[V1_E_A2];
                pool.v[3 * k + 2] = rg ? rg->v1 : -1;
                if (!map_put(&regions, g, 0, k, 0)) { rc = NOMEM; goto out; }
            } else if (mode == 1) {
                if (rg) {
                    int64_t k = rg->v1;
                    if (pool.v[3 * k] != ev[V1_E_A0] || pool.v[3 * k + 1] != ev[V1_E_A2]) FAIL(); /* misuse */
                    rg->v1 = pool.v[3 * k + 2];
                    if (rg->v1 < 0) rg->present = 0;
                    pool.v[3 * k + 2] = free_region;
                    free_region = k;
                }
            } else {
                FAIL(); /* invalid user region mode */
            }
            break;
        }
        default: /* Gomaxprocs, HeapAlloc, HeapGoal, UserLog, CPUSample, FutileWakeup...: no check */
            break;
        }
        if (ev[V1_E_STK] != 0 && !in_set(&stacks, ev[V1_E_STK])) { ev[V1_E_STK] = 0; dropped++; }
        /* _prepared's write-back */
        if (ev[V1_E_STK] != row[V1_E_STK]) MOD(r * V1_SLOTS + V1_E_STK, ev[V1_E_STK]);
        if (ev[V1_E_P] != row[V1_E_P]) MOD(r * V1_SLOTS + V1_E_P, ev[V1_E_P]);
        if (typ == V1_EvGoCreate && ev[V1_E_A1] != 0 && !in_set(&stacks, ev[V1_E_A1])) {
            MOD(r * V1_SLOTS + V1_E_A1, 0);
            create_dropped++;
        }
        if (pending.n) {
            Slot *j = map_get(&pending, g, 0);
            if (j) {
                j->present = 0;
                if (typ == V1_EvGoSysBlock) MOD(j->v1 * V1_SLOTS + V1_E_TYPE, V1_EvGoSysCall | V1_BLOCKED);
            }
        }
        if (typ == V1_EvGoSysCall && !map_put(&pending, g, 0, r, 0)) { rc = NOMEM; goto out; }
    }
out:
#undef GST
#undef MOD
#undef FAIL
    if (PyErr_Occurred()) res = NULL;
    else if (settle(rc, st, &mods, &res)) res = Py_BuildValue("(LL)", (long long)dropped, (long long)create_dropped);
    map_free(&gs);
    map_free(&ps);
    map_free(&tasks);
    map_free(&regions);
    map_free(&stacks);
    map_free(&tg);
    map_free(&pending);
    free(mods.v);
    free(pool.v);
    PyBuffer_Release(&store);
    PyBuffer_Release(&ovf);
    PyBuffer_Release(&order);
    PyBuffer_Release(&sids);
    PyBuffer_Release(&timers);
    return res;
}

static PyMethodDef methods[] = {
    {"convert_start", convert_start, METH_VARARGS, "a conversion of an old-format store to rows (see the C source)"},
    {"convert_chunk", convert_chunk, METH_VARARGS, "the next chunk of a conversion as TraceColumns rows (see the C source)"},
    {"decode_events", decode_events, METH_VARARGS, "the decoder's plain timed events (see the C source)"},
    {"merge_order", merge_order, METH_VARARGS, "the merge of the per-P queues (see the C source)"},
    {"post_process", post_process, METH_VARARGS, "the validation of the merged order (see the C source)"},
    {"pack_rows", pack_rows, METH_VARARGS, "events of the int64 store as packed rows (see the C source)"},
    {"unpack_rows", unpack_rows, METH_VARARGS, "packed rows back in the int64 layout (see the C source)"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_v1fast",
                                    "Compiled old-format converter and columns rows (see timeline/kernel_v1.py).",
                                    -1, methods};

PyMODINIT_FUNC PyInit__v1fast(void) {
    (void)GO_STATUS_STR; /* shared header: names the other kernel prints */
    (void)PROC_STATUS_STR;
    return PyModule_Create(&module);
}
