"""`--format json`: the Diagnosis model as JSON, versioned by its top-level "schema" field.

    {"schema": "netpoll-diagnose/findings/v2", "tool_version": ..., "trace": {...},
     "verdict": {"status": "healthy"|"problems"|"incomplete", "text": ..., "worst_severity": ...},
     "headline": {...}, "findings": [{"cause", "rule_id", "severity", "confidence", "title",
     "message", "facts", "evidence", "advice", ...}], "rules": {...}}
"""
from __future__ import annotations

import json
from typing import Any

from diagnose.rules.findings import Diagnosis


def render(diagnosis: Diagnosis, indent: int | None = 2) -> str:
    return json.dumps(diagnosis.to_json_dict(), indent=indent, ensure_ascii=False) + "\n"


def json_schema() -> dict[str, Any]:
    """JSON Schema of the output (for consumers that validate it): schemas/findings.json."""
    from diagnose.rules.schemas import schema

    return schema("findings")
