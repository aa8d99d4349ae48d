"""An old-format trace's columns cut into windows that each open with the state at the cut.

A Go 1.22+ trace is analysed generation by generation (`diagnose.read.windows`): every
generation restates, at its start, the state of each goroutine and P (status events) and the
ranges in progress (RangeActive), so each window is a valid trace of its own. Old formats
(Go <= 1.21) have no generations: the reader converts the whole file in one stream. To analyse
such a trace in the memory of a window rather than of the trace, the converted rows are cut
here into runs, and each run after the first is given the head a generation would have: a
Sync, the status of every P and of every goroutine alive at the cut (Undetermined -> its state,
with the reason, stack and P/M of its last transition, so a goroutine parked on the network
across the cut is still a network wait), the last GOMAXPROCS, and a RangeActive for every range
begun and not ended (GC mark phase, sweeps, mark assists, stop-the-world).

`WindowCutter` takes the rows in trace order, a run at a time (the compiled reader hands them
over as it converts, `kernel_v1.read_columns(sink=...)`, so the whole trace's rows never exist
at once; the reference reader's whole columns are handed over at once), cuts them every N rows
and writes each window (head + rows) to a spill directory. `RowWindows.columns(k)` loads window k back, with the
trace's string, frame and stack tables. Both readers give the same rows, so the same windows.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .columns import (G_NOTEXIST, G_UNDETERMINED, K_METRIC, K_RANGE_ACTIVE, K_RANGE_BEGIN, K_RANGE_END, K_STATE,
                      K_SYNC, P_NOTEXIST, R_GOROUTINE, R_PROC, _COLS, TraceColumns)

_NAMES = tuple(name for name, _, _ in _COLS)
_DTYPES = {name: dt for name, _, dt in _COLS}
#: reader facts that describe the whole file: only the last window (the file's tail) carries them
TAIL_META = ("warnings", "lost_bytes", "truncated", "incomplete")
GOMAXPROCS = "/sched/gomaxprocs:threads"
#: what a status row of the head takes from the resource's last transition
_STATUS_FROM = ("g", "p", "m", "rk", "rid", "sto", "s1", "tstk")
#: ... and a RangeActive / GOMAXPROCS row from the row that began the range / set the value
_ACTIVE_FROM = ("g", "p", "m", "stk", "rk", "rid", "s1", "val")


@dataclass
class RowWindows:
    """An old-format trace cut into windows of rows: the trace's tables and reader facts
    (`template`, no rows), each window's spilled file and its row span in the trace's rows."""

    template: TraceColumns
    files: list[str]
    spans: list[tuple[int, int]]
    n_rows: int

    def __len__(self) -> int:
        return len(self.files)

    def columns(self, k: int) -> TraceColumns:
        """Window k as columns of its own (its head, then its rows). Reader facts about the
        file's tail (truncation, warnings) stay with the last window, as they would with the
        last generation of a new-format trace."""
        arrays = _load(self.files[k])
        last = k == len(self.files) - 1
        t = self.template
        meta = {key: v for key, v in t.meta.items() if not key.startswith("_") and (last or key not in TAIL_META)}
        if not last:
            meta.update(truncated=False, lost_bytes=0, incomplete=[])
        return TraceColumns(**arrays, strings=t.strings, frame_pc=t.frame_pc, frame_func=t.frame_func,
                            frame_file=t.frame_file, frame_line=t.frame_line, stack_off=t.stack_off,
                            stack_frames=t.stack_frames, meta=meta)


def cut_points(n: int, n_windows: int) -> list[tuple[int, int]]:
    """[a, b) spans of about equal length covering range(n)."""
    n_windows = max(1, min(n_windows, n // 2 or 1))
    edges = [n * k // n_windows for k in range(n_windows + 1)]
    return [(a, b) for a, b in zip(edges, edges[1:])]


@dataclass
class WindowCutter:
    """Rows in, in trace order and any number at a time (`rows`); windows of `rows_per_window`
    rows out, each with its head, written to files under `spill_dir` as the rows come (nothing
    is buffered). The last window takes the rest: a rest under half a window joins the window
    before it (a short tail would be a few milliseconds, whose rates and percentiles are noise;
    new-format windows fold it in alike). The cuts depend only on the rows, so the compiled and
    the reference reader give the same windows. The state carried from one window to the next
    is what the heads restate: each live goroutine's and P's last transition, the ranges in
    progress, GOMAXPROCS."""

    spill_dir: str
    rows_per_window: int
    files: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)
    n_rows: int = 0
    _strings: list[str] = field(default_factory=list)
    _g: dict[int, tuple] = field(default_factory=dict)
    _p: dict[int, tuple] = field(default_factory=dict)
    _ranges: dict[tuple[int, int, int], tuple] = field(default_factory=dict)
    _gmp: tuple | None = None
    gmp_sid: int = -1
    #: the compiled reader declined the trace (`reset`): its rows come whole, from the reference
    declined: bool = False
    #: told the number of each window as it is started (a progress line)
    on_window: Callable[[int], None] | None = None

    def reset(self) -> None:
        """Forget every row and window (the compiled reader declined the trace midway)."""
        self.declined = True
        for f in self.files:
            os.unlink(f)
        self.files, self.spans, self.n_rows = [], [], 0
        self._g, self._p, self._ranges, self._gmp = {}, {}, {}, None

    def rows(self, arrays: dict[str, np.ndarray], strings: list[str]) -> None:
        """The next rows (column name -> array, the TraceColumns codes); `strings`: the string
        table so far (it names GOMAXPROCS once a row has used it)."""
        self._strings = strings
        if self.gmp_sid < 0:  # (looked for with every run: the run that first sets GOMAXPROCS names it)
            self.gmp_sid = next((i for i, s in enumerate(strings) if s == GOMAXPROCS), -1)
        n = int(arrays["kind"].shape[0])
        at = 0
        r = max(self.rows_per_window, 2)
        while at < n:
            if not self.spans or self.spans[-1][1] - self.spans[-1][0] >= r:
                self._open(int(arrays["t"][at]))
            a, b = self.spans[-1]
            take = min(n - at, r - (b - a))
            piece = {name: col[at:at + take] for name, col in arrays.items()} if take < n else arrays
            _append(self.files[-1], piece)
            self.spans[-1] = (a, b + take)
            self.n_rows += take
            self._carry(piece)
            at += take

    def finish(self, template: TraceColumns) -> RowWindows:
        """The windows; `template` holds the trace's tables and reader facts. A last window
        under half a window joins the one before (its rows, not its head)."""
        r = max(self.rows_per_window, 2)
        if not self.files:
            self._open(0)
        elif len(self.files) > 1 and self.spans[-1][1] - self.spans[-1][0] < r // 2:
            tail = _load(self.files[-1], skip=1)
            _append(self.files[-2], tail)
            os.unlink(self.files.pop())
            a, b = self.spans.pop()
            self.spans[-1] = (self.spans[-1][0], b)
        return RowWindows(template, self.files, self.spans, self.n_rows)

    def _open(self, t: int) -> None:
        """Start the next window: its file, with its head (the first window has none)."""
        path = os.path.join(self.spill_dir, f"window-{len(self.files)}.cols")
        with open(path, "wb"):
            pass
        if self.files:
            _append(path, self._head(t))
        self.files.append(path)
        if self.on_window is not None:
            self.on_window(len(self.files))
        self.spans.append((self.n_rows, self.n_rows))

    def _carry(self, c: dict[str, np.ndarray]) -> None:
        kind, rk = c["kind"], c["rk"]
        state = kind == K_STATE
        _latest(c, np.flatnonzero(state & (rk == R_GOROUTINE)), self._g, G_NOTEXIST)
        _latest(c, np.flatnonzero(state & (rk == R_PROC)), self._p, P_NOTEXIST)
        for r in np.flatnonzero((kind >= K_RANGE_BEGIN) & (kind <= K_RANGE_END)).tolist():
            key = (int(c["s1"][r]), int(c["rk"][r]), int(c["rid"][r]))
            if kind[r] == K_RANGE_END:
                self._ranges.pop(key, None)
            elif key not in self._ranges:
                self._ranges[key] = _values(c, r, _ACTIVE_FROM)
        if self.gmp_sid >= 0:
            m = np.flatnonzero((kind == K_METRIC) & (c["s1"] == self.gmp_sid))
            if m.shape[0]:
                self._gmp = _values(c, int(m[-1]), _ACTIVE_FROM)

    def _head(self, t: int) -> dict[str, np.ndarray]:
        """The rows a window opens with, all at its first row's time: Sync, P statuses,
        goroutine statuses, GOMAXPROCS, ranges in progress (the order of a generation's head)."""
        parts = [([self._p[k] for k in sorted(self._p)], K_STATE, _STATUS_FROM),
                 ([self._g[k] for k in sorted(self._g)], K_STATE, _STATUS_FROM),
                 ([self._gmp] if self._gmp is not None else [], K_METRIC, _ACTIVE_FROM),
                 ([self._ranges[k] for k in sorted(self._ranges)], K_RANGE_ACTIVE, _ACTIVE_FROM)]
        n = 1 + sum(len(rows) for rows, _, _ in parts)
        h = {name: np.zeros(n, dtype=_DTYPES[name]) for name in _NAMES}
        h["t"][:] = t
        h["g"][:] = h["p"][:] = h["m"][:] = h["rid"][:] = -1
        h["kind"][0] = K_SYNC
        h["val"][0] = 1.0
        i = 1
        for rows, kind, names in parts:
            if not rows:
                continue
            j = i + len(rows)
            h["kind"][i:j] = kind
            for name, vals in zip(names, zip(*rows)):
                h[name][i:j] = vals
            if kind == K_STATE:
                h["sfrom"][i:j] = G_UNDETERMINED  # == P_UNDETERMINED: a resource's first status
            i = j
        return h


#: what a spilled column may be stored as, narrowest first (`_narrow`); codes are indexes here
_STORED = (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int16), np.dtype(np.int32), np.dtype(np.uint32),
           np.dtype(np.int64), np.dtype(np.float64))


