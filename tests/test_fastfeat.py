"""The features stage's compiled kernels (diagnose/features/_fastfeat.c) against their numpy
reference (issue 18: diagnosis at the speed of Go's reader, both implementations honest).

Every feature must be the same, bit for bit, whether the kernels run or the numpy code does: the
whole `Features` model is compared on real traces of every format family, and each kernel is
compared with the numpy expression it replaces on the real arrays of those traces (durations of
every state, syscalls, network waits, late-timer windows, running intervals by P).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from diagnose.features import compute as K
from diagnose.features import kernel as FK
from diagnose.features import ourcode, timers
from diagnose.graph import build_graph
from diagnose.timeline import analysis as A
from diagnose.timeline import build_timelines, load_columns
from diagnose.timeline.columns import G_RUNNING

REPO = Path(__file__).resolve().parent.parent
TRACES = REPO / "fixtures" / "traces"
#: generalisation traces of several programs, named (they were every 60th Go 1.25/1.27 trace until
#: a new program shifted that selection onto traces whose windows span too few runs for the last
#: assertion of test_busy_stretches_and_held_shares: a fixed sample, not one that moves with the corpus)
GEN_SAMPLE = ("bufmux-burst20", "consumer-gc200", "framed-healthy", "h2tls-gc10", "quiet-busy-hog", "rpcmux-ownsock",
              "unixfeed-idle600")
#: late timer wake-ups (GOMAXPROCS=1), mark assist (GC pressure), syscall storms, blocking
#: listeners, old formats (converted), and the generalisation sample
CASES = sorted(p for pat in ("gomaxprocs-procs1-handlers-go1.2[27]*.trace", "gomaxprocs-procs1-burst-go1.19*.trace",
                             "gcpressure-small-allocs-go1.2[57]*.trace", "gcpressure-big-alloc-go1.19*.trace",
                             "syscallstorm-sse-flush8-go1.27*.trace", "customlistener-blocking-go1.22*.trace",
                             "healthy-heavy-go1.21*.trace", "tlsbypass-plain-fd-go1.27*.trace")
               for p in TRACES.glob(pat)) + [TRACES / "gen" / f"{name}-go1.25.5.trace" for name in GEN_SAMPLE]

needs_feat = pytest.mark.skipif(FK._fastfeat is None, reason="compiled features kernels not built (no C compiler at "
                                                              "install)")

pytestmark = pytest.mark.usefixtures("kernels_selectable")  # tests/conftest.py


@lru_cache(maxsize=None)
def _analysed(path: Path):
    tl = build_timelines(load_columns(path))
    return tl, build_graph(tl)


def _counting(module, calls: dict) -> SimpleNamespace:
    """The module's functions, each counting its calls into `calls`."""
    def wrap(name):
        real = getattr(module, name)

        def f(*a):
            calls[name] = calls.get(name, 0) + 1
            return real(*a)
        return f
    return SimpleNamespace(**{n: wrap(n) for n in dir(module) if not n.startswith("_")})


def test_cases_exist():
    assert len(CASES) >= 10, CASES


@needs_feat
@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_features_identical(path, monkeypatch):
    tl, cg = _analysed(path)
    fast = K.compute_features(tl, {}, None, cg=cg).model_dump_json()
    monkeypatch.setattr(FK, "_fastfeat", None)
    ref = K.compute_features(tl, {}, None, cg=cg).model_dump_json()
    assert fast == ref


@needs_feat
def test_every_kernel_runs_on_the_cases(monkeypatch):
    """The comparison above means something only if each kernel runs on some case."""
    calls: dict[str, int] = {}
    monkeypatch.setattr(FK, "_fastfeat", _counting(FK._fastfeat, calls))
    for path in CASES:
        tl, cg = _analysed(path)
        K.compute_features(tl, {}, None, cg=cg)
    assert set(calls) >= {"dist_ms", "group_dists", "max_open", "cover_sum", "late_timers", "wake_runnable",
                          "timer_waits"}, calls


# ---------------------------------------------------------------------------- kernel by kernel
def _durations(path: Path) -> list[np.ndarray]:
    tl, cg = _analysed(path)
    out = [tl.iv_dur[tl.iv_state == s] for s in np.unique(tl.iv_state).tolist()]
    return [a for a in out + [cg.sc.dur, cg.nw.dur, tl.iv_dur] if a.shape[0]]


def _numpy_dist(ns: np.ndarray) -> tuple[float, ...]:
    ms = ns.astype(np.float64) / 1e6
    p = np.percentile(ms, [50, 95, 99])
    return float(ms.sum()), float(p[0]), float(p[1]), float(p[2]), float(ms.max())


@needs_feat
@pytest.mark.parametrize("path", CASES[::2], ids=lambda p: p.stem)
def test_dist_ms_is_numpy(path):
    for ns in _durations(path):
        ns = np.ascontiguousarray(ns, np.int64)
        assert FK._fastfeat.dist_ms(ns) == _numpy_dist(ns)
        for k in (1, 2, 3, 7, 8, 129, 1025, 5000):  # every size class of the sum and the select
            if ns.shape[0] >= k:
                assert FK._fastfeat.dist_ms(ns[:k].copy()) == _numpy_dist(ns[:k])


