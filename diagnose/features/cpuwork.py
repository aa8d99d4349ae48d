"""CPU work that is neither I/O nor GC: `f.scheduling.quiet_cpu_share`.

A starvation rule has to tell three kinds of busy Ps apart, because GC marking, a syscall storm
and CPU-bound user code all make woken goroutines wait for a P. Who held the Ps
(`p_demand.hog_share`: goroutines with runs of >= 10 ms) does not do it alone:

* a GC-heavy goroutine's long runs are mostly mark assists (a producer allocating 200 MB/s);
* a storm's writers look like hogs in Go <= 1.21 traces, whose non-blocking syscalls end no run,
  and a duty-cycled hog's 7 ms bursts look like short user bursts;
* the process-wide `gc.mark_assist_share` is high when *other* goroutines (handlers that
  allocate) assist, although the hogs beside them never do.

This measures the one thing only CPU work does: a goroutine that runs a large share of the P
capacity while making (almost) no syscalls, less its own time in mark assists. Per user
goroutine: running time minus its mark-assist running time; counted when it made at most
QUIET_SYSCALLS_PER_MS syscalls per ms of running time (a storm's writers make hundreds, a hog
none) and its net running time is at least MIN_GOROUTINE_SHARE of the P capacity
(∫GOMAXPROCS dt; small goroutines such as HTTP/2 handlers that only hand frames to a writer
are not CPU work worth naming). `quiet_cpu_share` = their sum / the P capacity.
"""
from __future__ import annotations

import numpy as np

from ..timeline import analysis as A
from ..timeline.columns import G_RUNNING, G_SYSCALL
from ..timeline.timeline import Timelines

#: a goroutine counts when its own CPU work is at least this share of the P capacity
MIN_GOROUTINE_SHARE = 0.05
#: at most this many syscalls per ms of running time: CPU work, not I/O
QUIET_SYSCALLS_PER_MS = 0.1


def quiet_cpu_share(tl: Timelines, cap_ns: float, assists: tuple[np.ndarray, np.ndarray, np.ndarray]) -> float:
    """Share of the P capacity `cap_ns` that user goroutines making (almost) no syscalls spent
    running outside mark assists (module docstring). `assists`: the goroutine-scoped mark-assist
    ranges as (goroutine index, start, end) (compute._assist_queries)."""
    ng = tl.gor_id.shape[0]
    if cap_ns <= 0 or ng == 0:
        return 0.0
    # per goroutine, from the state tables (integer sums: the same values as a float64 bincount
    # of the running intervals' lengths, exact far below 2^53 ns)
    run_ns = tl.gor_state_ns[:, G_RUNNING].astype(np.float64)
    n_sys = tl.gor_state_counts[:, G_SYSCALL]
    floor = MIN_GOROUTINE_SHARE * cap_ns
    cand = ~tl.gor_is_system & (run_ns >= floor) & (n_sys <= QUIET_SYSCALLS_PER_MS * run_ns / 1e6)
    if not cand.any():
        return 0.0
    net = run_ns - _assist_running_by_goroutine(tl, cand, assists)
    keep = cand & (net >= floor)
    return round(min(1.0, float(net[keep].sum()) / cap_ns), 6)


def _assist_running_by_goroutine(tl: Timelines, cand: np.ndarray,
                                 assists: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Per goroutine (only `cand` ones filled), running time inside its own mark-assist ranges:
    the candidates' Running intervals, each goroutine on its own stretch of a virtual time axis,
    covered by their assist ranges (an assist range also spans time parked waiting for work)."""
    ng = tl.gor_id.shape[0]
    out = np.zeros(ng, dtype=np.float64)
    gi, s, e = assists
    mine = cand[gi] if gi.shape[0] else np.zeros(0, dtype=bool)
    if not mine.any():
        return out
    span = tl.duration_ns + 1
    sel = (tl.iv_state == G_RUNNING) & cand[tl.iv_gor]
    base = tl.iv_gor[sel] * span - tl.t0
    cover = A.coverage(tl.iv_start[sel] + base, tl.iv_end[sel] + base)
    gi, s, e = gi[mine], s[mine], e[mine]
    b = gi * span - tl.t0
    np.add.at(out, gi, cover(s + b, e + b))
    return out
