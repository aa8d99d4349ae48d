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
overfitted, LOPO Brier 0.109 vs 0.072 for the hand-set numbers). A rule with a constant
confidence is fitted as a constant the same way (the mean, shrunk to its current number).

Which fit ships (issue 12, branch `mild`): for each rule, the shrinkage weight is chosen among
PRIOR_WEIGHTS by *leave-one-train-program-out* Brier on its train findings (fit on the other
train programs, predict the one left out), and the fit is proposed only where that Brier is
lower than the current numbers' on the same findings ("selected"). The whole corpus is then
scored leave-one-program-out with the same selection repeated inside each fold (train
programs only, the left-out one excluded), and a rule's proposal is marked to ship only if
its own findings' leave-one-program-out Brier is lower than with the current numbers.
Held-out programs are scored with the shipped set.
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
# candidate shrinkage weights, chosen per rule leave-one-train-program-out; (1, 4, 16) was
# measured too (2026-12-07, branch `mild`) and was worse leave-one-program-out (Brier 0.106
# vs 0.104, per-rule bins 18/37 vs 21/37): the choice overfits the few train programs
PRIOR_WEIGHTS: tuple[float, ...] = (PRIOR_WEIGHT,)
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


def fit(obs: list[Obs], prior: tuple[float, float] | None = None,
        weight: float = PRIOR_WEIGHT) -> tuple[float, float] | None:
    """Least-squares (at_threshold, at_saturation) for y ~ a + (b - a) * strength.

    With `prior` (the rule's current numbers), `weight` pseudo-findings at strength 0 and 1
    carry them, so a rule with few findings moves only as far as its data justify; the
    result is clamped to 0.05..CAP (no rule has the evidence to claim more). A rule with a
    constant confidence (strength None) gets a constant (a == b): the shrunk mean."""
    if obs and all(o.strength is None for o in obs):
        if len(obs) < MIN_FIT:
            return None
        w = float(len(obs)) + (2 * weight if prior is not None else 0.0)
        m = (sum(float(o.right) for o in obs) + (2 * weight * prior[0] if prior is not None else 0.0)) / w
        c = round(min(CAP, max(0.05, m)), 2)
        return c, c
    pts = [(o.strength, float(o.right), 1.0) for o in obs if o.strength is not None]
    if len(pts) < MIN_FIT:
        return None
    if prior is not None:
        pts += [(0.0, prior[0], weight), (1.0, prior[1], weight)]
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
        if isinstance(spec, (int, float)):
            out[lr.rule.id] = (float(spec), float(spec))
        else:
            out[lr.rule.id] = (spec.at_threshold, spec.at_saturation)
    return out


def predict(o: Obs, params: dict[str, tuple[float, float]]) -> float:
    if o.rule_id not in params:
        return o.confidence
    a, b = params[o.rule_id]
    return a if o.strength is None else a + (b - a) * o.strength


@dataclass
class Choice:
    """What the selection made of one rule: the fit it proposes (None: keep the current
    numbers) and the leave-one-train-program-out Brier that decided it."""
    rule_id: str
    findings: int
    programs: int
    current: float
    best: float
    weight: float | None
    params: tuple[float, float] | None


def _lotpo(train: list[Obs], prior: tuple[float, float] | None, weight: float) -> list[tuple[float, bool]]:
    """Predictions for each train finding by a fit on the *other* train programs."""
    out = []
    for prog in sorted({o.program for o in train}):
        p = fit([o for o in train if o.program != prog], prior, weight)
        for o in train:
            if o.program == prog:
                out.append((predict(o, {o.rule_id: p}) if p else o.confidence, o.right))
    return out


def select(train: list[Obs], priors: dict[str, tuple[float, float]]) -> list[Choice]:
    """Per rule: the shrinkage weight with the lowest leave-one-train-program-out Brier, and
    its fit on every train finding, proposed only if that Brier beats the current numbers'."""
    out = []
    for rid in sorted({o.rule_id for o in train}):
        mine = [o for o in train if o.rule_id == rid]
        progs = {o.program for o in mine}
        cur = brier([(o.confidence, o.right) for o in mine])
        best, wbest = cur, None
        if len(progs) >= 2:
            for w in PRIOR_WEIGHTS:
                b = brier(_lotpo(mine, priors.get(rid), w))
                if b < best - 1e-6:
                    best, wbest = b, w
        p = fit(mine, priors.get(rid), wbest) if wbest is not None else None
        out.append(Choice(rid, len(mine), len(progs), cur, best, wbest, p))
    return out


