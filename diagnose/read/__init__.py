"""Read Go execution traces: bytes -> ordered, validated events, exactly as Go's own parser.

A Python port of Go 1.27.3's ``internal/trace`` reader (files mirror Go's: reader.py,
generation.py, batchcursor.py, base.py, order.py, event.py, resources.py, value.py,
tracev2.py, version.py). All byte walking and varint decoding is in ``wire.py``.

Public API (stable)
-------------------
``open_trace(src) -> TraceReader``
    ``src``: a path (str / PathLike), ``bytes``, or a binary file object. Reads the header
    at once; raises ``TraceError`` (one line: file, offset, what was wrong) for input that
    is not a trace or has an unknown version.

``TraceReader``
    ``.version``      ``TraceVersion``: an int (22, 23, 25, 26; 11/19/21 for the old format)
                      whose ``str()`` is ``"go 1.26"``.
    ``.events()``     generator of ``Event`` in exactly Go's order (``go tool trace
                      -d=parsed``), generation by generation; holds one generation at a time.
                      Can be iterated once.
                      A trace cut short ends after its last complete generation (plus the
                      closing Sync event Go emits) and adds a message to ``.warnings``;
                      corrupt input raises ``TraceError`` with the byte offset.
    ``.raw_events()`` the same events as tuples ``(table, g, p, m, typ, time, args)``
                      (``Event(*row)`` is the event); what the column builder reads.
    ``.warnings``     list of str (e.g. how much of a cut trace was lost).
    ``.incomplete``   list of str: why the events cannot support a diagnosis (no complete
                      generation; stacks lost with a cut stack table). Empty for a trace
                      that is whole, or cut but with its complete generations intact.
                      (Final once ``events()`` is exhausted or has raised.)
    ``.total_bytes``  size of the input; ``.valid_bytes`` bytes up to the end of the last
                      generation whose events were all delivered; ``.lost_bytes`` the rest.
                      (Final once ``events()`` is exhausted.)

``Event`` (event.py; mirrors Go's trace.Event)
    ``.kind`` (``EventKind``), ``.time`` (ns), ``.goroutine``, ``.proc``, ``.thread``
    (-1 = none), ``.stack`` (``Stack``; falsy when absent; ``.frames()`` -> ``StackFrame``
    with ``.pc .func .file .line``), ``.state_transition()`` (``.resource`` kind+id,
    ``.goroutine()``/``.proc()`` -> (from, to), ``.reason``, ``.stack``), ``.range_()``,
    ``.range_attributes()``, ``.metric()``, ``.label()``, ``.task()``, ``.region()``,
    ``.log()``, ``.sync()``, ``.experimental()``; ``str(ev)`` == Go's ``ev.String()``.
    Construction (for converters): ``Event(table, g, p, m, typ, time_ns, args4)`` -- see
    event.py.

Cut and corrupt input, compared with ``go tool trace -d=parsed``
-------------------------------------------------------------------
On a cut file Go prints the events of every complete generation, then a Sync event, then
exits 1 with the error ("failed to read full batch ...", "incomplete generation found;
trace likely truncated", or for pre-1.26 formats, whose generations have no end marker and
keep their string table last, "no frequency event found" / "found invalid stack ID ...").
For pre-1.26 formats Go may also print the Sync and a few events of the partial generation
before failing. ``events()`` yields exactly Go's lines for the complete generations, then the
closing Sync (as for a complete trace), and adds a warning with the bytes lost; it never
yields events of a generation it knows to be partial. A cut exactly on a generation
boundary is indistinguishable from a complete trace, for Go and for us. Any other error
(bytes that are wrong rather than missing) raises ``TraceError`` with the offset, after
the events before it were yielded, as Go prints them before its error.

Old format (Go 1.11-1.21) traces are decoded by ``diagnose.read.v1`` (separate module):
``v1.convert(data: bytes, version: int)`` gets everything after the header and returns an
iterable of ``Event``s with ``.table``, ``.first_ts``, ``.last_ts``, ``.warnings`` and
``.lost_bytes`` (see reader.V1Reader, which adds Go's opening and closing Sync events); it
raises ``ReadError`` on bad input.

Speed: a compiled decoder can replace ``wire.decode_batch_events(data, base)`` (one event
batch -> list of (type, timestamp delta, [4 args], file offset) plus the error that stopped
decoding), the only per-event byte work; ``reader.Reader.iter_raw`` is the hot loop (the
ordering queues raw rows; ``iter_events`` makes them ``Event``s).
``dump.write_dump(events, binary_out)`` prints events as ``-d=parsed`` does.
"""
from __future__ import annotations

