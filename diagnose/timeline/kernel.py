"""The columns step's compiled path: a trace file straight to `TraceColumns` (the kernel).

    from diagnose.timeline.kernel import read_columns
    cols = read_columns("trace.out")     # TraceColumns, or None: use the reference path

``read_columns`` gives exactly what ``build_columns(open_trace(path).events())`` gives (same
arrays, same codes, same string/frame/stack tables, same ``meta``; same TraceError for
corrupt input, same warning for a cut file), without one Python object per event:

* Python (this module) reads the batches and the per-generation tables with the reference
  code (``generation.read_generation[_with_spill]``: a few thousand batches), runs the
  reference's generation control flow (Sync events, spilled batches, truncation), and interns
  the strings and stacks the rows use, once per distinct item, in first-use order.
* C (``_fastwire.Engine``) does everything per event: batch decoding, the per-M cursors and
  their heap, CPU-sample injection, the ordering/validation state machine (a port of
  ``order.py``), ``validateTableIDs``, the time fix-up, and each event's row.

Formats before Go 1.22 go to ``kernel_v1.py`` (their own compiled path, read/v1/_v1fast.c).

``read_columns`` returns None -- the caller then uses the reference reader -- when the kernel
is not built, when ``NETPOLL_DIAGNOSE_PURE`` is set (non-empty, not "0"), and for the rare inputs where the reference would fail with something other than a
trace error (the kernel "punts"): the reference then raises exactly what it raises.
"""
from __future__ import annotations

import os
from array import array
from typing import Any, Iterator

from ..read import generation as _gen
from ..read import tracev2 as t2
from ..read import version as _version
from ..read import wire
from ..read.eventcap import max_events, too_many
from ..read.generation import GenError

from .. import PURE_ENV  # noqa: E402  (re-exported)
from . import kernel_v1  # noqa: E402
V2_FORMATS = (22, 23, 25, 26)

# _fastwire statuses, error kinds and log kinds (see _fastwire.c)
_DONE, _ERROR, _PUNT, _PAUSE = 0, 1, 2, 3  # _PAUSE: run() stopped at the raw-row limit (set_raw), to go on
_E_ORDER, _E_VALIDATE, _E_WIRE, _E_ADVANCE, _E_REGION, _E_INVARIANT = 1, 2, 3, 4, 5, 6
_LOG_STACK, _LOG_STR, _LOG_STW = 0, 1, 2
#: Strings rows may name that are not in any trace table (event.py's Metric/Range names).
_CONST_STRINGS = ("/sched/gomaxprocs:threads", "/memory/classes/heap/objects:bytes", "/gc/heap/goal:bytes",
                  "GC concurrent mark phase", "GC incremental sweep", "GC mark assist")

try:  # the compiled kernel is optional (setup.py builds it when a C compiler is present)
    from ..read import _fastwire  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - exercised by installs without a compiler
    _fastwire = None


def pure_requested() -> bool:
    from .. import settings

    return settings().pure


def kernel_available() -> bool:
    """True when read_columns will use the compiled kernel (built, and not disabled)."""
    return _fastwire is not None and not pure_requested()


class _TooMany(Exception):
    """More events than eventcap.max_events allows (raised between generations)."""


class _Punt(Exception):
    """The kernel does not handle this input: let the reference reader do it."""


class _Stop(Exception):
    """The reference's ReadError: (message, offset, truncated)."""

    def __init__(self, message: str, offset: int | None, truncated: bool) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.truncated = truncated


def _engine_tables(ver: int, const_cids: tuple[int, ...]) -> tuple:
    from .columns import _reader_tables  # the row mapping the kernel must reproduce
    from ..read.reader import _VALIDATE

    _st, kinds, main_stack, _gs, _ps, _ab = _reader_tables()
    specs = t2.SPECS
    start_ev = [specs[t].start_ev if t < len(specs) else 0 for t in range(256)]
    spec_names = [specs[t].name if t < len(specs) else "" for t in range(256)]
    ver_names = [_version.event_name(ver, t) for t in range(256)]
    return (ver, list(t2.TIMED_NARGS), [list(v) for v in _VALIDATE], list(kinds), list(main_stack), start_ev,
            spec_names, ver_names, tuple(const_cids))


