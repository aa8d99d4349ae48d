"""Vectorised analyses over timelines, shared by the causal graph and the features.

* `network_waits`: every wait in the netpoller (Waiting with reason "network"), who woke it,
  and the wake-to-run delay that followed;
* `held_p_pairs`: for each post-wake window, which Running intervals occupied the Ps;
* `syscalls`: every syscall interval with its caller classification and whether the P was lost;
* `ranges`: GC, stop-the-world, mark assist and other ranges paired begin/end;
* `connections`: connection identities inferred from serving goroutines.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import compiled
from .columns import (G_NOTEXIST, G_RUNNABLE, G_RUNNING, G_SYSCALL, G_UNDETERMINED, G_WAITING, K_RANGE_ACTIVE,
                      K_RANGE_BEGIN, K_RANGE_END, R_GOROUTINE)
from . import heldblocks, heldtotals
from .grouping import run_starts, stable_argsort, unique
from .stacks import CC_RAW_USER, FAM_ACCEPT, FAM_CLOSE, FAM_READ, FAM_WRITE, SIDE_OTHER
from .timeline import Timelines

try:  # optional compiled scans (setup.py builds them when a C compiler is present)
    from . import _fastscan  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - exercised by installs without a compiler
    _fastscan = None


def scan_kernel():
    """The compiled scans module, or None when not built or NETPOLL_DIAGNOSE_PURE is set
    (the numpy code below is the reference; tests compare the two)."""
    return compiled(_fastscan)

WAKER_NETPOLLER, WAKER_TIMER, WAKER_RUNTIME = -2, -3, -4
WAKER_NAMES = {WAKER_NETPOLLER: "netpoller", WAKER_TIMER: "timer", WAKER_RUNTIME: "runtime"}


@dataclass
class NetWaits:
    iv: np.ndarray          # interval index of each wait
    g: np.ndarray
    start: np.ndarray       # ns, trace clock
    end: np.ndarray         # wake time (trace end when open)
    open: np.ndarray        # never ended within the trace
    dur: np.ndarray         # ns (to wake, or to trace end when open)
    stk: np.ndarray         # blocking stack id
    side: np.ndarray        # stacks.SIDE_* code
    waker: np.ndarray       # goroutine id, or WAKER_NETPOLLER/WAKER_TIMER/WAKER_RUNTIME; 0 when open
    waker_stk: np.ndarray   # waker's stack (0 none)
    runnable_iv: np.ndarray  # the Runnable interval after the wake (-1 none)
    run_start: np.ndarray   # when it ran again (-1 unknown)
    wake_to_run: np.ndarray  # ns, -1 unknown (never ran again within the trace)

    def __len__(self) -> int:
        return int(self.iv.shape[0])


def network_waits(tl: Timelines) -> NetWaits:
    nid = tl.network_reason_id()
    if nid < 0:
        m = np.zeros(tl.iv_g.shape[0], dtype=bool)
    else:
        m = (tl.iv_state == G_WAITING) & (tl.iv_reason == nid)
    iv = np.nonzero(m)[0]
    open_ = tl.iv_open[iv]
    stk = tl.iv_stk[iv]
    side = tl.stacks.wait_side[stk] if iv.shape[0] else np.zeros(0, np.int8)
    eg = tl.iv_end_g[iv]
    waker = np.where(open_, 0, np.where(eg >= 0, eg, WAKER_NETPOLLER))
    nxt = tl.iv_next[iv]
    has_next = (nxt >= 0) & ~open_
    nxtc = np.maximum(nxt, 0)
    runnable = has_next & (tl.iv_state[nxtc] == G_RUNNABLE)
    r_iv = np.where(runnable, nxtc, -1)
    r_ok = runnable & ~tl.iv_open[nxtc] & (tl.iv_state[np.maximum(tl.iv_next[nxtc], 0)] == G_RUNNING)
    run_start = np.where(r_ok, tl.iv_end[nxtc], -1)
    w2r = np.where(r_ok, tl.iv_end[nxtc] - tl.iv_start[nxtc], -1)
    return NetWaits(iv=iv, g=tl.iv_g[iv], start=tl.iv_start[iv], end=tl.iv_end[iv], open=open_,
                    dur=tl.iv_end[iv] - tl.iv_start[iv], stk=stk, side=side, waker=waker,
                    waker_stk=np.where(open_, 0, tl.iv_end_stk[iv]), runnable_iv=r_iv, run_start=run_start,
                    wake_to_run=w2r)


@dataclass
class HeldPairs:
    """(window, running interval) overlaps: who held a P while a woken goroutine waited."""

    window: np.ndarray   # index into the windows given
    run_iv: np.ndarray   # Running interval index
    overlap: np.ndarray  # ns


def held_p_pairs(tl: Timelines, w_start: np.ndarray, w_end: np.ndarray) -> HeldPairs:
    """All Running intervals overlapping each window [w_start, w_end) (per P: searchsorted)."""
    ri = tl.run_index
    if ri.run.shape[0] == 0 or w_start.shape[0] == 0:
        z = np.zeros(0, np.int64)
        return HeldPairs(z, z, z)
    out_w, out_pos = [], []
    for a, b in ri.segments():
        # on one P, Running intervals do not overlap: ends are sorted as starts are
        lo = np.searchsorted(ri.end_max[a:b], w_start, side="right")
        hi = np.searchsorted(ri.start[a:b], w_end, side="left")
        cnt = np.maximum(hi - lo, 0)
        tot = int(cnt.sum())
        if tot == 0:
            continue
        wi = np.repeat(np.arange(w_start.shape[0]), cnt)
        base = np.repeat(a + lo - np.concatenate(([0], np.cumsum(cnt)[:-1])), cnt)
        out_w.append(wi)
        out_pos.append(base + np.arange(tot))  # rows of the run index
    if not out_w:
        z = np.zeros(0, np.int64)
        return HeldPairs(z, z, z)
    wi = np.concatenate(out_w)
    pos = np.concatenate(out_pos)
    # the run index's own start/end columns, not a gather from every interval's
    ov = np.minimum(ri.end[pos], w_end[wi]) - np.maximum(ri.start[pos], w_start[wi])
    keep = ov > 0
    return HeldPairs(wi[keep], ri.run[pos[keep]], ov[keep])


@dataclass
class HeldByGoroutine:
    """Per (window, goroutine that ran meanwhile): the summed overlap -- `held_p_pairs`
    reduced, computed in bounded batches (a long window can overlap thousands of short runs)."""

    window: np.ndarray   # index into the windows given
    g: np.ndarray        # goroutine id that ran
    overlap: np.ndarray  # ns, summed over its running intervals inside the window
    first: np.ndarray    # ns, when it first ran inside the window


def held_pair_counts(tl: Timelines, w_start: np.ndarray, w_end: np.ndarray):
    """Per P: (running intervals in time order, first overlapping index per window, count) --
    the P's rows of `tl.run_index`, searched (`held_p_by_goroutine` takes them as `counts`)."""
    ri = tl.run_index
    segs, los, cnts = [], [], []
    # searched in time order (numpy's binary search starts from the last hit: ~3x faster on
    # 200 k wake-ups than in the callers' order, which may be longest first), answers put back
    o_s, ws = _in_order(w_start)
    o_e, we = _in_order(w_end)
    fast = scan_kernel()
    if fast is not None:  # one merge walk per P (100 k preempted windows: 12 ms of searches -> ~2)
        i64 = np.int64
        lo2 = np.empty((ri.n_procs, ws.shape[0]), i64)
        hi2 = np.empty_like(lo2)
        fast.pair_counts(ri.end_max, ri.start, ri.segoff, np.ascontiguousarray(ws, i64),
                         np.ascontiguousarray(we, i64), lo2, hi2)
        for k, (a, b) in enumerate(ri.segments()):
            lo = _scatter(lo2[k], o_s)
            segs.append(ri.run[a:b])
            los.append(lo)
            cnts.append(np.maximum(_scatter(hi2[k], o_e) - lo, 0))
        return segs, los, cnts
    for a, b in ri.segments():
        lo = _scatter(np.searchsorted(ri.end_max[a:b], ws, side="right"), o_s)
        hi = _scatter(np.searchsorted(ri.start[a:b], we, side="left"), o_e)
        segs.append(ri.run[a:b])
        los.append(lo)
        cnts.append(np.maximum(hi - lo, 0))
    return segs, los, cnts


