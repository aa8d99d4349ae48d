"""`netpoll-diagnose explain TRACE --goroutine N | --conns`: the causal graph, read by a person.

Every chain of one goroutine (its waits, who woke it, what held the P, its syscalls), or the
connections and descriptors with origin, owner, closer and close time (diagnose/report/explain.py).
"""
from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from .. import pipeline
from ..errors import UsageError
from ..report import goroutine_chains, goroutine_json, render_conns, render_goroutine
from .common import DataFormat, DataFormatOpt, JsonAliasOpt, MaxBytesOpt, TraceArg


def explain(
    trace: TraceArg,
    goroutine: Annotated[Optional[int], typer.Option("--goroutine", "-g", help="every chain of this goroutine")] = None,
    conns: Annotated[bool, typer.Option("--conns", help="list connections and descriptors")] = False,
    format: DataFormatOpt = DataFormat.text,
    json_out: JsonAliasOpt = False,
    max_bytes: MaxBytesOpt = None,
) -> None:
    """Explain the causal graph: every chain of one goroutine, or the connections and who closed them."""
    if goroutine is None and not conns:
        raise UsageError("explain: give --goroutine N or --conns")
    json_out = json_out or format == DataFormat.json
    with pipeline.open_input(trace, max_bytes=max_bytes) as inp:
        cg = pipeline.analyse(inp, keep_timelines=True).graph
    if conns:
        typer.echo(json.dumps(cg.conns.as_dicts(), indent=1) if json_out else render_conns(cg), nl=False)
    if goroutine is not None:
        d = goroutine_chains(cg, goroutine)
        typer.echo(json.dumps(goroutine_json(d), indent=1) if json_out else render_goroutine(cg, d), nl=False)


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
