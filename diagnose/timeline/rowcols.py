"""Our reader's raw rows -> `TraceColumns`: the pure-Python reader's column builder.

A raw row is `(table, g, p, m, typ, time, args)` (`TraceReader.raw_events()`; `Event(*row)` is
the event). The rows come in chunks (lists of rows, `TraceReader.raw_chunks()`:
`build_from_chunks`) and are handled a batch of `CHUNK_ROWS` at a time, with no Python statement
per row:

* the batch's ints are packed into numpy arrays a field at a time (`struct`); this is about two
  thirds of the builder's time;
* what follows from the wire type and the arguments alone -- kind, the transition's resource,
  old and new state, a region's task, a metric's value, a range's or label's scope, which
  argument holds a row's string -- comes from numpy tables indexed by wire type: the same
  mapping as `Event.state_transition()` (itself Go's event.go) and, for the metric, range,
  label, task, log and sync kinds, found by asking the Event accessors themselves (`_probe`);
* stacks and strings are interned in order of first use, as the kernel gives their ids: a
  batch's stack and string ids are looked up in arrays per generation table (`_Ids`), and only
  the first uses of the ones not seen yet -- with the rows of the rare kinds (a stop-the-world
  range, a task's end), read through the Event accessors -- are visited in Python, in row order
  (interning a stack interns its frames' strings: the two interleave).

Tests compare the result with the kernel and with the Event accessors.
"""
from __future__ import annotations

import struct
from itertools import chain, islice
from operator import countOf, itemgetter
from typing import Any, Iterable, Iterator

import numpy as np

from . import columns as C

# where a transition's (or a range's) resource id comes from
_RID_NONE, _RID_ARG0, _RID_G, _RID_P = 0, 1, 2, 3
#: rows handled at once: chunks are gathered up to this many (numpy's cost per call is then small)
CHUNK_ROWS = 1 << 14
_U64 = (1 << 64) - 1
_EXACT_FLOAT = 1 << 53
#: a generation table's ids below this are looked up in an array, larger ones (a crafted trace) in a dict
_DENSE_IDS = 1 << 22
# what a row needs beyond the numpy tables: a (second) stack, a string, a constant name looked up; or
# it is rare, read through the Event accessors. Also what a batch visits in Python, in row order
# (`_X_STACK` for the main stack too)
_X_NONE, _X_STACK, _X_STRING, _X_NAME, _X_SLOW = 0, 1, 2, 3, 4
# the states that come from the arguments: a stolen P's, a P's or a goroutine's status
_ADJ_NONE, _ADJ_STEAL, _ADJ_PROCSTATUS, _ADJ_GOSTATUS = 0, 1, 2, 3
# the columns of _Plan.u8
_U_KIND, _U_RK, _U_FROM, _U_TO, _U_TSTK, _U_VAL, _U_ADJ = range(7)
#: a raw row's fields: table, g, p, m, typ, time, args
_FIELD = tuple(itemgetter(i) for i in range(7))
_NO_TABLE = object()  # the generation table before the first row


