"""Timelines + causal graph -> Features (the model in `model.py`).

The graph (diagnose/graph) is built once per trace and everything relational is a query on
it: the network waits and syscalls it indexed, its connections and descriptors (`conns`,
fd ownership), its held-P windows (demand on the Ps) and its blocking chains (every evidence
item that names a wait, a syscall or a close carries the chain behind it). Flat numbers are
whole-column numpy reductions over the timeline arrays; Python loops run only over small sets
(distinct stacks, sites, evidence items). Times in evidence are ns since the first event of
the trace.
"""
from __future__ import annotations

from functools import cached_property

import numpy as np

from ..graph import CausalGraph, build_graph
from ..graph import chains as C
from ..timeline import analysis as A
from ..timeline.columns import G_RUNNABLE, G_RUNNING, G_UNDETERMINED, G_WAITING, K_METRIC
from ..timeline.cut import HEAD_ROWS
from ..timeline.grouping import smallest_first, unique
from ..timeline.stacks import (CALLER_CLASSES, CC_CGO, CC_NETPOLLER, CC_RAW_USER, FAM_ACCEPT, FAM_POLL, FAM_READ,
                               FAM_WRITE, SIDE_ACCEPT, SIDE_READ, SIDE_WRITE, SIDES)
from ..timeline.timeline import Timelines
from .backpressure import unblocked_write_rate, write_blocked, writes_per_goroutine
from .cpuwork import quiet_cpu_share
from .kernel import feat_kernel
from .model import (ChainStep, Conn, Distribution, Evidence, FdFeatures, Features, Frame, GCFeatures, GroupDemand,
                    NetworkFeatures, PDemand, SchedulingFeatures, SyscallFeatures, SyscallSite, ThreadFeatures,
                    TraceInfo, WaitSite)
from .locks import lock_features
from .timers import timer_wakes
from .writes import writes_per_wait

CPU_BOUND_NS = 10_000_000  # a run burst this long without blocking makes a goroutine CPU-bound
BLOCKING_NS = 1_000_000    # a raw I/O or accept syscall this long blocked its thread
MAX_EVIDENCE = 5
MAX_SITES = 25


def dist(ns: np.ndarray) -> Distribution:
    """Distribution of durations given in ns (reported in ms)."""
    ns = np.asarray(ns)
    if ns.shape[0] == 0:
        return Distribution()
    fast = feat_kernel()
    if fast is not None and ns.dtype.kind == "i":  # one pass, no float copy, select not partition
        return _distribution(ns.shape[0], *fast.dist_ms(np.ascontiguousarray(ns, dtype=np.int64)))
    ms = ns.astype(np.float64) / 1e6
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return _distribution(ns.shape[0], ms.sum(), p50, p95, p99, ms.max())


def _distribution(count: int, total, p50, p95, p99, mx) -> Distribution:
    return Distribution(count=int(count), total_ms=round(float(total), 6), p50_ms=round(float(p50), 6),
                        p95_ms=round(float(p95), 6), p99_ms=round(float(p99), 6), max_ms=round(float(mx), 6))


def dists_by_group(fast, idx: np.ndarray, ns: np.ndarray, n: int,
                   distinct: np.ndarray | None = None) -> tuple[list[Distribution], list[int] | None] | None:
    """[dist(ns[idx == k]) for k < n] (and the number of distinct `distinct[idx == k]` values)
    through the compiled kernel `fast` in one counting sort; None when the values are not
    integers (the caller's numpy path then runs)."""
    if ns.dtype.kind != "i" or idx.dtype.kind != "i" or (distinct is not None and distinct.dtype.kind != "i"):
        return None
    i64 = np.int64
    ds, counts = fast.group_dists(np.ascontiguousarray(idx, i64), np.ascontiguousarray(ns, i64), int(n),
                                  None if distinct is None else np.ascontiguousarray(distinct, i64))
    return [Distribution() if d is None else _distribution(*d) for d in ds], counts


class _Ctx:
    """Shared state for one extraction."""

    def __init__(self, tl: Timelines, cg: CausalGraph) -> None:
        self.tl = tl
        self.cg = cg
        self.t0 = tl.t0
        self.dur_ns = max(tl.duration_ns, 1)
        self.dur_s = self.dur_ns / 1e9
        self.nw = cg.nw  # computed once, by the graph
        self.sc = cg.sc
        self._frames: dict[tuple[str, str, int], Frame] = {}

    @cached_property
    def parked(self) -> np.ndarray:
        """Goroutines parked in the netpoller for the whole window (network, backpressure)."""
        return _parked_whole_window(self.tl)

    @cached_property
    def user_io_close(self) -> tuple[np.ndarray, np.ndarray]:
        """(raw user close, finalizer close) masks over the syscalls (network and fds)."""
        return A.is_user_io_close(self.tl, self.sc)

    @cached_property
    def ranges(self) -> A.Ranges:
        """The trace's ranges (GC cycles, stop-the-world, mark assists), paired once."""
        return A.ranges(self.tl)

    @cached_property
    def write_blocked(self):
        """Write-blocked time per goroutine (backpressure.py), shared by network and syscalls."""
        return write_blocked(self.tl, self.nw, self.parked)

    @cached_property
    def writes(self) -> np.ndarray:
        """Write syscalls per goroutine index (`writes_per_goroutine`): syscalls, backpressure
        and the write-run evidence all count them; once per window."""
        return writes_per_goroutine(self.tl, self.sc, self.sc.fam == FAM_WRITE)

    def chain(self, steps: list[dict]) -> list[ChainStep]:
        return [ChainStep(goroutine=s["goroutine"], start_ns=s["start_ns"], end_ns=s["end_ns"],
                          relation=s["relation"], detail=s["detail"],
                          stack=[self.frame(fr) for fr in s["stack"]]) for s in steps]

    def frame(self, fr: tuple[str, str, int]) -> Frame:
        """The Frame of (func, file, line), validated once per window: the same few frames
        recur in every chain and stack cited (a window cites ~1000 frames, ~100 distinct)."""
        got = self._frames.get(fr)
        if got is None:
            f, fl, ln = fr
            got = self._frames[fr] = Frame(func=f, file=fl, line=ln)
        return got

    def rel(self, t) -> int:
        return int(t) - self.t0

    def frames(self, sid: int, limit: int = 12) -> list[Frame]:
        return [self.frame(fr) for fr in self.tl.stacks.frames(int(sid), limit)]

    def ev(self, note: str, g=(), start=None, end=None, stk: int = 0, dur_ns=None, chain=None) -> Evidence:
        gs = [int(x) for x in (g if isinstance(g, (list, tuple, np.ndarray)) else [g])]
        d = (dur_ns if dur_ns is not None else (int(end) - int(start) if start is not None and end is not None
                                                 else None))
        return Evidence(note=note, goroutines=gs, start_ns=None if start is None else self.rel(start),
                        end_ns=None if end is None else self.rel(end),
                        duration_ms=None if d is None else round(d / 1e6, 6), stack=self.frames(stk) if stk else [],
                        chain=self.chain(chain) if chain else [])


