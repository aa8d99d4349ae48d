/*
 * _fastwire: the compiled per-event kernel of netpoll-diagnose's trace reader.
 *
 * A C port of the per-event part of diagnose/read (itself a port of Go 1.27.3's
 * internal/trace): batch decoding (wire.decode_batch_events), the per-M cursors and their
 * min-heap (batchcursor.py), the frontier loop of Reader.iter_events/_read_event with CPU
 * sample injection and the slow path (slices.SortFunc, sorting.py), the ordering and
 * validation state machine (order.py: goroutine/proc/thread states, sequence numbers,
 * GoStatus at generation starts, ProcSteal, ranges, tasks, regions, GC), validateTableIDs
 * and the time fix-up. Every event Go's Reader would return becomes one row of the
 * TraceColumns arrays (diagnose/timeline/columns.py: the same values build_columns computes
 * from the Python events), written straight into growable C buffers.
 *
 * What stays in Python (diagnose/read/fast.py): reading batches and the per-generation
 * tables with the reference code (generation.py: a few thousand batches), the generation
 * control flow (syncs, spill, truncation), and interning the strings and stacks the rows
 * refer to (per distinct item, in first-use order, logged here).
 *
 * Rows refer to strings and stacks by "refs": stk/tstk hold (generation stack base + dense
 * index + 1), s1 holds 2*cid (+1 for "stop-the-world (<s>)"), where cid is a content id
 * Python assigns to each distinct string. The first use of each ref is appended to a log
 * in row order; Python interns in that order and finally remaps the columns (remap()).
 *
 * Status of run()/load_gen(): 0 done, 1 error (see error(): Go's message and offset, as the
 * reference raises it), 2 "punt": a case where the reference would raise something other
 * than a trace error (a KeyError on a table it never validated...), or that int64 cannot
 * model (a corrupt timestamp beyond 2^63 ns: Python's ints have no limit); the caller then
 * uses the reference reader, which gives exactly the reference's outcome.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

/* ---------------------------------------------------------------- constants */
/* Every constant shared with Python comes from the generated header (event types, statuses,
 * state codes, column codes, result codes): tools/gen_fastwire_header.py writes it from the
 * Python definitions, and a test fails when it is stale. */
#include "_fastwire_tables.h"
enum { EV_SYNC = 255 };  /* the kernel's own pseudo type for a generation's Sync event */
#define NO_TASK UINT64_MAX

/* internal handler results */
#define H_NO 0
#define H_YES 1
#define H_ERR (-1)
#define H_PUNT (-2)
/* Every punt records its source line (reported by error() as the message "punt at line N"). */
#define PUNT(E) ((E)->punt_line = __LINE__, H_PUNT)


/* ---------------------------------------------------------------- int64 -> int32 hash map */
typedef struct {
    int64_t *keys;
    int32_t *vals;
    uint8_t *used;
    size_t cap, n;
} HMap;

static inline size_t hm_slot(int64_t k, size_t cap) {
    uint64_t h = (uint64_t)k * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
    return (size_t)h & (cap - 1);
}

static int hm_init(HMap *m, size_t want) {
    size_t cap = 16;
    while (cap < want * 2) cap <<= 1;
    m->keys = (int64_t *)malloc(cap * sizeof(int64_t));
    m->vals = (int32_t *)malloc(cap * sizeof(int32_t));
    m->used = (uint8_t *)calloc(cap, 1);
    m->cap = cap;
    m->n = 0;
    if (!m->keys || !m->vals || !m->used) return -1;
    return 0;
}

static void hm_free(HMap *m) {
    free(m->keys); free(m->vals); free(m->used);
    m->keys = NULL; m->vals = NULL; m->used = NULL; m->cap = m->n = 0;
}

static inline int32_t *hm_get(const HMap *m, int64_t k) {
    size_t mask = m->cap - 1, i = hm_slot(k, m->cap);
    while (m->used[i]) {
        if (m->keys[i] == k) return &m->vals[i];
        i = (i + 1) & mask;
    }
    return NULL;
}

static int hm_put(HMap *m, int64_t k, int32_t v);

static int hm_grow(HMap *m) {
    HMap n2;
    if (hm_init(&n2, m->cap) < 0) return -1; /* doubles: want*2 = cap*2 */
    for (size_t i = 0; i < m->cap; i++)
        if (m->used[i]) hm_put(&n2, m->keys[i], m->vals[i]);
    hm_free(m);
    *m = n2;
    return 0;
}

static int hm_put(HMap *m, int64_t k, int32_t v) {
    if ((m->n + 1) * 2 > m->cap && hm_grow(m) < 0) return -1;
    size_t mask = m->cap - 1, i = hm_slot(k, m->cap);
    while (m->used[i]) {
        if (m->keys[i] == k) { m->vals[i] = v; return 0; }
        i = (i + 1) & mask;
    }
    m->used[i] = 1; m->keys[i] = k; m->vals[i] = v; m->n++;
    return 0;
}

static void hm_del(HMap *m, int64_t k) {
    size_t mask = m->cap - 1, i = hm_slot(k, m->cap);
    while (m->used[i]) {
        if (m->keys[i] == k) break;
        i = (i + 1) & mask;
    }
    if (!m->used[i]) return;
    /* backward-shift deletion */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->used[j]) break;
        size_t h = hm_slot(m->keys[j], m->cap);
        /* can the entry at j move to i? (h not cyclically in (i, j]) */
        if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
            m->keys[i] = m->keys[j]; m->vals[i] = m->vals[j];
            i = j;
        }
    }
    m->used[i] = 0;
    m->n--;
}

/* A per-generation table id -> value (>= 0): a direct array when the ids are dense enough
 * (they usually are: 1..N), else the hash map. get() returns -1 for a missing id. */
typedef struct {
    HMap h;
    int32_t *direct;
    uint64_t direct_n;
} IdMap;

static void idm_free(IdMap *m) {
    hm_free(&m->h);
    free(m->direct);
    m->direct = NULL;
    m->direct_n = 0;
}

static int idm_build(IdMap *m, const int64_t *ids, const int64_t *vals, size_t n) {
    idm_free(m);
    uint64_t mx = 0;
    for (size_t i = 0; i < n; i++)
        if ((uint64_t)ids[i] > mx) mx = (uint64_t)ids[i];
    if (n && mx < 4 * (uint64_t)n + 4096) {
        m->direct_n = mx + 1;
        m->direct = (int32_t *)malloc((size_t)m->direct_n * sizeof(int32_t));
        if (!m->direct) return -1;
        memset(m->direct, 0xFF, (size_t)m->direct_n * sizeof(int32_t));
        for (size_t i = 0; i < n; i++) m->direct[ids[i]] = (int32_t)(vals ? vals[i] : (int64_t)i);
        return 0;
    }
    if (hm_init(&m->h, n + 1) < 0) return -1;
    for (size_t i = 0; i < n; i++)
        if (hm_put(&m->h, ids[i], (int32_t)(vals ? vals[i] : (int64_t)i)) < 0) return -1;
    return 0;
}

static inline int32_t idm_get(const IdMap *m, uint64_t id) {
    if (m->direct) return id < m->direct_n ? m->direct[id] : -1;
    if (!m->h.cap) return -1;
    int32_t *v = hm_get(&m->h, (int64_t)id);
    return v ? *v : -1;
}

/* ---------------------------------------------------------------- small vectors */
typedef struct { int32_t typ; uint64_t desc; } RangeT;
typedef struct { uint64_t tid; int64_t cid; } RegionT;
typedef struct { RangeT *v; int n, cap; } RangeVec;
typedef struct { RegionT *v; int n, cap; } RegionVec;

/* Makes room for one more element in a growable array: when it is full, doubles its capacity
   *cap (or starts at first) and reallocates the array, whose pointer is at arrp (of any element
   type; copied with memcpy, so no type punning). 0, or -1 when out of memory (then nothing
   changed). Use through RESERVE. */
static int grow_array(void *arrp, int32_t *cap, size_t elem, int32_t first) {
    void *old, *p;
    memcpy(&old, arrp, sizeof old);
    int32_t nc = *cap ? *cap * 2 : first;
    p = realloc(old, (size_t)nc * elem);
    if (!p) return -1;
    memcpy(arrp, &p, sizeof p);
    *cap = nc;
    return 0;
}
#define RESERVE(arr, n, cap, first) ((n) < (cap) ? 0 : grow_array(&(arr), &(cap), sizeof *(arr), (first)))

static int rv_push(RangeVec *r, RangeT x) {
    if (RESERVE(r->v, r->n, r->cap, 4) < 0) return -1;
    r->v[r->n++] = x;
    return 0;
}

static int gv_push(RegionVec *r, RegionT x) {
    if (RESERVE(r->v, r->n, r->cap, 4) < 0) return -1;
    r->v[r->n++] = x;
    return 0;
}

/* ---------------------------------------------------------------- states */
typedef struct {
    int64_t id;
    uint8_t status;
    uint64_t seq_gen, seq;
    RegionVec regions;
    RangeVec in_flight;
} GState;

typedef struct {
    int64_t id;
    uint8_t status;
    uint64_t seq_gen, seq;
    RangeVec in_flight;
} PState;

typedef struct { int64_t id, g, p; } MState;
typedef struct { int64_t cid; uint64_t parent; } TaskT;

/* An event (base event or queued Event). */
typedef struct {
    int64_t g, p, m;
    int64_t time;
    uint64_t args[4];
    int64_t offset;
    uint8_t typ;
} Ev;

/* A batch of one M. */
typedef struct {
    const uint8_t *data;
    Py_ssize_t len;
    int64_t offset;
    uint64_t time;
} BatchT;

typedef struct {
    int64_t m;
    int32_t mi; /* index of this M's state, -1 until known */
    BatchT *b; /* this M's batches */
    int nb, idx;
    Py_ssize_t pos;
    int64_t last_ts;
    Ev ev; /* typ, time, args, offset */
} Cursor;

/* ---------------------------------------------------------------- growable column buffers */
typedef struct { char *p; size_t len, cap, mapped; } Col; /* len, cap in elements; mapped in bytes */

enum { C_KIND, C_T, C_G, C_P, C_M, C_STK, C_RK, C_RID, C_SFROM, C_STO, C_S1, C_TSTK, C_VAL, NCOLS };
static const int COL_SIZE[NCOLS] = {1, 8, 8, 8, 8, 4, 1, 8, 1, 1, 4, 4, 8};
static const char *COL_NAME[NCOLS] = {"kind", "t", "g", "p", "m", "stk", "rk", "rid", "sfrom", "sto", "s1",
                                      "tstk", "val"};

/* ---------------------------------------------------------------- the engine */
typedef struct {
    PyObject_HEAD
    int version;
    /* tables from Python */
    int8_t nargs[256];   /* timed args after dt, -1 = not a timed event */
    int8_t val_n[256];   /* validateTableIDs: count */
    int8_t val_idx[256][4];
    int8_t val_stack[256][4];
    int8_t kind[256];
    int8_t main_stack[256];
    uint8_t start_ev[256];
    char *spec_name[256];
    char *ver_name[256];
    int64_t cid_const[6]; /* gomaxprocs, heapalloc, heapgoal, GC mark, GC sweep, GC assist */

    /* ordering state (persists across generations) */
    GState *gpool; int32_t gpool_n, gpool_cap; int32_t *gfree; int32_t gfree_n, gfree_cap;
    HMap gmap;
    PState *ps; int32_t ps_n, ps_cap; HMap pmap; int32_t pdirect[256];
    MState *ms; int32_t ms_n, ms_cap; HMap mmap;
    TaskT *tasks; int32_t tasks_n, tasks_cap; int32_t *tfree; int32_t tfree_n, tfree_cap; HMap tmap;
    uint64_t gc_seq; int gc_state; uint64_t initial_gen;
    int64_t last_ts; /* the reader's time fix-up */
    int64_t last_offset;
    int has_last_offset;
    /* slow-path work of the current generation (cursor tries) and its budget: past it the
     * kernel punts, and the reference reader orders the generation with frontier.py */
    int64_t slow_tries, slow_budget;
    /* past the budget: the parked frontier (frontier.py's BlockedFrontier, see pk_run) */
    int blocked, sweeping;
    int64_t *ptok; int64_t next_tok, nlive;          /* per cursor: token of its live park, 0 */
    int64_t (*pkey)[5]; int32_t *phead; uint8_t *pused; size_t pcap, pn; /* key -> node list */
    struct PNode *pnodes; int64_t pnodes_n, pnodes_cap;
    struct PTime *bt; int64_t bt_n, bt_cap;          /* parked cursors by (time, token), lazy */
    struct PTime *wk; int64_t wk_n, wk_cap;          /* cursors woken by the last advance */

    /* current generation */
    uint64_t gen;
    double freq;
    PyObject *gen_keep; /* the Python objects whose buffers we point into */
    BatchT *batches; int nbatches;
    Cursor *cursors; int ncursors;
    Cursor **frontier; int nf;
    const int64_t *cpu_t, *cpu_g, *cpu_p, *cpu_m, *cpu_s; Py_ssize_t ncpu, cpu_idx;
    IdMap stack_map; /* local stack id -> dense index */
    int64_t stack_base;
    uint8_t *stack_seen; size_t stack_seen_cap; size_t nstacks;
    IdMap str_map; /* local string id -> cid */

    /* first-use log */
    uint8_t *cid_seen; size_t cid_seen_cap; /* bit0: plain, bit1: STW */
    int64_t *log; size_t log_n, log_cap; /* pairs */

    /* queue */
    Ev q[4]; int qn;

    /* output */
    Col cols[NCOLS];
    size_t nrows;
    int64_t nevents_total;

    /* error */
    int err_kind;
    char err_msg[1024];
    int64_t err_offset; int err_has_offset;
    int64_t err_extra[5];
    int punt_line;

    /* raw mode (dump): per event its wire form, RAW_W int64 each (typ t g p m a0 a1 a2 a3), no row */
    int raw;
    int64_t *rawv; size_t raw_n, raw_cap; /* raw_n in rows */
    size_t raw_limit; /* run() pauses (ST_PAUSE) once this many rows are kept; 0: never */
} Engine;

enum { RAW_W = 9 };

/* ---------------------------------------------------------------- errors */
static int set_err(Engine *E, int kind, int has_off, int64_t off, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(E->err_msg, sizeof(E->err_msg), fmt, ap);
    va_end(ap);
    E->err_kind = kind;
    E->err_offset = off;
    E->err_has_offset = has_off;
    return H_ERR;
}
#define ORDER_ERR(...) set_err(E, E_ORDER, E->has_last_offset, E->last_offset, __VA_ARGS__)

static const char *gs_str(unsigned s) { return s < 5 ? GO_STATUS_STR[s] : "Bad"; }
static const char *ps_str(unsigned s) { return s < 5 ? PROC_STATUS_STR[s] : "Bad"; }
#define EVNAME(t) (E->ver_name[(t)])

/* ---------------------------------------------------------------- state lookups */
static GState *g_get(Engine *E, int64_t id) {
    int32_t *v = hm_get(&E->gmap, id);
    return v ? &E->gpool[*v] : NULL;
}

static GState *g_new(Engine *E, int64_t id, uint8_t status, uint64_t gen, uint64_t seq) {
    int32_t i;
    if (E->gfree_n) {
        i = E->gfree[--E->gfree_n];
    } else {
        if (RESERVE(E->gpool, E->gpool_n, E->gpool_cap, 1024) < 0) return NULL;
        i = E->gpool_n++;
        memset(&E->gpool[i], 0, sizeof(GState));
    }
    GState *s = &E->gpool[i];
    s->id = id; s->status = status; s->seq_gen = gen; s->seq = seq;
    s->regions.n = 0; s->in_flight.n = 0;
    if (hm_put(&E->gmap, id, i) < 0) return NULL;
    return s;
}

static int g_del(Engine *E, int64_t id) {
    int32_t *v = hm_get(&E->gmap, id);
    if (!v) return 0;
    int32_t i = *v;
    hm_del(&E->gmap, id);
    if (RESERVE(E->gfree, E->gfree_n, E->gfree_cap, 1024) < 0) return -1;
    E->gfree[E->gfree_n++] = i;
    return 0;
}

#define PDIRECT 256 /* procs 0..255: a direct table (pdirect[id] = index + 1) */

