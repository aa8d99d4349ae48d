"""Timer wake-ups that came late because every P was busy (`f.scheduling.timer_wakes`).

A goroutine paced by a timer (`time.Sleep`, a `Ticker`, a `select` with `time.After`) is
made runnable when a P runs its timers, and a P runs timers only in the scheduler: when the
goroutine it runs blocks, exits or is preempted. While every P runs other goroutines an
expired timer waits, and the sleeper is woken late -- but it is not *runnable* meanwhile, so
the wake-to-run features (`wake_to_run_*`, `p_demand`) see nothing: the delay is inside its
Waiting interval. At GOMAXPROCS=1 with handlers burning a few ms each, this is most of what
clients see (issue 12: low starvation doses).

The trace does not carry a timer's due time, but it shows where a timer wake-up happened. A
P that was idle wakes for a timer when it is due (an idle P's scheduler sleeps until the
earliest timer of any P, or steals it); so a timer wake-up that comes at the end of a stretch
during which *every* P ran goroutines without a break was due somewhere in that stretch, and
the stretch bounds how late it was. Per timer wake-up this module measures that stretch (the
shortest of the Ps' busy stretches ending at the wake-up: a P idle at the time could have run
the timer). A wake-up after >= LATE_NS of all-busy Ps counts as late.

Timer wake-ups here: Waiting intervals of user goroutines that ended with a wake-up by no
goroutine (the waker column is -1: timers, netpoller, runtime) and whose reason is one a
timer ends ("sleep", "select", "chan receive": a Ticker's or time.After's channel is sent to
by the timer itself). The same reasons woken by a goroutine (a channel send) are not timers.
Go <= 1.21 traces (converted) carry the same reasons and wakers.
"""
from __future__ import annotations

import numpy as np

from ..graph import chains as C
from ..timeline import analysis as A
from ..timeline.columns import G_WAITING
from ..timeline.timeline import Timelines, ffill_index
from .kernel import feat_kernel
from .model import Distribution, Evidence, TimerWakes

#: wait reasons a timer ends (Go's waitReason strings, also those the old formats convert to)
TIMER_REASONS = ("sleep", "select", "chan receive")
#: a timer wake-up after at least this much time with every P busy is late
LATE_NS = 1_000_000
#: two runs on one P this close together are one busy stretch (a goroutine switch takes µs;
#: an idle P that wakes for a timer has been idle far longer)
SWITCH_GAP_NS = 50_000
MAX_EVIDENCE = 3


def timer_wakes(ctx, dist) -> TimerWakes:
    """`f.scheduling.timer_wakes` for the extraction context `ctx` (compute._Ctx); `dist`
    turns ns durations into a Distribution."""
    tl: Timelines = ctx.tl
    f = TimerWakes()
    w = _timer_wake_intervals(tl)
    f.count = int(w.shape[0])
    if f.count == 0:
        return f
    t = tl.iv_end[w]
    fast = feat_kernel()
    if fast is not None:  # the busy stretches and the late windows' held-P shares in one pass
        busy, tot, user = late_timers_compiled(fast, tl, t, LATE_NS)
    else:
        busy = all_busy_before(tl, ctx.cg.run_by_p, t)
    late = busy >= LATE_NS
    f.late = int(late.sum())
    f.late_share = round(f.late / f.count, 6)
    if not f.late:
        return f
    lw, lt, lb = w[late], t[late], busy[late]
    f.late_ms = dist(lb)
    f.late_ms_per_s = round(float(lb.sum()) / 1e6 / ctx.dur_s, 6)
    if fast is not None:
        # who held the Ps only for the windows cited
        if tot > 0:
            f.user_share = round(float(user) / float(tot), 6)
        top = np.argsort(-lb, kind="stable")[:MAX_EVIDENCE]
        ws, we = (lt - lb)[top], lt[top]
        held = A.held_p_by_goroutine(tl, ws, we)
        held.window = top[held.window]
    else:
        held = A.held_p_by_goroutine(tl, lt - lb, lt)
        if held.overlap.shape[0]:
            system = tl.gor_is_system[tl.gor_index(held.g)]
            tot = float(held.overlap.sum())
            f.user_share = round(float(held.overlap[~system].sum()) / tot, 6) if tot > 0 else 0.0
    f.evidence = _evidence(ctx, lw, lt, lb, held)
    return f


