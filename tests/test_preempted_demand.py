"""Starvation of goroutines that never block (diagnose/graph/demand.py, issue 12 preempt).

gzipstream renders snapshots of up to 16 ms at GOMAXPROCS=1: a render longer than the 10 ms
time slice is preempted and waits in the run queue. `p_demand`'s shares are measured over
post-wake-up waits only; on the burst95 run of Go 1.21 there are none to measure (0/0), and
the preempted waits are where the P was held.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from diagnose.features import extract
from diagnose.rules import diagnose
from diagnose.rules.engine import evaluate_rule
from diagnose.rules.loader import load_ruleset

GEN = Path(__file__).resolve().parent.parent / "fixtures" / "traces" / "gen"


@pytest.fixture(scope="module")
def burst95():
    return extract(str(GEN / "gzipstream-burst95-go1.21.13.trace"))


def test_preempted_waits_are_measured_when_no_wake_up_waited(burst95):
    d = burst95.scheduling.p_demand
    assert d.hog_share + d.burst_share == 0.0  # the old view: nobody held the P
    assert d.preempted_waits >= 10
    assert d.preempted_wait_ms >= 0.1 * burst95.trace.duration_ms
    assert d.preempted_user_share >= 0.9


def test_starvation_is_named_from_preempted_waits(burst95):
    rules = load_ruleset()
    found = diagnose(burst95, rules).findings
    starve = [f for f in found if f.cause == "gomaxprocs_starvation"]
    assert starve and starve[0].severity == "warning"
    # the late-timer rule (tests/test_timer_wakes.py) fires here too and may be the one shown
    assert "gomaxprocs_starvation.wake_delay" in [starve[0].rule_id] + starve[0].also_matched
    wake = next(lr for lr in rules.active() if lr.rule.id == "gomaxprocs_starvation.wake_delay")
    res = evaluate_rule(wake, burst95.model_dump(), rules.knowledge)
    assert res.fired and "preempted" in res.finding.message


def test_healthy_single_p_run_has_no_preempted_demand():
    d = extract(str(GEN / "gzipstream-healthy-procs1-go1.21.13.trace")).scheduling.p_demand
    assert d.preempted_wait_ms < 5.0


@pytest.mark.parametrize("go", ["1.21.13", "1.22.10", "1.24.11"])
def test_one_goroutine_holding_the_ps_is_no_gomaxprocs_starvation(go):
    """A goroutine runs on one P at a time (p_demand.top_holder_share): workpool's `queue`
    confounder at GOMAXPROCS=2 has one pool worker holding nearly all the P time its handlers
    waited behind, so the other P was free and the wait was the machine's (issue 12: these were
    warnings before); two hogs sharing the Ps (h2tls hog95) are starvation and still named."""
    rules = load_ruleset()
    queue = extract(str(GEN / f"workpool-queue-go{go}.trace"))
    assert queue.trace.gomaxprocs_min == 2
    assert queue.scheduling.p_demand.top_holder_share >= 0.8
    assert queue.scheduling.wake_to_run_after_wakeup.p95_ms >= 4.0  # the wait the rule saw
    assert not [f for f in diagnose(queue, rules).findings if f.severity != "info"]
    hogs = extract(str(GEN / f"h2tls-hog95-go{'1.22.10' if go == '1.21.13' else go}.trace"))
    assert hogs.trace.gomaxprocs_min == 2 and hogs.scheduling.p_demand.top_holder_share < 0.6
    assert "gomaxprocs_starvation" in [f.cause for f in diagnose(hogs, rules).findings if f.severity == "warning"]
