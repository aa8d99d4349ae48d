"""`inspect` from the columns: the same `TraceOverview` as `diagnose.read.inspect.overview` (the
per-event reference), counted with numpy over `TraceColumns` so that it runs through the
compiled reader (~Go's speed) rather than one Python `Event` per event, and over a big trace's
windows one at a time (`pipeline.columns_by_window`) in one window's memory.

Windows are whole generations read alone; concatenated, they are the whole trace's event stream
except that every window after the first opens with its generation's Sync, which the whole trace
has once, at the end of the window before -- so those first rows are skipped. The wall clock
comes from the trace's first clock snapshot (`read.strace.trace_clock_snapshot`: the columns do
not keep it), as the reference takes it from the first Sync that carries one.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ..read.inspect import FAKE_P, GC_RANGE, GOMAXPROCS_METRIC, HEAP_METRIC, TraceOverview, wall_time
from .columns import G_NOTEXIST, K_METRIC, K_RANGE_BEGIN, K_STATE, KIND_CODE, R_GOROUTINE, R_PROC, TraceColumns
from .grouping import stable_argsort, unique

KIND_NAME = {v: k for k, v in KIND_CODE.items()}


class OverviewCounter:
    """Counts `TraceOverview` over the columns of one trace, or of its windows in order."""

    def __init__(self) -> None:
        self.kinds = np.zeros(max(KIND_CODE.values()) + 1, np.int64)
        self.first_seen = np.full(self.kinds.shape[0], np.iinfo(np.int64).max, np.int64)  # row of each kind's first
        self.goroutines = np.zeros(0, np.int64)
        self.threads = np.zeros(0, np.int64)
        self.procs = np.zeros(0, np.int64)
        self.created = self.ended = self.gc = self.stw = 0
        self.heap_max = 0
        self.gomaxprocs: list[tuple[int, int]] = []
        self.first: int | None = None
        self.last: int | None = None
        self.n = 0
        self.meta: dict = {}
        self._windows = 0

    def add(self, cols: TraceColumns, continued: bool = False) -> None:
        """The next window's columns (or the whole trace's). `continued`: the rows go on from the
        last call's (an old-format trace's runs of rows, `timeline.scan_old_format`), with no
        opening Sync to skip."""
        skip = 1 if self._windows and len(cols) and not continued else 0  # the window's opening Sync: counted at the end of the last
        self._windows += 1
        self.meta = cols.meta
        kind = cols.kind[skip:]
        t = cols.t[skip:]
        ks, first_rows = unique(kind, return_index=True)
        self.first_seen[ks] = np.minimum(self.first_seen[ks], first_rows + self.n)
        self.n += kind.shape[0]
        self.kinds += np.bincount(kind, minlength=self.kinds.shape[0])[: self.kinds.shape[0]]
        ok = np.flatnonzero(t >= 0)  # old formats open with a Sync at time -1, as Go's converter emits it
        if ok.shape[0]:
            if self.first is None:
                self.first = int(t[ok[0]])
            self.last = int(t[ok[-1]])
        g, m, p = cols.g[skip:], cols.m[skip:], cols.p[skip:]
        rk, rid = cols.rk[skip:], cols.rid[skip:]
        st = kind == K_STATE
        gst = st & (rk == R_GOROUTINE)
        self.goroutines = np.union1d(self.goroutines, np.concatenate((g[g >= 0], rid[gst])))
        self.threads = np.union1d(self.threads, m[m >= 0])
        pst = st & (rk == R_PROC) & (rid >= 0) & (rid < FAKE_P)
        self.procs = np.union1d(self.procs, np.concatenate((p[(p >= 0) & (p < FAKE_P)], rid[pst])))
        frm, to = cols.sfrom[skip:][gst], cols.sto[skip:][gst]
        self.created += int(((frm == G_NOTEXIST) & (to != G_NOTEXIST)).sum())
        self.ended += int(((to == G_NOTEXIST) & (frm != G_NOTEXIST)).sum())
        s1 = cols.s1[skip:]
        strings = cols.strings
        met = np.flatnonzero(kind == K_METRIC)
        if met.shape[0]:
            names = np.array([strings[i] for i in s1[met].tolist()], dtype=object)
            vals = cols.val[skip:][met]
            for tt, v in zip(t[met[names == GOMAXPROCS_METRIC]].tolist(), vals[names == GOMAXPROCS_METRIC].tolist()):
                v = int(v)
                if not self.gomaxprocs or self.gomaxprocs[-1][1] != v:
                    self.gomaxprocs.append((int(tt), v))
            heap = vals[names == HEAP_METRIC]
            if heap.shape[0]:
                self.heap_max = max(self.heap_max, int(heap.max()))
        rb = np.flatnonzero(kind == K_RANGE_BEGIN)
        if rb.shape[0]:
            ids, counts = unique(s1[rb], return_counts=True)
            for sid, c in zip(ids.tolist(), counts.tolist()):
                name = strings[sid]
                if name == GC_RANGE:
                    self.gc += c
                elif name.startswith("stop-the-world"):
                    self.stw += c

    def overview(self, path: str, version: str, size: int, snapshot: tuple[int, int, int] | None) -> TraceOverview:
        """The overview, once every window was added. `snapshot`: the first clock snapshot
        (trace ns, wall sec, wall nsec), or None."""
        seen = [k for k in stable_argsort(self.first_seen).tolist() if self.kinds[k]]
        kinds = {KIND_NAME[k]: int(self.kinds[k]) for k in seen}  # in first-seen order, as a Counter fills
        by_kind = dict(sorted(kinds.items(), key=lambda kv: -kv[1]))  # Counter.most_common: stable on ties
        first, last = self.first or 0, self.last or 0
        gomaxprocs = self.gomaxprocs
        inferred = not gomaxprocs and bool(self.procs.shape[0])
        if inferred:
            gomaxprocs = [(first, int(self.procs.shape[0]))]
        anchor = None if snapshot is None else (snapshot[0], snapshot[1] * 1_000_000_000 + snapshot[2])
        lost = int(self.meta.get("lost_bytes") or 0)
        return TraceOverview(
            path=path, go_version=version, size_bytes=size, events=self.n,
            generations=max(kinds.get("Sync", 0) - 1, 0),
            start_ns=first, end_ns=last, duration_ms=(last - first) / 1e6,
            wall_start=wall_time(anchor, first), wall_end=wall_time(anchor, last),
            events_by_kind=by_kind,
            goroutines=int(self.goroutines.shape[0]), goroutines_created=self.created, goroutines_ended=self.ended,
            threads=int(self.threads.shape[0]), procs=int(self.procs.shape[0]),
            gomaxprocs=[((tt - first) / 1e6, v) for tt, v in gomaxprocs], gomaxprocs_inferred=inferred,
            gc_cycles=self.gc, stw_pauses=self.stw, heap_max_bytes=self.heap_max,
            user_tasks=kinds.get("TaskBegin", 0), user_regions=kinds.get("RegionBegin", 0),
            user_logs=kinds.get("Log", 0), cpu_samples=kinds.get("StackSample", 0),
            truncated=lost > 0, lost_bytes=lost, warnings=list(self.meta.get("warnings") or []),
        )


def overview_of_columns(parts: Iterable[TraceColumns], path: str, version: str, size: int,
                        snapshot: tuple[int, int, int] | None) -> TraceOverview:
    """`TraceOverview` of a trace given as its columns, or its windows' columns in order."""
    c = OverviewCounter()
    for cols in parts:
        c.add(cols)
    return c.overview(path, version, size, snapshot)
