"""Hostile input at the reader: every reproducer of the reliability issue, the fuzzer's finds,
and the bounds (memory from what the file holds, linear ordering work).

Inputs: ``tests/data/repro/`` (fixture traces damaged by a fuzzer or by hand; its README says
how each was made) and ``tests/data/fuzz/`` (inputs ``tools/fuzz.py`` found). Each must give a
clean result or a one-line ``TraceError`` with an offset, the kernel and the pure-Python path
must agree, and a damaged trace must say what it lacks (``incomplete``) rather than read as
whole.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from diagnose.errors import TraceError
from diagnose.features import extract
from diagnose.read import open_trace
from diagnose.read import frontier as frontier_mod
from diagnose.read import reader as reader_mod
from diagnose.timeline.kernel import kernel_available, read_columns
from diagnose.timeline import load_columns

REPO = Path(__file__).resolve().parent.parent
REPRO = REPO / "tests" / "data" / "repro"
FUZZ = REPO / "tests" / "data" / "fuzz"
TRACES = REPO / "fixtures" / "traces"


def _pure_events(path) -> list[str]:
    with open_trace(path) as tr:
        return [str(e) for e in tr.events()]


def _error(fn, *args) -> TraceError:
    with pytest.raises(TraceError) as ei:
        fn(*args)
    return ei.value


@pytest.fixture
def pure(monkeypatch):
    monkeypatch.setenv("NETPOLL_DIAGNOSE_PURE", "1")


# --- our bugs dressed as bad input: rejected by the reader, with the offset ---------------------

@pytest.mark.parametrize("name,offset", [("v2-freq-1.trace", 16), ("v2-overflow-batch-ts.trace", 186328)])
def test_event_time_past_int64_is_rejected_at_its_bytes(name, offset, pure):
    e = _error(_pure_events, REPRO / name)
    assert e.offset == offset
    assert "out of range" in e.message and "\n" not in e.one_line()


@pytest.mark.parametrize("name", ["v2-freq-1.trace", "v2-overflow-batch-ts.trace"])
def test_event_time_past_int64_same_error_through_the_kernel(name):
    ours = _error(load_columns, str(REPRO / name))  # kernel when built (it defers to the reference here)
    os.environ["NETPOLL_DIAGNOSE_PURE"] = "1"
    try:
        ref = _error(load_columns, str(REPRO / name))
    finally:
        del os.environ["NETPOLL_DIAGNOSE_PURE"]
    assert (ours.message, ours.offset) == (ref.message, ref.offset)


def test_old_format_frame_name_missing_from_string_table_is_rejected():
    e = _error(load_columns, str(REPRO / "v1-keyerror-stringtable.trace"))
    assert e.offset == 24777
    assert e.message == "found invalid func string ID 9691 for stack frame at pc 0x982506"


# --- damage never reads as whole --------------------------------------------------------------

def _verdict(path):
    from diagnose.rules import diagnose, load_ruleset

    d = diagnose(extract(str(path)), load_ruleset())
    return d.verdict, sorted(f.rule_id for f in d.findings), d.rules.errors


def test_non_utf8_function_name_gives_the_original_verdict():
    damaged = _verdict(REPRO / "example-nonutf8-funcname.trace")
    original = _verdict(REPO / "fixtures" / "examples" / "example.trace")
    assert damaged[2] == [] and original[2] == []
    assert damaged[:2] == original[:2] and original[1]  # the original has findings: they survive the byte
    cols = load_columns(str(REPRO / "example-nonutf8-funcname.trace"))
    assert "main\ufffdburn" in cols.strings
    "".join(cols.strings).encode("utf-8")  # every string is text (surrogates would raise)


def test_old_trace_cut_in_its_stack_table_says_stacks_are_lost():
    f = extract(str(REPRO / "trunc-632.trace"))
    assert len(f.trace.incomplete) == 1 and f.trace.incomplete[0].startswith("stacks lost: 931 ")
    assert extract(str(TRACES / "gomaxprocs-procs1-burn-go1.19.8.trace")).trace.incomplete == []


@pytest.mark.parametrize("fixture", ["healthy-light-go1.22.10.trace", "healthy-light-go1.24.11.trace",
                                     "healthy-light-go1.25.5.trace", "healthy-light-go1.27.3.trace", None])
def test_header_only_trace_has_no_complete_generation(fixture, tmp_path):
    if fixture is None:
        path = REPRO / "hdr-only-126.trace"
    else:
        path = tmp_path / fixture
        path.write_bytes((TRACES / fixture).read_bytes()[:16])  # a real header, nothing after it
    for pure_path in (False, True):
        os.environ["NETPOLL_DIAGNOSE_PURE"] = "1" if pure_path else ""
        try:
            inc = extract(str(path)).trace.incomplete
        finally:
            del os.environ["NETPOLL_DIAGNOSE_PURE"]
        assert len(inc) == 1 and inc[0].startswith("no complete generation"), (pure_path, inc)


def test_whole_traces_are_not_incomplete():
    for name in ("healthy-light-go1.27.3.trace", "healthy-light-go1.21.13.trace"):
        with open_trace(TRACES / name) as tr:
            for _ in tr.events():
                pass
            assert tr.incomplete == []


# --- bounded time: the crafted frontier -------------------------------------------------------

@pytest.mark.parametrize("name,events", [("quad-frontier-4000.trace", 12003), ("quad-frontier-41000.trace", 123003)])
def test_crafted_frontier_reads_every_event(name, events, pure, monkeypatch):
    # Go's algorithm took 11 s / hours here (bench_hostile.py has the figures); now linear.
    monkeypatch.setenv("NETPOLL_DIAGNOSE_MAX_EVENTS", "0")  # the larger holds more batches than allowed
    assert len(load_columns(str(REPRO / name))) == events


def test_crafted_frontier_of_tiny_batches_is_refused_at_a_batch(pure):
    e = _error(load_columns, str(REPRO / "quad-frontier-41000.trace"))
    assert e.message.startswith("more than 19,755 batches in 975,529 bytes") and e.offset is not None


def test_kernel_orders_the_crafted_frontier_itself(tmp_path):
    """The kernel parks blocked heads as frontier.py does (it used to punt to Python here)."""
    if not kernel_available():
        pytest.skip("the compiled kernel is not built (no C compiler at install)")
    from tools import fuzz

    cols = read_columns(str(REPRO / "quad-frontier-4000.trace"))
    assert cols is not None and len(cols) == 12003
    fuzz.Target(tmp_path)((REPRO / "quad-frontier-4000.trace").read_bytes())  # same columns as pure


#: Go's conformance cases and fixtures whose ordering enters the slow path (the parked frontier
#: then takes over from its first entry, below).
SLOW_PATH_CASES = ("go122-confuse-seq-across-generations.test", "go122-syscall-steal-proc-ambiguous.test",
                   "go122-syscall-steal-proc-reacquire-new-proc-bare-m.test",
                   "go122-syscall-steal-proc-reacquire-new-proc.test", "go122-syscall-steal-proc-simple-bare-m.test")
SLOW_PATH_FIXTURES = ("customlistener-blocking-procs1-go1.22.10.trace", "healthy-tls-h2-go1.22.10.trace",
                      "gomaxprocs-procs1-burst-go1.22.10.trace", "syscallstorm-chunked-flush16-go1.24.11.trace")


def _slow_path_inputs():
    from tests.support import gotesttext as gt

    conf = REPO / "tests" / "data" / "go-conformance"
    return ([pytest.param(gt.load_case(conf / n).trace_bytes, id=n) for n in SLOW_PATH_CASES]
            + [pytest.param(TRACES / n, id=n) for n in SLOW_PATH_FIXTURES])


@pytest.mark.parametrize("data", _slow_path_inputs())
def test_parked_frontier_gives_gos_order(data, monkeypatch, pure):
    """BlockedFrontier from the first slow-path entry on: the same events as Go's algorithm."""
    expected = _pure_events(data)
    used = []

    class Recording(frontier_mod.BlockedFrontier):
        def __init__(self, *a) -> None:
            used.append(1)
            super().__init__(*a)

    monkeypatch.setattr(reader_mod, "slow_budget", lambda batches: -1)
    monkeypatch.setattr(reader_mod, "BlockedFrontier", Recording)
    assert _pure_events(data) == expected
    assert used, "the parked frontier never took over: this input no longer exercises it"


