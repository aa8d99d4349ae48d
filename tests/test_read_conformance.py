"""Go's own trace-parser conformance cases, run against our reader.

The cases are ``src/internal/trace/testdata/tests/*.test`` from Go 1.27.3, bundled in
``tests/data/go-conformance/`` (BSD-3-Clause, see the README there) so that this file runs
with no Go toolchain present. Each one says SUCCESS or FAILURE "<regexp>" for a trace
written in Go's text format; ``tests/support/gotesttext.py`` encodes that text to the exact
bytes Go's ``internal/trace/raw.Writer`` produces.

Three layers:

* pure-Python checks of the encoder (always run);
* checks against Go 1.27.3 itself (marker ``gotoolchain``; skipped with a reason when the
  toolchain is not installed -- ``python tools/gotoolchains.py 1.27.3`` installs it):
  the bundled copy equals the installed Go source, our event table equals
  ``tracev2/events.go``, and ``go tool trace -d=parsed`` / ``-d=wire`` on our bytes give
  the expected verdict and exactly the events of the ``.test`` text;
* our reader (``diagnose.read.open_trace``) gives the same verdict as Go on every case.
"""
from __future__ import annotations

import contextlib
import functools
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

from tests.support import gotesttext as gt  # noqa: E402
from tests.support.gotool import go_env  # noqa: E402

GO_VERSION = "1.27.3"
DATA = REPO / "tests" / "data" / "go-conformance"
CASES = sorted(DATA.glob("*.test"))
CASE_IDS = [p.name for p in CASES]
#: Where the Go source lives inside GOROOT.
GO_TESTS_SUBDIR = Path("src/internal/trace/testdata/tests")


@functools.lru_cache(maxsize=None)
def load(name: str) -> gt.GoTestCase:
    return gt.load_case(DATA / name)


# ---------------------------------------------------------------------------
# Locating Go 1.27.3 (tools/gotoolchains.py first; then a pre-seeded local copy)
# ---------------------------------------------------------------------------


def _go_env() -> dict[str, str]:
    return go_env(GO_VERSION)


@pytest.fixture(scope="session")
def go_root(go_installed: Path) -> Path:
    out = subprocess.run([str(go_installed), "env", "GOROOT"], capture_output=True, text=True,
                         env=_go_env(), timeout=120)
    root = Path(out.stdout.strip())
    if out.returncode != 0 or not (root / GO_TESTS_SUBDIR).is_dir():
        pytest.skip(f"Go {GO_VERSION} source tree not found (GOROOT={root!s}, {out.stderr.strip()})")
    return root


# ---------------------------------------------------------------------------
# 1. The bundled data and the encoder, pure Python
# ---------------------------------------------------------------------------


def test_bundled_cases_present():
    assert len(CASES) >= 22, f"expected Go 1.27.3's 22 conformance cases in {DATA}"
    assert (DATA / "README.md").is_file() and (DATA / "LICENSE").is_file()


@pytest.mark.parametrize("name", CASE_IDS)
def test_case_encodes(name):
    case = load(name)
    assert case.trace_bytes.startswith(b"go 1.%d trace\x00\x00\x00" % case.version)
    assert case.events, "no events"
    # Every event in a Go trace lives inside a batch: the first one is a batch header.
    assert case.events[0].name in ("EventBatch", "ExperimentalBatch")
    # Decoding our own bytes again gives the same events (the encoding is prefix-free).
    assert _decode_wire(case.trace_bytes) == [e.normalized() for e in case.events]
    if case.expectation.failure:
        assert case.expectation.pattern


def _decode_wire(data: bytes) -> list[tuple[int, tuple[int, ...], bytes]]:
    """A minimal port of raw.Reader, to round-trip the encoder's output."""
    header_end = data.index(b"\x00\x00\x00") + 3
    v = int(re.fullmatch(rb"go 1\.(\d+) trace\x00\x00\x00", data[:header_end]).group(1))
    specs = gt.specs_for_version(v)
    pos, out = header_end, []

    def uv() -> int:
        nonlocal pos
        x = shift = 0
        while True:
            b = data[pos]
            pos += 1
            x |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return x

    while pos < len(data):
        ev = data[pos]
        pos += 1
        spec = specs[ev]
        args = [uv() for _ in spec.args]
        if spec.is_stack:
            args += [uv() for _ in range(4 * args[1])]
        payload = b""
        if spec.has_data:
            n = uv()
            payload, pos = data[pos:pos + n], pos + n
        out.append((ev, tuple(args), payload))
    return out


