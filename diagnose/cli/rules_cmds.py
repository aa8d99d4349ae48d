"""The `rules` command group: list, validate, test and explain diagnosis rules.

    netpoll-diagnose rules list [--rules-dir DIR]... [--all]
    netpoll-diagnose rules validate DIR_OR_FILE... [--rules-dir DIR]... [--manifest M]
    netpoll-diagnose rules test DIR_OR_FILE... [--rules-dir DIR]... [--manifest M] [--no-strict]
    netpoll-diagnose rules explain ID [--rules-dir DIR]...
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..rules import ConfidenceSpec, authoring, severity_rank
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


ManifestOpt = Annotated[Optional[Path], typer.Option("--manifest", help="fixture manifest (default: fixtures/manifest.json)")]


def _emit(rep) -> None:
    for line in rep.err:
        _err(line)
    for line in rep.out:
        typer.echo(line)
    raise typer.Exit(rep.code)


@rules_app.command("validate")
def validate_command(
    paths: Annotated[list[Path], typer.Argument(help="rule folders or files")],
    rules_dir: RulesDirOpt = None,
    manifest: ManifestOpt = None,
) -> None:
    """Check rule files in load order (shipped, --rules-dir, then PATHS): YAML, schema, CEL types,
    feature names, templates, knowledge, overrides/directives, tests. Exit 1 on problems."""
    _emit(authoring.validate(list(paths), list(rules_dir or []), manifest))


@rules_app.command("test")
def test_command(
    paths: Annotated[list[Path], typer.Argument(help="rule folders or files")],
    manifest: ManifestOpt = None,
    rules_dir: RulesDirOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="also print passing cases")] = False,
    strict: Annotated[bool, typer.Option("--strict/--no-strict", help="exit 2 when a rule cannot be evaluated")] = True,
) -> None:
    """Run the tests in PATHS (fires, silent, expect; features cases; todo). Exit 1 on failure."""
    _emit(authoring.test(list(paths), list(rules_dir or []), manifest, verbose, strict))


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
    if r.impact:
        out.append("  impact     (ms the cause costs the streams; orders findings of one severity)")
        out += ["    " + ln for ln in r.impact.strip().splitlines()]
    if r.evidence:
        out.append("  evidence   " + "; ".join(f"{e.from_} (up to {e.limit}{', where ' + e.where if e.where else ''})" for e in r.evidence))
    out.append(f"  message    {r.message.strip()}")
    if not r.tests.empty():
        out.append("  tests      fires: " + ", ".join(t.label() for t in r.tests.fires))
        out.append("             silent: " + ", ".join(t.label() for t in r.tests.silent))
        if r.tests.expect:
            out.append("             expect: " + ", ".join(f"{t.label()} -> {t.cause}" for t in r.tests.expect))
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
