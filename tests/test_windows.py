"""A trace too big to analyse at once is diagnosed in windows of whole generations
(diagnose/read/windows.py, pipeline.diagnose_trace, rules/windows.py).

The committed traces are small, so the tests set a window of a few tens of KB: the in-process
capture traces (held-out program `capture`) hold two full generations of ~1 s each, the only
committed traces that do. Big-trace figures (memory per window) are benchmarks, not tests:
benchmarks/bench_pipeline.py.
"""
from __future__ import annotations

import json
import shutil
from functools import lru_cache
from typing import Any
from pathlib import Path

import pytest

from diagnose import pipeline
from diagnose.errors import TraceError
from diagnose.read import WindowFile, generation_spans, group_windows
from diagnose.rules import load_ruleset, merge_windows, shift_times
from diagnose.features import TraceWindow
from tests.support.cli import run_main_captured

REPO = Path(__file__).resolve().parent.parent
GEN = REPO / "fixtures" / "traces" / "gen"
TRACES = REPO / "fixtures" / "traces"
TWO_GENS = [GEN / f"capture-inproc-go{v}.trace" for v in ("1.22.10", "1.24.11", "1.25.5", "1.27.3")]
SMALL_MB = 0.03  # ~31 KB: each full generation of the capture traces is a window


@lru_cache(maxsize=None)
def rules():
    return load_ruleset()


@pytest.mark.parametrize("path", TWO_GENS, ids=lambda p: p.stem)
def test_spans_cover_the_file_and_windows_rebuild_it(path):
    hlen, spans = generation_spans(path)
    data = path.read_bytes()
    assert hlen == 16 and spans[0][0] == hlen and spans[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # contiguous, in file order
    assert len(spans) >= 3  # two full generations and the short one flushed at stop
    with WindowFile(path, hlen, spans[0][0], spans[-1][1]) as wf:
        assert wf.read() == data
    with WindowFile(path, hlen, spans[1][0], spans[1][1]) as wf:
        assert wf.read() == data[:hlen] + data[spans[1][0]:spans[1][1]]


def test_framing_reads_batch_headers_only(monkeypatch):
    """Framing a trace into generations reads each batch's header (os.pread), not its data:
    a 1 GB trace is framed without reading (or mapping) 1 GB. Same spans as reading every batch."""
    import os

    from diagnose.read import wire

    path = max(TWO_GENS, key=lambda p: p.stat().st_size)
    read = []
    real = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, off: read.append(n) or real(fd, n, off))
    hlen, spans = generation_spans(path)
    monkeypatch.undo()
    batches = len(read)
    assert batches > 10 and sum(read) <= 64 * batches < path.stat().st_size / 4
    whole: list[tuple[int, int]] = []
    with open(path, "rb") as f:
        f.seek(hlen)
        src, gen, start = wire.Source(f, path.stat().st_size - hlen), None, hlen
        while True:
            at = src.offset
            try:
                b = wire.read_batch(src)
            except wire.WireEOF:
                break
            if b.is_end_of_generation():
                continue
            if gen is not None and b.gen != gen:
                whole.append((start, hlen + at))
                start = hlen + at
            gen = b.gen
    assert spans == whole + [(start, path.stat().st_size)]


def test_old_format_is_never_cut():
    assert generation_spans(GEN / "capture-inproc-go1.21.13.trace") is None
    assert generation_spans(GEN / "capture-inproc-go1.19.8.trace") is None
    inp = pipeline.open_input(GEN / "capture-inproc-go1.21.13.trace")
    assert pipeline.plan_windows(inp, SMALL_MB) is None


def test_grouping_keeps_generations_whole_and_folds_a_short_tail():
    hlen, spans = generation_spans(TWO_GENS[-1])
    short_tail = spans[-1][1] - spans[-1][0]
    assert short_tail < 10_000
    w = group_windows(spans, int(SMALL_MB * (1 << 20)))
    assert len(w) == 2 and w[0] == spans[0] and w[1] == (spans[1][0], spans[-1][1])
    assert group_windows(spans, 1 << 30) == [(spans[0][0], spans[-1][1])]


@pytest.mark.parametrize("path", TWO_GENS, ids=lambda p: p.stem)
def test_windowed_diagnosis_matches_the_whole_one(path):
    inp = pipeline.open_input(path)
    whole = pipeline.diagnose_trace(inp, rules(), window_mb=0)
    win = pipeline.diagnose_trace(inp, rules(), window_mb=SMALL_MB)
    wt, t = win.diagnosis.trace, whole.diagnosis.trace
    # two windows of generations, each whole (go1.25's second is 62 KB with the tail folded in,
    # over 1.5 windows, but its format has no EndOfGeneration marker: a tail is cut only with one)
    hlen, spans = pipeline.plan_windows(inp, SMALL_MB)
    n = len(pipeline.plan_parts(inp, spans, SMALL_MB))
    assert len(spans) == 2 and n == 2
    assert len(wt.windows) == n and not t.windows
    assert sum(w.bytes for w in wt.windows) == path.stat().st_size - 16
    assert wt.windows[0].start_ms == 0 and wt.windows[1].start_ms > 900  # the second generation starts ~1 s in
    assert wt.duration_ms == pytest.approx(t.duration_ms)
    assert wt.event_count == t.event_count  # one closing Sync, as Go counts them
    assert [f.cause for f in win.diagnosis.findings] == [f.cause for f in whole.diagnosis.findings]
    assert win.diagnosis.verdict.status == whole.diagnosis.verdict.status
    assert f"Diagnosed in {n} windows" in win.diagnosis.verdict.text


def test_cli_json_lists_the_windows(monkeypatch):
    monkeypatch.setenv("NETPOLL_DIAGNOSE_WINDOW_MB", str(SMALL_MB))
    code, out, err = run_main_captured(str(TWO_GENS[-1]), "--format", "json")
    d = json.loads(out)
    assert code == 0, err
    assert [w["start_ms"] for w in d["trace"]["windows"]][0] == 0 and len(d["trace"]["windows"]) == 2
    monkeypatch.setenv("NETPOLL_DIAGNOSE_WINDOW_MB", "0")
    code, out, err = run_main_captured(str(TWO_GENS[-1]), "--format", "json")
    assert json.loads(out)["trace"]["windows"] == []


