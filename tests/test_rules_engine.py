"""Evaluation: confidence, ranking, one finding per cause, evidence selection, templates."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from diagnose.features.model import Evidence, Features, Frame
from diagnose.rules import diagnose, load_ruleset
from diagnose.rules.schema import Signal
from diagnose.rules.template import render


def ruleset_with(tmp_path: Path, *rules: str, shipped: bool = False):
    d = tmp_path / "layer"
    d.mkdir(exist_ok=True)
    for i, text in enumerate(rules):
        (d / f"r{i}.yaml").write_text(textwrap.dedent(text))
    return load_ruleset(rules_dirs=[d], env={}, include_shipped=shipped)


def diagnose_idle(tmp_path: Path, *rules: str):
    """The diagnosis of an idle trace (all-zero features) under these rules only: what the
    ranking and the verdict make of rules that fire (or not) whatever the trace."""
    return diagnose(Features(), ruleset_with(tmp_path, *rules))


SCALED = """\
id: t.scaled
title: scaled
cause: gc_pressure
severity: warning
condition: f.gc.gc_time_share >= 0.2
confidence:
  at_threshold: 0.5
  at_saturation: 0.9
  signals:
    - {value: f.gc.gc_time_share, threshold: 0.2, saturation: 0.6}
message: "GC {f.gc.gc_time_share:.0%}"
knowledge: gc_pressure
"""


@pytest.mark.parametrize("share,expected", [(0.2, 0.5), (0.4, 0.7), (0.6, 0.9), (0.95, 0.9)])
def test_confidence_scales_between_threshold_and_saturation(tmp_path, share, expected):
    rs = ruleset_with(tmp_path, SCALED)
    f = Features()
    f.gc.gc_time_share = share
    d = diagnose(f, rs)
    assert len(d.findings) == 1
    assert d.findings[0].confidence == pytest.approx(expected, abs=1e-3)


def test_log_scale_signal():
    s = Signal(value="x", threshold=10, saturation=1000, scale="log")
    assert s.strength(10) == 0 and s.strength(100) == pytest.approx(0.5) and s.strength(1e6) == 1


def test_no_finding_when_condition_false(tmp_path):
    d = diagnose_idle(tmp_path, SCALED)
    assert d.findings == [] and d.verdict.status == "healthy"
    # an all-zero trace has no waits: the verdict says "no data" instead of a p95 of 0
    assert d.verdict.text.startswith("No netpoller problem found: no network wait ended in the window (no data)")
    assert d.headline.network_wait_p95_ms is None and d.headline.wake_to_run_p95_ms is None


def _rule(rid: str, cause: str, severity: str, conf: float, cond: str = "true") -> str:
    return f"""\
