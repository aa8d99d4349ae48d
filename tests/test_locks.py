"""f.locks on real traces: the sseroom program's lock convoy (a checkpointer holds the room's
write lock 30 ms every 100 ms while sleeping: fixtures/go/cmd/sseroom, `checkpoint`) against
the same program's healthy runs and a healthy program that takes a mutex hundreds of times a
window (bufmux healthy), on every Go version of the generalisation corpus."""
from __future__ import annotations

import functools
from pathlib import Path

import pytest

from diagnose.features import extract
from diagnose.features.locks import is_lock_func

GEN = Path(__file__).resolve().parent.parent / "fixtures" / "traces" / "gen"
VERSIONS = ["1.19.8", "1.21.13", "1.22.10", "1.24.11", "1.25.5", "1.27.3"]


@functools.lru_cache(maxsize=None)
def locks(name: str):
    path = GEN / f"{name}.trace"
    if not path.is_file():
        pytest.skip(f"generalisation corpus not present ({path})")
    return extract(str(path)).locks


@pytest.mark.parametrize("go", VERSIONS)
def test_lock_convoy_is_seen_with_its_sleeping_holder(go):
    f = locks(f"sseroom-lockconvoy-go{go}")
    assert f.waits.count >= 3 and f.waits.p95_ms >= 10.0, f.waits
    # the holder slept through the waits (time.Sleep under the lock), and it is named
    assert f.holders.sleep_share >= 0.9, f.holders
    assert f.sites and "mutate" in f.sites[0].site
    assert f.evidence and "released it at main.(*room).checkpoint" in f.evidence[0].note
    assert any(fr.func.endswith(("Mutex).Lock", "Mutex).lockSlow")) for fr in f.evidence[0].stack)
    assert [s.relation for s in f.evidence[0].chain][:2] == ["waited", "woke"]


@pytest.mark.parametrize("go", VERSIONS)
def test_healthy_runs_have_no_long_lock_waits(go):
    assert locks(f"sseroom-healthy-go{go}").waits.p95_ms < 5.0
    busy = locks(f"bufmux-healthy-go{go}")  # a mutex taken hundreds of times a window, briefly
    assert busy.waits.count >= 50 and busy.waits.p95_ms < 1.0, busy.waits


def test_lock_frames():
    assert is_lock_func("sync.(*Mutex).Lock") and is_lock_func("internal/sync.(*Mutex).lockSlow")
    assert is_lock_func("sync.(*RWMutex).RLock") and is_lock_func("sync.(*RWMutex).Lock")
    assert not is_lock_func("sync.(*WaitGroup).Wait") and not is_lock_func("main.(*Mutex).Lock")


@pytest.mark.parametrize("name", ["sseroom-lockconvoy-go1.27.3", "sseroom-lockconvoy-go1.19.8",
                                  "bufmux-burst95-go1.27.3", "bufmux-gc200-go1.21.13", "consumer-cpu70-go1.24.11"])
def test_holder_shares_equal_an_interval_by_interval_walk(name):
    """The releasers' shares (one slice of intervals per wait, summed with numpy) equal walking
    each releaser's intervals one by one over each wait, on traces with a convoy, a starved
    holder queue and GC."""
    from diagnose.features.locks import ACTIVITIES, MAX_HOLDER_WAITS, activity_classes, lock_wait_intervals
    from diagnose.timeline import build_timelines, load_columns

    path = GEN / f"{name}.trace"
    if not path.is_file():
        pytest.skip(f"generalisation corpus not present ({path})")
    tl = build_timelines(load_columns(str(path)))
    w = lock_wait_intervals(tl)
    ended = w[~tl.iv_open[w]]
    top = ended[(-(tl.iv_end[ended] - tl.iv_start[ended])).argsort(kind="stable")[:MAX_HOLDER_WAITS]]
    sums, total = [0] * len(ACTIVITIES), 0
    for i in top.tolist():
        a, b = int(tl.iv_start[i]), int(tl.iv_end[i])
        total += b - a
        if tl.iv_end_g[i] < 0:
            continue
        for j in tl.intervals_of(int(tl.iv_end_g[i])).tolist():
            ov = min(b, int(tl.iv_end[j])) - max(a, int(tl.iv_start[j]))
            if ov > 0:
                sums[int(activity_classes(tl, [j])[0])] += ov
    assert total > 0
    h = locks(name).holders
    assert [getattr(h, f"{n}_share") for n in ACTIVITIES] == [round(v / total, 6) for v in sums]
