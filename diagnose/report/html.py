"""`--format html -o report.html`: one self-contained page for the person who wants to *see* it.

* the verdict, the headline numbers and a table of the ranked findings;
* every finding with its facts, all its evidence (goroutines, windows, key frames and the
  whole trimmed stack) and its advice;
* a timeline of the goroutines the evidence names, plus every P, around the worst evidence
  windows (the longest cited window of each top finding): goroutine states (running, runnable
  = waiting for a P, network wait, other wait, syscall) and which goroutine each P ran, with
  the cited windows marked. The intervals come from the timeline stage (`Timelines`:
  `intervals_of(g)`, `run_iv`, `iv_*`);
* flame graphs of network-wait and scheduler-wait time per stack, from the profile stage's
  per-stack records (`diagnose.report.pprof.compute_records(cols, "net"|"sched")`, the
  records `go tool trace -pprof=net|sched` builds), drawn as SVG; click a frame to zoom.

Everything is inline: the CSS and JS of `assets/`, SVG drawn here. A Content-Security-Policy
(`default-src 'none'`) makes the browser refuse any fetch, so the page opens offline and
leaks nothing. Without `timelines` (e.g. rendering a saved diagnosis) the page has the
findings and no timeline/flame graphs.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import numpy as np

from diagnose.report import chains
from diagnose.rules.findings import Citation, Diagnosis, Finding
from diagnose.rules.origin import rule_origin
from diagnose.rules.template import format_value

from .markdown import citation_parts, dur, headline_pairs, key_frames, ms, stack_key, status_label, trace_meta

ASSETS = Path(__file__).resolve().parent / "assets"
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

MAX_WINDOWS = 3
MAX_ROWS = 14           # goroutine rows per timeline
MAX_WAITERS = 4         # extra rows: uncited goroutines that waited longest for a P in the window
MAX_PROCS = 16
MAX_SEGMENTS = 6000     # rects per timeline
SVG_W = 1240
LABEL_W = 190
ROW_H = 18
FLAME_ROW = 17
FLAME_MIN_FRAC = 0.0008  # frames narrower than this share of the total are not drawn (~1 px)
FLAME_MAX_DEPTH = 64
NO_STACK_LEAVE_OUT = 0.95  # a flame graph this much "<no stack>" shows nothing: left out, with why

STATES = [  # key, colour, legend
    ("running", "#2e9e44", "running"),
    ("runnable", "#f0a30a", "runnable: waiting for a P"),
    ("net", "#2f6fd6", "waiting: network"),
    ("wait", "#b8bfc9", "waiting: other (chan, sync, sleep...)"),
    ("syscall", "#8e44ad", "in a syscall"),
]
STATE_COLOR = {k: c for k, c, _ in STATES}


def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def e(text) -> str:
    return escape(str(text), quote=True)


# --- page --------------------------------------------------------------------------------------

def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{e(title)}</title>\n<style>\n{_asset('report.css')}</style>\n</head>\n<body>\n<main>\n"
            f"{body}\n</main>\n<script>\n{_asset('report.js')}</script>\n</body>\n</html>\n")


def _sev_key(d: Diagnosis) -> str:
    return "ok" if d.verdict.status == "healthy" else (d.verdict.worst_severity or "warning")


def _banner(d: Diagnosis) -> str:
    t = d.trace
    key = _sev_key(d)
    label = "Healthy" if d.verdict.status == "healthy" else status_label(d).capitalize()
    meta = " · ".join(x for x in [trace_meta(d), f"{d.rules.evaluated} rules evaluated",
                                  f"netpoll-diagnose {d.tool_version}".strip()] if x)
    out = [f'<header class="banner {key}"><h1>{e(label)}: {e(t.path or "<trace>")}</h1>',
           f'<div class="verdict">{e(d.verdict.text)}</div><div class="meta">{e(meta)}</div></header>']
    if t.truncated:
        out.append(f'<p class="security">The trace is truncated ({t.lost_bytes} bytes lost): counts may be low.</p>')
    u = d.verdict.unseen
    if u is not None:
        cmds = "".join(f"<li><code>{e(c)}</code></li>" for c in u.confirm[:2])
        out.append(f'<section class="unseen"><p><b>Not in this trace:</b> {e(u.summary)}</p>'
                   f'<p><b>Where to look:</b> {e(u.fix)}</p><ul>{cmds}</ul>'
                   f'<p class="meta">knowledge/{e(u.knowledge)}.md</p></section>')
    out.append('<div class="cards">' + "".join(
        f'<div class="card"><div class="v">{e(v.split(" (")[0])}</div><div class="k">{e(k)}'
        + (f' ({e(v.split(" (", 1)[1])}' if " (" in v else "") + "</div></div>"
        for k, v in headline_pairs(d)) + "</div>")
    return "\n".join(out)


def _summary_table(d: Diagnosis) -> str:
    if not d.findings:
        return '<p class="muted">No rule fired: nothing to report beyond the numbers above.</p>'
    rows = ['<table class="summary"><tr><th class="num">#</th><th>Severity</th><th class="opt">Cause</th>'
            '<th class="num opt">Confidence</th><th>Finding</th></tr>']
    for i, f in enumerate(d.findings, 1):
        rows.append(f'<tr><td class="num">{i}</td><td><span class="sev {f.severity}">{f.severity}</span></td>'
                    f'<td class="opt"><code>{e(f.cause)}</code></td><td class="num opt">{f.confidence:.0%}</td>'
                    f'<td><a href="#finding-{i}">{e(f.title)}</a></td></tr>')
    rows.append("</table>")
    return "\n".join(rows)


def _citation_html(c: Citation, same_stack: bool = False) -> str:
    parts = citation_parts(c, max_goroutines=20)
    head = f"<b>{e(parts[0])}</b>" + ("".join(f" · {e(p)}" for p in parts[1:]))
    out = [f"<li>{head}"]
    frames, hidden = key_frames(c, limit=6)
    if frames and same_stack:
        out.append(f'<div class="muted">same stack as above</div><div class="muted">from {e(c.source)}</div></li>')
        return "\n".join(out)
    if frames:
        out.append("<pre>" + "\n".join(e(fr.short()) for fr in frames)
                   + (f"\n(+{hidden} runtime/library frames)" if hidden > 0 else "") + "</pre>")
    if c.stack and len(c.stack) > len(frames):
        full = "\n".join(e(f"{fr.func}\n    {fr.file}:{fr.line}") for fr in c.stack)
        more = f"\n(+{c.frames_omitted} frames not kept)" if c.frames_omitted else ""
        out.append(f'<details class="stack"><summary>whole stack ({len(c.stack)} frames)</summary><pre>{full}{more}</pre>'
                   "</details>")
    out.append(f'<div class="muted">from {e(c.source)}</div></li>')
    return "\n".join(out)


def _finding_html(i: int, f: Finding) -> str:
    out = [f'<section class="finding {f.severity}" id="finding-{i}">',
           f'<h3>{i}. <span class="sev {f.severity}">{f.severity}</span> <code>{e(f.cause)}</code>: {e(f.title)}</h3>',
           f'<div class="sub">confidence {f.confidence:.0%} <span class="conf"><i style="width:{f.confidence * 100:.0f}%">'
           f'</i></span> · rule <code>{e(f.rule_id)}</code>'
           + (f" (also: {', '.join(f'<code>{e(x)}</code>' for x in f.also_matched)})" if f.also_matched else "")
           + (f' · <span class="muted">{e(rule_origin(f) or f.rule_source)}</span>' if f.rule_source else "") + "</div>",
           f"<p>{e(f.message)}</p>"]
    if f.severity == "critical" and "security" in f.tags:
        out.append('<p class="security">This is a correctness/security bug first: fix it even if latency looks fine.</p>')
    if f.facts:
        out.append('<table class="facts"><tr><th>Fact</th><th class="num">Value</th></tr>'
                   + "".join(f'<tr><td>{e(x.label)}</td><td class="num">{e(x.text)}</td></tr>' for x in f.facts)
                   + "</table>")
    if f.evidence:
        out.append(f"<h4>Evidence <span class=\"muted\">({len(f.evidence)}; times from the start of the trace)</span></h4>")
        keys = [stack_key(c) if c.stack else None for c in f.evidence]
        out.append('<ul class="evidence">' + "\n".join(
            _citation_html(c, same_stack=i > 0 and keys[i] is not None and keys[i] == keys[i - 1])
            for i, c in enumerate(f.evidence)) + "</ul>")
    out.append(chains.html_block(f))
    a = f.advice
    if a.summary:
        out.append(f"<p><b>What it is.</b> {e(a.summary)}</p>")
    out.append(f'<div class="fix"><b>Fix.</b> {e(a.fix)}</div>')
    if a.confirm:
        out.append("<p><b>Confirm:</b></p><pre>" + "\n".join(f"$ {e(c)}" for c in a.confirm) + "</pre>")
    refs = [f"<code>knowledge/{e(a.knowledge)}.md</code>"] + [
        f'<a href="{e(r.url)}" rel="noreferrer noopener">{e(r.title)}</a>' for r in a.references]
    out.append("<p class=\"muted\">More: " + " · ".join(refs) + "</p></section>")
    return "\n".join(out)


# --- timeline ------------------------------------------------------------------------------------

@dataclass
class Window:
    start: int                 # ns since the first event, padded
    end: int
    focus: tuple[int, int]     # the cited window itself
    title: str
    goroutines: list[int] = field(default_factory=list)
    marks: list[tuple[int, int, list[int], str]] = field(default_factory=list)  # other cited windows
    waiters: list[int] = field(default_factory=list)  # uncited goroutines kept runnable in the window


def _span(c: Citation) -> tuple[int, int] | None:
    if c.start_ns is None:
        return None
    end = c.end_ns
    if end is None:
        end = c.start_ns + int((c.duration_ms or 0.0) * 1e6)
    return int(c.start_ns), int(max(end, c.start_ns))


def pick_windows(d: Diagnosis, duration_ns: int, limit: int = MAX_WINDOWS) -> list[Window]:
    """The worst windows: the longest cited window of each finding in rank order, then the
    longest remaining ones; padded by a quarter of their length (at least 1 ms) each side."""
    cands = []  # (finding index, citation)
    for fi, f in enumerate(d.findings):
        for c in f.evidence:
            if _span(c) is not None:
                cands.append((fi, c))
    if not cands:
        return []
    length = lambda fc: _span(fc[1])[1] - _span(fc[1])[0]  # noqa: E731
    chosen: list[tuple[int, Citation]] = []
    for fi in range(len(d.findings)):
        mine = [fc for fc in cands if fc[0] == fi]
        if mine:
            chosen.append(max(mine, key=length))
    rest = sorted((fc for fc in cands if fc not in chosen), key=length, reverse=True)
    chosen = (chosen + rest)
    windows: list[Window] = []
    for fi, c in chosen:
        if len(windows) >= limit:
            break
        s, t = _span(c)
        pad = max((t - s) // 4, 1_000_000)
        a, b = max(0, s - pad), min(max(duration_ns, t), t + pad)
        if any(min(b, w.end) - max(a, w.start) > 0.5 * (b - a) for w in windows):
            continue  # mostly inside a window already drawn
        f = d.findings[fi]
        w = Window(start=a, end=b, focus=(s, t),
                   title=f"{f.cause}: {c.note} ({ms(s)}-{ms(t)} ms)")
        gs: list[int] = list(c.goroutines)
        for f2 in d.findings:
            for c2 in f2.evidence:
                sp = _span(c2)
                if sp is None or sp[1] < a or sp[0] > b:
                    continue
                if c2 is not c:
                    w.marks.append((sp[0], sp[1], list(c2.goroutines), c2.note))
                gs += [g for g in c2.goroutines if g not in gs]
        seen: list[int] = []
        for g in gs:
            if g not in seen:
                seen.append(g)
        w.goroutines = seen[:MAX_ROWS]
        windows.append(w)
    return windows


def waited_for_p(tl, w: Window, limit: int = MAX_WAITERS) -> list[int]:
    """Goroutines not named in `w` that sat runnable longest (>= 2 ms and 2% of it) inside its cited window:
    who the cited goroutines kept waiting."""
    from diagnose.timeline.timeline import G_RUNNABLE

    if limit <= 0 or not tl.iv_g.shape[0]:
        return []
    t0 = int(tl.t0)
    a, b = w.focus[0] + t0, w.focus[1] + t0
    m = (tl.iv_state == G_RUNNABLE) & (tl.iv_end > a) & (tl.iv_start < b)
    if not m.any():
        return []
    idx = np.nonzero(m)[0]
    ov = np.minimum(tl.iv_end[idx], b) - np.maximum(tl.iv_start[idx], a)
    gs, inv = np.unique(tl.iv_g[idx], return_inverse=True)
    tot = np.bincount(inv, weights=ov.astype(np.float64))
    order = np.argsort(-tot, kind="stable")
    named = set(w.goroutines)
    floor = max(2e6, 0.02 * (b - a))  # noise: a few short runnable spells
    out = [int(gs[i]) for i in order if tot[i] >= floor and int(gs[i]) not in named]
    return out[:limit]


def _state_keys(tl, ivs: np.ndarray, net_id: int) -> np.ndarray:
    """The chart category of each interval in `ivs` (object array; None: not drawn)."""
    from diagnose.timeline.timeline import G_RUNNABLE, G_RUNNING, G_SYSCALL, G_WAITING

    st = tl.iv_state[ivs]
    keys = np.full(ivs.shape[0], None, dtype=object)
    keys[st == G_RUNNING] = "running"
    keys[st == G_RUNNABLE] = "runnable"
    keys[st == G_SYSCALL] = "syscall"
    waiting = st == G_WAITING
    on_net = waiting & (tl.iv_reason[ivs] == net_id) if net_id >= 0 else np.zeros_like(waiting)
    keys[waiting & ~on_net] = "wait"
    keys[on_net] = "net"
    return keys


def _g_label(tl, g: int) -> str:
    i = int(np.searchsorted(tl.gor_id, g))
    name = tl.gor_name[i] if i < len(tl.gor_id) and int(tl.gor_id[i]) == g else ""
    name = name.rsplit("/", 1)[-1]
    label = f"G{g} {name}".strip()
    return label if len(label) <= 27 else label[:26] + "…"


@dataclass
class Layout:
    """One rendering width of a chart: the page holds a wide and a narrow copy of each, and
    the stylesheet shows the one that fits (text stays ~11 px on a phone instead of ~3 px)."""

    name: str       # "wide" | "narrow"
    width: int      # viewBox width
    label_w: int    # the row-label column
    label_chars: int


WIDE = Layout("wide", SVG_W, LABEL_W, 27)
NARROW = Layout("narrow", 400, 74, 9)
LAYOUTS = (WIDE, NARROW)


@dataclass
class Row:
    """A timeline row: its label, and intervals (start, end ns since t0, category); `tip(i)` is
    interval i's hover text, made only for the intervals drawn alone (a P's row in a busy window
    holds ~100,000 intervals, nearly all merged into a few hundred marks)."""

    label: str
    starts: np.ndarray
    ends: np.ndarray
    cats: np.ndarray                  # object array of category names
    tip: Callable[[int], str] = lambda i: ""
    italic: str = ""                  # a <title> for a row not named by the evidence
    colors: dict[str, str] = field(default_factory=dict)
    unknown_before: int | None = None  # no event before this time (ns since t0)


def _in_window(tl, ivs: np.ndarray, w: Window) -> np.ndarray:
    """The intervals of `ivs` that overlap `w` (its times are ns since t0)."""
    t0 = int(tl.t0)
    return ivs[(tl.iv_end[ivs] - t0 >= w.start) & (tl.iv_start[ivs] - t0 <= w.end)]


def _g_rows(tl, w: Window) -> list[Row]:
    """A row per named goroutine (then per waiter): its states over the window."""
    from diagnose.timeline.timeline import G_UNDETERMINED

    t0 = int(tl.t0)
    net_id = tl.network_reason_id()
    strings = tl.cols.strings
    rows = []
    for kind, g in [("g", g) for g in w.goroutines] + [("w", g) for g in w.waiters]:
        ivs = tl.intervals_of(g)
        unknown = None
        if ivs.shape[0]:
            first_t = int(tl.iv_start[ivs[0]]) - t0
            if first_t > w.start and int(tl.iv_from[ivs[0]]) == G_UNDETERMINED:
                unknown = first_t
        ivs = _in_window(tl, ivs, w)
        keys = _state_keys(tl, ivs, net_id)
        ivs, keys = ivs[keys != None], keys[keys != None]  # noqa: E711 (elementwise)

        def tip(i: int, g=g, ivs=ivs, keys=keys) -> str:
            iv, key = int(ivs[i]), keys[i]
            s, t = int(tl.iv_start[iv]) - t0, int(tl.iv_end[iv]) - t0
            reason = strings[int(tl.iv_reason[iv])] if key in ("wait", "net") and int(tl.iv_reason[iv]) > 0 else ""
            p = int(tl.iv_p[iv])
            return (f"G{g} {key}{' (' + reason + ')' if reason else ''} {ms(s)}-{ms(t)} ms ({dur((t - s) / 1e6)})"
                    + (f" on P{p}" if key == "running" and p >= 0 else ""))

        rows.append(Row(label=_g_label(tl, g), starts=tl.iv_start[ivs] - t0, ends=tl.iv_end[ivs] - t0, cats=keys,
                        tip=tip, colors=STATE_COLOR, unknown_before=unknown,
                        italic="not cited: waited longest for a P in the cited window" if kind == "w" else ""))
    return rows


def _p_rows(tl, w: Window) -> list[Row]:
    """A row per P: which goroutine it ran (named ones in their colour, the others grey)."""
    t0 = int(tl.t0)
    named = list(w.goroutines)
    run = tl.run_iv
    rows = []
    for p in [int(p) for p in tl.procs[:MAX_PROCS]]:
        sel = _in_window(tl, run[tl.iv_p[run] == p], w)
        gs = tl.iv_g[sel]
        cats = np.full(sel.shape[0], "other", dtype=object)
        colors = {"other": "#9aa5b1"}
        for g in named:
            mine = gs == g
            if mine.any():
                cats[mine] = f"G{g}"
                colors[f"G{g}"] = _g_color(g)

        def tip(i: int, p=p, sel=sel) -> str:
            iv = int(sel[i])
            s, t = int(tl.iv_start[iv]) - t0, int(tl.iv_end[iv]) - t0
            return f"P{p} ran {_g_label(tl, int(tl.iv_g[iv]))} {ms(s)}-{ms(t)} ms ({dur((t - s) / 1e6)})"

        rows.append(Row(label=f"P{p}", starts=tl.iv_start[sel] - t0, ends=tl.iv_end[sel] - t0, cats=cats, tip=tip,
                        colors=colors))
    return rows


def _m_rows(tl, w: Window, limit: int = MAX_PROCS) -> list[Row]:
    """A row per OS thread, the threads with the most syscall time in the window first: when
    each ran Go code and when it sat in a syscall (and which goroutine)."""
    from diagnose.timeline.timeline import G_RUNNING, G_SYSCALL

    t0 = int(tl.t0)
    a, b = w.start + t0, w.end + t0
    m = ((tl.iv_state == G_SYSCALL) | (tl.iv_state == G_RUNNING)) & (tl.iv_end > a) & (tl.iv_start < b) & (tl.iv_m >= 0)
    idx = np.nonzero(m)[0]
    if not idx.shape[0]:
        return []
    sc = idx[tl.iv_state[idx] == G_SYSCALL]
    ov = np.minimum(tl.iv_end[sc], b) - np.maximum(tl.iv_start[sc], a)
    ms_, inv = np.unique(tl.iv_m[sc], return_inverse=True)
    tot = np.bincount(inv, weights=ov.astype(np.float64)) if sc.shape[0] else np.zeros(0)
    threads = [int(ms_[i]) for i in np.argsort(-tot, kind="stable")][:limit]
    rows = []
    for th in threads:
        mine = idx[tl.iv_m[idx] == th]
        mine = mine[np.argsort(tl.iv_start[mine], kind="stable")]
        cats = np.where(tl.iv_state[mine] == G_SYSCALL, "syscall", "running").astype(object)

        def tip(i: int, th=th, mine=mine, cats=cats) -> str:
            iv = int(mine[i])
            s, t = int(tl.iv_start[iv]) - t0, int(tl.iv_end[iv]) - t0
            return (f"M{th}: G{int(tl.iv_g[iv])} {'in a syscall' if cats[i] == 'syscall' else 'running'} "
                    f"{ms(s)}-{ms(t)} ms ({dur((t - s) / 1e6)})")

        rows.append(Row(label=f"M{th}", starts=tl.iv_start[mine] - t0, ends=tl.iv_end[mine] - t0, cats=cats, tip=tip,
                        colors={"syscall": STATE_COLOR["syscall"], "running": STATE_COLOR["running"]}))
    return rows


@dataclass
class Drawn:
    svg: str
    intervals: int = 0
    marks: int = 0
    merged: int = 0     # marks that stand for more than one interval


def rows_svg(rows: list[Row], w: Window, chart_id: str, lay: Layout, marks_for=None) -> Drawn:
    """SVG of `rows` over window `w` at layout `lay`: every interval drawn, merged per pixel
    column where several share one (charts.merge_row), the cited window shaded."""
    from .charts import merge_row, mix_text, tick_labels

    a, b = w.start, max(w.end, w.start + 1)
    plot_w = lay.width - lay.label_w - 10
    xs = lambda t: lay.label_w + (min(max(t, a), b) - a) / (b - a) * plot_w  # noqa: E731
    top = 26
    height = top + len(rows) * ROW_H + 30
    out = [f'<svg class="chart timeline {lay.name}" id="{chart_id}-{lay.name}" data-tip-target="{chart_id}-tip" '
           f'viewBox="0 0 {lay.width} {height}" width="{lay.width}" height="{height}" xmlns="http://www.w3.org/2000/svg">']
    for r in range(0, len(rows), 2):  # zebra rows under everything (they used to hide the cited window)
        out.append(f'<rect x="0" y="{top + r * ROW_H}" width="{lay.width}" height="{ROW_H}" fill="#f6f8fa"/>')
    fx0, fx1 = xs(w.focus[0]), xs(w.focus[1])
    out.append(f'<rect x="{fx0:.1f}" y="{top - 4}" width="{max(fx1 - fx0, 1.5):.1f}" height="{len(rows) * ROW_H + 8}" '
               'fill="#e53935" fill-opacity="0.10" stroke="#e53935" stroke-dasharray="4 3"/>')
    cw = "cited window " if lay is WIDE else ""
    anchor = "start" if fx0 < lay.width * 0.6 else "end"
    out.append(f'<text x="{(fx0 + 3 if anchor == "start" else fx1 - 3):.1f}" y="{top - 8}" fill="#c62828" '
               f'text-anchor="{anchor}">{cw}{ms(w.focus[0])}-{ms(w.focus[1])} ms</text>')
    drawn = Drawn(svg="")
    for r, row in enumerate(rows):
        y = top + r * ROW_H
        label = row.label if len(row.label) <= lay.label_chars else row.label[: lay.label_chars - 1] + "…"
        if row.italic:
            out.append(f'<text x="4" y="{y + 13}" fill="#5d6875" font-style="italic">{e(label)}'
                       f"<title>{e(row.label)}: {e(row.italic)}</title></text>")
        else:
            out.append(f'<text x="4" y="{y + 13}">{e(label)}<title>{e(row.label)}</title></text>')
        if row.unknown_before is not None:
            tip = f"{row.label.split()[0]}: no event before {ms(row.unknown_before)} ms (its state before is not in the trace)"
            out.append(f'<line class="unknown" x1="{xs(a):.1f}" y1="{y + ROW_H / 2}" x2="{xs(row.unknown_before):.1f}" '
                       f'y2="{y + ROW_H / 2}" stroke="#98a2ad" stroke-dasharray="2 3" data-tip="{e(tip)}">'
                       f'<title>{e(tip)}</title></line>')
        drawn.intervals += len(row.starts)
        for mk in merge_row(row.starts, row.ends, row.cats, a, b, plot_w):
            x0 = lay.label_w + mk.c0  # one column per viewBox unit
            wd = mk.c1 - mk.c0
            if mk.single >= 0:
                tip = row.tip(mk.single)
            else:
                tip = (f"{row.label.split()[0]} {ms(mk.t0)}-{ms(mk.t1)} ms: {mk.n} intervals merged into this mark "
                       f"(too short to draw apart at this width): {mix_text(mk.mix)}")
                drawn.merged += 1
            out.append(f'<rect class="seg" x="{x0:.0f}" y="{y + 3}" width="{wd}" height="{ROW_H - 6}" '
                       f'fill="{row.colors.get(mk.cat, "#9aa5b1")}" data-tip="{e(tip)}"><title>{e(tip)}</title></rect>')
            if lay is WIDE and mk.cat.startswith("G") and wd > 34:
                out.append(f'<text x="{x0 + 3:.0f}" y="{y + 13}" fill="#fff">{e(mk.cat)}</text>')
            drawn.marks += 1
        if marks_for is not None:
            for m0, m1, note in marks_for(row):
                x0, x1 = xs(m0), xs(m1)
                out.append(f'<rect x="{x0:.1f}" y="{y + 1}" width="{max(x1 - x0, 1.5):.1f}" height="{ROW_H - 2}" '
                           f'fill="none" stroke="#e53935" stroke-width="1.2"><title>{e(note)}</title></rect>')
    ya = top + len(rows) * ROW_H + 4
    out.append(f'<g class="axis"><line x1="{lay.label_w}" y1="{ya}" x2="{lay.width - 10}" y2="{ya}" stroke="#98a2ad"/>')
    for tm, text in tick_labels(a / 1e6, b / 1e6, 8 if lay is WIDE else 4):
        x = xs(int(round(tm * 1e6)))
        out.append(f'<line x1="{x:.1f}" y1="{ya}" x2="{x:.1f}" y2="{ya + 4}" stroke="#98a2ad"/>'
                   f'<text x="{x:.1f}" y="{ya + 16}" text-anchor="middle">{text} ms</text>')
    out.append("</g></svg>")
    drawn.svg = "\n".join(out)
    return drawn


def _coverage_note(drawn: Drawn, w: Window, duration_ns: int) -> str:
    """What the chart covers, in one sentence (every chart says it; nothing is dropped silently)."""
    share = (w.end - w.start) / duration_ns if duration_ns else 1.0
    pct = "<1%" if share < 0.01 else f"{share:.0%}"
    n = drawn.merged
    how = (f"{n} mark{'s stand' if n != 1 else ' stands'} for several intervals too short to draw apart (each shows "
           "the state that took most of its time; hover for the mix)") if n else "each mark is one interval"
    return (f"Coverage: {ms(w.start)}-{ms(w.end)} ms ({pct} of the trace); all {_plural(drawn.intervals, 'interval')} "
            f"of these rows in it are drawn: {how}.")


def chart_pair(rows: list[Row], w: Window, chart_id: str, duration_ns: int, marks_for=None) -> str:
    """The wide and the narrow copy of a timeline, its coverage note and its hover line."""
    svgs, note = [], ""
    for lay in LAYOUTS:
        d = rows_svg(rows, w, chart_id, lay, marks_for)
        svgs.append(d.svg)
        if lay is WIDE:
            note = _coverage_note(d, w, duration_ns)
    return ("\n".join(svgs) + f'\n<p class="coverage">{e(note)}</p><div class="tip" id="{chart_id}-tip"></div>')


def timeline_svg(tl, w: Window, idx: int) -> str:
    """Goroutine states and P occupancy over window `w` (times relative to tl.t0), both widths."""
    rows = _g_rows(tl, w) + _p_rows(tl, w)

    def marks_for(row: Row):
        if not row.label.startswith("G"):
            return []
        g = int(row.label.split()[0][1:])
        return [(m0, m1, note) for m0, m1, gs, note in w.marks if g in gs]

    return chart_pair(rows, w, f"timeline-{idx}", int(tl.duration_ns), marks_for)


def _g_color(g: int) -> str:
    hue = (g * 67) % 360
    return f"hsl({hue},55%,45%)"


# which charts fit which cause: the side of the runtime the cause lives on
CAUSE_SIDE = {
    "custom_listener": "syscall", "tls_fd_bypass": "syscall", "blocking_syscall": "syscall", "syscall_storm": "syscall",
    "slow_consumer": "net", "fd_reuse": "net", "gomaxprocs_starvation": "sched", "gc_pressure": "sched",
    "lock_contention": "sched",
}
SIDES = ("net", "sched", "syscall")


def chart_sides(d: Diagnosis) -> list[str]:
    """The flame graphs the findings call for, in the findings' order (every side when no
    finding names a known cause: a healthy trace shows the whole picture)."""
    out: list[str] = []
    for f in d.findings:
        side = CAUSE_SIDE.get(f.cause)
        if side is None:
            return list(SIDES)
        if side not in out:
            out.append(side)
    return out or list(SIDES)


def _timelines_html(d: Diagnosis, tl) -> str:
    out = ["<h2 id=\"timeline\">Timeline around the worst windows</h2>"]
    if tl is None:
        return out[0] + '\n<p class="muted">Not available: render from the trace to get goroutine timelines.</p>'
    windows = pick_windows(d, int(tl.duration_ns))
    if not windows:
        out.append('<p class="muted">No finding cites a time window: nothing to zoom into.</p>')
        return "\n".join(out)
    out.append('<p class="muted">Rows: the goroutines the evidence names (their state over time), then every P '
               "(which goroutine it ran; goroutines named in the evidence in colour, others grey). Times are from the "
               "start of the trace; hover or tap for details.</p>")
    out.append('<div class="legend">' + "".join(f'<span style="--c:{c}">{e(lbl)}</span>' for _, c, lbl in STATES)
               + '<span style="--c:#9aa5b1">P running another goroutine</span>'
               + '<span style="--c:rgba(229,57,53,.25)">cited window</span></div>')
    dur_ns = int(tl.duration_ns)
    threads_shown = False
    for i, w in enumerate(windows, 1):
        w.waiters = waited_for_p(tl, w)
        also = (f"; in italics, not cited: {', '.join(f'G{g}' for g in w.waiters)} (waited longest for a P in the "
                "cited window)") if w.waiters else ""
        out.append(f'<figure><figcaption>{i}. {e(w.title)} — showing {ms(w.start)}-{ms(w.end)} ms, '
                   f"{len(w.goroutines)} cited goroutine(s){e(also)}</figcaption>")
        out.append(timeline_svg(tl, w, i))
        out.append("</figure>")
        if CAUSE_SIDE.get(w.title.split(":", 1)[0]) == "syscall" and not threads_shown:
            rows = _m_rows(tl, w)
            threads_shown = True
            if not rows:
                out.append('<p class="muted">No thread ran Go code or sat in a syscall in this window: no thread '
                           "timeline to draw.</p>")
                continue
            out.append(f'<figure><figcaption>{i}b. OS threads in the same window — the {len(rows)} with the most '
                       "syscall time: when each ran Go code (green) and when it sat in a syscall (purple); hover for "
                       "the goroutine</figcaption>")
            out.append(chart_pair(rows, w, f"threads-{i}", dur_ns))
            out.append("</figure>")
    return "\n".join(out)


# --- flame graphs ----------------------------------------------------------------------------------

class _Node:
    __slots__ = ("name", "value", "count", "children")

    def __init__(self, name: str) -> None:
        self.name, self.value, self.count = name, 0, 0
        self.children: dict[str, _Node] = {}


def flame_tree(rec) -> _Node:
    """Root-first tree of a profile's per-stack records (`pprof.ProfileRecords`)."""
    from .pprof import PPROF_MAX_STACK

    root = _Node("all")
    cols = rec.cols
    for sid, cnt, tns in zip(rec.stacks, rec.counts.tolist(), rec.times_ns.tolist()):
        if tns <= 0:
            continue
        names = cols.stack_funcs(sid)[:PPROF_MAX_STACK] if sid > 0 else []
        node = root
        node.value += tns
        node.count += cnt
        for name in reversed(names or ["<no stack>"]):
            child = node.children.get(name)
            if child is None:
                child = node.children[name] = _Node(name)
            child.value += tns
            child.count += cnt
            node = child
    return root


