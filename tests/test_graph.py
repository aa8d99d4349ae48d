"""The causal graph on the fixture corpus: it explains slow waits with the real culprits.

* GOMAXPROCS starvation: the slowest wake-up of a stream goroutine was woken by its timer and
  then waited behind the CPU-bound goroutines, which held the only P for most of the delay;
  the graph has heavy held-P-while edges from them to the stream goroutines;
* slow consumer: a write-side network wait is explained as a netpoller wait for writability;
* fd reuse: network waits that never end are explained as such;
* the aggregated edges agree with the timelines (running time, creators, connections).
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pytest

from tests.support.corpus import MANIFEST, PRESENT as ENTRIES, entry_id as _id, or_skip_unsupported

REPO = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.skipif(not ENTRIES, reason=f"fixture corpus not present ({MANIFEST})")


def norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def pick(scenario: str, variant: str | None = None):
    es = [e for e in ENTRIES if norm(e.scenario) == norm(scenario) and (variant is None or e.variant == variant)]
    return es


@functools.lru_cache(maxsize=None)
def graph(path: str):
    from diagnose.graph import build_graph
    from diagnose.timeline import load_timelines

    return or_skip_unsupported(lambda p: build_graph(load_timelines(p)), path)


def _busy_share(w) -> float:
    """Share of a wake-up's delay during which some goroutine ran (the P was busy)."""
    return sum(r["overlap_ms"] for r in w.ran_instead) / max(w.wake_to_run_ms or 0.0, 1e-9)


def _hog_share(w) -> float:
    return sum(r["overlap_ms"] for r in w.ran_instead if r["cpu_bound"]) / max(w.wake_to_run_ms or 0.0, 1e-9)


# the hog variants (procs1-handlers starves the P with short handler bursts instead: see
# tests/test_graph_causal.py)
@pytest.mark.parametrize("entry", pick("gomaxprocs", "procs1-burn") + pick("gomaxprocs", "procs1-burst"), ids=_id)
def test_starved_wakeup_is_explained_by_cpu_bound_goroutines(entry):
    cg = graph(str(entry.trace))
    slow = cg.slowest_wakeups(20)
    assert slow, "no wake-up followed by a run"
    # on a loaded machine the whole process can stall (nothing runs): explain the slowest
    # wake-up during which the P was busy
    busy = [w for w in slow if _busy_share(w) >= 0.5]
    assert busy, [w.as_dict() for w in slow[:2]]
    w = busy[0]
    assert w.wake_to_run_ms >= 5.0, w.as_dict()
    assert w.woken_by in ("timer", "runtime", "netpoller") or w.woken_by.startswith("goroutine"), w.woken_by
    # of the time something ran meanwhile, the CPU hogs had most of it
    assert _hog_share(w) >= 0.5 * _busy_share(w), w.as_dict()
    top = w.ran_instead[0]
    assert top["cpu_bound"] and top["goroutine"] != w.goroutine
    # most slow wake-ups with a busy P are behind the hogs
    assert sum(_hog_share(x) >= 0.5 * _busy_share(x) for x in busy) >= 0.8 * len(busy)
    # aggregated: the CPU-bound goroutines hold the P against many woken goroutines
    held = [(a, b, d) for a, b, d in cg.edges("held-P-while") if d["total_ms"] >= 5.0]
    runners = {a for a, _, _ in held}
    cpu_g = {f"g:{r['goroutine']}" for x in busy for r in x.ran_instead if r["cpu_bound"]}
    assert cpu_g & runners
    assert len({b for a, b, _ in held if a in cpu_g}) >= 2, "they delay more than one goroutine"


@pytest.mark.parametrize("entry", [e for e in ENTRIES if norm(e.scenario) == "healthy" and e.reproduced], ids=_id)
def test_healthy_wakeups_are_not_behind_cpu_bound_goroutines(entry):
    cg = graph(str(entry.trace))
    for w in cg.slowest_wakeups(3):
        assert _hog_share(w) <= 0.5, w.as_dict()


@pytest.mark.parametrize("entry", pick("slowconsumer"), ids=_id)
def test_write_side_network_wait_is_explained(entry):
    cg = graph(str(entry.trace))
    nw = cg.nw
    from diagnose.timeline.stacks import SIDE_WRITE

    idx = np.nonzero((nw.side == SIDE_WRITE) & ~nw.open)[0]
    assert idx.shape[0] > 0, "slow consumers make the writer wait for writability"
    i = int(idx[np.argmax(nw.dur[idx])])
    w = cg.explain_network_wait(int(nw.g[i]), int(nw.start[i]) - cg.tl.t0)
    assert w.reason == "network" and w.side == "write"
    assert w.woken_by == "netpoller"
    assert any(f[0].startswith("internal/poll.(*FD).Write") for f in w.stack)
    assert w.wait_ms > 0 and w.woken_ns is not None and w.woken_ns >= w.start_ns
    e = cg.g.get_edge_data(f"g:{w.goroutine}", "netpoller", key="woken-by")
    assert e and e["count"] >= 1 and e["examples"]


