/* Compiled scans over timeline columns (optional; the numpy code in analysis.py is the reference).
 *
 * held_reduce: "what held the CPU while a ready goroutine waited" reduced per (window, goroutine).
 * The numpy reference (analysis.held_p_by_goroutine) materialises every (window, running
 * interval) pair -- up to HELD_PAIR_BUDGET = 10 M of them on a busy trace -- then sorts the pair
 * codes to group them: ~2 s of a 3.8 s window analysis on a 10 MB slice of a busy go1.27 trace.
 * Here each window's pairs are summed in a scratch table indexed by goroutine as they are
 * visited, so nothing grows with the pair count. Same rows, same order (window, then goroutine
 * index), same values: tests/test_fastscan.py compares both on real traces.
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
                for (int64_t i = l; i < l + c; i++) {
                    int64_t j = base + i;
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
            if (nt > 1) qsort(touched, (size_t)nt, sizeof(int64_t), cmp_i64);
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
    return res;
}

static PyMethodDef methods[] = {
    {"held_reduce", held_reduce, METH_VARARGS, held_reduce_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastscan",
    "Compiled scans over timeline columns (optional; analysis.py holds the numpy reference).", -1, methods,
};

PyMODINIT_FUNC PyInit__fastscan(void) { return PyModule_Create(&module); }
