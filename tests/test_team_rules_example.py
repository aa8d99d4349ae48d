"""examples/team-rules/ is what the README tells a team to copy: it must validate, its tests
must pass (with their todo case reported, not failing), and a run with it must show the team's
finding, the override and the disable."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_main as run

REPO = Path(__file__).resolve().parent.parent
TEAM = REPO / "examples" / "team-rules"
SLOW = REPO / "fixtures" / "traces" / "slowconsumer-chunked-go1.22.10.trace"

pytestmark = pytest.mark.skipif(not (REPO / "fixtures" / "manifest.json").is_file(), reason="fixture corpus not present")


def test_example_validates():
    assert run("rules", "validate", str(TEAM)) == (0, "ok: 1 valid rule\n")


def test_example_tests_pass_with_their_todo():
    code, out = run("rules", "test", str(TEAM), "-v")
    assert code == 0, out
    assert out.splitlines()[-1] == "SUCCESS: 9 passed, 0 failed, 0 skipped, 1 todo"
    assert "TODO  fires  features stall on a channel inside serveStream" in out


def test_a_run_with_the_example_layer():
    code, out = run(str(SLOW), "--format", "json", "--rules-dir", str(TEAM))
    d = json.loads(out)
    assert code == 1
    by_cause = {f["cause"]: f for f in d["findings"]}
    assert by_cause["slow_consumer"]["severity"] == "critical"  # the override
    assert by_cause["slow_consumer"]["advice"]["knowledge"] == "team_slow_clients"
    assert by_cause["slow_consumer"]["advice"]["references"][0]["url"].endswith("/runbooks/slow-clients")
    assert by_cause["slow_consumer"]["facts"][-1]["label"] == "stream writers blocked (our code)"
    assert by_cause["team_stream_stall"]["rule_layer"] == "team"
    assert by_cause["team_stream_stall"]["rule_source"] == "team:team-rules/stream_stall.yaml"
    assert by_cause["slow_consumer"]["overridden_by"] == ["team:team-rules/overrides.yaml:3"]
    assert "gc_pressure.gc_share" not in [f["rule_id"] for f in d["findings"]]
