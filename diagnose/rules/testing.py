"""`netpoll-diagnose rules test DIR`: run each rule on the fixtures it names.

Like `promtool test rules` / `semgrep --test`: a rule's `tests.fires` cases must make it fire,
its `tests.silent` cases must not. Cases name a trace (a path) or select traces from the
fixture manifest (scenario / variant / go). A `fires` case selected from the manifest skips
the traces where the manifest says the scenario did not reproduce on that Go version: a rule
cannot be asked to see a bug that is not in the trace. A `silent` case likewise skips healthy
controls that failed their own checks (the manifest's `reproduced: false`). Paths ending in `.features.json` are read as saved features (a
Features.model_dump_json()), so a team can test rules without shipping large traces.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagnose.features.model import Features
from diagnose import settings
from diagnose.rules.datadir import repo_root
from diagnose.rules.engine import evaluate_rule
from diagnose.rules.knowledge import KnowledgeBase
from diagnose.rules.loader import Layer, LoadedRule, load_ruleset
from diagnose.rules.schema import TestCase

FeaturesFn = Callable[[Path], Features]


# --- manifest -------------------------------------------------------------------------------

@dataclass
class ManifestEntry:
    trace: Path
    scenario: str
    variant: str
    go: str
    expected_causes: list[str]
    reproduced: bool
    raw: dict[str, Any] = field(default_factory=dict)


def _first(d: dict[str, Any], *keys: str, default: Any = None) -> Any:
    for k in keys:
        if k in d and d[k] is not None:
            return d[k]
    return default


def load_manifest(path: Path) -> list[ManifestEntry]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        items = _first(data, "traces", "fixtures", "entries", "runs", default=[])
    else:
        items = data
    base = path.parent
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        tr = _first(item, "trace", "path", "file", "trace_path")
        if not tr:
            continue
        tpath = Path(tr)
        if not tpath.is_absolute():
            cand = [base / tpath, base.parent / tpath]
            tpath = next((c for c in cand if c.exists()), cand[0])
        causes = _first(item, "expected_causes", "causes", "expect", "expected", default=[])
        if isinstance(causes, str):
            causes = [causes]
        reproduced = _first(item, "reproduced", "reproduces", default=True)
        go = str(_first(item, "go", "go_version", "toolchain", default=""))
        out.append(ManifestEntry(
            trace=tpath, scenario=str(_first(item, "scenario", default="")),
            variant=str(_first(item, "variant", default="")), go=go.removeprefix("go"),
            expected_causes=list(causes), reproduced=bool(reproduced), raw=item,
        ))
    return out


def default_manifest() -> Path | None:
    for root in [Path.cwd(), repo_root()]:
        if root is not None and (root / "fixtures" / "manifest.json").is_file():
            return root / "fixtures" / "manifest.json"
    return None


def _go_matches(want: str, have: str) -> bool:
    want = want.removeprefix("go")
    return have == want or have.startswith(want + ".")


def select(entries: list[ManifestEntry], case: TestCase) -> list[ManifestEntry]:
    out = []
    for e in entries:
        if case.scenario and e.scenario != case.scenario:
            continue
        if case.variant and e.variant != case.variant:
            continue
        if case.go and not _go_matches(case.go, e.go):
            continue
        out.append(e)
    return out


# --- running --------------------------------------------------------------------------------

@dataclass
class CaseResult:
    rule_id: str
    rule_path: Path
    expect: str                 # "fires" | "silent"
    target: str                 # trace path or selector label
    status: str                 # "pass" | "fail" | "skip" | "error"
    detail: str = ""
    confidence: float | None = None


def _resolve_trace(case_trace: str, rule_path: Path) -> Path:
    p = Path(case_trace)
    if p.is_absolute():
        return p
    for base in [rule_path.parent, repo_root(), Path.cwd()]:
        if base is not None and (base / p).exists():
            return base / p
    return rule_path.parent / p


def features_loader(extract: Callable[[str], Features] | None = None) -> FeaturesFn:
    """A cached features function: traces through `extract`, `*.features.json` directly."""
    cache: dict[Path, Features] = {}

    def get(path: Path) -> Features:
        key = path.resolve()
        if key not in cache:
            if path.name.endswith(".features.json"):
                cache[key] = Features.model_validate_json(path.read_text(encoding="utf-8"))
            else:
                fn = extract
                if fn is None:
                    # a trace with an strace log beside it (X.trace + X.strace) is tested joined
                    from diagnose.features.strace import extract_with_sibling_log as fn  # type: ignore[no-redef]
                cache[key] = fn(str(path))
        return cache[key]

    return get


def run_rule_tests(lr: LoadedRule, kb: KnowledgeBase, get_features: FeaturesFn,
                   manifest: list[ManifestEntry] | None) -> list[CaseResult]:
    results: list[CaseResult] = []
    rule = lr.rule
    for expect, cases in (("fires", rule.tests.fires), ("silent", rule.tests.silent)):
        for case in cases:
            targets: list[tuple[Path, ManifestEntry | None]] = []
            if case.trace:
                targets.append((_resolve_trace(case.trace, lr.path), None))
            else:
                if manifest is None:
                    results.append(CaseResult(rule.id, lr.path, expect, case.label(), "error",
                                              "no fixture manifest (give --manifest or run from the repository)"))
                    continue
                chosen = select(manifest, case)
                if not chosen:
                    results.append(CaseResult(rule.id, lr.path, expect, case.label(), "error",
                                              "selector matched no trace in the manifest"))
                    continue
                targets.extend((e.trace, e) for e in chosen)
            for path, entry in targets:
                label = str(path)
                if entry is not None and not entry.reproduced:
                    # fires: the bug is not in this trace; silent: a "healthy" control that failed
                    # its own checks (e.g. latency from machine noise) is no control.
                    results.append(CaseResult(rule.id, lr.path, expect, label, "skip",
                                              f"manifest: {entry.scenario}/{entry.variant} did not reproduce on go {entry.go}"))
                    continue
                if not path.exists():
                    results.append(CaseResult(rule.id, lr.path, expect, label, "error", "trace not found"))
                    continue
                try:
                    feats = get_features(path)
                except Exception as exc:  # noqa: BLE001 - report and go on with the other cases
                    results.append(CaseResult(rule.id, lr.path, expect, label, "error", f"cannot read: {exc}"))
                    continue
                res = evaluate_rule(lr, feats.model_dump(), kb)
                if res.error:
                    results.append(CaseResult(rule.id, lr.path, expect, label, "error", res.error))
                    continue
                if not res.applies:
                    status = "skip" if expect == "fires" else "pass"
                    results.append(CaseResult(rule.id, lr.path, expect, label, status,
                                              f"rule does not apply to trace format 1.{feats.trace.format_minor}"))
                    continue
                ok = res.fired == (expect == "fires")
                detail = ""
                if res.finding is not None:
                    detail = res.finding.message
                results.append(CaseResult(rule.id, lr.path, expect, label, "pass" if ok else "fail", detail,
                                          res.confidence if res.fired else None))
    return results


def run_tests(paths: list[Path], manifest_path: Path | None = None,
              get_features: FeaturesFn | None = None) -> tuple[list[CaseResult], list[str]]:
    """Test every rule found in `paths` (each folder/file stands alone, no layering).

    Returns (results, load problems). Load problems are `file:line: reason` strings.
    """
    from diagnose.rules.loader import RuleLoadError

    layers = [Layer(str(p), p) for p in paths]
    try:
        ruleset = load_ruleset(layers=layers, env={})
    except RuleLoadError as exc:
        return [], [str(i) for i in exc.issues]
    manifest_path = manifest_path or (Path(settings().manifest) if settings().manifest else default_manifest())
    manifest = load_manifest(manifest_path) if manifest_path and manifest_path.is_file() else None
    get_features = get_features or features_loader()
    results: list[CaseResult] = []
    for lr in sorted(ruleset.rules.values(), key=lambda r: (str(r.path), r.id)):
        if not lr.rule.tests.fires and not lr.rule.tests.silent:
            results.append(CaseResult(lr.id, lr.path, "-", "-", "skip", "rule has no tests"))
            continue
        results.extend(run_rule_tests(lr, ruleset.knowledge, get_features, manifest))
    return results, []
