"""The public reader API: inputs, version, event accessors, building events, helpers."""
from __future__ import annotations

import io
import os
import random
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

from tests.conftest import smallest_per_format  # noqa: E402

from diagnose.read import (NO_STACK, EventKind, EvTable, Frame, GoState, ProcState, ResourceKind,  # noqa: E402
                           TraceVersion, open_trace, tracev2)
from diagnose.read.event import Event, event_string, sync_event  # noqa: E402
from diagnose.read.gofmt import quote, rfc3339nano_local  # noqa: E402
from diagnose.read.sorting import sort_func  # noqa: E402

SMALL = smallest_per_format()


def _one():
    if not SMALL:
        pytest.skip("no fixture traces")
    return SMALL[-1]


@pytest.mark.parametrize("t", SMALL or [None], ids=[f"go1.{t[2]}" for t in SMALL] or ["none"])
def test_version_and_inputs(t):
    """A path, bytes and a binary file give the same events; version is int and "go 1.N"."""
    if t is None:
        pytest.skip("no fixture traces")
    tid, path, fmt = t
    r = open_trace(path)
    assert r.version == fmt and isinstance(r.version, int) and str(r.version) == f"go 1.{fmt}"
    assert isinstance(r.version, TraceVersion)
    a = [str(e) for e in r.events()]
    data = path.read_bytes()
    b = [str(e) for e in open_trace(data).events()]
    with open(path, "rb") as f:
        c = [str(e) for e in open_trace(f).events()]
    d = [str(e) for e in open_trace(io.BytesIO(data)).events()]
    assert a == b == c == d
    assert r.total_bytes == r.valid_bytes == len(data) and r.lost_bytes == 0 and r.warnings == []
    with pytest.raises(RuntimeError):
        next(iter(r.events()))


def test_events_are_streamed():
    """events() is a generator that reads one generation at a time."""
    from tests.conftest import v2_traces

    for tid, path, fmt in sorted(v2_traces(), key=lambda t: t[1].stat().st_size):
        nsync = sum(1 for ev in open_trace(path).events() if ev.kind == EventKind.Sync)
        if nsync >= 3:  # two generations or more
            break
    else:
        pytest.skip("no fixture trace with two generations")
    r = open_trace(path)
    it = r.events()
    first = next(it)
    assert first.kind == EventKind.Sync and first.sync().n == 1
    assert r._src.offset < path.stat().st_size  # only the first generation was consumed
    it.close()


def test_accessors_on_every_event():
    """Each kind's accessor works on every event of a real trace and agrees with str()."""
    tid, path, fmt = _one()
    kinds = set()
    last = -1
    for ev in open_trace(path).events():
        k = ev.kind
        kinds.add(k)
        assert ev.time > last  # Go's reader makes times strictly increasing
        last = ev.time
        s = str(ev)
        assert s.startswith(f"M={ev.thread} P={ev.proc} G={ev.goroutine} {k.name} Time={ev.time}")
        if k == EventKind.StateTransition:
            st = ev.state_transition()
            assert st.resource.kind in (ResourceKind.Goroutine, ResourceKind.Proc)
            if st.resource.kind == ResourceKind.Goroutine:
                frm, to = st.goroutine()
                assert isinstance(frm, GoState) and f" GoID={st.resource.id} {frm}->{to} " in s
            else:
                frm, to = st.proc()
                assert isinstance(frm, ProcState) and f" ProcID={st.resource.id} {frm}->{to} " in s
            for f in st.stack.frames():
                assert f.func and f.file and f.line > 0 and f.pc > 0
        elif k == EventKind.Metric:
            m = ev.metric()
            assert m.name.startswith("/") and m.value.uint64() >= 0
        elif k in (EventKind.RangeBegin, EventKind.RangeActive, EventKind.RangeEnd):
            assert ev.range_().name in s
        elif k in (EventKind.TaskBegin, EventKind.TaskEnd):
            ev.task()
        elif k in (EventKind.RegionBegin, EventKind.RegionEnd):
            ev.region()
        elif k == EventKind.Log:
            ev.log()
        elif k == EventKind.Label:
            ev.label()
        elif k == EventKind.Sync:
            sy = ev.sync()
            assert sy.n >= 1
            if fmt >= 25 and ev.table is not None:
                assert sy.clock_snapshot is not None
        stk = ev.stack
        if stk:
            assert "\nStack=\n" in s
            assert all(f.func in s for f in stk.frames())
        else:
            assert stk == NO_STACK
    assert {EventKind.Sync, EventKind.StateTransition, EventKind.Metric} <= kinds