def _frame_color(name: str) -> str:
    from diagnose.timeline.stacks import STD_ROOTS, pkg_of

    h = sum(ord(ch) for ch in name) % 20
    if name in ("all", "<no stack>"):
        return "#c9ced6"
    pkg = pkg_of(name)
    first = pkg.split("/", 1)[0]
    if first not in STD_ROOTS:
        return f"hsl({8 + h},78%,{58 + h % 8}%)"        # your code (and third-party): red-orange
    if first == "runtime" or pkg in ("syscall", "internal/runtime/syscall") or pkg.startswith("internal/runtime"):
        return f"hsl(40,12%,{68 + h % 10}%)"            # runtime: grey
    if pkg == "net" or pkg.startswith(("net/", "internal/poll", "crypto/tls")):
        return f"hsl({200 + h},60%,{68 + h % 8}%)"      # network stack: blue
    return f"hsl({45 + h},80%,{60 + h % 8}%)"           # other standard library: yellow


@dataclass
class Flame:
    svg: str
    hidden_ns: int = 0       # time in frames too narrow to draw (under a drawn parent)
    frames: int = 0


def flame_svg(root: _Node, what: str, idx: str, lay: Layout = WIDE, unit: str = "wait") -> Flame:
    """A flame graph (root at the bottom), widths proportional to time, at layout `lay`."""
    total = max(root.value, 1)
    frames: list[tuple[float, float, int, _Node]] = []
    max_depth = 0
    hidden = 0
    x0, width = 10, lay.width - 20
    min_frac = FLAME_MIN_FRAC * SVG_W / lay.width  # about a pixel at either width

    def walk(n: _Node, x: float, depth: int) -> None:
        nonlocal max_depth, hidden
        wfrac = n.value / total
        if wfrac < min_frac or depth > FLAME_MAX_DEPTH:
            hidden += n.value
            return
        frames.append((x, wfrac, depth, n))
        max_depth = max(max_depth, depth)
        cx = x
        for ch in sorted(n.children.values(), key=lambda c: (-c.value, c.name)):
            walk(ch, cx, depth + 1)
            cx += ch.value / total

    walk(root, 0.0, 0)
    height = (max_depth + 1) * FLAME_ROW + 10
    out = [f'<svg class="chart flame {lay.name}" id="flame-{idx}-{lay.name}" data-tip-target="flame-tip-{idx}" '
           f'data-x0="{x0}" data-w="{width}" viewBox="0 0 {lay.width} {height}" width="{lay.width}" height="{height}" '
           'xmlns="http://www.w3.org/2000/svg">']
    for x, wf, depth, n in frames:
        px, pw = x0 + x * width, max(wf * width, 0.5)
        y = height - 5 - (depth + 1) * FLAME_ROW
        share = n.value / total
        label = n.name if depth else f"all: {what}"
        tip = f"{label} — {dur(n.value / 1e6)} ({share:.1%}), {_plural(n.count, unit)}"
        chars = int((pw - 6) / 6.6)
        text = "" if chars < 3 else (label if len(label) <= chars else label[: chars - 1] + "…")
        out.append(f'<g class="f" data-x="{x:.6f}" data-w="{wf:.6f}" data-d="{depth}" data-n="{e(label)}" '
                   f'data-tip="{e(tip)}"><title>{e(tip)}</title>'
                   f'<rect x="{px:.2f}" y="{y}" width="{pw:.2f}" height="{FLAME_ROW - 1}" rx="2" '
                   f'fill="{_frame_color(n.name)}"/>'
                   + (f'<text x="{px + 3:.2f}" y="{y + 12}">{e(text)}</text>' if text else "") + "</g>")
    out.append("</svg>")
    return Flame(svg="\n".join(out), hidden_ns=hidden, frames=len(frames))


