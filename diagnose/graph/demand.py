"""Demand on the Ps: who used the processors while woken goroutines waited for one.

Starvation has two shapes. One hog (a goroutine that runs >= 10 ms without blocking) takes a
P for whole time slices; or many short bursts -- request handlers that each run a
millisecond -- add up to more than GOMAXPROCS can serve, and no goroutine ever runs long.
Both leave woken goroutines runnable. This module answers, over the windows in which woken
goroutines waited for a P (the graph's held-P windows), which kind of goroutine held the Ps:
hogs, short user bursts, or the runtime (GC workers) -- and, per goroutine group, its share
of the P time and its longest run.

A third shape hides from those windows: handlers that never block. A render that outlasts
the 10 ms time slice, or a handler so late that it renders its next message at once, is
*preempted* and waits in the run queue -- Running -> Runnable -> Running, no wake-up at all
(and a timer-paced goroutine at GOMAXPROCS=1 is woken only when the P gets round to its
timers, so its delay is not a runnable wait either). The preempted windows are measured
apart (`preempted_*`): who held the Ps while preempted goroutines waited to run again.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..timeline import analysis as A
from ..timeline.columns import G_RUNNABLE, G_RUNNING
from .fast import graph_kernel

MAX_GROUPS = 8
#: preempted windows are measured longest first, up to this many (window, running interval)
#: pairs (a saturated P overlaps many short runs per window; the longest windows matter)
PREEMPT_PAIR_BUDGET = 2_000_000


@dataclass
class GroupDemand:
    group: str
    goroutines: int
    p_share: float          # running time / P capacity (GOMAXPROCS x duration)
    held_share: float       # share of the post-wake-up runnable time it held a P
    longest_run_ms: float
    runs: int


@dataclass
class PDemand:
    runnable_mean: float = 0.0      # goroutines runnable on average (runnable ns / duration)
    runnable_per_p: float = 0.0     # ... per P of GOMAXPROCS
    hog_share: float = 0.0          # of the held time: hog goroutines
    burst_share: float = 0.0        # ... user goroutines in runs < 10 ms
    runtime_share: float = 0.0      # ... runtime goroutines (GC workers, sweeper)
    source: str = "none"            # 'hog', 'bursts', 'runtime' or 'none'
    groups: list[GroupDemand] = field(default_factory=list)
    preempted_waits: int = 0        # Running -> Runnable -> Running windows (preemption, Gosched)
    preempted_wait_ms: float = 0.0  # ... their summed length
    preempted_user_share: float = 0.0  # of their held time: user goroutines (hogs or bursts)
    top_holder_share: float = 0.0   # of the held time: the one goroutine that held the most


def preempted_windows(tl) -> np.ndarray:
    """Runnable intervals entered from Running (preempted, or a Gosched) that end in Running:
    a goroutine that did not block, waiting for a P to run again."""
    st = tl.iv_state
    pv, nx = tl.iv_prev, tl.iv_next
    m = (st == G_RUNNABLE) & ~tl.iv_open & (pv >= 0) & (nx >= 0)
    m &= st[np.maximum(pv, 0)] == G_RUNNING
    m &= st[np.maximum(nx, 0)] == G_RUNNING
    return np.nonzero(m)[0]


@dataclass
class _Scan:
    """The per-interval facts p_demand needs, from one pass (compiled) or numpy (reference)."""

    runnable_ns: int        # summed length of the ended Runnable intervals
    run_ns: np.ndarray      # per goroutine index: running ns (float64, bincount's sums)
    runs: np.ndarray        # ... Running intervals
    longest: np.ndarray     # ... longest run burst (int64)
    preempted: np.ndarray   # `preempted_windows`


def _scan(tl) -> _Scan:
    ngor = tl.gor_id.shape[0]
    fast = graph_kernel()
    if fast is not None:
        i64 = np.int64
        rn, run_ns, runs, longest, pre = fast.demand_scan(
            tl.iv_state, tl.iv_open, np.ascontiguousarray(tl.iv_dur, i64), np.ascontiguousarray(tl.iv_gor, i64),
            tl.iv_prev, tl.iv_next, np.ascontiguousarray(tl.burst_id, i64), np.ascontiguousarray(tl.burst_run_ns, i64),
            ngor, G_RUNNABLE, G_RUNNING)
        return _Scan(rn, np.frombuffer(run_ns, np.float64), np.frombuffer(runs, i64), np.frombuffer(longest, i64),
                     np.frombuffer(pre, i64))
    rn = (tl.iv_state == G_RUNNABLE) & ~tl.iv_open
    run = tl.iv_state == G_RUNNING
    gi = tl.iv_gor[run]
    run_ns = np.bincount(gi, weights=tl.iv_dur[run].astype(np.float64), minlength=ngor)
    runs = np.bincount(gi, minlength=ngor)
    longest = np.zeros(ngor, np.int64)
    if tl.burst_id.shape[0]:
        np.maximum.at(longest, gi, tl.burst_run_ns[tl.burst_id[run]])
    return _Scan(int(tl.iv_dur[rn].sum()), run_ns, runs, longest, preempted_windows(tl))


def _preempted_demand(tl, d: PDemand, hog_g: np.ndarray, system: np.ndarray, w: np.ndarray) -> None:
    """Fill d.preempted_*: over preempted windows `w` (longest first, within
    PREEMPT_PAIR_BUDGET), the share of the held time user goroutines (not runtime ones) held
    the Ps."""
    d.preempted_waits = int(w.shape[0])
    if w.shape[0] == 0 or tl.run_iv.shape[0] == 0:
        return
    dur = tl.iv_dur[w]
    d.preempted_wait_ms = round(float(dur.sum()) / 1e6, 6)
    w = w[np.argsort(-dur, kind="stable")]
    counts = A.held_pair_counts(tl, tl.iv_start[w], tl.iv_end[w])
    per = np.sum(counts[2], axis=0)
    n = max(int(np.searchsorted(np.cumsum(per), PREEMPT_PAIR_BUDGET, side="right")), 1)
    counts = (counts[0], [x[:n] for x in counts[1]], [x[:n] for x in counts[2]])
    held_by = A.held_p_totals(tl, tl.iv_start[w[:n]], tl.iv_end[w[:n]], counts=counts)
    tot = float(held_by.sum())
    if tot > 0:
        d.preempted_user_share = round(float(held_by[hog_g | ~system].sum()) / tot, 6)


def p_demand(cg, capacity_ns: float) -> PDemand:
    """Demand on the Ps from the graph's held-P windows (see module docstring)."""
    tl = cg.tl
    d = PDemand()
    dur = max(tl.duration_ns, 1)
    sc = _scan(tl)
    run_total = float(sc.runnable_ns)
    d.runnable_mean = round(run_total / dur, 6)
    procs = capacity_ns / dur if capacity_ns > 0 else max(int(tl.procs.shape[0]), 1)
    d.runnable_per_p = round(d.runnable_mean / max(procs, 1e-9), 6)
    ngor = tl.gor_id.shape[0]
    held_by = cg.held_totals  # per goroutine index
    tot = float(held_by.sum())
    hog_g = np.zeros(ngor, bool)
    hog = cg.hog_mask
    if hog.any():
        hog_g[tl.iv_gor[hog]] = True
    system = tl.gor_is_system
    _preempted_demand(tl, d, hog_g, system, sc.preempted)
    if tot > 0:
        # one goroutine runs on one P at a time: a single holder of most of the held time left the
        # other Ps free while the woken goroutines waited
        d.top_holder_share = round(float(held_by.max()) / tot, 6)
        d.hog_share = round(float(held_by[hog_g].sum()) / tot, 6)
        d.runtime_share = round(float(held_by[system & ~hog_g].sum()) / tot, 6)
        d.burst_share = round(max(0.0, 1.0 - d.hog_share - d.runtime_share), 6)
        best = max((d.hog_share, "hog"), (d.burst_share, "bursts"), (d.runtime_share, "runtime"))
        d.source = best[1]
    # per goroutine group: share of P time, share of held time, longest run
    run_ns, runs, longest = sc.run_ns, sc.runs, sc.longest
    names = tl.gor_name
    groups: dict[str, list] = {}
    for i in np.nonzero(run_ns > 0)[0].tolist():
        a = groups.setdefault(names[i] or "<unknown>", [0, 0.0, 0.0, 0, 0])
        a[0] += 1
        a[1] += run_ns[i]
        a[2] += held_by[i]
        a[3] = max(a[3], int(longest[i]))
        a[4] += int(runs[i])
    cap = capacity_ns if capacity_ns > 0 else dur
    for name, (n, r, h, lg, k) in sorted(groups.items(), key=lambda x: -x[1][1])[:MAX_GROUPS]:
        d.groups.append(GroupDemand(group=name, goroutines=n, p_share=round(r / cap, 6),
                                    held_share=round(h / tot, 6) if tot > 0 else 0.0,
                                    longest_run_ms=round(lg / 1e6, 6), runs=k))
    return d
