"""pprof profiles (`netpoll-diagnose profile`) against `go tool trace -pprof=<kind>`.

* with Go (marker `gotoolchain`; Go 1.27.3 from tools/gotoolchains.py, skipped with the reason
  when it cannot be had): on every fixture trace and every kind, our profile has exactly Go's
  totals (sum of each sample type) and the same values stack by stack; `go tool pprof` opens
  our file;
* without Go: our totals equal the ones Go's tool computed for the committed fixture traces,
  recorded in tests/data/profile_expected_totals.json (regenerate with
  `python tests/test_profile.py --regen` after the corpus changes; traces whose bytes changed
  since are reported, not compared).
"""
from __future__ import annotations

import functools
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.corpus import MANIFEST, PRESENT as ENTRIES, entry_id as _id, or_skip_unsupported
from tests.support.gotool import go_env

REPO = Path(__file__).resolve().parent.parent
EXPECTED = REPO / "tests" / "data" / "profile_expected_totals.json"
KINDS = ("net", "sync", "syscall", "sched")
GO_VERSION = "1.27.3"


@functools.lru_cache(maxsize=None)
def columns(path: str):
    from diagnose.timeline import load_columns

    return or_skip_unsupported(load_columns, path)


def ours(path: str, kind: str):
    from diagnose.report.pprof import build_profile, compute_records

    return build_profile(compute_records(columns(path), kind))


def _go_env() -> dict[str, str]:
    return go_env(GO_VERSION)


def find_go() -> tuple[str | None, str]:
    try:
        from tools.gotoolchains import go_binary

        return str(go_binary(GO_VERSION)), ""
    except ImportError as exc:
        return None, f"tools/gotoolchains.py not importable ({exc})"
    except Exception as exc:  # noqa: BLE001 - ToolchainUnavailable, install failures
        return None, f"Go {GO_VERSION} cannot be had here: {exc}"


@pytest.fixture(scope="session")
def go_cmd() -> str:
    go, why = find_go()
    if go is None:
        pytest.skip(why)
    return go


def go_profile(go: str, trace: str, kind: str):
    from tests.support.pprof_read import read_profile

    out = subprocess.run([go, "tool", "trace", f"-pprof={kind}", trace], capture_output=True, env=_go_env(),
                         timeout=900)
    assert out.returncode == 0, out.stderr.decode(errors="replace")[-2000:]
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pb") as fh:
        fh.write(out.stdout)
        fh.flush()
        return read_profile(fh.name)


# --------------------------------------------------------------------------- against Go
@pytest.mark.gotoolchain
@pytest.mark.skipif(not ENTRIES, reason=f"fixture corpus not present ({MANIFEST})")
@pytest.mark.parametrize("entry", ENTRIES, ids=_id)
def test_profiles_match_go_tool_trace(entry, go_cmd):
    from tests.support.pprof_read import profile_by_stack, profile_totals

    for kind in KINDS:
        mine, theirs = ours(str(entry.trace), kind), go_profile(go_cmd, str(entry.trace), kind)
        assert profile_totals(mine) == profile_totals(theirs), kind
        assert profile_by_stack(mine) == profile_by_stack(theirs), kind
        assert len(mine.location) == len(theirs.location) and len(mine.function) == len(theirs.function), kind


@pytest.mark.gotoolchain
@pytest.mark.skipif(not ENTRIES, reason=f"fixture corpus not present ({MANIFEST})")
def test_go_tool_pprof_opens_our_profile(go_cmd, tmp_path):
    e = max(ENTRIES, key=lambda e: e.trace.stat().st_size)
    out = tmp_path / "net.pb.gz"
    r = subprocess.run([sys.executable, "-m", "diagnose.cli", "profile", str(e.trace), "--kind", "sched", "-o",
                        str(out)], capture_output=True, text=True, cwd=REPO, timeout=900)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    top = subprocess.run([go_cmd, "tool", "pprof", "-top", "-unit=ns", str(out)], capture_output=True, text=True,
                         env=_go_env(), timeout=300)
    assert top.returncode == 0, top.stderr
    assert "Type: delay" in top.stdout
    from tests.support.pprof_read import profile_totals, read_profile

    total = profile_totals(read_profile(out))["delay/nanoseconds"]
    assert f"of {total}ns total" in top.stdout.replace(",", "") or total == 0, top.stdout[:500]


