"""The ordering and validation state machine (port of Go's internal/trace/order.go).

``Ordering.advance`` decides whether the next event of an M can happen now, given the
emulated scheduler state (goroutines, Ps, Ms, GC, tasks), checks its invariants, and queues
the resulting events as raw rows ``(table, g, p, m, typ, time, args)`` -- an ``Event``'s
fields in its constructor's order (``Event(*row)``), so that the column builder never makes
an object per event; ``Ordering.next`` pops them. Handlers mirror Go's ``advance*``
functions one to one, with the same error messages.

Scheduling contexts are (G, P, M) tuples.
"""
from __future__ import annotations

from collections import deque

from . import tracev2 as t2
from . import version as _version
from .base import BaseEvent, EvTable
from .event import GO_STATUS_TO_STATE, PROC_STATUS_TO_STATE, BackgroundTask, Event, NoTask  # noqa: F401
from .resources import GoState, NoGoroutine, NoProc, NoThread, ProcState
from .wire import i64

# constraint
MUST_NOT_HAVE, MAY_HAVE, MUST_HAVE = 0, 1, 2

# gcState
GC_UNDETERMINED, GC_NOT_RUNNING, GC_RUNNING = 0, 1, 2
_GC_STATE_STR = {GC_UNDETERMINED: "Undetermined", GC_NOT_RUNNING: "NotRunning", GC_RUNNING: "Running"}

# tracev2 status -> API state
# Go's names for the status -> state maps (defined once, in event.py)
TRACEV2_GO_STATUS_TO_GO_STATE = GO_STATUS_TO_STATE
TRACEV2_PROC_STATUS_TO_PROC_STATE = PROC_STATUS_TO_STATE

_I64 = 1 << 63
# the hot handlers read these as globals (not tracev2 attributes)
_GoRunnable, _GoRunning, _GoSyscall, _GoWaiting = t2.GoRunnable, t2.GoRunning, t2.GoSyscall, t2.GoWaiting
_ProcRunning, _ProcIdle, _ProcSyscall = t2.ProcRunning, t2.ProcIdle, t2.ProcSyscall
_EvGoDestroy, _EvGoStop, _EvGoBlock = t2.EvGoDestroy, t2.EvGoStop, t2.EvGoBlock


class OrderError(Exception):
    pass


class SeqCounter:
    """seqCounter: (generation, sequence number local to the generation)."""

    __slots__ = ("gen", "seq")

    def __init__(self, gen: int, seq: int) -> None:
        self.gen = gen
        self.seq = seq

    def succeeds(self, b: "SeqCounter") -> bool:
        return self.gen == b.gen and self.seq == b.seq + 1

    def __str__(self) -> str:
        return f"{self.seq} (gen={self.gen})"


def _range_type(typ: int, desc: int) -> tuple[int, int]:
    """makeRangeType: a (begin event type, description string ID) pair."""
    styp = t2.SPECS[typ].start_ev
    if styp != t2.EvNone:
        typ = styp
    return (typ, desc)


def _range_str(rt) -> str:
    return "{%d %d}" % rt


class _RangeState:
    __slots__ = ()

    def begin_range(self, typ) -> None:
        if typ in self.in_flight:
            raise OrderError(f"discovered event already in-flight for when starting event "
                             f"{t2.SPECS[typ[0]].name}")
        self.in_flight.append(typ)

    def active_range(self, typ, is_initial_gen: bool) -> None:
        if is_initial_gen:
            if typ in self.in_flight:
                raise OrderError(f"found named active range already in first gen: {_range_str(typ)}")
            self.in_flight.append(typ)
        elif typ not in self.in_flight:
            fl = " ".join(_range_str(r) for r in self.in_flight)
            raise OrderError(f"resource is missing active range: {t2.SPECS[typ[0]].name} [{fl}]")

    def end_range(self, typ: int) -> int:
        st = t2.SPECS[typ].start_ev
        fl = self.in_flight
        idx = -1
        for i, r in enumerate(fl):
            if r[0] == st:
                idx = i
                break
        if idx < 0:
            raise OrderError(f"tried to end event {t2.SPECS[st].name}, but not in-flight")
        desc = fl[idx][1]
        fl[idx], fl[-1] = fl[-1], fl[idx]
        fl.pop()
        return desc


