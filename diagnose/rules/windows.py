"""One diagnosis from the diagnoses of a trace's windows (a trace too big to analyse at once is
diagnosed window by window: `diagnose.read.windows`).

A cause found in any window is a finding of the trace: the strongest window's finding stands
for it (its evidence, its figures), with a fact saying in how many windows the cause was seen
and where it was strongest. A cause that comes and goes is thus named where it was worst
instead of being averaged away over the whole trace.
"""
from __future__ import annotations

from ..features import TraceInfo, TraceWindow
from .engine import order_key, rank_key, verdict
from .findings import Diagnosis, Fact, Finding, RuleError
from .schema import severity_rank


def shift_times(d: Diagnosis, ns: int) -> None:
    """Make a window's evidence times count from the trace's start instead of the window's
    (every time a finding cites is ns since the start of what was analysed)."""
    if not ns:
        return
    for f in d.findings:
        for ev in f.evidence:
            if ev.start_ns is not None:
                ev.start_ns += ns
            if ev.end_ns is not None:
                ev.end_ns += ns
            for step in ev.chain:
                step.start_ns += ns
                step.end_ns += ns


def window_strength(d: Diagnosis) -> tuple:
    """Order of windows by what they found: the worst severity, then the highest confidence."""
    if not d.findings:
        return (-1, 0.0)
    return max((severity_rank(f.severity), f.confidence) for f in d.findings)


def merge_windows(parts: list[Diagnosis], trace: TraceInfo, unit: str = "whole generations") -> tuple[Diagnosis, int]:
    """(the trace's diagnosis, index of the window that stands for it). `trace` is the whole
    trace's TraceInfo with its `windows` filled (start/end/bytes); each window's causes are
    added to it here. `unit`: what the windows hold ("events" for an old-format trace, which
    has no generations), for the verdict's text."""
    n = len(parts)
    by_cause: dict[str, list[tuple[int, Finding]]] = {}
    for i, d in enumerate(parts):
        trace.windows[i].causes = sorted({f.cause for f in d.findings})
        for f in d.findings:
            by_cause.setdefault(f.cause, []).append((i, f))
    findings: list[Finding] = []
    for cause, seen in by_cause.items():
        i, best = min(seen, key=lambda p: (rank_key(p[1]), p[0]))
        w = trace.windows[i]
        others = sorted({r for _, f in seen for r in (f.rule_id, *f.also_matched)} - {best.rule_id})
        k = len(seen)  # a window names a cause once (diagnose merges its rules by cause)
        fact = Fact(label="windows", value=k, unit="",
                    text=f"seen in {k} of {n} windows; strongest in {w.start_ms / 1e3:.1f}-{w.end_ms / 1e3:.1f} s")
        findings.append(best.model_copy(update={"also_matched": others, "facts": [*best.facts, fact]}))
    findings.sort(key=order_key)
    rep = max(range(n), key=lambda i: (window_strength(parts[i]), -i))
    base = parts[rep]
    w = trace.windows[rep]
    v = verdict(findings, base.headline)
    if v.status == "healthy":  # every window was healthy: each carries the same advice
        v.unseen = next((d.verdict.unseen for d in parts if d.verdict.unseen is not None), None)
    v.text += (f" (Diagnosed in {n} window{'s' if n != 1 else ''} of {unit}, the trace being larger than the analysis window; "
               f"figures from the window at {w.start_ms / 1e3:.1f}-{w.end_ms / 1e3:.1f} s.)")
    errors: dict[str, RuleError] = {}
    for d in parts:
        for e in d.rules.errors:
            errors.setdefault(e.rule_id, e)
    rules = base.rules.model_copy(update={"errors": list(errors.values()), "failed": len(errors)})
    out = base.model_copy(update={"trace": trace.model_copy(update={"path": base.trace.path}),
                                  "verdict": v, "findings": findings, "rules": rules})
    return out, rep
