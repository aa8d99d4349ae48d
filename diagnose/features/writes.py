"""How many write syscalls a writer makes per wake-up: a storm's size, not its rate.

`syscalls.write_per_s` is a process rate: it grows with the number of streams, so a server with
many streams that writes each message whole can pass a storm of 256-byte flushes on a few
streams (issue 12: the harness's healthy/heavy, 48 streams, 4.8k writes/s; framed write256,
12 streams flushing every 256 bytes of a 2 KiB frame, 5.7k/s). What a storm changes is how
many pieces one unit of work is written in: a writer wakes up (an event on its channel, a
timer, bytes from upstream), writes, and blocks again. Written whole, that is one or two write
syscalls per wake-up; flushed every 256 bytes of 2 KiB, nine.

`writes_per_wait`: over the goroutines that made a write-family syscall in the window, the
median of (their write syscalls / their blocking waits, at least 1). A wait is a Waiting
interval of any reason, or a poll-family syscall (epoll_wait, poll, select...): an event loop
of its own (gnet/evio style: raw sockets, `syscall.EpollWait` on a locked thread) waits in the
syscall and never parks, so counting parks only gave it the whole window's writes per
"wake-up" (held-out program evloop, issue 12: 20 on every healthy trace for a real 2; an
unstored 24-subscriber healthy build got a syscall_storm.small_pieces warning for 120). The
median, so that one goroutine draining a backlog does not decide it. A goroutine that writes
once and exits (HTTP/2's per-frame writer goroutines) counts 1.
"""
from __future__ import annotations

import numpy as np

from ..timeline.columns import G_WAITING
from ..timeline.timeline import Timelines


def writes_per_wait(tl: Timelines, writes: np.ndarray, polls: np.ndarray | None = None) -> float:
    """Median over writer goroutines of write syscalls per blocking wait (see the module).
    `writes`, `polls`: write and poll-family syscalls per goroutine index
    (`writes_per_goroutine`, counted once per window by the caller), not a sort of goroutine ids."""
    if not writes.any():
        return 0.0
    waits = tl.gor_state_counts[:, G_WAITING]
    if polls is not None:
        waits = waits + polls
    writers = writes > 0
    return round(float(np.median(writes[writers] / np.maximum(waits[writers], 1))), 6)
