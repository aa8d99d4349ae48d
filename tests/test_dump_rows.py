"""`dump` through read/dumprows.py (the readers' events in their wire form) prints what the
`Event` path prints, byte for byte: the events before an error, the warning of a cut trace and
the error of a corrupt one included -- for the compiled readers and the pure one alike.
(Every Go 1.22+ fixture is compared with Go's own output in test_read_oracle.py; old formats
in test_read_v1.py; tools/compare_dump.py compares whole corpora with another checkout.)
"""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from diagnose import pipeline
from diagnose.errors import TraceError
from diagnose.read import open_trace, write_dump
from diagnose.read import dumprows

REPO = Path(__file__).resolve().parent.parent
TRACES = REPO / "fixtures" / "traces"
#: a small trace of each old and new format, and one rich in user regions, tasks and logs
SOURCES = [TRACES / f"healthy-light-go{v}.trace" for v in ("1.19.8", "1.21.13", "1.22.10", "1.27.3")] + \
    [REPO / "tests" / "data" / "tracev1" / "go-testdata" / "user_task_region_1_11_good"]


def _damaged(src: Path, how: str, tmp: Path) -> Path:
    data = bytearray(src.read_bytes())
    kind, frac = how.split(":")
    at = int(len(data) * float(frac))
    if kind == "cut":
        data = data[:at]
    else:
        data[at] ^= 0x5A
    out = tmp / f"{how.replace(':', '-')}-{src.name}"
    out.write_bytes(bytes(data))
    return out


def _outcome(run) -> tuple[bytes, object]:
    """(bytes written, warnings or the TraceError's text) of run(sink)."""
    buf = io.BytesIO()
    try:
        got: object = run(buf)
    except TraceError as e:
        got = f"error: {e}"
    return buf.getvalue(), got


def _reference(path: Path, sink) -> list[str]:
    r = open_trace(path)
    r.path = str(path)
    write_dump(r.events(), sink)
    return r.warnings


def _ours(path: Path, sink) -> list[str]:
    with pipeline.open_input(str(path)) as inp:
        return pipeline.dump(inp, sink)


@pytest.mark.parametrize("pure", [False, True], ids=["compiled", "pure"])
@pytest.mark.parametrize("how", ["whole:0", "cut:0.31", "cut:0.77", "flip:0.5", "flip:0.9"])
@pytest.mark.parametrize("src", SOURCES, ids=[p.name for p in SOURCES])
def test_dump_equals_the_event_path(src, how, pure, tmp_path, monkeypatch):
    if pure:
        monkeypatch.setenv("NETPOLL_DIAGNOSE_PURE", "1")
    else:
        monkeypatch.delenv("NETPOLL_DIAGNOSE_PURE", raising=False)
    path = src if how == "whole:0" else _damaged(src, how, tmp_path)
    want = _outcome(lambda sink: _reference(path, sink))
    got = _outcome(lambda sink: _ours(path, sink))
    assert got[1] == want[1]
    assert got[0] == want[0]
    if how == "whole:0":
        assert want[1] == [] and want[0].count(b"\n") > 100


def test_a_file_is_written_with_writev_as_a_buffer_is(tmp_path):
    """Through a descriptor (writev of the pieces) and through write() the bytes are the same."""
    src = TRACES / "healthy-light-go1.27.3.trace"
    with pipeline.open_input(str(src)) as inp, open(tmp_path / "out", "wb") as f:
        f.write(b"head\n")  # buffered before the dump: flushed first
        pipeline.dump(inp, f)
    buf = io.BytesIO()
    with pipeline.open_input(str(src)) as inp:
        pipeline.dump(inp, buf)
    assert (tmp_path / "out").read_bytes() == b"head\n" + buf.getvalue()


def test_a_row_the_table_cannot_name_fails_as_the_reference_does():
    """A row naming a string its table lacks: the rows before it are printed, then the
    reference's own error (event_string's KeyError)."""
    src = TRACES / "healthy-light-go1.27.3.trace"
    chunks = [c for c in dumprows.chunks_from_events(open_trace(src).events())]
    chunk = next(c for c in chunks if (c.rows[:, 0] == 20).any() and c.table is not None)  # GoBlock: a reason
    rows = chunk.rows.copy()
    bad = int((rows[:, 0] == 20).nonzero()[0][0])
    rows[bad, dumprows.R_A0] = 1 << 40
    sink = io.BytesIO()
    with pytest.raises(KeyError, match="expected id"):
        dumprows.write_chunks([dumprows.RowChunk(rows, chunk.table, chunk.task_type)], sink)
    good = dumprows.format_chunk(dumprows.RowChunk(rows[:bad], chunk.table, chunk.task_type))
    assert sink.getvalue() == good and good.count(b"\n") >= bad
