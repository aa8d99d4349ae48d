"""One rule document -> a checked, compiled rule (`LoadedRule`), or its problems as `Issue`s.

Everything a rule author can get wrong in one document is found here, before any trace:
the schema (pydantic, unknown keys are errors), every CEL expression (syntax, feature paths
with did-you-mean, variables, functions, static types of every sub-expression via
`celtypes`, then a trial on an all-zero trace), the message template and the knowledge id.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from diagnose.errors import RuleFileError
from diagnose.features.model import Evidence, Features
from diagnose.rules import celeval, celtypes, fieldpaths, template
from diagnose.rules.knowledge import KnowledgeBase
from diagnose.rules.schema import Rule
from diagnose.rules.yamlsrc import Doc

_BOUND = re.compile(r"\.\s*(?:exists|all|exists_one|filter|map)\s*\(\s*([A-Za-z_]\w*)\s*,")


@dataclass(frozen=True)
class Issue:
    """A problem at `path:line`. `fatal`: the input is not a rule file at all (a FIFO, a device,
    binary bytes, an alias bomb), which commands report with exit 2 rather than as a lint."""

    path: Path
    line: int
    reason: str
    fatal: bool = False

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


class RuleLoadError(RuleFileError):
    """One or more rule files are invalid. str() is one `file:line: reason` per line."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


@dataclass
class LoadedRule:
    rule: Rule
    path: Path
    line: int
    layer: str
    doc: Doc
    condition: celeval.Compiled
    values: dict[str, celeval.Compiled]
    facts: list[celeval.Compiled]
    signals: list[celeval.Compiled]
    wheres: list[celeval.Compiled | None]
    enabled: bool = True
    impact: celeval.Compiled | None = None
    history: list[str] = field(default_factory=list)  # "replaced x (layer)", "disabled by file:line"
    overrides: list[tuple[Path, int, str]] = field(default_factory=list)  # (file, line, layer) of each override

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def source(self) -> str:
        return f"{self.path}:{self.line}"


# --- validation of one rule ---------------------------------------------------------------

_DEFAULT_F = Features().model_dump()
_SMOKE: dict[str, Any] = {}


def _smoke(kind: str) -> Any:
    """The default features (and evidence item) as one CEL context, converted once: converting
    them for each of a rule set's ~150 expressions was a third of loading the bundled rules."""
    if kind not in _SMOKE:
        values = {"f": _DEFAULT_F} if kind == "f" else {"f": _DEFAULT_F, "e": Evidence(note="").model_dump()}
        _SMOKE[kind] = celeval.shared(values)
    return _SMOKE[kind]


def _loc_str(loc: tuple[Any, ...]) -> str:
    return ".".join(str(x) for x in loc if not (isinstance(x, str) and x.startswith("function-"))) or "rule"


_TYPE_TAGS = {"float", "int", "str", "bool", "ConfidenceSpec", "Selector", "dict[str,any]"}


def _pydantic_issues(path: Path, doc: Doc, exc: ValidationError) -> list[Issue]:
    issues = []
    for err in exc.errors():
        raw = tuple(err["loc"])
        # a union (e.g. confidence: number | mapping) reports one error per member, tagged with
        # the member's type name; keep only the member that matches what the file has.
        tag_at = next((i for i, x in enumerate(raw) if isinstance(x, str) and x in _TYPE_TAGS), None)
        if tag_at is not None:
            try:
                actual = fieldpaths.resolve(doc.data, list(raw[:tag_at]))
            except (LookupError, TypeError):
                actual = None
            is_map = isinstance(actual, dict)
            if is_map != (raw[tag_at] not in ("float", "int", "str", "bool")):
                continue
        loc = tuple(x for x in raw if not (isinstance(x, str) and (x in _TYPE_TAGS or x.startswith("function-"))))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (not in the rule schema; see rules/README.md)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        issues.append(Issue(path, doc.line_of(loc), f"{_loc_str(loc)}: {msg}"))
    seen, out = set(), []
    for i in issues:
        if (i.line, i.reason) not in seen:
            seen.add((i.line, i.reason))
            out.append(i)
    return out


CEL_FUNCTIONS = {
    "size", "has", "int", "uint", "double", "string", "bytes", "bool", "type", "dyn", "duration",
    "timestamp", "matches", "contains", "startsWith", "endsWith", "exists", "all", "exists_one",
    "filter", "map", "getFullYear", "getMonth", "getDate", "getDayOfMonth", "getDayOfWeek",
    "getDayOfYear", "getHours", "getMinutes", "getSeconds", "getMilliseconds",
}


def _unknown_functions(compiled: celeval.Compiled) -> list[str]:
    try:
        names = compiled.program.functions()
    except (AttributeError, RuntimeError, ValueError):  # static analysis is best effort
        return []
    return sorted(n for n in names if n[:1].isalpha() and n not in CEL_FUNCTIONS)


def _unknown_variables(compiled: celeval.Compiled, source: str, allowed: set[str]) -> list[str]:
    bound = set(_BOUND.findall(source))
    return sorted(v for v in compiled.variables if v not in allowed and v not in bound)


