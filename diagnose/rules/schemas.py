"""Published JSON Schemas: the findings JSON (`--format json`), the features JSON
(`features --json`) and a rule file document. `netpoll-diagnose schema KIND` prints them and the
same text is committed under `schemas/KIND.json` (a test keeps the two identical), so tools can
validate what we emit and editors can check rule files as they are typed.

Each has `$schema` (JSON Schema 2020-12), an `$id` that carries its version, and `version`.
The findings version is FINDINGS_SCHEMA: a change that is not backward compatible bumps it.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, TypeAdapter

from diagnose.features.model import FEATURES_SCHEMA_VERSION, Features
from diagnose.rules.findings import FINDINGS_SCHEMA, Diagnosis
from diagnose.rules.schema import ConfigDoc, Directive, OverrideDoc, Rule

DIALECT = "https://json-schema.org/draft/2020-12/schema"
RULE_SCHEMA_VERSION = 1


def _findings() -> dict[str, Any]:
    body = Diagnosis.model_json_schema(by_alias=True, mode="serialization")
    return _wrap(body, f"urn:netpoll-diagnose:findings:{FINDINGS_SCHEMA.rsplit('/', 1)[-1]}", FINDINGS_SCHEMA)


def _features() -> dict[str, Any]:
    body = Features.model_json_schema(mode="serialization")
    return _wrap(body, f"urn:netpoll-diagnose:features:v{FEATURES_SCHEMA_VERSION}",
                 f"netpoll-diagnose/features/v{FEATURES_SCHEMA_VERSION}")


def _rule() -> dict[str, Any]:
    docs: list[type[BaseModel]] = [Rule, OverrideDoc, Directive, ConfigDoc]
    body = TypeAdapter(Rule | OverrideDoc | Directive | ConfigDoc).json_schema(mode="validation")
    body["title"] = "netpoll-diagnose rule file document"
    body["description"] = ("One YAML document of a rule file: a rule, an `override`, a `disable`/`enable` "
                           "directive or a layer `config` (" + ", ".join(d.__name__ for d in docs) + ").")
    return _wrap(body, f"urn:netpoll-diagnose:rule:v{RULE_SCHEMA_VERSION}",
                 f"netpoll-diagnose/rule/v{RULE_SCHEMA_VERSION}")


def _wrap(body: dict[str, Any], schema_id: str, version: str) -> dict[str, Any]:
    return {"$schema": DIALECT, "$id": schema_id, "version": version, **body}


SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {"findings": _findings, "features": _features, "rule": _rule}


def schema(kind: str) -> dict[str, Any]:
    return SCHEMAS[kind]()


def schema_text(kind: str) -> str:
    """The exact text of schemas/KIND.json."""
    return json.dumps(schema(kind), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
