"""Features on the fixture corpus: each scenario separates from the healthy controls.

For every Go version in the corpus (fixtures/manifest.json), each feature listed in
SEPARATIONS must be larger on every trace of its scenario (variants as listed) than on every
healthy control of the same Go version, by a clear margin:

    min(scenario) >= max(RATIO * max(healthy), max(healthy) + ABS)

The values are computed from the real traces; nothing here is typed in by hand except the
margins. `NETPOLL_FIXTURES_MANIFEST` may point at another manifest of the same shape.
"""
from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.corpus import MANIFEST, PRESENT as ENTRIES, or_skip_unsupported

REPO = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.skipif(not ENTRIES, reason=f"fixture corpus not present ({MANIFEST})")


def norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def minor(go: str) -> str:
    """'1.22.10' -> '1.22'."""
    return ".".join(go.removeprefix("go").split(".")[:2])


def is_healthy(e) -> bool:
    """A healthy control that really was healthy in its run (manifest `reproduced`)."""
    return norm(e.scenario) == "healthy" and e.reproduced


@functools.lru_cache(maxsize=None)
def features(path: str):
    from diagnose.features import extract

    return or_skip_unsupported(extract, path)


def get(f, path: str) -> float:
    v = f
    for part in path.split("."):
        v = getattr(v, part)
    return float(v)


#: (scenario, variants or None for all, feature path, RATIO, ABS)
SEPARATIONS = [
    ("gomaxprocs", None, "scheduling.wake_to_run_after_wakeup.p95_ms", 5.0, 5.0),
    # the hog variants; procs1-handlers starves the P with short bursts (no hog): the graph's
    # p_demand says so (tests/test_graph_causal.py)
    ("gomaxprocs", ["procs1-burn", "procs1-burst"], "scheduling.share_behind_cpu_bound_after_wakeup", 3.0, 0.4),
    ("fdreuse", ["control-close"], "fds.raw_close_count", 2.0, 3),
    ("fdreuse", ["newfile-finalizer"], "fds.finalizer_close_count", 2.0, 3),
    ("fdreuse", None, "network.never_ended_after_close_count", 2.0, 2),
    ("tlsbypass", None, "fds.set_blocking_count", 2.0, 3),
    ("tlsbypass", None, "syscalls.max_concurrent", 2.0, 4),
    ("tlsbypass", None, "threads.max_threads", 2.0, 4),
    ("customlistener", None, "syscalls.raw_user_io_count", 2.0, 10),
    ("customlistener", None, "syscalls.blocking_accept_count", 2.0, 2),
    ("customlistener", None, "syscalls.max_concurrent", 2.0, 4),
    ("slowconsumer", None, "network.write_wait_share", 2.0, 0.3),
    ("slowconsumer", None, "network.write_waits.count", 2.0, 5),
    ("gcpressure", None, "gc.gc_time_share", 3.0, 0.05),
    ("syscallstorm", None, "syscalls.write_per_s", 2.0, 1000),
]


def _cases():
    versions = sorted({minor(e.go) for e in ENTRIES})
    for scen, variants, path, ratio, absm in SEPARATIONS:
        for v in versions:
            bug = [e for e in ENTRIES if norm(e.scenario) == norm(scen) and minor(e.go) == v and e.reproduced
                   and (variants is None or e.variant in variants)]
            ok = [e for e in ENTRIES if is_healthy(e) and minor(e.go) == v]
            if bug and ok:
                yield pytest.param(scen, path, ratio, absm, bug, ok, id=f"{scen}-{path}-go{v}")


def scenarios_present():
    return {norm(e.scenario) for e in ENTRIES}


@pytest.mark.parametrize("scen, path, ratio, absm, bug, ok", list(_cases()))
def test_feature_separates_scenario_from_healthy(scen, path, ratio, absm, bug, ok):
    bug_vals = {f"{e.variant}": get(features(str(e.trace)), path) for e in bug}
    ok_vals = {f"{e.variant}": get(features(str(e.trace)), path) for e in ok}
    hi = max(ok_vals.values())
    need = max(ratio * hi, hi + absm)
    lo = min(bug_vals.values())
    assert lo >= need, f"{path}: {scen} {bug_vals} vs healthy {ok_vals}: need >= {need}"


def test_every_listed_scenario_has_a_separating_feature():
    """Each bug scenario in the corpus is covered by at least one separation case (controls --
    healthy and the confounders, which expect no cause -- are what they are separated from)."""
    covered = {norm(s) for s, *_ in SEPARATIONS}
    controls = {norm(e.scenario) for e in ENTRIES if not e.expected_causes}
    missing = sorted(s for s in scenarios_present() if s not in controls and s not in covered)
    assert not missing, f"scenarios without a separating feature: {missing}"


