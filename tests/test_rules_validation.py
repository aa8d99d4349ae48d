"""Rule files: bad files are rejected with `file:line: reason`; good ones load."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from diagnose.rules.loader import RuleLoadError, load_ruleset, validate_paths
from tests.support.rulefiles import GC_RULE

GOOD = GC_RULE


def write(tmp_path: Path, text: str, name: str = "rule.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def issues_for(tmp_path: Path, text: str) -> list[str]:
    write(tmp_path, text)
    ok, issues = validate_paths([tmp_path])
    return [str(i) for i in issues]


def one_issue(tmp_path: Path, text: str) -> tuple[int, str]:
    issues = issues_for(tmp_path, text)
    assert len(issues) == 1, issues
    path, line, reason = issues[0].split(":", 2)
    assert path == str(tmp_path / "rule.yaml")
    return int(line), reason.strip()


def test_good_rule_validates(tmp_path):
    write(tmp_path, GOOD)
    ok, issues = validate_paths([tmp_path])
    assert (ok, issues) == (1, [])


def test_shipped_rules_validate():
    from diagnose.rules.datadir import rules_dir

    ok, issues = validate_paths([rules_dir()])
    assert issues == []
    assert ok >= 7


def test_yaml_syntax_error_has_line(tmp_path):
    line, reason = one_issue(tmp_path, GOOD.replace("severity: warning", "severity: [warning"))
    assert line in (5, 6)
    assert "invalid YAML" in reason


def test_unknown_key_points_at_its_line(tmp_path):
    line, reason = one_issue(tmp_path, GOOD + "severty: critical\n")
    assert line == 9
    assert "severty" in reason and "unknown key" in reason


def test_missing_key_points_at_document(tmp_path):
    line, reason = one_issue(tmp_path, GOOD.replace("title: GC too often\n", ""))
    assert line == 1
    assert reason.startswith("title:") and "missing" in reason


def test_bad_severity_value(tmp_path):
    line, reason = one_issue(tmp_path, GOOD.replace("severity: warning", "severity: high"))
    assert line == 4
    assert reason.startswith("severity:") and "'info', 'warning' or 'critical'" in reason


def test_confidence_out_of_range(tmp_path):
    line, reason = one_issue(tmp_path, GOOD.replace("confidence: 0.7", "confidence: 1.7"))
    assert line == 5 and "between 0 and 1" in reason


def test_confidence_signal_error_points_at_signal_field(tmp_path):
    text = GOOD.replace("confidence: 0.7", textwrap.dedent("""\
        confidence:
          at_threshold: 0.5
          at_saturation: 0.9
          signals:
            - value: f.gc.gc_per_s
              threshold: 5
              saturation: 5"""))
    line, reason = one_issue(tmp_path, text)
    assert line == 9  # the "- value:" item of the signal
    assert "saturation must differ from threshold" in reason


def test_duplicate_key(tmp_path):
    line, reason = one_issue(tmp_path, GOOD + "cause: fd_reuse\n")
    assert line == 9 and "duplicate key 'cause'" in reason and "line 3" in reason


def test_cel_syntax_error_on_its_own_line_of_a_block(tmp_path):
    text = GOOD.replace("condition: f.gc.gc_per_s > 5.0", "condition: |\n  f.gc.gc_count > 1 &&\n  f.gc.gc_per_s >")
    line, reason = one_issue(tmp_path, text)
    assert line == 8  # third line of the file's condition block: "  f.gc.gc_per_s >"
    assert reason.startswith("condition: CEL syntax error")


def test_cel_unknown_feature_with_suggestion(tmp_path):
    line, reason = one_issue(tmp_path, GOOD.replace("f.gc.gc_per_s > 5.0", "f.gc.gc_per_sec > 5.0"))
    assert line == 6
    assert "unknown feature 'f.gc.gc_per_sec'" in reason and "did you mean 'gc_per_s'" in reason


def test_cel_unknown_feature_hidden_behind_short_circuit(tmp_path):
    # `false && x` never evaluates x: the static path check must still catch the typo
    line, reason = one_issue(tmp_path, GOOD.replace("f.gc.gc_per_s > 5.0", "false && f.network.wait.p95_ms > 1.0"))
    assert "unknown feature 'f.network.wait'" in reason and "'waits'" in reason


def test_cel_macro_variable_fields_are_checked(tmp_path):
    cond = "f.syscalls.by_site.exists(s, s.caller_klass == 'raw_user')"
    line, reason = one_issue(tmp_path, GOOD.replace("f.gc.gc_per_s > 5.0", f'"{cond}"'))
    assert "unknown feature 's.caller_klass'" in reason and "caller_class" in reason


def test_cel_type_mismatch_is_rejected(tmp_path):
    line, reason = one_issue(tmp_path, GOOD.replace("f.gc.gc_per_s > 5.0", "f.gc.gc_count + 1.5 > 2.0"))
    assert line == 6 and "no operator '+' for int and double" in reason
    assert "f.gc.gc_count is int, 1.5 is double" in reason


def test_condition_must_be_boolean(tmp_path):
    line, reason = one_issue(tmp_path, GOOD.replace("f.gc.gc_per_s > 5.0", "f.gc.gc_count + 1"))
    assert "must be a boolean" in reason


def test_unknown_function_is_rejected(tmp_path):
    line, reason = one_issue(tmp_path, GOOD.replace("f.gc.gc_per_s > 5.0", "false && system('rm -rf /') == 0"))
    assert "unknown function(s) system" in reason


def test_message_template_unknown_field(tmp_path):
    line, reason = one_issue(tmp_path, GOOD.replace("{f.gc.gc_per_s:.1f}", "{f.gc.gc_rate}"))
    assert line == 7 and "unknown feature 'f.gc.gc_rate'" in reason


def test_message_template_unknown_value(tmp_path):
    line, reason = one_issue(tmp_path, GOOD.replace("{f.gc.gc_per_s:.1f}", "{v.site}"))
    assert "unknown value" in reason


def test_message_template_rejects_attribute_tricks(tmp_path):
    line, reason = one_issue(tmp_path, GOOD.replace("{f.gc.gc_per_s:.1f}", "{f.__class__.__init__}"))
    assert "unknown feature" in reason or "not a plain path" in reason


def test_unknown_knowledge_entry(tmp_path):
    line, reason = one_issue(tmp_path, GOOD.replace("knowledge: gc_pressure", "knowledge: no_such_entry"))
    assert line == 8 and "no entry 'no_such_entry'" in reason


def test_evidence_from_must_be_an_evidence_list(tmp_path):
    line, reason = one_issue(tmp_path, GOOD + "evidence:\n  - {from: gc.stw}\n")
    assert line == 10 and "not an evidence list" in reason


def test_bad_go_versions(tmp_path):
    line, reason = one_issue(tmp_path, GOOD + "go_versions: '~1.22'\n")
    assert line == 9 and "bad go_versions clause" in reason


def test_all_problems_reported_not_just_the_first(tmp_path):
    write(tmp_path, GOOD.replace("severity: warning", "severity: high"), "a.yaml")
    write(tmp_path, GOOD.replace("id: team.gc", "id: team.gc2").replace("gc_per_s >", "gc_per_z >"), "b.yaml")
    ok, issues = validate_paths([tmp_path])
    assert ok == 0
    assert {Path(i.path).name for i in issues} == {"a.yaml", "b.yaml"}


def test_duplicate_id_in_one_layer(tmp_path):
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path, GOOD, "b.yaml")
    ok, issues = validate_paths([tmp_path])
    assert len(issues) == 1 and "duplicate rule id 'team.gc'" in issues[0].reason


def test_load_ruleset_raises_with_every_issue(tmp_path):
    write(tmp_path, GOOD.replace("severity: warning", "severity: high"))
    with pytest.raises(RuleLoadError) as exc:
        load_ruleset(rules_dirs=[tmp_path], env={})
    assert str(exc.value).startswith(f"{tmp_path / 'rule.yaml'}:4: severity:")