def test_build_events_like_the_v1_converter():
    """Events built by hand (as diagnose.read.v1 does) print as Go's would."""
    t = EvTable()
    t.strings.insert(1, "main.main")
    t.strings.insert(2, "/src/main.go")
    t.strings.insert(3, "chan receive")
    t.pcs[0x401000] = Frame(0x401000, 1, 2, 42)
    t.stacks.insert(1, (0x401000,))
    t.freq = type(t.freq)(1.0)
    ev = Event(t, 7, 0, 3, tracev2.EvGoBlock, 1000, [3, 1, 0, 0])
    assert ev.kind == EventKind.StateTransition
    assert str(ev) == ("M=3 P=0 G=7 StateTransition Time=1000 GoID=7 Running->Waiting Reason=\"chan receive\"\n"
                       "TransitionStack=\n\tmain.main @ 0x401000\n\t\t/src/main.go:42\n\n"
                       "Stack=\n\tmain.main @ 0x401000\n\t\t/src/main.go:42\n")
    st = ev.state_transition()
    assert st.goroutine() == (GoState.Running, GoState.Waiting) and st.reason == "chan receive"
    assert [f.line for f in ev.stack.frames()] == [42]
    assert str(sync_event(None, 5, 2)) == "M=-1 P=-1 G=-1 Sync Time=5 N=2"
    end = Event(t, 7, 0, 3, tracev2.EvUserTaskEnd, 2000, [9, 0, (1 << 64) - 1, t.add_extra_string("")])
    assert event_string(end) == "M=3 P=0 G=7 TaskEnd Time=2000 ID=9 Parent=18446744073709551615 Type=\"\""


def test_quote_matches_go_strconv():
    # Expected values are what Go's strconv.Quote returns for the same bytes.
    assert quote("plain") == '"plain"'
    assert quote('a"b\\c') == '"a\\"b\\\\c"'
    assert quote("\t\n\r\x00\x07\x7f") == '"\\t\\n\\r\\x00\\a\\x7f"'
    assert quote("é日本") == '"é日本"'
    assert quote(b"\xff\xfe".decode("utf-8", "surrogateescape")) == '"\\xff\\xfe"'
    assert quote("\u200b\u00ad") == '"\\u200b\\u00ad"'
    assert quote("\U000e0001") == '"\\U000e0001"'


def test_rfc3339nano():
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        assert rfc3339nano_local(1700000000, 123456000) == "2023-11-14T22:13:20.123456Z"
        assert rfc3339nano_local(0, 0) == "1970-01-01T00:00:00Z"
        os.environ["TZ"] = "Asia/Kolkata"
        time.tzset()
        assert rfc3339nano_local(1700000000, 5) == "2023-11-15T03:43:20.000000005+05:30"
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


