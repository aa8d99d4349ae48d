"""What a layer does to the rules loaded before it: `override`, `disable`, `enable`, `config`.

A directive that names an id or tag no rule has is an error with its line and the closest
name ("did you mean"): a typo in `disable: {ids: [gc_pressur.gc_share]}` would otherwise leave
the shipped rule firing and say nothing.

An override changes named fields of one existing rule (severity, title, confidence, tags,
message, knowledge, go_versions, notes; `facts_append` adds facts) and keeps the rest, so a
team's rule keeps following the shipped thresholds. The merged rule is checked again like a
new rule (a message may only use the rule's values, a knowledge id must exist...), and
problems point into the override document.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diagnose.rules.knowledge import KnowledgeBase
from diagnose.rules.ruledoc import Issue, LoadedRule, build_rule
from diagnose.rules.schema import Directive, Override, RuleTests
from diagnose.rules.yamlsrc import Doc


@dataclass
class TestSource:
    """Tests written in one document (a rule's own, or an override's) of one layer."""

    rule_id: str
    tests: RuleTests
    path: Path
    line: int
    doc: Doc
    key: tuple[Any, ...]  # where `tests` sits in the document: ("tests",) or ("override", "tests")


def did_you_mean(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _shift(doc: Doc, override_doc: Doc, n_facts: int) -> None:
    """Map the override document's lines onto the merged rule's paths, for error lines."""
    for table in ("lines", "scalars"):
        src = getattr(override_doc, table)
        dst = getattr(doc, table)
        for path, val in src.items():
            if len(path) < 2 or path[0] != "override":
                continue
            rest = path[1:]
            if rest[0] == "facts_append":
                rest = ("facts", n_facts + rest[1], *rest[2:]) if len(rest) > 1 else ("facts",)
            dst[rest] = val


def apply_override(ov: Override, doc: Doc, path: Path, layer: str, rules: dict[str, LoadedRule],
                   kb: KnowledgeBase | None) -> list[Issue]:
    """Replace rules[ov.id] by the rule with the override's fields. Returns problems."""
    target = rules.get(ov.id)
    if target is None:
        return [Issue(path, doc.line_of(("override", "id")),
                      f"override: no rule {ov.id!r} loaded before this layer{did_you_mean(ov.id, list(rules))}")]
    raw = doc.data["override"]
    merged = target.rule.model_dump(by_alias=True, mode="json")
    merged.pop("tests", None)
    if isinstance(target.rule.confidence, float):
        merged["confidence"] = target.rule.confidence
    n_facts = len(merged.get("facts", []))
    for key in ov.changed_fields():
        if key == "tests":
            continue
        if key == "facts_append":
            merged["facts"] = list(merged.get("facts", [])) + list(raw["facts_append"])
        else:
            merged[key] = raw[key]
    merged["tests"] = target.rule.tests.model_dump(by_alias=True, mode="json", exclude_defaults=True)
    merged_doc = Doc(data=merged, start_line=doc.start_line, source_lines=doc.source_lines)
    _shift(merged_doc, doc, n_facts)
    new, issues = build_rule(path, merged_doc, layer, kb)
    if new is None:
        return issues
    changed = ", ".join(sorted(k for k in ov.changed_fields() if k != "tests")) or "nothing"
    new.path, new.line, new.layer, new.doc = target.path, target.line, target.layer, target.doc
    new.enabled = target.enabled
    new.overrides = [*target.overrides, (path, doc.start_line, layer)]
    new.history = [*target.history, f"{changed} overridden by {path}:{doc.start_line} ({layer})"]
    rules[ov.id] = new
    return []


def apply_directive(directive: Directive, doc: Doc, path: Path, layer: str,
                    rules: dict[str, LoadedRule]) -> list[Issue]:
    """Disable, then enable, the rules named by id or tag. Unknown names are problems."""
    issues: list[Issue] = []
    all_tags = sorted({t for r in rules.values() for t in r.rule.tags})
    for action, sel in (("disable", directive.disable), ("enable", directive.enable)):
        if sel is None:
            continue
        for i, rid in enumerate(sel.ids):
            if rid not in rules:
                issues.append(Issue(path, doc.line_of((action, "ids", i)),
                                    f"{action}: no rule {rid!r} loaded before this point{did_you_mean(rid, list(rules))}"))
        for i, tag in enumerate(sel.tags):
            if tag not in all_tags:
                issues.append(Issue(path, doc.line_of((action, "tags", i)),
                                    f"{action}: no rule has tag {tag!r}{did_you_mean(tag, all_tags)}"))
        for r in rules.values():
            if sel.matches(r.rule):
                r.enabled = action == "enable"
                r.history.append(f"{action}d by {path}:{doc.start_line} ({layer})")
    return issues
