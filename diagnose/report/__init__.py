"""report/: findings -> terminal text, JSON, Markdown, Slack Block Kit, HTML (and pprof profiles).

Every renderer takes a `diagnose.rules.findings.Diagnosis` (schema FINDINGS_SCHEMA):

    from diagnose.report import render, FORMATS
    render(diagnosis, "markdown")                       # -> str
    render(diagnosis, "html", context=ReportContext(timelines=tl))

`context` carries what only the trace itself can give (the HTML report's goroutine timelines
and flame graphs need the `Timelines`); every format renders without it.

Before/after comparisons (`netpoll-diagnose diff`) render through `render_diff(diff, fmt)`
in the same formats (see diff.py).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from .diff import DiffReport, compare
from .diff import render_json as render_diff_json
from .diff import render_text as render_diff_text
from .explain import goroutine_chains, goroutine_json, render_conns, render_goroutine
from .features_text import features_text
from .pprof import WindowedRecords, build_profile, compute_records, folded
from .progress import TerminalProgress, should_show
from .text import ColorMode, use_color
from .text import options as text_options

#: format -> its module in this package (imported when the format is first asked for)
_MODULES = {"text": "text", "json": "json_report", "markdown": "markdown", "slack": "slack", "html": "html"}
FORMATS = tuple(_MODULES)
__all__ = ["ColorMode", "text_options", "FORMATS", "ReportContext", "render", "render_diff", "compare", "DiffReport", "TerminalProgress",
           "should_show", "use_color", "features_text",
           "build_profile", "compute_records", "folded", "WindowedRecords",
           "goroutine_chains", "goroutine_json", "render_conns", "render_goroutine"]


@dataclass
class ReportContext:
    """Trace data some formats use beyond the findings (optional)."""

    timelines: Any = None  # diagnose.timeline.Timelines of the diagnosed trace


def _module(fmt: str):
    if fmt not in _MODULES:
        raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return importlib.import_module(f"{__name__}.{_MODULES[fmt]}")


def render(diagnosis, fmt: str, *, context: ReportContext | None = None, color: bool = False,
           width: int | None = None) -> str:
    """The report of one diagnosis in format `fmt` (one of FORMATS); `color` and `width`
    (columns, default 100) apply to text (`text.options(stream, mode)` gives both)."""
    m = _module(fmt)
    if fmt == "text":
        return m.render(diagnosis, color=color, width=width or m.WIDTH)
    if fmt == "html":
        return m.render(diagnosis, timelines=context.timelines if context else None)
    return m.render(diagnosis)


def render_diff(diff, fmt: str, *, color: bool = False) -> str:
    """A before/after comparison (`diagnose.report.diff.DiffReport`) in format `fmt`; text and
    JSON are diff.py's own, the other formats' modules each have a `render_diff`."""
    if fmt == "text":
        return render_diff_text(diff, color=color)
    if fmt == "json":
        return render_diff_json(diff)
    return _module(fmt).render_diff(diff)
