"""Cut and corrupted traces: every complete generation is kept, with a warning; bad bytes
give one TraceError line with the offset; never a traceback.

Uses the smallest fixture trace of each Go 1.22+ format. Expected events come from reading
the whole trace (itself checked against Go in test_read_oracle.py).
"""
from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

from tests.conftest import v2_traces  # noqa: E402
from tests.support.tracelayout import event_batches, generation_layout  # noqa: E402

from diagnose.errors import TraceError  # noqa: E402
from diagnose.read import open_trace, tracev2  # noqa: E402


def _read(data) -> tuple[list[str], list[str], TraceError | None, object]:
    lines: list[str] = []
    err = None
    r = None
    try:
        r = open_trace(data)
        for ev in r.events():
            lines.append(str(ev))
    except TraceError as e:
        err = e
    return lines, (r.warnings if r is not None else []), err, r


def _pick() -> list[tuple[str, Path, int]]:
    """Per format, the smallest trace with at least two generations (else the smallest)."""
    best: dict[int, tuple[bool, int, tuple]] = {}
    for t in v2_traces():
        data = t[1].read_bytes()
        try:
            ngens = len(generation_layout(data)[2])
        except Exception:  # noqa: BLE001 - a broken fixture is test_read_oracle's business
            continue
        key = (ngens < 2, len(data), t)
        if t[2] not in best or key[:2] < best[t[2]][:2]:
            best[t[2]] = key
    return [best[v][2] for v in sorted(best)]


SMALL = _pick()
IDS = [f"go1.{t[2]}" for t in SMALL]


@pytest.fixture(scope="module", params=SMALL or [None], ids=IDS or ["none"])
def small(request):
    if request.param is None:
        pytest.skip("no fixture traces")
    tid, path, fmt = request.param
    data = path.read_bytes()
    lines, warnings, err, _ = _read(data)
    assert err is None and warnings == []
    syncs = [i for i, s in enumerate(lines) if s.startswith("M=-1 P=-1 G=-1 Sync ")]
    return data, lines, syncs, generation_layout(data)