static inline PState *p_get(Engine *E, int64_t id) {
    if ((uint64_t)id < PDIRECT) {
        int32_t i = E->pdirect[id];
        return i ? &E->ps[i - 1] : NULL;
    }
    int32_t *v = hm_get(&E->pmap, id);
    return v ? &E->ps[*v] : NULL;
}

static PState *p_new(Engine *E, int64_t id, uint8_t status, uint64_t gen) {
    if (RESERVE(E->ps, E->ps_n, E->ps_cap, 16) < 0) return NULL;
    int32_t i = E->ps_n++;
    PState *s = &E->ps[i];
    memset(s, 0, sizeof(PState));
    s->id = id; s->status = status; s->seq_gen = gen; s->seq = 0;
    if ((uint64_t)id < PDIRECT) E->pdirect[id] = i + 1;
    else if (hm_put(&E->pmap, id, i) < 0) return NULL;
    return s;
}

/* index of M id, or -1 */
static int32_t m_find(Engine *E, int64_t id) {
    int32_t *v = hm_get(&E->mmap, id);
    return v ? *v : -1;
}

static int32_t m_new(Engine *E, int64_t id, int64_t g, int64_t p) {
    if (RESERVE(E->ms, E->ms_n, E->ms_cap, 16) < 0) return -1;
    int32_t i = E->ms_n++;
    E->ms[i].id = id; E->ms[i].g = g; E->ms[i].p = p;
    if (hm_put(&E->mmap, id, i) < 0) return -1;
    return i;
}

static int task_pop(Engine *E, uint64_t id, TaskT *out) {
    int32_t *v = hm_get(&E->tmap, (int64_t)id);
    if (!v) return 0;
    int32_t i = *v;
    *out = E->tasks[i];
    hm_del(&E->tmap, (int64_t)id);
    if (RESERVE(E->tfree, E->tfree_n, E->tfree_cap, 64) < 0) return -1;
    E->tfree[E->tfree_n++] = i;
    return 1;
}

static int task_put(Engine *E, uint64_t id, int64_t cid, uint64_t parent) {
    int32_t i;
    if (E->tfree_n) i = E->tfree[--E->tfree_n];
    else {
        if (RESERVE(E->tasks, E->tasks_n, E->tasks_cap, 64) < 0) return -1;
        i = E->tasks_n++;
    }
    E->tasks[i].cid = cid; E->tasks[i].parent = parent;
    return hm_put(&E->tmap, (int64_t)id, i);
}

/* string table of the current generation: cid of a local id, or -1 when missing. */
static inline int64_t str_cid(Engine *E, uint64_t id) {
    if (id == 0) return 0; /* "" */
    return idm_get(&E->str_map, id);
}

/* ---------------------------------------------------------------- queue */
static inline void q_push(Engine *E, const Ev *ev, int64_t g, int64_t p, int64_t m) {
    Ev *e = &E->q[E->qn++];
    *e = *ev;
    e->g = g; e->p = p; e->m = m;
}

static inline void q_push_new(Engine *E, int64_t g, int64_t p, int64_t m, uint8_t typ, int64_t time,
                              uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3) {
    Ev *e = &E->q[E->qn++];
    e->g = g; e->p = p; e->m = m; e->typ = typ; e->time = time;
    e->args[0] = a0; e->args[1] = a1; e->args[2] = a2; e->args[3] = a3;
    e->offset = 0;
}

/* ---------------------------------------------------------------- ordering (order.py) */
typedef struct { int64_t g, p, m; } Ctx;

static int validate_ctx(Engine *E, Ctx c, int rm, int rp, int rg) {
    if (rm == MUST_HAVE && c.m == -1) return ORDER_ERR("expected a thread but didn't have one");
    else if (rm == MUST_NOT_HAVE && c.m != -1) return ORDER_ERR("expected no thread but had one");
    if (rp == MUST_HAVE && c.p == -1) return ORDER_ERR("expected a proc but didn't have one");
    else if (rp == MUST_NOT_HAVE && c.p != -1) return ORDER_ERR("expected no proc but had one");
    if (rg == MUST_HAVE && c.g == -1) return ORDER_ERR("expected a goroutine but didn't have one");
    else if (rg == MUST_NOT_HAVE && c.g != -1) return ORDER_ERR("expected no goroutine but had one");
    return 0;
}

static inline int user_go_reqs(Engine *E, Ctx c) {
    if (c.m == -1) return ORDER_ERR("expected a thread but didn't have one");
    if (c.p == -1) return ORDER_ERR("expected a proc but didn't have one");
    if (c.g == -1) return ORDER_ERR("expected a goroutine but didn't have one");
    return 0;
}

static inline int seq_succeeds(uint64_t gen, uint64_t seq, uint64_t bgen, uint64_t bseq) {
    return gen == bgen && bseq != UINT64_MAX && seq == bseq + 1;
}

static int range_type(Engine *E, int typ) {
    int s = E->start_ev[typ];
    return s != 0 ? s : typ;
}

static int in_flight_has(RangeVec *r, int typ, uint64_t desc) {
    for (int i = 0; i < r->n; i++)
        if (r->v[i].typ == typ && r->v[i].desc == desc) return 1;
    return 0;
}

static int begin_range(Engine *E, RangeVec *r, int typ, uint64_t desc) {
    if (in_flight_has(r, typ, desc))
        return ORDER_ERR("discovered event already in-flight for when starting event %s", E->spec_name[typ]);
    RangeT x = {typ, desc};
    if (rv_push(r, x) < 0) return PUNT(E);
    return 0;
}

static int active_range(Engine *E, RangeVec *r, int typ, uint64_t desc, int initial) {
    if (initial) {
        if (in_flight_has(r, typ, desc))
            return ORDER_ERR("found named active range already in first gen: {%d %llu}", typ,
                             (unsigned long long)desc);
        RangeT x = {typ, desc};
        if (rv_push(r, x) < 0) return PUNT(E);
    } else if (!in_flight_has(r, typ, desc)) {
        char fl[700];
        size_t o = 0;
        fl[0] = 0;
        for (int i = 0; i < r->n && o < sizeof(fl) - 48; i++)
            o += (size_t)snprintf(fl + o, sizeof(fl) - o, "%s{%d %llu}", i ? " " : "", r->v[i].typ,
                                  (unsigned long long)r->v[i].desc);
        if (o >= sizeof(fl) - 48) return PUNT(E); /* too long to reproduce here */
        return ORDER_ERR("resource is missing active range: %s [%s]", E->spec_name[typ], fl);
    }
    return 0;
}

/* end_range: returns 0 and sets *desc, or error */
static int end_range(Engine *E, RangeVec *r, int typ, uint64_t *desc) {
    int st = E->start_ev[typ];
    int idx = -1;
    for (int i = 0; i < r->n; i++)
        if (r->v[i].typ == st) { idx = i; break; }
    if (idx < 0) return ORDER_ERR("tried to end event %s, but not in-flight", E->spec_name[st]);
    *desc = r->v[idx].desc;
    r->v[idx] = r->v[r->n - 1];
    r->n--;
    return 0;
}

#define I64(x) ((int64_t)(x))

static int adv_proc_status(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    uint64_t *a = ev->args;
    int64_t pid = I64(a[0]);
    uint64_t status = a[1];
    if (status >= 5) return ORDER_ERR("invalid status for proc %lld: %llu", (long long)pid, (unsigned long long)status);
    int old_state = PROC_STATUS_TO_STATE[status];
    PState *s = p_get(E, pid);
    if (s) {
        if (status == ProcSyscallAbandoned && s->status == ProcSyscall) {
            old_state = PS_Running;
            a[1] = ProcSyscall;
        } else if (status == ProcSyscallAbandoned && s->status == ProcSyscallAbandoned) {
            old_state = PS_Idle;
            a[1] = ProcSyscallAbandoned;
        } else if (s->status != status) {
            return ORDER_ERR("inconsistent status for proc %lld: old %s vs. new %s", (long long)pid,
                             ps_str(s->status), ps_str((unsigned)status));
        }
        s->seq_gen = E->gen; s->seq = 0;
    } else {
        if (!p_new(E, pid, (uint8_t)status, E->gen)) return PUNT(E);
        old_state = (E->gen == E->initial_gen) ? PS_Undetermined : PS_NotExist;
    }
    a[2] = (uint64_t)old_state;
    *nw = cur;
    if (status == ProcRunning || status == ProcSyscall) nw->p = pid;
    Ctx push = cur;
    if (status == ProcSyscallAbandoned && old_state == PS_Running) {
        int found = 0;
        for (int32_t i = 0; i < E->ms_n; i++) {
            if (E->ms[i].p == pid) {
                push.g = E->ms[i].g; push.p = pid; push.m = E->ms[i].id;
                found = 1;
            }
        }
        if (!found) return ORDER_ERR("failed to find sched context for proc %lld that's about to be stolen", (long long)pid);
    }
    q_push(E, ev, push.g, push.p, push.m);
    return H_YES;
}

static int adv_proc_start(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    int64_t pid = I64(ev->args[0]);
    uint64_t seq = ev->args[1];
    PState *s = p_get(E, pid);
    if (!s || s->status != ProcIdle || !seq_succeeds(E->gen, seq, s->seq_gen, s->seq) || cur.p != -1) return H_NO;
    if (validate_ctx(E, cur, MUST_HAVE, MUST_NOT_HAVE, MAY_HAVE)) return H_ERR;
    s->status = ProcRunning;
    s->seq_gen = E->gen; s->seq = seq;
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur; nw->p = pid;
    return H_YES;
}

static int adv_proc_stop(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    PState *s = p_get(E, cur.p);
    if (!s) return ORDER_ERR("event %s for proc (%lld) that doesn't exist", EVNAME(ev->typ), (long long)cur.p);
    if (s->status != ProcRunning && s->status != ProcSyscall)
        return ORDER_ERR("%s event for proc that's not Running or Syscall", EVNAME(ev->typ));
    if (validate_ctx(E, cur, MUST_HAVE, MUST_HAVE, MAY_HAVE)) return H_ERR;
    s->status = ProcIdle;
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur; nw->p = -1;
    return H_YES;
}

static int adv_proc_steal(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    uint64_t *a = ev->args;
    int64_t pid = I64(a[0]);
    uint64_t seq = a[1];
    PState *s = p_get(E, pid);
    if (!s || (s->status != ProcSyscall && s->status != ProcSyscallAbandoned) ||
        !seq_succeeds(E->gen, seq, s->seq_gen, s->seq))
        return H_NO;
    if (validate_ctx(E, cur, MUST_HAVE, MAY_HAVE, MAY_HAVE)) return H_ERR;
    uint8_t old = s->status;
    a[3] = old;
    s->status = ProcIdle;
    s->seq_gen = E->gen; s->seq = seq;
    *nw = cur;
    if (old == ProcSyscallAbandoned) {
        q_push(E, ev, cur.g, cur.p, cur.m);
        return H_YES;
    }
    int64_t mid = I64(a[2]);
    if (mid == cur.m) {
        if (cur.p != pid)
            return ORDER_ERR("tried to self-steal proc %lld (thread %lld), but got proc %lld instead", (long long)pid,
                             (long long)mid, (long long)cur.p);
        q_push(E, ev, cur.g, cur.p, cur.m);
        nw->p = -1;
        return H_YES;
    }
    int32_t mi = m_find(E, mid);
    if (mi < 0) return ORDER_ERR("stole proc from non-existent thread %lld", (long long)mid);
    if (E->ms[mi].p != pid)
        return ORDER_ERR("tried to steal proc %lld from thread %lld, but got proc %lld instead", (long long)pid,
                         (long long)mid, (long long)E->ms[mi].p);
    E->ms[mi].p = -1;
    q_push(E, ev, cur.g, cur.p, cur.m);
    return H_YES;
}

static int adv_go_status(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    uint64_t *a = ev->args;
    int64_t gid = I64(a[0]);
    int64_t mid = I64(a[1]);
    uint64_t status = a[2];
    if (status >= 5) return ORDER_ERR("invalid status for goroutine %lld: %llu", (long long)gid, (unsigned long long)status);
    int old_state = GO_STATUS_TO_STATE[status];
    GState *s = g_get(E, gid);
    if (s) {
        if (s->status != status)
            return ORDER_ERR("inconsistent status for goroutine %lld: old %s vs. new %s", (long long)gid,
                             gs_str(s->status), gs_str((unsigned)status));
        s->seq_gen = E->gen; s->seq = 0;
    } else if (E->gen == E->initial_gen) {
        if (!g_new(E, gid, (uint8_t)status, E->gen, 0)) return PUNT(E);
        old_state = GS_Undetermined;
    } else {
        return ORDER_ERR("found goroutine status for new goroutine after the first generation: id=%lld status=%s",
                         (long long)gid, gs_str((unsigned)status));
    }
    a[2] = ((uint64_t)old_state << 32) | status;
    *nw = cur;
    Ctx push = cur;
    if (status == GoRunning) {
        nw->g = gid;
    } else if (status == GoSyscall) {
        if (mid == -1) return ORDER_ERR("found goroutine %lld in syscall without a thread", (long long)gid);
        if (mid == cur.m) {
            if (E->gen != E->initial_gen && cur.g != gid)
                return ORDER_ERR("inconsistent thread for syscalling goroutine %lld: thread has goroutine %lld",
                                 (long long)gid, (long long)cur.g);
            nw->g = gid;
        } else {
            int32_t mi = m_find(E, mid);
            int64_t cg = cur.g;
            if (mi >= 0) {
                if (E->ms[mi].g != gid)
                    return ORDER_ERR("inconsistent thread for syscalling goroutine %lld: thread has goroutine %lld",
                                     (long long)gid, (long long)E->ms[mi].g);
                cg = E->ms[mi].g;
            } else {
                if (m_new(E, mid, gid, -1) < 0) return PUNT(E);
            }
            push.g = cg; push.m = mid;
        }
    }
    q_push(E, ev, push.g, push.p, push.m);
    return H_YES;
}

static int adv_go_create(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    if (validate_ctx(E, cur, MUST_HAVE, MUST_HAVE, MAY_HAVE)) return H_ERR;
    GState *s = g_get(E, cur.g);
    if (s && s->status != GoRunning)
        return ORDER_ERR("%s event for goroutine that's not Running", EVNAME(ev->typ));
    int64_t newgid = I64(ev->args[0]);
    if (g_get(E, newgid)) return ORDER_ERR("tried to create goroutine (%lld) that already exists", (long long)newgid);
    uint8_t status = ev->typ == EvGoCreateBlocked ? GoWaiting : GoRunnable;
    if (!g_new(E, newgid, status, E->gen, 0)) return PUNT(E);
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur;
    return H_YES;
}

static int adv_go_stop_exec(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    if (user_go_reqs(E, cur)) return H_ERR;
    GState *s = g_get(E, cur.g);
    if (!s) return ORDER_ERR("event %s for goroutine (%lld) that doesn't exist", EVNAME(ev->typ), (long long)cur.g);
    if (s->status != GoRunning) return ORDER_ERR("%s event for goroutine that's not Running", EVNAME(ev->typ));
    *nw = cur;
    if (ev->typ == EvGoDestroy) {
        if (g_del(E, cur.g) < 0) return PUNT(E);
        nw->g = -1;
    } else if (ev->typ == EvGoStop) {
        s->status = GoRunnable;
        nw->g = -1;
    } else if (ev->typ == EvGoBlock) {
        s->status = GoWaiting;
        nw->g = -1;
    }
    q_push(E, ev, cur.g, cur.p, cur.m);
    return H_YES;
}

static int adv_go_start(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    int64_t gid = I64(ev->args[0]);
    GState *s = g_get(E, gid);
    if (!s || s->status != GoRunnable) return H_NO;
    if (s->seq_gen != E->gen || s->seq == UINT64_MAX || ev->args[1] != s->seq + 1) return H_NO;
    if (cur.m == -1 || cur.p == -1 || cur.g != -1)
        if (validate_ctx(E, cur, MUST_HAVE, MUST_HAVE, MUST_NOT_HAVE)) return H_ERR;
    s->status = GoRunning;
    s->seq_gen = E->gen; s->seq = ev->args[1];
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur; nw->g = gid;
    return H_YES;
}

