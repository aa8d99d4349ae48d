"""Old-format traces (Go <= 1.21) too big to analyse at once are diagnosed in windows of events
(timeline/cut.py, pipeline.diagnose_trace): the converted rows cut every N rows, each window
opening with the state at its cut, as a Go 1.22+ generation restates it.

The committed traces are small, so the tests set a window of a few KB. Big-trace figures (memory,
time) are benchmarks: benchmarks/bench_pipeline.py on `tools/regen_fixtures.py --big 1.21.13`.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from diagnose import pipeline
from diagnose.rules import load_ruleset
from diagnose.timeline import build_timelines, load_columns, load_row_windows
from diagnose.timeline import kernel_v1
from diagnose.timeline.columns import G_NOTEXIST, G_UNDETERMINED, K_STATE, R_GOROUTINE, R_PROC
from tests.support.cli import run_main_captured

REPO = Path(__file__).resolve().parent.parent
TRACES = REPO / "fixtures" / "traces"
GEN = TRACES / "gen"
#: traces of each cause (and healthy ones) whose findings their windows keep exactly (2-4
#: windows at a window of half the file)
SAME = [GEN / "capture-inproc-go1.21.13.trace", GEN / "capture-inproc-go1.19.8.trace",
        TRACES / "fdreuse-newfile-finalizer-go1.21.13.trace", GEN / "consumer-cpu70-go1.21.13.trace",
        GEN / "bufmux-gc40-go1.19.8.trace", GEN / "fanout-mix-gc100-slow35-go1.19.8.trace",
        GEN / "framed-write64-go1.21.13.trace", GEN / "capture-rawclose15-go1.21.13.trace",
        GEN / "hijack-flush16-go1.19.8.trace", GEN / "consumer-healthy-go1.21.13.trace"]
#: ... and traces where a window finds a cause the whole trace dilutes below its threshold
#: (bufmux burst20 on Go 1.19 was one until the late-timer starvation rule named it whole)
MORE = [TRACES / "gcpressure-small-allocs-go1.19.8.trace", GEN / "consumer-gc40-go1.19.8.trace",
        GEN / "revproxy-flush4-go1.21.13.trace", TRACES / "syscallstorm-chunked-flush16-go1.21.13.trace"]


@lru_cache(maxsize=None)
def rules():
    return load_ruleset()


def _mb(path: Path, windows: int) -> float:
    """The window size (MB) that cuts `path` into about `windows` windows (exactly, when its
    rows per byte are pipeline.V1_FILE_ROWS_PER_BYTE; a window holds V1_ROWS_PER_BYTE a byte of MB)."""
    return path.stat().st_size / windows / (1 << 20) * pipeline.V1_FILE_ROWS_PER_BYTE / pipeline.V1_ROWS_PER_BYTE


@lru_cache(maxsize=None)
def _diagnoses(path: Path, windows: int):
    inp = pipeline.open_input(path)
    return (pipeline.diagnose_trace(inp, rules(), window_mb=0),
            pipeline.diagnose_trace(inp, rules(), window_mb=_mb(path, windows)))


@pytest.mark.parametrize("path", SAME, ids=lambda p: p.stem)
def test_windowed_diagnosis_matches_the_whole_one(path):
    whole, win = _diagnoses(path, 2)
    wt, t = win.diagnosis.trace, whole.diagnosis.trace
    n = len(wt.windows)
    assert 2 <= n <= 4 and not t.windows
    assert sum(w.bytes for w in wt.windows) == path.stat().st_size - 16
    assert wt.windows[0].start_ms == 0 and 0 < wt.windows[1].start_ms < wt.duration_ms
    assert wt.duration_ms == pytest.approx(t.duration_ms)
    assert wt.event_count == t.event_count  # the heads restate, they add no event
    assert wt.goroutine_count <= t.goroutine_count
    assert sorted(f.cause for f in win.diagnosis.findings) == sorted(f.cause for f in whole.diagnosis.findings)
    assert win.diagnosis.verdict.status == whole.diagnosis.verdict.status
    assert f"Diagnosed in {n} windows of events" in win.diagnosis.verdict.text


@pytest.mark.parametrize("path", MORE, ids=lambda p: p.stem)
def test_a_cause_of_one_window_is_a_finding_of_the_trace(path):
    """The bounded difference (as with generation windows, rules/windows.py): a cause strong in
    one window is named even where the whole trace dilutes it below its threshold, with the
    share of windows it was seen in; every cause of the whole trace is still found (on all 286
    old-format fixtures at 2-4 windows, the windows never lost one and added one in 21)."""
    whole, win = _diagnoses(path, 2)
    causes = {f.cause for f in win.diagnosis.findings}
    assert {f.cause for f in whole.diagnosis.findings} < causes
    n = len(win.diagnosis.trace.windows)
    for f in win.diagnosis.findings:
        if f.cause not in {g.cause for g in whole.diagnosis.findings}:
            assert f.facts[-1].label == "windows" and 1 <= f.facts[-1].value < n


def _spilled(tmp_path, path: Path, rows: int, name: str):
    d = tmp_path / name
    d.mkdir()
    return load_row_windows(str(path), rows, str(d))


@pytest.mark.parametrize("path", SAME[:3], ids=lambda p: p.stem)
def test_heads_restate_the_state_at_each_cut(path, tmp_path):
    """Each window after the first opens with the state the whole trace's timelines give at its
    first row: every live goroutine in its state (none missing, none dead), every P."""
    cols = load_columns(str(path))
    tl = build_timelines(cols)
    rw = _spilled(tmp_path, path, len(cols) // 4, "w")
    assert len(rw) == 4 and rw.n_rows == len(cols) and rw.spans[0][0] == 0 and rw.spans[-1][1] == len(cols)
    for k in range(1, len(rw)):
        w = rw.columns(k)
        a = rw.spans[k][0]
        head = np.flatnonzero((w.kind == K_STATE) & (w.sfrom == G_UNDETERMINED) & (w.t == w.t[0]))
        head = head[head < (len(w) - (rw.spans[k][1] - a))]  # the head's rows, not the window's own
        g = head[w.rk[head] == R_GOROUTINE]
        restated = dict(zip(w.rid[g].tolist(), w.sto[g].tolist()))
        # the whole trace: each goroutine's last transition before row a
        before = tl.tr_ev < a
        gid = cols.rid[tl.tr_ev[before]]
        last = {}
        for gg, st in zip(gid.tolist(), cols.sto[tl.tr_ev[before]].tolist()):
            last[gg] = st  # tr_ev is in Go order inside a goroutine
        alive = {gg: st for gg, st in last.items() if st != G_NOTEXIST}
        assert restated == alive
        procs = w.rid[head[w.rk[head] == R_PROC]]
        assert len(procs) and np.all(np.diff(procs) > 0)


@pytest.mark.parametrize("path", SAME[:2], ids=lambda p: p.stem)
def test_windows_time_in_each_state_adds_up_to_the_whole(path, tmp_path):
    """Per goroutine and state, the time the windows' timelines hold adds up to the whole
    trace's, but for the gaps between one window's last row and the next one's first."""
    cols = load_columns(str(path))
    whole = build_timelines(cols)
    rw = _spilled(tmp_path, path, len(cols) // 3, "w")
    total: dict[int, np.ndarray] = {}
    gaps = 0
    for k in range(len(rw)):
        tl = build_timelines(rw.columns(k))
        for g, ns in zip(tl.gor_id.tolist(), tl.gor_state_ns):
            total[g] = total.get(g, 0) + ns
        if k:
            gaps += int(cols.t[rw.spans[k][0]] - cols.t[rw.spans[k][0] - 1])
    for g, ns in zip(whole.gor_id.tolist(), whole.gor_state_ns):
        live = ns.copy()
        live[G_NOTEXIST] = 0  # after exit: a window where the goroutine no longer exists has no row for it
        got = total.get(g, np.zeros(6, np.int64)).copy()
        got[G_NOTEXIST] = 0
        assert np.abs(got - live).sum() <= len(rw) * gaps + 2 * len(rw), g


@pytest.mark.parametrize("path", [SAME[0], MORE[0]], ids=lambda p: p.stem)
def test_spilled_windows_give_the_rows_back_exactly_in_fewer_bytes(path, tmp_path):
    """Each window's own rows, spilled in the narrowest type that holds them (cut._narrow) and
    loaded back, are the whole trace's rows exactly -- every column, value for value and in its
    TraceColumns type -- while the spill takes well under the 64 bytes a row the columns take."""
    cols = load_columns(str(path))
    rw = _spilled(tmp_path, path, len(cols) // 3, "w")
    assert len(rw) == 3
    for k, (a, b) in enumerate(rw.spans):
        w = rw.columns(k)
        own = slice(len(w) - (b - a), len(w))  # after the head
        for name in ("kind", "t", "g", "p", "m", "stk", "rk", "rid", "sfrom", "sto", "s1", "tstk", "val"):
            got, want = getattr(w, name)[own], getattr(cols, name)[a:b]
            assert got.dtype == want.dtype and np.array_equal(got, want), (k, name)
            assert not np.any(np.signbit(got) != np.signbit(want)), (k, name)  # -0.0 stays -0.0
    spilled = sum(Path(f).stat().st_size for f in rw.files)
    assert spilled < 48 * len(cols)


@pytest.mark.skipif(kernel_v1._v1fast is None, reason="the compiled old-format kernel is not built")
def test_compiled_and_reference_give_the_same_windows(tmp_path, monkeypatch):
    path = SAME[2]
    n = len(load_columns(str(path)))
    fast = _spilled(tmp_path, path, n // 3, "fast")
    calls = []
    real = kernel_v1._v1fast.convert_chunk
    monkeypatch.setattr(kernel_v1._v1fast, "convert_chunk", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setenv("NETPOLL_DIAGNOSE_PURE", "1")
    pure = _spilled(tmp_path, path, n // 3, "pure")
    assert calls == []  # the reference ran
    monkeypatch.delenv("NETPOLL_DIAGNOSE_PURE")
    again = _spilled(tmp_path, path, n // 3, "again")
    assert len(calls) >= 3  # the kernel converted a window's worth of events at a time
    assert fast.spans == pure.spans == again.spans and len(fast) == 3
    assert fast.template.strings == pure.template.strings
    assert np.array_equal(fast.template.stack_frames, pure.template.stack_frames)
    for k in range(len(fast)):
        a, b = fast.columns(k), pure.columns(k)
        for name in ("kind", "t", "g", "p", "m", "stk", "rk", "rid", "sfrom", "sto", "s1", "tstk", "val"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), (k, name)
        assert a.meta == b.meta


def _footer(data: bytes) -> int:
    from diagnose.read.v1 import parser

    dec = parser._Decoder(data[16:], int(data[5:7]), 0, False)
    dec.run()
    return 16 + dec.saw_frequency_at


@pytest.mark.parametrize("pure", ["", "1"])
def test_a_cut_trace_still_reports_its_truncation(tmp_path, monkeypatch, pure):
    monkeypatch.setenv("NETPOLL_DIAGNOSE_PURE", pure)
    data = SAME[2].read_bytes()
    cut = tmp_path / "cut.trace"
    foot = _footer(data)
    cut.write_bytes(data[:foot + (len(data) - foot) // 2])  # inside the stack table
    inp = pipeline.open_input(cut)
    whole = pipeline.diagnose_trace(inp, rules(), window_mb=0)
    win = pipeline.diagnose_trace(inp, rules(), window_mb=_mb(SAME[2], 3))
    wt, t = win.diagnosis.trace, whole.diagnosis.trace
    assert t.truncated and t.lost_bytes > 0 and len(wt.windows) == 3
    assert wt.truncated and wt.lost_bytes == t.lost_bytes
    assert win.incomplete == whole.incomplete
    assert [w for w in win.features.trace.incomplete] == [w for w in whole.features.trace.incomplete]


def test_cli_json_lists_the_windows_of_an_old_trace(monkeypatch):
    path = SAME[0]
    monkeypatch.setenv("NETPOLL_DIAGNOSE_WINDOW_MB", str(_mb(path, 4)))
    code, out, err = run_main_captured(str(path), "--format", "json")
    assert code in (0, 1), err
    w = json.loads(out)["trace"]["windows"]
    assert len(w) >= 2 and w[0]["start_ms"] == 0 and sum(x["bytes"] for x in w) == path.stat().st_size - 16


def test_features_of_a_big_old_trace_are_its_strongest_windows(monkeypatch):
    """`features` windows an old trace as the main command does (not read whole: ~60 bytes a
    trace byte): it prints the features of the window the diagnosis rests on and names it."""
    path = SAME[0]
    monkeypatch.setenv("NETPOLL_DIAGNOSE_WINDOW_MB", str(_mb(path, 4)))
    code, out, err = run_main_captured("features", str(path), "--format", "json")
    assert code == 0, err
    f = json.loads(out)
    assert len(f["trace"]["windows"]) >= 2 and "features of window" in err
    whole = pipeline.analyse(pipeline.open_input(path)).features
    assert f["trace"]["event_count"] < whole.trace.event_count  # one window's rows, not the trace's


def test_small_old_trace_is_analysed_whole():
    inp = pipeline.open_input(SAME[0])
    assert pipeline.plan_row_windows(inp, 1.0) == 0  # ~400 KB: under 1.5 windows
    assert pipeline.plan_row_windows(pipeline.open_input(GEN / "capture-inproc-go1.27.3.trace"), 0.001) == 0


def test_a_trace_with_fewer_events_than_its_size_promised_is_one_whole_window():
    """The rows per window come from the file size (pipeline.V1_ROWS_PER_BYTE); a trace with
    fewer events a byte is cut into one window, which is the whole trace: same diagnosis and
    features as read whole, no window in the JSON."""
    path = TRACES / "customlistener-blocking-go1.21.13.trace"
    whole, win = _diagnoses(path, 2)
    assert pipeline.plan_row_windows(pipeline.open_input(path), _mb(path, 2)) > 0  # planned as windowed
    assert win.diagnosis.model_dump() == whole.diagnosis.model_dump()
    assert win.features.model_dump() == whole.features.model_dump()
    assert {f.cause for f in win.diagnosis.findings} == {"blocking_syscall", "custom_listener"}


def test_explain_a_big_old_trace_window_by_window(monkeypatch, tmp_path):
    """`explain` on an old-format trace the diagnosis cuts into windows of events reads it once
    into those windows and analyses one at a time (it was analysed whole: ~4 GB for 63 MB): the
    goroutine's chains from the windows it changes state in, times from the trace's start (the
    whole trace's trace-start line; the longest waits the whole trace shows that end in window 1
    are among window 1's, at the same times), `--window K`."""
    path = SAME[0]
    cols = load_columns(str(path))
    g = int(np.bincount(cols.rid[(cols.kind == K_STATE) & (cols.rk == R_GOROUTINE) & (cols.rid > 0)]).argmax())
    code, whole, _ = run_main_captured("explain", str(path), "-g", str(g))
    assert code == 0
    code, whole_json, _ = run_main_captured("explain", str(path), "-g", str(g), "--format", "json")
    assert code == 0
    monkeypatch.setenv("NETPOLL_DIAGNOSE_WINDOW_MB", str(_mb(path, 4)))
    n = len(pipeline.diagnose_trace(pipeline.open_input(path), rules()).features.trace.windows)
    assert n >= 3
    code, out, err = run_main_captured("explain", str(path), "-g", str(g))
    assert code == 0, err
    heads = [line.split(",")[0] for line in out.splitlines() if line.startswith("== window")]
    rw = _spilled(tmp_path, path, pipeline.plan_row_windows(pipeline.open_input(path)), "w")
    has = [k + 1 for k in range(len(rw)) if rw.columns(k).goroutine_changes(g)]
    assert len(rw) == n and len(has) >= 2 and heads == [f"== window {k} of {n}" for k in has[:3]]
    start = [line for line in whole.splitlines() if line.startswith("trace start")]
    assert start and [line for line in out.splitlines() if line.startswith("trace start")] == start * len(heads)

    def waits(doc: dict) -> set[tuple]:
        return {(c[0]["start_ns"], c[0]["end_ns"], c[0]["detail"]) for c in doc["waits"] if c[0]["relation"] == "waited"}

    code, out1, _ = run_main_captured("explain", str(path), "-g", str(g), "--window", "1", "--format", "json")
    code2, out2, _ = run_main_captured("explain", str(path), "-g", str(g), "--window", str(has[1]), "--format", "json")
    assert code == code2 == 0
    w1, w2 = json.loads(out1)["windows"][0], json.loads(out2)["windows"][0]
    assert w2["window"] == has[1] and w2["goroutine"]["goroutine"] == g
    cut_ns = int(cols.t[rw.spans[1][0]])  # window 2's first row
    shown = {w for w in waits(json.loads(whole_json)) if w[1] < cut_ns}
    assert shown and shown <= waits(w1["goroutine"])
    code, _, err = run_main_captured("explain", str(path), "--conns", "--window", str(n + 1))
    assert code == 2 and f"the trace has {n} windows" in err


@pytest.mark.parametrize("path", [SAME[1], SAME[3], MORE[0]], ids=lambda p: p.stem)
def test_profile_of_a_big_old_trace_window_by_window_equals_the_whole(path, monkeypatch, tmp_path):
    """`profile` reads an old-format trace the diagnosis cuts into windows of events one window at
    a time (it read the whole columns: ~2 GB for 63 MB), and the waits it carries across each cut
    (the window's head restates the wait, as a generation does) give the whole trace's records:
    the same folded stacks and values, for every kind."""
    def folded(kind: str, mb: str) -> list[str]:
        monkeypatch.setenv("NETPOLL_DIAGNOSE_WINDOW_MB", mb)
        out = tmp_path / f"{kind}-{mb}.folded"
        code, _, err = run_main_captured("profile", str(path), "--kind", kind, "--folded", "-o", str(out))
        assert code == 0, err
        return sorted(out.read_text().splitlines())

    from diagnose.report import WindowedRecords

    added = []
    real = WindowedRecords.add
    monkeypatch.setattr(WindowedRecords, "add", lambda self, cols: added.append(len(cols)) or real(self, cols))
    seen = 0
    for kind in ("net", "sync", "syscall", "sched"):
        whole = folded(kind, "0")
        assert added == []
        windowed = folded(kind, str(_mb(path, 4)))
        assert len(added) >= 3 and max(added) < len(load_columns(str(path))) // 2  # windows, one at a time
        added.clear()
        assert windowed == whole, kind
        seen += len(whole)
    assert seen