@pytest.mark.parametrize("entry", pick("fdreuse"), ids=_id)
def test_never_ending_network_wait_is_explained(entry):
    cg = graph(str(entry.trace))
    nw = cg.nw
    op = np.nonzero(nw.open)[0]
    assert op.shape[0] > 0
    w = cg.explain_network_wait(int(nw.g[op[0]]), int(nw.start[op[0]]) - cg.tl.t0)
    assert w.woken_ns is None and w.woken_by.startswith("never") and w.wake_to_run_ms is None


@pytest.mark.parametrize("entry", ENTRIES[::4], ids=_id)
def test_edges_agree_with_timelines(entry):
    from diagnose.timeline.columns import G_RUNNING

    cg = graph(str(entry.trace))
    tl, G = cg.tl, cg.g
    # ran-on (per P) adds up to each goroutine's running time
    ran = {}
    for a, b, d in cg.edges("ran-on"):
        if b.startswith("p:"):
            ran[a] = ran.get(a, 0.0) + d["total_ms"]
    for i, gid in enumerate(tl.gor_id.tolist()):
        assert ran.get(f"g:{gid}", 0.0) == pytest.approx(tl.gor_state_ns[i, G_RUNNING] / 1e6, abs=1e-6)
    # created-by edges are the timeline's creators
    made = {(a, b) for a, b, _ in cg.edges("created-by")}
    want = {(f"g:{g}", f"g:{c}") for g, c, ok in zip(tl.gor_id.tolist(), tl.gor_creator.tolist(),
                                                     tl.gor_created.tolist()) if ok and c >= 0}
    assert made == want
    # node kinds
    kinds = {d.get("kind") for _, d in G.nodes(data=True)}
    assert {"goroutine", "goroutine_group", "proc", "thread", "waker"} <= kinds
    groups = cg.goroutine_groups()
    assert sum(g["goroutines"] for g in groups) == tl.gor_id.shape[0]
    assert [g["running_ms"] for g in groups] == sorted((g["running_ms"] for g in groups), reverse=True)
    # connections as the features count them
    from diagnose.features import extract_from_timelines

    f = extract_from_timelines(tl)
    conns = [n for n, d in G.nodes(data=True) if d.get("kind") == "connection"]
    assert len(conns) == f.fds.connections
    for a, b, d in G.edges(data=True):
        if "count" in d:
            assert d["count"] >= 1 and d["max_ms"] >= d["p95_ms"] - 1e-9 >= d["p50_ms"] - 2e-9 >= -1e-9


@pytest.mark.parametrize("entry", pick("customlistener")[:2] + pick("tlsbypass")[:2], ids=_id)
def test_blocking_syscalls_show_on_threads(entry):
    cg = graph(str(entry.trace))
    sys_edges = cg.edges("in-syscall-on")
    assert sys_edges
    longest = max(d["max_ms"] for _, _, d in sys_edges)
    assert longest >= 1.0, "blocking I/O holds a thread inside a syscall"
    sites = [d for n, d in cg.g.nodes(data=True) if d.get("kind") == "syscall_site"]
    assert any(s["caller_class"] in ("raw_user", "netpoller") for s in sites)


@pytest.mark.parametrize("entry", pick("gomaxprocs", "procs1-burn")[:1], ids=_id)
def test_the_diagnosis_does_not_build_the_networkx_view(entry):
    """Features query the graph's indexed relations; the networkx view (`cg.g`) is built on
    first use only, and then holds the relations the features were computed from."""
    from diagnose import pipeline

    with pipeline.open_input(entry.trace) as inp:
        run = or_skip_unsupported(lambda i: pipeline.analyse(i, keep_timelines=True), inp)
    cg = run.graph
    assert "g" not in vars(cg), "analyse built the networkx view"
    held = cg.edges("held-P-while")
    assert held and "g" in vars(cg)
    # the held-P-while edges carry the same per-goroutine time the features' P demand counts
    by_holder: dict[int, float] = {}
    for a, _b, d in held:
        by_holder[int(a[2:])] = by_holder.get(int(a[2:]), 0.0) + d["total_ms"]
    top = max(by_holder, key=by_holder.get)
    hp = cg.held
    mine = float(hp.overlap[hp.g == top].sum()) / 1e6
    assert by_holder[top] <= mine + 1e-6 and by_holder[top] >= 0.5 * mine


@pytest.mark.parametrize("entry", pick("fdreuse", "control-close")[:2] + pick("healthy")[:2], ids=_id)
def test_stack_predicates_asked_per_function_match_a_walk_of_every_frame(entry):
    """StackInfo.any_func asks a predicate once per distinct function name and spreads the
    answer over the stacks; it must say what walking every frame of every stack says."""
    from diagnose.timeline import load_timelines
    from diagnose.timeline import stacks as S

    st = or_skip_unsupported(lambda p: load_timelines(p), str(entry.trace)).stacks
    preds = [(lambda fn: fn.startswith("net."), None), (S._NETPOLL_WAIT_FUNCS.__contains__, 8),
             (lambda fn: fn.startswith("net.(*rawConn)."), None), (lambda fn: "Write" in fn, 3)]
    hits = 0
    for pred, first in preds:
        want = np.array([any(pred(fn) for fn in f[:first]) for f in st.funcs], dtype=bool)
        got = st.any_func(pred, first)
        assert got.dtype == bool and np.array_equal(got, want)
        hits += int(want.sum())
    assert hits > 0