class _Driver:
    """Reader._read_event's generation-level control flow around the kernel."""

    def __init__(self, src: wire.Source, ver: int, keep_rows: bool = True) -> None:
        from .columns import _Tables

        self.src = src
        self.ver = ver
        self.keep_rows = keep_rows
        self.tabs = _Tables()
        # content ids: every distinct string met in a table (or a constant name)
        self.contents: list[str] = [""]
        self.cid_of: dict[str, int] = {"": 0}
        const = tuple(self._cid(s) for s in _CONST_STRINGS)
        self.eng = _fastwire.Engine(*_engine_tables(ver, const))
        self.code2sid = array("i", [0, 0])  # s1 code (2*cid [+1 for STW]) -> string id
        self.ref2sid = array("i", [0])  # stack ref -> stack id
        self.stack_base = 0
        # the reference Reader's state
        self.syncs = 0
        self.gen = None
        self.gen_stack_ids: list[int] = []
        self.steps = _gen.GenerationSteps(src, ver)
        self.done = False
        self.valid_offset = src.offset
        self.gen_truncated = False
        self.gen_at_eof = False
        self.max_events: int | None = None

    # --- interning ---------------------------------------------------------------------
    def _cid(self, s: str) -> int:
        c = self.cid_of.get(s)
        if c is None:
            c = self.cid_of[s] = len(self.contents)
            self.contents.append(s)
        return c

    def _intern_log(self) -> None:
        """Intern, in first-use order, what the rows of the current generation refer to."""
        raw = self.eng.take_log()
        if not raw:
            return
        log = array("q")
        log.frombytes(raw)
        tabs = self.tabs
        contents = self.contents
        code2sid = self.code2sid
        need = 2 * len(contents) + 2
        if len(code2sid) < need:
            code2sid.extend([0] * (need - len(code2sid)))
        table = self.gen.table if self.gen is not None else None
        ids = self.gen_stack_ids
        base = self.stack_base
        ref2sid = self.ref2sid
        for i in range(0, len(log), 2):
            kind, v = log[i], log[i + 1]
            if kind == _LOG_STACK:
                ref2sid[base + v + 1] = tabs.intern_stack(table, ids[v])
            elif kind == _LOG_STR:
                code2sid[2 * v] = tabs.sid(contents[v])
            else:
                code2sid[2 * v + 1] = tabs.sid("stop-the-world (" + contents[v] + ")")

    # --- the generation loop (reader.py _read_event / _next_gen_with_spill) -------------------
    def _status(self, st: int) -> None:
        if st == _DONE:
            return
        if st == _PUNT:
            raise _Punt()
        kind, msg, off, extra = self.eng.error()
        self._intern_log()
        if kind == _E_REGION:
            gid, tid, cid, ntid, ncid = extra
            msg = (f"misuse of region in goroutine {gid}: region end {{{tid & (2**64 - 1)} {self.contents[cid]}}} "
                   f"when the inner-most active region start event is {{{ntid & (2**64 - 1)} {self.contents[ncid]}}}")
        if kind in (_E_ORDER, _E_REGION, _E_ADVANCE):
            truncated = self.gen_truncated
        elif kind == _E_VALIDATE:
            truncated = self.gen_truncated or self.gen_at_eof
        else:
            truncated = False
        raise _Stop(msg, off, truncated)

    def _sync(self, t: int | None) -> None:
        self.syncs += 1
        if t is None:
            t = self.eng.counts()[1]  # sync_event(None, self.last_ts, ...)
        self._status(self.eng.emit_sync(t, self.syncs))

    def _finish_gen(self) -> None:
        if self.gen is not None:
            self.valid_offset = self.gen.end_offset

    def _install_gen(self, g) -> None:
        self._finish_gen()
        if g is None:
            self.gen = None
            self.done = True
            self._sync(None)
            return
        self.gen = g
        tbl = g.table
        self.stack_base += len(self.gen_stack_ids)
        ids = list(tbl.stacks.sparse.keys())
        self.gen_stack_ids = ids
        self.ref2sid.extend([0] * len(ids))
        cid = self._cid
        s_ids = list(tbl.strings.sparse.keys())
        s_cids = [cid(s) for s in tbl.strings.sparse.values()]
        cpu = g.cpu_samples
        try:
            u64 = array("Q", ids).tobytes()
            sid_b = array("Q", s_ids).tobytes()
            cpu_b = (array("q", [s.time for s in cpu]).tobytes(), array("q", [s.g for s in cpu]).tobytes(),
                     array("q", [s.p for s in cpu]).tobytes(), array("q", [s.m for s in cpu]).tobytes(),
                     array("Q", [s.stack for s in cpu]).tobytes())
        except OverflowError:
            raise _Punt() from None
        batches = [(m, [(b.data, b.offset, b.time) for b in g.batches[m]]) for m in g.batch_ms]
        st = self.eng.load_gen(g.gen, float(tbl.freq), batches, cpu_b, u64, sid_b, array("q", s_cids).tobytes(),
                               len(self.contents), self.stack_base)
        self._status(st)
        self._sync(tbl.freq.mul(g.min_ts))

    def _next_gen(self) -> None:
        """The frontier and the CPU samples are exhausted: the next generation (or the end)."""
        try:
            g = self.steps.step(self.gen is not None)
        except GenError as err:
            raise _Stop(err.message, err.offset, err.eof) from None
        if g is None and not self.steps.done:  # a read error is due at the next step
            self._finish_gen()
            self.gen = None
            self._sync(None)
            return
        self.gen_truncated, self.gen_at_eof = self.steps.truncated, self.steps.at_eof
        self._install_gen(g)

    def run(self) -> None:
        """Every event, into the kernel's columns. Raises _Stop (a ReadError) or _Punt."""
        for _ in self.generations():
            pass

    def generations(self) -> Iterator[None]:
        """run(), a generation at a time: yields after each generation's Sync and events (the
        closing Sync is emitted as it ends), and in raw mode also whenever run() pauses at the
        row limit. Raises _Stop (a ReadError), _TooMany or _Punt."""
        eng = self.eng
        try:
            while not self.done:
                self._next_gen()
                if self.done:
                    break
                if self.gen is not None:
                    st = eng.run()
                    while st == _PAUSE:  # raw mode: the rows so far are taken, the generation goes on
                        yield
                        st = eng.run()
                    self._status(st)
                self.check_count()
                self._intern_log()
                if not self.keep_rows:
                    eng.clear_rows()
                yield
        except (KeyError, IndexError, ValueError, OverflowError, TypeError, ZeroDivisionError, AttributeError):
            # The driver met input it does not model: the reference reader decides (it rejects
            # bad bytes with an offset; a Python exception there is a bug and is reported as one).
            raise _Punt() from None

    def over_limit(self) -> bool:
        return self.max_events is not None and self.eng.counts()[0] > self.max_events

    def check_count(self) -> None:
        """Raise _TooMany past the event limit (eventcap.py), a generation at a time."""
        if self.over_limit():
            raise _TooMany()

    def columns(self, meta: dict[str, Any]):
        eng = self.eng
        eng.remap("stk", self.ref2sid)
        eng.remap("tstk", self.ref2sid)
        eng.remap("s1", self.code2sid)
        return self.tabs.finish_arrays(_arrays(eng.take_columns()), meta)