def test_encoder_known_bytes():
    """Hand-checked against raw.Writer: header, type byte, LEB128 args, stack frames, data."""
    text = (
        b"Trace Go1.26\n"
        b"# comment line\n"
        b"EventBatch \t gen=1 m=18446744073709551615 time=300 size=7  \r\n"
        b"   # indented comment; blank line next\n\n"
        b"Stacks\n"
        b"Stack id=1 nframes=1\n"
        b"\tpc=128 func=2 file=3 line=4\n"
        b"Strings\n"
        b'String id=2\n\tdata="h\\x00\\u00e9"\n'
        b"GoroutineStackFree dt=1 id=5\n"
    )
    v, events = gt.parse_text_trace(text)
    assert v == 26
    assert gt.encode_trace(v, events) == (
        b"go 1.26 trace\x00\x00\x00"
        + b"\x01\x01" + b"\xff" * 9 + b"\x01" + b"\xac\x02\x07"
        + b"\x02"
        + b"\x03\x01\x01" + b"\x80\x01\x02\x03\x04"
        + b"\x04"
        + b"\x05\x02\x04h\x00\xc3\xa9"
        + bytes([136]) + b"\x01\x05"
    )


@pytest.mark.parametrize(
    "text, message",
    [
        (b"Trace Go1.24\n", "unknown or unsupported Go version 1.24"),
        (b"Trace Go1.22\nGoSwitch dt=1 g=1 g_seq=1\n", "unidentified event: GoSwitch"),
        (b"Trace Go1.22\nProcStop\n", "reading args for ProcStop: no argument"),
        (b"Trace Go1.22\nProcStop t=1\n", 'expected argument "dt", but got "t"'),
        (b"Trace Go1.22\nProcStop dt=-1\n", 'failed to parse argument value "-1" for arg "dt"'),
        (b"Trace Go1.22\nProcStop dt=18446744073709551616\n", "failed to parse argument value"),
        (b"Trace Go1.22\nProcStop dt=1 x\n", "unexpected non-space at the end of an event"),
        # Go rejects trailing comments after an event's arguments too (only whole-line ones are ok).
        (b"Trace Go1.22\nProcStop dt=1 # c\n", 'end of an event: " # c"'),
        (b"Trace Go1.22\nString id=1\n", "unexpected EOF while reading data for String: args=[1]"),
        (b"Trace Go1.22\nString id=1\n\tdata=\"\\q\"\n", "failed to parse data"),
        (b"Trace Go1.22\nStack id=1 nframes=1\n", "unexpected EOF while reading stack: args=[1 1]"),
    ],
)
def test_text_reader_rejects_like_go(text, message):
    with pytest.raises(gt.GoTextError, match=re.escape(message)):
        gt.parse_text_trace(text)


def test_go_unquote():
    assert gt.go_unquote('"a\\tb\\x00\\377\\u00e9\\U0001F600"') == b"a\tb\x00\xff\xc3\xa9\xf0\x9f\x98\x80"
    assert gt.go_unquote("`a\\n\rb`") == b"a\\nb"
    for bad in ['"a', '"\\xZZ"', '"\\u0"', '"\\400"', "'ab'", '"a"b', '"\\ud800"']:
        with pytest.raises(ValueError):
            gt.go_unquote(bad)


def test_expectation_parsing():
    assert gt.parse_expectation(b"SUCCESS\n") == gt.Expectation(False)
    exp = gt.parse_expectation(b'FAILURE ".*didn\'t \\"x\\".*"\n')
    assert exp.failure and exp.matches("it didn't \"x\" here") and not exp.matches("nope")
    assert exp.check(None) is not None and exp.check("didn't \"x\"") is None
    for bad in (b"FAILURE\n", b"FAILURE nope\n", b"MAYBE\n"):
        with pytest.raises(gt.GoTextError):
            gt.parse_expectation(bad)


