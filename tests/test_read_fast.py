"""The compiled reader kernel (diagnose.timeline.kernel + _fastwire) against the reference reader.

The reference is ``build_from_rows(open_trace(path).raw_events())`` plus the reader's meta -- exactly
what ``diagnose.timeline.load_columns`` computes without the kernel (``build_columns`` over the
reader's ``Event`` objects gives the same, checked below). No Go toolchain needed.

* every committed fixture trace of format >= 1.22: the same TraceColumns, array for array;
* Go's conformance cases (tests/data/go-conformance, encoded by tests/support/gotesttext.py):
  the same columns, or the same TraceError (message and offset);
* cut files (complete generations + the same warning and lost bytes) and corrupted files
  (byte edits, and edits of single event arguments: sequence numbers, ids, statuses...;
  Go's cases with events removed or duplicated): the same outcome;
* the C port of the frontier sort (Go's unstable pdqsort) puts ties where sorting.py does;
* with Go 1.27.3 present: a real trace with CPU samples, coroutine switches and experimental
  alloc/free events (which the fixture servers never produce);
* the fallback: with NETPOLL_DIAGNOSE_PURE=1, or without the compiled module (or with a C
  compiler that fails in setup.py), read_columns returns None and load_columns gives the same
  columns through the reference path.
"""
from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent

from tests.conftest import COLUMN_ARRAYS, column_differences, go_env, smallest_per_format, v2_traces  # noqa: E402
from tests.support import gotesttext as gt  # noqa: E402
from tests.support.tracelayout import event_batches, generation_layout  # noqa: E402

from diagnose.errors import TraceError  # noqa: E402
from diagnose.read import open_trace, tracev2, version, wire
from diagnose.timeline import kernel as fast  # noqa: E402
from diagnose.timeline import _reader_meta, load_columns  # noqa: E402
from diagnose.timeline.columns import build_columns, build_from_rows  # noqa: E402

needs_kernel = pytest.mark.skipif(fast._fastwire is None, reason="the compiled kernel (_fastwire) is not built "
                                  "(python setup.py build_ext --inplace)")

ARRAYS = COLUMN_ARRAYS
CONFORMANCE = sorted((REPO / "tests" / "data" / "go-conformance").glob("*.test"))
FIXTURES = v2_traces()


@pytest.fixture(autouse=True)
def _kernel_on(monkeypatch):
    monkeypatch.delenv(fast.PURE_ENV, raising=False)


def reference(path, events: bool = False) -> tuple[str, object]:
    """("ok", TraceColumns) | ("err", (message, offset)) | ("exc", text), the reference way
    (`events`: through the reader's Event objects instead of its raw rows)."""
    try:
        tr = open_trace(str(path))
        meta = {"path": str(path)}
        cols = build_columns(tr.events(), meta) if events else build_from_rows(tr.raw_events(), meta)
        cols.meta.update(_reader_meta(tr))
        return "ok", cols
    except TraceError as e:
        return "err", (e.message, e.offset)
    except Exception as e:  # noqa: BLE001 - compared, not hidden
        return "exc", f"{type(e).__name__}: {e}"


def kernel(path) -> tuple[str, object]:
    try:
        cols = fast.read_columns(str(path), {"path": str(path)})
    except TraceError as e:
        return "err", (e.message, e.offset)
    return ("none", None) if cols is None else ("ok", cols)


def differences(a, b) -> list[str]:
    return column_differences(a, b)


def assert_same_outcome(path, allow_punt: bool = False) -> str:
    k, r = kernel(path), reference(path)
    if k[0] == "none":
        # The kernel declined (e.g. a corrupt timestamp beyond int64 nanoseconds): callers then
        # use the reference, so the outcome is the reference's by construction. Allowed only
        # for corrupted input, and rarely (the callers count).
        assert allow_punt, f"kernel declined; reference gave {r[0]}: {str(r[1])[:200]}"
        return "punt"
    assert k[0] == r[0], f"kernel: {k[0]} {str(k[1])[:300]}; reference: {r[0]} {str(r[1])[:300]}"
    if k[0] == "err":
        assert k[1] == r[1]
    else:
        assert differences(k[1], r[1]) == []
    return k[0] if k[0] == "err" or not k[1].meta.get("warnings") else "warned"


