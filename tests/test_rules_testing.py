"""`rules test`: each rule against the fixtures it names; pass/fail per case, exit 1 on failure."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

from typer.testing import CliRunner

from diagnose.cli import app
from diagnose.features.model import Features
from diagnose.rules.testing import load_manifest, run_tests
from tests.support.rulefiles import GC_RULE

RULE = GC_RULE + """\
tests:
  fires:
    - trace: busy.features.json
    - scenario: gc
  silent:
    - trace: idle.features.json
"""


def features(gc_per_s: float, minor: int = 22) -> str:
    f = Features()
    f.gc.gc_per_s = gc_per_s
    f.trace.format_minor = minor
    return f.model_dump_json()


def setup(tmp_path: Path, rule: str = RULE, busy: float = 20.0, idle: float = 1.0) -> tuple[Path, Path]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "gc.yaml").write_text(textwrap.dedent(rule))
    (rules / "busy.features.json").write_text(features(busy))
    (rules / "idle.features.json").write_text(features(idle))
    traces = tmp_path / "fixtures" / "traces"
    traces.mkdir(parents=True)
    (traces / "gc-go1.22.features.json").write_text(features(30.0, 22))
    (traces / "gc-go1.21.features.json").write_text(features(0.0, 21))
    manifest = tmp_path / "fixtures" / "manifest.json"
    manifest.write_text(json.dumps({"traces": [
        {"trace": "traces/gc-go1.22.features.json", "scenario": "gc", "variant": "v", "go": "1.22.10",
         "expected_causes": ["gc_pressure"], "reproduced": True},
        {"trace": "traces/gc-go1.21.features.json", "scenario": "gc", "variant": "v", "go": "1.21.13",
         "expected_causes": ["gc_pressure"], "reproduced": False},
    ]}))
    return rules, manifest


def test_manifest_paths_resolve_relative_to_the_manifest(tmp_path):
    _, manifest = setup(tmp_path)
    entries = load_manifest(manifest)
    assert [e.trace.exists() for e in entries] == [True, True]
    assert [(e.go, e.reproduced) for e in entries] == [("1.22.10", True), ("1.21.13", False)]


def test_all_cases_pass_and_unreproduced_are_skipped(tmp_path):
    rules, manifest = setup(tmp_path)
    results, problems = run_tests([rules], manifest_path=manifest)
    assert problems == []
    got = sorted((r.expect, Path(r.target).name, r.status) for r in results)
    assert got == [
        ("fires", "busy.features.json", "pass"),
        ("fires", "gc-go1.21.features.json", "skip"),
        ("fires", "gc-go1.22.features.json", "pass"),
        ("silent", "idle.features.json", "pass"),
    ]


def test_cli_reports_failures_and_exits_1(tmp_path):
    rules, manifest = setup(tmp_path, idle=9.0)  # the "silent" fixture now fires
    r = CliRunner().invoke(app, ["rules", "test", str(rules), "--manifest", str(manifest)])
    assert r.exit_code == 1, r.output
    assert "FAIL  silent" in r.output and "idle.features.json" in r.output
    assert r.output.strip().splitlines()[-1] == "FAILED: 2 passed, 1 failed, 1 skipped"


def test_cli_success_line_and_exit_0(tmp_path):
    rules, manifest = setup(tmp_path)
    r = CliRunner().invoke(app, ["rules", "test", str(rules), "--manifest", str(manifest), "-v"])
    assert r.exit_code == 0, r.output
    assert "PASS  fires  " in r.output and "(confidence 0.70)" in r.output
    assert r.output.strip().splitlines()[-1] == "SUCCESS: 3 passed, 0 failed, 1 skipped"


def test_selector_matching_nothing_is_an_error(tmp_path):
    # a problem of the rule file (file:line), found before anything runs
    rules, manifest = setup(tmp_path, rule=RULE.replace("scenario: gc", "scenario: gcc"))
    results, problems = run_tests([rules], manifest_path=manifest)
    assert results == []
    assert [str(p) for p in problems] == [
        f"{rules / 'gc.yaml'}:12: tests.fires[1]: selector scenario=gcc matched no trace in the manifest "
        "(did you mean 'gc'?)"]


def test_invalid_rule_file_is_reported_not_run(tmp_path):
    rules, manifest = setup(tmp_path, rule=RULE.replace("severity: warning", "severity: loud"))
    r = CliRunner().invoke(app, ["rules", "test", str(rules), "--manifest", str(manifest)])
    assert r.exit_code == 2
    assert f"{rules / 'gc.yaml'}:4: severity:" in r.output


def test_validate_command(tmp_path):
    rules, manifest = setup(tmp_path)
    r = CliRunner().invoke(app, ["rules", "validate", str(rules), "--manifest", str(manifest)])
    assert r.exit_code == 0 and r.output.strip() == "ok: 1 valid rule"
    (rules / "bad.yaml").write_text(RULE.replace("team.gc", "team.bad").replace("gc_per_s >", "gc_per_q >"))
    r = CliRunner().invoke(app, ["rules", "validate", str(rules), "--manifest", str(manifest)])
    assert r.exit_code == 1
    assert f"{rules / 'bad.yaml'}:6: condition: unknown feature 'f.gc.gc_per_q'" in r.output


def test_list_and_explain(tmp_path):
    rules, _ = setup(tmp_path)
    runner = CliRunner()
    r = runner.invoke(app, ["rules", "list", "--rules-dir", str(rules)])
    assert r.exit_code == 0 and "team.gc" in r.output and "fd_reuse.raw_close" in r.output
    r = runner.invoke(app, ["rules", "explain", "team.gc", "--rules-dir", str(rules)])
    assert r.exit_code == 0
    assert "cause      gc_pressure" in r.output and "f.gc.gc_per_s > 5.0" in r.output
    assert "## How to fix" in r.output  # the knowledge entry is quoted
    r = runner.invoke(app, ["rules", "explain", "nope.rule"])
    assert r.exit_code == 2