# ---------------------------------------------------------------------------
# 2. Against Go 1.27.3 itself
# ---------------------------------------------------------------------------


@pytest.mark.gotoolchain
def test_bundled_copy_matches_go_source(go_root):
    src = go_root / GO_TESTS_SUBDIR
    theirs = {p.name: p.read_bytes() for p in src.glob("*.test")}
    ours = {p.name: p.read_bytes() for p in CASES}
    assert sorted(theirs) == sorted(ours), "bundled case list differs from the Go source"
    changed = [n for n in theirs if theirs[n] != ours[n]]
    assert not changed, f"bundled copies differ from Go {GO_VERSION}: {changed}"


@pytest.mark.gotoolchain
def test_event_table_matches_go_source(go_root):
    """gotesttext.SPECS / VERSIONS are a transcription of tracev2/events.go and version.go."""
    events_go = (go_root / "src/internal/trace/tracev2/events.go").read_text()
    version_go = (go_root / "src/internal/trace/version/version.go").read_text()

    def const_names(start: str, stop: str) -> list[str]:
        block = events_go[events_go.index(start):]
        block = block[:block.index(stop)]
        return re.findall(r"^\s*(Ev\w+)", block, re.M)

    main = const_names("EvNone EventType = iota", "\n\tNumEvents")
    exper = const_names("MaxEvent EventType = 127 + iota", "\n\tMaxExperimentalEvent")
    index = {name: i for i, name in enumerate(main)}
    index.update({name: 128 + i for i, name in enumerate(exper)})
    assert len(main) == 53 and len(gt.SPECS) == 128 + len(exper)

    body = events_go[events_go.index("var specs = [...]EventSpec{"):]
    found = {}
    for m in re.finditer(r"^\t(Ev\w+): \{\n(.*?)^\t\},", body, re.M | re.S):
        fields = m.group(2)
        name = re.search(r'Name:\s+"(\w+)"', fields).group(1)
        args_m = re.search(r"Args:\s+\[\]string\{([^}]*)\}", fields)
        args = tuple(re.findall(r'"(\w+)"', args_m.group(1))) if args_m else ()
        found[index[m.group(1)]] = gt.EventSpec(
            name, args, re.search(r"IsStack:\s+true", fields) is not None, re.search(r"HasData:\s+true", fields) is not None)
    expected = [found.get(i, gt.EventSpec("")) for i in range(len(gt.SPECS))]
    mismatched = [(i, ours, theirs) for i, (ours, theirs) in enumerate(zip(gt.SPECS, expected)) if ours != theirs]
    assert not mismatched

    consts = {m.group(1): int(m.group(2))
              for m in re.finditer(r"^\t(Go\d+)\s+Version = (\d+)", version_go, re.M)}
    versions = {}
    for m in re.finditer(r"^\t(Go\d+):\s+(nil|tracev2\.Specs\(\)(?:\[:tracev2\.(Ev\w+)\+1\])?),", version_go, re.M):
        v = consts[m.group(1)]
        if m.group(2) == "nil":
            versions[v] = None
        elif m.group(3):
            versions[v] = gt.SPECS[: index[m.group(3)] + 1]
        else:
            versions[v] = gt.SPECS
    assert versions == gt.VERSIONS


_HARNESS_MAIN = """package main

import (
	"fmt"
	"io"
	"os"

	"x/testtrace"
)

// For each .test path: "OK <hex of the encoded trace>" or "ERR <error>", NUL-terminated.
func main() {
	for _, p := range os.Args[1:] {
		r, _, _, err := testtrace.ParseFile(p)
		if err != nil {
			fmt.Printf("ERR %s\\x00", err)
			continue
		}
		b, _ := io.ReadAll(r)
		fmt.Printf("OK %x\\x00", b)
	}
}
"""