# ----------------------------------------------------------------------------- trace info
def trace_info(ctx: _Ctx, meta: dict) -> TraceInfo:
    tl = ctx.tl
    gmp = [v for _, v in tl.gomaxprocs_changes]
    return TraceInfo(
        path=str(meta.get("path", "")), go_version=str(meta.get("go_version", "")),
        format_minor=int(meta.get("format_minor", 0) or 0), duration_ms=round(tl.duration_ns / 1e6, 6),
        event_count=len(tl.cols) - int(meta.get(HEAD_ROWS, 0)), goroutine_count=int(tl.gor_id.shape[0]), thread_count=int(tl.threads.shape[0]),
        gomaxprocs_min=min(gmp) if gmp else 0, gomaxprocs_max=max(gmp) if gmp else 0,
        truncated=bool(meta.get("truncated", False)), lost_bytes=int(meta.get("lost_bytes", 0) or 0),
        incomplete=list(meta.get("incomplete", []) or []))


# ----------------------------------------------------------------------------- network
def network(ctx: _Ctx) -> NetworkFeatures:
    tl, nw = ctx.tl, ctx.nw
    ended = ~nw.open
    d = nw.dur
    f = NetworkFeatures()
    f.waits = dist(d[ended])
    f.read_waits = dist(d[ended & (nw.side == SIDE_READ)])
    f.write_waits = dist(d[ended & (nw.side == SIDE_WRITE)])
    f.accept_waits = dist(d[ended & (nw.side == SIDE_ACCEPT)])
    tot = float(d[ended].sum())
    f.write_wait_share = round(float(d[ended & (nw.side == SIDE_WRITE)].sum()) / tot, 6) if tot > 0 else 0.0
    f.waits_per_s = round(len(nw) / ctx.dur_s, 6)
    f.never_ended_count = int(nw.open.sum())
    # by site (top user frame of the blocking stack) and side
    if len(nw):
        site_id, site_names = tl.stacks.wait_site_id
        keys = site_id[nw.stk] * len(SIDES) + nw.side.astype(np.int64)
        uk, inv = unique(keys, return_inverse=True)
        totals = np.bincount(inv, weights=np.where(ended, d, 0).astype(np.float64))
        counts = np.bincount(inv)
        order = np.lexsort((-counts, -totals))[:MAX_SITES]
        for k in order.tolist():
            sel = (inv == k)
            site, side = site_names[int(uk[k]) // len(SIDES)], int(uk[k]) % len(SIDES)
            f.by_site.append(WaitSite(site=site, side=SIDES[side], waits=dist(d[sel & ended]),
                                      goroutines=int(unique(nw.g[sel]).shape[0])))
    # never ended after a raw/finalizer close during the wait
    raw_c, fin_c = ctx.user_io_close
    close_t = np.sort(ctx.sc.start[raw_c | fin_c])
    if close_t.shape[0] and nw.open.any():
        op = np.nonzero(nw.open)[0]
        after = np.searchsorted(close_t, nw.start[op], side="left") < close_t.shape[0]
        f.never_ended_after_close_count = int(after.sum())
    # goroutines parked in the netpoller for the whole window (stacks from Go 1.24 status events)
    parked = ctx.parked
    f.parked_whole_window_count = int(parked.shape[0])
    wb = ctx.write_blocked
    f.write_blocked_max_share, f.write_blocked_goroutines, f.write_blocked_ms = wb.summary(ctx.dur_ns)
    # evidence: longest ended waits, never-ended waits, parked goroutines
    ev = []
    if ended.any():
        idx = np.nonzero(ended)[0]
        top = idx[np.argsort(-d[idx])[:MAX_EVIDENCE]]
        for i in top.tolist():
            who = A.WAKER_NAMES.get(int(nw.waker[i]), f"goroutine {int(nw.waker[i])}")
            ev.append(ctx.ev(f"network {SIDES[int(nw.side[i])]} wait of goroutine {int(nw.g[i])}, woken by {who}",
                             g=int(nw.g[i]), start=nw.start[i], end=nw.end[i], stk=int(nw.stk[i]),
                             chain=C.wait_chain(ctx.cg, int(nw.iv[i]))))
    if nw.open.any():
        idx = np.nonzero(nw.open)[0]
        top = idx[np.argsort(nw.start[idx])[:MAX_EVIDENCE]]
        for i in top.tolist():
            ev.append(ctx.ev(f"network wait of goroutine {int(nw.g[i])} never ended within the trace",
                             g=int(nw.g[i]), start=nw.start[i], end=tl.t_end, stk=int(nw.stk[i]),
                             chain=C.wait_chain(ctx.cg, int(nw.iv[i]))))
    # the span cited is the longest single wait; the note gives the total
    for g, ns, inh, stk, t0, t1 in wb.top(MAX_EVIDENCE, ctx.dur_ns):
        w = _waiting_interval_ending(tl, g, t1)
        ev.append(ctx.ev(f"goroutine {g} blocked writing to a socket for {ns / 1e6:.0f} ms of the window"
                         + (" (since before it started)" if inh else ""), g=g, start=t0, end=t1, stk=stk,
                         chain=C.wait_chain(ctx.cg, w) if w is not None else None))
    for i in parked[:MAX_EVIDENCE].tolist():
        ev.append(ctx.ev(f"goroutine {int(tl.iv_g[i])} parked in the netpoller for the whole trace",
                         g=int(tl.iv_g[i]), start=tl.t0, end=tl.t_end, stk=int(tl.iv_stk[i])))
    f.evidence = ev
    return f


def _waiting_interval_ending(tl: Timelines, g: int, end: int) -> int | None:
    """The Waiting interval of goroutine `g` that ends at `end` (trace clock), for its chain."""
    ivs = tl.intervals_of(g)
    m = ivs[(tl.iv_state[ivs] == G_WAITING) & (tl.iv_end[ivs] == end)]
    return int(m[0]) if m.shape[0] else None


def _parked_whole_window(tl: Timelines) -> np.ndarray:
    """Interval indices: a goroutine's only interval, Waiting from trace start to end, netpoll stack."""
    if tl.gor_id.shape[0] == 0:
        return np.zeros(0, np.int64)
    first = tl.gor_first_iv
    only = tl.gor_n_iv == 1
    cand = first[only]
    ok = (tl.iv_state[cand] == G_WAITING) & (tl.iv_from[cand] == G_UNDETERMINED) & tl.iv_open[cand]
    cand = cand[ok]
    return cand[tl.stacks.is_netpoll_wait[tl.iv_stk[cand]]]


# ----------------------------------------------------------------------------- scheduling
def scheduling(ctx: _Ctx) -> SchedulingFeatures:
    tl, nw = ctx.tl, ctx.nw
    f = SchedulingFeatures()
    ok = nw.wake_to_run >= 0
    f.wake_to_run_after_network = dist(nw.wake_to_run[ok])
    rn, wk = _runnable_then_running(tl)
    f.wake_to_run_all = dist(tl.iv_dur[rn])
    cpu = tl.cpu_bound_mask(CPU_BOUND_NS)
    f.cpu_bound_goroutines = int(unique(tl.iv_g[cpu]).shape[0])
    f.longest_run_ms = round(float(tl.burst_run_ns.max()) / 1e6, 6) if tl.burst_run_ns.shape[0] else 0.0
    f.wake_to_run_after_wakeup = dist(tl.iv_dur[wk])
    hog = ctx.cg.hog_mask
    cover = A.coverage(tl.iv_start[hog], tl.iv_end[hog]) if hog.any() else None
    ws, we = nw.end[ok], nw.run_start[ok]
    total_wait = float((we - ws).sum())
    if total_wait > 0 and cover is not None:
        f.share_behind_cpu_bound = round(float(cover(ws, we).sum()) / total_wait, 6)
    tot_wk = float(tl.iv_dur[wk].sum())
    if tot_wk > 0 and cover is not None:
        f.share_behind_cpu_bound_after_wakeup = round(
            float(cover(tl.iv_start[wk], tl.iv_end[wk]).sum()) / tot_wk, 6)
    # GOMAXPROCS and P busy fraction
    f.gomaxprocs = [(int(t), int(v)) for t, v in tl.gomaxprocs_changes]
    cap_ns = _gomaxprocs_integral(tl)
    f.p_busy_fraction = round(min(1.0, tl.proc_running_ns / cap_ns), 6) if cap_ns > 0 else 0.0
    # evidence: slowest post-network wake-to-run windows and what ran instead
    ev = []
    if ok.any():
        idx = np.nonzero(ok)[0]
        top = idx[np.argsort(-nw.wake_to_run[idx])[:MAX_EVIDENCE]]
        pairs = A.held_p_pairs(tl, nw.end[top], nw.run_start[top])
        for k, i in enumerate(top.tolist()):
            sel = pairs.window == k
            held = pairs.run_iv[sel]
            ov = pairs.overlap[sel]
            ran = _top_holders(tl, held, ov, 6)
            who = ", ".join(f"g{g} {o / 1e6:.1f}ms" for g, o in ran) or "no goroutine (Ps idle or unknown)"
            stk = int(tl.iv_stk[held[np.argmax(ov)]]) if held.shape[0] else int(nw.stk[i])
            ev.append(ctx.ev(f"goroutine {int(nw.g[i])} waited {nw.wake_to_run[i] / 1e6:.1f} ms for a P after a "
                             f"network wake-up; meanwhile the Ps ran: {who}",
                             g=[int(nw.g[i])] + [g for g, _ in ran], start=nw.end[i], end=nw.run_start[i], stk=stk,
                             chain=C.wait_chain(ctx.cg, int(nw.iv[i]))))
    ev.extend(_slowest_wakeups(ctx, 3))
    if cpu.any():
        b = tl.burst_id[cpu]
        bl = tl.burst_run_ns[b]
        ub, first = unique(b, return_index=True)
        civ = np.nonzero(cpu)[0][first]
        top = np.argsort(-bl[first])[:3]
        for j in top.tolist():
            i = int(civ[j])
            stk = int(tl.iv_stk[i]) or int(tl.gor_start_stk[tl.gor_index(int(tl.iv_g[i]))])
            ev.append(ctx.ev(f"goroutine {int(tl.iv_g[i])} ran {bl[first][j] / 1e6:.1f} ms without blocking",
                             g=int(tl.iv_g[i]), start=tl.iv_start[i], dur_ns=int(bl[first][j]), stk=stk,
                             chain=[{"goroutine": int(tl.iv_g[i]), "start_ns": ctx.rel(tl.iv_start[i]),
                                     "end_ns": ctx.rel(tl.iv_end[i]), "relation": "held-P",
                                     "detail": f"first running interval of a {bl[first][j] / 1e6:.1f} ms run "
                                               f"without blocking, on P {int(tl.iv_p[i])}",
                                     "stack": tl.stacks.frames(stk, 8)}]))
    cap_ns = _gomaxprocs_integral(tl)
    d = ctx.cg.demand(cap_ns)
    f.p_demand = PDemand(runnable_mean=d.runnable_mean, runnable_per_p=d.runnable_per_p, hog_share=d.hog_share,
                         burst_share=d.burst_share, runtime_share=d.runtime_share, source=d.source,
                         groups=[GroupDemand(**g.__dict__) for g in d.groups], preempted_waits=d.preempted_waits,
                         preempted_wait_ms=d.preempted_wait_ms, preempted_user_share=d.preempted_user_share,
                         top_holder_share=d.top_holder_share)
    f.timer_wakes = timer_wakes(ctx, dist)
    r = ctx.ranges
    f.quiet_cpu_share = quiet_cpu_share(tl, cap_ns, _assist_queries(tl, r, r.named(tl.cols, _is_assist)))
    f.evidence = ev
    return f


def _runnable_then_running(tl: Timelines) -> tuple[np.ndarray, np.ndarray]:
    """Runnable intervals that ended in Running (the wait for a P), and among them the
    wake-ups of any kind (right after a Waiting interval): masks, or ascending indices from
    the compiled kernel's one pass (either selects the same rows, in the same order)."""
    fast = feat_kernel()
    if fast is not None:
        rn, wk = fast.wake_runnable(tl.iv_state, tl.iv_open, tl.iv_next, tl.iv_prev, int(G_RUNNABLE), int(G_RUNNING),
                                    int(G_WAITING))
        return np.frombuffer(rn, np.int64), np.frombuffer(wk, np.int64)
    rn = (tl.iv_state == G_RUNNABLE) & ~tl.iv_open
    nxt = tl.iv_next
    rn &= (nxt >= 0)
    rn &= tl.iv_state[np.maximum(nxt, 0)] == G_RUNNING
    prv = tl.iv_prev
    wk = rn & (prv >= 0)
    wk &= tl.iv_state[np.maximum(prv, 0)] == G_WAITING
    return rn, wk


def _top_holders(tl: Timelines, run_iv: np.ndarray, overlap: np.ndarray, n: int) -> list[tuple[int, int]]:
    """The n goroutines whose running intervals `run_iv` held a P longest, [(goroutine, ns)]
    (`chains.rank_holders`, over the goroutine index)."""
    if run_iv.shape[0] == 0:
        return []
    ug, _inv, tot, top = C.rank_holders_by_index(tl.iv_gor[run_iv], overlap, tl.gor_id)
    return list(zip(ug[top[:n]].tolist(), tot[top[:n]].tolist()))


def _slowest_wakeups(ctx: _Ctx, n: int) -> list[Evidence]:
    """The n wake-ups of any reason (timer, channel, network...) that waited longest for a P,
    each with its chain: what it waited on, who woke it, who held the Ps meanwhile."""
    tl, wk = ctx.tl, ctx.cg.wakeups
    r = wk["runnable_iv"]
    if r.shape[0] == 0:
        return []
    out = []
    for k in smallest_first(-tl.iv_dur[r], n).tolist():
        w, ri = int(wk["wait_iv"][k]), int(r[k])
        if tl.iv_dur[ri] < BLOCKING_NS:
            break
        chain = C.wait_chain(ctx.cg, w)
        held = [s["goroutine"] for s in chain if s["relation"] == "held-P"]
        reason = tl.cols.strings[int(tl.iv_reason[w])]
        # a wait already going on when the trace started has no reason in the trace
        after = f"a {reason} wake-up" if reason else "a wake-up (its wait reason is not in the trace)"
        out.append(ctx.ev(f"goroutine {int(tl.iv_g[ri])} waited {tl.iv_dur[ri] / 1e6:.1f} ms for a P after "
                          f"{after}; the Ps ran goroutines {', '.join(map(str, held)) or 'none'}",
                          g=[int(tl.iv_g[ri])] + held, start=tl.iv_start[ri], end=tl.iv_end[ri],
                          stk=int(tl.iv_stk[w]), chain=chain))
    return out


def _gomaxprocs_integral(tl: Timelines) -> float:
    ch = tl.gomaxprocs_changes
    if not ch:
        return 0.0
    ts = np.array([t for t, _ in ch] + [tl.duration_ns], dtype=np.float64)
    ts[0] = 0.0
    vs = np.array([v for _, v in ch], dtype=np.float64)
    return float((np.diff(ts) * vs).sum())


# ----------------------------------------------------------------------------- syscalls
def syscall_features(ctx: _Ctx) -> SyscallFeatures:
    tl, sc = ctx.tl, ctx.sc
    st = tl.stacks
    f = SyscallFeatures()
    n = len(sc)
    f.count = n
    f.per_s = round(n / ctx.dur_s, 6)
    f.total_ms = round(float(sc.dur.sum()) / 1e6, 6)
    wr = sc.fam == FAM_WRITE
    f.write_per_s = round(int(wr.sum()) / ctx.dur_s, 6)
    f.netpoller_write_per_s = round(int((wr & (sc.cls == CC_NETPOLLER)).sum()) / ctx.dur_s, 6)
    f.write_per_unblocked_s, f.writers_blocked_share = unblocked_write_rate(tl, ctx.write_blocked, ctx.writes)
    f.writes_per_wait = writes_per_wait(tl, ctx.writes, writes_per_goroutine(tl, sc, sc.fam == FAM_POLL))
    rawio = _raw_user(sc, (FAM_READ, FAM_WRITE, FAM_ACCEPT))
    f.raw_user_io_count = int(rawio.sum())
    f.raw_user_io_ms = round(float(sc.dur[rawio].sum()) / 1e6, 6)
    f.blocking_raw_io_count = int((rawio & (sc.dur >= BLOCKING_NS)).sum())
    acc_block = (sc.fam == FAM_ACCEPT) & (sc.dur >= BLOCKING_NS)
    f.blocking_accept_count = int(acc_block.sum())
    conn_block = _blocked_conn_read(tl, sc, ctx.nw)
    f.blocked_conn_read_count = int(conn_block.sum())
    f.blocked_conn_read_max_ms = round(float(sc.dur[conn_block].max()) / 1e6, 6) if conn_block.any() else 0.0
    _accept_loop(ctx, rawio, f)
    f.lost_p_per_s = round(int(sc.lost_p.sum()) / ctx.dur_s, 6)
    f.proc_steals = int(tl.proc_steals.shape[0])
    f.cgo_calls = int((sc.cls == CC_CGO).sum())
    f.max_concurrent = _max_concurrent(sc.start, sc.end)
    if n:
        calls, sites = st.sys_call, st.sys_site
        ukey, li_of = _present(sc.stk)
        # group stacks by (site, call, class)
        labels = [(sites[s], calls[s], int(st.sys_class[s])) for s in ukey.tolist()]
        lab_ids: dict[tuple, int] = {}
        lab_of_stack = np.array([lab_ids.setdefault(lb, len(lab_ids)) for lb in labels], dtype=np.int64)
        li = li_of(lab_of_stack)
        names = list(lab_ids)
        fast = feat_kernel()
        grouped = dists_by_group(fast, li, sc.dur, len(names)) if fast is not None else None
        # bincount casts the int64 weights to float64 itself (no float copy of the column); the
        # compiled groups already counted their rows
        totals = np.bincount(li, weights=sc.dur, minlength=len(names))
        counts = (np.array([d.count for d in grouped[0]], dtype=np.int64) if grouped is not None
                  else np.bincount(li, minlength=len(names)))
        order = np.lexsort((-counts, -totals))[:MAX_SITES]
        lost = np.bincount(li[sc.lost_p], minlength=len(names))
        for k in order.tolist():
            site, call, cls = names[k]
            f.by_site.append(SyscallSite(site=site, call=call, caller_class=CALLER_CLASSES[cls],
                                         syscalls=grouped[0][k] if grouped is not None else dist(sc.dur[li == k]),
                                         lost_p_count=int(lost[k])))
    ev = []
    for mask, what in ((rawio & (sc.dur >= BLOCKING_NS), "raw user I/O syscall blocked its thread"),
                       (acc_block, "accept syscall blocked its thread (a blocking listener)"),
                       (conn_block, "net conn read blocked in the kernel (its fd is in blocking mode)"),
                       (rawio & (sc.dur < BLOCKING_NS), "raw user I/O syscall outside the netpoller")):
        if mask.any():
            idx = np.nonzero(mask)[0]
            top = idx[np.argsort(-sc.dur[idx])[:3]]
            for i in top.tolist():
                lost = " (P lost)" if sc.lost_p[i] else ""
                ev.append(ctx.ev(f"{what}: {st.sys_call[int(sc.stk[i])]} from {st.sys_site[int(sc.stk[i])]}{lost}",
                                 g=int(sc.g[i]), start=sc.start[i], end=sc.end[i], stk=int(sc.stk[i]),
                                 chain=C.syscall_chain(ctx.cg, i)))
    if sc.lost_p.any() and len(ev) < 2 * MAX_EVIDENCE:
        idx = np.nonzero(sc.lost_p)[0]
        top = idx[np.argsort(-sc.dur[idx])[:3]]
        for i in top.tolist():
            ev.append(ctx.ev(f"syscall {st.sys_call[int(sc.stk[i])]} lost its P "
                             f"({CALLER_CLASSES[int(sc.cls[i])]} path, from {st.sys_site[int(sc.stk[i])]})",
                             g=int(sc.g[i]), start=sc.start[i], end=sc.end[i], stk=int(sc.stk[i]),
                             chain=C.syscall_chain(ctx.cg, i)))
    if wr.any():
        ev.append(_write_run(ctx, wr))
    f.evidence = ev
    return f


def _raw_user(sc, families: tuple[int, ...]) -> np.ndarray:
    """Mask: syscalls from raw user code (CC_RAW_USER) of one of `families` -- the family test
    only on the few raw ones, not on every syscall of the window."""
    m = sc.cls == CC_RAW_USER
    k = np.flatnonzero(m)
    if k.shape[0]:
        m[k] = np.isin(sc.fam[k], families)
    return m


def _present(keys: np.ndarray):
    """(the distinct values of the non-negative integer `keys`, ascending; a function mapping one
    value per distinct key to one per row) -- `unique(keys, return_inverse=True)` by a count
    over the key range (stack ids: small) instead of a sort of every row."""
    if keys.shape[0] and keys.dtype.kind in "iu" and int(keys.min()) >= 0 and int(keys.max()) < 1 << 24:
        ukey = np.flatnonzero(np.bincount(keys))

        def per_row(v: np.ndarray) -> np.ndarray:
            full = np.zeros(int(ukey[-1]) + 1, dtype=v.dtype)
            full[ukey] = v
            return full[keys]

        return ukey, per_row
    ukey, inv = unique(keys, return_inverse=True)
    return ukey, lambda v: v[inv]


def _accept_loop(ctx: _Ctx, rawio: np.ndarray, f: SyscallFeatures) -> None:
    """A hand-made listener's accept loop: how many connections it takes per second, how much
    of the window it is busy with other blocking syscalls (a hello read, a handshake: every
    connection arriving then waits in the backlog), and whether the connections it hands on
    are served with blocking raw I/O (a thread per connection). The dose of custom_listener."""
    sc = ctx.sc
    acc = (sc.fam == FAM_ACCEPT) & (sc.cls != CC_NETPOLLER)
    f.raw_accepts_per_s = round(int(acc.sum()) / ctx.dur_s, 6)
    if not acc.any():
        return
    loops = unique(sc.g[acc])
    busy = 0.0
    for g in loops.tolist():
        other = (sc.g == g) & ~acc
        busy = max(busy, float(sc.dur[other].sum()) / ctx.dur_ns)
    f.accept_loop_busy_share = round(min(busy, 1.0), 6)
    served = rawio & (sc.fam != FAM_ACCEPT) & ~np.isin(sc.g, loops) & (sc.dur >= BLOCKING_NS)
    f.raw_conn_blocking_io_count = int(served.sum())


def _blocked_conn_read(tl: Timelines, sc, nw: A.NetWaits) -> np.ndarray:
    """Read syscalls >= 1 ms made by internal/poll for a net conn (net.(*netFD) on the stack)
    by a goroutine that never parked on a netpoller read in the window.
    A conn registered with the netpoller is non-blocking: a read with no data returns EAGAIN
    at once and the goroutine parks, so a read that stays in the kernel this long means the fd
    was switched to blocking mode (by Fd(), SetNonblock(false) or fcntl), whenever that
    happened. A goroutine that did park on a read got that EAGAIN: its conn is non-blocking
    and its long reads are the thread descheduled by a loaded machine (the busy benchmark
    traces: 66..172 such reads a window, every one by such a goroutine; train rpcmux tag
    doses 15..196 by goroutines that never parked, the harness's tlsbypass 23..33). Writes are
    left out: a non-blocking write copies into the socket buffer and on train programs takes
    5-37 ms under GC or CPU starvation (fanout, framed). *os.File I/O (files, pipes, sockets
    wrapped blocking by os.NewFile) has no netFD frame: it blocks legitimately and is not counted."""
    if not len(sc):
        return np.zeros(0, bool)
    m = (sc.dur >= BLOCKING_NS) & (sc.fam == FAM_READ) & (sc.cls == CC_NETPOLLER)
    k = np.flatnonzero(m)  # the few long reads: the stack and goroutine lookups only for them
    if k.shape[0]:
        ok = tl.stacks.net_conn_io[sc.stk[k]]
        if nw.g.shape[0]:
            parked_read = np.zeros(tl.gor_id.shape[0], dtype=bool)  # per goroutine index, not isin's sort
            parked_read[tl.iv_gor[nw.iv[nw.side == SIDE_READ]]] = True
            ok &= ~parked_read[tl.iv_gor[sc.iv[k]]]
        m[k] = ok
    return m


def _write_run(ctx: _Ctx, wr: np.ndarray) -> Evidence:
    """The goroutine that made the most write syscalls, and its first few writes in a row."""
    sc = ctx.sc
    cnt = ctx.writes
    top = int(np.argmax(cnt))  # the first of the most, in goroutine id order
    g = int(ctx.tl.gor_id[top])
    ks = np.nonzero(wr & (sc.g == g))[0]
    ks = ks[np.argsort(sc.start[ks])][:5]
    n = int(cnt[top])
    return ctx.ev(f"goroutine {g} made {n} write syscalls ({n / ctx.dur_s:.0f}/s), one per flush",
                  g=g, start=sc.start[ks[0]], end=sc.end[ks[-1]], stk=int(sc.stk[ks[0]]),
                  chain=C.syscall_run_chain(ctx.cg, ks.tolist(), "write"))


def _max_concurrent(start: np.ndarray, end: np.ndarray) -> int:
    """Most intervals open at once, an end counting before a start at the same time: the
    running count peaks just after some start, where it is (starts so far) - (ends so far)."""
    if start.shape[0] == 0:
        return 0
    s, e = np.sort(start, kind="stable"), np.sort(end, kind="stable")  # runs already in order per goroutine
    fast = feat_kernel()
    if fast is not None:  # a merge walk instead of searchsorted
        return int(fast.max_open(np.ascontiguousarray(s, np.int64), np.ascontiguousarray(e, np.int64)))
    open_after = np.arange(1, s.shape[0] + 1) - np.searchsorted(e, s, side="right")
    return int(open_after.max())


# ----------------------------------------------------------------------------- fds
def fd_features(ctx: _Ctx) -> FdFeatures:
    tl, sc = ctx.tl, ctx.sc
    st = tl.stacks
    f = FdFeatures()
    raw_c, fin_c = ctx.user_io_close
    f.raw_close_count = int(raw_c.sum())
    f.finalizer_close_count = int(fin_c.sum())
    sb = st.set_blocking[sc.stk] if len(sc) else np.zeros(0, bool)
    dup = st.file_dup[sc.stk] if len(sc) else np.zeros(0, bool)
    if dup.any():  # a socket duplicated in the window may be among the files a child is handed
        sb = sb | st.set_blocking_for_child[sc.stk]
    f.set_blocking_count = int(sb.sum())
    f.file_dup_count = int(dup.sum())
    rawrw = _raw_user(sc, (FAM_READ, FAM_WRITE))
    f.raw_fd_io_count = int(rawrw.sum())
    nodes = ctx.cg.conns.nodes
    f.connections = sum(1 for n in nodes if n.kind == "conn")
    f.raw_closed_held_count = sum(1 for n in nodes if n.closed_by == "raw_user" and n.owner in ("net", "os.File"))
    f.user_fd_owner_close_count = sum(1 for n in nodes if n.owner == "user" and n.closed_by == "owner")
    f.os_file_wrapped_count = sum(1 for n in nodes if n.co_owner == "os.File")
    f.rawconn_borrowed_count = sum(1 for n in nodes if "RawConn" in n.borrowed)
    ev = []
    reuse = ctx.cg.conns.fd_reuse_nodes()
    for n in reuse[:MAX_EVIDENCE]:
        who = "a finalizer" if n.closed_by == "finalizer" else f"goroutine {n.closer_goroutine}"
        ev.append(ctx.ev(f"fd closed behind its owner by {who}: {n.relation}", g=n.closer_goroutine,
                         start=n.close_ns + tl.t0, stk=n.close_stack, chain=C.close_chain(ctx.cg, n)))
    for mask, what in ((raw_c, "fd closed with a raw close syscall from user code, outside net/os"),
                       (fin_c, "fd closed by a finalizer (an unreachable *os.File or conn was collected)"),
                       (sb, "socket switched to blocking mode ((*os.File).Fd / SetNonblock(false))"),
                       (dup, "socket fd duplicated ((*net.TCPConn).File / dup)"),
                       (rawrw, "raw read/write syscall on an fd from user code")):
        if mask.any():
            idx = np.nonzero(mask)[0][:3]
            for i in idx.tolist():
                ev.append(ctx.ev(f"{what}: {st.sys_call[int(sc.stk[i])]} from {st.sys_site[int(sc.stk[i])]}",
                                 g=int(sc.g[i]), start=sc.start[i], end=sc.end[i], stk=int(sc.stk[i]),
                                 chain=C.syscall_chain(ctx.cg, i)))
    f.evidence = ev
    return f


# ----------------------------------------------------------------------------- GC
def gc_features(ctx: _Ctx) -> GCFeatures:
    tl = ctx.tl
    c = tl.cols
    r = ctx.ranges
    f = GCFeatures()
    gcm = r.named(c, lambda s: s == "GC concurrent mark phase")
    stw = r.named(c, lambda s: s.startswith("stop-the-world"))
    assist = r.named(c, _is_assist)
    f.gc_count = int(gcm.sum())
    f.gc_per_s = round(f.gc_count / ctx.dur_s, 6)
    if gcm.any():
        cover = A.coverage(r.start[gcm], r.end[gcm])
        f.gc_time_share = round(float(cover(np.array([tl.t0]), np.array([tl.t_end]))[0]) / ctx.dur_ns, 6)
    f.stw = dist(r.end[stw] - r.start[stw])
    run_ns = tl.proc_running_ns
    if assist.any() and run_ns > 0:
        f.mark_assist_share = round(min(1.0, _assist_running_ns(tl, r, assist) / run_ns), 6)
    hid = c.string_id("/memory/classes/heap/objects:bytes")
    if hid >= 0:
        hm = (c.kind == K_METRIC) & (c.s1 == hid)
        if hm.any():
            f.heap_max_bytes = int(c.val[hm].max())
    ev = []
    if stw.any():
        idx = np.nonzero(stw)[0]
        for i in idx[np.argsort(-(r.end[idx] - r.start[idx]))[:3]].tolist():
            ev.append(ctx.ev(f"{c.strings[int(r.name[i])]}", g=int(r.rid[i]) if r.rk[i] == 1 else (),
                             start=r.start[i], end=r.end[i]))
    slow = _slowest_behind_runtime(ctx)
    if slow is not None:
        ev.append(slow)
    if f.gc_time_share > 0:
        ev.append(ctx.ev(f"{f.gc_count} GC cycles covered {100 * f.gc_time_share:.1f}% of the trace; mark assist "
                         f"{100 * f.mark_assist_share:.1f}% of goroutine running time", start=tl.t0, end=tl.t_end))
    f.evidence = ev
    return f


def _slowest_behind_runtime(ctx: _Ctx, n: int = 30) -> Evidence | None:
    """Among the n slowest wake-ups, the one whose wait for a P the runtime (GC workers) held
    longest, with its chain."""
    tl, wk = ctx.tl, ctx.cg.wakeups
    r = wk["runnable_iv"]
    if r.shape[0] == 0:
        return None
    best, best_ns = None, 0
    for k in smallest_first(-tl.iv_dur[r], n).tolist():
        # the runtime's share: the longest running interval of each runtime goroutine among the
        # holders (the chain's held-P steps), compared before building one chain
        rt = sum(int(tl.iv_end[ri]) - int(tl.iv_start[ri]) for g, _tot, _runs, ri in
                 C.wait_holders(ctx.cg, int(wk["wait_iv"][k])) if tl.gor_is_system[tl.gor_index(g)])
        if rt > best_ns:
            best, best_ns = k, rt
    if best is None:
        return None
    k = best
    chain = C.wait_chain(ctx.cg, int(wk["wait_iv"][k]))
    ri = int(r[k])
    return ctx.ev(f"goroutine {int(tl.iv_g[ri])} waited {tl.iv_dur[ri] / 1e6:.1f} ms for a P while runtime "
                  f"goroutines (GC workers) held the Ps", g=int(tl.iv_g[ri]), start=tl.iv_start[ri],
                  end=tl.iv_end[ri], chain=chain)


def _assist_running_ns(tl: Timelines, r: A.Ranges, assist: np.ndarray) -> float:
    """Running time inside goroutine-scoped mark-assist ranges (an assist range also spans the
    time its goroutine is parked waiting for assist work; only running time counts)."""
    run = tl.iv_state == G_RUNNING
    if not run.any():
        return 0.0
    span = tl.duration_ns + 1
    fast = feat_kernel()
    if fast is not None:
        got = _assist_running_compiled(fast, tl, r, assist, span)
        if got is not None:
            return got
    # each goroutine gets its own stretch of a virtual time axis: one coverage for all
    gi_run = tl.iv_gor[run]
    base = gi_run * span - tl.t0
    cover = A.coverage(tl.iv_start[run] + base, tl.iv_end[run] + base)
    gi, s, e = _assist_queries(tl, r, assist)
    b = gi * span - tl.t0
    return float(cover(s + b, e + b).sum())


def _is_assist(name: str) -> bool:
    return name == "GC mark assist"


def _assist_queries(tl: Timelines, r: A.Ranges, assist: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Goroutine-scoped assist ranges of known goroutines: (goroutine index, start, end)."""
    sel = assist & (r.rk == 1)
    g = r.rid[sel]
    gi = tl.gor_index(g).astype(np.int64)
    known = (gi < tl.gor_id.shape[0])
    known[known] &= tl.gor_id[gi[known]] == g[known]
    return gi[known], r.start[sel][known], r.end[sel][known]


def _assist_running_compiled(fast, tl: Timelines, r: A.Ranges, assist: np.ndarray, span: int,
                             rows_all: bool = False) -> float | None:
    """`_assist_running_ns` in one pass over the intervals (they are grouped by goroutine in
    time order, so the virtual axis needs no sort); None when they are not in that order.
    Only the intervals of goroutines with an assist range are passed: on the virtual axis each
    goroutine has its own stretch [gi * span, gi * span + duration], so an assist range (inside
    the window) is covered by its own goroutine's intervals only and the others add nothing
    (a window has a few assisting goroutines and ~800k intervals). When they hold most of the
    intervals (allocation-heavy handlers: busyalloc, 70% of a window's rows), every interval is
    passed as it is instead of gathered: the others' stretches add nothing either way."""
    gi, s, e = _assist_queries(tl, r, assist)
    b = gi * span - tl.t0
    i64 = np.int64
    rows = _rows_of_goroutines(tl, gi)
    if rows_all or 2 * rows.shape[0] > tl.iv_start.shape[0]:
        rows = slice(None)
    got = fast.cover_sum(np.ascontiguousarray(tl.iv_start[rows], i64), np.ascontiguousarray(tl.iv_end[rows], i64),
                         np.ascontiguousarray(s + b, i64), np.ascontiguousarray(e + b, i64),
                         np.ascontiguousarray(tl.iv_state[rows], np.int8), int(G_RUNNING),
                         np.ascontiguousarray(tl.iv_gor[rows], i64), int(span), int(tl.t0))
    return None if got is None else float(got)


def _rows_of_goroutines(tl: Timelines, gi: np.ndarray) -> np.ndarray:
    """The interval rows of the goroutines (indices) `gi`, grouped by goroutine in index order
    (each goroutine's rows are one contiguous block, `gor_first_iv`/`gor_n_iv`)."""
    ug = unique(gi) if gi.shape[0] else gi
    first, n = tl.gor_first_iv[ug].astype(np.int64), tl.gor_n_iv[ug].astype(np.int64)
    if ug.shape[0] == 0:
        return np.zeros(0, np.int64)
    # one arange over the blocks: each block's offset added to a running index
    off = np.repeat(first - np.concatenate(([0], np.cumsum(n)[:-1])), n)
    return np.arange(int(n.sum()), dtype=np.int64) + off


# ----------------------------------------------------------------------------- threads
def thread_features(ctx: _Ctx) -> ThreadFeatures:
    tl = ctx.tl
    f = ThreadFeatures()
    ms, t_first = tl.thread_first_seen
    f.max_threads = int(ms.shape[0])
    if ms.shape[0]:
        late = t_first > tl.t0 + 0.05 * ctx.dur_ns
        f.threads_created = int(late.sum())
        if f.threads_created:
            f.evidence = [ctx.ev(f"{f.threads_created} threads first seen after the first 5% of the trace "
                                 f"({f.max_threads} in all)", start=int(t_first[late].min()), end=tl.t_end)]
    return f


def conn_features(ctx: _Ctx) -> list[Conn]:
    return [Conn(**n.as_dict()) for n in ctx.cg.conns.nodes]


def compute_features(tl: Timelines, meta: dict | None = None, modules: list[str] | None = None,
                     cg: CausalGraph | None = None) -> Features:
    """`modules`: package path prefixes that are the user's code (`f.our_code`; inferred if None);
    `cg`: the causal graph of `tl` (built here when None)."""
    from .ourcode import our_code

    meta = meta or {}
    ctx = _Ctx(tl, cg if cg is not None else build_graph(tl))
    return Features(trace=trace_info(ctx, meta), network=network(ctx), scheduling=scheduling(ctx),
                    syscalls=syscall_features(ctx), fds=fd_features(ctx), gc=gc_features(ctx),
                    threads=thread_features(ctx), locks=lock_features(ctx, dist), our_code=our_code(tl, ctx.nw, ctx.sc, modules or ()),
                    conns=conn_features(ctx))
