"""Drawing many intervals on few pixels without dropping any: the HTML report's timelines.

A timeline row can hold thousands of intervals (a syscall storm switches state every few
microseconds); cutting the list after N segments made whole rows stop part-way, which reads
as "idle". Instead every interval is *merged* into pixel columns: each column gets the time
each category (a state, or the goroutine a P ran) covers in it, is painted with the category
that covered most of it, and runs of columns with the same winner become one mark. A mark that
is exactly one interval keeps its exact times; a merged one says how many intervals it holds
and their mix, so nothing is hidden and the reader is told where the picture is a summary.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Mark:
    """One drawn rectangle of a row: columns [c0, c1), the winning category, what it covers."""

    c0: int
    c1: int
    cat: str
    t0: float                  # ns, the columns' time span
    t1: float
    n: int                     # intervals overlapping it
    mix: dict[str, float] = field(default_factory=dict)  # category -> ns inside the mark
    single: int = -1           # the one interval it shows exactly (an index into the row's list), else -1


def _coverage(s: np.ndarray, t: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Time covered in each [edges[k], edges[k+1]) by sorted, non-overlapping intervals [s, t)."""
    if s.shape[0] == 0:
        return np.zeros(edges.shape[0] - 1)
    ln = np.maximum(t - s, 0).astype(np.float64)
    cum = np.concatenate(([0.0], np.cumsum(ln)))
    j = np.searchsorted(s, edges, side="right")  # intervals starting at or before each edge
    f = np.zeros(edges.shape[0])
    m = j > 0
    jj = j[m] - 1
    f[m] = cum[jj] + np.clip(edges[m] - s[jj], 0.0, ln[jj])
    return np.diff(f)


def merge_row(starts: np.ndarray, ends: np.ndarray, cats: list[str] | np.ndarray, a: float, b: float, ncols: int) -> list[Mark]:
    """Marks for one row of intervals [starts, ends) labelled `cats`, over [a, b) on `ncols`
    pixel columns. Intervals of one category must not overlap each other (true of one
    goroutine's states, of what one P or one thread ran)."""
    starts = np.clip(np.asarray(starts, dtype=np.float64), a, b)
    ends = np.clip(np.asarray(ends, dtype=np.float64), a, b)
    keep = ends > starts
    idx = np.nonzero(keep)[0]
    if idx.shape[0] == 0 or ncols <= 0 or b <= a:
        return []
    order = idx[np.argsort(starts[idx], kind="stable")]
    s_all, e_all = starts[order], ends[order]
    cat_arr = np.asarray(cats, dtype=object)[order]
    names = sorted(set(cat_arr.tolist()))
    edges = a + (b - a) * np.arange(ncols + 1) / ncols
    cov = np.stack([_coverage(s_all[cat_arr == c], e_all[cat_arr == c], edges) for c in names])
    total = cov.sum(axis=0)
    win = np.where(total > 0, cov.argmax(axis=0), -1)
    e_sorted = np.sort(e_all)
    marks: list[Mark] = []
    k = 0
    while k < ncols:
        if win[k] < 0:
            k += 1
            continue
        k1 = k + 1
        while k1 < ncols and win[k1] == win[k]:
            k1 += 1
        t0, t1 = float(edges[k]), float(edges[k1])
        # intervals overlapping [t0, t1): started before t1 and ended after t0
        n = int(np.searchsorted(s_all, t1, side="left") - np.searchsorted(e_sorted, t0, side="right"))
        mix = {names[c]: float(cov[c, k:k1].sum()) for c in range(len(names)) if cov[c, k:k1].sum() > 0}
        single = -1
        if n == 1:
            j = int(np.searchsorted(s_all, t1, side="left")) - 1
            single = int(order[j]) if j >= 0 else -1
        marks.append(Mark(c0=k, c1=k1, cat=names[int(win[k])], t0=t0, t1=t1, n=max(n, 1), mix=mix, single=single))
        k = k1
    return marks


def mix_text(mix: dict[str, float], label=lambda c: c) -> str:
    """'running 62%, syscall 30%, runnable 8%' (largest first)."""
    tot = sum(mix.values()) or 1.0
    parts = sorted(mix.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{label(c)} {v / tot:.0%}" for c, v in parts[:4]) + (" …" if len(parts) > 4 else "")


def nice_step(span: float, target: int = 8) -> float:
    """A 1/2/5 x 10^k step giving about `target` ticks over `span`."""
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def tick_labels(a_ms: float, b_ms: float, target: int = 8) -> list[tuple[float, str]]:
    """(position ms, label) of the axis ticks over [a_ms, b_ms]: every label with as many
    decimals as the step needs (195.5, 196.0, 196.5 — never 196, 196, 196)."""
    step = nice_step(b_ms - a_ms, target)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    if step < 1 and round(step * 10 ** decimals) % 10 == 0:
        decimals = max(decimals - 1, 0)
    first = math.ceil(a_ms / step - 1e-9) * step
    out = []
    k = 0
    while first + k * step <= b_ms + 1e-9 and k < 60:
        v = first + k * step
        out.append((v, f"{v:.{decimals}f}"))
        k += 1
    return out