@pytest.fixture(scope="session")
def go_test_encoder(go_installed, go_root, tmp_path_factory) -> Path:
    """Go's own testtrace.ParseFile (text -> raw.Writer bytes) as a command.

    The packages are internal to the standard library, so their sources are copied from
    GOROOT into a throwaway module with the import paths rewritten; nothing else changes.
    """
    mod = tmp_path_factory.mktemp("gotestenc")
    (mod / "go.mod").write_text("module x\n\ngo 1.22\n")
    src = go_root / "src" / "internal"
    copies = {"raw": src / "trace/raw", "tracev2": src / "trace/tracev2", "txtar": src / "txtar",
              "version": src / "trace/version", "testtrace": src / "trace/testtrace"}
    only = {"testtrace": {"format.go", "expectation.go"}}  # the rest imports internal/trace
    for pkg, d in copies.items():
        (mod / pkg).mkdir()
        for f in d.glob("*.go"):
            if f.name.endswith("_test.go") or (pkg in only and f.name not in only[pkg]):
                continue
            text = f.read_text().replace('"internal/trace/', '"x/').replace('"internal/txtar"', '"x/txtar"')
            (mod / pkg / f.name).write_text(text)
    (mod / "cmd").mkdir()
    (mod / "cmd" / "main.go").write_text(_HARNESS_MAIN)
    exe = mod / "testenc"
    out = subprocess.run([str(go_installed), "build", "-o", str(exe), "./cmd"], cwd=mod, capture_output=True,
                         text=True, env=_go_env(), timeout=900)
    assert out.returncode == 0, out.stderr
    return exe


def _mutants(n: int, seed: int = 20261):
    """Deterministic small edits of the bundled cases: whitespace, comments, escapes, bad numbers."""
    import random

    rnd = random.Random(seed)
    sources = [p.read_bytes() for p in CASES]
    snippets = [b"#", b" ", b"\t", b"\r", b"=", b"x", b"\xc2\xa0", b"\xff", b"\x0b", b"\x1c", b"\n",
                b"\xe3\x80\x80", b"0", b"-1", b"+1", b"1_0", b"18446744073709551615",
                b"18446744073709551616", b'data="a\\x00\\n\\u00e9\\377"', b"data=`a\rb`", b"data='a'",
                b'"', b"\\", b"Stack id=1 nframes=2\n", b"String id=3\n", b"Trace Go1.23\n",
                b"Trace Go1.21\n", b"-- trace --\n", b'FAILURE "x"\n']
    for _ in range(n):
        b = bytearray(rnd.choice(sources))
        for _ in range(rnd.randint(1, 2)):
            pos = rnd.randrange(len(b) + 1)
            op = rnd.random()
            if op < 0.5:
                b[pos:pos] = rnd.choice(snippets)
            elif op < 0.8:
                del b[pos:pos + rnd.randint(1, 8)]
            else:
                lines = b.split(b"\n")
                i, j = rnd.randrange(len(lines)), rnd.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
                b = bytearray(b"\n".join(lines))
        yield bytes(b)


@pytest.mark.gotoolchain
def test_encoder_identical_to_go_testtrace(go_test_encoder, tmp_path):
    """Byte-for-byte (and error-message-for-error-message) equal to Go's ParseFile, on the
    22 cases and on 300 mutated ones (most of which are malformed)."""
    paths = [DATA / n for n in CASE_IDS]
    for i, data in enumerate(_mutants(300)):
        p = tmp_path / f"m{i:03d}.test"
        p.write_bytes(data)
        paths.append(p)
    out = subprocess.run([str(go_test_encoder), *map(str, paths)], capture_output=True,
                         env=_go_env(), timeout=600, check=True).stdout
    theirs = out.decode("utf-8", "surrogateescape").split("\x00")[:-1]
    assert len(theirs) == len(paths)
    diffs = []
    for p, go_says in zip(paths, theirs):
        try:
            we_say = "OK " + gt.load_case(p).trace_bytes.hex()
        except gt.GoTextError as exc:
            we_say = f"ERR {exc}"
        if we_say != go_says:
            diffs.append(f"{p.name}:\n  go: {go_says[:300]}\n  py: {we_say[:300]}")
    assert not diffs, "\n".join(diffs[:10])
    assert sum(t.startswith("OK") for t in theirs) >= len(CASE_IDS)


