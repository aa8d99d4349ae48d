"""The columns step's compiled path for old-format traces (Go <= 1.21): no `Event` per event.

    cols = kernel.read_columns("old.trace")    # routes here for a go 1.11-1.21 header

The reference (``build_columns(open_trace(path).events())``) decodes the file into the
parser's compact store (diagnose/read/v1/parser.py), converts every old event into one or
two new-model ``Event`` objects (read/v1/convert.py) and turns each into a row
(columns.py ``_build_from_reader``). Here the decode is the same Python code, and then C
(``diagnose.read.v1._v1fast.convert_chunk``) runs the converter and the row mapping over the
store in one loop, writing the rows straight into the column arrays. Python then interns the
strings and stacks the rows name, once per distinct item, in the order the reference
interns them (the kernel logs first uses), and remaps the columns. The converter's state lives
in a capsule between calls (``convert_start``), so the merged order can be converted a run at a
time: the main command hands each run to a ``timeline.cut.WindowCutter`` (``read_columns(...,
sink=)``), which cuts a big trace into windows without its whole columns ever existing.

The result is exactly the reference's (same arrays, tables and meta; same TraceError: the
decode raises before the kernel runs, and the event cap is checked on the same count). When
the kernel declines a trace (a value it cannot model, an event type the converter rejects, a
string or stack the table lacks) the reference runs over the same decoded trace -- so the
outcome is the reference's by construction, and the file is decoded once.

The per-type tables the kernel needs come from Python (below, from convert.py, event.py and
columns.py), its constants from the generated header (tools/gen_fastwire_header.py).
"""
from __future__ import annotations

import importlib
from array import array
from functools import lru_cache
from typing import Any, Iterator

import numpy as np

from .columns import _COLS

#: kinds of the kernel's first-use log entries (string refs, then stack refs); in the header
SK_TABLE, SK_STW, SK_CONST, SK_TASKNAME, SK_STACK = 0, 1, 2, 3, 4
#: where a Range's scope id comes from (event.py Event.range_)
SCOPE_NONE, SCOPE_G, SCOPE_P = 0, 1, 2

try:  # optional, like the other kernels (setup.py builds it when a C compiler is present)
    from ..read.v1 import _v1fast  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - exercised by installs without a compiler
    _v1fast = None


def available() -> bool:
    """True when old-format traces go through the compiled path."""
    from .kernel import pure_requested

    return _v1fast is not None and not pure_requested()


def _i64(values) -> bytes:
    return array("q", values).tobytes()


@lru_cache(maxsize=8)
def _type_tables(version: int) -> tuple[tuple[bytes, ...], tuple[str, ...]]:
    """The per-type tables of convert_chunk except the per-trace ones (builtin and inline
    string ids), and the constant names SK_CONST refers to. Derived from the reference code:
    the converter's tables, and the accessors of event.py probed on one event per type."""
    from ..read import event as rev
    from ..read.v1 import parser as v1p
    from .columns import K_METRIC, K_RANGE_ACTIVE, K_RANGE_BEGIN, K_RANGE_END, _reader_tables

    conv = importlib.import_module("diagnose.read.v1.convert")  # the module (the package exports a function)
    t2 = rev.t2
    _st, kinds, main_stack, _gs, _ps, _ab = _reader_tables()
    reason_new, reason_str = [-1] * 512, [-1] * 512
    for t, r in enumerate(conv._REASONS):
        if r is not None:
            reason_new[t], reason_str[t] = r
    stack_arg = [conv.STACK_ARG.get(t, -1) for t in range(256)]
    names: list[str] = []
    name_idx, scope_kind, scope_src = [-1] * 256, [0] * 256, [SCOPE_NONE] * 256
    G, P, ARG = 7_000_001, 7_000_002, 7_000_003
    for t in range(256):
        k = kinds[t]
        if k not in (K_METRIC, K_RANGE_BEGIN, K_RANGE_ACTIVE, K_RANGE_END) or t in (t2.EvSTWBegin, t2.EvSTWEnd):
            continue
        ev = rev.Event(None, G, P, -1, t, 0, [ARG, 0, 0, 0])
        if k == K_METRIC:
            if ev.metric().value.uint64() != ARG:  # the kernel takes a metric's value from args[0]
                continue
            name = ev.metric().name
        else:
            r = ev.range_()
            name = r.name
            sid = r.scope.id if int(r.scope.kind) else None
            src = {None: SCOPE_NONE, G: SCOPE_G, P: SCOPE_P}.get(sid)
            if src is None:  # a scope the kernel does not model (an Active type's args[0])
                continue
            scope_kind[t], scope_src[t] = int(r.scope.kind), src
        if name not in names:
            names.append(name)
        name_idx[t] = names.index(name)
    stw = [v1p.stw_reason(version, i) for i in range(64)]
    assert stw[63] == v1p.stw_reason(version, 1 << 62), "stw_reason: the kernel's table ends at 63"
    tables = (_i64(reason_new), _i64(reason_str), _i64(int(x) for x in v1p._HAS_STACK), _i64(stack_arg),
              _i64(kinds), _i64(main_stack), _i64(name_idx), _i64(scope_kind), _i64(scope_src), _i64(stw))
    return tables, tuple(names)


