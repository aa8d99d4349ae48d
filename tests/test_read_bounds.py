"""Worst-case valid traces (tools/gen_hostile.py, small versions under tests/data/hostile/):
both readers read them alike, and the limits that keep a 10 MB file under 1 GB -- the threads
a generation may hold, the analysis memory budget -- refuse in one line (exit 2).

Time and memory are measured by ``benchmarks/bench_hostile.py --generate 10 --commands all``,
not asserted here."""
from __future__ import annotations

from pathlib import Path

import pytest

from diagnose import budget
from diagnose.errors import TraceError
from diagnose.read import generation
from diagnose.timeline import load_columns
from diagnose.timeline.kernel import kernel_available, read_columns
from tests.support.cli import run_main_captured
from tools import fuzz, gen_hostile

REPO = Path(__file__).resolve().parent.parent
HOSTILE = REPO / "tests" / "data" / "hostile"
QUAD_4000 = REPO / "tests" / "data" / "repro" / "quad-frontier-4000.trace"
#: committed file -> (kind, bytes, threads per generation) it was generated with
SMALL = {"dense-60k.trace": ("dense", 60_000, 99_000), "goroutines-60k.trace": ("goroutines", 60_000, 99_000),
         "stacks-60k.trace": ("stacks", 60_000, 99_000), "quad-60k.trace": ("quad", 60_000, 800)}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_generator_makes_the_committed_files(name):
    kind, size, threads = SMALL[name]
    assert gen_hostile.generate(kind, size, threads=threads) == (HOSTILE / name).read_bytes()


@pytest.mark.parametrize("name", sorted(SMALL))
def test_both_readers_give_the_same_columns(name, tmp_path):
    if not kernel_available():
        pytest.skip("the compiled kernel is not built (no C compiler at install)")
    cols = read_columns(str(HOSTILE / name))
    assert cols is not None and len(cols) > 2000  # the kernel reads it itself (no punt)
    fuzz.Target(tmp_path)((HOSTILE / name).read_bytes())  # and the pure reader agrees


def _error(fn, *args) -> TraceError:
    with pytest.raises(TraceError) as ei:
        fn(*args)
    return ei.value


def test_too_many_threads_in_a_generation_is_refused_by_both_readers(monkeypatch):
    if not kernel_available():
        pytest.skip("the compiled kernel is not built (no C compiler at install)")
    monkeypatch.setattr(generation, "MAX_THREADS_PER_GENERATION", 1000)
    k = _error(read_columns, str(QUAD_4000))
    monkeypatch.setenv("NETPOLL_DIAGNOSE_PURE", "1")
    p = _error(load_columns, str(QUAD_4000))
    assert (k.message, k.offset) == (p.message, p.offset)
    assert k.message.startswith("more than 1,000 threads in generation 1") and k.offset is not None


@pytest.mark.parametrize("pure", [False, True], ids=["kernel", "pure"])
@pytest.mark.parametrize("args", [("{t}", "-f", "json"), ("features", "{t}"), ("diff", "{t}", "{t}")],
                         ids=["main", "features", "diff"])
def test_analysis_over_the_memory_budget_is_one_line_exit_2(args, pure, monkeypatch):
    trace = str(HOSTILE / "goroutines-60k.trace")  # ~6,700 goroutines: ~15 MB by the estimate
    monkeypatch.setenv(budget.BUDGET_ENV, "5")
    if pure:
        monkeypatch.setenv("NETPOLL_DIAGNOSE_PURE", "1")
    code, out, err = run_main_captured(*(a.format(t=trace) for a in args))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert "goroutines-60k.trace" in err and "over the memory budget of 5 MiB" in err and "6,7" in err


def test_memory_budget_comes_from_the_variable_the_address_space_limit_or_the_size(monkeypatch):
    from diagnose.errors import UsageError

    inf = budget.resource.RLIM_INFINITY
    monkeypatch.setattr(budget.resource, "getrlimit", lambda _r: (inf, inf))
    assert budget.budget(9_000_000, env={}) == budget.DEFAULT_BASE  # any file under 10 MB
    assert budget.budget(100 << 20, env={}) == budget.DEFAULT_PER_BYTE * (100 << 20)
    monkeypatch.setattr(budget.resource, "getrlimit", lambda _r: (2 << 30, inf))  # --max-memory 2048, the bot
    assert budget.budget(9_000_000, env={}) == int((2 << 30) * budget.RLIMIT_SHARE)
    assert budget.budget(9_000_000, env={budget.BUDGET_ENV: "300"}) == 300 << 20
    assert budget.budget(9_000_000, env={budget.BUDGET_ENV: "0"}) is None
    with pytest.raises(UsageError):
        budget.budget(9_000_000, env={budget.BUDGET_ENV: "lots"})