def selected_params(train: list[Obs], priors: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    return {c.rule_id: c.params for c in select(train, priors) if c.params is not None}


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


def _pooled(pairs: list[tuple[float, bool]]) -> str:
    rows = reliability(pairs)
    return f"{sum(1 for r in rows if r[4])}/{len(rows)}"


def report_fit(obs: list[Obs]) -> None:
    """The plain fit of every rule and the selected one (module docstring), scored on
    held-out programs and leave-one-program-out over the whole corpus."""
    rules = sorted({o.rule_id for o in obs})
    priors = current_params()
    train = [o for o in obs if o.split == "train"]
    plain = {}
    for rid in rules:
        p = fit([o for o in train if o.rule_id == rid], priors.get(rid))
        if p:
            plain[rid] = p
    print("**fitted on train programs** (at_threshold, at_saturation):\n")
    for rid, (a, b) in sorted(plain.items()):
        print(f"- {rid}: {a:.2f} .. {b:.2f}")
    print()
    choices = select(train, priors)
    print("**selected: leave-one-train-program-out Brier of each rule's train findings**\n")
    print("| rule | train findings | programs | current numbers | Brier current | best fit | weight | proposed |")
    print("|---|---|---|---|---|---|---|---|")
    for c in choices:
        cur = priors.get(c.rule_id)
        print(f"| {c.rule_id} | {c.findings} | {c.programs} | {cur[0]:.2f}..{cur[1]:.2f} | {c.current:.3f} | "
              f"{c.best:.3f} | {c.weight or '-'} | "
              f"{f'{c.params[0]:.2f}..{c.params[1]:.2f}' if c.params else 'keep'} |" if cur else
              f"| {c.rule_id} | {c.findings} | {c.programs} | - | {c.current:.3f} | - | - | keep |")
    print()
    sel = {c.rule_id: c.params for c in choices if c.params is not None}
    held = [o for o in obs if o.split == "heldout"]
    for title, ps in (("plain fit", plain), ("selected fit", sel)):
        by: dict[str, list[tuple[float, bool]]] = defaultdict(list)
        for o in held:
            by[o.rule_id].append((predict(o, ps), o.right))
        print_table(f"{title}, held-out programs", by)
    cur_h = [(o.confidence, o.right) for o in held]
    print(f"held-out: Brier current {brier(cur_h):.3f}, plain fit "
          f"{brier([(predict(o, plain), o.right) for o in held]):.3f}, selected "
          f"{brier([(predict(o, sel), o.right) for o in held]):.3f}; pooled bins within ±{TOLERANCE}: current "
          f"{_pooled(cur_h)}, selected {_pooled([(predict(o, sel), o.right) for o in held])}\n")
    lopo: list[tuple[float, bool]] = []
    lopo_sel: list[tuple[float, bool]] = []
    cur: list[tuple[float, bool]] = []
    lopo_by: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    sel_by: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    cur_by: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for prog in sorted({o.program for o in obs}):
        ps = {}
        for rid in rules:
            p = fit([o for o in obs if o.rule_id == rid and o.program != prog], priors.get(rid))
            if p:
                ps[rid] = p
        ss = selected_params([o for o in train if o.program != prog], priors)
        for o in obs:
            if o.program == prog:
                lopo.append((predict(o, ps), o.right))
                lopo_by[o.rule_id].append((predict(o, ps), o.right))
                lopo_sel.append((predict(o, ss), o.right))
                sel_by[o.rule_id].append((predict(o, ss), o.right))
                cur.append((o.confidence, o.right))
                cur_by[o.rule_id].append((o.confidence, o.right))
    ship = {}
    print("**per rule, leave-one-program-out Brier of its findings (selected vs current)**\n")
    print("| rule | findings | selected | current | proposed | ship |")
    print("|---|---|---|---|---|---|")
    for rid in sorted(sel):
        b_sel, b_cur = brier(sel_by[rid]), brier(cur_by[rid])
        ok = b_sel < b_cur - 1e-6
        if ok:
            ship[rid] = sel[rid]
        print(f"| {rid} | {len(sel_by[rid])} | {b_sel:.4f} | {b_cur:.4f} | {sel[rid][0]:.2f}..{sel[rid][1]:.2f} | "
              f"{'yes' if ok else 'no'} |")
    print()
    sh_by: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for o in held:
        sh_by[o.rule_id].append((predict(o, ship), o.right))
    sh = [x for v in sh_by.values() for x in v]
    print(f"shipped set, held-out: Brier {brier(sh):.4f} (current {brier(cur_h):.4f}), pooled bins "
          f"{_pooled(sh)} (current {_pooled(cur_h)}), per-rule bins {bins_within(sh_by)} "
          f"(current {bins_within({r: [(o.confidence, o.right) for o in held if o.rule_id == r] for r in sh_by})})\n")
    print(f"leave-one-program-out Brier: plain fit {brier(lopo):.3f}, selected {brier(lopo_sel):.3f}, "
          f"current {brier(cur):.3f} ({len(lopo)} findings)")
    print(f"per-rule bins within ±{TOLERANCE}, whole corpus, leave-one-program-out: plain fit "
          f"{bins_within(lopo_by)}, selected {bins_within(sel_by)}, current {bins_within(cur_by)}; pooled: "
          f"selected {_pooled(lopo_sel)}, current {_pooled(cur)}")


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
    report_fit(obs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
