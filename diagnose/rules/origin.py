"""Where a finding's rule came from, as human reports say it (the JSON has the same fields).

A finding from a shipped rule as shipped says nothing more. A rule from a team layer, or a
shipped rule a team layer overrode, is named with its layer and file (relative to the layer,
never an absolute path: reports are shared), so a reader knows whom to ask:
"rule team.x from the team layer, team:team-rules/x.yaml:3; overridden by team:team-rules/o.yaml:1".
"""
from __future__ import annotations

from diagnose.rules.findings import Finding


def rule_origin(f: Finding) -> str:
    """'' for a shipped rule as shipped; else its layer and file, and the overrides applied."""
    parts = []
    if f.rule_layer and f.rule_layer != "shipped":
        where = f"{f.rule_source}:{f.rule_line}" if f.rule_line else f.rule_source
        parts.append(f"rule {f.rule_id} from the {f.rule_layer} layer, {where}")
    if f.overridden_by:
        parts.append("overridden by " + ", ".join(f.overridden_by))
    return "; ".join(parts)
