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


class WindowMerge:
    """`merge_windows` one window at a time, in window order: what the merge needs of a window is
    kept (its causes, each cause's best finding so far and the rule ids that named it, the
    strongest window's diagnosis, the first healthy advice, the rule errors), not the window's
    diagnosis, so a big trace's parent process holds a few findings instead of every window's
    diagnosis (the 1 GB benchmark trace's 181 windows held 55 MiB of diagnoses in it)."""

    def __init__(self) -> None:
        self.n = 0
        self.causes: list[list[str]] = []
        #: per cause, in the order causes were first seen: (window, its finding) standing for it
        self.best: dict[str, tuple[int, Finding]] = {}
        self.rule_ids: dict[str, set[str]] = {}
        self.seen: dict[str, int] = {}
        self.rep: tuple[tuple, int, Diagnosis] | None = None  # (strength key, window, diagnosis)
        self.unseen = None
        self.errors: dict[str, RuleError] = {}

    def add(self, d: Diagnosis) -> None:
        """The next window's diagnosis (times already counting from the trace's start)."""
        i = self.n
        self.n += 1
        self.causes.append(sorted({f.cause for f in d.findings}))
        for f in d.findings:
            cur = self.best.get(f.cause)
            if cur is None or rank_key(f) < rank_key(cur[1]):  # ties: the earliest window stands
                self.best[f.cause] = (i, f)
            self.rule_ids.setdefault(f.cause, set()).update((f.rule_id, *f.also_matched))
            self.seen[f.cause] = self.seen.get(f.cause, 0) + 1  # a window names a cause once
        key = (window_strength(d), -i)
        if self.rep is None or key > self.rep[0]:
            self.rep = (key, i, d)
        if self.unseen is None:
            self.unseen = d.verdict.unseen
        for e in d.rules.errors:
            self.errors.setdefault(e.rule_id, e)

    def result(self, trace: TraceInfo, unit: str = "whole generations") -> tuple[Diagnosis, int]:
        """(the trace's diagnosis, index of the window that stands for it): see `merge_windows`."""
        if self.rep is None:
            raise ValueError("no window to merge")
        n = self.n
        for i, causes in enumerate(self.causes):
            trace.windows[i].causes = causes
        findings: list[Finding] = []
        for cause, (i, best) in self.best.items():
            w = trace.windows[i]
            others = sorted(self.rule_ids[cause] - {best.rule_id})
            k = self.seen[cause]
            fact = Fact(label="windows", value=k, unit="",
                        text=f"seen in {k} of {n} windows; strongest in {w.start_ms / 1e3:.1f}-{w.end_ms / 1e3:.1f} s")
            findings.append(best.model_copy(update={"also_matched": others, "facts": [*best.facts, fact]}))
        findings.sort(key=order_key)
        _, rep, base = self.rep
        w = trace.windows[rep]
        v = verdict(findings, base.headline)
        if v.status == "healthy":  # every window was healthy: each carries the same advice
            v.unseen = self.unseen
        v.text += (f" (Diagnosed in {n} window{'s' if n != 1 else ''} of {unit}, the trace being larger than the analysis window; "
                   f"figures from the window at {w.start_ms / 1e3:.1f}-{w.end_ms / 1e3:.1f} s.)")
        rules = base.rules.model_copy(update={"errors": list(self.errors.values()), "failed": len(self.errors)})
        out = base.model_copy(update={"trace": trace.model_copy(update={"path": base.trace.path}),
                                      "verdict": v, "findings": findings, "rules": rules})
        return out, rep


def merge_windows(parts: list[Diagnosis], trace: TraceInfo, unit: str = "whole generations") -> tuple[Diagnosis, int]:
    """(the trace's diagnosis, index of the window that stands for it). `trace` is the whole
    trace's TraceInfo with its `windows` filled (start/end/bytes); each window's causes are
    added to it here. `unit`: what the windows hold ("events" for an old-format trace, which
    has no generations), for the verdict's text. (`WindowMerge` takes the windows one at a time.)"""
    merge = WindowMerge()
    for d in parts:
        merge.add(d)
    return merge.result(trace, unit)
