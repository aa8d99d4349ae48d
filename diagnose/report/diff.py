"""Before/after: `netpoll-diagnose diff BEFORE AFTER` -- did the fix work?

Both traces are diagnosed with the same rules; the comparison says which findings (keyed by
cause) disappeared, appeared or changed, and puts the headline numbers side by side with
their percentage change: network-wait p95 and total time blocked, wake-to-run p95, time
blocked per call site, syscall time (total and per site), GC share. That is the "blocking
time down 90%" check an engineer makes after a fix.

    from diagnose.report.diff import compare
    d = compare(diag_before, feats_before, diag_after, feats_after)   # -> DiffReport
    render_diff(d, "text" | "json" | "markdown" | "slack" | "html")   # diagnose.report

A percentage change is (after - before) / before; it is None ("new") when before is 0.
"""
from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, Field

from diagnose.features.model import Features, TraceInfo
from diagnose.rules.findings import Diagnosis, Finding, Verdict
from diagnose.rules.template import format_value

DIFF_SCHEMA = "netpoll-diagnose/diff/v1"
MAX_SITES = 10
# a finding with the same cause counts as "changed" when its severity or rule changes, its
# confidence moves by at least this much, or one of its numeric facts by at least FACT_PCT
CONFIDENCE_DELTA = 0.05
FACT_PCT = 20.0
SEVERITY = {"info": 0, "warning": 1, "critical": 2}
NO_DATA = "no data"
# smallest absolute change worth calling better/worse or quoting in the summary, by unit
# (wake-to-run p95 going from 0.6 us to 20 us is +3000% and means nothing)
MATERIAL = {"ms": 1.0, "/s": 10.0, "%": 1.0, "count": 5.0}


class SideSummary(BaseModel):
    trace: TraceInfo
    verdict: Verdict
    findings: int = 0


class Metric(BaseModel):
    key: str
    label: str
    unit: str = ""
    before: float | None = Field(description="null when the trace has no data (a p95 of no waits)")
    after: float | None = Field(description="null when the trace has no data")
    change_pct: float | None = Field(None, description="(after - before) / before * 100; None when before is 0 "
                                     "or a side has no data")
    lower_is_better: bool | None = True
    material: bool = Field(True, description="the absolute change is large enough to matter (not noise on tiny values)")

    @property
    def change_text(self) -> str:
        return change_text(self.before, self.after, self.change_pct)

    def value_text(self, which: str) -> str:
        v = getattr(self, which)
        return NO_DATA if v is None else metric_value(v, self.unit)

    @property
    def better(self) -> bool | None:
        """True if the change is an improvement, False a regression, None for no/neutral change."""
        if (self.lower_is_better is None or self.before is None or self.after is None or self.before == self.after
                or not self.material):
            return None
        return (self.after < self.before) == self.lower_is_better


class SiteDelta(BaseModel):
    site: str
    side: str = ""
    before_ms: float = 0.0
    after_ms: float = 0.0
    before_count: int = 0
    after_count: int = 0
    change_pct: float | None = None

    @property
    def change_text(self) -> str:
        return change_text(self.before_ms, self.after_ms, self.change_pct)


class FindingRef(BaseModel):
    rule_id: str
    severity: str
    confidence: float
    title: str
    message: str


class FactDelta(BaseModel):
    label: str
    before: str = ""
    after: str = ""
    change_pct: float | None = None


class FindingDelta(BaseModel):
    cause: str
    status: Literal["disappeared", "appeared", "changed", "unchanged"]
    before: FindingRef | None = None
    after: FindingRef | None = None
    changes: list[str] = Field(default_factory=list, description="what changed, one phrase each")
    facts: list[FactDelta] = Field(default_factory=list)

    @property
    def ref(self) -> FindingRef:
        return self.after or self.before  # type: ignore[return-value]

    def confidence_text(self, arrow: str = "->") -> str:
        """The confidence, or its change ("60% -> 80%") when the cause is in both traces."""
        if self.before and self.after:
            return f"{self.before.confidence:.0%} {arrow} {self.after.confidence:.0%}"
        return f"{self.ref.confidence:.0%}"


class DiffReport(BaseModel):
    schema_id: str = Field(DIFF_SCHEMA, alias="schema", serialization_alias="schema")
    tool_version: str = ""
    before: SideSummary
    after: SideSummary
    summary: str
    metrics: list[Metric] = Field(default_factory=list)
    blocked_by_site: list[SiteDelta] = Field(default_factory=list, description="network wait time per call site")
    syscalls_by_site: list[SiteDelta] = Field(default_factory=list, description="syscall time per call site")
    findings: list[FindingDelta] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    model_config = {"populate_by_name": True}

    def to_json_dict(self) -> dict:
        return self.model_dump(mode="json", by_alias=True)

    def by_status(self, status: str) -> list[FindingDelta]:
        return [f for f in self.findings if f.status == status]

    def metric(self, key: str) -> Metric | None:
        return next((m for m in self.metrics if m.key == key), None)


