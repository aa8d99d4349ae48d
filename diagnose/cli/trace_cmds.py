"""Commands that show a trace's data rather than a diagnosis: dump, inspect, features, profile."""
from __future__ import annotations

import gzip
import sys
import tempfile
from enum import Enum
from typing import Annotated

import typer

from .. import pipeline
from ..read import render_overview, trace_clock_snapshot
from ..timeline import OverviewCounter, scan_old_format
from ..report import WindowedRecords, build_profile, compute_records, features_text, folded
from .common import (DataFormat, DataFormatOpt, JsonAliasOpt, MaxBytesOpt, OutputOpt, TraceArg, load_rules,
                     write_output)

PROG = "netpoll-diagnose"



class ProfileKind(str, Enum):
    net = "net"
    sync = "sync"
    syscall = "syscall"
    sched = "sched"


def _warn(display: str, warnings: list[str]) -> None:
    for w in warnings:
        sys.stderr.write(f"{PROG}: {display}: warning: {w}\n")


def dump(trace: TraceArg, max_bytes: MaxBytesOpt = None) -> None:
    """Print every event as `go tool trace -d=parsed TRACE` (Go 1.27.3) does, line for line.

    A trace cut short prints its complete generations and a warning on stderr (exit 0).
    """
    warnings: list[str] = []
    with pipeline.open_input(trace, max_bytes=max_bytes) as inp:
        pipeline.refuse_too_many_events(inp)
        out = sys.stdout.buffer
        try:
            warnings = pipeline.dump(inp, out)
        finally:
            out.flush()
    _warn(inp.display, warnings)


def inspect(trace: TraceArg, format: DataFormatOpt = DataFormat.text, json_out: JsonAliasOpt = False,
            max_bytes: MaxBytesOpt = None) -> None:
    """What a trace holds: version, span, events by kind, goroutines, GOMAXPROCS, threads, GC, lost data.

    Counted over the columns (the compiled reader when built); a big Go 1.22+ trace window by
    window, in one window's memory; an older one a run of rows at a time as the compiled reader
    converts it (its rows never held at once)."""
    with pipeline.open_input(trace, max_bytes=max_bytes) as inp:
        pipeline.refuse_too_many_events(inp)
        plan = pipeline.plan_windows(inp)
        counters = [OverviewCounter()]  # a new one if the compiled reader restarts from the reference
        meta = None if plan is not None else scan_old_format(
            inp.path, lambda c: counters[-1].add(c, continued=True), lambda: counters.append(OverviewCounter()))
        counter = counters[-1]
        if meta is not None:
            counter.meta = meta
        else:
            for cols in ([pipeline.read_columns(inp)] if plan is None else pipeline.columns_by_window(inp, plan)):
                counter.add(cols)
        snapshot = trace_clock_snapshot(inp.path) if int(counter.meta.get("format_minor") or 0) >= 25 else None
        o = counter.overview(inp.display, str(counter.meta.get("go_version", "")), inp.size, snapshot)
    as_json = json_out or format == DataFormat.json
    write_output(o.model_dump_json(indent=2) + "\n" if as_json else render_overview(o), None)
    _warn(inp.display, o.warnings)


def features(trace: TraceArg, format: DataFormatOpt = DataFormat.text, json_out: JsonAliasOpt = False,
             output: OutputOpt = None, max_bytes: MaxBytesOpt = None) -> None:
    """The typed features rules test (network waits, scheduling, syscalls, fds, GC, threads).

    A big trace is analysed in windows, as the main command does (generations of a Go 1.22+
    trace, windows of events of an older one): the features shown are those of the window the
    diagnosis rests on (named on stderr)."""
    with pipeline.open_input(trace, max_bytes=max_bytes) as inp:
        if pipeline.plan_windows(inp) is None and not pipeline.plan_row_windows(inp):
            f = pipeline.analyse(inp).features
        else:
            run = pipeline.diagnose_trace(inp, load_rules(None))
            f = run.window_features or run.features
            if run.window is not None:
                w = f.trace.windows[run.window]
                sys.stderr.write(f"{PROG}: {inp.display}: features of window {run.window + 1} of {len(f.trace.windows)}"
                                 f" ({w.start_ms:.0f}-{w.end_ms:.0f} ms), the one the diagnosis rests on\n")
    as_json = json_out or format == DataFormat.json
    write_output(f.model_dump_json(indent=2) + "\n" if as_json else features_text(f), output)


def profile(
    trace: TraceArg,
    kind: Annotated[ProfileKind, typer.Option("--kind", "-k", help="net: network waits; sync: chan/sync/select "
                                              "waits; syscall; sched: runnable-to-running delay.")] = ProfileKind.net,
    output: OutputOpt = None,
    folded_out: Annotated[bool, typer.Option("--folded", help="write folded stacks for flame-graph tools instead")]
    = False,
    max_bytes: MaxBytesOpt = None,
) -> None:
    """Write a pprof profile of goroutine waits, as `go tool trace -pprof=KIND` does.

    The profile is a gzipped profile.proto that `go tool pprof` opens; its totals match Go's.
    A big trace is read window by window (generations of a Go 1.22+ trace, windows of events of
    an older one, as the main command cuts them), in one window's memory, with the same records.
    """
    with pipeline.open_input(trace, max_bytes=max_bytes) as inp:
        plan = pipeline.plan_windows(inp)
        per_window = pipeline.plan_row_windows(inp) if plan is None else 0
        if plan is None and not per_window:
            rec = compute_records(pipeline.read_columns(inp), kind.value)
        else:
            acc = WindowedRecords(kind.value)
            if per_window:
                with tempfile.TemporaryDirectory(prefix="netpoll-diagnose-windows-") as spill:
                    rows = pipeline.read_row_windows(inp, per_window, spill)
                    for k in range(len(rows)):
                        acc.add(rows.columns(k))
            else:
                for cols in pipeline.columns_by_window(inp, plan):
                    acc.add(cols)
            rec = acc.records()
    data = folded(rec).encode() if folded_out else gzip.compress(build_profile(rec).SerializeToString())
    write_output(data, output)


def register(app: typer.Typer) -> None:
    app.command("dump")(dump)
    app.command("inspect")(inspect)
    app.command("features")(features)
    app.command("profile")(profile)
