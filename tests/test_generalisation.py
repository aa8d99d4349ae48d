"""The generalisation corpus (issue 12): its shape, its split, and the scoring of
benchmarks/generalisation.py and benchmarks/calibrate.py on committed traces of it.

The corpus is fixtures/generalisation.json + fixtures/traces/gen/ (tools/regen_fixtures.py
--corpus gen); the cases and the split are in tools/gen_cases.py.
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO / "benchmarks"))

import gen_cases  # noqa: E402

MANIFEST = REPO / "fixtures" / "generalisation.json"
ENTRIES = [e for e in json.loads(MANIFEST.read_text())["traces"] if e.get("path")] if MANIFEST.is_file() else []
needs_corpus = pytest.mark.skipif(not ENTRIES, reason="fixtures/generalisation.json not present")


def test_every_cause_in_three_styles_with_four_doses():
    styles: dict[str, set[str]] = defaultdict(set)
    doses: dict[tuple[str, str], list[float]] = defaultdict(list)
    for c in gen_cases.GEN_CASES:
        for cause in c.causes:
            styles[cause].add(c.program)
        if len(c.causes) == 1 and c.dose is not None:
            doses[(c.program, c.causes[0])].append(c.dose)
    for cause in (gen_cases.STARVE, gen_cases.SLOW, gen_cases.STORM, gen_cases.GC, gen_cases.FD):
        assert len(styles[cause]) >= 3, (cause, styles[cause])
    assert all(len(d) >= 4 for d in doses.values()), doses
    mixed = {c.program for c in gen_cases.GEN_CASES if len(c.causes) > 1}
    assert len(mixed) >= 5, mixed


def test_split_is_by_program_and_every_program_has_one():
    programs = {c.program for c in gen_cases.GEN_CASES}
    assert programs == set(gen_cases.SPLIT)
    assert set(gen_cases.SPLIT.values()) == {"train", "heldout"}


def test_flight_recorder_case_only_on_go_125_and_later():
    flight = next(c for c in gen_cases.GEN_CASES if c.variant == "flight")
    assert not gen_cases.applies(flight, "1.24.11")
    assert gen_cases.applies(flight, "1.25.5") and gen_cases.applies(flight, "1.27.3")


@needs_corpus
def test_committed_corpus_is_small_and_consistent():
    sizes = [(REPO / "fixtures" / e["path"]).stat().st_size for e in ENTRIES]
    assert sum(sizes) < 60 * 1024 * 1024
    assert max(sizes) <= 2 * 1024 * 1024
    assert sum(s < 512 * 1024 for s in sizes) >= 0.9 * len(sizes)
    splits: dict[str, set[str]] = defaultdict(set)
    have = {(e["program"], e["variant"], e["toolchain"]) for e in ENTRIES}
    for e in ENTRIES:
        splits[e["program"]].add(e["split"])
        # every dose series was measured against a baseline of the same pass (same toolchain)
        assert (e["program"], e["baseline"], e["toolchain"]) in have, e["path"]
    assert all(len(s) == 1 for s in splits.values()), splits


@pytest.fixture(scope="session")
def scored(tmp_path_factory):
    """A few committed Go 1.27.3 traces of a held-out program, run through the shipped rules."""
    import os

    os.environ["NETPOLL_FEATURE_CACHE"] = str(tmp_path_factory.mktemp("features"))
    import corpus_eval

    corpus_eval.CACHE = Path(os.environ["NETPOLL_FEATURE_CACHE"])
    want = {"healthy", "slow35", "slow15", "short"}
    cases = [k for k in corpus_eval.load_cases(programs={"hijack", "capture"})
             if k.go == "1.27.3" and k.variant in want]
    if len(cases) < 4:
        pytest.skip("the Go 1.27.3 hijack/capture traces are not in the corpus")
    corpus_eval.run_rules(cases, log=False)
    return cases


@needs_corpus
def test_score_counts_what_the_rules_said(scored):
    from generalisation import score

    s = score(scored)
    noticed = [k for k in scored if k.noticed]
    # the slow-consumer doses are far above 2x the healthy p95 on this corpus
    assert {k.variant for k in noticed} >= {"slow35", "slow15"}
    found = sum(1 for k in noticed if gen_cases.SLOW in k.warned())
    assert s["per"][gen_cases.SLOW]["noticed"] == len(noticed)
    assert s["per"][gen_cases.SLOW]["found"] == found
    assert len(s["misses"]) == len(noticed) - found
    quiet = [k for k in scored if not k.expected]
    assert s["fa_n"] == len(quiet)
    assert s["fa"] == sum(1 for k in quiet if k.warned())


@needs_corpus
def test_calibration_observations_are_labelled_and_scored(scored):
    from calibrate import brier, observations, reliability

    obs = observations(scored)
    assert obs, "the slow-consumer rule fires on at least one of these traces"
    for o in obs:
        assert 0.0 <= o.confidence <= 1.0
        assert o.split == "heldout"
    pairs = [(o.confidence, o.right) for o in obs]
    b = brier(pairs)
    assert 0.0 <= b <= 1.0
    rows = reliability(pairs)
    assert sum(n for _, n, _, _, _ in rows) == len(pairs)


def test_fit_recovers_a_rising_probability():
    from calibrate import Obs, fit

    # at strength 0 one finding in four is right, at strength 1 three in four
    obs = [Obs("r", "p", "train", 0.5, s, y) for s, ys in ((0.0, (1, 0, 0, 0)), (1.0, (1, 1, 1, 0)))
           for y in ys]
    assert fit(obs) == (0.25, 0.75)
    # the current parameters pull a small sample towards them
    a, b = fit(obs, prior=(0.6, 0.9))
    assert 0.25 < a < 0.6 and 0.75 < b < 0.9
    assert fit(obs[:3]) is None  # too few to fit