def _narrow(col: np.ndarray) -> np.dtype:
    """The narrowest stored type that gives `col` back exactly: the columns are 64 bytes a row, but
    ids, Ps, threads and most values of a window fit 1-4 bytes (a window spills in ~40 instead)."""
    if not col.shape[0]:
        return col.dtype
    if col.dtype.kind == "f":
        if col.dtype.itemsize not in (2, 4, 8):  # (no integer view of the same width to compare bits)
            return col.dtype
        # whole numbers in int32's range only: bit for bit, so NaN, -0.0 and fractions stay float
        with np.errstate(invalid="ignore"):
            ints = col.astype(np.int32)
        bits = np.dtype(f"i{col.dtype.itemsize}")
        if not np.array_equal(ints.astype(col.dtype).view(bits), col.view(bits)):
            return col.dtype
        lo, hi = ints.min(), ints.max()
    else:
        lo, hi = col.min(), col.max()
    for dt in _STORED[:5]:
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return dt if dt.itemsize < col.dtype.itemsize else col.dtype
    return col.dtype


def _append(path: str, piece: dict[str, np.ndarray]) -> None:
    """Append rows to a window's file: their number and each column's stored type (`_STORED`
    codes), then each column's values in that type (raw)."""
    cols = [np.ascontiguousarray(piece[name], dtype=_DTYPES[name]) for name in _NAMES]
    kinds = [_narrow(c) for c in cols]
    with open(path, "ab") as f:
        np.array([cols[0].shape[0], *(_STORED.index(k) for k in kinds)], dtype=np.int64).tofile(f)
        for c, k in zip(cols, kinds):
            (c if c.dtype == k else c.astype(k)).tofile(f)


