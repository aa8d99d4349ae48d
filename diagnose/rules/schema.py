"""The rule file schema (pydantic, strict: unknown keys are errors).

A rule file is YAML; each document in it is either a *rule* or a *layer directive*:

    id: fd_reuse.raw_close            # unique; a later layer with the same id replaces this rule
    title: A socket fd was closed behind net's back
    cause: fd_reuse                   # stable cause id, what reports and JSON key on
    severity: critical                # info < warning < critical
    confidence: {at_threshold: 0.7, at_saturation: 0.95, signals: [...]}   # or a number
    go_versions: ">=1.22"             # over the trace header's version (f.trace.format_minor)
    tags: [correctness, security]
    condition: f.fds.raw_close_count > 0            # CEL over f = Features.model_dump()
    values: {site: "f.syscalls.by_site.filter(s, s.caller_class == 'raw_user').map(s, s.site)"}
    facts: [{label: raw closes, value: f.fds.raw_close_count}]
    evidence: [{from: fds.evidence, limit: 5}]
    message: "{f.fds.raw_close_count} sockets were closed with syscall.Close ..."
    knowledge: fd_reuse
    tests: {fires: [{scenario: fd_reuse}], silent: [{scenario: healthy}]}

    disable: {ids: [gc_pressure.assist], tags: [experimental]}   # a directive document
    enable:  {ids: [...], tags: [...]}

See rules/README.md for the full reference.
"""
from __future__ import annotations

import math
import re
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Severity(str, Enum):
    info = "info"
    warning = "warning"
    critical = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self.value]

    def __str__(self) -> str:  # pragma: no cover - convenience
        return self.value


_SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


def severity_rank(value: str | Severity) -> int:
    return _SEVERITY_RANK[value.value if isinstance(value, Severity) else value]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --- go_versions ---------------------------------------------------------------------------

_VSPEC = re.compile(r"^\s*(>=|<=|==|!=|>|<|=)?\s*(?:go)?1\.(\d+)(?:\.\d+)?\s*$")


class GoVersions:
    """A version range such as ">=1.22", ">=1.21,<1.24", "1.22" or "*".

    It is tested against the trace header's version (`f.trace.format_minor`: 22 for a header
    "go 1.22"), which is what the trace *format* guarantees. Note that Go 1.24's runtime writes
    header "go 1.23"; rules scope by what the trace can show, not by the toolchain.
    """

    def __init__(self, spec: str) -> None:
        self.spec = spec.strip() or "*"
        self.clauses: list[tuple[str, int]] = []
        if self.spec in ("*", "any", "all"):
            return
        for part in self.spec.split(","):
            m = _VSPEC.match(part)
            if not m:
                raise ValueError(
                    f"bad go_versions clause {part.strip()!r}: use e.g. '>=1.22', '>=1.21,<1.24', '1.22' or '*'"
                )
            op = m.group(1) or "=="
            self.clauses.append(("==" if op == "=" else op, int(m.group(2))))

    def matches(self, minor: int) -> bool:
        if minor <= 0:  # unknown version: do not hide a rule because of missing metadata
            return True
        for op, v in self.clauses:
            ok = {
                ">=": minor >= v, "<=": minor <= v, ">": minor > v, "<": minor < v,
                "==": minor == v, "!=": minor != v,
            }[op]
            if not ok:
                return False
        return True

    def __str__(self) -> str:
        return self.spec


# --- parts of a rule -----------------------------------------------------------------------

class Signal(Strict):
    """A number the rule's confidence grows with, from `threshold` (just firing) to `saturation`."""

    value: str = Field(description="CEL expression giving a number, e.g. f.gc.gc_time_share")
    threshold: float = Field(description="value at which the evidence starts to count (strength 0)")
    saturation: float = Field(description="value at which the evidence is unambiguous (strength 1)")
    scale: Literal["linear", "log"] = "linear"

    @model_validator(mode="after")
    def _check(self) -> "Signal":
        if self.saturation == self.threshold:
            raise ValueError("saturation must differ from threshold")
        if self.scale == "log" and (self.threshold <= 0 or self.saturation <= 0):
            raise ValueError("a log scale needs threshold and saturation > 0")
        return self

    def strength(self, value: float) -> float:
        """0 at threshold, 1 at saturation (either direction), clamped; linear or log."""
        if self.scale == "log":
            v = max(value, 1e-300)
            s = math.log(v / self.threshold) / math.log(self.saturation / self.threshold)
        else:
            s = (value - self.threshold) / (self.saturation - self.threshold)
        if math.isnan(s):
            return 0.0
        return min(1.0, max(0.0, s))


