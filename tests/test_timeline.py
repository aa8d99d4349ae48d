"""Timelines on the fixture corpus: columns equal Go's own parse; intervals are consistent.

* with Go (marker `gotoolchain`): the columns built from our reader equal the columns built
  from `go tool trace -d=parsed` (Go 1.27.3's parser) -- every event, state, reason and stack;
* the fast column path (reader wire fields) equals the generic path (public accessors);
* per goroutine the intervals tile its life in the trace, each interval's state is the next
  transition's "from" state, and per P and per thread the running intervals never overlap.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from tests.support.corpus import MANIFEST, PRESENT as ENTRIES, entry_id as _id, or_skip_unsupported

REPO = Path(__file__).resolve().parent.parent
GO_VERSION = "1.27.3"


pytestmark = pytest.mark.skipif(not ENTRIES, reason=f"fixture corpus not present ({MANIFEST})")


def events(path: str) -> list:
    """All events of a trace as objects (not cached: a corpus of them would take gigabytes)."""
    from diagnose.read import open_trace

    return or_skip_unsupported(lambda p: list(open_trace(p).events()), path)


@functools.lru_cache(maxsize=None)
def timelines(path: str):
    """Timelines streamed from the reader (numpy arrays only: cheap to keep)."""
    from diagnose.timeline import build_timelines, load_columns

    return or_skip_unsupported(lambda p: build_timelines(load_columns(p)), path)


COLS = ("kind", "t", "g", "p", "m", "rk", "rid", "sfrom", "sto", "val")


def same_columns(a, b) -> list[str]:
    bad = [n for n in COLS if not np.array_equal(getattr(a, n), getattr(b, n))]
    if [a.strings[i] for i in a.s1] != [b.strings[i] for i in b.s1]:
        bad.append("s1")
    for n in ("stk", "tstk"):
        sa = [tuple(a.stack(int(i))) for i in getattr(a, n)]
        sb = [tuple(b.stack(int(i))) for i in getattr(b, n)]
        if sa != sb:
            bad.append(n)
    return bad


def _one_per_version():
    best = {}
    for e in ENTRIES:
        v = ".".join(e.go.split(".")[:2])
        if v not in best or e.trace.stat().st_size < best[v].trace.stat().st_size:
            best[v] = e
    return [best[v] for v in sorted(best)]


@pytest.mark.gotoolchain
@pytest.mark.parametrize("entry", _one_per_version(), ids=_id)
def test_columns_equal_go_parsed(entry):
    from tests.test_profile import find_go  # same toolchain lookup as the profile tests

    go, why = find_go()
    if go is None:
        pytest.skip(why)
    from diagnose.timeline import build_columns
    from tests.support.goparsed import go_parsed_events

    ours = build_columns(events(str(entry.trace)))
    theirs = build_columns(go_parsed_events(str(entry.trace), go))
    assert len(ours) == len(theirs)
    assert same_columns(ours, theirs) == []


@pytest.mark.parametrize("entry", ENTRIES, ids=_id)
def test_fast_and_generic_column_paths_agree(entry):
    from diagnose.timeline import build_columns

    evs = events(str(entry.trace))
    assert same_columns(build_columns(evs), build_columns(evs, generic=True)) == []


@pytest.mark.parametrize("entry", ENTRIES, ids=_id)
def test_goroutine_intervals_tile_their_life(entry):
    from diagnose.timeline.columns import G_NOTEXIST, G_UNDETERMINED

    tl = timelines(str(entry.trace))
    n = tl.iv_g.shape[0]
    assert n > 0
    assert (tl.iv_end >= tl.iv_start).all()
    same = tl.iv_g[1:] == tl.iv_g[:-1]
    # contiguous: each interval ends where the next one of the same goroutine starts
    assert (tl.iv_end[:-1][same] == tl.iv_start[1:][same]).all()
    # the state of an interval is the "from" of the transition that ends it
    assert (tl.iv_from[1:][same] == tl.iv_state[:-1][same]).all()
    # first interval of a goroutine starts from Undetermined (status) or NotExist (creation)
    first = tl.gor_first_iv
    assert np.isin(tl.iv_from[first], (G_UNDETERMINED, G_NOTEXIST)).all()
    # only the last interval of a goroutine can be open
    last = first + tl.gor_n_iv - 1
    assert not tl.iv_open[np.setdiff1d(np.arange(n), last)].any()
    # per-state totals add up to the goroutine's span in the trace
    span = tl.iv_end[last] - tl.iv_start[first]
    assert (tl.gor_state_ns.sum(axis=1) == span).all()


@pytest.mark.parametrize("entry", ENTRIES, ids=_id)
def test_running_intervals_do_not_overlap_per_proc_and_thread(entry):
    tl = timelines(str(entry.trace))
    r = tl.run_iv
    assert r.shape[0] > 0
    cols = [tl.iv_p]
    # Threads: only in the new format. Go <= 1.21 traces name no thread per event; Go's own
    # conversion (internal/trace/tracev1.go, which our reader matches id for id) attributes
    # threads approximately, so two goroutines can appear running on one thread there.
    if tl.cols.meta.get("format_minor", 0) >= 22:
        cols.append(tl.iv_m)
    for col in cols:
        o = np.lexsort((tl.iv_start[r], col[r]))
        rr = r[o]
        same = col[rr][1:] == col[rr][:-1]
        assert (col[rr] >= 0).all(), "every running interval has a proc and a thread"
        assert (tl.iv_start[rr][1:][same] >= tl.iv_end[rr][:-1][same]).all()
    # GOMAXPROCS is known and at least the number of Ps seen running at once
    assert tl.gomaxprocs_changes and max(v for _, v in tl.gomaxprocs_changes) >= 1


def test_goroutine_start_locations_and_creators():
    e = max(ENTRIES, key=lambda e: e.trace.stat().st_size)
    tl = timelines(str(e.trace))
    names = tl.gor_name
    assert sum(1 for n in names if n) >= 0.9 * len(names), "most goroutines get a start location"
    created = np.nonzero(tl.gor_created)[0]
    if created.shape[0]:
        # a creator is a goroutine of the trace (or -1 when created by the runtime on g0)
        cr = tl.gor_creator[created]
        known = cr[cr >= 0]
        assert np.isin(known, tl.gor_id).mean() > 0.9
