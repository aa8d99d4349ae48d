"""CPU work that is neither I/O nor GC (diagnose/features/cpuwork.py, issue 12 mixed causes).

`gomaxprocs_starvation.beside_gc_or_storm` names starvation beside GC or a write storm. Its
first differential (process-wide mark assists < 12%, and beside a storm hogs holding >= 80% of
the waits) missed two train mixes: framed mix-hog70-write16 on Go 1.19, where the storm's
writers look like hogs too (non-blocking syscalls end no run in a converted trace) and the
hog's 7 ms bursts look like short ones; and h2tls mix-gc100-hog70 on Go 1.27, where the
handlers' assists push the process-wide share over 12% although the hogs never assist.
`quiet_cpu_share` counts what only CPU work does: running with no syscalls, outside assists.
The pure doses beside them: framed write4 (a storm, Go 1.19: its writers are "hogs") and
fanout gc200 (a producer whose long runs are mark assists).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from diagnose.features import extract
from diagnose.rules import diagnose
from diagnose.rules.loader import load_ruleset

GEN = Path(__file__).resolve().parent.parent / "fixtures" / "traces" / "gen"
MIXES = ("framed-mix-hog70-write16-go1.19.8", "h2tls-mix-gc100-hog70-go1.27.3")
PURE = ("framed-write4-go1.19.8", "fanout-gc200-go1.21.13")


@pytest.fixture(scope="module")
def feats():
    return {n: extract(str(GEN / f"{n}.trace")) for n in MIXES + PURE}


@pytest.fixture(scope="module")
def rules():
    return load_ruleset()


def test_the_hogs_cpu_work_is_counted_and_the_storms_writers_are_not(feats):
    mix, storm = feats["framed-mix-hog70-write16-go1.19.8"], feats["framed-write4-go1.19.8"]
    # one 70% hog at GOMAXPROCS=1: about half the P's capacity, none of it in syscalls
    assert 0.45 <= mix.scheduling.quiet_cpu_share <= 0.75
    # the storm's writers hold the P in runs as long as a hog's, but write all the time
    assert storm.scheduling.p_demand.hog_share >= 0.2 and storm.scheduling.longest_run_ms >= 20.0
    assert storm.scheduling.quiet_cpu_share == 0.0


def test_mark_assists_are_not_cpu_work(feats):
    mix, gc = feats["h2tls-mix-gc100-hog70-go1.27.3"], feats["fanout-gc200-go1.21.13"]
    # the handlers assist, the two hogs never do: the process-wide share says "GC" ...
    assert mix.gc.mark_assist_share >= 0.12
    # ... yet the hogs' own running time is a third of the two Ps or more
    assert mix.scheduling.quiet_cpu_share >= 0.3
    # the GC-heavy producer holds the Ps in long runs, but they are mostly assists
    assert gc.scheduling.p_demand.hog_share >= 0.4
    assert gc.scheduling.quiet_cpu_share < 0.2


@pytest.mark.parametrize("name", MIXES)
def test_starvation_named_at_warning_beside_the_other_cause(feats, rules, name):
    found = {x.cause: x for x in diagnose(feats[name], rules).findings}
    assert found["gomaxprocs_starvation"].severity == "warning"
    assert found["gomaxprocs_starvation"].rule_id == "gomaxprocs_starvation.beside_gc_or_storm"
    other = "syscall_storm" if name.startswith("framed") else "gc_pressure"
    assert found[other].severity == "warning"


@pytest.mark.parametrize("name", PURE)
def test_pure_gc_or_storm_gets_no_starvation_warning(feats, rules, name):
    found = [x for x in diagnose(feats[name], rules).findings if x.cause == "gomaxprocs_starvation"]
    assert all(x.severity == "info" for x in found)