# --- numbers ---------------------------------------------------------------------------------

def pct(before: float, after: float) -> float | None:
    if not before:
        return None if after else 0.0
    return round((after - before) / abs(before) * 100.0, 1)


def change_text(before: float | None, after: float | None, change: float | None) -> str:
    if before is None or after is None:
        return "=" if before is None and after is None else NO_DATA
    if change is None:
        return "new" if after else "="
    if before == after or abs(change) < 0.05:
        return "="
    if abs(change) < 10:
        return f"{change:+.1f}%"
    return f"{change:+.0f}%"


def metric_value(v: float, unit: str) -> str:
    if unit == "%":
        return f"{v:.1f}%" if v < 10 else f"{v:.0f}%"
    s = format_value(v)
    if unit.startswith("/"):
        return f"{s}{unit}"
    return f"{s} {unit}" if unit and unit != "count" else s


def direction_words(m: Metric) -> str:
    """'down 92% (1,200 -> 96 ms)' for sentences."""
    if m.before is None or m.after is None:
        return f"{m.value_text('before')} -> {m.value_text('after')}"
    if m.change_pct is None:
        return f"new ({m.value_text('after')})" if m.after else "unchanged (0)"
    word = "down" if m.after < m.before else "up"
    if m.before == m.after:
        return f"unchanged ({m.value_text('after')})"
    return f"{word} {abs(m.change_pct):.0f}% ({m.value_text('before')} -> {m.value_text('after')})"


def _metrics(db: Diagnosis, fb: Features, da: Diagnosis, fa: Features) -> list[Metric]:
    def row(key, label, unit, b, a, lower=True):
        # None (no data: a p95 of no waits) stays None; it is not 0 ms
        b, a = (None if b is None else float(b)), (None if a is None else float(a))
        if b is None or a is None:
            return Metric(key=key, label=label, unit=unit, before=b, after=a, change_pct=None, lower_is_better=lower,
                          material=False)
        return Metric(key=key, label=label, unit=unit, before=b, after=a, change_pct=pct(b, a), lower_is_better=lower,
                      material=abs(a - b) >= MATERIAL.get(unit, 0.0))

    nb, na = fb.network, fa.network
    sb, sa = fb.scheduling, fa.scheduling
    return [
        row("network_wait_p95_ms", "network wait p95", "ms", db.headline.network_wait_p95_ms, da.headline.network_wait_p95_ms),
        row("network_wait_total_ms", "time blocked on the network", "ms", nb.waits.total_ms, na.waits.total_ms),
        row("network_waits", "network waits", "count", nb.waits.count, na.waits.count, None),
        row("write_wait_total_ms", "time blocked writing (backpressure)", "ms", nb.write_waits.total_ms,
            na.write_waits.total_ms),
        row("wake_to_run_p95_ms", "wake-to-run p95", "ms", db.headline.wake_to_run_p95_ms, da.headline.wake_to_run_p95_ms),
        row("wake_to_run_all_p95_ms", "runnable-to-running p95 (every wait for a P)", "ms",
            sb.wake_to_run_all.p95_ms, sa.wake_to_run_all.p95_ms),
        row("syscall_total_ms", "syscall time", "ms", fb.syscalls.total_ms, fa.syscalls.total_ms),
        row("syscalls_per_s", "syscalls per second", "/s", fb.syscalls.per_s, fa.syscalls.per_s),
        row("gc_time_share_pct", "GC share of wall time", "%", 100 * db.headline.gc_time_share,
            100 * da.headline.gc_time_share),
        row("duration_ms", "trace duration", "ms", fb.trace.duration_ms, fa.trace.duration_ms, None),
    ]


def _site_deltas(before: dict[tuple[str, str], tuple[float, int]], after: dict[tuple[str, str], tuple[float, int]],
                 limit: int = MAX_SITES) -> list[SiteDelta]:
    keys = set(before) | set(after)
    rows = []
    for k in keys:
        bm, bc = before.get(k, (0.0, 0))
        am, ac = after.get(k, (0.0, 0))
        if not (bm or am or bc or ac):
            continue  # a site listed with nothing on either side
        rows.append(SiteDelta(site=k[0], side=k[1], before_ms=round(bm, 3), after_ms=round(am, 3), before_count=bc,
                              after_count=ac, change_pct=pct(bm, am)))
    rows.sort(key=lambda r: (-max(r.before_ms, r.after_ms), r.site, r.side))
    return rows[:limit]


