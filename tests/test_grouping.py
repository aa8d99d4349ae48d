"""The fast grouping helpers (diagnose/timeline/grouping.py) give numpy's results exactly.

They replace `np.argsort(kind="stable")` and `np.unique` on every window's hot path, where a
different tie order would silently change which examples a finding cites; so they are compared
element for element with numpy on every integer column of real traces (old and new formats,
one with many goroutines) and on the shapes the fast paths branch on: keys too wide to pack
with the row index, negative keys, uint64 keys above 2^63, bools, already-sorted input.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from diagnose.timeline import load_columns
from diagnose.timeline.grouping import count_distinct, lex_order, smallest_first, stable_argsort, unique

REPO = Path(__file__).resolve().parent.parent
TRACES = ["fixtures/traces/syscallstorm-chunked-flush16-go1.27.3.trace", "fixtures/traces/slowconsumer-sse-go1.21.13.trace",
          "fixtures/traces/gen/quiet-idle-conns-go1.27.3.trace"]


def _same_unique(a: np.ndarray) -> None:
    for ri in (False, True):
        for rv in (False, True):
            for rc in (False, True):
                want = np.unique(a, return_index=ri, return_inverse=rv, return_counts=rc)
                got = unique(a, return_index=ri, return_inverse=rv, return_counts=rc)
                if not isinstance(want, tuple):
                    want, got = (want,), (got,)
                assert len(got) == len(want)
                for w, g in zip(want, got):
                    assert g.dtype == w.dtype and g.shape == w.shape and np.array_equal(g, w)
    assert count_distinct(a) == np.unique(a).size


def _same(a: np.ndarray) -> None:
    want = np.argsort(a, kind="stable")
    got = stable_argsort(a)
    assert got.shape == want.shape and np.array_equal(got, want)
    _same_unique(a)


@pytest.fixture(scope="module", params=TRACES, ids=lambda p: Path(p).stem)
def columns(request):
    path = REPO / request.param
    if not path.exists():
        pytest.skip(f"{request.param} is not in this checkout")
    return load_columns(str(path))


def test_every_integer_column_of_a_real_trace(columns):
    tested = 0
    for name, a in vars(columns).items():
        if isinstance(a, np.ndarray) and a.ndim == 1 and a.dtype.kind in "iub" and a.shape[0] > 1:
            _same(a)
            _same(a[::-1].copy())  # descending runs, ties in the other order
            tested += 1
    assert tested >= 8, "the columns should hold several integer arrays"


def test_keys_as_the_graph_combines_them(columns):
    """Goroutine x thread codes (the edge keys) and timestamps (wide: they do not pack)."""
    g = columns.g.astype(np.int64)
    code = (g - g.min()) * (int(columns.m.max()) - int(columns.m.min()) + 1) + (columns.m - columns.m.min())
    _same(code)
    _same(columns.t.astype(np.int64) * 1_000_003)  # > 63 bits with the row index: the tie path
    # (P, time) as the running intervals are ordered, and a pair too wide to combine
    for a, b in ((columns.p, columns.t), (columns.m, columns.g), (columns.t, columns.t)):
        assert np.array_equal(lex_order(a, b), np.lexsort((b, a)))


@pytest.mark.parametrize("case", ["wide-ties", "negative", "uint64-high", "bool", "all-true", "int8", "sorted",
                                  "one-value", "two-rows", "dense"])
def test_branches(case):
    rng = np.random.default_rng(7)
    a = {
        "wide-ties": rng.integers(0, 5, 50_000) * (1 << 58),
        "negative": rng.integers(-1_000, 1_000, 50_000),
        "uint64-high": (rng.integers(0, 3, 10_000).astype(np.uint64) + np.uint64(1 << 63)),
        "bool": rng.integers(0, 2, 10_000).astype(bool),
        "all-true": np.ones(100, dtype=bool),
        "int8": rng.integers(-128, 127, 5_000).astype(np.int8),
        "dense": rng.integers(1_000_000, 1_000_300, 2_000).astype(np.int32),  # marked, not sorted
        "sorted": np.repeat(np.arange(1_000), 7),
        "one-value": np.full(1_000, 42, dtype=np.int32),
        "two-rows": np.array([3, 3], dtype=np.uint16),
    }[case]
    _same(a)


def _same_smallest(a: np.ndarray) -> None:
    for n in (0, 1, 3, 5, 30):
        assert np.array_equal(smallest_first(a, n), np.argsort(a)[:n]), n
        assert np.array_equal(smallest_first(a, n, stable=True), np.argsort(a, kind="stable")[:n]), n


def test_smallest_first_on_real_columns(columns):
    """The n smallest keys' rows, in argsort's order (default and stable), on every integer
    column of a real trace (many ties: kinds, goroutine ids) and on the negated durations the
    evidence ranks."""
    for a in vars(columns).values():
        if isinstance(a, np.ndarray) and a.ndim == 1 and a.dtype.kind in "iu" and a.shape[0] > 1:
            _same_smallest(a)
            if a.dtype.kind == "i":
                _same_smallest(-a.astype(np.int64))
    t = columns.t.astype(np.int64)
    _same_smallest(-(t[1:] - t[:-1]))


@pytest.mark.parametrize("case", ["distinct", "ties-at-the-cut", "ties-inside", "all-equal", "short"])
def test_smallest_first_ties(case):
    rng = np.random.default_rng(5)
    a = {"distinct": rng.permutation(10_000).astype(np.int64),
         "ties-at-the-cut": np.concatenate([np.arange(5), np.full(50, 5), rng.integers(6, 99, 5_000)]),
         "ties-inside": np.concatenate([np.full(3, 1), rng.integers(2, 99, 5_000)]),
         "all-equal": np.zeros(1_000, np.int64), "short": np.array([3, 1, 2, 1])}[case]
    _same_smallest(rng.permutation(a))
