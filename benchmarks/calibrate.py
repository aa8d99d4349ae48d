#!/usr/bin/env python3
"""Is a finding's confidence a probability? Reliability table and Brier score (issue 12).

    python benchmarks/calibrate.py                 # current rules, both corpora
    python benchmarks/calibrate.py --fit           # + fit at_threshold/at_saturation on train programs,
                                                   #   score them on held-out programs and by LOPO

A finding is *right* when its cause was injected in the trace's program and the clients
noticed it (benchmarks/corpus_eval.py: p95 >= 2x the healthy p95 of that program on that Go
version; for the harness corpus, every reproduced scenario). The table bins each rule's
confidence and compares the bin's mean confidence with the fraction of its findings that
were right; a bin is calibrated when they differ by at most 0.1. Brier = mean((p - right)^2).

The fit: a rule's confidence is at_threshold + (at_saturation - at_threshold) * strength
(rules/README.md); with strength known per finding, least squares on the train programs'
findings gives the two numbers (clamped to 0.05..0.99, at_saturation >= at_threshold).
Rules with fewer than MIN_FIT train findings keep their parameters; the current parameters
enter the fit as PRIOR_WEIGHT pseudo-findings at each end (shrinkage: the first fit without it
overfitted, LOPO Brier 0.109 vs 0.072 for the hand-set numbers).
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus_eval import PRODUCT_CAUSES, Case, correct, load_cases, run_rules  # noqa: E402

BINS = [0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001]
MIN_FIT = 5
PRIOR_WEIGHT = 4.0  # pseudo-findings carrying the current parameters at each end
CAP = 0.97
TOLERANCE = 0.1


@dataclass
class Obs:
    rule_id: str
    program: str
    split: str
    confidence: float
    strength: float | None
    right: bool


def observations(cases: list[Case]) -> list[Obs]:
    return [Obs(h.rule_id, k.program, k.split, h.confidence, h.strength, correct(k, h.cause))
            for k in cases for h in k.rules if h.cause in PRODUCT_CAUSES]


def brier(pairs: list[tuple[float, bool]]) -> float:
    return sum((p - float(y)) ** 2 for p, y in pairs) / len(pairs) if pairs else float("nan")


def reliability(pairs: list[tuple[float, bool]]) -> list[tuple[str, int, float, float, bool]]:
    """(bin label, n, mean confidence, observed fraction right, within tolerance) per populated bin."""
    out = []
    for lo, hi in zip(BINS, BINS[1:]):
        sel = [(p, y) for p, y in pairs if lo <= p < hi]
        if not sel:
            continue
        mp = sum(p for p, _ in sel) / len(sel)
        obs = sum(1 for _, y in sel if y) / len(sel)
        out.append((f"{lo:.1f}-{min(hi, 1.0):.1f}", len(sel), mp, obs, abs(mp - obs) <= TOLERANCE))
    return out


def fit(obs: list[Obs], prior: tuple[float, float] | None = None) -> tuple[float, float] | None:
    """Least-squares (at_threshold, at_saturation) for y ~ a + (b - a) * strength.

    With `prior` (the rule's current numbers), PRIOR_WEIGHT pseudo-findings at strength 0
    and 1 carry them, so a rule with few findings moves only as far as its data justify;
    the result is clamped to 0.05..CAP (no rule has the evidence to claim more)."""
    pts = [(o.strength, float(o.right), 1.0) for o in obs if o.strength is not None]
    if len(pts) < MIN_FIT:
        return None
    if prior is not None:
        pts += [(0.0, prior[0], PRIOR_WEIGHT), (1.0, prior[1], PRIOR_WEIGHT)]
    w = sum(q for _, _, q in pts)
    mx = sum(s * q for s, _, q in pts) / w
    my = sum(y * q for _, y, q in pts) / w
    sxx = sum(q * (s - mx) ** 2 for s, _, q in pts)
    c = max(0.0, sum(q * (s - mx) * (y - my) for s, y, q in pts) / sxx) if sxx > 1e-9 else 0.0
    a = min(CAP, max(0.05, my - c * mx))
    b = min(CAP, max(a, a + c))
    return round(a, 2), round(b, 2)


def current_params() -> dict[str, tuple[float, float]]:
    """(at_threshold, at_saturation) of each shipped rule with a graded confidence."""
    from diagnose.rules.loader import load_ruleset

    out = {}
    for lr in load_ruleset().active():
        spec = lr.rule.confidence
        if not isinstance(spec, (int, float)):
            out[lr.rule.id] = (spec.at_threshold, spec.at_saturation)
    return out


def predict(o: Obs, params: dict[str, tuple[float, float]]) -> float:
    if o.rule_id not in params or o.strength is None:
        return o.confidence
    a, b = params[o.rule_id]
    return a + (b - a) * o.strength


def bins_within(pairs_by_rule: dict[str, list[tuple[float, bool]]]) -> str:
    """'k/n': populated per-rule bins whose mean confidence is within TOLERANCE of observed."""
    rows = [r for pairs in pairs_by_rule.values() for r in reliability(pairs)]
    return f"{sum(1 for r in rows if r[4])}/{len(rows)}"


def print_table(title: str, pairs_by_rule: dict[str, list[tuple[float, bool]]]) -> None:
    allp = [x for v in pairs_by_rule.values() for x in v]
    print(f"**{title}**: {len(allp)} findings, Brier {brier(allp):.3f}\n")
    print("| rule | bin | findings | mean confidence | observed right | within ±0.1 |")
    print("|---|---|---|---|---|---|")
    for rid in sorted(pairs_by_rule) + ["(all rules)"]:
        pairs = allp if rid == "(all rules)" else pairs_by_rule[rid]
        for label, n, mp, ob, ok in reliability(pairs):
            print(f"| {rid} | {label} | {n} | {mp:.2f} | {ob:.2f} | {'yes' if ok else 'NO'} |")
    print()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fit", action="store_true", help="fit confidence parameters on train programs")
    ap.add_argument("--no-fx", action="store_true", help="leave out the harness corpus (fixtures/manifest.json)")
    args = ap.parse_args(argv)
    cases = load_cases(include_fx=not args.no_fx)
    if not cases:
        print("no corpus", file=sys.stderr)
        return 2
    run_rules(cases)
    obs = observations(cases)
    by_rule: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    held: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for o in obs:
        by_rule[o.rule_id].append((o.confidence, o.right))
        if o.split == "heldout":
            held[o.rule_id].append((o.confidence, o.right))
    print_table("current confidence, whole corpus", by_rule)
    print_table("current confidence, held-out programs", held)
    print(f"per-rule bins within ±{TOLERANCE}: whole corpus {bins_within(by_rule)}, "
          f"held-out {bins_within(held)}\n")
    if not args.fit:
        return 0
    rules = sorted({o.rule_id for o in obs})
    priors = current_params()
    params = {}
    for rid in rules:
        p = fit([o for o in obs if o.rule_id == rid and o.split == "train"], priors.get(rid))
        if p:
            params[rid] = p
    print("**fitted on train programs** (at_threshold, at_saturation):\n")
    for rid, (a, b) in sorted(params.items()):
        print(f"- {rid}: {a:.2f} .. {b:.2f}")
    print()
    fitted: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for o in obs:
        if o.split == "heldout":
            fitted[o.rule_id].append((predict(o, params), o.right))
    print_table("fitted confidence, held-out programs", fitted)
    lopo: list[tuple[float, bool]] = []
    cur: list[tuple[float, bool]] = []
    lopo_by: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for prog in sorted({o.program for o in obs}):
        ps = {}
        for rid in rules:
            p = fit([o for o in obs if o.rule_id == rid and o.program != prog], priors.get(rid))
            if p:
                ps[rid] = p
        for o in obs:
            if o.program == prog:
                lopo.append((predict(o, ps), o.right))
                lopo_by[o.rule_id].append((predict(o, ps), o.right))
                cur.append((o.confidence, o.right))
    print(f"leave-one-program-out Brier: fitted {brier(lopo):.3f} vs current {brier(cur):.3f} "
          f"({len(lopo)} findings)")
    print(f"per-rule bins within ±{TOLERANCE}, whole corpus: leave-one-program-out fit "
          f"{bins_within(lopo_by)} vs current {bins_within(by_rule)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