def _net_sites(f: Features) -> dict[tuple[str, str], tuple[float, int]]:
    out: dict[tuple[str, str], tuple[float, int]] = {}
    for s in f.network.by_site:
        ms, n = out.get((s.site, s.side), (0.0, 0))
        out[(s.site, s.side)] = (ms + s.waits.total_ms, n + s.waits.count)
    return out


def _sys_sites(f: Features) -> dict[tuple[str, str], tuple[float, int]]:
    out: dict[tuple[str, str], tuple[float, int]] = {}
    for s in f.syscalls.by_site:
        key = (s.site, s.call or s.caller_class)
        ms, n = out.get(key, (0.0, 0))
        out[key] = (ms + s.syscalls.total_ms, n + s.syscalls.count)
    return out


# --- findings --------------------------------------------------------------------------------

def _ref(f: Finding) -> FindingRef:
    return FindingRef(rule_id=f.rule_id, severity=f.severity, confidence=f.confidence, title=f.title, message=f.message)


def _num(v) -> float | None:
    if isinstance(v, bool):
        return None
    return float(v) if isinstance(v, (int, float)) else None


def _finding_delta(b: Finding, a: Finding) -> FindingDelta:
    changes: list[str] = []
    if b.severity != a.severity:
        worse = SEVERITY[a.severity] > SEVERITY[b.severity]
        changes.append(f"severity {b.severity} -> {a.severity} ({'worse' if worse else 'better'})")
    if b.rule_id != a.rule_id:
        changes.append(f"rule {b.rule_id} -> {a.rule_id}")
    if abs(a.confidence - b.confidence) >= CONFIDENCE_DELTA:
        changes.append(f"confidence {b.confidence:.0%} -> {a.confidence:.0%}")
    facts: list[FactDelta] = []
    after_facts = {x.label: x for x in a.facts}
    for fb in b.facts:
        fa = after_facts.get(fb.label)
        if fa is None:
            continue
        nb, na = _num(fb.value), _num(fa.value)
        ch = pct(nb, na) if nb is not None and na is not None else None
        facts.append(FactDelta(label=fb.label, before=fb.text, after=fa.text, change_pct=ch))
        if ch is not None and abs(ch) >= FACT_PCT:
            changes.append(f"{fb.label} {fb.text} -> {fa.text} ({change_text(nb, na, ch)})")
        elif ch is None and nb is not None and na is not None and nb == 0 and na:
            changes.append(f"{fb.label} {fb.text} -> {fa.text}")
    status = "changed" if changes else "unchanged"
    return FindingDelta(cause=a.cause, status=status, before=_ref(b), after=_ref(a), changes=changes, facts=facts)


def _findings(db: Diagnosis, da: Diagnosis) -> list[FindingDelta]:
    bmap = {f.cause: f for f in db.findings}
    amap = {f.cause: f for f in da.findings}
    out: list[FindingDelta] = []
    for f in db.findings:
        if f.cause not in amap:
            out.append(FindingDelta(cause=f.cause, status="disappeared", before=_ref(f)))
    for f in da.findings:
        if f.cause not in bmap:
            out.append(FindingDelta(cause=f.cause, status="appeared", after=_ref(f)))
    deltas = [_finding_delta(bmap[f.cause], f) for f in da.findings if f.cause in bmap]
    out += [d for d in deltas if d.status == "changed"] + [d for d in deltas if d.status == "unchanged"]
    return out


def _summary(findings: list[FindingDelta], metrics: list[Metric], after: Diagnosis) -> str:
    parts = []
    for status in ("disappeared", "appeared", "changed"):
        items = [f for f in findings if f.status == status]
        if items:
            names = ", ".join(f.cause for f in items[:4]) + (f" (+{len(items) - 4})" if len(items) > 4 else "")
            parts.append(f"{len(items)} finding{'s' if len(items) != 1 else ''} {status} ({names})")
    head = "; ".join(parts) if parts else "No finding appeared, disappeared or changed"
    keys = ("network_wait_total_ms", "network_wait_p95_ms", "wake_to_run_p95_ms", "syscall_total_ms")
    moved = [m for m in metrics if m.key in keys and m.material and (
        m.change_pct is None and m.after or m.change_pct is not None and abs(m.change_pct) >= 10)]
    moved.sort(key=lambda m: -(abs(m.change_pct) if m.change_pct is not None else 1e9))
    nums = "; ".join(f"{m.label} {direction_words(m)}" for m in moved[:3])
    after_v = after.verdict.status if after.verdict.status != "problems" else (
        f"{sum(1 for f in after.findings if f.severity != 'info')} problem(s) left")
    return (f"{head}. " + (f"{nums[0].upper()}{nums[1:]}. " if nums else "No headline number moved materially. ")
            + f"After: {after_v}.")


