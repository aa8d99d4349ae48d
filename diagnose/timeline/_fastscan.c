/* Compiled scans over timeline columns (optional; the numpy code in analysis.py is the reference).
 *
 * held_reduce: "what held the CPU while a ready goroutine waited" reduced per (window, goroutine).
 * The numpy reference (analysis.held_p_by_goroutine) materialises every (window, running
 * interval) pair -- up to HELD_PAIR_BUDGET = 10 M of them on a busy trace -- then sorts the pair
 * codes to group them: ~2 s of a 3.8 s window analysis on a 10 MB slice of a busy go1.27 trace.
 * Here each window's pairs are summed in a scratch table indexed by goroutine as they are
 * visited, so nothing grows with the pair count. Same rows, same order (window, then goroutine
 * index), same values: tests/test_fastscan.py compares both on real traces.
 *
 * timelines_scan: goroutine state intervals from the state-transition rows grouped by goroutine
 * (timeline.build_timelines' numpy code is the reference): one pass over the rows instead of
 * ~20 gathers and scatters, same arrays (tests/test_fastscan.py compares them on real traces).
 *
 * For the graph stage (issue 18; tests/test_fastgraph.py compares each with its numpy code):
 * run_blocks + held_runs (chains.held_runs: who held the Ps in one window, a block of runs at a
 * time when the window holds all of it; held_reduce uses the same blocks), bursts and cpu_masks
 * (Timelines.burst_id/burst_run_ns, cpu_bound_mask; cpu_hog_mask refines it), syscalls_fill
 * (analysis.syscalls), first_stacks (Timelines.gor_start_stk), gor_flagged (analysis.connections),
 * run_index (Timelines.run_iv/run_index: the running intervals by P in time order, one pass and
 * a radix sort per P instead of a mask, gathers and a 64-bit sort of packed keys), gor_states
 * (Timelines.gor_state_ns/gor_state_counts: one pass over the intervals, no cell keys), col_runs
 * (the thread/P change points, P transitions and metric rows of the event columns, one pass).
 * Every state code and table comes from Python: no trace constants are copied here.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t *p;
    Py_ssize_t n, cap;
} vec;

static int vpush(vec *v, int64_t x) {
    if (v->n == v->cap) {
        Py_ssize_t cap = v->cap ? v->cap * 2 : 1024;
        int64_t *q = (int64_t *)realloc(v->p, (size_t)cap * sizeof(int64_t));
        if (!q) return -1;
        v->p = q;
        v->cap = cap;
    }
    v->p[v->n++] = x;
    return 0;
}

static int vappend(vec *v, const int64_t *x, Py_ssize_t k) {
    if (v->n + k > v->cap) {
        Py_ssize_t cap = v->cap ? v->cap : 1024;
        while (cap < v->n + k) cap *= 2;
        int64_t *q = (int64_t *)realloc(v->p, (size_t)cap * sizeof(int64_t));
        if (!q) return -1;
        v->p = q;
        v->cap = cap;
    }
    memcpy(v->p + v->n, x, (size_t)k * sizeof(int64_t));
    v->n += k;
    return 0;
}

static PyObject *vbytes(vec *v) {
    return PyBytes_FromStringAndSize((const char *)v->p, v->n * (Py_ssize_t)sizeof(int64_t));
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* A read-only int64 buffer of at least `need` items (need < 0: any length). */
static int get_i64(PyObject *o, Py_buffer *b, Py_ssize_t need, const char *what) {
    if (PyObject_GetBuffer(o, b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    if (b->itemsize != 8 || !b->format || (strcmp(b->format, "q") && strcmp(b->format, "l") &&
                                          strcmp(b->format, "<q") && strcmp(b->format, "=q"))) {
        PyErr_Format(PyExc_TypeError, "held_reduce: %s must be a contiguous int64 buffer", what);
        PyBuffer_Release(b);
        return -1;
    }
    if (need >= 0 && b->len / 8 < need) {
        PyErr_Format(PyExc_ValueError, "held_reduce: %s has %zd items, need %zd", what, b->len / 8, need);
        PyBuffer_Release(b);
        return -1;
    }
    return 0;
}

/* The running-interval arrays the held-P scans take (Timelines.run_index): s, e, end_max (om
 * NULL: not taken), gi as int64, nrun each, and segoff, whose P row ranges must lie within them. */
typedef struct {
    Py_buffer s, e, m, g, seg;
    Py_ssize_t nrun, np_;
} runs_in;

static void release_runs(runs_in *r) {  /* safe on buffers never filled: they are zeroed */
    PyBuffer_Release(&r->s); PyBuffer_Release(&r->e); PyBuffer_Release(&r->m); PyBuffer_Release(&r->g);
    PyBuffer_Release(&r->seg);
}

static int get_runs(runs_in *r, PyObject *os, PyObject *oe, PyObject *om, PyObject *og, PyObject *oseg,
                    const char *fn) {
    memset(r, 0, sizeof(*r));
    if (get_i64(os, &r->s, -1, "s") < 0) return -1;
    r->nrun = r->s.len / 8;
    if (get_i64(oe, &r->e, r->nrun, "e") < 0 || (om && get_i64(om, &r->m, r->nrun, "end_max") < 0) ||
        get_i64(og, &r->g, r->nrun, "gi") < 0 || get_i64(oseg, &r->seg, 1, "segoff") < 0) {
        release_runs(r);
        return -1;
    }
    r->np_ = r->seg.len / 8 - 1;
    const int64_t *seg = r->seg.buf;
    for (Py_ssize_t k = 0; k <= r->np_; k++)
        if (seg[k] < 0 || seg[k] > r->nrun || (k && seg[k] < seg[k - 1])) {
            PyErr_Format(PyExc_ValueError, "%s: bad segoff", fn);
            release_runs(r);
            return -1;
        }
    return 0;
}

/* Block summaries of the running intervals: each P's rows in blocks of BLOCK (aligned at the
 * P's first row); per block, its largest end and, for each goroutine with runs of positive
 * length in it: their summed length (wrapping int64, as numpy), their number, the row of the
 * longest (the first of equal ones) and the first row. A window that contains every run of a
 * block (first start >= a, largest end <= b) takes the block's entries as they are: for such runs
 * the overlap is the run itself. Sums are added modulo 2^64, counts add, the first row is a
 * minimum and the longest is kept on ties by the earlier row, so the result is the same as
 * visiting the runs one by one (held_runs' float64 sums too: see there). Built once per
 * timeline (run_blocks: an opaque capsule Timelines keeps) or for one held_reduce call. */
#define BLOCK 64
#define BLOCKS_CAPSULE "diagnose.timeline._fastscan.run_blocks"

typedef struct {
    Py_ssize_t n, np_, nrun, ngor;  /* blocks, Ps, rows and the goroutine bound it was built for */
    int64_t *segoff;   /* np_ + 1: the P partition it was built for */
    int64_t *first;    /* per P: its first block's number */
    int64_t *off;      /* n + 1 entry offsets */
    int64_t *max_e;    /* per block */
    int64_t *g, *sum, *cnt, *best, *row;  /* entries: goroutine, summed length, runs, longest row, first row */
} blocks;

static void free_blocks(blocks *b) {
    free(b->segoff); free(b->first); free(b->off); free(b->max_e);
    free(b->g); free(b->sum); free(b->cnt); free(b->best); free(b->row);
    memset(b, 0, sizeof(*b));
}

/* gi must be checked in [0, ngor) by the caller. */
static int build_blocks(blocks *bk, const int64_t *s, const int64_t *e, const int64_t *gi, const int64_t *seg,
                        Py_ssize_t np_, Py_ssize_t ngor) {
    Py_ssize_t nb = 0;
    for (Py_ssize_t k = 0; k < np_; k++) nb += (Py_ssize_t)((seg[k + 1] - seg[k] + BLOCK - 1) / BLOCK);
    Py_ssize_t nrun = (Py_ssize_t)seg[np_];
    size_t nr = nrun ? (size_t)nrun : 1;
    int64_t *slot = (int64_t *)malloc((ngor ? (size_t)ngor : 1) * sizeof(int64_t));
    bk->segoff = (int64_t *)malloc((size_t)(np_ + 1) * sizeof(int64_t));
    bk->first = (int64_t *)malloc((size_t)(np_ + 1) * sizeof(int64_t));
    bk->off = (int64_t *)malloc((size_t)(nb + 1) * sizeof(int64_t));
    bk->max_e = (int64_t *)malloc((size_t)(nb ? nb : 1) * sizeof(int64_t));
    bk->g = (int64_t *)malloc(nr * sizeof(int64_t));
    bk->sum = (int64_t *)malloc(nr * sizeof(int64_t));
    bk->cnt = (int64_t *)malloc(nr * sizeof(int64_t));
    bk->best = (int64_t *)malloc(nr * sizeof(int64_t));
    bk->row = (int64_t *)malloc(nr * sizeof(int64_t));
    if (!slot || !bk->segoff || !bk->first || !bk->off || !bk->max_e || !bk->g || !bk->sum || !bk->cnt ||
        !bk->best || !bk->row) {
        free(slot);
        free_blocks(bk);
        return -1;
    }
    memcpy(bk->segoff, seg, (size_t)(np_ + 1) * sizeof(int64_t));
    for (Py_ssize_t g = 0; g < ngor; g++) slot[g] = -1;
    Py_ssize_t bi = 0, ne = 0;
    for (Py_ssize_t k = 0; k < np_; k++) {
        bk->first[k] = bi;
        for (int64_t r0 = seg[k]; r0 < seg[k + 1]; r0 += BLOCK, bi++) {
            int64_t r1 = r0 + BLOCK < seg[k + 1] ? r0 + BLOCK : seg[k + 1];
            Py_ssize_t e0 = ne;
            int64_t mx = INT64_MIN;
            bk->off[bi] = ne;
            for (int64_t j = r0; j < r1; j++) {
                if (e[j] > mx) mx = e[j];
                int64_t ov = (int64_t)((uint64_t)e[j] - (uint64_t)s[j]);
                if (ov <= 0) continue;
                int64_t g = gi[j];
                if (slot[g] < e0) {  /* not yet in this block */
                    slot[g] = ne;
                    bk->g[ne] = g;
                    bk->sum[ne] = 0;
                    bk->cnt[ne] = 0;
                    bk->best[ne] = j;
                    bk->row[ne] = j;
                    ne++;
                }
                Py_ssize_t x = slot[g];
                bk->sum[x] = (int64_t)((uint64_t)bk->sum[x] + (uint64_t)ov);
                bk->cnt[x]++;
                int64_t bb = bk->best[x];
                if (ov > (int64_t)((uint64_t)e[bb] - (uint64_t)s[bb])) bk->best[x] = j;
            }
            bk->max_e[bi] = mx;
        }
    }
    bk->first[np_] = bi;
    bk->off[bi] = ne;
    bk->n = bi;
    bk->np_ = np_;
    bk->nrun = nrun;
    bk->ngor = ngor;
    free(slot);
    return 0;
}

static void blocks_capsule_free(PyObject *cap) {
    blocks *bk = (blocks *)PyCapsule_GetPointer(cap, BLOCKS_CAPSULE);
    if (bk) {
        free_blocks(bk);
        free(bk);
    }
}

/* The blocks of a capsule (None: NULL, no error), checked against the arrays they are used with. */
static int capsule_blocks(PyObject *o, const int64_t *seg, Py_ssize_t np_, Py_ssize_t ngor, blocks **out) {
    *out = NULL;
    if (o == NULL || o == Py_None) return 0;
    blocks *bk = (blocks *)PyCapsule_GetPointer(o, BLOCKS_CAPSULE);
    if (!bk) return -1;
    if (bk->np_ != np_ || bk->ngor != ngor || memcmp(bk->segoff, seg, (size_t)(np_ + 1) * sizeof(int64_t))) {
        PyErr_SetString(PyExc_ValueError, "_fastscan: run blocks built for other running intervals");
        return -1;
    }
    *out = bk;
    return 0;
}

/* run_blocks' own checks (get_runs checked the partition): it covers every row, gi in range. */
static int check_runs(const int64_t *seg, Py_ssize_t np_, Py_ssize_t nrun, const int64_t *gi, Py_ssize_t ngor,
                      const char *fn) {
    if (seg[0] != 0 || seg[np_] != nrun) {
        PyErr_Format(PyExc_ValueError, "%s: bad segoff", fn);
        return -1;
    }
    for (Py_ssize_t i = 0; i < nrun; i++)
        if (gi[i] < 0 || gi[i] >= ngor) {
            PyErr_Format(PyExc_ValueError, "%s: goroutine index out of range", fn);
            return -1;
        }
    return 0;
}

PyDoc_STRVAR(run_blocks_doc,
"run_blocks(s, e, gi, segoff, ngor) -> capsule\n\n"
"The block summaries of the running intervals (s, e, gi grouped by P as segoff says, each P's in\n"
"time order) for held_reduce and held_runs: built once, used by every window of a timeline.");

static PyObject *run_blocks(PyObject *self, PyObject *args) {
    PyObject *os, *oe, *og, *oseg;
    Py_ssize_t ngor;
    if (!PyArg_ParseTuple(args, "OOOOn", &os, &oe, &og, &oseg, &ngor)) return NULL;
    if (ngor < 0) {
        PyErr_SetString(PyExc_ValueError, "run_blocks: ngor < 0");
        return NULL;
    }
    runs_in r;
    if (get_runs(&r, os, oe, NULL, og, oseg, "run_blocks") < 0) return NULL;
    PyObject *res = NULL;
    blocks *bk = NULL;
    if (check_runs(r.seg.buf, r.np_, r.nrun, r.g.buf, ngor, "run_blocks") < 0) goto done;
    bk = (blocks *)calloc(1, sizeof(blocks));
    if (!bk || build_blocks(bk, r.s.buf, r.e.buf, r.g.buf, r.seg.buf, r.np_, ngor) < 0) {
        free(bk);
        PyErr_NoMemory();
        goto done;
    }
    res = PyCapsule_New(bk, BLOCKS_CAPSULE, blocks_capsule_free);
    if (!res) {
        free_blocks(bk);
        free(bk);
    }
done:
    release_runs(&r);
    return res;
}

/* held_reduce's and held_totals' arguments after the runs: the per-(P, window) run ranges
 * (lo, cnt: nP x nW row-major), the windows (ws, we) and the goroutine-index bound, checked
 * once for both. */
typedef struct {
    Py_buffer lo, cnt, ws, we;
    Py_ssize_t nw;
} held_in;

static void release_held(held_in *h) {  /* safe on buffers never filled: they are zeroed */
    PyBuffer_Release(&h->lo); PyBuffer_Release(&h->cnt); PyBuffer_Release(&h->ws); PyBuffer_Release(&h->we);
}

static int get_held(held_in *h, const runs_in *r, PyObject *olo, PyObject *ocnt, PyObject *ows, PyObject *owe,
                    Py_ssize_t ngor, const char *name) {
    if (get_i64(ows, &h->ws, -1, "ws") < 0) return -1;
    h->nw = h->ws.len / 8;
    if (get_i64(owe, &h->we, h->nw, "we") < 0) return -1;
    if (get_i64(olo, &h->lo, r->np_ * h->nw, "lo") < 0) return -1;
    if (get_i64(ocnt, &h->cnt, r->np_ * h->nw, "cnt") < 0) return -1;
    const int64_t *gi = (const int64_t *)r->g.buf;
    for (Py_ssize_t i = 0; i < r->nrun; i++)
        if (gi[i] < 0 || gi[i] >= ngor) {
            PyErr_Format(PyExc_ValueError, "%s: goroutine index out of range", name);
            return -1;
        }
    return 0;
}

PyDoc_STRVAR(held_reduce_doc,
"held_reduce(s, e, gi, segoff, lo, cnt, ws, we, ngor) -> (window, gi, overlap, first) as bytes of int64\n\n"
"s, e, gi: start, end and goroutine index of the running intervals, grouped by P (P k's are\n"
"s[segoff[k]:segoff[k+1]], in time order). lo, cnt: (nP x nW) row-major: window w overlaps\n"
"P k's intervals lo..lo+cnt-1 (indexes within the P's group). ws, we: the windows. ngor: the\n"
"goroutine-index bound. Rows: per window in order, per goroutine index ascending, the summed\n"
"positive overlap and the first overlap start.");

static PyObject *held_reduce(PyObject *self, PyObject *args) {
    PyObject *os, *oe, *og, *oseg, *olo, *ocnt, *ows, *owe, *oblk = NULL;
    Py_ssize_t ngor;
    if (!PyArg_ParseTuple(args, "OOOOOOOOn|O", &os, &oe, &og, &oseg, &olo, &ocnt, &ows, &owe, &ngor, &oblk))
        return NULL;
    held_in h = {0};
    runs_in r = {0};
    PyObject *res = NULL;
    int64_t *sum = NULL, *first = NULL, *mark = NULL, *touched = NULL;
    vec ow = {0}, og_ = {0}, oo = {0}, of = {0};
    blocks tmp = {0}, *bk = NULL;
    int oom = 0;
    if (ngor < 0) {
        PyErr_SetString(PyExc_ValueError, "held_reduce: ngor < 0");
        return NULL;
    }
    if (get_runs(&r, os, oe, NULL, og, oseg, "held_reduce") < 0) return NULL;
    Py_ssize_t nrun = r.nrun, np_ = r.np_;
    if (get_held(&h, &r, olo, ocnt, ows, owe, ngor, "held_reduce") < 0) goto done;
    Py_ssize_t nw = h.nw;
    {
        const int64_t *s = (const int64_t *)r.s.buf, *e = (const int64_t *)r.e.buf, *gi = (const int64_t *)r.g.buf;
        const int64_t *seg = (const int64_t *)r.seg.buf, *lo = (const int64_t *)h.lo.buf,
                      *cnt = (const int64_t *)h.cnt.buf, *ws = (const int64_t *)h.ws.buf,
                      *we = (const int64_t *)h.we.buf;
        size_t n = ngor ? (size_t)ngor : 1;
        sum = (int64_t *)malloc(n * sizeof(int64_t));
        first = (int64_t *)malloc(n * sizeof(int64_t));
        mark = (int64_t *)malloc(n * sizeof(int64_t));
        touched = (int64_t *)malloc(n * sizeof(int64_t));
        if (!sum || !first || !mark || !touched) {
            PyErr_NoMemory();
            goto done;
        }
        for (size_t g = 0; g < n; g++) mark[g] = -1;
        /* Many pairs per run (long windows over short runs): summarise blocks of each P's runs
         * once, so a window's runs that lie wholly inside it are added a block at a time. */
        int64_t pairs = 0;
        for (Py_ssize_t x = 0; x < np_ * nw; x++)
            if (cnt[x] > 0) pairs += cnt[x] < nrun ? cnt[x] : nrun;
        if (capsule_blocks(oblk, seg, np_, ngor, &bk) < 0) goto done;
        if (!bk && seg[np_] == nrun && nrun >= 4 * BLOCK && pairs > 4 * (int64_t)nrun) {
            if (build_blocks(&tmp, s, e, gi, seg, np_, ngor) < 0) {
                PyErr_NoMemory();
                goto done;
            }
            bk = &tmp;
        }
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t w = 0; w < nw; w++) {
            Py_ssize_t nt = 0;
            int64_t a = ws[w], b = we[w];
            for (Py_ssize_t k = 0; k < np_; k++) {
                int64_t l = lo[k * nw + w], c = cnt[k * nw + w];
                int64_t base = seg[k], len = seg[k + 1] - seg[k];
                if (c <= 0) continue;
                if (l < 0) l = 0;
                if (l >= len) continue;
                if (c > len - l) c = len - l;  /* no l + c: it could overflow */
                for (int64_t i = l; i < l + c;) {
                    if (bk && i % BLOCK == 0 && i + BLOCK <= l + c) {
                        /* a whole block: added at once when all its runs lie inside [a, b) */
                        int64_t bi = bk->first[k] + i / BLOCK;
                        if (s[base + i] >= a && bk->max_e[bi] <= b) {
                            for (int64_t x = bk->off[bi]; x < bk->off[bi + 1]; x++) {
                                int64_t g = bk->g[x];
                                if (mark[g] != w) {
                                    mark[g] = w;
                                    sum[g] = 0;
                                    first[g] = INT64_MAX;
                                    touched[nt++] = g;
                                }
                                sum[g] = (int64_t)((uint64_t)sum[g] + (uint64_t)bk->sum[x]);
                                if (s[bk->row[x]] < first[g]) first[g] = s[bk->row[x]];
                            }
                            i += BLOCK;
                            continue;
                        }
                    }
                    int64_t j = base + i;
                    i++;
                    int64_t st = s[j] > a ? s[j] : a;
                    int64_t en = e[j] < b ? e[j] : b;
                    /* numpy's int64 arithmetic wraps: do the same, without C's signed-overflow UB */
                    int64_t ov = (int64_t)((uint64_t)en - (uint64_t)st);
                    if (ov <= 0) continue;
                    int64_t g = gi[j];
                    if (mark[g] != w) {
                        mark[g] = w;
                        sum[g] = 0;
                        first[g] = INT64_MAX;
                        touched[nt++] = g;
                    }
                    sum[g] = (int64_t)((uint64_t)sum[g] + (uint64_t)ov);
                    if (st < first[g]) first[g] = st;
                }
            }
            if (nt > 1) {
                if ((int64_t)nt * 16 >= (int64_t)ngor) {
                    /* many goroutines: their marks, read in index order, are the sorted list */
                    Py_ssize_t m = 0;
                    for (Py_ssize_t g = 0; g < ngor; g++)
                        if (mark[g] == w) touched[m++] = g;
                } else {
                    qsort(touched, (size_t)nt, sizeof(int64_t), cmp_i64);
                }
            }
            for (Py_ssize_t t = 0; t < nt; t++) {
                int64_t g = touched[t];
                if (vpush(&ow, w) || vpush(&og_, g) || vpush(&oo, sum[g]) || vpush(&of, first[g])) {
                    oom = 1;
                    break;
                }
            }
            if (oom) break;  /* reported below, with the GIL */
        }
        Py_END_ALLOW_THREADS
        if (oom) {
            PyErr_NoMemory();
            goto done;
        }
    }
    {
        PyObject *r0 = vbytes(&ow);
        PyObject *r1 = r0 ? vbytes(&og_) : NULL;
        PyObject *r2 = r1 ? vbytes(&oo) : NULL;
        PyObject *r3 = r2 ? vbytes(&of) : NULL;
        if (r3) res = PyTuple_Pack(4, r0, r1, r2, r3);
        Py_XDECREF(r0); Py_XDECREF(r1); Py_XDECREF(r2); Py_XDECREF(r3);
    }
done:
    release_runs(&r);
    release_held(&h);
    free(sum); free(first); free(mark); free(touched);
    free(ow.p); free(og_.p); free(oo.p); free(of.p);
    free_blocks(&tmp);
    return res;
}

PyDoc_STRVAR(held_totals_doc,
"held_totals(s, e, gi, segoff, lo, cnt, ws, we, ngor) -> bytes of float64 (ngor)\n\n"
"held_reduce's overlaps summed per goroutine index over all the windows (the arguments are\n"
"held_reduce's), for runs that do not overlap on a P (the caller checks): the runs between a\n"
"window's first and last on a P lie inside it and add their whole length, counted by a\n"
"difference array; only the first and last are clipped. timeline/heldtotals.py is the\n"
"reference.");

static PyObject *held_totals(PyObject *self, PyObject *args) {
    PyObject *os, *oe, *og, *oseg, *olo, *ocnt, *ows, *owe;
    Py_ssize_t ngor;
    if (!PyArg_ParseTuple(args, "OOOOOOOOn", &os, &oe, &og, &oseg, &olo, &ocnt, &ows, &owe, &ngor)) return NULL;
    held_in h = {0};
    runs_in r = {0};
    PyObject *res = NULL;
    int64_t *mult = NULL;
    if (ngor < 0) {
        PyErr_SetString(PyExc_ValueError, "held_totals: ngor < 0");
        return NULL;
    }
    if (get_runs(&r, os, oe, NULL, og, oseg, "held_totals") < 0) return NULL;
    Py_ssize_t nrun = r.nrun, np_ = r.np_;
    if (get_held(&h, &r, olo, ocnt, ows, owe, ngor, "held_totals") < 0) goto done;
    Py_ssize_t nw = h.nw;
    {
        const int64_t *s = (const int64_t *)r.s.buf, *e = (const int64_t *)r.e.buf, *gi = (const int64_t *)r.g.buf;
        const int64_t *seg = (const int64_t *)r.seg.buf, *lo = (const int64_t *)h.lo.buf,
                      *cnt = (const int64_t *)h.cnt.buf, *ws = (const int64_t *)h.ws.buf,
                      *we = (const int64_t *)h.we.buf;
        res = PyBytes_FromStringAndSize(NULL, (ngor ? ngor : 0) * (Py_ssize_t)sizeof(double));
        mult = (int64_t *)calloc((size_t)nrun + 1, sizeof(int64_t));
        if (!res || !mult) {
            Py_CLEAR(res);
            if (!PyErr_Occurred()) PyErr_NoMemory();
            goto done;
        }
        double *out = (double *)PyBytes_AS_STRING(res);
        for (Py_ssize_t g = 0; g < ngor; g++) out[g] = 0.0;
        for (Py_ssize_t k = 0; k < np_; k++) {
            int64_t base = seg[k], len = seg[k + 1] - seg[k];
            for (Py_ssize_t w = 0; w < nw; w++) {
                int64_t l = lo[k * nw + w], c = cnt[k * nw + w];
                if (c <= 0) continue;
                if (l < 0) l = 0;
                if (l >= len) continue;
                if (c > len - l) c = len - l;
                int64_t ends[2] = {base + l, base + l + c - 1};
                for (int x = 0; x < (c >= 2 ? 2 : 1); x++) {  /* the first and last run: clipped */
                    int64_t j = ends[x];
                    int64_t st = s[j] > ws[w] ? s[j] : ws[w];
                    int64_t en = e[j] < we[w] ? e[j] : we[w];
                    int64_t ov = (int64_t)((uint64_t)en - (uint64_t)st);
                    if (ov > 0) out[gi[j]] += (double)ov;
                }
                if (c >= 3) {  /* the runs between: wholly inside */
                    mult[base + l + 1]++;
                    mult[base + l + c - 1]--;
                }
            }
        }
        int64_t inside = 0;
        for (Py_ssize_t j = 0; j < nrun; j++) {
            inside += mult[j];
            if (inside) out[gi[j]] += (double)(int64_t)((uint64_t)inside * (uint64_t)(e[j] - s[j]));
        }
    }
done:
    release_runs(&r);
    release_held(&h);
    free(mult);
    return res;
}

/* First index in sorted a[0:n] with a[i] > x (numpy searchsorted side="right"). */
static Py_ssize_t search_right(const int64_t *a, Py_ssize_t n, int64_t x) {
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (a[mid] <= x) lo = mid + 1; else hi = mid;
    }
    return lo;
}