def _pick(pred):
    for e in ENTRIES:
        if pred(e):
            return e
    pytest.skip("no such fixture in the corpus")


def test_flagging_features_carry_evidence():
    """Features that flag something cite goroutines, time windows and stacks."""
    e = _pick(lambda e: norm(e.scenario) == "gomaxprocs")
    f = features(str(e.trace))
    ev = f.scheduling.evidence
    assert ev, "CPU-bound goroutines must be cited"
    assert any(x.goroutines and x.start_ns is not None and x.stack for x in ev)
    e = _pick(lambda e: norm(e.scenario) == "fdreuse" and e.variant == "control-close")
    f = features(str(e.trace))
    raw = [x for x in f.fds.evidence if "raw close" in x.note]
    assert raw and raw[0].goroutines and raw[0].stack
    assert any(fr.func.startswith("syscall.") for fr in raw[0].stack)


def test_conn_counts_are_the_counts_over_conns():
    """f.fds' counts over the conns (what the fd_reuse rules read instead of a quadratic CEL
    filter) are the same counts as filtering f.conns, on every fd-reuse trace and a healthy one;
    and each is non-zero on some trace, so the comparison is not between zeros."""
    seen = set()
    picked = [e for e in ENTRIES if norm(e.scenario) in {"fdreuse", "healthy", "rawowner", "filedup"}]
    assert picked
    for e in picked:
        f = features(str(e.trace))
        want = {
            "raw_closed_held_count": sum(c.closed_by == "raw_user" and c.owner in ("net", "os.File") for c in f.conns),
            "user_fd_owner_close_count": sum(c.owner == "user" and c.closed_by == "owner" for c in f.conns),
            "os_file_wrapped_count": sum(c.co_owner == "os.File" for c in f.conns),
            "rawconn_borrowed_count": sum("RawConn" in c.borrowed for c in f.conns),
        }
        assert {k: getattr(f.fds, k) for k in want} == want, e.trace
        seen |= {k for k, v in want.items() if v}
    assert seen == {"raw_closed_held_count", "user_fd_owner_close_count", "os_file_wrapped_count",
                    "rawconn_borrowed_count"}


def test_healthy_controls_flag_nothing_fd_related():
    for e in ENTRIES:
        if not is_healthy(e):
            continue
        f = features(str(e.trace))
        assert f.fds.raw_close_count == 0 and f.fds.finalizer_close_count == 0 and f.fds.set_blocking_count == 0, e
        assert f.syscalls.raw_user_io_count == 0 and f.syscalls.blocking_accept_count == 0, e


def test_trace_info_matches_header():
    for e in ENTRIES[:10]:
        f = features(str(e.trace))
        assert f.trace.duration_ms > 0 and f.trace.event_count > 0 and f.trace.goroutine_count > 0
        assert f.trace.go_version.startswith("go 1.")
        assert f.trace.gomaxprocs_min >= 1


def test_features_json_cli_prints_the_model():
    from diagnose.features import Features

    e = min(ENTRIES, key=lambda e: e.trace.stat().st_size)
    out = subprocess.run([sys.executable, "-m", "diagnose.cli", "features", str(e.trace), "--json"],
                         capture_output=True, text=True, cwd=REPO, timeout=600)
    assert out.returncode == 0, out.stderr
    f = Features.model_validate_json(out.stdout)
    assert f.model_dump() == features(str(e.trace)).model_dump()
    text = subprocess.run([sys.executable, "-m", "diagnose.cli", "features", str(e.trace)],
                          capture_output=True, text=True, cwd=REPO, timeout=600)
    assert text.returncode == 0 and "wake-to-run" in text.stdout


def test_features_cli_bad_input_is_one_line(tmp_path):
    bad = tmp_path / "not.trace"
    bad.write_bytes(b"hello, not a trace")
    out = subprocess.run([sys.executable, "-m", "diagnose.cli", "features", str(bad)], capture_output=True,
                         text=True, cwd=REPO, timeout=120)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def separation_table() -> str:
    """The table for the report: feature value per scenario per Go version vs healthy max."""
    rows = []
    versions = sorted({minor(e.go) for e in ENTRIES})
    for scen, variants, path, ratio, absm in SEPARATIONS:
        for v in versions:
            bug = [e for e in ENTRIES if norm(e.scenario) == norm(scen) and minor(e.go) == v
                   and (variants is None or e.variant in variants)]
            ok = [e for e in ENTRIES if is_healthy(e) and minor(e.go) == v]
            if not bug or not ok:
                continue
            b = min(get(features(str(e.trace)), path) for e in bug)
            h = max(get(features(str(e.trace)), path) for e in ok)
            rows.append(f"{scen:15s} {path:48s} go{v:5s} scenario min {b:10.3f}  healthy max {h:8.3f}")
    return "\n".join(rows)