def compare(before: Diagnosis, before_features: Features, after: Diagnosis, after_features: Features,
            tool_version: str = "") -> DiffReport:
    metrics = _metrics(before, before_features, after, after_features)
    findings = _findings(before, after)
    notes = []
    db, da = before_features.trace.duration_ms, after_features.trace.duration_ms
    if db and da and max(db, da) / min(db, da) > 1.2:
        notes.append(f"the traces cover different durations ({format_value(db)} ms before, {format_value(da)} ms "
                     "after): compare p95s and rates rather than totals")
    if before_features.trace.go_version != after_features.trace.go_version:
        notes.append(f"different trace versions ({before_features.trace.go_version or '?'} before, "
                     f"{after_features.trace.go_version or '?'} after)")
    for side, d in (("before", before), ("after", after)):
        if d.trace.truncated:
            notes.append(f"the {side} trace is truncated; its counts may be low")
    return DiffReport(
        tool_version=tool_version or after.tool_version,
        before=SideSummary(trace=before.trace, verdict=before.verdict, findings=len(before.findings)),
        after=SideSummary(trace=after.trace, verdict=after.verdict, findings=len(after.findings)),
        summary=_summary(findings, metrics, after),
        metrics=metrics,
        blocked_by_site=_site_deltas(_net_sites(before_features), _net_sites(after_features)),
        syscalls_by_site=_site_deltas(_sys_sites(before_features), _sys_sites(after_features), limit=5),
        findings=findings,
        notes=notes,
    )


# --- text and JSON ---------------------------------------------------------------------------

_MARK = {"disappeared": "-", "appeared": "+", "changed": "~", "unchanged": "="}
_GREEN, _RED, _RESET = "\033[32m", "\033[31m", "\033[0m"


def _side_line(name: str, s: SideSummary) -> str:
    t = s.trace
    meta = ", ".join(x for x in [t.format_label, f"{format_value(t.duration_ms)} ms" if t.duration_ms else ""] if x)
    label = s.verdict.status.upper()
    return f"{name:7}{t.path or '<trace>'}" + (f" ({meta})" if meta else "") + f": {label}, {s.findings} finding" + (
        "s" if s.findings != 1 else "")


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(r)]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def _site_label(s: SiteDelta) -> str:
    return f"{s.site} ({s.side})" if s.side else s.site


def render_text(d: DiffReport, color: bool = False) -> str:
    def paint(text: str, better: bool | None) -> str:
        if not color or better is None:
            return text
        return f"{_GREEN if better else _RED}{text}{_RESET}"

    lines = [f"netpoll-diagnose {d.tool_version} diff".replace("  ", " "),
             "  " + _side_line("before", d.before), "  " + _side_line("after", d.after), "", d.summary]
    for n in d.notes:
        lines.append(f"  note: {n}")
    lines += ["", "Findings:"]
    if not d.findings:
        lines.append("  (none in either trace)")
    for f in d.findings:
        r = f.ref
        conf = f.confidence_text()
        mark = paint(f"{_MARK[f.status]} {f.status.upper():11}", {"disappeared": True, "appeared": False}.get(f.status))
        lines.append(f"  {mark} {f.cause} [{r.severity}, {conf}]: {r.title}")
        for c in f.changes:
            lines.append(f"                  {c}")
    lines += ["", "Headline numbers:"]
    rows = [["", "before", "after", "change"]]
    for m in d.metrics:
        rows.append([m.label, m.value_text("before"), m.value_text("after"), m.change_text])
    table = _table(rows, {1, 2, 3})
    for i, m in enumerate(d.metrics, 1):
        if color and m.better is not None:
            table[i] = table[i][: -len(m.change_text)] + paint(m.change_text, m.better)
    lines += table
    for title, sites in (("Time blocked by site (network waits):", d.blocked_by_site),
                         ("Syscall time by site:", d.syscalls_by_site)):
        if not sites:
            continue
        lines += ["", title]
        rows = [["site", "before", "after", "change"]]
        for s in sites:
            rows.append([_site_label(s), f"{format_value(s.before_ms)} ms ({s.before_count})",
                         f"{format_value(s.after_ms)} ms ({s.after_count})", s.change_text])
        lines += _table(rows, {1, 2, 3})
    return "\n".join(lines) + "\n"


def render_json(d: DiffReport, indent: int | None = 2) -> str:
    return json.dumps(d.to_json_dict(), indent=indent, ensure_ascii=False) + "\n"
