/* Compiled kernels of the features stage (optional; the numpy code in diagnose/features is the
 * reference, and runs when this module is not built or NETPOLL_DIAGNOSE_PURE is set).
 *
 * Each function replaces a measured-hot numpy sequence with one pass and gives the same numbers
 * bit for bit (tests/test_fastfeat.py compares both paths on real fixture traces):
 *
 *   dist_ms(ns)              dist()'s total/p50/p95/p99/max: numpy's pairwise sum and default
 *                            (linear) percentile of ns/1e6, selecting order statistics on the
 *                            integers (ns -> ms keeps order) instead of np.partition of a copy
 *   group_dists(...)         dist_ms per group (our code's functions and packages, syscall
 *                            sites) and distinct goroutines per group, after one counting sort
 *   max_open(s, e)           _max_concurrent: a merge walk over sorted starts and ends
 *   cover_sum(...)           analysis.coverage(starts, ends)(qa, qb).sum() without the sort and
 *                            searchsorted passes when the starts are already in order (the
 *                            running intervals on a per-goroutine virtual axis: mark assist)
 *   late_timers(...)         timers: all_busy_before (per P, busy stretches and a binary search)
 *                            and the total and user-goroutine overlap of the running intervals
 *                            with the late windows (held_p_by_goroutine's pairs, summed)
 *   wake_runnable(...)       scheduling's Runnable-then-Running (and after-Waiting) masks, one pass
 *   timer_waits(...)         timers' Waiting intervals ended by a timer, one pass
 *
 * Codes (goroutine states) come from Python as arguments: nothing here copies an enum.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

/* A read-only contiguous buffer of `itemsize`-byte items (1: bool/int8, 8: int64). */
static int get_buf(PyObject *o, Py_buffer *b, Py_ssize_t itemsize, const char *what) {
    if (PyObject_GetBuffer(o, b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    if (b->itemsize != itemsize || b->ndim > 1) {
        PyErr_Format(PyExc_TypeError, "_fastfeat: %s must be a contiguous 1-d array of %zd-byte items", what,
                     itemsize);
        PyBuffer_Release(b);
        return -1;
    }
    if (itemsize == 8 && b->format && strcmp(b->format, "q") && strcmp(b->format, "l") && strcmp(b->format, "<q") &&
        strcmp(b->format, "=q") && strcmp(b->format, "<l") && strcmp(b->format, "=l")) {
        PyErr_Format(PyExc_TypeError, "_fastfeat: %s must be int64", what);
        PyBuffer_Release(b);
        return -1;
    }
    return 0;
}

/* An integer (or bool) array of any width, read through ival(). */
typedef struct {
    Py_buffer b;
    Py_ssize_t n;
    int size, is_unsigned;
} ints_t;

static int get_ints(PyObject *o, ints_t *x, const char *what) {
    memset(x, 0, sizeof(*x));
    if (PyObject_GetBuffer(o, &x->b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    const char *f = x->b.format ? x->b.format : "B";
    if (*f == '<' || *f == '=' || *f == '@') f++;
    int sz = (int)x->b.itemsize;
    if (x->b.ndim > 1 || !strchr("bBhHiIlLqQ?", *f) || f[1] || !(sz == 1 || sz == 2 || sz == 4 || sz == 8)) {
        PyErr_Format(PyExc_TypeError, "_fastfeat: %s must be a contiguous 1-d integer or bool array", what);
        PyBuffer_Release(&x->b);
        x->b.buf = NULL;
        return -1;
    }
    x->size = sz;
    x->is_unsigned = (*f >= 'A' && *f <= 'Z') || *f == '?';
    x->n = x->b.len / sz;
    return 0;
}

static inline int64_t ival(const ints_t *x, Py_ssize_t i) {
    const void *p = x->b.buf;
    switch (x->size) {
    case 1: return x->is_unsigned ? (int64_t)((const uint8_t *)p)[i] : (int64_t)((const int8_t *)p)[i];
    case 2: return x->is_unsigned ? (int64_t)((const uint16_t *)p)[i] : (int64_t)((const int16_t *)p)[i];
    case 4: return x->is_unsigned ? (int64_t)((const uint32_t *)p)[i] : (int64_t)((const int32_t *)p)[i];
    default: return ((const int64_t *)p)[i]; /* a uint64 above 2^63 reads negative: out of every range */
    }
}

static void ints_release(ints_t *x) {
    if (x->b.buf) PyBuffer_Release(&x->b);
    x->b.buf = NULL;
}

/* out[0..n) as bytes of int64 */
static PyObject *i64bytes(const int64_t *out, Py_ssize_t n) {
    return PyBytes_FromStringAndSize((const char *)out, n * (Py_ssize_t)sizeof(int64_t));
}

static void release_all(Py_buffer **all, int n) {
    for (int i = 0; i < n; i++)
        if (all[i]->buf) PyBuffer_Release(all[i]);
}

#define N64(b) ((b).len / 8)
#define I64(b) ((const int64_t *)(b).buf)
#define U8(b) ((const uint8_t *)(b).buf)

/* ------------------------------------------------------------------ order statistics */
static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

#define NBUCKET 65536

/* The bucket of v = x - min: v itself below 1024, else its top 11 significant bits and their
 * position (a float with a 10-bit mantissa): monotone in v, at most 56k buckets, each 1/1024
 * of its value wide -- a wide range of durations still spreads over many buckets. */
static inline Py_ssize_t bucket_of(uint64_t v) {
    if (v < 1024) return (Py_ssize_t)v;
    int e = 63 - __builtin_clzll(v);
    return (Py_ssize_t)(((uint64_t)(e - 9) << 10) | ((v >> (e - 10)) & 1023));
}

/* out[j] = the value of rank r[j] in a[0..n) (r ascending, distinct, < n): a radix select --
 * a histogram of the buckets finds each rank's bucket, the few buckets needed are gathered and
 * selected in the same way (a bucket one value wide is that value). O(n) a level, rarely more
 * than one level; a does not change. Returns -1 when out of memory. */
static int select_ranks_in(const int64_t *a, Py_ssize_t n, const Py_ssize_t *r, int m, int64_t *out, int64_t lo,
                           int64_t hi);

static int select_ranks(const int64_t *a, Py_ssize_t n, const Py_ssize_t *r, int m, int64_t *out) {
    int64_t lo = n ? a[0] : 0, hi = lo;
    if (n > 1024)
        for (Py_ssize_t i = 1; i < n; i++) {
            lo = a[i] < lo ? a[i] : lo;
            hi = a[i] > hi ? a[i] : hi;
        }
    return select_ranks_in(a, n, r, m, out, lo, hi);
}

/* One histogram for every selection: zeroed per use (a fresh calloc of 256 KB costs page faults
 * on each call). A selection is done with it before it selects inside a bucket (recursion). */
static uint32_t hist_scratch[NBUCKET];

/* select_ranks with lo and hi, the minimum and maximum of a (used when n > 1024), known. */
static int select_ranks_in(const int64_t *a, Py_ssize_t n, const Py_ssize_t *r, int m, int64_t *out, int64_t lo,
                           int64_t hi) {
    if (n <= 1024) {
        int64_t *t = (int64_t *)malloc((size_t)n * sizeof(int64_t));
        if (!t) return -1;
        memcpy(t, a, (size_t)n * sizeof(int64_t));
        qsort(t, (size_t)n, sizeof(int64_t), cmp_i64);
        for (int j = 0; j < m; j++) out[j] = t[r[j]];
        free(t);
        return 0;
    }
    if (lo == hi) {
        for (int j = 0; j < m; j++) out[j] = lo;
        return 0;
    }
    uint32_t *hist = hist_scratch;
    memset(hist, 0, sizeof(hist_scratch));
    for (Py_ssize_t i = 0; i < n; i++) hist[bucket_of((uint64_t)a[i] - (uint64_t)lo)]++;
    /* each rank's bucket and its rank within the bucket */
    Py_ssize_t bucket[8], inner[8];
    Py_ssize_t cum = 0, bi = 0;
    for (int j = 0; j < m; j++) {
        while (cum + (Py_ssize_t)hist[bi] <= r[j]) cum += hist[bi++];
        bucket[j] = bi;
        inner[j] = r[j] - cum;
    }
    /* the distinct buckets needed; one below 1024 is one value */
    int nb = 0, rc = 0;
    Py_ssize_t ub[8];
    int64_t *buf[8] = {0};
    Py_ssize_t fill[8] = {0};
    for (int j = 0; j < m; j++) {
        if (bucket[j] < 1024) out[j] = (int64_t)((uint64_t)lo + (uint64_t)bucket[j]);
        else if (nb == 0 || ub[nb - 1] != bucket[j]) ub[nb++] = bucket[j];
    }
    for (int k = 0; k < nb; k++) {
        buf[k] = (int64_t *)malloc((size_t)hist[ub[k]] * sizeof(int64_t) + 8);
        if (!buf[k]) rc = -1;
    }
    if (rc == 0 && nb > 0) {
        Py_ssize_t bmin = ub[0], bmax = ub[nb - 1];
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_ssize_t b = bucket_of((uint64_t)a[i] - (uint64_t)lo);
            if (b < bmin || b > bmax) continue;
            for (int k = 0; k < nb; k++)
                if (ub[k] == b) { buf[k][fill[k]++] = a[i]; break; }
        }
        for (int k = 0; k < nb && rc == 0; k++) {
            Py_ssize_t rr[8];
            int mm = 0, first = -1;
            for (int j = 0; j < m; j++)
                if (bucket[j] == ub[k]) {
                    if (first < 0) first = j;
                    rr[mm++] = inner[j];
                }
            rc = select_ranks(buf[k], fill[k], rr, mm, out + first);
        }
    }
    for (int k = 0; k < nb; k++) free(buf[k]);
    return rc;
}

static double ms_of(int64_t ns) { return (double)ns / 1e6; }

/* numpy's pairwise summation of float64 (loops_utils.h: blocks of 128, eight accumulators) of
 * a / 1e6, and the minimum and maximum of a in the same pass (lo, hi: start values) */
static double pairwise_ms_mm(const int64_t *a, Py_ssize_t n, int64_t *lo, int64_t *hi) {
    int64_t l = *lo, h = *hi;
    double res;
    if (n < 8) {
        res = 0.;
        for (Py_ssize_t i = 0; i < n; i++) {
            res += ms_of(a[i]);
            l = a[i] < l ? a[i] : l;
            h = a[i] > h ? a[i] : h;
        }
    } else if (n <= 128) {
        double r[8];
        Py_ssize_t i;
        for (int j = 0; j < 8; j++) {
            r[j] = ms_of(a[j]);
            l = a[j] < l ? a[j] : l;
            h = a[j] > h ? a[j] : h;
        }
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) {
                r[j] += ms_of(a[i + j]);
                l = a[i + j] < l ? a[i + j] : l;
                h = a[i + j] > h ? a[i + j] : h;
            }
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) {
            res += ms_of(a[i]);
            l = a[i] < l ? a[i] : l;
            h = a[i] > h ? a[i] : h;
        }
    } else {
        Py_ssize_t n2 = n / 2;
        n2 -= n2 % 8;
        *lo = l;
        *hi = h;
        double x = pairwise_ms_mm(a, n2, lo, hi);
        return x + pairwise_ms_mm(a + n2, n - n2, lo, hi);
    }
    *lo = l;
    *hi = h;
    return res;
}

static int rank_slot(const Py_ssize_t *ranks, int nr, Py_ssize_t k) {
    for (int i = 0; i < nr; i++)
        if (ranks[i] == k) return i;
    return 0;
}

/* out = (total, p50, p95, p99, max) in ms of a[0..n), n > 0, as numpy computes them on
 * ms = a / 1e6: the pairwise sum in a's order; np.percentile's linear method -- q = [50, 95, 99]
 * / 100, virtual = (n - 1) * q, prev = floor(virtual), next = prev + 1 (both the last when
 * virtual >= n - 1, and then gamma is taken from prev = -1), gamma = virtual - prev, lerp as
 * numpy's _lerp; the maximum. Returns -1 when out of memory. */
static int dist_core(const int64_t *a, Py_ssize_t n, double out[5]) {
    static const double pct[3] = {50.0, 95.0, 99.0};
    Py_ssize_t prev[3], next[3];
    double gamma[3];
    int64_t lo = a[0], hi = a[0];
    out[0] = pairwise_ms_mm(a, n, &lo, &hi);
    for (int j = 0; j < 3; j++) {
        double q = pct[j] / 100.0;
        double v = (double)(n - 1) * q;
        double pf = floor(v);
        if (v >= (double)(n - 1)) {
            prev[j] = next[j] = n - 1;
            gamma[j] = v - (-1.0);
        } else {
            prev[j] = (Py_ssize_t)pf;
            next[j] = prev[j] + 1;
            gamma[j] = v - pf;
        }
    }
    /* the order statistics needed, ascending and distinct */
    Py_ssize_t want[7], ranks[7];
    int nw = 0, nr = 0;
    for (int j = 0; j < 3; j++) { want[nw++] = prev[j]; want[nw++] = next[j]; }
    want[nw++] = n - 1;
    for (int i = 1; i < nw; i++) {
        Py_ssize_t v = want[i];
        int j = i;
        while (j > 0 && want[j - 1] > v) { want[j] = want[j - 1]; j--; }
        want[j] = v;
    }
    for (int i = 0; i < nw; i++)
        if (nr == 0 || ranks[nr - 1] != want[i]) ranks[nr++] = want[i];
    int64_t val[7];
    if (select_ranks_in(a, n, ranks, nr, val, lo, hi) < 0) return -1;
#define AT(k) ms_of(val[rank_slot(ranks, nr, (k))])
    for (int j = 0; j < 3; j++) {
        double x = AT(prev[j]), y = AT(next[j]), t = gamma[j];
        double d = y - x;
        out[1 + j] = (t >= 0.5) ? (y - d * (1.0 - t)) : (x + d * t);
    }
    out[4] = AT(n - 1);
#undef AT
    return 0;
}

PyDoc_STRVAR(dist_ms_doc,
"dist_ms(ns) -> (total, p50, p95, p99, max) of ms = ns.astype(float64) / 1e6, bit for bit as numpy\n"
"gives them: ms.sum() (pairwise), np.percentile(ms, [50, 95, 99]) (linear method), ms.max().\n"
"ns: a non-empty contiguous int64 array (not modified).");

static PyObject *dist_ms(PyObject *self, PyObject *args) {
    PyObject *o;
    if (!PyArg_ParseTuple(args, "O", &o)) return NULL;
    Py_buffer b;
    if (get_buf(o, &b, 8, "ns") < 0) return NULL;
    Py_ssize_t n = N64(b);
    if (n == 0) {
        PyBuffer_Release(&b);
        PyErr_SetString(PyExc_ValueError, "dist_ms: empty array");
        return NULL;
    }
    double out[5];
    int rc = dist_core(I64(b), n, out);
    PyBuffer_Release(&b);
    if (rc < 0) return PyErr_NoMemory();
    return Py_BuildValue("ddddd", out[0], out[1], out[2], out[3], out[4]);
}

/* Scratch kept from call to call (grown, never shrunk): group_dists and late_timers need arrays
 * as long as the syscalls or the running intervals, and fresh pages for them on every window
 * cost as much as the work. The GIL is held throughout: one user at a time (neither calls the
 * other). */
static int64_t *late_scratch = NULL;
static size_t late_scratch_n = 0;

static int64_t *scratch_i64(size_t n) {
    if (n > late_scratch_n) {
        int64_t *p = (int64_t *)realloc(late_scratch, n * sizeof(int64_t));
        if (!p) return NULL;
        late_scratch = p;
        late_scratch_n = n;
    }
    return late_scratch;
}

PyDoc_STRVAR(group_dists_doc,
"group_dists(idx, ns, n, distinct) -> (dists, counts): for each group k < n, the rows i with\n"
"idx[i] == k (other idx values are no group) in row order: dists[k] = None (no row) or\n"
"(count, total, p50, p95, p99, max) as dist_ms(ns[rows]); counts[k] = the number of distinct\n"
"values of distinct[rows] (distinct None: counts is None). One counting sort, no pass per group.");

static PyObject *group_dists(PyObject *self, PyObject *args) {
    PyObject *oidx, *ons, *odis;
    Py_ssize_t ng;
    if (!PyArg_ParseTuple(args, "OOnO", &oidx, &ons, &ng, &odis)) return NULL;
    Py_buffer bi = {0}, bv = {0}, bd = {0};
    PyObject *res = NULL, *dists = NULL, *counts = NULL;
    Py_ssize_t *off = NULL;
    int64_t *vals = NULL, *dv = NULL;
    Py_ssize_t *stamp = NULL;
    if (ng < 0) {
        PyErr_SetString(PyExc_ValueError, "group_dists: n < 0");
        return NULL;
    }
    if (get_buf(oidx, &bi, 8, "idx") < 0 || get_buf(ons, &bv, 8, "ns") < 0) goto done;
    if (odis != Py_None && get_buf(odis, &bd, 8, "distinct") < 0) goto done;
    Py_ssize_t n = N64(bi);
    if (N64(bv) != n || (bd.buf && N64(bd) != n)) {
        PyErr_SetString(PyExc_ValueError, "group_dists: length mismatch");
        goto done;
    }
    const int64_t *idx = I64(bi), *v = I64(bv), *d = bd.buf ? I64(bd) : NULL;
    off = (Py_ssize_t *)calloc((size_t)ng + 2, sizeof(Py_ssize_t));
    vals = scratch_i64(2 * (size_t)n + 2);
    if (vals && d) dv = vals + n + 1;
    if (!off || !vals || (d && !dv)) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (idx[i] >= 0 && idx[i] < ng) off[idx[i] + 1]++;
    for (Py_ssize_t k = 0; k < ng; k++) off[k + 1] += off[k];
    /* scatter in row order (stable), using off[k] as the fill pointer, then restore it */
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t k = idx[i];
        if (k < 0 || k >= ng) continue;
        Py_ssize_t at = off[k]++;
        vals[at] = v[i];
        if (d) dv[at] = d[i];
    }
    for (Py_ssize_t k = ng; k > 0; k--) off[k] = off[k - 1];
    off[0] = 0;
    int64_t dmin = 0;
    if (d && n > 0) { /* values spanning a small range (goroutine ids): a stamp per value */
        int64_t dmax = d[0];
        dmin = d[0];
        for (Py_ssize_t i = 1; i < n; i++) {
            if (d[i] < dmin) dmin = d[i];
            if (d[i] > dmax) dmax = d[i];
        }
        if ((uint64_t)dmax - (uint64_t)dmin < ((uint64_t)1 << 26)) {
            stamp = (Py_ssize_t *)calloc((size_t)(dmax - dmin) + 1, sizeof(Py_ssize_t));
            if (!stamp) {
                PyErr_NoMemory();
                goto done;
            }
        }
    }
    dists = PyList_New(ng);
    counts = d ? PyList_New(ng) : (Py_INCREF(Py_None), Py_None);
    if (!dists || !counts) goto done;
    for (Py_ssize_t k = 0; k < ng; k++) {
        Py_ssize_t a = off[k], m = off[k + 1] - off[k];
        PyObject *item;
        if (m == 0) {
            item = Py_None;
            Py_INCREF(item);
        } else {
            double out[5];
            if (dist_core(vals + a, m, out) < 0) {
                PyErr_NoMemory();
                goto done;
            }
            item = Py_BuildValue("nddddd", m, out[0], out[1], out[2], out[3], out[4]);
            if (!item) goto done;
        }
        PyList_SET_ITEM(dists, k, item);
        if (d) {
            Py_ssize_t distinct = 0;
            if (stamp) { /* small non-negative values: mark each with the group that saw it last */
                for (Py_ssize_t i = a; i < a + m; i++)
                    if (stamp[dv[i] - dmin] != k + 1) {
                        stamp[dv[i] - dmin] = k + 1;
                        distinct++;
                    }
            } else if (m > 0) {
                qsort(dv + a, (size_t)m, sizeof(int64_t), cmp_i64);
                distinct = 1;
                for (Py_ssize_t i = a + 1; i < a + m; i++) distinct += dv[i] != dv[i - 1];
            }
            PyObject *c = PyLong_FromSsize_t(distinct);
            if (!c) goto done;
            PyList_SET_ITEM(counts, k, c);
        }
    }
    res = PyTuple_Pack(2, dists, counts);
done:
    Py_XDECREF(dists);
    Py_XDECREF(counts);
    free(off);
    free(stamp);
    if (bi.buf) PyBuffer_Release(&bi);
    if (bv.buf) PyBuffer_Release(&bv);
    if (bd.buf) PyBuffer_Release(&bd);
    return res;
}

