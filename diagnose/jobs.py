"""How many processes diagnose the windows of a big trace at once.

A trace cut into windows (pipeline.plan_windows) is diagnosed window by window, each window
alone (read -> rules), so windows can run in parallel processes: on 2 cores a 53 MB trace
takes about half the wall time. Each process holds one window's analysis (~420-470 MB for the
default 7 MB window, benchmarks/bench_pipeline.py), so the count is bounded by memory as well
as by CPUs. The findings do not depend on it: the windows are the same, and merged in order.

``NETPOLL_DIAGNOSE_JOBS=N`` sets it (1: one window at a time, the smallest memory); unset or
0 is auto: the usable CPUs (at most ``AUTO_MAX``; a cgroup v2 ``cpu.max`` quota counts), no
more than the windows, no more than the available memory allows (MemAvailable, or a cgroup
v2 ``memory.max`` when lower) at ``per_job`` bytes each, and 1 when the process runs under an
address-space or CPU-time limit (``--max-memory``/``--timeout``, or the bot's analysis
children: their budgets are sized for one process), or off Linux (workers are forked).

In auto mode the windows running at once also stay within ``parallel_allowance`` together
(1 GB for the whole run unless a memory budget says otherwise): generations are the unit of a
window and one can be 14 MB, so a window starts beside the running ones only while their
estimated costs (``window_cost``) fit, and a big one runs alone.
"""
from __future__ import annotations

import math
import os
import resource
import sys
from typing import Any

from . import JOBS_ENV, MEMORY_BUDGET_ENV, env_count, settings
from .budget import available_memory as _available_memory

AUTO_MAX = 4
#: bytes of analysis a window takes per byte of trace (7-8 MB windows peak at 420-500 MB, 12 MB at 600-700 MB, on busy
#: go1.27 traces), with room; a job is never planned at less than MIN_PER_JOB
PER_WINDOW_BYTE = 85
MIN_PER_JOB = 1 << 30
CGROUP = "/sys/fs/cgroup"


#: in auto mode, what the windows running at once may take together: the issue's bound for a
#: whole run (1 GB) less the parent's share and each worker's interpreter (what `window_cost`
#: leaves out). On the 1 GB benchmark trace regenerated with 91 generations of 6.6-12.7 MB the
#: parent took 116 MiB and each worker ~60 beside a window's own memory: 940-951 MiB in all with
#: two 12.7 MB generations in two parts side by side (2 x 356 MiB of room for 2 x 377), under
#: 1 GB but with little to spare; 240 MiB here would keep ~40 MiB, but 7 MiB windows of whole
#: generations would then no longer run two at a time. A memory budget
#: (NETPOLL_DIAGNOSE_MEMORY_BUDGET, MiB) replaces the 1 GB, 0 lifts it
PARALLEL_TOTAL = 1_000_000_000
PARENT_SHARE = 200 << 20
#: one window's own memory in a worker (what forking does not share): ~30 MiB and ~48 bytes a
#: trace byte (benchmarks/bench_pipeline.py, busy go1.27.3 traces: a 10.8 MB window peaks 526
#: MiB over the interpreter's 79, a 13.6 MB one ~680); measured on the 1 GB trace's 171 windows:
#: 1005 MiB in all with 40 + 46 x bytes and 150 MiB for the parent, so both were raised
WORKER_BASE = 30 << 20
WORKER_PER_BYTE = 48


def window_cost(nbytes: int) -> int:
    """Bytes a worker analysing a window of `nbytes` of trace takes beyond what it shares."""
    return WORKER_BASE + WORKER_PER_BYTE * nbytes


#: bytes of columns a byte of a Go 1.22+ trace becomes while read (~64 bytes an event at ~0.22
#: events a byte: 197 MiB for a 14.7 MB busy generation)
COLUMNS_PER_BYTE = 15


#: bytes a row of a window's parts waiting for their turn takes packed (`timeline.window_parts`:
#: ~27 bytes a row at ~0.22 rows a trace byte)
PACKED_PER_BYTE = 6