@pytest.mark.parametrize("jobs", ["1", "2"])  # read in this process, and in a worker process
def test_damage_in_a_later_window_is_named_at_its_file_offset(tmp_path, monkeypatch, jobs):
    monkeypatch.setenv("NETPOLL_DIAGNOSE_JOBS", jobs)
    src = TWO_GENS[-1]
    hlen, spans = generation_spans(src)
    bad = tmp_path / "bad.trace"
    shutil.copy(src, bad)
    data = bytearray(bad.read_bytes())
    off = spans[1][0]  # the first batch header of the second generation
    data[off] = 0x7F
    bad.write_bytes(bytes(data))
    inp = pipeline.open_input(bad)
    with pytest.raises(TraceError) as whole:
        pipeline.diagnose_trace(inp, rules(), window_mb=0)
    with pytest.raises(TraceError) as win:
        pipeline.diagnose_trace(inp, rules(), window_mb=SMALL_MB)
    assert win.value.offset == off and whole.value.offset == off
    assert win.value.message == whole.value.message


def _diagnosis(name: str):
    inp = pipeline.open_input(TRACES / f"{name}.trace")
    return pipeline.diagnose_trace(inp, rules(), window_mb=0).diagnosis


def test_merge_names_every_cause_strongest_first_with_its_window():
    # two real diagnoses standing for two windows of one trace
    slow = _diagnosis("slowconsumer-chunked-go1.27.3")
    fd = _diagnosis("fdreuse-newfile-finalizer-go1.27.3")
    assert slow.findings[0].cause == "slow_consumer" and fd.findings[0].cause == "fd_reuse"
    trace = slow.trace.model_copy(deep=True, update={"windows": [
        TraceWindow(start_ms=0, end_ms=1000, bytes=1), TraceWindow(start_ms=1000, end_ms=2000, bytes=1)]})
    merged, rep = merge_windows([slow, fd], trace)
    causes = [f.cause for f in merged.findings]
    assert causes[0] == "fd_reuse" and "slow_consumer" in causes  # critical first, both named
    assert rep == 1 and merged.verdict.status == "problems"
    top = merged.findings[0]
    assert top.facts[-1].label == "windows" and top.facts[-1].text == "seen in 1 of 2 windows; strongest in 1.0-2.0 s"
    assert merged.trace.windows[0].causes == sorted({f.cause for f in slow.findings})
    assert "Diagnosed in 2 windows" in merged.verdict.text


def test_shift_times_moves_evidence_and_chains_to_the_trace_clock():
    d = _diagnosis("slowconsumer-chunked-go1.27.3")
    before = [(e.start_ns, e.end_ns, [(s.start_ns, s.end_ns) for s in e.chain])
              for f in d.findings for e in f.evidence]
    assert any(s is not None for s, _, _ in before)
    shift_times(d, 5_000_000_000)
    after = [(e.start_ns, e.end_ns, [(s.start_ns, s.end_ns) for s in e.chain])
             for f in d.findings for e in f.evidence]
    for (s0, e0, c0), (s1, e1, c1) in zip(before, after):
        assert s1 == (None if s0 is None else s0 + 5_000_000_000)
        assert e1 == (None if e0 is None else e0 + 5_000_000_000)
        assert c1 == [(a + 5_000_000_000, b + 5_000_000_000) for a, b in c0]