class _Plan:
    """Per-wire-type tables (from the reader's own constants, `columns._reader_tables`)."""

    def __init__(self) -> None:
        st, kinds, main_stack, go_status, proc_status, abandoned = C._reader_tables()
        self.kinds = kinds
        from ..read import Event  # (not at import: the timeline package loads without the reader)

        self.event = Event
        self.go_status = np.array(go_status, np.uint8)
        self.proc_status = np.array(proc_status, np.uint8)
        self.abandoned = abandoned
        G, P = C.R_GOROUTINE, C.R_PROC
        n = 18  # by state code
        rk, src, fr, to = [0] * n, [_RID_NONE] * n, [0] * n, [0] * n
        tstk_is_stk = [False] * n
        for code, (r, s, f, t) in {
            C._ST_GOSTART: (G, _RID_ARG0, C.G_RUNNABLE, C.G_RUNNING),
            C._ST_GOBLOCK: (G, _RID_G, C.G_RUNNING, C.G_WAITING),
            C._ST_GOSTOP: (G, _RID_G, C.G_RUNNING, C.G_RUNNABLE),
            C._ST_UNBLOCK: (G, _RID_ARG0, C.G_WAITING, C.G_RUNNABLE),
            C._ST_SYSBEGIN: (G, _RID_G, C.G_RUNNING, C.G_SYSCALL),
            C._ST_SYSEND: (G, _RID_G, C.G_SYSCALL, C.G_RUNNING),
            C._ST_SYSENDBLOCKED: (G, _RID_G, C.G_SYSCALL, C.G_RUNNABLE),
            C._ST_PROCSTART: (P, _RID_ARG0, C.P_IDLE, C.P_RUNNING),
            C._ST_PROCSTOP: (P, _RID_P, C.P_RUNNING, C.P_IDLE),
            C._ST_PROCSTEAL: (P, _RID_ARG0, 0, C.P_IDLE),  # from: by args[3] (_columns)
            C._ST_PROCSTATUS: (P, _RID_ARG0, 0, 0),  # from/to: by args[2]/args[1] (_columns)
            C._ST_GOSTATUS: (G, _RID_ARG0, 0, 0),  # from/to: by args[2] (_columns)
            C._ST_CREATE: (G, _RID_ARG0, C.G_NOTEXIST, C.G_RUNNABLE),
            C._ST_CREATEBLOCKED: (G, _RID_ARG0, C.G_NOTEXIST, C.G_WAITING),
            C._ST_CREATESYSCALL: (G, _RID_ARG0, C.G_NOTEXIST, C.G_SYSCALL),
            C._ST_DESTROY: (G, _RID_G, C.G_RUNNING, C.G_NOTEXIST),
            C._ST_DESTROYSYSCALL: (G, _RID_G, C.G_SYSCALL, C.G_NOTEXIST),
        }.items():
            rk[code], src[code], fr[code], to[code] = r, s, f, t
        for code in (C._ST_GOBLOCK, C._ST_GOSTOP, C._ST_SYSBEGIN, C._ST_GOSTATUS):
            tstk_is_stk[code] = True
        # by wire type from here on (a wire type that is no transition has state code 0: no resource)
        rk_t, src_t = [rk[c] for c in st], [src[c] for c in st]
        fr_t, to_t, tstk_t = [fr[c] for c in st], [to[c] for c in st], [tstk_is_stk[c] for c in st]
        # the argument of the main stack (-1: none); what else a row needs beyond the numpy tables
        # (`_X_*`: at most one thing per wire type) and the argument it is in
        self.stack_arg = np.array(main_stack, np.int64)
        extra, extra_arg, name, val_a0 = [_X_NONE] * 256, [0] * 256, [-1] * 256, [False] * 256
        self.names: list[str] = []  # the constant names of metrics and ranges (`name`: index here)
        for typ in range(256):
            k, code = kinds[typ], st[typ]
            if k == C.K_STATE:
                if code in (C._ST_GOBLOCK, C._ST_GOSTOP):  # the reason
                    extra[typ], extra_arg[typ] = _X_STRING, 0
                elif code in (C._ST_CREATE, C._ST_CREATEBLOCKED):  # the new goroutine's stack
                    extra[typ], extra_arg[typ] = _X_STACK, 1
                elif code == 0:  # a wire type of kind StateTransition the tables above do not know
                    extra[typ] = _X_SLOW
            elif k in (C.K_REGION_BEGIN, C.K_REGION_END):  # Event.region(): type, task
                extra[typ], extra_arg[typ], val_a0[typ] = _X_STRING, 1, True
            elif k not in (C.K_BAD, C.K_STACKSAMPLE, C.K_EXPERIMENTAL):
                found = _probe(typ, k)
                if found is None:  # through the Event accessors, row by row
                    extra[typ] = _X_SLOW
                    continue
                (nm, arg), rk_t[typ], src_t[typ], val_a0[typ] = found
                if arg >= 0:  # a string of the table (a label's, a task's type, a log's category)
                    extra[typ], extra_arg[typ] = _X_STRING, arg
                elif nm is not None:
                    if nm not in self.names:
                        self.names.append(nm)
                    extra[typ], name[typ] = _X_NAME, self.names.index(nm)
        self.rid_src = np.array(src_t, np.uint8)
        self.extra = np.array(extra, np.uint8)
        self.extra_arg = np.array(extra_arg, np.int64)
        self.name = np.array(name, np.int64)
        # the per-row tables gathered at once: kind, rk, sfrom, sto, tstk is the main stack,
        # val is args[0], the states come from the arguments (_ADJ_*)
        adj = [_ADJ_NONE] * 256
        for typ, code in enumerate(st):
            adj[typ] = {C._ST_PROCSTEAL: _ADJ_STEAL, C._ST_PROCSTATUS: _ADJ_PROCSTATUS,
                        C._ST_GOSTATUS: _ADJ_GOSTATUS}.get(code, _ADJ_NONE)
        u8 = np.zeros((256, 8), np.uint8)
        u8[:, :7] = np.array([kinds, rk_t, fr_t, to_t, tstk_t, val_a0, adj], np.uint8).T
        self.u8 = u8.view(np.uint64).reshape(256)  # eight bytes a type: one gather of a uint64 per row


