"""`netpoll-diagnose inspect`: what a person first wants to know about a trace.

One pass over the event stream, holding only counters: version, span (trace clock and, where
the trace carries a clock snapshot (Go 1.25+), wall clock), events by kind, goroutines,
GOMAXPROCS over time, threads, GC cycles, generations, and what was lost if the file was cut.
"""
from __future__ import annotations

import datetime as _dt
from collections import Counter
from typing import Iterable

from pydantic import BaseModel, Field

from .event import Event, EventKind
from .resources import GoState, ResourceKind

GC_RANGE = "GC concurrent mark phase"
GOMAXPROCS_METRIC = "/sched/gomaxprocs:threads"
HEAP_METRIC = "/memory/classes/heap/objects:bytes"
NOT_EXIST = int(GoState.NotExist)
FAKE_P = 1_000_000  # old formats attribute timer/netpoll/syscall/GC work to P ids from here up


class TraceOverview(BaseModel):
    """The result of `inspect` (also its --json output)."""

    path: str
    go_version: str = Field(description="as in the header, e.g. 'go 1.26'")
    size_bytes: int
    events: int
    generations: int = Field(description="Go's reader emits a Sync before each generation and one at the end")
    start_ns: int = Field(description="trace clock of the first event")
    end_ns: int
    duration_ms: float
    wall_start: str | None = Field(None, description="RFC 3339 wall clock of the first event (Go 1.25+ traces)")
    wall_end: str | None = None
    events_by_kind: dict[str, int]
    goroutines: int = Field(description="distinct goroutine ids seen")
    goroutines_created: int
    goroutines_ended: int
    threads: int = Field(description="distinct thread (M) ids seen")
    procs: int = Field(description="distinct P ids seen (old formats' fake Ps excluded)")
    gomaxprocs: list[tuple[float, int]] = Field(description="(ms since start, value) at each change")
    gomaxprocs_inferred: bool = Field(
        False, description="no GOMAXPROCS metric in the trace (old formats): the count of Ps seen instead")
    gc_cycles: int
    stw_pauses: int
    heap_max_bytes: int
    user_tasks: int
    user_regions: int
    user_logs: int
    cpu_samples: int
    truncated: bool
    lost_bytes: int
    warnings: list[str]


def overview(reader, events: Iterable[Event] | None = None) -> TraceOverview:
    """Read every event of an open trace (`diagnose.read.open_trace`) and summarise it."""
    kinds: Counter[str] = Counter()
    goroutines: set[int] = set()
    threads: set[int] = set()
    procs: set[int] = set()
    created = ended = gc = stw = heap_max = 0
    gomaxprocs: list[tuple[int, int]] = []
    first = last = None
    wall_anchor = None  # (trace ns, wall ns)
    n = 0
    K = EventKind
    for ev in reader.events() if events is None else events:
        n += 1
        t = ev.time
        if t >= 0:  # old-format traces open with a Sync at time -1, as Go's converter emits it
            if first is None:
                first = t
            last = t
        kind = ev.kind
        kinds[kind.name] += 1
        if ev.g >= 0:
            goroutines.add(ev.g)
        if ev.m >= 0:
            threads.add(ev.m)
        if 0 <= ev.p < FAKE_P:
            procs.add(ev.p)
        if kind == K.StateTransition:
            st = ev.state_transition()
            if st.resource.kind == ResourceKind.Goroutine:
                goroutines.add(st.resource.id)
                frm, to = st.goroutine()
                if frm == NOT_EXIST and to != NOT_EXIST:
                    created += 1
                elif to == NOT_EXIST and frm != NOT_EXIST:
                    ended += 1
            elif st.resource.kind == ResourceKind.Proc and 0 <= st.resource.id < FAKE_P:
                procs.add(st.resource.id)
        elif kind == K.Metric:
            m = ev.metric()
            if m.name == GOMAXPROCS_METRIC:
                v = m.value.uint64()
                if not gomaxprocs or gomaxprocs[-1][1] != v:
                    gomaxprocs.append((t, v))
            elif m.name == HEAP_METRIC:
                heap_max = max(heap_max, m.value.uint64())
        elif kind == K.RangeBegin:
            name = ev.range_().name
            if name == GC_RANGE:
                gc += 1
            elif name.startswith("stop-the-world"):
                stw += 1
        elif kind == K.Sync and wall_anchor is None:
            snap = ev.sync().clock_snapshot
            if snap is not None:
                wall_anchor = (snap.trace, snap.wall_sec * 1_000_000_000 + snap.wall_nsec)
    first = first or 0
    last = last or 0
    inferred = not gomaxprocs and bool(procs)
    if inferred:
        gomaxprocs = [(first, len(procs))]
    return TraceOverview(
        path=str(reader.path or "<bytes>"),
        go_version=str(reader.version),
        size_bytes=reader.total_bytes,
        events=n,
        generations=max(kinds.get("Sync", 0) - 1, 0),
        start_ns=first,
        end_ns=last,
        duration_ms=(last - first) / 1e6,
        wall_start=wall_time(wall_anchor, first),
        wall_end=wall_time(wall_anchor, last),
        events_by_kind=dict(kinds.most_common()),
        goroutines=len(goroutines),
        goroutines_created=created,
        goroutines_ended=ended,
        threads=len(threads),
        procs=len(procs),
        gomaxprocs=[((tt - first) / 1e6, v) for tt, v in gomaxprocs],
        gomaxprocs_inferred=inferred,
        gc_cycles=gc,
        stw_pauses=stw,
        heap_max_bytes=heap_max,
        user_tasks=kinds.get("TaskBegin", 0),
        user_regions=kinds.get("RegionBegin", 0),
        user_logs=kinds.get("Log", 0),
        cpu_samples=kinds.get("StackSample", 0),
        truncated=reader.lost_bytes > 0,
        lost_bytes=reader.lost_bytes,
        warnings=list(reader.warnings),
    )


