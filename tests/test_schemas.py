"""Published JSON Schemas (schemas/*.json, `netpoll-diagnose schema KIND`) and every JSON we
emit or read validated against them with jsonschema: the findings report, the features, every
shipped rule document and the example team folder's documents.

If `test_committed_schema_is_current` fails after a model change, regenerate with
`netpoll-diagnose schema KIND > schemas/KIND.json`; if the findings change is not backward
compatible (a field renamed or removed, a meaning changed, a new enum value), bump
FINDINGS_SCHEMA in diagnose/rules/findings.py first.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is a test dependency: pip install -e '.[test]'")

from tests.support.cli import run_main as run  # noqa: E402
from diagnose.rules.findings import FINDINGS_SCHEMA  # noqa: E402
from diagnose.rules.schemas import SCHEMAS, schema, schema_text  # noqa: E402
from diagnose.rules.yamlsrc import load_docs  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TRACES = REPO / "fixtures" / "traces"
SAMPLE = ["healthy-light-go1.22.10", "slowconsumer-chunked-go1.22.10", "gomaxprocs-procs1-burn-go1.19.8",
          "fdreuse-control-close-go1.25.5"]


@lru_cache(maxsize=None)
def validator(kind: str):
    s = json.loads((REPO / "schemas" / f"{kind}.json").read_text())
    jsonschema.Draft202012Validator.check_schema(s)
    return jsonschema.Draft202012Validator(s, format_checker=jsonschema.FormatChecker())


def errors(kind: str, data) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(kind).iter_errors(data)]


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_committed_schema_is_current(kind):
    assert (REPO / "schemas" / f"{kind}.json").read_text() == schema_text(kind)
    code, out = run("schema", kind)
    assert code == 0 and out == schema_text(kind)


def test_schemas_carry_dialect_id_and_version():
    s = schema("findings")
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert s["version"] == FINDINGS_SCHEMA and s["$id"].endswith(FINDINGS_SCHEMA.rsplit("/", 1)[-1])
    assert s["properties"]["verdict"]["$ref"] == "#/$defs/Verdict"
    assert schema("features")["$id"].startswith("urn:netpoll-diagnose:features:v")
    code, _ = run("schema", "nope")
    assert code == 2


@pytest.mark.parametrize("name", SAMPLE)
def test_findings_and_features_json_validate(name):
    trace = TRACES / f"{name}.trace"
    if not trace.is_file():
        pytest.skip(f"fixture {trace.name} not present")
    code, out = run(str(trace), "--format", "json", "--fail-on", "never")
    assert code == 0
    data = json.loads(out)
    assert errors("findings", data) == []
    assert data["schema"] == FINDINGS_SCHEMA
    code, out = run("features", str(trace), "--json")
    assert code == 0
    assert errors("features", json.loads(out)) == []


def test_findings_with_team_layer_and_failed_rule_validate(tmp_path):
    trace = TRACES / "slowconsumer-chunked-go1.22.10.trace"
    if not trace.is_file():
        pytest.skip("fixture corpus not present")
    fragile = tmp_path / "fragile"
    fragile.mkdir()
    (fragile / "r.yaml").write_text(
        "id: team.fragile\ntitle: t\ncause: team_x\nseverity: warning\nconfidence: 0.5\nknowledge: gc_pressure\n"
        "message: m\ncondition: \"size(f.syscalls.by_site) >= 0 && f.syscalls.by_site[99].site == 'x'\"\n")
    code, out = run(str(trace), "--format", "json", "--rules-dir", str(REPO / "examples" / "team-rules"),
                    "--rules-dir", str(fragile))
    data = json.loads(out)
    assert code == 2 and data["rules"]["failed"] == 1 and data["verdict"]["status"] == "incomplete"
    assert {f["rule_layer"] for f in data["findings"]} >= {"team"}
    assert errors("findings", data) == []


def test_a_wrong_document_is_rejected_by_the_schema():
    bad = {"schema": FINDINGS_SCHEMA, "verdict": {"status": "fine", "text": "x"}}
    assert any("verdict/status" in e for e in errors("findings", bad))
    assert errors("rule", {"id": "x", "title": "t"}) != []


def _rule_documents() -> list[tuple[str, object]]:
    out = []
    for folder in (REPO / "rules", REPO / "examples" / "team-rules"):
        for p in sorted(folder.glob("*.yaml")):
            for i, doc in enumerate(load_docs(p.read_text())):
                out.append((f"{p.relative_to(REPO)}#{i}", doc.data))
    return out


@pytest.mark.parametrize("where,data", _rule_documents(), ids=[w for w, _ in _rule_documents()])
def test_every_shipped_and_example_rule_document_validates(where, data):
    assert errors("rule", data) == []
