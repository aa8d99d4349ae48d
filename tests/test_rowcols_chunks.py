"""The pure column builder fed in chunks (`timeline.rowcols.build_from_chunks`, what the pure
reader's rows go through: `build_from_rows` is it over chunks of its rows).

Its columns must be exactly those of the Event accessors row by row (`build_columns(...,
generic=True)`: another implementation, one Event at a time) and of the compiled kernel -- every
array, dtype and value, and the string, frame and stack tables with their ids in order of first
use -- on real traces of several Go versions (old format included), one cut inside a generation,
and with chunks of 1, 7 and 4096 rows, so that generation boundaries fall inside chunks and inside
the builder's batches.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from diagnose.read import Event, open_trace, wire
from diagnose.timeline import kernel as fast
from diagnose.timeline import rowcols
from diagnose.timeline.columns import build_columns
from tests.conftest import column_differences
from tests.support.tracelayout import generation_layout

REPO = Path(__file__).resolve().parent.parent
TRACES = REPO / "fixtures" / "traces"
# metrics, GC sweeps and mark assists, regions, logs; Go 1.22, 1.25 and 1.27 formats and an old one
NAMES = ("gcpressure-small-allocs-go1.22.10", "gcpressure-small-allocs-go1.27.3", "healthy-light-go1.25.5",
         "fdreuse-newfile-finalizer-go1.27.3", "gcpressure-small-allocs-go1.21.13", "procs1-light-go1.19.8")
SIZES = (1, 7, 4096)


def differences(a, b) -> list[str]:
    return column_differences(a, b, meta=False)


def chunks(rows: list[tuple], size: int) -> list[list[tuple]]:
    return [rows[i:i + size] for i in range(0, len(rows), size)]


def table_runs(rows: list[tuple]) -> list[int]:
    """The rows where a generation's table takes over."""
    return [i for i in range(1, len(rows)) if rows[i][0] is not rows[i - 1][0]]


def cut_trace(tmp_path: Path) -> Path:
    """gcpressure-small-allocs-go1.27.3 cut inside its last generation: the reader keeps the
    complete ones and warns."""
    data = (TRACES / "gcpressure-small-allocs-go1.27.3.trace").read_bytes()
    _ver, _hlen, gens = generation_layout(data, stop_on=(wire.WireEOF, wire.WireError))
    start, end = gens[-1]
    p = tmp_path / "cut.trace"
    p.write_bytes(data[:(start + end) // 2])
    return p


@pytest.mark.parametrize("name", NAMES + ("cut",))
def test_chunks_give_the_columns_of_the_accessors_and_the_kernel(name, tmp_path):
    path = cut_trace(tmp_path) if name == "cut" else TRACES / f"{name}.trace"
    rows = list(open_trace(str(path)).raw_events())
    assert len(rows) > 1000
    tr = open_trace(str(path))
    per_event = build_columns(tr.events(), generic=True)
    if name == "cut":
        assert tr.warnings or tr.lost_bytes
    expected = [per_event]
    if fast.kernel_available() and tr.version >= 22:
        expected.append(fast.read_columns(str(path)))
    for size in SIZES:
        got = rowcols.build_from_chunks(chunks(rows, size))
        for ref in expected:
            assert differences(got, ref) == [], size
    assert differences(rowcols.build_from_rows(iter(rows)), per_event) == []


def test_generation_boundaries_fall_inside_chunks():
    """The traces above do put a table change inside a chunk of 7 and of 4096 rows and inside a
    builder batch (so the test above covers a chunk split between two tables)."""
    inside = set()
    for name in NAMES:
        rows = list(open_trace(str(TRACES / f"{name}.trace")).raw_events())
        for i in table_runs(rows):
            inside.update(size for size in (7, 4096, rowcols.CHUNK_ROWS) if i % size)
    assert inside == {7, 4096, rowcols.CHUNK_ROWS}


def test_an_argument_beyond_uint64_is_read_as_its_bits():
    """An argument that did not come from the wire (negative: converted events may make one) takes
    the slower conversion and ends as the accessors read it: the real rows of a trace, with a
    goroutine start's goroutine made negative."""
    rows = list(open_trace(str(TRACES / "healthy-light-go1.25.5.trace")).raw_events())
    start = next(i for i, r in enumerate(rows) if r[4] == 16)  # EvGoStart: its args[0] is the goroutine
    r = rows[start]
    rows[start] = (*r[:6], [-5, *r[6][1:]])
    per_event = build_columns([Event(*row) for row in rows], generic=True)
    got = rowcols.build_from_chunks(chunks(rows, 4096))
    assert differences(got, per_event) == []
    assert got.rid[start] == -5
