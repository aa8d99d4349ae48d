"""Every report format, on real fixture traces given by absolute path: no report names an
absolute path of this machine (the repository, the installed rules, a temporary folder, the
home folder); the text report fits its width; Slack diff tables fit a thread pane.

A shared report is read on other machines: `/home/alice/venv/lib/.../rules/fd_reuse.yaml`
leaks a home folder and means nothing to the reader, `rules/fd_reuse.yaml` says where to look.
"""
from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest

from tests.support.cli import run_main as run
from tests.support.corpus import ENTRIES, NO_CORPUS

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not ENTRIES, reason=NO_CORPUS)

FORMATS = ("text", "json", "markdown", "slack", "html")
SCENARIOS = ("fdreuse", "syscallstorm", "healthy")


def newest(scenario: str):
    cands = [e for e in ENTRIES if e.trace.exists() and e.scenario == scenario]
    if not cands:
        pytest.skip(f"no {scenario} fixture")
    return sorted(cands, key=lambda e: tuple(int(x) for x in e.go.split(".") if x.isdigit()))[-1]


def machine_paths() -> list[str]:
    """Absolute folders of this machine a report could leak."""
    import diagnose

    out = {str(REPO), str(Path(diagnose.__file__).resolve().parent), tempfile.gettempdir(), sys.prefix,
           str(Path.home()), os.getcwd()}
    return sorted((p for p in out if p not in ("/", "")), key=len, reverse=True)


@lru_cache(maxsize=None)
def rendered(scenario: str, fmt: str, rules_dir: str = "") -> str:
    trace = str(newest(scenario).trace.resolve())  # absolute on purpose
    extra = ["--rules-dir", rules_dir] if rules_dir else []
    code, out = run(trace, "--format", fmt, "--fail-on", "never", *extra)
    assert code == 0
    return out


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_no_report_contains_an_absolute_path(scenario, fmt):
    out = rendered(scenario, fmt)
    for p in machine_paths():
        assert p not in out, f"{fmt} report of {scenario} contains {p}"
    if fmt == "json":
        d = json.loads(out)
        assert not Path(d["trace"]["path"]).is_absolute()
        for f in d["findings"]:
            assert f["rule_source"].startswith("rules/") and f["rule_source"].endswith(".yaml")
        assert d["rules"]["layers"] == ["shipped: rules/"]


def test_team_rule_named_relative_to_its_layer(tmp_path):
    """A --rules-dir rule is named `team:<folder>/<file>`, not by its absolute path."""
    team = tmp_path / "rules"
    team.mkdir()
    src = (REPO / "rules" / "syscall_storm.yaml").read_text(encoding="utf-8")
    (team / "storm.yaml").write_text(src.replace("id: syscall_storm.write_rate", "id: team.storm")
                                     .replace("cause: syscall_storm", "cause: team_storm"), encoding="utf-8")
    out = rendered("syscallstorm", "json", str(team))
    d = json.loads(out)
    sources = {f["cause"]: f["rule_source"] for f in d["findings"]}
    assert sources["team_storm"] == "team:rules/storm.yaml"
    assert sources["syscall_storm"] == "rules/syscall_storm.yaml"
    assert str(tmp_path) not in out and "team: rules/ (--rules-dir)" in d["rules"]["layers"]


@pytest.mark.parametrize("width", [40, 80, 200])
def test_text_fits_its_width(width):
    """Every line within the width (titles, headline and commands too); only a single word
    longer than the line (a URL) may run over."""
    from diagnose.report import render
    from diagnose.rules.findings import Diagnosis

    for scenario in SCENARIOS:
        d = Diagnosis.model_validate(json.loads(rendered(scenario, "json")))
        text = render(d, "text", width=width)
        for ln in text.splitlines():
            if len(ln) > width:
                assert len(ln.split()) == 1 or max(len(w) for w in ln.split()) > width - 12, (width, ln)


def test_text_commands_stay_pasteable():
    """A wrapped command keeps working in a shell: its comment on a line of its own above it,
    the command continued with a backslash."""
    from diagnose.report.text import command_lines

    cmd = ("go tool trace -pprof=syscall trace.out > sys.pprof && go tool pprof -top sys.pprof   "
           "# write under (*chunkWriter).flush / Flush")
    lines = command_lines(cmd, 5, 50)
    assert all(len(ln) <= 50 for ln in lines)
    assert lines[0].strip().startswith("# write under")
    code = [ln.strip() for ln in lines if not ln.strip().startswith("#")]
    assert code[0].startswith("$ ") and all(c.endswith(" \\") for c in code[:-1])
    joined = " ".join(c.rstrip("\\").strip() for c in code)[2:]
    assert " ".join(joined.split()) == cmd.split("   #")[0]


SLACK_PANE = 52


def test_slack_diff_tables_fit_a_thread_pane():
    from test_diff import pair  # noqa: PLC0415 - the same BEFORE/AFTER pair as the diff tests

    before, after = pair()
    code, out = run("diff", str(before.trace), str(after.trace), "--format", "slack")
    assert code == 0
    blocks = json.loads(out)["blocks"]
    tables = [b["text"]["text"] for b in blocks if "```" in b.get("text", {}).get("text", "")]
    assert tables, "the headline numbers table"
    for t in tables:
        body = t.split("```")[1]
        assert max(len(ln) for ln in body.splitlines()) <= SLACK_PANE, body
    assert re.search(r"network wait p95\n", tables[0]), "a long table puts the label on its own line"
