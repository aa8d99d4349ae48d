"""Held-P time per goroutine summed over many windows, without visiting the (window, run) pairs.

`analysis.held_p_by_goroutine` gives one row per (window, goroutine that ran in it); the demand
on the Ps (graph/demand.py) only ever sums those rows per goroutine. That sum needs no pass over
the pairs: on one P the runs do not overlap and are in time order, so every run between a
window's first and last overlapping run lies wholly inside the window and adds its whole length.
Each run therefore adds its length times the number of windows it lies inside (a difference
array over the P's rows: two counts per window), and only each window's first and last run are
clipped to it. On a busyalloc 7 MB window (13.8 k held windows over 390 k runs, 5.3 M pairs;
100 k preempted windows, 1.1 M pairs) the pairs took ~0.1 s of compiled held_reduce; this is a
few numpy passes over the runs and windows.

The sums are of integer nanoseconds in float64 (bincount), exact while each goroutine's total
stays below 2**53 ns, as the bincount over `held_p_by_goroutine`'s rows it replaces was.
"""
from __future__ import annotations

import numpy as np

from .timeline import RunIndex, Timelines


def runs_disjoint(tl: Timelines) -> bool:
    """On every P, each run ends no earlier than it starts and no later than the next one
    starts: what `per_goroutine` relies on (true of a valid trace; checked once per timeline)."""
    got = tl.__dict__.get("_runs_disjoint")
    if got is None:
        ri = tl.run_index
        s, e = ri.start, ri.end
        ok = bool((e >= s).all())
        if ok and s.shape[0] > 1:
            nxt = s[1:] >= e[:-1]
            nxt[ri.segoff[1:-1][(ri.segoff[1:-1] > 0) & (ri.segoff[1:-1] < s.shape[0])] - 1] = True  # P boundaries
            ok = bool(nxt.all())
        got = tl.__dict__["_runs_disjoint"] = ok
    return got


def per_goroutine(ri: RunIndex, ngor: int, w_start: np.ndarray, w_end: np.ndarray, los, cnts) -> np.ndarray:
    """Per goroutine index: the overlap of its runs with the windows [w_start, w_end), summed
    over the windows (float64 ns). `los`, `cnts`: per P, each window's first overlapping row
    within the P and how many (`analysis.held_pair_counts`). The runs must be `runs_disjoint`."""
    nrun = ri.run.shape[0]
    out = np.zeros(ngor, np.float64)
    if nrun == 0 or w_start.shape[0] == 0:
        return out
    i64 = np.int64
    ws, we = w_start.astype(i64, copy=False), w_end.astype(i64, copy=False)
    opens, closes, rows, wins = [], [], [], []
    for k, (a, _b) in enumerate(ri.segments()):
        lo, c = np.asarray(los[k], i64), np.asarray(cnts[k], i64)
        one = np.flatnonzero(c > 0)
        rows.append(a + lo[one])  # the window's first run on this P
        wins.append(one)
        two = one[c[one] >= 2]
        rows.append(a + lo[two] + c[two] - 1)  # ... and its last
        wins.append(two)
        three = two[c[two] >= 3]
        opens.append(a + lo[three] + 1)  # the runs between lie inside the window
        closes.append(a + lo[three] + c[three] - 1)
    inside = (np.bincount(np.concatenate(opens), minlength=nrun + 1)
              - np.bincount(np.concatenate(closes), minlength=nrun + 1))
    mult = np.cumsum(inside[:nrun])  # windows each run lies wholly inside
    mult *= ri.end - ri.start  # every row at once: a window covers most runs, a gather costs more
    out += np.bincount(ri.gor, weights=mult, minlength=ngor)
    r, w = np.concatenate(rows), np.concatenate(wins)
    ov = np.minimum(ri.end[r], we[w]) - np.maximum(ri.start[r], ws[w])
    keep = ov > 0
    if keep.any():
        out += np.bincount(ri.gor[r[keep]], weights=ov[keep], minlength=ngor)
    return out
