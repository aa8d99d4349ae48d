"""How many processes diagnose the windows of a big trace at once.

A trace cut into windows (pipeline.plan_windows) is diagnosed window by window, each window
alone (read -> rules), so windows can run in parallel processes: on 2 cores a 53 MB trace
takes about half the wall time. Each process holds one window's analysis (~450-500 MB for the
default 8 MB window, benchmarks/bench_pipeline.py), so the count is bounded by memory as well
as by CPUs. The findings do not depend on it: the windows are the same, and merged in order.

``NETPOLL_DIAGNOSE_JOBS=N`` sets it (1: one window at a time, the smallest memory); unset or
0 is auto: the usable CPUs (at most ``AUTO_MAX``; a cgroup v2 ``cpu.max`` quota counts), no
more than the windows, no more than the available memory allows (MemAvailable, or a cgroup
v2 ``memory.max`` when lower) at ``per_job`` bytes each, and 1 when the process runs under an
address-space or CPU-time limit (``--max-memory``/``--timeout``, or the bot's analysis
children: their budgets are sized for one process), or off Linux (workers are forked).
"""
from __future__ import annotations

import math
import os
import resource
import sys

from . import JOBS_ENV, env_count, settings
from .budget import available_memory as _available_memory

AUTO_MAX = 4
#: bytes of analysis a window takes per byte of trace (8 MB windows peak at 450-500 MB, 12 MB at 600-700 MB, on busy
#: go1.27 traces), with room; a job is never planned at less than MIN_PER_JOB
PER_WINDOW_BYTE = 85
MIN_PER_JOB = 1 << 30
CGROUP = "/sys/fs/cgroup"


def per_job() -> int:
    """Bytes one window's process may take, from the window size in force."""
    return max(MIN_PER_JOB, int(settings().window_mb * (1 << 20) * PER_WINDOW_BYTE))


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _usable_cpus() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        n = os.cpu_count() or 1
    quota = (_read(f"{CGROUP}/cpu.max") or "max").split()
    if len(quota) == 2 and quota[0] != "max":
        try:
            n = min(n, max(1, math.ceil(int(quota[0]) / int(quota[1]))))
        except (ValueError, ZeroDivisionError):
            pass
    return n


def _memory_for_jobs() -> int | None:
    """Bytes the jobs may use: MemAvailable, or what a cgroup v2 memory.max leaves when lower."""
    avail = _available_memory()
    limit, used = _read(f"{CGROUP}/memory.max"), _read(f"{CGROUP}/memory.current")
    if limit and limit != "max" and used:
        try:
            left = int(limit) - int(used)
        except ValueError:
            return avail
        avail = left if avail is None else min(avail, left)
    return avail


def window_jobs(n_windows: int) -> int:
    """Processes for `n_windows` windows (>= 1)."""
    if not sys.platform.startswith("linux"):
        return 1
    v = settings().jobs
    if v:
        n = env_count(JOBS_ENV, v, "processes (0: auto)")
        if n > 0:
            return max(1, min(n, n_windows))
    for limit in (resource.RLIMIT_AS, resource.RLIMIT_CPU):
        if resource.getrlimit(limit)[0] != resource.RLIM_INFINITY:
            return 1
    n = min(_usable_cpus(), AUTO_MAX, n_windows)
    mem = _memory_for_jobs()
    if mem is not None:
        n = min(n, mem // per_job())
    return max(1, n)