def test_each_window_is_read_by_the_kernel_when_it_is_built(monkeypatch):
    from diagnose.timeline import kernel

    if kernel._fastwire is None:
        pytest.skip("the compiled kernel is not built here (no C compiler at install time)")
    monkeypatch.delenv("NETPOLL_DIAGNOSE_PURE", raising=False)
    monkeypatch.setenv("NETPOLL_DIAGNOSE_JOBS", "1")  # counted in this process
    engaged = []
    real = kernel._Driver.run
    monkeypatch.setattr(kernel._Driver, "run", lambda self: (engaged.append(1), real(self))[1])
    inp = pipeline.open_input(TWO_GENS[-1])
    pipeline.diagnose_trace(inp, rules(), window_mb=SMALL_MB)
    assert len(engaged) == 2


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_trace_cut_inside_a_later_window_loses_the_same_bytes(tmp_path, monkeypatch, jobs):
    monkeypatch.setenv("NETPOLL_DIAGNOSE_JOBS", jobs)  # the cut window handled in this process and in workers
    src = TWO_GENS[-1]
    hlen, spans = generation_spans(src)
    cut = tmp_path / "cut.trace"
    cut.write_bytes(src.read_bytes()[:spans[1][0] + (spans[1][1] - spans[1][0]) * 4 // 5])  # 4/5 of the 2nd generation
    inp = pipeline.open_input(cut)
    whole = pipeline.diagnose_trace(inp, rules(), window_mb=0).diagnosis
    win = pipeline.diagnose_trace(inp, rules(), window_mb=SMALL_MB).diagnosis
    assert win.trace.truncated and whole.trace.truncated
    assert win.trace.lost_bytes == whole.trace.lost_bytes > 0
    assert win.trace.event_count == whole.trace.event_count
    assert len(win.trace.windows) == 1 and win.verdict.status == whole.verdict.status


def test_a_cut_windows_warning_is_the_whole_files(tmp_path):
    """The window holding a cut trace's tail words its warning as a read of the whole file does:
    the offset in the file and the share of the file lost (read.truncation_warning)."""
    src = TWO_GENS[-1]
    hlen, spans = generation_spans(src)
    cut = tmp_path / "cut.trace"
    cut.write_bytes(src.read_bytes()[:spans[1][0] + (spans[1][1] - spans[1][0]) * 4 // 5])
    inp = pipeline.open_input(cut)
    whole = pipeline.read_columns(inp).meta["warnings"]
    _, cut_spans = generation_spans(cut)
    window = pipeline.read_columns(inp, None, (hlen, *cut_spans[-1])).meta["warnings"]
    assert whole and whole[0].startswith("trace is truncated (offset ")
    assert window == whole


@pytest.mark.parametrize("path", TWO_GENS[1::2], ids=lambda p: p.stem)
def test_windows_in_parallel_processes_give_the_same_diagnosis(path, monkeypatch):
    """NETPOLL_DIAGNOSE_JOBS changes speed and memory, never the findings (diagnose/jobs.py)."""
    inp = pipeline.open_input(path)
    out = {}
    pools = []
    real = pipeline._windows_in_processes
    monkeypatch.setattr(pipeline, "_windows_in_processes", lambda *a: (pools.append(a[5]), real(*a))[1])
    for jobs in ("1", "2"):
        monkeypatch.setenv("NETPOLL_DIAGNOSE_JOBS", jobs)
        out[jobs] = pipeline.diagnose_trace(inp, rules(), window_mb=SMALL_MB).diagnosis.model_dump_json()
    assert pools == [2], "jobs=2 ran the windows in worker processes, jobs=1 in this one"
    assert out["1"] == out["2"]
    assert json.loads(out["1"])["trace"]["windows"]


@pytest.mark.parametrize("path", TWO_GENS[1:2], ids=lambda p: p.stem)
def test_windows_that_never_fit_together_run_in_this_process(path, monkeypatch):
    """When no two windows fit the memory allowance side by side (jobs.fitting_jobs), no worker
    pool is started: the windows run one after another in this process, which keeps its freed
    pages for the next window, with the same diagnosis; when two fit, the pool runs them."""
    from diagnose import jobs

    inp = pipeline.open_input(path)
    hlen, windows = pipeline.plan_windows(inp, SMALL_MB)
    costs = sorted(jobs.window_cost(e - s) for s, e in windows)
    pools = []
    real = pipeline._windows_in_processes
    monkeypatch.setattr(pipeline, "_windows_in_processes", lambda *a: (pools.append(a[5]), real(*a))[1])
    monkeypatch.delenv("NETPOLL_DIAGNOSE_JOBS", raising=False)
    monkeypatch.setattr(jobs, "window_jobs", lambda n: 2)
    out = {}
    for name, allowance in (("alone", costs[0] + costs[1] - 1), ("pairs", costs[-1] + costs[-2])):
        monkeypatch.setattr(jobs, "parallel_allowance", lambda a=allowance: a)
        out[name] = pipeline.diagnose_trace(inp, rules(), window_mb=SMALL_MB).diagnosis.model_dump_json()
    assert len(windows) > 1 and pools == [2], "only the allowance that fits two windows started a pool"
    assert out["alone"] == out["pairs"]
    assert jobs.fitting_jobs(3, [5, 1, 9], 6) == 2 and jobs.fitting_jobs(3, [5, 1, 9], 15) == 3
    assert jobs.fitting_jobs(2, [5, 7], 11) == 1 and jobs.fitting_jobs(2, [5, 7], None) == 2


def test_jobs_policy(monkeypatch):
    from diagnose import jobs
    from diagnose.errors import UsageError

    monkeypatch.setattr(jobs.resource, "getrlimit", lambda _r: (jobs.resource.RLIM_INFINITY,) * 2)
    monkeypatch.setenv("NETPOLL_DIAGNOSE_JOBS", "3")
    assert jobs.window_jobs(2) == 2 and jobs.window_jobs(5) == 3
    monkeypatch.setenv("NETPOLL_DIAGNOSE_JOBS", "many")
    with pytest.raises(UsageError):
        jobs.window_jobs(2)
    monkeypatch.setenv("NETPOLL_DIAGNOSE_JOBS", "0")
    monkeypatch.setattr(jobs, "_usable_cpus", lambda: 8)
    room = 3 * jobs.per_job() + 1  # three default windows' worth
    monkeypatch.setattr(jobs, "_memory_for_jobs", lambda: room)
    assert jobs.window_jobs(10) == 3  # memory bounds it
    monkeypatch.setenv("NETPOLL_DIAGNOSE_WINDOW_MB", "48")  # bigger windows, fewer of them at once
    assert jobs.per_job() > jobs.MIN_PER_JOB and jobs.window_jobs(10) == 1
    monkeypatch.delenv("NETPOLL_DIAGNOSE_WINDOW_MB")
    monkeypatch.setattr(jobs, "_memory_for_jobs", lambda: None)
    assert jobs.window_jobs(10) == jobs.AUTO_MAX and jobs.window_jobs(1) == 1
    for limited in (jobs.resource.RLIMIT_AS, jobs.resource.RLIMIT_CPU):  # the bot's children, --timeout
        monkeypatch.setattr(jobs.resource, "getrlimit",
                            lambda r, lim=limited: (60, 60) if r == lim else (jobs.resource.RLIM_INFINITY,) * 2)
        assert jobs.window_jobs(10) == 1


def test_jobs_read_cgroup_limits(monkeypatch, tmp_path):
    """In a container, the cgroup's CPU quota and memory limit bound the jobs, not the host's."""
    from diagnose import jobs

    (tmp_path / "cpu.max").write_text("150000 100000\n")
    (tmp_path / "memory.max").write_text(str(5 << 30) + "\n")
    (tmp_path / "memory.current").write_text(str(3 << 30) + "\n")
    monkeypatch.setattr(jobs, "CGROUP", str(tmp_path))
    monkeypatch.setattr(jobs, "_available_memory", lambda: 20 << 30)
    assert jobs._memory_for_jobs() == 2 << 30
    assert jobs._usable_cpus() <= 2
    (tmp_path / "memory.max").write_text("max\n")
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert jobs._memory_for_jobs() == 20 << 30


def test_a_killed_worker_is_named_out_of_memory(monkeypatch):
    """The OOM killer's SIGKILL on a window's process: the CLI's out-of-memory line (exit 2), not
    an internal error; no worker left behind."""
    import os
    import signal

    from tests.support.cli import run_main_captured

    monkeypatch.setenv("NETPOLL_DIAGNOSE_WINDOW_MB", str(SMALL_MB))
    monkeypatch.setenv("NETPOLL_DIAGNOSE_JOBS", "2")
    monkeypatch.setattr(pipeline, "_diagnose_window", lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL))
    code, out, err = run_main_captured(str(TWO_GENS[-1]))
    assert code == 2 and "out of memory" in err and len(err.strip().splitlines()) == 1, err


def test_features_command_on_a_windowed_trace_names_its_window(monkeypatch):
    """`features` on a trace big enough for windows: the strongest window's features (as the main
    command's), its own duration and events, the window named on stderr; not the whole trace
    held in memory."""
    monkeypatch.setenv("NETPOLL_DIAGNOSE_WINDOW_MB", str(SMALL_MB))
    code, out, err = run_main_captured("features", str(TWO_GENS[-1]), "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    assert len(d["trace"]["windows"]) == 2
    assert "features of window " in err and " of 2 " in err
    inp = pipeline.open_input(TWO_GENS[-1])
    run = pipeline.diagnose_trace(inp, rules(), window_mb=SMALL_MB)
    assert d["network"] == json.loads(run.features.model_dump_json())["network"]
    w = d["trace"]["windows"][run.window]
    assert d["trace"]["duration_ms"] == pytest.approx(w["end_ms"] - w["start_ms"], abs=1.0)
    assert d["trace"]["duration_ms"] < run.diagnosis.trace.duration_ms * 0.9


class _Recorder:
    """A progress line that keeps what it was told (the Progress protocol)."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, str]] = []

    def __call__(self, done: int, total: int) -> None:
        pass

    def events(self, n: int) -> None:
        pass

    def phase(self, text: str) -> None:
        pass

    def windows(self, done: int, total: int, text: str) -> None:
        self.calls.append((done, total, text))

    def done(self) -> None:
        pass


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_windowed_progress_moves_forward_to_every_window(jobs, monkeypatch):
    """A big trace analysed in windows shows how far the analysis is (not a frozen "reading"
    line): bytes never go back, the windows count up, and it ends at the last window's end."""
    path = TWO_GENS[-1]
    inp = pipeline.open_input(path)
    monkeypatch.setenv("NETPOLL_DIAGNOSE_JOBS", jobs)
    rec = _Recorder()
    hlen, windows = pipeline.plan_windows(inp, SMALL_MB)
    pipeline.diagnose_trace(inp, rules(), window_mb=SMALL_MB, progress=rec)
    done = [c[0] for c in rec.calls]
    assert done == sorted(done) and done[-1] == windows[-1][1] and all(c[1] == inp.size for c in rec.calls)
    where = ", 2 jobs" if jobs == "2" else ""
    assert rec.calls[-1][2] == f"{len(windows)}/{len(windows)} windows{where}"
    if jobs == "1":  # in this process every read and every "analysing" is seen: partial shares
        assert any(d not in {w[1] for w in windows} for d in done), "a running window's share was shown"


def test_window_marks_cross_the_fork():
    """Workers' progress reaches the parent through shared memory, before the window finishes."""
    import multiprocessing

    windows = [(100, 1100), (1100, 3100)]
    marks = pipeline._WindowMarks(windows, shared=True, live=True)
    ctx = multiprocessing.get_context("fork")

    def work() -> None:
        p = marks.progress_for(1)
        p(1100 + 1000, 5000)  # half the window read
        assert marks.marks[1] == pipeline.WINDOW_READ_SHARE // 2
        p.phase(pipeline.GRAPH_PHASE)
        p.phase("analysing")  # an earlier phase announced late does not move it back

    proc = ctx.Process(target=work)
    proc.start()
    proc.join(timeout=20)
    assert proc.exitcode == 0
    share = pipeline.PHASE_SHARE[pipeline.GRAPH_PHASE]
    assert marks.marks[1] == share > pipeline.WINDOW_READ_SHARE
    assert marks.bytes_done() == 100 + 2000 * share // 1000
    marks.finish(0)
    assert marks.bytes_done() == 1100 + 2000 * share // 1000


_PROBE: tuple = ()  # (lock, running now, peak, the real entry): set before the workers fork


def _probe_window(k, span):
    """The worker's entry, wrapped: counts how many windows run at once (shared memory)."""
    import time

    lock, now, peak, real = _PROBE
    with lock:
        now.value += 1
        peak.value = max(peak.value, now.value)
    try:
        time.sleep(0.3)  # long enough for a second window to start beside it, when allowed
        return real(k, span)
    finally:
        with lock:
            now.value -= 1


def _concurrency_probe(monkeypatch):
    import multiprocessing

    global _PROBE
    ctx = multiprocessing.get_context("fork")
    _PROBE = (ctx.Lock(), ctx.RawValue("i", 0), ctx.RawValue("i", 0), pipeline._forked_window)
    monkeypatch.setattr(pipeline, "_forked_window", _probe_window)
    return _PROBE[2]


@pytest.mark.parametrize("allowance, expect", [(1, 0), (None, 2)])
def test_windows_run_together_only_while_they_fit(allowance, expect, monkeypatch):
    """In auto mode a window starts beside another only while their estimated memory fits the
    allowance (a 14 MB generation runs alone; when none fits beside another no worker runs at
    all: 0); the diagnosis does not change."""
    from diagnose import jobs

    monkeypatch.delenv("NETPOLL_DIAGNOSE_JOBS", raising=False)
    monkeypatch.setattr(jobs, "window_jobs", lambda n: 2)
    monkeypatch.setattr(jobs, "parallel_allowance", lambda: allowance)
    peak = _concurrency_probe(monkeypatch)
    inp = pipeline.open_input(TWO_GENS[-1])
    got = pipeline.diagnose_trace(inp, rules(), window_mb=SMALL_MB).diagnosis
    assert peak.value == expect
    monkeypatch.setenv("NETPOLL_DIAGNOSE_JOBS", "1")
    assert got.model_dump_json() == pipeline.diagnose_trace(inp, rules(), window_mb=SMALL_MB).diagnosis.model_dump_json()


def test_parallel_allowance_policy(monkeypatch):
    from diagnose import jobs

    monkeypatch.delenv("NETPOLL_DIAGNOSE_JOBS", raising=False)
    monkeypatch.delenv("NETPOLL_DIAGNOSE_MEMORY_BUDGET", raising=False)
    assert jobs.parallel_allowance() == jobs.PARALLEL_TOTAL - jobs.PARENT_SHARE
    # two default 7 MB windows fit together; a 14 MB generation does not fit beside one
    assert 2 * jobs.window_cost(7 << 20) <= jobs.parallel_allowance()
    assert jobs.window_cost(7 << 20) + jobs.window_cost(14 << 20) > jobs.parallel_allowance()
    # a worker keeps its pages while what it holds fits beside the biggest window in the other
    allowance = jobs.parallel_allowance()
    seven, nine, fourteen = (jobs.window_cost(mb << 20) for mb in (7, 9, 14))
    assert jobs.keeps_memory(seven, [seven] * 3, 2, allowance)
    assert jobs.keeps_memory(jobs.window_cost(4 << 20), [seven, nine], 2, allowance)
    assert not jobs.keeps_memory(seven, [seven, nine], 2, allowance)
    assert not jobs.keeps_memory(seven, [seven] * 3, 3, allowance)
    assert jobs.keeps_memory(fourteen, [fourteen], 2, None)
    monkeypatch.setenv("NETPOLL_DIAGNOSE_MEMORY_BUDGET", "4096")
    assert jobs.parallel_allowance() == (4096 << 20) - jobs.PARENT_SHARE
    monkeypatch.setenv("NETPOLL_DIAGNOSE_MEMORY_BUDGET", "0")
    assert jobs.parallel_allowance() is None
    monkeypatch.setenv("NETPOLL_DIAGNOSE_JOBS", "3")
    assert jobs.parallel_allowance() is None, "a count the user chose is not second-guessed"


_STARTED: Any = None  # windows started (shared memory), set before the workers fork


_FAILING: Any = None  # the windows that fail


def _failing_window(k, span):
    """The windows in _FAILING fail after a moment; any other window runs (each is counted)."""
    import time

    with _STARTED.get_lock():
        _STARTED.value += 1
    if k in _FAILING:
        time.sleep(0.3)
        raise TraceError(f"window {k} is damaged", "probe", None)
    return [pipeline._diagnose_window(*pipeline._FORK_STATE[:4], k, span)]  # a task's results: one window


@pytest.mark.parametrize("failing", ["first", "all"])
def test_a_failing_window_stops_the_windows_not_yet_started(monkeypatch, failing):
    """Windows start one by one (a tight allowance) in `start_order`: a failing window ends the run
    with the error of the first window in the trace that fails, as one process would give it;
    after a failure only the windows before it in the trace still start."""
    import multiprocessing

    from diagnose import jobs

    global _STARTED, _FAILING
    _STARTED = multiprocessing.get_context("fork").Value("i", 0)
    monkeypatch.delenv("NETPOLL_DIAGNOSE_JOBS", raising=False)
    monkeypatch.setattr(jobs, "window_jobs", lambda n: 2)
    monkeypatch.setattr(jobs, "parallel_allowance", lambda: 1)
    monkeypatch.setattr(jobs, "fitting_jobs", lambda n, costs, allowance: n)  # the pool, windows one by one
    monkeypatch.setattr(pipeline, "_forked_window", _failing_window)
    inp = pipeline.open_input(TWO_GENS[-1])
    spans = pipeline.plan_windows(inp, SMALL_MB)[1]
    order = pipeline.start_order([jobs.window_cost(e - s) for s, e in spans])
    assert len(spans) >= 2 and order[0] != 0, "the trace's first window does not start first"
    _FAILING = {0} if failing == "first" else set(range(len(spans)))
    with pytest.raises(TraceError, match="window 0 is damaged"):
        pipeline.diagnose_trace(inp, rules(), window_mb=SMALL_MB)
    # "first": every window up to window 0 in start order ran; "all": the first to start failed,
    # then only windows before it in the trace started, one at a time, each failing
    expected = order.index(0) + 1 if failing == "first" else len([k for k in order if k < order[0]]) + 1
    assert _STARTED.value == expected


def test_explain_a_big_trace_window_by_window(monkeypatch):
    """`explain` on a trace the diagnosis cuts into windows reads one window at a time: the
    goroutine's chains from each window it has events in, times from the trace's start (the
    same trace-start line and wait lines as the whole trace), `--window K` for one window."""
    path = str(TWO_GENS[-1])
    whole_code, whole, _ = run_main_captured("explain", path, "-g", "8")
    assert whole_code == 0
    monkeypatch.setenv("NETPOLL_DIAGNOSE_WINDOW_MB", str(SMALL_MB))
    inp = pipeline.open_input(path)
    plan = pipeline.plan_windows(inp)
    n = len(plan[1])
    assert n >= 2  # goroutine 8 changes state in every window (the heads below)
    code, out, err = run_main_captured("explain", path, "-g", "8")
    assert code == 0, err
    heads = [line.split(",")[0] for line in out.splitlines() if line.startswith("== window")]
    assert heads == [f"== window {k} of {n}" for k in range(1, n + 1)]
    start = [line for line in whole.splitlines() if line.startswith("trace start")]
    assert [line for line in out.splitlines() if line.startswith("trace start")] == start * n
    waited = [line.strip() for line in out.splitlines() if "waited:" in line]
    assert waited and sum(w in whole for w in waited) >= len(waited) // 2, "most waits read as in the whole trace"
    code, out2, _ = run_main_captured("explain", path, "-g", "8", "--window", "2", "--format", "json")
    assert code == 0
    doc = json.loads(out2)
    assert [w["window"] for w in doc["windows"]] == [2] and doc["windows"][0]["goroutine"]["goroutine"] == 8
    code, _, err = run_main_captured("explain", path, "--conns", "--window", str(n + 1))
    assert code == 2 and f"the trace has {n} windows" in err
    code, _, err = run_main_captured("explain", path, "-g", "99999999")
    assert code == 2 and "does not appear" in err


def test_explain_reads_the_first_window_once(monkeypatch):
    """The first window gives the trace's start, the goroutine's search and (when shown) its own
    analysis from one read: `--conns` reads the trace once, `-g` reads window 1 once."""
    path = str(TWO_GENS[-1])
    monkeypatch.setenv("NETPOLL_DIAGNOSE_WINDOW_MB", str(SMALL_MB))
    reads: list = []
    real = pipeline.read_columns

    def counted(inp, progress=None, window=None):
        reads.append(window)
        return real(inp, progress, window)

    monkeypatch.setattr(pipeline, "read_columns", counted)
    code, out, err = run_main_captured("explain", path, "--conns")
    assert code == 0 and "== window 1 of" in out, err
    first = reads[0]
    assert first is not None and reads == [first]
    reads.clear()
    code, out, err = run_main_captured("explain", path, "-g", "8")
    assert code == 0 and "== window 1 of" in out, err
    assert reads.count(first) == 1 and len(set(reads)) >= 2


def test_explain_window_option_on_a_small_trace():
    code, _, err = run_main_captured("explain", str(TWO_GENS[-1]), "--conns", "--window", "2")
    assert code == 2 and "explained whole" in err


def test_next_window_passes_a_waiting_big_window_only_within_the_lookahead():
    """A window that does not fit beside the running one waits, but a smaller one after it starts
    meanwhile -- never more than LOOKAHEAD past it; with nothing running it starts whatever it
    costs; after a failure only earlier windows start."""
    from diagnose import jobs
    from diagnose.pipeline import LOOKAHEAD, _next_window

    allowance = jobs.parallel_allowance()
    small, big = jobs.window_cost(5 << 20), jobs.window_cost(13 << 20)
    cost = [small, big] + [small] * (LOOKAHEAD + 3)
    pending = list(range(1, len(cost)))
    assert big + small > allowance  # the 1 GB benchmark trace's 13 MB generations
    assert _next_window(pending, [small], cost, allowance, None) == 2
    assert _next_window([1, *range(1 + LOOKAHEAD, len(cost))], [small], cost, allowance, None) is None
    assert _next_window(pending, [], cost, allowance, None) == 1
    assert _next_window(pending, [small], cost, None, None) == 1  # no allowance: window order
    assert _next_window(pending, [small], cost, allowance, 1) is None
    assert _next_window(pending, [small], cost, allowance, 3) == 2


def test_windows_start_costliest_first_within_the_lookahead():
    """`start_order` puts the costliest windows first (ties in window order); `_next_window`
    counts the lookahead in that order, and after a failure skips the windows after it."""
    from diagnose import jobs
    from diagnose.pipeline import LOOKAHEAD, _next_window, start_order

    allowance = jobs.parallel_allowance()
    small, mid, big = (jobs.window_cost(mb << 20) for mb in (4, 6, 13))
    cost = [small, mid, small, big, mid] + [small] * (LOOKAHEAD + 2)
    order = start_order(cost)
    assert order[:3] == [3, 1, 4] and order[3:] == [0, 2, *range(5, len(cost))]
    rank = [order.index(k) for k in range(len(cost))]
    assert _next_window(order, [], cost, allowance, None, rank) == 3
    assert _next_window(order, [mid], cost, allowance, None, rank) == 1  # the 13 MB one waits
    # the waiting big window is passed only by the next LOOKAHEAD-1 in start order
    assert _next_window([3, *order[LOOKAHEAD:]], [mid], cost, allowance, None, rank) is None
    assert _next_window(order, [mid], cost, allowance, 2, rank) == 1  # window 1 is before window 2
    assert _next_window(order, [mid], cost, allowance, 1, rank) == 0
    assert _next_window(order, [mid], cost, allowance, 0, rank) is None


PART_MB = 0.015  # ~15.7 KB: the capture traces' first window (~33 KB) is cut in two parts


@pytest.mark.parametrize("path", TWO_GENS, ids=lambda p: p.stem)
def test_a_generation_bigger_than_the_window_is_diagnosed_in_parts(path, monkeypatch):
    """A generation over 1.5 windows (a busy process's second of trace can be 14 MB) is cut into
    window-sized parts of rows, each after the first opening with the state at its cut
    (pipeline.split_windows, timeline.window_parts): the trace's events are counted once (heads
    are not events), every NETPOLL_DIAGNOSE_JOBS gives the same diagnosis, and this held-out
    confounder gets nothing above info, as it does in whole generations."""
    inp = pipeline.open_input(path)
    hlen, spans = pipeline.plan_windows(inp, PART_MB)
    split = pipeline.plan_parts(inp, spans, PART_MB)
    # the last window too when its batches frame the file to its end, the last an EndOfGeneration
    # marker (Go >= 1.26; a cut tail stays whole: below)
    last = [p.parts for p in split if p.span == spans[-1]]
    assert [(p.j, p.parts) for p in split[:2]] == [(0, 2), (1, 2)]
    assert len(last) == last[0] >= 2 if "1.27" in path.stem else last == [1]
    assert split[0].shown[1] == split[1].shown[0] and split[1].shown[1] == spans[0][1]
    assert [(p.j, p.parts) for p in pipeline.split_windows(spans, PART_MB)] == [(0, 2), (1, 2), (0, 1)]
    whole = pipeline.diagnose_trace(inp, rules(), window_mb=SMALL_MB).diagnosis
    out = {}
    for jobs in ("1", "2"):
        monkeypatch.setenv("NETPOLL_DIAGNOSE_JOBS", jobs)
        out[jobs] = pipeline.diagnose_trace(inp, rules(), window_mb=PART_MB).diagnosis
    assert out["1"].model_dump_json() == out["2"].model_dump_json()
    got = out["1"]
    assert len(got.trace.windows) == len(split)
    assert len(whole.trace.windows) == len(pipeline.plan_parts(inp, pipeline.plan_windows(inp, SMALL_MB)[1], SMALL_MB))
    assert got.trace.event_count == whole.trace.event_count
    assert sum(w.bytes for w in got.trace.windows) == sum(w.bytes for w in whole.trace.windows)
    assert "parts" in got.verdict.text
    assert not [f.rule_id for f in got.findings if f.severity != "info"]
    assert not [f.rule_id for f in whole.findings if f.severity != "info"]


@pytest.mark.parametrize("path", TWO_GENS[::3], ids=lambda p: p.stem)
def test_window_parts_hold_the_rows_once_and_restate_the_state_at_each_cut(path):
    """Parts of a window (timeline.window_parts): their rows past the heads are the window's rows
    in order, exactly once; a part's head restates each P and live goroutine as its last
    transition before the cut left it (the same walk done row by row here), and carries no
    reader facts about the file's tail unless it is the last part."""
    import numpy as np

    from diagnose.timeline import HEAD_ROWS, window_parts
    from diagnose.timeline.columns import G_NOTEXIST, K_STATE, K_SYNC, P_NOTEXIST, R_GOROUTINE, R_PROC

    inp = pipeline.open_input(path)
    hlen, spans = pipeline.plan_windows(inp, SMALL_MB)
    cols = pipeline.read_columns(inp, None, (hlen, *spans[0]))
    cols.meta.update(truncated=True, lost_bytes=7, warnings=["trace is truncated (as if)"])  # a tail's facts
    names = ("kind", "t", "g", "p", "m", "rk", "rid", "sfrom", "sto", "stk", "tstk", "s1", "val")
    for parts in (2, 3):
        got = [p.columns() for p in window_parts(cols, parts)]
        assert len(got) == parts
        for name in names:
            joined = np.concatenate([getattr(c, name)[c.meta[HEAD_ROWS]:] for c in got])
            assert np.array_equal(joined, getattr(cols, name)), name
        assert got[0].meta[HEAD_ROWS] == 0
        # the reader's facts about the file's tail stay with the last part only
        assert [(c.meta["truncated"], c.meta["lost_bytes"], "warnings" in c.meta) for c in got] == \
            [(False, 0, False)] * (parts - 1) + [(True, 7, True)]
        at = 0
        for prev, c in zip(got, got[1:]):
            at += len(prev) - prev.meta[HEAD_ROWS]  # the cut: the rows of the parts before
            last: dict[tuple[int, int], int] = {}
            for r in range(at):  # each resource's last transition before the cut
                if cols.kind[r] == K_STATE and cols.rk[r] in (R_GOROUTINE, R_PROC):
                    last[(int(cols.rk[r]), int(cols.rid[r]))] = int(cols.sto[r])
            alive = {k: v for k, v in last.items()
                     if v != (G_NOTEXIST if k[0] == R_GOROUTINE else P_NOTEXIST)}
            n = c.meta[HEAD_ROWS]
            assert n > 0 and c.kind[0] == K_SYNC and (c.t[:n] == cols.t[at]).all()
            head = {(int(c.rk[r]), int(c.rid[r])): int(c.sto[r]) for r in range(1, n) if c.kind[r] == K_STATE}
            assert alive and head == alive


def test_explain_shows_the_parts_the_diagnosis_cut(monkeypatch):
    """`explain --window K` counts the windows as the diagnosis does, parts of generations included."""
    path = str(TWO_GENS[-1])
    monkeypatch.setenv("NETPOLL_DIAGNOSE_WINDOW_MB", str(PART_MB))
    n = len(pipeline.diagnose_trace(pipeline.open_input(path), rules()).diagnosis.trace.windows)
    assert n == 4
    code, out, err = run_main_captured("explain", path, "--conns", "--window", str(n), "--format", "json")
    assert code == 0, err
    assert [(w["window"], w["windows"]) for w in json.loads(out)["windows"]] == [(n, n)]
    code, _, err = run_main_captured("explain", path, "--conns", "--window", str(n + 1))
    assert code == 2 and f"the trace has {n} windows" in err
    reads: list = []
    real = pipeline.read_columns
    monkeypatch.setattr(pipeline, "read_columns", lambda *a: (reads.append(a[2]), real(*a))[1])
    code, out, err = run_main_captured("explain", path, "-g", "8")
    assert code == 0, err
    assert out.count("== window") >= 2
    hlen, spans = pipeline.plan_windows(pipeline.open_input(path), PART_MB)  # spans[0] is cut in 2 parts
    assert reads.count((hlen, *spans[0])) == 1, "the generation in parts is read once, not once a part"


def test_column_memory_from_the_heap_gives_the_same_columns():
    """The reader kernel's columns taken from the C heap (jobs.columns_from_heap, set by the parts
    of big generations) hold what its mapped, cached blocks hold, freed either way after a switch."""
    import numpy as np

    fw = pytest.importorskip("diagnose.read._fastwire", reason="the compiled reader is not built")
    if not pipeline.kernel_available():
        pytest.skip("NETPOLL_DIAGNOSE_PURE=1: the compiled reader is not in use")
    inp = pipeline.open_input(TWO_GENS[-1])
    was = fw.set_heap_columns(False)
    try:
        mapped = pipeline.read_columns(inp)
        assert fw.set_heap_columns(True) is False
        heap = pipeline.read_columns(inp)
        fw.set_heap_columns(False)
        again = pipeline.read_columns(inp)  # a mapped read while heap blocks are alive
        for name in ("kind", "t", "g", "p", "m", "rk", "rid", "sfrom", "sto", "stk", "tstk", "s1", "val"):
            assert np.array_equal(getattr(mapped, name), getattr(heap, name)), name
            assert np.array_equal(getattr(again, name), getattr(heap, name)), name
        del mapped, heap, again  # each block freed the way it was made
        libc = _glibc_mallinfo2()
        if libc is not None:  # glibc: the heap mode's columns are malloc's (~64 bytes a row)
            def malloced() -> int:  # from the heap or mapped by malloc itself (over its threshold)
                m = libc()
                return m.uordblks + m.hblkhd

            fw.set_heap_columns(True)
            before = malloced()
            held = pipeline.read_columns(inp)
            assert malloced() - before >= 40 * len(held)
            fw.set_heap_columns(False)
            before = malloced()
            held2 = pipeline.read_columns(inp)
            assert malloced() - before < 8 * len(held2)  # mapped by the kernel: not malloc's
            del held, held2
    finally:
        fw.set_heap_columns(was)


def _glibc_mallinfo2():
    """glibc's mallinfo2 (bytes the heap has handed out: `uordblks`), or None elsewhere."""
    import ctypes
    import ctypes.util

    class Mallinfo2(ctypes.Structure):
        _fields_ = [(f, ctypes.c_size_t) for f in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]

    try:
        fn = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return None
    fn.restype = Mallinfo2
    return fn


def test_a_generation_over_the_window_that_cannot_pair_is_cut_too():
    """A generation bigger than the window but under 1.5 windows is cut as well when two of it
    would not run side by side within the default bound (`jobs.pairs`): the 189 MB benchmark trace
    regenerated with 18 generations of 10-11 MB ran them one at a time whole (4.3x Go's reader).
    The cut is a constant of the bytes; the last window (the trace's tail) and a generation within
    the window stay whole, and so does one that pairs."""
    from diagnose.jobs import PARALLEL_TOTAL, PARENT_SHARE, pairs, part_cost, window_cost

    mb = 1 << 20
    target = 7 * mb
    fits = max(n for n in range(target, 2 * target, 4096) if pairs(n))
    assert target < fits < target * 3 // 2 and not pairs(fits + 4096)
    assert 2 * window_cost(fits) <= PARALLEL_TOTAL - PARENT_SHARE
    sizes = [int(10.9e6), fits, int(10.9e6), target - mb, fits + 4096, int(10.9e6)]
    spans, at = [], 16
    for n in sizes:
        spans.append((at, at + n))
        at += n
    split = pipeline.split_windows(spans, 7.0)
    parts = {p.span: p.parts for p in split}
    assert [parts[s] for s in spans] == [2, 1, 2, 1, 2, 1]
    # two parts of a 10.9 MB generation pair within the bound
    assert 2 * part_cost(int(10.9e6), 2) <= PARALLEL_TOTAL - PARENT_SHARE
    # a window the user made bigger is not cut below its size
    assert {p.parts for p in pipeline.split_windows(spans, 12.0)} == {1}


@pytest.mark.parametrize("path", TWO_GENS[1:2], ids=lambda p: p.stem)
def test_cut_state_is_the_same_for_small_and_huge_ids(path):
    """The state carried to a cut (`cut._latest`, each goroutine's and P's last transition) is
    found in one pass over a dense array when ids are small and by sorting otherwise: both give
    the same head on a real generation (its goroutine ids shifted past the dense bound)."""
    import numpy as np

    from diagnose.timeline import cut
    from diagnose.timeline.columns import G_NOTEXIST, K_STATE, R_GOROUTINE

    inp = pipeline.open_input(path)
    hlen, spans = pipeline.plan_windows(inp, SMALL_MB)
    cols = pipeline.read_columns(inp, None, (hlen, *spans[0]))
    c = {name: getattr(cols, name) for name in cut._NAMES}
    rows = np.flatnonzero((c["kind"] == K_STATE) & (c["rk"] == R_GOROUTINE))
    assert rows.shape[0] > 10
    dense: dict = {}
    cut._latest(c, rows, dense, G_NOTEXIST)
    shift = 1 << 40
    huge = dict(c, rid=np.where(np.isin(np.arange(c["rid"].shape[0]), rows), c["rid"] + shift, c["rid"]))
    sparse: dict = {}
    cut._latest(huge, rows, sparse, G_NOTEXIST)
    rid = cut._STATUS_FROM.index("rid")
    assert dense and {k - shift: v[:rid] + (v[rid] - shift,) + v[rid + 1:] for k, v in sparse.items()} == dense
    # the reference: a walk row by row
    walk: dict = {}
    for r in rows.tolist():
        walk[int(c["rid"][r])] = int(c["sto"][r])
    assert {k: v[5] for k, v in dense.items()} == {k: v for k, v in walk.items() if v != G_NOTEXIST}


@pytest.mark.parametrize("path", TWO_GENS[2:3], ids=lambda p: p.stem)
def test_packed_columns_give_every_value_back_exactly(path):
    """Parts waiting for their turn are packed in the narrowest type that holds each column
    exactly (`cut._narrow`): a real window's columns round-trip bit for bit, and values that no
    integer type holds exactly (NaN, -0.0, fractions, beyond int32) keep the float column float."""
    import numpy as np

    from diagnose.timeline import cut

    inp = pipeline.open_input(path)
    hlen, spans = pipeline.plan_windows(inp, SMALL_MB)
    cols = pipeline.read_columns(inp, None, (hlen, *spans[0]))
    narrowed = 0
    for name in cut._NAMES:
        col = getattr(cols, name)
        dt = cut._narrow(col)
        narrowed += dt.itemsize < col.dtype.itemsize
        back = col.astype(dt).astype(col.dtype)
        assert np.array_equal(back.view(f"i{col.itemsize}"), col.view(f"i{col.itemsize}")), name
    assert narrowed >= 5
    val = cols.val.copy()
    assert cut._narrow(val).kind == "i"  # the capture's values are whole numbers
    for odd in (np.nan, -0.0, 0.5, 2.0 ** 31, -(2.0 ** 31) - 1, np.inf):
        v = val.copy()
        v[len(v) // 2] = odd
        assert cut._narrow(v) == np.float64, odd
    v = val.copy()
    v[0] = -(2.0 ** 31)
    assert cut._narrow(v) == np.int32


def test_a_cut_tail_is_kept_whole_and_a_complete_one_is_cut(tmp_path):
    """The trace's last window is cut into parts only when its batches frame the file to its end
    and the last is an EndOfGeneration marker (`read.framed_to_end`): a cut tail's rows are known
    only once read, so it stays whole -- cut mid-batch, or exactly on a batch boundary (a process
    killed between two writes), where parts of a tail holding nothing had given the merged
    diagnosis a negative duration; and a format with no marker (Go <= 1.25) keeps it whole."""
    from diagnose.read import framed_to_end, wire
    from diagnose.read.windows import _Preads

    src = TWO_GENS[-1]
    data = src.read_bytes()
    hlen, spans = generation_spans(src)
    assert framed_to_end(src, spans[-1][0]) and framed_to_end(src, spans[0][0])
    with open(src, "rb") as f:  # the batch ends of the last generation
        s = wire.Source.over(_Preads(f.fileno(), spans[-1][0], len(data) - spans[-1][0]))
        ends = []
        while s.offset < len(data) - spans[-1][0]:
            wire.skip_batch(s)
            ends.append(spans[-1][0] + s.offset)
    assert len(ends) > 3
    mid, edge = tmp_path / "mid.trace", tmp_path / "edge.trace"
    mid.write_bytes(data[:len(data) - 7])  # 7 bytes short of the end, inside a batch
    edge.write_bytes(data[:ends[len(ends) // 2]])  # on a batch boundary inside the last generation
    for cut in (mid, edge):
        assert not framed_to_end(cut, spans[-1][0]) and not framed_to_end(cut, spans[0][0])
    assert not framed_to_end(mid, mid.stat().st_size + 1) and not framed_to_end(mid, mid.stat().st_size)
    assert not framed_to_end(TWO_GENS[2], generation_spans(TWO_GENS[2])[1][-1][0])  # go1.25: no marker
    whole = pipeline.diagnose_trace(pipeline.open_input(src), rules(), window_mb=PART_MB).diagnosis
    for path, tail in ((src, 2), (mid, 1), (edge, 1)):
        inp = pipeline.open_input(path)
        _, wins = pipeline.plan_windows(inp, PART_MB)
        assert [p.parts for p in pipeline.plan_parts(inp, wins, PART_MB) if p.span == wins[-1]][0] == tail
        got = pipeline.diagnose_trace(inp, rules(), window_mb=PART_MB).diagnosis
        assert 0 < got.trace.duration_ms <= whole.trace.duration_ms + 1e-6
        assert all(0 <= w.start_ms <= w.end_ms for w in got.trace.windows)
