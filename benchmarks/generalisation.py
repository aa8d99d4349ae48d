#!/usr/bin/env python3
"""How the current rules do on programs they were not tuned on (issue 12).

    python benchmarks/generalisation.py              # held-out, train, per program (LOPO)
    python benchmarks/generalisation.py --details    # every noticed miss, early warning, false alarm
    python benchmarks/generalisation.py --split train  # only the train programs: what tuning may look at

Runs the shipped rules on the generalisation corpus (fixtures/generalisation.json, written
by ``tools/regen_fixtures.py --corpus gen``) and prints, per cause, recall at the doses clients
noticed (p95 >= 2x the program's healthy p95 on the same Go version; for fd_reuse, cross-talk
the clients saw), wrong-cause and
false-alarm counts, mixed-cause results and the expected-behaviour check. Labels: see
benchmarks/corpus_eval.py. The split is by program (manifest `split`).

Mixed causes: both causes must be named at >= warning, the stronger first. The stronger cause
is the one whose single-cause variant in the same program (the mix's variant name lists them,
e.g. mix-gc100-slow35 -> gc100, slow35) has the higher *median* client p95 ratio over the Go
versions; when the two medians are within ``TIE`` of each other neither order is wrong. (The
median, not the same Go version's run: one 0.5 s run per version swings 0.7x..12x at one dose.)

Leave-one-program-out: detection thresholds are not refit here (the rules are data fixed
before these programs existed), so each program's LOPO score is its own row of the
per-program table; the confidence fit's LOPO is in benchmarks/calibrate.py.
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus_eval import PRODUCT_CAUSES, SIGNALS, Case, load_cases, run_rules  # noqa: E402


TIE = 1.5  # single-cause median ratios closer than this: either order is right


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    n = len(xs)
    return (xs[n // 2] + xs[(n - 1) // 2]) / 2


def stronger_cause(k: Case, cases: list[Case]) -> str | None:
    """Which of a mixed trace's causes hurt the clients more on its own (None: a tie, or no
    single-cause runs to tell). See the module docstring."""
    med = {}
    for comp in k.variant.split("-")[1:]:
        runs = [c for c in cases if c.program == k.program and c.variant == comp and c.ratio is not None]
        if not runs or len(runs[0].expected) != 1:
            return None
        med[runs[0].expected[0]] = _median([c.ratio for c in runs])
    if len(med) != 2 or set(med) != set(k.expected):
        return None
    (a, ra), (b, rb) = sorted(med.items(), key=lambda kv: -kv[1])
    return a if ra >= TIE * rb else None


def score(cases: list[Case], universe: list[Case] | None = None) -> dict:
    """Counts for one selection of traces (`universe`: where to find the single-cause runs that
    say which cause of a mix is the stronger; default the selection itself)."""
    universe = cases if universe is None else universe
    per = {c: {"noticed": 0, "found": 0, "quiet_doses": 0, "early": 0, "wrong": 0} for c in PRODUCT_CAUSES}
    fa = fa_n = fa_slow = mixed_n = mixed_both = mixed_ordered = 0
    misses, earlies, alarms, wrongs, misordered = [], [], [], [], []
    for k in cases:
        warned = k.warned()
        if not k.expected:
            fa_n += 1
            if warned:
                fa += 1
                r = k.ratio
                fa_slow += bool(r is not None and r >= 2.0)
                alarms.append((k, warned))
            continue
        for cause in k.expected:
            row = per[cause]
            if k.noticed:
                row["noticed"] += 1
                if cause in warned:
                    row["found"] += 1
                else:
                    misses.append((k, cause, warned))
            else:
                row["quiet_doses"] += 1
                if cause in warned:
                    row["early"] += 1
                    earlies.append((k, cause))
        extra = [c for c in warned if c not in k.expected]
        if extra:
            for cause in k.expected:
                per[cause]["wrong"] += 1
            wrongs.append((k, extra))
        if k.kind == "mixed" and k.noticed:
            mixed_n += 1
            if all(c in warned for c in k.expected):
                mixed_both += 1
                strong = stronger_cause(k, universe)
                if strong is None or warned.index(strong) == min(warned.index(c) for c in k.expected):
                    mixed_ordered += 1
                else:
                    misordered.append((k, strong, warned))
    notes = {}
    for k, cause, _ in misses:
        per[cause]["unseen"] = per[cause].get("unseen", 0) + signals_as_healthy(k, cause, universe)
        notes[(id(k), cause)] = signal_note(k, cause, universe)
    return {"per": per, "fa": fa, "fa_n": fa_n, "fa_slow": fa_slow, "mixed_n": mixed_n, "mixed_both": mixed_both,
            "mixed_ordered": mixed_ordered, "misses": misses, "earlies": earlies, "alarms": alarms,
            "wrongs": wrongs, "misordered": misordered, "notes": notes,
}


def signals_as_healthy(k: Case, cause: str, universe: list[Case]) -> bool:
    """Does this trace show no more of `cause` than the program's healthy runs do: is each of
    the cause's signals (corpus_eval.SIGNALS, the features its rules read) at most the highest
    value among the baseline variant's runs over the Go versions? Such a miss left nothing in
    the trace for any threshold on those features to find; a miss with more is a threshold
    question (or a signal the rules do not read yet)."""
    base = [c for c in universe if c.program == k.program and c.variant == k.baseline and c.signals]
    if not base or cause not in k.signals:
        return False
    return all(v <= max(c.signals[cause][i] for c in base) for i, v in enumerate(k.signals[cause]))


def signal_note(k: Case, cause: str, universe: list[Case]) -> str:
    """The cause's signals in this trace against the healthy runs' highest, for the miss listing."""
    base = [c for c in universe if c.program == k.program and c.variant == k.baseline and c.signals]
    if not base or cause not in k.signals:
        return ""
    parts = []
    for i, name in enumerate(SIGNALS[cause]):
        hi = max(c.signals[cause][i] for c in base)
        v = k.signals[cause][i]
        parts.append(f"{name.split('.', 1)[1]} {v:.3g} {'<=' if v <= hi else '>'} {hi:.3g}")
    return "; signals vs healthy max: " + ", ".join(parts)


def _pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100 * a / b:.0f}%)" if b else "-"


def table(s: dict, title: str) -> str:
    rows = [f"**{title}**", "",
            "| cause | recall at noticed doses | misses showing no more than healthy runs | recall where the trace "
            "shows more | warnings below 2x (early) | wrong cause named |",
            "|---|---|---|---|---|---|"]
    for cause, r in s["per"].items():
        if r["noticed"] + r["quiet_doses"] == 0:
            continue
        unseen = r.get("unseen", 0)
        missed = r["noticed"] - r["found"]
        rows.append(f"| {cause} | {_pct(r['found'], r['noticed'])} | {unseen}/{missed} | "
                    f"{_pct(r['found'], r['noticed'] - unseen)} | {r['early']}/{r['quiet_doses']} | {r['wrong']} |")
    rows.append(f"| healthy + confounders: false alarms (warning or worse) | {_pct(s['fa'], s['fa_n'])} "
                f"| of which clients saw >= 2x anyway: {s['fa_slow']} | |")
    rows.append(f"| mixed (noticed): both causes named | {_pct(s['mixed_both'], s['mixed_n'])} | | |")
    rows.append(f"| mixed (noticed): both named, the stronger first | {_pct(s['mixed_ordered'], s['mixed_n'])} | | |")
    return "\n".join(rows)


def per_program(cases: list[Case]) -> str:
    rows = ["| program (split) | traces | noticed cause-doses found | early | wrong-cause traces | false alarms |",
            "|---|---|---|---|---|---|"]
    by: dict[str, list[Case]] = defaultdict(list)
    for k in cases:
        by[k.program].append(k)
    for prog, ks in sorted(by.items()):
        s = score(ks, cases)
        found = sum(r["found"] for r in s["per"].values())
        noticed = sum(r["noticed"] for r in s["per"].values())
        early = sum(r["early"] for r in s["per"].values())
        quiet = sum(r["quiet_doses"] for r in s["per"].values())
        rows.append(f"| {prog} ({ks[0].split}) | {len(ks)} | {_pct(found, noticed)} | {early}/{quiet} | "
                    f"{len(s['wrongs'])} | {_pct(s['fa'], s['fa_n'])} |")
    return "\n".join(rows)


def _name(k: Case) -> str:
    r = k.ratio
    return f"{k.program}:{k.variant} go{k.go} (p95 {k.p95:.1f} ms = {r:.1f}x)" if r else f"{k.program}:{k.variant} go{k.go}"


def _slow_note(k: Case) -> str:
    """For a slow-consumer miss: who was late (the throttled readers, or the others too) and
    what the trace shows on the write side. A backlog that delays only its own slow readers
    while no writer blocks lies in socket and client buffers, outside anything this process
    waits on (knowledge/unseen_latency.md)."""
    cls = k.class_p95
    who = (f"; slow readers p95 {cls['slow']:.1f} ms, the other clients {cls['fast']:.1f} ms "
           f"(healthy {k.baseline_p95:.1f})" if "slow" in cls and "fast" in cls and k.baseline_p95 else "")
    return f"{who}; write waits {k.write_side[0]}, write-blocked {k.write_side[1]:.1f} ms"


def details(s: dict) -> str:
    out = []
    for k, cause, warned in s["misses"]:
        out.append(f"  MISS   {cause:22s} {_name(k)}; named: {warned or 'nothing'}; all findings: "
                   f"{[(c, sev, round(p, 2)) for c, sev, p in k.findings]}"
                   f"{_slow_note(k) if cause == 'slow_consumer' else ''}{s['notes'].get((id(k), cause), '')}")
    for k, cause in s["earlies"]:
        out.append(f"  EARLY  {cause:22s} {_name(k)}")
    for k, extra in s["wrongs"]:
        out.append(f"  WRONG  {','.join(extra):22s} {_name(k)} (injected {k.expected})")
    for k, strong, warned in s["misordered"]:
        out.append(f"  ORDER  {strong:22s} {_name(k)} is the stronger cause; named in order: {warned}")
    for k, warned in s["alarms"]:
        out.append(f"  ALARM  {','.join(warned):22s} {_name(k)}")
    return "\n".join(out)


def series(cases: list[Case]) -> tuple[str, int, int]:
    """Dose-response lines, mild to blatant (the order of tools/gen_cases.py), and how many
    series have a confidence that never falls as the dose rises (0 when no finding)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    import gen_cases

    order = {c.key: i for i, c in enumerate(gen_cases.GEN_CASES)}
    groups: dict[tuple[str, str, str], list[Case]] = defaultdict(list)
    for k in cases:
        if k.kind == "dose":
            groups[(k.program, k.expected[0], k.go)].append(k)
    lines, mono = [], 0
    for (prog, cause, go), ks in sorted(groups.items()):
        ks.sort(key=lambda k: order.get(f"{k.program}:{k.variant}", 0))
        confs, cells = [], []
        for k in ks:
            hit = [(sev, p) for c, sev, p in k.findings if c == cause]
            confs.append(hit[0][1] if hit else 0.0)
            mark = f"{hit[0][0][0].upper()}{hit[0][1]:.2f}" if hit else "-"
            r = k.ratio
            size = (f"{k.xtalk}xt" if cause == "fd_reuse" else f"{r:.1f}x" if r is not None else "?")
            cells.append(f"{k.variant}:{size}:{mark}")
        ok = all(b >= a for a, b in zip(confs, confs[1:]))
        mono += ok
        lines.append(f"  {prog:9s} {cause:22s} go{go:8s} {'  '.join(cells)}{'' if ok else '   (not monotone)'}")
    return "\n".join(lines), mono, len(groups)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--details", action="store_true", help="list every miss, early warning and false alarm")
    ap.add_argument("--go", action="append", default=[], help="only these toolchains (repeatable)")
    ap.add_argument("--split", choices=("train", "heldout"),
                    help="only this split's programs (tune with --split train, never look at held-out)")
    args = ap.parse_args(argv)
    cases = load_cases()
    if args.split:
        cases = [k for k in cases if k.split == args.split]
    if args.go:
        cases = [k for k in cases if k.go in args.go]
    if not cases:
        print("no generalisation corpus: run tools/regen_fixtures.py --corpus gen", file=sys.stderr)
        return 2
    run_rules(cases)
    versions = sorted({k.go for k in cases})
    print(f"{len(cases)} traces, {len({k.program for k in cases})} programs, Go {', '.join(versions)}; "
          f"noticed = client p95 >= 2x the program's healthy p95 on the same Go version\n")
    held = [k for k in cases if k.split == "heldout"]
    train = [k for k in cases if k.split == "train"]
    for sel, title in ((held, "held-out programs"), (train, "train programs"), (cases, "whole corpus")):
        if not sel:
            continue
        s = score(sel, cases)
        print(table(s, f"{title} ({len(sel)} traces, programs: "
                       f"{', '.join(sorted({k.program for k in sel}))})"))
        print()
        if args.details and sel is held:
            print(details(s) + "\n")
        if args.details and sel is train:
            print(details(s) + "\n")
    text, mono, n = series(cases)
    if args.details:
        print("dose response (variant:client p95 / healthy p95, or cross-talk events (xt) for fd_reuse:"
              "finding W=warning I=info C=critical + confidence)")
        print(text + "\n")
    print(f"dose series whose confidence never falls as the dose rises: {mono}/{n}\n")
    print("**leave-one-program-out (each program scored with rules fixed before it was written)**\n")
    print(per_program(cases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
