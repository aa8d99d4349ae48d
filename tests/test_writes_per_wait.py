"""Write syscalls per writer wake-up (diagnose/features/writes.py, issue 12 branch `mild`).

A storm's process rate grows with the number of streams; its pieces per wake-up do not. On
the committed train traces a flush every 256 bytes of a 2 KiB frame is 9 writes per wake-up
at 5.7k writes/s, and the harness's busy healthy server (48 streams) writes each event whole
at 4.8k/s: the rate cannot tell them apart, this can.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from diagnose.features import extract

GEN = Path(__file__).resolve().parent.parent / "fixtures" / "traces" / "gen"
FX = GEN.parent


@pytest.fixture(scope="module")
def framed():
    return {v: extract(str(GEN / f"framed-{v}-go1.22.10.trace")).syscalls for v in ("healthy", "write256", "write64")}


def test_pieces_per_wake_up_follow_the_flush_size(framed):
    # 2 KiB frames: one write each when healthy, 8 pieces (+ the header) at 256 B, 32 at 64 B
    assert framed["healthy"].writes_per_wait < 2.0
    assert 8.0 <= framed["write256"].writes_per_wait < 10.0
    assert 30.0 <= framed["write64"].writes_per_wait < 36.0


def test_busy_healthy_server_writes_whole_events_at_a_storm_like_rate(framed):
    heavy = extract(str(FX / "healthy-heavy-go1.22.10.trace")).syscalls
    # as many writes per second as the mild storm...
    assert heavy.write_per_s >= 0.8 * framed["write256"].write_per_s
    # ...but one or two per wake-up
    assert heavy.writes_per_wait < 2.0


def test_http2_frame_writers_count_one_write_each():
    """Go's HTTP/2 server writes each frame from a goroutine of its own that exits after it:
    no wait, one write; the median stays at 1 (the limit the rule's header names)."""
    assert extract(str(GEN / "h2tls-healthy-go1.22.10.trace")).syscalls.writes_per_wait == 1.0


@pytest.mark.parametrize("name", ["gen/framed-write64-go1.22.10.trace", "healthy-heavy-go1.22.10.trace"])
def test_writes_per_goroutine_counts_each_goroutines_block(name, monkeypatch):
    """The per-block count (a goroutine's syscalls are one block of rows) equals a count over
    every write's goroutine index, and so does its many-goroutines path."""
    import numpy as np

    from diagnose.features import backpressure as B
    from diagnose.timeline import analysis as A, build_timelines, load_columns
    from diagnose.timeline.stacks import FAM_WRITE

    tl = build_timelines(load_columns(str(FX / name)))
    sc = A.syscalls(tl)
    wr = sc.fam == FAM_WRITE
    want = np.bincount(tl.iv_gor[sc.iv[wr]], minlength=tl.gor_id.shape[0])
    assert want.sum() > 100 and (want > 0).sum() >= 2
    got = B.writes_per_goroutine(tl, sc, wr)
    assert got.dtype == want.dtype and np.array_equal(got, want)
    monkeypatch.setattr(B, "MAX_BLOCKS_COUNTED", 0)
    assert np.array_equal(B.writes_per_goroutine(tl, sc, wr), want)


@pytest.mark.parametrize("version", ["1.19.8", "1.22.10", "1.27.3"])
def test_an_event_loop_wakes_up_from_epoll_wait(version):
    """An event loop of its own (held-out evloop: raw sockets, two loops in syscall.EpollWait, a
    192-byte frame per subscriber per 20 ms tick, 2 subscribers a loop) never parks: its wake-ups
    are its epoll_wait returns, a poll-family syscall (EpollWait is the call, not a trampoline).
    Counting parks only gave the whole window's writes per wake-up (20 healthy, 240 at 16 bytes
    per write); a frame written 16 bytes at a time is 12 pieces, so 24 for two subscribers."""
    feats = {v: extract(str(GEN / f"evloop-{v}-go{version}.trace")).syscalls for v in ("healthy", "write16")}
    assert 1.0 <= feats["healthy"].writes_per_wait <= 3.0
    assert 20.0 <= feats["write16"].writes_per_wait <= 30.0
