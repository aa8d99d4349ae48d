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

from dataclasses import dataclass
from typing import Any

from .diff import DiffReport, compare
from .explain import goroutine_chains, goroutine_json, render_conns, render_goroutine
from .features_text import features_text
from .pprof import build_profile, compute_records, folded
from .progress import TerminalProgress, should_show
from .text import ColorMode, use_color
from .text import options as text_options

FORMATS = ("text", "json", "markdown", "slack", "html")
__all__ = ["ColorMode", "text_options", "FORMATS", "ReportContext", "render", "render_diff", "compare", "DiffReport", "TerminalProgress",
           "should_show", "use_color", "features_text",
           "build_profile", "compute_records", "folded",
           "goroutine_chains", "goroutine_json", "render_conns", "render_goroutine"]


@dataclass
class ReportContext:
    """Trace data some formats use beyond the findings (optional)."""

    timelines: Any = None  # diagnose.timeline.Timelines of the diagnosed trace


def render(diagnosis, fmt: str, *, context: ReportContext | None = None, color: bool = False,
           width: int | None = None) -> str:
    """The report of one diagnosis in format `fmt` (one of FORMATS); `color` and `width`
    (columns, default 100) apply to text (`text.options(stream, mode)` gives both)."""
    if fmt == "text":
        from . import text

        return text.render(diagnosis, color=color, width=width or text.WIDTH)
    if fmt == "json":
        from . import json_report

        return json_report.render(diagnosis)
    if fmt == "markdown":
        from . import markdown

        return markdown.render(diagnosis)
    if fmt == "slack":
        from . import slack

        return slack.render(diagnosis)
    if fmt == "html":
        from . import html

        return html.render(diagnosis, timelines=context.timelines if context else None)
    raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")


def render_diff(diff, fmt: str, *, color: bool = False) -> str:
    """A before/after comparison (`diagnose.report.diff.DiffReport`) in format `fmt`."""
    from . import diff as _diff

    if fmt == "text":
        return _diff.render_text(diff, color=color)
    if fmt == "json":
        return _diff.render_json(diff)
    if fmt == "markdown":
        from . import markdown

        return markdown.render_diff(diff)
    if fmt == "slack":
        from . import slack

        return slack.render_diff(diff)
    if fmt == "html":
        from . import html

        return html.render_diff(diff)
    raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")
