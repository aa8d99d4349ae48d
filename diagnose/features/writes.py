"""How many write syscalls a writer makes per wake-up: a storm's size, not its rate.

`syscalls.write_per_s` is a process rate: it grows with the number of streams, so a server with
many streams that writes each message whole can pass a storm of 256-byte flushes on a few
streams (issue 12: the harness's healthy/heavy, 48 streams, 4.8k writes/s; framed write256,
12 streams flushing every 256 bytes of a 2 KiB frame, 5.7k/s). What a storm changes is how
many pieces one unit of work is written in: a writer wakes up (an event on its channel, a
timer, bytes from upstream), writes, and blocks again. Written whole, that is one or two write
syscalls per wake-up; flushed every 256 bytes of 2 KiB, nine.

`writes_per_wait`: over the goroutines that made a write-family syscall in the window, the
median of (their write syscalls / their blocking waits, i.e. Waiting intervals of any reason,
at least 1). The median, so that one goroutine draining a backlog does not decide it. A
goroutine that writes once and exits (HTTP/2's per-frame writer goroutines) counts 1.
"""
from __future__ import annotations

import numpy as np

from ..timeline.columns import G_WAITING
from ..timeline.timeline import Timelines


def writes_per_wait(tl: Timelines, writes: np.ndarray) -> float:
    """Median over writer goroutines of write syscalls per blocking wait (see the module).
    `writes`: write syscalls per goroutine index (`writes_per_goroutine`, counted once per
    window by the caller), not a sort of goroutine ids."""
    if not writes.any():
        return 0.0
    waits = tl.gor_state_counts[:, G_WAITING]
    writers = writes > 0
    return round(float(np.median(writes[writers] / np.maximum(waits[writers], 1))), 6)