id: {rid}
title: {rid}
cause: {cause}
severity: {severity}
confidence: {conf}
condition: "{cond}"
message: "{rid} fired"
knowledge: gc_pressure
"""


def test_ranking_severity_then_confidence(tmp_path):
    d = diagnose_idle(
        tmp_path,
        _rule("a", "slow_consumer", "warning", 0.9),
        _rule("b", "fd_reuse", "critical", 0.6),
        _rule("c", "gc_pressure", "warning", 0.95),
        _rule("d", "syscall_storm", "info", 0.99),
    )
    assert [f.rule_id for f in d.findings] == ["b", "c", "a", "d"]
    assert d.verdict.status == "problems" and d.verdict.worst_severity == "critical"
    assert "3 problems found" in d.verdict.text and "[fd_reuse, critical, confidence 60%]" in d.verdict.text


def test_one_finding_per_cause_keeps_the_strongest(tmp_path):
    d = diagnose_idle(
        tmp_path,
        _rule("gc.weak", "gc_pressure", "warning", 0.6),
        _rule("gc.strong", "gc_pressure", "warning", 0.8),
        _rule("gc.info", "gc_pressure", "info", 0.99),
    )
    assert len(d.findings) == 1
    assert d.findings[0].rule_id == "gc.strong"
    assert d.findings[0].also_matched == ["gc.info", "gc.weak"]


def test_impact_orders_causes_of_one_severity(tmp_path):
    """A rule's `impact` (ms the cause costs the streams) ranks before confidence within a
    severity; a finding without one ranks after those with one; severity still comes first."""
    def with_impact(rid: str, cause: str, sev: str, conf: float, impact: str) -> str:
        return _rule(rid, cause, sev, conf) + f"impact: '{impact}'\n"

    d = diagnose_idle(
        tmp_path,
        with_impact("sure", "gc_pressure", "warning", 0.97, "2.0"),
        with_impact("big", "gomaxprocs_starvation", "warning", 0.75, "30.0"),
        _rule("none", "syscall_storm", "warning", 0.99),
        with_impact("info", "slow_consumer", "info", 0.5, "500.0"),
    )
    assert [(f.rule_id, f.impact_ms) for f in d.findings] == [
        ("big", 30.0), ("sure", 2.0), ("none", None), ("info", 500.0)]


MIX = Path(__file__).resolve().parent.parent / "fixtures" / "traces" / "gen" / "h2tls-mix-gc100-hog70-go1.21.13.trace"


@pytest.mark.skipif(not MIX.is_file(), reason="the generalisation corpus trace is not committed here")
def test_a_real_mix_names_the_stronger_cause_first():
    """h2tls mix-gc100-hog70 (a train program): two 70% hogs and 100 MB/s of garbage. Alone,
    the hogs cost the clients 6.2x healthy p95 (median over Go versions), the GC 1.6x. GC is
    the more certain finding (its share of the window saturates: hogs stretch each cycle) but
    the wait for a P is mostly behind user goroutines, so starvation is ranked first."""
    from diagnose.features import extract

    d = diagnose(extract(str(MIX)), load_ruleset(env={}))
    warned = [f for f in d.findings if f.severity == "warning"]
    assert [f.cause for f in warned] == ["gomaxprocs_starvation", "gc_pressure"]
    starve, gc = warned
    assert gc.confidence > starve.confidence
    assert starve.impact_ms > gc.impact_ms > 0


def test_info_only_is_still_healthy(tmp_path):
    d = diagnose_idle(tmp_path, _rule("note", "gc_pressure", "info", 0.5))
    assert d.verdict.status == "healthy" and "1 informational note below" in d.verdict.text


def test_go_versions_scope(tmp_path):
    rs = ruleset_with(tmp_path, _rule("new", "gc_pressure", "warning", 0.5) + 'go_versions: ">=1.23"\n')
    f = Features()
    f.trace.format_minor = 22
    d = diagnose(f, rs)
    assert d.findings == [] and d.rules.skipped_by_version == ["new"]
    f.trace.format_minor = 25
    assert [x.rule_id for x in diagnose(f, rs).findings] == ["new"]


def test_runtime_error_in_one_rule_does_not_stop_the_others(tmp_path):
    # the guard mentions the list, so validation accepts it, but `>= 0` does not protect the index
    bad = _rule("bad", "gc_pressure", "warning", 0.5,
                cond="size(f.syscalls.by_site) >= 0 && f.syscalls.by_site[0].syscalls.count > 1")
    d = diagnose_idle(tmp_path, bad, _rule("good", "slow_consumer", "warning", 0.5))
    assert [f.rule_id for f in d.findings] == ["good"]
    assert [e.rule_id for e in d.rules.errors] == ["bad"]


EVIDENCE_RULE = """\
id: t.ev
title: ev
cause: fd_reuse
severity: critical
confidence: 0.9
condition: f.fds.raw_close_count > 0
values:
  sites: "f.syscalls.by_site.filter(s, s.caller_class == 'raw_user').map(s, s.site)"
facts:
  - {label: closes, value: f.fds.raw_close_count}
  - {label: share, value: f.network.write_wait_share, format: ".0%"}
evidence:
  - {from: fds.evidence, limit: 2, max_frames: 2, where: "e.note.contains('close')"}
