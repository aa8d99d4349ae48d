"""The graph stage's compiled paths against their numpy reference, on real traces (issue 18).

`_fastscan.held_runs` (who held the Ps in a window: every chain's holders), `_fastgraph.demand_scan`
(demand.p_demand's per-interval pass), and the timeline scans the graph leans on
(`_fastscan.bursts`, `cpu_masks`, `held_reduce` and its block summaries) must give the same values,
dtypes and order as the numpy code, which runs when the kernels are not built or
NETPOLL_DIAGNOSE_PURE is set -- and the diagnosis must not change with them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from diagnose.graph import build_graph
from diagnose.graph import chains as C
from diagnose.graph import demand as D
from diagnose.graph import fast as F
from diagnose.pipeline import analyse, open_input
from diagnose.timeline import analysis as A
from diagnose.timeline import build_timelines, load_columns
from diagnose.timeline.columns import G_RUNNING

pytestmark = pytest.mark.usefixtures("kernels_selectable")  # tests/conftest.py

REPO = Path(__file__).resolve().parent.parent
TRACES = REPO / "fixtures" / "traces"
#: starvation (one P, long runnable windows over many short runs), busy-but-healthy and
#: preempting handlers, on the old (converted) and the newest formats
CASES = sorted(p for pat in ("gomaxprocs-procs1-burst-go1.2[27]*.trace", "gomaxprocs-procs1-handlers-go1.2[17]*.trace",
                             "healthy-heavy-go1.2[27]*.trace", "gomaxprocs-procs1-burst-go1.19*.trace")
               for p in TRACES.glob(pat))

needs_graph = pytest.mark.skipif(F._fastgraph is None, reason="compiled graph queries not built (no C compiler)")
needs_scan = pytest.mark.skipif(A._fastscan is None, reason="compiled scans not built (no C compiler)")


@pytest.fixture(scope="module", params=CASES, ids=lambda p: p.stem)
def built(request):
    """(timelines, graph) of one trace, shared by the tests of this module."""
    tl = build_timelines(load_columns(request.param))
    return tl, build_graph(tl)


def _pure(monkeypatch) -> None:
    monkeypatch.setattr(F, "_fastgraph", None)
    monkeypatch.setattr(A, "_fastscan", None)


def test_cases_exist():
    assert len(CASES) >= 6, CASES


def _windows(tl, cg) -> list[tuple[int, int, int | None]]:
    """The windows the features ask about (the slowest wake-ups, excluding the woken goroutine),
    plus windows over the whole trace and arbitrary ones, with and without an exclusion."""
    wk = cg.wakeups
    r = wk["runnable_iv"]
    out = [(int(tl.iv_start[i]), int(tl.iv_end[i]), int(tl.iv_g[i])) for i in r[np.argsort(-tl.iv_dur[r])[:40]]]
    out.append((tl.t0, tl.t_end, None))
    rng = np.random.default_rng(7)
    for _ in range(40):
        a = int(rng.integers(tl.t0, tl.t_end + 1))
        out.append((a, a + int(rng.integers(0, 20_000_000)), int(rng.choice(tl.gor_id)) if rng.random() < 0.5 else None))
    return out


@needs_scan
def test_held_runs_identical(built, monkeypatch):
    tl, cg = built
    wins = _windows(tl, cg)
    fast = [C.held_runs(cg, a, b, ex, n) for a, b, ex in wins for n in (3, 50)]
    _pure(monkeypatch)
    ref = [C.held_runs(cg, a, b, ex, n) for a, b, ex in wins for n in (3, 50)]
    assert sum(map(len, ref)) > 0, "some window should have holders"
    assert fast == ref


@needs_graph
def test_demand_identical(built, monkeypatch):
    tl, cg = built
    fast_scan = D._scan(tl)
    fast = cg.demand(0)
    _pure(monkeypatch)
    ref_scan = D._scan(tl)
    assert cg.demand(0) == fast
    for name in ("run_ns", "runs", "longest", "preempted"):
        x, y = getattr(fast_scan, name), getattr(ref_scan, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    assert fast_scan.runnable_ns == ref_scan.runnable_ns


@needs_scan
def test_bursts_and_cpu_masks_identical(built, monkeypatch):
    tl, _cg = built
    user_run = (tl.iv_state == G_RUNNING) & ~tl.gor_is_system[tl.iv_gor]
    low = int(np.median(tl.burst_run_ns[tl.burst_id[user_run]]))  # half the user runs' bursts reach it

    def masks(t):
        return (t.burst_id, t.burst_run_ns, t.cpu_bound_mask(low), t.cpu_hog_mask(low, 0.0),
                t.cpu_bound_mask(), t.cpu_bound_mask(low, user_only=False), t.cpu_hog_mask(), t.cpu_hog_mask(low, 0.05))

    got = masks(build_timelines(tl.cols))
    _pure(monkeypatch)
    want = masks(build_timelines(tl.cols))
    assert want[2].any() and want[3].any()
    for x, y in zip(got, want):
        assert x.dtype == y.dtype and np.array_equal(x, y)


@needs_scan
def test_held_reduce_block_path(built, monkeypatch):
    """Windows covering many runs each take held_reduce's block summaries (more pairs than 4
    per run): still the reference's rows."""
    tl, _cg = built
    ri = tl.run_index
    if ri.run.shape[0] < 256:
        pytest.skip("too few runs for block summaries")
    rng = np.random.default_rng(3)
    span = tl.t_end - tl.t0
    ws = np.concatenate([rng.integers(tl.t0, tl.t0 + span // 2, 40), [tl.t0], rng.integers(tl.t0, tl.t_end, 40)])
    we = ws + np.concatenate([np.full(40, span // 2), [span], rng.integers(0, span // 50 + 1, 40)])
    counts = A.held_pair_counts(tl, ws, we)
    assert int(np.sum(counts[2])) > 4 * ri.run.shape[0], "the block path should be taken"
    fast = A.held_p_by_goroutine(tl, ws, we, counts=counts)
    _pure(monkeypatch)
    ref = A.held_p_by_goroutine(tl, ws, we, counts=counts)
    for name in ("window", "g", "overlap", "first"):
        x, y = getattr(fast, name), getattr(ref, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name


@needs_scan
def test_syscalls_identical(built, monkeypatch):
    tl, cg = built
    fast = A.syscalls(tl)
    _pure(monkeypatch)
    ref = A.syscalls(tl)
    assert len(ref) > 0
    for name, y in vars(ref).items():
        x = getattr(fast, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name


@needs_scan
def test_start_stacks_and_connections_identical(built, monkeypatch):
    """gor_start_stk (goroutine names) and the connection goroutines, compiled and numpy."""
    tl, cg = built
    fast = build_timelines(tl.cols)
    got_stk, got_conn = fast.gor_start_stk, A.connections(fast, cg.nw)
    _pure(monkeypatch)
    ref = build_timelines(tl.cols)
    want_stk, want_conn = ref.gor_start_stk, A.connections(ref, cg.nw)
    assert (want_stk > 0).any()
    assert got_stk.dtype == want_stk.dtype and np.array_equal(got_stk, want_stk)
    for name, y in vars(want_conn).items():
        x = getattr(got_conn, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name


@needs_scan
def test_run_index_identical(built, monkeypatch):
    """`_fastscan.run_index` (the running intervals by P, radix-sorted by start) gives the numpy
    code's run_iv, run_index arrays and proc_running_ns: same values, dtypes and order (ties in
    start kept in row order, as np.lexsort keeps them)."""
    tl, _cg = built
    fast = build_timelines(tl.cols)
    got = (fast.run_iv, fast.run_index, fast.proc_running_ns)
    assert fast.__dict__["_run_index_fast"] is not None, "the compiled pass should be taken"
    _pure(monkeypatch)
    ref = build_timelines(tl.cols)
    want = (ref.run_iv, ref.run_index, ref.proc_running_ns)
    assert want[0].shape[0] > 0 and want[1].n_procs >= 1
    assert got[0].dtype == want[0].dtype and np.array_equal(got[0], want[0])
    for name in ("run", "start", "end", "end_max", "gor", "segoff"):
        x, y = getattr(got[1], name), getattr(want[1], name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    assert got[2] == want[2] == int(ref.iv_dur[ref.iv_state == G_RUNNING].sum())


@needs_scan
def test_gor_states_identical(built, monkeypatch):
    """`_fastscan.gor_states` gives the numpy code's per-goroutine time and interval count in
    each state (the float64 bincount of integer durations is exact, so the values match)."""
    tl, _cg = built
    fast = build_timelines(tl.cols)
    got = fast.gor_state_ns, fast.gor_state_counts
    assert fast.__dict__["_gor_states_fast"] is not None, "the compiled pass should be taken"
    _pure(monkeypatch)
    ref = build_timelines(tl.cols)
    want = ref.gor_state_ns, ref.gor_state_counts
    assert want[1].sum() == ref.iv_state.shape[0] and (want[0][:, G_RUNNING] > 0).any()
    for x, y in zip(got, want):
        assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y)


@needs_scan
def test_column_runs_identical(built, monkeypatch):
    """`_fastscan.col_runs` (thread and P change points, P transitions, metric rows in one pass)
    gives the numpy code's threads, their first times, Ps, P steals and GOMAXPROCS changes."""
    tl, _cg = built
    fast = build_timelines(tl.cols)
    got = (*fast.thread_first_seen, fast.procs, fast.proc_steals, fast.gomaxprocs_changes)
    assert fast._col_runs is not None, "the compiled pass should be taken"
    _pure(monkeypatch)
    ref = build_timelines(tl.cols)
    assert ref._col_runs is None
    want = (*ref.thread_first_seen, ref.procs, ref.proc_steals, ref.gomaxprocs_changes)
    assert want[0].shape[0] > 0 and want[2].shape[0] > 0 and want[4]
    for x, y in zip(got[:4], want[:4]):
        assert x.dtype == y.dtype and np.array_equal(x, y)
    assert got[4] == want[4]


def test_rank_holders_by_index_is_rank_holders(built):
    """Ranking the P holders over the goroutine index gives rank_holders' arrays (goroutines,
    row groups, totals, order with ties by first appearance) on the pairs of real windows,
    including ones where goroutines tie (equal overlap, made by a constant overlap)."""
    tl, cg = built
    wins = _windows(tl, cg)
    pairs = A.held_p_pairs(tl, np.array([w[0] for w in wins]), np.array([w[1] for w in wins]))
    assert pairs.run_iv.shape[0] > 0
    for k in np.unique(pairs.window).tolist():
        sel = pairs.window == k
        ri, ov = pairs.run_iv[sel], pairs.overlap[sel]
        for o in (ov, np.ones_like(ov)):
            got = C.rank_holders_by_index(tl.iv_gor[ri], o, tl.gor_id)
            want = C.rank_holders(tl.iv_g[ri], o)
            for x, y in zip(got, want):
                assert x.dtype == y.dtype and np.array_equal(x, y)


def test_run_by_p_is_the_run_index(built):
    """The graph's per-P split (late timers read it) is the run index's rows, P by P."""
    tl, cg = built
    parts = cg.run_by_p
    assert np.array_equal(np.concatenate([seg for seg, _s, _e in parts]), tl.run_iv)
    for seg, s, em in parts:
        assert (tl.iv_p[seg] == tl.iv_p[seg[0]]).all()
        assert np.array_equal(s, tl.iv_start[seg]) and np.array_equal(em, np.maximum.accumulate(tl.iv_end[seg]))


@needs_graph
def test_features_unchanged_without_the_kernels(monkeypatch):
    path = next(p for p in CASES if "burst-go1.27" in p.name)
    with open_input(path) as inp:
        fast = analyse(inp).features.model_dump_json()
    _pure(monkeypatch)
    with open_input(path) as inp:
        assert analyse(inp).features.model_dump_json() == fast


class _Counting:
    """A compiled module whose functions count their calls."""

    def __init__(self, mod) -> None:
        self._mod, self.calls = mod, {}

    def __getattr__(self, name):
        fn = getattr(self._mod, name)

        def counted(*a, **k):
            self.calls[name] = self.calls.get(name, 0) + 1
            return fn(*a, **k)

        return counted


@needs_graph
@needs_scan
def test_diagnosis_engages_the_compiled_paths(monkeypatch):
    """A diagnosis takes every compiled graph-stage path when it is built (none silently falls
    back to numpy because of a dtype or layout it did not expect)."""
    monkeypatch.delenv("NETPOLL_DIAGNOSE_PURE", raising=False)
    scan, graph = _Counting(A._fastscan), _Counting(F._fastgraph)
    monkeypatch.setattr(A, "_fastscan", scan)
    monkeypatch.setattr(F, "_fastgraph", graph)
    with open_input(next(p for p in CASES if "burst-go1.27" in p.name)) as inp:
        analyse(inp)
    want = {"held_runs", "run_blocks", "held_reduce", "bursts", "cpu_masks", "syscalls_fill", "first_stacks",
            "gor_flagged", "timelines_scan"}
    assert want <= set(scan.calls), scan.calls
    assert graph.calls.get("demand_scan") == 1


@needs_scan
def test_rejects_inconsistent_input(built):
    """Bad shapes and indices are a Python error, never a read past a buffer."""
    i64 = np.int64
    z = np.zeros(3, i64)
    fs = A._fastscan
    with pytest.raises(ValueError):  # goroutine index past ngor
        fs.held_runs(z, z + 5, z + 5, np.array([0, 9, 0], i64), np.array([0, 3], i64), 0, 10, -1, 3, 2)
    with pytest.raises(ValueError):  # segoff past the runs
        fs.held_runs(z, z, z, z, np.array([0, 4], i64), 0, 10, -1, 3, 2)
    with pytest.raises(TypeError):
        fs.held_runs(z.astype(np.int32), z, z, z, np.array([0, 3], i64), 0, 10, -1, 3, 2)
    with pytest.raises(ValueError):  # blocks of another timeline's runs
        fs.held_runs(z, z + 5, z + 5, z, np.array([0, 3], i64), 0, 10, -1, 3, 2, built[0].run_blocks())
    with pytest.raises(ValueError):
        fs.run_blocks(z, z + 5, np.array([0, 9, 0], i64), np.array([0, 3], i64), 2)


@needs_graph
def test_demand_scan_rejects_bad_links():
    z = np.zeros(3, np.int64)
    st = np.array([1, 1, 1], np.int8)  # Runnable (code 1 below), linked past the end
    with pytest.raises(ValueError):
        F._fastgraph.demand_scan(st, np.zeros(3, bool), z, z, np.array([-1, 7, 1], np.int32),
                                 np.array([1, 2, -1], np.int32), z, z, 1, 1, 2)
