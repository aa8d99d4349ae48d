"""End to end: `netpoll-diagnose TRACE` on the committed fixture traces (fixtures/manifest.json).

Every scenario trace must name its expected cause(s) at warning or above, ranked first, on
every Go version where the manifest says the scenario reproduced; every healthy control must
get nothing above info and a plain "No netpoller problem found" verdict with its numbers.
Exit codes, --fail-on, --format json, --rules-dir layering and bad input are checked through
the real command line.
"""
from __future__ import annotations

import json
import os
import textwrap
from functools import lru_cache
from pathlib import Path

import pytest

from diagnose.rules.findings import FINDINGS_SCHEMA
from diagnose.rules.testing import ManifestEntry
from tests.support.cli import run_cli as cli, run_main as cli_inprocess
from tests.support.corpus import ENTRIES, MANIFEST, NO_CORPUS

REPO = Path(__file__).resolve().parent.parent
SEVERITY = {"info": 0, "warning": 1, "critical": 2}

pytestmark = pytest.mark.skipif(not ENTRIES, reason=NO_CORPUS)


@lru_cache(maxsize=None)
def diagnose_json(trace: str) -> tuple[int, dict]:
    code, out = cli_inprocess(trace, "--format", "json", "--fail-on", "never")
    assert code == 0
    return code, json.loads(out)


def is_healthy(e: ManifestEntry) -> bool:
    return e.scenario == "healthy" or not e.expected_causes


def is_valid_control(e: ManifestEntry) -> bool:
    return is_healthy(e) and e.reproduced


def entry_id(e: ManifestEntry) -> str:
    return f"{e.scenario}-{e.variant}-go{e.go}"


def pick(pred) -> ManifestEntry:
    for e in ENTRIES:
        if e.trace.exists() and pred(e):
            return e
    pytest.skip("no such fixture in the manifest")


@pytest.mark.parametrize("entry", ENTRIES, ids=entry_id)
def test_fixture_diagnosis(entry: ManifestEntry):
    assert entry.trace.exists(), f"manifest names a missing trace: {entry.trace}"
    _, d = diagnose_json(str(entry.trace))
    assert d["schema"] == FINDINGS_SCHEMA
    findings = d["findings"]
    for f in findings:
        assert set(f) >= {"cause", "rule_id", "severity", "confidence", "evidence", "advice", "message", "title"}
        assert 0.0 <= f["confidence"] <= 1.0 and f["advice"]["fix"]
    ranks = [(-SEVERITY[f["severity"]], -f["confidence"]) for f in findings]
    assert ranks == sorted(ranks), "findings are ranked by severity, then confidence"
    serious = {f["cause"] for f in findings if SEVERITY[f["severity"]] >= 1}
    if not entry.reproduced:
        pytest.skip(f"{entry.scenario}/{entry.variant} did not reproduce on go {entry.go} (manifest)")
    if is_healthy(entry):
        assert serious == set(), f"healthy control flagged: {[(f['cause'], f['message']) for f in findings]}"
        assert d["verdict"]["status"] == "healthy"
        assert d["verdict"]["text"].startswith("No netpoller problem found: ")
        h = d["headline"]
        if h["network_waits"]:  # a p95 only where there are waits; else null and "no data" in words
            assert h["network_wait_p95_ms"] is not None and "network wait p95" in d["verdict"]["text"]
        else:
            assert h["network_wait_p95_ms"] is None and "no network wait ended" in d["verdict"]["text"]
        return
    missing = [c for c in entry.expected_causes if c not in serious]
    assert missing == [], f"expected {missing}; got {[(f['cause'], f['severity'], f['confidence']) for f in findings]}"
    assert findings[0]["cause"] in entry.expected_causes, "the most likely cause is ranked first"
    assert d["verdict"]["status"] == "problems"
    for f in findings:
        if f["cause"] == "fd_reuse":
            assert f["severity"] == "critical"
            assert "security" in f["advice"]["summary"]


def test_text_report_of_a_healthy_trace():
    e = pick(is_valid_control)
    r = cli(str(e.trace))
    assert r.returncode == 0, r.stderr
    head, verdict = r.stdout.split("\n\n")[:2]
    # the trace named relative to the current folder (an absolute path would leak into shared reports)
    assert head.startswith("netpoll-diagnose ") and str(e.trace.relative_to(REPO)) in head.replace("\n  ", " ")
    assert verdict.startswith("HEALTHY: No netpoller problem found: ")
    # ... and what a healthy trace cannot rule out, with where to look (knowledge/unseen_latency.md)
    assert "Not in this trace: " in verdict and "socket buffers" in verdict and "ss -tn" in verdict
    assert "knowledge/unseen_latency.md" in verdict
    assert max(len(ln) for ln in r.stdout.splitlines()) <= 100, "not a terminal: 100 columns"
    assert "syscalls/s" in r.stdout and "GC " in r.stdout
    assert "[WARNING]" not in r.stdout and "[CRITICAL]" not in r.stdout


def test_text_report_of_fd_reuse():
    e = pick(lambda e: "fd_reuse" in e.expected_causes and e.reproduced)
    r = cli(str(e.trace))
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout
    assert out.split("\n\n")[1].startswith("PROBLEMS: ")
    assert "1. [CRITICAL] fd_reuse: " in out  # verdict first, then the top finding
    assert out.index("PROBLEMS:") < out.index("1. [CRITICAL]")
    assert "Evidence (" in out and "goroutine" in out
    assert "Fix:" in out and "conn.Close()" in out
    assert "correctness/security bug" in out


