"""`--format markdown`: a report to paste in a GitHub issue/PR or post in Mattermost.

Portable Markdown (CommonMark + pipe tables, no raw HTML: Mattermost shows HTML as text), in
the order a reader in a channel needs: the verdict and a table of the ranked findings first,
the headline numbers, then each finding with its facts, trimmed evidence (a few citations,
the frames that matter) and the fix. The whole post stays under MAX_CHARS (Mattermost's post
limit is 16,383 characters): when the details do not fit, lower-ranked findings shrink to one
line and the rest are counted, pointing at `--format json`/`--format html` for everything.

Helpers shared by the chat and HTML renderers (severity marks, citation summaries, stack
trimming) live here too.
"""
from __future__ import annotations

import re

from diagnose.report import chains
from diagnose.rules.findings import Citation, Diagnosis, Finding, Frame
from diagnose.rules.origin import rule_origin
from diagnose.rules.template import format_value

MAX_CHARS = 16_000
MAX_CITATIONS = 3
MAX_FRAMES = 4
SEV_ICON = {"critical": "🔴", "warning": "🟠", "info": "🔵"}
OK_ICON = "✅"
PLUMBING = ("runtime.", "syscall.", "internal/", "golang.org/x/sys/unix.")

# --- shared helpers ----------------------------------------------------------------------------


def ms(ns: int | None) -> str:
    return "?" if ns is None else f"{ns / 1e6:.1f}"


def dur(d_ms: float) -> str:
    if d_ms >= 1.0:
        return f"{format_value(d_ms)} ms"
    us = d_ms * 1000.0
    return f"{us:.0f} µs" if us >= 1 else "<1 µs"


def key_frames(c: Citation, limit: int = MAX_FRAMES) -> tuple[list[Frame], int]:
    """The leaf frame (what happened), then the frames that are not runtime/syscall plumbing.

    Returns (frames to show, number of frames left out).
    """
    if not c.stack:
        return [], 0
    rest = [i for i in range(1, len(c.stack)) if c.stack[i].ours or not c.stack[i].func.startswith(PLUMBING)]
    # the user's own frames first when there is no room for all: they are what can be changed
    chosen = sorted(rest, key=lambda i: (not c.stack[i].ours, i))[: limit - 1]
    shown = [c.stack[0]] + [c.stack[i] for i in sorted(chosen)]
    return shown, len(c.stack) + c.frames_omitted - len(shown)


def stack_key(c: Citation) -> tuple:
    """Identity of a citation's stack, to print a stack shared by several citations once."""
    return tuple((fr.func, fr.file, fr.line) for fr in c.stack) + (c.frames_omitted,)


def citation_parts(c: Citation, max_goroutines: int = 8) -> list[str]:
    """[note, 'goroutines 1, 2', '12.0-14.5 ms', 'for 2.5 ms'] (what a citation says, in pieces)."""
    parts = [c.note]
    if c.goroutines:
        shown = ", ".join(str(g) for g in c.goroutines[:max_goroutines])
        more = f" (+{len(c.goroutines) - max_goroutines})" if len(c.goroutines) > max_goroutines else ""
        parts.append(f"goroutine{'s' if len(c.goroutines) > 1 else ''} {shown}{more}")
    if c.start_ns is not None:
        window = f"at {ms(c.start_ns)} ms"
        if c.end_ns is not None and ms(c.end_ns) != ms(c.start_ns):
            window = f"{ms(c.start_ns)}-{ms(c.end_ns)} ms"
        parts.append(window)
    if c.duration_ms is not None:
        parts.append(f"for {dur(c.duration_ms)}")
    return parts


def status_label(d: Diagnosis) -> str:
    if d.verdict.status == "healthy":
        return "healthy"
    if d.verdict.status == "incomplete":
        return "incomplete diagnosis"
    n = sum(1 for f in d.findings if f.severity != "info")
    return f"{n} problem{'s' if n != 1 else ''}"


def status_icon(d: Diagnosis) -> str:
    return OK_ICON if d.verdict.status == "healthy" else SEV_ICON.get(d.verdict.worst_severity or "warning", "🟠")


NO_DATA = "no data"


def _ms_or_none(v: float | None) -> str:
    return NO_DATA if v is None else f"{format_value(v)} ms"


def _network_value(h) -> str:
    n, parked = h.network_waits, h.network_parked_whole_window
    waits = f"{n} wait{'s' if n != 1 else ''}"
    if parked:
        waits += f"; {parked} parked the whole window"
    if h.network_wait_p95_ms is None:
        return f"{NO_DATA} ({waits})" if parked else f"{NO_DATA} (no wait)"
    return f"{format_value(h.network_wait_p95_ms)} ms ({waits})"