/* ------------------------------------------------------------------ max_open */
PyDoc_STRVAR(max_open_doc,
"max_open(s, e) -> int: max over i of (i + 1) - #(e <= s[i]), s and e sorted int64 (0 when empty):\n"
"the most intervals open at once, an end counting before a start at the same time.");

static PyObject *max_open(PyObject *self, PyObject *args) {
    PyObject *os, *oe;
    if (!PyArg_ParseTuple(args, "OO", &os, &oe)) return NULL;
    Py_buffer bs, be;
    if (get_buf(os, &bs, 8, "s") < 0) return NULL;
    if (get_buf(oe, &be, 8, "e") < 0) {
        PyBuffer_Release(&bs);
        return NULL;
    }
    const int64_t *s = I64(bs), *e = I64(be);
    Py_ssize_t n = N64(bs), m = N64(be), j = 0;
    int64_t best = 0;
    int have = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        while (j < m && e[j] <= s[i]) j++;
        int64_t open = (int64_t)(i + 1) - (int64_t)j;
        if (!have || open > best) { best = open; have = 1; }
    }
    PyBuffer_Release(&bs);
    PyBuffer_Release(&be);
    return PyLong_FromLongLong(best);
}

/* ------------------------------------------------------------------ cover_sum */
/* The union of intervals (in start order) as groups [us, ue) and the covered ns before each. */
typedef struct {
    int64_t *us, *ue, *cum; /* cum[k]: covered ns of groups < k */
    Py_ssize_t n;
} cover_t;