def test_json_and_exit_codes_follow_fail_on():
    e = pick(lambda e: e.reproduced and e.expected_causes and "fd_reuse" not in e.expected_causes)
    _, d = diagnose_json(str(e.trace))
    worst = max(SEVERITY[f["severity"]] for f in d["findings"])
    assert worst == 1, "this check wants a warning-level scenario"
    assert cli(str(e.trace)).returncode == 1  # default --fail-on warning
    assert cli(str(e.trace), "--fail-on", "critical").returncode == 0
    assert cli(str(e.trace), "--fail-on", "info").returncode == 1
    assert cli(str(e.trace), "--fail-on", "never").returncode == 0
    r = cli(str(e.trace), "--format", "json")
    assert r.returncode == 1 and json.loads(r.stdout)["findings"][0]["cause"] == d["findings"][0]["cause"]


def test_only_a_healthy_verdict_says_what_the_trace_cannot_show():
    """A healthy verdict cites the unseen-latency entry (a slow client whose backlog still fits
    the socket buffers looks healthy to every rule); a verdict with problems does not."""
    _, healthy = diagnose_json(str(pick(is_valid_control).trace))
    unseen = healthy["verdict"]["unseen"]
    assert unseen["knowledge"] == "unseen_latency" and "socket buffers" in unseen["summary"] and unseen["confirm"]
    _, sick = diagnose_json(str(pick(lambda e: "fd_reuse" in e.expected_causes and e.reproduced).trace))
    assert sick["verdict"]["status"] == "problems" and sick["verdict"]["unseen"] is None


def test_critical_finding_fails_even_with_fail_on_critical():
    e = pick(lambda e: "fd_reuse" in e.expected_causes and e.reproduced)
    assert cli(str(e.trace), "--fail-on", "critical").returncode == 1


def test_healthy_trace_exit_0_even_with_fail_on_info():
    e = pick(is_valid_control)
    _, d = diagnose_json(str(e.trace))
    expected = 1 if d["findings"] else 0  # info notes count only with --fail-on info
    assert cli(str(e.trace), "--fail-on", "info").returncode == expected
    assert cli(str(e.trace)).returncode == 0


def test_bad_input_exits_2_with_one_line(tmp_path):
    junk = tmp_path / "junk.trace"
    junk.write_bytes(b"this is not a go trace\n" * 10)
    r = cli(str(junk))
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and str(junk) in r.stderr
    r = cli(str(tmp_path / "missing.trace"))
    assert r.returncode == 2 and "missing.trace" in r.stderr


def test_trace_cut_before_its_first_generation_is_not_called_healthy(tmp_path):
    """Nothing complete to read is an error (exit 2), not a "healthy" verdict; a later cut diagnoses."""
    src = (REPO / "fixtures" / "examples" / "example.trace").read_bytes()
    early = tmp_path / "early.trace"
    early.write_bytes(src[:3000])
    r = cli(str(early))
    assert r.returncode == 2 and r.stdout == ""
    assert "first generation" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_invalid_rules_dir_exits_2_with_file_and_line(tmp_path):
    e = pick(is_valid_control)
    (tmp_path / "bad.yaml").write_text("id: team.x\ntitle: x\ncause: gc_pressure\nseverity: loud\n")
    r = cli(str(e.trace), "--rules-dir", str(tmp_path))
    assert r.returncode == 2
    assert f"{tmp_path / 'bad.yaml'}:4: severity:" in r.stderr


def test_rules_dir_and_env_layers_change_the_diagnosis(tmp_path):
    e = pick(lambda e: e.reproduced and e.expected_causes and "fd_reuse" not in e.expected_causes)
    _, d = diagnose_json(str(e.trace))
    top = d["findings"][0]
    off = tmp_path / "off"
    off.mkdir()
    (off / "disable.yaml").write_text(f"disable: {{ids: [{top['rule_id']}]}}\n")
    r = cli(str(e.trace), "--format", "json", "--rules-dir", str(off), "--fail-on", "never")
    assert r.returncode == 0
    assert top["rule_id"] not in [f["rule_id"] for f in json.loads(r.stdout)["findings"]]
    # the same through the environment variable; a later layer may also re-enable it
    on = tmp_path / "on"
    on.mkdir()
    (on / "enable.yaml").write_text(f"enable: {{ids: [{top['rule_id']}]}}\n")
    r = cli(str(e.trace), "--format", "json", "--fail-on", "never",
            env={"NETPOLL_DIAGNOSE_RULES": os.pathsep.join([str(off), str(on)])})
    assert top["rule_id"] in [f["rule_id"] for f in json.loads(r.stdout)["findings"]]


def test_team_rule_fires_and_is_reported(tmp_path):
    e = pick(is_valid_control)
    (tmp_path / "team.yaml").write_text(textwrap.dedent("""\
        id: team.always
        title: Team marker
        cause: team_marker
        severity: info
        confidence: 0.5
        condition: f.trace.duration_ms > 0.0
        message: "window {f.trace.duration_ms:.0f} ms"
        knowledge: gc_pressure
        """))
    r = cli(str(e.trace), "--format", "json", "--rules-dir", str(tmp_path))
    assert r.returncode == 0  # info is below the default --fail-on warning
    d = json.loads(r.stdout)
    assert [f["cause"] for f in d["findings"]] == ["team_marker"]
    assert d["verdict"]["status"] == "healthy" and "1 informational note below" in d["verdict"]["text"]


def test_shipped_rules_pass_their_own_tests():
    """`rules test rules/`: each shipped rule fires on its scenarios and stays silent on healthy."""
    r = cli("rules", "test", "rules", "--manifest", str(MANIFEST))
    assert r.returncode == 0, r.stdout + r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("SUCCESS: ") and " 0 failed" in last
