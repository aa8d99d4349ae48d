"""serve/: the chat bot and plain HTTP endpoint (`netpoll-diagnose serve`).

This stage sits after report, beside the CLI: it may import `diagnose.report` and the
stages' public APIs; nothing imports it. Every analysis runs the documented CLI in a child
process (`runner.py`) with a wall-time limit and rlimits, so a hostile upload can at worst
cost one child its CPU and memory budget, never the server.

    limits.py    the limits every request is held to (size, time, memory, pool, queue)
    child.py     the child process: set rlimits, then run the CLI's entry point
    runner.py    run the child, collect its outputs, one-line errors, scrub server paths
    pool.py      bounded worker pool + bounded queue ("queue full" instead of waiting)
    fetch.py     bounded downloads: Slack files (token only to Slack) and user URLs (SSRF rules)
    reply.py     the short thread reply (<= 15 lines) from the JSON report / diff
    slackbot.py  Bolt app: triggers, retries answered once, thread diffs, replies + HTML upload
    httpd.py     HTTP server: /slack/events, POST /diagnose, /healthz
    logs.py      one structured JSON log line per request
    command.py   the `serve` typer command (Socket Mode / HTTP mode, SIGTERM shutdown)
"""