if __name__ == "__main__":  # python tests/test_features.py  -> prints the separation table
    print(separation_table())


@pytest.mark.parametrize("name", ["syscallstorm-chunked-flush16-go1.27.3.trace", "customlistener-blocking-go1.19.8.trace"])
def test_max_concurrent_syscalls_is_the_sweep_maximum(name):
    """`syscalls.max_concurrent` (sorted starts against sorted ends) equals the plain event
    sweep -- +1 at a start, -1 at an end, ends first at equal times -- on real syscalls, and
    with every interval shifted onto shared timestamps (ties everywhere)."""
    import numpy as np

    from diagnose.features.compute import _max_concurrent
    from diagnose.timeline import load_timelines
    from diagnose.timeline.analysis import syscalls

    path = REPO / "fixtures" / "traces" / name
    if not path.exists():
        pytest.skip(f"{name} is not in this checkout")
    sc = syscalls(load_timelines(str(path)))
    assert len(sc) > 10

    def sweep(start, end):
        t = np.concatenate((start, end))
        d = np.concatenate((np.ones(start.shape[0], np.int64), -np.ones(end.shape[0], np.int64)))
        return int(np.cumsum(d[np.lexsort((d, t))]).max())

    for s, e in ((sc.start, sc.end), (sc.start // 1_000_000, sc.end // 1_000_000)):
        assert _max_concurrent(s, e) == sweep(s, e)


def test_fd_of_a_child_process_stdio_is_not_a_socket_switched_to_blocking():
    """os/exec hands a child its stdio through os.StartProcess, which calls (*os.File).Fd() on
    them (blocking mode, as a child expects): not a connection switched to blocking. The execlog
    trace that spawns a child in its window has that stack, and no set_blocking count for it
    (it gave a wrong tls_fd_bypass warning before); the harness tlsbypass traces still count."""
    from diagnose.timeline import build_timelines, load_columns

    path = REPO / "fixtures" / "traces" / "gen" / "execlog-highlight95-go1.19.8.trace"
    if not path.is_file():
        pytest.skip(f"generalisation corpus not present ({path})")
    st = build_timelines(load_columns(str(path))).stacks
    spawn = [i for i, f in enumerate(st.funcs) if "os.(*File).Fd" in f and "os.startProcess" in f]
    assert spawn and not st.set_blocking[spawn].any()
    assert features(str(path)).fds.set_blocking_count == 0
    fd = [e for e in ENTRIES if norm(e.scenario) == "tlsbypass" and e.variant == "plain-fd"]
    assert fd and all(features(str(e.trace)).fds.set_blocking_count > 0 for e in fd)


@pytest.mark.parametrize("frames,child,blocking", [
    # Go <= 1.24: Fd() switches the descriptor itself
    (["syscall.fcntl", "syscall.SetNonblock", "internal/poll.(*FD).SetBlocking", "os.(*File).Fd",
      "os.startProcess", "os.StartProcess", "os/exec.(*Cmd).Start", "main.job"], True, False),
    # Go >= 1.25: Fd() calls fd(), which switches it
    (["syscall.fcntl", "syscall.SetNonblock", "internal/poll.(*FD).SetBlocking", "os.(*File).fd",
      "os.(*File).Fd", "os.startProcess", "os.StartProcess", "main.job"], True, False),
    # the program's own Fd() on a socket's file: a connection switched to blocking
    (["syscall.fcntl", "syscall.SetNonblock", "internal/poll.(*FD).SetBlocking", "os.(*File).fd",
      "os.(*File).Fd", "main.sniff"], False, True),
])
def test_set_blocking_tells_a_child_s_files_from_the_program_s_own(frames, child, blocking):
    """The stack shapes of both Go eras (os/file.go: Fd() became a call of fd() in Go 1.25)."""
    from diagnose.timeline.stacks import StackInfo

    st = StackInfo.__new__(StackInfo)  # the stack table alone: id 0 = no stack, id 1 = `frames`
    st.n, st._funcs = 2, [[], frames]
    assert st.set_blocking_for_child.tolist() == [False, child]
    assert st.set_blocking.tolist() == [False, blocking]
