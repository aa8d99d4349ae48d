"""Blocking chains: the causal story behind one slow wait, syscall or close, step by step.

A chain is a list of steps `{goroutine, start_ns, end_ns, relation, detail, stack}` (times
in ns since the trace start, stacks as (func, file, line) leaf first). Every step's goroutine
and both of its times are the goroutine's own transitions in the trace, so a person can find
them in `go tool trace -d=parsed` (`Time=` is the trace start plus the step's time); steps
without a goroutine (the netpoller, a timer) carry `goroutine = None`.

    wait_chain(cg, wait_iv)     G waited on X -> woken by W at t1 -> runnable until t2 while
                                H1, H2 held the Ps (their running intervals and stacks)
    syscall_chain(cg, k)        G in syscall.read on thread M for d, P handed off, threads
                                created meanwhile -> waited to get a P back
    close_chain(cg, node)       the borrow / raw close / owner's second close / next accept
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..timeline.analysis import scan_kernel
from ..timeline.columns import G_RUNNABLE, G_RUNNING, G_WAITING
from ..timeline.grouping import unique
from ..timeline.stacks import FAM_ACCEPT, SIDES
from .conns import ConnNode

Step = dict[str, Any]
MAX_HOLDERS = 3
STACK_FRAMES = 8


def _step(g: int | None, start: int, end: int, relation: str, detail: str, stack=()) -> Step:
    return {"goroutine": None if g is None else int(g), "start_ns": int(start), "end_ns": int(end),
            "relation": relation, "detail": detail, "stack": list(stack)}


def _frames(tl, stk: int) -> list:
    return tl.stacks.frames(int(stk), STACK_FRAMES) if stk else []


def rank_holders(gs: np.ndarray, overlap: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Goroutines that held a P, from one row per (running interval, overlap with a wait):
    (goroutines, each row's goroutine index, their summed overlap, their indices ordered by that
    sum, ties by first appearance) -- vectorised: a long wait on a busy trace overlaps ~100k runs."""
    ug, first_at, inv = unique(gs, return_index=True, return_inverse=True)
    totals = np.bincount(inv, weights=overlap.astype(np.float64), minlength=ug.shape[0]).astype(np.int64)
    return ug, inv, totals, np.lexsort((first_at, -totals))