static int adv_go_unblock(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    int64_t gid = I64(ev->args[0]);
    GState *s = g_get(E, gid);
    if (!s || s->status != GoWaiting) return H_NO;
    if (s->seq_gen != E->gen || s->seq == UINT64_MAX || ev->args[1] != s->seq + 1) return H_NO;
    s->status = GoRunnable;
    s->seq_gen = E->gen; s->seq = ev->args[1];
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur;
    return H_YES;
}

static int adv_go_switch(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    if (user_go_reqs(E, cur)) return H_ERR;
    GState *cg = g_get(E, cur.g);
    if (!cg) return ORDER_ERR("event %s for goroutine (%lld) that doesn't exist", EVNAME(ev->typ), (long long)cur.g);
    if (cg->status != GoRunning) return ORDER_ERR("%s event for goroutine that's not Running", EVNAME(ev->typ));
    int64_t nextg = I64(ev->args[0]);
    uint64_t seq = ev->args[1];
    GState *ng = g_get(E, nextg);
    if (!ng || ng->status != GoWaiting || !seq_succeeds(E->gen, seq, ng->seq_gen, ng->seq)) return H_NO;
    q_push(E, ev, cur.g, cur.p, cur.m);
    if (ev->typ == EvGoSwitch) {
        cg->status = GoWaiting;
        q_push_new(E, cur.g, cur.p, cur.m, EvGoBlock, ev->time, 0, 0, 0, 0);
    } else if (ev->typ == EvGoSwitchDestroy) {
        if (g_del(E, cur.g) < 0) return PUNT(E);
        ng = g_get(E, nextg); /* pool slots are stable, but be safe */
        q_push_new(E, cur.g, cur.p, cur.m, EvGoDestroy, ev->time, 0, 0, 0, 0);
    }
    ng->status = GoRunning;
    ng->seq_gen = E->gen; ng->seq = seq;
    q_push_new(E, -1, cur.p, cur.m, EvGoStart, ev->time, (uint64_t)nextg, ev->args[1], 0, 0);
    *nw = cur; nw->g = nextg;
    return H_YES;
}

static int adv_go_syscall_begin(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    if (user_go_reqs(E, cur)) return H_ERR;
    GState *s = g_get(E, cur.g);
    if (!s) return ORDER_ERR("event %s for goroutine (%lld) that doesn't exist", EVNAME(ev->typ), (long long)cur.g);
    if (s->status != GoRunning) return ORDER_ERR("%s event for goroutine that's not Running", EVNAME(ev->typ));
    s->status = GoSyscall;
    PState *ps = p_get(E, cur.p);
    if (!ps) return ORDER_ERR("uninitialized proc %lld found during %s", (long long)cur.p, EVNAME(ev->typ));
    ps->status = ProcSyscall;
    uint64_t seq = ev->args[0];
    if (!seq_succeeds(E->gen, seq, ps->seq_gen, ps->seq))
        return ORDER_ERR("failed to advance %s: can't make sequence: %llu (gen=%llu) -> %llu (gen=%llu)",
                         EVNAME(ev->typ), (unsigned long long)ps->seq, (unsigned long long)ps->seq_gen,
                         (unsigned long long)seq, (unsigned long long)E->gen);
    ps->seq_gen = E->gen; ps->seq = seq;
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur;
    return H_YES;
}

static int adv_go_syscall_end(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    if (user_go_reqs(E, cur)) return H_ERR;
    GState *s = g_get(E, cur.g);
    if (!s) return ORDER_ERR("event %s for goroutine (%lld) that doesn't exist", EVNAME(ev->typ), (long long)cur.g);
    if (s->status != GoSyscall) return ORDER_ERR("%s event for goroutine that's not Running", EVNAME(ev->typ));
    s->status = GoRunning;
    PState *ps = p_get(E, cur.p);
    if (!ps) return ORDER_ERR("uninitialized proc %lld found during %s", (long long)cur.p, EVNAME(ev->typ));
    if (ps->status != ProcSyscall)
        return ORDER_ERR("expected proc %lld in state Syscall, but got %s instead", (long long)cur.p,
                         ps_str(ps->status));
    ps->status = ProcRunning;
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur;
    return H_YES;
}

static int adv_go_syscall_end_blocked(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    if (cur.p != -1) {
        PState *ps = p_get(E, cur.p);
        if (!ps) return ORDER_ERR("uninitialized proc %lld found during %s", (long long)cur.p, EVNAME(ev->typ));
        if (ps->status == ProcSyscall) return H_NO;
    }
    if (validate_ctx(E, cur, MUST_HAVE, MAY_HAVE, MUST_HAVE)) return H_ERR;
    GState *s = g_get(E, cur.g);
    if (!s) return ORDER_ERR("event %s for goroutine (%lld) that doesn't exist", EVNAME(ev->typ), (long long)cur.g);
    if (s->status != GoSyscall) return ORDER_ERR("%s event for goroutine that's not Running", EVNAME(ev->typ));
    s->status = GoRunnable;
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur; nw->g = -1;
    return H_YES;
}

static int adv_go_create_syscall(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    if (validate_ctx(E, cur, MUST_HAVE, MAY_HAVE, MUST_NOT_HAVE)) return H_ERR;
    int64_t newgid = I64(ev->args[0]);
    if (g_get(E, newgid))
        return ORDER_ERR("tried to create goroutine (%lld) in syscall that already exists", (long long)newgid);
    if (!g_new(E, newgid, GoSyscall, E->gen, 0)) return PUNT(E);
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur; nw->g = newgid;
    return H_YES;
}

static int adv_go_destroy_syscall(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    if (validate_ctx(E, cur, MUST_HAVE, MAY_HAVE, MUST_HAVE)) return H_ERR;
    GState *s = g_get(E, cur.g);
    if (!s) return ORDER_ERR("event %s for goroutine (%lld) that doesn't exist", EVNAME(ev->typ), (long long)cur.g);
    if (s->status != GoSyscall) return ORDER_ERR("%s event for goroutine that's not Syscall", EVNAME(ev->typ));
    if (g_del(E, cur.g) < 0) return PUNT(E);
    *nw = cur; nw->g = -1;
    if (cur.p != -1) {
        PState *ps = p_get(E, cur.p);
        if (!ps) return ORDER_ERR("found invalid proc %lld during %s", (long long)cur.p, EVNAME(ev->typ));
        if (ps->status != ProcSyscall)
            return ORDER_ERR("proc %lld in unexpected state %s during %s", (long long)cur.p, ps_str(ps->status),
                             EVNAME(ev->typ));
        ps->status = ProcSyscallAbandoned;
        nw->p = -1;
        q_push_new(E, cur.g, cur.p, cur.m, EvProcSteal, ev->time, (uint64_t)cur.p, 0, 0, ProcSyscall);
    }
    q_push(E, ev, cur.g, cur.p, cur.m);
    return H_YES;
}

static int adv_user_task_begin(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    uint64_t *a = ev->args;
    uint64_t id = a[0];
    if (hm_get(&E->tmap, (int64_t)id)) return ORDER_ERR("task ID conflict: %llu", (unsigned long long)id);
    uint64_t parent = a[1];
    if (parent == 0) { parent = NO_TASK; a[1] = NO_TASK; }
    uint64_t name_id = a[2];
    int64_t cid = str_cid(E, name_id);
    if (cid < 0) return ORDER_ERR("invalid string ID %llu for %d event", (unsigned long long)name_id, ev->typ);
    if (task_put(E, id, cid, parent) < 0) return PUNT(E);
    if (user_go_reqs(E, cur)) return H_ERR;
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur;
    return H_YES;
}

static int adv_user_task_end(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    uint64_t *a = ev->args;
    TaskT t;
    int r = task_pop(E, a[0], &t);
    if (r < 0) return PUNT(E);
    if (r) { a[2] = t.parent; a[3] = (uint64_t)t.cid; } /* a[3]: the task type's cid (Python: an extra string id) */
    else { a[2] = NO_TASK; a[3] = 0; }
    if (user_go_reqs(E, cur)) return H_ERR;
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur;
    return H_YES;
}

static int adv_user_region(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    if (user_go_reqs(E, cur)) return H_ERR;
    uint64_t tid = ev->args[0];
    uint64_t name_id = ev->args[1];
    int64_t cid = str_cid(E, name_id);
    if (cid < 0) return ORDER_ERR("invalid string ID %llu for %d event", (unsigned long long)name_id, ev->typ);
    GState *gs = g_get(E, cur.g);
    int begin = ev->typ == EvUserRegionBegin;
    if (!gs)
        return ORDER_ERR("encountered %s without known state for current goroutine %lld",
                         begin ? "EvUserRegionBegin" : "EvUserRegionEnd", (long long)cur.g);
    if (begin) {
        RegionT x = {tid, cid};
        if (gv_push(&gs->regions, x) < 0) return PUNT(E);
    } else if (gs->regions.n) {
        RegionT nx = gs->regions.v[gs->regions.n - 1];
        if (nx.tid != tid || nx.cid != cid) {
            /* The message holds the names: Python formats it (E_REGION). */
            E->err_extra[0] = gs->id;
            E->err_extra[1] = (int64_t)tid; E->err_extra[2] = cid;
            E->err_extra[3] = (int64_t)nx.tid; E->err_extra[4] = nx.cid;
            return set_err(E, E_REGION, E->has_last_offset, E->last_offset, "misuse of region");
        }
        gs->regions.n--;
    }
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur;
    return H_YES;
}

static int adv_gc_active(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    uint64_t seq = ev->args[0];
    *nw = cur;
    if (E->gen == E->initial_gen) {
        if (E->gc_state != GC_UNDETERMINED) return ORDER_ERR("GCActive in the first generation isn't first GC event");
        E->gc_seq = seq; E->gc_state = GC_RUNNING;
        q_push(E, ev, cur.g, cur.p, cur.m);
        return H_YES;
    }
    if (E->gc_seq == UINT64_MAX || seq != E->gc_seq + 1) return H_NO;
    if (E->gc_state != GC_RUNNING) return ORDER_ERR("encountered GCActive while GC was not in progress");
    E->gc_seq = seq;
    if (user_go_reqs(E, cur)) return H_ERR;
    q_push(E, ev, cur.g, cur.p, cur.m);
    return H_YES;
}

static int adv_gc_begin(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    uint64_t seq = ev->args[0];
    *nw = cur;
    if (E->gc_state == GC_UNDETERMINED) {
        E->gc_seq = seq; E->gc_state = GC_RUNNING;
        q_push(E, ev, cur.g, cur.p, cur.m);
        return H_YES;
    }
    if (E->gc_seq == UINT64_MAX || seq != E->gc_seq + 1) return H_NO;
    if (E->gc_state == GC_RUNNING) return ORDER_ERR("encountered GCBegin while GC was already in progress");
    E->gc_seq = seq; E->gc_state = GC_RUNNING;
    if (user_go_reqs(E, cur)) return H_ERR;
    q_push(E, ev, cur.g, cur.p, cur.m);
    return H_YES;
}

static int adv_gc_end(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    uint64_t seq = ev->args[0];
    *nw = cur;
    if (E->gc_seq == UINT64_MAX || seq != E->gc_seq + 1) return H_NO;
    if (E->gc_state == GC_NOT_RUNNING) return ORDER_ERR("encountered GCEnd when GC was not in progress");
    if (E->gc_state == GC_UNDETERMINED) return ORDER_ERR("encountered GCEnd when GC was in an undetermined state");
    E->gc_seq = seq; E->gc_state = GC_NOT_RUNNING;
    if (user_go_reqs(E, cur)) return H_ERR;
    q_push(E, ev, cur.g, cur.p, cur.m);
    return H_YES;
}

static int adv_annotation(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    if (user_go_reqs(E, cur)) return H_ERR;
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur;
    return H_YES;
}

static int adv_heap_metric(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    if (validate_ctx(E, cur, MUST_HAVE, MUST_HAVE, MAY_HAVE)) return H_ERR;
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur;
    return H_YES;
}

static int adv_gc_sweep_begin(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    if (validate_ctx(E, cur, MUST_HAVE, MUST_HAVE, MAY_HAVE)) return H_ERR;
    PState *ps = p_get(E, cur.p);
    if (!ps) return PUNT(E); /* Python: KeyError */
    int r = begin_range(E, &ps->in_flight, range_type(E, ev->typ), 0);
    if (r) return r;
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur;
    return H_YES;
}

static int adv_gc_sweep_active(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    int64_t pid = I64(ev->args[0]);
    PState *ps = p_get(E, pid);
    if (!ps) return ORDER_ERR("encountered GCSweepActive for unknown proc %lld", (long long)pid);
    int r = active_range(E, &ps->in_flight, range_type(E, ev->typ), 0, E->gen == E->initial_gen);
    if (r) return r;
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur;
    return H_YES;
}

static int adv_gc_sweep_end(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    if (validate_ctx(E, cur, MUST_HAVE, MUST_HAVE, MAY_HAVE)) return H_ERR;
    PState *ps = p_get(E, cur.p);
    if (!ps) return PUNT(E); /* Python: KeyError */
    uint64_t desc;
    int r = end_range(E, &ps->in_flight, ev->typ, &desc);
    if (r) return r;
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur;
    return H_YES;
}

static int adv_go_range_begin(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    if (user_go_reqs(E, cur)) return H_ERR;
    uint64_t desc = ev->typ == EvSTWBegin ? ev->args[0] : 0;
    GState *gs = g_get(E, cur.g);
    if (!gs)
        return ORDER_ERR("encountered event of type %d without known state for current goroutine %lld", ev->typ,
                         (long long)cur.g);
    int r = begin_range(E, &gs->in_flight, range_type(E, ev->typ), desc);
    if (r) return r;
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur;
    return H_YES;
}

static int adv_go_range_active(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    int64_t gid = I64(ev->args[0]);
    GState *gs = g_get(E, gid);
    if (!gs) return ORDER_ERR("uninitialized goroutine %lld found during %s", (long long)gid, EVNAME(ev->typ));
    int r = active_range(E, &gs->in_flight, range_type(E, ev->typ), 0, E->gen == E->initial_gen);
    if (r) return r;
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur;
    return H_YES;
}

static int adv_go_range_end(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    if (user_go_reqs(E, cur)) return H_ERR;
    GState *gs = g_get(E, cur.g);
    if (!gs)
        return ORDER_ERR("encountered event of type %d without known state for current goroutine %lld", ev->typ,
                         (long long)cur.g);
    uint64_t desc;
    int r = end_range(E, &gs->in_flight, ev->typ, &desc);
    if (r) return r;
    if (ev->typ == EvSTWEnd) ev->args[0] = desc;
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur;
    return H_YES;
}

static int adv_alloc_free(Engine *E, Ev *ev, Ctx cur, Ctx *nw) {
    if (validate_ctx(E, cur, MUST_HAVE, MAY_HAVE, MAY_HAVE)) return H_ERR;
    q_push(E, ev, cur.g, cur.p, cur.m);
    *nw = cur;
    return H_YES;
}

