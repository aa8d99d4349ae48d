"""What `rules validate` and `rules test` print and which exit code they give.

Kept out of the typer functions so any CLI layout can call them:

    validate: 0 valid; 1 problems in rule files (one `file:line: reason` each, all at once);
              2 an input that is not a rule file at all (FIFO, device, binary, alias bomb...).
    test:     0 every case passed (todo cases never fail); 1 a case failed; 2 the rule files
              or their tests are invalid, or (strict, the default) a rule could not be
              evaluated on a case.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from diagnose.rules.loader import validate_paths
from diagnose.rules.ruledoc import Issue
from diagnose.rules.testing import CaseResult, run_tests


@dataclass
class Report:
    out: list[str] = field(default_factory=list)   # stdout lines
    err: list[str] = field(default_factory=list)   # stderr lines
    code: int = 0


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _issues_report(issues: list[Issue], rep: Report) -> None:
    fatal = [i for i in issues if i.fatal]
    for i in issues:
        (rep.err if i.fatal else rep.out).append(str(i))
    rep.code = 2 if fatal else 1


def validate(paths: list[Path], rules_dirs: list[Path] | None = None, manifest: Path | None = None) -> Report:
    rep = Report()
    ok, issues = validate_paths(paths, rules_dirs=rules_dirs, manifest_path=manifest)
    if issues:
        _issues_report(issues, rep)
        if rep.code == 1:
            rep.out.append(f"{_plural(len(issues), 'problem')}; {_plural(ok, 'valid rule')}")
        return rep
    rep.out.append(f"ok: {_plural(ok, 'valid rule')}")
    return rep


def _case_line(r: CaseResult) -> str:
    conf = f" (confidence {r.confidence:.2f})" if r.confidence is not None else ""
    line = f"  {r.status.upper():5} {r.expect:6} {r.target}{conf}"
    if r.detail and (r.status != "pass" or r.todo):
        line += f"\n        {r.detail}"
    return line


def test(paths: list[Path], rules_dirs: list[Path] | None = None, manifest: Path | None = None,
         verbose: bool = False, strict: bool = True) -> Report:
    rep = Report()
    results, problems = run_tests(paths, manifest_path=manifest, rules_dirs=rules_dirs)
    if problems:
        _issues_report(problems, rep)
        rep.code = 2
        return rep
    counts = {"pass": 0, "fail": 0, "skip": 0, "error": 0, "todo": 0}
    current = None
    for r in results:
        counts[r.status] += 1
        if r.status == "pass" and not verbose and not r.todo:
            continue
        if current != (r.rule_path, r.rule_id):
            rep.out.append(f"{r.rule_path}: {r.rule_id}")
            current = (r.rule_path, r.rule_id)
        rep.out.append(_case_line(r))
    failed = counts["fail"] + counts["error"]
    todo = f", {counts['todo']} todo" if counts["todo"] else ""
    rep.out.append(("FAILED" if failed else "SUCCESS")
                   + f": {counts['pass']} passed, {failed} failed, {counts['skip']} skipped{todo}")
    if counts["error"] and strict:
        rep.code = 2
    elif failed:
        rep.code = 1
    return rep
