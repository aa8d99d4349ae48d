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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

from tests.conftest import V2_FORMATS, _find_go, go_env, smallest_per_format, v2_traces  # noqa: E402

DATA = REPO / "tests" / "data" / "read"
EXPECTED = DATA / "expected.json"
DUMPS = DATA / "dumps"
#: Keep the whole expected output (gzipped) when Go's output is at most this big.
FULL_DUMP_LIMIT = 3 << 20

TRACES = v2_traces()
IDS = [t[0] for t in TRACES]


def _sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class _HashWriter:
    """A binary sink that keeps only the sha256 and the line count of what it is given."""

    def __init__(self) -> None:
        self.h = hashlib.sha256()
        self.lines = 0

    def write(self, b: bytes) -> int:
        self.h.update(b)
        self.lines += b.count(b"\n")
        return len(b)


def _our_dump(trace: Path, out) -> list[str]:
    """Write our dump of trace to out (a path or a binary sink) as the `dump` command does (the
    compiled reader's events in their wire form; NETPOLL_DIAGNOSE_PURE=1: the pure reader's);
    return the warnings."""
    from diagnose import pipeline

    with pipeline.open_input(trace) as inp:
        if isinstance(out, Path):
            with open(out, "wb") as f:
                return pipeline.dump(inp, f)
        return pipeline.dump(inp, out)


def _go_env_utc() -> dict[str, str]:
    env = go_env()
    env["TZ"] = "UTC"  # Sync events print the wall clock in the local time zone
    return env


def _go_dump(go: Path, trace: Path, out: Path) -> subprocess.CompletedProcess:
    with open(out, "wb") as f:
        return subprocess.run([str(go), "tool", "trace", "-d=parsed", str(trace)], stdout=f,
                              stderr=subprocess.PIPE, env=_go_env_utc(), timeout=1800)


def _go_digest(go: Path, trace: Path) -> tuple[int, str, int, str]:
    """(exit code, sha256, lines, stderr) of Go's -d=parsed output, streamed."""
    sink = _HashWriter()
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen([str(go), "tool", "trace", "-d=parsed", str(trace)], stdout=subprocess.PIPE,
                             stderr=err, env=_go_env_utc())
        for chunk in iter(lambda: p.stdout.read(1 << 20), b""):
            sink.write(chunk)
        rc = p.wait(timeout=1800)
        err.seek(0)
        return rc, sink.h.hexdigest(), sink.lines, err.read().decode(errors="replace")


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
    """The corpus has traces of each Go 1.22+ format its manifest lists a toolchain for
    (go 1.22, 1.23 from Go 1.24, 1.25, 1.26 from Go 1.27)."""
    from tests.conftest import MANIFEST

    if not TRACES or not MANIFEST.is_file():
        pytest.skip("no fixture traces (fixtures/manifest.json not present)")
    man = json.loads(MANIFEST.read_text(encoding="utf-8"))
    unavailable = set(man.get("unavailable") or [])
    want = set()
    for tool, header in (man.get("toolchains") or {}).items():
        if tool in unavailable:
            continue
        try:
            v = int(str(header).split("go 1.")[1].split()[0])
        except (IndexError, ValueError):
            continue
        if v in V2_FORMATS:
            want.add(v)
    have = {t[2] for t in TRACES}
    assert want <= have, f"manifest toolchains write {sorted(want)}, corpus has {sorted(have)}"


def test_recordings_are_current():
    """Every corpus trace has Go's output recorded for its current bytes, so that the
    exactness checks run without Go. Fix: python tests/test_read_oracle.py --record"""
    if not TRACES:
        pytest.skip("no fixture traces")
    exp = _expected()
    stale = [tid for tid, path, _ in TRACES
             if tid not in exp or exp[tid]["trace_sha256"] != _sha256_file(path)]
    assert not stale, (f"{len(stale)} of {len(TRACES)} traces have no current recording of Go's output "
                       f"(e.g. {stale[0]}): run python tests/test_read_oracle.py --record")


@pytest.mark.parametrize("tid", IDS)
def test_dump_matches_recorded(tid, tmp_path):
    """Our dump == Go's recorded output (sha256 and line count; full diff for small ones)."""
    trace = dict((t[0], t[1]) for t in TRACES)[tid]
    exp = _expected().get(tid)
    if exp is None:
        pytest.skip(f"no recorded Go output for {tid} (python tests/test_read_oracle.py --record)")
    if exp["trace_sha256"] != _sha256_file(trace):
        pytest.skip(f"{tid} changed since its Go output was recorded (re-record with --record)")
    sink = _HashWriter()
    assert _our_dump(trace, sink) == []
    if sink.h.hexdigest() != exp["dump_sha256"]:
        full = DUMPS / (_file_id(tid) + ".txt.gz")
        detail = "(no full copy of Go's output is kept for this trace; run test_dump_matches_go)"
        if full.is_file():
            want = tmp_path / "go.txt"
            want.write_bytes(gzip.decompress(full.read_bytes()))
            ours = tmp_path / "ours.txt"
            _our_dump(trace, ours)
            detail = _first_difference(ours, want)
        pytest.fail(f"dump differs from Go's ({sink.lines} lines vs {exp['lines']}): {detail}")


@pytest.mark.gotoolchain
@pytest.mark.parametrize("tid", IDS)
def test_dump_matches_go(tid, go_oracle, tmp_path):
    """Our dump == `go tool trace -d=parsed` run now, line for line."""
    trace = dict((t[0], t[1]) for t in TRACES)[tid]
    rc, go_sha, go_lines, err = _go_digest(go_oracle, trace)
    if rc != 0:
        pytest.skip(f"Go cannot read {tid} either: {err.strip()}")
    sink = _HashWriter()
    assert _our_dump(trace, sink) == []
    if sink.h.hexdigest() != go_sha:
        want = tmp_path / "go.txt"
        _go_dump(go_oracle, trace, want)
        ours = tmp_path / "ours.txt"
        _our_dump(trace, ours)
        pytest.fail(f"{sink.lines} lines vs Go's {go_lines}: " + _first_difference(ours, want))


@pytest.mark.parametrize("tid", [t[0] for t in smallest_per_format()] or ["none"])
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
