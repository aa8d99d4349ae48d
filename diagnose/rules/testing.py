"""`netpoll-diagnose rules test DIR`: run each rule on the fixtures it names.

Like `promtool test rules` / `semgrep --test`: a rule's `tests.fires` cases must make it fire,
its `tests.silent` cases must not, and its `tests.expect` cases check what the whole rule set
(after every layer: overrides, disables) reports: cause, severity, confidence range, message.
Cases name a trace (a path), select traces from the fixture manifest (scenario / variant /
go), or give inline `features` (a partial mapping, defaults filled) for threshold edges. A
case with `todo: why` is a known miss: run and reported, never failing the run.
The tested folders load after the shipped rules and any `--rules-dir` layers, as a real run
would load them; only the tests written in the tested folders run. A `fires` case selected from the manifest skips
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

from pydantic import ValidationError

from diagnose import settings
from diagnose.errors import InputError
from diagnose.features.model import Features
from diagnose.rules.datadir import repo_root
from diagnose.rules.engine import diagnose, evaluate_rule
from diagnose.rules.findings import Diagnosis
from diagnose.rules.layering import TestSource
from diagnose.rules.loader import RuleSet, build_ruleset, layers_to_check, tests_under
from diagnose.rules.ruledoc import Issue
from diagnose.rules.schema import ExpectCase, TestCase

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
    expect: str                 # "fires" | "silent" | "expect"
    target: str                 # trace path, selector or features label
    status: str                 # "pass" | "fail" | "skip" | "error" | "todo" (a known miss)
    detail: str = ""
    confidence: float | None = None
    todo: str = ""              # the case's todo reason; a todo case that passes says so


def resolve_trace(case_trace: str, rule_path: Path) -> Path:
    """A case's trace: relative to the rule file's folder, else the repository, else the cwd."""
    p = Path(case_trace)
    if p.is_absolute():
        return p
    for base in [rule_path.parent, repo_root(), Path.cwd()]:
        if base is not None and (base / p).exists():
            return base / p
    return rule_path.parent / p


def features_loader(extract: Callable[..., Features] | None = None, modules: list[str] | None = None) -> FeaturesFn:
    """A cached features function: traces through `extract`, `*.features.json` directly.
    `modules`: "our code" prefixes (the layers' `config: {modules}`) for `f.our_code`."""
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
                cache[key] = fn(str(path), modules=modules) if modules else fn(str(path))
        return cache[key]

    return get


@dataclass
class _Target:
    label: str
    path: Path | None = None
    entry: ManifestEntry | None = None
    features: Features | None = None


def _targets(case: TestCase, src: TestSource, manifest: list[ManifestEntry] | None) -> list[_Target] | str:
    """What a case runs on, or why it cannot run."""
    if case.features is not None:
        return [_Target(case.label(), features=Features.model_validate(case.features))]
    if case.trace:
        p = resolve_trace(case.trace, src.path)
        return [_Target(str(p), path=p)]
    if manifest is None:
        return "no fixture manifest (give --manifest or run from the repository)"
    chosen = select(manifest, case)
    if not chosen:
        return "selector matched no trace in the manifest"
    return [_Target(str(e.trace), path=e.trace, entry=e) for e in chosen]


def _check_expect(case: ExpectCase, diag: Diagnosis) -> tuple[bool, str]:
    found = next((f for f in diag.findings if f.cause == case.cause), None)
    if case.absent:
        return (found is None, f"found {found.cause} ({found.rule_id}, {found.severity})" if found else "absent")
    if found is None:
        causes = ", ".join(f.cause for f in diag.findings) or "none"
        return False, f"no {case.cause} finding (findings: {causes})"
    wrong = []
    if case.severity is not None and found.severity != case.severity.value:
        wrong.append(f"severity {found.severity}, expected {case.severity.value}")
    if case.confidence_min is not None and found.confidence < case.confidence_min:
        wrong.append(f"confidence {found.confidence:.2f} < {case.confidence_min:.2f}")
    if case.confidence_max is not None and found.confidence > case.confidence_max:
        wrong.append(f"confidence {found.confidence:.2f} > {case.confidence_max:.2f}")
    if case.message_contains is not None and case.message_contains not in found.message:
        wrong.append(f"message does not contain {case.message_contains!r}: {found.message}")
    if case.rule_id is not None and found.rule_id != case.rule_id:
        wrong.append(f"from rule {found.rule_id}, expected {case.rule_id}")
    return not wrong, "; ".join(wrong) or f"{found.severity}, confidence {found.confidence:.2f}"


class _Runner:
    def __init__(self, ruleset: RuleSet, get_features: FeaturesFn, manifest: list[ManifestEntry] | None) -> None:
        self.rs = ruleset
        self.get_features = get_features
        self.manifest = manifest
        self.diagnoses: dict[Path, Diagnosis] = {}

    def run_source(self, src: TestSource) -> list[CaseResult]:
        results: list[CaseResult] = []
        lr = self.rs.rules[src.rule_id]
        groups: list[tuple[str, list]] = [("fires", src.tests.fires), ("silent", src.tests.silent),
                                          ("expect", src.tests.expect)]
        for expect, cases in groups:
            for case in cases:
                for r in self.run_case(src, lr, expect, case):
                    if case.todo and r.status in ("fail", "error"):
                        r.status, r.detail = "todo", f"known miss ({case.todo}): {r.detail}".rstrip(": ")
                    elif case.todo and r.status == "pass":
                        r.detail = f"todo case passes now: remove `todo` ({case.todo})"
                    r.todo = case.todo
                    results.append(r)
        return results

    def run_case(self, src: TestSource, lr, expect: str, case: TestCase) -> list[CaseResult]:
        def result(label: str, status: str, detail: str = "", conf: float | None = None) -> CaseResult:
            return CaseResult(src.rule_id, src.path, expect, label, status, detail, conf)

        targets = _targets(case, src, self.manifest)
        if isinstance(targets, str):
            return [result(case.label(), "error", targets)]
        out = []
        for t in targets:
            if t.entry is not None and not t.entry.reproduced:
                # fires: the bug is not in this trace; silent: a "healthy" control that failed
                # its own checks (e.g. latency from machine noise) is no control.
                out.append(result(t.label, "skip", f"manifest: {t.entry.scenario}/{t.entry.variant} "
                                                   f"did not reproduce on go {t.entry.go}"))
                continue
            feats = t.features
            if feats is None:
                assert t.path is not None
                if not t.path.is_file():
                    out.append(result(t.label, "error", "trace not found"))
                    continue
                try:
                    feats = self.get_features(t.path)
                # a bad trace, log or features file: report it, go on. Not a bare ValueError: that
                # would call a bug in the feature code "cannot read" (errors.py)
                except (InputError, OSError, UnicodeDecodeError, ValidationError) as exc:
                    why = exc.one_line() if isinstance(exc, InputError) else str(exc)  # names file:line
                    out.append(result(t.label, "error", f"cannot read: {why}"))
                    continue
            if expect == "expect":
                assert isinstance(case, ExpectCase)
                diag = self.diagnosis(t, feats)
                if diag.rules.errors:
                    errs = "; ".join(f"{e.rule_id}: {e.error}" for e in diag.rules.errors)
                    out.append(result(t.label, "error", f"rules could not be evaluated: {errs}"))
                    continue
                ok, detail = _check_expect(case, diag)
                out.append(result(t.label, "pass" if ok else "fail", detail))
                continue
            res = evaluate_rule(lr, feats.model_dump(), self.rs.knowledge)
            if res.error:
                out.append(result(t.label, "error", res.error))
            elif not res.applies:
                out.append(result(t.label, "skip" if expect == "fires" else "pass",
                                  f"rule does not apply to trace format 1.{feats.trace.format_minor}"))
            else:
                ok = res.fired == (expect == "fires")
                detail = res.finding.message if res.finding is not None else (
                    "did not fire" if expect == "fires" else "")
                out.append(result(t.label, "pass" if ok else "fail", detail, res.confidence if res.fired else None))
        return out

    def diagnosis(self, t: _Target, feats: Features) -> Diagnosis:
        if t.path is None:
            return diagnose(feats, self.rs)
        key = t.path.resolve()
        if key not in self.diagnoses:
            self.diagnoses[key] = diagnose(feats, self.rs)
        return self.diagnoses[key]


def find_manifest(manifest_path: Path | None) -> list[ManifestEntry] | None:
    manifest_path = manifest_path or (Path(settings().manifest) if settings().manifest else default_manifest())
    return load_manifest(manifest_path) if manifest_path and manifest_path.is_file() else None


def run_tests(paths: list[Path], manifest_path: Path | None = None, get_features: FeaturesFn | None = None,
              rules_dirs: list[Path] | None = None) -> tuple[list[CaseResult], list[Issue]]:
    """Run the tests written in `paths`, loaded after the shipped rules and `rules_dirs`.

    Returns (results, problems). Problems (invalid rule files, tests naming missing traces or
    selectors matching nothing) stop the run: nothing is tested on a rule set that does not load.
    """
    from diagnose.rules.testcheck import check_test_sources

    ruleset, issues = build_ruleset(layers_to_check(paths, rules_dirs))
    manifest = find_manifest(manifest_path)
    mine = tests_under(ruleset, paths)
    if not issues:
        issues = check_test_sources(mine, ruleset, manifest)
    if issues:
        return [], issues
    runner = _Runner(ruleset, get_features or features_loader(modules=ruleset.modules or None), manifest)
    results: list[CaseResult] = []
    for src in sorted(mine, key=lambda s: (str(s.path), s.line)):
        if src.tests.empty():
            results.append(CaseResult(src.rule_id, src.path, "-", "-", "skip", "rule has no tests"))
            continue
        results.extend(runner.run_source(src))
    return results, []