def test_sort_func_port():
    """slices.SortFunc port: sorts; leaves sorted input alone; small inputs are stable."""
    rnd = random.Random(3)
    for n in (0, 1, 5, 12, 13, 49, 50, 51, 200, 1000):
        xs = [(rnd.randrange(n // 3 + 1), i) for i in range(n)]
        cmp = lambda a, b: (a[0] > b[0]) - (a[0] < b[0])  # noqa: E731
        ys = list(xs)
        sort_func(ys, cmp)
        assert [y[0] for y in ys] == sorted(x[0] for x in xs) and sorted(ys) == sorted(xs)
        zs = list(xs)
        sort_func(zs, cmp, key=lambda a: a[0])
        assert zs == ys, n  # the fast paths give the same order as the port
        if n <= 12:
            assert ys == sorted(xs, key=lambda a: a[0])  # insertion sort: stable


def test_cli_routes_trace_to_default_command(monkeypatch):
    from diagnose import cli

    assert "dump" in cli.command_names()
    assert cli.route(["dump", "x.trace"]) == ["dump", "x.trace"]
    monkeypatch.setattr(cli, "command_names", lambda: {"dump", "diagnose"})
    assert cli.route(["x.trace", "--json"]) == ["diagnose", "x.trace", "--json"]
    assert cli.route(["dump", "x.trace"]) == ["dump", "x.trace"]
    assert cli.route(["--help"]) == ["--help"]


_GO_SORT = """package main

import (
	"bufio"
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

type kv struct{ k, i int }

func main() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for sc.Scan() {
		var xs []kv
		for i, f := range strings.Fields(sc.Text()) {
			k, _ := strconv.Atoi(f)
			xs = append(xs, kv{k, i})
		}
		slices.SortFunc(xs, func(a, b kv) int { return cmp.Compare(a.k, b.k) })
		for j, x := range xs {
			if j > 0 {
				fmt.Fprint(w, " ")
			}
			fmt.Fprint(w, x.i)
		}
		fmt.Fprintln(w)
	}
}
"""


@pytest.mark.gotoolchain
def test_sort_func_port_matches_go(go_oracle, tmp_path):
    """With many equal keys, our slices.SortFunc port leaves elements in Go's order."""
    import subprocess

    from tests.conftest import go_env

    (tmp_path / "main.go").write_text(_GO_SORT)
    (tmp_path / "go.mod").write_text("module sortcheck\n\ngo 1.22\n")
    env = go_env()
    exe = tmp_path / "sortcheck"
    subprocess.run([str(go_oracle), "build", "-o", str(exe), "."], cwd=tmp_path, env=env, check=True)
    rnd = random.Random(11)
    cases = []
    for n in (13, 30, 49, 50, 64, 100, 257, 1000, 3000):
        for spread in (2, 5, n // 4 + 1):
            cases.append([rnd.randrange(spread) for _ in range(n)])
        cases.append(sorted(rnd.randrange(n // 3 + 1) for _ in range(n))[::-1])
    inp = "".join(" ".join(map(str, c)) + "\n" for c in cases)
    out = subprocess.run([str(exe)], input=inp, capture_output=True, text=True, check=True).stdout.splitlines()
    cmp = lambda a, b: (a[0] > b[0]) - (a[0] < b[0])  # noqa: E731
    for keys, want in zip(cases, out):
        xs = [(k, i) for i, k in enumerate(keys)]
        sort_func(xs, cmp)
        assert " ".join(str(i) for _, i in xs) == want, len(keys)


@pytest.mark.parametrize("t", SMALL or [None], ids=[f"go1.{t[2]}" for t in SMALL] or ["none"])
def test_read_event_loop_equals_fast_generator(t):
    """Reader.read_event() (Go's ReadEvent, step by step) == the inlined iter_events()."""
    if t is None:
        pytest.skip("no fixture traces")
    from diagnose.read import version, wire
    from diagnose.read.reader import Reader

    data = t[1].read_bytes()
    ver, hlen = version.parse_header(data[:64])

    def reader():
        src = wire.Source(data)
        src.skip(hlen)
        return Reader(src, ver)

    slow = []
    r = reader()
    while True:
        try:
            slow.append(str(r.read_event()))
        except EOFError:
            break
    fast = [str(e) for e in reader().iter_events()]
    assert slow == fast and len(fast) > 2
