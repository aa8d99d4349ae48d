"""Goroutine-state ordering helpers for the old trace format.

A port of Go 1.27.3's ``src/internal/trace/internal/tracev1/order.go``: the goroutine
state constants used to decide when an event may be merged, and the exact binary-heap
algorithm (``heapUp``/``heapDown``) Go uses for the merge frontier.  The heap is ported
rather than taken from :mod:`heapq` because the order in which equal timestamps leave the
heap depends on the algorithm, and we want Go's order.
"""
from __future__ import annotations

G_DEAD = 0
G_RUNNABLE = 1
G_RUNNING = 2
G_WAITING = 3

UNORDERED = (1 << 64) - 1
GARBAGE = (1 << 64) - 2
NOSEQ = (1 << 64) - 1
SEQINC = (1 << 64) - 2


def heap_push(h: list, x) -> None:
    """Go: orderEventList.Push (append + heapUp). Entries are (ts, event, proc)."""
    h.append(x)
    j = len(h) - 1
    ts = x[0]
    while j > 0:
        i = (j - 1) >> 1  # parent
        if not ts < h[i][0]:
            break
        h[i], h[j] = h[j], h[i]
        j = i


def heap_pop(h: list):
    """Go: orderEventList.Pop (swap root with last, heapDown over n-1, remove last)."""
    n = len(h) - 1
    h[0], h[n] = h[n], h[0]
    # heapDown(h, 0, n)
    i = 0
    while True:
        j1 = 2 * i + 1
        if j1 >= n:
            break
        j = j1  # left child
        j2 = j1 + 1
        if j2 < n and h[j2][0] < h[j1][0]:
            j = j2  # right child
        if not h[j][0] < h[i][0]:
            break
        h[i], h[j] = h[j], h[i]
        i = j
    return h.pop()
