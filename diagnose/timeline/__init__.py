"""Timelines: the event stream as columns and per-goroutine/P/thread state intervals.

    from diagnose.timeline import load_columns, build_timelines
    cols = load_columns("trace.out")      # events -> numpy columns (the only per-event step)
    tl = build_timelines(cols)            # goroutine intervals, procs, threads (vectorised)
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .columns import TraceColumns, build_columns
from .timeline import Timelines, build_timelines

__all__ = ["TraceColumns", "Timelines", "build_columns", "build_timelines", "load_columns", "load_timelines",
           "trace_header"]

_HEADER = re.compile(rb"^go 1\.(\d+) trace\x00\x00\x00")


def trace_header(path_or_bytes: Any) -> tuple[str, int]:
    """('go 1.22', 22) from a trace file's header; ('', 0) when unknown."""
    try:
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            head = bytes(path_or_bytes[:16])
        else:
            with open(path_or_bytes, "rb") as fh:
                head = fh.read(16)
    except (OSError, TypeError):
        return "", 0
    m = _HEADER.match(head)
    if not m:
        return "", 0
    return f"go 1.{int(m.group(1))}", int(m.group(1))


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
    meta["truncated"] = bool(meta.get("lost_bytes")) or any("truncated" in w for w in warnings)
    return meta


def _columns_from_reader(trace: Any, meta: dict[str, Any]) -> TraceColumns:
    cols = build_columns(trace.events(), meta)
    cols.meta.update(_reader_meta(trace))
    return cols


def _go_for_fallback() -> str | None:
    try:
        from tools.gotoolchains import ToolchainUnavailable, go_binary  # type: ignore

        try:
            return str(go_binary("1.27.3", install=False))
        except ToolchainUnavailable:
            pass
    except Exception:  # noqa: BLE001
        pass
    for seed in (os.environ.get("NETPOLL_GO_SEED"), "/work/gocache"):
        if seed and (Path(seed) / "1.27.3" / "bin" / "go").exists():
            return str(Path(seed) / "1.27.3" / "bin" / "go")
    return None


def load_columns(source: Any, *, reader: str = "auto") -> TraceColumns:
    """Columns of a trace given as a path, bytes, an opened trace (`.events()`) or an event iterable.

    `reader`: "auto" (our reader; Go's `go tool trace -d=parsed` when ours cannot be imported),
    "ours", or "go" (always Go's parser: a reference, slow).
    """
    meta: dict[str, Any] = {}
    if isinstance(source, (str, os.PathLike)):
        path = str(source)
        meta["path"] = path
        gv, minor = trace_header(path)
        meta["go_version"], meta["format_minor"] = gv, minor
        if reader in ("auto", "ours"):
            # -- fast path (diagnose/read/fast.py, the compiled reader kernel): the same columns,
            # or None when the kernel is not built / NETPOLL_DIAGNOSE_PURE=1 / input it declines.
            try:
                from ..read.fast import read_columns as _fast_read_columns
            except ImportError:
                _fast_read_columns = None
            if _fast_read_columns is not None:
                fast_cols = _fast_read_columns(path, meta)
                if fast_cols is not None:
                    return fast_cols
            # -- end of the fast path
            try:
                from ..read import open_trace  # type: ignore
            except ImportError:
                if reader == "ours":
                    raise
                open_trace = None
            if open_trace is not None:
                trace = open_trace(path)
                try:
                    return _columns_from_reader(trace, meta)
                finally:
                    close = getattr(trace, "close", None)
                    if callable(close):
                        close()
        go = _go_for_fallback()
        if go is None:
            raise RuntimeError("no trace reader: diagnose.read is not importable and no Go toolchain was found")
        from .goparsed import go_parsed_events

        meta["reader"] = "go tool trace -d=parsed"
        return build_columns(go_parsed_events(path, go), meta)
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
