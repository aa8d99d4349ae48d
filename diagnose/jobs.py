"""How many processes diagnose the windows of a big trace at once.

A trace cut into windows (pipeline.plan_windows) is diagnosed window by window, each window
alone (read -> rules), so windows can run in parallel processes: on 2 cores a 53 MB trace
takes about half the wall time. Each process holds one window's analysis (~600-700 MB for the
default 12 MB window, benchmarks/bench_pipeline.py), so the count is bounded by memory as well
as by CPUs. The findings do not depend on it: the windows are the same, and merged in order.

``NETPOLL_DIAGNOSE_JOBS=N`` sets it (1: one window at a time, the smallest memory); unset or
0 is auto: the usable CPUs (at most ``AUTO_MAX``), no more than the windows, no more than
MemAvailable allows at ``PER_JOB`` bytes each, and 1 when the process runs under an
address-space limit (``--max-memory``, or the bot's analysis children), whose budget is sized
for one window.
"""
from __future__ import annotations

import os
import resource

from . import JOBS_ENV, env_count, settings
from .budget import available_memory as _available_memory

AUTO_MAX = 4
#: bytes one window's analysis may take (12 MB windows peak at 600-700 MB on busy go1.27 traces)
PER_JOB = 1 << 30


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def window_jobs(n_windows: int) -> int:
    """Processes for `n_windows` windows (>= 1). Workers are forked (they inherit the loaded
    rules): where the platform cannot fork, one process."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    v = settings().jobs
    if v:
        n = env_count(JOBS_ENV, v, "processes (0: auto)")
        if n > 0:
            return max(1, min(n, n_windows))
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        return 1
    n = min(_usable_cpus(), AUTO_MAX, n_windows)
    mem = _available_memory()
    if mem is not None:
        n = min(n, mem // PER_JOB)
    return max(1, n)