from itertools import islice
from typing import Any, BinaryIO, Iterator

from .. import paused_gc
from ..errors import TraceError
from . import tracev2, version as _version, wire
from .base import EvTable, Frame
from .event import (NO_STACK, ClockSnapshot, Event, EventKind, ExperimentalEvent, Label, Log, Metric, Range,
                    RangeAttribute, Region, Stack, StackFrame, Sync, Task, make_event, sync_event)
from .eventcap import max_events, too_many
from .reader import RAW_CHUNK_ROWS, ReadError, Reader, V1Reader
from .resources import (GoState, NoGoroutine, NoProc, NoThread, ProcState, ResourceID, ResourceKind,
                        StateTransition)
from .value import Value
from .windows import MIN_WINDOWED_MINOR, WindowFile, framed_to_end, generation_spans, group_windows

from .event import BackgroundTask, NoTask  # noqa: E402


class TraceVersion(int):
    """The trace format version: an int (26) that prints as the header does ("go 1.26")."""

    def __str__(self) -> str:
        return f"go 1.{int(self)}"

    def __repr__(self) -> str:
        return f"TraceVersion({int(self)})"


def byte_count(b: int) -> str:
    """cmd/trace's byteCount formatting."""
    for limit, suffix, div in ((1 << 10, "B", 1), (1 << 20, "KiB", 1 << 10), (1 << 30, "MiB", 1 << 20),
                               (1 << 40, "GiB", 1 << 30)):
        if b < limit:
            break
    else:
        suffix, div = "TiB", 1 << 40
    if div == 1:
        return f"{b} {suffix}"
    return f"{b / div:.1f} {suffix}"


