"""The terminal report: the verdict first, then each finding with its evidence and its fix."""
from __future__ import annotations

import sys
import textwrap
from typing import TextIO

from diagnose import settings
from diagnose.rules.findings import Citation, Diagnosis, Finding
from diagnose.rules.template import format_value

WIDTH = 100
_COLORS = {"critical": "\033[1;31m", "warning": "\033[1;33m", "info": "\033[1;36m", "ok": "\033[1;32m"}
_RESET = "\033[0m"


def use_color(stream: TextIO) -> bool:
    return hasattr(stream, "isatty") and stream.isatty() and not settings().no_color


def _c(text: str, key: str, color: bool) -> str:
    return f"{_COLORS[key]}{text}{_RESET}" if color else text


def _wrap(text: str, indent: int, width: int = WIDTH) -> list[str]:
    pad = " " * indent
    return textwrap.wrap(" ".join(text.split()), width=width, initial_indent=pad, subsequent_indent=pad) or [pad]


MAX_CITATIONS = 4
MAX_FRAMES = 5
_PLUMBING = ("runtime.", "syscall.", "internal/", "golang.org/x/sys/unix.")


def _ms(ns: int | None) -> str:
    return "?" if ns is None else f"{ns / 1e6:.1f}"


def _dur(ms: float) -> str:
    if ms >= 1.0:
        return f"{format_value(ms)} ms"
    us = ms * 1000.0
    return f"{us:.0f} µs" if us >= 1 else "<1 µs"


def _frames(c: Citation) -> tuple[list, int]:
    """The leaf frame (what happened), then the frames that are not runtime/syscall plumbing."""
    if not c.stack:
        return [], 0
    keep = [c.stack[0]] + [fr for fr in c.stack[1:] if not fr.func.startswith(_PLUMBING)]
    shown = keep[:MAX_FRAMES]
    return shown, len(c.stack) + c.frames_omitted - len(shown)


def _citation(c: Citation) -> list[str]:
    parts = [c.note]
    if c.goroutines:
        shown = ", ".join(str(g) for g in c.goroutines[:8])
        more = f" (+{len(c.goroutines) - 8})" if len(c.goroutines) > 8 else ""
        parts.append(f"goroutine{'s' if len(c.goroutines) > 1 else ''} {shown}{more}")
    if c.start_ns is not None:
        window = f"at {_ms(c.start_ns)} ms"
        if c.end_ns is not None and _ms(c.end_ns) != _ms(c.start_ns):
            window = f"{_ms(c.start_ns)}-{_ms(c.end_ns)} ms"
        parts.append(window)
    if c.duration_ms is not None:
        parts.append(f"for {_dur(c.duration_ms)}")
    lines = _wrap(" · ".join(parts), 0, WIDTH - 7)
    out = ["     - " + lines[0].strip()] + ["       " + ln.strip() for ln in lines[1:]]
    frames, hidden = _frames(c)
    for fr in frames:
        out.append(f"         {fr.short()}")
    if hidden > 0:
        out.append(f"         (+{hidden} runtime/library frame{'s' if hidden > 1 else ''})")
    return out


def _finding(i: int, f: Finding, color: bool) -> list[str]:
    sev = _c(f.severity.upper(), f.severity, color)
    out = [f"{i}. [{sev}] {f.cause}: {f.title}"]
    out.append(f"   confidence {f.confidence:.0%} · rule {f.rule_id}"
               + (f" (also: {', '.join(f.also_matched)})" if f.also_matched else ""))
    out += _wrap(f.message, 3)
    if f.severity == "critical" and "security" in f.tags:
        out.append("   This is a correctness/security bug first: fix it even if latency looks fine.")
    if f.facts:
        out.append("   Facts:")
        width = max(len(x.label) for x in f.facts)
        for x in f.facts:
            out.append(f"     {x.label.ljust(width)}  {x.text}")
    if f.evidence:
        out.append("   Evidence (times from the start of the trace):")
        for c in f.evidence[:MAX_CITATIONS]:
            out += _citation(c)
        if len(f.evidence) > MAX_CITATIONS:
            out.append(f"     (+{len(f.evidence) - MAX_CITATIONS} more in --format json)")
    out.append("   Fix:")
    out += _wrap(f.advice.fix, 5)
    if f.advice.confirm:
        out.append("   Confirm:")
        for cmd in f.advice.confirm[:3]:
            out.append(f"     $ {cmd}")
    refs = [f"knowledge/{f.advice.knowledge}.md"] + [r.url for r in f.advice.references[:2]]
    out.append("   More: " + " · ".join(refs))
    return out


def render(d: Diagnosis, color: bool = False) -> str:
    t = d.trace
    head = f"netpoll-diagnose {d.tool_version}".rstrip()
    meta = [x for x in [t.go_version, f"{format_value(t.duration_ms)} ms" if t.duration_ms else "",
                        f"{t.event_count} events" if t.event_count else ""] if x]
    lines = [f"{head}: {t.path or '<trace>'}" + (f" ({', '.join(meta)})" if meta else "")]
    if t.truncated:
        lines.append(f"  note: the trace is truncated ({t.lost_bytes} bytes lost); counts may be low")
    lines.append("")
    key = "ok" if d.verdict.status == "healthy" else (d.verdict.worst_severity or "warning")
    label = {"healthy": "HEALTHY", "incomplete": "INCOMPLETE"}.get(d.verdict.status, "PROBLEMS")
    verdict = _wrap(d.verdict.text, 0, WIDTH - len(label) - 2)
    lines.append(f"{_c(label, key, color)}: {verdict[0]}")
    lines += ["  " + ln for ln in verdict[1:]]
    for i, f in enumerate(d.findings, 1):
        lines.append("")
        lines += _finding(i, f, color)
    h = d.headline
    lines.append("")
    lines.append(
        f"Headline: network wait p95 {format_value(h.network_wait_p95_ms)} ms ({h.network_waits} waits) · "
        f"wake-to-run p95 {format_value(h.wake_to_run_p95_ms)} ms · {format_value(h.syscalls_per_s)} syscalls/s · "
        f"GC {h.gc_time_share:.0%} · GOMAXPROCS {h.gomaxprocs or '?'} · {h.goroutines} goroutines"
    )
    r = d.rules
    extra = f", {len(r.skipped_by_version)} not for this trace version" if r.skipped_by_version else ""
    lines.append(f"Rules: {r.evaluated} evaluated{extra}" + (f", {len(r.errors)} failed" if r.errors else ""))
    for e in r.errors:
        lines.append(f"  rule {e.rule_id} could not be evaluated: {e.error}")
    return "\n".join(lines) + "\n"


def write(d: Diagnosis, stream: TextIO = sys.stdout) -> None:
    stream.write(render(d, color=use_color(stream)))
