"""Lock waits (`f.locks`): goroutines parked on a sync.Mutex or RWMutex, and what the goroutine
that released the lock was doing meanwhile.

A stall that is none of the netpoller causes, and common in streaming servers: a lock held
across slow work -- a write to one subscriber's socket, a sleep, a long render -- makes every
other stream queue behind it (a lock convoy). The trace shows it plainly: the waiter is
Waiting with reason "sync" (Go's traceBlockSync, a semacquire; old formats' GoBlockSync is
converted to the same), its stack runs through `(*Mutex).Lock` / `(*RWMutex).Lock` /
`(*RWMutex).RLock`, and the goroutine that ended the wait is the one whose Unlock woke it, so
it held the lock (or was last in line to) until then. What that goroutine's own intervals
were during the wait -- running, waiting on the network, sleeping, in a syscall, runnable --
says why the lock was held so long. WaitGroup.Wait and semaphores park with the same reason;
only stacks with a lock frame count here.

Without these, a trace of a lock convoy looked healthy (issue 12: a confounder whose clients
saw 4.6-11x, reported with a hint about socket buffers). The rule reading them is `info`:
the cause is not the netpoller's, but the reader needs to be told where the time went.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from ..graph import chains as C
from ..timeline.columns import G_RUNNABLE, G_RUNNING, G_SYSCALL, G_WAITING
from ..timeline.stacks import pkg_of
from ..timeline.timeline import Timelines
from .model import Distribution, Evidence, LockFeatures, LockHolders, LockSite

if TYPE_CHECKING:  # the extraction context lives in compute.py, which imports this module
    from .compute import _Ctx

Dist = Callable[[np.ndarray], Distribution]

#: frames of a lock acquisition that parks (Go >= 1.24 moved Mutex into internal/sync)
LOCK_PACKAGES = ("sync", "internal/sync")
LOCK_SUFFIXES = ("Mutex).Lock", "Mutex).lockSlow", "RWMutex).RLock")
#: the longest waits whose holders are followed (each costs two binary searches)
MAX_HOLDER_WAITS = 512
MAX_SITES = 5
MAX_EVIDENCE = 3


def is_lock_func(func: str) -> bool:
    """A sync.Mutex / RWMutex acquisition frame."""
    return func.endswith(LOCK_SUFFIXES) and pkg_of(func) in LOCK_PACKAGES


def lock_wait_intervals(tl: Timelines) -> np.ndarray:
    """Waiting intervals of user goroutines parked on a Mutex/RWMutex (reason "sync", a lock
    frame in the stack), in interval order."""
    sync_id = tl.cols.string_id("sync")
    if sync_id < 0 or tl.iv_g.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    m = (tl.iv_state == G_WAITING) & (tl.iv_reason == sync_id)
    m &= ~tl.gor_is_system[tl.iv_gor]
    idx = np.flatnonzero(m)
    if idx.shape[0] == 0:
        return idx.astype(np.int64)
    lock_stack = tl.stacks.any_func(is_lock_func)
    return idx[lock_stack[tl.iv_stk[idx]]].astype(np.int64)


def lock_features(ctx: "_Ctx", dist: Dist) -> LockFeatures:
    """`f.locks` for the extraction context `ctx` (compute._Ctx); `dist` turns ns into a Distribution."""
    tl: Timelines = ctx.tl
    f = LockFeatures()
    w = lock_wait_intervals(tl)
    if w.shape[0] == 0:
        return f
    is_open = tl.iv_open[w]
    ended = w[~is_open]
    d_all = (tl.iv_end[w] - tl.iv_start[w]).astype(np.int64)
    d = d_all[~is_open]  # the ended waits' durations
    f.waits = dist(d)
    f.open_waits = int(is_open.sum())
    f.blocked_ms = round(float(d_all.sum()) / 1e6, 6)
    f.mean_waiting = round(f.blocked_ms / (ctx.dur_ns / 1e6), 6)
    f.goroutines = int(np.unique(tl.iv_g[w]).shape[0])
    f.sites = _sites(tl, ended, d, dist)
    if ended.shape[0]:
        top = ended[np.argsort(-d, kind="stable")[:MAX_HOLDER_WAITS]]
        f.holders = _holders(tl, top)
        f.evidence = _evidence(ctx, top[:MAX_EVIDENCE])
    return f


def _sites(tl: Timelines, ended: np.ndarray, d: np.ndarray, dist: Dist) -> list[LockSite]:
    """The sites (top user frame of the waiter's stack) with the most lock-wait time; `d`: the
    durations of the `ended` waits."""
    if ended.shape[0] == 0:
        return []
    ids, names = tl.stacks.wait_site_id
    site = ids[tl.iv_stk[ended]]
    totals = np.bincount(site, weights=d.astype(np.float64), minlength=len(names))
    out = []
    for s in np.argsort(-totals, kind="stable")[:MAX_SITES].tolist():
        if totals[s] <= 0:
            break
        out.append(LockSite(site=names[s], waits=dist(d[site == s])))
    return out


#: what a releasing goroutine's interval was doing, by index (LockHolders' `<name>_share`)
ACTIVITIES = ("running", "runnable", "syscall", "network", "sleep", "lock", "other_wait")
_WAIT_ACTIVITY = {"network": 3, "sleep": 4, "sync": 5}


def activity_classes(tl: Timelines, rows: np.ndarray) -> np.ndarray:
    """The ACTIVITIES index of each interval in `rows`: its state, and for a wait its reason."""
    reason = np.full(len(tl.cols.strings), 6, dtype=np.int64)
    for name, cls in _WAIT_ACTIVITY.items():
        sid = tl.cols.string_id(name)
        if sid >= 0:
            reason[sid] = cls
    st = tl.iv_state[rows]
    return np.select([st == G_RUNNING, st == G_RUNNABLE, st == G_SYSCALL, st == G_WAITING],
                     [0, 1, 2, reason[tl.iv_reason[rows]]], 6).astype(np.int64)


def _holders(tl: Timelines, waits: np.ndarray) -> LockHolders:
    """How the goroutines that ended `waits` (their Unlock woke the waiter) spent those waits:
    shares of the summed wait time by their own state; `unknown` where no goroutine woke the
    waiter or its intervals do not cover the wait. A goroutine's intervals are contiguous rows
    in time order that abut, so those overlapping a wait [a, b) are one slice, found by two
    binary searches (a releaser may have run thousands of short intervals during one wait)."""
    sums = np.zeros(len(ACTIVITIES), dtype=np.float64)
    total = 0
    rows, ovs = [], []
    for i in waits.tolist():
        a, b = int(tl.iv_start[i]), int(tl.iv_end[i])
        total += b - a
        eg = int(tl.iv_end_g[i])
        if eg < 0:
            continue
        k = int(tl.gor_index(eg))
        lo = int(tl.gor_first_iv[k])
        hi = lo + int(tl.gor_n_iv[k])
        j0 = lo + int(np.searchsorted(tl.iv_end[lo:hi], a, side="right"))
        j1 = lo + int(np.searchsorted(tl.iv_start[lo:hi], b, side="left"))
        if j1 > j0:
            ov = np.minimum(tl.iv_end[j0:j1], b) - np.maximum(tl.iv_start[j0:j1], a)
            rows.append(np.arange(j0, j1)[ov > 0])
            ovs.append(ov[ov > 0])
    h = LockHolders()
    if total <= 0:
        return h
    if rows:
        r = np.concatenate(rows)
        sums = np.bincount(activity_classes(tl, r), weights=np.concatenate(ovs).astype(np.float64),
                           minlength=len(ACTIVITIES))
    for name, v in zip(ACTIVITIES, sums.tolist()):
        setattr(h, f"{name}_share", round(v / total, 6))
    h.unknown_share = round(max(0.0, 1.0 - float(sums.sum()) / total), 6)
    return h


def _evidence(ctx: "_Ctx", waits: np.ndarray) -> list[Evidence]:
    """The longest lock waits, with the releasing goroutine and where it released the lock."""
    tl = ctx.tl
    st = tl.stacks
    out = []
    for i in waits.tolist():
        g = int(tl.iv_g[i])
        stk = int(tl.iv_stk[i])
        ms = (int(tl.iv_end[i]) - int(tl.iv_start[i])) / 1e6
        eg = int(tl.iv_end_g[i])
        who = (f"goroutine {eg} released it at {st.wait_site[int(tl.iv_end_stk[i])]}" if eg >= 0 and tl.iv_end_stk[i]
               else f"goroutine {eg} released it" if eg >= 0 else "woken by the runtime")
        out.append(ctx.ev(f"goroutine {g} waited {ms:.1f} ms for a lock at {st.wait_site[stk]}; {who}",
                          g=[g] + ([eg] if eg >= 0 else []), start=int(tl.iv_start[i]), end=int(tl.iv_end[i]),
                          stk=stk, chain=C.wait_chain(ctx.cg, i)))
    return out
