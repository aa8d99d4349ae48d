/* Compiled graph queries (optional; the numpy code in demand.py is the reference,
 * tests/test_fastgraph.py compares the two on real traces).
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
    {"demand_scan", demand_scan, METH_VARARGS, demand_scan_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastgraph",
    "Compiled graph queries (optional; demand.py holds the numpy reference).", -1, methods,
};

PyMODINIT_FUNC PyInit__fastgraph(void) { return PyModule_Create(&module); }
