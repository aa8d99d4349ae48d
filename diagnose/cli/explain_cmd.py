"""`netpoll-diagnose explain TRACE --goroutine N | --conns`: the causal graph, read by a person.

Every chain of one goroutine (its waits, who woke it, what held the P, its syscalls), or the
connections and descriptors with origin, owner, closer and close time (diagnose/report/explain.py).

A big trace (one the diagnosis cuts into windows: `pipeline.plan_windows` for Go 1.22+,
windows of events for older formats, `pipeline.plan_row_windows`) is explained window by
window, in one window's memory: `--goroutine N` shows the first
EXPLAIN_WINDOWS windows the goroutine has events in (and names the others), `--conns` the first
window; `--window K` picks one. Times count from the trace's start in every window, but each
window is analysed alone: a wait that crosses a window's edge shows cut at it.
"""
from __future__ import annotations

import json
import tempfile
from typing import Annotated, Any, Callable, Optional

import typer

from .. import pipeline
from ..errors import UsageError
from ..report import goroutine_chains, goroutine_json, render_conns, render_goroutine
from .common import DataFormat, DataFormatOpt, JsonAliasOpt, MaxBytesOpt, TraceArg

#: windows of a big trace shown for one goroutine unless --window picks one
EXPLAIN_WINDOWS = 3


def explain(
    trace: TraceArg,
    goroutine: Annotated[Optional[int], typer.Option("--goroutine", "-g", help="every chain of this goroutine")] = None,
    conns: Annotated[bool, typer.Option("--conns", help="list connections and descriptors")] = False,
    window: Annotated[Optional[int], typer.Option("--window", "-w", min=1,
                                                  help="a big trace's window K (1-based) only")] = None,
    format: DataFormatOpt = DataFormat.text,
    json_out: JsonAliasOpt = False,
    max_bytes: MaxBytesOpt = None,
) -> None:
    """Explain the causal graph: every chain of one goroutine, or the connections and who closed them."""
    if goroutine is None and not conns:
        raise UsageError("explain: give --goroutine N or --conns")
    json_out = json_out or format == DataFormat.json
    with pipeline.open_input(trace, max_bytes=max_bytes) as inp:
        plan = pipeline.plan_windows(inp)
        per_window = pipeline.plan_row_windows(inp) if plan is None else 0
        if per_window:
            with tempfile.TemporaryDirectory(prefix="netpoll-diagnose-windows-") as spill:
                _explain_windows(inp, _row_windows(inp, per_window, spill), goroutine, conns, window, json_out)
            return
        if plan is None:
            if window not in (None, 1):
                raise UsageError(f"{inp.display}: --window {window}: the trace is small enough to be explained whole "
                                 "(it has one window)")
            cg = pipeline.analyse(inp, keep_timelines=True).graph
            _show(cg, goroutine, conns, json_out)
            return
        _explain_windows(inp, _byte_windows(inp, plan), goroutine, conns, window, json_out)


def _show(cg: Any, goroutine: int | None, conns: bool, json_out: bool) -> None:
    if conns:
        typer.echo(json.dumps(cg.conns.as_dicts(), indent=1) if json_out else render_conns(cg), nl=False)
    if goroutine is not None:
        d = goroutine_chains(cg, goroutine)
        typer.echo(json.dumps(goroutine_json(d), indent=1) if json_out else render_goroutine(cg, d), nl=False)


class _Windows:
    """A big trace's windows as explain reads them: how many, window k's columns, and the analysis
    (timelines kept) of window k from its columns."""

    def __init__(self, n: int, columns: Callable[[int], Any], analyse: Callable[[int, Any], Any]) -> None:
        self.n, self.columns, self.analyse = n, columns, analyse


def _byte_windows(inp: pipeline.TraceInput, plan: tuple[int, list[tuple[int, int]]]) -> _Windows:
    """A Go 1.22+ trace's windows of whole generations, each read from its bytes when needed; a
    generation too big for a window in parts, as the diagnosis cuts it (`pipeline.plan_parts`)."""
    hlen, spans = plan
    parts = pipeline.plan_parts(inp, spans)
    if len(parts) > len(spans):
        gp = pipeline.GenerationParts(inp, hlen, parts)
        return _Windows(len(gp), gp.columns, lambda k, cols: pipeline.analyse(
            inp, keep_timelines=True, columns=cols if cols is not None else gp.columns(k)))
    return _Windows(len(spans), lambda k: pipeline.read_columns(inp, None, (hlen, *spans[k])),
                    lambda k, cols: pipeline.analyse(inp, keep_timelines=True, window=(hlen, *spans[k]), columns=cols))


def _row_windows(inp: pipeline.TraceInput, per_window: int, spill: str) -> _Windows:
    """An old-format trace's windows of events (read once, spilled under `spill`, as the main
    command cuts them: each opens with the state at its cut)."""
    rows = pipeline.read_row_windows(inp, per_window, spill)
    return _Windows(len(rows), rows.columns, lambda k, cols: pipeline.analyse(
        inp, keep_timelines=True, columns=cols if cols is not None else rows.columns(k)))


def _explain_windows(inp: pipeline.TraceInput, wins: _Windows, goroutine: int | None,
                     conns: bool, window: int | None, json_out: bool) -> None:
    n = wins.n
    if window is not None and window > n:
        raise UsageError(f"{inp.display}: --window {window}: the trace has {n} windows")
    # window 1 is read once: for the trace's start, the goroutine's search and its own analysis
    first: pipeline.TraceColumns | None = wins.columns(0)
    t0 = int(first.t.min()) if len(first) else 0  # the trace's start: what the findings' times count from
    if window is not None:
        picked, others = [window - 1], []
    elif goroutine is not None:
        found = [k for k in range(n) if (first if k == 0 else wins.columns(k)).goroutine_changes(goroutine)]
        if not found:
            raise UsageError(f"goroutine {goroutine} does not appear in the trace")
        picked, others = found[:EXPLAIN_WINDOWS], found[EXPLAIN_WINDOWS:]
    else:
        picked, others = [0], []
    if 0 not in picked:
        first = None
    shown: list[dict] = []
    cg = None
    for k in picked:
        cols, first = (first, None) if k == 0 else (None, first)  # window 1's columns go to its analysis
        cg = None  # the last window's graph goes before the next one is built
        cg = wins.analyse(k, cols).graph
        start, shift = cg.tl.t0, cg.tl.t0 - t0
        cg.tl.t0 = t0  # times from the trace's start, as the windowed diagnosis gives them
        for c in cg.conns.nodes:
            if c.close_ns is not None:
                c.close_ns += shift
        head = {"window": k + 1, "windows": n, "start_ms": (start - t0) / 1e6}
        if json_out:
            item: dict = dict(head)
            if conns:
                item["conns"] = cg.conns.as_dicts()
            if goroutine is not None:
                item["goroutine"] = goroutine_json(goroutine_chains(cg, goroutine))
            shown.append(item)
            continue
        typer.echo(f"== window {k + 1} of {n}, from {head['start_ms']:.0f} ms (the trace is explained window by "
                   "window: --window K picks one)")
        _show(cg, goroutine, conns, json_out)
    if json_out:
        typer.echo(json.dumps({"windows": shown, "also_in_windows": [k + 1 for k in others]}, indent=1))
    elif others:
        typer.echo(f"goroutine {goroutine} also has events in windows {', '.join(str(k + 1) for k in others)}: "
                   "--window K shows one")
    elif conns and window is None and n > 1:
        typer.echo(f"(connections of window 1 of {n}: --window K shows another)")


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