def _load(path: str, skip: int = 0) -> dict[str, np.ndarray]:
    """A window's rows: its file's pieces joined, but the first `skip` of them; each column is
    allocated once, at its final size, and filled piece by piece."""
    pieces: list[tuple[int, int, list[np.dtype]]] = []  # (file offset of the values, rows, stored types)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        at = 0
        while at < size:
            head = np.fromfile(f, dtype=np.int64, count=1 + len(_NAMES))
            kinds = [_STORED[int(c)] for c in head[1:]]
            n = int(head[0])
            at = f.tell()
            pieces.append((at, n, kinds))
            at += n * sum(k.itemsize for k in kinds)
            f.seek(at)
        pieces = pieces[skip:]
        total = sum(n for _, n, _ in pieces)
        out = {name: np.empty(total, dtype=_DTYPES[name]) for name in _NAMES}
        row = 0
        for at, n, kinds in pieces:
            f.seek(at)
            for name, k in zip(_NAMES, kinds):
                out[name][row:row + n] = np.fromfile(f, dtype=k, count=n)
            row += n
    return out


def _values(c: dict[str, np.ndarray], r: int, names: tuple[str, ...]) -> tuple:
    return tuple(c[name][r].item() for name in names)


def _latest(c: dict[str, np.ndarray], rows: np.ndarray, last: dict[int, tuple], gone: int) -> None:
    """Record each resource's latest transition among `rows` (trace order); forget those gone.

    Ids are found in one pass over a dense array when they are small (goroutine and P ids are
    counters): a sort of the ~1 M status rows of a busy generation took ~0.09 s a cut."""
    if not rows.shape[0]:
        return
    rid = c["rid"][rows]
    lo, hi = int(rid.min()), int(rid.max())
    if lo >= 0 and hi < 4 * rows.shape[0] + (1 << 16):
        pos = np.full(hi + 1, -1, dtype=np.int64)
        np.maximum.at(pos, rid, np.arange(rows.shape[0], dtype=np.int64))  # the last row of each id
        ids = np.flatnonzero(pos >= 0)
        at = rows[pos[ids]]
    else:
        ids, first_rev = np.unique(rid[::-1], return_index=True)
        at = rows[rows.shape[0] - 1 - first_rev]
    cols = [c[name][at].tolist() for name in _STATUS_FROM]
    for i, vals in zip(ids.tolist(), zip(*cols)):
        if vals[5] == gone:  # sto
            last.pop(i, None)
        else:
            last[i] = vals