/* Ordering.advance: H_YES (queued), H_NO (cannot advance yet), H_ERR, H_PUNT. */
static int advance(Engine *E, Ev *ev, int64_t m, int32_t *mcache) {
    if (E->initial_gen == 0) E->initial_gen = E->gen;
    int32_t mi = -1;
    Ctx cur;
    if (m == -1) {
        cur.g = -1; cur.p = -1; cur.m = -1;
    } else {
        mi = *mcache; /* M states are never removed: an index, once known, stays valid */
        if (mi < 0) {
            mi = m_find(E, m);
            if (mi < 0) {
                mi = m_new(E, m, -1, -1);
                if (mi < 0) return PUNT(E);
            }
            *mcache = mi;
        }
        cur.g = E->ms[mi].g; cur.p = E->ms[mi].p; cur.m = m;
    }
    Ctx nw = cur;
    int r;
    switch (ev->typ) {
    case EvProcsChange: case EvGoLabel: case EvUserLog: r = adv_annotation(E, ev, cur, &nw); break;
    case EvProcStart: r = adv_proc_start(E, ev, cur, &nw); break;
    case EvProcStop: r = adv_proc_stop(E, ev, cur, &nw); break;
    case EvProcSteal: r = adv_proc_steal(E, ev, cur, &nw); break;
    case EvProcStatus: r = adv_proc_status(E, ev, cur, &nw); break;
    case EvGoCreate: case EvGoCreateBlocked: r = adv_go_create(E, ev, cur, &nw); break;
    case EvGoCreateSyscall: r = adv_go_create_syscall(E, ev, cur, &nw); break;
    case EvGoStart: r = adv_go_start(E, ev, cur, &nw); break;
    case EvGoDestroy: case EvGoStop: case EvGoBlock: r = adv_go_stop_exec(E, ev, cur, &nw); break;
    case EvGoDestroySyscall: r = adv_go_destroy_syscall(E, ev, cur, &nw); break;
    case EvGoUnblock: r = adv_go_unblock(E, ev, cur, &nw); break;
    case EvGoSyscallBegin: r = adv_go_syscall_begin(E, ev, cur, &nw); break;
    case EvGoSyscallEnd: r = adv_go_syscall_end(E, ev, cur, &nw); break;
    case EvGoSyscallEndBlocked: r = adv_go_syscall_end_blocked(E, ev, cur, &nw); break;
    case EvGoStatus: case EvGoStatusStack: r = adv_go_status(E, ev, cur, &nw); break;
    case EvSTWBegin: case EvGCMarkAssistBegin: r = adv_go_range_begin(E, ev, cur, &nw); break;
    case EvSTWEnd: case EvGCMarkAssistEnd: r = adv_go_range_end(E, ev, cur, &nw); break;
    case EvGCActive: r = adv_gc_active(E, ev, cur, &nw); break;
    case EvGCBegin: r = adv_gc_begin(E, ev, cur, &nw); break;
    case EvGCEnd: r = adv_gc_end(E, ev, cur, &nw); break;
    case EvGCSweepActive: r = adv_gc_sweep_active(E, ev, cur, &nw); break;
    case EvGCSweepBegin: r = adv_gc_sweep_begin(E, ev, cur, &nw); break;
    case EvGCSweepEnd: r = adv_gc_sweep_end(E, ev, cur, &nw); break;
    case EvGCMarkAssistActive: r = adv_go_range_active(E, ev, cur, &nw); break;
    case EvHeapAlloc: case EvHeapGoal: r = adv_heap_metric(E, ev, cur, &nw); break;
    case EvUserTaskBegin: r = adv_user_task_begin(E, ev, cur, &nw); break;
    case EvUserTaskEnd: r = adv_user_task_end(E, ev, cur, &nw); break;
    case EvUserRegionBegin: case EvUserRegionEnd: r = adv_user_region(E, ev, cur, &nw); break;
    case EvGoSwitch: case EvGoSwitchDestroy: r = adv_go_switch(E, ev, cur, &nw); break;
    default:
        if (ev->typ >= EvSpan && ev->typ <= EvGoroutineStackFree) {
            r = adv_alloc_free(E, ev, cur, &nw);
            break;
        }
        return ORDER_ERR("bad event type found while ordering: %d", ev->typ);
    }
    if (r != H_YES) {
        E->qn = r == H_NO ? E->qn : 0;
        return r;
    }
    if (mi >= 0) {
        E->ms[mi].g = nw.g;
        E->ms[mi].p = nw.p;
    }
    return H_YES;
}

/* ---------------------------------------------------------------- time */
/* int(float(x) * freq) + base, with Python's semantics; H_PUNT when out of int64 range. */
static inline int ts_mul_add(Engine *E, uint64_t x, int64_t base, int64_t *out) {
    double prod = (double)x * E->freq;
    if (!(prod >= 0.0) || !(prod < 9.2e18)) return PUNT(E); /* Python: a bigger int (or inf/nan) */
    int64_t v = (int64_t)prod; /* truncation toward zero, as int() */
    if (__builtin_add_overflow(v, base, out)) return PUNT(E);
    return 0;
}

/* ---------------------------------------------------------------- wire decoding */
/* binary.Uvarint over d[*pos:n]; returns 0 and advances on success, -1 on error. */
static inline int uvarint(const uint8_t *d, Py_ssize_t n, Py_ssize_t *pos, uint64_t *out) {
    Py_ssize_t p = *pos;
    if (p < n && d[p] < 0x80) { *out = d[p]; *pos = p + 1; return 0; }
    uint64_t x = 0;
    unsigned s = 0;
    int i = 0;
    while (p < n) {
        if (i == 10) return -1;
        uint8_t b = d[p++];
        if (b < 0x80) {
            if (i == 9 && b > 1) return -1;
            *out = x | ((uint64_t)b << s);
            *pos = p;
            return 0;
        }
        x |= (uint64_t)(b & 0x7F) << s;
        s += 7;
        i++;
    }
    return -1;
}

/* BatchCursor.next_event: 1 = event read into c->ev, 0 = none left, H_ERR / H_PUNT. */
static int next_event(Engine *E, Cursor *c) {
    for (;;) {
        if (c->idx >= c->nb) return 0;
        if (c->pos < c->b[c->idx].len) break;
        c->idx++;
        c->pos = 0;
        c->last_ts = 0;
    }
    BatchT *b = &c->b[c->idx];
    const uint8_t *d = b->data;
    Py_ssize_t n = b->len, pos = c->pos, start = pos;
    uint8_t typ = d[pos];
    int nargs = E->nargs[typ];
    int64_t off = b->offset + (int64_t)start;
    if (nargs < 0) {
        if (typ >= NSPECS) return set_err(E, E_WIRE, 1, off, "found invalid event type: %d", typ);
        return set_err(E, E_WIRE, 1, off, "found event without a timestamp: type=%d", typ);
    }
    pos++;
    uint64_t tsdiff;
    if (uvarint(d, n, &pos, &tsdiff) < 0) return set_err(E, E_WIRE, 1, off, "found invalid uvarint for timestamp");
    uint64_t a[4] = {0, 0, 0, 0};
    for (int i = 0; i < nargs; i++)
        if (uvarint(d, n, &pos, &a[i]) < 0) return set_err(E, E_WIRE, 1, off, "found invalid uvarint");
    c->pos = pos;
    if (c->last_ts == 0) {
        if (ts_mul_add(E, b->time, 0, &c->last_ts)) return PUNT(E);
    }
    int64_t t;
    if (ts_mul_add(E, tsdiff, c->last_ts, &t)) return PUNT(E);
    c->ev.typ = typ;
    c->ev.time = t;
    memcpy(c->ev.args, a, sizeof(a));
    c->ev.offset = off;
    c->last_ts = t;
    return 1;
}

/* ---------------------------------------------------------------- frontier heap */
static void heap_swap(Cursor **h, int i, int j) { Cursor *t = h[i]; h[i] = h[j]; h[j] = t; }

static int heap_sift_up(Cursor **h, int i) {
    while (i > 0) {
        int p = (i - 1) / 2;
        if (h[p]->ev.time > h[i]->ev.time) { heap_swap(h, p, i); i = p; }
        else break;
    }
    return i;
}

static int min3(Cursor **b, int n, int i0, int i1, int i2) {
    int mi = i0;
    int64_t mt = INT64_MAX;
    if (i0 < n) mt = b[i0]->ev.time;
    if (i1 < n) { int64_t t = b[i1]->ev.time; if (t < mt) { mt = t; mi = i1; } }
    if (i2 < n) { int64_t t = b[i2]->ev.time; if (t < mt) { mi = i2; } }
    return mi;
}

static int heap_sift_down(Cursor **h, int n, int i) {
    for (;;) {
        int m = min3(h, n, i, 2 * i + 1, 2 * i + 2);
        if (m == i) break;
        heap_swap(h, i, m);
        i = m;
    }
    return i;
}

static void heap_update(Cursor **h, int n, int i) {
    if (heap_sift_up(h, i) != i) return;
    heap_sift_down(h, n, i);
}

static void heap_remove(Engine *E, int i) {
    Cursor **h = E->frontier;
    while (i > 0) {
        int p = (i - 1) / 2;
        heap_swap(h, p, i);
        i = p;
    }
    heap_swap(h, 0, E->nf - 1);
    E->nf--;
    heap_sift_down(h, E->nf, 0);
}

static void heap_insert(Engine *E, Cursor *c) {
    E->frontier[E->nf++] = c;
    heap_sift_up(E->frontier, E->nf - 1);
}

/* ---------------------------------------------------------------- slices.SortFunc (pdqsort) */
#define CMPLT(x, y) ((x)->ev.time < (y)->ev.time)
typedef Cursor *CP;

static void pdq_insertion(CP *d, int a, int b) {
    for (int i = a + 1; i < b; i++)
        for (int j = i; j > a && CMPLT(d[j], d[j - 1]); j--) { CP t = d[j]; d[j] = d[j - 1]; d[j - 1] = t; }
}

static void pdq_siftdown(CP *d, int lo, int hi, int first) {
    int root = lo;
    for (;;) {
        int child = 2 * root + 1;
        if (child >= hi) break;
        if (child + 1 < hi && CMPLT(d[first + child], d[first + child + 1])) child++;
        if (!CMPLT(d[first + root], d[first + child])) return;
        CP t = d[first + root]; d[first + root] = d[first + child]; d[first + child] = t;
        root = child;
    }
}

static void pdq_heapsort(CP *d, int a, int b) {
    int first = a, lo = 0, hi = b - a;
    for (int i = (hi - 1) / 2; i >= 0; i--) pdq_siftdown(d, i, hi, first);
    for (int i = hi - 1; i >= 0; i--) {
        CP t = d[first]; d[first] = d[first + i]; d[first + i] = t;
        pdq_siftdown(d, lo, i, first);
    }
}

enum { H_UNKNOWN = 0, H_INCREASING = 1, H_DECREASING = 2 };

static void pdq_order2(CP *d, int *a, int *b, int *swaps) {
    if (CMPLT(d[*b], d[*a])) { (*swaps)++; int t = *a; *a = *b; *b = t; }
}

static int pdq_median(CP *d, int a, int b, int c, int *swaps) {
    pdq_order2(d, &a, &b, swaps);
    pdq_order2(d, &b, &c, swaps);
    pdq_order2(d, &a, &b, swaps);
    return b;
}

static int pdq_choose_pivot(CP *d, int a, int b, int *hint) {
    int l = b - a, swaps = 0;
    int i = a + l / 4 * 1, j = a + l / 4 * 2, k = a + l / 4 * 3;
    if (l >= 8) {
        if (l >= 50) {
            i = pdq_median(d, i - 1, i, i + 1, &swaps);
            j = pdq_median(d, j - 1, j, j + 1, &swaps);
            k = pdq_median(d, k - 1, k, k + 1, &swaps);
        }
        j = pdq_median(d, i, j, k, &swaps);
    }
    if (swaps == 0) *hint = H_INCREASING;
    else if (swaps == 12) *hint = H_DECREASING;
    else *hint = H_UNKNOWN;
    return j;
}

static void pdq_reverse(CP *d, int a, int b) {
    for (int i = a, j = b - 1; i < j; i++, j--) { CP t = d[i]; d[i] = d[j]; d[j] = t; }
}

static int pdq_partial_insertion(CP *d, int a, int b) {
    int i = a + 1;
    for (int step = 0; step < 5; step++) {
        while (i < b && !CMPLT(d[i], d[i - 1])) i++;
        if (i == b) return 1;
        if (b - a < 50) return 0;
        { CP t = d[i]; d[i] = d[i - 1]; d[i - 1] = t; }
        if (i - a >= 2)
            for (int j = i - 1; j >= 1; j--) {
                if (!CMPLT(d[j], d[j - 1])) break;
                CP t = d[j]; d[j] = d[j - 1]; d[j - 1] = t;
            }
        if (b - i >= 2)
            for (int j = i + 1; j < b; j++) {
                if (!CMPLT(d[j], d[j - 1])) break;
                CP t = d[j]; d[j] = d[j - 1]; d[j - 1] = t;
            }
    }
    return 0;
}

static void pdq_break_patterns(CP *d, int a, int b) {
    int length = b - a;
    if (length >= 8) {
        uint64_t r = (uint64_t)length;
        int bl = 0;
        for (unsigned x = (unsigned)length; x; x >>= 1) bl++;
        uint64_t modulus = (uint64_t)1 << bl;
        int idx = a + (length / 4) * 2 - 1;
        for (; idx <= a + (length / 4) * 2 + 1; idx++) {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            int other = (int)(r & (modulus - 1));
            if (other >= length) other -= length;
            CP t = d[idx]; d[idx] = d[a + other]; d[a + other] = t;
        }
    }
}

static int pdq_partition_equal(CP *d, int a, int b, int pivot) {
    { CP t = d[a]; d[a] = d[pivot]; d[pivot] = t; }
    int i = a + 1, j = b - 1;
    for (;;) {
        while (i <= j && !CMPLT(d[a], d[i])) i++;
        while (i <= j && CMPLT(d[a], d[j])) j--;
        if (i > j) break;
        CP t = d[i]; d[i] = d[j]; d[j] = t;
        i++; j--;
    }
    return i;
}

static int pdq_partition(CP *d, int a, int b, int pivot, int *already) {
    { CP t = d[a]; d[a] = d[pivot]; d[pivot] = t; }
    int i = a + 1, j = b - 1;
    while (i <= j && CMPLT(d[i], d[a])) i++;
    while (i <= j && !CMPLT(d[j], d[a])) j--;
    if (i > j) {
        CP t = d[j]; d[j] = d[a]; d[a] = t;
        *already = 1;
        return j;
    }
    { CP t = d[i]; d[i] = d[j]; d[j] = t; }
    i++; j--;
    for (;;) {
        while (i <= j && CMPLT(d[i], d[a])) i++;
        while (i <= j && !CMPLT(d[j], d[a])) j--;
        if (i > j) break;
        CP t = d[i]; d[i] = d[j]; d[j] = t;
        i++; j--;
    }
    { CP t = d[j]; d[j] = d[a]; d[a] = t; }
    *already = 0;
    return j;
}

static void pdqsort(CP *d, int a, int b, int limit) {
    int was_balanced = 1, was_partitioned = 1;
    for (;;) {
        int length = b - a;
        if (length <= 12) { pdq_insertion(d, a, b); return; }
        if (limit == 0) { pdq_heapsort(d, a, b); return; }
        if (!was_balanced) { pdq_break_patterns(d, a, b); limit--; }
        int hint;
        int pivot = pdq_choose_pivot(d, a, b, &hint);
        if (hint == H_DECREASING) {
            pdq_reverse(d, a, b);
            pivot = (b - 1) - (pivot - a);
            hint = H_INCREASING;
        }
        if (was_balanced && was_partitioned && hint == H_INCREASING)
            if (pdq_partial_insertion(d, a, b)) return;
        if (a > 0 && !CMPLT(d[a - 1], d[pivot])) {
            a = pdq_partition_equal(d, a, b, pivot);
            continue;
        }
        int already;
        int mid = pdq_partition(d, a, b, pivot, &already);
        was_partitioned = already;
        int left_len = mid - a, right_len = b - mid;
        int bal = length / 8;
        if (left_len < right_len) {
            was_balanced = left_len >= bal;
            pdqsort(d, a, mid, limit);
            a = mid + 1;
        } else {
            was_balanced = right_len >= bal;
            pdqsort(d, mid + 1, b, limit);
            b = mid;
        }
    }
}

static int cmp_time(const void *x, const void *y) {
    int64_t a = (*(CP const *)x)->ev.time, b = (*(CP const *)y)->ev.time;
    return (a > b) - (a < b);
}

/* sorting.sort_func(frontier, BatchCursor.compare, key=time), fast paths included. */
static void sort_frontier(Engine *E) {
    CP *d = E->frontier;
    int n = E->nf;
    if (n < 2) return;
    int sorted = 1;
    for (int i = 0; i + 1 < n; i++)
        if (d[i]->ev.time > d[i + 1]->ev.time) { sorted = 0; break; }
    if (sorted) return;
    CP *tmp = (CP *)malloc((size_t)n * sizeof(CP));
    if (tmp) {
        memcpy(tmp, d, (size_t)n * sizeof(CP));
        qsort(tmp, (size_t)n, sizeof(CP), cmp_time);
        int distinct = 1;
        for (int i = 0; i + 1 < n; i++)
            if (tmp[i]->ev.time == tmp[i + 1]->ev.time) { distinct = 0; break; }
        if (distinct) {
            memcpy(d, tmp, (size_t)n * sizeof(CP));
            free(tmp);
            return;
        }
        free(tmp);
    }
    int bl = 0;
    for (unsigned x = (unsigned)n; x; x >>= 1) bl++;
    pdqsort(d, 0, n, bl);
}