def _conformance_cases():
    conf = REPO / "tests" / "data" / "go-conformance"
    return [pytest.param(p, id=p.name) for p in sorted(conf.glob("go12*.test"))]


@pytest.mark.parametrize("case", _conformance_cases() + [pytest.param(TRACES / n, id=n) for n in SLOW_PATH_FIXTURES])
def test_kernel_parked_frontier_matches_the_reference(case, monkeypatch, tmp_path):
    """Both paths with the parked frontier from the first slow-path entry: the same columns,
    or the same error at the same offset (Go's conformance cases include broken orderings)."""
    if not kernel_available():
        pytest.skip("the compiled kernel is not built (no C compiler at install)")
    from diagnose.read import _fastwire
    from tests.support import gotesttext as gt
    from tools import fuzz

    data = gt.load_case(case).trace_bytes if case.suffix == ".test" else case.read_bytes()
    monkeypatch.setattr(reader_mod, "slow_budget", lambda batches: -1)
    _fastwire._set_slow_budget(-1, 0)
    try:
        fuzz.Target(tmp_path)(data)
    finally:
        _fastwire._set_slow_budget(frontier_mod.SLOW_BUDGET_BASE, frontier_mod.SLOW_BUDGET_PER_BYTE)


# --- bounded memory: a huge file fails on its first bytes -------------------------------------