class TraceReader:
    """An open trace. See the module docstring."""

    def __init__(self, src: wire.Source, path: str | None, closer, ver: int, header_len: int) -> None:
        self._src = src
        self.path = path
        self._closer = closer
        self.version = TraceVersion(ver)
        self.header_bytes = header_len
        self.warnings: list[str] = []
        #: (offset, error) where the trace was found cut or damaged, or None
        self.truncation: tuple[int | None, str] | None = None
        self.incomplete: list[str] = []
        self.total_bytes = src.size if src.size is not None else 0
        self.valid_bytes = header_len
        self._started = False
        self._v1_reader: V1Reader | None = None  # made ahead of events() by v1_conversion()

    @property
    def lost_bytes(self) -> int:
        return max(self.total_bytes - self.valid_bytes, 0)

    def close(self) -> None:
        if self._closer is not None:
            self._closer.close()
            self._closer = None

    def __enter__(self) -> "TraceReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _error(self, message: str, offset: int | None) -> TraceError:
        return TraceError(message, self.path, offset)

    def _make_reader(self):
        if self.version in _version.V1_VERSIONS:
            try:
                from . import v1  # the colleague's Go 1.11-1.21 decoder
                convert = v1.convert
            except (ImportError, AttributeError):
                raise self._error(f"Go 1.{int(self.version)} traces (format before Go 1.22) are not supported "
                                  "yet", 0) from None
            try:
                # Old traces are decoded whole (as Go does). Decode their first bytes before
                # reading the rest, so that garbage (a sparse file, a wrong file with a valid
                # header) fails at once instead of after reading gigabytes.
                v1.check_head(self._src.peek(v1.HEAD_CHECK_BYTES), int(self.version))
                data = self._src.read_rest()
                conv = convert(data, int(self.version), consume=True)  # data: freed once decoded
            except ReadError as e:
                raise self._error(e.message, e.offset) from None
            return V1Reader(conv)
        return Reader(self._src, int(self.version))

    def events(self) -> Iterator[Event]:
        """Yield every event in Go's order. See the module docstring for errors."""
        for chunk in self._iterate():
            for row in chunk:
                yield Event(*row)

    def raw_events(self) -> Iterator[tuple]:
        """``events()`` as raw rows ``(table, g, p, m, typ, time, args)``, an Event's fields in
        its constructor's order (``Event(*row)``): the column builder's input, with no object
        made per event. Same events, order, errors and afterwards the same facts."""
        for chunk in self._iterate():
            yield from chunk

    def raw_chunks(self) -> Iterator[list[tuple]]:
        """``raw_events()`` in lists of about `reader.RAW_CHUNK_ROWS` rows (a generation's last
        list shorter): no generator is resumed per event, and the column builder works a chunk
        at a time. Same rows, order, errors and facts; on an error, the rows before it come first."""
        return self._iterate()

    def _iterate(self) -> Iterator[list[tuple]]:
        if self._started:
            raise RuntimeError("TraceReader.events() can be iterated only once")
        self._started = True
        try:
            cap = self.event_cap()
            r = self._v1_reader if self._v1_reader is not None else self._make_reader()
            if isinstance(r, Reader):
                it = r.iter_raw_chunks()
            else:
                it = _chunked((e.table, e.g, e.p, e.m, e.typ, e.time, e.args) for e in _read_all(r))
            try:
                # Millions of rows, tuples and lists and no reference cycles: the cyclic GC would
                # only rescan them (a span's events are decoded at once: read/wirevec.py). Paused
                # while we read, also while the consumer works between events.
                with paused_gc():
                    if cap is None:
                        yield from it
                    else:
                        n = 0
                        for chunk in it:
                            n += len(chunk)
                            if n > cap:  # the first `cap` rows, then too many
                                if len(chunk) > n - cap:
                                    yield chunk[:len(chunk) - (n - cap)]
                                raise self._error(too_many(cap, self.total_bytes), None)
                            yield chunk
            except ReadError as e:
                self.valid_bytes = max(r.valid_offset, self.header_bytes)
                if e.truncated:
                    self._note_truncation(e)
                    self.incomplete = incomplete_reasons(self.valid_bytes > self.header_bytes)
                    return
                raise self._error(e.message, e.offset) from None
            # No blanket catch of Python exceptions here: bytes the reader cannot use are rejected
            # where they are read (ReadError with the offset); anything else is a bug of ours and
            # must reach the user as "internal error" (errors.py). tools/fuzz.py hunts for them.
            if isinstance(r, V1Reader):
                self.finish_v1(r.conv)
                return
            self.valid_bytes = self._src.offset
            if self._src.size is None or self.total_bytes < self._src.offset:
                self.total_bytes = self._src.offset
            self.incomplete = incomplete_reasons(self.valid_bytes > self.header_bytes)
        finally:
            self.close()

    def event_cap(self) -> int | None:
        """The most events this trace may yield (eventcap.py), or None."""
        return max_events(self.total_bytes, old_format=int(self.version) < 22)

    def v1_conversion(self):
        """For the compiled columns path (timeline/kernel_v1.py): decode an old-format trace
        (Go <= 1.21) and return its ``V1Conversion`` without making any ``Event``; raises the
        TraceError ``events()`` would. ``events()`` may still be called afterwards (it then
        uses this conversion); otherwise call ``finish_v1`` once the conversion is consumed."""
        if self._started or self.version not in _version.V1_VERSIONS:
            raise RuntimeError("v1_conversion: an unread old-format trace only")
        try:
            self._v1_reader = self._make_reader()
        except BaseException:
            self.close()
            raise
        return self._v1_reader.conv

    def finish_v1(self, conv) -> None:
        """What salvaging a damaged old-format file cost (see diagnose.read.v1), once its
        conversion is consumed: warnings, valid/lost bytes, why the trace is incomplete."""
        self.warnings.extend(getattr(conv, "warnings", []) or [])
        lost = getattr(conv, "lost_bytes", 0) or 0
        self.valid_bytes = max(self._src.offset - lost, self.header_bytes)
        if self._src.size is None or self.total_bytes < self._src.offset:
            self.total_bytes = self._src.offset
        self.incomplete = incomplete_reasons(conv.first_ts is not None, getattr(conv, "missing_stacks", 0))

    def _note_truncation(self, e: ReadError) -> None:
        if self._src.size is None:
            # Unknown size: everything was read to find the end.
            self.total_bytes = max(self.total_bytes, self._src.offset)
        self.truncation = (e.offset, e.message)
        self.warnings.append(truncation_warning(e.offset, e.message, self.lost_bytes, self.total_bytes))


