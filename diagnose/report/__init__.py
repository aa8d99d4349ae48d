"""report/: findings -> terminal text, JSON (and later Markdown, Slack, HTML, pprof).

Every renderer takes a `diagnose.rules.findings.Diagnosis` (schema FINDINGS_SCHEMA).
"""
