"""Who held a P during many long windows, in numpy, a block of runs at a time.

`analysis.held_p_by_goroutine` sums, per (window, goroutine), the overlap of the goroutine's
running intervals with each window. Materialising every (window, run) pair is what the simple
numpy code does; on a busy trace the woken goroutines' runnable windows overlap ~10 M pairs for
a 6 MB window of trace (0.97 s of the pure-Python fallback's 1.3 s of features). This is the
compiled scan's method (`_fastscan.c`, `run_blocks` / `held_reduce`) in numpy: each P's runs are
summarised in blocks of BLOCK rows (aligned at the P's first row) -- per block its largest end
and, per goroutine with runs of positive length in it, their summed length and its first row --
and a window takes the summary of every whole block whose runs all lie inside it (first start
>= a, largest end <= b: each run's overlap is then the run itself); the other rows are visited
one by one. Sums wrap modulo 2^64 as numpy's int64 arithmetic does, so the rows are those of
visiting every pair: the tests compare the two ways and the compiled scan on real traces.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .grouping import run_starts, stable_argsort

#: runs a block summarises (the compiled scan's BLOCK)
BLOCK = 64


@dataclass
class Blocks:
    """Block summaries of a `RunIndex`: blocks are numbered P by P, in row order."""

    first: np.ndarray      # per P (+1): its first block's number
    row0: np.ndarray       # per block: its first row
    max_e: np.ndarray      # per block: its largest end
    off: np.ndarray        # per block (+1): its entries' offsets
    g: np.ndarray          # per entry: goroutine index
    total: np.ndarray      # per entry: summed length of its runs of positive length (wrapping)
    row: np.ndarray        # per entry: the first such row


def build(ri, ngor: int) -> Blocks:
    """The block summaries of `ri` (timeline.RunIndex) for goroutine indices below `ngor`."""
    i64 = np.int64
    seg = ri.segoff.astype(i64)
    lens = np.diff(seg)
    per_p = (lens + BLOCK - 1) // BLOCK
    first = np.concatenate(([0], np.cumsum(per_p))).astype(i64)
    nb = int(first[-1])
    p_of_block = np.repeat(np.arange(lens.shape[0], dtype=i64), per_p)
    row0 = seg[p_of_block] + (np.arange(nb, dtype=i64) - first[p_of_block]) * BLOCK
    max_e = np.maximum.reduceat(ri.end, row0) if nb else np.zeros(0, i64)
    block_of_row = np.repeat(np.arange(nb, dtype=i64), np.diff(np.append(row0, seg[-1])))
    length = ri.end - ri.start
    rows = np.flatnonzero(length > 0)
    code = block_of_row[rows] * max(ngor, 1) + ri.gor[rows]
    perm = stable_argsort(code)
    code, rows = code[perm], rows[perm]
    head = np.flatnonzero(run_starts(code))
    entry_block = code[head] // max(ngor, 1)
    return Blocks(first=first, row0=row0, max_e=max_e,
                  off=np.searchsorted(entry_block, np.arange(nb + 1, dtype=i64)).astype(i64),
                  g=code[head] % max(ngor, 1), total=np.add.reduceat(length[rows], head) if head.shape[0] else
                  np.zeros(0, i64), row=rows[head])


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The concatenation of arange(s, s + c) for each (s, c)."""
    tot = int(counts.sum())
    if tot == 0:
        return np.zeros(0, np.int64)
    shift = np.repeat(starts - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    return shift + np.arange(tot, dtype=np.int64)


def pieces(ri, bk: Blocks, w_start: np.ndarray, w_end: np.ndarray, wins: np.ndarray,
           los: list[np.ndarray], cnts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(window, goroutine index, overlap, first start) rows for windows `wins` -- whole blocks
    as one row per goroutine, other runs one row each -- to be summed per (window, goroutine).
    `los`/`cnts`: per P, each window's first overlapping row (from the P's first) and count."""
    i64 = np.int64
    parts_w, parts_g, parts_o, parts_s = [], [], [], []
    rows_w, rows_r = [], []
    for k in range(ri.n_procs):
        base, length = int(ri.segoff[k]), int(ri.segoff[k + 1] - ri.segoff[k])
        lo = np.clip(los[k][wins].astype(i64), 0, length)
        c = np.minimum(np.maximum(cnts[k][wins].astype(i64), 0), length - lo)
        fb = (lo + BLOCK - 1) // BLOCK
        lb = (lo + c) // BLOCK
        nfull = np.maximum(lb - fb, 0)
        head_end = np.where(nfull > 0, fb * BLOCK, lo + c)
        tail_start = np.where(nfull > 0, lb * BLOCK, lo + c)
        # runs before the first whole block and after the last one, one row each
        for s, n in ((lo, head_end - lo), (tail_start, lo + c - tail_start)):
            rows_w.append(np.repeat(wins, n))
            rows_r.append(base + _ranges(s, n))
        # whole blocks: their summary when every run lies inside the window, else their runs
        bw = np.repeat(wins, nfull)
        bid = int(bk.first[k]) + _ranges(fb, nfull)
        inside = (ri.start[bk.row0[bid]] >= w_start[bw]) & (bk.max_e[bid] <= w_end[bw])
        ib, iw = bid[inside], bw[inside]
        n_ent = bk.off[ib + 1] - bk.off[ib]
        ent = _ranges(bk.off[ib], n_ent)
        parts_w.append(np.repeat(iw, n_ent))
        parts_g.append(bk.g[ent])
        parts_o.append(bk.total[ent])
        parts_s.append(ri.start[bk.row[ent]])
        ob, ow = bid[~inside], bw[~inside]
        rows_w.append(np.repeat(ow, BLOCK))
        rows_r.append(_ranges(bk.row0[ob], np.full(ob.shape[0], BLOCK, i64)))
    wi = np.concatenate(rows_w)
    r = np.concatenate(rows_r)
    st = np.maximum(ri.start[r], w_start[wi])
    ov = np.minimum(ri.end[r], w_end[wi]) - st
    keep = ov > 0
    return (np.concatenate([*parts_w, wi[keep]]), np.concatenate([*parts_g, ri.gor[r[keep]]]),
            np.concatenate([*parts_o, ov[keep]]), np.concatenate([*parts_s, st[keep]]))