def _arrays(blocks: dict) -> dict:
    import numpy as np

    from .columns import _COLS

    return {name: np.frombuffer(blocks[name], dtype=dt) for name, _, dt in _COLS}


class _MetaSource:
    """What timeline._reader_meta reads from a TraceReader."""

    def __init__(self, version, lost_bytes: int, warnings: list[str], incomplete: list[str],
                 truncation: tuple[int | None, str] | None = None) -> None:
        self.version = version
        self.lost_bytes = lost_bytes
        self.warnings = warnings
        self.incomplete = incomplete
        self.truncation = truncation


def _open(path, old_formats: bool = False) -> tuple[wire.Source, Any, int, int] | Any | None:
    """open_trace's first steps (same TraceError for a missing file or a bad header). For a
    format before Go 1.22: the TraceReader (`old_formats`) or None."""
    from ..errors import TraceError

    try:
        src, display, closer = wire.open_source(path)
    except OSError as e:
        raise TraceError(e.strerror or str(e), getattr(e, "filename", None) or str(path), None) from None
    try:
        ver, hlen = _version.parse_header(src.peek(64))
    except _version.HeaderError as e:
        if closer is not None:
            closer.close()
        raise TraceError(e.args[0], display, e.offset) from None
    src.skip(hlen)
    if ver not in V2_FORMATS:
        if old_formats:
            from ..read import TraceReader

            return TraceReader(src, display, closer, ver, hlen)  # what open_trace makes
        if closer is not None:
            closer.close()
        return None
    return src, closer, ver, hlen