class ConfidenceSpec(Strict):
    """Confidence = at_threshold + (at_saturation - at_threshold) * mean(signal strengths)."""

    at_threshold: float = Field(ge=0.0, le=1.0)
    at_saturation: float = Field(ge=0.0, le=1.0)
    signals: list[Signal] = Field(min_length=1)

    @model_validator(mode="after")
    def _order(self) -> "ConfidenceSpec":
        if self.at_saturation < self.at_threshold:
            raise ValueError("at_saturation must be >= at_threshold")
        return self


class EvidenceSelector(Strict):
    """Which evidence items of the features to cite."""

    from_: str = Field(alias="from", description="path of an evidence list under f, e.g. fds.evidence")
    where: str | None = Field(None, description="optional CEL filter; sees `e` (the item) and `f`")
    sort: Literal["duration_ms", "start_ns", "none"] = Field(
        "duration_ms", description="duration_ms: longest first; start_ns: earliest first; none: as given"
    )
    limit: int = Field(5, ge=1, le=100)
    max_frames: int = Field(8, ge=1, le=64, description="stack frames kept per item (leaf first)")

    @field_validator("from_")
    @classmethod
    def _strip_f(cls, v: str) -> str:
        v = v.strip()
        return v[2:] if v.startswith("f.") else v


class FactSpec(Strict):
    """A headline number shown with the finding (and in JSON as a typed value)."""

    label: str
    value: str = Field(description="CEL expression")
    unit: str = ""
    format: str = Field("", description="Python format spec for the value, e.g. '.1f' or '.0%'")

    @field_validator("format")
    @classmethod
    def _fmt(cls, v: str) -> str:
        if "{" in v or "}" in v:
            raise ValueError("format is a bare format spec such as '.1f', without braces")
        try:
            format(1.5, v)
        except ValueError as exc:
            raise ValueError(f"bad format spec {v!r}: {exc}") from None
        return v


class TestCase(Strict):
    """A fixture a rule must fire on (or stay silent on).

    Exactly one of: `trace` (a path, relative to the rule file's folder, else to the repository
    or the current directory), manifest selectors (`scenario`, `variant`, `go`) matched against
    fixtures/manifest.json entries, or `features` (a partial features mapping; every field not
    given keeps the Features model's default, zero/empty) for threshold edges. `todo` marks a
    known miss: the case is run and reported, but its failure does not fail the run.
    """

    trace: str | None = None
    scenario: str | None = None
    variant: str | None = None
    go: str | None = Field(None, description="Go version prefix, e.g. '1.22' matches 1.22.10")
    features: dict[str, Any] | None = Field(None, description="partial features; defaults fill the rest")
    name: str = Field("", description="label for a features case")
    reason: str = ""
    todo: str = Field("", description="a known miss: reported, does not fail the run (say why)")

    @model_validator(mode="after")
    def _one(self) -> "TestCase":
        given = [k for k in ("trace", "scenario", "features") if getattr(self, k) is not None]
        if not given:
            raise ValueError("a test case needs `trace`, `scenario` or `features`")
        if len(given) > 1 or (not self.scenario and (self.variant or self.go)):
            raise ValueError("use one of `trace`, manifest selectors (scenario/variant/go) or `features`")
        return self

    def label(self) -> str:
        if self.trace:
            return self.trace
        if self.features is not None:
            return f"features {self.name}".strip() if self.name else "features " + _flat(self.features)
        parts = [f"scenario={self.scenario}"]
        if self.variant:
            parts.append(f"variant={self.variant}")
        if self.go:
            parts.append(f"go={self.go}")
        return " ".join(parts)


def _flat(d: Any, prefix: str = "") -> str:
    if not isinstance(d, dict):
        return f"{prefix}={d}"
    return ", ".join(_flat(v, f"{prefix}.{k}" if prefix else str(k)) for k, v in d.items())


class ExpectCase(TestCase):
    """A result the whole rule set (after every layer) must give on a trace or features.

    The finding for `cause` must be there (or, with `absent: true`, must not), with this
    severity, a confidence in [confidence_min, confidence_max] and a message containing the
    text. Like promtool's exp_alerts: it checks what a user would see, including the effect of
    overrides and disables.
    """

    cause: str
    absent: bool = False
    severity: Severity | None = None
    confidence_min: float | None = Field(None, ge=0.0, le=1.0)
    confidence_max: float | None = Field(None, ge=0.0, le=1.0)
    message_contains: str | None = None
    rule_id: str | None = Field(None, description="the finding came from this rule")