def part_cost(nbytes: int, parts: int) -> int:
    """Bytes a worker takes for the `parts` parts of a window of `nbytes` (pipeline.split_windows),
    analysed one after another from one read: a part's analysis (`window_cost` of its share of the
    bytes, its columns included: the first part is a plain copy, the others are widened one at a
    time) beside the other parts packed (the window's own columns go back to the heap the
    analysis reuses: `columns_from_heap`). Measured on the 189 MB benchmark trace regenerated with
    18 generations of 10-11 MB, in one process: 333 MiB over the interpreter's 59 for the two
    parts of an 11.7 MB generation (this gives 332); its last window, 7.8 MB whole, 395 (389); the
    53 MB trace's 15.0 MB window in 3 parts, 335 MiB (the analysis term alone gave 316: the cut's
    peak, the window's columns beside the first part's copy and the packed rest, is the larger
    from 3 parts on, 373)."""
    if parts <= 1:
        return window_cost(nbytes)
    share = nbytes // parts
    # beside the first part's analysis wait the other parts, packed (each is freed as it is widened)
    analysis = window_cost(share) + PACKED_PER_BYTE * (nbytes - share)
    # while cutting (timeline.window_parts): the window's columns, the first part's copy, the rest packed;
    # over the analysis from 3 parts on (14.7 MB in 3: ~366 MiB against 310)
    cut = WORKER_BASE + COLUMNS_PER_BYTE * (nbytes + share) + PACKED_PER_BYTE * (nbytes - share)
    return max(analysis, cut)


#: the most parts a window is cut into
MAX_PARTS = 64


def pairs(nbytes: int) -> bool:
    """Do two windows of `nbytes` fit side by side in the default bound for the windows running
    at once (PARALLEL_TOTAL less the parent's share)? A constant, as `parts_for` is. A generation
    bigger than the window that does not pair is cut into parts (pipeline.split_windows): on the
    189 MB benchmark trace regenerated with 18 generations of 10-11 MB (~540 MB of `window_cost`
    each), whole ones ran one at a time, 15.4 s (4.3x Go's reader) against 6.3 s two at a time."""
    return 2 * window_cost(nbytes) <= PARALLEL_TOTAL - PARENT_SHARE


def parts_for(nbytes: int) -> int:
    """Parts a window of `nbytes` too big for one window is cut into: the fewest (at least 2) of
    which two fit side by side in the default bound for the windows running at once
    (PARALLEL_TOTAL less the parent's share). A constant, not this machine's memory or the
    processes in use, so that every machine and NETPOLL_DIAGNOSE_JOBS cut the same windows."""
    pair = (PARALLEL_TOTAL - PARENT_SHARE) // 2
    parts = 2
    while parts < MAX_PARTS and part_cost(nbytes, parts) > pair:
        parts += 1
    return parts


def parallel_allowance() -> int | None:
    """Bytes the windows analysed at once may take together (pipeline._windows_in_processes
    starts a window only while they fit; one always runs), or None: no bound -- when
    NETPOLL_DIAGNOSE_JOBS names a count (the user chose) or the memory budget is 0."""
    s = settings()
    if s.jobs and env_count(JOBS_ENV, s.jobs, "processes (0: auto)") > 0:
        return None
    total = PARALLEL_TOTAL
    if s.memory_budget:
        mib = env_count(MEMORY_BUDGET_ENV, s.memory_budget, "MiB (0: no budget)")
        if mib == 0:
            return None
        total = mib << 20
    return max(total - PARENT_SHARE, 0)


def fitting_jobs(jobs: int, costs: list[int], allowance: int | None) -> int:
    """How many of `jobs` processes can ever run windows at once: the most whose cheapest windows
    (`costs`, `window_cost`) fit the `allowance` together (None: no bound), at least 1.

    When no two windows fit side by side the windows run one after another anyway, and a pool of
    workers only costs: each worker must give its memory back after every window
    (`keeps_memory`: an idle worker's kept pages plus a big window beside it would not fit), so
    every window paid its page faults again. On the 189 MB benchmark trace regenerated on a
    faster machine (14 generations of 12.5-13.5 MB, ~680 MB of `window_cost` each, the
    allowance 790 MB): 12.4 s wall / 3.9 s of system CPU with two workers taking turns, 8.8 s /
    0.6 s in one process."""
    if allowance is None or jobs <= 1:
        return max(1, jobs)
    total = n = 0
    for c in sorted(costs)[:jobs]:
        total += c
        if total > allowance:
            break
        n += 1
    return max(1, n)