class _ProbeStrings:
    """A generation's string table for `_probe`: the string of id x is a marker naming x."""

    @staticmethod
    def must_get(x: int) -> str:
        return f"\0probe {x}"


class _ProbeTable:
    """A generation table for `_probe` with strings only: an accessor reading anything else
    fails (AttributeError) and its wire type is read row by row."""

    __slots__ = ()
    strings = _ProbeStrings()


def _probe(typ: int, kc: int) -> tuple[tuple[str | None, int], int, int, bool] | None:
    """What the accessor of a metric, range, label, task, log or sync wire type makes of a row
    -- (name: (a constant, -1) or (None, the argument holding its string id), resource kind, where
    the resource id comes from, the value is args[0]) -- found by calling it (`_slow_details`,
    what a rare row goes through) on two made-up rows, their table's strings markers naming their
    ids. None for the ones that read more of the table (a task's end: its extra strings), make a
    name of their own of a string (a stop-the-world range's) or whose result follows none of these
    patterns: those are read row by row. (Strings an accessor reads for what the columns do not
    keep -- a log's message -- are not read: the reader has checked every string id, Go's
    validateTableIDs.)"""
    from ..read import Event

    found = []
    for g, p, a0 in ((1001, 2002, 3003), (1101, 2102, 3103)):
        args = [a0, a0 + 1, a0 + 2, a0 + 3]
        names: list[str] = []

        def sid(s: str) -> int:
            names.append(s)
            return 1

        try:  # no table (a sync reads the table's clock when there is one), then strings only
            rk, rid, _s1, val = _slow_details(Event(None, g, p, 7, typ, 0, args), kc, sid)
        except AttributeError:
            names.clear()
            try:
                rk, rid, _s1, val = _slow_details(Event(_ProbeTable(), g, p, 7, typ, 0, args), kc, sid)
            except AttributeError:  # it read more of the generation's table
                return None
        src = _RID_NONE if rk == 0 else {g: _RID_G, p: _RID_P, a0: _RID_ARG0}.get(rid)
        from_a0 = {0.0: False, float(a0): True}.get(val)
        if src is None or from_a0 is None or len(names) > 1:
            return None
        name: tuple[str | None, int] = (None, -1)
        if names:
            by_arg = [k for k in range(4) if names[0] == _ProbeStrings.must_get(args[k])]
            if by_arg:
                name = (None, by_arg[0])
            elif "\0probe" in names[0]:  # made of a string of the table: not a constant
                return None
            else:
                name = (names[0], -1)
        found.append((name, rk, src, from_a0))
    return found[0] if found[0] == found[1] else None


