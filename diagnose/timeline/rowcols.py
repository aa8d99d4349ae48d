"""Our reader's raw rows -> `TraceColumns`: the pure-Python reader's column builder.

A raw row is `(table, g, p, m, typ, time, args)` (`TraceReader.raw_events()`; `Event(*row)` is
the event). Python touches each row once, for what depends on the order of the rows: interning
stacks and strings (their ids are given in order of first use, as the kernel gives them) and the
rare kinds read through the Event accessors. Everything that follows from the wire type and the
arguments alone -- kind, the transition's resource, old and new state, a region's task -- is
computed for a chunk of rows at a time with numpy tables indexed by wire type, the same mapping
as `Event.state_transition()` (itself Go's event.go); tests compare the result with the kernel
and with the Event accessors.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from . import columns as C

# what a row's Python pass does beyond its main stack (by wire type)
_SP_NONE, _SP_REASON, _SP_REGION, _SP_CREATE, _SP_SLOW = 0, 1, 2, 3, 4
# where a transition's resource id comes from
_RID_NONE, _RID_ARG0, _RID_G, _RID_P = 0, 1, 2, 3
#: rows kept as Python ints before they become typed column chunks
CHUNK_ROWS = 1 << 14
_U64 = (1 << 64) - 1
_EXACT_FLOAT = 1 << 53


class _Plan:
    """Per-wire-type tables (from the reader's own constants, `columns._reader_tables`)."""

    def __init__(self) -> None:
        st, kinds, main_stack, go_status, proc_status, abandoned = C._reader_tables()
        self.main_stack = main_stack
        self.kinds = kinds
        self.kind = np.array(kinds, np.uint8)
        self.code = np.array(st, np.int64)
        self.go_status = np.array(go_status, np.uint8)
        self.proc_status = np.array(proc_status, np.uint8)
        self.abandoned = abandoned
        sp = [_SP_NONE] * 256
        for typ in range(256):
            k, code = kinds[typ], st[typ]
            if k == C.K_STATE:
                sp[typ] = (_SP_REASON if code in (C._ST_GOBLOCK, C._ST_GOSTOP) else
                           _SP_CREATE if code in (C._ST_CREATE, C._ST_CREATEBLOCKED) else
                           _SP_SLOW if code == 0 else _SP_NONE)
            elif k in (C.K_REGION_BEGIN, C.K_REGION_END):
                sp[typ] = _SP_REGION
            elif k not in (C.K_BAD, C.K_STACKSAMPLE, C.K_EXPERIMENTAL):
                sp[typ] = _SP_SLOW  # metric, range, label, sync, task, log: the accessors
        self.special = tuple(sp)
        G, P = C.R_GOROUTINE, C.R_PROC
        n = 18
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
            C._ST_PROCSTEAL: (P, _RID_ARG0, 0, C.P_IDLE),  # from: by args[3] (below)
            C._ST_PROCSTATUS: (P, _RID_ARG0, 0, 0),  # from/to: by args[2]/args[1] (below)
            C._ST_GOSTATUS: (G, _RID_ARG0, 0, 0),  # from/to: by args[2] (below)
            C._ST_CREATE: (G, _RID_ARG0, C.G_NOTEXIST, C.G_RUNNABLE),
            C._ST_CREATEBLOCKED: (G, _RID_ARG0, C.G_NOTEXIST, C.G_WAITING),
            C._ST_CREATESYSCALL: (G, _RID_ARG0, C.G_NOTEXIST, C.G_SYSCALL),
            C._ST_DESTROY: (G, _RID_G, C.G_RUNNING, C.G_NOTEXIST),
            C._ST_DESTROYSYSCALL: (G, _RID_G, C.G_SYSCALL, C.G_NOTEXIST),
        }.items():
            rk[code], src[code], fr[code], to[code] = r, s, f, t
        for code in (C._ST_GOBLOCK, C._ST_GOSTOP, C._ST_SYSBEGIN, C._ST_GOSTATUS):
            tstk_is_stk[code] = True
        self.rk = np.array(rk, np.uint8)
        self.rid_src = np.array(src, np.int64)
        self.fr = np.array(fr, np.uint8)
        self.to = np.array(to, np.uint8)
        self.tstk_is_stk = np.array(tstk_is_stk, bool)


