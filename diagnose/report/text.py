"""The terminal report: the verdict first, then each finding with its evidence and its fix.

Every line fits the width (`terminal_width`: the terminal's, 100 when the output is not a
terminal), titles, the headline and commands included; only a single word longer than the
width (a URL, a long frame) runs over. Colour: `--color auto|always|never` (`use_color`);
`auto` colours a terminal unless NO_COLOR is set (no-color.org) or TERM is dumb, `always`
is for `less -R` and wins over NO_COLOR, as an explicit flag should.
"""
from __future__ import annotations

import os
import re
import sys
import textwrap
from enum import Enum
from typing import TextIO

from diagnose import settings
from diagnose.report import chains
from diagnose.report.markdown import citation_parts
from diagnose.rules.findings import Citation, Diagnosis, Finding
from diagnose.rules.origin import rule_origin
from diagnose.rules.template import format_value

WIDTH = 100      # when the output is not a terminal
MIN_WIDTH = 40   # narrower terminals still get 40 columns (wrapping at 20 helps nobody)
COLOR_MODES = ("auto", "always", "never")
_COLORS = {"critical": "\033[1;31m", "warning": "\033[1;33m", "info": "\033[1;36m", "ok": "\033[1;32m"}
_RESET = "\033[0m"
NBSP = "\u00a0"


class ColorMode(str, Enum):
    """`--color`: auto (a terminal, unless NO_COLOR is set or TERM=dumb), always, never."""

    auto = "auto"
    always = "always"
    never = "never"


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def use_color(stream: TextIO | None, mode: str = "auto") -> bool:
    """Whether to colour the report written to `stream` (None: a file) under `--color MODE`."""
    mode = getattr(mode, "value", mode)
    if mode not in COLOR_MODES:
        raise ValueError(f"--color must be one of {', '.join(COLOR_MODES)}, not {mode!r}")
    if mode != "auto":
        return mode == "always"
    return (stream is not None and _isatty(stream) and not settings().no_color
            and os.environ.get("TERM") != "dumb")


def terminal_width(stream: TextIO | None) -> int:
    """Columns of the terminal `stream` writes to; WIDTH when it is not a terminal (a file,
    a pipe: the reader's window is unknown, 100 reads well in most)."""
    if stream is None or not _isatty(stream):
        return WIDTH
    try:
        cols = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return WIDTH
    return max(cols, MIN_WIDTH) if cols else WIDTH


def _c(text: str, key: str, color: bool) -> str:
    return f"{_COLORS[key]}{text}{_RESET}" if color else text


def _wrap(text: str, indent: int, width: int = WIDTH, first: str | None = None) -> list[str]:
    """`text` re-flowed to `width`, indented by `indent` (the first line by `first` when given:
    a hanging indent). Words are never split: a URL or frame longer than the line runs over."""
    pad = " " * indent
    return textwrap.wrap(" ".join(str(text).split()), width=width, initial_indent=pad if first is None else first,
                         subsequent_indent=pad, break_long_words=False, break_on_hyphens=False) or [pad]