static int64_t covered_upto(const cover_t *c, int64_t t) {
    /* k = #(us <= t) */
    Py_ssize_t lo = 0, hi = c->n;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (c->us[mid] <= t) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return 0;
    Py_ssize_t km = lo - 1;
    int64_t part = t - c->us[km], w = c->ue[km] - c->us[km];
    if (part < 0) part = 0;
    if (part > w) part = w;
    return c->cum[km] + part;
}

PyDoc_STRVAR(cover_sum_doc,
"cover_sum(starts, ends, qa, qb, state, want, gor, span, t0) -> int or None:\n"
"sum over queries of analysis.coverage(S, E)(qa, qb), where the intervals are those i with\n"
"state[i] == want (state: int8 array, or None for all) moved to S = starts[i] + gor[i] * span - t0\n"
"(gor None: S = starts[i]), E likewise. None when the S are not in order (the caller sorts).");

static PyObject *cover_sum(PyObject *self, PyObject *args) {
    PyObject *os, *oe, *oqa, *oqb, *ost, *og;
    int want;
    long long span, t0;
    if (!PyArg_ParseTuple(args, "OOOOOiOLL", &os, &oe, &oqa, &oqb, &ost, &want, &og, &span, &t0)) return NULL;
    Py_buffer bs = {0}, be = {0}, bqa = {0}, bqb = {0}, bst = {0}, bg = {0};
    PyObject *res = NULL;
    cover_t c = {0};
    if (get_buf(os, &bs, 8, "starts") < 0) goto done;
    if (get_buf(oe, &be, 8, "ends") < 0) goto done;
    if (get_buf(oqa, &bqa, 8, "qa") < 0) goto done;
    if (get_buf(oqb, &bqb, 8, "qb") < 0) goto done;
    if (ost != Py_None && get_buf(ost, &bst, 1, "state") < 0) goto done;
    if (og != Py_None && get_buf(og, &bg, 8, "gor") < 0) goto done;
    Py_ssize_t n = N64(bs);
    if (N64(be) != n || (bst.buf && bst.len != n) || (bg.buf && N64(bg) != n) || N64(bqa) != N64(bqb)) {
        PyErr_SetString(PyExc_ValueError, "cover_sum: length mismatch");
        goto done;
    }
    c.us = (int64_t *)malloc((size_t)(n + 1) * sizeof(int64_t));
    c.ue = (int64_t *)malloc((size_t)(n + 1) * sizeof(int64_t));
    c.cum = (int64_t *)malloc((size_t)(n + 1) * sizeof(int64_t));
    if (!c.us || !c.ue || !c.cum) {
        PyErr_NoMemory();
        goto done;
    }
    const int64_t *S = I64(bs), *E = I64(be), *G = bg.buf ? I64(bg) : NULL;
    const int8_t *ST = bst.buf ? (const int8_t *)bst.buf : NULL;
    int64_t prev_s = 0, emax = 0;
    int any = 0;
    Py_ssize_t k = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (ST && ST[i] != want) continue;
        int64_t base = G ? G[i] * (int64_t)span - (int64_t)t0 : 0;
        int64_t s = S[i] + base, e = E[i] + base;
        if (any && s < prev_s) { /* not in start order: the caller's numpy path sorts */
            res = Py_None;
            Py_INCREF(res);
            goto done;
        }
        if (!any || s > emax) { /* a new group (s > running max of the ends so far) */
            k++;
            c.us[k] = s;
            emax = any ? (e > emax ? e : emax) : e;
            c.ue[k] = emax;
        } else {
            if (e > emax) emax = e;
            c.ue[k] = emax;
        }
        prev_s = s;
        any = 1;
    }
    c.n = k + 1;
    int64_t acc = 0;
    for (Py_ssize_t j = 0; j < c.n; j++) {
        if (c.ue[j] < 0) c.ue[j] = 0; /* the reference's np.maximum.at into zeros */
        c.cum[j] = acc;
        acc += c.ue[j] - c.us[j];
    }
    const int64_t *qa = I64(bqa), *qb = I64(bqb);
    int64_t tot = 0;
    if (c.n > 0) {
        for (Py_ssize_t q = 0; q < N64(bqa); q++) tot += covered_upto(&c, qb[q]) - covered_upto(&c, qa[q]);
    }
    res = PyLong_FromLongLong(tot);