message: "{f.fds.raw_close_count} closes at {v.sites}; {{literal}}"
knowledge: fd_reuse
"""


def test_evidence_selection_sort_limit_filter_and_trim(tmp_path):
    rs = ruleset_with(tmp_path, EVIDENCE_RULE)
    f = Features()
    f.fds.raw_close_count = 3
    f.network.write_wait_share = 0.25
    stack = [Frame(func=f"fn{i}", file=f"/x/f{i}.go", line=i) for i in range(5)]
    f.fds.evidence = [
        Evidence(note="close A", goroutines=[1], duration_ms=1.0, stack=stack),
        Evidence(note="unrelated", goroutines=[2], duration_ms=50.0),
        Evidence(note="close B", goroutines=[3], duration_ms=9.0, stack=stack),
        Evidence(note="close C", goroutines=[4], duration_ms=5.0),
    ]
    from diagnose.features.model import SyscallSite

    f.syscalls.by_site = [SyscallSite(site="main.kill", caller_class="raw_user"),
                          SyscallSite(site="internal/poll.(*FD).Write", caller_class="netpoller")]
    d = diagnose(f, rs)
    fnd = d.findings[0]
    assert [c.note for c in fnd.evidence] == ["close B", "close C"]  # filtered, longest first, limit 2
    assert [fr.func for fr in fnd.evidence[0].stack] == ["fn0", "fn1"] and fnd.evidence[0].frames_omitted == 3
    assert fnd.message == "3 closes at main.kill; {literal}"
    assert [(x.label, x.text) for x in fnd.facts] == [("closes", "3"), ("share", "25%")]
    assert fnd.advice.knowledge == "fd_reuse" and "critical" in fnd.advice.fix


def test_template_is_lookup_only():
    fdict = {"a": {"b": [1, 2.5]}, "s": "x"}
    assert render("{f.a.b[1]:.2f} {f.a.b} {f.s!r} {f.missing} {v.n}", fdict, {"n": 4}) == "2.50 1, 2.50 'x' ? 4"
    # attribute-style tricks resolve to nothing: only dict keys and list indexes are followed
    assert render("{f.__class__}", fdict, {}) == "?"


def test_json_output_is_versioned_and_round_trips(tmp_path):
    import json

    from diagnose.report import json_report
    from diagnose.rules.findings import FINDINGS_SCHEMA, Diagnosis

    rs = ruleset_with(tmp_path, SCALED)
    f = Features()
    f.gc.gc_time_share = 0.5
    d = diagnose(f, rs, tool_version="9.9")
    data = json.loads(json_report.render(d))
    assert data["schema"] == FINDINGS_SCHEMA == "netpoll-diagnose/findings/v2"
    assert [k for k in ("cause", "rule_id", "severity", "confidence", "evidence", "advice") if k not in data["findings"][0]] == []
    assert Diagnosis.model_validate(data) == d
    schema = json_report.json_schema()
    assert schema["version"] == FINDINGS_SCHEMA and schema["$id"] == "urn:netpoll-diagnose:findings:v2"
    assert "findings" in schema["properties"] and "schema" in schema["properties"]


def test_cel_reads_only_the_fields_the_rules_name():
    """What an expression can read of `f`: member chains, the item fields of a macro's variable;
    anything else (f alone, indexed, an item used whole) means all of it."""
    from diagnose.rules.fieldpaths import ITEMS, prune, referenced_fields

    assert referenced_fields(["f.a.b.c > 1 && f.a.d", "f.t.x"]) == {"a": {"b", "d"}, "t": {"x"}}
    assert referenced_fields(["f.conns.exists(c, c.owner == 'net' && c.borrowed.exists(b, b == 'x'))"]) == \
        {"conns": (ITEMS, {"owner", "borrowed"})}
    assert referenced_fields(["f.conns.exists(c, c.a)", "f.conns.size() > 0"]) == {"conns": None}
    assert referenced_fields(["f.conns.map(c, c)"]) == {"conns": (ITEMS, None)}
    assert referenced_fields(["f.gc"]) == {"gc": None}
    for whole in ("[f].size() > 0", "f['gc'].x", "f", "f.size() > 0"):
        assert referenced_fields([whole]) is None, whole
    data = {"a": {"b": 1, "d": 2, "evidence": [3]}, "conns": [{"owner": "net", "fd": 4}], "t": 5}
    assert prune(data, {"a": {"b"}, "conns": (ITEMS, {"owner"})}) == {"a": {"b": 1}, "conns": [{"owner": "net"}]}
    assert prune(data, None) is data


@pytest.mark.parametrize("name", ["fdreuse-newfile-finalizer-go1.27.3.trace", "gomaxprocs-procs1-burn-go1.27.3.trace",
                                  "syscallstorm-sse-flush8-go1.27.3.trace"])
def test_pruned_cel_context_gives_the_same_diagnosis(name, monkeypatch):
    """The shipped rules on real traces give the same findings (confidence, facts, impact) with
    CEL handed only the fields they name as with all of `f`."""
    from diagnose.features import extract
    from diagnose.rules import engine

    path = Path(__file__).resolve().parent.parent / "fixtures" / "traces" / name
    features, rules = extract(str(path)), load_ruleset(env={})
    pruned = diagnose(features, rules)
    monkeypatch.setattr(engine, "_fields_read", lambda sources: None)
    whole = diagnose(features, rules)
    assert pruned.findings, "a trace the rules find something in"
    assert pruned.model_dump_json() == whole.model_dump_json()