def _parse_wire_dump(version: int, stdout: bytes) -> list[tuple[int, tuple[int, ...], bytes]]:
    # `go tool trace -d=wire` prints raw.Event.String() per event: the same text format.
    _, events = gt.parse_text_trace(b"Trace Go1.%d\n" % version + stdout)
    return [e.normalized() for e in events]


@pytest.mark.gotoolchain
@pytest.mark.parametrize("name", CASE_IDS)
def test_go_reads_our_encoding(name, go_trace_tool, tmp_path):
    """Go's parser gives the case's verdict on our bytes, and its raw dump is the .test text."""
    case = load(name)
    trace = tmp_path / "case.trace"
    trace.write_bytes(case.trace_bytes)
    env = _go_env()

    parsed = subprocess.run([str(go_trace_tool), "-d=parsed", str(trace)], capture_output=True,
                            text=True, env=env, timeout=300)
    err = None if parsed.returncode == 0 else parsed.stderr.strip()
    problem = case.expectation.check(err)
    assert problem is None, f"go tool trace -d=parsed: {problem}"

    wire = subprocess.run([str(go_trace_tool), "-d=wire", str(trace)], capture_output=True,
                          env=env, timeout=300)
    assert wire.returncode == 0, wire.stderr.decode(errors="replace")
    assert _parse_wire_dump(case.version, wire.stdout) == [e.normalized() for e in case.events]
    # Independently of our text parser: Go's dump, token by token, is the .test text.
    assert _tokens(wire.stdout) == _tokens(case.trace_text)[1:]  # [0] is the "Trace Go1.XX" header


def _tokens(text: bytes) -> list[list[str]]:
    lines = (ln.split("#", 1)[0].split() for ln in text.decode().splitlines())
    return [ln for ln in lines if ln]


# ---------------------------------------------------------------------------
# 3. Our reader gives Go's verdict
# ---------------------------------------------------------------------------

#: FAILURE cases where our TraceError is allowed NOT to match Go's regexp, with the reason.
#: Only for wording that differs cosmetically from Go's (the verdict must still be FAILURE).
#: Empty: every failure message currently matches Go's expectation.
MESSAGE_WORDING_DIFFERS: dict[str, str] = {}


def _read_all(data: bytes) -> int:
    from diagnose.read import open_trace  # the reader under test; ImportError fails the case

    trace = open_trace(data)
    with contextlib.ExitStack() as stack:
        if hasattr(trace, "__exit__"):
            stack.enter_context(trace)
        return sum(1 for _ in trace.events())


@pytest.mark.parametrize("name", CASE_IDS)
def test_our_reader_verdict(name):
    from diagnose.errors import TraceError

    case = load(name)
    exp = case.expectation
    if exp.success:
        try:
            n = _read_all(case.trace_bytes)
        except TraceError as exc:
            pytest.fail(f"Go reads this trace without error; we raised TraceError: {exc}")
        assert n > 0
        return

    with pytest.raises(TraceError) as info:
        _read_all(case.trace_bytes)
    message = str(info.value)
    if name in MESSAGE_WORDING_DIFFERS:
        return  # verdict matches; wording deliberately not compared (see the reason in the dict)
    assert exp.matches(message), (
        f"TraceError raised as Go does, but its message {message!r} does not match Go's "
        f"expected {exp.pattern!r}"
    )


@pytest.mark.gotoolchain
@pytest.mark.parametrize("name", CASE_IDS)
def test_our_events_equal_go_parsed(name, go_trace_tool, tmp_path):
    """Stronger than the verdict: our events, printed with str(ev) (documented to equal Go's
    ev.String()), are exactly `go tool trace -d=parsed`'s output -- including the events Go
    delivers before a FAILURE case's error."""
    from diagnose.errors import TraceError
    from diagnose.read import open_trace

    case = load(name)
    trace = tmp_path / "case.trace"
    trace.write_bytes(case.trace_bytes)
    go = subprocess.run([str(go_trace_tool), "-d=parsed", str(trace)], capture_output=True,
                        text=True, env=_go_env(), timeout=300)
    ours = []
    with contextlib.suppress(TraceError):
        for ev in open_trace(case.trace_bytes).events():
            ours.append(str(ev) + "\n")
    assert "".join(ours) == go.stdout
