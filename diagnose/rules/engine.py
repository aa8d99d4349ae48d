"""Evaluate a rule set on one trace's features and build the ranked findings.

Ranking: severity (critical > warning > info); within a severity, the rule's impact estimate
(ms of delay the cause adds, larger first; findings without one after those with one), then
confidence, then cause id (stable order). One finding per cause: when several rules name the
same cause, the most confident rule's finding is kept (`rank_key`) and the others are listed in
`also_matched`; its impact is the largest of those rules' impacts.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from diagnose.features.model import ChainStep, Features
from diagnose.rules import celeval, fieldpaths, template
from diagnose.rules.findings import (
    Advice, Citation, Diagnosis, Fact, Finding, Frame, Headline, RuleError, RulesRun, Verdict,
)
from diagnose.rules.fieldpaths import resolve
from diagnose.rules.knowledge import KnowledgeBase
from diagnose.rules.loader import LoadedRule, RuleSet, file_label, layer_labels, layer_tag, rule_file_label
from diagnose.rules.schema import ConfidenceSpec, severity_rank
from diagnose.timeline.stacks import pkg_of


@dataclass
class RuleResult:
    rule: LoadedRule
    applies: bool = True          # go_versions matched the trace
    fired: bool = False
    confidence: float = 0.0
    finding: Finding | None = None
    error: str | None = None


def _confidence(lr: LoadedRule, fctx: Any) -> float:
    spec = lr.rule.confidence
    if not isinstance(spec, ConfidenceSpec):
        return float(spec)
    strengths = []
    for sig, compiled in zip(spec.signals, lr.signals):
        value = celeval.as_number(celeval.evaluate(compiled, fctx))
        strengths.append(sig.strength(value))
    s = sum(strengths) / len(strengths)
    return round(spec.at_threshold + (spec.at_saturation - spec.at_threshold) * s, 3)


def _trim(stack: list[Frame], n: int) -> list[Frame]:
    """At most n frames, leaf first; the user's own frames are kept before the others (they
    are what the reader can change), the stack order is kept."""
    if len(stack) <= n:
        return stack
    rest = sorted(range(1, len(stack)), key=lambda i: (not stack[i].ours, i))[: n - 1]
    return [stack[0]] + [stack[i] for i in sorted(rest)]


def _citations(lr: LoadedRule, fdict: dict[str, Any]) -> list[Citation]:
    out: list[Citation] = []
    ours = set(fdict.get("our_code", {}).get("packages_seen") or ())
    seen: set[tuple] = set()
    for sel, where in zip(lr.rule.evidence, lr.wheres):
        try:
            items = resolve(fdict, sel.from_.split("."))
        except (LookupError, TypeError):
            continue
        chosen = []
        for item in items or []:
            if where is not None:
                try:
                    if celeval.evaluate(where, {"f": fdict, "e": item}) is not True:
                        continue
                except celeval.CelEvalError:
                    continue
            chosen.append(item)
        if sel.sort == "duration_ms":
            chosen.sort(key=lambda e: -(e.get("duration_ms") or 0.0))
        elif sel.sort == "start_ns":
            chosen.sort(key=lambda e: (e.get("start_ns") is None, e.get("start_ns") or 0))
        for item in chosen[: sel.limit]:
            key = (item.get("note"), tuple(item.get("goroutines") or ()), item.get("start_ns"))
            if key in seen:
                continue
            seen.add(key)
            stack = _trim([Frame(**{**fr, "ours": pkg_of(fr["func"]) in ours}) for fr in item.get("stack") or []],
                          sel.max_frames)
            out.append(Citation(
                source=sel.from_, note=item.get("note", ""), goroutines=list(item.get("goroutines") or []),
                start_ns=item.get("start_ns"), end_ns=item.get("end_ns"), duration_ms=item.get("duration_ms"),
                stack=stack, frames_omitted=len(item.get("stack") or []) - len(stack),
                chain=[ChainStep(**{**c, "stack": (c.get("stack") or [])[: sel.max_frames]})
                       for c in item.get("chain") or []],
            ))
    return out


def _facts(lr: LoadedRule, fctx: Any) -> list[Fact]:
    out = []
    for spec, compiled in zip(lr.rule.facts, lr.facts):
        try:
            value = celeval.evaluate(compiled, fctx)
        except celeval.CelEvalError:
            value = None
        text = template.format_value(value, spec.format)
        if spec.unit and value is not None:
            text = f"{text} {spec.unit}" if not spec.unit.startswith("/") else f"{text}{spec.unit}"
        out.append(Fact(label=spec.label, value=value, unit=spec.unit, text=text))
    return out


def _advice(kb: KnowledgeBase, entry_id: str) -> Advice:
    entry = kb.get(entry_id)
    if entry is None:  # the loader checks this; keep reports robust anyway
        return Advice(summary="", fix="", knowledge=entry_id)
    return entry.advice()


#: a rule's evaluation on one trace takes milliseconds (static limits in celtypes bound its cost);
#: CEL cannot be interrupted, but a rule over this CPU budget is reported as failed so a costly
#: expression is seen and fixed. CPU time, not wall time: a busy machine must not fail rules.
RULE_TIME_BUDGET_S = 5.0


def evaluate_rule(lr: LoadedRule, fdict: dict[str, Any], kb: KnowledgeBase, source: str = "",
                  fctx: Any = None) -> RuleResult:
    """One rule on one trace; `source` is how the finding names the rule's file (rule_file_label).
    `fctx`: `celeval.shared({"f": fdict})`, built once per trace by `diagnose` (made here if not
    given)."""
    t0 = time.process_time()
    res = _evaluate_rule(lr, fdict, kb, fctx if fctx is not None else celeval.shared({"f": fdict}), source)
    took = time.process_time() - t0
    if took > RULE_TIME_BUDGET_S and res.error is None:
        res.error = f"evaluation took {took:.1f} s (budget {RULE_TIME_BUDGET_S:g} s): simplify the expressions"
        res.fired, res.finding = False, None
    return res


def _evaluate_rule(lr: LoadedRule, fdict: dict[str, Any], kb: KnowledgeBase, fctx: Any, source: str) -> RuleResult:
    res = RuleResult(rule=lr)
    minor = int(fdict.get("trace", {}).get("format_minor") or 0)
    if not lr.rule.versions.matches(minor):
        res.applies = False
        return res
    try:
        fired = celeval.evaluate(lr.condition, fctx)
    except celeval.CelEvalError as exc:
        res.error = f"condition: {exc}"
        return res
    if not isinstance(fired, bool):
        res.error = f"condition gave {type(fired).__name__}, not a boolean"
        return res
    res.fired = fired
    if not fired:
        return res
    try:
        res.confidence = _confidence(lr, fctx)
    except celeval.CelEvalError as exc:
        res.error = f"confidence: {exc}"
        res.fired = False
        return res
    impact = None
    if lr.impact is not None:
        try:
            impact = round(max(0.0, celeval.as_number(celeval.evaluate(lr.impact, fctx))), 3)
        except celeval.CelEvalError:
            impact = None  # an estimate that cannot be computed orders the finding like one without
    values: dict[str, Any] = {}
    for name, compiled in lr.values.items():
        try:
            values[name] = celeval.evaluate(compiled, fctx)
        except celeval.CelEvalError:
            values[name] = None
    rule = lr.rule
    res.finding = Finding(
        cause=rule.cause, rule_id=rule.id, severity=rule.severity.value, confidence=res.confidence,
        impact_ms=impact,
        title=rule.title, message=" ".join(template.render(rule.message, fdict, values).split()),
        facts=_facts(lr, fctx), evidence=_citations(lr, fdict), advice=_advice(kb, rule.knowledge),
        tags=list(rule.tags), rule_source=source or lr.path.name, rule_line=lr.line,
    )
    return res


def rank_key(f: Finding) -> tuple:
    """Which of one cause's findings stands for it: the most severe, then the most confident."""
    return (-severity_rank(f.severity), -f.confidence, f.cause, f.rule_id)