def wall_time(anchor: tuple[int, int] | None, t: int) -> str | None:
    """RFC 3339 wall clock of trace time `t`, from a (trace ns, wall ns) anchor (None: unknown)."""
    if anchor is None:
        return None
    ns = anchor[1] + (t - anchor[0])
    dt = _dt.datetime.fromtimestamp(ns // 1_000_000_000, tz=_dt.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % 1_000_000_000:09d}Z"


def render_text(o: TraceOverview) -> str:
    """Aligned `key: value` lines for a terminal."""
    rows: list[tuple[str, str]] = [
        ("trace", o.path),
        ("version", o.go_version),
        ("size", f"{o.size_bytes:,} bytes"),
        ("span", f"{o.duration_ms:.3f} ms (trace clock {o.start_ns} .. {o.end_ns} ns)"),
    ]
    if o.wall_start:
        rows.append(("wall clock", f"{o.wall_start} .. {o.wall_end}"))
    rows += [
        ("events", f"{o.events:,} in {o.generations} generation(s)"),
        ("goroutines", f"{o.goroutines} seen ({o.goroutines_created} created, {o.goroutines_ended} ended)"),
        ("threads", str(o.threads)),
        ("procs", str(o.procs)),
        ("GOMAXPROCS", (f"{o.gomaxprocs[0][1]} (no metric in this format: Ps seen)" if o.gomaxprocs_inferred
                        else ", ".join(f"{v} at {ms:.1f} ms" for ms, v in o.gomaxprocs)) or "not recorded"),
        ("GC cycles", f"{o.gc_cycles} (stop-the-world pauses: {o.stw_pauses})"),
        ("heap max", f"{o.heap_max_bytes:,} bytes" if o.heap_max_bytes else "not recorded"),
        ("user annotations", f"{o.user_tasks} tasks, {o.user_regions} regions, {o.user_logs} logs"),
        ("CPU samples", str(o.cpu_samples)),
        ("lost data", f"{o.lost_bytes:,} bytes (trace is truncated)" if o.truncated else "none"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
    lines.append("events by kind:")
    kw = max((len(k) for k in o.events_by_kind), default=0)
    lines += [f"  {k.ljust(kw)}  {v:>10,}" for k, v in o.events_by_kind.items()]
    return "\n".join(lines) + "\n"