/* ---------------------------------------------------------------- output rows */
/* Column memory comes from mmap and grows with mremap, which moves pages, not bytes: no copy
 * and no transient double of the hundreds of MB the columns take. */
#define MAP_MIN ((size_t)1 << 20)

static size_t page_round(size_t n) { return (n + 4095) & ~(size_t)4095; }

/* set_heap_columns(True): new column blocks come from malloc, and freed ones go back to it
 * instead of the cache below, so that one process's column memory and its analysis's arrays
 * reuse the same freed pages: a worker analysing parts of generations (pipeline.GenerationParts)
 * reads a generation, then analyses its parts, and with mapped columns kept for the next read it
 * held both (~580 MiB a worker for 14.7 MB generations, two over 1 GB), while giving the pages
 * back cost a page fault for each 4 KiB again (1.7 M faults, 6.5 s of system time). A block's
 * `mapped` carries HEAP_BIT when it came from malloc, so each is freed the way it was made. */
static int heap_cols = 0;
#define HEAP_BIT (((size_t)1) << (sizeof(size_t) * 8 - 1))
/* Rows the last heap columns held (and an eighth more): the next engine's first reservation, so
 * that a process reading generation after generation of about one size grows its columns once
 * instead of doubling from MAP_MIN with realloc's copies (mremap moves pages; realloc copies). */
static size_t heap_rows_hint = 0;

#if defined(__linux__) && defined(MREMAP_MAYMOVE)
#include <pthread.h>
static char *big_alloc(size_t bytes) {
    void *p = mmap(NULL, page_round(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : (char *)p;
}

/* `old_bytes`: the block's `mapped` (HEAP_BIT: from malloc); with no block, `heap` decides (the
 * caller reads heap_cols once and tags the block with the same answer). */
static char *big_realloc(char *p, size_t old_bytes, size_t bytes, int heap) {
    if (p ? (old_bytes & HEAP_BIT) != 0 : heap) return (char *)realloc(p, bytes ? bytes : 1);
    if (!p) return big_alloc(bytes);
    void *q = mremap(p, page_round(old_bytes), page_round(bytes), MREMAP_MAYMOVE);
    return q == MAP_FAILED ? NULL : (char *)q;
}

static void big_free(char *p, size_t bytes) {
    if (!p) return;
    if (bytes & HEAP_BIT) free(p);
    else munmap(p, page_round(bytes));
}

/* Freed column memory kept for the next engine, one block per column: a process analysing
 * window after window (pipeline.py) would otherwise map every window's columns afresh and take
 * a page fault for each 4 KiB it writes (~16 k faults, ~0.03 s of system time a 5 MB window;
 * three quarters of a window's faults). The pages stay resident until reused or until
 * release_columns() (jobs.release_memory gives a worker's memory back). The engine runs
 * without the GIL, so the cache has its own lock. */
static struct { char *p; size_t mapped; } col_cache[NCOLS];
static pthread_mutex_t col_cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* Keep a column's block (`mapped` bytes) for reuse, or unmap it if the slot is taken. */
static void col_cache_put(int i, char *p, size_t mapped) {
    if (!p) return;
    if (mapped & HEAP_BIT) { free(p); return; }  /* back to malloc, not kept */
    if (__atomic_load_n(&heap_cols, __ATOMIC_RELAXED)) { big_free(p, mapped); return; }  /* not kept in heap mode */
    pthread_mutex_lock(&col_cache_lock);
    if (!col_cache[i].p) { col_cache[i].p = p; col_cache[i].mapped = mapped; p = NULL; }
    pthread_mutex_unlock(&col_cache_lock);
    big_free(p, mapped);
}

/* A fresh engine's columns from the cache, all or none: the row capacity is what the smallest
 * cached block holds. 0 if the cache does not hold every column. */
static size_t col_cache_take(Col *cols) {
    size_t cap = (size_t)-1;
    pthread_mutex_lock(&col_cache_lock);
    for (int i = 0; i < NCOLS; i++) {
        if (!col_cache[i].p) { pthread_mutex_unlock(&col_cache_lock); return 0; }
        size_t c = col_cache[i].mapped / COL_SIZE[i];
        if (c < cap) cap = c;
    }
    for (int i = 0; i < NCOLS; i++) {
        cols[i].p = col_cache[i].p;
        cols[i].mapped = col_cache[i].mapped;
        cols[i].cap = cap;
        col_cache[i].p = NULL;
    }
    pthread_mutex_unlock(&col_cache_lock);
    return cap;
}

static void col_cache_clear(void) {
    pthread_mutex_lock(&col_cache_lock);
    for (int i = 0; i < NCOLS; i++) {
        big_free(col_cache[i].p, col_cache[i].mapped);
        col_cache[i].p = NULL;
    }
    pthread_mutex_unlock(&col_cache_lock);
}
#else /* portable: realloc (may copy while growing) */
static char *big_realloc(char *p, size_t old_bytes, size_t bytes, int heap) {
    (void)old_bytes;
    (void)heap;
    return (char *)realloc(p, bytes ? bytes : 1);
}

static void big_free(char *p, size_t bytes) {
    (void)bytes;
    free(p);
}

static void col_cache_put(int i, char *p, size_t mapped) { (void)i; big_free(p, mapped); }
static size_t col_cache_take(Col *cols) { (void)cols; return 0; }
static void col_cache_clear(void) {}
#endif

static int col_reserve(Engine *E, size_t need) {
    if (need <= E->cols[0].cap) return 0;
    size_t oc = E->cols[0].p ? E->cols[0].cap : col_cache_take(E->cols);
    if (need <= oc) return 0;
    int heap_now = __atomic_load_n(&heap_cols, __ATOMIC_RELAXED);  /* once: the block's tag and its allocator */
    size_t nc = oc ? oc : MAP_MIN;
    if (!oc && heap_now) {
        size_t hint = __atomic_load_n(&heap_rows_hint, __ATOMIC_RELAXED);
        if (hint > nc) nc = hint;
    }
    while (nc < need) nc = nc < ((size_t)1 << 24) ? nc * 2 : nc + nc / 2;
    for (int i = 0; i < NCOLS; i++) {
        size_t heap = E->cols[i].p ? E->cols[i].mapped & HEAP_BIT : (heap_now ? HEAP_BIT : 0);
        char *p = big_realloc(E->cols[i].p, E->cols[i].p ? E->cols[i].mapped : 0, nc * COL_SIZE[i], heap != 0);
        if (!p) return -1;
        E->cols[i].p = p;
        E->cols[i].cap = nc;
        E->cols[i].mapped = (nc * COL_SIZE[i]) | heap;
    }
    return 0;
}

static int log_add(Engine *E, int64_t kind, int64_t v) {
    if (E->log_n + 2 > E->log_cap) {
        size_t nc = E->log_cap ? E->log_cap * 2 : 4096;
        int64_t *p = (int64_t *)realloc(E->log, nc * sizeof(int64_t));
        if (!p) return -1;
        E->log = p; E->log_cap = nc;
    }
    E->log[E->log_n++] = kind;
    E->log[E->log_n++] = v;
    return 0;
}

/* Ref of a stack id of the current generation (logging its first use), 0 for id 0, -1 if missing. */
static inline int64_t stack_ref(Engine *E, uint64_t id) {
    if (id == 0) return 0;
    int32_t k = idm_get(&E->stack_map, id);
    if (k < 0) return -1;
    if (!E->stack_seen[k]) {
        E->stack_seen[k] = 1;
        if (log_add(E, LOG_STACK, k) < 0) return -2;
    }
    return E->stack_base + k + 1;
}

/* s1 code of a cid (first use logged). bit: 1 plain, 2 STW. */
static inline int64_t str_code(Engine *E, int64_t cid, int stw) {
    uint8_t bit = stw ? 2 : 1;
    if ((size_t)cid >= E->cid_seen_cap) return -2;
    if (!(E->cid_seen[cid] & bit)) {
        E->cid_seen[cid] |= bit;
        if (log_add(E, stw ? LOG_STW : LOG_STR, cid) < 0) return -2;
    }
    return 2 * cid + (stw ? 1 : 0);
}

/* Yield one event: time fix-up, then its row (columns.py _build_from_reader). */
static int emit(Engine *E, Ev *e) {
    int64_t t = e->time;
    if (t <= E->last_ts) {
        if (E->last_ts == INT64_MAX) return PUNT(E);
        t = E->last_ts + 1;
    }
    E->last_ts = t;
    E->nevents_total++;
    if (E->raw) { /* the dump formats events from their wire form (read/dumprows.py) */
        if (E->raw_n == E->raw_cap) {
            size_t nc = E->raw_cap ? E->raw_cap * 2 : 4096;
            int64_t *q = (int64_t *)realloc(E->rawv, nc * RAW_W * sizeof(int64_t));
            if (!q) return PUNT(E);
            E->rawv = q; E->raw_cap = nc;
        }
        int64_t *w = E->rawv + E->raw_n++ * RAW_W;
        w[0] = e->typ; w[1] = t; w[2] = e->g; w[3] = e->p; w[4] = e->m;
        w[5] = (int64_t)e->args[0]; w[6] = (int64_t)e->args[1]; w[7] = (int64_t)e->args[2]; w[8] = (int64_t)e->args[3];
        return 0;
    }
    if (col_reserve(E, E->nrows + 1) < 0) return PUNT(E);
    uint8_t typ = e->typ;
    int kc = E->kind[typ];
    uint64_t *a = e->args;
    int64_t stk = 0, rk = 0, rid = -1, s1 = 0, tstk = 0;
    int sfrom = 0, sto = 0;
    double val = 0.0;
    int si = E->main_stack[typ];
    if (si >= 0 && a[si]) {
        stk = stack_ref(E, a[si]);
        if (stk < 0) return PUNT(E); /* Python: KeyError (a stack the table lacks) */
    }
    int64_t g = e->g, p = e->p;
    if (kc == K_STATE) {
        rk = R_GOROUTINE;
        switch (typ) {
        case EvGoStart: rid = I64(a[0]); sfrom = GS_Runnable; sto = GS_Running; break;
        case EvGoBlock: case EvGoStop: {
            rid = g; sfrom = GS_Running; sto = typ == EvGoBlock ? GS_Waiting : GS_Runnable;
            int64_t cid = str_cid(E, a[0]);
            if (cid < 0) return PUNT(E);
            s1 = str_code(E, cid, 0);
            if (s1 < 0) return PUNT(E);
            tstk = stk;
            break;
        }
        case EvGoUnblock: case EvGoSwitch: case EvGoSwitchDestroy:
            rid = I64(a[0]); sfrom = GS_Waiting; sto = GS_Runnable; break;
        case EvGoSyscallBegin: rid = g; sfrom = GS_Running; sto = GS_Syscall; tstk = stk; break;
        case EvGoSyscallEnd: rid = g; sfrom = GS_Syscall; sto = GS_Running; break;
        case EvGoSyscallEndBlocked: rid = g; sfrom = GS_Syscall; sto = GS_Runnable; break;
        case EvProcStart: rk = R_PROC; rid = I64(a[0]); sfrom = PS_Idle; sto = PS_Running; break;
        case EvProcStop: rk = R_PROC; rid = p; sfrom = PS_Running; sto = PS_Idle; break;
        case EvProcSteal:
            rk = R_PROC; rid = I64(a[0]); sfrom = a[3] == ProcSyscallAbandoned ? PS_Idle : PS_Running; sto = PS_Idle;
            break;
        case EvProcStatus:
            if (a[1] >= 5) return PUNT(E);
            rk = R_PROC; rid = I64(a[0]); sfrom = (int)(a[2] & 0xFF); sto = PROC_STATUS_TO_STATE[a[1]];
            break;
        case EvGoStatus: case EvGoStatusStack: {
            uint64_t packed = a[2];
            uint64_t lo = packed & 0xFFFFFFFFULL;
            if (lo >= 5) return PUNT(E);
            rid = I64(a[0]); sfrom = (int)((packed >> 32) & 0xFF); sto = GO_STATUS_TO_STATE[lo]; tstk = stk;
            break;
        }
        case EvGoCreate: case EvGoCreateBlocked:
            rid = I64(a[0]); sfrom = GS_NotExist; sto = typ == EvGoCreateBlocked ? GS_Waiting : GS_Runnable;
            if (a[1]) {
                tstk = stack_ref(E, a[1]);
                if (tstk < 0) return PUNT(E);
            }
            break;
        case EvGoCreateSyscall: rid = I64(a[0]); sfrom = GS_NotExist; sto = GS_Syscall; break;
        case EvGoDestroy: rid = g; sfrom = GS_Running; sto = GS_NotExist; break;
        case EvGoDestroySyscall: rid = g; sfrom = GS_Syscall; sto = GS_NotExist; break;
        default: return PUNT(E);
        }
    } else if (kc != K_BAD && kc != K_STACKSAMPLE) {
        int64_t cid;
        switch (kc) {
        case K_METRIC:
            s1 = str_code(E, E->cid_const[typ == EvProcsChange ? 0 : typ == EvHeapAlloc ? 1 : 2], 0);
            val = (double)a[0];
            break;
        case K_RANGE_BEGIN: case K_RANGE_ACTIVE: case K_RANGE_END:
            if (typ == EvSTWBegin || typ == EvSTWEnd) {
                cid = str_cid(E, a[0]);
                if (cid < 0) return PUNT(E); /* Python: KeyError */
                s1 = str_code(E, cid, 1);
                rk = R_GOROUTINE; rid = g;
            } else if (typ == EvGCBegin || typ == EvGCActive || typ == EvGCEnd) {
                s1 = str_code(E, E->cid_const[3], 0);
                rk = R_NONE;
            } else if (typ == EvGCSweepBegin || typ == EvGCSweepActive || typ == EvGCSweepEnd) {
                s1 = str_code(E, E->cid_const[4], 0);
                rk = R_PROC; rid = typ == EvGCSweepActive ? I64(a[0]) : p;
            } else {
                s1 = str_code(E, E->cid_const[5], 0);
                rk = R_GOROUTINE; rid = typ == EvGCMarkAssistActive ? I64(a[0]) : g;
            }
            break;
        case K_LABEL:
            cid = str_cid(E, a[0]);
            if (cid < 0) return PUNT(E);
            s1 = str_code(E, cid, 0);
            rk = R_GOROUTINE; rid = g;
            break;
        case K_SYNC: val = (double)a[0]; break;
        case K_TASK_BEGIN:
            cid = str_cid(E, a[2]);
            if (cid < 0) return PUNT(E);
            s1 = str_code(E, cid, 0); val = (double)a[0];
            break;
        case K_TASK_END: s1 = str_code(E, (int64_t)a[3], 0); val = (double)a[0]; break;
        case K_REGION_BEGIN: case K_REGION_END: case K_LOG:
            cid = str_cid(E, a[1]);
            if (cid < 0) return PUNT(E);
            s1 = str_code(E, cid, 0); val = (double)a[0];
            break;
        default: break;
        }
        if (s1 < 0) return PUNT(E);
        if (!rk) rid = -1;
    }
    size_t r = E->nrows++;
    ((uint8_t *)E->cols[C_KIND].p)[r] = (uint8_t)kc;
    ((int64_t *)E->cols[C_T].p)[r] = t;
    ((int64_t *)E->cols[C_G].p)[r] = g;
    ((int64_t *)E->cols[C_P].p)[r] = p;
    ((int64_t *)E->cols[C_M].p)[r] = e->m;
    ((int32_t *)E->cols[C_STK].p)[r] = (int32_t)stk;
    ((uint8_t *)E->cols[C_RK].p)[r] = (uint8_t)rk;
    ((int64_t *)E->cols[C_RID].p)[r] = rid;
    ((uint8_t *)E->cols[C_SFROM].p)[r] = (uint8_t)sfrom;
    ((uint8_t *)E->cols[C_STO].p)[r] = (uint8_t)sto;
    ((int32_t *)E->cols[C_S1].p)[r] = (int32_t)s1;
    ((int32_t *)E->cols[C_TSTK].p)[r] = (int32_t)tstk;
    ((double *)E->cols[C_VAL].p)[r] = val;
    return 0;
}

/* validateTableIDs for a popped event */
static int validate_ids(Engine *E, Ev *e) {
    uint8_t typ = e->typ;
    int n = E->val_n[typ];
    for (int i = 0; i < n; i++) {
        uint64_t id = e->args[(int)E->val_idx[typ][i]];
        if (!id) continue;
        if (E->val_stack[typ][i]) {
            if (idm_get(&E->stack_map, id) < 0)
                return set_err(E, E_VALIDATE, E->has_last_offset, E->last_offset,
                               "found invalid stack ID %llu for event %s", (unsigned long long)id, E->spec_name[typ]);
        } else if (idm_get(&E->str_map, id) < 0) {
            return set_err(E, E_VALIDATE, E->has_last_offset, E->last_offset,
                           "found invalid string ID %llu for event %s", (unsigned long long)id, E->spec_name[typ]);
        }
    }
    return 0;
}

static int drain_queue(Engine *E) {
    for (int i = 0; i < E->qn; i++) {
        Ev *e = &E->q[i];
        if (E->val_n[e->typ] && validate_ids(E, e)) { E->qn = 0; return H_ERR; }
        int r = emit(E, e);
        if (r) { E->qn = 0; return r; }
    }
    E->qn = 0;
    return 0;
}

/* _try_advance(i): H_YES, H_NO, H_ERR, H_PUNT */
static int try_advance(Engine *E, int i) {
    Cursor *bc = E->frontier[i];
    E->last_offset = bc->ev.offset;
    E->has_last_offset = 1;
    int r = advance(E, &bc->ev, bc->m, &bc->mi);
    if (r != H_YES) return r;
    r = next_event(E, bc);
    if (r < 0) { E->qn = 0; return r; }
    if (r) heap_update(E->frontier, E->nf, i);
    else heap_remove(E, i);
    return H_YES;
}

/* the next CPU sample as an event (validated, emitted): 0, H_ERR or an emit status */
static int emit_cpu_sample(Engine *E) {
    Py_ssize_t ci = E->cpu_idx++;
    Ev e;
    e.g = E->cpu_g[ci]; e.p = E->cpu_p[ci]; e.m = E->cpu_m[ci];
    e.typ = EvCPUSample; e.time = E->cpu_t[ci];
    e.args[0] = (uint64_t)E->cpu_s[ci]; e.args[1] = e.args[2] = e.args[3] = 0;
    e.offset = 0;
    if (E->val_n[EvCPUSample] && validate_ids(E, &e)) return H_ERR;
    return emit(E, &e);
}

/* ---------------------------------------------------------------- parked frontier
 * frontier.py's BlockedFrontier, line for line in what it decides: past the slow-path budget a
 * head that cannot advance leaves the heap and is parked under the exact state that lets it
 * advance (K_G: goroutine at gen/seq/status; K_P: proc at gen/seq/status, and K_M: its M;
 * K_PST: its M's proc leaving ProcSyscall; K_GC: the GC sequence; K_ANY: any advance). After
 * an advance, the keys of the states it changed are woken; woken cursors go back to the heap
 * in park order (token). Both readers then take the same events in the same order. */
enum { K_G, K_P, K_M, K_GC, K_PST, K_ANY };
/* the slow-path budget (frontier.py slow_budget); tests lower it with _set_slow_budget */
static int64_t slow_budget_base = SLOW_BUDGET_BASE, slow_budget_per_byte = SLOW_BUDGET_PER_BYTE;
typedef struct PNode { int32_t c; int32_t next; int64_t tok; } PNode;
typedef struct PTime { int64_t time, tok; int32_t c; } PTime;

static void pk_release(Engine *E) {
    free(E->ptok); E->ptok = NULL;
    free(E->pkey); E->pkey = NULL; free(E->phead); E->phead = NULL; free(E->pused); E->pused = NULL;
    E->pcap = E->pn = 0;
    free(E->pnodes); E->pnodes = NULL; E->pnodes_n = E->pnodes_cap = 0;
    free(E->bt); E->bt = NULL; E->bt_n = E->bt_cap = 0;
    free(E->wk); E->wk = NULL; E->wk_n = E->wk_cap = 0;
    E->blocked = E->sweeping = 0; E->next_tok = 0; E->nlive = 0;
}

static inline size_t pk_hash(const int64_t *k, size_t cap) {
    uint64_t h = 0x84222325cbf29ce4ULL;
    for (int i = 0; i < 5; i++) { h ^= (uint64_t)k[i]; h *= 0x100000001b3ULL; h ^= h >> 31; }
    return (size_t)(h * 0x9E3779B97F4A7C15ULL >> 7) & (cap - 1);
}

/* the slot of key k (inserted when `add`), or -1 */
static int64_t pk_slot(Engine *E, const int64_t *k, int add) {
    if (add && (E->pn + 1) * 2 > E->pcap) {
        size_t nc = E->pcap ? E->pcap * 2 : 1024;
        int64_t (*nk)[5] = malloc(nc * sizeof(*nk));
        int32_t *nh = (int32_t *)malloc(nc * sizeof(int32_t));
        uint8_t *nu = (uint8_t *)calloc(nc, 1);
        if (!nk || !nh || !nu) { free(nk); free(nh); free(nu); return -2; }
        for (size_t i = 0; i < E->pcap; i++) {
            if (!E->pused[i]) continue;
            size_t j = pk_hash(E->pkey[i], nc);
            while (nu[j]) j = (j + 1) & (nc - 1);
            nu[j] = 1; memcpy(nk[j], E->pkey[i], sizeof(nk[j])); nh[j] = E->phead[i];
        }
        free(E->pkey); free(E->phead); free(E->pused);
        E->pkey = nk; E->phead = nh; E->pused = nu; E->pcap = nc;
    }
    if (!E->pcap) return -1;
    size_t i = pk_hash(k, E->pcap);
    while (E->pused[i]) {
        if (!memcmp(E->pkey[i], k, 5 * sizeof(int64_t))) return (int64_t)i;
        i = (i + 1) & (E->pcap - 1);
    }
    if (!add) return -1;
    E->pused[i] = 1; memcpy(E->pkey[i], k, 5 * sizeof(int64_t)); E->phead[i] = -1; E->pn++;
    return (int64_t)i;
}

static int pt_less(const PTime *a, const PTime *b) {
    return a->time < b->time || (a->time == b->time && a->tok < b->tok);
}

/* room for one more element in a growable array (*v, n used, *cap): 0, or -1 out of memory */
static int pk_room(void **v, int64_t n, int64_t *cap, size_t elem) {
    if (n < *cap) return 0;
    int64_t nc = *cap ? *cap * 2 : 1024;
    void *p = realloc(*v, (size_t)nc * elem);
    if (!p) return -1;
    *v = p; *cap = nc;
    return 0;
}

static int bt_push(Engine *E, PTime x) {
    if (pk_room((void **)&E->bt, E->bt_n, &E->bt_cap, sizeof(PTime)) < 0) return -1;
    int64_t i = E->bt_n++;
    E->bt[i] = x;
    while (i > 0) {
        int64_t q = (i - 1) / 2;
        if (!pt_less(&E->bt[i], &E->bt[q])) break;
        PTime t = E->bt[q]; E->bt[q] = E->bt[i]; E->bt[i] = t;
        i = q;
    }
    return 0;
}

static void bt_pop(Engine *E) {
    E->bt[0] = E->bt[--E->bt_n];
    int64_t i = 0, n = E->bt_n;
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && pt_less(&E->bt[l], &E->bt[m])) m = l;
        if (r < n && pt_less(&E->bt[r], &E->bt[m])) m = r;
        if (m == i) break;
        PTime t = E->bt[m]; E->bt[m] = E->bt[i]; E->bt[i] = t;
        i = m;
    }
}

