"""The `rules` command group: list, validate, test and explain diagnosis rules.

    netpoll-diagnose rules list [--rules-dir DIR]... [--all]
    netpoll-diagnose rules validate DIR_OR_FILE...
    netpoll-diagnose rules test DIR_OR_FILE... [--manifest fixtures/manifest.json]
    netpoll-diagnose rules explain ID [--rules-dir DIR]...
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..rules import ConfidenceSpec, run_tests, severity_rank, validate_paths
from .common import RulesDirOpt, load_rules

rules_app = typer.Typer(
    help="List, validate, test and explain diagnosis rules.", no_args_is_help=True, add_completion=False
)


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


# --- rules subcommands -----------------------------------------------------------------------

@rules_app.command("list")
def list_command(
    rules_dir: RulesDirOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="also show disabled rules")] = False,
) -> None:
    """List the rules in effect (shipped, then --rules-dir layers, then $NETPOLL_DIAGNOSE_RULES)."""
    rs = load_rules(rules_dir)
    rows = [("ID", "CAUSE", "SEVERITY", "GO", "STATE", "SOURCE")]
    for lr in sorted(rs.rules.values(), key=lambda r: (-severity_rank(r.rule.severity), r.rule.cause, r.id)):
        if not lr.enabled and not all_:
            continue
        rows.append((lr.id, lr.rule.cause, lr.rule.severity.value, lr.rule.go_versions,
                     "enabled" if lr.enabled else "disabled", f"{lr.source} [{lr.layer}]"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        typer.echo("  ".join(r[i].ljust(widths[i]) for i in range(5)) + "  " + r[5])
    disabled = sum(1 for r in rs.rules.values() if not r.enabled)
    typer.echo(f"\n{len(rs.rules) - disabled} enabled, {disabled} disabled; layers: "
               + "; ".join(f"{lay.name}" for lay in rs.layers))


@rules_app.command("validate")
def validate_command(
    paths: Annotated[list[Path], typer.Argument(help="rule folders or files")],
) -> None:
    """Check rule files: YAML, schema, CEL, feature names, templates, knowledge ids. Exit 1 on errors."""
    ok, issues = validate_paths(list(paths))
    for issue in issues:
        typer.echo(str(issue))
    if issues:
        typer.echo(f"{len(issues)} problem{'s' if len(issues) != 1 else ''}; {ok} valid rule{'s' if ok != 1 else ''}")
        raise typer.Exit(1)
    typer.echo(f"ok: {ok} valid rule{'s' if ok != 1 else ''}")


@rules_app.command("test")
def test_command(
    paths: Annotated[list[Path], typer.Argument(help="rule folders or files")],
    manifest: Annotated[Optional[Path], typer.Option("--manifest", help="fixture manifest (default: fixtures/manifest.json)")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="also print passing cases")] = False,
) -> None:
    """Run each rule on the fixtures its `tests:` names (must fire / must stay silent). Exit 1 on failure."""

    results, problems = run_tests(list(paths), manifest_path=manifest)
    if problems:
        for p in problems:
            typer.echo(p)
        raise typer.Exit(2)
    counts = {"pass": 0, "fail": 0, "skip": 0, "error": 0}
    current = None
    for r in results:
        counts[r.status] += 1
        if r.status == "pass" and not verbose:
            continue
        if current != r.rule_id:
            typer.echo(f"{r.rule_path}: {r.rule_id}")
            current = r.rule_id
        conf = f" (confidence {r.confidence:.2f})" if r.confidence is not None else ""
        line = f"  {r.status.upper():5} {r.expect:6} {r.target}{conf}"
        if r.detail and r.status != "pass":
            line += f"\n        {r.detail}"
        typer.echo(line)
    failed = counts["fail"] + counts["error"]
    typer.echo(("FAILED" if failed else "SUCCESS") + f": {counts['pass']} passed, {failed} failed, {counts['skip']} skipped")
    if failed:
        raise typer.Exit(1)


@rules_app.command("explain")
def explain_command(
    rule_id: Annotated[str, typer.Argument(help="rule id (see `rules list`)")],
    rules_dir: RulesDirOpt = None,
) -> None:
    """Show a rule (condition, confidence, evidence, tests, where it came from) and its knowledge entry."""
    rs = load_rules(rules_dir)
    lr = rs.get(rule_id)
    if lr is None:
        close = [r for r in rs.rules if rule_id in r or r.startswith(rule_id.split(".")[0])]
        _err(f"no rule {rule_id!r}" + (f"; did you mean: {', '.join(sorted(close))}" if close else ""))
        raise typer.Exit(2)
    r = lr.rule
    out = [
        f"{r.id}: {r.title}",
        f"  cause      {r.cause}",
        f"  severity   {r.severity.value}",
        f"  go         {r.go_versions}  (trace header version, f.trace.format_minor)",
        f"  tags       {', '.join(r.tags) or '-'}",
        f"  state      {'enabled' if lr.enabled else 'disabled'}",
        f"  source     {lr.source} [{lr.layer}]",
    ]
    out += [f"             {h}" for h in lr.history]
    out.append("  condition")
    out += ["    " + ln for ln in r.condition.strip().splitlines()]
    if isinstance(r.confidence, ConfidenceSpec):
        c = r.confidence
        out.append(f"  confidence {c.at_threshold:.2f} at threshold -> {c.at_saturation:.2f} at saturation, mean of:")
        for s in c.signals:
            out.append(f"    {s.value}: {s.threshold:g} -> {s.saturation:g} ({s.scale})")
    else:
        out.append(f"  confidence {r.confidence:.2f} (constant)")
    if r.evidence:
        out.append("  evidence   " + "; ".join(f"{e.from_} (up to {e.limit}{', where ' + e.where if e.where else ''})" for e in r.evidence))
    out.append(f"  message    {r.message.strip()}")
    if r.tests.fires or r.tests.silent:
        out.append("  tests      fires: " + ", ".join(t.label() for t in r.tests.fires))
        out.append("             silent: " + ", ".join(t.label() for t in r.tests.silent))
    if r.notes:
        out.append("  notes")
        out += ["    " + ln for ln in r.notes.strip().splitlines()]
    entry = rs.knowledge.get(r.knowledge)
    if entry is not None:
        out += ["", f"Knowledge: {entry.title} ({entry.path})", ""]
        out += [entry.body.strip()]
    typer.echo("\n".join(out))


def register(app: typer.Typer) -> None:
    """Add the `rules` group to the main app."""
    app.add_typer(rules_app, name="rules")