def late_timers_compiled(fast, tl: Timelines, t: np.ndarray, late_ns: int) -> tuple[np.ndarray, int, int]:
    """(`all_busy_before(tl, run_by_p, t)`, and over the late windows [t - busy, t) with
    busy >= late_ns the summed overlap of `held_p_by_goroutine(tl, ...)`'s rows and its part by
    user goroutines) in one compiled pass over the running intervals split by P (`tl.run_index`)."""
    i64 = np.int64
    ri = tl.run_index
    seg_p = np.ascontiguousarray(tl.iv_p[ri.run[ri.segoff[:-1]]], i64) if ri.run.shape[0] else np.zeros(0, i64)
    # handed over in time order: each P's searches become one forward walk (the busy stretch of
    # each time does not depend on the others, the sums not on their order), put back after
    order = np.argsort(t)
    busy, tot, user = fast.late_timers(ri.start, ri.end, ri.end_max, ri.gor, np.ascontiguousarray(ri.segoff, i64),
                                       seg_p, np.ascontiguousarray(tl.gor_is_system, np.bool_),
                                       np.ascontiguousarray(tl.procs, i64), np.ascontiguousarray(t[order], i64),
                                       SWITCH_GAP_NS, int(late_ns))
    out = np.empty(t.shape[0], i64)
    out[order] = np.frombuffer(busy, i64)
    return out, int(tot), int(user)


def _timer_wake_intervals(tl: Timelines) -> np.ndarray:
    """Waiting intervals of user goroutines ended by a timer (see the module docstring)."""
    strings = tl.cols.strings
    fast = feat_kernel()
    if fast is not None:  # one pass, a reason table instead of isin
        ok = np.fromiter((s in TIMER_REASONS for s in strings), dtype=np.bool_, count=len(strings))
        return np.frombuffer(fast.timer_waits(tl.iv_state, tl.iv_open, tl.iv_end_g, tl.iv_reason, tl.iv_gor,
                                              tl.gor_is_system, ok, int(G_WAITING)), np.int64)
    reasons = np.array([i for i, s in enumerate(strings) if s in TIMER_REASONS], dtype=np.int64)
    m = (tl.iv_state == G_WAITING) & ~tl.iv_open & (tl.iv_end_g < 0)
    m &= np.isin(tl.iv_reason, reasons)
    m &= ~tl.gor_is_system[tl.iv_gor]
    return np.nonzero(m)[0]


def all_busy_before(tl: Timelines, run_by_p: list, t: np.ndarray) -> np.ndarray:
    """For each time in `t` (trace clock), how long every P had been running goroutines without
    a break (gaps <= SWITCH_GAP_NS) up to it, ns: the minimum over the Ps of the busy stretch
    that reaches `t` (0 for a P idle then). `run_by_p`: the graph's Running intervals split by P
    (`CausalGraph.run_by_p`); the Ps are the trace's (`tl.procs`: not the fake ones of a
    converted old-format trace), a P that never ran anything being idle throughout."""
    by_p = {int(tl.iv_p[seg[0]]): (s, em) for seg, s, em in run_by_p}
    out = None
    for p in tl.procs.tolist():
        busy = np.zeros(t.shape[0], dtype=np.int64)
        if p in by_p:
            s, em = by_p[p]
            new = np.ones(s.shape[0], dtype=bool)
            new[1:] = s[1:] - em[:-1] > SWITCH_GAP_NS
            stretch_start = s[ffill_index(new)]
            k = np.searchsorted(s, t, side="right") - 1
            kk = np.maximum(k, 0)
            alive = (k >= 0) & (em[kk] >= t - SWITCH_GAP_NS)
            busy = np.where(alive, t - stretch_start[kk], 0)
        out = busy if out is None else np.minimum(out, busy)
    return out if out is not None else np.zeros(t.shape[0], dtype=np.int64)


def _evidence(ctx, lw: np.ndarray, lt: np.ndarray, lb: np.ndarray, held) -> list[Evidence]:
    """The latest wake-ups (longest all-busy stretch before them), with who held the Ps."""
    tl = ctx.tl
    out = []
    for k in np.argsort(-lb, kind="stable")[:MAX_EVIDENCE].tolist():
        sel = held.window == k
        ran = C.rank_holders(held.g[sel], held.overlap[sel]) if sel.any() else None
        who = ""
        if ran is not None:
            ug, _inv, tot, top = ran
            who = ", ".join(f"g{int(ug[j])} {tot[j] / 1e6:.1f}ms" for j in top[:4].tolist())
        i = int(lw[k])
        reason = tl.cols.strings[int(tl.iv_reason[i])]
        out.append(ctx.ev(f"goroutine {int(tl.iv_g[i])} ({reason}) was woken by its timer only after every P had "
                          f"run other goroutines for {lb[k] / 1e6:.1f} ms" + (f" ({who})" if who else ""),
                          g=[int(tl.iv_g[i])], start=int(lt[k] - lb[k]), end=int(lt[k]), stk=int(tl.iv_stk[i]),
                          chain=C.wait_chain(ctx.cg, i)))
    return out