/* First index in sorted a[0:n] with a[i] >= x (side="left"). */
static Py_ssize_t search_left(const int64_t *a, Py_ssize_t n, int64_t x) {
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (a[mid] < x) lo = mid + 1; else hi = mid;
    }
    return lo;
}

typedef struct {
    int64_t g;       /* goroutine index */
    double total;    /* summed overlap, as the reference sums it (numpy bincount: float64, row order) */
    int64_t runs;    /* overlapping runs */
    int64_t first;   /* its first overlapping row (rows are visited in P, then time order) */
    int64_t best;    /* row of its longest overlap (the first of equal ones) */
    int64_t best_ov;
} holder;

/* by summed overlap as int64 descending, then first appearance */
static int cmp_holder(const void *a, const void *b) {
    const holder *x = (const holder *)a, *y = (const holder *)b;
    int64_t tx = (int64_t)x->total, ty = (int64_t)y->total;
    if (tx != ty) return tx > ty ? -1 : 1;
    return (x->first > y->first) - (x->first < y->first);
}

/* The holder of goroutine g (slot: 0 unseen, else 1 + its index), added at row `row` if new. */
static holder *holder_of(holder **hs, Py_ssize_t *nh, Py_ssize_t *cap, int32_t *slot, int64_t g, int64_t row,
                         int64_t best, int64_t best_ov) {
    if (slot[g]) return &(*hs)[slot[g] - 1];
    if (*nh == *cap) {
        Py_ssize_t c = *cap ? *cap * 2 : 64;
        holder *q = (holder *)realloc(*hs, (size_t)c * sizeof(holder));
        if (!q) return NULL;
        *hs = q;
        *cap = c;
    }
    holder *h = &(*hs)[(*nh)++];
    slot[g] = (int32_t)*nh;
    h->g = g;
    h->total = 0.0;
    h->runs = 0;
    h->first = row;
    h->best = best;
    h->best_ov = best_ov;
    return h;
}

