"""Timer wake-ups delayed by busy Ps (diagnose/features/timers.py, issue 12 low starvation doses).

framed hog20 runs a goroutine that burns 2 ms of every 10 at GOMAXPROCS=1: the 12 stream
handlers sleep on timers, and a timer that expires while the hog runs fires only when it
stops. The handlers are then woken late but never wait runnable, so the wake-to-run features
see (almost) nothing; the timer feature sees the wake-ups that came at the end of an all-busy
stretch. Checked on the oldest format (Go 1.19, converted) and the newest (Go 1.27), against
the same program's healthy run and a GC dose, whose busy stretches are GC workers'.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from diagnose.features import extract
from diagnose.rules import diagnose
from diagnose.rules.loader import load_ruleset

GEN = Path(__file__).resolve().parent.parent / "fixtures" / "traces" / "gen"


@pytest.fixture(scope="module")
def rules():
    return load_ruleset()


@pytest.mark.parametrize("go", ["1.19.8", "1.27.3"])
def test_hog_makes_timer_wake_ups_late_behind_user_goroutines(go):
    t = extract(str(GEN / f"framed-hog20-go{go}.trace")).scheduling.timer_wakes
    assert t.count >= 200  # 12 handlers paced by time.Sleep over 0.5 s
    assert t.late_share >= 0.15
    assert t.late == round(t.late_share * t.count)
    assert 1.0 <= t.late_ms.p50_ms <= 10.0  # bounded by the hog's 2 ms bursts (plus switches)
    assert t.user_share >= 0.99
    assert t.evidence and "woken by its timer" in t.evidence[0].note
    assert t.evidence[0].stack and t.evidence[0].stack[0].func == "time.Sleep"


@pytest.mark.parametrize("go", ["1.19.8", "1.27.3"])
def test_healthy_run_has_no_late_timer_wake_ups(go):
    t = extract(str(GEN / f"framed-healthy-go{go}.trace")).scheduling.timer_wakes
    assert t.count >= 200
    assert t.late == 0 and t.late_share == 0.0 and t.evidence == []


def test_gc_workers_holding_the_ps_are_not_user_time():
    t = extract(str(GEN / "h2tls-gc40-go1.21.13.trace")).scheduling.timer_wakes
    assert t.late_share >= 0.1  # GC marking keeps both Ps busy too...
    assert t.user_share <= 0.3  # ...but with GC workers, not user goroutines


def test_starvation_named_where_no_goroutine_waited_runnable(rules):
    f = extract(str(GEN / "framed-hog20-go1.27.3.trace"))
    assert f.scheduling.wake_to_run_after_wakeup.p95_ms < 4.0  # under wake_delay's threshold
    found = [x for x in diagnose(f, rules).findings if x.cause == "gomaxprocs_starvation"]
    assert found and found[0].severity == "warning"
    assert found[0].rule_id == "gomaxprocs_starvation.late_timers"
    assert "timer wake-ups" in found[0].message


def test_healthy_single_p_run_is_silent(rules):
    f = extract(str(GEN / "fanout-healthy-procs1-go1.22.10.trace"))
    assert f.scheduling.timer_wakes.late == 0
    assert not [x for x in diagnose(f, rules).findings if x.cause == "gomaxprocs_starvation"]
