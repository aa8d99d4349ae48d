"""Columns -> timelines: per-goroutine state intervals, per-P and per-thread occupancy.

All whole-column numpy: a stable sort of the goroutine transitions by goroutine id keeps
Go's order inside each goroutine, so "the next transition of the same goroutine" is simply
the next row. Status re-emissions at generation boundaries (`Waiting->Waiting`, ...) carry no
change of state; they are dropped from the interval boundaries but their stacks fill in
intervals that have none (Go >= 1.24 gives parked goroutines a stack only there).

Intervals (`iv_*`, one row per goroutine state interval, grouped by goroutine, in time order):

* `iv_g` goroutine, `iv_state` GoState code, `iv_reason` string id (Waiting reason,
  GoStop reason for Runnable), `iv_start`/`iv_end` ns (trace clock), `iv_open` true when the
  trace ended inside it (`iv_end` is then the trace end),
* `iv_ev`/`iv_end_ev` event rows that opened/closed it (-1 when open),
* `iv_stk` the goroutine's stack at the opening transition (filled from status stacks when
  the opening transition had none), `iv_cause_g`/`iv_cause_stk` who made the transition
  (creator, unblocker: the event's goroutine and stack), `iv_end_g`/`iv_end_stk` who closed
  it (for a Waiting interval: the waker; -1 = no goroutine: netpoller, timer or runtime),
* `iv_p`/`iv_m` proc and thread at the opening event (for Running: where it ran),
* `iv_prev`/`iv_next` index of the previous/next interval of the same goroutine (-1 none).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .columns import (G_NOTEXIST, G_RUNNABLE, G_RUNNING, G_SYSCALL, G_UNDETERMINED, G_WAITING, K_METRIC,
                      K_STATE, P_RUNNING, R_GOROUTINE, R_PROC, TraceColumns)
from .grouping import lex_order, run_starts, stable_argsort, unique
from .stacks import StackInfo


#: Go <= 1.21 traces use fake P ids from 1000000 up (timers, netpoll, syscalls, GC).
FAKE_P_BASE = 1_000_000


def ffill_index(mask: np.ndarray) -> np.ndarray:
    """For each row, the index of the latest row <= it where mask is true (-1 if none)."""
    idx = np.where(mask, np.arange(mask.shape[0]), -1)
    return np.maximum.accumulate(idx) if idx.shape[0] else idx


@dataclass(frozen=True)
class RunIndex:
    """The Running intervals (`Timelines.run_iv`) grouped by P, each P's in time order, as flat
    contiguous int64 arrays: P k's runs are rows `segoff[k]:segoff[k+1]`. On one P, Running
    intervals do not overlap, so `end_max` (the running max of the ends within the P) is sorted
    like `start`: the runs overlapping [a, b) are rows searchsorted(end_max, a, "right") up to
    searchsorted(start, b, "left")."""

    run: np.ndarray      # interval index of each run
    start: np.ndarray    # iv_start[run]
    end: np.ndarray      # iv_end[run]
    end_max: np.ndarray  # running max of `end` within each P's rows
    gor: np.ndarray      # goroutine index (iv_gor) of each run
    segoff: np.ndarray   # nP + 1 row offsets

    @property
    def n_procs(self) -> int:
        return int(self.segoff.shape[0]) - 1

    def segments(self):
        """(a, b) row ranges, one per P."""
        return zip(self.segoff[:-1].tolist(), self.segoff[1:].tolist())


@dataclass
class Timelines:
    cols: TraceColumns
    t0: int
    t_end: int
    # goroutine transitions in (goroutine, Go order), including status re-emissions
    tr_ev: np.ndarray
    # intervals
    iv_g: np.ndarray
    iv_state: np.ndarray
    iv_reason: np.ndarray
    iv_start: np.ndarray
    iv_end: np.ndarray
    iv_open: np.ndarray
    iv_ev: np.ndarray
    iv_end_ev: np.ndarray
    iv_stk: np.ndarray
    iv_cause_g: np.ndarray
    iv_cause_stk: np.ndarray
    iv_end_g: np.ndarray
    iv_end_stk: np.ndarray
    iv_p: np.ndarray
    iv_m: np.ndarray
    iv_prev: np.ndarray
    iv_next: np.ndarray
    iv_from: np.ndarray
    # goroutines (sorted by id)
    gor_id: np.ndarray
    gor_first_iv: np.ndarray
    gor_n_iv: np.ndarray
    extra: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ helpers
    @cached_property
    def stacks(self) -> StackInfo:
        return StackInfo(self.cols)

    @property
    def duration_ns(self) -> int:
        return int(self.t_end - self.t0)

    @cached_property
    def iv_dur(self) -> np.ndarray:
        return self.iv_end - self.iv_start

    def gor_index(self, g: np.ndarray | int) -> np.ndarray:
        return np.searchsorted(self.gor_id, g)

    def intervals_of(self, g: int) -> np.ndarray:
        i = int(np.searchsorted(self.gor_id, g))
        if i >= len(self.gor_id) or self.gor_id[i] != g:
            return np.zeros(0, dtype=np.int64)
        return np.arange(self.gor_first_iv[i], self.gor_first_iv[i] + self.gor_n_iv[i])

    # ------------------------------------------------------------------ goroutine facts
    @cached_property
    def gor_created(self) -> np.ndarray:
        """Created inside the trace (first transition from NotExist)."""
        return self.iv_from[self.gor_first_iv] == G_NOTEXIST

    @cached_property
    def gor_creator(self) -> np.ndarray:
        c = self.iv_cause_g[self.gor_first_iv]
        return np.where(self.gor_created, c, -1)

    @cached_property
    def gor_create_stk(self) -> np.ndarray:
        """Creator's stack at the `go` statement (0 if not created in the trace)."""
        return np.where(self.gor_created, self.iv_cause_stk[self.gor_first_iv], 0)

    @cached_property
    def gor_start_stk(self) -> np.ndarray:
        """First transition stack seen for the goroutine (Go's summary names it by its root)."""
        ev = self.tr_ev
        c = self.cols
        fast = self._scan_kernel(c.rid, self.gor_id)
        if fast is not None and c.tstk.dtype == np.int32 and c.tstk.flags.c_contiguous and ev.dtype in (np.int32,
                                                                                                    np.int64):
            out = np.zeros(self.gor_id.shape[0], dtype=np.int32)
            fast.first_stacks(np.ascontiguousarray(ev), c.rid, c.tstk, self.gor_id, out)  # one pass, no gathers
            return out
        tstk = self.cols.tstk[ev]
        has = np.flatnonzero(tstk > 0)
        # first row with a stack per goroutine: tr_ev is grouped by ascending goroutine id, so
        # only each group's first such row is looked up
        g = self.cols.rid[ev[has]]
        firsts = run_starts(g)
        out = np.zeros(self.gor_id.shape[0], dtype=np.int32)
        out[np.searchsorted(self.gor_id, g[firsts])] = tstk[has[firsts]]
        return out

    @cached_property
    def gor_name(self) -> list[str]:
        """Start location like `go tool trace`'s goroutine analysis: root frame of the first stack."""
        rf = self.stacks.root_func
        return [rf[s] if s > 0 else "" for s in self.gor_start_stk.tolist()]

    @cached_property
    def iv_gor(self) -> np.ndarray:
        """The goroutine index (into `gor_id`) of every interval: intervals are grouped by
        goroutine, so this is a repeat, not a search."""
        return np.repeat(np.arange(self.gor_id.shape[0], dtype=np.int64), self.gor_n_iv)

    @cached_property
    def gor_state_ns(self) -> np.ndarray:
        """(n_goroutines, 6) ns spent in each GoState inside the trace."""
        got = self._gor_states_compiled()
        if got is not None:
            return got[0]
        n = self.gor_id.shape[0]
        return np.bincount(self._gor_state_cell(), weights=self.iv_dur, minlength=n * 6).astype(np.int64).reshape(n, 6)

    @cached_property
    def gor_state_counts(self) -> np.ndarray:
        """(n_goroutines, 6) number of intervals in each GoState (syscalls made, waits...)."""
        got = self._gor_states_compiled()
        if got is not None:
            return got[1]
        n = self.gor_id.shape[0]
        return np.bincount(self._gor_state_cell(), minlength=n * 6).reshape(n, 6)

    def _gor_state_cell(self) -> np.ndarray:
        """Each interval's (goroutine index, state) cell of the per-goroutine state tables."""
        return self.iv_gor * 6 + self.iv_state.astype(np.int64)

    def _gor_states_compiled(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(gor_state_ns, gor_state_counts) from one compiled pass over the intervals
        (`_fastscan.gor_states`), or None: the numpy code runs. The ns are summed as integers:
        numpy's float64 bincount of these integer durations is exact (sums far below 2^53 ns),
        so the values are the same."""
        if "_gor_states_fast" not in self.__dict__:
            got = None
            fast = self._scan_kernel(self.iv_start, self.iv_end, self.gor_n_iv)
            if fast is not None and self.iv_state.dtype == np.int8:
                n = self.gor_id.shape[0]
                ns, cnt = np.zeros((n, 6), np.int64), np.zeros((n, 6), np.int64)
                if fast.gor_states(self.iv_state, self.iv_start, self.iv_end, self.gor_n_iv, 6, ns, cnt):
                    got = ns, cnt
            self.__dict__["_gor_states_fast"] = got
        return self.__dict__["_gor_states_fast"]

    # ------------------------------------------------------------------ run bursts
    @cached_property
    def burst_id(self) -> np.ndarray:
        """Run bursts: consecutive Running/Runnable intervals of a goroutine, broken by blocking.

        Preemption and Gosched keep a burst going; Waiting, Syscall and exit end it.
        """
        fast = self._scan_kernel(self.iv_g, self.iv_dur)
        if fast is not None:  # one pass for both (_fastscan.bursts), same arrays
            bid = np.empty(self.iv_g.shape[0], np.int64)
            self.__dict__["burst_run_ns"] = np.frombuffer(
                fast.bursts(self.iv_g, self.iv_state, self.iv_dur, G_RUNNING, G_RUNNABLE, bid), np.int64).copy()
            return bid
        st = self.iv_state
        new_g = run_starts(self.iv_g)
        brk = new_g | ~((st == G_RUNNING) | (st == G_RUNNABLE))
        return np.cumsum(brk) - 1

    @cached_property
    def burst_run_ns(self) -> np.ndarray:
        """Running ns of each run burst (`burst_id`)."""
        bid = self.burst_id  # the compiled pass fills burst_run_ns with it
        if "burst_run_ns" in self.__dict__:
            return self.__dict__["burst_run_ns"]
        run = np.where(self.iv_state == G_RUNNING, self.iv_dur, 0)
        return np.bincount(bid, weights=run).astype(np.int64) if run.shape[0] else np.zeros(0, np.int64)

    @staticmethod
    def _scan_kernel(*int64s: np.ndarray):
        """The compiled scans when built, not switched off, and the int64 arrays given are
        contiguous int64 (else None: the numpy code runs)."""
        from .analysis import scan_kernel

        fast = scan_kernel()
        if fast is None or any(a.dtype != np.int64 or not a.flags.c_contiguous for a in int64s):
            return None
        return fast

    def _cpu_mask(self, threshold_ns: int, user_only: bool) -> np.ndarray | None:
        """cpu_bound_mask in one compiled pass (`_fastscan.cpu_masks`), or None."""
        fast = self._scan_kernel(self.iv_dur, self.iv_gor, self.burst_id, self.burst_run_ns)
        if fast is None or self.iv_state.dtype != np.int8:
            return None
        out = np.empty(self.iv_g.shape[0], dtype=bool)
        fast.cpu_masks(self.iv_state, self.iv_dur, self.iv_gor, self.burst_id, self.burst_run_ns,
                       np.ascontiguousarray(self.gor_is_system), int(threshold_ns), G_RUNNING,
                       int(bool(user_only)), out)
        return out

    @cached_property
    def gor_is_system(self) -> np.ndarray:
        """Runtime goroutines (Go's IsSystemGoroutine: entry runtime.* other than runtime.main)."""
        return np.array([(n == "" or (n != "runtime.main" and n.startswith("runtime."))) for n in self.gor_name],
                        dtype=bool)

    def cpu_bound_mask(self, threshold_ns: int = 10_000_000, user_only: bool = True) -> np.ndarray:
        """Running intervals that belong to a burst with >= threshold of running time.

        `user_only`: leave out runtime goroutines (GC workers, sweeper): GC has its own features.
        """
        if not self.iv_g.shape[0]:
            return np.zeros(0, dtype=bool)
        memo = self.__dict__.setdefault("_cpu_bound", {})  # the hog mask starts from it: computed once
        key = (int(threshold_ns), bool(user_only))
        if key not in memo:
            m = self._cpu_mask(threshold_ns, user_only)
            if m is None:
                m = (self.iv_state == G_RUNNING) & (self.burst_run_ns[self.burst_id] >= threshold_ns)
                if user_only:
                    m &= ~self.gor_is_system[self.iv_gor]
            memo[key] = m
        return memo[key]

    def cpu_hog_mask(self, threshold_ns: int = 10_000_000, min_share: float = 0.10) -> np.ndarray:
        """Running intervals of CPU hogs: user goroutines whose >= threshold bursts add up to at
        least `min_share` of their time in the trace (and to at least `threshold_ns`).

        A single long Running interval can also be the OS descheduling a thread on a loaded
        machine (the goroutine stays Running to Go); a hog keeps the CPU over and over.
        """
        m = self.cpu_bound_mask(threshold_ns)
        if not m.any():
            return m.copy()
        # the few CPU-bound intervals, not every interval: their goroutines' busy time, and each
        # goroutine's life from its time per state (after exit its time no longer counts)
        idx = np.flatnonzero(m)
        gi = self.iv_gor[idx]
        busy = np.bincount(gi, weights=self.iv_dur[idx], minlength=self.gor_id.shape[0])
        state_ns = self.gor_state_ns
        life = (state_ns.sum(axis=1) - state_ns[:, G_NOTEXIST]).astype(np.float64)
        hog = (busy >= threshold_ns) & (busy >= min_share * np.maximum(life, 1.0))
        out = np.zeros(m.shape[0], dtype=bool)
        out[idx[hog[gi]]] = True
        return out

    # ------------------------------------------------------------------ procs
    @cached_property
    def run_iv(self) -> np.ndarray:
        """Indices of Running intervals sorted by (proc, start)."""
        ri = self._run_index_compiled()
        if ri is not None:
            return ri.run
        r = np.nonzero(self.iv_state == G_RUNNING)[0]
        order = lex_order(self.iv_p[r], self.iv_start[r])
        return r[order]

    @cached_property
    def run_index(self) -> RunIndex:
        """The Running intervals split by P once (`RunIndex`): the held-P queries (graph,
        analysis) ask "who ran in [a, b)" with two binary searches per P instead of splitting
        and gathering again on every call."""
        ri = self._run_index_compiled()
        if ri is not None:
            return ri
        run = self.run_iv
        n = run.shape[0]
        rp = self.iv_p[run]
        cut = np.flatnonzero(rp[1:] != rp[:-1]) + 1 if n else np.zeros(0, np.int64)
        segoff = np.concatenate(([0], cut, [n])).astype(np.int64) if n else np.zeros(1, np.int64)
        start = np.ascontiguousarray(self.iv_start[run], dtype=np.int64)
        end = np.ascontiguousarray(self.iv_end[run], dtype=np.int64)
        end_max = np.empty(n, np.int64)
        for a, b in zip(segoff[:-1].tolist(), segoff[1:].tolist()):
            np.maximum.accumulate(end[a:b], out=end_max[a:b])
        return RunIndex(run=np.ascontiguousarray(run, dtype=np.int64), start=start, end=end, end_max=end_max,
                        gor=np.ascontiguousarray(self.iv_gor[run], dtype=np.int64), segoff=segoff)

    def _run_index_compiled(self) -> RunIndex | None:
        """`run_index` (and with it `run_iv`) from one compiled pass (`_fastscan.run_index`: the
        running rows bucketed by P, each P's radix-sorted by start), or None when the compiled
        scans are not in use or the P ids span too wide a range: the numpy code runs."""
        if "_run_index_fast" not in self.__dict__:
            got = None
            fast = self._scan_kernel(self.iv_p, self.iv_start, self.iv_end, self.iv_gor)
            if fast is not None and self.iv_state.dtype == np.int8:
                n = int(np.count_nonzero(self.iv_state == G_RUNNING))
                out = [np.empty(n, np.int64) for _ in range(5)]
                seg = fast.run_index(self.iv_state, self.iv_p, self.iv_start, self.iv_end, self.iv_gor,
                                     int(G_RUNNING), *out)
                if seg is not None:
                    got = RunIndex(run=out[0], start=out[1], end=out[2], end_max=out[3], gor=out[4],
                                   segoff=np.frombuffer(seg, np.int64).copy())
            self.__dict__["_run_index_fast"] = got
        return self.__dict__["_run_index_fast"]

    def run_blocks(self):
        """Block summaries of `run_index` for the compiled held-P scans (`_fastscan.run_blocks`:
        an opaque capsule, built on first use, then shared by every window asked about), or None
        when the compiled scans are not in use."""
        blocks = self.__dict__.get("_run_blocks")
        if blocks is None:
            fast = self._scan_kernel()
            if fast is None:
                return None
            ri = self.run_index
            blocks = self.__dict__["_run_blocks"] = fast.run_blocks(ri.start, ri.end, ri.gor, ri.segoff,
                                                                     int(self.gor_id.shape[0]))
        return blocks

    @cached_property
    def _col_runs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """(thread change rows, P change rows, P transition rows, metric rows) of the event
        columns from one compiled pass (`_fastscan.col_runs`), or None: each user below then
        runs its own numpy passes, the reference."""
        c = self.cols
        fast = self._scan_kernel(c.m, c.p)
        if fast is None or c.kind.dtype != np.uint8 or c.rk.dtype != np.uint8:
            return None
        return tuple(np.frombuffer(b, np.int64) for b in fast.col_runs(c.m, c.p, c.kind, c.rk, K_STATE, R_PROC,
                                                                        K_METRIC))

    def _proc_rows(self) -> np.ndarray:
        """Rows of the P state transitions."""
        runs = self._col_runs
        if runs is not None:
            return runs[2]
        c = self.cols
        return np.flatnonzero((c.kind == K_STATE) & (c.rk == R_PROC))

    @cached_property
    def procs(self) -> np.ndarray:
        """P ids seen in the trace; not the fake Ps (>= 1000000) of converted Go <= 1.21 traces."""
        c = self.cols
        # the P column comes in runs (an M's batch of events on one P): each distinct P starts a
        # run, so only the run starts are looked at, not every event
        runs = self._col_runs
        if runs is not None:
            p_runs = c.p[runs[1]]
        else:
            p_runs = c.p[run_starts(c.p)] if c.p.shape[0] else c.p
        ps = unique(np.concatenate([c.rid[self._proc_rows()], p_runs[p_runs >= 0]]))
        return ps[(ps >= 0) & (ps < FAKE_P_BASE)]

    @cached_property
    def threads(self) -> np.ndarray:
        """Thread (M) ids seen in the trace, ascending."""
        return self.thread_first_seen[0]

    @cached_property
    def thread_first_seen(self) -> tuple[np.ndarray, np.ndarray]:
        """(thread ids ascending, time of each one's first event). A thread's first event starts
        a run of its events, so only the points where the thread column changes are searched,
        not every event (a sort of millions of rows otherwise)."""
        m = self.cols.m
        runs = self._col_runs
        if runs is not None:
            cand = runs[0]
        else:
            chg = np.empty(m.shape[0], dtype=bool)
            if m.shape[0]:
                chg[0] = True
                np.not_equal(m[1:], m[:-1], out=chg[1:])
            chg &= m >= 0
            cand = np.flatnonzero(chg)  # a thread's first row is one of these (the row before differs)
        if cand.shape[0] == 0:
            return m[cand], self.cols.t[cand]
        ids, first = unique(m[cand], return_index=True)
        return ids, self.cols.t[cand[first]]

    @cached_property
    def gomaxprocs_changes(self) -> list[tuple[int, int]]:
        """(time since t0 ns, GOMAXPROCS) whenever it changes; from the metric, else counted Ps."""
        c = self.cols
        sid = c.string_id("/sched/gomaxprocs:threads")
        out: list[tuple[int, int]] = []
        if sid >= 0:
            runs = self._col_runs
            if runs is not None:  # the few metric rows, then their name
                mm = runs[3][c.s1[runs[3]] == sid]
            else:
                mm = (c.kind == K_METRIC) & (c.s1 == sid)
            ts, vs = c.t[mm], c.val[mm].astype(np.int64)
            if ts.shape[0]:
                keep = np.ones(ts.shape[0], dtype=bool)
                keep[1:] = vs[1:] != vs[:-1]
                out = [(int(t - self.t0), int(v)) for t, v in zip(ts[keep], vs[keep])]
        if not out:
            n = int(self.procs.shape[0])
            if n:
                out = [(0, n)]
        return out

    def running_on_proc(self, p: int) -> np.ndarray:
        """Running interval indices on proc `p`, in time order (goroutine = iv_g[...])."""
        r = self.run_iv
        return r[self.iv_p[r] == p]

    @cached_property
    def proc_running_ns(self) -> int:
        """Total ns with some goroutine Running (all Ps summed): from the running intervals
        already gathered by P (`run_index`), not another pass over every interval."""
        ri = self.run_index
        return int((ri.end - ri.start).sum())

    @cached_property
    def proc_steals(self) -> np.ndarray:
        """Event rows of ProcSteal: a P taken Running->Idle by another context."""
        c = self.cols
        rows = self._proc_rows()  # the few P transitions, then their fields
        m = (c.sto[rows] != P_RUNNING) & (c.sfrom[rows] == P_RUNNING) & (c.p[rows] != c.rid[rows])
        return rows[m]

    def network_reason_id(self) -> int:
        return self.cols.string_id("network")


def index_dtype(n: int) -> type:
    """The narrowest signed type for row indices into an array of `n` rows (and -1): int32 halves
    the index arrays' memory for any trace below 2^31 events."""
    return np.int32 if n < 2**31 - 1 else np.int64


def _group_order(keys: np.ndarray) -> np.ndarray:
    """Stable argsort of `keys` (rows grouped by key, original order kept inside a group)."""
    if not keys.shape[0]:
        return np.zeros(0, dtype=np.int64)
    return stable_argsort(keys)


#: the columns timelines_scan reads, and the dtypes of what it writes (timeline order)
_SCAN_COLUMNS = ("t", "g", "stk", "tstk", "p", "m", "s1", "sfrom", "sto")
_SCAN_TYPES = (np.int64, np.int64, np.int32, np.int32, np.int64, np.int64, np.int32, np.uint8, np.uint8)
_SCAN_OUT = (np.int32, np.int64, np.int64, np.int64, np.bool_, np.int32, np.int32, np.int64, np.int32, np.int64,
             np.int32, np.int64, np.int64, np.int32, np.int32, np.int32, np.int8, np.int8)


def _compiled_scan(cols: TraceColumns, ev: np.ndarray, gid: np.ndarray):
    """The compiled module when it can take these columns (built, not NETPOLL_DIAGNOSE_PURE,
    the usual dtypes, contiguous, int32 row indices), else None: the numpy code runs."""
    from .analysis import scan_kernel

    fast = scan_kernel()
    if fast is None or ev.dtype != np.int32 or gid.dtype != np.int64 or ev.shape[0] >= 2**31 - 2:
        return None
    for name, dt in zip(_SCAN_COLUMNS, _SCAN_TYPES):
        a = getattr(cols, name)
        if a.dtype != dt or not a.flags.c_contiguous:
            return None
    return fast


def _intervals(cols: TraceColumns, ev: np.ndarray, gid: np.ndarray, t_end: int, idx_t):
    """The intervals' arrays from the transition rows grouped by goroutine (numpy; the
    reference of `_fastscan.timelines_scan`)."""
    sfrom = cols.sfrom[ev]
    sto = cols.sto[ev]
    first_g = run_starts(gid)
    real = (sfrom != sto) | first_g  # boundaries of intervals
    bev = ev[real]
    bg = gid[real]
    nb = bev.shape[0]
    # same[i]: interval i + 1 belongs to the same goroutine as interval i (its next one); what
    # is "of the next interval" is a shifted slice where `same`, a default elsewhere
    same = bg[1:] == bg[:-1]
    nb_t = index_dtype(nb + 1)
    nxt = np.full(nb, -1, dtype=nb_t)
    prv = np.full(nb, -1, dtype=nb_t)
    if nb > 1:
        nxt[:-1] = np.where(same, np.arange(1, nb, dtype=nb_t), -1)
        prv[1:] = np.where(same, np.arange(0, nb - 1, dtype=nb_t), -1)

    def next_or(a: np.ndarray, default: int) -> np.ndarray:
        out = np.full(nb, default, dtype=a.dtype)
        if nb > 1:
            out[:-1] = np.where(same, a[1:], default)
        return out

    end_ev = next_or(bev, -1)
    start = cols.t[bev]
    iv_open = nxt < 0
    end = next_or(start, t_end)
    cause_g = cols.g[bev]
    cause_stk = cols.stk[bev]
    end_g = next_or(cause_g, -1)
    end_stk = next_or(cause_stk, 0)
    # stacks: the opening transition's stack; else first status stack inside the interval
    stk = cols.tstk[bev].astype(np.int32)
    row_tstk = cols.tstk[ev]
    cand = (~real) & (row_tstk > 0)
    if cand.any():
        ivs = (np.cumsum(real, dtype=index_dtype(nb + 1)) - 1)[cand]  # interval of each candidate row
        vals = row_tstk[cand]
        firsts = run_starts(ivs)
        ivs, vals = ivs[firsts], vals[firsts]
        missing = stk[ivs] == 0
        stk[ivs[missing]] = vals[missing]
    # intervals that start with a status event and have no transition stack: the event stack
    # of GoStatusStack is the same stack (Event.Stack() of a status event)
    nostk = np.flatnonzero(stk == 0)
    if nostk.shape[0]:
        b = bev[nostk]
        stk[nostk] = np.where(cols.sfrom[b] == cols.sto[b], cols.stk[b], 0)
    iv_state = sto[real].astype(np.int8)
    # drop NotExist intervals (after exit) from the goroutine's life? keep them: they are cheap
    # and keep iv_prev/iv_next simple; analyses filter by state.
    return (bev, bg, start, end, iv_open, end_ev, stk, cause_g, cause_stk, end_g, end_stk, cols.p[bev], cols.m[bev],
            cols.s1[bev], nxt, prv, iv_state, sfrom[real].astype(np.int8), nb_t)


def build_timelines(cols: TraceColumns) -> Timelines:
    """Goroutine state intervals from the columns (vectorised).

    Row indices (`tr_ev`, `iv_ev`, `iv_end_ev`, `iv_prev`, `iv_next`, `gor_first_iv`) are int32
    below 2^31 rows; everything "of the next interval" is read from the interval arrays themselves
    (a shift by one inside a goroutine) rather than gathered again from the event columns."""
    n = len(cols)
    t0 = int(cols.t.min()) if n else 0
    t_end = int(cols.t.max()) if n else 0
    idx_t = index_dtype(n)
    ev = np.flatnonzero((cols.kind == K_STATE) & (cols.rk == R_GOROUTINE)).astype(idx_t)
    gid = cols.rid[ev]
    order = _group_order(gid)
    ev = ev[order]
    gid = gid[order]
    del order
    scan = _compiled_scan(cols, ev, gid)
    if scan is not None:
        out = tuple(np.empty(ev.shape[0], dt) for dt in _SCAN_OUT)  # the first nb rows are filled
        nb = int(scan.timelines_scan(ev, gid, tuple(getattr(cols, c) for c in _SCAN_COLUMNS), t_end, out))
        (bev, bg, start, end, iv_open, end_ev, stk, cause_g, cause_stk, end_g, end_stk, iv_p, iv_m, iv_reason,
         nxt, prv, iv_state, iv_from) = (a[:nb] for a in out)
        nb_t = index_dtype(nb + 1)
    else:
        (bev, bg, start, end, iv_open, end_ev, stk, cause_g, cause_stk, end_g, end_stk, iv_p, iv_m, iv_reason,
         nxt, prv, iv_state, iv_from, nb_t) = _intervals(cols, ev, gid, t_end, idx_t)
        nb = bev.shape[0]
    # goroutines: bg is grouped by ascending id, so each group's first row is its first interval
    first_iv = np.flatnonzero(run_starts(bg)).astype(nb_t) if nb else np.zeros(0, dtype=nb_t)
    gor_id = bg[first_iv]
    n_iv = np.diff(np.append(first_iv, nb)).astype(np.int64)
    return Timelines(
        cols=cols, t0=t0, t_end=t_end, tr_ev=ev,
        iv_g=bg, iv_state=iv_state, iv_reason=iv_reason, iv_start=start, iv_end=end, iv_open=iv_open,
        iv_ev=bev, iv_end_ev=end_ev, iv_stk=stk,
        iv_cause_g=cause_g, iv_cause_stk=cause_stk, iv_end_g=end_g, iv_end_stk=end_stk,
        iv_p=iv_p, iv_m=iv_m, iv_prev=prv, iv_next=nxt,
        iv_from=iv_from,
        gor_id=gor_id, gor_first_iv=first_iv, gor_n_iv=n_iv,
    )


# Re-exported state codes for convenience
__all__ = ["RunIndex", "Timelines", "build_timelines", "ffill_index", "G_UNDETERMINED", "G_NOTEXIST", "G_RUNNABLE",
           "G_RUNNING", "G_WAITING", "G_SYSCALL"]
