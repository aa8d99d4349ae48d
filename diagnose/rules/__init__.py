"""rules/: declarative YAML rules (CEL conditions) that turn features into ranked findings.

    from diagnose.rules import load_ruleset, diagnose
    ruleset = load_ruleset(rules_dirs=["team-rules/"])   # shipped + layers; raises RuleLoadError
    diagnosis = diagnose(features, ruleset)              # -> findings.Diagnosis (versioned model)
    authoring.validate(paths) / authoring.test(paths)     # what `rules validate|test` print, exit code
    schema_text("findings")                              # published JSON Schemas (schemas/*.json)
"""
from diagnose.rules import authoring
from diagnose.rules.engine import diagnose, evaluate_rule
from diagnose.rules.findings import FINDINGS_SCHEMA, Diagnosis, Finding, Verdict
from diagnose.rules.loader import ENV_VAR, Issue, RuleLoadError, RuleSet, load_ruleset, validate_paths
from diagnose.rules.schema import ConfidenceSpec, severity_rank
from diagnose.rules.schemas import SCHEMAS, schema, schema_text
from diagnose.rules.testing import run_tests
from diagnose.rules.windows import WindowMerge, merge_windows, shift_times

__all__ = [
    "ENV_VAR", "FINDINGS_SCHEMA", "Diagnosis", "Finding", "Issue", "RuleLoadError", "RuleSet",
    "Verdict", "diagnose", "evaluate_rule", "load_ruleset", "validate_paths", "ConfidenceSpec", "severity_rank",
    "run_tests", "merge_windows", "WindowMerge", "shift_times", "authoring", "SCHEMAS", "schema", "schema_text",
]
