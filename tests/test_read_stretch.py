"""The pure reader's hot loop (`Reader.iter_raw_chunks`) against Go's ReadEvent step by step
(`Reader.read_event`, the plain port of reader.go).

The loop advances stretches of the head cursor's commonest events (syscall begin/end, user
region begin/end, HeapAlloc, GoUnblock, GC sweep begin/end)
itself, with order.py's checks written out, and hands anything
else -- or any of those that would fail a check -- to order.py's handler. These tests hold it to
the reference on real traces of the `busy` load generator (syscalls and user regions on every
request: fixtures/traces/reader/, `tools/regen_fixtures.py --reader-busy`), also with bytes
edited at random, and check that the stretch is what advances those events.
"""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from diagnose.read import tracev2 as t2
from diagnose.read import version, wire
from diagnose.read.order import Ordering
from diagnose.read.reader import ReadError, Reader
from diagnose.read.wirevec import SPAN_BYTES

REPO = Path(__file__).resolve().parent.parent
BUSY = sorted((REPO / "fixtures" / "traces" / "reader").glob("busy-small-*.trace"))
#: traces of other programs: a syscall storm (writes of 8 bytes, no regions), GC pressure (sweeps)
STORM = REPO / "fixtures" / "traces" / "syscallstorm-sse-flush8-go1.27.3.trace"
GC = REPO / "fixtures" / "traces" / "gcpressure-small-allocs-go1.27.3.trace"
STRETCH = {t2.EvGoSyscallBegin: "advance_go_syscall_begin", t2.EvGoSyscallEnd: "advance_go_syscall_end",
           t2.EvUserRegionBegin: "advance_user_region_begin", t2.EvUserRegionEnd: "advance_user_region_end",
           t2.EvHeapAlloc: "advance_heap_metric", t2.EvGoUnblock: "advance_go_unblock",
           t2.EvGCSweepBegin: "advance_gc_sweep_begin", t2.EvGCSweepEnd: "advance_gc_sweep_end"}


def _reader(data: bytes) -> Reader:
    ver, hlen = version.parse_header(data[:64])
    src = wire.Source(data)
    src.skip(hlen)
    return Reader(src, ver)


def _key(row: tuple) -> tuple:
    """A row without its table (an object of each reader): what Go's parser would print."""
    return (row[1], row[2], row[3], row[4], row[5], tuple(row[6]))


def _reference(data: bytes, offsets: list | None = None) -> tuple[list[tuple], tuple[str, int | None] | None]:
    """(rows, error) of read_event() called until EOF or a ReadError; `offsets` gets the
    reader's last_offset (where an error would point) after each event."""
    r = _reader(data)
    rows = []
    while True:
        try:
            e = r.read_event()
        except EOFError:
            return rows, None
        except ReadError as err:
            return rows, (err.message, err.offset)
        rows.append(_key((e.table, e.g, e.p, e.m, e.typ, e.time, e.args)))
        if offsets is not None:
            offsets.append(r.last_offset)


def _chunked(data: bytes, size: int = 4096, offsets: dict | None = None
             ) -> tuple[list[tuple], tuple[str, int | None] | None]:
    """(rows, error) of iter_raw_chunks(size); `offsets` gets the reader's last_offset after
    each chunk, by the number of rows so far."""
    r = _reader(data)
    rows = []
    try:
        for chunk in r.iter_raw_chunks(size):
            if offsets is not None:
                offsets[len(rows) + len(chunk)] = r.last_offset
            # past `size` by less than one stretch: the rest of a decoded span (2+ bytes an event)
            assert 0 < len(chunk) < size + SPAN_BYTES // 2
            rows.extend(_key(row) for row in chunk)
    except ReadError as err:
        return rows, (err.message, err.offset)
    return rows, None


def test_stretch_kinds_are_dispatched_to_the_handlers_it_writes_out():
    """The stretch copies these handlers' checks: order.py must still dispatch each kind to them."""
    for ver in (22, 23, 25, 26):
        d = Ordering(ver)._dispatch
        assert {k: d[k].__func__.__name__ for k in STRETCH} == STRETCH


@pytest.mark.parametrize("path", BUSY or [None], ids=[p.name for p in BUSY] or ["none"])
def test_chunks_equal_read_event_and_the_stretch_advances_most(path, monkeypatch):
    if path is None:
        pytest.skip("no busy reader trace (tools/regen_fixtures.py --reader-busy)")
    data = path.read_bytes()
    want_offsets: list[int] = []
    want, err = _reference(data, want_offsets)
    assert err is None and len(want) > 10_000
    calls = {k: 0 for k in STRETCH}
    for k, name in STRETCH.items():
        f = getattr(Ordering, name)

        def counted(self, ev, *a, _f=f, _k=k):
            calls[_k] += 1
            return _f(self, ev, *a)
        monkeypatch.setattr(Ordering, name, counted)
    for size in (4096, 7):
        offsets: dict[int, int] = {}
        got, err = _chunked(data, size, offsets)
        assert err is None and got == want
        # where an error would point at each chunk's end: the event advanced last, as in Go's
        # ReadEvent (a CPU sample's time error reports it)
        assert {n: o for n, o in offsets.items()} == {n: want_offsets[n - 1] for n in offsets}
    monkeypatch.undo()
    seen = {k: sum(1 for row in want if row[3] == k) for k in STRETCH}
    assert seen[t2.EvGoSyscallBegin] > 1000 and seen[t2.EvUserRegionBegin] > 1000, seen
    for k in STRETCH:  # (two passes above: 4096 and 7)
        assert calls[k] <= 0.2 * 2 * seen[k], (t2.SPECS[k].name, calls[k], seen[k])


@pytest.mark.parametrize("path", [*BUSY, STORM, GC], ids=[p.name for p in [*BUSY, STORM, GC]])
def test_chunks_equal_read_event_on_edited_bytes(path):
    """Random single-byte edits (a state the stretch must refuse, a bad ID, a cut batch...):
    the same rows, then the same error at the same offset, as Go's ReadEvent step by step."""
    if not path.is_file():
        pytest.skip(f"{path.name} is not there")
    data = path.read_bytes()
    rng = random.Random(path.name)
    errors = 0
    for _ in range(12):
        b = bytearray(data)
        at = rng.randrange(64, len(b))
        b[at] = rng.randrange(256)
        want = _reference(bytes(b))
        assert _chunked(bytes(b)) == want
        errors += want[1] is not None
    assert errors  # some edits broke the trace
