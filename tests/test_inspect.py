"""`netpoll-diagnose inspect`: the overview agrees with the trace and with the program that made it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from diagnose.cli import main
from diagnose.read import open_trace
from diagnose.read.inspect import overview

REPO = Path(__file__).resolve().parent.parent
MANIFEST = json.loads((REPO / "fixtures" / "manifest.json").read_text())
ENTRIES = [e for e in MANIFEST["traces"] if (REPO / "fixtures" / e["path"]).is_file()]


def _pick(scenario: str) -> list[dict]:
    """One trace per trace format for a scenario, so every reader path is covered."""
    by_format: dict[str, dict] = {}
    for e in ENTRIES:
        if e["scenario"] == scenario:
            by_format.setdefault(e["trace_format"], e)
    return list(by_format.values())


def _run_json(capsys, path: Path) -> dict:
    code = main(["inspect", str(path), "--json"])
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


@pytest.mark.parametrize("entry", _pick("gomaxprocs"), ids=lambda e: e["path"])
def test_gomaxprocs_reported_as_the_program_set_it(capsys, entry):
    """The starvation fixtures run with GOMAXPROCS=1: inspect must say so, from the trace alone."""
    o = _run_json(capsys, REPO / "fixtures" / entry["path"])
    assert o["go_version"] == entry["trace_format"].removesuffix(" trace")
    assert [v for _, v in o["gomaxprocs"]] == [entry["server"]["counters"]["gomaxprocs"]]
    assert o["procs"] == 1
    assert o["gomaxprocs_inferred"] == (entry["trace_format"] < "go 1.22")  # old formats: no metric


@pytest.mark.parametrize("entry", _pick("healthy"), ids=lambda e: e["path"])
def test_overview_counts_match_the_event_stream(entry):
    """Events by kind add up to every event read; the span covers the captured window."""
    path = REPO / "fixtures" / entry["path"]
    o = overview(open_trace(path))
    n = sum(1 for _ in open_trace(path).events())
    assert o.events == n == sum(o.events_by_kind.values())
    assert o.events_by_kind.get("StateTransition", 0) > 0
    # captured with /debug/pprof/trace?seconds=N: the span is close to N seconds
    assert 0.5 * entry["window_seconds"] * 1000 < o.duration_ms < 1.5 * entry["window_seconds"] * 1000
    assert o.goroutines >= 2 and o.threads >= 1
    assert not o.truncated and o.lost_bytes == 0


def test_text_output_names_version_and_span(capsys):
    entry = next(e for e in ENTRIES if e["trace_format"] >= "go 1.25")
    code = main(["inspect", str(REPO / "fixtures" / entry["path"])])
    out = capsys.readouterr().out
    assert code == 0
    assert f"version           {entry['trace_format'].removesuffix(' trace')}" in out
    assert "wall clock" in out  # Go 1.25+ traces carry a clock snapshot
    assert "events by kind:" in out


def test_truncated_trace_reports_lost_bytes(tmp_path, capsys):
    entry = max((e for e in ENTRIES if e["trace_format"] >= "go 1.22"), key=lambda e: e["bytes"])
    data = (REPO / "fixtures" / entry["path"]).read_bytes()
    cut = tmp_path / "cut.trace"
    cut.write_bytes(data[: len(data) * 3 // 4])
    o = _run_json(capsys, cut)
    assert o["truncated"] and o["lost_bytes"] > 0
    assert o["warnings"] and "Lost" in o["warnings"][0]
