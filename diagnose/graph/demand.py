"""Demand on the Ps: who used the processors while woken goroutines waited for one.

Starvation has two shapes. One hog (a goroutine that runs >= 10 ms without blocking) takes a
P for whole time slices; or many short bursts -- request handlers that each run a
millisecond -- add up to more than GOMAXPROCS can serve, and no goroutine ever runs long.
Both leave woken goroutines runnable. This module answers, over the windows in which woken
goroutines waited for a P (the graph's held-P windows), which kind of goroutine held the Ps:
hogs, short user bursts, or the runtime (GC workers) -- and, per goroutine group, its share
of the P time and its longest run.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..timeline.columns import G_RUNNABLE, G_RUNNING
from ..timeline.grouping import unique

MAX_GROUPS = 8


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


def p_demand(cg, capacity_ns: float) -> PDemand:
    """Demand on the Ps from the graph's held-P windows (see module docstring)."""
    tl = cg.tl
    d = PDemand()
    dur = max(tl.duration_ns, 1)
    rn = (tl.iv_state == G_RUNNABLE) & ~tl.iv_open
    run_total = float(tl.iv_dur[rn].sum())
    d.runnable_mean = round(run_total / dur, 6)
    procs = capacity_ns / dur if capacity_ns > 0 else max(int(tl.procs.shape[0]), 1)
    d.runnable_per_p = round(d.runnable_mean / max(procs, 1e-9), 6)
    hp = cg.held
    ngor = tl.gor_id.shape[0]
    held_by = np.bincount(tl.gor_index(hp.g), weights=hp.overlap, minlength=ngor).astype(np.float64)
    tot = float(held_by.sum())
    hog_g = np.zeros(ngor, bool)
    hog = cg.hog_mask
    if hog.any():
        hog_g[tl.iv_gor[hog]] = True
    system = tl.gor_is_system
    if tot > 0:
        d.hog_share = round(float(held_by[hog_g].sum()) / tot, 6)
        d.runtime_share = round(float(held_by[system & ~hog_g].sum()) / tot, 6)
        d.burst_share = round(max(0.0, 1.0 - d.hog_share - d.runtime_share), 6)
        best = max((d.hog_share, "hog"), (d.burst_share, "bursts"), (d.runtime_share, "runtime"))
        d.source = best[1]
    # per goroutine group: share of P time, share of held time, longest run
    run = tl.iv_state == G_RUNNING
    gi = tl.iv_gor[run]
    run_ns = np.bincount(gi, weights=tl.iv_dur[run].astype(np.float64), minlength=ngor)
    runs = np.bincount(gi, minlength=ngor)
    longest = np.zeros(ngor, np.int64)
    if tl.burst_id.shape[0]:
        np.maximum.at(longest, gi, tl.burst_run_ns[tl.burst_id[run]])
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