def test_estimate_counts_what_the_trace_holds():
    c = budget.counts(load_columns(str(HOSTILE / "stacks-60k.trace")))
    assert c["goroutines"] > 1000 and c["stacks"] > 1000 and c["threads"] < 10
    assert budget.estimate(c) > budget.PER_GOROUTINE * c["goroutines"]


@pytest.mark.parametrize("path", [HOSTILE / "stacks-60k.trace", REPO / "fixtures" / "traces" / "healthy-heavy-go1.27.3.trace"],
                         ids=lambda p: p.name)
def test_budget_check_counts_only_when_the_bounds_do_not_fit(path, monkeypatch):
    """The cheap bounds (`upper_counts`) are never below the distinct counts, and a trace is
    refused exactly when its counted estimate is over the budget, whatever the bounds say."""
    from diagnose.errors import TraceError

    cols = load_columns(str(path))
    exact, upper = budget.counts(cols), budget.upper_counts(cols)
    assert all(upper[k] >= exact[k] for k in exact)
    need = budget.estimate(exact)
    assert budget.estimate(upper) > need  # the counted path is exercised below
    monkeypatch.setattr(budget, "budget", lambda size, env=None: need)
    budget.check(cols, 1, "t")
    monkeypatch.setattr(budget, "budget", lambda size, env=None: need - 1)
    with pytest.raises(TraceError, match="would take about"):
        budget.check(cols, 1, "t")


@pytest.mark.parametrize("name", ["gomaxprocs-procs1-burst-go1.19.8.trace", "syscallstorm-sse-flush8-go1.21.13.trace",
                                  "healthy-tls-h2-go1.21.13.trace", "fdreuse-control-close-go1.19.8.trace"])
def test_old_format_parked_merge_gives_the_same_events(name, monkeypatch):
    """Old formats: the merge parks blocked Ps past its budget (read/v1/parser.py); from the first
    event on, a real trace's events come out exactly as with Go's scan."""
    from diagnose.read import open_trace
    from diagnose.read.v1 import parser

    def events() -> list[str]:
        with open_trace(REPO / "fixtures" / "traces" / name) as tr:
            return [str(e) for e in tr.events()]

    expected = events()
    monkeypatch.setattr(parser, "MERGE_BUDGET_BASE", -1)
    monkeypatch.setattr(parser, "MERGE_BUDGET_PER_EVENT", 0)
    assert events() == expected and len(expected) > 1000


# --- the event limit (read/eventcap.py) -------------------------------------------------------

def test_event_limit_is_the_same_error_from_both_readers(monkeypatch, tmp_path):
    monkeypatch.setenv("NETPOLL_DIAGNOSE_MAX_EVENTS", "5000")  # dense-60k holds 20,519
    path = str(HOSTILE / "dense-60k.trace")
    if kernel_available():
        assert _error(read_columns, path).message.startswith("more than 5,000 events in 59,987 bytes")
        fuzz.Target(tmp_path)((HOSTILE / "dense-60k.trace").read_bytes())  # pure: the same error
    monkeypatch.setenv("NETPOLL_DIAGNOSE_PURE", "1")
    e = _error(load_columns, path)
    assert e.message.startswith("more than 5,000 events") and e.offset is None


def test_event_limit_applies_to_old_formats(monkeypatch):
    monkeypatch.setenv("NETPOLL_DIAGNOSE_MAX_EVENTS", "100")
    e = _error(load_columns, str(REPO / "fixtures" / "traces" / "healthy-light-go1.19.8.trace"))
    assert e.message.startswith("more than 100 events")


def test_default_event_limit_leaves_real_traces_room():
    from diagnose.read import eventcap

    assert eventcap.max_events(10_000_000, env={}) == 3_000_000  # the densest fixture: 0.264 a byte
    assert eventcap.max_events(53_000_000, env={}) > 11_400_000  # the 53 MB benchmark trace's events
    assert eventcap.max_events(10_000_000, env={"NETPOLL_DIAGNOSE_MAX_EVENTS": "0"}) is None


