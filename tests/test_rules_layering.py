"""Layering: shipped rules, then --rules-dir layers in order, then $NETPOLL_DIAGNOSE_RULES."""
from __future__ import annotations

import os
import textwrap
from pathlib import Path

from diagnose.features.model import Features
from diagnose.rules import diagnose, load_ruleset
from diagnose.rules.loader import ENV_VAR


def rule(rule_id: str, cause: str = "gc_pressure", severity: str = "warning", tags: str = "[team]",
         condition: str = "f.gc.gc_per_s > 5.0", extra: str = "") -> str:
    return textwrap.dedent(f"""\
        id: {rule_id}
        title: rule {rule_id}
        cause: {cause}
        severity: {severity}
        confidence: 0.7
        tags: {tags}
        condition: {condition}
        message: "from {rule_id}"
        knowledge: gc_pressure
        """) + extra


def layer(tmp_path: Path, name: str, **files: str) -> Path:
    d = tmp_path / name
    d.mkdir()
    for fname, text in files.items():
        (d / f"{fname}.yaml").write_text(text)
    return d


def gc_features(per_s: float = 20.0) -> Features:
    f = Features()
    f.gc.gc_count = 10
    f.gc.gc_per_s = per_s
    return f


def test_shipped_rules_are_the_first_layer():
    rs = load_ruleset(env={})
    assert [lay.name for lay in rs.layers] == ["shipped"]
    causes = {r.rule.cause for r in rs.active()}
    for cause in ["fd_reuse", "custom_listener", "gomaxprocs_starvation", "slow_consumer", "gc_pressure", "syscall_storm"]:
        assert cause in causes


def test_team_rule_is_added(tmp_path):
    a = layer(tmp_path, "a", r=rule("team.one"))
    rs = load_ruleset(rules_dirs=[a], env={})
    assert rs.get("team.one") is not None and rs.get("team.one").layer == f"--rules-dir {a}"


def test_later_layer_overrides_by_id(tmp_path):
    shipped_id = "gc_pressure.gc_share"
    a = layer(tmp_path, "a", r=rule(shipped_id, severity="critical", condition="f.gc.gc_per_s > 100.0"))
    b = layer(tmp_path, "b", r=rule(shipped_id, severity="info", condition="f.gc.gc_per_s > 1.0"))
    rs = load_ruleset(rules_dirs=[a, b], env={})
    lr = rs.get(shipped_id)
    assert lr.layer == f"--rules-dir {b}" and lr.rule.severity.value == "info"
    assert any("replaces" in h and str(a) in h for h in lr.history)
    d = diagnose(gc_features(20.0), rs)
    assert [(f.rule_id, f.severity) for f in d.findings] == [(shipped_id, "info")]


def test_env_layer_comes_after_rules_dir(tmp_path):
    a = layer(tmp_path, "a", r=rule("team.x", severity="warning"))
    e1 = layer(tmp_path, "e1", r=rule("team.x", severity="critical"))
    e2 = layer(tmp_path, "e2", r=rule("team.y"))
    rs = load_ruleset(rules_dirs=[a], env={ENV_VAR: os.pathsep.join([str(e1), str(e2)])})
    assert [lay.name.split()[0] for lay in rs.layers] == ["shipped", "--rules-dir", f"${ENV_VAR}", f"${ENV_VAR}"]
    assert rs.get("team.x").rule.severity.value == "critical"
    assert rs.get("team.y") is not None


def test_disable_by_id_and_by_tag(tmp_path):
    a = layer(tmp_path, "a",
              r1=rule("team.one", tags="[experimental]"),
              r2=rule("team.two", tags="[team]"),
              zz_directives="disable:\n  ids: [gc_pressure.gc_share]\n  tags: [experimental]\n")
    rs = load_ruleset(rules_dirs=[a], env={})
    assert not rs.get("gc_pressure.gc_share").enabled
    assert not rs.get("team.one").enabled
    assert rs.get("team.two").enabled
    active = {r.id for r in rs.active()}
    assert "gc_pressure.gc_share" not in active and "team.two" in active
    d = diagnose(gc_features(), rs)
    assert [f.rule_id for f in d.findings] == ["team.two"]


def test_directive_only_affects_rules_loaded_so_far(tmp_path):
    a = layer(tmp_path, "a", r=rule("team.early", tags="[team]"), d="disable: {tags: [team]}\n")
    b = layer(tmp_path, "b", r=rule("team.late", tags="[team]"))
    rs = load_ruleset(rules_dirs=[a, b], env={})
    assert not rs.get("team.early").enabled
    assert rs.get("team.late").enabled


def test_redefining_a_disabled_rule_in_a_later_layer_enables_it(tmp_path):
    a = layer(tmp_path, "a", d="disable: {ids: [gc_pressure.gc_share]}\n")
    b = layer(tmp_path, "b", r=rule("gc_pressure.gc_share"))
    rs = load_ruleset(rules_dirs=[a, b], env={})
    assert rs.get("gc_pressure.gc_share").enabled


def test_enable_after_disable(tmp_path):
    a = layer(tmp_path, "a", d="disable: {tags: [gc]}\n")
    b = layer(tmp_path, "b", d="enable: {ids: [gc_pressure.gc_share]}\n")
    rs = load_ruleset(rules_dirs=[a, b], env={})
    assert rs.get("gc_pressure.gc_share").enabled
    assert any("enabled by" in h for h in rs.get("gc_pressure.gc_share").history)


def test_rule_with_enabled_false(tmp_path):
    a = layer(tmp_path, "a", r=rule("team.off", extra="enabled: false\n"))
    rs = load_ruleset(rules_dirs=[a], env={})
    assert not rs.get("team.off").enabled


def test_multi_document_file(tmp_path):
    a = layer(tmp_path, "a", both=rule("team.a") + "---\n" + rule("team.b") + "---\ndisable: {ids: [team.a]}\n")
    rs = load_ruleset(rules_dirs=[a], env={})
    assert not rs.get("team.a").enabled and rs.get("team.b").enabled


def test_bad_directive_is_reported_with_line(tmp_path):
    from diagnose.rules.loader import RuleLoadError
    import pytest

    a = layer(tmp_path, "a", d="disable:\n  ids: [x]\n  rules: [y]\n")
    with pytest.raises(RuleLoadError) as exc:
        load_ruleset(rules_dirs=[a], env={})
    assert str(exc.value) == f"{a / 'd.yaml'}:3: disable.rules: unknown key (not in the rule schema; see rules/README.md)"


def test_missing_rules_dir_is_an_error(tmp_path):
    from diagnose.rules.loader import RuleLoadError
    import pytest

    with pytest.raises(RuleLoadError) as exc:
        load_ruleset(rules_dirs=[tmp_path / "nope"], env={})
    assert "does not exist" in str(exc.value)


def test_team_knowledge_entry_in_layer(tmp_path):
    from diagnose.rules.datadir import knowledge_dir

    a = layer(tmp_path, "a", r=rule("team.k").replace("knowledge: gc_pressure", "knowledge: team_cause"))
    (a / "knowledge").mkdir()
    src = (knowledge_dir() / "gc_pressure.md").read_text().replace("id: gc_pressure", "id: team_cause")
    (a / "knowledge" / "team_cause.md").write_text(src)
    rs = load_ruleset(rules_dirs=[a], env={})
    d = diagnose(gc_features(), rs)
    assert "team_cause" in {f.advice.knowledge for f in d.findings}