_PLAN: _Plan | None = None


def _plan() -> _Plan:
    global _PLAN
    if _PLAN is None:
        _PLAN = _Plan()
    return _PLAN


class _Ids:
    """One generation table's ids (of stacks, or of strings) -> ours, looked up for a batch of
    ids at once: an array indexed by the table's id (a real trace's ids are small and dense),
    a dict beyond `_DENSE_IDS`. -1: not interned yet."""

    __slots__ = ("arr", "big")

    def __init__(self, zero: int) -> None:
        self.arr = np.full(1024, -1, np.int64)
        self.arr[0] = zero  # a stack id 0 is no stack (0); a string id 0 is looked up (-1)
        self.big: dict[int, int] = {}

    def get(self, keys: np.ndarray) -> np.ndarray:
        arr = self.arr
        if not len(keys):
            return np.zeros(0, np.int64)
        top = int(keys.max())
        if top >= len(arr) and top < _DENSE_IDS:
            arr = self.arr = np.concatenate([arr, np.full(max(len(arr), top + 1 - len(arr)), -1, np.int64)])
        if top < len(arr):
            return arr[keys]
        out = np.full(len(keys), -1, np.int64)
        small = keys < len(arr)
        out[small] = arr[keys[small]]
        big = np.flatnonzero(~small)
        out[big] = [self.big.get(k, -1) for k in keys[big].tolist()]
        return out

    def put(self, key: int, i: int) -> None:
        if key < len(self.arr):
            self.arr[key] = i
        else:
            self.big[key] = i


def chunk_rows(rows: Iterable[tuple], size: int = CHUNK_ROWS) -> Iterator[list[tuple]]:
    """Rows one by one -> lists of `size` rows (`build_from_chunks`' input)."""
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def build_from_rows(rows: Iterable[tuple], meta: dict[str, Any] | None = None) -> C.TraceColumns:
    """Columns of our reader's raw rows one by one (see the module doc)."""
    return build_from_chunks(chunk_rows(rows), meta)


def build_from_chunks(chunks: Iterable[list[tuple]], meta: dict[str, Any] | None = None) -> C.TraceColumns:
    """Columns of our reader's raw rows handed over in chunks (lists of rows of any length; a
    generation boundary may fall inside one): the same columns as for the rows one by one."""
    b = _Builder()
    batch: list[tuple] = []
    it = iter(chunks)
    while True:
        try:
            chunk = next(it, None)
        except Exception:  # the reader's error: the rows before it are built first (an error
            # of theirs comes first, as row by row), then it goes on
            if batch:
                b.add(batch)
            raise
        if chunk is None:
            break
        if not batch and len(chunk) >= CHUNK_ROWS:
            b.add(chunk)
            continue
        batch += chunk
        if len(batch) >= CHUNK_ROWS:
            full, batch = batch, []
            b.add(full)
    if batch:
        b.add(batch)
    return b.finish(meta)