def read_columns(path, meta: dict[str, Any] | None = None):
    """TraceColumns of the trace at `path` (or an open binary file, e.g. one that reports
    progress as it is read) through the kernel, or None (see the module doc).

    `meta`: the entries load_columns puts first (path, go_version, format_minor); the reader's
    (format_minor, go_version, lost_bytes, warnings, truncated) are added as load_columns does.
    Raises TraceError for a corrupt trace, as the reference path does.
    """
    if pure_requested() or not (isinstance(path, (str, os.PathLike)) or hasattr(path, "read")):
        return None
    if _fastwire is None and not kernel_v1.available():
        return None
    opened = _open(path, old_formats=kernel_v1.available())
    if opened is None:
        return None
    if not isinstance(opened, tuple):  # an old format (Go <= 1.21): kernel_v1.py
        return kernel_v1.read_columns(opened, dict(meta or {}))
    src, closer, ver, hlen = opened
    if _fastwire is None:
        if closer is not None:
            closer.close()
        return None
    from ..errors import TraceError
    from ..read import TraceVersion, incomplete_reasons

    display = os.fspath(path) if isinstance(path, (str, os.PathLike)) else (getattr(path, "name", None) or "<trace>")
    total = src.size if src.size is not None else 0
    warnings: list[str] = []
    truncation = None
    try:
        d = _Driver(src, ver)
        d.max_events = max_events(total)
        try:
            d.run()
            valid = src.offset
            if src.size is None or total < src.offset:
                total = src.offset
        except _TooMany:
            raise TraceError(too_many(d.max_events, total), display, None) from None
        except _Stop as e:
            if d.over_limit():  # the reference reader stops at the limit before this error
                raise TraceError(too_many(d.max_events, total), display, None) from None
            valid, total, warning = _stopped(d, e, hlen, total, display)
            warnings.append(warning)
            truncation = (e.offset, e.message)
    except _Punt:
        return None
    finally:
        if closer is not None:
            closer.close()
    from . import _reader_meta

    m = dict(meta or {})
    m.update(_reader_meta(_MetaSource(TraceVersion(ver), max(total - valid, 0), warnings,
                                      incomplete_reasons(valid > hlen), truncation)))
    return d.columns(m)


def _stopped(d: _Driver, e: _Stop, hlen: int, total: int, display: str) -> tuple[int, int, str]:
    """What the reference reader makes of a ReadError: a TraceError for a corrupt trace; for a
    cut one (valid bytes, total bytes, the warning)."""
    from ..errors import TraceError
    from ..read import truncation_warning

    valid = max(d.valid_offset, hlen)
    if not e.truncated:
        raise TraceError(e.message, display, e.offset) from None
    src = d.src
    if src.size is None:
        total = max(total, src.offset)
    return valid, total, truncation_warning(e.offset, e.message, max(total - valid, 0), total)