# ---------------------------------------------------------------------------------------------
# Exactness
# ---------------------------------------------------------------------------------------------


@needs_kernel
@pytest.mark.parametrize("trace", FIXTURES, ids=[t[0] for t in FIXTURES])
def test_fixture_columns_identical(trace):
    _, path, _ = trace
    k, r = kernel(path), reference(path)
    assert k[0] == "ok" and r[0] == "ok", (k[0], r[0])
    assert differences(k[1], r[1]) == []
    assert len(k[1]) > 0


@needs_kernel
@pytest.mark.parametrize("case", CONFORMANCE, ids=[p.name for p in CONFORMANCE])
def test_conformance_case_identical(case, tmp_path):
    """Go's own cases: SUCCESS ones give the same columns, FAILURE ones the same error."""
    c = gt.load_case(case)
    p = tmp_path / "case.trace"
    p.write_bytes(c.trace_bytes)
    got = assert_same_outcome(p)
    assert got == ("ok" if c.expectation.success else "err")


SMALL = smallest_per_format()


@pytest.mark.parametrize("trace", SMALL, ids=[f"go1.{t[2]}" for t in SMALL])
def test_event_objects_and_raw_rows_identical(trace):
    """build_columns over the reader's Events == build_from_rows over its raw rows (what
    load_columns reads without the kernel)."""
    _, path, _ = trace
    (ek, e), (rk, r) = reference(path, events=True), reference(path)
    assert ek == rk == "ok", (ek, rk)
    assert differences(e, r) == [] and len(r) > 10


def _generations(data: bytes) -> tuple[int, list[tuple[int, int]]]:
    _ver, hlen, gens = generation_layout(data, stop_on=(wire.WireEOF, wire.WireError))
    return hlen, gens


