"""Events -> columns: the ONE place where per-event Python objects are touched.

Everything after this step is whole-column numpy. A compiled decode kernel can later fill a
`TraceColumns` directly (same arrays, same codes) and skip `build_columns` entirely.

Codes follow Go's `internal/trace` numbering so that a kernel written against Go's sources
produces the same values:

* `kind`  EventKind: Sync=1 Metric=2 Label=3 StackSample=4 RangeBegin=5 RangeActive=6
  RangeEnd=7 TaskBegin=8 TaskEnd=9 RegionBegin=10 RegionEnd=11 Log=12 StateTransition=13
  Experimental=14 (0 = Bad/unknown).
* `sfrom`/`sto` GoState (Undetermined=0 NotExist=1 Runnable=2 Running=3 Waiting=4 Syscall=5)
  for goroutine transitions, ProcState (Undetermined=0 NotExist=1 Running=2 Idle=3) for procs.
* `rk` ResourceKind: None=0 Goroutine=1 Proc=2 Thread=3 -- the transition's resource, a
  range's scope or a label's resource; `rid` its id.

Per event (N rows): `kind t g p m stk rk rid sfrom sto s1 tstk val`.

* `t` time in ns (the trace's own clock), `g`/`p`/`m` the execution context (-1 = none),
* `stk` the event's stack (`Event.Stack()`), `tstk` the transition's stack
  (`StateTransition.Stack`); both ids into `stacks`, 0 = no stack,
* `s1` a string id: transition reason, metric/range/label name, task/region type, log
  category; `val` metric value, sync number, task id.

Tables: `strings` (id 0 = ""), frames (`frame_pc frame_func frame_file frame_line`, func/file
are string ids), stacks (`stack_frames[stack_off[i]:stack_off[i+1]]`, leaf first; stack 0 is
the empty stack).
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from ..read import GoState, ProcState
from ..read.base import as_text

# EventKind
K_BAD, K_SYNC, K_METRIC, K_LABEL, K_STACKSAMPLE = 0, 1, 2, 3, 4
K_RANGE_BEGIN, K_RANGE_ACTIVE, K_RANGE_END = 5, 6, 7
K_TASK_BEGIN, K_TASK_END, K_REGION_BEGIN, K_REGION_END, K_LOG = 8, 9, 10, 11, 12
K_STATE, K_EXPERIMENTAL = 13, 14
KIND_CODE = {
    "Bad": K_BAD, "Sync": K_SYNC, "Metric": K_METRIC, "Label": K_LABEL, "StackSample": K_STACKSAMPLE,
    "RangeBegin": K_RANGE_BEGIN, "RangeActive": K_RANGE_ACTIVE, "RangeEnd": K_RANGE_END,
    "TaskBegin": K_TASK_BEGIN, "TaskEnd": K_TASK_END, "RegionBegin": K_REGION_BEGIN,
    "RegionEnd": K_REGION_END, "Log": K_LOG, "StateTransition": K_STATE, "Experimental": K_EXPERIMENTAL,
}

# GoState / ProcState: the column codes are the reader's own enum values
G_UNDETERMINED, G_NOTEXIST, G_RUNNABLE, G_RUNNING, G_WAITING, G_SYSCALL = (
    int(GoState.Undetermined), int(GoState.NotExist), int(GoState.Runnable), int(GoState.Running),
    int(GoState.Waiting), int(GoState.Syscall))
GO_STATE_CODE = {s.name: int(s) for s in GoState}
GO_STATE_NAME = {v: k for k, v in GO_STATE_CODE.items()}
P_UNDETERMINED, P_NOTEXIST, P_RUNNING, P_IDLE = (int(ProcState.Undetermined), int(ProcState.NotExist),
                                                 int(ProcState.Running), int(ProcState.Idle))
PROC_STATE_CODE = {s.name: int(s) for s in ProcState}
# ResourceKind
R_NONE, R_GOROUTINE, R_PROC, R_THREAD = 0, 1, 2, 3
RESOURCE_CODE = {"None": 0, "None_": 0, "Goroutine": 1, "Proc": 2, "Thread": 3,
                 "none": 0, "goroutine": 1, "proc": 2, "thread": 3, "": 0}

_COLS = (("kind", "B", np.uint8), ("t", "q", np.int64), ("g", "q", np.int64), ("p", "q", np.int64),
         ("m", "q", np.int64), ("stk", "i", np.int32), ("rk", "B", np.uint8), ("rid", "q", np.int64),
         ("sfrom", "B", np.uint8), ("sto", "B", np.uint8), ("s1", "i", np.int32), ("tstk", "i", np.int32),
         ("val", "d", np.float64))


@dataclass
class TraceColumns:
    """Struct-of-arrays view of a whole trace (see the module doc for the codes)."""

    kind: np.ndarray
    t: np.ndarray
    g: np.ndarray
    p: np.ndarray
    m: np.ndarray
    stk: np.ndarray
    rk: np.ndarray
    rid: np.ndarray
    sfrom: np.ndarray
    sto: np.ndarray
    s1: np.ndarray
    tstk: np.ndarray
    val: np.ndarray
    strings: list[str]
    frame_pc: np.ndarray
    frame_func: np.ndarray
    frame_file: np.ndarray
    frame_line: np.ndarray
    stack_off: np.ndarray
    stack_frames: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.kind.shape[0])

    @property
    def n_stacks(self) -> int:
        return int(self.stack_off.shape[0] - 1)

    def string_id(self, s: str) -> int:
        """Id of `s` in the string table, or -1 when the trace never uses it."""
        idx = self.meta.get("_string_index")
        if idx is None:
            idx = {v: i for i, v in enumerate(self.strings)}
            self.meta["_string_index"] = idx
        return idx.get(s, -1)

    def goroutine_changes(self, g: int) -> bool:
        """Whether goroutine `g` has a state transition here."""
        return bool(((self.rid == g) & (self.kind == K_STATE) & (self.rk == R_GOROUTINE)).any())

    def continue_clock(self, last_ts: int) -> int:
        """Times as one reader of the whole trace gives them, for a window (whole generations read
        alone) that follows one whose last event was at `last_ts`; returns this window's last.
        Go's reader never lets time go back: an event at or before the last one is moved to 1 ns
        after it. A window's reader starts that chain afresh, so the events at its start that
        are earlier than the previous window's end keep their own times; continued, the chain is
        max(t_i, last_ts + i) (a window's times already grow by >= 1 ns a row, and its first row,
        the generation's Sync, is the one the whole trace has at the previous window's end)."""
        n = len(self)
        if n > 1:
            self.t[1:] = np.maximum(self.t[1:], last_ts + np.arange(1, n, dtype=self.t.dtype))
        return int(self.t[-1]) if n else last_ts

    def stack(self, sid: int) -> list[tuple[str, str, int, int]]:
        """Frames of stack `sid`, leaf first: (func, file, line, pc)."""
        if sid <= 0:
            return []
        fr = self.stack_frames[self.stack_off[sid]:self.stack_off[sid + 1]]
        s = self.strings
        return [(s[self.frame_func[f]], s[self.frame_file[f]], int(self.frame_line[f]), int(self.frame_pc[f]))
                for f in fr]

    def stack_funcs(self, sid: int) -> list[str]:
        if sid <= 0:
            return []
        fr = self.stack_frames[self.stack_off[sid]:self.stack_off[sid + 1]]
        s = self.strings
        ff = self.frame_func
        return [s[ff[f]] for f in fr]


def _enum_name(v: Any) -> str:
    if isinstance(v, str):
        return v
    n = getattr(v, "name", None)
    if isinstance(n, str):
        # Enum members like GoState.Running / EventKind.STATE_TRANSITION
        return n
    return str(v)


def _norm_kind(v: Any) -> int:
    if isinstance(v, int):
        return int(v)
    name = _enum_name(v)
    code = KIND_CODE.get(name)
    if code is None:
        code = KIND_CODE.get("".join(p.capitalize() for p in name.lower().split("_")), K_BAD)
    return code


def _metric_value(v: Any) -> float:
    """A metric's value as a float: a number as it is, a Value object through its uint64()
    (0 when it has none)."""
    if not isinstance(v, (int, float)):
        u = getattr(v, "uint64", None)
        v = u() if callable(u) else 0
    return float(v)


def _norm_state(v: Any, table: dict[str, int]) -> int:
    if isinstance(v, int):
        return int(v)  # IntEnum values use Go's numbering already
    name = _enum_name(v)
    code = table.get(name)
    if code is None:
        code = table.get(name.capitalize(), table.get("".join(p.capitalize() for p in name.lower().split("_")), 0))
    return code


# --------------------------------------------------------------------------------------------
# Fast path for diagnose.read.Event: read its wire fields (typ, args, table) directly instead of
# building StateTransition/Stack objects per event -- the same mapping as Event.state_transition()
# (itself Go's event.go); tests check both paths and Go's own parser give identical columns.
# --------------------------------------------------------------------------------------------
(_ST_GOSTART, _ST_GOSTOP, _ST_GOBLOCK, _ST_UNBLOCK, _ST_SYSBEGIN, _ST_SYSEND, _ST_SYSENDBLOCKED, _ST_PROCSTART,
 _ST_PROCSTOP, _ST_PROCSTEAL, _ST_PROCSTATUS, _ST_CREATE, _ST_CREATEBLOCKED, _ST_CREATESYSCALL, _ST_DESTROY,
 _ST_DESTROYSYSCALL, _ST_GOSTATUS) = range(1, 18)


def _reader_tables():
    from ..read import event as rev, tracev2 as t2  # the reader's own constants

    st = [0] * 256
    for typ, code in ((t2.EvGoStart, _ST_GOSTART), (t2.EvGoStop, _ST_GOSTOP), (t2.EvGoBlock, _ST_GOBLOCK),
                      (t2.EvGoUnblock, _ST_UNBLOCK), (t2.EvGoSwitch, _ST_UNBLOCK),
                      (t2.EvGoSwitchDestroy, _ST_UNBLOCK), (t2.EvGoSyscallBegin, _ST_SYSBEGIN),
                      (t2.EvGoSyscallEnd, _ST_SYSEND), (t2.EvGoSyscallEndBlocked, _ST_SYSENDBLOCKED),
                      (t2.EvProcStart, _ST_PROCSTART), (t2.EvProcStop, _ST_PROCSTOP),
                      (t2.EvProcSteal, _ST_PROCSTEAL), (t2.EvProcStatus, _ST_PROCSTATUS),
                      (t2.EvGoCreate, _ST_CREATE), (t2.EvGoCreateBlocked, _ST_CREATEBLOCKED),
                      (t2.EvGoCreateSyscall, _ST_CREATESYSCALL), (t2.EvGoDestroy, _ST_DESTROY),
                      (t2.EvGoDestroySyscall, _ST_DESTROYSYSCALL), (t2.EvGoStatus, _ST_GOSTATUS),
                      (t2.EvGoStatusStack, _ST_GOSTATUS)):
        st[typ] = code
    kinds = tuple(int(k) for k in rev.TYPE_TO_KIND)
    main_stack = list(rev._MAIN_STACK_ARG)
    main_stack[t2.EvCPUSample] = 0
    main_stack[rev.EV_SYNC] = -1
    go_status = tuple(int(x) for x in rev.GO_STATUS_TO_STATE)
    proc_status = tuple(int(x) for x in rev.PROC_STATUS_TO_STATE)
    return st, kinds, tuple(main_stack), go_status, proc_status, int(t2.ProcSyscallAbandoned)


def _is_reader_event(ev: Any) -> bool:
    return type(ev).__module__.endswith("read.event") and hasattr(ev, "typ") and hasattr(ev, "args")


def _build_from_reader(first: Any, rest: Iterable[Any], meta: dict[str, Any] | None) -> TraceColumns:
    """Our reader's Events: through their raw rows (`build_from_rows`)."""
    return build_from_rows(((e.table, e.g, e.p, e.m, e.typ, e.time, e.args) for e in _chain(first, rest)), meta)


