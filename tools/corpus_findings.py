"""Findings per fixture scenario: the corpus table (issue 11's before/after note).

    python tools/corpus_findings.py [--json OUT] [--only SCENARIO,...] [--compare BEFORE.json]

Runs the whole diagnosis (features + shipped rules) on every trace of fixtures/manifest.json
and prints, per scenario/variant, each finding's cause and severity with the number of Go
versions it appeared on, next to the causes the manifest expects. --compare prints a
before/after table against a JSON written by an earlier run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: NETPOLL_CODE_ROOT: diagnose with another checkout's code (e.g. main, for a "before" table)
sys.path.insert(0, os.environ.get("NETPOLL_CODE_ROOT", str(REPO)))


def findings_of(trace: Path) -> list[str]:
    from diagnose.features import extract
    from diagnose.rules import diagnose, load_ruleset

    res = diagnose(extract(trace), load_ruleset())
    return sorted({f"{f.cause}:{f.severity.value if hasattr(f.severity, 'value') else f.severity}"
                   for f in res.findings})


def run(only: list[str]) -> dict[str, dict[str, list[str]]]:
    man = json.loads((REPO / "fixtures" / "manifest.json").read_text())
    out: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for e in man["traces"]:
        if not e.get("path") or (only and e["scenario"] not in only):
            continue
        key = f"{e['scenario']}:{e['variant']}"
        out[key][e["toolchain"]] = findings_of(REPO / "fixtures" / e["path"])
        print(f"  {key} {e['toolchain']}: {', '.join(out[key][e['toolchain']]) or '-'}", file=sys.stderr, flush=True)
    return out


def summary(per_version: dict[str, list[str]]) -> str:
    n: dict[str, int] = defaultdict(int)
    for fs in per_version.values():
        for f in fs:
            n[f] += 1
    tot = len(per_version)
    return ", ".join(f"{k} {v}/{tot}" for k, v in sorted(n.items())) or "none"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--only", default="")
    ap.add_argument("--compare")
    a = ap.parse_args()
    res = run([x for x in a.only.split(",") if x])
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))
    before = json.loads(Path(a.compare).read_text()) if a.compare else None
    man = json.loads((REPO / "fixtures" / "manifest.json").read_text())
    exp = {f"{e['scenario']}:{e['variant']}": e.get("expected_causes", []) for e in man["traces"]}
    print("| scenario / variant | expected | " + ("before | after |" if before else "findings |"))
    print("|---|---|" + ("---|---|" if before else "---|"))
    for k in res:
        row = f"| {k} | {', '.join(exp.get(k, [])) or '-'} | "
        if before:
            row += f"{summary(before.get(k, {})) if k in before else 'n/a'} | "
        print(row + summary(res[k]) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
