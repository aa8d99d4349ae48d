"""Old-format execution traces: headers ``go 1.11 trace`` … ``go 1.21 trace``.

Go 1.22 replaced the trace format. ``go tool trace`` still reads the old one, by decoding
it with ``internal/trace/internal/tracev1`` and converting the result into the new event
model (``internal/trace/tracev1.go``).  This package ports both, so that ``open_trace``
hands every later stage the same ``Event`` objects, in the same order and with the same
``str()``, as ``go tool trace -d=parsed`` (Go 1.27.3) prints:

* :mod:`.parser` — the wire decoder, batch merge and validation (Go's ``parser.go``);
* :mod:`.order`  — goroutine-state ordering and Go's exact heap (Go's ``order.go``);
* :mod:`.convert` — the converter to the new model (Go's ``tracev1.go``).

The three wire encodings (1.11–1.18, 1.19–1.20 and 1.21) differ only in which event types
exist (CPU samples from 1.19) and in how STW reasons are numbered (1.21); all are handled.

Entry point: :func:`convert` (called by ``diagnose.read.open_trace`` for an old header).

Ordering, and how it compares with Go
-------------------------------------
Old traces are not split into generations: the whole file is decoded and merged before
the first event comes out (Go does the same), so memory grows with the trace -- but only by
the compact form (:class:`.parser.Trace`): with the compiled kernel 40 bytes a raw event
(:mod:`.packed`; 9 int64 = 72 bytes in the pure path) plus 8 for its place in the merged
order, never a Python object per event (those are made a few at a time, as the merge and
the converter reach them); the file's bytes are let go once decoded.  Where two
Ps have events with equal timestamps, Go's merge starts from a random map order and
``go tool trace`` can print them in a different order from one run to the next (it does,
on several of Go's own test traces).  We always use one of Go's orders: Ps sorted by ID,
and, for goroutines that existed before tracing started, goroutine IDs in order.  Our
output is byte-for-byte what Go's own code prints when those two map iterations are
sorted (the tests build exactly that from the toolchain's source), and equals plain
``go tool trace -d=parsed`` up to the order of such equal-time events.

Truncated old traces
--------------------
An old trace is one stream of per-P batches that ends, when tracing stops, with a footer:
the EvFrequency record (CPU ticks per second) followed by the stack table.  Go's tool
needs the whole file: it rejects a file cut anywhere (``unexpected EOF``, a bad varint, or
``no EvFrequency event``).  We keep what is still meaningful:

* **Cut inside the stack table** (the footer's frequency is there): every event is kept,
  with its exact time; the partial last record is dropped; events whose stack was in the
  lost part show no stack.  ``.warnings`` says so and ``.lost_bytes`` counts the bytes.
* **Cut before the footer** (the usual case for a process killed while tracing): without
  the tick rate no timestamp can be turned into time, so this raises ``TraceError``
  saying exactly that.  If you know the rate, set ``NETPOLL_DIAGNOSE_V1_TICKS_PER_SEC``
  (or pass ``ticks_per_sec=``): the valid prefix is then read — the events up to the
  point where the missing batches make any further ordering impossible — with warnings
  that the times rest on that assumption.  Expect that prefix to be short unless the cut
  is near the end: each P's buffer is written out only when full, so the batches lost
  with the tail often hold early events of quiet Ps, and ordering stops there.
* Bytes that are corrupt rather than missing raise ``TraceError`` with the offset, as Go.
* A stack reference that names no stack in the table (what a cut stack table leaves) is
  dropped, with a warning; Go drops it silently (and fails printing a GoCreate whose
  new-goroutine stack is missing, where we drop that too).

Cost
----
Compiled where built (``_v1fast.c``; NETPOLL_DIAGNOSE_PURE=1 or no C compiler: all Python, the
reference the tests compare with). The parser runs its plain timed events through
``decode_events``, its merge through ``merge_order`` and its validation through
``post_process`` (each leaves anything that warns or fails to the Python code, which then
gives its own error or warning), and ``diagnose.timeline.kernel_v1`` turns the compact store
straight into columns with ``convert_chunk`` (the converter and the row mapping in one loop: no
``Event`` per event; with a sink, a run of the merged order at a time: the main command cuts a
big old trace into windows of rows as they come, ``diagnose.timeline.cut``). A real 11.2 MB go1.21.13 trace (``tools/regen_fixtures.py --big 1.21.13
--mb 10``: 2.24 M raw events, 3.36 M converted) reads into columns in 0.5 s of CPU / 437 MB
peak RSS, where the pure path takes ~14.5 s / 520 MB (decode 2.1 s, merge 2.0 s, validation
1.6 s, conversion and columns ~8 s); ``netpoll-diagnose T --format json`` takes 3.8 s of CPU
(the stages after the columns: ~2.4 s) and 790 MB, where it took 17.8 s and 805 MB; Go's own
reader takes 0.6 s and 167 MB on the same file (``benchmarks/bench_pipeline.py``). Reading
every ``Event`` (``open_trace().events()``, ``dump``, ``inspect``) still converts in Python.
The cyclic GC is paused while the file is decoded.
"""
from __future__ import annotations