def order_key(f: Finding) -> tuple:
    """Order of the causes in a report: severity, then the larger impact (the stronger cause of
    a mix first), then confidence. See the module docstring."""
    return (-severity_rank(f.severity), f.impact_ms is None, -(f.impact_ms or 0.0), -f.confidence,
            f.cause, f.rule_id)


def merge_by_cause(findings: list[Finding]) -> list[Finding]:
    best: dict[str, Finding] = {}
    others: dict[str, list[str]] = {}
    for f in sorted(findings, key=rank_key):
        if f.cause in best:
            others.setdefault(f.cause, []).append(f.rule_id)
        else:
            best[f.cause] = f
    impacts: dict[str, list[float]] = {}
    for f in findings:
        if f.impact_ms is not None and severity_rank(f.severity) == severity_rank(best[f.cause].severity):
            impacts.setdefault(f.cause, []).append(f.impact_ms)
    merged = []
    for cause, f in best.items():
        imp = max(impacts[cause]) if cause in impacts else None
        merged.append(f.model_copy(update={"also_matched": sorted(others.get(cause, [])), "impact_ms": imp}))
    return sorted(merged, key=order_key)


def headline(features: Features) -> Headline:
    w2r = features.scheduling.wake_to_run_all  # every runnable->running delay, not only network wake-ups
    return Headline(
        network_wait_p95_ms=features.network.waits.p95_ms if features.network.waits.count else None,
        network_waits=features.network.waits.count,
        network_parked_whole_window=features.network.parked_whole_window_count,
        wake_to_run_p95_ms=w2r.p95_ms if w2r.count else None,
        syscalls_per_s=features.syscalls.per_s,
        gc_time_share=features.gc.gc_time_share,
        gomaxprocs=features.trace.gomaxprocs_max,
        goroutines=features.trace.goroutine_count,
        duration_ms=features.trace.duration_ms,
    )