class GState(_RangeState):
    __slots__ = ("id", "status", "seq", "regions", "in_flight")

    def __init__(self, id: int, status: int, seq: SeqCounter) -> None:
        self.id = id
        self.status = status
        self.seq = seq
        self.regions: list = []
        self.in_flight: list = []

    def begin_region(self, r) -> None:
        self.regions.append(r)

    def end_region(self, r) -> None:
        if not self.regions:
            # We do not know about regions that began before tracing started.
            return
        nxt = self.regions[-1]
        if nxt != r:
            raise OrderError(f"misuse of region in goroutine {self.id}: region end {{{r[0]} {r[1]}}} when the "
                             f"inner-most active region start event is {{{nxt[0]} {nxt[1]}}}")
        self.regions.pop()


class PState(_RangeState):
    __slots__ = ("id", "status", "seq", "in_flight")

    def __init__(self, id: int, status: int, seq: SeqCounter) -> None:
        self.id = id
        self.status = status
        self.seq = seq
        self.in_flight: list = []


class MState:
    __slots__ = ("g", "p")

    def __init__(self, g: int, p: int) -> None:
        self.g = g
        self.p = p


def validate_ctx(ctx, rm: int, rp: int, rg: int) -> None:
    """validateCtx: ctx is (G, P, M); rm/rp/rg are constraints on M, P and G."""
    g, p, m = ctx
    if rm == MUST_HAVE and m == NoThread:
        raise OrderError("expected a thread but didn't have one")
    elif rm == MUST_NOT_HAVE and m != NoThread:
        raise OrderError("expected no thread but had one")
    if rp == MUST_HAVE and p == NoProc:
        raise OrderError("expected a proc but didn't have one")
    elif rp == MUST_NOT_HAVE and p != NoProc:
        raise OrderError("expected no proc but had one")
    if rg == MUST_HAVE and g == NoGoroutine:
        raise OrderError("expected a goroutine but didn't have one")
    elif rg == MUST_NOT_HAVE and g != NoGoroutine:
        raise OrderError("expected no goroutine but had one")


def _user_go_reqs(ctx) -> None:
    # userGoReqs = {M: mustHave, P: mustHave, G: mustHave}
    g, p, m = ctx
    if m == NoThread:
        raise OrderError("expected a thread but didn't have one")
    if p == NoProc:
        raise OrderError("expected a proc but didn't have one")
    if g == NoGoroutine:
        raise OrderError("expected a goroutine but didn't have one")


_ABSENT = object()


def _gs_str(s: int) -> str:
    return t2.go_status_str(s)


def _ps_str(s: int) -> str:
    return t2.proc_status_str(s)