def build_from_rows(rows: Iterable[tuple], meta: dict[str, Any] | None = None) -> TraceColumns:
    """Columns of our reader's raw rows (`TraceReader.raw_events()`: `(table, g, p, m, typ, time,
    args)`, `Event(*row)` being the event): see `rowcols`."""
    from .rowcols import build_from_rows as build

    return build(rows, meta)


class _Tables:
    """String, frame and stack interning shared by both paths."""

    def __init__(self) -> None:
        self.strings: list[str] = [""]
        self.sidx: dict[str, int] = {"": 0}
        self.f_pc, self.f_func, self.f_file, self.f_line = array("Q"), array("i"), array("i"), array("q")
        self.fidx: dict[Any, int] = {}
        self.stack_off = array("q", [0, 0])
        self.stack_frames = array("i")
        self.by_frames: dict[tuple, int] = {(): 0}
        self._pc_table: Any = None  # the generation table _pc_fid belongs to
        self._pc_fid: dict[int, int] = {}  # its PCs' frame ids

    def sid(self, s: str) -> int:
        i = self.sidx.get(s)
        if i is None:
            i = self.sidx[s] = len(self.strings)
            self.strings.append(as_text(s))
        return i

    def intern_frames(self, frames) -> int:
        return self._stack_id(tuple(self._frame_id(int(getattr(fr, "pc", 0) or 0), fr.func, fr.file, int(fr.line))
                                    for fr in frames))

    def intern_stack(self, table: Any, stack_id: int) -> int:
        """`intern_frames(table.stack_frames(stack_id))` -- the same ids, in the same order of
        first use -- with each PC of a generation's table resolved once, not once per stack it
        appears in (a window re-reads thousands of stacks per generation; issue 18)."""
        if table is not self._pc_table:
            self._pc_table = table
            self._pc_fid = {}
        if stack_id == 0:
            return 0
        pc_fid = self._pc_fid
        pcs = table.stacks.must_get(stack_id)
        ids = list(map(pc_fid.get, pcs))
        if None in ids:  # PCs seen first here: resolved in stack order, as intern_frames does
            for i, j in enumerate(ids):
                if j is None:
                    pc = pcs[i]
                    j = pc_fid.get(pc)
                    if j is None:
                        j = pc_fid[pc] = self._frame_id(*table.frame_key(pc))
                    ids[i] = j
        return self._stack_id(tuple(ids))

    def _frame_id(self, pc: int, func: str, file: str, line: int) -> int:
        key = (pc, func, file, line)
        j = self.fidx.get(key)
        if j is None:
            j = self.fidx[key] = len(self.f_pc)
            self.f_pc.append(pc & 0xFFFFFFFFFFFFFFFF)
            self.f_func.append(self.sid(func))
            self.f_file.append(self.sid(file))
            self.f_line.append(line)
        return j

    def _stack_id(self, ids: tuple) -> int:
        i = self.by_frames.get(ids)
        if i is None:
            i = len(self.stack_off) - 1
            self.stack_frames.extend(ids)
            self.stack_off.append(len(self.stack_frames))
            self.by_frames[ids] = i
        return i

    def finish(self, cols: dict[str, array], meta: dict[str, Any] | None) -> TraceColumns:
        arrays = {name: np.frombuffer(cols[name], dtype=dt).copy() if len(cols[name]) else np.zeros(0, dt)
                  for name, _, dt in _COLS}
        return self.finish_arrays(arrays, meta)

    def finish_arrays(self, arrays: dict[str, np.ndarray], meta: dict[str, Any] | None) -> TraceColumns:
        return TraceColumns(
            **arrays, strings=self.strings,
            frame_pc=np.array(self.f_pc, dtype=np.uint64), frame_func=np.array(self.f_func, dtype=np.int32),
            frame_file=np.array(self.f_file, dtype=np.int32), frame_line=np.array(self.f_line, dtype=np.int64),
            stack_off=np.frombuffer(self.stack_off, dtype=np.int64).copy(),
            stack_frames=np.array(self.stack_frames, dtype=np.int32), meta=dict(meta or {}))