_PLAN: _Plan | None = None

#: ints per row in the Python pass: typ t g p m stk s1 tstk (and the four args apart, as uint64)
_NI = 8


def build_from_rows(rows: Iterable[tuple], meta: dict[str, Any] | None = None) -> C.TraceColumns:
    """Columns of our reader's raw rows (see the module doc)."""
    from ..read import Event

    global _PLAN
    if _PLAN is None:
        _PLAN = _Plan()
    plan = _PLAN
    MAIN_STACK, SPECIAL = plan.main_stack, plan.special
    flat: list[int] = []  # _NI ints per row
    put = flat.extend
    flat_args: list[int] = []  # the 4 args per row
    put_args = flat_args.extend
    slow: dict[int, tuple[int, int, int, int, float]] = {}  # row in chunk -> (rk, rid, sfrom, sto, val)
    chunks: dict[str, list[np.ndarray]] = {name: [] for name, _, _ in C._COLS}
    row = -1  # in the chunk
    tabs = C._Tables()
    sid = tabs.sid
    intern_frames = tabs.intern_frames
    intern_stack = tabs.intern_stack
    cur = None
    stk_cache: dict[int, int] = {}
    str_cache: dict[int, int] = {}

    def slow_row(row: int, tbl: Any, g: int, p: int, m: int, typ: int, t: int, a: list) -> tuple[int, int]:
        """(s1, tstk) of a rare row, its other fields in `slow`, through the Event accessors."""
        ev = Event(tbl, g, p, m, typ, t, a)
        kc = plan.kinds[typ]
        if kc == C.K_STATE:  # a wire type of kind StateTransition the fast tables do not know
            tr = ev.state_transition()
            rid = tr.resource.id
            if rid >= 1 << 63:
                rid -= 1 << 64
            slow[row] = (int(tr.resource.kind), rid, int(tr.old_state), int(tr.new_state), 0.0)
            return (sid(tr.reason) if tr.reason else 0), (intern_frames(tr.stack.frames()) if tr.stack else 0)
        rk, rid, s1, val = _slow_details(ev, kc, sid)
        slow[row] = (rk, rid if rk else -1, 0, 0, val)
        return s1, 0

    for tbl, g, p, m, typ, t, a in rows:
        row += 1
        if row == CHUNK_ROWS:
            _flush(plan, flat, flat_args, slow, chunks)
            row = 0
        if tbl is not cur:
            cur = tbl
            stk_cache = {}
            str_cache = {}
        si = MAIN_STACK[typ]
        stk = 0
        if si >= 0:
            x = a[si]
            if x:
                stk = stk_cache.get(x)
                if stk is None:
                    stk = stk_cache[x] = intern_stack(tbl, x)
        sp = SPECIAL[typ]
        if not sp:
            put((typ, t, g, p, m, stk, 0, 0))
        elif sp == _SP_REGION or sp == _SP_REASON:  # Event.region().type / the transition's reason
            x = a[1] if sp == _SP_REGION else a[0]
            s1 = str_cache.get(x)
            if s1 is None:
                s1 = str_cache[x] = sid(tbl.strings.must_get(x))
            put((typ, t, g, p, m, stk, s1, 0))
        elif sp == _SP_CREATE:  # the new goroutine's stack
            x = a[1]
            tstk = 0
            if x:
                tstk = stk_cache.get(x)
                if tstk is None:
                    tstk = stk_cache[x] = intern_stack(tbl, x)
            put((typ, t, g, p, m, stk, 0, tstk))
        else:
            s1, tstk = slow_row(row, tbl, g, p, m, typ, t, a)
            put((typ, t, g, p, m, stk, s1, tstk))
        put_args(a)
    _flush(plan, flat, flat_args, slow, chunks)
    arrays = {}
    for name, _, dt in C._COLS:  # one column at a time: the peak is the chunks and one column
        parts = chunks.pop(name)
        arrays[name] = np.concatenate(parts) if parts else np.zeros(0, dt)
        del parts
    return tabs.finish_arrays(arrays, meta)


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