def _shell_words(cmd: str) -> list[str]:
    """`cmd` split at spaces outside quotes and $(...): where a line may break."""
    words, cur, quote, depth = [], "", "", 0
    for i, ch in enumerate(cmd):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(" and cmd[i - 1:i] == "$":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif ch == " " and not depth:
            if cur:
                words.append(cur)
            cur = ""
            continue
        cur += ch
    return words + ([cur] if cur else [])


def command_lines(cmd: str, indent: int, width: int) -> list[str]:
    """A shell command as lines that fit: its `# comment` on a line of its own above it (a
    comment cannot be continued), the command broken with ` \\` continuations at spaces
    outside quotes, so it still pastes into a shell as one command."""
    pad = " " * indent
    code, _, comment = cmd.partition("   # ")
    out = _wrap(comment, indent, width, first=pad + "# ") if comment else []
    for i, ln in enumerate(out[1:], 1):
        out[i] = pad + "# " + ln.strip()
    lines, cur = [], pad + "$"
    for word in _shell_words(code.strip()):
        if len(cur) + 1 + len(word) + 2 > width and cur.strip() != "$":
            lines.append(cur + " \\")
            cur = pad + "   " + word
        else:
            cur += " " + word
    return out + lines + [cur]


MAX_CITATIONS = 4
MAX_FRAMES = 5


def _frames(c: Citation) -> tuple[list, int]:
    """The leaf frame (what happened), then the frames that are not runtime/syscall plumbing."""
    from diagnose.report.markdown import key_frames

    return key_frames(c, MAX_FRAMES)


def _citation(c: Citation, width: int = WIDTH) -> list[str]:
    out = _wrap(" · ".join(citation_parts(c)), 7, width, first="     - ")
    frames, hidden = _frames(c)
    for fr in frames:
        out += _wrap(fr.short(), 11, width, first="         ")
    if hidden > 0:
        out.append(f"         (+{hidden} runtime/library frame{'s' if hidden > 1 else ''})")
    return out


def _finding(i: int, f: Finding, color: bool, width: int = WIDTH) -> list[str]:
    tag = f"{i}. [{f.severity.upper()}] "
    out = _wrap(f"{tag}{f.cause}: {f.title}", 3, width, first="")
    out[0] = out[0].replace(f"[{f.severity.upper()}]", f"[{_c(f.severity.upper(), f.severity, color)}]", 1)
    out += _wrap(f"confidence {f.confidence:.0%} · rule {f.rule_id}"
                 + (f" (also: {', '.join(f.also_matched)})" if f.also_matched else ""), 3, width)
    if rule_origin(f):
        out += _wrap(rule_origin(f), 3, width)
    out += _wrap(f.message, 3, width)
    if f.severity == "critical" and "security" in f.tags:
        out.append("   This is a correctness/security bug first: fix it even if latency looks fine.")
    if f.facts:
        out.append("   Facts:")
        lw = min(max(len(x.label) for x in f.facts), max(width // 2 - 5, 10))
        for x in f.facts:
            if len(x.label) > lw:  # a label wider than half the line: the value on the next line
                out += _wrap(x.label, 5, width)
                out += _wrap(x.text, 5 + lw + 2, width)
            else:
                out += _wrap(x.text, 5 + lw + 2, width, first=f"     {x.label.ljust(lw)}  ")
    if f.evidence:
        out.append("   Evidence (times from the start of the trace):")
        for c in f.evidence[:MAX_CITATIONS]:
            out += _citation(c, width)
        if len(f.evidence) > MAX_CITATIONS:
            out.append(f"     (+{len(f.evidence) - MAX_CITATIONS} more in --format json)")
    out += chains.text_block(f)
    out.append("   Fix:")
    out += _wrap(f.advice.fix, 5, width)
    if f.advice.confirm:
        out.append("   Confirm:")
        for cmd in f.advice.confirm[:3]:
            out += command_lines(cmd, 5, width)
    refs = [f"knowledge/{f.advice.knowledge}.md"] + [r.url for r in f.advice.references[:2]]
    out += _wrap("More: " + " · ".join(refs), 5, width, first="   ")
    return out


def headline_text(d: Diagnosis) -> str:
    """The headline numbers in one sentence ("no data" where the trace has none)."""
    from .markdown import headline_pairs

    # no break inside "wake-to-run p95 1.56 ms" (a no-break space textwrap does not split at)
    return "Headline: " + " · ".join(f"{k} {v}".replace(" ", NBSP) for k, v in headline_pairs(d))


def render(d: Diagnosis, color: bool = False, width: int = WIDTH) -> str:
    """The report as lines of at most `width` columns (`terminal_width`)."""
    width = max(width, MIN_WIDTH)
    t = d.trace
    head = f"netpoll-diagnose {d.tool_version}".rstrip()
    meta = [x for x in [t.format_label, f"{format_value(t.duration_ms)} ms" if t.duration_ms else "",
                        f"{t.event_count} events" if t.event_count else ""] if x]
    lines = _wrap(f"{head}: {t.path or '<trace>'}" + (f" ({', '.join(meta)})" if meta else ""), 2, width, first="")
    if t.truncated:
        lines += _wrap(f"note: the trace is truncated ({t.lost_bytes} bytes lost); counts may be low", 4, width,
                       first="  ")
    lines.append("")
    key = "ok" if d.verdict.status == "healthy" else (d.verdict.worst_severity or "warning")
    label = {"healthy": "HEALTHY", "incomplete": "INCOMPLETE"}.get(d.verdict.status, "PROBLEMS")
    verdict = _wrap(f"{label}: {d.verdict.text}", 2, width, first="")
    verdict[0] = _c(label, key, color) + verdict[0][len(label):]
    lines += verdict
    u = d.verdict.unseen
    if u is not None:
        lines += _wrap("Not in this trace: " + u.summary, 4, width, first="  ")
        for cmd in u.confirm[:1]:
            lines += command_lines(cmd, 4, width)
        lines += _wrap(f"More: knowledge/{u.knowledge}.md", 4, width, first="  ")
    for i, f in enumerate(d.findings, 1):
        lines.append("")
        lines += _finding(i, f, color, width)
    lines.append("")
    lines += [ln.replace(NBSP, " ") for ln in _wrap(headline_text(d), 2, width, first="")]
    r = d.rules
    extra = f", {len(r.skipped_by_version)} not for this trace version" if r.skipped_by_version else ""
    lines.append(f"Rules: {r.evaluated} evaluated{extra}" + (f", {len(r.errors)} failed" if r.errors else ""))
    for e in r.errors:
        lines += _wrap(f"rule {e.rule_id} could not be evaluated: {e.error}", 4, width, first="  ")
    return "\n".join(_fit(lines, width)) + "\n"


_ANSI = re.compile(r"\033\[[0-9;]*m")


def _fit(lines: list[str], width: int) -> list[str]:
    """Any line still wider than `width` (a fixed phrase, a frame list) re-wrapped at its own
    indent: the last guarantee that nothing wraps in the terminal mid-word."""
    out = []
    for ln in lines:
        if len(_ANSI.sub("", ln)) <= width:
            out.append(ln)
            continue
        indent = len(ln) - len(ln.lstrip(" "))
        out += _wrap(ln, indent + 2, width, first=" " * indent)
    return out


def options(stream: TextIO | None, color: str = "auto") -> dict:
    """render()'s color and width for a report going to `stream` (None: to a file)."""
    return {"color": use_color(stream, color), "width": terminal_width(stream)}


def write(d: Diagnosis, stream: TextIO = sys.stdout, color: str = "auto") -> None:
    stream.write(render(d, **options(stream, color)))
