"""The main command (`netpoll-diagnose TRACE`) and `diff BEFORE AFTER`.

Exit codes: 0 nothing at or above --fail-on; 1 a finding at or above it; 2 bad input, a limit
reached, or an INCOMPLETE diagnosis (a rule could not run, the trace's evidence is damaged);
3 internal error (see diagnose.errors).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import pipeline
from ..errors import EXIT_FINDING, EXIT_INPUT, EXIT_OK
from ..report import ColorMode, ReportContext, compare, render, render_diff, text_options
from ..rules import severity_rank
from .common import (FailOn, MaxBytesOpt, MaxMemoryOpt, OutputOpt, ReportFormat, ReportFormatOpt, RulesDirOpt,
                     TimeoutOpt, TraceArg, apply_limits, load_rules, progress_for, use_color, write_output)


def diagnose_command(
    trace: TraceArg,
    format: ReportFormatOpt = ReportFormat.text,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="exit 1 if a finding is at or above this severity")]
    = FailOn.warning,
    rules_dir: RulesDirOpt = None,
    output: OutputOpt = None,
    max_bytes: MaxBytesOpt = None,
    timeout: TimeoutOpt = None,
    max_memory: MaxMemoryOpt = None,
    color: Annotated[ColorMode, typer.Option("--color", help="text colours: auto (a terminal, unless NO_COLOR is "
                                             "set), always (e.g. for less -R) or never")] = ColorMode.auto,
    label: Annotated[Optional[str], typer.Option("--label", help="name the trace by this in the report "
                                                 "(default: the path given)")] = None,
    strace: Annotated[Optional[Path], typer.Option("--strace", help="strace -f -ttt -T [-yy] log of the same window "
                                                   "(or a -ff prefix): descriptor-level proof")] = None,
    module: Annotated[Optional[list[str]], typer.Option(
        "--module", help="package path prefix that is your code, for f.our_code (repeatable; default: the rule "
        "layers' config, else inferred from the stacks)")] = None,
) -> None:
    """Diagnose why a Go service's streaming responses got slow, from an execution trace
    (or a `capture` bundle directory: its trace and strace log)."""
    from ..read import resolve_inputs

    apply_limits(timeout, max_memory)
    ruleset = load_rules(rules_dir)
    trace, strace_log, recorded_offset = resolve_inputs(trace, strace)
    with pipeline.open_input(trace, max_bytes=max_bytes) as inp:
        if label:
            inp.display = label
        run = pipeline.diagnose_trace(inp, ruleset, progress=progress_for(format.value, Path(inp.display).name),
                                      keep_timelines=format == ReportFormat.html,
                                      strace=None if strace_log is None else (strace_log, recorded_offset),
                                      modules=module)
    for note in run.notes:
        typer.echo(note, err=True)
    result = run.diagnosis
    rendered = render(result, format.value, context=ReportContext(timelines=run.timelines),
                      **text_options(sys.stdout if output is None else None, color.value))
    write_output(rendered, output)
    for reason in run.incomplete:
        typer.echo(f"netpoll-diagnose: {inp.display}: INCOMPLETE: {reason}", err=True)
    raise typer.Exit(exit_code(run, fail_on))


def exit_code(run: pipeline.Run, fail_on: FailOn) -> int:
    """2 when the diagnosis is incomplete (it must never read as healthy), else 1 for a finding
    at or above --fail-on, else 0."""
    if run.incomplete:
        return EXIT_INPUT
    if fail_on != FailOn.never:
        threshold = severity_rank(fail_on.value)
        if any(severity_rank(f.severity) >= threshold for f in run.diagnosis.findings):
            return EXIT_FINDING
    return EXIT_OK


def diff_command(
    before: Annotated[str, typer.Argument(help="trace before the change (e.g. the bug)", show_default=False)],
    after: Annotated[str, typer.Argument(help="trace after the change (e.g. with the fix)", show_default=False)],
    format: ReportFormatOpt = ReportFormat.text,
    rules_dir: RulesDirOpt = None,
    output: OutputOpt = None,
    max_bytes: MaxBytesOpt = None,
    timeout: TimeoutOpt = None,
    max_memory: MaxMemoryOpt = None,
) -> None:
    """Compare two traces: findings that disappeared, appeared or changed, and the headline numbers
    (network-wait and wake-to-run p95, time blocked by site, syscall time) with percentage change.

    Exit 0, or 2 when either side's diagnosis is incomplete or its input is bad."""
    apply_limits(timeout, max_memory)
    if before == "-" and after == "-":
        raise typer.BadParameter("only one of BEFORE and AFTER can be standard input")
    ruleset = load_rules(rules_dir)
    runs = []
    for name in (before, after):
        with pipeline.open_input(name, max_bytes=max_bytes) as inp:
            runs.append(pipeline.diagnose_trace(inp, ruleset, progress=progress_for(format.value,
                                                                                    Path(inp.display).name)))
    b, a = runs
    from .. import __version__

    report = compare(b.diagnosis, b.features, a.diagnosis, a.features, tool_version=__version__)
    write_output(render_diff(report, format.value, color=use_color(output)), output)
    incomplete = False
    for r in runs:
        for reason in r.incomplete:
            incomplete = True
            typer.echo(f"netpoll-diagnose: {r.input.display}: INCOMPLETE: {reason}", err=True)
    raise typer.Exit(EXIT_INPUT if incomplete else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("diagnose")(diagnose_command)
    app.command("diff")(diff_command)