def _line_col(source: str, offset: int) -> tuple[int, int]:
    line = source.count("\n", 0, offset) + 1
    return line, offset - (source.rfind("\n", 0, offset) + 1) + 1


def _check_cel(path: Path, doc: Doc, loc: tuple[Any, ...], source: str, roots: dict[str, Any],
               issues: list[Issue], what: str, smoke: Any = None,
               want_bool: bool = False, want_number: bool = False) -> celeval.Compiled | None:
    try:
        compiled = celeval.compile_expr(source)
    except celeval.CelCompileError as exc:
        issues.append(Issue(path, doc.text_line(loc, exc.line, exc.column), f"{what}: CEL {exc.message}"))
        return None
    bad = False
    for problem in fieldpaths.check_expression(source, roots):
        issues.append(Issue(path, doc.text_line(loc), f"{what}: {problem}"))
        bad = True
    unknown = _unknown_variables(compiled, source, set(roots))
    if unknown:
        names = ", ".join(sorted(roots))
        issues.append(Issue(path, doc.text_line(loc), f"{what}: unknown variable(s) {', '.join(unknown)} (available: {names})"))
        bad = True
    unknown_fns = _unknown_functions(compiled)
    if unknown_fns:
        issues.append(Issue(path, doc.text_line(loc), f"{what}: unknown function(s) {', '.join(unknown_fns)} "
                            "(CEL standard functions only, e.g. size, double, int, contains, matches, exists)"))
        bad = True
    if not bad:
        _t, problems = celtypes.check(source, roots, "bool" if want_bool else "number" if want_number else None)
        for pr in problems:
            issues.append(Issue(path, doc.text_line(loc, *_line_col(source, pr.offset)), f"{what}: {pr.message}"))
            bad = True
    if smoke is not None and not bad:
        try:
            result = celeval.evaluate(compiled, smoke)
        except celeval.CelEvalError as exc:
            msg = str(exc)
            if any(k in msg for k in ("overload", "Unsupported", "no such key", "Undefined")):
                issues.append(Issue(path, doc.text_line(loc), f"{what}: {msg}"))
                bad = True
        else:
            if want_bool and not isinstance(result, bool):
                issues.append(Issue(path, doc.text_line(loc), f"{what}: must be a boolean expression, got {type(result).__name__}"))
                bad = True
    return None if bad else compiled


def build_rule(path: Path, doc: Doc, layer: str, kb: KnowledgeBase | None) -> tuple[LoadedRule | None, list[Issue]]:
    issues: list[Issue] = []
    try:
        rule = Rule.model_validate(doc.data)
    except ValidationError as exc:
        return None, _pydantic_issues(path, doc, exc)
    froot = {"f": Features}
    smoke = _smoke("f")
    cond = _check_cel(path, doc, ("condition",), rule.condition, froot, issues, "condition", smoke, want_bool=True)
    values: dict[str, celeval.Compiled] = {}
    for name, src in rule.values.items():
        c = _check_cel(path, doc, ("values", name), src, froot, issues, f"values.{name}", smoke)
        if c:
            values[name] = c
    facts = []
    for i, fact in enumerate(rule.facts):
        c = _check_cel(path, doc, ("facts", i, "value"), fact.value, froot, issues, f"facts[{i}].value", smoke)
        if c:
            facts.append(c)
    signals = []
    if not isinstance(rule.confidence, float):
        for i, sig in enumerate(rule.confidence.signals):
            loc = ("confidence", "signals", i, "value")
            c = _check_cel(path, doc, loc, sig.value, froot, issues, f"confidence.signals[{i}].value", smoke,
                           want_number=True)
            if c:
                signals.append(c)
    impact = None
    if rule.impact:
        impact = _check_cel(path, doc, ("impact",), rule.impact, froot, issues, "impact", smoke, want_number=True)
    wheres: list[celeval.Compiled | None] = []
    ev_paths = fieldpaths.evidence_list_paths()
    for i, sel in enumerate(rule.evidence):
        if sel.from_ not in ev_paths:
            issues.append(Issue(path, doc.line_of(("evidence", i, "from")),
                                f"evidence[{i}].from: {sel.from_!r} is not an evidence list (one of: {', '.join(ev_paths)})"))
        if sel.where:
            smoke_e = _smoke("fe")
            c = _check_cel(path, doc, ("evidence", i, "where"), sel.where, {"f": Features, "e": Evidence},
                           issues, f"evidence[{i}].where", smoke_e, want_bool=True)
            wheres.append(c)
        else:
            wheres.append(None)
    for problem in template.check(rule.message, Features, set(rule.values)):
        issues.append(Issue(path, doc.text_line(("message",)), f"message: {problem}"))
    if kb is not None and rule.knowledge not in kb:
        issues.append(Issue(path, doc.line_of(("knowledge",)),
                            f"knowledge: no entry {rule.knowledge!r} (knowledge/{rule.knowledge}.md)"))
    if issues or cond is None:
        return None, issues
    lr = LoadedRule(rule=rule, path=path, line=doc.start_line, layer=layer, doc=doc, condition=cond,
                    values=values, facts=facts, signals=signals, wheres=wheres, enabled=rule.enabled,
                    impact=impact)
    return lr, []