@needs_feat
def test_dist_ms_edges():
    i64 = np.int64
    for ns in (np.array([5], i64), np.array([7, 7, 7, 7], i64), np.array([-3, 10 ** 15, 0, 2], i64),
               np.full(3000, 123456789, i64), np.arange(2000, dtype=i64)[::-1].copy(),
               np.array([1 << 62, -(1 << 62)] * 700, i64)):
        assert FK._fastfeat.dist_ms(ns) == _numpy_dist(ns)
    with pytest.raises(ValueError):
        FK._fastfeat.dist_ms(np.zeros(0, i64))
    with pytest.raises(TypeError):
        FK._fastfeat.dist_ms(np.zeros(3, np.int32))


@needs_feat
@pytest.mark.parametrize("path", CASES[:4], ids=lambda p: p.stem)
def test_group_dists_is_per_group_numpy(path):
    tl, _ = _analysed(path)
    idx = (tl.iv_stk % 7).astype(np.int64) - 1  # -1: no group; 5: past n
    ds, counts = FK._fastfeat.group_dists(idx, tl.iv_dur, 5, tl.iv_g)
    for k in range(5):
        sel = idx == k
        assert ds[k] == (None if not sel.any() else (int(sel.sum()),) + _numpy_dist(tl.iv_dur[sel]))
        assert counts[k] == np.unique(tl.iv_g[sel]).shape[0]
    assert FK._fastfeat.group_dists(idx, tl.iv_dur, 5, None)[1] is None
    wide = tl.iv_g * (1 << 40) - (1 << 61)  # values too far apart for a stamp per value
    assert FK._fastfeat.group_dists(idx, tl.iv_dur, 5, wide)[1] == counts


@needs_feat
@pytest.mark.parametrize("path", CASES[::3], ids=lambda p: p.stem)
def test_max_open_is_numpy(path, monkeypatch):
    _, cg = _analysed(path)
    fast = K._max_concurrent(cg.sc.start, cg.sc.end)
    monkeypatch.setattr(FK, "_fastfeat", None)
    assert fast == K._max_concurrent(cg.sc.start, cg.sc.end)


@needs_feat
@pytest.mark.parametrize("path", CASES[::2], ids=lambda p: p.stem)
def test_cover_sum_is_coverage(path):
    tl, _ = _analysed(path)
    run = tl.iv_state == G_RUNNING
    span = tl.duration_ns + 1
    base = tl.iv_gor * span - tl.t0
    vs, ve = tl.iv_start + base, tl.iv_end + base
    rng = np.random.default_rng(18)
    qa = rng.integers(int(vs.min()) - 10, int(ve.max()) + 10, 500)
    qb = qa + rng.integers(-5, 10 ** 8, 500)
    want = int(A.coverage(vs[run], ve[run])(qa, qb).sum())
    got = FK._fastfeat.cover_sum(tl.iv_start, tl.iv_end, qa, qb, tl.iv_state, int(G_RUNNING), tl.iv_gor, span, tl.t0)
    assert got == want
    # plain intervals (no virtual axis), in start order
    o = np.argsort(tl.iv_start, kind="stable")
    s, e = tl.iv_start[o].copy(), tl.iv_end[o].copy()
    assert FK._fastfeat.cover_sum(s, e, qa, qb, None, 0, None, 0, 0) == int(A.coverage(s, e)(qa, qb).sum())
    if not np.all(tl.iv_start[1:] >= tl.iv_start[:-1]):  # out of order: the caller sorts
        assert FK._fastfeat.cover_sum(tl.iv_start, tl.iv_end, qa, qb, None, 0, None, 0, 0) is None


@needs_feat
@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_assist_running_over_every_interval_or_the_assisting_ones(path, monkeypatch):
    """Mark-assist running time from the assisting goroutines' intervals (gathered) or from
    every interval as it is (when they hold most rows): each goroutine has its own stretch of
    the virtual axis, so the two sums and the numpy reference agree."""
    tl, _ = _analysed(path)
    r = A.ranges(tl)
    assist = r.named(tl.cols, K._is_assist)
    span = tl.duration_ns + 1
    some = K._assist_running_compiled(FK._fastfeat, tl, r, assist, span)
    every = K._assist_running_compiled(FK._fastfeat, tl, r, assist, span, rows_all=True)
    monkeypatch.setattr(FK, "_fastfeat", None)
    assert some == every == K._assist_running_ns(tl, r, assist)