class Ordering:
    """ordering: emulates Go scheduler state for validation and to put events in order."""

    def __init__(self, trace_ver: int) -> None:
        self.trace_ver = trace_ver
        self.g_states: dict[int, GState] = {}
        self.p_states: dict[int, PState] = {}
        self.m_states: dict[int, MState] = {}
        self.active_tasks: dict[int, tuple[str, int]] = {}
        self.gc_seq = 0
        self.gc_state = GC_UNDETERMINED
        self.initial_gen = 0
        self.queue: deque = deque()
        self._dispatch = _build_dispatch(self)

    def ev_name(self, typ: int) -> str:
        return _version.event_name(self.trace_ver, typ)

    def advance(self, ev: BaseEvent, evt: EvTable, m: int, gen: int) -> bool:
        """Advance: True if ev (from thread m) happened now and was queued; False if it
        cannot advance yet. Raises OrderError if the trace is broken."""
        if self.initial_gen == 0:
            self.initial_gen = gen
        if m == NoThread:
            ms = None
            cur = (NoGoroutine, NoProc, m)
        else:
            ms = self.m_states.get(m)
            if ms is None:
                ms = MState(NoGoroutine, NoProc)
                self.m_states[m] = ms
            cur = (ms.g, ms.p, m)
        f = self._dispatch[ev.typ]
        if f is None:
            raise OrderError(f"bad event type found while ordering: {ev.typ}")
        new = f(ev, evt, m, gen, cur)
        if new is None:
            return False
        if ms is not None:
            ms.g = new[0]
            ms.p = new[1]
        return True

    def next(self):
        """Next: the next queued event, or None."""
        q = self.queue
        return q.popleft() if q else None

    def _push(self, evt, ctx, ev: BaseEvent) -> None:
        """Queue ev in context ctx as a raw row (see the module doc)."""
        self.queue.append((evt, ctx[0], ctx[1], ctx[2], ev.typ, ev.time, ev.args))

    # Handlers return the new context (tuple) when the event advanced, None when it cannot
    # advance yet, and raise OrderError when the trace is broken.

    def advance_proc_status(self, ev, evt, m, gen, cur):
        args = ev.args
        pid = i64(args[0])
        status = args[1]
        if status >= len(TRACEV2_PROC_STATUS_TO_PROC_STATE):
            raise OrderError(f"invalid status for proc {pid}: {status}")
        old_state = TRACEV2_PROC_STATUS_TO_PROC_STATE[status]
        s = self.p_states.get(pid)
        if s is not None:
            if status == t2.ProcSyscallAbandoned and s.status == t2.ProcSyscall:
                old_state = ProcState.Running
                args[1] = t2.ProcSyscall
            elif status == t2.ProcSyscallAbandoned and s.status == t2.ProcSyscallAbandoned:
                old_state = ProcState.Idle
                args[1] = t2.ProcSyscallAbandoned
            elif s.status != status:
                raise OrderError(f"inconsistent status for proc {pid}: old {_ps_str(s.status)} vs. new "
                                 f"{_ps_str(status)}")
            s.seq = SeqCounter(gen, 0)
        else:
            self.p_states[pid] = PState(pid, status, SeqCounter(gen, 0))
            if gen == self.initial_gen:
                old_state = ProcState.Undetermined
            else:
                old_state = ProcState.NotExist
        args[2] = int(old_state)  # extra(Go122)[0]: smuggle the old state for StateTransition.

        g, p, mm = cur
        new = cur
        if status == t2.ProcRunning or status == t2.ProcSyscall:
            new = (g, pid, mm)
        if status == t2.ProcSyscallAbandoned and old_state == ProcState.Running:
            found = False
            for mid, ms in self.m_states.items():
                if ms.p == pid:
                    cur = (ms.g, pid, mid)
                    found = True
            if not found:
                raise OrderError(f"failed to find sched context for proc {pid} that's about to be stolen")
        self._push(evt, cur, ev)
        return new

    def advance_proc_start(self, ev, evt, m, gen, cur):
        pid = i64(ev.args[0])
        seq = SeqCounter(gen, ev.args[1])
        state = self.p_states.get(pid)
        if state is None or state.status != t2.ProcIdle or not seq.succeeds(state.seq) or cur[1] != NoProc:
            return None
        validate_ctx(cur, MUST_HAVE, MUST_NOT_HAVE, MAY_HAVE)
        state.status = t2.ProcRunning
        state.seq = seq
        self._push(evt, cur, ev)
        return (cur[0], pid, cur[2])

    def advance_proc_stop(self, ev, evt, m, gen, cur):
        state = self.p_states.get(cur[1])
        if state is None:
            raise OrderError(f"event {self.ev_name(ev.typ)} for proc ({cur[1]}) that doesn't exist")
        if state.status != t2.ProcRunning and state.status != t2.ProcSyscall:
            raise OrderError(f"{self.ev_name(ev.typ)} event for proc that's not {_ps_str(t2.ProcRunning)} or "
                             f"{_ps_str(t2.ProcSyscall)}")
        validate_ctx(cur, MUST_HAVE, MUST_HAVE, MAY_HAVE)
        state.status = t2.ProcIdle
        self._push(evt, cur, ev)
        return (cur[0], NoProc, cur[2])

    def advance_proc_steal(self, ev, evt, m, gen, cur):
        args = ev.args
        pid = i64(args[0])
        seq = SeqCounter(gen, args[1])
        state = self.p_states.get(pid)
        if state is None or (state.status != t2.ProcSyscall and state.status != t2.ProcSyscallAbandoned) \
                or not seq.succeeds(state.seq):
            return None
        validate_ctx(cur, MUST_HAVE, MAY_HAVE, MAY_HAVE)
        old_status = state.status
        args[3] = old_status  # extra(Go122)[0]
        state.status = t2.ProcIdle
        state.seq = seq
        if old_status == t2.ProcSyscallAbandoned:
            self._push(evt, cur, ev)
            return cur
        mid = i64(args[2])
        if mid == cur[2]:
            if cur[1] != pid:
                raise OrderError(f"tried to self-steal proc {pid} (thread {mid}), but got proc {cur[1]} instead")
            self._push(evt, cur, ev)
            return (cur[0], NoProc, cur[2])
        ms = self.m_states.get(mid)
        if ms is None:
            raise OrderError(f"stole proc from non-existent thread {mid}")
        if ms.p != pid:
            raise OrderError(f"tried to steal proc {pid} from thread {mid}, but got proc {ms.p} instead")
        ms.p = NoProc
        self._push(evt, cur, ev)
        return cur

    def advance_go_status(self, ev, evt, m, gen, cur):
        args = ev.args
        gid = i64(args[0])
        mid = i64(args[1])
        status = args[2]
        if status >= len(TRACEV2_GO_STATUS_TO_GO_STATE):
            raise OrderError(f"invalid status for goroutine {gid}: {status}")
        old_state = TRACEV2_GO_STATUS_TO_GO_STATE[status]
        s = self.g_states.get(gid)
        if s is not None:
            if s.status != status:
                raise OrderError(f"inconsistent status for goroutine {gid}: old {_gs_str(s.status)} vs. new "
                                 f"{_gs_str(status)}")
            s.seq = SeqCounter(gen, 0)
        elif gen == self.initial_gen:
            self.g_states[gid] = GState(gid, status, SeqCounter(gen, 0))
            old_state = GoState.Undetermined
        else:
            raise OrderError(f"found goroutine status for new goroutine after the first generation: id={gid} "
                             f"status={_gs_str(status)}")
        args[2] = (int(old_state) << 32) | status  # smuggle the old state for StateTransition

        new = cur
        if status == t2.GoRunning:
            new = (gid, cur[1], cur[2])
        elif status == t2.GoSyscall:
            if mid == NoThread:
                raise OrderError(f"found goroutine {gid} in syscall without a thread")
            if mid == cur[2]:
                if gen != self.initial_gen and cur[0] != gid:
                    raise OrderError(f"inconsistent thread for syscalling goroutine {gid}: thread has "
                                     f"goroutine {cur[0]}")
                new = (gid, cur[1], cur[2])
            else:
                ms = self.m_states.get(mid)
                cg = cur[0]
                if ms is not None:
                    if ms.g != gid:
                        raise OrderError(f"inconsistent thread for syscalling goroutine {gid}: thread has "
                                         f"goroutine {ms.g}")
                    cg = ms.g
                else:
                    self.m_states[mid] = MState(gid, NoProc)
                cur = (cg, cur[1], mid)
        self._push(evt, cur, ev)
        return new

    def advance_go_create(self, ev, evt, m, gen, cur):
        validate_ctx(cur, MUST_HAVE, MUST_HAVE, MAY_HAVE)
        state = self.g_states.get(cur[0])
        if state is not None and state.status != t2.GoRunning:
            raise OrderError(f"{self.ev_name(ev.typ)} event for goroutine that's not {GoState.Running}")
        newgid = i64(ev.args[0])
        if newgid in self.g_states:
            raise OrderError(f"tried to create goroutine ({newgid}) that already exists")
        status = t2.GoWaiting if ev.typ == t2.EvGoCreateBlocked else t2.GoRunnable
        self.g_states[newgid] = GState(newgid, status, SeqCounter(gen, 0))
        self._push(evt, cur, ev)
        return cur

    def advance_go_stop_exec(self, ev, evt, m, gen, cur):
        g, p, m_ = cur
        if g == -1 or p == -1 or m_ == -1:
            _user_go_reqs(cur)
        state = self.g_states.get(g)
        if state is None:
            raise OrderError(f"event {self.ev_name(ev.typ)} for goroutine ({g}) that doesn't exist")
        if state.status != _GoRunning:
            raise OrderError(f"{self.ev_name(ev.typ)} event for goroutine that's not {GoState.Running}")
        typ = ev.typ
        new = cur
        if typ == _EvGoBlock:
            state.status = _GoWaiting
            new = (NoGoroutine, p, m_)
        elif typ == _EvGoStop:
            state.status = _GoRunnable
            new = (NoGoroutine, p, m_)
        elif typ == _EvGoDestroy:
            del self.g_states[g]
            new = (NoGoroutine, p, m_)
        self.queue.append((evt, g, p, m_, typ, ev.time, ev.args))
        return new

    def advance_go_start(self, ev, evt, m, gen, cur):
        args = ev.args
        gid = args[0]
        if gid >= _I64:
            gid -= 1 << 64  # i64
        state = self.g_states.get(gid)
        if state is None or state.status != _GoRunnable:
            return None
        sq = state.seq
        if sq.gen != gen or args[1] != sq.seq + 1:
            return None
        g, p, m = cur
        if m == NoThread or p == NoProc or g != NoGoroutine:
            validate_ctx(cur, MUST_HAVE, MUST_HAVE, MUST_NOT_HAVE)
        state.status = _GoRunning
        sq.seq = args[1]  # in place (sq.gen == gen)
        self.queue.append((evt, g, p, m, ev.typ, ev.time, args))
        return (gid, p, m)

    def advance_go_unblock(self, ev, evt, m, gen, cur):
        args = ev.args
        gid = args[0]
        if gid >= _I64:
            gid -= 1 << 64  # i64
        state = self.g_states.get(gid)
        if state is None or state.status != _GoWaiting:
            return None
        sq = state.seq
        if sq.gen != gen or args[1] != sq.seq + 1:
            return None
        state.status = _GoRunnable
        sq.seq = args[1]  # in place (sq.gen == gen)
        self.queue.append((evt, cur[0], cur[1], cur[2], ev.typ, ev.time, ev.args))
        return cur

    def advance_go_switch(self, ev, evt, m, gen, cur):
        _user_go_reqs(cur)
        cur_g = self.g_states.get(cur[0])
        if cur_g is None:
            raise OrderError(f"event {self.ev_name(ev.typ)} for goroutine ({cur[0]}) that doesn't exist")
        if cur_g.status != t2.GoRunning:
            raise OrderError(f"{self.ev_name(ev.typ)} event for goroutine that's not {GoState.Running}")
        nextg = i64(ev.args[0])
        seq = SeqCounter(gen, ev.args[1])
        next_g = self.g_states.get(nextg)
        if next_g is None or next_g.status != t2.GoWaiting or not seq.succeeds(next_g.seq):
            return None
        self._push(evt, cur, ev)
        q = self.queue
        if ev.typ == t2.EvGoSwitch:
            cur_g.status = t2.GoWaiting
            q.append((evt, cur[0], cur[1], cur[2], t2.EvGoBlock, ev.time, [0, 0, 0, 0]))
        elif ev.typ == t2.EvGoSwitchDestroy:
            del self.g_states[cur[0]]
            q.append((evt, cur[0], cur[1], cur[2], t2.EvGoDestroy, ev.time, [0, 0, 0, 0]))
        next_g.status = t2.GoRunning
        next_g.seq = seq
        q.append((evt, NoGoroutine, cur[1], cur[2], t2.EvGoStart, ev.time,
                       [nextg & 0xFFFFFFFFFFFFFFFF, ev.args[1], 0, 0]))
        return (nextg, cur[1], cur[2])

    def advance_go_syscall_begin(self, ev, evt, m, gen, cur):
        g, p, m_ = cur
        if g == -1 or p == -1 or m_ == -1:
            _user_go_reqs(cur)
        state = self.g_states.get(g)
        if state is None:
            raise OrderError(f"event {self.ev_name(ev.typ)} for goroutine ({g}) that doesn't exist")
        if state.status != _GoRunning:
            raise OrderError(f"{self.ev_name(ev.typ)} event for goroutine that's not {GoState.Running}")
        state.status = _GoSyscall
        ps = self.p_states.get(p)
        if ps is None:
            raise OrderError(f"uninitialized proc {p} found during {self.ev_name(ev.typ)}")
        ps.status = _ProcSyscall
        args = ev.args
        seq = args[0]
        old = ps.seq
        if old.gen != gen or seq != old.seq + 1:  # SeqCounter.succeeds
            raise OrderError(f"failed to advance {self.ev_name(ev.typ)}: can't make sequence: {old} -> "
                             f"{SeqCounter(gen, seq)}")
        old.seq = seq  # in place: no state shares a counter (frontier.py copies their values)
        self.queue.append((evt, g, p, m_, ev.typ, ev.time, args))
        return cur

    def advance_go_syscall_end(self, ev, evt, m, gen, cur):
        g, p, m_ = cur
        if g == -1 or p == -1 or m_ == -1:
            _user_go_reqs(cur)
        state = self.g_states.get(g)
        if state is None:
            raise OrderError(f"event {self.ev_name(ev.typ)} for goroutine ({g}) that doesn't exist")
        if state.status != _GoSyscall:
            raise OrderError(f"{self.ev_name(ev.typ)} event for goroutine that's not {GoState.Running}")
        state.status = _GoRunning
        ps = self.p_states.get(p)
        if ps is None:
            raise OrderError(f"uninitialized proc {p} found during {self.ev_name(ev.typ)}")
        if ps.status != _ProcSyscall:
            raise OrderError(f"expected proc {p} in state {_ps_str(t2.ProcSyscall)}, but got "
                             f"{_ps_str(ps.status)} instead")
        ps.status = _ProcRunning
        self.queue.append((evt, g, p, m_, ev.typ, ev.time, ev.args))
        return cur

    def advance_go_syscall_end_blocked(self, ev, evt, m, gen, cur):
        if cur[1] != NoProc:
            ps = self.p_states.get(cur[1])
            if ps is None:
                raise OrderError(f"uninitialized proc {cur[1]} found during {self.ev_name(ev.typ)}")
            if ps.status == t2.ProcSyscall:
                return None
        validate_ctx(cur, MUST_HAVE, MAY_HAVE, MUST_HAVE)
        state = self.g_states.get(cur[0])
        if state is None:
            raise OrderError(f"event {self.ev_name(ev.typ)} for goroutine ({cur[0]}) that doesn't exist")
        if state.status != t2.GoSyscall:
            raise OrderError(f"{self.ev_name(ev.typ)} event for goroutine that's not {GoState.Running}")
        state.status = t2.GoRunnable
        self._push(evt, cur, ev)
        return (NoGoroutine, cur[1], cur[2])

    def advance_go_create_syscall(self, ev, evt, m, gen, cur):
        validate_ctx(cur, MUST_HAVE, MAY_HAVE, MUST_NOT_HAVE)
        newgid = i64(ev.args[0])
        if newgid in self.g_states:
            raise OrderError(f"tried to create goroutine ({newgid}) in syscall that already exists")
        self.g_states[newgid] = GState(newgid, t2.GoSyscall, SeqCounter(gen, 0))
        self._push(evt, cur, ev)
        return (newgid, cur[1], cur[2])

    def advance_go_destroy_syscall(self, ev, evt, m, gen, cur):
        validate_ctx(cur, MUST_HAVE, MAY_HAVE, MUST_HAVE)
        state = self.g_states.get(cur[0])
        if state is None:
            raise OrderError(f"event {self.ev_name(ev.typ)} for goroutine ({cur[0]}) that doesn't exist")
        if state.status != t2.GoSyscall:
            raise OrderError(f"{self.ev_name(ev.typ)} event for goroutine that's not {GoState.Syscall}")
        del self.g_states[cur[0]]
        new = (NoGoroutine, cur[1], cur[2])
        if cur[1] != NoProc:
            ps = self.p_states.get(cur[1])
            if ps is None:
                raise OrderError(f"found invalid proc {cur[1]} during {self.ev_name(ev.typ)}")
            if ps.status != t2.ProcSyscall:
                raise OrderError(f"proc {cur[1]} in unexpected state {_ps_str(ps.status)} during "
                                 f"{self.ev_name(ev.typ)}")
            ps.status = t2.ProcSyscallAbandoned
            new = (NoGoroutine, NoProc, cur[2])
            # Queue an extra self-ProcSteal event.
            self.queue.append((evt, cur[0], cur[1], cur[2], t2.EvProcSteal, ev.time,
                                    [cur[1] & 0xFFFFFFFFFFFFFFFF, 0, 0, t2.ProcSyscall]))
        self._push(evt, cur, ev)
        return new

    def advance_user_task_begin(self, ev, evt, m, gen, cur):
        args = ev.args
        id = args[0]
        if id in self.active_tasks:
            raise OrderError(f"task ID conflict: {id}")
        parent_id = args[1]
        if parent_id == BackgroundTask:
            parent_id = NoTask
            args[1] = NoTask
        name_id = args[2]
        ok, name = evt.strings.get(name_id)
        if not ok:
            raise OrderError(f"invalid string ID {name_id} for {ev.typ} event")
        self.active_tasks[id] = (name, parent_id)
        _user_go_reqs(cur)
        self._push(evt, cur, ev)
        return cur

    def advance_user_task_end(self, ev, evt, m, gen, cur):
        args = ev.args
        id = args[0]
        ts = self.active_tasks.pop(id, None)
        if ts is not None:
            args[2] = ts[1]
            args[3] = evt.add_extra_string(ts[0])
        else:
            args[2] = NoTask
            args[3] = evt.add_extra_string("")
        _user_go_reqs(cur)
        self._push(evt, cur, ev)
        return cur

    def _user_region(self, ev, evt, cur, what: str):
        """What a user region's begin and end both check: (the goroutine's state, (task, name))."""
        g, p, m_ = cur
        if g == -1 or p == -1 or m_ == -1:
            _user_go_reqs(cur)
        args = ev.args
        name_id = args[1]
        strings = evt.strings  # strings.get(name_id), inline
        name = strings.sparse.get(name_id, _ABSENT) if name_id else strings.zero
        if name is _ABSENT:
            raise OrderError(f"invalid string ID {name_id} for {ev.typ} event")
        gs = self.g_states.get(g)
        if gs is None:
            raise OrderError(f"encountered {what} without known state for current goroutine {g}")
        return gs, (args[0], name)

    def advance_user_region_begin(self, ev, evt, m, gen, cur):
        gs, r = self._user_region(ev, evt, cur, "EvUserRegionBegin")
        gs.regions.append(r)  # begin_region
        self.queue.append((evt, cur[0], cur[1], cur[2], ev.typ, ev.time, ev.args))
        return cur

    def advance_user_region_end(self, ev, evt, m, gen, cur):
        gs, r = self._user_region(ev, evt, cur, "EvUserRegionEnd")
        regions = gs.regions
        if regions and regions[-1] == r:  # end_region's common case
            regions.pop()
        else:
            gs.end_region(r)
        self.queue.append((evt, cur[0], cur[1], cur[2], ev.typ, ev.time, ev.args))
        return cur

    def advance_gc_active(self, ev, evt, m, gen, cur):
        seq = ev.args[0]
        if gen == self.initial_gen:
            if self.gc_state != GC_UNDETERMINED:
                raise OrderError("GCActive in the first generation isn't first GC event")
            self.gc_seq = seq
            self.gc_state = GC_RUNNING
            self._push(evt, cur, ev)
            return cur
        if seq != self.gc_seq + 1:
            return None
        if self.gc_state != GC_RUNNING:
            raise OrderError("encountered GCActive while GC was not in progress")
        self.gc_seq = seq
        _user_go_reqs(cur)
        self._push(evt, cur, ev)
        return cur

    def advance_gc_begin(self, ev, evt, m, gen, cur):
        seq = ev.args[0]
        if self.gc_state == GC_UNDETERMINED:
            self.gc_seq = seq
            self.gc_state = GC_RUNNING
            self._push(evt, cur, ev)
            return cur
        if seq != self.gc_seq + 1:
            return None
        if self.gc_state == GC_RUNNING:
            raise OrderError("encountered GCBegin while GC was already in progress")
        self.gc_seq = seq
        self.gc_state = GC_RUNNING
        _user_go_reqs(cur)
        self._push(evt, cur, ev)
        return cur

    def advance_gc_end(self, ev, evt, m, gen, cur):
        seq = ev.args[0]
        if seq != self.gc_seq + 1:
            return None
        if self.gc_state == GC_NOT_RUNNING:
            raise OrderError("encountered GCEnd when GC was not in progress")
        if self.gc_state == GC_UNDETERMINED:
            raise OrderError("encountered GCEnd when GC was in an undetermined state")
        self.gc_seq = seq
        self.gc_state = GC_NOT_RUNNING
        _user_go_reqs(cur)
        self._push(evt, cur, ev)
        return cur

    def advance_annotation(self, ev, evt, m, gen, cur):
        _user_go_reqs(cur)
        self.queue.append((evt, cur[0], cur[1], cur[2], ev.typ, ev.time, ev.args))
        return cur

    def advance_heap_metric(self, ev, evt, m, gen, cur):
        validate_ctx(cur, MUST_HAVE, MUST_HAVE, MAY_HAVE)
        self._push(evt, cur, ev)
        return cur

    def advance_gc_sweep_begin(self, ev, evt, m, gen, cur):
        validate_ctx(cur, MUST_HAVE, MUST_HAVE, MAY_HAVE)
        self.p_states[cur[1]].begin_range(_range_type(ev.typ, 0))
        self._push(evt, cur, ev)
        return cur

    def advance_gc_sweep_active(self, ev, evt, m, gen, cur):
        pid = i64(ev.args[0])
        ps = self.p_states.get(pid)
        if ps is None:
            raise OrderError(f"encountered GCSweepActive for unknown proc {pid}")
        ps.active_range(_range_type(ev.typ, 0), gen == self.initial_gen)
        self._push(evt, cur, ev)
        return cur

    def advance_gc_sweep_end(self, ev, evt, m, gen, cur):
        validate_ctx(cur, MUST_HAVE, MUST_HAVE, MAY_HAVE)
        self.p_states[cur[1]].end_range(ev.typ)
        self._push(evt, cur, ev)
        return cur

    def advance_go_range_begin(self, ev, evt, m, gen, cur):
        _user_go_reqs(cur)
        desc = 0
        if ev.typ == t2.EvSTWBegin:
            desc = ev.args[0]
        gs = self.g_states.get(cur[0])
        if gs is None:
            raise OrderError(f"encountered event of type {ev.typ} without known state for current goroutine "
                             f"{cur[0]}")
        gs.begin_range(_range_type(ev.typ, desc))
        self._push(evt, cur, ev)
        return cur

    def advance_go_range_active(self, ev, evt, m, gen, cur):
        gid = i64(ev.args[0])
        gs = self.g_states.get(gid)
        if gs is None:
            raise OrderError(f"uninitialized goroutine {gid} found during {self.ev_name(ev.typ)}")
        gs.active_range(_range_type(ev.typ, 0), gen == self.initial_gen)
        self._push(evt, cur, ev)
        return cur

    def advance_go_range_end(self, ev, evt, m, gen, cur):
        _user_go_reqs(cur)
        gs = self.g_states.get(cur[0])
        if gs is None:
            raise OrderError(f"encountered event of type {ev.typ} without known state for current goroutine "
                             f"{cur[0]}")
        desc = gs.end_range(ev.typ)
        if ev.typ == t2.EvSTWEnd:
            ev.args[0] = desc
        self._push(evt, cur, ev)
        return cur

    def advance_alloc_free(self, ev, evt, m, gen, cur):
        validate_ctx(cur, MUST_HAVE, MAY_HAVE, MAY_HAVE)
        self._push(evt, cur, ev)
        return cur

    def dump(self) -> str:
        """dumpOrdering, for broken-trace error messages."""
        out = []
        for id, st in self.g_states.items():
            out.append(f"G {id} [status={_gs_str(st.status)} seq={st.seq}]\n")
        out.append("\n")
        for id, st in self.p_states.items():
            out.append(f"P {id} [status={_ps_str(st.status)} seq={st.seq}]\n")
        out.append("\n")
        for id, st in self.m_states.items():
            out.append(f"M {id} [g={st.g} p={st.p}]\n")
        out.append("\n")
        out.append(f"GC {self.gc_seq} {_GC_STATE_STR.get(self.gc_state, 'Bad')}\n")
        return "".join(out)


