"""Timelines: the event stream as columns and per-goroutine/P/thread state intervals.

    from diagnose.timeline import load_columns, build_timelines
    cols = load_columns("trace.out")      # events -> numpy columns (the only per-event step)
    tl = build_timelines(cols)            # goroutine intervals, procs, threads (vectorised)
"""
from __future__ import annotations

import os
from typing import Any, Callable

from .columns import TraceColumns, build_columns
from .rowcols import build_from_chunks
from .timeline import Timelines, build_timelines
from .overview import OverviewCounter
from .grouping import count_distinct
from .cut import HEAD_ROWS, PackedPart, RowWindows, WindowCutter, cut_columns, window_parts

from .kernel import count_events as kernel_count_events, dump_chunks, kernel_available, read_columns as kernel_read_columns
from .kernel_v1 import available as kernel_v1_available

__all__ = ["TraceColumns", "Timelines", "OverviewCounter", "build_columns", "build_timelines", "load_columns", "load_timelines",
           "trace_header", "kernel_available", "kernel_read_columns", "kernel_count_events", "count_distinct",
           "RowWindows", "load_row_windows", "dump_chunks", "scan_old_format", "kernel_v1_available", "HEAD_ROWS",
           "PackedPart", "window_parts"]

def trace_header(path_or_bytes: Any) -> tuple[str, int]:
    """('go 1.22', 22) from a trace file's header (the reader's own parser); ('', 0) when unknown."""
    from ..read import HeaderError, parse_header

    try:
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            head = bytes(path_or_bytes[:64])
        else:
            with open(path_or_bytes, "rb") as fh:
                head = fh.read(64)
        ver, _ = parse_header(head)
    except (OSError, HeaderError):
        return "", 0
    return f"go 1.{ver}", ver


def _reader_meta(trace: Any) -> dict[str, Any]:
    """What the reader knows about the trace (read after its events are exhausted: the lost
    bytes of a cut trace are final only then)."""
    meta: dict[str, Any] = {}
    ver = getattr(trace, "version", None)
    if isinstance(ver, int):
        meta["format_minor"] = int(ver)
        meta["go_version"] = str(ver) if str(ver).startswith("go ") else f"go 1.{int(ver)}"
    lost = getattr(trace, "lost_bytes", None)
    if isinstance(lost, int):
        meta["lost_bytes"] = lost
    warnings = list(getattr(trace, "warnings", []) or [])
    if warnings:
        meta["warnings"] = warnings
    truncation = getattr(trace, "truncation", None)
    if truncation is not None:  # (offset, error): a window's warning is restated for the file
        meta["truncation"] = truncation
    meta["truncated"] = bool(meta.get("lost_bytes")) or any("truncated" in w for w in warnings)
    meta["incomplete"] = list(getattr(trace, "incomplete", []) or [])
    return meta


def _columns_from_reader(trace: Any, meta: dict[str, Any]) -> TraceColumns:
    chunks = getattr(trace, "raw_chunks", None)  # our reader: its rows, no Event per event
    if callable(chunks):
        cols = build_from_chunks(chunks(), meta)
    else:
        cols = build_columns(trace.events(), meta)
    cols.meta.update(_reader_meta(trace))
    return cols


def load_columns(source: Any) -> TraceColumns:
    """Columns of a trace given as a path, bytes, an opened trace (`.events()`) or an event iterable."""
    meta: dict[str, Any] = {}
    if isinstance(source, (str, os.PathLike)):
        path = str(source)
        meta["path"] = path
        gv, minor = trace_header(path)
        meta["go_version"], meta["format_minor"] = gv, minor
        # The compiled path (kernel.py, over diagnose/read/_fastwire.c): the same columns, or
        # None when the kernel is not built / NETPOLL_DIAGNOSE_PURE=1 / input it declines.
        fast_cols = kernel_read_columns(path, meta)
        if fast_cols is not None:
            return fast_cols
        from ..read import open_trace

        with open_trace(path) as trace:
            return _columns_from_reader(trace, meta)
    if isinstance(source, (bytes, bytearray, memoryview)):
        gv, minor = trace_header(source)
        meta["go_version"], meta["format_minor"] = gv, minor
        from ..read import open_trace  # type: ignore

        return _columns_from_reader(open_trace(bytes(source)), meta)
    if isinstance(source, TraceColumns):
        return source
    events = getattr(source, "events", None)
    if callable(events):
        meta["path"] = str(getattr(source, "path", "") or "")
        return _columns_from_reader(source, meta)
    return build_columns(source, meta)