PyDoc_STRVAR(held_runs_doc,
"held_runs(s, e, end_max, gi, segoff, a, b, exclude_gi, n, ngor[, blocks]) -> [(gi, total, runs, row)]\n\n"
"s, e, end_max, gi: the running intervals grouped by P (Timelines.run_index: P k's rows are\n"
"segoff[k]:segoff[k+1], in time order, end_max the running max of e within the P). For the\n"
"window [a, b): per goroutine index (except exclude_gi; -1 none) with a positive overlap, its\n"
"summed overlap (int64 of a float64 sum, as chains.held_runs), its number of runs and the row of\n"
"its longest overlap; the n largest sums, ties by first appearance (P order, then time).\n"
"blocks (run_blocks of the same arrays, or None): runs wholly inside the window are added a\n"
"block at a time -- only when b - a times the number of Ps is below 2^53, so that every float64\n"
"partial sum is an exact integer and the order of the additions cannot change the totals.");

static PyObject *held_runs(PyObject *self, PyObject *args) {
    PyObject *os, *oe, *om, *og, *oseg, *oblk = NULL;
    long long a, b, ex;
    Py_ssize_t n, ngor;
    if (!PyArg_ParseTuple(args, "OOOOOLLLnn|O", &os, &oe, &om, &og, &oseg, &a, &b, &ex, &n, &ngor, &oblk))
        return NULL;
    PyObject *res = NULL;
    int32_t *slot = NULL;
    holder *hs = NULL;
    if (ngor < 0 || n < 0) {
        PyErr_SetString(PyExc_ValueError, "held_runs: n and ngor must be >= 0");
        return NULL;
    }
    runs_in rr;
    if (get_runs(&rr, os, oe, om, og, oseg, "held_runs") < 0) return NULL;
    {
        const int64_t *s = rr.s.buf, *e = rr.e.buf, *em = rr.m.buf, *gi = rr.g.buf, *seg = rr.seg.buf;
        Py_ssize_t np_ = rr.np_;
        blocks *bk = NULL;
        if (capsule_blocks(oblk, seg, np_, ngor, &bk) < 0) goto done;
        if (bk && !(b > a && (uint64_t)b - (uint64_t)a < ((uint64_t)1 << 53) / (uint64_t)(np_ ? np_ : 1)))
            bk = NULL;  /* float64 sums could round: one run at a time, as the reference adds them */
        slot = (int32_t *)calloc(ngor ? (size_t)ngor : 1, sizeof(int32_t));
        if (!slot) {
            PyErr_NoMemory();
            goto done;
        }
        Py_ssize_t nh = 0, cap = 0;
        for (Py_ssize_t k = 0; k < np_; k++) {
            Py_ssize_t base = (Py_ssize_t)seg[k], len = (Py_ssize_t)(seg[k + 1] - seg[k]);
            Py_ssize_t lo = search_right(em + base, len, a), hi = search_left(s + base, len, b);
            for (Py_ssize_t i = lo; i < hi;) {
                if (bk && i % BLOCK == 0 && i + BLOCK <= hi) {
                    int64_t bi = bk->first[k] + i / BLOCK;
                    if (s[base + i] >= a && bk->max_e[bi] <= b) {  /* every run of the block inside */
                        for (int64_t x = bk->off[bi]; x < bk->off[bi + 1]; x++) {
                            int64_t g = bk->g[x];
                            if (g == ex) continue;
                            int64_t r = bk->best[x], rov = (int64_t)((uint64_t)e[r] - (uint64_t)s[r]);
                            holder *h = holder_of(&hs, &nh, &cap, slot, g, bk->row[x], r, rov);
                            if (!h) {
                                PyErr_NoMemory();
                                goto done;
                            }
                            if (rov > h->best_ov) {
                                h->best_ov = rov;
                                h->best = r;
                            }
                            h->total += (double)bk->sum[x];
                            h->runs += bk->cnt[x];
                        }
                        i += BLOCK;
                        continue;
                    }
                }
                Py_ssize_t j = base + i;
                i++;
                int64_t st = s[j] > a ? s[j] : a, en = e[j] < b ? e[j] : b;
                int64_t ov = (int64_t)((uint64_t)en - (uint64_t)st); /* numpy wraps; so do we, without UB */
                if (ov <= 0) continue;
                int64_t g = gi[j];
                if (g < 0 || g >= ngor) {
                    PyErr_SetString(PyExc_ValueError, "held_runs: goroutine index out of range");
                    goto done;
                }
                if (g == ex) continue;
                holder *h = holder_of(&hs, &nh, &cap, slot, g, j, j, ov);
                if (!h) {
                    PyErr_NoMemory();
                    goto done;
                }
                if (ov > h->best_ov) {
                    h->best_ov = ov;
                    h->best = j;
                }
                h->total += (double)ov;
                h->runs++;
            }
        }
        if (nh > 1) qsort(hs, (size_t)nh, sizeof(holder), cmp_holder);
        if (n > nh) n = nh;
        res = PyList_New(n);
        if (!res) goto done;
        for (Py_ssize_t j = 0; j < n; j++) {
            PyObject *t = Py_BuildValue("(LLLL)", (long long)hs[j].g, (long long)(int64_t)hs[j].total,
                                        (long long)hs[j].runs, (long long)hs[j].best);
            if (!t) {
                Py_CLEAR(res);
                goto done;
            }
            PyList_SET_ITEM(res, j, t);
        }
    }
done:
    release_runs(&rr);
    free(slot);
    free(hs);
    return res;
}

