"""Per-M cursors over a generation's event batches and their min-heap (port of batchcursor.go)."""
from __future__ import annotations

from .base import MAX_TIME, BaseEvent
from .wire import CHUNK_EVENTS, CHUNK_FIRST, WireError, decode_batch_chunk
from .wirevec import decode_span


class BatchCursor:
    """batchCursor: walks the batches of one M. ``ev`` is the last event read."""

    __slots__ = ("m", "last_ts", "idx", "evs", "evi", "err", "ev", "pos")

    def __init__(self, m: int) -> None:
        self.m = m
        self.last_ts = 0
        self.idx = 0  # next index into the M's batches
        self.evs = None  # decoded events of batches[idx] with their times (None: not decoded yet), a part at a time
        self.evi = 0  # next index into evs
        self.pos = 0  # where the next chunk of batches[idx] starts
        self.err = None  # decode error after evs, raised when reached
        self.ev = BaseEvent()

    def next_event(self, batches: list, freq: float) -> bool:
        """nextEvent: read the next event into self.ev. False when there is none.

        `evs` holds the events of a part of the batch with their times already computed
        (`last_ts`: the time of the last one), from `wirevec.decode_span` or, for a batch's
        first few events and anything unusual, `decode_batch_chunk`."""
        while True:
            evs = self.evs
            if evs is None:
                if self.idx >= len(batches):
                    return False
                b = batches[self.idx]
                raw, self.err, self.pos = decode_batch_chunk(b.data, b.offset, 0, CHUNK_FIRST)
                evs, self.last_ts = timed(raw, self.last_ts, int(float(b.time) * freq), freq)
                self.evs = evs
                self.evi = 0
            if self.evi < len(evs):
                break
            if self.err is not None:
                msg, off = self.err
                raise WireError(msg, off)
            b = batches[self.idx]
            if self.pos < len(b.data):  # the batch's next part
                t0 = int(float(b.time) * freq)
                span = decode_span(b.data, b.offset, self.pos, self.last_ts, t0, freq)
                if span is not None:
                    self.evs, self.pos, self.last_ts = span
                else:
                    raw, self.err, self.pos = decode_batch_chunk(b.data, b.offset, self.pos, CHUNK_EVENTS)
                    self.evs, self.last_ts = timed(raw, self.last_ts, t0, freq)
                self.evi = 0
                continue
            # Batch consumed (or empty): move to the next one.
            self.idx += 1
            self.evs = None
            self.last_ts = 0
        typ, t, args, off = evs[self.evi]
        self.evi += 1
        ev = self.ev
        ev.typ = typ
        ev.time = t
        ev.args = args
        ev.offset = off
        return True

    def compare(self, other: "BatchCursor") -> int:
        a, b = self.ev.time, other.ev.time
        return (a > b) - (a < b)


def timed(raw: list, lt: int, t0: int, freq: float) -> tuple[list, int]:
    """Events with time deltas (`decode_batch_chunk`'s) -> with times, and the last time: Go's
    ``if lastTs == 0 { lastTs = freq.mul(batch.time) }`` then ``time = freq.mul(tsdiff) + lastTs``
    per event, `lt` being the cursor's last time (0 at a batch's start) and `t0` the batch's."""
    out = []
    for typ, tsdiff, args, off in raw:
        if lt == 0:
            lt = t0
        lt = int(float(tsdiff) * freq) + lt
        out.append((typ, lt, args, off))
    return out, lt


def heap_insert(heap: list, bc: BatchCursor) -> None:
    heap.append(bc)
    heap_sift_up(heap, len(heap) - 1)


def heap_update(heap: list, i: int) -> None:
    if heap_sift_up(heap, i) != i:
        return
    heap_sift_down(heap, i)


def heap_remove(heap: list, i: int) -> None:
    while i > 0:
        p = (i - 1) // 2
        heap[p], heap[i] = heap[i], heap[p]
        i = p
    heap[0], heap[-1] = heap[-1], heap[0]
    heap.pop()
    heap_sift_down(heap, 0)


def heap_sift_up(heap: list, i: int) -> int:
    while i > 0:
        p = (i - 1) // 2
        if heap[p].ev.time > heap[i].ev.time:
            heap[p], heap[i] = heap[i], heap[p]
            i = p
        else:
            break
    return i


def heap_sift_down(heap: list, i: int) -> int:
    """Go's heapSiftDown: the node sinks below the smaller of its children while one is earlier
    (the first of equal children; written out, no helper call: the pure reader sifts about once
    every three events)."""
    n = len(heap)
    while i < n:
        m = i
        mt = heap[i].ev.time
        c = 2 * i + 1
        if c < n:
            t = heap[c].ev.time
            if t < mt:
                m = c
                mt = t
            c += 1
            if c < n and heap[c].ev.time < mt:
                m = c
        if m == i:
            break
        heap[i], heap[m] = heap[m], heap[i]
        i = m
    return i