def dump_chunks(path, display: str, warnings: list[str]):
    """Every event of the trace at `path` in its wire form, as ``read.dumprows.RowChunk``s a
    generation (old formats: a run of events) at a time, for the dump -- through the compiled
    reader when it is built and not disabled, else from the pure reader's events: the same
    chunks either way. Raises the reference's TraceError (after the chunks of the events
    before it, as the reference yields them); a cut trace's warning goes to `warnings`."""
    from ..read import open_trace
    from ..read.dumprows import chunks_from_events

    if kernel_available() or kernel_v1.available():
        opened = _open(path, old_formats=kernel_v1.available())
        if opened is not None and not isinstance(opened, tuple):  # an old format: kernel_v1.py
            opened.path = display
            return kernel_v1.dump_chunks(opened, warnings)
        if opened is not None:
            if kernel_available():
                return _dump_chunks_v2(path, display, warnings, opened)
            if opened[1] is not None:
                opened[1].close()
    r = open_trace(path)
    r.path = display
    return _pure_chunks(r, chunks_from_events(r.events()), warnings)


def _pure_chunks(r, chunks, warnings: list[str]):
    yield from chunks
    warnings.extend(r.warnings)


def _dump_chunks_v2(path, display: str, warnings: list[str], opened):
    """dump_chunks for a Go 1.22+ trace: the kernel in raw mode, a generation at a time. Where
    the kernel punts, the reference reader takes over after the events already given."""
    import itertools

    import numpy as np

    from ..errors import TraceError
    from ..read import open_trace
    from ..read.dumprows import FORMAT_ROWS, ROW_WIDTH, RowChunk, chunks_from_events

    src, closer, ver, hlen = opened
    total = src.size if src.size is not None else 0
    given = 0
    try:
        d = _Driver(src, ver, keep_rows=False)
        d.eng.set_raw(True, FORMAT_ROWS * 4)
        d.max_events = max_events(total)

        def take() -> RowChunk:
            rows = np.frombuffer(d.eng.take_raw(), dtype=np.int64).reshape(-1, ROW_WIDTH)
            return RowChunk(rows, d.gen.table if d.gen is not None else None, d.contents.__getitem__)

        steps = d.generations()
        end = object()
        while True:
            stop = None
            try:
                step = next(steps, end)
            except _TooMany:  # the check below fails first: every row emitted is taken
                step = end
            except _Stop as e:
                step, stop = end, e
            c = take()
            if d.max_events is not None and given + len(c.rows) > d.max_events:
                yield RowChunk(c.rows[:d.max_events - given], c.table, c.task_type)
                raise TraceError(too_many(d.max_events, total), display, None)  # after max_events, as the reference
            given += len(c.rows)
            yield c
            if stop is not None:
                warnings.append(_stopped(d, stop, hlen, total, display)[2])  # or the TraceError of a corrupt trace
                return
            if step is end:  # its last rows were the closing Sync
                return
    except _Punt:
        pass
    finally:
        if closer is not None:
            closer.close()
    r = open_trace(path)  # the kernel punted: the reference reader, from the next event on
    r.path = display
    yield from _pure_chunks(r, chunks_from_events(itertools.islice(r.events(), given, None)), warnings)


def count_events(path) -> int | None:
    """Read, order and validate every event with the kernel, keeping no rows (benchmarks):
    the number of events Go's Reader would return, or None when the kernel does not apply."""
    if not kernel_available():
        return None
    opened = _open(path)
    if opened is None:
        return None
    src, closer, ver, _hlen = opened
    try:
        d = _Driver(src, ver, keep_rows=False)
        d.eng.set_raw(True, 1 << 16)  # no rows, and the events' wire form dropped every 64 Ki: a bounded buffer
        try:
            for _ in d.generations():
                d.eng.take_raw(False)
        except _Stop as e:
            if not e.truncated:
                from ..errors import TraceError

                raise TraceError(e.message, os.fspath(path), e.offset) from None
        return int(d.eng.counts()[0])
    except _Punt:
        return None
    finally:
        if closer is not None:
            closer.close()


__all__ = ["read_columns", "dump_chunks", "count_events", "kernel_available", "pure_requested", "PURE_ENV"]