def _flush(plan: _Plan, flat: list[int], flat_args: list[int], slow: dict, chunks: dict[str, list[np.ndarray]]) -> None:
    """The rows so far (Python ints) as typed column chunks; empties `flat`, `flat_args`, `slow`."""
    if not flat:
        return
    n = len(flat) // _NI
    rows = np.fromiter(flat, np.int64, len(flat)).reshape(n, _NI)
    try:
        args = np.fromiter(flat_args, np.uint64, len(flat_args)).reshape(n, 4)
    except OverflowError:  # a negative argument (not from the wire): its uint64 bits
        args = np.fromiter((x & _U64 for x in flat_args), np.uint64, len(flat_args)).reshape(n, 4)
    del flat[:], flat_args[:]
    typ = rows[:, 0]
    kind = plan.kind[typ]
    code = plan.code[typ]
    a0, a1, a2, a3 = args[:, 0], args[:, 1], args[:, 2], args[:, 3]
    rk = plan.rk[code]
    src = plan.rid_src[code]
    rid = np.full(n, -1, np.int64)
    for s_, col in ((_RID_ARG0, a0.view(np.int64)), (_RID_G, rows[:, 2]), (_RID_P, rows[:, 3])):
        sel = src == s_
        rid[sel] = col[sel]
    sfrom = plan.fr[code]
    sto = plan.to[code]
    sel = code == C._ST_PROCSTEAL
    if sel.any():
        sfrom[sel] = np.where(a3[sel] == plan.abandoned, C.P_IDLE, C.P_RUNNING)
    sel = code == C._ST_PROCSTATUS
    if sel.any():
        sfrom[sel] = a2[sel] & 0xFF
        sto[sel] = plan.proc_status[a1[sel].astype(np.intp)]
    sel = code == C._ST_GOSTATUS
    if sel.any():
        packed = a2[sel]
        sfrom[sel] = (packed >> np.uint64(32)) & np.uint64(0xFF)
        sto[sel] = plan.go_status[(packed & np.uint64(0xFFFFFFFF)).astype(np.intp)]
    tstk = rows[:, 7].copy()
    sel = plan.tstk_is_stk[code]
    tstk[sel] = rows[sel, 5]
    val = np.zeros(n, np.float64)
    sel = np.flatnonzero((kind == C.K_REGION_BEGIN) | (kind == C.K_REGION_END))  # Region.task
    if len(sel):
        task = a0[sel]
        val[sel] = task.astype(np.float64)
        big = np.flatnonzero(task >= _EXACT_FLOAT)
        if len(big):  # Python's float(int) for the ones float64 cannot hold exactly
            val[sel[big]] = [float(int(x)) for x in task[big]]
    if slow:
        at = np.fromiter(slow.keys(), np.int64, len(slow))
        f = list(zip(*slow.values()))
        rk[at] = f[0]
        rid[at] = f[1]
        sfrom[at] = f[2]
        sto[at] = f[3]
        val[at] = f[4]
        slow.clear()
    out = {"kind": kind, "t": rows[:, 1], "g": rows[:, 2], "p": rows[:, 3], "m": rows[:, 4],
           "stk": rows[:, 5], "rk": rk, "rid": rid, "sfrom": sfrom, "sto": sto, "s1": rows[:, 6],
           "tstk": tstk, "val": val}
    for name, _, dt in C._COLS:
        chunks[name].append(out[name].astype(dt))