def headline_pairs(d: Diagnosis) -> list[tuple[str, str]]:
    """(label, value) of the headline numbers; "no data" where the trace has none (a p95 of no
    waits is not 0 ms)."""
    h = d.headline
    return [
        ("network wait p95", _network_value(h)),
        ("wake-to-run p95", _ms_or_none(h.wake_to_run_p95_ms)),
        ("syscalls", f"{format_value(h.syscalls_per_s)}/s"),
        ("GC", f"{h.gc_time_share:.0%} of wall time"),
        ("GOMAXPROCS", str(h.gomaxprocs or "?")),
        ("goroutines", str(h.goroutines)),
    ]


def trace_meta(d: Diagnosis) -> str:
    t = d.trace
    return " · ".join(x for x in [t.format_label, f"{format_value(t.duration_ms)} ms" if t.duration_ms else "",
                                  f"{t.event_count} events" if t.event_count else ""] if x)


# --- Markdown ----------------------------------------------------------------------------------

_ESC = re.compile(r"([\\`*_\[\]<>|#])")


def esc(text: str) -> str:
    """Escape Markdown syntax in prose (messages, notes): `(*FD).Write` stays literal."""
    return _ESC.sub(r"\\\1", " ".join(str(text).split()))


def code(text: str) -> str:
    t = str(text).replace("`", "'")
    return f"`{t}`"


def cell(text: str) -> str:
    return esc(text)


def _finding_full(i: int, f: Finding) -> list[str]:
    out = [f"#### {i}. {SEV_ICON[f.severity]} {code(f.cause)}: {esc(f.title)}",
           f"*{f.severity}* · confidence **{f.confidence:.0%}** · rule {code(f.rule_id)}"
           + (f" (also: {', '.join(code(x) for x in f.also_matched)})" if f.also_matched else "")
           + (f" · {esc(rule_origin(f))}" if rule_origin(f) else ""),
           "", esc(f.message), ""]
    if f.severity == "critical" and "security" in f.tags:
        out += ["**This is a correctness/security bug first: fix it even if latency looks fine.**", ""]
    if f.facts:
        out += ["| Fact | Value |", "|---|---:|"]
        out += [f"| {cell(x.label)} | {cell(x.text)} |" for x in f.facts]
        out.append("")
    if f.evidence:
        out.append("**Evidence** (times from the start of the trace):")
        prev = None
        for c in f.evidence[:MAX_CITATIONS]:
            parts = citation_parts(c)
            out.append(f"- {esc(parts[0])}" + (" — " + " · ".join(esc(p) for p in parts[1:]) if parts[1:] else ""))
            frames, hidden = key_frames(c)
            if frames and stack_key(c) == prev:
                out.append("  *(same stack as above)*")
            elif frames:
                out.append("  ```")
                out += [f"  {fr.short()}" for fr in frames]
                if hidden > 0:
                    out.append(f"  (+{hidden} runtime/library frame{'s' if hidden > 1 else ''})")
                out.append("  ```")
            prev = stack_key(c) if frames else prev
        if len(f.evidence) > MAX_CITATIONS:
            out.append(f"- *+{len(f.evidence) - MAX_CITATIONS} more (see `--format json` or `--format html`)*")
        out.append("")
    out += chains.markdown_block(f)
    out.append(f"**Fix:** {esc(f.advice.fix)}")
    if f.advice.confirm:
        out += ["", "**Confirm:**", "```sh"] + [f"{cmd}" for cmd in f.advice.confirm[:3]] + ["```"]
    refs = [code(f"knowledge/{f.advice.knowledge}.md")] + [f"[{esc(r.title)}]({r.url})" for r in f.advice.references[:3]]
    out += ["", "More: " + " · ".join(refs), ""]
    return out


def _finding_short(i: int, f: Finding) -> list[str]:
    return [f"#### {i}. {SEV_ICON[f.severity]} {code(f.cause)}: {esc(f.title)}",
            f"*{f.severity}* · confidence **{f.confidence:.0%}** · {esc(f.message)}", ""]


