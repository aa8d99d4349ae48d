"""The findings model: what the rules stage hands to every report (text, JSON, Markdown...).

This is a public, versioned contract (`Diagnosis.schema_id`), published as JSON Schema
(`netpoll-diagnose schema findings`, `schemas/findings.json`). Fields may be added without a
version bump; renaming or removing one, changing a meaning, or a new value of an enumerated
field (v2: verdict status "incomplete") bumps FINDINGS_SCHEMA.

Confidence (0..1) of a finding is the rule's estimate of the probability that the named cause
is present and contributes to slow streams, given how strongly the trace shows its signal:

    confidence = at_threshold + (at_saturation - at_threshold) * strength
    strength   = mean over the rule's signals of clamp((value - threshold) / (saturation - threshold), 0, 1)
                 (log scale: log(value/threshold) / log(saturation/threshold))

`at_threshold` is what the rule's author measured the rule's precision to be on fixtures whose
signal only just crosses the threshold; `at_saturation` its precision once the signal is
unambiguous. A rule with a plain number has a constant confidence. When several rules name the
same cause, the finding keeps the most confident one and lists the others in `also_matched`.

Order: severity first; among findings of one severity, the larger `impact_ms` first (the
stronger cause of a mix, issue 12), then those without one by confidence. Confidence answers
"is this cause there?", impact "how much does it cost the streams?": a 0.97-sure GC finding
can be the smaller of two causes.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from diagnose.features.model import Evidence, Frame, TraceInfo  # noqa: F401  (a citation is evidence; reports name Frame from here)

FINDINGS_SCHEMA = "netpoll-diagnose/findings/v2"

SeverityName = Literal["info", "warning", "critical"]


class Citation(Evidence):
    """A finding's evidence: a features `Evidence` item (who, when, where, what it shows) plus the
    feature list it was cited from and how many frames the rule trimmed."""

    source: str = Field(description="feature list it came from, e.g. 'fds.evidence'")
    frames_omitted: int = 0


class Fact(BaseModel):
    """A number that supports the finding, with its label and display text."""

    label: str
    value: Any = None
    unit: str = ""
    text: str = Field(description="the value formatted for humans, with its unit")


class Reference(BaseModel):
    title: str
    url: str


class Advice(BaseModel):
    """What to do, quoted from the cause's knowledge entry."""

    summary: str = Field(description="what the cause is, in a paragraph")
    fix: str = Field(description="how to fix it, in a paragraph")
    knowledge: str = Field(description="knowledge entry id (knowledge/<id>.md)")
    confirm: list[str] = Field(default_factory=list, description="commands that confirm the cause")
    references: list[Reference] = Field(default_factory=list)


class Finding(BaseModel):
    cause: str
    rule_id: str
    severity: SeverityName
    confidence: float = Field(ge=0.0, le=1.0)
    impact_ms: float | None = Field(None, description="the rule's estimate of the delay (ms) this cause adds to "
                                    "the streams in this trace; findings of one severity are ranked by it, larger "
                                    "first (null: the rule has no such estimate; ranked after those that do)")
    title: str
    message: str
    facts: list[Fact] = Field(default_factory=list)
    evidence: list[Citation] = Field(default_factory=list)
    advice: Advice
    tags: list[str] = Field(default_factory=list)
    also_matched: list[str] = Field(default_factory=list, description="other rules that named this cause")
    rule_source: str = Field("", description="file the rule came from, relative to its layer: "
                             "'rules/fd_reuse.yaml' (shipped), 'team:rules/x.yaml' (--rules-dir)")
    rule_line: int = Field(0, description="line of the rule in rule_source")
    rule_layer: str = Field("", description="layer the rule came from: 'shipped', 'team' (--rules-dir), 'team2'..., "
                            "'env' ($NETPOLL_DIAGNOSE_RULES)")
    overridden_by: list[str] = Field(default_factory=list, description="'team:rules/o.yaml:3': each override applied")


class Headline(BaseModel):
    """The numbers a verdict rests on (also given when the trace is healthy)."""

    network_wait_p95_ms: float | None = Field(None, description="null when no network wait ended in the window")
    network_waits: int = 0
    network_parked_whole_window: int = Field(
        0, description="goroutines parked on the network for the whole window (their waits never end in it)")
    wake_to_run_p95_ms: float | None = Field(None, description="null when no goroutine went runnable -> running")
    syscalls_per_s: float = 0.0
    gc_time_share: float = 0.0
    gomaxprocs: int = 0
    goroutines: int = 0
    duration_ms: float = 0.0


class Verdict(BaseModel):
    """healthy: no problem found and every rule ran; problems: at least one warning or critical
    finding; incomplete: the diagnosis cannot be trusted as complete (a rule could not be
    evaluated, the trace's evidence is damaged: `incomplete` says why), whatever was found."""

    status: Literal["healthy", "problems", "incomplete"]
    text: str
    worst_severity: SeverityName | None = None
    incomplete: list[str] = Field(default_factory=list,
                                  description="why this diagnosis is not complete (rules that failed, damaged trace)")
    unseen: Advice | None = Field(None, description="on a healthy verdict: the delay a Go trace cannot show (bytes "
                                  "queued in socket buffers, time outside the process) and where to look for it "
                                  "(knowledge/unseen_latency.md)")


class RuleError(BaseModel):
    """A rule that could not be evaluated on this trace (the others still ran)."""

    rule_id: str
    error: str


class RulesRun(BaseModel):
    active: int = 0
    evaluated: int = 0
    failed: int = Field(0, description="rules that could not be evaluated (listed in `errors`)")
    skipped_by_version: list[str] = Field(default_factory=list)
    errors: list[RuleError] = Field(default_factory=list)
    layers: list[str] = Field(default_factory=list)


class Diagnosis(BaseModel):
    """Everything one run found about one trace."""

    schema_id: str = Field(FINDINGS_SCHEMA, alias="schema", serialization_alias="schema")
    tool_version: str = ""
    trace: TraceInfo = Field(default_factory=TraceInfo)
    verdict: Verdict
    headline: Headline = Field(default_factory=Headline)
    findings: list[Finding] = Field(default_factory=list)
    rules: RulesRun = Field(default_factory=RulesRun)

    model_config = {"populate_by_name": True}

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)