/* the earliest live parked entry (stale ones dropped), or NULL */
static PTime *pk_earliest(Engine *E) {
    while (E->bt_n && E->ptok[E->bt[0].c] != E->bt[0].tok) bt_pop(E);
    return E->bt_n ? &E->bt[0] : NULL;
}

static int pk_park(Engine *E, Cursor *bc, int64_t (*keys)[5], int nk) {
    int32_t c = (int32_t)(bc - E->cursors);
    int64_t tok = ++E->next_tok;
    E->ptok[c] = tok;
    E->nlive++;
    if (bt_push(E, (PTime){bc->ev.time, tok, c}) < 0) return -1;
    for (int i = 0; i < nk; i++) {
        int64_t sl = pk_slot(E, keys[i], 1);
        if (sl < 0) return -1;
        if (pk_room((void **)&E->pnodes, E->pnodes_n, &E->pnodes_cap, sizeof(PNode)) < 0) return -1;
        E->pnodes[E->pnodes_n] = (PNode){c, E->phead[sl], tok};
        E->phead[sl] = (int32_t)E->pnodes_n++;
    }
    return 0;
}

static int pk_wake(Engine *E, int64_t k0, int64_t k1, int64_t k2, int64_t k3, int64_t k4) {
    int64_t k[5] = {k0, k1, k2, k3, k4};
    int64_t sl = pk_slot(E, k, 0);
    if (sl < 0) return 0;
    for (int32_t n = E->phead[sl]; n >= 0; n = E->pnodes[n].next) {
        PNode *nd = &E->pnodes[n];
        if (E->ptok[nd->c] != nd->tok) continue; /* woken already */
        E->ptok[nd->c] = 0;
        E->nlive--;
        if (pk_room((void **)&E->wk, E->wk_n, &E->wk_cap, sizeof(PTime)) < 0) return -1;
        E->wk[E->wk_n++] = (PTime){0, nd->tok, nd->c};
    }
    E->phead[sl] = -1;
    return 0;
}

static int cmp_tok(const void *a, const void *b) {
    int64_t x = ((const PTime *)a)->tok, y = ((const PTime *)b)->tok;
    return (x > y) - (x < y);
}

static int cmp_time_tok(const void *a, const void *b) {
    const PTime *x = (const PTime *)a, *y = (const PTime *)b;
    return pt_less(x, y) ? -1 : pt_less(y, x) ? 1 : 0;
}

/* The state an advance may change, before it: the event's args, its M's goroutine and proc,
 * the M itself (frontier.py _snapshot; unwatched ids are compared too: waking a key nobody
 * waits on does nothing). */
#define PK_NC 7
typedef struct { int64_t id[PK_NC]; int n; int64_t g[PK_NC][4], p[PK_NC][4], m[PK_NC][3]; uint64_t gc_seq; int gc_state; } PkSnap;

static void g_fp(Engine *E, int64_t id, int64_t *o) {
    GState *s = g_get(E, id);
    o[0] = s != NULL; o[1] = s ? s->status : 0; o[2] = s ? (int64_t)s->seq_gen : 0; o[3] = s ? (int64_t)s->seq : 0;
}
static void p_fp(Engine *E, int64_t id, int64_t *o) {
    PState *s = p_get(E, id);
    o[0] = s != NULL; o[1] = s ? s->status : 0; o[2] = s ? (int64_t)s->seq_gen : 0; o[3] = s ? (int64_t)s->seq : 0;
}
static void m_fp(Engine *E, int64_t id, int64_t *o) {
    int32_t mi = m_find(E, id);
    o[0] = mi >= 0; o[1] = mi >= 0 ? E->ms[mi].g : 0; o[2] = mi >= 0 ? E->ms[mi].p : 0;
}

static void pk_snapshot(Engine *E, Cursor *bc, PkSnap *S) {
    S->n = 0;
    for (int i = 0; i < 4; i++) S->id[S->n++] = (int64_t)bc->ev.args[i];
    int32_t mi = m_find(E, bc->m);
    if (mi >= 0) { S->id[S->n++] = E->ms[mi].g; S->id[S->n++] = E->ms[mi].p; }
    S->id[S->n++] = bc->m;
    for (int i = 0; i < S->n; i++) { g_fp(E, S->id[i], S->g[i]); p_fp(E, S->id[i], S->p[i]); m_fp(E, S->id[i], S->m[i]); }
    S->gc_seq = E->gc_seq; S->gc_state = E->gc_state;
}

static int pk_wake_g(Engine *E, int64_t id, const int64_t *before) {
    int64_t now[4];
    g_fp(E, id, now);
    if (!now[0] || (before && !memcmp(now, before, sizeof(now)))) return 0;
    return pk_wake(E, K_G, id, now[2], now[3], now[1]);
}

static int pk_wake_p(Engine *E, int64_t id, const int64_t *before) {
    int64_t now[4];
    p_fp(E, id, now);
    if (before && !memcmp(now, before, sizeof(now))) return 0;
    if ((!now[0] || now[1] != ProcSyscall) && pk_wake(E, K_PST, id, 0, 0, 0) < 0) return -1;
    return now[0] ? pk_wake(E, K_P, id, now[2], now[3], now[1]) : 0;
}

/* frontier.py _wake_changed: wake what changed, then the woken back to the heap in park order */
static int pk_wake_changed(Engine *E, Cursor *bc, PkSnap *S) {
    for (int i = 0; i < S->n; i++) {
        int64_t now[3];
        if (pk_wake_g(E, S->id[i], S->g[i]) < 0 || pk_wake_p(E, S->id[i], S->p[i]) < 0) return -1;
        m_fp(E, S->id[i], now);
        if (memcmp(now, S->m[i], sizeof(now)) && pk_wake(E, K_M, S->id[i], 0, 0, 0) < 0) return -1;
    }
    int32_t mi = m_find(E, bc->m);
    if (mi >= 0) { /* the M's new goroutine and proc, when the event did not name them */
        int gin = 0, pin = 0;
        for (int i = 0; i < S->n; i++) { gin |= S->id[i] == E->ms[mi].g; pin |= S->id[i] == E->ms[mi].p; }
        if (!gin && pk_wake_g(E, E->ms[mi].g, NULL) < 0) return -1;
        if (!pin && pk_wake_p(E, E->ms[mi].p, NULL) < 0) return -1;
    }
    if ((E->gc_seq != S->gc_seq || E->gc_state != S->gc_state)
        && pk_wake(E, K_GC, (int64_t)E->gc_seq, 0, 0, 0) < 0) return -1;
    if (pk_wake(E, K_ANY, 0, 0, 0, 0) < 0) return -1;
    if (E->wk_n) {
        qsort(E->wk, (size_t)E->wk_n, sizeof(PTime), cmp_tok);
        for (int64_t i = 0; i < E->wk_n; i++) heap_insert(E, &E->cursors[E->wk[i].c]);
        E->wk_n = 0;
    }
    return 0;
}

/* frontier.py _waits: the keys a head that cannot advance is parked under */
static int pk_waits(Engine *E, Cursor *bc, int64_t cur_p, int64_t (*k)[5]) {
    uint64_t *a = bc->ev.args;
    int64_t g = (int64_t)E->gen, s1 = (int64_t)(a[1] - 1), m = bc->m;
#define KEY(i, a0, a1, a2, a3, a4) (k[i][0] = (a0), k[i][1] = (a1), k[i][2] = (a2), k[i][3] = (a3), k[i][4] = (a4))
    switch (bc->ev.typ) {
    case EvGoStart: KEY(0, K_G, (int64_t)a[0], g, s1, GoRunnable); return 1;
    case EvGoUnblock: case EvGoSwitch: case EvGoSwitchDestroy: KEY(0, K_G, (int64_t)a[0], g, s1, GoWaiting); return 1;
    case EvProcStart: KEY(0, K_P, (int64_t)a[0], g, s1, ProcIdle); KEY(1, K_M, m, 0, 0, 0); return 2;
    case EvProcSteal:
        KEY(0, K_P, (int64_t)a[0], g, s1, ProcSyscall); KEY(1, K_P, (int64_t)a[0], g, s1, ProcSyscallAbandoned);
        KEY(2, K_M, m, 0, 0, 0); return 3;
    case EvGoSyscallEndBlocked: KEY(0, K_PST, cur_p, 0, 0, 0); KEY(1, K_M, m, 0, 0, 0); return 2;
    case EvGCActive: case EvGCBegin: case EvGCEnd: KEY(0, K_GC, (int64_t)(a[0] - 1), 0, 0, 0); return 1;
    default: KEY(0, K_ANY, 0, 0, 0, 0); return 1;
    }
#undef KEY
}