def _cut_points(data: bytes, hlen: int, gens) -> list[int]:
    pts = {hlen - 1, hlen, hlen + 1, len(data) - 1}
    for s, e in gens:
        pts.update({e - 1, e, e + 1, s + 2, (s + e) // 2})
    rnd = random.Random(1)
    pts.update(rnd.randrange(hlen, len(data)) for _ in range(4))
    return sorted(p for p in pts if 0 <= p < len(data))


def test_cut_anywhere_keeps_complete_generations(small):
    data, full, syncs, (fmt, hlen, gens) = small
    for cut in _cut_points(data, hlen, gens):
        lines, warnings, err, r = _read(data[:cut])
        if cut < hlen:
            assert err is not None and err.offset is not None and not lines, cut
            continue
        assert err is None, f"cut at {cut}: {err and err.one_line()}"
        k = sum(1 for _, e in gens if e <= cut)  # complete generations
        boundary = cut == hlen or any(cut == e for _, e in gens)
        exp = full[:syncs[k]] if k < len(syncs) else full
        # The events of every complete generation, then the closing Sync Go emits.
        assert lines[:-1] == exp, f"cut at {cut}: {len(lines) - 1} events, want {len(exp)}"
        assert lines[-1].startswith("M=-1 P=-1 G=-1 Sync Time=") and lines[-1].endswith(f" N={k + 1}")
        if boundary and not (cut == hlen and fmt < 26):
            # A cut on a generation boundary is a complete (shorter) trace, for Go too.
            assert warnings == [], cut
        else:
            assert len(warnings) == 1 and "Lost" in warnings[0], (cut, warnings)
            end = gens[k - 1][1] if k else hlen
            assert r.valid_bytes == end and r.total_bytes == cut and r.lost_bytes == cut - end, cut


def test_cut_trace_cli(small, tmp_path):
    """`dump` on a cut file prints the complete generations, warns on stderr, exits 0."""
    data, full, syncs, (fmt, hlen, gens) = small
    k = min(len(gens) - 1, 1)
    cut = (gens[k][0] + gens[k][1]) // 2  # the middle of the second (or only) generation
    p = tmp_path / "cut.trace"
    p.write_bytes(data[:cut])
    r = subprocess.run([sys.executable, "-m", "diagnose.cli", "dump", str(p)], capture_output=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode("utf-8", "surrogateescape")
    exp = "".join(s + "\n" for s in full[:syncs[k]])
    assert out.startswith(exp)
    assert out[len(exp):].startswith("M=-1 P=-1 G=-1 Sync ") and out[len(exp):].count("\n") == 1
    err = r.stderr.decode()
    assert err.count("\n") == 1 and err.startswith(f"netpoll-diagnose: {p}: warning: ") and "Lost" in err


def _cli(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "diagnose.cli", "dump", str(path)], capture_output=True, cwd=REPO)


def _assert_one_line_error(r: subprocess.CompletedProcess, path: Path, what: str) -> None:
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"netpoll-diagnose: {path}: "), err
    assert what in err, err


def test_garbage_file(tmp_path):
    p = tmp_path / "garbage.trace"
    p.write_bytes(Path(__file__).read_bytes()[:1000])
    r = _cli(p)
    _assert_one_line_error(r, p, "offset 0: bad file format: not a Go execution trace?")
    assert r.stdout == b""


def test_empty_file(tmp_path):
    p = tmp_path / "empty.trace"
    p.write_bytes(b"")
    _assert_one_line_error(_cli(p), p, "not a Go execution trace")


def test_missing_file(tmp_path):
    p = tmp_path / "nope.trace"
    _assert_one_line_error(_cli(p), p, "no such trace file")


def test_unknown_version(small, tmp_path):
    data = small[0]
    p = tmp_path / "v99.trace"
    p.write_bytes(b"go 1.99" + data[7:])
    _assert_one_line_error(_cli(p), p, "offset 5: unknown or unsupported trace version go 1.99")


def test_corrupt_batch_header(small):
    data = bytearray(small[0])
    hlen = small[3][1]
    data[hlen] = 0xFF  # the first batch's header byte
    lines, _, err, _ = _read(bytes(data))
    assert err is not None and err.offset == hlen
    assert err.one_line() == f"<trace>: offset {hlen}: expected batch event, got event 255"


def test_corrupt_event_type(small, tmp_path):
    """A bad event type in the second generation: the first is printed, then the error."""
    data, full, syncs, (fmt, hlen, gens) = small
    ver, batches = event_batches(data)
    k = min(len(gens) - 1, 1)
    b = next(b for b in batches if b.offset > gens[k][0])
    bad = bytearray(data)
    bad[b.offset] = 0x7E  # not an event type
    lines, _, err, _ = _read(bytes(bad))
    assert err is not None and err.offset == b.offset, err and err.one_line()
    assert "found event without a timestamp: type=126" in err.message
    assert lines[:syncs[k]] == full[:syncs[k]]
    p = tmp_path / "bad.trace"
    p.write_bytes(bytes(bad))
    r = _cli(p)
    _assert_one_line_error(r, p, f"offset {b.offset}: found event without a timestamp")
    assert r.stdout.decode("utf-8", "surrogateescape").startswith("".join(s + "\n" for s in full[:syncs[k]]))


def _uvarint(v: int) -> bytes:
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _padded(v: int) -> bytes:
    out = bytearray()
    for _ in range(9):
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def test_corrupt_batch_size(small):
    """A batch claiming more than the 64 KiB maximum."""
    data, full, syncs, (fmt, hlen, gens) = small
    ver, batches = event_batches(data)
    b = batches[0]
    # The runtime writes the size padded to 10 bytes (it fills it in when the batch is full).
    assert data[b.offset - 1] == 0 and data[b.offset - 10:b.offset] == _padded(len(b.data))
    bad = bytearray(data)
    bad[b.offset - 10:b.offset] = _padded(tracev2.MaxBatchSize + 1)
    lines, _, err, _ = _read(bytes(bad))
    assert err is not None and err.offset == b.offset - 1
    assert err.message == "invalid batch size 65537, maximum is 65536"


def test_random_corruption_never_tracebacks(small):
    """Random byte changes: success, a truncation warning, or a TraceError; nothing else."""
    data = small[0]
    hlen = small[3][1]
    rnd = random.Random(7)
    outcomes = set()
    for _ in range(6):
        bad = bytearray(data)
        for _ in range(rnd.choice((1, 2, 3))):
            bad[rnd.randrange(hlen, len(bad))] = rnd.randrange(256)
        try:
            r = open_trace(bytes(bad))
            for ev in r.events():
                str(ev)
            outcomes.add("warning" if r.warnings else "ok")
        except TraceError as e:
            assert "\n" not in e.one_line()
            outcomes.add("error")
    assert outcomes