_CHILD = """
import sys
from diagnose.errors import TraceError
entry, path = sys.argv[1], sys.argv[2]
try:
    if entry == "open_trace":
        from diagnose.read import open_trace
        for _ in open_trace(path).events():
            pass
    else:
        from diagnose.timeline import load_columns
        load_columns(path)
except TraceError as e:
    print(e.offset, e.message)
# this process's own peak (VmHWM belongs to the address space exec made; the rusage of a child
# forked from a large test process carries the parent's peak across exec)
print([ln.split()[1] for ln in open("/proc/self/status") if ln.startswith("VmHWM:")][0])
"""


@pytest.mark.parametrize("fixture", ["healthy-light-go1.21.13.trace", "healthy-light-go1.22.10.trace",
                                     "healthy-light-go1.27.3.trace"])
@pytest.mark.parametrize("entry", ["open_trace", "load_columns"])
def test_sparse_2gb_file_fails_on_its_first_bytes_in_little_memory(fixture, entry, tmp_path):
    if "asan" in os.environ.get("LD_PRELOAD", ""):
        pytest.skip("under AddressSanitizer (tools/sanitize.py) peak RSS counts its shadow memory, not ours")
    path = tmp_path / "sparse.trace"
    with open(path, "wb") as f:  # a real header, then 2 GB of zeros that take no disk
        f.write((TRACES / fixture).read_bytes()[:16])
        f.truncate(2 << 30)
    p = subprocess.Popen([sys.executable, "-c", _CHILD, entry, str(path)], stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "NETPOLL_DIAGNOSE_PURE": "1" if entry == "open_trace" else ""})
    out = p.stdout.read()
    assert p.wait() == 0 and out.startswith("16 "), out
    peak_kb = int(out.strip().splitlines()[-1])
    assert peak_kb < 300 * 1024, f"peak RSS {peak_kb // 1024} MB"  # it was 4.1 GB


# --- every reproducer and every fuzzer find: both paths agree, no crash ------------------------

def _inputs():
    return [pytest.param(p, id=f"{p.parent.name}/{p.name}") for d in (REPRO, FUZZ) if d.is_dir()
            for p in sorted(d.iterdir()) if p.is_file() and p.name != "README.md"]


@pytest.mark.parametrize("path", _inputs())
def test_reader_paths_agree_and_name_bad_bytes(path, tmp_path):
    from tools import fuzz  # its target is the check

    fuzz.Target(tmp_path)(path.read_bytes())
