/* Compiled graph queries (optional; the numpy code in chains.py and demand.py is the reference,
 * tests/test_fastgraph.py compares the two on real traces).
 *
 * held_runs: "who held the Ps during [a, b)" for one window -- the holders of a blocking chain.
 * The numpy reference gathers every running interval overlapping the window (a long wait on a
 * busy trace overlaps ~100k runs), groups them with a sort, then looks each chosen goroutine's
 * rows up again; features ask it ~50 times a window. Here the overlapping runs of each P are
 * visited once, summed per goroutine in a table, and the top n picked from the table.
 *
 * demand_scan: the per-interval passes of demand.p_demand in one loop over the intervals.
 *
 * No trace constants live here: state codes come from Python (timeline/columns.py).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A C-contiguous buffer whose items are `itemsize` bytes with a struct-format letter in `kinds`
 * ('q'/'l' int64, 'i' int32, 'b' int8, '?' bool), at least `need` items (need < 0: any). */
static int get_buf(PyObject *o, Py_buffer *b, Py_ssize_t itemsize, const char *kinds, Py_ssize_t need,
                   const char *fn, const char *what) {
    if (PyObject_GetBuffer(o, b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    const char *f = b->format ? b->format : "B";
    char k = f[0] ? f[strlen(f) - 1] : 'B';
    if (b->itemsize != itemsize || !strchr(kinds, k)) {
        PyErr_Format(PyExc_TypeError, "%s: %s has the wrong item type (%s)", fn, what, f);
        PyBuffer_Release(b);
        return -1;
    }
    if (need >= 0 && b->len / itemsize < need) {
        PyErr_Format(PyExc_ValueError, "%s: %s has %zd items, need %zd", fn, what, b->len / itemsize, need);
        PyBuffer_Release(b);
        return -1;
    }
    return 0;
}

#define I64 8, "ql"

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

/* Checks that segoff is a valid partition of nrun rows: 0 = ok. */
static int check_segoff(const int64_t *seg, Py_ssize_t np_, Py_ssize_t nrun, const char *fn) {
    for (Py_ssize_t k = 0; k <= np_; k++)
        if (seg[k] < 0 || seg[k] > nrun || (k && seg[k] < seg[k - 1])) {
            PyErr_Format(PyExc_ValueError, "%s: bad segoff", fn);
            return -1;
        }
    return 0;
}

typedef struct {
    int64_t g;       /* goroutine index */
    double total;    /* summed overlap, in the reference's order (numpy bincount: float64) */
    int64_t runs;    /* overlapping runs */
    int64_t first;   /* position of its first overlapping run among the kept ones */
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

PyDoc_STRVAR(held_runs_doc,
"held_runs(start, end, end_max, gor, segoff, a, b, exclude_gor, n, ngor) -> [(gor, total, runs, row)]\n\n"
"start, end, end_max, gor: the running intervals grouped by P (Timelines.run_index: P k's rows are\n"
"segoff[k]:segoff[k+1], in time order, end_max the running max of end within the P). For the\n"
"window [a, b): per goroutine index (except exclude_gor; -1 none) with a positive overlap, its\n"
"summed overlap (int64 of a float64 sum, as chains.held_runs), its number of runs and the row of\n"
"its longest overlap; the n largest sums, ties by first appearance (P order, then time).");

static PyObject *held_runs(PyObject *self, PyObject *args) {
    PyObject *os, *oe, *om, *og, *oseg;
    long long a, b, ex;
    Py_ssize_t n, ngor;
    if (!PyArg_ParseTuple(args, "OOOOOLLLnn", &os, &oe, &om, &og, &oseg, &a, &b, &ex, &n, &ngor)) return NULL;
    Py_buffer bs = {0}, be = {0}, bm = {0}, bg = {0}, bseg = {0};
    int nb = 0;
    PyObject *res = NULL;
    int32_t *slot = NULL;
    holder *hs = NULL;
    const char *fn = "held_runs";
    if (ngor < 0 || n < 0) {
        PyErr_SetString(PyExc_ValueError, "held_runs: n and ngor must be >= 0");
        return NULL;
    }
    if (get_buf(os, &bs, I64, -1, fn, "start") < 0) goto done;
    nb++;
    Py_ssize_t nrun = bs.len / 8;
    if (get_buf(oe, &be, I64, nrun, fn, "end") < 0) goto done;
    nb++;
    if (get_buf(om, &bm, I64, nrun, fn, "end_max") < 0) goto done;
    nb++;
    if (get_buf(og, &bg, I64, nrun, fn, "gor") < 0) goto done;
    nb++;
    if (get_buf(oseg, &bseg, I64, 1, fn, "segoff") < 0) goto done;
    nb++;
    {
        const int64_t *s = bs.buf, *e = be.buf, *em = bm.buf, *gi = bg.buf, *seg = bseg.buf;
        Py_ssize_t np_ = bseg.len / 8 - 1;
        if (check_segoff(seg, np_, nrun, fn) < 0) goto done;
        slot = (int32_t *)calloc(ngor ? (size_t)ngor : 1, sizeof(int32_t)); /* 0: unseen, else 1 + holder */
        if (!slot) {
            PyErr_NoMemory();
            goto done;
        }
        Py_ssize_t nh = 0, cap = 0;
        int64_t kept = 0;
        for (Py_ssize_t k = 0; k < np_; k++) {
            Py_ssize_t base = (Py_ssize_t)seg[k], len = (Py_ssize_t)(seg[k + 1] - seg[k]);
            Py_ssize_t lo = search_right(em + base, len, a), hi = search_left(s + base, len, b);
            for (Py_ssize_t i = base + lo; i < base + hi; i++) {
                int64_t st = s[i] > a ? s[i] : a, en = e[i] < b ? e[i] : b;
                int64_t ov = (int64_t)((uint64_t)en - (uint64_t)st); /* numpy wraps; so do we, without UB */
                if (ov <= 0) continue;
                int64_t g = gi[i];
                if (g < 0 || g >= ngor) {
                    PyErr_SetString(PyExc_ValueError, "held_runs: goroutine index out of range");
                    goto done;
                }
                if (g == ex) continue;
                holder *h;
                if (!slot[g]) {
                    if (nh == cap) {
                        cap = cap ? cap * 2 : 64;
                        holder *q = (holder *)realloc(hs, (size_t)cap * sizeof(holder));
                        if (!q) {
                            PyErr_NoMemory();
                            goto done;
                        }
                        hs = q;
                    }
                    h = &hs[nh++];
                    slot[g] = (int32_t)nh;
                    h->g = g;
                    h->total = 0.0;
                    h->runs = 0;
                    h->first = kept;
                    h->best = i;
                    h->best_ov = ov;
                } else {
                    h = &hs[slot[g] - 1];
                    if (ov > h->best_ov) {
                        h->best_ov = ov;
                        h->best = i;
                    }
                }
                h->total += (double)ov;
                h->runs++;
                kept++;
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
    if (nb > 0) PyBuffer_Release(&bs);
    if (nb > 1) PyBuffer_Release(&be);
    if (nb > 2) PyBuffer_Release(&bm);
    if (nb > 3) PyBuffer_Release(&bg);
    if (nb > 4) PyBuffer_Release(&bseg);
    free(slot);
    free(hs);
    return res;
}

/* An index array (interval links: int32 below 2^31 intervals, else int64) read as int64. */
static inline int64_t idx_at(const Py_buffer *b, Py_ssize_t i) {
    return b->itemsize == 4 ? (int64_t)((const int32_t *)b->buf)[i] : ((const int64_t *)b->buf)[i];
}

static int get_index(PyObject *o, Py_buffer *b, Py_ssize_t need, const char *fn, const char *what) {
    if (PyObject_GetBuffer(o, b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    if (b->itemsize == 8) {
        PyBuffer_Release(b);
        return get_buf(o, b, I64, need, fn, what);
    }
    PyBuffer_Release(b);
    return get_buf(o, b, 4, "i", need, fn, what);
}

PyDoc_STRVAR(demand_scan_doc,
"demand_scan(state, open, dur, gor, prev, next, burst_id, burst_run_ns, ngor, runnable, running)\n"
"    -> (runnable_ns, run_ns, runs, longest, preempted)\n\n"
"One pass over the intervals for demand.p_demand: runnable_ns, the summed length of the ended\n"
"Runnable intervals (int); per goroutine index, run_ns (float64 sums in interval order, as numpy's\n"
"bincount), runs and longest (the longest run burst among its Running intervals), as bytes of\n"
"float64/int64; preempted, the Runnable intervals entered from Running and left for Running\n"
"(int64 indices, ascending). runnable/running: the GoState codes (timeline.columns).");

static PyObject *demand_scan(PyObject *self, PyObject *args) {
    PyObject *ost, *oop, *odur, *ogor, *oprev, *onext, *obid, *obrn;
    Py_ssize_t ngor;
    int runnable, running;
    if (!PyArg_ParseTuple(args, "OOOOOOOOnii", &ost, &oop, &odur, &ogor, &oprev, &onext, &obid, &obrn, &ngor,
                          &runnable, &running))
        return NULL;
    const char *fn = "demand_scan";
    Py_buffer b[8];
    int nb = 0;
    PyObject *res = NULL;
    double *run_ns = NULL;
    int64_t *runs = NULL, *longest = NULL, *pre = NULL;
    if (ngor < 0) {
        PyErr_SetString(PyExc_ValueError, "demand_scan: ngor < 0");
        return NULL;
    }
    if (get_buf(ost, &b[0], 1, "b", -1, fn, "state") < 0) goto done;
    nb++;
    Py_ssize_t n = b[0].len;
    if (get_buf(oop, &b[1], 1, "?", n, fn, "open") < 0) goto done;
    nb++;
    if (get_buf(odur, &b[2], I64, n, fn, "dur") < 0) goto done;
    nb++;
    if (get_buf(ogor, &b[3], I64, n, fn, "gor") < 0) goto done;
    nb++;
    if (get_index(oprev, &b[4], n, fn, "prev") < 0) goto done;
    nb++;
    if (get_index(onext, &b[5], n, fn, "next") < 0) goto done;
    nb++;
    if (get_buf(obid, &b[6], I64, n, fn, "burst_id") < 0) goto done;
    nb++;
    if (get_buf(obrn, &b[7], I64, -1, fn, "burst_run_ns") < 0) goto done;
    nb++;
    {
        const int8_t *st = b[0].buf;
        const uint8_t *op = b[1].buf;
        const int64_t *dur = b[2].buf, *gi = b[3].buf, *bid = b[6].buf, *brn = b[7].buf;
        Py_ssize_t nburst = b[7].len / 8;
        size_t ng = ngor ? (size_t)ngor : 1;
        run_ns = (double *)calloc(ng, sizeof(double));
        runs = (int64_t *)calloc(ng, sizeof(int64_t));
        longest = (int64_t *)calloc(ng, sizeof(int64_t));
        Py_ssize_t npre = 0, cap = 64;
        pre = (int64_t *)malloc((size_t)cap * sizeof(int64_t));
        if (!run_ns || !runs || !longest || !pre) {
            PyErr_NoMemory();
            goto done;
        }
        int64_t runnable_ns = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (st[i] == runnable && !op[i]) {
                runnable_ns = (int64_t)((uint64_t)runnable_ns + (uint64_t)dur[i]);
                int64_t p = idx_at(&b[4], i), q = idx_at(&b[5], i);
                if (p >= 0 && q >= 0) {
                    if (p >= n || q >= n) {
                        PyErr_SetString(PyExc_ValueError, "demand_scan: interval link out of range");
                        goto done;
                    }
                    if (st[p] == running && st[q] == running) {
                        if (npre == cap) {
                            cap *= 2;
                            int64_t *x = (int64_t *)realloc(pre, (size_t)cap * sizeof(int64_t));
                            if (!x) {
                                PyErr_NoMemory();
                                goto done;
                            }
                            pre = x;
                        }
                        pre[npre++] = i;
                    }
                }
            } else if (st[i] == running) {
                int64_t g = gi[i], k = bid[i];
                if (g < 0 || g >= ngor || k < 0 || k >= nburst) {
                    PyErr_SetString(PyExc_ValueError, "demand_scan: goroutine or burst index out of range");
                    goto done;
                }
                run_ns[g] += (double)dur[i];
                runs[g]++;
                if (brn[k] > longest[g]) longest[g] = brn[k];
            }
        }
        res = Py_BuildValue("(Ly#y#y#y#)", (long long)runnable_ns, (const char *)run_ns, ngor * 8,
                            (const char *)runs, ngor * 8, (const char *)longest, ngor * 8,
                            (const char *)pre, (Py_ssize_t)(npre * 8));
    }
done:
    for (int k = 0; k < nb; k++) PyBuffer_Release(&b[k]);
    free(run_ns);
    free(runs);
    free(longest);
    free(pre);
    return res;
}

static PyMethodDef methods[] = {
    {"held_runs", held_runs, METH_VARARGS, held_runs_doc},
    {"demand_scan", demand_scan, METH_VARARGS, demand_scan_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastgraph",
    "Compiled graph queries (optional; chains.py and demand.py hold the numpy reference).", -1, methods,
};

PyMODINIT_FUNC PyInit__fastgraph(void) { return PyModule_Create(&module); }