def load_timelines(source: Any, **kw: Any) -> Timelines:
    return build_timelines(load_columns(source, **kw))


def load_row_windows(path: str, rows_per_window: int, spill_dir: str,
                     on_window: Callable[[int], None] | None = None) -> RowWindows:
    """An old-format trace (Go <= 1.21) read into windows of `rows_per_window` rows, each opening with
    the state at its cut (timeline/cut.py), spilled under `spill_dir`. The compiled reader hands
    the rows over a window at a time (the trace's rows never exist at once); the reference
    reader's whole columns are cut. `on_window(k)`: window k is being cut (progress)."""
    cutter = WindowCutter(spill_dir, rows_per_window, on_window=on_window)
    cols = _old_format_rows(path, cutter)
    if cols is not None and not cutter.declined:
        return cutter.finish(cols)
    return cut_columns(cols if cols is not None else load_columns(path), rows_per_window, spill_dir, on_window)


def _old_format_rows(path: str, sink: Any) -> TraceColumns | None:
    """The compiled old-format reader over `path`, handing its rows to `sink` (kernel_v1.read_columns)
    a run at a time: the columns it returns (tables and facts; the whole rows when it declined the
    trace midway: `sink.declined`), or None when the compiled reader is not in use (not built,
    NETPOLL_DIAGNOSE_PURE=1, or not an old format)."""
    meta: dict[str, Any] = {"path": str(path)}
    meta["go_version"], meta["format_minor"] = trace_header(path)
    from . import kernel_v1
    from .kernel import _open

    opened = _open(path, old_formats=True) if kernel_v1.available() else None
    if opened is not None and not isinstance(opened, tuple):
        return kernel_v1.read_columns(opened, meta, sink=sink)
    if isinstance(opened, tuple) and opened[1] is not None:
        opened[1].close()
    return None


class _RunSink:
    """kernel_v1.read_columns' sink handing each run of rows on, as columns of their own that
    continue the last run's (no head, nothing kept): the tables so far, the reader's facts not
    yet (`scan_old_format`)."""

    def __init__(self, rows_per_window: int, on_columns: Callable[[TraceColumns], None]) -> None:
        import numpy as np

        self.rows_per_window = rows_per_window
        self.on_columns = on_columns
        self.declined = False
        self._empty = np.zeros(0, np.int64)

    def rows(self, arrays: dict[str, Any], strings: list[str]) -> None:
        e = self._empty
        self.on_columns(TraceColumns(**arrays, strings=strings, frame_pc=e, frame_func=e, frame_file=e,
                                     frame_line=e, stack_off=e, stack_frames=e, meta={}))

    def reset(self) -> None:
        self.declined = True


#: events of an old-format trace `scan_old_format` converts at a time (their rows: ~64 bytes each)
SCAN_RUN_EVENTS = 1 << 16


def scan_old_format(path: str, on_columns: Callable[[TraceColumns], None], on_restart: Callable[[], None],
                    rows_per_run: int | None = None) -> dict[str, Any] | None:
    """An old-format trace (Go <= 1.21) through the compiled reader, its rows handed to
    `on_columns` a run at a time in trace order -- the runs continue one another (no head, unlike
    `load_row_windows`), and their string table is the trace's so far -- so the trace's rows never
    exist at once (what counts over the whole event stream needs no windows). Returns the reader's
    facts (the columns' meta), or None when the compiled reader is not in use (read the whole
    columns instead). If the kernel declines the trace midway, `on_restart()` is called and the
    reference's whole columns come in one last call."""
    from .kernel_v1 import CHUNKS_PER_WINDOW

    sink = _RunSink((rows_per_run or SCAN_RUN_EVENTS) * CHUNKS_PER_WINDOW, on_columns)
    cols = _old_format_rows(path, sink)
    if cols is None:
        return None
    if sink.declined:
        on_restart()
        on_columns(cols)
    return cols.meta