def cut_columns(cols: TraceColumns, rows_per_window: int, spill_dir: str,
                on_window: Callable[[int], None] | None = None) -> RowWindows:
    """Whole columns (the reference reader's) cut into windows of `rows_per_window` rows."""
    cutter = WindowCutter(spill_dir, rows_per_window, on_window=on_window)
    cutter.rows({name: getattr(cols, name) for name in _NAMES}, cols.strings)
    return cutter.finish(_template(cols))


#: the rows a window part opens with (`window_parts`), in its columns' meta: not events of the trace
HEAD_ROWS = "head_rows"


@dataclass
class PackedPart:
    """One part of a window's rows (`window_parts`), its head first, each column in the narrowest
    type that holds it exactly (`_narrow`: ~27 bytes a row instead of 64), so that a window's
    parts waiting for their turn take less than half the window's columns; `columns()` widens it."""

    arrays: dict[str, np.ndarray]
    meta: dict
    tables: TraceColumns

    def columns(self, copy: bool = False) -> TraceColumns:
        """The part's columns in their usual types; `copy`: never the part's own arrays (the first
        part's are not packed, so without it they are handed out as they are)."""
        t = self.tables
        return TraceColumns(**{name: col.astype(_DTYPES[name], copy=copy) for name, col in self.arrays.items()},
                            strings=t.strings, frame_pc=t.frame_pc, frame_func=t.frame_func,
                            frame_file=t.frame_file, frame_line=t.frame_line, stack_off=t.stack_off,
                            stack_frames=t.stack_frames, meta=dict(self.meta))