def _build_dispatch(o: Ordering) -> list:
    d = [None] * 256
    T = t2
    d[T.EvProcsChange] = o.advance_annotation
    d[T.EvProcStart] = o.advance_proc_start
    d[T.EvProcStop] = o.advance_proc_stop
    d[T.EvProcSteal] = o.advance_proc_steal
    d[T.EvProcStatus] = o.advance_proc_status
    d[T.EvGoCreate] = o.advance_go_create
    d[T.EvGoCreateSyscall] = o.advance_go_create_syscall
    d[T.EvGoStart] = o.advance_go_start
    d[T.EvGoDestroy] = o.advance_go_stop_exec
    d[T.EvGoDestroySyscall] = o.advance_go_destroy_syscall
    d[T.EvGoStop] = o.advance_go_stop_exec
    d[T.EvGoBlock] = o.advance_go_stop_exec
    d[T.EvGoUnblock] = o.advance_go_unblock
    d[T.EvGoSyscallBegin] = o.advance_go_syscall_begin
    d[T.EvGoSyscallEnd] = o.advance_go_syscall_end
    d[T.EvGoSyscallEndBlocked] = o.advance_go_syscall_end_blocked
    d[T.EvGoStatus] = o.advance_go_status
    d[T.EvSTWBegin] = o.advance_go_range_begin
    d[T.EvSTWEnd] = o.advance_go_range_end
    d[T.EvGCActive] = o.advance_gc_active
    d[T.EvGCBegin] = o.advance_gc_begin
    d[T.EvGCEnd] = o.advance_gc_end
    d[T.EvGCSweepActive] = o.advance_gc_sweep_active
    d[T.EvGCSweepBegin] = o.advance_gc_sweep_begin
    d[T.EvGCSweepEnd] = o.advance_gc_sweep_end
    d[T.EvGCMarkAssistActive] = o.advance_go_range_active
    d[T.EvGCMarkAssistBegin] = o.advance_go_range_begin
    d[T.EvGCMarkAssistEnd] = o.advance_go_range_end
    d[T.EvHeapAlloc] = o.advance_heap_metric
    d[T.EvHeapGoal] = o.advance_heap_metric
    d[T.EvGoLabel] = o.advance_annotation
    d[T.EvUserTaskBegin] = o.advance_user_task_begin
    d[T.EvUserTaskEnd] = o.advance_user_task_end
    d[T.EvUserRegionBegin] = o.advance_user_region_begin
    d[T.EvUserRegionEnd] = o.advance_user_region_end
    d[T.EvUserLog] = o.advance_annotation
    d[T.EvGoSwitch] = o.advance_go_switch
    d[T.EvGoSwitchDestroy] = o.advance_go_switch
    d[T.EvGoCreateBlocked] = o.advance_go_create
    d[T.EvGoStatusStack] = o.advance_go_status
    for typ in (T.EvSpan, T.EvSpanAlloc, T.EvSpanFree, T.EvHeapObject, T.EvHeapObjectAlloc, T.EvHeapObjectFree,
                T.EvGoroutineStack, T.EvGoroutineStackAlloc, T.EvGoroutineStackFree):
        d[typ] = o.advance_alloc_free
    return d
