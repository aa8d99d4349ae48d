"""`--format json`: the Diagnosis model as JSON, versioned by its top-level "schema" field.

    {"schema": "netpoll-diagnose/findings/v1", "tool_version": ..., "trace": {...},
     "verdict": {"status": "healthy"|"problems", "text": ..., "worst_severity": ...},
     "headline": {...}, "findings": [{"cause", "rule_id", "severity", "confidence", "title",
     "message", "facts", "evidence", "advice", ...}], "rules": {...}}
"""
from __future__ import annotations

import json
from typing import Any

from diagnose.rules.findings import FINDINGS_SCHEMA, Diagnosis


def render(diagnosis: Diagnosis, indent: int | None = 2) -> str:
    return json.dumps(diagnosis.to_json_dict(), indent=indent, ensure_ascii=False) + "\n"


def json_schema() -> dict[str, Any]:
    """JSON Schema of the output (for consumers that validate it)."""
    schema = Diagnosis.model_json_schema(by_alias=True, mode="serialization")
    schema["$id"] = FINDINGS_SCHEMA
    return schema
