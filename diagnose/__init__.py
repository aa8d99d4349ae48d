"""netpoll-diagnose: read a Go execution trace and say why streaming responses got slow.

Pipeline, one sub-package per stage:
    read/      trace bytes -> ordered, validated events (Go's own event model)
    timeline/  events -> per-goroutine/P/thread state intervals (columnar)
    graph/     timelines -> causal graph (networkx)
    features/  timelines + graph -> named, typed features rules can test
    rules/     features -> findings (declarative YAML rules, CEL conditions)
    report/    findings -> terminal, JSON, Markdown, Slack, HTML, pprof
"""

__version__ = "0.1.0"