class _Builder:
    """The columns so far (typed parts per batch), the interning tables, the generation table the
    last rows came from and its ids looked up so far."""

    def __init__(self) -> None:
        self.plan = _plan()
        self.tabs = C._Tables()
        self.table: Any = _NO_TABLE
        self.stacks = _Ids(0)
        self.strings = _Ids(-1)
        self.names = np.full(len(self.plan.names), -1, np.int64)  # their string ids, once used
        self.parts: dict[str, list[np.ndarray]] = {name: [] for name, _, _ in C._COLS}

    def add(self, rows: list[tuple]) -> None:
        """A batch of rows -> typed column parts."""
        n = len(rows)
        t0 = rows[0][0]
        ints = _ints(n, rows)
        a = _args(n, rows)
        typ_a = ints[3]
        stk, s1, tstk = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
        slow: dict[int, tuple[int, int, int, int, float]] = {}  # row -> (rk, rid, sfrom, sto, val)
        # tables compare by identity (the reader's EvTable defines no __eq__)
        for s, e in ((0, n),) if countOf(map(_FIELD[0], rows), t0) == n else _runs(rows):
            if rows[s][0] is not self.table:
                self.table, self.stacks, self.strings = rows[s][0], _Ids(0), _Ids(-1)
            self._intern(rows, s, typ_a[s:e], a[s:e], stk[s:e], s1[s:e], tstk[s:e], slow)
        out = _columns(self.plan, ints, a, stk, s1, tstk, slow)
        for name, _, dt in C._COLS:
            self.parts[name].append(out[name].astype(dt))

    def _intern(self, rows: list[tuple], s: int, typ: np.ndarray, a: np.ndarray, stk: np.ndarray, s1: np.ndarray,
                tstk: np.ndarray, slow: dict) -> None:
        """Stack and string ids of rows[s:s+len(typ)] (one generation table) into `stk`, `s1`,
        `tstk` (views of the batch's), the rare rows' other fields into `slow`."""
        plan = self.plan
        flat = a.reshape(-1)
        sa = plan.stack_arg[typ]
        r0 = np.flatnonzero(sa >= 0)  # the main stacks: rows, arguments, ids
        x0 = sa[r0]
        k0 = flat[4 * r0 + x0]
        rx = np.flatnonzero(plan.extra[typ])  # what else rows need
        ex = plan.extra[typ[rx]]
        xx = plan.extra_arg[typ[rx]]
        kx = flat[4 * rx + xx]
        r1, x1, k1 = ((v[ex == _X_STACK]) for v in (rx, xx, kx))
        r2, x2, k2 = ((v[ex == _X_STRING]) for v in (rx, xx, kx))
        r3 = rx[ex == _X_NAME]
        c3 = plan.name[typ[r3]]
        r4 = rx[ex == _X_SLOW]
        i0, i1, i2, i3 = self.stacks.get(k0), self.stacks.get(k1), self.strings.get(k2), self.names[c3]
        if len(r4) or any(len(i) and i.min() < 0 for i in (i0, i1, i2, i3)):
            m0, m1, m2, m3 = (np.flatnonzero(i < 0) for i in (i0, i1, i2, i3))
            # first uses, each at 2*row (main stack) or 2*row+1 (what the row's kind adds): in that order
            pos = np.concatenate([2 * r0[m0], 2 * r1[m1] + 1])
            key = np.concatenate([k0[m0], k1[m1]])
            arg = np.concatenate([x0[m0], x1[m1]])
            order = np.argsort(pos, kind="stable")
            f0 = order[np.unique(key[order], return_index=True)[1]]
            f2 = np.unique(k2[m2], return_index=True)[1]
            f3 = np.unique(c3[m3], return_index=True)[1]
            pos = np.concatenate([pos[f0], 2 * r2[m2][f2] + 1, 2 * r3[m3][f3] + 1, 2 * r4 + 1])
            what = np.repeat([_X_STACK, _X_STRING, _X_NAME, _X_SLOW], [len(f0), len(f2), len(f3), len(r4)])
            arg = np.concatenate([arg[f0], x2[m2][f2], c3[m3][f3], np.zeros(len(r4), np.int64)])
            order = np.argsort(pos, kind="stable")
            self._visit(rows, s, pos[order].tolist(), what[order].tolist(), arg[order].tolist(), s1, tstk, slow)
            if len(m0):
                i0 = self.stacks.get(k0)
            if len(m1):
                i1 = self.stacks.get(k1)
            if len(m2):
                i2 = self.strings.get(k2)
            if len(m3):
                i3 = self.names[c3]
        stk[r0] = i0
        tstk[r1] = i1
        s1[r2] = i2
        s1[r3] = i3

    def _visit(self, rows: list[tuple], s: int, pos: list[int], what: list[int], arg: list[int], s1: np.ndarray,
               tstk: np.ndarray, slow: dict) -> None:
        """Intern what rows[s:] use first, in row order; read the rare rows."""
        tabs, tbl = self.tabs, self.table
        for at, w, x in zip(pos, what, arg):
            r = at >> 1
            if w == _X_STACK:
                key = rows[s + r][6][x]
                self.stacks.put(key & _U64, tabs.intern_stack(tbl, key))
            elif w == _X_STRING:
                key = rows[s + r][6][x]
                self.strings.put(key & _U64, tabs.sid(tbl.strings.must_get(key)))
            elif w == _X_NAME:
                self.names[x] = tabs.sid(self.plan.names[x])
            else:
                s1[r], tstk[r] = self._slow_row(slow, s + r, *rows[s + r])

    def _slow_row(self, slow: dict, row: int, tbl: Any, g: int, p: int, m: int, typ: int, t: int,
                  a: list) -> tuple[int, int]:
        """(s1, tstk) of a rare row, its other fields in `slow`, through the Event accessors."""
        ev = self.plan.event(tbl, g, p, m, typ, t, a)
        kc = self.plan.kinds[typ]
        sid = self.tabs.sid
        if kc == C.K_STATE:  # a wire type of kind StateTransition the fast tables do not know
            tr = ev.state_transition()
            rid = tr.resource.id
            if rid >= 1 << 63:
                rid -= 1 << 64
            slow[row] = (int(tr.resource.kind), rid, int(tr.old_state), int(tr.new_state), 0.0)
            return (sid(tr.reason) if tr.reason else 0), (self.tabs.intern_frames(tr.stack.frames()) if tr.stack else 0)
        rk, rid, s1, val = _slow_details(ev, kc, sid)
        slow[row] = (rk, rid if rk else -1, 0, 0, val)
        return s1, 0

    def finish(self, meta: dict[str, Any] | None) -> C.TraceColumns:
        arrays = {}
        for name, _, dt in C._COLS:  # one column at a time: the peak is the parts and one column
            parts = self.parts.pop(name)
            arrays[name] = np.concatenate(parts) if parts else np.zeros(0, dt)
            del parts
        return self.tabs.finish_arrays(arrays, meta)


