"""`--format slack`: Block Kit JSON ready for Slack's `chat.postMessage` (add "channel").

    {"text": "<plain fallback for notifications>", "blocks": [...],
     "unfurl_links": false, "unfurl_media": false}

The verdict and the top findings come first; the details are trimmed to stay inside Slack's
limits (docs.slack.dev "Block Kit" reference; shared/reference/anchors.md):

* at most 50 blocks per message (we use at most MAX_BLOCKS),
* section text at most 3,000 characters, section fields at most 10 of 2,000 characters,
* header text at most 150 characters of plain text, context at most 10 elements,
* combined block text: Slack rejects messages with `msg_blocks_too_long` around 13.2k
  characters of block text, so the whole message keeps under TEXT_BUDGET (11,000).

The first FULL_FINDINGS findings get their message, facts, evidence (a couple of citations,
key frames) and fix; the next ones a line each, packed several to a section; what does not
fit is counted in a last context line that points at `--format json` / `--format html`.
`fallback_text` is the notification/accessibility text (also what clients without Block Kit
show).
"""
from __future__ import annotations

import json
from typing import Any

from diagnose.report import chains
from diagnose.rules.findings import Diagnosis, Finding
from diagnose.rules.origin import rule_origin
from diagnose.rules.template import format_value

from .markdown import citation_parts, headline_pairs, key_frames, stack_key, status_label, trace_meta

MAX_BLOCKS = 48            # Slack: 50
SECTION_TEXT = 3000        # Slack: 3,000 per section text
FIELD_TEXT = 2000          # Slack: 2,000 per field
MAX_FIELDS = 10            # Slack: 10 fields per section
HEADER_TEXT = 150          # Slack: 150, plain_text
CONTEXT_ELEMENTS = 10      # Slack: 10
TEXT_BUDGET = 11_000       # combined block text; Slack fails at ~13.2k (msg_blocks_too_long)
FALLBACK_TEXT = 3000       # top-level text (Slack truncates at 40k; notifications show the start)
FULL_FINDINGS = 3
MAX_CITATIONS = 2
MAX_FRAMES = 3
SEV_EMOJI = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}
OK_EMOJI = ":white_check_mark:"


# --- Block Kit helpers -------------------------------------------------------------------------