FLAMES = {  # side -> (title, what the root stands for, words for "nothing to show")
    "net": ("Network wait", "network wait (waiting for the netpoller: -pprof=net)", "network wait"),
    "sched": ("Scheduler wait", "scheduler wait (runnable, waiting for a P: -pprof=sched)", "scheduler wait"),
    "syscall": ("Syscall time", "time in syscalls (-pprof=syscall)", "syscall"),
}
WHY_NOT = {
    "net": "no finding is about network waits",
    "sched": "no finding is about waiting for a P",
    "syscall": "no finding is about syscalls",
}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _nothing_to_show(side: str, d: Diagnosis | None) -> str:
    """One sentence saying why a chart is left out."""
    title = FLAMES[side][0]
    if side == "net" and d is not None and d.headline.network_parked_whole_window:
        n = d.headline.network_parked_whole_window
        return (f"{title}: left out — no network wait ended in the window, and the "
                f"{_plural(n, 'goroutine')} parked on the network stayed parked the whole time (a wait that never ends "
                "has no duration to draw).")
    return f"{title}: left out — the trace has no {FLAMES[side][2]} time to draw."


def _flames_html(tl, d: Diagnosis | None = None) -> str:
    out = ['<h2 id="flame">Where the time went, by stack</h2>']
    if tl is None:
        return out[0] + '\n<p class="muted">Not available: render from the trace to get flame graphs.</p>'
    from .pprof import compute_records, goroutine_walk

    sides = chart_sides(d) if d is not None else ["net", "sched"]
    walk = goroutine_walk(tl.cols)
    out.append('<p class="muted">Time per stack, as <code>go tool trace -pprof=net|sched|syscall</code> counts it (the '
               "stack where the wait or syscall began; root at the bottom), for the side of the runtime the findings "
               "point at. Colours: your code red-orange, network stack blue, other standard library yellow, runtime "
               "grey. Click a frame to zoom in, the bottom bar to zoom out.</p>")
    for kind in sides:
        title, what, _ = FLAMES[kind]
        rec = compute_records(tl.cols, kind, walk)
        root = flame_tree(rec)
        if root.value <= 0:
            out.append(f'<p class="muted left-out">{e(_nothing_to_show(kind, d))}</p>')
            continue
        nostack = root.children.get("<no stack>")
        if nostack is not None and nostack.value >= NO_STACK_LEAVE_OUT * root.value:
            out.append(f'<p class="muted left-out">{e(title)}: left out — {nostack.value / root.value:.0%} of its '
                       f"{e(dur(root.value / 1e6))} has no stack (the events that began these waits carry none: "
                       "typically wake-ups by the netpoller or the runtime), so there is no stack to draw.</p>")
            continue
        nst = len(rec.stacks)
        out.append(f"<h3>{title}: {e(dur(root.value / 1e6))} in {_plural(root.count, 'wait' if kind != 'syscall' else 'syscall')}"
                   f" over {_plural(nst, 'stack')}</h3>")
        flames = [flame_svg(root, what, kind, lay, "syscall" if kind == "syscall" else "wait") for lay in LAYOUTS]
        notes = []
        if flames[0].hidden_ns:
            share = flames[0].hidden_ns / root.value
            notes.append(f"frames narrower than about a pixel are not drawn: {dur(flames[0].hidden_ns / 1e6)} "
                         f"({'<0.1%' if share < 0.001 else f'{share:.1%}'}) sits in them, counted in their parents")
        else:
            notes.append("every stack is drawn")
        if nostack is not None and nostack.value / root.value >= 0.5:
            notes.append(f"{nostack.value / root.value:.0%} of this time has no stack (the event that began it carries "
                         "none: typically a wake-up by the netpoller or the runtime)")
        out.append("<figure>" + "\n".join(f.svg for f in flames)
                   + f'<p class="coverage">Coverage: all {_plural(root.count, "record")} of the trace; '
                   + e("; ".join(notes)) + f'.</p><div class="tip" id="flame-tip-{kind}"></div></figure>')
    left = [k for k in SIDES if k not in sides]
    if left:
        out.append('<p class="muted left-out">Not drawn: ' + "; ".join(
            f"the {FLAMES[k][0].lower()} flame graph ({WHY_NOT[k]}; <code>netpoll-diagnose profile --kind {k}</code> "
            "has it)" for k in left) + ".</p>")
    return "\n".join(out)