def _in_order(x: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """(the permutation that sorts x, or None when it is sorted already; x sorted)."""
    if x.shape[0] < 2 or bool((x[1:] >= x[:-1]).all()):
        return None, x
    o = np.argsort(x, kind="stable")
    return o, x[o]


def _scatter(v: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    """Answers for sorted queries, back in the queries' own order."""
    if order is None:
        return v
    out = np.empty_like(v)
    out[order] = v
    return out


def _pairs(tl: Timelines, w_start: np.ndarray, w_end: np.ndarray, a: int, b: int, segs, los, cnts):
    """(window, goroutine index, overlap, first start) of every (window, run) pair that overlaps,
    for windows a..b-1: the plain way, what the block summaries (heldblocks.py) must equal."""
    wi_parts, ri_parts = [], []
    for seg, lo, cnt in zip(segs, los, cnts):
        c = cnt[a:b]
        tot = int(c.sum())
        if tot == 0:
            continue
        wi_parts.append(np.repeat(np.arange(a, b), c))
        base = np.repeat(lo[a:b] - np.concatenate(([0], np.cumsum(c)[:-1])), c)
        ri_parts.append(seg[base + np.arange(tot)])
    if not wi_parts:
        z = np.zeros(0, np.int64)
        return z, z, z, z
    wi = np.concatenate(wi_parts)
    ri = np.concatenate(ri_parts)
    st = np.maximum(tl.iv_start[ri], w_start[wi])
    ov = np.minimum(tl.iv_end[ri], w_end[wi]) - st
    keep = ov > 0
    return wi[keep], tl.iv_gor[ri[keep]], ov[keep], st[keep]


def held_p_by_goroutine(tl: Timelines, w_start: np.ndarray, w_end: np.ndarray,
                        batch_pairs: int = 500_000, counts=None, blocks_allowed: bool = True) -> HeldByGoroutine:
    """Per (window [w_start, w_end), goroutine that ran on a P meanwhile): the summed overlap and
    the first start, sorted by window then goroutine index. Compiled (`_fastscan.held_reduce`)
    when built; else numpy, with block summaries (heldblocks.py) when windows overlap many runs
    each (`blocks_allowed=False`: every pair, the plain reference), in batches of windows
    holding about `batch_pairs` pairs (~75 bytes each while a batch is summed: 500 k pairs keep
    the pure-Python fallback's busy 7 MB window at 477 MiB, 2 M took it to 581)."""
    run = tl.run_iv
    z = np.zeros(0, np.int64)
    if run.shape[0] == 0 or w_start.shape[0] == 0:
        return HeldByGoroutine(z, z, z, z)
    segs, los, cnts = counts if counts is not None else held_pair_counts(tl, w_start, w_end)
    fast = scan_kernel()
    if fast is not None:
        return _held_by_goroutine_compiled(fast, tl, w_start, w_end, segs, los, cnts)
    per_window = np.sum(cnts, axis=0)
    cum = np.cumsum(per_window)
    # batches of windows holding about batch_pairs pairs each
    cuts = np.searchsorted(cum, np.arange(batch_pairs, int(cum[-1]) + batch_pairs, batch_pairs), side="right")
    edges = unique(np.concatenate(([0], cuts, [w_start.shape[0]])))
    ngor = tl.gor_id.shape[0]
    rix = tl.run_index
    # whole blocks of runs at a time once windows overlap a quarter of the runs in all (building
    # the summaries costs about as much as visiting a run; a short window's rows are visited
    # one by one either way)
    blocks = None
    if blocks_allowed and rix.run.shape[0] >= 4 * heldblocks.BLOCK and int(cum[-1]) > rix.run.shape[0] // 4:
        blocks = tl.__dict__.get("_run_blocks_np")
        if blocks is None:
            blocks = tl.__dict__["_run_blocks_np"] = heldblocks.build(rix, int(ngor))
    out_w, out_g, out_o, out_f = [], [], [], []
    for a, b in zip(edges[:-1].tolist(), edges[1:].tolist()):
        if b <= a:
            continue
        if blocks is not None:
            wi, gi, ov, st = heldblocks.pieces(rix, blocks, w_start, w_end, np.arange(a, b), los, cnts)
        else:
            wi, gi, ov, st = _pairs(tl, w_start, w_end, a, b, segs, los, cnts)
        if wi.shape[0] == 0:
            continue
        code = wi.astype(np.int64) * ngor + gi
        # per (window, goroutine): summed overlap and first start, over the pairs grouped by code
        perm = stable_argsort(code)
        code = code[perm]
        head = np.flatnonzero(run_starts(code))
        uk = code[head]
        out_w.append(uk // ngor)
        out_g.append(tl.gor_id[uk % ngor])
        out_o.append(np.add.reduceat(ov[perm].astype(np.int64), head))
        out_f.append(np.minimum.reduceat(st[perm].astype(np.int64), head))
    if not out_w:
        return HeldByGoroutine(z, z, z, z)
    return HeldByGoroutine(np.concatenate(out_w), np.concatenate(out_g), np.concatenate(out_o),
                           np.concatenate(out_f))


def held_p_totals(tl: Timelines, w_start: np.ndarray, w_end: np.ndarray, counts=None) -> np.ndarray:
    """Per goroutine index: the time its running intervals overlapped the windows [w_start,
    w_end), summed over the windows (float64 ns) -- `held_p_by_goroutine`'s overlaps summed per
    goroutine, all the demand on the Ps asks of them, without a pass over the (window, run)
    pairs (heldtotals.py; compiled: `_fastscan.held_totals`, the same sums in one pass). `counts`:
    `held_pair_counts` of these windows, when the caller has them. Runs that overlap on a P (not
    in a valid trace) are summed from the pairs."""
    ngor = tl.gor_id.shape[0]
    if tl.run_iv.shape[0] == 0 or w_start.shape[0] == 0:
        return np.zeros(ngor, np.float64)
    segs, los, cnts = counts if counts is not None else held_pair_counts(tl, w_start, w_end)
    if heldtotals.runs_disjoint(tl):
        fast = scan_kernel()
        if fast is None:
            return heldtotals.per_goroutine(tl.run_index, ngor, w_start, w_end, los, cnts)
        i64 = np.int64
        ri = tl.run_index
        lo = np.ascontiguousarray(np.stack(los).astype(i64, copy=False) if los else np.zeros((0, w_start.shape[0]), i64))
        cnt = np.ascontiguousarray(np.stack(cnts).astype(i64, copy=False) if cnts
                                   else np.zeros((0, w_start.shape[0]), i64))
        got = fast.held_totals(ri.start, ri.end, ri.gor, ri.segoff, lo, cnt, np.ascontiguousarray(w_start, i64),
                               np.ascontiguousarray(w_end, i64), int(ngor))
        return np.frombuffer(got, np.float64).copy()
    hp = held_p_by_goroutine(tl, w_start, w_end, counts=(segs, los, cnts))
    return np.bincount(tl.gor_index(hp.g), weights=hp.overlap, minlength=ngor).astype(np.float64)


def _held_by_goroutine_compiled(fast, tl: Timelines, w_start: np.ndarray, w_end: np.ndarray,
                                segs, los, cnts) -> HeldByGoroutine:
    """`held_p_by_goroutine` in one compiled pass (diagnose/timeline/_fastscan.c): the pairs are
    summed per goroutine as they are visited instead of materialised and sorted. `segs` are the
    P groups of `tl.run_index` (held_pair_counts), whose flat arrays the pass reads directly."""
    i64 = np.int64
    ri = tl.run_index
    assert len(segs) == ri.n_procs
    nw = w_start.shape[0]
    lo = np.ascontiguousarray(np.stack(los).astype(i64) if los else np.zeros((0, nw), i64))
    cnt = np.ascontiguousarray(np.stack(cnts).astype(i64) if cnts else np.zeros((0, nw), i64))
    w, g, o, f = fast.held_reduce(ri.start, ri.end, ri.gor, ri.segoff, lo, cnt, np.ascontiguousarray(w_start, i64),
                                  np.ascontiguousarray(w_end, i64), int(tl.gor_id.shape[0]), tl.run_blocks())
    w, g, o, f = (np.frombuffer(x, i64).copy() for x in (w, g, o, f))
    return HeldByGoroutine(w, tl.gor_id[g], o, f)


def coverage(starts: np.ndarray, ends: np.ndarray):
    """Union of intervals as a function: returns covered(a, b) -> ns covered within [a, b]."""
    if starts.shape[0] == 0:
        return lambda a, b: np.zeros(np.shape(a), dtype=np.int64)
    o = stable_argsort(starts)
    s, e = starts[o], ends[o]
    e = np.maximum.accumulate(e)
    new = np.ones(s.shape[0], dtype=bool)
    new[1:] = s[1:] > e[:-1]
    grp = np.cumsum(new) - 1
    us = s[new]
    ue = np.zeros(us.shape[0], dtype=np.int64)
    np.maximum.at(ue, grp, e)
    cum = np.concatenate(([0], np.cumsum(ue - us)))

    def covered_upto(t):
        t = np.asarray(t)
        k = np.searchsorted(us, t, side="right")  # intervals starting <= t
        km = np.maximum(k - 1, 0)
        part = np.where(k > 0, np.clip(t - us[km], 0, ue[km] - us[km]), 0)
        return cum[km] * (k > 0) + part

    def covered(a, b):
        return covered_upto(b) - covered_upto(a)

    return covered


@dataclass
class Syscalls:
    iv: np.ndarray
    g: np.ndarray
    start: np.ndarray
    end: np.ndarray
    dur: np.ndarray
    open: np.ndarray
    stk: np.ndarray
    lost_p: np.ndarray  # ended Syscall->Runnable: the P was handed off or stolen
    p: np.ndarray
    m: np.ndarray
    cls: np.ndarray     # stacks.CC_* caller class
    fam: np.ndarray     # stacks.FAM_* family

    def __len__(self) -> int:
        return int(self.iv.shape[0])


#: the interval columns `syscalls` copies, and the dtypes the compiled pass takes them in
_SYSCALL_INS = (("iv_g", np.int64), ("iv_start", np.int64), ("iv_end", np.int64), ("iv_open", np.bool_),
                ("iv_stk", np.int32), ("iv_p", np.int64), ("iv_m", np.int64))


def syscalls(tl: Timelines) -> Syscalls:
    iv = np.nonzero((tl.iv_state == G_SYSCALL) & (tl.iv_from != G_UNDETERMINED))[0]
    fast = scan_kernel()
    st = tl.stacks
    if (fast is not None and iv.shape[0] and tl.iv_state.dtype == np.int8 and st.sys_class.dtype == np.int8
            and st.sys_family.dtype == np.int8
            and all(getattr(tl, a).dtype == d and getattr(tl, a).flags.c_contiguous for a, d in _SYSCALL_INS)):
        n = iv.shape[0]
        out = Syscalls(iv=iv, g=np.empty(n, np.int64), start=np.empty(n, np.int64), end=np.empty(n, np.int64),
                       dur=np.empty(n, np.int64), open=np.empty(n, bool), stk=np.empty(n, np.int32),
                       lost_p=np.empty(n, bool), p=np.empty(n, np.int64), m=np.empty(n, np.int64),
                       cls=np.empty(n, np.int8), fam=np.empty(n, np.int8))
        # one pass instead of a gather per column (a window holds ~400k syscalls)
        fast.syscalls_fill(iv, tl.iv_state, tl.iv_next, G_RUNNABLE, tuple(getattr(tl, a) for a, _ in _SYSCALL_INS),
                           np.ascontiguousarray(st.sys_class), np.ascontiguousarray(st.sys_family),
                           (out.g, out.start, out.end, out.dur, out.open, out.stk, out.lost_p, out.p, out.m, out.cls,
                            out.fam))
        return out
    nxt = tl.iv_next[iv]
    lost = (nxt >= 0) & (tl.iv_state[np.maximum(nxt, 0)] == G_RUNNABLE)
    stk = tl.iv_stk[iv]
    cls = st.sys_class[stk] if iv.shape[0] else np.zeros(0, np.int8)
    fam = st.sys_family[stk] if iv.shape[0] else np.zeros(0, np.int8)
    return Syscalls(iv=iv, g=tl.iv_g[iv], start=tl.iv_start[iv], end=tl.iv_end[iv],
                    dur=tl.iv_end[iv] - tl.iv_start[iv], open=tl.iv_open[iv], stk=stk, lost_p=lost,
                    p=tl.iv_p[iv], m=tl.iv_m[iv], cls=cls, fam=fam)


@dataclass
class Ranges:
    name: np.ndarray   # string id
    start: np.ndarray
    end: np.ndarray
    rk: np.ndarray
    rid: np.ndarray

    def named(self, cols, pred) -> np.ndarray:
        ok = np.array([pred(s) for s in cols.strings], dtype=bool)
        return ok[self.name] if self.name.shape[0] else np.zeros(0, dtype=bool)


def ranges(tl: Timelines) -> Ranges:
    """Pair RangeBegin/RangeActive/RangeEnd per (name, scope) (vectorised)."""
    c = tl.cols
    m = (c.kind == K_RANGE_BEGIN) | (c.kind == K_RANGE_ACTIVE) | (c.kind == K_RANGE_END)
    rows = np.nonzero(m)[0]
    if rows.shape[0] == 0:
        z = np.zeros(0, np.int64)
        return Ranges(z.astype(np.int32), z, z, z.astype(np.uint8), z)
    name, rk, rid = c.s1[rows], c.rk[rows], c.rid[rows]
    order = np.lexsort((rows, rid, rk, name))
    rows, name, rk, rid = rows[order], name[order], rk[order], rid[order]
    is_end = c.kind[rows] == K_RANGE_END
    newk = np.ones(rows.shape[0], dtype=bool)
    newk[1:] = (name[1:] != name[:-1]) | (rk[1:] != rk[:-1]) | (rid[1:] != rid[:-1])
    # drop Begin/Active rows that follow an open Begin/Active of the same key
    prev_open = np.zeros(rows.shape[0], dtype=bool)
    prev_open[1:] = ~is_end[:-1] & ~newk[1:]
    keep = is_end | ~prev_open
    rows, name, rk, rid, is_end, newk = rows[keep], name[keep], rk[keep], rid[keep], is_end[keep], None
    newk = np.ones(rows.shape[0], dtype=bool)
    newk[1:] = (name[1:] != name[:-1]) | (rk[1:] != rk[:-1]) | (rid[1:] != rid[:-1])
    t = c.t[rows]
    # begins: paired with the next row if it is an End of the same key
    b = np.nonzero(~is_end)[0]
    nb = b + 1
    has_end = (nb < rows.shape[0])
    nbc = np.minimum(nb, rows.shape[0] - 1)
    has_end &= is_end[nbc] & ~newk[nbc]
    b_end = np.where(has_end, t[nbc], tl.t_end)
    # ends without a begin (the range started before the trace)
    e = np.nonzero(is_end)[0]
    orphan = newk[e] | is_end[np.maximum(e - 1, 0)]
    orphan[e == 0] = True
    eo = e[orphan]
    return Ranges(name=np.concatenate((name[b], name[eo])), start=np.concatenate((t[b], np.full(eo.shape[0], tl.t0))),
                  end=np.concatenate((b_end, t[eo])), rk=np.concatenate((rk[b], rk[eo])),
                  rid=np.concatenate((rid[b], rid[eo])))


@dataclass
class Connections:
    """Connections inferred from goroutines that do connection I/O (no fd numbers in traces)."""

    goroutines: np.ndarray  # goroutine ids doing connection I/O
    conn_of: np.ndarray     # connection id (= id of its root serving goroutine) per entry above
    listeners: np.ndarray   # goroutines that only accept


def connections(tl: Timelines, nw: NetWaits | None = None) -> Connections:
    st = tl.stacks
    nw = nw if nw is not None else network_waits(tl)
    # goroutines with a connection-side network wait or conn I/O stack
    fast = scan_kernel()
    if fast is not None and tl.iv_stk.dtype == np.int32 and tl.iv_gor.dtype == np.int64:
        # which goroutines have a conn I/O stack: one pass, no per-interval gathers
        has = np.zeros(tl.gor_id.shape[0], dtype=bool)
        fast.gor_flagged(np.ascontiguousarray(tl.iv_stk), np.ascontiguousarray(tl.iv_gor),
                         np.ascontiguousarray(st.net_conn_io, dtype=bool), has)
        io_g = tl.gor_id[has]
    else:
        io_iv = st.net_conn_io[tl.iv_stk] if tl.iv_stk.shape[0] else np.zeros(0, bool)
        io_g = tl.iv_g[io_iv]
    g_io = unique(np.concatenate((io_g, nw.g[nw.side != 3])))
    g_acc = unique(nw.g[nw.side == 3])
    listeners = np.setdiff1d(g_acc, g_io)
    if g_io.shape[0] == 0:
        z = np.zeros(0, np.int64)
        return Connections(z, z, listeners)
    creator = tl.gor_creator[tl.gor_index(g_io)]
    root = g_io.copy()
    # merge a conn goroutine into its creator when the creator is itself a conn goroutine
    pos = {int(g): i for i, g in enumerate(g_io.tolist())}
    parent = [pos.get(int(c), -1) for c in creator.tolist()]
    for i in range(len(parent)):
        j, hops = i, 0
        while parent[j] >= 0 and parent[j] != j and hops < 16:
            j = parent[j]
            hops += 1
        root[i] = g_io[j]
    return Connections(g_io, root, listeners)


# ----------------------------------------------------------------------------- helpers
def is_user_io_close(tl: Timelines, sc: Syscalls) -> tuple[np.ndarray, np.ndarray]:
    """(raw user close mask, finalizer close mask) over syscalls."""
    st = tl.stacks
    close = sc.fam == FAM_CLOSE
    raw = close & (sc.cls == CC_RAW_USER)
    fin = np.zeros(close.shape[0], dtype=bool)
    closes = np.flatnonzero(close)  # the stack lookup for the closes only
    fin[closes] = st.is_finalizer[sc.stk[closes]]
    # ... or made on the finalizer goroutine: looked up for the closes only (a window holds
    # ~400k syscalls, rarely more than a few hundred closes)
    ci = np.flatnonzero(close & ~fin)
    if ci.shape[0]:
        names = tl.gor_name
        gi = tl.iv_gor[sc.iv[ci]]
        fin[ci[np.array([names[g] in FINALIZER_GOROUTINES for g in gi.tolist()], dtype=bool)]] = True
    return raw, fin


#: the goroutines that run finalizers (the name changed in Go 1.25)
FINALIZER_GOROUTINES = ("runtime.runfinq", "runtime.runFinalizers")


RAW_IO_FAMS = (FAM_READ, FAM_WRITE, FAM_ACCEPT)
__all__ = ["NetWaits", "network_waits", "HeldPairs", "held_p_pairs", "HeldByGoroutine", "held_p_by_goroutine", "held_p_totals", "coverage", "Syscalls", "syscalls", "Ranges",
           "ranges", "Connections", "connections", "WAKER_NAMES", "WAKER_NETPOLLER", "WAKER_TIMER", "WAKER_RUNTIME",
           "SIDE_OTHER", "G_NOTEXIST", "R_GOROUTINE"]