/* A C-contiguous buffer of `itemsize`-byte items whose struct format's last letter is one of
 * `kinds` (numpy: 'q'/'l' int64, 'i' int32, 'b' int8, 'B' uint8, '?' bool), at least `need` long. */
static int get_buf(PyObject *o, Py_buffer *b, Py_ssize_t itemsize, const char *kinds, Py_ssize_t need,
                   int writable, const char *what) {
    if (PyObject_GetBuffer(o, b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    const char *f = b->format ? b->format : "B";
    char k = f[0] ? f[strlen(f) - 1] : 'B';
    if (b->itemsize != itemsize || !strchr(kinds, k)) {
        PyErr_Format(PyExc_TypeError, "_fastscan: %s has the wrong item type (%s)", what, f);
        PyBuffer_Release(b);
        return -1;
    }
    if (b->len / itemsize < need) {
        PyErr_Format(PyExc_ValueError, "_fastscan: %s has %zd items, need %zd", what, b->len / itemsize, need);
        PyBuffer_Release(b);
        return -1;
    }
    return 0;
}

static int sorted_i64(const int64_t *a, Py_ssize_t n) {
    for (Py_ssize_t i = 1; i < n; i++)
        if (a[i] < a[i - 1]) return 0;
    return 1;
}

PyDoc_STRVAR(pair_counts_doc,
"pair_counts(end_max, start, segoff, ws, we, lo, hi)\n\n"
"held_pair_counts' binary searches, per P k (rows segoff[k]:segoff[k+1]) and window w:\n"
"lo[k, w] = searchsorted(end_max[P k], ws[w], 'right'), hi[k, w] = searchsorted(start[P k],\n"
"we[w], 'left'), into lo and hi (int64, nP x nW, C order). With the queries and the P's rows in\n"
"ascending order (the caller sorts the queries) one merge walk per P answers them all; otherwise\n"
"each query is a binary search, as numpy's.");

static PyObject *pair_counts(PyObject *self, PyObject *args) {
    PyObject *oem, *os, *oseg, *ows, *owe, *olo, *ohi;
    if (!PyArg_ParseTuple(args, "OOOOOOO", &oem, &os, &oseg, &ows, &owe, &olo, &ohi)) return NULL;
    Py_buffer b[7];
    int nb = 0;
    PyObject *res = NULL;
    memset(b, 0, sizeof b);
    if (get_buf(oseg, &b[nb++], 8, "ql", 1, 0, "segoff") < 0) goto done;
    Py_ssize_t np_ = b[0].len / 8 - 1;
    const int64_t *seg = (const int64_t *)b[0].buf;
    Py_ssize_t nrun = seg[np_];
    for (Py_ssize_t k = 0; k < np_; k++)
        if (seg[k] < (k ? seg[k - 1] : 0) || seg[k] > seg[k + 1]) {
            PyErr_SetString(PyExc_ValueError, "pair_counts: segoff is not ascending from 0");
            goto done;
        }
    if (seg[0] != 0 || nrun < 0) {
        PyErr_SetString(PyExc_ValueError, "pair_counts: segoff is not ascending from 0");
        goto done;
    }
    if (get_buf(oem, &b[nb++], 8, "ql", nrun, 0, "end_max") < 0) goto done;
    if (get_buf(os, &b[nb++], 8, "ql", nrun, 0, "start") < 0) goto done;
    if (get_buf(ows, &b[nb++], 8, "ql", 0, 0, "ws") < 0) goto done;
    Py_ssize_t nw = b[3].len / 8;
    if (get_buf(owe, &b[nb++], 8, "ql", nw, 0, "we") < 0) goto done;
    if (get_buf(olo, &b[nb++], 8, "ql", np_ * nw, 1, "lo") < 0) goto done;
    if (get_buf(ohi, &b[nb++], 8, "ql", np_ * nw, 1, "hi") < 0) goto done;
    {
        const int64_t *em = (const int64_t *)b[1].buf, *st = (const int64_t *)b[2].buf;
        const int64_t *ws = (const int64_t *)b[3].buf, *we = (const int64_t *)b[4].buf;
        int64_t *lo = (int64_t *)b[5].buf, *hi = (int64_t *)b[6].buf;
        int ws_sorted = sorted_i64(ws, nw), we_sorted = sorted_i64(we, nw);
        for (Py_ssize_t k = 0; k < np_; k++) {
            Py_ssize_t base = (Py_ssize_t)seg[k], len = (Py_ssize_t)(seg[k + 1] - seg[k]);
            int64_t *lk = lo + k * nw, *hk = hi + k * nw;
            if (ws_sorted && sorted_i64(em + base, len)) {
                Py_ssize_t i = 0;
                for (Py_ssize_t w = 0; w < nw; w++) {  /* rows <= ws[w] */
                    while (i < len && em[base + i] <= ws[w]) i++;
                    lk[w] = i;
                }
            } else {
                for (Py_ssize_t w = 0; w < nw; w++) lk[w] = search_right(em + base, len, ws[w]);
            }
            if (we_sorted && sorted_i64(st + base, len)) {
                Py_ssize_t i = 0;
                for (Py_ssize_t w = 0; w < nw; w++) {  /* rows < we[w] */
                    while (i < len && st[base + i] < we[w]) i++;
                    hk[w] = i;
                }
            } else {
                for (Py_ssize_t w = 0; w < nw; w++) hk[w] = search_left(st + base, len, we[w]);
            }
        }
    }
    res = Py_None;
    Py_INCREF(res);
done:
    for (int i = 0; i < nb; i++) PyBuffer_Release(&b[i]);
    return res;
}

PyDoc_STRVAR(timelines_scan_doc,
"timelines_scan(ev, gid, cols, t_end, out) -> number of intervals\n\n"
"ev (int32), gid (int64): the goroutine state-transition rows and their goroutine, grouped by\n"
"goroutine (stable). cols: (t, g, stk, tstk, p, m, s1, sfrom, sto) as int64, int64, int32,\n"
"int32, int64, int64, int32, uint8, uint8. out: 18 writable arrays of len(ev) items: bev i32,\n"
"bg i64, start i64, end i64, open bool, end_ev i32, stk i32, cause_g i64, cause_stk i32,\n"
"end_g i64, end_stk i32, p i64, m i64, reason i32, next i32, prev i32, state i8, from i8;\n"
"their first n items are filled.");

enum { C_T, C_G, C_STK, C_TSTK, C_P, C_M, C_S1, C_SFROM, C_STO, NCOL };
enum { O_BEV, O_BG, O_START, O_END, O_OPEN, O_END_EV, O_STK, O_CG, O_CSTK, O_END_G, O_END_STK, O_P, O_M,
       O_REASON, O_NEXT, O_PREV, O_STATE, O_FROM, NOUT };

static PyObject *timelines_scan(PyObject *self, PyObject *args) {
    PyObject *oev, *ogid, *ocols, *oout;
    long long t_end;
    if (!PyArg_ParseTuple(args, "OOOLO", &oev, &ogid, &ocols, &t_end, &oout)) return NULL;
    if (!PyTuple_Check(ocols) || PyTuple_GET_SIZE(ocols) != NCOL || !PyTuple_Check(oout) ||
        PyTuple_GET_SIZE(oout) != NOUT) {
        PyErr_SetString(PyExc_TypeError, "timelines_scan: cols must be a 9-tuple and out an 18-tuple");
        return NULL;
    }
    static const Py_ssize_t col_size[NCOL] = {8, 8, 4, 4, 8, 8, 4, 1, 1};
    static const char *col_kind[NCOL] = {"ql", "ql", "i", "i", "ql", "ql", "i", "B", "B"};
    static const Py_ssize_t out_size[NOUT] = {4, 8, 8, 8, 1, 4, 4, 8, 4, 8, 4, 8, 8, 4, 4, 4, 1, 1};
    static const char *out_kind[NOUT] = {"i", "ql", "ql", "ql", "?", "i", "i", "ql", "i", "ql", "i", "ql", "ql",
                                         "i", "i", "i", "b", "b"};
    Py_buffer bev, bgid, bc[NCOL], bo[NOUT];
    int nc = 0, no = 0, have_ev = 0, have_gid = 0;
    PyObject *res = NULL;
    if (get_buf(oev, &bev, 4, "i", 0, 0, "ev") < 0) goto done;
    have_ev = 1;
    Py_ssize_t n = bev.len / 4;
    if (get_buf(ogid, &bgid, 8, "ql", n, 0, "gid") < 0) goto done;
    have_gid = 1;
    for (; nc < NCOL; nc++)
        if (get_buf(PyTuple_GET_ITEM(ocols, nc), &bc[nc], col_size[nc], col_kind[nc], 0, 0, "a column") < 0) goto done;
    for (; no < NOUT; no++)
        if (get_buf(PyTuple_GET_ITEM(oout, no), &bo[no], out_size[no], out_kind[no], n, 1, "an output") < 0) goto done;
    {
        const int32_t *ev = bev.buf;
        const int64_t *gid = bgid.buf;
        const int64_t *t = bc[C_T].buf, *g = bc[C_G].buf, *p = bc[C_P].buf, *m = bc[C_M].buf;
        const int32_t *stk = bc[C_STK].buf, *tstk = bc[C_TSTK].buf, *s1 = bc[C_S1].buf;
        const uint8_t *sfrom = bc[C_SFROM].buf, *sto = bc[C_STO].buf;
        Py_ssize_t rows = bc[C_T].len / 8;
        for (int k = 1; k < NCOL; k++)
            if (bc[k].len / col_size[k] != rows) {
                PyErr_SetString(PyExc_ValueError, "timelines_scan: the columns differ in length");
                goto done;
            }
        int32_t *o_bev = bo[O_BEV].buf, *o_end_ev = bo[O_END_EV].buf, *o_stk = bo[O_STK].buf;
        int32_t *o_cstk = bo[O_CSTK].buf, *o_end_stk = bo[O_END_STK].buf, *o_reason = bo[O_REASON].buf;
        int32_t *o_next = bo[O_NEXT].buf, *o_prev = bo[O_PREV].buf;
        int64_t *o_bg = bo[O_BG].buf, *o_start = bo[O_START].buf, *o_end = bo[O_END].buf, *o_cg = bo[O_CG].buf;
        int64_t *o_end_g = bo[O_END_G].buf, *o_p = bo[O_P].buf, *o_m = bo[O_M].buf;
        uint8_t *o_open = bo[O_OPEN].buf;
        int8_t *o_state = bo[O_STATE].buf, *o_from = bo[O_FROM].buf;
        Py_ssize_t nb = 0;
        int cand_taken = 0; /* the current interval already had its first in-interval status stack */
        for (Py_ssize_t i = 0; i < n; i++) {
            int32_t r = ev[i];
            if (r < 0 || (Py_ssize_t)r >= rows) {
                PyErr_SetString(PyExc_IndexError, "timelines_scan: a row index is out of range");
                goto done;
            }
            int first_g = i == 0 || gid[i] != gid[i - 1];
            if (first_g || sfrom[r] != sto[r]) { /* an interval starts at this row */
                o_bev[nb] = r;
                o_bg[nb] = gid[i];
                o_start[nb] = t[r];
                o_cg[nb] = g[r];
                o_cstk[nb] = stk[r];
                o_p[nb] = p[r];
                o_m[nb] = m[r];
                o_reason[nb] = s1[r];
                o_state[nb] = (int8_t)sto[r];
                o_from[nb] = (int8_t)sfrom[r];
                o_stk[nb] = tstk[r];
                nb++;
                cand_taken = 0;
            } else if (tstk[r] > 0 && !cand_taken) {
                /* the interval's first status row with a stack: its stack if the opening had none */
                cand_taken = 1;
                if (o_stk[nb - 1] == 0) o_stk[nb - 1] = tstk[r];
            }
        }
        for (Py_ssize_t j = 0; j < nb; j++) {
            int same = j + 1 < nb && o_bg[j + 1] == o_bg[j];
            o_next[j] = same ? (int32_t)(j + 1) : -1;
            o_prev[j] = (j > 0 && o_bg[j - 1] == o_bg[j]) ? (int32_t)(j - 1) : -1;
            o_open[j] = !same;
            o_end_ev[j] = same ? o_bev[j + 1] : -1;
            o_end[j] = same ? o_start[j + 1] : (int64_t)t_end;
            o_end_g[j] = same ? o_cg[j + 1] : -1;
            o_end_stk[j] = same ? o_cstk[j + 1] : 0;
            if (o_stk[j] == 0) { /* a status event's own stack (Event.Stack() of GoStatusStack) */
                int32_t b = o_bev[j];
                o_stk[j] = sfrom[b] == sto[b] ? stk[b] : 0;
            }
        }
        res = PyLong_FromSsize_t(nb);
    }
done:
    if (have_ev) PyBuffer_Release(&bev);
    if (have_gid) PyBuffer_Release(&bgid);
    for (int k = 0; k < nc; k++) PyBuffer_Release(&bc[k]);
    for (int k = 0; k < no; k++) PyBuffer_Release(&bo[k]);
    return res;
}

PyDoc_STRVAR(bursts_doc,
"bursts(g, state, dur, running, runnable, burst_id_out) -> burst_run_ns as bytes of int64\n\n"
"Run bursts (Timelines.burst_id): consecutive Running/Runnable intervals of a goroutine, broken\n"
"by any other state. Fills burst_id_out (int64, one per interval) and returns each burst's\n"
"running ns (float64 sums in interval order truncated to int64, as numpy's bincount + astype).");

static PyObject *bursts(PyObject *self, PyObject *args) {
    PyObject *og, *ost, *odur, *oout;
    int running, runnable;
    if (!PyArg_ParseTuple(args, "OOOiiO", &og, &ost, &odur, &running, &runnable, &oout)) return NULL;
    Py_buffer bg, bst, bdur, bout;
    int nb = 0;
    PyObject *res = NULL;
    double *acc = NULL;
    if (get_buf(og, &bg, 8, "ql", 0, 0, "g") < 0) goto done;
    nb++;
    Py_ssize_t n = bg.len / 8;
    if (get_buf(ost, &bst, 1, "b", n, 0, "state") < 0) goto done;
    nb++;
    if (get_buf(odur, &bdur, 8, "ql", n, 0, "dur") < 0) goto done;
    nb++;
    if (get_buf(oout, &bout, 8, "ql", n, 1, "burst_id_out") < 0) goto done;
    nb++;
    {
        const int64_t *g = bg.buf, *dur = bdur.buf;
        const int8_t *st = bst.buf;
        int64_t *bid = bout.buf;
        int64_t id = -1;
        for (Py_ssize_t i = 0; i < n; i++) {
            int keep = (st[i] == running || st[i] == runnable) && i > 0 && g[i] == g[i - 1];
            if (!keep) id++;
            bid[i] = id;
        }
        Py_ssize_t nburst = (Py_ssize_t)(id + 1);
        acc = (double *)calloc(nburst ? (size_t)nburst : 1, sizeof(double));
        if (!acc) {
            PyErr_NoMemory();
            goto done;
        }
        for (Py_ssize_t i = 0; i < n; i++) acc[bid[i]] += st[i] == running ? (double)dur[i] : 0.0;
        res = PyBytes_FromStringAndSize(NULL, nburst * 8);
        if (res) {
            int64_t *o = (int64_t *)PyBytes_AS_STRING(res);
            for (Py_ssize_t k = 0; k < nburst; k++) o[k] = (int64_t)acc[k];
        }
    }
done:
    if (nb > 0) PyBuffer_Release(&bg);
    if (nb > 1) PyBuffer_Release(&bst);
    if (nb > 2) PyBuffer_Release(&bdur);
    if (nb > 3) PyBuffer_Release(&bout);
    free(acc);
    return res;
}

PyDoc_STRVAR(cpu_masks_doc,
"cpu_masks(state, dur, gor, burst_id, burst_run_ns, is_system, threshold, running, user_only,\n"
"          out) -> None\n\n"
"Timelines.cpu_bound_mask into out (bool, one per interval): Running intervals of bursts with\n"
">= threshold running ns (user_only: not of runtime goroutines). cpu_hog_mask refines it in\n"
"numpy over the few CPU-bound intervals.");

static PyObject *cpu_masks(PyObject *self, PyObject *args) {
    PyObject *ost, *odur, *ogor, *obid, *obrn, *osys, *oout;
    long long thr;
    int running, user_only;
    if (!PyArg_ParseTuple(args, "OOOOOOLiiO", &ost, &odur, &ogor, &obid, &obrn, &osys, &thr, &running, &user_only,
                          &oout))
        return NULL;
    Py_buffer b[7];
    int nb = 0;
    PyObject *res = NULL;
    if (get_buf(ost, &b[0], 1, "b", 0, 0, "state") < 0) goto done;
    nb++;
    Py_ssize_t n = b[0].len;
    if (get_buf(odur, &b[1], 8, "ql", n, 0, "dur") < 0) goto done;
    nb++;
    if (get_buf(ogor, &b[2], 8, "ql", n, 0, "gor") < 0) goto done;
    nb++;
    if (get_buf(obid, &b[3], 8, "ql", n, 0, "burst_id") < 0) goto done;
    nb++;
    if (get_buf(obrn, &b[4], 8, "ql", 0, 0, "burst_run_ns") < 0) goto done;
    nb++;
    if (get_buf(osys, &b[5], 1, "?", 0, 0, "is_system") < 0) goto done;
    nb++;
    if (get_buf(oout, &b[6], 1, "?", n, 1, "out") < 0) goto done;
    nb++;
    {
        const int8_t *st = b[0].buf;
        const int64_t *gi = b[2].buf, *bid = b[3].buf, *brn = b[4].buf;
        const uint8_t *sys = b[5].buf;
        uint8_t *out = b[6].buf;
        Py_ssize_t nburst = b[4].len / 8, ngor = b[5].len;
        for (Py_ssize_t i = 0; i < n; i++) {
            int64_t g = gi[i];
            if (g < 0 || g >= ngor) {
                PyErr_SetString(PyExc_ValueError, "cpu_masks: goroutine index out of range");
                goto done;
            }
            uint8_t m = 0;
            if (st[i] == running) {
                int64_t k = bid[i];
                if (k < 0 || k >= nburst) {
                    PyErr_SetString(PyExc_ValueError, "cpu_masks: burst index out of range");
                    goto done;
                }
                m = brn[k] >= thr && !(user_only && sys[g]);
            }
            out[i] = m;
        }
        Py_INCREF(Py_None);
        res = Py_None;
    }
done:
    for (int k = 0; k < nb; k++) PyBuffer_Release(&b[k]);
    return res;
}

PyDoc_STRVAR(syscalls_fill_doc,
"syscalls_fill(iv, state, next, runnable, ins, sys_class, sys_family, outs) -> None\n\n"
"analysis.syscalls in one pass over the chosen Syscall intervals iv (int64): ins = (g, start, end,\n"
"open, stk, p, m) of every interval (int64, int64, int64, bool, int32, int64, int64); outs =\n"
"(g, start, end, dur, open, stk, lost_p, p, m, cls, fam), len(iv) each (the ins' types; dur int64,\n"
"lost_p bool, cls/fam int8): lost_p when the next interval is Runnable (code `runnable`), cls and\n"
"fam from the per-stack tables.");

static PyObject *syscalls_fill(PyObject *self, PyObject *args) {
    PyObject *oiv, *ost, *onx, *oins, *ocls, *ofam, *oouts;
    int runnable;
    if (!PyArg_ParseTuple(args, "OOOiOOOO", &oiv, &ost, &onx, &runnable, &oins, &ocls, &ofam, &oouts)) return NULL;
    enum { I_G, I_S, I_E, I_OPEN, I_STK, I_P, I_M, NIN };
    enum { O_G, O_S, O_E, O_DUR, O_OPEN, O_STK, O_LOST, O_P, O_M, O_CLS, O_FAM, NOUT2 };
    if (!PyTuple_Check(oins) || PyTuple_GET_SIZE(oins) != NIN || !PyTuple_Check(oouts) ||
        PyTuple_GET_SIZE(oouts) != NOUT2) {
        PyErr_SetString(PyExc_TypeError, "syscalls_fill: ins must be a 7-tuple and outs an 11-tuple");
        return NULL;
    }
    static const Py_ssize_t in_size[NIN] = {8, 8, 8, 1, 4, 8, 8};
    static const char *in_kind[NIN] = {"ql", "ql", "ql", "?", "i", "ql", "ql"};
    static const Py_ssize_t out_size[NOUT2] = {8, 8, 8, 8, 1, 4, 1, 8, 8, 1, 1};
    static const char *out_kind[NOUT2] = {"ql", "ql", "ql", "ql", "?", "i", "?", "ql", "ql", "b", "b"};
    Py_buffer biv, bst, bnx, bcls, bfam, bi[NIN], bo[NOUT2];
    int have = 0, ni = 0, no = 0;
    PyObject *res = NULL;
    if (get_buf(oiv, &biv, 8, "ql", 0, 0, "iv") < 0) goto done;
    have++;
    Py_ssize_t n = biv.len / 8;
    if (get_buf(ost, &bst, 1, "b", 0, 0, "state") < 0) goto done;
    have++;
    Py_ssize_t niv = bst.len;
    if (PyObject_GetBuffer(onx, &bnx, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) goto done;
    have++;
    if ((bnx.itemsize != 4 && bnx.itemsize != 8) || bnx.len / bnx.itemsize < niv) {
        PyErr_SetString(PyExc_TypeError, "syscalls_fill: next must be int32 or int64, one per interval");
        goto done;
    }
    if (get_buf(ocls, &bcls, 1, "b", 0, 0, "sys_class") < 0) goto done;
    have++;
    Py_ssize_t nstk = bcls.len;
    if (get_buf(ofam, &bfam, 1, "b", nstk, 0, "sys_family") < 0) goto done;
    have++;
    for (; ni < NIN; ni++)
        if (get_buf(PyTuple_GET_ITEM(oins, ni), &bi[ni], in_size[ni], in_kind[ni], niv, 0, "an input") < 0) goto done;
    for (; no < NOUT2; no++)
        if (get_buf(PyTuple_GET_ITEM(oouts, no), &bo[no], out_size[no], out_kind[no], n, 1, "an output") < 0) goto done;
    {
        const int64_t *iv = biv.buf;
        const int8_t *st = bst.buf, *cls = bcls.buf, *fam = bfam.buf;
        const int64_t *g = bi[I_G].buf, *s = bi[I_S].buf, *e = bi[I_E].buf, *p = bi[I_P].buf, *m = bi[I_M].buf;
        const uint8_t *op = bi[I_OPEN].buf;
        const int32_t *stk = bi[I_STK].buf;
        int64_t *og = bo[O_G].buf, *os = bo[O_S].buf, *oe = bo[O_E].buf, *od = bo[O_DUR].buf, *opp = bo[O_P].buf,
                *om = bo[O_M].buf;
        uint8_t *oop = bo[O_OPEN].buf, *olost = bo[O_LOST].buf;
        int32_t *ostk = bo[O_STK].buf;
        int8_t *ocl = bo[O_CLS].buf, *ofa = bo[O_FAM].buf;
        for (Py_ssize_t k = 0; k < n; k++) {
            int64_t i = iv[k];
            if (i < 0 || i >= niv || stk[i] < 0 || stk[i] >= nstk) {
                PyErr_SetString(PyExc_IndexError, "syscalls_fill: an interval or stack index is out of range");
                goto done;
            }
            int64_t nx = bnx.itemsize == 4 ? (int64_t)((const int32_t *)bnx.buf)[i] : ((const int64_t *)bnx.buf)[i];
            if (nx >= niv) {
                PyErr_SetString(PyExc_IndexError, "syscalls_fill: a next link is out of range");
                goto done;
            }
            og[k] = g[i];
            os[k] = s[i];
            oe[k] = e[i];
            od[k] = (int64_t)((uint64_t)e[i] - (uint64_t)s[i]);
            oop[k] = op[i];
            ostk[k] = stk[i];
            olost[k] = nx >= 0 && st[nx] == runnable;
            opp[k] = p[i];
            om[k] = m[i];
            ocl[k] = cls[stk[i]];
            ofa[k] = fam[stk[i]];
        }
        Py_INCREF(Py_None);
        res = Py_None;
    }
done:
    if (have > 0) PyBuffer_Release(&biv);
    if (have > 1) PyBuffer_Release(&bst);
    if (have > 2) PyBuffer_Release(&bnx);
    if (have > 3) PyBuffer_Release(&bcls);
    if (have > 4) PyBuffer_Release(&bfam);
    for (int k = 0; k < ni; k++) PyBuffer_Release(&bi[k]);
    for (int k = 0; k < no; k++) PyBuffer_Release(&bo[k]);
    return res;
}

static inline Py_ssize_t row_at(const void *ev, int wide, Py_ssize_t i, Py_ssize_t rows, int *bad) {
    int64_t r = wide ? ((const int64_t *)ev)[i] : (int64_t)((const int32_t *)ev)[i];
    if (r < 0 || r >= rows) {
        *bad = 1;
        return 0;
    }
    return (Py_ssize_t)r;
}

PyDoc_STRVAR(first_stacks_doc,
"first_stacks(ev, rid, tstk, gor_id, out) -> None\n\n"
"Timelines.gor_start_stk: ev (int32 or int64 rows) are the goroutine transitions grouped by\n"
"ascending goroutine id (rid[ev]), one group per gor_id entry; out[k] (int32, zeroed) gets the\n"
"first positive tstk of goroutine k's rows (found by binary search: the rows must be grouped as said).");

static PyObject *first_stacks(PyObject *self, PyObject *args) {
    PyObject *oev, *orid, *otstk, *ogid, *oout;
    if (!PyArg_ParseTuple(args, "OOOOO", &oev, &orid, &otstk, &ogid, &oout)) return NULL;
    Py_buffer bev, brid, btstk, bgid, bout;
    int nb = 0;
    PyObject *res = NULL;
    if (PyObject_GetBuffer(oev, &bev, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) goto done;
    nb++;
    if (bev.itemsize != 4 && bev.itemsize != 8) {
        PyErr_SetString(PyExc_TypeError, "first_stacks: ev must be int32 or int64");
        goto done;
    }
    if (get_buf(orid, &brid, 8, "ql", 0, 0, "rid") < 0) goto done;
    nb++;
    Py_ssize_t rows = brid.len / 8;
    if (get_buf(otstk, &btstk, 4, "i", rows, 0, "tstk") < 0) goto done;
    nb++;
    if (get_buf(ogid, &bgid, 8, "ql", 0, 0, "gor_id") < 0) goto done;
    nb++;
    Py_ssize_t ngor = bgid.len / 8;
    if (get_buf(oout, &bout, 4, "i", ngor, 1, "out") < 0) goto done;
    nb++;
    {
        /* The rows are grouped by ascending goroutine id: each goroutine's first row is found
         * by a binary search from the end of the one before, and its rows are read only up to
         * the first with a stack -- not every transition row of the trace. */
        Py_ssize_t n = bev.len / bev.itemsize;
        const int64_t *rid = brid.buf, *gid = bgid.buf;
        const int32_t *tstk = btstk.buf;
        int32_t *out = bout.buf;
        int wide = bev.itemsize == 8, bad = 0;
        /* the row of transition i, checked (a bad index flags `bad` and reads row 0) */
#define ROW(i) row_at(bev.buf, wide, (i), rows, &bad)
        Py_ssize_t at = 0;
        for (Py_ssize_t k = 0; k < ngor && !bad; k++) {
            Py_ssize_t lo = at, hi = n; /* first row at or after `at` whose goroutine is >= gid[k] */
            while (lo < hi) {
                Py_ssize_t mid = lo + (hi - lo) / 2;
                if (rid[ROW(mid)] < gid[k]) lo = mid + 1;
                else hi = mid;
            }
            if (bad) break;
            if (lo >= n || rid[ROW(lo)] != gid[k]) {
                PyErr_SetString(PyExc_ValueError, "first_stacks: rows not grouped as gor_id says");
                goto done;
            }
            Py_ssize_t i = lo;
            while (i < n && rid[ROW(i)] == gid[k] && tstk[ROW(i)] <= 0) i++;
            if (i < n && rid[ROW(i)] == gid[k]) out[k] = tstk[ROW(i)];
            at = i;
        }
#undef ROW
        if (bad) {
            PyErr_SetString(PyExc_IndexError, "first_stacks: a row index is out of range");
            goto done;
        }
        Py_INCREF(Py_None);
        res = Py_None;
    }
done:
    if (nb > 0) PyBuffer_Release(&bev);
    if (nb > 1) PyBuffer_Release(&brid);
    if (nb > 2) PyBuffer_Release(&btstk);
    if (nb > 3) PyBuffer_Release(&bgid);
    if (nb > 4) PyBuffer_Release(&bout);
    return res;
}

PyDoc_STRVAR(gor_flagged_doc,
"gor_flagged(stk, gor, flag, out) -> None\n\n"
"out[g] (bool, zeroed, one per goroutine index) = some interval of goroutine index g (gor, int64)\n"
"has a stack stk (int32) with flag[stk] (bool per stack).");

static PyObject *gor_flagged(PyObject *self, PyObject *args) {
    PyObject *ostk, *ogor, *oflag, *oout;
    if (!PyArg_ParseTuple(args, "OOOO", &ostk, &ogor, &oflag, &oout)) return NULL;
    Py_buffer b[4];
    int nb = 0;
    PyObject *res = NULL;
    if (get_buf(ostk, &b[0], 4, "i", 0, 0, "stk") < 0) goto done;
    nb++;
    Py_ssize_t n = b[0].len / 4;
    if (get_buf(ogor, &b[1], 8, "ql", n, 0, "gor") < 0) goto done;
    nb++;
    if (get_buf(oflag, &b[2], 1, "?", 0, 0, "flag") < 0) goto done;
    nb++;
    if (get_buf(oout, &b[3], 1, "?", 0, 1, "out") < 0) goto done;
    nb++;
    {
        const int32_t *stk = b[0].buf;
        const int64_t *gor = b[1].buf;
        const uint8_t *flag = b[2].buf;
        uint8_t *out = b[3].buf;
        Py_ssize_t nstk = b[2].len, ngor = b[3].len;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (stk[i] < 0 || stk[i] >= nstk || gor[i] < 0 || gor[i] >= ngor) {
                PyErr_SetString(PyExc_IndexError, "gor_flagged: a stack or goroutine index is out of range");
                goto done;
            }
            if (flag[stk[i]]) out[gor[i]] = 1;
        }
        Py_INCREF(Py_None);
        res = Py_None;
    }
done:
    for (int k = 0; k < nb; k++) PyBuffer_Release(&b[k]);
    return res;
}

PyDoc_STRVAR(run_index_doc,
"run_index(state, p, start, end, gor, running, run, rs, re, rem, rg) -> segoff as bytes of int64, or None\n\n"
"Timelines.run_iv / run_index in one pass: the intervals i with state[i] == running (state int8;\n"
"p, start, end, gor int64 per interval), ordered by (p, start, i) as np.lexsort((start, p)), are\n"
"written to the int64 arrays run (i), rs (start), re (end), rem (running max of the ends within\n"
"each P) and rg (gor), which must hold exactly as many items as there are such intervals;\n"
"segoff: the row offsets of each P's rows (P ids ascending) and the total. None when the P ids of\n"
"the running intervals span more than 65536 values, or a start (less the first) and a row position\n"
"within a P do not fit 64 bits together (the caller's numpy code runs).");

/* Stable LSD radix sort of the words a[0..n) (n < 2^32) by their bits [lo, lo + bits), in passes
 * of at most 11 bits (wider digits scatter to too many places at once: slower here), the digit
 * histograms of every pass counted in one read; the scatter passes ping-pong with the scratch t.
 * Returns whichever of a and t holds the result. The counters are static (the GIL is held). */
static uint32_t radix_hist[6][1 << 11];

static const uint64_t *radix_packed(uint64_t *a, uint64_t *t, Py_ssize_t n, int lo, int bits) {
    if (bits <= 0 || n < 2) return a;
    int nd = (bits + 10) / 11, w = (bits + nd - 1) / nd;
    uint64_t dmask = ((uint64_t)1 << w) - 1;
    for (int d = 0; d < nd; d++) memset(radix_hist[d], 0, sizeof(uint32_t) << w);
    for (Py_ssize_t i = 0; i < n; i++)
        for (int d = 0; d < nd; d++) radix_hist[d][(a[i] >> (lo + d * w)) & dmask]++;
    for (int d = 0; d < nd; d++) {
        uint32_t acc = 0, *h = radix_hist[d];
        for (uint64_t v = 0; v <= dmask; v++) {
            uint32_t c = h[v];
            h[v] = acc;
            acc += c;
        }
    }
    for (int d = 0; d < nd; d++) {
        uint32_t *h = radix_hist[d];
        int shift = lo + d * w;
        for (Py_ssize_t i = 0; i < n; i++) t[h[(a[i] >> shift) & dmask]++] = a[i];
        uint64_t *x = a;
        a = t;
        t = x;
    }
    return a;
}

static PyObject *run_index(PyObject *self, PyObject *args) {
    PyObject *ost, *op, *os, *oe, *og, *oo[5];
    int running;
    if (!PyArg_ParseTuple(args, "OOOOOiOOOOO", &ost, &op, &os, &oe, &og, &running, &oo[0], &oo[1], &oo[2], &oo[3],
                          &oo[4]))
        return NULL;
    Py_buffer b[10];
    int nb = 0;
    PyObject *res = NULL;
    Py_ssize_t *cnt = NULL;
    if (get_buf(ost, &b[0], 1, "b", 0, 0, "state") < 0) goto done;
    nb++;
    Py_ssize_t n = b[0].len;
    PyObject *ins[4] = {op, os, oe, og};
    static const char *in_name[4] = {"p", "start", "end", "gor"};
    for (int k = 0; k < 4; k++) {
        if (get_buf(ins[k], &b[nb], 8, "ql", n, 0, in_name[k]) < 0) goto done;
        nb++;
    }
    for (int k = 0; k < 5; k++) {
        if (get_buf(oo[k], &b[nb], 8, "ql", 0, 1, "out") < 0) goto done;
        nb++;
    }
    {
        const int8_t *st = b[0].buf;
        const int64_t *P = b[1].buf, *S = b[2].buf, *E = b[3].buf, *G = b[4].buf;
        int64_t *run = b[5].buf, *rs = b[6].buf, *re = b[7].buf, *rem = b[8].buf, *rg = b[9].buf;
        Py_ssize_t nrun = b[5].len / 8;
        for (int k = 6; k < 10; k++)
            if (b[k].len / 8 != nrun) {
                PyErr_SetString(PyExc_ValueError, "run_index: the outputs differ in length");
                goto done;
            }
        /* No scratch of its own (fresh pages cost as much as the work): the outputs hold the
         * intermediate rows and keys until their final values go in, segment by segment. */
        Py_ssize_t m = 0;
        for (Py_ssize_t i = 0; i < n; i++) { /* the running rows in row order, in rem for now */
            if (m < nrun) rem[m] = i;
            m += st[i] == running;
        }
        if (m != nrun) {
            PyErr_SetString(PyExc_ValueError, "run_index: the outputs must hold one item per running interval");
            goto done;
        }
        if (m == 0) {
            int64_t zero = 0;
            res = PyBytes_FromStringAndSize((const char *)&zero, 8);
            goto done;
        }
        int64_t pmin = P[rem[0]], pmax = pmin, smin = S[rem[0]], smax = smin;
        for (Py_ssize_t i = 1; i < m; i++) {
            int64_t pv = P[rem[i]], sv = S[rem[i]];
            pmin = pv < pmin ? pv : pmin;
            pmax = pv > pmax ? pv : pmax;
            smin = sv < smin ? sv : smin;
            smax = sv > smax ? sv : smax;
        }
        if ((uint64_t)pmax - (uint64_t)pmin >= 65536) {
            Py_INCREF(Py_None);
            res = Py_None;
            goto done;
        }
        Py_ssize_t span = (Py_ssize_t)(pmax - pmin) + 1;
        cnt = (Py_ssize_t *)calloc((size_t)span + 1, sizeof(Py_ssize_t));
        if (!cnt) {
            PyErr_NoMemory();
            goto done;
        }
        for (Py_ssize_t i = 0; i < m; i++) cnt[P[rem[i]] - pmin + 1]++;
        for (Py_ssize_t k = 0; k < span; k++) cnt[k + 1] += cnt[k];
        /* rows grouped by P in row order (stable): cnt[k] is P k's fill pointer */
        for (Py_ssize_t i = 0; i < m; i++) run[cnt[P[rem[i]] - pmin]++] = rem[i];
        for (Py_ssize_t k = span; k > 0; k--) cnt[k] = cnt[k - 1];
        cnt[0] = 0;
        uint64_t sspan = (uint64_t)smax - (uint64_t)smin;
        int bits = sspan ? 64 - __builtin_clzll(sspan) : 0;
        Py_ssize_t maxlen = 0;
        for (Py_ssize_t k = 0; k < span; k++) maxlen = cnt[k + 1] - cnt[k] > maxlen ? cnt[k + 1] - cnt[k] : maxlen;
        int ibmax = maxlen > 1 ? 64 - __builtin_clzll((uint64_t)(maxlen - 1)) : 0;
        if (bits + ibmax > 64 || maxlen >= ((Py_ssize_t)1 << 32)) { /* start and position do not fit a word */
            Py_INCREF(Py_None);
            res = Py_None;
            goto done;
        }
        vec seg = {0};
        for (Py_ssize_t k = 0; k < span; k++) {
            Py_ssize_t a = cnt[k], z = cnt[k + 1];
            if (z == a) continue;
            if (vpush(&seg, a) < 0) {
                free(seg.p);
                PyErr_NoMemory();
                goto done;
            }
            /* this P's rows of rs/re/rg are its scratch: keys, their ping-pong copy, rows */
            uint64_t *key = (uint64_t *)(rs + a), *tk = (uint64_t *)(re + a);
            int64_t *tr = rg + a;
            Py_ssize_t len = z - a;
            int ib = len > 1 ? 64 - __builtin_clzll((uint64_t)(len - 1)) : 0;
            int sorted = 1; /* (start, position) packed in one word: one array to sort */
            for (Py_ssize_t i = 0; i < len; i++) {
                key[i] = (((uint64_t)S[run[a + i]] - (uint64_t)smin) << ib) | (uint64_t)i;
                sorted &= i == 0 || key[i] > key[i - 1];
            }
            if (!sorted) {
                const uint64_t *o = radix_packed(key, tk, len, ib, bits), mask = ((uint64_t)1 << ib) - 1;
                for (Py_ssize_t i = 0; i < len; i++) tr[i] = run[a + (Py_ssize_t)(o[i] & mask)];
                memcpy(run + a, tr, (size_t)len * sizeof(int64_t));
            }
            int64_t emax = 0;
            for (Py_ssize_t i = a; i < z; i++) {
                int64_t r = run[i];
                rs[i] = S[r];
                re[i] = E[r];
                rg[i] = G[r];
                emax = (i == a || E[r] > emax) ? E[r] : emax;
                rem[i] = emax;
            }
        }
        if (vpush(&seg, m) < 0) {
            free(seg.p);
            PyErr_NoMemory();
            goto done;
        }
        res = vbytes(&seg);
        free(seg.p);
    }
done:
    for (int k = 0; k < nb; k++) PyBuffer_Release(&b[k]);
    free(cnt);
    return res;
}

PyDoc_STRVAR(gor_states_doc,
"gor_states(state, start, end, gor_n, nstates, ns_out, n_out) -> True, or None\n\n"
"Timelines.gor_state_ns and gor_state_counts in one pass: the intervals (state int8, start and\n"
"end int64) are grouped by goroutine, gor_n[k] (int64) of them for goroutine k; ns_out and n_out\n"
"(int64, len(gor_n) * nstates, zeroed) get per (goroutine, state) the summed end - start and the\n"
"number of intervals. None when a state is outside [0, nstates) or gor_n does not add up to the\n"
"intervals (the caller's numpy code runs).");

static PyObject *gor_states(PyObject *self, PyObject *args) {
    PyObject *ost, *os, *oe, *on, *ons, *onn;
    int nstates;
    if (!PyArg_ParseTuple(args, "OOOOiOO", &ost, &os, &oe, &on, &nstates, &ons, &onn)) return NULL;
    Py_buffer b[6];
    int nb = 0;
    PyObject *res = NULL;
    if (get_buf(ost, &b[0], 1, "b", 0, 0, "state") < 0) goto done;
    nb++;
    Py_ssize_t n = b[0].len;
    if (get_buf(os, &b[1], 8, "ql", n, 0, "start") < 0) goto done;
    nb++;
    if (get_buf(oe, &b[2], 8, "ql", n, 0, "end") < 0) goto done;
    nb++;
    if (get_buf(on, &b[3], 8, "ql", 0, 0, "gor_n") < 0) goto done;
    nb++;
    Py_ssize_t ng = b[3].len / 8;
    if (nstates <= 0) {
        PyErr_SetString(PyExc_ValueError, "gor_states: nstates <= 0");
        goto done;
    }
    if (get_buf(ons, &b[4], 8, "ql", ng * nstates, 1, "ns_out") < 0) goto done;
    nb++;
    if (get_buf(onn, &b[5], 8, "ql", ng * nstates, 1, "n_out") < 0) goto done;
    nb++;
    {
        const int8_t *st = b[0].buf;
        const int64_t *S = b[1].buf, *E = b[2].buf, *gn = b[3].buf;
        int64_t *ns = b[4].buf, *cnt = b[5].buf;
        Py_ssize_t i = 0;
        int ok = 1;
        for (Py_ssize_t k = 0; k < ng && ok; k++) {
            if (gn[k] < 0 || gn[k] > n - i) {
                ok = 0;
                break;
            }
            int64_t *rns = ns + k * nstates, *rn = cnt + k * nstates;
            for (Py_ssize_t z = i + gn[k]; i < z; i++) {
                int s = st[i];
                if (s < 0 || s >= nstates) {
                    ok = 0;
                    break;
                }
                rns[s] += E[i] - S[i];
                rn[s]++;
            }
        }
        if (ok && i == n) res = Py_True;
        else res = Py_None;
        Py_INCREF(res);
    }
done:
    for (int k = 0; k < nb; k++) PyBuffer_Release(&b[k]);
    return res;
}

PyDoc_STRVAR(col_runs_doc,
"col_runs(m, p, kind, rk, k_state, r_proc, k_metric) -> (m_rows, p_rows, proc_rows, metric_rows)\n\n"
"One pass over the event columns (m, p int64; kind, rk uint8), each result int64 rows as bytes,\n"
"ascending: rows where m differs from the row before (or the first row) and m >= 0 (a thread's\n"
"first event is one of them: Timelines.thread_first_seen); rows where p differs from the row\n"
"before or the first row (Timelines.procs); rows with kind == k_state and rk == r_proc (the P\n"
"transitions: procs, proc_steals); rows with kind == k_metric (gomaxprocs_changes).");

static PyObject *col_runs(PyObject *self, PyObject *args) {
    PyObject *om, *op, *ok, *orr;
    int k_state, r_proc, k_metric;
    if (!PyArg_ParseTuple(args, "OOOOiii", &om, &op, &ok, &orr, &k_state, &r_proc, &k_metric)) return NULL;
    Py_buffer b[4];
    int nb = 0;
    PyObject *res = NULL;
    vec out[4] = {{0}, {0}, {0}, {0}};
    if (get_buf(om, &b[0], 8, "ql", 0, 0, "m") < 0) goto done;
    nb++;
    Py_ssize_t n = b[0].len / 8;
    if (get_buf(op, &b[1], 8, "ql", n, 0, "p") < 0) goto done;
    nb++;
    if (get_buf(ok, &b[2], 1, "B", n, 0, "kind") < 0) goto done;
    nb++;
    if (get_buf(orr, &b[3], 1, "B", n, 0, "rk") < 0) goto done;
    nb++;
    {
        const int64_t *m = b[0].buf, *p = b[1].buf;
        const uint8_t *kind = b[2].buf, *rk = b[3].buf;
        int err = 0;
        /* no branch on the thread and P changes (one row in ten): each row's index is written to
         * a block buffer and kept by advancing the count, a block at a time */
        enum { BLK = 2048 };
        int64_t b0[BLK], b1[BLK];
        for (Py_ssize_t base = 0; base < n && !err; base += BLK) {
            Py_ssize_t end = base + BLK < n ? base + BLK : n, c0 = 0, c1 = 0;
            for (Py_ssize_t i = base; i < end; i++) {
                int first = i == 0;
                int64_t pm = first ? 0 : m[i - 1], pp = first ? 0 : p[i - 1];
                b0[c0] = i;
                c0 += (first | (m[i] != pm)) & (m[i] >= 0);
                b1[c1] = i;
                c1 += first | (p[i] != pp);
                if (kind[i] == k_state && rk[i] == r_proc) err |= vpush(&out[2], i);
                if (kind[i] == k_metric) err |= vpush(&out[3], i);
            }
            err |= vappend(&out[0], b0, c0) | vappend(&out[1], b1, c1);
        }
        if (err) {
            PyErr_NoMemory();
            goto done;
        }
        res = PyTuple_New(4);
        for (int k = 0; res && k < 4; k++) {
            PyObject *x = vbytes(&out[k]);
            if (!x) {
                Py_CLEAR(res);
                break;
            }
            PyTuple_SET_ITEM(res, k, x);
        }
    }
done:
    for (int k = 0; k < nb; k++) PyBuffer_Release(&b[k]);
    for (int k = 0; k < 4; k++) free(out[k].p);
    return res;
}

static PyMethodDef methods[] = {
    {"col_runs", col_runs, METH_VARARGS, col_runs_doc},
    {"gor_states", gor_states, METH_VARARGS, gor_states_doc},
    {"run_index", run_index, METH_VARARGS, run_index_doc},
    {"first_stacks", first_stacks, METH_VARARGS, first_stacks_doc},
    {"gor_flagged", gor_flagged, METH_VARARGS, gor_flagged_doc},
    {"syscalls_fill", syscalls_fill, METH_VARARGS, syscalls_fill_doc},
    {"run_blocks", run_blocks, METH_VARARGS, run_blocks_doc},
    {"held_runs", held_runs, METH_VARARGS, held_runs_doc},
    {"bursts", bursts, METH_VARARGS, bursts_doc},
    {"cpu_masks", cpu_masks, METH_VARARGS, cpu_masks_doc},
    {"held_reduce", held_reduce, METH_VARARGS, held_reduce_doc},
    {"held_totals", held_totals, METH_VARARGS, held_totals_doc},
    {"pair_counts", pair_counts, METH_VARARGS, pair_counts_doc},
    {"timelines_scan", timelines_scan, METH_VARARGS, timelines_scan_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastscan",
    "Compiled scans over timeline columns (optional; analysis.py holds the numpy reference).", -1, methods,
};

PyMODINIT_FUNC PyInit__fastscan(void) { return PyModule_Create(&module); }