from diagnose.errors import TraceError

from . import parser
from .convert import V1Conversion

__all__ = ["convert", "check_head", "V1Conversion", "TICKS_ENV", "HEAD_CHECK_BYTES"]

from ... import V1_TICKS_ENV as TICKS_ENV, settings  # noqa: E402
HEADER_LEN = 16  # len("go 1.21 trace\x00\x00\x00"): the same for every old version


#: How much of an old-format body check_head decodes before the whole file is read.
HEAD_CHECK_BYTES = 1 << 16


def check_head(head, version: int) -> None:
    """Decode the first bytes of an old-format body (``head``: at most HEAD_CHECK_BYTES after
    the header) and raise ``ReadError`` if they are corrupt; a record cut by the end of
    ``head`` is fine. Costs a few milliseconds; spares reading a huge bad file whole."""
    from ..reader import ReadError

    dec = parser._Decoder(head, version, 0, salvage=True)
    try:
        dec.run()
    except TraceError as e:
        off = None if e.offset is None else e.offset + HEADER_LEN
        raise ReadError(e.message, off) from None


def convert(data, version: int, *, ticks_per_sec: int | None = None, consume: bool = False) -> V1Conversion:
    """Decode an old-format trace body and return its converted events.

    ``data``: the bytes after the 16-byte header (bytes or memoryview); ``version``: 11, 19
    or 21 (from the header).  Returns a :class:`V1Conversion`: iterate it once for the
    ``Event``s (without the opening/closing Sync events, which the reader adds), then read
    ``.last_ts``; ``.first_ts``, ``.table``, ``.warnings`` and ``.lost_bytes`` are set at
    once.  Raises ``diagnose.read.ReadError`` (``.message``, ``.offset``: byte offset in
    the file, counting the 16-byte header) for input that cannot be read. ``consume``: ``data``
    is a bytearray the caller gives up, emptied once decoded (its memory freed before the merge).
    """
    from ..reader import ReadError

    if ticks_per_sec is None:
        env = settings().v1_ticks_per_sec
        if env:
            try:
                ticks_per_sec = int(float(env))
            except ValueError:
                raise ReadError(f"{TICKS_ENV}={env!r} is not a number of ticks per second") from None
            if ticks_per_sec <= 0:
                raise ReadError(f"{TICKS_ENV}={env!r} must be positive")
    try:
        tr = parser.parse(data, version, 0, salvage=True, ticks_per_sec=ticks_per_sec,
                          offset_base=HEADER_LEN, consume=consume)
        return V1Conversion(tr)
    except TraceError as e:
        off = None if e.offset is None else e.offset + HEADER_LEN
        raise ReadError(e.message, off) from None