def _row_capacity(types: np.ndarray) -> int:
    """At most this many rows: one per event, plus the second event of the types that make
    two (GoSysCall, GoStartLabel) and the GoStatus each pre-init GoCreate may become, plus
    the two Syncs. `types`: every event's type."""
    from ..read.v1 import parser as v1p

    counts = _type_counts(types)
    return int(len(types) + counts[v1p.EvGoSysCall] + counts[v1p.EvGoStartLabel] + counts[v1p.EvGoCreate] + 2)


def _type_counts(types: np.ndarray) -> np.ndarray:
    """Events per v1 type (without the BLOCKED flag), counted a run at a time (no temporary the
    size of the trace)."""
    counts = np.zeros(256, np.int64)
    for a in range(0, types.shape[0], 1 << 20):
        counts += np.bincount(types[a:a + (1 << 20)] & 0xFF, minlength=256)[:256]
    return counts


#: with a sink, the kernel converts a window's worth of events in this many runs: the rows of
#: one run are held at once (beside what the sink buffers), not a window's (7 MB windows of a
#: busy go1.21 trace: ~70 K events, ~9 MB of rows a run)
CHUNKS_PER_WINDOW = 32


class _Declined(Exception):
    """The kernel declines the trace: the reference converts it."""


def _chunks(conv, tabs, chunk: int | None, raw: bool = False):
    """The kernel's rows for a V1Conversion (nothing consumed), `chunk` events of the merged
    order at a time (None: all), with their string and stack ids final (interned into `tabs` in the
    reference's first-use order): (column name -> array, rows, last time). The arrays of a run
    share one set of buffers with the next run: use them before asking for it. Raises _Declined.
    `raw` (the dump): the arrays also hold "raw", each row's event in its wire form
    (read/dumprows.py; a TaskEnd's a3: its TaskCreate's name string id, or -1)."""
    from ..read.v1.packed import Packed, types

    tr = conv.trace
    if type(tr.store) is not Packed:  # a value past int64 made the store a list (crafted input)
        raise _Declined
    tables, _names = _type_tables(int(conv.version))
    try:
        per_trace = (_i64(conv.builtin), _i64(conv.inline_to_string_id))
    except OverflowError:
        raise _Declined from None
    order = tr.order
    total = len(order)
    spans = [(a, min(a + chunk, total)) for a in range(0, total, chunk)] if chunk and total > chunk else [(0, total)]
    if len(spans) == 1:
        cap = _row_capacity(types(tr.store))
    else:  # a run's rows: at most two an event (GoSysCall, GoStartLabel), the GoStatus of any
        # pre-init GoCreate of the trace (they come out together when that phase ends) and the
        # Syncs; the pages past the rows written are never touched
        cap = 2 * chunk + int(_type_counts(types(tr.store))[_evgocreate()]) + 2
    cols = {name: np.empty(cap, dtype=dt) for name, _, dt in _COLS}
    bufs = tuple(cols[name] for name, _, _ in _COLS)
    raw_rows = np.empty((cap, 9), dtype=np.int64) if raw else None
    conversion = _v1fast.convert_start(tables + per_trace, conv.first_ts is not None)
    maps = (array("i", [0]), array("i", [0]))  # string ref -> id, stack ref -> id
    view = memoryview(order)
    for k, (a, b) in enumerate(spans):
        got = _v1fast.convert_chunk(conversion, tr.store.rows, tr.store.ovf, view[a:b], bufs, k == len(spans) - 1,
                                    raw_rows)
        if got is None or not _intern(conv, got[2], tabs, maps):
            raise _Declined
        rows, last_ts = got[0], got[1]
        arrays = {name: col[:rows] for name, col in cols.items()}
        # copies: the maps grow with the next run
        str_map, stk_map = (np.frombuffer(m, dtype=np.int32).copy() for m in maps)
        arrays["s1"] = str_map[arrays["s1"]]
        arrays["stk"] = stk_map[arrays["stk"]]
        arrays["tstk"] = stk_map[arrays["tstk"]]
        if raw_rows is not None:
            arrays["raw"] = raw_rows[:rows]
        yield arrays, rows, last_ts


def _evgocreate() -> int:
    from ..read.v1 import parser as v1p

    return v1p.EvGoCreate


