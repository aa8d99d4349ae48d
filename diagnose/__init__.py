"""netpoll-diagnose: read a Go execution trace and say why streaming responses got slow.

Pipeline, one sub-package per stage (ARCHITECTURE.md), wired in one place (pipeline.py):
    read/      trace bytes -> ordered, validated events (Go's own event model)
    timeline/  events -> columns (compiled kernel or reference) -> per-goroutine/P/thread intervals
    graph/     timelines -> causal graph (networkx)
    features/  timelines + graph -> named, typed features rules can test
    rules/     features -> findings (declarative YAML rules, CEL conditions)
    report/    findings -> terminal, JSON, Markdown, Slack, HTML, pprof
    cli/       the commands

This module also holds the settings: every environment variable the package reads, so that
any stage may read them without importing a later one.

Stages read settings through `settings()` (a fresh snapshot of the environment each call:
tests and the bot's child processes change the environment between runs). Command-line
options win over these where both exist.

| variable | effect |
|---|---|
| NETPOLL_DIAGNOSE_PURE=1 | never use the compiled reader kernel (the pure-Python reference reads) |
| NETPOLL_DIAGNOSE_DEBUG=1 | an internal error prints its traceback instead of one line |
| NETPOLL_DIAGNOSE_RULES=DIR[:DIR] | extra rule layers, after the shipped rules and --rules-dir |
| NETPOLL_DIAGNOSE_MANIFEST=FILE | the fixture manifest `rules test` resolves scenarios in |
| NETPOLL_DIAGNOSE_PROGRESS_DELAY=S | seconds before the terminal progress line appears (0.3) |
| NETPOLL_DIAGNOSE_V1_TICKS_PER_SEC=N | tick rate for an old-format trace cut before its frequency event |
| NETPOLL_DIAGNOSE_WINDOW_MB=N | a Go 1.22+ trace larger than 1.5 N MB is diagnosed in windows of about N MB of whole generations, a Go <= 1.21 one in windows of 0.19 N M events, as many as a Go 1.22+ window of N MB holds (7; 0 = whole trace at once) |
| NETPOLL_DIAGNOSE_JOBS=N | processes that diagnose the windows of a big trace at once (0 = auto: the usable CPUs, at most 4, while memory allows, the running windows within 1 GB together; 1 under an address-space limit; diagnose/jobs.py) |
| NETPOLL_DIAGNOSE_MEMORY_BUDGET=MiB | the analysis memory budget (diagnose/budget.py; 0: no budget) |
| NETPOLL_DIAGNOSE_MAX_EVENTS=N | the most events a trace may hold (diagnose/read/eventcap.py; 0: no limit) |
| NO_COLOR (any value) | no colour in terminal output (https://no-color.org) |

The `serve` command alone also reads SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET and
NETPOLL_DIAGNOSE_TOKEN (secrets: read once in diagnose/serve/command.py, never passed to the
analysis children).
"""
from __future__ import annotations

__version__ = "0.1.0"

import gc
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

PURE_ENV = "NETPOLL_DIAGNOSE_PURE"
DEBUG_ENV = "NETPOLL_DIAGNOSE_DEBUG"
RULES_ENV = "NETPOLL_DIAGNOSE_RULES"
MANIFEST_ENV = "NETPOLL_DIAGNOSE_MANIFEST"
PROGRESS_DELAY_ENV = "NETPOLL_DIAGNOSE_PROGRESS_DELAY"
V1_TICKS_ENV = "NETPOLL_DIAGNOSE_V1_TICKS_PER_SEC"
WINDOW_ENV = "NETPOLL_DIAGNOSE_WINDOW_MB"
MEMORY_BUDGET_ENV = "NETPOLL_DIAGNOSE_MEMORY_BUDGET"
JOBS_ENV = "NETPOLL_DIAGNOSE_JOBS"
MAX_EVENTS_ENV = "NETPOLL_DIAGNOSE_MAX_EVENTS"
NO_COLOR_ENV = "NO_COLOR"
#: default analysis window, MB of trace: one process peaks at ~75 MB plus ~50 bytes per byte of
#: its window (benchmarks/bench_pipeline.py, go1.27.3 busy traces): 7-8 MB windows take ~420-500 MB,
#: so two processes at once stay under 1 GB (12 MB windows took 600-700 MB each, 1.2-1.35 GB)
DEFAULT_WINDOW_MB = 7.0


def _flag(v: str | None) -> bool:
    return (v or "") not in ("", "0")


def compiled(module: Any) -> Any:
    """A compiled kernel `module`, or None when it was not built or NETPOLL_DIAGNOSE_PURE is set
    (the numpy/Python code is then the reference). The setting is read from the environment on
    every call -- cheap, and the holder queries ask ~50 times a window -- so tests can switch it."""
    return None if module is None or _flag(os.environ.get(PURE_ENV)) else module


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector paused for a block that makes millions of small containers
    and no reference cycles -- the pure-Python readers' events, rows and tables. The collector
    would only rescan them over and over: the columns of 4 busy windows of the 53 MB go1.27
    trace took 13.1 s of CPU with it and 9.9 s without, the same peak memory (issue 18)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class Settings:
    pure: bool = False
    debug: bool = False
    rules_dirs: tuple[str, ...] = field(default_factory=tuple)
    manifest: str | None = None
    progress_delay_s: float = 0.3
    v1_ticks_per_sec: str = ""  # validated by the v1 reader, which names the variable in its error
    memory_budget: str = ""  # validated by diagnose/budget.py, which names the variable in its error
    max_events: str = ""  # validated by diagnose/read/eventcap.py
    jobs: str = ""  # validated by diagnose/jobs.py
    no_color: bool = False
    #: MB of trace per analysis window (0: never cut)
    window_mb: float = DEFAULT_WINDOW_MB


def env_count(var: str, value: str, unit: str) -> int:
    """A whole number >= 0 from environment variable `var`; a UsageError naming the variable
    otherwise (exit 2, one line)."""
    from .errors import UsageError

    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 0:
        raise UsageError(f"{var}={value!r}: expected a number of {unit}")
    return n


def settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings in force now (from `env`, default os.environ)."""
    env = os.environ if env is None else env
    try:
        delay = float(env.get(PROGRESS_DELAY_ENV, "0.3"))
    except ValueError:
        delay = 0.3
    try:
        window = max(float(env.get(WINDOW_ENV, DEFAULT_WINDOW_MB)), 0.0)
    except ValueError:
        window = DEFAULT_WINDOW_MB
    return Settings(
        pure=_flag(env.get(PURE_ENV)),
        debug=_flag(env.get(DEBUG_ENV)),
        rules_dirs=tuple(d for d in (env.get(RULES_ENV) or "").split(os.pathsep) if d.strip()),
        manifest=env.get(MANIFEST_ENV) or None,
        progress_delay_s=delay,
        v1_ticks_per_sec=(env.get(V1_TICKS_ENV) or "").strip(),
        memory_budget=(env.get(MEMORY_BUDGET_ENV) or "").strip(),
        max_events=(env.get(MAX_EVENTS_ENV) or "").strip(),
        jobs=(env.get(JOBS_ENV) or "").strip(),
        no_color=NO_COLOR_ENV in env and env.get(NO_COLOR_ENV, "") != "",
        window_mb=window,
    )