@pytest.mark.parametrize("cmd", ["dump", "inspect"])
def test_dump_and_inspect_refuse_before_printing(cmd, monkeypatch):
    if not kernel_available():
        pytest.skip("the early count needs the compiled kernel (without it the reader stops at the limit)")
    monkeypatch.setenv("NETPOLL_DIAGNOSE_MAX_EVENTS", "5000")
    code, out, err = run_main_captured(cmd, str(HOSTILE / "dense-60k.trace"))
    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1 and "more than 5,000 events" in err


def test_default_event_limit_never_refuses_an_old_format_trace():
    # old-format events are denser than new-format ones (a real 11 MB go1.21 `busy` trace holds
    # 0.30 events a byte, past the new formats' 0.3 cap): by default only the format's own
    # ceiling (an event is at least 2 bytes) limits them
    from diagnose.read import eventcap, open_trace

    path = REPO / "fixtures" / "traces" / "healthy-light-go1.19.8.trace"
    size = path.stat().st_size
    with open_trace(str(path)) as tr:
        n = sum(1 for _ in tr.events())
    assert eventcap.max_events(size, env={}, old_format=True) >= max(size // 2, eventcap.MAX_EVENTS_BASE) >= n
    assert eventcap.max_events(11_185_494, env={}, old_format=True) > 3_357_378  # that go1.21 trace
    assert eventcap.max_events(11_185_494, env={}) < 3_357_378  # what refused it before


def test_whole_trace_too_big_for_the_machine_is_refused_before_reading(monkeypatch, tmp_path):
    """A trace analysed whole (features, profile, explain) that the machine cannot hold: one line,
    exit 2, before any column is read; the same trace is fine when memory is there."""
    from diagnose import budget
    from tests.support.cli import run_main_captured

    trace = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "traces").glob("healthy-heavy-go1.27*.trace"))[0]
    monkeypatch.delenv("NETPOLL_DIAGNOSE_MEMORY_BUDGET", raising=False)
    assert 55 * trace.stat().st_size > 1 << 20
    # a machine scaled down to the trace: a 1 KiB floor, 10 x the trace's size available
    size = trace.stat().st_size
    monkeypatch.setattr(budget, "DEFAULT_BASE", 1 << 10)
    monkeypatch.setattr(budget, "available_memory", lambda: 10 * size)
    for cmd in (["features", str(trace)], ["profile", str(trace), "-o", str(tmp_path / "p.pb.gz")]):
        code, out, err = run_main_captured(*cmd)
        assert code == 2 and len(err.strip().splitlines()) == 1, (cmd, err)
        assert f"over the memory budget of {budget._size(8 * size)}" in err and trace.name in err
    assert not (tmp_path / "p.pb.gz").exists()
    monkeypatch.setattr(budget, "available_memory", lambda: 64 << 30)  # memory is there: read
    code, out, err = run_main_captured("features", str(trace))
    assert code == 0, err
    monkeypatch.setenv("NETPOLL_DIAGNOSE_MEMORY_BUDGET", "1")  # an explicit budget is a real limit too
    code, out, err = run_main_captured("features", str(trace))
    assert code == 2 and "over the memory budget of 1 MiB" in err, err


def test_size_scaled_default_does_not_refuse_a_real_old_format_trace(monkeypatch):
    """The default budget (64 x size) is not held against the size estimate: an old-format trace
    (~72 B a byte) is read when the machine has the memory."""
    from diagnose import budget

    monkeypatch.delenv("NETPOLL_DIAGNOSE_MEMORY_BUDGET", raising=False)
    monkeypatch.setattr(budget, "available_memory", lambda: 64 << 30)
    monkeypatch.setattr(budget.resource, "getrlimit", lambda _r: (budget.resource.RLIM_INFINITY,) * 2)
    budget.check_whole_read(11_200_000, "t", old_format=True)  # 800 MiB needed, 700 MiB default: read
    monkeypatch.setenv("NETPOLL_DIAGNOSE_MEMORY_BUDGET", "700")  # a real limit: refused before reading
    with pytest.raises(TraceError):
        budget.check_whole_read(11_200_000, "t", old_format=True)