def keeps_memory(held: int, costs: list[int], jobs: int, allowance: int | None) -> bool:
    """May a worker keep the pages its windows freed (the C allocator's) for its next window?

    `held` is the estimated cost (`window_cost`) of the biggest window the worker ran since it
    last gave its memory back: it keeps about that much resident. Keeping is harmless while that
    and the biggest window in each of the other workers fit the allowance together; otherwise
    the worker must give it back (`release_memory`) before a big window runs beside it.
    Releasing costs the next window its page faults again: on the 189 MB go1.27 benchmark trace
    (34 windows, one of 8.1 MB), releasing after every window because that one window would not
    fit beside another took 5.6 s of system CPU and 1.62 M minor faults; releasing only after
    the windows that do not fit took 3.8 s and 1.34 M (with `tune_allocator`: 2.2 s, 0.80 M)."""
    return allowance is None or held + (jobs - 1) * max(costs, default=0) <= allowance


#: glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
#: the largest mmap threshold glibc accepts on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX)
MMAP_THRESHOLD = 32 << 20
TOP_PAD = 64 << 20


def tune_allocator() -> None:
    """Let a process that analyses windows reuse its freed memory instead of mapping it afresh.

    glibc maps every block over its (dynamic) mmap threshold on its own and unmaps it when freed,
    and trims the heap's top as soon as 128 KiB are free; a window's analysis allocates and frees
    column arrays of tens of MB hundreds of times, so each one came back as fresh zero pages, one
    page fault each: ~1 s of system CPU on the 53 MB benchmark trace, 0.6 s with this (`-j1`).
    Memory is still given back explicitly between windows when the allowance needs it
    (`keeps_memory`, `release_memory`). Not glibc (or no libc found): nothing to do."""
    mallopt = _glibc("mallopt")
    if mallopt is None:
        return
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, 1 << 30)
    mallopt(_M_TOP_PAD, TOP_PAD)


def release_memory() -> None:
    """Give a finished window's memory back to the system. A worker lives on between windows and
    the C allocator keeps what was freed (a 10 MB window leaves ~260 MiB resident, ~96 MiB after
    a trim), and so does the reader kernel (its columns, ~64 bytes an event), so an idle worker
    would hold it beside the window running in the other one."""
    import gc

    gc.collect()
    try:  # the reader kernel keeps the last window's column memory for the next one
        from .read import _fastwire  # type: ignore[attr-defined]
    except ImportError:  # not built
        pass
    else:
        _fastwire.release_columns()
    trim_heap()


def columns_from_heap(on: bool = True) -> None:
    """Let the reader kernel take its column memory from the C heap, and give it back there,
    instead of mapping it and keeping it for its next read (`_fastwire.set_heap_columns`): a
    process that reads a generation and analyses its parts (pipeline.GenerationParts) then
    reuses the same freed pages for the columns and for the analysis's arrays. Kept mapped
    columns beside the analysis took ~580 MiB a process on 14.7 MB generations (two over 1 GB);
    giving the pages back after each part cost 1.7 M page faults (6.5 s of system time on the
    189 MB trace). `on=False`: back to mapped columns, once a diagnosis in parts is over (the
    process may read other traces). Nothing to do without the kernel."""
    try:
        from .read import _fastwire  # type: ignore[attr-defined]
    except ImportError:  # not built
        return
    _fastwire.set_heap_columns(on)


def trim_heap() -> None:
    """Give the C heap's free pages back to the system (glibc's malloc_trim; elsewhere nothing).

    The pure-Python column builder (timeline/rowcols.py) leaves its freed Python objects and
    packed batches as holes in the heap that the analysis after it cannot reuse (its arrays are
    mapped on their own): on a 12.5 MB busy window RSS stayed 405 MiB after the columns, 230 MiB
    after a trim, and the window's peak fell 782 -> 723 MiB (with `tune_allocator`)."""
    trim = _glibc("malloc_trim")
    if trim is not None:
        trim(0)


def _glibc(name: str) -> Any:
    """glibc's function `name` through ctypes, or None (no C library found, or not glibc)."""
    import ctypes
    import ctypes.util

    lib = ctypes.util.find_library("c")
    if not lib:
        return None
    try:
        return getattr(ctypes.CDLL(lib), name)
    except (OSError, AttributeError):
        return None


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