@needs_feat
@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_busy_stretches_and_held_shares(path):
    """timers' scans: the busy stretches before each time, and over the windows they make
    (from 1 ns up, not only the late ones) the overlap sums of held_p_by_goroutine's rows."""
    tl, cg = _analysed(path)
    if tl.run_iv.shape[0] == 0:
        pytest.skip("no running interval in this trace")
    rng = np.random.default_rng(7)
    t = np.concatenate([tl.iv_end[tl.iv_state != G_RUNNING][:3000], rng.integers(tl.t0 - 5, tl.t_end + 5, 300)])
    busy, tot, user = timers.late_timers_compiled(FK._fastfeat, tl, t, 1)
    assert np.array_equal(busy, timers.all_busy_before(tl, cg.run_by_p, t))
    assert (busy > 0).any()
    late = busy >= 1
    held = A.held_p_by_goroutine(tl, (t - busy)[late], t[late])
    system = tl.gor_is_system[tl.gor_index(held.g)]
    assert (tot, user) == (int(held.overlap.sum()), int(held.overlap[~system].sum()))
    assert timers.late_timers_compiled(FK._fastfeat, tl, t, 1 << 62)[1:] == (0, 0)
    # late_timers_compiled hands the times over sorted (one walk per P); in any other order the
    # kernel searches each one: the same answers
    i64 = np.int64
    seg_p = np.ascontiguousarray(tl.iv_p[_first_run_of_each_p(tl)], i64)
    raw = FK._fastfeat.late_timers(tl.run_index.start, tl.run_index.end, tl.run_index.end_max, tl.run_index.gor,
                                   tl.run_index.segoff, seg_p, np.ascontiguousarray(tl.gor_is_system, np.bool_),
                                   np.ascontiguousarray(tl.procs, i64), np.ascontiguousarray(t, i64),
                                   timers.SWITCH_GAP_NS, 1)
    assert np.array_equal(np.frombuffer(raw[0], i64), busy) and raw[1:] == (tot, user)
    # the kernel sums the runs wholly inside a window by prefix sums where a P's runs are
    # disjoint and in order (Go's are): these traces take that path, and windows span many runs
    ri = tl.run_index
    for a, z in ri.segments():
        assert (ri.end[a:z] >= ri.start[a:z]).all() and (ri.end[a:z - 1] <= ri.start[a + 1:z]).all()
    assert np.bincount(held.window).max() > 2


def _first_run_of_each_p(tl):
    """The first running interval of each P's rows (the P ids late_timers is given)."""
    return tl.run_index.run[tl.run_index.segoff[:-1]]


@needs_feat
@pytest.mark.parametrize("path", CASES[::2], ids=lambda p: p.stem)
def test_interval_selections_are_the_masks(path, monkeypatch):
    """scheduling's Runnable-then-Running rows and timers' timer wake-ups: the kernel's indices
    are the numpy masks' rows."""
    tl, _ = _analysed(path)
    rn, wk = K._runnable_then_running(tl)
    w = timers._timer_wake_intervals(tl)
    monkeypatch.setattr(FK, "_fastfeat", None)
    rn_m, wk_m = K._runnable_then_running(tl)
    assert np.array_equal(rn, np.flatnonzero(rn_m)) and np.array_equal(wk, np.flatnonzero(wk_m))
    assert rn.shape[0] > 0
    assert np.array_equal(w, timers._timer_wake_intervals(tl))


@needs_feat
def test_our_code_tables_identical(monkeypatch):
    """Per function and package totals of your code, with module prefixes given."""
    tl, cg = _analysed(CASES[0])
    fast = ourcode.our_code(tl, cg.nw, cg.sc, ("netpollfixtures",)).model_dump_json()
    monkeypatch.setattr(FK, "_fastfeat", None)
    assert fast == ourcode.our_code(tl, cg.nw, cg.sc, ("netpollfixtures",)).model_dump_json()


@needs_feat
def test_rejects_inconsistent_input():
    """Bad shapes and dtypes are Python errors, never a read past a buffer."""
    F, z = FK._fastfeat, np.zeros(4, np.int64)
    with pytest.raises(ValueError):
        F.group_dists(z, z[:3], 2, None)
    with pytest.raises(ValueError):
        F.cover_sum(z, z[:2], z, z, None, 0, None, 0, 0)
    one, sys2 = np.array([0, 1], np.int64), np.zeros(2, bool)
    with pytest.raises(ValueError):  # a row array shorter than the others
        F.late_timers(z, z[:3], z, z, np.array([0, 4], np.int64), one[:1], sys2, z, z, 0, 0)
    with pytest.raises(ValueError):  # P offsets past the rows
        F.late_timers(z, z, z, z, np.array([0, 5], np.int64), one[:1], sys2, z, z, 0, 0)
    with pytest.raises(IndexError):  # a run of goroutine index 9 of 2, inside a late window
        i64 = np.int64
        F.late_timers(np.array([0], i64), np.array([10], i64), np.array([10], i64), np.array([9], i64), one,
                      np.zeros(1, i64), sys2, np.zeros(1, i64), np.array([5], i64), 0, 0)
    with pytest.raises(TypeError):
        F.late_timers(z, z, z, z.astype(np.float64), np.array([0, 4], np.int64), one[:1], sys2, z, z, 0, 0)
    with pytest.raises(TypeError):
        F.wake_runnable(z.astype(np.float64), z, z, z, 1, 2, 3)
