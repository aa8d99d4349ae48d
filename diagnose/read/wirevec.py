"""Event batches decoded a span at a time with numpy, for the pure-Python reader's cursors.

Why: decoding varints byte by byte in Python was about a third of the pure reader's time on a
busy trace (issue 18: the pure fallback should be within 10x of Go's reader). An event batch
is a run of varints -- an event's type byte is below 0x80, a one-byte varint itself -- so every
varint of a span is decoded at once (each ends at a byte below 0x80), and only the walk from
one event to the next (2 + the type's argument count varints) is a Python loop, over a list.
The events come out with their times already computed (batchcursor.go's nextEvent:
``lastTs + freq.mul(tsdiff)``, from ``freq.mul(batch.time)`` at a batch's start).

`decode_span` answers only for spans it can decode exactly as `wire.decode_batch_chunk` and
the cursor would: anything unusual (an invalid or untimed event type, a type byte >= 0x80, a
varint of more than ten bytes or a ten-byte one past 64 bits, an event cut by the end of the
data, a time near the int64 range, a batch time at 0) ends the span before it or returns
None, and the cursor decodes that part with `wire.decode_batch_chunk` itself, whose errors are
Go's, raised when Go's cursor reaches them (tests/test_wirevec.py compares the two on real
batches, also with random byte edits and cuts).
"""
from __future__ import annotations

import numpy as np

from . import tracev2 as t2

#: bytes of a batch decoded at a time: a cursor holds at most one span's events (~3,500 on a
#: busy trace), whatever the batch size
SPAN_BYTES = 16 << 10

_NARGS = np.array([n if n >= 0 else -1 for n in t2.TIMED_NARGS[:128]] + [-1] * 128, np.int64)
#: times and deltas stay far from int64's end (Python's ints never wrap; these must not either)
_SAFE = 1 << 61
_SHIFTS = (np.arange(10, dtype=np.uint64) * np.uint64(7))


