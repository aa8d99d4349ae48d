"""Differential tests: our ``dump`` == ``go tool trace -d=parsed`` (Go 1.27.3), line for line.

Traces: every fixture in fixtures/manifest.json written in a Go 1.22+ format (headers
"go 1.22", "go 1.23", "go 1.25", "go 1.26"; made by Go 1.22.10, 1.24.11, 1.25.5, 1.27.3).

* ``test_dump_matches_recorded``: no Go needed. Compares with the expected dumps recorded
  from Go under tests/data/read/ (expected.json: sha256 + line count of Go's output for
  each trace; dumps/*.txt.gz: the whole output for the small ones, to show a diff).
* ``test_dump_matches_go`` (gotoolchain): runs the oracle on the same trace now.
* ``test_fast_string_equals_generic``: the fast String() path == the one through the public
  accessors.

Record (or re-record after the fixture corpus changes), with Go 1.27.3 available::

    python tests/test_read_oracle.py --record
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.conftest import V2_FORMATS, _find_go, go_env, v2_traces  # noqa: E402

DATA = REPO / "tests" / "data" / "read"
EXPECTED = DATA / "expected.json"
DUMPS = DATA / "dumps"
#: Keep the whole expected output (gzipped) when Go's output is at most this big.
FULL_DUMP_LIMIT = 3 << 20

TRACES = v2_traces()
IDS = [t[0] for t in TRACES]


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _our_dump(trace: Path, out: Path) -> list[str]:
    from diagnose.read import open_trace
    from diagnose.read.dump import write_dump

    r = open_trace(trace)
    with open(out, "wb") as f:
        write_dump(r.events(), f)
    return r.warnings


def _go_dump(go: Path, trace: Path, out: Path) -> subprocess.CompletedProcess:
    env = go_env()
    env["TZ"] = "UTC"  # Sync events print the wall clock in the local time zone
    with open(out, "wb") as f:
        return subprocess.run([str(go), "tool", "trace", "-d=parsed", str(trace)], stdout=f,
                              stderr=subprocess.PIPE, env=env, timeout=1800)


@pytest.fixture(autouse=True)
def _utc(monkeypatch):
    """Sync events print the wall clock in the local time zone: use UTC, as Go's runs do."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _first_difference(a: Path, b: Path) -> str:
    """Describe the first differing line of two text files (a = ours, b = Go's)."""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        n = 0
        while True:
            la, lb = fa.readline(), fb.readline()
            n += 1
            if la != lb:
                return f"line {n}: ours {la[:300]!r} vs Go {lb[:300]!r}"
            if not la:
                return "no difference"


def _file_id(tid: str) -> str:
    return tid.replace("/", "__").replace("\\", "__")


def _expected() -> dict:
    if EXPECTED.is_file():
        return json.loads(EXPECTED.read_text(encoding="utf-8"))
    return {}


def test_corpus_covers_every_format():
    """The corpus has traces from each writer: go 1.22, 1.23 (Go 1.24), 1.25, 1.26 (Go 1.27)."""
    if not TRACES:
        pytest.skip("no fixture traces (fixtures/manifest.json not present)")
    have = {t[2] for t in TRACES}
    assert have == set(V2_FORMATS), f"formats present: {sorted(have)}"


@pytest.mark.parametrize("tid", IDS)
def test_dump_matches_recorded(tid, tmp_path):
    """Our dump == Go's recorded output (sha256 and line count; full diff for small ones)."""
    trace = dict((t[0], t[1]) for t in TRACES)[tid]
    exp = _expected().get(tid)
    if exp is None:
        pytest.skip(f"no recorded Go output for {tid} (python tests/test_read_oracle.py --record)")
    if exp["trace_sha256"] != _sha256_file(trace):
        pytest.skip(f"{tid} changed since its Go output was recorded (re-record with --record)")
    ours = tmp_path / "ours.txt"
    warnings = _our_dump(trace, ours)
    assert warnings == []
    got = _sha256_file(ours)
    if got != exp["dump_sha256"]:
        full = DUMPS / (_file_id(tid) + ".txt.gz")
        detail = ""
        if full.is_file():
            want = tmp_path / "go.txt"
            want.write_bytes(gzip.decompress(full.read_bytes()))
            detail = _first_difference(ours, want)
        with open(ours, "rb") as f:
            nlines = sum(1 for _ in f)
        pytest.fail(f"dump differs from Go's ({nlines} lines vs {exp['lines']}) {detail}")


@pytest.mark.gotoolchain
@pytest.mark.parametrize("tid", IDS)
def test_dump_matches_go(tid, go_oracle, tmp_path):
    """Our dump == `go tool trace -d=parsed` run now, line for line."""
    trace = dict((t[0], t[1]) for t in TRACES)[tid]
    want = tmp_path / "go.txt"
    p = _go_dump(go_oracle, trace, want)
    if p.returncode != 0:
        pytest.skip(f"Go cannot read {tid} either: {p.stderr.decode(errors='replace').strip()}")
    ours = tmp_path / "ours.txt"
    assert _our_dump(trace, ours) == []
    if _sha256_file(ours) != _sha256_file(want):
        pytest.fail(_first_difference(ours, want))


@pytest.mark.parametrize("tid", [t[0] for t in TRACES if t[1].stat().st_size < (4 << 20)][:8] or ["none"])
def test_fast_string_equals_generic(tid):
    """The fast String() path gives what Go's String() logic gives through the accessors."""
    if tid == "none":
        pytest.skip("no fixture traces")
    from diagnose.read import open_trace
    from diagnose.read.event import event_string, event_string_generic

    trace = dict((t[0], t[1]) for t in TRACES)[tid]
    n = 0
    for ev in open_trace(trace).events():
        assert event_string(ev) == event_string_generic(ev), repr(ev)
        n += 1
    assert n > 0


def record() -> int:
    """Record Go's output for every corpus trace into tests/data/read/."""
    go, why = _find_go()
    if go is None:
        print(f"Go 1.27.3 not available: {why}", file=sys.stderr)
        return 1
    DUMPS.mkdir(parents=True, exist_ok=True)
    exp = {}
    for tid, trace, ver in TRACES:
        with tempfile.TemporaryDirectory() as td:
            out = Path(td) / "go.txt"
            p = _go_dump(go, trace, out)
            if p.returncode != 0:
                print(f"skip {tid}: go failed: {p.stderr.decode(errors='replace').strip()}")
                continue
            with open(out, "rb") as f:
                lines = sum(1 for _ in f)
            size = out.stat().st_size
            exp[tid] = {"trace_sha256": _sha256_file(trace), "format": f"go 1.{ver}",
                        "dump_sha256": _sha256_file(out), "lines": lines, "bytes": size}
            full = DUMPS / (_file_id(tid) + ".txt.gz")
            if size <= FULL_DUMP_LIMIT:
                full.write_bytes(gzip.compress(out.read_bytes(), 9, mtime=0))
            elif full.exists():
                full.unlink()
            print(f"{tid}: {lines} lines, {size} bytes")
    EXPECTED.write_text(json.dumps(exp, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    if "--record" in sys.argv:
        sys.exit(record())
    print(__doc__)