# --------------------------------------------------------------------------- without Go
def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rel(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(REPO))
    except ValueError:
        return str(p)


def test_profiles_match_recorded_go_totals():
    if not EXPECTED.is_file():
        pytest.skip(f"{EXPECTED.name} not recorded yet (python tests/test_profile.py --regen)")
    from tests.support.pprof_read import profile_totals

    rec = json.loads(EXPECTED.read_text())
    compared, changed = 0, []
    for rel, want in sorted(rec["traces"].items()):
        p = REPO / rel
        if not p.exists() or _sha(p) != want["sha256"]:
            changed.append(rel)
            continue
        for kind in KINDS:
            t = profile_totals(ours(str(p), kind))
            got = [t.get("contentions/count", 0), t.get("delay/nanoseconds", 0)]
            assert got == want[kind], f"{rel} -pprof={kind}: ours {got}, go tool trace {want[kind]}"
        compared += 1
    if compared == 0:
        pytest.skip(f"no recorded trace is present unchanged (changed or missing: {len(changed)})")


def test_folded_and_gzip_outputs(tmp_path):
    if not ENTRIES:
        pytest.skip(f"fixture corpus not present ({MANIFEST})")
    from diagnose.report.pprof import compute_records, folded
    from tests.support.pprof_read import profile_totals, read_profile

    e = min(ENTRIES, key=lambda e: e.trace.stat().st_size)
    rec = compute_records(columns(str(e.trace)), "sched")
    text = folded(rec)
    assert sum(int(line.rsplit(" ", 1)[1]) for line in text.splitlines()) == rec.total_ns
    assert all(";" in line or line.startswith("<") for line in text.splitlines()[:5])
    out = tmp_path / "x.pb.gz"
    r = subprocess.run([sys.executable, "-m", "diagnose.cli", "profile", str(e.trace), "-k", "sched", "-o", str(out)],
                       capture_output=True, text=True, cwd=REPO, timeout=600)
    assert r.returncode == 0, r.stderr
    p = read_profile(out)
    assert profile_totals(p)["delay/nanoseconds"] == rec.total_ns
    assert p.string_table[0] == "" and [p.string_table[v.type] for v in p.sample_type] == ["contentions", "delay"]
    assert all(loc.id > 0 for loc in p.location) and all(fn.id > 0 for fn in p.function)
    r = subprocess.run([sys.executable, "-m", "diagnose.cli", "profile", str(e.trace), "-k", "sched", "--folded"],
                       capture_output=True, text=True, cwd=REPO, timeout=600)
    assert r.returncode == 0 and r.stdout == text


# --------------------------------------------------------------------------- window by window
WINDOW_MB = 0.0005  # each generation of a fixture trace its own window


@functools.lru_cache(maxsize=None)
def _multi_generation() -> list[Path]:
    from diagnose import pipeline

    out = []
    for e in ENTRIES:
        if e.trace.suffix == ".trace" and pipeline.plan_windows(pipeline.open_input(e.trace), WINDOW_MB):
            out.append(e.trace)
    # three windows each (the corpus' traces have two: the second their short last generation)
    gen = REPO / "fixtures" / "traces" / "gen"
    return out + [gen / f"capture-inproc-go{v}.trace" for v in ("1.22.10", "1.24.11", "1.25.5", "1.27.3")]


def _addresses(p) -> dict[tuple[int, ...], tuple[int, ...]]:
    """{(leaf PC, ..., root PC): summed values}: the stacks as Go keys them."""
    addr = {loc.id: loc.address for loc in p.location}
    out: dict[tuple[int, ...], list[int]] = {}
    for smp in p.sample:
        acc = out.setdefault(tuple(addr[i] for i in smp.location_id), [0] * len(smp.value))
        for i, v in enumerate(smp.value):
            acc[i] += v
    return {k: tuple(v) for k, v in out.items()}


