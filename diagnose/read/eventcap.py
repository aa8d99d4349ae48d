"""How many events and batches a trace file may hold: a time bound for every reader entry.

Each event costs the pure-Python reader ~4 us, `dump` ~16 us and the pure-Python pipeline
~10-16 us, so a 10 MB file crafted to hold 3.75 million events (2.7 bytes each, the most a byte
can hold) kept `dump`, `inspect` and every NETPOLL_DIAGNOSE_PURE=1 command past 60 s. Real traces
hold at most ~0.27 events per byte (the syscall-storm fixtures: a syscall every few bytes), so a
file may hold ``max(MAX_EVENTS_BASE, MAX_EVENTS_PER_BYTE x its size)`` events; past that both
readers raise the same TraceError (no offset: the kernel counts a generation at a time).
``NETPOLL_DIAGNOSE_MAX_EVENTS`` overrides it (0: no limit). Old-format (Go <= 1.21) events are
denser (a real 11 MB go1.21 trace of the `busy` program holds 0.30 events a byte, which the
new formats' cap refused): their default cap is the format's own ceiling, 0.5 a byte (an event
is at least a type byte and a timestamp byte), so only the variable limits them.

Batches (Go 1.22+ formats) cost both readers ~40 us each in Python (the kernel's driver reads
them too), whatever they hold: the quad-frontier family packs 400,000 one-M batches of 25 bytes
in 10 MB. Real traces average ~1 KB a batch (at most tens of thousands in a big trace), so a file
may hold ``MAX_BATCHES_BASE + its size / MIN_BATCH_BYTES`` batches; past that the batch is
rejected at its offset (the same error from both readers; NETPOLL_DIAGNOSE_MAX_EVENTS=0 lifts
this limit too).
"""
from __future__ import annotations

from typing import Mapping

MAX_EVENTS_BASE = 1_000_000
#: old formats (Go <= 1.21): at most one event per 2 bytes, whatever the trace
MAX_EVENTS_PER_BYTE_OLD = 0.5
MAX_EVENTS_PER_BYTE = 0.3
MAX_BATCHES_BASE = 10_000
MIN_BATCH_BYTES = 100


def max_events(size: int, env: Mapping[str, str] | None = None, old_format: bool = False) -> int | None:
    """The most events a trace file of `size` bytes may hold, or None (no limit)."""
    from .. import MAX_EVENTS_ENV, env_count, settings

    v = settings(env).max_events
    if v:
        return env_count(MAX_EVENTS_ENV, v, "events (0: no limit)") or None
    return max(MAX_EVENTS_BASE, int((MAX_EVENTS_PER_BYTE_OLD if old_format else MAX_EVENTS_PER_BYTE) * size))


def max_batches(size: int, env: Mapping[str, str] | None = None) -> int | None:
    """The most batches a trace file of `size` bytes may hold, or None (no limit)."""
    from .. import settings

    if settings(env).max_events.strip() == "0":
        return None
    return MAX_BATCHES_BASE + size // MIN_BATCH_BYTES


def too_many_batches(limit: int, size: int) -> str:
    return (f"more than {limit:,} batches in {size:,} bytes (real traces average ~1 KB a batch): "
            "refusing a crafted trace")


def too_many(limit: int, size: int) -> str:
    """The error message (the same from both readers)."""
    from .. import MAX_EVENTS_ENV

    return (f"more than {limit:,} events in {size:,} bytes (real traces hold at most ~0.27 a byte): "
            f"refusing a crafted trace ({MAX_EVENTS_ENV}=N raises the limit)")


__all__ = ["max_events", "too_many", "max_batches", "too_many_batches", "MAX_EVENTS_BASE", "MAX_EVENTS_PER_BYTE"]