# --- render ----------------------------------------------------------------------------------------

def render(d: Diagnosis, timelines=None) -> str:
    """The whole page. `timelines`: the trace's `diagnose.timeline.Timelines` (optional)."""
    body = [_banner(d), "<h2>Findings</h2>", _summary_table(d)]
    if d.findings:
        body.append('<p><button type="button" data-toggle-details>expand all stacks</button></p>')
    body += [_finding_html(i, f) for i, f in enumerate(d.findings, 1)]
    body.append(_timelines_html(d, timelines))
    body.append(_flames_html(timelines, d))
    r = d.rules
    foot = [f"{r.evaluated} of {r.active} rules evaluated"]
    if r.skipped_by_version:
        foot.append(f"not for this trace version: {', '.join(r.skipped_by_version)}")
    if r.layers:
        foot.append("layers: " + "; ".join(r.layers))
    errs = "".join(f"<li>rule <code>{e(x.rule_id)}</code> could not be evaluated: {e(x.error)}</li>" for x in r.errors)
    body.append(f"<footer>{e(' · '.join(foot))}" + (f"<ul>{errs}</ul>" if errs else "")
                + f"<br>netpoll-diagnose {e(d.tool_version)} · schema {e(d.schema_id)} · self-contained page: "
                "nothing is fetched.</footer>")
    return _page(f"netpoll-diagnose: {status_label(d)} — {d.trace.path}", "\n".join(body))