def rank_holders_by_index(gi: np.ndarray, overlap: np.ndarray,
                          gor_id: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`rank_holders(gor_id[gi], overlap)` from goroutine *indices* `gi` (into the ascending
    `gor_id`): the same four arrays, from counts over the goroutine index instead of a sort of
    the rows (a slow wake-up's window overlaps ~30k runs of a few goroutines)."""
    n, ng = gi.shape[0], gor_id.shape[0]
    present = np.flatnonzero(np.bincount(gi, minlength=ng))
    slot = np.zeros(ng, dtype=np.intp)
    slot[present] = np.arange(present.shape[0])
    inv = slot[gi]
    totals = np.bincount(inv, weights=overlap.astype(np.float64), minlength=present.shape[0]).astype(np.int64)
    # a goroutine's first row starts one of its runs of rows: only run starts are candidates
    starts = np.flatnonzero(np.concatenate(([True], gi[1:] != gi[:-1]))) if n else np.zeros(0, np.int64)
    first_at = np.full(present.shape[0], n, dtype=np.int64)
    np.minimum.at(first_at, inv[starts], starts)
    return gor_id[present], inv, totals, np.lexsort((first_at, -totals))


def held_runs(cg, start: int, end: int, exclude: int | None = None,
              n: int = MAX_HOLDERS) -> list[tuple[int, int, int, int]]:
    """Who held the Ps during [start, end) (absolute ns), longest first: (goroutine, ns it ran
    in the window, runs, its longest running interval) -- what `holders` turns into steps.
    Compiled (`_fastscan.held_runs`: one pass over the overlapping runs, whole blocks of runs
    inside the window at a time) when built; the numpy code below is the reference."""
    tl = cg.tl
    fast = scan_kernel()
    if fast is not None:
        return _held_runs_compiled(fast, tl, int(start), int(end), exclude, n)
    parts = []
    for seg, s, e_max in cg.run_by_p:
        lo = int(np.searchsorted(e_max, start, side="right"))
        hi = int(np.searchsorted(s, end, side="left"))
        if hi > lo:
            parts.append(seg[lo:hi])
    if not parts:
        return []
    ri_all = np.concatenate(parts)
    ov_all = np.minimum(tl.iv_end[ri_all], end) - np.maximum(tl.iv_start[ri_all], start)
    keep = ov_all > 0
    ri_all, ov_all = ri_all[keep], ov_all[keep]
    gs = tl.iv_g[ri_all]
    if exclude is not None:
        keep = gs != exclude
        ri_all, ov_all, gs = ri_all[keep], ov_all[keep], gs[keep]
    if gs.shape[0] == 0:
        return []
    # per goroutine: total overlap, number of runs, and its longest run (the first of equal ones)
    ug, inv, totals, top = rank_holders(gs, ov_all)
    runs_n = np.bincount(inv, minlength=ug.shape[0])
    top = top[:n]
    chosen = []
    for k in top.tolist():
        idx = np.nonzero(inv == k)[0]
        best = int(idx[int(np.argmax(ov_all[idx]))])
        chosen.append((int(ug[k]), int(totals[k]), int(runs_n[k]), int(ri_all[best])))
    return chosen


def _held_runs_compiled(fast, tl, start: int, end: int, exclude: int | None,
                        n: int) -> list[tuple[int, int, int, int]]:
    ri = tl.run_index
    gor_id = tl.gor_id
    ex = -1
    if exclude is not None:
        i = int(gor_id.searchsorted(exclude))
        if i < gor_id.shape[0] and gor_id[i] == exclude:
            ex = i
    rows = fast.held_runs(ri.start, ri.end, ri.end_max, ri.gor, ri.segoff, start, end, ex, max(n, 0),
                          int(gor_id.shape[0]), tl.run_blocks())
    return [(int(gor_id[g]), tot, runs, int(ri.run[row])) for g, tot, runs, row in rows]


def holders(cg, start: int, end: int, exclude: int | None = None, n: int = MAX_HOLDERS) -> list[Step]:
    """Who held the Ps during [start, end) (absolute ns): the goroutines that ran longest, each
    as one step spanning its longest running interval in the window."""
    tl = cg.tl
    out = []
    for g, tot, runs, ri in held_runs(cg, start, end, exclude, n):
        gi = int(tl.gor_index(g))
        name = tl.gor_name[gi] if gi < len(tl.gor_name) else ""
        stk = int(tl.iv_stk[ri]) or int(tl.gor_start_stk[gi])
        burst = int(tl.burst_run_ns[tl.burst_id[ri]])
        out.append(_step(g, tl.iv_start[ri] - tl.t0, tl.iv_end[ri] - tl.t0, "held-P",
                         f"ran {tot / 1e6:.2f} ms in {runs} run(s) on P {int(tl.iv_p[ri])} meanwhile "
                         f"({name or 'goroutine'}; its burst without blocking: {burst / 1e6:.1f} ms)",
                         _frames(tl, stk)))
    return out


def _runnable_after(tl, i: int) -> int | None:
    """The Runnable interval that followed wait `i` (it was woken and then waited for a P)."""
    if tl.iv_open[i]:
        return None
    r = int(tl.iv_next[i])
    if r < 0 or tl.iv_state[r] != G_RUNNABLE or tl.iv_open[r]:
        return None
    return r


def wait_holders(cg, wait_iv: int) -> list[tuple[int, int, int, int]]:
    """The P holders `wait_chain` lists for this wait (`held_runs` rows), without the chain's
    text and frames: for comparing many waits before building the chain of one."""
    tl = cg.tl
    r = _runnable_after(tl, int(wait_iv))
    if r is None:
        return []
    return held_runs(cg, int(tl.iv_start[r]), int(tl.iv_end[r]), exclude=int(tl.iv_g[int(wait_iv)]))


def wait_chain(cg, wait_iv: int) -> list[Step]:
    """Why one wait was slow: what G waited on, who woke it, how long it then sat runnable and
    which goroutines held the Ps meanwhile."""
    tl = cg.tl
    t0 = tl.t0
    i = int(wait_iv)
    g = int(tl.iv_g[i])
    reason = tl.cols.strings[int(tl.iv_reason[i])] or "unknown"
    stk = int(tl.iv_stk[i])
    st = tl.stacks
    what = f"{reason} wait at {st.wait_site[stk]}" if stk else f"{reason} wait"
    if reason == "network":
        what += f" ({SIDES[int(st.wait_side[stk])]} side)"
    steps = [_step(g, tl.iv_start[i] - t0, tl.iv_end[i] - t0, "waited",
                   f"{what}: {(tl.iv_end[i] - tl.iv_start[i]) / 1e6:.2f} ms"
                   + (" (never woken within the trace)" if tl.iv_open[i] else ""), _frames(tl, stk))]
    if tl.iv_open[i]:
        return steps
    eg = int(tl.iv_end_g[i])
    if eg >= 0:
        steps.append(_step(eg, tl.iv_end[i] - t0, tl.iv_end[i] - t0, "woke",
                           f"goroutine {eg} made goroutine {g} runnable", _frames(tl, int(tl.iv_end_stk[i]))))
    else:
        waker = "netpoller" if reason == "network" else ("timer" if reason == "sleep" else "runtime")
        steps.append(_step(None, tl.iv_end[i] - t0, tl.iv_end[i] - t0, "woke",
                           f"the {waker} made goroutine {g} runnable"))
    r = _runnable_after(tl, i)
    if r is None:
        return steps
    steps.append(_step(g, tl.iv_start[r] - t0, tl.iv_end[r] - t0, "runnable",
                       f"waited {(tl.iv_end[r] - tl.iv_start[r]) / 1e6:.2f} ms for a P"))
    steps.extend(holders(cg, int(tl.iv_start[r]), int(tl.iv_end[r]), exclude=g))
    return steps


def runnable_chain(cg, runnable_iv: int) -> list[Step]:
    """The wait before a Runnable interval (if any), then the wait for a P and its holders."""
    tl = cg.tl
    r = int(runnable_iv)
    p = int(tl.iv_prev[r])
    if p >= 0 and tl.iv_state[p] == G_WAITING and not tl.iv_open[p]:
        return wait_chain(cg, p)
    g = int(tl.iv_g[r])
    steps = [_step(g, tl.iv_start[r] - tl.t0, tl.iv_end[r] - tl.t0, "runnable",
                   f"waited {(tl.iv_end[r] - tl.iv_start[r]) / 1e6:.2f} ms for a P")]
    return steps + holders(cg, int(tl.iv_start[r]), int(tl.iv_end[r]), exclude=g)


def syscall_chain(cg, k: int) -> list[Step]:
    """One syscall (index into cg.sc): thread, P handoff, threads created meanwhile, and the
    wait to get a P back."""
    tl, sc = cg.tl, cg.sc
    t0 = tl.t0
    st = tl.stacks
    g, s, e, stk = int(sc.g[k]), int(sc.start[k]), int(sc.end[k]), int(sc.stk[k])
    new_m = cg.threads_first_seen_between(s, e)
    lost = bool(sc.lost_p[k])
    detail = (f"{st.sys_call[stk]} from {st.sys_site[stk]} on thread M{int(sc.m[k])} for {(e - s) / 1e6:.2f} ms"
              + ("; its P was handed off" if lost else "") + (f"; {new_m} thread(s) first seen meanwhile" if new_m else "")
              + ("; still in the syscall at the end of the trace" if sc.open[k] else ""))
    steps = [_step(g, s - t0, e - t0, "syscall", detail, _frames(tl, stk))]
    nxt = int(tl.iv_next[int(sc.iv[k])])
    if lost and nxt >= 0 and tl.iv_state[nxt] == G_RUNNABLE and not tl.iv_open[nxt]:
        nn = int(tl.iv_next[nxt])
        if nn >= 0 and tl.iv_state[nn] == G_RUNNING:
            steps.append(_step(g, tl.iv_start[nxt] - t0, tl.iv_end[nxt] - t0, "runnable",
                               f"waited {(tl.iv_end[nxt] - tl.iv_start[nxt]) / 1e6:.2f} ms to get a P back"))
    return steps


def syscall_run_chain(cg, ks: list[int], what: str) -> list[Step]:
    """Several syscalls of one goroutine in a row (a storm of tiny writes)."""
    tl, sc = cg.tl, cg.sc
    st = tl.stacks
    return [_step(int(sc.g[k]), sc.start[k] - tl.t0, sc.end[k] - tl.t0, "syscall",
                  f"{what}: {st.sys_call[int(sc.stk[k])]} from {st.sys_site[int(sc.stk[k])]} on thread "
                  f"M{int(sc.m[k])}", _frames(tl, int(sc.stk[k]))) for k in ks]


def close_chain(cg, node: ConnNode) -> list[Step]:
    """A descriptor closed behind its owner: the close, the owner still holding it (its later
    use or second close) and the next accept, which may be handed the freed number."""
    tl, sc = cg.tl, cg.sc
    t0 = tl.t0
    if node.close_ns is None or node.closer_goroutine is None:
        return []
    t = node.close_ns + t0
    k = int(np.nonzero((sc.g == node.closer_goroutine) & (sc.start == t))[0][0])
    steps = [_step(node.closer_goroutine, sc.start[k] - t0, sc.end[k] - t0,
                   "finalizer-close" if node.closed_by == "finalizer" else "raw-close",
                   node.relation + (f" ({node.closes} closes)" if node.closes > 1 else ""),
                   _frames(tl, node.close_stack))]
    conn = cg.conn_node(node.id) if node.kind == "conn" else None
    if conn is not None and conn.goroutines:
        later = cg.conn_io_after(conn, t)
        if later is not None:
            steps.append(_step(later[0], later[1] - t0, later[2] - t0, "owner-still-uses",
                               f"{conn.owner}'s goroutine {later[0]} went on using the conn after the close",
                               _frames(tl, later[3])))
    if node.closed_by == "finalizer":
        b = cg.borrow_before(t)
        if b is not None:
            steps.append(_step(b[0], b[1] - t0, b[2] - t0, "borrowed",
                               f"goroutine {b[0]} had borrowed a descriptor net holds (RawConn.Control)",
                               _frames(tl, b[3])))
    acc = np.nonzero((sc.fam == FAM_ACCEPT) & (sc.start > t))[0]
    if acc.shape[0]:
        a = int(acc[np.argmin(sc.start[acc])])
        steps.append(_step(int(sc.g[a]), sc.start[a] - t0, sc.end[a] - t0, "next-accept",
                           "the next accept after the close: the kernel hands out the lowest free number, "
                           "so it can receive the closed one", _frames(tl, int(sc.stk[a]))))
    return steps