def render(d: Diagnosis, max_chars: int = MAX_CHARS) -> str:
    t = d.trace
    out = [f"### {status_icon(d)} netpoll-diagnose: {status_label(d)} in {code(t.path or '<trace>')}", ""]
    out.append(f"**{esc(d.verdict.text)}**")
    u = d.verdict.unseen
    if u is not None:
        out += ["", f"*Not in this trace:* {esc(u.summary)}"
                + (f" Check: {code(u.confirm[0])}" if u.confirm else "") + f" ({code('knowledge/' + u.knowledge + '.md')})"]
    meta = trace_meta(d)
    rules = f"{d.rules.evaluated} rules evaluated" + (f", {len(d.rules.errors)} failed" if d.rules.errors else "")
    out += ["", f"{esc(meta)} · {rules}" if meta else rules]
    if t.truncated:
        out.append(f"*Note: the trace is truncated ({t.lost_bytes} bytes lost); counts may be low.*")
    out.append("")
    if d.findings:
        out += ["| # | Severity | Cause | Confidence | Finding |", "|--:|---|---|--:|---|"]
        for i, f in enumerate(d.findings, 1):
            out.append(f"| {i} | {SEV_ICON[f.severity]} {f.severity} | {code(f.cause)} | {f.confidence:.0%} | "
                       f"{cell(f.title)} |")
        out.append("")
    out.append("**Headline:** " + " · ".join(f"{k} **{esc(v)}**" for k, v in headline_pairs(d)))
    out.append("")
    head = "\n".join(out)
    tail_lines = [f"*Rule {code(e.rule_id)} could not be evaluated: {esc(e.error)}*" for e in d.rules.errors]
    tail = ("\n".join(tail_lines) + "\n") if tail_lines else ""
    body: list[str] = []
    used = len(head) + len(tail) + 200  # room for the "more findings" line
    shown = 0
    for i, f in enumerate(d.findings, 1):
        block = "\n".join(["---", ""] + _finding_full(i, f)) + "\n"
        if used + len(block) > max_chars:
            block = "\n".join(["---", ""] + _finding_short(i, f)) + "\n"
            if used + len(block) > max_chars:
                break
        body.append(block)
        used += len(block)
        shown += 1
    text = head + "\n" + "".join(body)
    if shown < len(d.findings):
        text += (f"\n*+{len(d.findings) - shown} more finding{'s' if len(d.findings) - shown != 1 else ''} "
                 "not shown (post size limit): run `netpoll-diagnose TRACE --format json` or `--format html` "
                 "for all of them.*\n")
    return text + tail


# --- diff ------------------------------------------------------------------------------------

def _n(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


_STATUS = {"disappeared": "✅ **disappeared**", "appeared": "🆕 **appeared**", "changed": "🔁 **changed**",
           "unchanged": "➖ unchanged"}


def render_diff(d, max_chars: int = MAX_CHARS) -> str:
    """Markdown of a `diagnose.report.diff.DiffReport`."""
    gone, new = len(d.by_status("disappeared")), len(d.by_status("appeared"))
    icon = OK_ICON if d.after.verdict.status == "healthy" and not new else ("🔴" if new else "🔁")
    out = [f"### {icon} netpoll-diagnose diff: {gone} finding{'s' if gone != 1 else ''} disappeared, "
           f"{new} appeared", "", esc(d.summary), ""]
    out += [f"*Note: {esc(n)}*" for n in d.notes]
    if d.notes:
        out.append("")

    def side(s) -> str:
        meta = ", ".join(x for x in [s.trace.format_label, f"{format_value(s.trace.duration_ms)} ms"] if x)
        return f"{code(s.trace.path or '<trace>')} ({esc(meta)})"

    def verdict(s) -> str:
        return "✅ healthy" if s.verdict.status == "healthy" else f"{SEV_ICON.get(s.verdict.worst_severity or 'warning')} problems"

    out += ["| | Before | After |", "|---|---|---|",
            f"| trace | {side(d.before)} | {side(d.after)} |",
            f"| verdict | {verdict(d.before)} ({_n(d.before.findings, 'finding')}) | {verdict(d.after)} "
            f"({_n(d.after.findings, 'finding')}) |", ""]
    out.append("**Findings**")
    if not d.findings:
        out.append("- none in either trace")
    for f in d.findings:
        r = f.ref
        conf = f.confidence_text("→")
        line = f"- {_STATUS[f.status]} {code(f.cause)} ({r.severity}, {conf}): {esc(r.title)}"
        if f.changes:
            line += " — " + "; ".join(esc(c.replace("->", "→")) for c in f.changes)
        out.append(line)
    out += ["", "**Headline numbers**", "", "| | Before | After | Change |", "|---|--:|--:|--:|"]
    for m in d.metrics:
        ch = m.change_text
        if m.better is True:
            ch = f"**{ch}** ✅"
        elif m.better is False:
            ch = f"**{ch}** ⚠️"
        out.append(f"| {cell(m.label)} | {esc(m.value_text('before'))} | {esc(m.value_text('after'))} | {ch} |")
    for title, sites in (("Time blocked by site (network waits)", d.blocked_by_site),
                         ("Syscall time by site", d.syscalls_by_site)):
        if not sites:
            continue
        out += ["", f"**{title}**", "", "| Site | Before | After | Change |", "|---|--:|--:|--:|"]
        for s in sites:
            label = code(s.site) + (f" ({esc(s.side)})" if s.side else "")
            out.append(f"| {label} | {format_value(s.before_ms)} ms ({s.before_count}) | "
                       f"{format_value(s.after_ms)} ms ({s.after_count}) | {s.change_text} |")
    text = "\n".join(out) + "\n"
    if len(text) > max_chars:  # many sites with long names: keep the head, cut at a line
        text = text[: max_chars - 80].rsplit("\n", 1)[0] + "\n\n*(trimmed: see `--format json`)*\n"
    return text
