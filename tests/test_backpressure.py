"""Write backpressure across the window's edges (diagnose/features/backpressure.py, issue 12).

On the committed fan-out traces a slow subscriber's writer is parked in a socket write from
before the trace starts: the window's own write waits miss it, `write_blocked_*` must not.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from diagnose.features import extract

GEN = Path(__file__).resolve().parent.parent / "fixtures" / "traces" / "gen"
FX = GEN.parent


@pytest.fixture(scope="module")
def slow35():
    return extract(str(GEN / "fanout-slow35-go1.24.11.trace"))


def test_writer_parked_from_before_the_window_is_counted(slow35):
    n = slow35.network
    # the ended write waits are all short: the old signal sees no backpressure
    assert n.write_waits.p95_ms < 5.0
    # goroutine 14 woke at 274 ms into the window and went straight on with its write
    assert n.write_blocked_max_share >= 0.5
    assert n.write_blocked_goroutines >= 2
    notes = [e.note for e in n.evidence if "blocked writing" in e.note]
    assert notes and "since before it started" in notes[0]
    assert notes[0].startswith("goroutine 14 ")


def test_healthy_fanout_has_no_parked_writer():
    n = extract(str(GEN / "fanout-healthy-go1.24.11.trace")).network
    assert n.write_blocked_max_share < 0.1
    assert n.write_blocked_goroutines == 0


@pytest.mark.parametrize("go", ["1.19.8", "1.27.3"])
def test_harness_slow_consumer_writers_blocked_nearly_all_window(go):
    n = extract(str(FX / f"slowconsumer-sse-go{go}.trace")).network
    assert n.write_blocked_max_share > 0.95
    assert n.write_blocked_goroutines >= 4


def test_a_channel_wake_is_not_a_write_wait():
    """fanout's fast subscribers sleep in a select on their channel and write when the producer
    wakes them: woken by a goroutine, so not counted even though a write follows (counting
    them gives 109 ms here, the netpoller wakes alone 15 ms)."""
    n = extract(str(GEN / "fanout-healthy-go1.21.13.trace")).network
    assert n.write_blocked_ms < 50.0
