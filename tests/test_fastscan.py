"""The compiled timeline scans (diagnose/timeline/_fastscan.c) against their numpy reference.

`held_p_by_goroutine` -- who held a P while a woken goroutine waited -- is the graph stage's
hottest query; the C version must give the same rows, in the same order, with the same dtypes,
on real traces of every Go version, and the whole diagnosis must not change with it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from diagnose.graph import build_graph
from diagnose.pipeline import analyse, open_input
from diagnose.timeline import analysis as A
from diagnose.timeline import build_timelines, load_columns

REPO = Path(__file__).resolve().parent.parent
TRACES = REPO / "fixtures" / "traces"
# Starvation and busy-but-healthy traces: long runnable windows overlapping many short runs
# (the case the compiled scan exists for), on an old and the newest formats.
CASES = sorted(p for pat in ("gomaxprocs-procs1-burst-go*.trace", "gomaxprocs-procs1-handlers-go1.2[17]*.trace",
                             "healthy-heavy-go1.2[27]*.trace") for p in TRACES.glob(pat))

needs_scan = pytest.mark.skipif(A._fastscan is None, reason="compiled scans not built (no C compiler at install)")


def _held_both(path: Path, monkeypatch, with_counts: bool):
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


def test_pure_env_disables_the_scan(monkeypatch):
    monkeypatch.setenv("NETPOLL_DIAGNOSE_PURE", "1")
    assert A.scan_kernel() is None
    monkeypatch.setenv("NETPOLL_DIAGNOSE_PURE", "0")
    assert A.scan_kernel() is A._fastscan


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