/* Go's "failed to advance" at the earliest parked head (time, then park order) */
static int pk_stuck(Engine *E) {
    PTime *best = NULL;
    for (int64_t i = 0; i < E->bt_n; i++) {
        PTime *x = &E->bt[i];
        if (E->ptok[x->c] == x->tok && (!best || pt_less(x, best))) best = x;
    }
    return set_err(E, E_ADVANCE, 1, best ? E->cursors[best->c].ev.offset : E->last_offset,
                   "broken trace: failed to advance: frontier: [gen=%llu]", (unsigned long long)E->gen);
}

/* The rest of the generation, parked (frontier.py BlockedFrontier.next in a loop): 0 when done. */
static int pk_run(Engine *E) {
    if (!E->ptok) {
        E->ptok = (int64_t *)calloc((size_t)E->ncursors + 1, sizeof(int64_t));
        if (!E->ptok) return PUNT(E);
    }
    for (;;) {
        if (E->cpu_idx < E->ncpu) {
            int have = E->nf > 0;
            int64_t t = have ? E->frontier[0]->ev.time : 0;
            PTime *tp = pk_earliest(E);
            if (tp && (!have || tp->time < t)) { t = tp->time; have = 1; }
            if (!have || E->cpu_t[E->cpu_idx] < t) {
                int r = emit_cpu_sample(E);
                if (r) return r;
                continue;
            }
        }
        if (E->nf == 0) {
            if (!pk_earliest(E)) return 0;
            if (E->sweeping) return pk_stuck(E);
            /* retry every parked head in time order before calling the trace broken */
            E->sweeping = 1;
            int64_t n = 0;
            for (int64_t i = 0; i < E->bt_n; i++)
                if (E->ptok[E->bt[i].c] == E->bt[i].tok) E->bt[n++] = E->bt[i];
            qsort(E->bt, (size_t)n, sizeof(PTime), cmp_time_tok);
            for (int64_t i = 0; i < n; i++) { heap_insert(E, &E->cursors[E->bt[i].c]); E->ptok[E->bt[i].c] = 0; }
            E->bt_n = 0; E->nlive = 0;
            if (E->pused) memset(E->pused, 0, E->pcap);
            E->pn = 0; E->pnodes_n = 0;
            continue;
        }
        Cursor *bc = E->frontier[0];
        PkSnap S;
        int snap = E->nlive > 0;
        if (snap) pk_snapshot(E, bc, &S);
        int32_t mi = bc->m == -1 ? -1 : m_find(E, bc->m);
        int64_t cur_p = mi >= 0 ? E->ms[mi].p : -1;
        int r = try_advance(E, 0);
        if (r == H_YES) {
            E->sweeping = 0;
            if (snap && pk_wake_changed(E, bc, &S) < 0) return PUNT(E);
            if (E->qn == 0)
                return set_err(E, E_INVARIANT, E->has_last_offset, E->last_offset,
                               "invariant violation: advance successful, but queue is empty");
            r = drain_queue(E);
            if (r) return r;
            continue;
        }
        if (r != H_NO) return r;
        heap_remove(E, 0);
        int64_t keys[3][5];
        int nk = pk_waits(E, bc, cur_p, keys);
        if (pk_park(E, bc, keys, nk) < 0) return PUNT(E);
    }
}

/* ---------------------------------------------------------------- Python methods */
static int status_of(int r) { return r == H_PUNT ? ST_PUNT : ST_ERROR; }

static void gen_release(Engine *E) {
    Py_CLEAR(E->gen_keep);
    free(E->batches); E->batches = NULL; E->nbatches = 0;
    free(E->cursors); E->cursors = NULL; E->ncursors = 0;
    free(E->frontier); E->frontier = NULL; E->nf = 0;
    pk_release(E);
    E->cpu_t = E->cpu_g = E->cpu_p = E->cpu_m = E->cpu_s = NULL;
    E->ncpu = E->cpu_idx = 0;
}

static int get_buf(PyObject *o, Py_buffer *v, Py_ssize_t itemsize) {
    if (PyObject_GetBuffer(o, v, PyBUF_SIMPLE) < 0) return -1;
    if (itemsize && v->len % itemsize) {
        PyBuffer_Release(v);
        PyErr_SetString(PyExc_ValueError, "buffer size is not a multiple of the item size");
        return -1;
    }
    return 0;
}

/*
 * load_gen(gen, freq, batches, cpu, stack_ids, str_ids, str_cids, ncids, stack_base)
 *   batches: list of (m, list of (bytes data, offset, time)) in batch_ms order
 *   cpu: tuple of 5 int64 buffers (time, g, p, m, stack) -- must stay alive: kept in gen_keep
 *   stack_ids: uint64 buffer, local stack ids (dense index = position)
 *   str_ids / str_cids: uint64 / int64 buffers, local string ids and their content ids
 * Builds the per-M cursors (reading each first event) and the frontier heap.
 * Returns a status (0 ok, 1 error, 2 punt).
 */
static PyObject *Engine_load_gen(Engine *E, PyObject *args) {
    unsigned long long gen;
    double freq;
    PyObject *batches, *cpu, *stack_ids, *str_ids, *str_cids;
    long long ncids, stack_base;
    if (!PyArg_ParseTuple(args, "KdO!O!OOOLL", &gen, &freq, &PyList_Type, &batches, &PyTuple_Type, &cpu,
                          &stack_ids, &str_ids, &str_cids, &ncids, &stack_base))
        return NULL;
    gen_release(E);
    E->gen = gen;
    E->freq = freq;
    E->err_kind = E_NONE;
    E->qn = 0;
    E->gen_keep = PyTuple_Pack(2, batches, cpu);
    if (!E->gen_keep) return NULL;

    /* tables */
    Py_buffer vb;
    if (get_buf(stack_ids, &vb, 8) < 0) return NULL;
    size_t ns = (size_t)(vb.len / 8);
    int rc = idm_build(&E->stack_map, (const int64_t *)vb.buf, NULL, ns);
    PyBuffer_Release(&vb);
    if (rc < 0) return PyErr_NoMemory();
    if (ns + 1 > E->stack_seen_cap) {
        uint8_t *p = (uint8_t *)realloc(E->stack_seen, ns + 1);
        if (!p) return PyErr_NoMemory();
        E->stack_seen = p; E->stack_seen_cap = ns + 1;
    }
    memset(E->stack_seen, 0, ns + 1);
    E->nstacks = ns;
    E->stack_base = stack_base;

    Py_buffer vi, vc;
    if (get_buf(str_ids, &vi, 8) < 0) return NULL;
    if (get_buf(str_cids, &vc, 8) < 0) { PyBuffer_Release(&vi); return NULL; }
    if (vi.len != vc.len) {
        PyBuffer_Release(&vi); PyBuffer_Release(&vc);
        PyErr_SetString(PyExc_ValueError, "str_ids and str_cids differ in length");
        return NULL;
    }
    size_t nstr = (size_t)(vi.len / 8);
    rc = idm_build(&E->str_map, (const int64_t *)vi.buf, (const int64_t *)vc.buf, nstr);
    PyBuffer_Release(&vi); PyBuffer_Release(&vc);
    if (rc < 0) return PyErr_NoMemory();
    if ((size_t)ncids > E->cid_seen_cap) {
        size_t nc = E->cid_seen_cap ? E->cid_seen_cap : 1024;
        while (nc < (size_t)ncids) nc *= 2;
        uint8_t *p = (uint8_t *)realloc(E->cid_seen, nc);
        if (!p) return PyErr_NoMemory();
        memset(p + E->cid_seen_cap, 0, nc - E->cid_seen_cap);
        E->cid_seen = p; E->cid_seen_cap = nc;
    }

    /* CPU samples */
    if (PyTuple_GET_SIZE(cpu) != 5) { PyErr_SetString(PyExc_ValueError, "cpu: 5 buffers"); return NULL; }
    const int64_t *cp[5];
    Py_ssize_t ncpu = -1;
    for (int i = 0; i < 5; i++) {
        Py_buffer v;
        if (get_buf(PyTuple_GET_ITEM(cpu, i), &v, 8) < 0) return NULL;
        cp[i] = (const int64_t *)v.buf; /* bytes objects: kept alive by gen_keep */
        if (ncpu < 0) ncpu = v.len / 8;
        else if (ncpu != v.len / 8) { PyBuffer_Release(&v); PyErr_SetString(PyExc_ValueError, "cpu lengths"); return NULL; }
        PyBuffer_Release(&v);
    }
    E->cpu_t = cp[0]; E->cpu_g = cp[1]; E->cpu_p = cp[2]; E->cpu_m = cp[3]; E->cpu_s = cp[4];
    E->ncpu = ncpu; E->cpu_idx = 0;

    /* batches */
    Py_ssize_t nm = PyList_GET_SIZE(batches), total = 0;
    for (Py_ssize_t i = 0; i < nm; i++) {
        PyObject *it = PyList_GET_ITEM(batches, i);
        if (!PyTuple_Check(it) || PyTuple_GET_SIZE(it) != 2 || !PyList_Check(PyTuple_GET_ITEM(it, 1))) {
            PyErr_SetString(PyExc_TypeError, "batches: list of (m, [(data, offset, time), ...])");
            return NULL;
        }
        total += PyList_GET_SIZE(PyTuple_GET_ITEM(it, 1));
    }
    E->batches = (BatchT *)malloc((size_t)(total + 1) * sizeof(BatchT));
    E->cursors = (Cursor *)calloc((size_t)(nm + 1), sizeof(Cursor));
    E->frontier = (Cursor **)malloc((size_t)(nm + 1) * sizeof(Cursor *));
    if (!E->batches || !E->cursors || !E->frontier) return PyErr_NoMemory();
    Py_ssize_t k = 0;
    E->slow_tries = 0;
    E->slow_budget = slow_budget_base;
    for (Py_ssize_t i = 0; i < nm; i++) {
        PyObject *it = PyList_GET_ITEM(batches, i);
        PyObject *lst = PyTuple_GET_ITEM(it, 1);
        Cursor *c = &E->cursors[i];
        c->m = PyLong_AsLongLong(PyTuple_GET_ITEM(it, 0));
        if (c->m == -1 && PyErr_Occurred()) return NULL;
        c->b = &E->batches[k];
        c->nb = (int)PyList_GET_SIZE(lst);
        c->idx = 0; c->pos = 0; c->last_ts = 0; c->mi = -1;
        for (Py_ssize_t j = 0; j < c->nb; j++) {
            PyObject *bt = PyList_GET_ITEM(lst, j);
            PyObject *data;
            long long off;
            unsigned long long t;
            if (!PyArg_ParseTuple(bt, "SLK", &data, &off, &t)) return NULL;
            BatchT *b = &E->batches[k++];
            b->data = (const uint8_t *)PyBytes_AS_STRING(data);
            b->len = PyBytes_GET_SIZE(data);
            E->slow_budget += slow_budget_per_byte * (int64_t)b->len;
            b->offset = off;
            b->time = t;
        }
    }
    E->ncursors = (int)nm;
    E->nf = 0;
    for (Py_ssize_t i = 0; i < nm; i++) {
        Cursor *c = &E->cursors[i];
        int r = next_event(E, c);
        if (r < 0) return PyLong_FromLong(status_of(r));
        if (r == 0) continue;
        heap_insert(E, c);
    }
    return PyLong_FromLong(ST_DONE);
}

/* emit_sync(time, n): the Sync event starting (or ending) a generation. */
static PyObject *Engine_emit_sync(Engine *E, PyObject *args) {
    long long t;
    unsigned long long n;
    if (!PyArg_ParseTuple(args, "LK", &t, &n)) return NULL;
    Ev e;
    memset(&e, 0, sizeof(e));
    e.g = e.p = e.m = -1;
    e.typ = EV_SYNC;
    e.time = t;
    e.args[0] = n;
    int r = emit(E, &e);
    return PyLong_FromLong(r ? ST_PUNT : ST_DONE);
}

/* run(): order and emit every event of the current generation. */
static PyObject *Engine_run(Engine *E, PyObject *noargs) {
    int r = 0, paused = 0;
    E->err_kind = E_NONE;
    Py_BEGIN_ALLOW_THREADS
    for (;;) {
        if (E->raw_limit && E->raw_n >= E->raw_limit && !E->blocked) { paused = 1; break; }
        int nf = E->nf;
        if (nf == 0 && E->cpu_idx >= E->ncpu) { r = 0; break; }
        if (E->cpu_idx < E->ncpu && (nf == 0 || E->cpu_t[E->cpu_idx] < E->frontier[0]->ev.time)) {
            r = emit_cpu_sample(E);
            if (r) break;
            continue;
        }
        r = try_advance(E, 0);
        if (r == H_NO) {
            E->slow_tries += E->nf;
            if (E->slow_tries > E->slow_budget) { E->blocked = 1; r = pk_run(E); break; } /* see frontier.py */
            sort_frontier(E);
            int ok = 0;
            for (int i = 1; i < E->nf; i++) {
                r = try_advance(E, i);
                if (r == H_YES) { ok = 1; break; }
                if (r != H_NO) break;
            }
            if (r == H_ERR || r == H_PUNT) break;
            if (!ok) {
                r = set_err(E, E_ADVANCE, 1, E->frontier[0]->ev.offset,
                            "broken trace: failed to advance: frontier: [gen=%llu]", (unsigned long long)E->gen);
                break;
            }
        } else if (r != H_YES) {
            break;
        }
        if (E->qn == 0) {
            r = set_err(E, E_INVARIANT, E->has_last_offset, E->last_offset,
                        "invariant violation: advance successful, but queue is empty");
            break;
        }
        r = drain_queue(E);
        if (r) break;
    }
    Py_END_ALLOW_THREADS
    if (paused) return PyLong_FromLong(ST_PAUSE);
    if (r == 0) return PyLong_FromLong(ST_DONE);
    return PyLong_FromLong(status_of(r));
}

static PyObject *Engine_error(Engine *E, PyObject *noargs) {
    if (E->punt_line && E->err_kind == E_NONE) snprintf(E->err_msg, sizeof(E->err_msg), "punt at line %d", E->punt_line);
    PyObject *off = E->err_has_offset ? PyLong_FromLongLong(E->err_offset) : (Py_INCREF(Py_None), Py_None);
    if (!off) return NULL;
    return Py_BuildValue("isN(LLLLL)", E->err_kind, E->err_msg, off, (long long)E->err_extra[0],
                         (long long)E->err_extra[1], (long long)E->err_extra[2], (long long)E->err_extra[3],
                         (long long)E->err_extra[4]);
}

/* take_log(): the first-use log since the last call, as bytes of int64 (kind, value) pairs. */
static PyObject *Engine_take_log(Engine *E, PyObject *noargs) {
    PyObject *b = PyBytes_FromStringAndSize((const char *)E->log, (Py_ssize_t)(E->log_n * sizeof(int64_t)));
    E->log_n = 0;
    return b;
}

static PyObject *Engine_nrows(Engine *E, PyObject *noargs) { return PyLong_FromSize_t(E->nrows); }

/* set_raw(on, limit=0): from now on each event is kept in its wire form (take_raw) instead of as a
 * row; with a limit, run() returns ST_PAUSE between events once that many are kept (call it again
 * to go on, after take_raw), so a generation is handed over a piece at a time. */
static PyObject *Engine_set_raw(Engine *E, PyObject *args) {
    int on;
    Py_ssize_t limit = 0;
    if (!PyArg_ParseTuple(args, "p|n", &on, &limit)) return NULL;
    E->raw = on;
    E->raw_limit = limit > 0 ? (size_t)limit : 0;
    Py_RETURN_NONE;
}

/* take_raw(keep=True): the events kept since the last call, as bytes of RAW_W int64 a row
 * (typ t g p m a0 a1 a2 a3: the reader's Event fields; a TaskEnd's a3 is its type's content id);
 * keep=False drops them (counting) and returns None. */