def window_parts(cols: TraceColumns, parts: int) -> list[PackedPart]:
    """A window's columns (a Go 1.22+ generation too big to be one window, `pipeline.split_windows`)
    cut into `parts` parts of about equal row count (`cut_points`; a window with too few rows for
    them ends with empty parts), in one pass: each part after the first opens with the head a generation would
    restate at its cut, as `WindowCutter` gives an old-format window (the state carried over the
    rows before it). The parts are copies, packed but the first (analysed at once), so the
    window's columns can be freed at once;
    the tables are shared. The number of head rows is in each part's meta (`HEAD_ROWS`): they
    restate, they are not events. Reader facts about the file's tail stay with the last part."""
    n = int(cols.kind.shape[0])
    arrays = {name: getattr(cols, name) for name in _NAMES}
    tables = _template(cols)
    cutter = WindowCutter("", parts)
    cutter.gmp_sid = next((i for i, s in enumerate(cols.strings) if s == GOMAXPROCS), -1)
    spans = cut_points(n, parts) if n else []
    spans += [(n, n)] * (parts - len(spans))  # too few rows for the parts: empty ones at the end
    out = []
    for j, (a, b) in enumerate(spans):
        piece = {name: col[a:b] for name, col in arrays.items()}
        head = cutter._head(int(cols.t[a]) if a < n else int(cols.t[n - 1]) if n else 0) if j > 0 else None
        head_rows = int(head["kind"].shape[0]) if head is not None else 0
        meta = dict(cols.meta)
        if j < len(spans) - 1:
            meta = {key: v for key, v in meta.items() if key not in TAIL_META}
            meta.update(truncated=False, lost_bytes=0, incomplete=[])
        meta[HEAD_ROWS] = head_rows
        if j == 0:  # analysed first, at once: a plain copy (packing it would only be undone)
            arrays0 = {name: col.copy() for name, col in piece.items()}
            out.append(PackedPart(arrays0, meta, tables))
        else:
            out.append(PackedPart({name: _pack(head[name] if head is not None else None, piece[name])
                                   for name in _NAMES}, meta, tables))
        if j < len(spans) - 1:  # the state at the next cut (none follows the last part)
            cutter._carry(piece)
    return out


def _pack(head: np.ndarray | None, rows: np.ndarray) -> np.ndarray:
    """`head` then `rows` in one new array of the narrowest type that holds both exactly
    (`_narrow` of each, and numpy's common type of the two), written once."""
    dt = _narrow(rows)
    if head is None or not head.shape[0]:
        return rows.astype(dt)
    dt = np.result_type(dt, _narrow(head))
    out = np.empty(head.shape[0] + rows.shape[0], dt)
    out[:head.shape[0]] = head
    out[head.shape[0]:] = rows
    return out


def _template(cols: TraceColumns) -> TraceColumns:
    """`cols`' tables and facts with no rows."""
    empty = {name: np.zeros(0, dtype=_DTYPES[name]) for name in _NAMES}
    return TraceColumns(**empty, strings=cols.strings, frame_pc=cols.frame_pc, frame_func=cols.frame_func,
                        frame_file=cols.frame_file, frame_line=cols.frame_line, stack_off=cols.stack_off,
                        stack_frames=cols.stack_frames, meta=dict(cols.meta))


__all__ = ["HEAD_ROWS", "PackedPart", "RowWindows", "WindowCutter", "cut_columns", "cut_points", "window_parts"]
