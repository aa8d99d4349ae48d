"""The public event model (port of Go's internal/trace/event.go).

An ``Event`` is what Go's ``trace.Event`` is: a pointer to its generation's ``EvTable``, the
scheduling context it happened in (goroutine, proc, thread), and the wire-level base event
(type, time in ns, up to four arguments). Everything else is derived on demand, exactly as
in Go: ``kind``, ``stack``, ``state_transition()``, ``range_()``, ``metric()``, ... and
``str(ev)`` which equals Go's ``ev.String()``.

Building events (e.g. the v1 converter), like Go's tracev1.go does::

    Event(table, g, p, m, tracev2.EvGoStart, time_ns, [goid, seq, 0, 0])

``args`` holds the wire arguments after the timestamp, in spec order
(``tracev2.SPECS[typ].args[1:]``), padded to 4; for some types the parser stores extra data
after them (see Go's ``baseEvent.extra``): ProcStatus args[2] = old ProcState; ProcSteal
args[3] = old tracev2 ProcStatus; UserTaskEnd args[2] = parent TaskID, args[3] = extra
string ID of the task type (``table.add_extra_string``); GoStatus args[2] =
old GoState << 32 | tracev2 GoStatus; STWEnd args[0] = the STW kind string ID.
Sync events: typ ``EV_SYNC`` and args[0] = N (see ``sync_event``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import tracev2 as t2
from .gofmt import quote, rfc3339nano_local
from .resources import (GoEnum, GoState, NoGoroutine, NoProc, NoThread, ProcState, ResourceID, ResourceKind,
                        StateTransition, go_state_str, proc_state_str)
from .value import Value, string_value, uint64_value

NoTask = (1 << 64) - 1
BackgroundTask = 0

EV_SYNC = 255  # evSync = ^tracev2.EventType(0)


class EventKind(GoEnum):
    Bad = 0
    Sync = 1
    Metric = 2
    Label = 3
    StackSample = 4
    RangeBegin = 5
    RangeActive = 6
    RangeEnd = 7
    TaskBegin = 8
    TaskEnd = 9
    RegionBegin = 10
    RegionEnd = 11
    Log = 12
    StateTransition = 13
    Experimental = 14


_K = EventKind
_TYPE_TO_KIND_MAP = {
    t2.EvCPUSample: _K.StackSample,
    t2.EvProcsChange: _K.Metric,
    t2.EvProcStart: _K.StateTransition,
    t2.EvProcStop: _K.StateTransition,
    t2.EvProcSteal: _K.StateTransition,
    t2.EvProcStatus: _K.StateTransition,
    t2.EvGoCreate: _K.StateTransition,
    t2.EvGoCreateSyscall: _K.StateTransition,
    t2.EvGoStart: _K.StateTransition,
    t2.EvGoDestroy: _K.StateTransition,
    t2.EvGoDestroySyscall: _K.StateTransition,
    t2.EvGoStop: _K.StateTransition,
    t2.EvGoBlock: _K.StateTransition,
    t2.EvGoUnblock: _K.StateTransition,
    t2.EvGoSyscallBegin: _K.StateTransition,
    t2.EvGoSyscallEnd: _K.StateTransition,
    t2.EvGoSyscallEndBlocked: _K.StateTransition,
    t2.EvGoStatus: _K.StateTransition,
    t2.EvSTWBegin: _K.RangeBegin,
    t2.EvSTWEnd: _K.RangeEnd,
    t2.EvGCActive: _K.RangeActive,
    t2.EvGCBegin: _K.RangeBegin,
    t2.EvGCEnd: _K.RangeEnd,
    t2.EvGCSweepActive: _K.RangeActive,
    t2.EvGCSweepBegin: _K.RangeBegin,
    t2.EvGCSweepEnd: _K.RangeEnd,
    t2.EvGCMarkAssistActive: _K.RangeActive,
    t2.EvGCMarkAssistBegin: _K.RangeBegin,
    t2.EvGCMarkAssistEnd: _K.RangeEnd,
    t2.EvHeapAlloc: _K.Metric,
    t2.EvHeapGoal: _K.Metric,
    t2.EvGoLabel: _K.Label,
    t2.EvUserTaskBegin: _K.TaskBegin,
    t2.EvUserTaskEnd: _K.TaskEnd,
    t2.EvUserRegionBegin: _K.RegionBegin,
    t2.EvUserRegionEnd: _K.RegionEnd,
    t2.EvUserLog: _K.Log,
    t2.EvGoSwitch: _K.StateTransition,
    t2.EvGoSwitchDestroy: _K.StateTransition,
    t2.EvGoCreateBlocked: _K.StateTransition,
    t2.EvGoStatusStack: _K.StateTransition,
    t2.EvSpan: _K.Experimental,
    t2.EvSpanAlloc: _K.Experimental,
    t2.EvSpanFree: _K.Experimental,
    t2.EvHeapObject: _K.Experimental,
    t2.EvHeapObjectAlloc: _K.Experimental,
    t2.EvHeapObjectFree: _K.Experimental,
    t2.EvGoroutineStack: _K.Experimental,
    t2.EvGoroutineStackAlloc: _K.Experimental,
    t2.EvGoroutineStackFree: _K.Experimental,
    EV_SYNC: _K.Sync,
}
#: tracev2Type2Kind, indexed by wire type (0..255).
TYPE_TO_KIND: tuple[EventKind, ...] = tuple(_TYPE_TO_KIND_MAP.get(i, _K.Bad) for i in range(256))

#: For each wire type, the index into args of the main stack ID (StackIDs[0]-1), or -1.
_MAIN_STACK_ARG: tuple[int, ...] = tuple(
    (t2.SPECS[i].stack_ids[0] - 1 if i < len(t2.SPECS) and t2.SPECS[i].stack_ids else -1) for i in range(256))


@dataclass(slots=True, unsafe_hash=True)
class StackFrame:
    """One frame: .pc, .func, .file, .line (Go's trace.StackFrame)."""

    pc: int
    func: str
    file: str
    line: int

    def __repr__(self) -> str:
        return f"StackFrame(pc={self.pc:#x}, func={self.func!r}, file={self.file!r}, line={self.line})"


@dataclass(slots=True, eq=False)
class Stack:
    """A handle to a stack in a generation's table (Go's trace.Stack).

    ``NO_STACK`` (no table, id 0) means "no stack". A handle with a table and id 0 is a
    present-but-empty stack, which Go prints as an empty ``Stack=`` section.
    """

    table: Any
    id: int

    def __eq__(self, other) -> bool:
        return isinstance(other, Stack) and self.table is other.table and self.id == other.id

    def __hash__(self) -> int:
        return hash((id(self.table), self.id))

    def __bool__(self) -> bool:
        return not (self.table is None and self.id == 0)

    def frames(self) -> tuple[StackFrame, ...]:
        if self.id == 0 or self.table is None:
            return ()
        return self.table.stack_frames(self.id)

    def __iter__(self):
        return iter(self.frames())

    def __str__(self) -> str:
        return _format_stack(self.table, self.id, "")

    def __repr__(self) -> str:
        return f"Stack(id={self.id}, frames={len(self.frames())})"


NO_STACK = Stack(None, 0)


def _format_stack(table, sid: int, prefix: str) -> str:
    """printStack(w, prefix, frames), cached per table."""
    if table is None or sid == 0:
        return ""
    key = (sid, prefix)
    cache = table._fmt_cache
    s = cache.get(key)
    if s is None:
        parts = []
        for f in table.stack_frames(sid):
            parts.append(f"{prefix}{f.func} @ 0x{f.pc:x}\n{prefix}\t{f.file}:{f.line}\n")
        s = "".join(parts)
        cache[key] = s
    return s


@dataclass(slots=True, eq=False)
class Metric:
    name: str
    value: Value


@dataclass(slots=True, eq=False)
class Label:
    label: str
    resource: ResourceID


@dataclass(slots=True, eq=False)
class Range:
    name: str
    scope: ResourceID


@dataclass(slots=True, eq=False)
class RangeAttribute:
    name: str
    value: Value


@dataclass(slots=True, eq=False)
class Task:
    id: int
    parent: int
    type: str


@dataclass(slots=True, eq=False)
class Region:
    task: int
    type: str


@dataclass(slots=True, eq=False)
class Log:
    task: int
    category: str
    message: str


@dataclass(slots=True, eq=False)
class ClockSnapshot:
    """.trace (ns, trace clock), .mono (ns), .wall_sec/.wall_nsec (Unix time)."""

    trace: int
    mono: int
    wall_sec: int
    wall_nsec: int

    def wall_rfc3339nano(self) -> str:
        return rfc3339nano_local(self.wall_sec, self.wall_nsec)


@dataclass(slots=True, eq=False)
class Sync:
    n: int
    clock_snapshot: ClockSnapshot | None
    experimental_batches: Any


@dataclass(slots=True, eq=False)
class ExperimentalEvent:
    name: str
    experiment: str
    args: list[str]
    _table: Any
    _arg_values: list[int]

    def arg_value(self, i: int) -> Value:
        if i < 0 or i >= len(self.args):
            raise IndexError(f"experimental event argument index {i} out of bounds [0, {len(self.args)})")
        if self.args[i].endswith("string"):
            return string_value(self._table.strings.must_get(self._arg_values[i]))
        return uint64_value(self._arg_values[i])


def _i64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


@dataclass(slots=True, eq=False)
class Event:
    """A trace event (Go's trace.Event). See the module docstring for construction."""

    table: Any
    g: int
    p: int
    m: int
    typ: int
    time: int
    args: list

    # --- execution context -------------------------------------------------------------
    @property
    def kind(self) -> EventKind:
        return TYPE_TO_KIND[self.typ]

    @property
    def goroutine(self) -> int:
        return self.g

    @property
    def proc(self) -> int:
        return self.p

    @property
    def thread(self) -> int:
        return self.m

    @property
    def stack(self) -> Stack:
        """Stack(): the stack of the current execution context, or NO_STACK."""
        typ = self.typ
        if typ == EV_SYNC:
            return NO_STACK
        if typ == t2.EvCPUSample:
            return Stack(self.table, self.args[0])
        i = _MAIN_STACK_ARG[typ]
        if i < 0:
            return NO_STACK
        sid = self.args[i]
        if sid == 0:
            return NO_STACK
        return Stack(self.table, sid)

    # --- details -----------------------------------------------------------------------
    def metric(self) -> Metric:
        if self.kind != EventKind.Metric:
            raise ValueError("Metric called on non-Metric event")
        typ = self.typ
        if typ == t2.EvProcsChange:
            return Metric("/sched/gomaxprocs:threads", uint64_value(self.args[0]))
        if typ == t2.EvHeapAlloc:
            return Metric("/memory/classes/heap/objects:bytes", uint64_value(self.args[0]))
        if typ == t2.EvHeapGoal:
            return Metric("/gc/heap/goal:bytes", uint64_value(self.args[0]))
        raise ValueError(f"internal error: unexpected wire-format event type for Metric kind: {typ}")

    def label(self) -> Label:
        if self.kind != EventKind.Label:
            raise ValueError("Label called on non-Label event")
        if self.typ != t2.EvGoLabel:
            raise ValueError(f"internal error: unexpected wire-format event type for Label kind: {self.typ}")
        return Label(self.table.strings.must_get(self.args[0]), ResourceID(ResourceKind.Goroutine, self.g))

    def range_(self) -> Range:
        kind = self.kind
        if kind not in (EventKind.RangeBegin, EventKind.RangeActive, EventKind.RangeEnd):
            raise ValueError("Range called on non-Range event")
        typ = self.typ
        if typ in (t2.EvSTWBegin, t2.EvSTWEnd):
            name = "stop-the-world (" + self.table.strings.must_get(self.args[0]) + ")"
            return Range(name, ResourceID(ResourceKind.Goroutine, self.g))
        if typ in (t2.EvGCBegin, t2.EvGCActive, t2.EvGCEnd):
            return Range("GC concurrent mark phase", ResourceID(ResourceKind.None_))
        if typ in (t2.EvGCSweepBegin, t2.EvGCSweepActive, t2.EvGCSweepEnd):
            pid = _i64(self.args[0]) if typ == t2.EvGCSweepActive else self.p
            return Range("GC incremental sweep", ResourceID(ResourceKind.Proc, pid))
        if typ in (t2.EvGCMarkAssistBegin, t2.EvGCMarkAssistActive, t2.EvGCMarkAssistEnd):
            gid = _i64(self.args[0]) if typ == t2.EvGCMarkAssistActive else self.g
            return Range("GC mark assist", ResourceID(ResourceKind.Goroutine, gid))
        raise ValueError(f"internal error: unexpected wire-event type for Range kind: {typ}")

    def range_attributes(self) -> list[RangeAttribute]:
        if self.kind != EventKind.RangeEnd:
            raise ValueError("Range called on non-Range event")
        if self.typ != t2.EvGCSweepEnd:
            return []
        return [RangeAttribute("bytes swept", uint64_value(self.args[0])),
                RangeAttribute("bytes reclaimed", uint64_value(self.args[1]))]

    def task(self) -> Task:
        kind = self.kind
        if kind != EventKind.TaskBegin and kind != EventKind.TaskEnd:
            raise ValueError("Task called on non-Task event")
        if self.typ == t2.EvUserTaskBegin:
            parent = self.args[1]
            typ = self.table.strings.must_get(self.args[2])
        elif self.typ == t2.EvUserTaskEnd:
            parent = self.args[2]
            typ = self.table.get_extra_string(self.args[3])
        else:
            raise ValueError(f"internal error: unexpected wire-format event type for Task kind: {self.typ}")
        return Task(self.args[0], parent, typ)

    def region(self) -> Region:
        kind = self.kind
        if kind != EventKind.RegionBegin and kind != EventKind.RegionEnd:
            raise ValueError("Region called on non-Region event")
        return Region(self.args[0], self.table.strings.must_get(self.args[1]))

    def log(self) -> Log:
        if self.kind != EventKind.Log:
            raise ValueError("Log called on non-Log event")
        s = self.table.strings
        return Log(self.args[0], s.must_get(self.args[1]), s.must_get(self.args[2]))

    def state_transition(self) -> StateTransition:
        if self.kind != EventKind.StateTransition:
            raise ValueError("StateTransition called on non-StateTransition event")
        typ = self.typ
        a = self.args
        G = StateTransition.go
        P = StateTransition.proc_
        if typ == t2.EvProcStart:
            s = P(_i64(a[0]), ProcState.Idle, ProcState.Running)
        elif typ == t2.EvProcStop:
            s = P(self.p, ProcState.Running, ProcState.Idle)
        elif typ == t2.EvProcSteal:
            before = ProcState.Running
            if a[3] == t2.ProcSyscallAbandoned:
                before = ProcState.Idle
            s = P(_i64(a[0]), before, ProcState.Idle)
        elif typ == t2.EvProcStatus:
            s = P(_i64(a[0]), a[2] & 0xFF, PROC_STATUS_TO_STATE[a[1]])
        elif typ == t2.EvGoCreate or typ == t2.EvGoCreateBlocked:
            status = GoState.Waiting if typ == t2.EvGoCreateBlocked else GoState.Runnable
            s = G(_i64(a[0]), GoState.NotExist, status)
            s.stack = Stack(self.table, a[1])
        elif typ == t2.EvGoCreateSyscall:
            s = G(_i64(a[0]), GoState.NotExist, GoState.Syscall)
        elif typ == t2.EvGoStart:
            s = G(_i64(a[0]), GoState.Runnable, GoState.Running)
        elif typ == t2.EvGoDestroy:
            s = G(self.g, GoState.Running, GoState.NotExist)
        elif typ == t2.EvGoDestroySyscall:
            s = G(self.g, GoState.Syscall, GoState.NotExist)
        elif typ == t2.EvGoStop:
            s = G(self.g, GoState.Running, GoState.Runnable)
            s.reason = self.table.strings.must_get(a[0])
            s.stack = self.stack
        elif typ == t2.EvGoBlock:
            s = G(self.g, GoState.Running, GoState.Waiting)
            s.reason = self.table.strings.must_get(a[0])
            s.stack = self.stack
        elif typ == t2.EvGoUnblock or typ == t2.EvGoSwitch or typ == t2.EvGoSwitchDestroy:
            s = G(_i64(a[0]), GoState.Waiting, GoState.Runnable)
        elif typ == t2.EvGoSyscallBegin:
            s = G(self.g, GoState.Running, GoState.Syscall)
            s.stack = self.stack
        elif typ == t2.EvGoSyscallEnd:
            s = G(self.g, GoState.Syscall, GoState.Running)
        elif typ == t2.EvGoSyscallEndBlocked:
            s = G(self.g, GoState.Syscall, GoState.Runnable)
        elif typ == t2.EvGoStatus or typ == t2.EvGoStatusStack:
            packed = a[2]
            frm, to = packed >> 32, packed & 0xFFFFFFFF
            s = G(_i64(a[0]), frm & 0xFF, GO_STATUS_TO_STATE[to])
            s.stack = self.stack
        else:
            raise ValueError(f"internal error: unexpected wire-format event type for StateTransition kind: {typ}")
        return s

    def sync(self) -> Sync:
        if self.kind != EventKind.Sync:
            raise ValueError("Sync called on non-Sync event")
        snap = None
        exp = None
        t = self.table
        if t is not None:
            exp = {}
            for e, batches in (t.exp_batches or {}).items():
                name = t2.EXPERIMENTS[e] if e < len(t2.EXPERIMENTS) else ""
                exp[name] = batches
            if t.has_clock_snapshot:
                snap = ClockSnapshot(t.freq.mul(t.snap_time), t.snap_mono, _i64(t.snap_wall_sec), _i64(t.snap_wall_nsec))
        return Sync(self.args[0], snap, exp)

    def experimental(self) -> ExperimentalEvent:
        if self.kind != EventKind.Experimental:
            raise ValueError("Experimental called on non-Experimental event")
        spec = t2.SPECS[self.typ]
        names = spec.args[1:]
        exp = t2.EXPERIMENTS[spec.experiment] if spec.experiment < len(t2.EXPERIMENTS) else ""
        return ExperimentalEvent(spec.name, exp, list(names), self.table, self.args[:len(names)])

    # --- String() ----------------------------------------------------------------------
    def __str__(self) -> str:
        return event_string(self)

    def __repr__(self) -> str:
        return f"<Event {self.kind.name} typ={self.typ} t={self.time} M={self.m} P={self.p} G={self.g}>"


GO_STATUS_TO_STATE = (0, GoState.Runnable, GoState.Running, GoState.Syscall, GoState.Waiting)
PROC_STATUS_TO_STATE = (0, ProcState.Running, ProcState.Idle, ProcState.Running, ProcState.Idle)

_KIND_NAME = tuple(str(k) for k in EventKind)


def event_string(e: Event) -> str:
    """Event.String(), byte for byte (as str; encode with surrogateescape).

    The common event types take a direct path (no detail objects); the rest go through
    ``event_string_generic``, which follows Go's String() through the public accessors.
    """
    f = _FAST[e.typ]
    if f is None:
        return event_string_generic(e)
    typ = e.typ
    body = f(e)
    i = _MAIN_STACK_ARG[typ]
    if typ == t2.EvCPUSample:
        return body + "\nStack=\n" + _format_stack(e.table, e.args[0], "\t") if e.table is not None or e.args[0] \
            else body
    if i >= 0:
        sid = e.args[i]
        if sid != 0:
            return body + "\nStack=\n" + _format_stack(e.table, sid, "\t")
    return body


def _tstack(e: Event, sid: int) -> str:
    return "\nTransitionStack=\n" + _format_stack(e.table, sid, "\t")


def _f_go_start(e):
    return f'M={e.m} P={e.p} G={e.g} StateTransition Time={e.time} GoID={_i64(e.args[0])} Runnable->Running Reason=""'


def _f_go_unblock(e):
    return f'M={e.m} P={e.p} G={e.g} StateTransition Time={e.time} GoID={_i64(e.args[0])} Waiting->Runnable Reason=""'


def _f_go_stop(e):
    a = e.args
    s = (f'M={e.m} P={e.p} G={e.g} StateTransition Time={e.time} GoID={e.g} Running->Runnable '
         f'Reason={quote(e.table.strings.must_get(a[0]))}')
    return s + _tstack(e, a[1]) if a[1] else s


def _f_go_block(e):
    a = e.args
    s = (f'M={e.m} P={e.p} G={e.g} StateTransition Time={e.time} GoID={e.g} Running->Waiting '
         f'Reason={quote(e.table.strings.must_get(a[0]))}')
    return s + _tstack(e, a[1]) if a[1] else s


def _f_go_syscall_begin(e):
    s = f'M={e.m} P={e.p} G={e.g} StateTransition Time={e.time} GoID={e.g} Running->Syscall Reason=""'
    sid = e.args[1]
    return s + _tstack(e, sid) if sid else s


def _f_simple_go(frm_to):
    def f(e):
        return f'M={e.m} P={e.p} G={e.g} StateTransition Time={e.time} GoID={e.g} {frm_to} Reason=""'
    return f


def _f_go_create(to):
    def f(e):
        a = e.args
        s = f'M={e.m} P={e.p} G={e.g} StateTransition Time={e.time} GoID={_i64(a[0])} NotExist->{to} Reason=""'
        if e.table is None and a[1] == 0:
            return s
        return s + _tstack(e, a[1])
    return f


def _f_go_create_syscall(e):
    return (f'M={e.m} P={e.p} G={e.g} StateTransition Time={e.time} GoID={_i64(e.args[0])} NotExist->Syscall '
            f'Reason=""')


def _f_go_status(e):
    a = e.args
    packed = a[2]
    s = (f'M={e.m} P={e.p} G={e.g} StateTransition Time={e.time} GoID={_i64(a[0])} '
         f'{go_state_str((packed >> 32) & 0xFF)}->{go_state_str(GO_STATUS_TO_STATE[packed & 0xFFFFFFFF])} Reason=""')
    if e.typ == t2.EvGoStatusStack and a[3]:
        return s + _tstack(e, a[3])
    return s


def _f_proc_start(e):
    return f'M={e.m} P={e.p} G={e.g} StateTransition Time={e.time} ProcID={_i64(e.args[0])} Idle->Running Reason=""'


def _f_proc_stop(e):
    return f'M={e.m} P={e.p} G={e.g} StateTransition Time={e.time} ProcID={e.p} Running->Idle Reason=""'


def _f_proc_steal(e):
    before = "Idle" if e.args[3] == t2.ProcSyscallAbandoned else "Running"
    return (f'M={e.m} P={e.p} G={e.g} StateTransition Time={e.time} ProcID={_i64(e.args[0])} {before}->Idle '
            f'Reason=""')


def _f_proc_status(e):
    a = e.args
    return (f'M={e.m} P={e.p} G={e.g} StateTransition Time={e.time} ProcID={_i64(a[0])} '
            f'{proc_state_str(a[2] & 0xFF)}->{proc_state_str(PROC_STATUS_TO_STATE[a[1]])} Reason=""')


def _f_metric(name):
    def f(e):
        return f'M={e.m} P={e.p} G={e.g} Metric Time={e.time} Name="{name}" Value=Value{{Uint64({e.args[0]})}}'
    return f


def _f_label(e):
    return (f'M={e.m} P={e.p} G={e.g} Label Time={e.time} Label={quote(e.table.strings.must_get(e.args[0]))} '
            f'Resource=Goroutine({e.g})')


def _f_cpu_sample(e):
    return f'M={e.m} P={e.p} G={e.g} StackSample Time={e.time}'


_FAST_MAP = {
    t2.EvGoStart: _f_go_start,
    t2.EvGoUnblock: _f_go_unblock,
    t2.EvGoSwitch: _f_go_unblock,
    t2.EvGoSwitchDestroy: _f_go_unblock,
    t2.EvGoStop: _f_go_stop,
    t2.EvGoBlock: _f_go_block,
    t2.EvGoSyscallBegin: _f_go_syscall_begin,
    t2.EvGoSyscallEnd: _f_simple_go("Syscall->Running"),
    t2.EvGoSyscallEndBlocked: _f_simple_go("Syscall->Runnable"),
    t2.EvGoDestroy: _f_simple_go("Running->NotExist"),
    t2.EvGoDestroySyscall: _f_simple_go("Syscall->NotExist"),
    t2.EvGoCreate: _f_go_create("Runnable"),
    t2.EvGoCreateBlocked: _f_go_create("Waiting"),
    t2.EvGoCreateSyscall: _f_go_create_syscall,
    t2.EvGoStatus: _f_go_status,
    t2.EvGoStatusStack: _f_go_status,
    t2.EvProcStart: _f_proc_start,
    t2.EvProcStop: _f_proc_stop,
    t2.EvProcSteal: _f_proc_steal,
    t2.EvProcStatus: _f_proc_status,
    t2.EvProcsChange: _f_metric("/sched/gomaxprocs:threads"),
    t2.EvHeapAlloc: _f_metric("/memory/classes/heap/objects:bytes"),
    t2.EvHeapGoal: _f_metric("/gc/heap/goal:bytes"),
    t2.EvGoLabel: _f_label,
    t2.EvCPUSample: _f_cpu_sample,
}
_FAST = tuple(_FAST_MAP.get(i) for i in range(256))


def event_string_generic(e: Event) -> str:
    """Event.String() through the public accessors, as Go writes it."""
    kind = TYPE_TO_KIND[e.typ]
    parts = [f"M={e.m} P={e.p} G={e.g} {_KIND_NAME[kind]} Time={e.time}"]
    app = parts.append
    if kind == EventKind.StateTransition:
        s = e.state_transition()
        r = s.resource
        if r.kind == ResourceKind.Goroutine:
            app(f" GoID={r.id} {go_state_str(s.old_state)}->{go_state_str(s.new_state)}")
        elif r.kind == ResourceKind.Proc:
            app(f" ProcID={r.id} {proc_state_str(s.old_state)}->{proc_state_str(s.new_state)}")
        app(" Reason=" + quote(s.reason))
        st = s.stack
        if st.table is not None or st.id != 0:
            app("\nTransitionStack=\n")
            app(_format_stack(st.table, st.id, "\t"))
    elif kind == EventKind.Metric:
        m = e.metric()
        app(f" Name={quote(m.name)} Value={m.value}")
    elif kind == EventKind.Label:
        lb = e.label()
        app(f" Label={quote(lb.label)} Resource={lb.resource}")
    elif kind == EventKind.RangeBegin or kind == EventKind.RangeActive or kind == EventKind.RangeEnd:
        r = e.range_()
        app(f" Name={quote(r.name)} Scope={r.scope}")
        if kind == EventKind.RangeEnd:
            app(" Attributes=[" + " ".join(f"{quote(a.name)}={a.value}" for a in e.range_attributes()) + "]")
    elif kind == EventKind.TaskBegin or kind == EventKind.TaskEnd:
        t = e.task()
        app(f" ID={t.id} Parent={t.parent} Type={quote(t.type)}")
    elif kind == EventKind.RegionBegin or kind == EventKind.RegionEnd:
        r = e.region()
        app(f" Task={r.task} Type={quote(r.type)}")
    elif kind == EventKind.Log:
        lg = e.log()
        app(f" Task={lg.task} Category={quote(lg.category)} Message={quote(lg.message)}")
    elif kind == EventKind.Experimental:
        x = e.experimental()
        app(f" Name={x.name} Args=[" + ", ".join(f"{a}={x.arg_value(i)}" for i, a in enumerate(x.args)) + "]")
    elif kind == EventKind.Sync:
        s = e.sync()
        app(f" N={s.n}")
        cs = s.clock_snapshot
        if cs is not None:
            app(f" Trace={cs.trace} Mono={cs.mono} Wall={cs.wall_rfc3339nano()}")
    stk = e.stack
    if stk.table is not None or stk.id != 0:
        app("\nStack=\n")
        app(_format_stack(stk.table, stk.id, "\t"))
    return "".join(parts)


def sync_event(table, ts: int, n: int) -> Event:
    """syncEvent: the Sync event that starts (or, with table None, ends) a generation."""
    return Event(table, NoGoroutine, NoProc, NoThread, EV_SYNC, ts, [n, 0, 0, 0])


def make_event(table, g: int, p: int, m: int, typ: int, time: int, *args: int) -> Event:
    """makeEvent: an Event with the given wire args (padded to 4)."""
    a = list(args) + [0] * (4 - len(args))
    return Event(table, g, p, m, typ, time, a)