def network_wait_text(h: Headline) -> str:
    """The network-wait headline in words; says so when there is no data, and when goroutines
    sat parked on the network the whole window (their waits never end, so no p95 counts them)."""
    parked = h.network_parked_whole_window
    still = (f"{parked} goroutine{'s' if parked != 1 else ''} parked on the network for the whole window"
             if parked else "")
    if h.network_waits and h.network_wait_p95_ms is not None:
        n = h.network_waits
        text = f"network wait p95 {template.format_value(h.network_wait_p95_ms)} ms over {n} wait{'s' if n != 1 else ''}"
        return text + (f" (and {still})" if still else "")
    if still:
        return f"no network wait ended in the window ({still}: a wait that never ends has no duration to count)"
    return "no network wait ended in the window (no data)"


def headline_text(h: Headline) -> str:
    w2r = (f"wake-to-run p95 {template.format_value(h.wake_to_run_p95_ms)} ms"
           if h.wake_to_run_p95_ms is not None else "wake-to-run p95 no data")
    return (
        f"{network_wait_text(h)}, {w2r}, "
        f"{template.format_value(h.syscalls_per_s)} syscalls/s, "
        f"GC {h.gc_time_share:.0%} of wall time"
    )


#: the knowledge entry a healthy verdict cites: what a trace cannot show (issue 12: slow
#: consumers whose backlog still fits the socket buffers look healthy to every rule)
UNSEEN_ENTRY = "unseen_latency"


def verdict(findings: list[Finding], h: Headline, kb: KnowledgeBase | None = None) -> Verdict:
    """healthy or problems. A rule that could not be evaluated makes the verdict "incomplete":
    that is decided with the trace's own damage by `diagnose.pipeline.incompleteness`. A
    healthy verdict carries `unseen` (from `kb`): where delay can hide from the trace."""
    serious = [f for f in findings if severity_rank(f.severity) > 0]
    worst = findings[0].severity if findings else None
    if not serious:
        text = f"No netpoller problem found: {headline_text(h)}."
        if findings:
            text += f" {len(findings)} informational note{'s' if len(findings) != 1 else ''} below."
        unseen = _advice(kb, UNSEEN_ENTRY) if kb is not None and UNSEEN_ENTRY in kb else None
        return Verdict(status="healthy", text=text, worst_severity=worst, unseen=unseen)
    top = serious[0]
    n = len(serious)
    text = (
        f"{n} problem{'s' if n != 1 else ''} found. Most likely: {top.title} "
        f"[{top.cause}, {top.severity}, confidence {top.confidence:.0%}]."
    )
    return Verdict(status="problems", text=text, worst_severity=worst)


def shown_trace_path(path: str) -> str:
    """The trace path as reports show it: relative to the current folder when the trace is under
    it, else its file name (an absolute path would leak a home or build folder into a shared report)."""
    p = Path(path) if path else None
    if p is None or not p.is_absolute():
        return path
    try:
        return p.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return p.name


def _expressions(lr: LoadedRule) -> tuple[str, ...]:
    """The sources of the expressions a rule evaluates on the shared context (`_evaluate_rule`)."""
    compiled = [lr.condition, lr.impact, *lr.values.values(), *lr.facts, *lr.signals]
    return tuple(c.source for c in compiled if c is not None)


@lru_cache(maxsize=16)
def _fields_read(sources: tuple[str, ...]) -> dict[str, set[str] | None] | None:
    return fieldpaths.referenced_fields(sources)


def diagnose(features: Features, ruleset: RuleSet, tool_version: str = "") -> Diagnosis:
    fdict = features.model_dump()
    # CEL gets only the fields the rules read: the binding copies its context on every
    # evaluation (189 MB benchmark trace: 0.6 ms an expression with the evidence lists, 0.24
    # without; ~40 expressions a window)
    read = _fields_read(tuple(src for lr in ruleset.active() for src in _expressions(lr)))
    fctx = celeval.shared({"f": fieldpaths.prune(fdict, read)})
    results = [evaluate_rule(lr, fdict, ruleset.knowledge, rule_file_label(ruleset.layers, lr), fctx)
               for lr in ruleset.active()]
    for r in results:
        if r.finding is not None:  # where it came from, without absolute paths (reports are shared)
            r.finding.rule_layer = layer_tag(ruleset.layers, r.rule.layer)
            r.finding.overridden_by = [f"{file_label(ruleset.layers, lay, path)}:{line}"
                                       for path, line, lay in r.rule.overrides]
    findings = merge_by_cause([r.finding for r in results if r.finding is not None])
    h = headline(features)
    t = features.trace
    errors = [RuleError(rule_id=r.rule.id, error=r.error) for r in results if r.error]
    return Diagnosis(
        tool_version=tool_version,
        trace=t.model_copy(deep=True, update={"path": shown_trace_path(t.path)}),
        verdict=verdict(findings, h, ruleset.knowledge),
        headline=h,
        findings=findings,
        rules=RulesRun(
            active=len(results),
            evaluated=sum(1 for r in results if r.applies),
            skipped_by_version=sorted(r.rule.id for r in results if not r.applies),
            failed=len(errors),
            errors=errors,
            layers=layer_labels(ruleset.layers),
        ),
    )