def _runs(rows: list[tuple]) -> list[tuple[int, int]]:
    """The batch's runs of rows of one generation table (a boundary falls inside the batch)."""
    tables = list(map(_FIELD[0], rows))
    cuts = [i for i in range(1, len(tables)) if tables[i] is not tables[i - 1]]
    bounds = [0, *cuts, len(tables)]
    return list(zip(bounds, bounds[1:]))


def _ints(n: int, rows: list[tuple]) -> np.ndarray:
    """The rows' g, p, m, typ, time as a (5, n) int64 array. A column at a time through
    itemgetter and `struct`, which packs Python ints faster than `np.fromiter` (`zip(*rows)`
    slows down past a few thousand rows: it walks that many iterators per field)."""
    g, p, m, typ, t = (map(_FIELD[i], rows) for i in range(1, 6))
    try:
        return np.frombuffer(struct.pack(f"{5 * n}q", *g, *p, *m, *typ, *t), np.int64).reshape(5, n)
    except struct.error:  # beyond int64 (or no int): numpy's error, as the rows one by one gave
        return np.fromiter(chain.from_iterable(map(_FIELD[i], rows) for i in range(1, 6)), np.int64, 5 * n).reshape(5, n)


def _args(n: int, rows: list[tuple]) -> np.ndarray:
    """The rows' four arguments as an (n, 4) uint64 array."""
    try:
        return np.frombuffer(struct.pack(f"{4 * n}Q", *chain.from_iterable(map(_FIELD[6], rows))),
                             np.uint64).reshape(n, 4)
    except struct.error:
        flat = list(chain.from_iterable(map(_FIELD[6], rows)))
    try:
        out = np.fromiter(flat, np.uint64, len(flat))
    except OverflowError:  # a negative argument (not from the wire): its uint64 bits
        out = np.fromiter((x & _U64 for x in flat), np.uint64, len(flat))
    return out.reshape(n, 4)


