"""The compiled timeline scans (diagnose/timeline/_fastscan.c) against their numpy reference.

`held_p_by_goroutine` -- who held a P while a woken goroutine waited -- is the graph stage's
hottest query; the C version must give the same rows, in the same order, with the same dtypes,
on real traces of every Go version, and the whole diagnosis must not change with it.
`timelines_scan` builds the goroutine intervals (`build_timelines`): every interval array must
be the same, dtype included, on traces of every format and on a cut one.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from diagnose.graph import build_graph
from diagnose.graph.demand import preempted_windows
from diagnose.pipeline import analyse, open_input
from diagnose.timeline import analysis as A
from diagnose.timeline import build_timelines, load_columns

pytestmark = pytest.mark.usefixtures("kernels_selectable")  # tests/conftest.py

REPO = Path(__file__).resolve().parent.parent
TRACES = REPO / "fixtures" / "traces"
# Starvation and busy-but-healthy traces: long runnable windows overlapping many short runs
# (the case the compiled scan exists for), on an old and the newest formats.
CASES = sorted(p for pat in ("gomaxprocs-procs1-burst-go*.trace", "gomaxprocs-procs1-handlers-go1.2[17]*.trace",
                             "healthy-heavy-go1.2[27]*.trace") for p in TRACES.glob(pat))

needs_scan = pytest.mark.skipif(A._fastscan is None, reason="compiled scans not built (no C compiler at install)")


def _held_both(path: Path, monkeypatch, with_counts: bool):
    assert A.scan_kernel() is not None
    tl = build_timelines(load_columns(path))
    graph = build_graph(tl)
    sel, counts = graph._held_selection
    r = graph.wakeups["runnable_iv"][sel]
    ws, we = tl.iv_start[r], tl.iv_end[r]
    fast = A.held_p_by_goroutine(tl, ws, we, counts=counts if with_counts else None)
    monkeypatch.setattr(A, "_fastscan", None)
    ref = A.held_p_by_goroutine(tl, ws, we, counts=counts if with_counts else None)
    return fast, ref


def test_cases_exist():
    assert len(CASES) >= 5, CASES


@needs_scan
@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_held_by_goroutine_identical(path, monkeypatch):
    fast, ref = _held_both(path, monkeypatch, with_counts=True)
    assert ref.window.shape[0] > 0, "the trace should have held-P windows"
    for name in ("window", "g", "overlap", "first"):
        x, y = getattr(fast, name), getattr(ref, name)
        assert x.dtype == y.dtype, name
        assert np.array_equal(x, y), name


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_numpy_block_summaries_equal_every_pair(path, monkeypatch):
    """Without the compiled scan, windows over many runs each are summed a block of runs at a
    time (timeline/heldblocks.py): the same rows as visiting every (window, run) pair, for the
    graph's held-P windows and for long random ones (some starting inside a run, one whole)."""
    monkeypatch.setattr(A, "_fastscan", None)
    tl = build_timelines(load_columns(path))
    rng = np.random.default_rng(7)
    span = tl.t_end - tl.t0
    ws = np.concatenate([rng.integers(tl.t0, tl.t0 + span // 2, 30), [tl.t0], rng.integers(tl.t0, tl.t_end, 30)])
    we = ws + np.concatenate([rng.integers(span // 20, span // 2, 30), [span], rng.integers(0, span // 50 + 1, 30)])
    counts = A.held_pair_counts(tl, ws, we)
    blocks = A.held_p_by_goroutine(tl, ws, we, counts=counts)
    assert "_run_blocks_np" in tl.__dict__, "the block path should be taken"
    pairs = A.held_p_by_goroutine(tl, ws, we, counts=counts, blocks_allowed=False)
    assert pairs.window.shape[0] > 0
    for name in ("window", "g", "overlap", "first"):
        x, y = getattr(blocks, name), getattr(pairs, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_held_totals_equal_the_rows_summed(path, monkeypatch):
    """`held_p_totals` (timeline/heldtotals.py: whole runs counted per window they lie inside,
    only each window's first and last run clipped) equals `held_p_by_goroutine`'s rows summed
    per goroutine -- every (window, run) pair visited -- in numpy and compiled
    (`_fastscan.held_totals`), for the graph's held-P windows, the
    preempted ones and random ones (long, short, empty); and so does its fallback for runs that
    overlap on a P (summing the rows)."""
    tl = build_timelines(load_columns(path))
    graph = build_graph(tl)
    r = graph.wakeups["runnable_iv"][graph.held_windows]
    pre = preempted_windows(tl)
    rng = np.random.default_rng(11)
    span = tl.t_end - tl.t0
    rs = rng.integers(tl.t0, tl.t_end, 40)
    sets = [(tl.iv_start[r], tl.iv_end[r]), (tl.iv_start[pre], tl.iv_end[pre]),
            (np.concatenate([rs, [tl.t0]]), np.concatenate([rs + rng.integers(0, span // 3, 40), [tl.t_end]])),
            (rs, rs)]
    assert r.shape[0] > 0 and A.heldtotals.runs_disjoint(tl)
    ngor = tl.gor_id.shape[0]
    for ws, we in sets:
        monkeypatch.setattr(A, "_fastscan", None)
        rows = A.held_p_by_goroutine(tl, ws, we, blocks_allowed=False)
        want = np.bincount(tl.gor_index(rows.g), weights=rows.overlap, minlength=ngor).astype(np.float64)
        assert np.array_equal(A.held_p_totals(tl, ws, we), want)  # numpy (heldtotals.per_goroutine)
        monkeypatch.undo()
        got = A.held_p_totals(tl, ws, we)  # compiled (_fastscan.held_totals) when built
        assert got.dtype == np.float64 and np.array_equal(got, want)
        monkeypatch.setattr(A.heldtotals, "runs_disjoint", lambda tl: False)
        assert np.array_equal(A.held_p_totals(tl, ws, we), want)
        monkeypatch.undo()


@needs_scan
@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_pair_counts_identical(path, monkeypatch):
    """`held_pair_counts` through `_fastscan.pair_counts` (a merge walk per P over the sorted
    windows) gives numpy's searchsorted answers, dtype included: the graph's held-P windows,
    random ones, and queries handed over unsorted (each searched alone)."""
    tl = build_timelines(load_columns(path))
    graph = build_graph(tl)
    r = graph.wakeups["runnable_iv"]
    rng = np.random.default_rng(3)
    rs = rng.integers(tl.t0 - 10, tl.t_end + 10, 200)
    for ws, we in ((tl.iv_start[r], tl.iv_end[r]), (rs, rs + rng.integers(0, (tl.t_end - tl.t0) // 4, 200))):
        fast = A.held_pair_counts(tl, ws, we)
        monkeypatch.setattr(A, "_fastscan", None)
        ref = A.held_pair_counts(tl, ws, we)
        monkeypatch.undo()
        for x, y in zip(fast, ref):
            assert len(x) == len(y) == tl.run_index.n_procs
            assert all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(x, y))
    ri = tl.run_index
    lo, hi = (np.empty((ri.n_procs, rs.shape[0]), np.int64) for _ in range(2))
    A._fastscan.pair_counts(ri.end_max, ri.start, ri.segoff, rs, rs, lo, hi)
    for k, (a, b) in enumerate(ri.segments()):
        assert np.array_equal(lo[k], np.searchsorted(ri.end_max[a:b], rs, side="right"))
        assert np.array_equal(hi[k], np.searchsorted(ri.start[a:b], rs, side="left"))


@needs_scan
def test_held_without_precomputed_counts(monkeypatch):
    """The entry point that computes its own pair counts (batch_pairs path in the reference)."""
    fast, ref = _held_both(CASES[0], monkeypatch, with_counts=False)
    assert all(np.array_equal(getattr(fast, n), getattr(ref, n)) for n in ("window", "g", "overlap", "first"))


@needs_scan
def test_diagnosis_features_unchanged(monkeypatch):
    """Features (the graph's held-P-while edges feed the starvation features) are the same with
    and without the compiled scan."""
    path = next(p for p in CASES if "burst" in p.name)
    with open_input(path) as inp:
        fast = analyse(inp).features.model_dump_json()
    monkeypatch.setattr(A, "_fastscan", None)
    with open_input(path) as inp:
        ref = analyse(inp).features.model_dump_json()
    assert fast == ref


@needs_scan
def test_rejects_inconsistent_input():
    """Bad shapes are a Python error, never a read past a buffer."""
    z = np.zeros(3, np.int64)
    with pytest.raises(ValueError):
        A._fastscan.held_reduce(z, z, np.array([0, 5, 0], np.int64), np.array([0, 3], np.int64),
                                np.zeros(1, np.int64), np.ones(1, np.int64), z[:1], z[:1], 2)
    with pytest.raises(ValueError):
        A._fastscan.held_reduce(z, z, z, np.array([0, 4], np.int64), np.zeros(1, np.int64), np.ones(1, np.int64),
                                z[:1], z[:1], 2)
    with pytest.raises(TypeError):
        A._fastscan.held_reduce(z.astype(np.int32), z, z, np.array([0, 3], np.int64), np.zeros(1, np.int64),
                                np.ones(1, np.int64), z[:1], z[:1], 2)


@needs_scan
def test_edge_inputs_match_the_reference(monkeypatch):
    """Windows overlapping nothing, a P with no intervals, counts running past a P's intervals,
    an empty window list: the compiled reduction agrees with a direct computation."""
    i64 = np.int64
    s = np.array([0, 10, 20, 5, 50], i64)  # P0: runs 0-2, P1: none, P2: runs 3-4
    e = np.array([8, 15, 40, 30, 60], i64)
    gi = np.array([0, 1, 0, 2, 1], i64)
    segoff = np.array([0, 3, 3, 5], i64)
    ws = np.array([0, 12, 100, 7], i64)
    we = np.array([25, 55, 200, 7], i64)
    lo = np.array([[0, 1, 3, 0], [0, 0, 0, 0], [0, 0, 2, 0]], i64)
    cnt = np.array([[3, 99, 1, 1], [0, 0, 0, 0], [1, 2, 0, 1]], i64)  # 99 runs past P0's three
    w, g, o, f = (np.frombuffer(x, i64) for x in A._fastscan.held_reduce(s, e, gi, segoff, lo, cnt, ws, we, 3))
    got = list(zip(w.tolist(), g.tolist(), o.tolist(), f.tolist()))
    want = {}
    for wi in range(len(ws)):
        for k in range(3):
            seg = range(segoff[k], segoff[k + 1])
            l0 = int(lo[k, wi])
            for i in list(seg)[l0:l0 + int(cnt[k, wi])]:
                st, en = max(s[i], ws[wi]), min(e[i], we[wi])
                if en > st:
                    acc = want.setdefault((wi, int(gi[i])), [0, 1 << 62])
                    acc[0] += int(en - st)
                    acc[1] = min(acc[1], int(st))
    assert got == [(wi, gg, a, b) for (wi, gg), (a, b) in sorted(want.items())]
    empty = A._fastscan.held_reduce(s, e, gi, segoff, np.zeros((3, 0), i64), np.zeros((3, 0), i64),
                                    np.zeros(0, i64), np.zeros(0, i64), 3)
    assert empty == (b"", b"", b"", b"")


#: one trace per harness program and format family, plus generalisation styles and a cut trace
TIMELINE_CASES = sorted(TRACES.glob("*-go1.19.8.trace"))[::4] + sorted(TRACES.glob("*-go1.27.3.trace"))[::3] + \
    sorted((TRACES / "gen").glob("*-go1.2[25]*.trace"))[::40]


@needs_scan
@pytest.mark.parametrize("path", TIMELINE_CASES + ["cut"], ids=lambda p: getattr(p, "stem", p))
def test_timelines_identical(path, monkeypatch, tmp_path):
    if path == "cut":  # two generations, the second cut: intervals open at the end of the first
        src = TRACES / "gen" / "capture-inproc-go1.27.3.trace"
        path = tmp_path / "cut.trace"
        path.write_bytes(src.read_bytes()[: src.stat().st_size * 3 // 4])
    cols = load_columns(path)
    fast = build_timelines(cols)
    monkeypatch.setattr(A, "_fastscan", None)
    ref = build_timelines(cols)
    names = [k for k, v in vars(ref).items() if isinstance(v, np.ndarray)]
    assert len(names) >= 20 and ref.iv_g.shape[0] > 0
    for name in names:
        x, y = getattr(fast, name), getattr(ref, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