def _varints(b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """(values, first byte, last byte, size) of the whole varints in `b` (an unfinished one at
    its end is left out); None when one is longer than Go's Uvarint reads or overflows 64 bits
    (the byte-by-byte parsers raise Go's error for it)."""
    last = np.flatnonzero(b < 0x80)  # the last byte of each varint
    if last.shape[0] == 0:
        return None
    first = np.empty_like(last)
    first[0] = 0
    first[1:] = last[:-1] + 1
    size = last - first + 1
    if int(size.max()) > 9:  # a 10-byte varint (a -1 as uint64) must end in 0 or 1, as Go's Uvarint checks
        long = size >= 10
        if int(size.max()) > 10 or bool((b[last[long]] > 1).any()):
            return None
    nb = int(last[-1]) + 1  # bytes after the last varint's end: an unfinished one, left out
    digits = (b[:nb] & 0x7F).astype(np.uint64)
    if last.shape[0] == nb:
        return digits, first, last, size  # every varint one byte
    digits <<= _SHIFTS[np.arange(nb) - np.repeat(first, size)]
    return np.add.reduceat(digits, first), first, last, size  # no bit of two digits of one varint overlaps


def decode_stacks(data: bytes, base: int) -> tuple[list[tuple[int, int, int, int]], tuple[list, list, list, list]] | None:
    """A stacks batch at once: ([(stack id, first frame, end frame, file offset)], (pcs, func
    IDs, file IDs, lines) of every frame in batch order) -- what `wire.parse_stacks` reads, for a
    batch it reads without error; None for anything else (a bad header or entry, a stack of
    too many frames, an entry cut by the batch's end, a varint Go's Uvarint rejects), which
    `wire.parse_stacks` then reads byte by byte and reports as Go does. Why: a window of a
    trace with many goroutine stacks re-reads thousands of stacks per generation, and the
    byte-by-byte parse was most of the compiled path's reading time (issue 18)."""
    if not data or data[0] != t2.EvStacks:
        return None
    if len(data) == 1:
        return [], ([], [], [], [])
    b = np.frombuffer(data, np.uint8, len(data) - 1, 1)
    dec = _varints(b)
    if dec is None or int(dec[2][-1]) != b.shape[0] - 1:  # unreadable, or a varint cut at the end
        return None
    vals, first, _, size = dec
    # each entry: EvStack (one byte), id, frame count, then 4 varints per frame
    head = ((size == 1) & (vals == t2.EvStack)).tolist()
    v = vals.tolist()
    nv = len(v)
    entries = []
    heads = []  # token index of each entry
    j = 0
    nf = 0
    while j < nv:
        if not head[j] or j + 2 >= nv:
            return None
        n = v[j + 2]
        if n > t2.MaxFramesPerStack or j + 3 + 4 * n > nv:
            return None
        entries.append((v[j + 1], nf, nf + n, base + 1))
        heads.append(j)
        nf += n
        j += 3 + 4 * n
    hd = np.array(heads, np.int64)
    offs = (first[hd] + (base + 1)).tolist() if heads else []
    entries = [(sid, a, z, off) for (sid, a, z, _), off in zip(entries, offs)]
    # frame k of the batch, the i-th of its entry: token head + 3 + 4 i
    cnt = np.array([z - a for _, a, z, _ in entries], np.int64)
    at = np.repeat(hd + 3, cnt) + 4 * (np.arange(nf) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    return entries, (vals[at].tolist(), vals[at + 1].tolist(), vals[at + 2].tolist(), vals[at + 3].tolist())


def decode_span(data: bytes, base: int, pos: int, lt: int, t0: int, freq: float
                ) -> tuple[list, int, int] | None:
    """The whole events in data[pos:pos + SPAN_BYTES] (all of data's rest when it is shorter):
    ([(type, time, [4 args], file offset)], next pos, the last event's time), times continuing
    from `lt` (0 at a batch's start: from `t0`, the batch's own time); None when the span is
    not plain (see the module docstring) or holds no whole event."""
    end = min(len(data), pos + SPAN_BYTES)
    if lt == 0:
        lt = t0
    if lt <= 0 or lt >= _SAFE or not 0 < freq < 1e9 + 1:
        return None
    b = np.frombuffer(data, np.uint8, end - pos, pos)
    dec = _varints(b)
    if dec is None or dec[1].shape[0] < 2:
        return None
    vals, first, last, size = dec
    # The walk: each event is its type, its time delta and its arguments. It stops before an
    # event that is not whole in the span or has a bad type: the next call starts there (and
    # hands it to the slow path when it is broken, not merely cut by SPAN_BYTES).
    nv = vals.shape[0]
    # an event's type is one byte: a longer varint where a type is due is a type byte >= 0x80
    step = np.where(size == 1, _NARGS[np.minimum(vals, 255).astype(np.intp)] + 2, 0).tolist()
    starts = []
    add = starts.append
    j = 0
    while j < nv:
        s = step[j]
        if s < 2 or j + s > nv:
            break
        add(j)
        j += s
    if not starts:
        return None
    st = np.array(starts, np.int64)
    ne = st.shape[0]
    typ = vals[st]
    nargs = _NARGS[typ.astype(np.int64)]
    # the 4 argument slots of each event: its varints after the delta, 0 past its argument count
    k = np.arange(4)
    at = st[:, None] + (k + 2)
    at[k >= nargs[:, None]] = nv
    args = np.append(vals, np.uint64(0))[at]
    dts = vals[st + 1]
    if int(dts.max()) >= 1 << 53:  # float(delta) is exact below this, in Python and numpy alike
        return None
    scaled = dts.astype(np.float64) * freq
    if float(scaled.sum()) >= _SAFE - lt:  # the times below stay far from int64's end
        return None
    times = np.cumsum(scaled.astype(np.int64))  # int(float(tsdiff) * freq), summed
    times += lt
    off = first[st] + (base + pos)
    nxt = pos + int(last[st[-1] + 1 + int(nargs[-1])]) + 1
    evs = list(zip(typ.tolist(), times.tolist(), args.tolist(), off.tolist()))
    return evs, nxt, int(times[-1])