done:
    free(c.us);
    free(c.ue);
    free(c.cum);
    if (bs.buf) PyBuffer_Release(&bs);
    if (be.buf) PyBuffer_Release(&be);
    if (bqa.buf) PyBuffer_Release(&bqa);
    if (bqb.buf) PyBuffer_Release(&bqb);
    if (bst.buf) PyBuffer_Release(&bst);
    if (bg.buf) PyBuffer_Release(&bg);
    return res;
}

/* ------------------------------------------------------------------ per-P running intervals */
/* The running intervals split by P (timeline.RunIndex, flat rows): P k's rows are
 * off[k]..off[k+1] (P id p[k]), each with its start s, end e, goroutine index g, and em the
 * running max of the ends within the P (sorted like s: runs on one P do not overlap). */
typedef struct {
    Py_ssize_t nseg, n;
    const int64_t *off, *p, *s, *e, *em, *g;
} byp_t;

/* first index in [lo, hi) with a[i] > t (side="right") or a[i] >= t (side="left") */
static Py_ssize_t search(const int64_t *a, Py_ssize_t lo, Py_ssize_t hi, int64_t t, int right) {
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (right ? (a[mid] <= t) : (a[mid] < t)) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* busy[j]: timers.all_busy_before for t[j] -- the minimum over the Ps in procs of how long the P
 * had been running without a gap > gap up to t[j] (0 for a P idle then, or that never ran). */
static int ascending(const int64_t *a, Py_ssize_t lo, Py_ssize_t hi) {
    for (Py_ssize_t i = lo + 1; i < hi; i++)
        if (a[i] < a[i - 1]) return 0;
    return 1;
}

/* With the times t in ascending order (the caller sorts them) and a P's starts too, the binary
 * searches below become one forward walk per P: the same index, found in order. */
static int busy_before(const byp_t *b, const int64_t *procs, Py_ssize_t np_, const int64_t *t, Py_ssize_t nt,
                       int64_t gap, int64_t *busy, int64_t *stretch) {
    /* stretch[i]: start of the busy stretch row i belongs to (a new one after a gap > gap) */
    for (Py_ssize_t k = 0; k < b->nseg; k++)
        for (Py_ssize_t i = b->off[k]; i < b->off[k + 1]; i++)
            stretch[i] = (i == b->off[k] || b->s[i] - b->em[i - 1] > gap) ? b->s[i] : stretch[i - 1];
    for (Py_ssize_t j = 0; j < nt; j++) busy[j] = 0;
    int t_sorted = ascending(t, 0, nt);
    for (Py_ssize_t q = 0; q < np_; q++) {
        Py_ssize_t seg = -1; /* the P's rows (the reference's dict keeps the last segment of a P) */
        for (Py_ssize_t k = 0; k < b->nseg; k++)
            if (b->p[k] == procs[q]) seg = k;
        Py_ssize_t o0 = seg < 0 ? 0 : b->off[seg], o1 = seg < 0 ? 0 : b->off[seg + 1];
        int walk = t_sorted && ascending(b->s, o0, o1);
        Py_ssize_t at = o0;
        for (Py_ssize_t j = 0; j < nt; j++) {
            int64_t x = 0;
            if (seg >= 0) {
                Py_ssize_t kk;
                if (walk) {  /* rows starting at or before t[j] */
                    while (at < o1 && b->s[at] <= t[j]) at++;
                    kk = at - 1;
                } else {
                    kk = search(b->s, o0, o1, t[j], 1) - 1;
                }
                if (kk >= o0 && b->em[kk] >= t[j] - gap) x = t[j] - stretch[kk];
            }
            if (q == 0 || x < busy[j]) busy[j] = x;
        }
    }
    return 0;
}

/* Over the windows [t[j] - busy[j], t[j]) with busy[j] >= late and every running interval
 * overlapping one on its P (held_p_pairs' pairs: per P, rows searchsorted(em, ws, right) ..
 * searchsorted(s, we, left)): the summed positive overlap, and the part of it by goroutines
 * that are not runtime goroutines. -1: a goroutine index out of range. */
static int late_shares(const byp_t *b, const uint8_t *sys, Py_ssize_t ngor, const int64_t *t, const int64_t *busy,
                       Py_ssize_t nt, int64_t late, int64_t *tot, int64_t *user, int64_t *pre_t, int64_t *pre_u) {
    *tot = *user = 0;
    /* Where a P's runs are disjoint and in order (s[i] <= e[i] <= s[i + 1], as Go's runs on one P
     * are), a window's rows lo + 1 .. hi - 2 lie wholly inside it (s > e[lo] > a, e <= s[next] < z)
     * and add their full length: prefix sums of the lengths (all, and by user goroutines) give
     * them at once, and only the rows at both ends are clipped. Late windows reach back over the
     * same busy stretch (~800 windows of ~100 runs each in a busy window). Other Ps: every
     * overlapping row is visited, as before. The sums are the same integers either way. */
    enum { MAXSEG = 64 };
    int ok_seg[MAXSEG] = {0}, walk[MAXSEG] = {0};
    Py_ssize_t at[MAXSEG];
    int t_sorted = ascending(t, 0, nt);
    Py_ssize_t nfast = b->nseg <= MAXSEG ? b->nseg : 0;
    int any_late = 0;
    for (Py_ssize_t w = 0; w < nt && !any_late; w++) any_late = busy[w] >= late;
    for (Py_ssize_t k = 0; any_late && k < nfast; k++) {
        Py_ssize_t o0 = b->off[k], o1 = b->off[k + 1];
        int ok = 1;
        int64_t at = 0, au = 0;
        for (Py_ssize_t i = o0; i < o1 && ok; i++) {
            int64_t gi = b->g[i];
            ok = gi >= 0 && gi < ngor && b->e[i] >= b->s[i] && (i + 1 == o1 || b->e[i] <= b->s[i + 1]);
            if (!ok) break;
            pre_t[i] = at;
            pre_u[i] = au;
            at += b->e[i] - b->s[i];
            au += sys[gi] ? 0 : b->e[i] - b->s[i];
        }
        ok_seg[k] = ok;
    }
    for (Py_ssize_t k = 0; any_late && k < nfast; k++) {  /* the window ends z = t[w] ascend too */
        walk[k] = t_sorted && ascending(b->s, b->off[k], b->off[k + 1]);
        at[k] = b->off[k];
    }
    for (Py_ssize_t w = 0; w < nt; w++) {
        if (busy[w] < late) continue;
        int64_t a = t[w] - busy[w], z = t[w];
        for (Py_ssize_t k = 0; k < b->nseg; k++) {
            Py_ssize_t o0 = b->off[k], o1 = b->off[k + 1];
            Py_ssize_t lo = search(b->em, o0, o1, a, 1), hi;
            if (k < nfast && walk[k]) {  /* rows starting before z */
                while (at[k] < o1 && b->s[at[k]] < z) at[k]++;
                hi = at[k];
            } else {
                hi = search(b->s, o0, o1, z, 0);
            }
            int fast = k < nfast && ok_seg[k] && hi - lo >= 2;
            if (fast) { /* the inner rows, then the two end rows below */
                *tot += pre_t[hi - 1] - pre_t[lo + 1];
                *user += pre_u[hi - 1] - pre_u[lo + 1];
            }
            for (Py_ssize_t i = lo; i < hi; i++) {
                if (fast && i == lo + 1) i = hi - 1;
                int64_t st = b->s[i] > a ? b->s[i] : a, en = b->e[i] < z ? b->e[i] : z;
                int64_t ov = en - st;
                if (ov <= 0) continue;
                *tot += ov;
                int64_t gi = b->g[i];
                if (gi < 0 || gi >= ngor) return -1;
                if (!sys[gi]) *user += ov;
            }
        }
    }
    return 0;
}

PyDoc_STRVAR(late_timers_doc,
"late_timers(start, end, end_max, gor, segoff, seg_p, gor_is_system, procs, t, gap, late) -> (busy, total, user):\n"
"timers.timer_wakes' scans in one pass over the running intervals split by P (timeline.RunIndex's\n"
"rows: start, end, end_max, gor; P k's rows segoff[k]..segoff[k+1], its id seg_p[k]). busy (bytes\n"
"of int64): all_busy_before(t) -- per time, the minimum over the Ps in procs of how long the P had\n"
"been running without a gap > gap. total, user: over the late windows [t - busy, t) (busy >= late),\n"
"the overlap of the running intervals with them (held_p_pairs' pairs), and the part by goroutines\n"
"that are not runtime goroutines.");

static PyObject *late_timers(PyObject *self, PyObject *args) {
    PyObject *os, *oe, *oem, *og, *ooff, *op, *osys, *oprocs, *ot;
    long long gap, late;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOLL", &os, &oe, &oem, &og, &ooff, &op, &osys, &oprocs, &ot, &gap, &late))
        return NULL;
    Py_buffer bs = {0}, be = {0}, bem = {0}, bg = {0}, boff = {0}, bp = {0}, bsys = {0}, bprocs = {0}, bt = {0};
    PyObject *res = NULL;
    byp_t b = {0};
    int64_t *busy = NULL, tot = 0, user = 0;
    if (get_buf(os, &bs, 8, "start") < 0 || get_buf(oe, &be, 8, "end") < 0 || get_buf(oem, &bem, 8, "end_max") < 0 ||
        get_buf(og, &bg, 8, "gor") < 0 || get_buf(ooff, &boff, 8, "segoff") < 0 || get_buf(op, &bp, 8, "seg_p") < 0 ||
        get_buf(osys, &bsys, 1, "gor_is_system") < 0 || get_buf(oprocs, &bprocs, 8, "procs") < 0 ||
        get_buf(ot, &bt, 8, "t") < 0)
        goto done;
    Py_ssize_t n = N64(bs), nt = N64(bt), nseg = N64(bp);
    if (N64(be) != n || N64(bem) != n || N64(bg) != n || N64(boff) != nseg + 1) {
        PyErr_SetString(PyExc_ValueError, "late_timers: length mismatch");
        goto done;
    }
    const int64_t *off = I64(boff);
    for (Py_ssize_t k = 0; k <= nseg; k++) /* offsets ascending from 0 to n: no read past a row */
        if (off[k] < (k ? off[k - 1] : 0) || off[k] > n || (k == nseg && off[k] != n)) {
            PyErr_SetString(PyExc_ValueError, "late_timers: segoff is not 0 <= ... <= len(start)");
            goto done;
        }
    b.nseg = nseg;
    b.n = n;
    b.off = off;
    b.p = I64(bp);
    b.s = I64(bs);
    b.e = I64(be);
    b.em = I64(bem);
    b.g = I64(bg);
    busy = (int64_t *)malloc((size_t)(nt + 1) * sizeof(int64_t));
    int64_t *scr = scratch_i64(3 * ((size_t)n + 1)); /* stretch starts, two prefix sums */
    if (!busy || !scr || busy_before(&b, I64(bprocs), N64(bprocs), I64(bt), nt, (int64_t)gap, busy, scr) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    if (late_shares(&b, U8(bsys), bsys.len, I64(bt), busy, nt, (int64_t)late, &tot, &user, scr + n + 1,
                    scr + 2 * (n + 1)) < 0) {
        PyErr_SetString(PyExc_IndexError, "late_timers: goroutine index out of range");
        goto done;
    }
    {
        PyObject *bb = i64bytes(busy, nt);
        if (bb) res = Py_BuildValue("NLL", bb, (long long)tot, (long long)user);
    }
done:
    free(busy);
    Py_buffer *all[] = {&bs, &be, &bem, &bg, &boff, &bp, &bsys, &bprocs, &bt};
    release_all(all, 9);
    return res;
}

/* ------------------------------------------------------------------ interval selections */
PyDoc_STRVAR(wake_runnable_doc,
"wake_runnable(state, open, next, prev, runnable, running, waiting) -> (rn, wk) as bytes of int64:\n"
"the interval indices (ascending) that scheduling's masks select: rn = Runnable, ended, followed by a\n"
"Running interval; wk = those of rn right after a Waiting interval (a wake-up).");

static PyObject *wake_runnable(PyObject *self, PyObject *args) {
    PyObject *ost, *oop, *onx, *opv;
    int RUNNABLE, RUNNING, WAITING;
    if (!PyArg_ParseTuple(args, "OOOOiii", &ost, &oop, &onx, &opv, &RUNNABLE, &RUNNING, &WAITING)) return NULL;
    ints_t st, op, nx, pv;
    PyObject *res = NULL;
    int64_t *rn = NULL, *wk = NULL;
    Py_ssize_t nrn = 0, nwk = 0;
    memset(&st, 0, sizeof st); memset(&op, 0, sizeof op); memset(&nx, 0, sizeof nx); memset(&pv, 0, sizeof pv);
    if (get_ints(ost, &st, "state") < 0 || get_ints(oop, &op, "open") < 0 || get_ints(onx, &nx, "next") < 0 ||
        get_ints(opv, &pv, "prev") < 0)
        goto done;
    Py_ssize_t n = st.n;
    if (op.n != n || nx.n != n || pv.n != n) {
        PyErr_SetString(PyExc_ValueError, "wake_runnable: length mismatch");
        goto done;
    }
    rn = (int64_t *)malloc((size_t)n * sizeof(int64_t) + 8);
    wk = (int64_t *)malloc((size_t)n * sizeof(int64_t) + 8);
    if (!rn || !wk) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (ival(&st, i) != RUNNABLE || ival(&op, i)) continue;
        int64_t j = ival(&nx, i);
        if (j < 0) continue;
        if (j >= n) {
            PyErr_SetString(PyExc_IndexError, "wake_runnable: next interval out of range");
            goto done;
        }
        if (ival(&st, j) != RUNNING) continue;
        rn[nrn++] = i;
        int64_t k = ival(&pv, i);
        if (k >= n) {
            PyErr_SetString(PyExc_IndexError, "wake_runnable: previous interval out of range");
            goto done;
        }
        if (k >= 0 && ival(&st, k) == WAITING) wk[nwk++] = i;
    }
    {
        PyObject *a = i64bytes(rn, nrn), *b = i64bytes(wk, nwk);
        if (a && b) res = PyTuple_Pack(2, a, b);
        Py_XDECREF(a);
        Py_XDECREF(b);
    }
done:
    free(rn);
    free(wk);
    ints_release(&st); ints_release(&op); ints_release(&nx); ints_release(&pv);
    return res;
}

PyDoc_STRVAR(timer_waits_doc,
"timer_waits(state, open, end_g, reason, gor, gor_is_system, reason_ok, waiting) -> bytes of int64:\n"
"the Waiting intervals (ascending) that ended, woken by no goroutine (end_g < 0), with a reason r\n"
"where reason_ok[r] (out of its range: no), of a goroutine that is not a runtime goroutine.");

static PyObject *timer_waits(PyObject *self, PyObject *args) {
    PyObject *ost, *oop, *oeg, *orz, *ogr, *osy, *ook;
    int WAITING;
    if (!PyArg_ParseTuple(args, "OOOOOOOi", &ost, &oop, &oeg, &orz, &ogr, &osy, &ook, &WAITING)) return NULL;
    ints_t st, op, eg, rz, gr, sy, ok;
    PyObject *res = NULL;
    int64_t *out = NULL;
    Py_ssize_t nout = 0;
    memset(&st, 0, sizeof st); memset(&op, 0, sizeof op); memset(&eg, 0, sizeof eg); memset(&rz, 0, sizeof rz);
    memset(&gr, 0, sizeof gr); memset(&sy, 0, sizeof sy); memset(&ok, 0, sizeof ok);
    if (get_ints(ost, &st, "state") < 0 || get_ints(oop, &op, "open") < 0 || get_ints(oeg, &eg, "end_g") < 0 ||
        get_ints(orz, &rz, "reason") < 0 || get_ints(ogr, &gr, "gor") < 0 || get_ints(osy, &sy, "gor_is_system") < 0 ||
        get_ints(ook, &ok, "reason_ok") < 0)
        goto done;
    Py_ssize_t n = st.n;
    if (op.n != n || eg.n != n || rz.n != n || gr.n != n) {
        PyErr_SetString(PyExc_ValueError, "timer_waits: length mismatch");
        goto done;
    }
    out = (int64_t *)malloc((size_t)n * sizeof(int64_t) + 8);
    if (!out) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (ival(&st, i) != WAITING || ival(&op, i) || ival(&eg, i) >= 0) continue;
        int64_t r = ival(&rz, i);
        if (r < 0 || r >= ok.n || !ival(&ok, r)) continue;
        int64_t g = ival(&gr, i);
        if (g < 0 || g >= sy.n) {
            PyErr_SetString(PyExc_IndexError, "timer_waits: goroutine index out of range");
            goto done;
        }
        if (ival(&sy, g)) continue;
        out[nout++] = i;
    }
    res = i64bytes(out, nout);
done:
    free(out);
    ints_release(&st); ints_release(&op); ints_release(&eg); ints_release(&rz);
    ints_release(&gr); ints_release(&sy); ints_release(&ok);
    return res;
}

static PyMethodDef methods[] = {
    {"dist_ms", dist_ms, METH_VARARGS, dist_ms_doc},
    {"group_dists", group_dists, METH_VARARGS, group_dists_doc},
    {"max_open", max_open, METH_VARARGS, max_open_doc},
    {"cover_sum", cover_sum, METH_VARARGS, cover_sum_doc},
    {"late_timers", late_timers, METH_VARARGS, late_timers_doc},
    {"wake_runnable", wake_runnable, METH_VARARGS, wake_runnable_doc},
    {"timer_waits", timer_waits, METH_VARARGS, timer_waits_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastfeat",
                                    "Compiled kernels of the features stage (see _fastfeat.c).", -1, methods};

PyMODINIT_FUNC PyInit__fastfeat(void) { return PyModule_Create(&module); }