def _slow_details(ev: Any, kc: int, sid: Any) -> tuple[int, int, int, float]:
    """(rk, rid, s1, val) of the rare kinds, through the public accessors."""
    rk, rid, s1, val = 0, -1, 0, 0.0
    if kc == C.K_METRIC:
        mt = ev.metric()
        s1 = sid(mt.name)
        val = C._metric_value(mt.value)
    elif kc in (C.K_RANGE_BEGIN, C.K_RANGE_ACTIVE, C.K_RANGE_END):
        r_ = ev.range_()
        s1 = sid(r_.name)
        rk, rid = int(r_.scope.kind), r_.scope.id
    elif kc == C.K_LABEL:
        lb = ev.label()
        s1 = sid(lb.label)
        rk, rid = int(lb.resource.kind), lb.resource.id
    elif kc == C.K_SYNC:
        val = float(ev.sync().n)
    elif kc in (C.K_TASK_BEGIN, C.K_TASK_END):
        tk = ev.task()
        s1, val = sid(tk.type), float(tk.id)
    elif kc == C.K_LOG:
        lg = ev.log()
        s1, val = sid(lg.category), float(lg.task)
    return rk, rid, s1, val


def _exact_floats(u: np.ndarray) -> np.ndarray:
    """uint64 -> float64 as Python's float(int) rounds (numpy's cast may not, beyond 2**53)."""
    v = u.astype(np.float64)
    big = np.flatnonzero(u >= _EXACT_FLOAT)
    if len(big):
        v[big] = [float(x) for x in u[big].tolist()]
    return v


def _columns(plan: _Plan, ints: np.ndarray, args: np.ndarray, stk: np.ndarray, s1: np.ndarray, tstk: np.ndarray,
             slow: dict) -> dict[str, np.ndarray]:
    """A batch's columns from its ints (g, p, m, typ, time), arguments, looked-up ids and rare rows."""
    g, p, m, typ, t = ints
    u = plan.u8[typ].view(np.uint8).reshape(len(typ), 8)
    kind, rk, sfrom, sto = u[:, _U_KIND], u[:, _U_RK], u[:, _U_FROM], u[:, _U_TO]
    a0 = args[:, 0]
    src = plan.rid_src[typ]
    rid = np.where(src == _RID_G, g, np.where(src == _RID_P, p, np.where(src == _RID_ARG0, a0.view(np.int64), -1)))
    at = np.flatnonzero(u[:, _U_ADJ])
    if len(at):
        adj = u[at, _U_ADJ]
        sel = at[adj == _ADJ_STEAL]
        sfrom[sel] = np.where(args[sel, 3] == plan.abandoned, C.P_IDLE, C.P_RUNNING)
        sel = at[adj == _ADJ_PROCSTATUS]
        sfrom[sel] = args[sel, 2] & 0xFF
        sto[sel] = plan.proc_status[args[sel, 1].astype(np.intp)]
        sel = at[adj == _ADJ_GOSTATUS]
        packed = args[sel, 2]
        sfrom[sel] = (packed >> np.uint64(32)) & np.uint64(0xFF)
        sto[sel] = plan.go_status[(packed & np.uint64(0xFFFFFFFF)).astype(np.intp)]
    np.copyto(tstk, stk, where=u[:, _U_TSTK].view(bool))
    # a region's task, a metric's value, a sync's number
    val = _exact_floats(np.where(u[:, _U_VAL].view(bool), a0, np.uint64(0)))
    if slow:
        at = np.fromiter(slow.keys(), np.int64, len(slow))
        f = list(zip(*slow.values()))
        rk[at] = f[0]
        rid[at] = f[1]
        sfrom[at] = f[2]
        sto[at] = f[3]
        val[at] = f[4]
    return {"kind": kind, "t": t, "g": g, "p": p, "m": m, "stk": stk, "rk": rk, "rid": rid, "sfrom": sfrom,
            "sto": sto, "s1": s1, "tstk": tstk, "val": val}