@needs_kernel
@pytest.mark.parametrize("trace", SMALL, ids=[f"go1.{t[2]}" for t in SMALL])
def test_cut_files_identical(trace, tmp_path):
    """Cut anywhere (generation boundaries, inside batches, inside the tables): the same
    complete generations, closing Sync, warning and lost bytes -- or the same error."""
    data = trace[1].read_bytes()
    hlen, gens = _generations(data)
    cuts = {hlen - 1, hlen, hlen + 1, len(data) - 1}
    for s, e in gens:
        cuts.update({e - 1, e, e + 1, s + 2, (s + e) // 2, (3 * s + e) // 4})
    rnd = random.Random(3)
    cuts.update(rnd.randrange(hlen, len(data)) for _ in range(6))
    p = tmp_path / "cut.trace"
    seen = set()
    for cut in sorted(c for c in cuts if 0 < c < len(data)):
        p.write_bytes(data[:cut])
        seen.add(assert_same_outcome(p))
    assert "warned" in seen


def _single_byte_args(data: bytes) -> list[int]:
    """Positions of the one-byte arguments of timed events (same-length edits keep the batch sizes)."""
    out = []
    for b in event_batches(data, stop_on=(wire.WireEOF, wire.WireError))[1]:
        d, pos = b.data, 0
        while pos < len(d):
            nargs = tracev2.TIMED_NARGS[d[pos]]
            if nargs < 0:
                break
            pos += 1
            for i in range(nargs + 1):
                start = pos
                while pos < len(d) and d[pos] >= 0x80:
                    pos += 1
                pos += 1
                if i and pos - start == 1:
                    out.append(b.offset + start)
    return out


@needs_kernel
@pytest.mark.parametrize("trace", SMALL, ids=[f"go1.{t[2]}" for t in SMALL])
def test_corrupted_files_identical(trace, tmp_path):
    """Edited bytes (anywhere) and edited event arguments (sequence numbers, goroutine/proc ids,
    statuses, string/stack ids: the ordering and validation errors): the same outcome."""
    data = trace[1].read_bytes()
    hlen = version.parse_header(data[:64])[1]
    args = _single_byte_args(data)
    rnd = random.Random(trace[2])
    p = tmp_path / "bad.trace"
    outcomes = []
    for i in range(60):
        b = bytearray(data)
        if i % 3 == 0:
            pos = rnd.randrange(hlen, len(b))
            b[pos] = rnd.randrange(256)
        else:
            for _ in range(1 + i % 2):
                pos = rnd.choice(args)
                b[pos] = rnd.choice((b[pos] + 1, max(b[pos] - 1, 0), rnd.randrange(128), 0)) & 0x7F
        p.write_bytes(bytes(b))
        outcomes.append(assert_same_outcome(p, allow_punt=True))
    assert outcomes.count("err") >= 10 and outcomes.count("punt") <= 3, outcomes


@needs_kernel
def test_frontier_sort_port_matches_reference():
    """The C port of slices.SortFunc (the slow path's frontier sort: Go's pdqsort is not stable,
    so ties must land where Go -- and sorting.sort_func -- put them)."""
    from diagnose.read.batchcursor import BatchCursor
    from diagnose.read.reader import _cursor_time
    from diagnose.read.sorting import sort_func

    rnd = random.Random(5)
    for _ in range(1500):
        n = rnd.choice((2, 3, 7, 12, 13, 20, 49, 50, 51, 64, 130, 400))
        times = [rnd.randrange(rnd.choice((1, 2, 3, 10, 10**6))) for _ in range(n)]
        if rnd.random() < 0.15:
            times.sort(reverse=rnd.random() < 0.5)
        cursors = []
        for i, t in enumerate(times):
            bc = BatchCursor(i)
            bc.ev.time = t
            cursors.append(bc)
        sort_func(cursors, BatchCursor.compare, key=_cursor_time)
        assert fast._fastwire._sort_order(times) == [bc.m for bc in cursors], times


def _encode_text(text: bytes) -> bytes:
    """A trace in Go's test text format, with every EventBatch's size computed."""
    v, events = gt.parse_text_trace(text)
    events = list(events)
    out = []
    for i, e in enumerate(events):
        if e.name == "EventBatch":
            size = 0
            for f in events[i + 1:]:
                if f.name == "EventBatch":
                    break
                size += len(gt.encode_event(f))
            e = dataclasses.replace(e, args=e.args[:3] + (size,))
        out.append(e)
    return gt.encode_trace(v, out)


_M = "m=18446744073709551615 time=0 size=0"


def _gen_tables(gen: int, *strings: str) -> str:
    """A generation's frequency, (empty) stacks and strings batches in Go's test text format;
    string i+1 is strings[i]."""
    return (f"EventBatch gen={gen} {_M}\nFrequency freq=15625000\nEventBatch gen={gen} {_M}\nStacks\n"
            f"EventBatch gen={gen} {_M}\nStrings\n"
            + "".join(f'String id={i}\n\tdata="{s}"\n' for i, s in enumerate(strings, 1)))


RANGES = ("""Trace Go1.22
EventBatch gen=1 m=0 time=0 size=0
ProcStatus dt=1 p=0 pstatus=1
GoStatus dt=1 g=1 m=0 gstatus=2
GCSweepBegin dt=1 stack=0
GCMarkAssistBegin dt=1 stack=0
STWBegin dt=1 kind_string=1 stack=0
STWEnd dt=1
UserRegionBegin dt=1 task=0 name_string=2 stack=0
""" + _gen_tables(1, "GC", "region") + """EventBatch gen=2 m=0 time=5 size=0
ProcStatus dt=1 p=0 pstatus=1
GCSweepActive dt=1 p=0
GoStatus dt=1 g=1 m=0 gstatus=2
GCMarkAssistActive dt=1 g=1
GCSweepEnd dt=1 swept_value=10 reclaimed_value=5
GCMarkAssistEnd dt=1
UserRegionEnd dt=1 task=0 name_string=1 stack=0
""" + _gen_tables(2, "region")).encode()


@needs_kernel
def test_event_level_edits_identical(tmp_path):
    """Ranges active across generations (GCSweepActive, GCMarkAssistActive), STW, regions, and
    Go's conformance cases with one event removed or duplicated at a time: the same outcome
    (columns, or the same ordering error at the same offset)."""
    texts = [RANGES] + [gt.parse_txtar(p.read_bytes())[1][1][1] for p in CONFORMANCE]
    p = tmp_path / "edit.trace"
    p.write_bytes(_encode_text(RANGES))
    assert assert_same_outcome(p) == "ok"
    rnd = random.Random(9)
    outcomes = []
    for text in texts:
        lines = text.split(b"\n")
        timed = [i for i, ln in enumerate(lines) if ln.split(b" ")[0] not in
                 (b"Trace", b"EventBatch", b"Frequency", b"Stacks", b"Stack", b"Strings", b"String", b"Sync",
                  b"ClockSnapshot", b"") and not ln.startswith((b"\t", b" "))]
        for i in rnd.sample(timed, min(len(timed), 12)):
            edited = lines[:i] + lines[i + 1:] if rnd.random() < 0.7 else lines[:i + 1] + lines[i:]
            try:
                data = _encode_text(b"\n".join(edited))
            except gt.GoTextError:
                continue
            p.write_bytes(data)
            outcomes.append(assert_same_outcome(p))
    assert outcomes.count("err") >= 50 and outcomes.count("ok") >= 20, outcomes


RARE_EVENTS_PROG = REPO / "tests" / "data" / "rareevents"


@needs_kernel
@pytest.mark.gotoolchain
def test_real_trace_with_rare_events(go_oracle, tmp_path):
    """A real Go 1.27.3 trace with what the fixture servers never do -- CPU samples, coroutine
    switches, and (GODEBUG=traceallocfree=1) experimental alloc/free events: the same columns."""
    env = go_env()
    env["GOCACHE"] = str(tmp_path / "gocache")
    subprocess.run([str(go_oracle), "build", "-o", str(tmp_path / "features"), "."], cwd=RARE_EVENTS_PROG, env=env,
                   check=True, capture_output=True, timeout=900)
    seen = set()
    for godebug in ("", "traceallocfree=1"):
        trace = tmp_path / f"features{godebug[:5]}.trace"
        subprocess.run([str(tmp_path / "features"), str(trace)], env={**env, "GODEBUG": godebug}, check=True,
                       timeout=120)
        k, r = kernel(trace), reference(trace)
        assert k[0] == r[0] == "ok", (k, r)
        assert differences(k[1], r[1]) == []
        seen.update(int(x) for x in np.unique(k[1].kind))
        n_sync = int((k[1].kind == 1).sum())
        assert n_sync >= 3, n_sync
    assert {4, 14} <= seen  # StackSample (CPU samples), Experimental (alloc/free)


# ---------------------------------------------------------------------------------------------
# Fallback and dispatch
# ---------------------------------------------------------------------------------------------


def _a_fixture() -> Path:
    if not FIXTURES:
        pytest.skip("no fixture traces")
    return min((t[1] for t in FIXTURES if t[2] == 26), key=lambda p: p.stat().st_size, default=FIXTURES[0][1])


def test_pure_env_disables_the_kernel(monkeypatch):
    path = _a_fixture()
    monkeypatch.setenv(fast.PURE_ENV, "1")
    assert not fast.kernel_available()
    assert fast.read_columns(path) is None
    assert fast.count_events(path) is None
    monkeypatch.setenv(fast.PURE_ENV, "0")
    assert fast.kernel_available() == (fast._fastwire is not None)


@needs_kernel
def test_pure_path_gives_identical_columns(monkeypatch):
    """load_columns with the kernel and with NETPOLL_DIAGNOSE_PURE=1 (the reference): the same."""
    path = _a_fixture()
    with_kernel = load_columns(path)
    monkeypatch.setenv(fast.PURE_ENV, "1")
    pure = load_columns(path)
    assert differences(with_kernel, pure) == []


def test_without_compiled_module(monkeypatch):
    """An install without a C compiler: no _fastwire, the reference path, same columns."""
    path = _a_fixture()
    monkeypatch.setattr(fast, "_fastwire", None)
    assert not fast.kernel_available()
    assert fast.read_columns(path) is None
    cols = load_columns(path)
    _, ref = reference(path)
    assert differences(cols, ref) == []


@needs_kernel
def test_load_columns_uses_the_kernel(monkeypatch):
    import diagnose.timeline as tl

    path = _a_fixture()

    def no_reference(*a, **k):
        raise AssertionError("the reference path was used")

    monkeypatch.setattr(tl, "_columns_from_reader", no_reference)
    cols = load_columns(path)
    assert len(cols) > 0 and cols.meta["path"] == str(path)


@needs_kernel
def test_bad_header_same_error(tmp_path):
    """A file that is not a trace or a missing file: the same TraceError as the reference path.
    (Old formats have their own kernel: tests/test_read_fast_v1.py.)"""
    p = tmp_path / "garbage.trace"
    p.write_bytes(b"not a trace at all")
    assert kernel(p) == reference(p) == ("err", ("bad file format: not a Go execution trace?", 0))
    p.write_bytes(b"go 1.99 trace\x00\x00\x00")
    assert kernel(p) == reference(p)
    assert kernel(tmp_path / "missing.trace")[0] == reference(tmp_path / "missing.trace")[0] == "err"


def test_build_without_a_compiler_does_not_fail(tmp_path):
    """setup.py's optional kernel: a failing C compiler leaves a pure-Python install, not an
    error (pip install works without a compiler)."""
    r = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--build-lib", str(tmp_path / "lib"),
                        "--build-temp", str(tmp_path / "tmp")], cwd=REPO, capture_output=True, text=True,
                       env={**os.environ, "CC": "false", "LDSHARED": "false"}, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "using pure Python" in r.stdout + r.stderr
    assert not list((tmp_path / "lib").rglob("_fastwire*")) and not list((tmp_path / "lib").rglob("_fastscan*"))


@needs_kernel
def test_count_events_matches_rows():
    path = _a_fixture()
    assert fast.count_events(path) == len(fast.read_columns(path))


def test_kernel_constants_come_from_python():
    """_fastwire.c takes every shared constant from the generated header; the committed header is
    what tools/gen_fastwire_header.py writes from the Python definitions today."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_fastwire_header", REPO / "tools" / "gen_fastwire_header.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.HEADER.read_text() == gen.render(), "run python3 tools/gen_fastwire_header.py"
    c_src = (REPO / "diagnose" / "read" / "_fastwire.c").read_text()
    assert '#include "_fastwire_tables.h"' in c_src
    for copied in ("EvGoStatus = 25", "GS_Runnable = 2", "K_STATE = 13", "ST_PUNT = 2"):
        assert copied not in c_src, f"hand-copied constant in _fastwire.c: {copied}"


@needs_kernel
@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="resident memory is read from /proc/self/statm")
def test_column_memory_is_kept_for_the_next_read_until_released():
    """A window's column memory outlives its columns, for the next engine (no fresh page faults
    for every window), until release_columns() gives it back; a read that reuses it gives the
    same columns as the first."""
    import gc

    def resident() -> int:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    path = REPO / "fixtures" / "traces" / "syscallstorm-sse-flush8-go1.27.3.trace"
    was = fast._fastwire.set_heap_columns(False)  # mapped columns (a diagnosis in parts takes the heap's)
    try:
        _kept_until_released(path, resident)
    finally:
        fast._fastwire.set_heap_columns(was)


def _kept_until_released(path: Path, resident) -> None:
    import gc

    fast._fastwire.release_columns()
    first = fast.read_columns(path)
    column_bytes = sum(getattr(first, name).nbytes for name in ARRAYS[:13])
    second = fast.read_columns(path)  # the first one's memory is still in use: fresh pages
    for name in ARRAYS:
        assert np.array_equal(getattr(first, name), getattr(second, name)), name
    del second
    gc.collect()
    third = fast.read_columns(path)  # the second one's memory, reused
    for name in ARRAYS:
        assert np.array_equal(getattr(first, name), getattr(third, name)), name
    del first, third
    gc.collect()
    held = resident()
    fast._fastwire.release_columns()
    assert held - resident() >= column_bytes * 3 // 4
