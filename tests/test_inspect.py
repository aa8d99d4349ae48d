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


def _formats_sample() -> list[Path]:
    """One trace per trace format for each of a few scenarios (every reader path), plus the
    largest trace of every format."""
    out: dict[tuple[str, str], Path] = {}
    for e in sorted(ENTRIES, key=lambda e: e["bytes"]):
        if e["scenario"] in ("healthy", "gomaxprocs", "fdreuse", "slowconsumer", "gcpressure"):
            out.setdefault((e["scenario"], e["trace_format"]), REPO / "fixtures" / e["path"])
        out[("largest", e["trace_format"])] = REPO / "fixtures" / e["path"]
    return sorted(set(out.values()))


def test_columns_overview_equals_the_event_reference(tmp_path):
    """`inspect` counts over the columns (the compiled reader): field for field the overview the
    per-event reference gives, on every trace format, and on a cut trace."""
    from diagnose.read.strace import trace_clock_snapshot
    from diagnose.timeline import load_columns
    from diagnose.timeline.overview import overview_of_columns

    paths = _formats_sample()
    if len(paths) < 6:
        pytest.skip("fixture corpus not present")
    big = max((p for p in paths if "go1.27" in p.name), key=lambda p: p.stat().st_size)
    cut = tmp_path / "cut.trace"
    cut.write_bytes(big.read_bytes()[: big.stat().st_size * 2 // 3])
    for path in [*paths, cut]:
        want = overview(open_trace(path))
        cols = load_columns(str(path))
        snap = trace_clock_snapshot(path) if cols.meta.get("format_minor", 0) >= 25 else None
        got = overview_of_columns([cols], want.path, want.go_version, want.size_bytes, snap)
        assert got.model_dump() == want.model_dump(), path.name


def test_inspect_window_by_window_equals_whole(monkeypatch, capsys, tmp_path):
    """A big trace is inspected window by window (one window's memory): the same overview, also
    for 3-window traces and a cut one (its warning names the offset and the share of the file)."""
    from diagnose import pipeline

    traces = [REPO / "fixtures" / e["path"] for e in ENTRIES if e["trace_format"] >= "go 1.22"]
    multi = [p for p in traces if pipeline.plan_windows(pipeline.open_input(p), 0.0005)][:12]
    if len(multi) < 4:
        pytest.skip("too few fixture traces of several generations")
    gen = REPO / "fixtures" / "traces" / "gen"
    capture = [p for p in (gen / f"capture-inproc-go{v}.trace" for v in ("1.22.10", "1.27.3")) if p.exists()]
    if capture:
        cut = tmp_path / "cut.trace"
        data = capture[-1].read_bytes()
        cut.write_bytes(data[: len(data) * 8 // 10])
        multi += [*capture, cut]
    for path in multi:
        monkeypatch.setenv("NETPOLL_DIAGNOSE_WINDOW_MB", "0")
        whole = _run_json(capsys, path)
        monkeypatch.setenv("NETPOLL_DIAGNOSE_WINDOW_MB", "0.0005")
        assert _run_json(capsys, path) == whole, path.name


def test_old_format_inspected_run_by_run_equals_the_reference(monkeypatch, capsys, tmp_path):
    """An old-format trace (Go <= 1.21) is counted a run of rows at a time as the compiled reader
    converts it (`timeline.scan_old_format`: its rows never held at once): the overview is the
    per-event reference's, field for field -- for go1.19 and go1.21 traces, a cut one, runs of
    a few hundred events, and a trace the kernel gives up on midway (counted again from the
    reference's columns)."""
    from diagnose import timeline
    from diagnose.timeline import kernel_v1

    if not kernel_v1.available():
        pytest.skip("the compiled old-format kernel is not built")
    old = [REPO / "fixtures" / e["path"] for e in ENTRIES if e["trace_format"] in ("go 1.19 trace", "go 1.21 trace")]
    old = sorted(old, key=lambda p: -p.stat().st_size)[:3]
    if len(old) < 3:
        pytest.skip("fixture corpus not present")
    cut = tmp_path / "cut.trace"
    data = old[0].read_bytes()
    cut.write_bytes(data[: len(data) * 9 // 10])
    monkeypatch.setenv("NETPOLL_DIAGNOSE_V1_TICKS_PER_SEC", "15625000")  # read past the lost footer
    monkeypatch.setattr(timeline, "SCAN_RUN_EVENTS", 300)
    calls = []
    real = kernel_v1._v1fast.convert_chunk
    monkeypatch.setattr(kernel_v1._v1fast, "convert_chunk", lambda *a: calls.append(1) or real(*a))
    for path in [*old, cut]:
        want = overview(open_trace(path)).model_dump(mode="json")
        want["path"] = str(path)
        calls.clear()
        got = _run_json(capsys, path)
        assert len(calls) > 3, path.name  # converted in runs
        assert got == want, path.name
    # the kernel declines on its third run: the counts start again from the reference's columns
    monkeypatch.setattr(kernel_v1._v1fast, "convert_chunk", lambda *a: None if len(calls) > 2 else calls.append(1) or real(*a))
    calls.clear()
    want = overview(open_trace(old[1])).model_dump(mode="json")
    want["path"] = str(old[1])
    assert _run_json(capsys, old[1]) == want
    assert len(calls) == 3
