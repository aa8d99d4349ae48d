"""Check the tests a rule file writes, before running them (`rules validate`, `rules test`).

A test that names a missing trace, a manifest selector that matches nothing, inline features
with a misspelt field (which pydantic would silently drop, leaving the default) or an
`expect` on a cause no rule names would test nothing; each is a `file:line` problem.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from diagnose.features.model import Features
from diagnose.rules.fieldpaths import field_type, is_model
from diagnose.rules.layering import TestSource, did_you_mean
from diagnose.rules.loader import RuleSet
from diagnose.rules.ruledoc import Issue
from diagnose.rules.schema import TestCase
from diagnose.rules.testing import ManifestEntry, resolve_trace, select


def unknown_feature_keys(data: Any, model: type[BaseModel] = Features, prefix: str = "") -> list[tuple[tuple, str]]:
    """(path, message) for every key of a partial features mapping that the model lacks."""
    out: list[tuple[tuple, str]] = []
    if not isinstance(data, dict):
        return out
    for key, value in data.items():
        here = f"{prefix}.{key}" if prefix else str(key)
        if key not in model.model_fields:
            out.append(((key,), f"unknown feature 'f.{here}'{did_you_mean(str(key), list(model.model_fields))}"))
            continue
        sub = field_type(model, key)
        if is_model(sub) and isinstance(value, dict):
            out.extend(((key, *p), m) for p, m in unknown_feature_keys(value, sub, here))
    return out


def _check_case(src: TestSource, kind: str, i: int, case: TestCase, manifest: list[ManifestEntry] | None,
                causes: set[str]) -> list[Issue]:
    base = (*src.key, kind, i)
    where = f"tests.{kind}[{i}]"
    out: list[Issue] = []

    def issue(sub: tuple, msg: str) -> None:
        out.append(Issue(src.path, src.doc.line_of(base + sub), f"{where}: {msg}"))

    if case.trace:
        p = resolve_trace(case.trace, src.path)
        if not p.is_file():
            issue(("trace",), f"trace {case.trace!r} not found (looked beside the rule file, in the "
                              "repository and in the current directory)")
    elif case.scenario:
        if manifest is None:
            issue(("scenario",), "a manifest selector needs a fixture manifest (--manifest, or run from the repository)")
        elif not select(manifest, case):
            names = sorted({e.scenario for e in manifest})
            hint = did_you_mean(case.scenario, names) if case.scenario not in names else \
                " (that scenario has no trace with this variant/go)"
            issue(("scenario",), f"selector {case.label()} matched no trace in the manifest{hint}")
    elif case.features is not None:
        for sub, msg in unknown_feature_keys(case.features):
            issue(("features", *sub), msg)
        try:
            Features.model_validate(case.features)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                issue(("features", *loc), f"features.{'.'.join(map(str, loc))}: {err['msg']}")
    cause = getattr(case, "cause", None)
    if cause is not None and cause not in causes:
        issue(("cause",), f"no rule names cause {cause!r}{did_you_mean(cause, sorted(causes))}")
    return out


def check_test_sources(sources: list[TestSource], ruleset: RuleSet,
                       manifest: list[ManifestEntry] | None) -> list[Issue]:
    """Every problem in the tests of `sources` (all at once)."""
    causes = {lr.rule.cause for lr in ruleset.rules.values()}
    out: list[Issue] = []
    for src in sources:
        for kind in ("fires", "silent", "expect"):
            for i, case in enumerate(getattr(src.tests, kind)):
                out.extend(_check_case(src, kind, i, case, manifest, causes))
    return out


__all__ = ["check_test_sources", "unknown_feature_keys"]
