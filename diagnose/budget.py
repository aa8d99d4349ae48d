"""The memory budget of an analysis: refuse a trace early, in one line, rather than die on it.

After the columns are read (a small, known cost) and before timelines, graph and features
(most of the memory), the pipeline estimates what the rest will take from what the trace holds
and refuses it (TraceError: exit 2, one line) when the estimate is over the budget:

    estimate = 120 B x events + 2,200 B x goroutines + 1,600 B x stacks + 5,000 B x (threads + procs)

(measured with benchmarks/bench_hostile.py on tools/gen_hostile.py traces: peak RSS of the
whole command over each count; a real trace is ~150-220 B an event with few of the others.
Threads and procs cost ~2 KB each but ~150 us each in the later stages: they are weighted so
that time stays bounded too -- real traces hold at most thousands of them.)

The budget is, in this order: ``NETPOLL_DIAGNOSE_MEMORY_BUDGET`` (MiB; 0 turns the check
off), 60% of the process's address-space limit when one is set (``--max-memory``, or the
bot's limit for its analysis children), else ``max(700 MiB, 64 x file size)``: any trace under
10 MB stays under 1 GB, and real traces keep room (a 53 MB trace needs 2.45 GB of 3.4 GB) --
but never more than 80% of the memory the machine has available (MemAvailable), so that a
trace too big for the machine is refused in one line instead of bringing it down.

A whole trace (not cut into windows: ``features``, ``explain``, ``profile``, old formats, a
trace joined with an strace log) is also checked *before* it is read, from its size
(``check_whole_read``: ~55 bytes of analysis per trace byte, measured on go1.27 busy traces
of 53-189 MB): the columns alone of a 1 GB trace are ~13 GB.
"""
from __future__ import annotations

import resource
from typing import Any, Mapping

from . import MEMORY_BUDGET_ENV as BUDGET_ENV
from . import env_count, settings
from .errors import TraceError

#: bytes of analysis per event, goroutine, stack, thread or proc (see the module doc)
PER_EVENT, PER_GOROUTINE, PER_STACK, PER_THREAD = 120, 2_200, 1_600, 5_000
DEFAULT_BASE = 700 << 20
DEFAULT_PER_BYTE = 64
RLIMIT_SHARE = 0.6
#: share of MemAvailable the default budget may use
AVAILABLE_SHARE = 0.8
#: bytes of analysis per byte of a trace analysed whole (before its columns exist to count):
#: go1.27 busy traces of 53-189 MB; old formats (Go <= 1.21) need more, 72 on a busy go1.21
#: trace of 11.2 MB (the v1 reader's compact store plus the later stages)
WHOLE_PER_BYTE = 55
WHOLE_PER_BYTE_OLD_FORMAT = 75
#: ... and of an old-format trace read whole but analysed in windows of events (the reader's
#: compact store, 40 B an event packed at ~0.2 events a byte, and its merged order; one run of
#: rows: 741 MiB peak for a 63 MB go1.21 trace, 12.3 B a byte), and in pure Python (72 B an event:
#: 1209 MiB)
READ_PER_BYTE_OLD_FORMAT = 14
READ_PER_BYTE_OLD_FORMAT_PURE = 21


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo (bytes), None where there is no such file."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def counts(cols: Any) -> dict[str, int]:
    """What the estimate counts, from the columns."""
    from .timeline import count_distinct

    rk = cols.rk
    return {
        "events": len(cols.kind),
        "goroutines": count_distinct(cols.rid[rk == 1]),
        "stacks": max(len(cols.stack_off) - 1, 0),
        "threads": count_distinct(cols.m),
        "procs": count_distinct(cols.rid[rk == 2]),
    }


def estimate(c: dict[str, int]) -> int:
    """Bytes the timelines, graph and features of a trace with these counts will take."""
    return (PER_EVENT * c["events"] + PER_GOROUTINE * c["goroutines"] + PER_STACK * c["stacks"]
            + PER_THREAD * (c["threads"] + c["procs"]))


def budget(size: int, env: Mapping[str, str] | None = None) -> int | None:
    """The budget in bytes for a trace file of `size` bytes, or None (no check)."""
    return _budget(size, env)[0]


def _budget(size: int, env: Mapping[str, str] | None = None) -> tuple[int | None, bool]:
    """(budget, True when it is the size-scaled default rather than a real limit)."""
    v = settings(env).memory_budget
    if v:
        mib = env_count(BUDGET_ENV, v, "MiB (0: no budget)")
        return (None if mib == 0 else mib << 20), False
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        return int(soft * RLIMIT_SHARE), False
    limit = max(DEFAULT_BASE, DEFAULT_PER_BYTE * size)
    avail = available_memory()
    cap = None if avail is None else max(DEFAULT_BASE, int(avail * AVAILABLE_SHARE))
    return (limit, True) if cap is None or cap >= limit else (cap, False)


def check_whole_read(size: int, display: str, old_format: bool = False, per_byte: int | None = None) -> None:
    """Raise TraceError (one line) before reading a whole trace whose analysis would not fit:
    estimated from the file size, since nothing is counted yet (`per_byte`: bytes of memory a
    byte of the file takes, when not the whole analysis's)."""
    limit, scaled_default = _budget(size)
    need = (per_byte or (WHOLE_PER_BYTE_OLD_FORMAT if old_format else WHOLE_PER_BYTE)) * size
    # The size-scaled default (64 x size) is a rule of thumb for the count-based check after
    # the columns, not a limit a size estimate can be held to (old formats need ~72 x): only a
    # real limit -- set, an address-space limit, or the machine's available memory -- refuses here.
    if limit is None or scaled_default or need <= limit:
        return
    raise TraceError(f"analysing this {_size(size)} trace whole would take about {_size(need)}, over the memory "
                     f"budget of {_size(limit)} (--max-memory or {BUDGET_ENV}=MiB raise it; only the main "
                     f"command without --strace cuts a Go 1.22+ trace into windows)", display, None)


def upper_counts(cols: Any) -> dict[str, int]:
    """Bounds on `counts` without counting distinct values (a window's ~1.2 M rows took 11 ms
    to count, on every window): rows per resource kind, the span of the thread ids."""
    import numpy as np

    rk, m = cols.rk, cols.m
    return {
        "events": len(cols.kind),
        "goroutines": int(np.count_nonzero(rk == 1)),
        "stacks": max(len(cols.stack_off) - 1, 0),
        "threads": min(len(m), int(m.max()) - int(m.min()) + 1) if len(m) else 0,
        "procs": int(np.count_nonzero(rk == 2)),
    }


def check(cols: Any, size: int, display: str) -> None:
    """Raise TraceError (one line) when analysing `cols` would take more than the budget. The
    distinct counts are made only when their bounds (`upper_counts`) do not fit already."""
    limit = budget(size)
    if limit is None or estimate(upper_counts(cols)) <= limit:
        return
    c = counts(cols)
    need = estimate(c)
    if need <= limit:
        return
    held = ", ".join(f"{v:,} {k}" for k, v in c.items())
    raise TraceError(f"analysing this trace would take about {_size(need)} ({held}), over the memory budget "
                     f"of {_size(limit)} (--max-memory or {BUDGET_ENV}=MiB raise it)", display, None)


def _size(n: int) -> str:
    if n >= 2**30:
        return f"{n / 2**30:.1f} GiB"
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"


__all__ = ["check", "check_whole_read", "budget", "estimate", "counts", "available_memory", "BUDGET_ENV"]