class RuleTests(Strict):
    fires: list[TestCase] = Field(default_factory=list)
    silent: list[TestCase] = Field(default_factory=list)
    expect: list[ExpectCase] = Field(default_factory=list)

    def empty(self) -> bool:
        return not (self.fires or self.silent or self.expect)


_ID = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")
_CAUSE = re.compile(r"^[a-z][a-z0-9_]*$")
_TAG = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")


class Rule(Strict):
    id: str
    title: str = Field(min_length=1, max_length=150)
    cause: str
    severity: Severity
    confidence: float | ConfidenceSpec
    go_versions: str = "*"
    tags: list[str] = Field(default_factory=list)
    enabled: bool = True
    condition: str = Field(description="CEL over f; must yield a bool")
    impact: str = Field("", description="optional CEL number: the delay in ms this cause adds to the streams in "
                        "this trace, as the trace shows it; orders findings of the same severity (the larger "
                        "first) when a trace has several causes. Not a probability: confidence is that.")
    values: dict[str, str] = Field(default_factory=dict, description="named CEL values for the message")
    facts: list[FactSpec] = Field(default_factory=list)
    evidence: list[EvidenceSelector] = Field(default_factory=list)
    message: str = Field(min_length=1)
    knowledge: str
    tests: RuleTests = Field(default_factory=RuleTests)
    notes: str = Field("", description="free text for rule authors (calibration, margins)")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError("id must be lowercase letters, digits, '.', '_' or '-'")
        return v

    @field_validator("cause", "knowledge")
    @classmethod
    def _cause(cls, v: str) -> str:
        if not _CAUSE.match(v):
            raise ValueError("must be a snake_case identifier, e.g. fd_reuse")
        return v

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        for t in v:
            if not _TAG.match(t):
                raise ValueError(f"bad tag {t!r}: lowercase letters, digits, '.', '_' or '-'")
        return v

    @field_validator("confidence")
    @classmethod
    def _conf(cls, v: Any) -> Any:
        if isinstance(v, float) and not 0.0 <= v <= 1.0:
            raise ValueError("confidence must be between 0 and 1")
        return v

    @field_validator("go_versions", mode="before")
    @classmethod
    def _gov(cls, v: Any) -> str:
        v = str(v)
        GoVersions(v)
        return v

    @field_validator("values")
    @classmethod
    def _values(cls, v: dict[str, str]) -> dict[str, str]:
        for k in v:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", k):
                raise ValueError(f"value name {k!r} must be an identifier")
        return v

    @property
    def versions(self) -> GoVersions:
        return GoVersions(self.go_versions)


class Override(Strict):
    """Named fields of an existing rule that a layer changes, the rest staying as shipped.

    `tags` replaces the list; `facts_append` adds facts after the rule's own; `tests` are the
    layer's tests of the changed rule. Changing the condition or thresholds is a new rule
    (whole-rule replacement), on purpose: an override never forks the detection logic.
    """

    id: str
    title: str | None = Field(None, min_length=1, max_length=150)
    severity: Severity | None = None
    confidence: float | ConfidenceSpec | None = None
    go_versions: str | None = None
    tags: list[str] | None = None
    message: str | None = Field(None, min_length=1)
    knowledge: str | None = None
    facts_append: list[FactSpec] = Field(default_factory=list)
    notes: str | None = None
    tests: RuleTests | None = None

    def changed_fields(self) -> list[str]:
        return [k for k in self.model_fields_set if k != "id"]


class OverrideDoc(Strict):
    override: Override


class LayerConfig(Strict):
    """Per-layer settings. `modules`: package path prefixes that are "our code" (see README)."""

    modules: list[str] = Field(default_factory=list)


class ConfigDoc(Strict):
    config: LayerConfig


class Selector(Strict):
    ids: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)

    def matches(self, rule: Rule) -> bool:
        return rule.id in self.ids or any(t in rule.tags for t in self.tags)


class Directive(Strict):
    """A layer directive: disable (then enable) rules loaded so far, by id or tag."""

    disable: Selector | None = None
    enable: Selector | None = None

    @model_validator(mode="after")
    def _some(self) -> "Directive":
        if self.disable is None and self.enable is None:
            raise ValueError("a directive needs `disable` or `enable`")
        return self