# --- diff ------------------------------------------------------------------------------------------

_DIFF_CLASS = {"disappeared": "diff-gone", "appeared": "diff-new", "changed": "diff-changed", "unchanged": "muted"}


def render_diff(d) -> str:
    """The before/after page of a `diagnose.report.diff.DiffReport`."""
    gone, new = len(d.by_status("disappeared")), len(d.by_status("appeared"))
    key = "ok" if d.after.verdict.status == "healthy" and not new else ("critical" if new else "warning")
    body = [f'<header class="banner {key}"><h1>netpoll-diagnose diff: {gone} finding{"s" if gone != 1 else ""} '
            f'disappeared, {new} appeared</h1><div class="verdict">{e(d.summary)}</div></header>']
    body += [f'<p class="security">{e(n)}</p>' for n in d.notes]

    def side(s) -> str:
        t = s.trace
        meta = ", ".join(x for x in [t.format_label, f"{format_value(t.duration_ms)} ms"] if x)
        v = "ok" if s.verdict.status == "healthy" else (s.verdict.worst_severity or "warning")
        return (f"<td><code>{e(t.path or '<trace>')}</code><br><span class=\"muted\">{e(meta)}</span><br>"
                f'<span class="sev {v}">{"healthy" if v == "ok" else "problems"}</span> {s.findings} finding'
                f'{"s" if s.findings != 1 else ""}'
                f"<br>{e(s.verdict.text)}</td>")

    body.append("<table><tr><th></th><th>Before</th><th>After</th></tr><tr><th>trace</th>"
                + side(d.before) + side(d.after) + "</tr></table>")
    body.append("<h2>Findings</h2>")
    if not d.findings:
        body.append('<p class="muted">None in either trace.</p>')
    else:
        body.append("<table><tr><th>Change</th><th>Cause</th><th>Severity</th><th class=\"num\">Confidence</th>"
                    "<th>Finding</th><th>What changed</th></tr>")
        for f in d.findings:
            r = f.ref
            conf = f.confidence_text("→")
            sev = (f"{f.before.severity} → {f.after.severity}" if f.before and f.after and
                   f.before.severity != f.after.severity else r.severity)
            body.append(f'<tr><td class="{_DIFF_CLASS[f.status]}">{f.status}</td><td><code>{e(f.cause)}</code></td>'
                        f"<td>{e(sev)}</td><td class=\"num\">{conf}</td><td>{e(r.title)}</td>"
                        f"<td>{'<br>'.join(e(c.replace('->', '→')) for c in f.changes)}</td></tr>")
        body.append("</table>")
    body.append("<h2>Headline numbers</h2><table><tr><th></th><th class=\"num\">Before</th><th class=\"num\">After</th>"
                "<th class=\"num\">Change</th></tr>")
    for m in d.metrics:
        cls = {True: "better", False: "worse"}.get(m.better, "muted")
        body.append(f"<tr><td>{e(m.label)}</td><td class=\"num\">{e(m.value_text('before'))}</td>"
                    f"<td class=\"num\">{e(m.value_text('after'))}</td><td class=\"num {cls}\">{e(m.change_text)}</td></tr>")
    body.append("</table>")
    for title, sites in (("Time blocked by site (network waits)", d.blocked_by_site),
                         ("Syscall time by site", d.syscalls_by_site)):
        if not sites:
            continue
        body.append(f"<h2>{title}</h2><table><tr><th>Site</th><th class=\"num\">Before</th><th class=\"num\">After</th>"
                    "<th class=\"num\">Change</th></tr>")
        for s in sites:
            better = None if s.before_ms == s.after_ms else s.after_ms < s.before_ms
            cls = {True: "better", False: "worse"}.get(better, "muted")
            body.append(f"<tr><td><code>{e(s.site)}</code>{' (' + e(s.side) + ')' if s.side else ''}</td>"
                        f"<td class=\"num\">{format_value(s.before_ms)} ms ({s.before_count})</td>"
                        f"<td class=\"num\">{format_value(s.after_ms)} ms ({s.after_count})</td>"
                        f"<td class=\"num {cls}\">{e(s.change_text)}</td></tr>")
        body.append("</table>")
    body.append(f"<footer>netpoll-diagnose {e(d.tool_version)} · schema {e(d.schema_id)} · self-contained page: "
                "nothing is fetched.</footer>")
    return _page(f"netpoll-diagnose diff: {d.before.trace.path} → {d.after.trace.path}", "\n".join(body))
