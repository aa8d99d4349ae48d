"""What a team adding its own rules needs (issue 14), one test per defect that a team hit:
failed rules exiting 0, silent typos in directives, type errors hidden behind && / ||,
copying a whole rule to change one field, tests that only check fires/silent, validation
that stopped at the first knowledge error or could not see a layer's context.
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.support.cli import run_main_captured as run_cli
from diagnose.rules.loader import RuleLoadError, load_ruleset, validate_paths
from diagnose.rules.testing import run_tests

REPO = Path(__file__).resolve().parent.parent
HEALTHY = REPO / "fixtures" / "traces" / "healthy-light-go1.22.10.trace"
SLOW = REPO / "fixtures" / "traces" / "slowconsumer-chunked-go1.22.10.trace"
MANIFEST = REPO / "fixtures" / "manifest.json"

pytestmark = pytest.mark.skipif(not (HEALTHY.is_file() and SLOW.is_file() and MANIFEST.is_file()),
                                reason="fixture corpus (fixtures/traces, manifest.json) not present")


run = run_cli


def rule(rule_id: str = "team.r", cond: str = "f.gc.gc_per_s > 5.0", extra: str = "", cause: str = "gc_pressure") -> str:
    return textwrap.dedent(f"""\
        id: {rule_id}
        title: rule {rule_id}
        cause: {cause}
        severity: warning
        confidence: 0.7
        tags: [team]
        condition: {cond}
        message: "m"
        knowledge: gc_pressure
        """) + textwrap.dedent(extra)


def folder(tmp_path: Path, name: str = "team", **files: str) -> Path:
    d = tmp_path / name
    d.mkdir(exist_ok=True)
    for fname, text in files.items():
        (d / f"{fname}.yaml").write_text(text)
    return d


def problems(*paths: Path, rules_dirs: list[Path] | None = None) -> list[str]:
    _ok, issues = validate_paths(list(paths), rules_dirs=rules_dirs, manifest_path=MANIFEST)
    return [str(i) for i in issues]


# --- a rule that fails at run time ---------------------------------------------------------

# Passes validation (the guard names the list), fails on every trace with < 100 call sites.
FAILS_AT_RUN_TIME = rule("team.fragile", cond='"size(f.syscalls.by_site) >= 0 && f.syscalls.by_site[99].site == \'x\'"')


def test_failed_rule_is_not_exit_0(tmp_path):
    d = folder(tmp_path, "fragile", r=FAILS_AT_RUN_TIME)
    code, out, err = run(str(HEALTHY), "--rules-dir", str(d), "--fail-on", "critical")
    assert code == 2, (out, err)  # was 0: the warning went to stderr and CI passed
    assert out.startswith("netpoll-diagnose") and "INCOMPLETE" in out
    assert "rules could not be evaluated (team.fragile" in " ".join(out.split())
    assert "team.fragile" in err and "INCOMPLETE" in err


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "slack", "html"])
def test_failed_rule_is_visible_in_every_format(tmp_path, fmt):
    d = folder(tmp_path, "fragile", r=FAILS_AT_RUN_TIME)
    code, out, _ = run(str(HEALTHY), "--rules-dir", str(d), "--format", fmt)
    assert code == 2
    flat = " ".join(out.split())
    assert "team.fragile" in flat and "could not be evaluated" in flat
    if fmt == "json":
        data = json.loads(out)
        assert data["verdict"]["status"] == "incomplete"
        assert data["rules"]["failed"] == 1 and data["rules"]["errors"][0]["rule_id"] == "team.fragile"


def test_healthy_trace_with_every_rule_run_is_still_healthy_exit_0():
    code, out, _ = run(str(HEALTHY), "--format", "json")
    data = json.loads(out)
    assert (code, data["verdict"]["status"], data["rules"]["failed"]) == (0, "healthy", 0)


# --- directives naming nothing ------------------------------------------------------------

def test_disable_with_a_typo_is_an_error_with_line_and_suggestion(tmp_path):
    d = folder(tmp_path, d="# team choices\ndisable:\n  ids: [gc_pressur.gc_share]\n  tags: [memroy]\n")
    assert problems(d) == [
        f"{d / 'd.yaml'}:3: disable: no rule 'gc_pressur.gc_share' loaded before this point "
        "(did you mean 'gc_pressure.gc_share'?)",
        f"{d / 'd.yaml'}:4: disable: no rule has tag 'memroy' (did you mean 'memory'?)",
    ]
    with pytest.raises(RuleLoadError):  # and the main command refuses it (exit 2), not silently
        load_ruleset(rules_dirs=[d], env={})
    code, _, err = run(str(HEALTHY), "--rules-dir", str(d))
    assert code == 2 and "gc_pressur.gc_share" in err


def test_enable_and_override_of_unknown_ids(tmp_path):
    d = folder(tmp_path, e="enable: {ids: [slow_consumer.write_backpresure]}\n",
               o="override: {id: fd_reuse.raw_closes, severity: info}\n")
    got = problems(d)
    assert f"{d / 'e.yaml'}:1: enable: no rule 'slow_consumer.write_backpresure' loaded before this point " \
           "(did you mean 'slow_consumer.write_backpressure'?)" in got
    assert f"{d / 'o.yaml'}:1: override: no rule 'fd_reuse.raw_closes' loaded before this layer " \
           "(did you mean 'fd_reuse.raw_close'?)" in got


# --- types behind && / || -----------------------------------------------------------------

@pytest.mark.parametrize("cond,line,message", [
    ("f.trace.go_version > 21 && f.gc.gc_count > 0", 7,
     "condition: f.trace.go_version > 21: no operator '>' for string and int (f.trace.go_version is string, 21 is int)"),
    ("f.gc.gc_count == 0 || f.trace.go_version == 21", 7,
     "condition: f.trace.go_version == 21: comparing string with int is always false "
     "(f.trace.go_version is string, 21 is int)"),
    ("f.gc.gc_count > 0 ? f.trace.truncated : f.gc.gc_time_share", 7,
     "the branches of ?: have different types (f.trace.truncated is bool, f.gc.gc_time_share is double)"),
    ("f.syscalls.by_site.exists(s, s.lost_p_count && true)", 7,
     "'&&' needs bool operands, s.lost_p_count is int"),
    ("f.fds.raw_close_count / f.fds.connections > 2", 7,
     "integer division fails when f.fds.connections is 0"),
    ("f.network.by_site[0].waits.count > 2", 7, "indexing fails on a trace where the list is shorter"),
    # the binding's filter/map are quadratic in what they keep; f.conns is uncapped
    ("f.conns.filter(c, c.closed_by == 'raw_user').size() > 0", 7,
     "f.conns.filter(): f.conns has one entry per connection, and filter() over it takes time quadratic"),
    ("f.conns.map(c, c.id).size() > 0", 7, "use exists(), all() or exists_one() at the top level, or a count in f.fds"),
    ("(f.conns).filter(c, c.fd_reuse).size() > 0", 7, "filter() over it takes time quadratic"),
    ("f['conns'].filter(c, c.fd_reuse).size() > 0", 7, "filter() over it takes time quadratic"),
    ("[f.conns].exists(l, l.filter(c, c.fd_reuse).size() > 0)", 7, "filter() over it takes time quadratic"),
    ("f.conns.exists(c, f.conns.exists(d, d.id == c.id && d.fd_reuse))", 7,
     "exists() over it inside another macro is quadratic"),
])
def test_type_errors_are_found_before_any_trace(tmp_path, cond, line, message):
    d = folder(tmp_path, r=rule(cond=f'"{cond}"'))
    got = problems(d)
    assert len(got) == 1 and got[0].startswith(f"{d / 'r.yaml'}:{line}: ") and message in got[0], got


def test_linear_macros_over_conns_are_accepted(tmp_path):
    cond = "f.conns.exists(c, c.closed_by == 'raw_user') || f.conns.exists_one(c, c.fd_reuse) || f.conns.all(c, c.id != 'none')"
    assert problems(folder(tmp_path, r=rule(cond=f'"{cond}"'))) == []


def test_guarded_division_and_index_are_accepted(tmp_path):
    cond = ("f.fds.connections > 0 && f.fds.raw_close_count / f.fds.connections > 2 || "
            "(size(f.network.by_site) > 0 ? f.network.by_site[0].waits.count > 2 : false)")
    assert problems(folder(tmp_path, r=rule(cond=f'"{cond}"'))) == []


def test_signal_must_be_a_number(tmp_path):
    extra = "notes: n\n"
    text = rule(extra=extra).replace("confidence: 0.7", textwrap.dedent("""\
        confidence:
          at_threshold: 0.5
          at_saturation: 0.9
          signals:
            - {value: f.trace.go_version, threshold: 1, saturation: 2}"""))
    got = problems(folder(tmp_path, r=text))
    assert len(got) == 1 and "confidence.signals[0].value: must be a number, it is string" in got[0]


# --- partial overrides --------------------------------------------------------------------

def test_override_changes_named_fields_and_keeps_the_shipped_logic(tmp_path):
    d = folder(tmp_path, o=textwrap.dedent("""\
        override:
          id: slow_consumer.write_backpressure
          severity: critical
          tags: [team-pager]
          facts_append:
            - {label: "writes per second", value: f.syscalls.write_per_s, format: ".0f"}
        """))
    rs = load_ruleset(rules_dirs=[d], env={})
    shipped = load_ruleset(env={}).get("slow_consumer.write_backpressure")
    lr = rs.get("slow_consumer.write_backpressure")
    assert lr.rule.severity.value == "critical" and lr.rule.tags == ["team-pager"]
    assert lr.rule.condition == shipped.rule.condition and lr.rule.confidence == shipped.rule.confidence
    assert [f.label for f in lr.rule.facts][-1] == "writes per second"
    assert len(lr.rule.facts) == len(shipped.rule.facts) + 1
    assert lr.overrides == [(d / "o.yaml", 1, f"--rules-dir {d}")]
    assert any("severity, tags" in h and "overridden" in h for h in lr.history)


def test_override_problems_point_into_the_override(tmp_path):
    d = folder(tmp_path, o="override:\n  id: gc_pressure.gc_share\n  knowledge: team_runbook\n  severity: loud\n")
    got = problems(d)
    assert any(g.startswith(f"{d / 'o.yaml'}:4: override.severity:") for g in got), got
    d2 = folder(tmp_path, "t2", o="override:\n  id: gc_pressure.gc_share\n  knowledge: team_runbook\n")
    assert problems(d2) == [f"{d2 / 'o.yaml'}:3: knowledge: no entry 'team_runbook' (knowledge/team_runbook.md)"]


def test_human_report_names_the_team_layer_and_file(tmp_path):
    d = folder(tmp_path, o="override: {id: slow_consumer.write_backpressure, severity: critical}\n",
               r=rule("team.writes", cond="f.network.write_wait_share > 0.5", cause="team_writes").replace(
                   "knowledge: gc_pressure", "knowledge: slow_consumer"))
    code, out, _ = run(str(SLOW), "--rules-dir", str(d))
    assert code == 1
    flat = " ".join(out.split())  # the text report wraps long lines
    assert "overridden by team:team/o.yaml:1" in flat
    assert "rule team.writes from the team layer, team:team/r.yaml:1" in flat
    assert str(tmp_path) not in out  # reports are shared: no absolute paths
    for fmt in ("markdown", "slack", "html"):
        code, rendered, _ = run(str(SLOW), "--rules-dir", str(d), "--format", fmt)
        assert "team:team/r.yaml:1" in rendered.replace("\\_", "_"), fmt  # Markdown escapes underscores


# --- tests of results ---------------------------------------------------------------------

EXPECTING = rule("team.r", cond="f.network.write_wait_share > 0.5", cause="team_writes", extra="""\
    tests:
      fires:
        - name: just over
          features: {network: {write_wait_share: 0.51}}
        - features: {network: {write_wait_share: 0.2}}
          todo: "low shares are a known miss"
      silent:
        - features: {network: {write_wait_share: 0.5}}
      expect:
        - {scenario: slowconsumer, variant: chunked, go: "1.22", cause: team_writes, severity: warning,
           confidence_min: 0.7, confidence_max: 0.7, message_contains: "m"}
        - {scenario: slowconsumer, variant: chunked, go: "1.22", cause: slow_consumer, severity: critical}
    """)


def test_expect_features_and_todo_cases(tmp_path):
    d = folder(tmp_path, r=EXPECTING)
    results, probs = run_tests([d], manifest_path=MANIFEST)
    assert probs == []
    got = [(r.expect, r.status) for r in results]
    assert got == [("fires", "pass"), ("fires", "todo"), ("silent", "pass"), ("expect", "pass"), ("expect", "fail")]
    assert "severity warning, expected critical" in results[-1].detail
    # an override in a --rules-dir layer before the tested folder changes what `expect` sees
    base = folder(tmp_path, "base", o="override: {id: slow_consumer.write_backpressure, severity: critical}\n")
    results, _ = run_tests([d], manifest_path=MANIFEST, rules_dirs=[base])
    assert results[-1].status == "pass"


def test_rules_test_cli_todo_does_not_fail_and_errors_exit_2(tmp_path):
    d = folder(tmp_path, r=EXPECTING.replace("severity: critical}", "severity: warning}"))
    code, out, _ = run("rules", "test", str(d), "--manifest", str(MANIFEST))
    assert code == 0, out
    assert out.splitlines()[-1] == "SUCCESS: 4 passed, 0 failed, 0 skipped, 1 todo"
    frag = folder(tmp_path, "fragile", r=FAILS_AT_RUN_TIME + "tests: {silent: [{features: {}}]}\n")
    code, out, _ = run("rules", "test", str(frag))
    assert code == 2 and "ERROR silent" in out  # strict is the default in `rules test`
    code, _, _ = run("rules", "test", str(frag), "--no-strict")
    assert code == 1


def test_tests_paths_selectors_and_features_are_validated_all_at_once(tmp_path):
    d = folder(tmp_path, r=rule(extra="""\
        tests:
          fires:
            - trace: missing.trace
            - {scenario: slowconsumr}
          silent:
            - features: {gc: {gc_per_sec: 1.0}}
          expect:
            - {features: {}, cause: gc_presure}
        """), k="disable: {ids: [nope.rule]}\n")
    got = problems(d)
    r = d / "r.yaml"
    assert got == [
        f"{d / 'k.yaml'}:1: disable: no rule 'nope.rule' loaded before this point",
        f"{r}:12: tests.fires[0]: trace 'missing.trace' not found (looked beside the rule file, in the repository "
        "and in the current directory)",
        f"{r}:13: tests.fires[1]: selector scenario=slowconsumr matched no trace in the manifest "
        "(did you mean 'slowconsumer'?)",
        f"{r}:15: tests.silent[0]: unknown feature 'f.gc.gc_per_sec' (did you mean 'gc_per_s'?)",
        f"{r}:17: tests.expect[0]: no rule names cause 'gc_presure' (did you mean 'gc_pressure'?)",
    ]


# --- validation in context ----------------------------------------------------------------

def test_single_file_validate_finds_its_folders_knowledge(tmp_path):
    d = folder(tmp_path, r=rule().replace("knowledge: gc_pressure", "knowledge: team_gc"))
    (d / "knowledge").mkdir()
    src = (REPO / "knowledge" / "gc_pressure.md").read_text().replace("id: gc_pressure", "id: team_gc", 1)
    (d / "knowledge" / "team_gc.md").write_text(src)
    assert problems(d / "r.yaml") == []  # was: knowledge: no entry 'team_gc'


def test_every_knowledge_and_rule_problem_is_reported_at_once(tmp_path):
    d = folder(tmp_path, r=rule(cond="f.gc.gc_per_q > 1"))
    (d / "knowledge").mkdir()
    (d / "knowledge" / "a.md").write_text("no front matter\n")
    (d / "knowledge" / "b.md").write_text("---\nid: b\n---\n")
    got = problems(d)
    assert [g.split(":")[0].rsplit("/", 1)[-1] for g in got] == ["a.md", "b.md", "r.yaml"]


def test_validate_rules_dir_gives_the_layer_its_context(tmp_path):
    base = folder(tmp_path, "base", r=rule("base.rule"))
    team = folder(tmp_path, "team", d="disable: {ids: [base.rule]}\n")
    assert problems(team) == [f"{team / 'd.yaml'}:1: disable: no rule 'base.rule' loaded before this point"]
    assert problems(team, rules_dirs=[base]) == []
    code, out, _ = run("rules", "validate", str(team), "--rules-dir", str(base))
    assert code == 0 and out.strip() == "ok: 0 valid rules"


# --- the documentation's examples work ------------------------------------------------------

def _readme_block(after: str, lang: str) -> str:
    text = (REPO / "rules" / "README.md").read_text()
    start = text.index(f"```{lang}\n", text.index(after)) + len(lang) + 4
    return text[start:text.index("```\n", start)]


def test_readme_knowledge_example_is_a_valid_entry(tmp_path):
    from diagnose.rules.knowledge import parse_entry

    md = _readme_block("## Knowledge entries", "markdown")
    (tmp_path / "team_stream_stall.md").write_text(md)
    entry = parse_entry(tmp_path / "team_stream_stall.md")
    assert entry.id == "team_stream_stall" and entry.references[0].url.endswith("stream-stalls")


def test_readme_override_example_validates(tmp_path):
    d = folder(tmp_path, o=_readme_block("write an\n**override**", "yaml").replace(
        "knowledge: team_slow_clients", "knowledge: slow_consumer"))
    assert problems(d) == []


def test_a_broken_features_file_is_that_cases_error_but_our_bug_is_not_hidden(tmp_path, monkeypatch):
    """A features file that does not validate is one case's "cannot read"; a ValueError raised by
    the feature code itself is our bug and must not be reported as an unreadable input."""
    bad = tmp_path / "broken.features.json"
    bad.write_text('{"trace": {"event_count": "many"}}')
    d = folder(tmp_path, r=rule(extra=f"tests:\n  silent:\n    - {{trace: {bad}}}\n    - {{trace: {HEALTHY}}}\n"))
    results, problems_ = run_tests([d], manifest_path=MANIFEST)
    assert not problems_
    by_target = {Path(r.target).name: r for r in results}
    assert by_target[bad.name].status == "error" and "cannot read" in by_target[bad.name].detail
    assert by_target[HEALTHY.name].status == "pass"

    import diagnose.features.strace as fs

    def buggy(*_a, **_k):
        raise ValueError("simulated bug in the feature code")

    monkeypatch.setattr(fs, "extract_with_sibling_log", buggy)
    with pytest.raises(ValueError, match="simulated bug"):
        run_tests([d], manifest_path=MANIFEST)