#: how the warning of a cut or damaged trace begins (`truncation_warning`)
TRUNCATION_WARNING = "trace is truncated ("


def truncation_warning(offset: int | None, message: str, lost: int, total: int) -> str:
    """Go's warning for a trace cut or damaged at `offset` (`message`: the error there): the
    share of the `total` bytes `lost` after the last complete generation. One wording for both
    readers, and for a window's warning restated in the whole file's terms (pipeline.py)."""
    where = f"offset {offset}: " if offset is not None else ""
    return (f"{TRUNCATION_WARNING}{where}{message}); Lost {lost / (total or 1) * 100:.2f}% of the latest trace data "
            f"due to error ({byte_count(lost)} of {byte_count(total)})")


def incomplete_reasons(has_generation: bool, missing_stacks: int = 0) -> list[str]:
    """Why a trace that was read without error still cannot support a diagnosis.

    A tool that says "healthy" about a trace whose evidence is missing misleads worse than
    one that fails, so the reader names these facts and the verdict reports them."""
    out = []
    if not has_generation:
        out.append("no complete generation: the trace holds no events (header only, or cut before its "
                   "first generation ended)")
    if missing_stacks:
        out.append(f"stacks lost: {missing_stacks} stack references name stacks missing from the stack table "
                   "(an old-format trace cut inside it)")
    return out


def _chunked(rows: Iterator[tuple], size: int = RAW_CHUNK_ROWS) -> Iterator[list[tuple]]:
    """Rows in lists of `size` (the old formats' rows, as the Go 1.22+ reader hands them); on a
    read error, the rows before it first."""
    chunk: list[tuple] = []
    put = chunk.append
    try:
        for row in rows:
            put(row)
            if len(chunk) == size:
                yield chunk
                chunk = []
                put = chunk.append
    except ReadError:
        if chunk:
            yield chunk
        raise
    if chunk:
        yield chunk


def _read_all(r) -> Iterator[Event]:
    while True:
        try:
            yield r.read_event()
        except EOFError:
            return


def open_trace(src: "str | bytes | BinaryIO | object") -> TraceReader:
    """Open a trace from a path, bytes or a binary file object and read its header."""
    try:
        source, path, closer = wire.open_source(src)
    except OSError as e:
        raise TraceError(e.strerror or str(e), getattr(e, "filename", None) or str(src), None) from None
    try:
        head = source.peek(64)
        ver, hlen = _version.parse_header(head)
    except _version.HeaderError as e:
        if closer is not None:
            closer.close()
        raise TraceError(e.args[0], path, e.offset) from None
    source.skip(hlen)
    return TraceReader(source, path, closer, ver, hlen)


from .dump import write_dump  # noqa: E402
from .dumprows import write_chunks  # noqa: E402
from .version import HeaderError, parse_header  # noqa: E402
from .inspect import TraceOverview, overview, render_text as render_overview  # noqa: E402

from .bundle import load_bundle, resolve_inputs  # noqa: E402  capture bundles (diagnose/capture.py writes them)
from .strace import trace_clock_snapshot  # noqa: E402

__all__ = [
    "load_bundle", "resolve_inputs", "trace_clock_snapshot",
    "write_dump", "write_chunks", "parse_header", "HeaderError", "TraceOverview", "overview", "render_overview",
    "open_trace", "TraceReader", "TraceVersion", "TraceError", "ReadError",
    "Event", "EventKind", "Stack", "StackFrame", "NO_STACK", "StateTransition", "ResourceID", "ResourceKind",
    "GoState", "ProcState", "Metric", "Label", "Range", "RangeAttribute", "Task", "Region", "Log", "Sync",
    "ClockSnapshot", "ExperimentalEvent", "Value", "EvTable", "Frame", "make_event", "sync_event",
    "WindowFile", "MIN_WINDOWED_MINOR", "framed_to_end", "generation_spans", "group_windows", "max_events", "too_many",
    "NoGoroutine", "NoProc", "NoThread", "NoTask", "BackgroundTask", "tracev2", "byte_count", "incomplete_reasons",
    "truncation_warning", "TRUNCATION_WARNING",
]