_ENTITY = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def esc(text: str) -> str:
    """Slack's required escaping of &, <, > in text objects."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def esc_trim(text: str, limit: int) -> str:
    """`text` escaped, cut *before* escaping so that the escaped result (what Slack counts) is at
    most `limit` characters and never ends inside `&amp;`/`&lt;`/`&gt;`: an entity is taken
    whole or not at all. A cut ends with "…"."""
    text = str(text)
    full = esc(text)
    if len(full) <= limit:
        return full
    out, n = [], 0
    for ch in text:
        piece = _ENTITY.get(ch, ch)
        if n + len(piece) > limit - 1:
            break
        out.append(piece)
        n += len(piece)
    return "".join(out).rstrip() + "…"


def _entity_safe(cut: str) -> str:
    """`cut` without a trailing partial entity ("&am" of a cut "&amp;")."""
    amp = cut.rfind("&", max(0, len(cut) - 5))
    if amp >= 0 and ";" not in cut[amp:] and any(e.startswith(cut[amp:]) for e in _ENTITY.values()):
        return cut[:amp]
    return cut


def trim(text: str, limit: int) -> str:
    """Already-escaped mrkdwn cut to `limit` characters: the last resort for composed text (the
    pieces are cut with esc_trim first); never splits an entity or leaves a code block open."""
    if len(text) <= limit:
        return text
    cut = _entity_safe(text[: limit - 1])
    if cut.count("```") % 2 == 1:  # do not leave a code block open
        cut = _entity_safe(cut[: max(0, limit - 5)]).rstrip() + "\n```"
        return _entity_safe(cut[: limit - 1]) + "…" if len(cut) >= limit else cut
    return cut.rstrip() + "…"


def header(text: str) -> dict:
    return {"type": "header", "text": {"type": "plain_text", "text": trim(text, HEADER_TEXT), "emoji": True}}


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": trim(text, SECTION_TEXT)}}


def fields(pairs: list[tuple[str, str]]) -> dict:
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": trim(f"*{esc(k)}*\n{esc(v)}", FIELD_TEXT)}
                                          for k, v in pairs[:MAX_FIELDS]]}


def context(*texts: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": trim(t, SECTION_TEXT)}
                                            for t in texts[:CONTEXT_ELEMENTS]]}


def divider() -> dict:
    return {"type": "divider"}


def block_texts(blocks: list[dict]) -> list[str]:
    """Every text field in blocks, in order (what Slack renders and its limits count)."""
    out: list[str] = []

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            for k, v in x.items():
                if k == "text" and isinstance(v, str):
                    out.append(v)
                else:
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(blocks)
    return out


def block_text_chars(blocks: list[dict]) -> int:
    """Characters of text in blocks (what Slack's msg_blocks_too_long limit counts)."""
    return sum(len(t) for t in block_texts(blocks))


class _Budget:
    def __init__(self, blocks: int = MAX_BLOCKS, chars: int = TEXT_BUDGET) -> None:
        self.blocks, self.chars = blocks, chars
        self.out: list[dict] = []

    def fits(self, blocks: list[dict], reserve_blocks: int = 0, reserve_chars: int = 0) -> bool:
        return (len(self.out) + len(blocks) + reserve_blocks <= self.blocks
                and block_text_chars(self.out) + block_text_chars(blocks) + reserve_chars <= self.chars)

    def add(self, blocks: list[dict]) -> None:
        self.out.extend(blocks)


def message(text: str, blocks: list[dict]) -> str:
    payload = {"text": esc_trim(text, FALLBACK_TEXT), "blocks": blocks, "unfurl_links": False, "unfurl_media": False}
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


# --- diagnosis ---------------------------------------------------------------------------------

def _title_line(i: int, f: Finding) -> str:
    return f"*{i}. {SEV_EMOJI[f.severity]} {f.severity.upper()} · `{f.cause}`* — {esc(f.title)}"


def _finding_blocks(i: int, f: Finding) -> list[dict]:
    head = [_title_line(i, f), esc(f.message),
            f"_confidence {f.confidence:.0%} · rule `{f.rule_id}`"
            + (f" (also: {', '.join(f.also_matched)})" if f.also_matched else "")
            + (f" · {esc(rule_origin(f))}" if rule_origin(f) else "") + "_"]
    if f.severity == "critical" and "security" in f.tags:
        head.append("*This is a correctness/security bug first: fix it even if latency looks fine.*")
    blocks = [section("\n".join(head))]
    if f.facts:
        blocks.append(fields([(x.label, x.text) for x in f.facts]))
    if f.evidence:
        lines = ["*Evidence* (times from the start of the trace)"]
        prev = None
        for c in f.evidence[:MAX_CITATIONS]:
            parts = citation_parts(c, max_goroutines=5)
            lines.append("• " + esc(parts[0]) + (" — " + esc(" · ".join(parts[1:])) if parts[1:] else ""))
            frames, hidden = key_frames(c, MAX_FRAMES)
            if frames and stack_key(c) == prev:
                lines.append("_(same stack as above)_")
            elif frames:
                stack = "\n".join(esc(fr.short()) for fr in frames)
                if hidden > 0:
                    stack += f"\n(+{hidden} frames)"
                lines.append(f"```{stack}```")
            prev = stack_key(c) if frames else prev
        if len(f.evidence) > MAX_CITATIONS:
            lines.append(f"_+{len(f.evidence) - MAX_CITATIONS} more citations in `--format json`_")
        blocks.append(section("\n".join(lines)))
    if chains.slack_text(f):
        blocks.append(section(chains.slack_text(f)))
    fix = f"*Fix:* {esc_trim(' '.join(f.advice.fix.split()), 700)}"
    if f.advice.confirm:
        fix += f"\n*Confirm:* `{esc(f.advice.confirm[0])}`"
    blocks.append(context(fix))
    blocks.append(divider())
    return blocks


def _compact_line(i: int, f: Finding) -> str:
    """A finding in two lines: its title, then its message cut to 280 characters."""
    return f"{_title_line(i, f)} _({f.confidence:.0%})_\n{esc_trim(' '.join(f.message.split()), 280)}"


def _micro_line(i: int, f: Finding) -> str:
    """A finding in one short line (when even the two-line summaries do not all fit)."""
    return f"*{i}.* {SEV_EMOJI[f.severity]} `{f.cause}` — {esc_trim(f.title, 90)} _({f.confidence:.0%})_"


def _summary_lines(findings: list[Finding], first: int, room: int) -> tuple[list[str], int]:
    """One summary line per finding from number `first` on, within `room` characters: the
    two-line form while every later finding still fits in one line, else the one-line form.
    Returns (lines, how many findings they cover); they cover all unless even one-liners overflow."""
    micro = [len(_micro_line(first + k, f)) + 2 for k, f in enumerate(findings)]
    lines: list[str] = []
    used = 0
    for k, f in enumerate(findings):
        rest = sum(micro[k + 1:])
        line = _compact_line(first + k, f)
        if used + len(line) + 2 + rest > room:
            line = _micro_line(first + k, f)
            if used + len(line) + 2 > room:
                break
        lines.append(line)
        used += len(line) + 2
    return lines, len(lines)


def fallback_text(d: Diagnosis) -> str:
    t = d.trace
    text = f"netpoll-diagnose: {status_label(d)} in {t.path or 'the trace'}. "
    if d.verdict.status != "problems":
        text += d.verdict.text
    else:
        top = d.findings[0]
        text += f"Most likely: {top.title} [{top.cause}, {top.severity}, confidence {top.confidence:.0%}]."
        others = [f"{f.cause} ({f.severity})" for f in d.findings[1:6]]
        if others:
            text += " Also: " + ", ".join(others) + (f" and {len(d.findings) - 6} more" if len(d.findings) > 6 else "") + "."
    return text


def blocks(d: Diagnosis) -> list[dict]:
    t = d.trace
    icon = OK_EMOJI if d.verdict.status == "healthy" else SEV_EMOJI.get(d.verdict.worst_severity or "warning")
    b = _Budget()
    head = [header(f"{icon} netpoll-diagnose: {status_label(d)}")]
    head.append(section(f"*{esc(d.verdict.text)}*"))
    u = d.verdict.unseen
    if u is not None:
        head.append(context(f"_Not in this trace:_ {esc(u.summary)}"
                            + (f" Check: `{esc(u.confirm[0])}`" if u.confirm else "")))
    meta = " · ".join(x for x in [f"`{esc(t.path or '<trace>')}`", esc(trace_meta(d)),
                                  f"{d.rules.evaluated} rules evaluated"] if x)
    ctx = [meta]
    if t.truncated:
        ctx.append(f":warning: truncated trace ({t.lost_bytes} bytes lost): counts may be low")
    if d.rules.errors:
        ctx.append(f":warning: {len(d.rules.errors)} rule(s) could not be evaluated")
    head.append(context(*ctx))
    head.append(fields(headline_pairs(d)))
    head.append(divider())
    b.add(head)
    reserve_blocks, reserve_chars = 1, 300  # the "+N more" line
    n = len(d.findings)
    shown = 0
    # the first findings in full while the one-line summaries of all the later ones still fit
    # (they were promised: a long first finding must not push them out)
    for i, f in enumerate(d.findings[:FULL_FINDINGS], 1):
        fb = _finding_blocks(i, f)
        later = sum(len(_micro_line(j, g)) + 2 for j, g in enumerate(d.findings[i:], i + 1))
        later_blocks = later // SECTION_TEXT + 1 if i < n else 0
        if not b.fits(fb, reserve_blocks + later_blocks, reserve_chars + later):
            break
        b.add(fb)
        shown = i
    # the rest: a summary each, packed into sections of up to SECTION_TEXT characters
    room = b.chars - block_text_chars(b.out) - reserve_chars
    lines, covered = _summary_lines(d.findings[shown:], shown + 1, room)
    chunk: list[str] = []
    for line in lines:
        if chunk and len("\n\n".join(chunk + [line])) > SECTION_TEXT:
            b.add([section("\n\n".join(chunk))])
            chunk = []
        chunk.append(line)
    if chunk:
        b.add([section("\n\n".join(chunk))])
    shown += covered
    if len(b.out) > b.blocks - reserve_blocks:  # more sections than blocks allow: drop the last ones
        while len(b.out) > b.blocks - reserve_blocks and b.out[-1]["type"] == "section":
            shown -= b.out.pop()["text"]["text"].count("\n\n") + 1
    if shown < n:
        b.add([context(f"+{n - shown} more finding{'s' if n - shown != 1 else ''} not shown (message limits): run "
                       "`netpoll-diagnose TRACE --format json` or `--format html -o report.html` for all of them")])
    return b.out


def render(d: Diagnosis) -> str:
    return message(fallback_text(d), blocks(d))


# --- diff ------------------------------------------------------------------------------------

TABLE_WIDTH = 52  # a code block wider than this wraps in a Slack thread pane (on a laptop screen)


def table(rows: list[list[str]], width: int = TABLE_WIDTH) -> str:
    """A monospace table of [label, before, after, change] rows (the first is the header) that
    fits `width` columns: one line per row when it fits, else the label on a line of its own
    (cut from the left, where a long Go name is least informative) and the numbers under it."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]

    def line(r: list[str], w: list[int]) -> str:
        return "  ".join(c.rjust(w[i]) if i else c.ljust(w[i]) for i, c in enumerate(r)).rstrip()

    if sum(widths) + 2 * (len(widths) - 1) <= width:
        return "\n".join(line(r, widths) for r in rows)
    nums = ["    " + "  ".join(c.rjust(widths[i + 1]) for i, c in enumerate(r[1:])) for r in rows]
    out = [nums[0]]
    for r, n in zip(rows[1:], nums[1:]):
        label = r[0] if len(r[0]) <= width else "…" + r[0][-(width - 1):]
        out += [label, n]
    return "\n".join(out)


_DIFF_EMOJI = {"disappeared": ":white_check_mark:", "appeared": ":new:", "changed": ":arrows_counterclockwise:",
               "unchanged": ":heavy_minus_sign:"}


def render_diff(d) -> str:
    """Block Kit message of a `diagnose.report.diff.DiffReport`."""
    gone, new = len(d.by_status("disappeared")), len(d.by_status("appeared"))
    icon = OK_EMOJI if d.after.verdict.status == "healthy" and not new else (":red_circle:" if new else ":arrows_counterclockwise:")
    b = _Budget()
    b.add([header(f"{icon} netpoll-diagnose diff: {gone} disappeared, {new} appeared"), section(esc(d.summary))])

    def side(s) -> str:
        v = "healthy" if s.verdict.status == "healthy" else f"problems ({s.findings} finding{'s' if s.findings != 1 else ''})"
        meta = ", ".join(x for x in [s.trace.format_label, f"{format_value(s.trace.duration_ms)} ms"] if x)
        return f"{s.trace.path or '<trace>'}\n{meta}\n{v}"

    b.add([fields([("Before", side(d.before)), ("After", side(d.after))])])
    if d.notes:
        b.add([context(*(f":warning: {esc(n)}" for n in d.notes))])
    lines = ["*Findings*"]
    for f in d.findings:
        r = f.ref
        line = f"{_DIFF_EMOJI[f.status]} *{f.status}* `{f.cause}` ({r.severity}) — {esc(r.title)}"
        if f.changes:
            line += "\n      " + esc("; ".join(f.changes))
        lines.append(line)
    if not d.findings:
        lines.append("none in either trace")
    b.add([section("\n".join(lines))])

    rows = [["", "before", "after", "change"]] + [[m.label, m.value_text("before"), m.value_text("after"), m.change_text]
                                                  for m in d.metrics]
    b.add([section("*Headline numbers*\n```" + esc(table(rows)) + "```")])
    for title, sites in (("Time blocked by site (network waits)", d.blocked_by_site),
                         ("Syscall time by site", d.syscalls_by_site)):
        if not sites:
            continue
        rows = [["site", "before ms", "after ms", "change"]]
        for s in sites:
            rows.append([s.site + (f" ({s.side})" if s.side else ""), format_value(s.before_ms),
                         format_value(s.after_ms), s.change_text])
        blk = [section(f"*{title}*\n```" + esc(table(rows)) + "```")]
        if b.fits(blk):
            b.add(blk)
    text = f"netpoll-diagnose diff: {d.summary}"
    return message(text, b.out)