def _intern(conv, log: bytes, tabs, maps: tuple[array, array]) -> bool:
    """Replay the kernel's first-use log through the reference interning, appending to `maps`
    (string ref -> id, stack ref -> id); False when a name is missing from the tables (the
    reference decides)."""
    _tables, names = _type_tables(int(conv.version))
    table = conv.table
    strings = table.strings
    sid, intern_stack = tabs.sid, tabs.intern_stack
    str_map, stk_map = maps
    entries = array("q")
    entries.frombytes(log)
    try:
        for i in range(0, len(entries), 2):
            kind, x = entries[i], entries[i + 1]
            if kind == SK_STACK:
                stk_map.append(intern_stack(table, x))
            elif kind == SK_TABLE:
                str_map.append(sid(strings.must_get(x)))
            elif kind == SK_STW:
                str_map.append(sid("stop-the-world (" + strings.must_get(x) + ")"))
            elif kind == SK_CONST:
                str_map.append(sid(names[x]))
            else:  # SK_TASKNAME: the name a TaskEnd takes from its TaskCreate (convert.py)
                str_map.append(sid(strings.get(x)[1]))
    except KeyError:
        return False
    return True


def dump_chunks(trace, warnings: list[str]):
    """timeline.kernel.dump_chunks for an opened, unread old-format TraceReader (closed at the
    end): the kernel's rows in their wire form, a run of events at a time; the reference's
    TraceError (decode errors before any chunk, the event cap after `cap` events). Where the
    kernel declines, the reference converts the same decoded trace from the next event on."""
    import itertools

    from ..read.dumprows import FORMAT_ROWS, RowChunk, chunks_from_events
    from ..read.event import EV_SYNC
    from .columns import _Tables

    with trace:
        cap = trace.event_cap()
        conv = trace.v1_conversion()
        table = conv.table
        strings = table.strings

        def task_type(x: int) -> str:
            return "" if x == -1 else strings.get(x)[1]

        given = last_ts = 0  # rows the kernel made
        held = None  # the last of them, held back (copied): the closing Sync has no table

        def chunk(rows: np.ndarray) -> Iterator[RowChunk]:
            if held is not None:
                yield RowChunk(held, table, task_type)
            yield RowChunk(rows, table, task_type)

        try:
            for arrays, rows, last_ts in _chunks(conv, _Tables(), FORMAT_ROWS, raw=True):
                raw = arrays["raw"]
                if cap is not None and given + rows > cap:  # the reference gives `cap` events, then fails
                    yield from chunk(raw[:cap - given])
                    raise trace._error(too_many(cap, trace.total_bytes), None)
                if rows:
                    yield from chunk(raw[:-1])
                    held = raw[-1:].copy()
                given += rows
        except _Declined:  # the reference, over the same decoded trace, from the next event on
            yield from chunks_from_events(itertools.islice(trace.events(), given - (held is not None), None))
            warnings.extend(trace.warnings)
            return
        if held is not None:
            yield RowChunk(held, None if held[0, 0] == EV_SYNC else table, task_type)
        conv.last_ts, conv.events_delivered = last_ts, given - 1 - (conv.first_ts is not None)
        tr = conv.trace
        tr.store, tr.order = array("q"), array("q")
        trace.finish_v1(conv)
    warnings.extend(trace.warnings)


def read_columns(trace, meta: dict[str, Any], sink=None):
    """TraceColumns of an opened, unread old-format TraceReader (closed on return). Raises the
    reference's TraceError for input it rejects.

    With a `sink` (timeline.cut.WindowCutter), the rows go to it as they are converted, a
    window's worth of events at a time (`sink.rows(arrays, strings)`), so that the trace's rows never exist at once,
    and the columns returned hold the tables and facts with no rows; if the kernel declines the
    trace after some runs, the sink is `reset()` and the reference's whole columns are returned."""
    from ..read import too_many
    from . import _columns_from_reader, _reader_meta
    from .columns import _Tables

    with trace:
        cap = trace.event_cap()
        conv = trace.v1_conversion()
        tabs = _Tables()
        got = None
        n = 0
        try:
            for arrays, rows, last_ts in _chunks(conv, tabs, max(sink.rows_per_window // CHUNKS_PER_WINDOW, 1) if sink is not None else None):
                n += rows
                if cap is not None and n > cap:
                    raise trace._error(too_many(cap, trace.total_bytes), None)
                if sink is not None:
                    sink.rows(arrays, tabs.strings)
                else:
                    got = arrays
        except _Declined:  # the reference, over the same decoded trace
            if sink is not None:
                sink.reset()
            return _columns_from_reader(trace, meta)
        if got is None:
            got = {name: np.zeros(0, dtype=dt) for name, _, dt in _COLS}
        # what iterating the conversion leaves (convert.py V1Conversion.__iter__)
        conv.last_ts, conv.events_delivered = last_ts, n - 1 - (conv.first_ts is not None)
        tr = conv.trace
        tr.store, tr.order = array("q"), array("q")
        trace.finish_v1(conv)
    m = dict(meta)
    m.update(_reader_meta(trace))
    return tabs.finish_arrays(got, m)


__all__ = ["read_columns", "dump_chunks", "available"]