static PyObject *Engine_take_raw(Engine *E, PyObject *args) {
    int keep = 1;
    if (!PyArg_ParseTuple(args, "|p", &keep)) return NULL;
    PyObject *b = keep ? PyBytes_FromStringAndSize((const char *)E->rawv, (Py_ssize_t)(E->raw_n * RAW_W * sizeof(int64_t)))
                       : (Py_INCREF(Py_None), Py_None);
    E->raw_n = 0;
    if (E->raw_cap > ((size_t)1 << 20)) { /* give a big generation's buffer back */
        free(E->rawv); E->rawv = NULL; E->raw_cap = 0;
    }
    return b;
}

/* clear_rows(): drop the rows emitted so far (streaming/counting use). */
static PyObject *Engine_clear_rows(Engine *E, PyObject *noargs) {
    E->nrows = 0;
    Py_RETURN_NONE;
}

static PyObject *Engine_counts(Engine *E, PyObject *noargs) {
    return Py_BuildValue("LLL", (long long)E->nevents_total, (long long)E->last_ts, (long long)E->gpool_n);
}

/* remap(name, table, lo, hi): col[i] = table[col[i]] for the int32 column name (stk, tstk, s1). */
static PyObject *Engine_remap(Engine *E, PyObject *args) {
    const char *name;
    PyObject *tab;
    Py_ssize_t lo = 0, hi = -1;
    if (!PyArg_ParseTuple(args, "sO|nn", &name, &tab, &lo, &hi)) return NULL;
    int ci = -1;
    for (int i = 0; i < NCOLS; i++)
        if (!strcmp(COL_NAME[i], name)) ci = i;
    if (ci != C_STK && ci != C_TSTK && ci != C_S1) {
        PyErr_SetString(PyExc_ValueError, "remap: stk, tstk or s1");
        return NULL;
    }
    if (hi < 0 || (size_t)hi > E->nrows) hi = (Py_ssize_t)E->nrows;
    Py_buffer v;
    if (get_buf(tab, &v, 4) < 0) return NULL;
    const int32_t *t = (const int32_t *)v.buf;
    Py_ssize_t nt = v.len / 4;
    int32_t *c = (int32_t *)E->cols[ci].p;
    int bad = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = lo; i < hi; i++) {
        int32_t x = c[i];
        if (x < 0 || x >= nt) { bad = 1; break; }
        c[i] = t[x];
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&v);
    if (bad) {
        PyErr_SetString(PyExc_IndexError, "remap: reference out of range");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* A malloc'd block exposed through the buffer protocol (numpy wraps it without a copy). */
typedef struct {
    PyObject_HEAD
    char *p;
    Py_ssize_t len;
    size_t mapped; /* bytes mapped at p (big_alloc); HEAP_BIT set: malloc'd (heap_cols) */
    int col;       /* the column it holds (col_cache_put) */
} Block;

static void Block_dealloc(Block *b) {
    col_cache_put(b->col, b->p, b->mapped);
    Py_TYPE(b)->tp_free((PyObject *)b);
}

static int Block_getbuffer(Block *b, Py_buffer *view, int flags) {
    return PyBuffer_FillInfo(view, (PyObject *)b, b->p ? b->p : (char *)"", b->len, 0, flags);
}

static PyBufferProcs Block_as_buffer = {(getbufferproc)Block_getbuffer, NULL};

static PyTypeObject BlockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "diagnose.read._fastwire.Block",
    .tp_basicsize = sizeof(Block),
    .tp_dealloc = (destructor)Block_dealloc,
    .tp_as_buffer = &Block_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "memory of one column",
};

/* take_columns(): {name: Block} for the rows so far; the engine's buffers are handed over. */
static PyObject *Engine_take_columns(Engine *E, PyObject *noargs) {
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    if (E->cols[0].p && (E->cols[0].mapped & HEAP_BIT) && E->nrows)
        __atomic_store_n(&heap_rows_hint, E->nrows + E->nrows / 8, __ATOMIC_RELAXED);
    for (int i = 0; i < NCOLS; i++) {
        Block *b = PyObject_New(Block, &BlockType);
        if (!b) { Py_DECREF(d); return NULL; }
        size_t bytes = E->nrows * COL_SIZE[i];
        size_t mapped = E->cols[i].mapped;
        char *p = E->cols[i].p;
        if (p && page_round(bytes) < page_round(mapped & ~HEAP_BIT)) {
            /* give back the unused tail */
            char *q = big_realloc(p, mapped, bytes ? bytes : 1, (mapped & HEAP_BIT) != 0);
            if (q) { p = q; mapped = (bytes ? bytes : 1) | (mapped & HEAP_BIT); }
        }
        b->p = p;
        b->len = (Py_ssize_t)bytes;
        b->mapped = p ? mapped : 0;
        b->col = i;
        E->cols[i].p = NULL;
        E->cols[i].cap = 0;
        E->cols[i].mapped = 0;
        if (PyDict_SetItemString(d, COL_NAME[i], (PyObject *)b) < 0) { Py_DECREF(b); Py_DECREF(d); return NULL; }
        Py_DECREF(b);
    }
    E->nrows = 0;
    return d;
}

/* ---------------------------------------------------------------- construction */
static int seq_ints(PyObject *seq, int8_t *out, int n, const char *what) {
    PyObject *f = PySequence_Fast(seq, what);
    if (!f) return -1;
    if (PySequence_Fast_GET_SIZE(f) != n) {
        Py_DECREF(f);
        PyErr_Format(PyExc_ValueError, "%s: %d items expected", what, n);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(f, i));
        if (v == -1 && PyErr_Occurred()) { Py_DECREF(f); return -1; }
        out[i] = (int8_t)v;
    }
    Py_DECREF(f);
    return 0;
}

static int seq_strs(PyObject *seq, char **out, const char *what) {
    PyObject *f = PySequence_Fast(seq, what);
    if (!f) return -1;
    if (PySequence_Fast_GET_SIZE(f) != 256) { Py_DECREF(f); PyErr_Format(PyExc_ValueError, "%s: 256", what); return -1; }
    for (int i = 0; i < 256; i++) {
        const char *s = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(f, i));
        if (!s) { Py_DECREF(f); return -1; }
        out[i] = strdup(s);
        if (!out[i]) { Py_DECREF(f); PyErr_NoMemory(); return -1; }
    }
    Py_DECREF(f);
    return 0;
}

/*
 * Engine(version, nargs, validate, kinds, main_stack, start_ev, spec_names, ver_names, const_cids)
 *   nargs/kinds/main_stack/start_ev: 256 ints; validate: 256 sequences of (arg index, is_stack);
 *   spec_names/ver_names: 256 str; const_cids: 6 content ids (see Engine.cid_const).
 */
static int Engine_init(Engine *E, PyObject *args, PyObject *kw) {
    int version;
    PyObject *nargs, *validate, *kinds, *main_stack, *start_ev, *spec_names, *ver_names, *consts;
    if (!PyArg_ParseTuple(args, "iOOOOOOOO", &version, &nargs, &validate, &kinds, &main_stack, &start_ev,
                          &spec_names, &ver_names, &consts))
        return -1;
    E->version = version;
    if (seq_ints(nargs, E->nargs, 256, "nargs") < 0) return -1;
    if (seq_ints(kinds, E->kind, 256, "kinds") < 0) return -1;
    if (seq_ints(main_stack, E->main_stack, 256, "main_stack") < 0) return -1;
    int8_t st[256];
    if (seq_ints(start_ev, st, 256, "start_ev") < 0) return -1;
    for (int i = 0; i < 256; i++) E->start_ev[i] = (uint8_t)st[i];
    PyObject *f = PySequence_Fast(validate, "validate");
    if (!f) return -1;
    if (PySequence_Fast_GET_SIZE(f) != 256) { Py_DECREF(f); PyErr_SetString(PyExc_ValueError, "validate: 256"); return -1; }
    for (int t = 0; t < 256; t++) {
        PyObject *g = PySequence_Fast(PySequence_Fast_GET_ITEM(f, t), "validate item");
        if (!g) { Py_DECREF(f); return -1; }
        Py_ssize_t n = PySequence_Fast_GET_SIZE(g);
        if (n > 4) { Py_DECREF(g); Py_DECREF(f); PyErr_SetString(PyExc_ValueError, "validate: <= 4"); return -1; }
        E->val_n[t] = (int8_t)n;
        for (Py_ssize_t i = 0; i < n; i++) {
            int idx, is_stack;
            if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(g, i), "ip", &idx, &is_stack)) {
                Py_DECREF(g); Py_DECREF(f); return -1;
            }
            if (idx < 0 || idx > 3) { Py_DECREF(g); Py_DECREF(f); PyErr_SetString(PyExc_ValueError, "validate idx"); return -1; }
            E->val_idx[t][i] = (int8_t)idx;
            E->val_stack[t][i] = (int8_t)is_stack;
        }
        Py_DECREF(g);
    }
    Py_DECREF(f);
    if (seq_strs(spec_names, E->spec_name, "spec_names") < 0) return -1;
    if (seq_strs(ver_names, E->ver_name, "ver_names") < 0) return -1;
    if (!PyArg_ParseTuple(consts, "LLLLLL", &E->cid_const[0], &E->cid_const[1], &E->cid_const[2], &E->cid_const[3],
                          &E->cid_const[4], &E->cid_const[5]))
        return -1;
    if (hm_init(&E->gmap, 1024) < 0 || hm_init(&E->pmap, 16) < 0 || hm_init(&E->mmap, 16) < 0 ||
        hm_init(&E->tmap, 64) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    E->gc_state = GC_UNDETERMINED;
    return 0;
}

static void Engine_dealloc(Engine *E) {
    gen_release(E);
    for (int32_t i = 0; i < E->gpool_n; i++) { free(E->gpool[i].regions.v); free(E->gpool[i].in_flight.v); }
    free(E->gpool); free(E->gfree);
    for (int32_t i = 0; i < E->ps_n; i++) free(E->ps[i].in_flight.v);
    free(E->ps); free(E->ms); free(E->tasks); free(E->tfree);
    hm_free(&E->gmap); hm_free(&E->pmap); hm_free(&E->mmap); hm_free(&E->tmap);
    idm_free(&E->stack_map); idm_free(&E->str_map);
    free(E->stack_seen); free(E->cid_seen); free(E->log); free(E->rawv);
    for (int i = 0; i < NCOLS; i++) col_cache_put(i, E->cols[i].p, E->cols[i].mapped);
    for (int i = 0; i < 256; i++) { free(E->spec_name[i]); free(E->ver_name[i]); }
    Py_TYPE(E)->tp_free((PyObject *)E);
}

/* _sort_order(times): the order sort_frontier leaves cursors with these times in (test hook:
 * the port of slices.SortFunc must match sorting.sort_func, ties included). */
static PyObject *mod_sort_order(PyObject *self, PyObject *arg) {
    PyObject *f = PySequence_Fast(arg, "times");
    if (!f) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(f);
    Engine E;
    memset(&E, 0, sizeof(E));
    Cursor *cs = (Cursor *)calloc((size_t)n + 1, sizeof(Cursor));
    E.frontier = (Cursor **)malloc(((size_t)n + 1) * sizeof(Cursor *));
    if (!cs || !E.frontier) { free(cs); free(E.frontier); Py_DECREF(f); return PyErr_NoMemory(); }
    for (Py_ssize_t i = 0; i < n; i++) {
        cs[i].m = i;
        cs[i].ev.time = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(f, i));
        E.frontier[i] = &cs[i];
    }
    Py_DECREF(f);
    E.nf = (int)n;
    if (PyErr_Occurred()) { free(cs); free(E.frontier); return NULL; }
    sort_frontier(&E);
    PyObject *out = PyList_New(n);
    for (Py_ssize_t i = 0; out && i < n; i++) PyList_SET_ITEM(out, i, PyLong_FromLongLong(E.frontier[i]->m));
    free(cs);
    free(E.frontier);
    return out;
}

/* _set_slow_budget(base, per_byte): test hook (the parked frontier from the first slow path) */
static PyObject *mod_set_slow_budget(PyObject *self, PyObject *args) {
    long long base, per_byte;
    if (!PyArg_ParseTuple(args, "LL", &base, &per_byte)) return NULL;
    slow_budget_base = base;
    slow_budget_per_byte = per_byte;
    Py_RETURN_NONE;
}

/* release_columns(): unmap the column memory kept for the next engine (col_cache_put). */
static PyObject *mod_release_columns(PyObject *self, PyObject *noargs) {
    (void)self;
    col_cache_clear();
    Py_RETURN_NONE;
}

/* set_heap_columns(flag) -> the previous flag: new column blocks from malloc (see heap_cols). */
static PyObject *mod_set_heap_columns(PyObject *self, PyObject *arg) {
    (void)self;
    int flag = PyObject_IsTrue(arg);
    if (flag < 0) return NULL;
    int was = heap_cols;
    if (flag) col_cache_clear();  /* the mapped blocks kept would be taken before the heap's */
    __atomic_store_n(&heap_cols, flag, __ATOMIC_RELAXED);
    return PyBool_FromLong(was);
}

static PyMethodDef module_methods[] = {
    {"release_columns", (PyCFunction)mod_release_columns, METH_NOARGS,
     "unmap the freed column memory kept for the next engine"},
    {"set_heap_columns", (PyCFunction)mod_set_heap_columns, METH_O,
     "new column blocks from malloc, freed back to it (True), or mapped and kept (False); the previous flag"},
    {"_sort_order", (PyCFunction)mod_sort_order, METH_O, "test hook: the frontier sort's permutation"},
    {"_set_slow_budget", (PyCFunction)mod_set_slow_budget, METH_VARARGS, "test hook: the slow-path budget"},
    {NULL, NULL, 0, NULL}};

static PyMethodDef Engine_methods[] = {
    {"load_gen", (PyCFunction)Engine_load_gen, METH_VARARGS, "install a generation (see the C source)"},
    {"emit_sync", (PyCFunction)Engine_emit_sync, METH_VARARGS, "emit a Sync event"},
    {"run", (PyCFunction)Engine_run, METH_NOARGS, "order and emit the generation's events"},
    {"error", (PyCFunction)Engine_error, METH_NOARGS, "(kind, message, offset, extra) of the last error"},
    {"take_log", (PyCFunction)Engine_take_log, METH_NOARGS, "first-use log since the last call"},
    {"nrows", (PyCFunction)Engine_nrows, METH_NOARGS, "rows held"},
    {"set_raw", (PyCFunction)Engine_set_raw, METH_VARARGS, "keep events in their wire form instead of rows"},
    {"take_raw", (PyCFunction)Engine_take_raw, METH_VARARGS, "the events kept in wire form since the last call"},
    {"clear_rows", (PyCFunction)Engine_clear_rows, METH_NOARGS, "drop the rows held"},
    {"counts", (PyCFunction)Engine_counts, METH_NOARGS, "(events emitted, last time, goroutine slots)"},
    {"remap", (PyCFunction)Engine_remap, METH_VARARGS, "remap an int32 reference column through a table"},
    {"take_columns", (PyCFunction)Engine_take_columns, METH_NOARGS, "hand the column buffers over"},
    {NULL, NULL, 0, NULL}};

static PyTypeObject EngineType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "diagnose.read._fastwire.Engine",
    .tp_basicsize = sizeof(Engine),
    .tp_dealloc = (destructor)Engine_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "the per-event reader kernel (see diagnose/read/fast.py)",
    .tp_methods = Engine_methods,
    .tp_init = (initproc)Engine_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef fastwire_module = {
    PyModuleDef_HEAD_INIT, "_fastwire", "Compiled per-event kernel of the trace reader (see fast.py).", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit__fastwire(void) {
    if (PyType_Ready(&EngineType) < 0 || PyType_Ready(&BlockType) < 0) return NULL;
    PyObject *m = PyModule_Create(&fastwire_module);
    if (!m) return NULL;
    Py_INCREF(&EngineType);
    if (PyModule_AddObject(m, "Engine", (PyObject *)&EngineType) < 0) { Py_DECREF(&EngineType); Py_DECREF(m); return NULL; }
    Py_INCREF(&BlockType);
    if (PyModule_AddObject(m, "Block", (PyObject *)&BlockType) < 0) { Py_DECREF(&BlockType); Py_DECREF(m); return NULL; }
    PyModule_AddIntConstant(m, "ABI", 1);
    return m;
}