def build_columns(events: Iterable[Any], meta: dict[str, Any] | None = None, *, generic: bool = False) -> TraceColumns:
    """Turn an event stream (in Go's order) into `TraceColumns`.

    Reads the public surface of `diagnose.read.Event` (Go's `trace.Event`): `kind`, `time`,
    `goroutine`, `proc`, `thread`, `stack`, `state_transition()`, `metric()`, `range_()`,
    `label()`, `task()`, `region()`, `log()`, `sync()`. `tests/support/goparsed.GoEvent` (Go's own parser, for tests) offers the same.
    Enum values are normalised once per distinct value, stacks once per (table, id).
    Our reader's events take a faster path over their wire fields (`_build_from_reader`);
    `generic=True` forces the accessor path (tests compare the two).
    """
    it = iter(events)
    first = next(it, None)
    if first is None:
        return _Tables().finish({name: array(code) for name, code, _ in _COLS}, meta)
    if not generic and _is_reader_event(first):
        return _build_from_reader(first, it, meta)
    events = _chain(first, it)
    cols = {name: array(code) for name, code, _ in _COLS}
    a_kind, a_t, a_g, a_p, a_m = cols["kind"], cols["t"], cols["g"], cols["p"], cols["m"]
    a_stk, a_rk, a_rid, a_sfrom, a_sto = cols["stk"], cols["rk"], cols["rid"], cols["sfrom"], cols["sto"]
    a_s1, a_tstk, a_val = cols["s1"], cols["tstk"], cols["val"]

    tabs = _Tables()
    sid, intern_frames = tabs.sid, tabs.intern_frames
    # stack handle -> id; handles are (table, id) pairs, valid for one generation: the cache is
    # dropped whenever the table changes, so no handle outlives its generation here.
    handle_cache: dict[Any, int] = {}
    cur_table: list[Any] = [None]
    kind_cache: dict[Any, int] = {}
    st_cache: dict[Any, int] = {}
    rk_cache: dict[Any, int] = {}

    def stack_id(stk: Any) -> int:
        if not stk:
            return 0
        tbl = getattr(stk, "table", None)
        if tbl is not cur_table[0]:
            handle_cache.clear()
            cur_table[0] = tbl
        try:
            i = handle_cache.get(stk)
        except TypeError:
            return intern_frames(_frames_of(stk))
        if i is None:
            i = handle_cache[stk] = intern_frames(_frames_of(stk))
        return i

    def code(cache: dict, v: Any, table: dict[str, int]) -> int:
        c = cache.get(v)
        if c is None:
            c = cache[v] = _norm_state(v, table)
        return c

    for ev in events:
        k = ev.kind
        kc = kind_cache.get(k)
        if kc is None:
            kc = kind_cache[k] = _norm_kind(k)
        a_kind.append(kc)
        a_t.append(ev.time)
        a_g.append(ev.goroutine)
        a_p.append(ev.proc)
        a_m.append(ev.thread)
        a_stk.append(stack_id(ev.stack))
        rk = 0
        rid = -1
        sfrom = sto = 0
        s1 = 0
        tstk = 0
        val = 0.0
        if kc == K_STATE:
            tr = ev.state_transition()
            res = tr.resource
            rkn = res.kind
            rk = rk_cache.get(rkn)
            if rk is None:
                rk = rk_cache[rkn] = _norm_state(rkn, RESOURCE_CODE)
            rid = res.id
            table = PROC_STATE_CODE if rk == R_PROC else GO_STATE_CODE
            fs, ts = tr.old_state, tr.new_state
            sfrom = st_cache.get((rk, fs))
            if sfrom is None:
                sfrom = st_cache[(rk, fs)] = _norm_state(fs, table)
            sto = st_cache.get((rk, ts))
            if sto is None:
                sto = st_cache[(rk, ts)] = _norm_state(ts, table)
            r = tr.reason
            if r:
                s1 = sid(r)
            tstk = stack_id(tr.stack)
        elif kc == K_METRIC:
            mt = ev.metric()
            s1 = sid(mt.name)
            val = _metric_value(mt.value)
        elif kc == K_RANGE_BEGIN or kc == K_RANGE_ACTIVE or kc == K_RANGE_END or kc == K_LABEL:
            if kc == K_LABEL:
                lb = ev.label()
                s1 = sid(lb.label)
                sc = lb.resource
            else:
                r_ = ev.range_()
                s1 = sid(r_.name)
                sc = r_.scope
            rk = rk_cache.get(sc.kind)
            if rk is None:
                rk = rk_cache[sc.kind] = _norm_state(sc.kind, RESOURCE_CODE)
            rid = sc.id
        elif kc == K_SYNC:
            val = float(ev.sync().n)
        elif kc == K_TASK_BEGIN or kc == K_TASK_END:
            tk = ev.task()
            s1 = sid(tk.type)
            val = float(tk.id)
        elif kc == K_REGION_BEGIN or kc == K_REGION_END:
            rg = ev.region()
            s1 = sid(rg.type)
            val = float(rg.task)
        elif kc == K_LOG:
            lg = ev.log()
            s1 = sid(lg.category)
            val = float(lg.task)
        a_rk.append(rk)
        a_rid.append(rid if rk else -1)
        a_sfrom.append(sfrom)
        a_sto.append(sto)
        a_s1.append(s1)
        a_tstk.append(tstk)
        a_val.append(val)

    return tabs.finish(cols, meta)


def _chain(first: Any, rest: Iterable[Any]):
    yield first
    yield from rest


def _frames_of(stk: Any) -> Iterable[Any]:
    frames = getattr(stk, "frames", None)
    if frames is not None:
        return frames() if callable(frames) else frames
    return stk