def test_window_by_window_records_equal_the_whole_trace():
    """`profile` on a big trace reads it window by window (one window's memory): waits open across
    a window's edge, goroutines first seen running in a later window, the clock Go's reader keeps
    across generations -- every kind gives the whole trace's records, stack by stack."""
    from diagnose import pipeline
    from diagnose.report.pprof import WindowedRecords, build_profile, compute_records, folded
    from tests.support.pprof_read import profile_by_stack

    traces = _multi_generation()
    if len(traces) < 10:
        pytest.skip(f"only {len(traces)} fixture traces of several generations (corpus not present?)")
    crossing = 0
    for path in traces:
        inp = pipeline.open_input(path)
        plan = pipeline.plan_windows(inp, WINDOW_MB)
        windows = list(pipeline.columns_by_window(inp, plan))
        whole = pipeline.read_columns(inp)
        for kind in KINDS:
            acc = WindowedRecords(kind)
            for cols in windows:
                acc.add(cols)
            crossing += len(acc._carry[0]) > 0 or bool(acc._pending)
            got, want = acc.records(), compute_records(whole, kind)
            assert (got.total_count, got.total_ns) == (want.total_count, want.total_ns), (path.name, kind)
            g, w = build_profile(got), build_profile(want)
            assert profile_by_stack(g) == profile_by_stack(w), (path.name, kind)
            assert _addresses(g) == _addresses(w), (path.name, kind)
            assert folded(got) == folded(want), (path.name, kind)
    assert crossing, "no case carried a wait across a window's edge: the test would not see that path"


def test_profile_command_uses_windows_on_a_big_trace(tmp_path, monkeypatch):
    from diagnose import pipeline
    from tests.support.pprof_read import read_profile

    traces = _multi_generation()
    if not traces:
        pytest.skip("no fixture trace of several generations (corpus not present?)")
    path = max(traces, key=lambda p: p.stat().st_size)
    seen = []
    real = pipeline.columns_by_window
    monkeypatch.setattr(pipeline, "columns_by_window", lambda *a: (seen.append(a), real(*a))[1])
    from tests.support.cli import run_main_captured

    out = {}
    for mb in ("0", str(WINDOW_MB)):
        monkeypatch.setenv("NETPOLL_DIAGNOSE_WINDOW_MB", mb)
        dest = tmp_path / f"{mb}.pb.gz"
        code, _, err = run_main_captured("profile", str(path), "-k", "sched", "-o", str(dest))
        assert code == 0, err
        out[mb] = _addresses(read_profile(dest))
    assert len(seen) == 1, "windows only for the trace larger than the window"
    assert out["0"] == out[str(WINDOW_MB)] and out["0"]


def test_generated_protobuf_code_is_current():
    """profile_pb2.py is generated from profile.proto (tools/gen_proto.py)."""
    try:
        import grpc_tools  # noqa: F401
    except ImportError:
        pytest.skip("grpcio-tools not installed: cannot regenerate to compare")
    r = subprocess.run([sys.executable, str(REPO / "tools" / "gen_proto.py"), "--check"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def regen() -> None:
    go, why = find_go()
    if go is None:
        sys.exit(why)
    from tests.support.pprof_read import profile_totals

    out = {"generator": f"go tool trace -pprof=<kind> (Go {GO_VERSION})", "traces": {}}
    for e in ENTRIES:
        item = {"sha256": _sha(e.trace)}
        for kind in KINDS:
            t = profile_totals(go_profile(go, str(e.trace), kind))
            item[kind] = [t.get("contentions/count", 0), t.get("delay/nanoseconds", 0)]
        out["traces"][_rel(e.trace)] = item
        print(_rel(e.trace), item)
    EXPECTED.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    if "--regen" in sys.argv:
        regen()
