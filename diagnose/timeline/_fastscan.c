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

/* Block summaries of the running intervals: each P's rows in blocks of BLOCK (aligned at the
 * P's first row); per block, for each goroutine with runs of positive length in it, the summed
 * length (wrapping int64, as numpy) and the earliest start, and the block's largest end. A window
 * that contains every run of a block (first start >= a, largest end <= b) takes the block's sums
 * as they are: for such runs the overlap is the run itself. Sums are added modulo 2^64 and the
 * first start is a minimum, so the result is the same as adding the runs one by one. */
#define BLOCK 64

typedef struct {
    Py_ssize_t n;      /* blocks */
    int64_t *first;    /* per P: its first block's number */
    int64_t *off;      /* n + 1 entry offsets */
    int64_t *max_e;    /* per block */
    int64_t *g, *sum, *st;  /* entries */
} blocks;

static void free_blocks(blocks *b) {
    free(b->first); free(b->off); free(b->max_e); free(b->g); free(b->sum); free(b->st);
    memset(b, 0, sizeof(*b));
}

static int build_blocks(blocks *bk, const int64_t *s, const int64_t *e, const int64_t *gi, const int64_t *seg,
                        Py_ssize_t np_, Py_ssize_t ngor) {
    Py_ssize_t nb = 0;
    for (Py_ssize_t k = 0; k < np_; k++) nb += (Py_ssize_t)((seg[k + 1] - seg[k] + BLOCK - 1) / BLOCK);
    Py_ssize_t nrun = (Py_ssize_t)seg[np_];
    int64_t *slot = (int64_t *)malloc((ngor ? (size_t)ngor : 1) * sizeof(int64_t));
    bk->first = (int64_t *)malloc((size_t)(np_ + 1) * sizeof(int64_t));
    bk->off = (int64_t *)malloc((size_t)(nb + 1) * sizeof(int64_t));
    bk->max_e = (int64_t *)malloc((size_t)(nb ? nb : 1) * sizeof(int64_t));
    bk->g = (int64_t *)malloc((size_t)(nrun ? nrun : 1) * sizeof(int64_t));
    bk->sum = (int64_t *)malloc((size_t)(nrun ? nrun : 1) * sizeof(int64_t));
    bk->st = (int64_t *)malloc((size_t)(nrun ? nrun : 1) * sizeof(int64_t));
    if (!slot || !bk->first || !bk->off || !bk->max_e || !bk->g || !bk->sum || !bk->st) {
        free(slot);
        free_blocks(bk);
        return -1;
    }
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
                    bk->st[ne] = s[j];
                    ne++;
                }
                Py_ssize_t x = slot[g];
                bk->sum[x] = (int64_t)((uint64_t)bk->sum[x] + (uint64_t)ov);
                if (s[j] < bk->st[x]) bk->st[x] = s[j];
            }
            bk->max_e[bi] = mx;
        }
    }
    bk->first[np_] = bi;
    bk->off[bi] = ne;
    bk->n = bi;
    free(slot);
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
    PyObject *os, *oe, *og, *oseg, *olo, *ocnt, *ows, *owe;
    Py_ssize_t ngor;
    if (!PyArg_ParseTuple(args, "OOOOOOOOn", &os, &oe, &og, &oseg, &olo, &ocnt, &ows, &owe, &ngor)) return NULL;
    Py_buffer bs = {0}, be = {0}, bg = {0}, bseg = {0}, blo = {0}, bcnt = {0}, bws = {0}, bwe = {0};
    PyObject *res = NULL;
    int64_t *sum = NULL, *first = NULL, *mark = NULL, *touched = NULL;
    vec ow = {0}, og_ = {0}, oo = {0}, of = {0};
    blocks bk = {0};
    int oom = 0;
    if (ngor < 0) {
        PyErr_SetString(PyExc_ValueError, "held_reduce: ngor < 0");
        return NULL;
    }
    if (get_i64(os, &bs, -1, "s") < 0) goto done;
    Py_ssize_t nrun = bs.len / 8;
    if (get_i64(oe, &be, nrun, "e") < 0) goto done;
    if (get_i64(og, &bg, nrun, "gi") < 0) goto done;
    if (get_i64(oseg, &bseg, 1, "segoff") < 0) goto done;
    Py_ssize_t np_ = bseg.len / 8 - 1;
    if (get_i64(ows, &bws, -1, "ws") < 0) goto done;
    Py_ssize_t nw = bws.len / 8;
    if (get_i64(owe, &bwe, nw, "we") < 0) goto done;
    if (get_i64(olo, &blo, np_ * nw, "lo") < 0) goto done;
    if (get_i64(ocnt, &bcnt, np_ * nw, "cnt") < 0) goto done;
    {
        const int64_t *s = (const int64_t *)bs.buf, *e = (const int64_t *)be.buf, *gi = (const int64_t *)bg.buf;
        const int64_t *seg = (const int64_t *)bseg.buf, *lo = (const int64_t *)blo.buf,
                      *cnt = (const int64_t *)bcnt.buf, *ws = (const int64_t *)bws.buf,
                      *we = (const int64_t *)bwe.buf;
        for (Py_ssize_t k = 0; k <= np_; k++)
            if (seg[k] < 0 || seg[k] > nrun || (k && seg[k] < seg[k - 1])) {
                PyErr_SetString(PyExc_ValueError, "held_reduce: bad segoff");
                goto done;
            }
        for (Py_ssize_t i = 0; i < nrun; i++)
            if (gi[i] < 0 || gi[i] >= ngor) {
                PyErr_SetString(PyExc_ValueError, "held_reduce: goroutine index out of range");
                goto done;
            }
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
        if (nrun >= 4 * BLOCK && pairs > 4 * (int64_t)nrun && build_blocks(&bk, s, e, gi, seg, np_, ngor) < 0) {
            PyErr_NoMemory();
            goto done;
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
                    if (bk.n && i % BLOCK == 0 && i + BLOCK <= l + c) {
                        /* a whole block: added at once when all its runs lie inside [a, b) */
                        int64_t bi = bk.first[k] + i / BLOCK;
                        if (s[base + i] >= a && bk.max_e[bi] <= b) {
                            for (int64_t x = bk.off[bi]; x < bk.off[bi + 1]; x++) {
                                int64_t g = bk.g[x];
                                if (mark[g] != w) {
                                    mark[g] = w;
                                    sum[g] = 0;
                                    first[g] = INT64_MAX;
                                    touched[nt++] = g;
                                }
                                sum[g] = (int64_t)((uint64_t)sum[g] + (uint64_t)bk.sum[x]);
                                if (bk.st[x] < first[g]) first[g] = bk.st[x];
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
    PyBuffer_Release(&bs); PyBuffer_Release(&be); PyBuffer_Release(&bg); PyBuffer_Release(&bseg);
    PyBuffer_Release(&blo); PyBuffer_Release(&bcnt); PyBuffer_Release(&bws); PyBuffer_Release(&bwe);
    free(sum); free(first); free(mark); free(touched);
    free(ow.p); free(og_.p); free(oo.p); free(of.p);
    free_blocks(&bk);
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
"cpu_masks(state, dur, gor, burst_id, burst_run_ns, is_system, threshold, min_share, running,\n"
"          notexist, user_only, hog, out) -> None\n\n"
"Timelines.cpu_bound_mask (hog = 0) or cpu_hog_mask (hog = 1) into out (bool, one per interval):\n"
"Running intervals of bursts with >= threshold running ns (user_only: not of runtime\n"
"goroutines); for hogs, only of goroutines whose such intervals add up to >= threshold and to\n"
">= min_share of their life (float64 sums in interval order, as numpy's bincount).");

static PyObject *cpu_masks(PyObject *self, PyObject *args) {
    PyObject *ost, *odur, *ogor, *obid, *obrn, *osys, *oout;
    long long thr;
    double min_share;
    int running, notexist, user_only, hog;
    if (!PyArg_ParseTuple(args, "OOOOOOLdiiiiO", &ost, &odur, &ogor, &obid, &obrn, &osys, &thr, &min_share, &running,
                          &notexist, &user_only, &hog, &oout))
        return NULL;
    Py_buffer b[7];
    int nb = 0;
    PyObject *res = NULL;
    double *busy = NULL, *life = NULL;
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
        const int64_t *dur = b[1].buf, *gi = b[2].buf, *bid = b[3].buf, *brn = b[4].buf;
        const uint8_t *sys = b[5].buf;
        uint8_t *out = b[6].buf;
        Py_ssize_t nburst = b[4].len / 8, ngor = b[5].len;
        size_t ng = ngor ? (size_t)ngor : 1;
        busy = (double *)calloc(ng, sizeof(double));
        life = (double *)calloc(ng, sizeof(double));
        if (!busy || !life) {
            PyErr_NoMemory();
            goto done;
        }
        int any = 0;
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
            if (m) {
                any = 1;
                busy[g] += (double)dur[i];
            }
            if (st[i] != notexist) life[g] += (double)dur[i];
        }
        if (hog && any) {
            for (Py_ssize_t i = 0; i < n; i++) {
                if (!out[i]) continue;
                int64_t g = gi[i];
                double lf = life[g] > 1.0 ? life[g] : 1.0;
                out[i] = busy[g] >= (double)thr && busy[g] >= min_share * lf;
            }
        }
        Py_INCREF(Py_None);
        res = Py_None;
    }
done:
    for (int k = 0; k < nb; k++) PyBuffer_Release(&b[k]);
    free(busy);
    free(life);
    return res;
}

static PyMethodDef methods[] = {
    {"bursts", bursts, METH_VARARGS, bursts_doc},
    {"cpu_masks", cpu_masks, METH_VARARGS, cpu_masks_doc},
    {"held_reduce", held_reduce, METH_VARARGS, held_reduce_doc},
    {"timelines_scan", timelines_scan, METH_VARARGS, timelines_scan_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastscan",
    "Compiled scans over timeline columns (optional; analysis.py holds the numpy reference).", -1, methods,
};

PyMODINIT_FUNC PyInit__fastscan(void) { return PyModule_Create(&module); }
