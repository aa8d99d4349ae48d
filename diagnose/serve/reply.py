"""The thread reply: what a person reads in five seconds, at most MAX_LINES lines.

Built from the CLI's JSON report (schema netpoll-diagnose/findings/v2) or diff JSON
(netpoll-diagnose/diff/v1): the verdict, the top finding with its first FACTS facts and the
first sentence of its fix, a count of the other findings, and a pointer to the HTML report
uploaded beside it. Nothing here names a server path or a command to run: the trace is named
by the file name it was posted with.
"""
from __future__ import annotations

import json
import re
from typing import Any


OK_EMOJI = ":white_check_mark:"
SEV_EMOJI = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}
MAX_LINES = 15
FACTS = 3
FIX_CHARS = 300
SUMMARY_CHARS = 600
_SENTENCE = re.compile(r"(?<=[^.]{12}[.!?])\s+(?=[A-Z(`])")


def esc(text: str) -> str:
    """Slack's required escaping of &, <, > in message text."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def trim(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def first_sentence(text: str, limit: int = FIX_CHARS) -> str:
    """The first sentence of a paragraph (Markdown line breaks folded), at most `limit` chars."""
    flat = " ".join(text.split())
    return trim(_SENTENCE.split(flat, maxsplit=1)[0], limit)


def _cap(lines: list[str]) -> str:
    if len(lines) > MAX_LINES:
        lines = lines[: MAX_LINES - 1] + [lines[-1]]
    return "\n".join(lines)


def diagnosis_text(report_json: str, name: str) -> str:
    """The short reply for one trace."""
    d: dict[str, Any] = json.loads(report_json)
    findings = d.get("findings") or []
    trace = d.get("trace") or {}
    lines: list[str] = []
    verdict = d.get("verdict") or {}
    incomplete = verdict.get("status") == "incomplete"
    if incomplete:
        lines.append(f":warning: *{esc(name)}*: {esc(trim(verdict.get('text') or '', 400))}")
    if not findings and not incomplete:
        lines.append(f"{OK_EMOJI} *{esc(name)}*: {esc(trim(verdict['text'], 400))}")
    elif findings:
        top = findings[0]
        n = len(findings)
        lines.append(f"{SEV_EMOJI.get(top['severity'], '')} *{esc(name)}*: "
                     f"{n} problem{'s' if n != 1 else ''} found. Most likely:")
        lines.append(f"*{esc(trim(top['title'], 200))}* "
                     f"({top['severity']}, confidence {round(100 * float(top['confidence']))}%)")
        for fact in (top.get("facts") or [])[:FACTS]:
            lines.append(f"• {esc(fact['label'])}: {esc(fact['text'])}")
        fix = (top.get("advice") or {}).get("fix") or ""
        if fix:
            lines.append(f"*Fix:* {esc(first_sentence(fix))}")
        if n > 1:
            others = ", ".join(f["cause"] for f in findings[1:4])
            lines.append(f"Also found: {esc(others)}{' …' if n > 4 else ''}")
    if trace.get("truncated"):
        lines.append(f":warning: the trace was cut short ({int(trace.get('lost_bytes') or 0)} bytes not read)")
    lines.append("_Evidence, stacks and every finding: the HTML report below._")
    return _cap(lines)


def diff_text(diff_json: str, before: str, after: str) -> str:
    """The short reply for a second trace in a thread: what changed against the first."""
    d: dict[str, Any] = json.loads(diff_json)
    lines = [f":arrows_counterclockwise: *{esc(before)}* → *{esc(after)}*",
             esc(trim(d.get("summary") or "", SUMMARY_CHARS))]
    for side, name in (("before", before), ("after", after)):
        v = (d.get(side) or {}).get("verdict") or {}
        emoji = OK_EMOJI if v.get("status") == "healthy" else SEV_EMOJI.get(v.get("worst_severity") or "", "")
        lines.append(f"{emoji} {side}: {esc(trim(v.get('text') or '', 200))}")
    lines.append("_The full comparison: the HTML report below._")
    return _cap(lines)


def failure_text(name: str, error: str) -> str:
    """One short message for anything that went wrong (a bad trace gets the CLI's own line)."""
    return f":x: *{esc(name)}*: {esc(trim(error, 500))}"


def verdict_of(report_json: str | None) -> str | None:
    """"critical"/"warning"/"info" (worst finding) or "healthy", for the request log."""
    if not report_json:
        return None
    try:
        v = json.loads(report_json).get("verdict") or {}
    except ValueError:
        return None
    return v.get("worst_severity") or v.get("status")
