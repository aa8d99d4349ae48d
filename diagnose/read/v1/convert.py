"""Conversion of an old-format trace (Go 1.11–1.21) into the new (Go 1.22+) event model.

A port of Go 1.27.3's ``src/internal/trace/tracev1.go`` (``traceV1Converter``).  The
converter treats the whole old trace as one big generation sharing a single ``EvTable``
of strings and stacks, exactly as Go does, and yields the reader's ``Event`` objects built
the way Go builds ``trace.Event`` (same wire type, time, args and scheduling context), so
``str(ev)`` is Go's ``ev.String()``.  The Sync events that open and close the stream are
added by ``diagnose.read.reader.V1Reader`` (Go: the v1 branch of ``Reader.ReadEvent``),
from :attr:`V1Conversion.first_ts` and :attr:`V1Conversion.last_ts`.

Deliberate difference: the goroutines that existed before tracing started and were never
seen running/waiting get their GoStatus(Runnable) events in goroutine-ID order; Go emits
them in (random) map order.
"""
from __future__ import annotations

from array import array
from collections import deque

from typing import Iterator

from .. import tracev2 as t2
from ..base import EvTable, Frame
from ..event import Event
from ..reader import ReadError
from ..wire import i64

from . import parser as v1
from .packed import Packed, event_ts
from .parser import (
    E_A0, E_A1, E_A2, E_A3, E_G, E_STK, E_TS,
)

U64 = (1 << 64) - 1
NO_GOROUTINE = -1
NO_PROC = -1
NO_THREAD = -1
NO_TASK = U64  # TaskID(^uint64(0))

# --- the new-format (tracev2) event types and statuses the converter produces ------------
EvCPUSample = t2.EvCPUSample
EvProcsChange = t2.EvProcsChange
EvProcStart = t2.EvProcStart
EvProcStop = t2.EvProcStop
EvProcStatus = t2.EvProcStatus
EvGoCreate = t2.EvGoCreate
EvGoStart = t2.EvGoStart
EvGoDestroy = t2.EvGoDestroy
EvGoStop = t2.EvGoStop
EvGoBlock = t2.EvGoBlock
EvGoUnblock = t2.EvGoUnblock
EvGoSyscallBegin = t2.EvGoSyscallBegin
EvGoSyscallEnd = t2.EvGoSyscallEnd
EvGoSyscallEndBlocked = t2.EvGoSyscallEndBlocked
EvGoStatus = t2.EvGoStatus
EvSTWBegin = t2.EvSTWBegin
EvSTWEnd = t2.EvSTWEnd
EvGCBegin = t2.EvGCBegin
EvGCEnd = t2.EvGCEnd
EvGCSweepBegin = t2.EvGCSweepBegin
EvGCSweepEnd = t2.EvGCSweepEnd
EvGCMarkAssistBegin = t2.EvGCMarkAssistBegin
EvGCMarkAssistEnd = t2.EvGCMarkAssistEnd
EvHeapAlloc = t2.EvHeapAlloc
EvHeapGoal = t2.EvHeapGoal
EvGoLabel = t2.EvGoLabel
EvUserTaskBegin = t2.EvUserTaskBegin
EvUserTaskEnd = t2.EvUserTaskEnd
EvUserRegionBegin = t2.EvUserRegionBegin
EvUserRegionEnd = t2.EvUserRegionEnd
EvUserLog = t2.EvUserLog
GoRunnable, GoRunning, GoSyscall, GoWaiting = t2.GoRunnable, t2.GoRunning, t2.GoSyscall, t2.GoWaiting
ProcRunning, ProcIdle = t2.ProcRunning, t2.ProcIdle

# Index into ``args`` of the main stack ID (Go: Specs()[typ].StackIDs[0]-1), per new type.
# (For EvCPUSample this is the spec's {4}; Event.stack itself reads args[0] for samples.)
STACK_ARG = {typ: spec.stack_ids[0] - 1 for typ, spec in enumerate(t2.SPECS)
             if spec is not None and spec.stack_ids}

# --- strings the converter emits itself (Go: the s* constants) -------------------------
BUILTIN_STRINGS = (
    "forever", "preempted", "runtime.Gosched", "sleep", "chan send", "chan receive",
    "network", "sync", "sync.(*Cond).Wait", "select", "", "GC mark assist wait for work",
    # STW kinds
    "", "GC mark termination", "GC sweep termination", "write heap dump",
    "goroutine profile", "goroutine profile cleanup", "all goroutine stack trace",
    "read mem stats", "AllThreadsSyscall", "GOMAXPROCS", "start trace", "stop trace",
    "CountPagesInUse (test)", "ReadMetricsSlow (test)", "ReadMemStatsSlow (test)",
    "PageCachePagesLeaked (test)", "ResetDebugLog (test)",
)
(sForever, sPreempted, sGosched, sSleep, sChanSend, sChanRecv, sNetwork, sSync, sSyncCond,
 sSelect, sEmpty, sMarkAssistWait, sSTWUnknown) = range(13)


# v1 types that become GoBlock/GoStop with a fixed reason: (new type, builtin string).
_REASONS: list[tuple[int, int] | None] = [None] * 512  # indexed by the type (with v1.BLOCKED)
for _t, _r in ((v1.EvGoStop, (EvGoBlock, sForever)), (v1.EvGoSched, (EvGoStop, sGosched)),
               (v1.EvGoPreempt, (EvGoStop, sPreempted)), (v1.EvGoSleep, (EvGoBlock, sSleep)),
               (v1.EvGoBlock, (EvGoBlock, sEmpty)), (v1.EvGoBlockSend, (EvGoBlock, sChanSend)),
               (v1.EvGoBlockRecv, (EvGoBlock, sChanRecv)),
               (v1.EvGoBlockSelect, (EvGoBlock, sSelect)), (v1.EvGoBlockSync, (EvGoBlock, sSync)),
               (v1.EvGoBlockCond, (EvGoBlock, sSyncCond)),
               (v1.EvGoBlockNet, (EvGoBlock, sNetwork)),
               (v1.EvGoBlockGC, (EvGoBlock, sMarkAssistWait))):
    _REASONS[_t] = _r


#: events of a Packed store unpacked at a time for the Python converter
GATHER_RUN = 1 << 12


def _events(store, order: array) -> Iterator[list]:
    """The events of the merged order as lists (the E_* layout); a Packed store is unpacked a
    run at a time, never whole."""
    S = v1.SLOTS
    if type(store) is Packed:
        view = memoryview(order)
        for a in range(0, len(order), GATHER_RUN):
            flat = store.gather(view[a:a + GATHER_RUN]).tolist()
            for b in range(0, len(flat), S):
                yield flat[b:b + S]
        return
    is_list = type(store) is list
    for r in order:
        b = r * S
        ev = store[b:b + S]
        yield ev if is_list else ev.tolist()


class V1Conversion:
    """Go: traceV1Converter.  Iterate it for the converted events (no Sync events).

    Attributes: ``table`` (the ``EvTable`` all events share), ``first_ts`` (time of the
    first old-format event, from which Go places the opening Sync; None when there are no
    events), ``last_ts`` (time of the last event delivered; -1 before any), ``warnings`` and
    ``lost_bytes`` (what salvaging a damaged file cost; empty/0 for a well-formed trace).
    """

    def __init__(self, tr: v1.Trace) -> None:
        self.trace = tr
        self.version = tr.version
        self.pre_init = True
        self.created_pre_init: dict[int, None] = {}
        self.tasks: dict[int, tuple[str, int]] = {}
        self.seen_procs: set[int] = set()
        self.last_ts = -1
        self.proc_ms: dict[int, int] = {}
        self.last_stw_reason = 0
        self.warnings: list[str] = list(tr.warnings)
        self.lost_bytes = tr.lost_bytes
        self.missing_stacks = tr.missing_stacks
        self.first_ts = event_ts(tr.store, tr.order[0]) if tr.order else None
        self.events_delivered = 0

        table = self.table = EvTable()
        # Convert from trace v1's Strings map to our table.
        strings = dict(tr.strings)
        mx = max(strings) if strings else 0
        # Strings used for UserLog were inline in v1 and had no IDs: give them some.
        self.inline_to_string_id: list[int] = []
        for i, s in enumerate(tr.inline_strings):
            nid = mx + 1 + i
            self.inline_to_string_id.append(nid)
            strings[nid] = s
        mx += len(tr.inline_strings)
        # Strings that the converter emits explicitly.
        self.builtin: list[int] = []
        for c, s in enumerate(BUILTIN_STRINGS):
            nid = mx + 1 + c
            self.builtin.append(nid)
            strings[nid] = s
        if mx + len(BUILTIN_STRINGS) > U64:
            raise ReadError("trace contains too many strings")
        table.strings.sparse = strings
        table.stacks.sparse = {sid: tuple(pcs) for sid, pcs in tr.stacks.items()}
        table.pcs = {pc: Frame(f.pc, f.fn, f.file, f.line) for pc, f in tr.pcs.items()}
        tr.strings = {}
        tr.stacks = {}
        tr.pcs = {}
        tr.inline_strings = []

    # ------------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Event]:
        """Go: traceV1Converter.next, until io.EOF. Releases the decoded events at the end."""
        tr = self.trace
        events = _events(tr.store, tr.order)
        convert = self._convert
        extra: deque[Event] = deque()  # pre-init goroutines: one entry each, popped from the left
        last_ts = -1
        delivered = 0
        try:
            while True:
                if extra:
                    out = extra.popleft()
                else:
                    ev = next(events, None)
                    if ev is None:
                        break
                    out = convert(ev, extra)
                    if out is None:
                        continue
                # Two events aren't allowed to fall on the same timestamp in the new API,
                # but this may happen when we produce EvGoStatus events.
                if out.time <= last_ts:
                    out.time = last_ts + 1
                last_ts = out.time
                delivered += 1
                yield out
        finally:
            self.last_ts = last_ts
            self.events_delivered = delivered
            tr.store = array("q")
            tr.order = array("q")

    # ------------------------------------------------------------------------------------
    def _convert(self, ev: list, extra: deque):
        """Go: convertEvent. Returns the first event (or None for errSkip); may add to extra."""
        typ = ev[8]
        p = ev[7]
        # Fast paths for the most frequent types (the same results as the general code).
        r = _REASONS[typ]
        if r is not None:  # blocking / yielding events: GoBlock or GoStop with a reason
            m = self.proc_ms.get(p, NO_THREAD) if p != -1 else NO_THREAD
            return Event(self.table, ev[1] or NO_GOROUTINE, p, m, r[0], ev[0],
                         [self.builtin[r[1]], ev[6], 0, 0])
        if typ == v1.EvGoStart and not self.pre_init:
            m = self.proc_ms.get(p, NO_THREAD) if p != -1 else NO_THREAD
            return Event(self.table, ev[1] or NO_GOROUTINE, p, m, EvGoStart, ev[0],
                         [ev[2], ev[3], ev[4], ev[5]])

        args = [ev[E_A0], ev[E_A1], ev[E_A2], ev[E_A3]]
        blocked = typ > 0xFF  # a GoSysCall that blocked (see v1.BLOCKED)
        if blocked:
            typ &= 0xFF
        b = self.builtin
        stk = ev[E_STK]
        table = self.table

        if typ == v1.EvGomaxprocs:
            mtyp = EvProcsChange
            if self.pre_init:
                # The first EvGomaxprocs signals the end of trace initialization. At this point
                # we've seen all goroutines that already existed at trace begin.
                self.pre_init = False
                for gid in sorted(self.created_pre_init):
                    extra.append(Event(table, NO_GOROUTINE, NO_PROC, NO_THREAD, EvGoStatus,
                                       ev[E_TS], [gid, U64, GoRunnable, 0]))
                self.created_pre_init = {}
                return None
        elif typ == v1.EvProcStart:
            self.proc_ms[p] = i64(ev[E_A0])  # Go: c.procMs[ev.P] = trace.ThreadID(ev.Args[0]) (int64)
            if p in self.seen_procs:
                mtyp = EvProcStart
                args = [p & U64, 0, 0, 0]
            else:
                self.seen_procs.add(p)
                mtyp = EvProcStatus
                args = [p & U64, ProcRunning, 0, 0]
        elif typ == v1.EvProcStop:
            if p in self.seen_procs:
                mtyp = EvProcStop
                args = [p & U64, 0, 0, 0]
            else:
                self.seen_procs.add(p)
                mtyp = EvProcStatus
                args = [p & U64, ProcIdle, 0, 0]
        elif typ == v1.EvGCStart:
            mtyp = EvGCBegin
        elif typ == v1.EvGCDone:
            mtyp = EvGCEnd
        elif typ == v1.EvSTWStart:
            sid = b[sSTWUnknown + v1.stw_reason(self.version, ev[E_A0])]
            self.last_stw_reason = sid
            mtyp = EvSTWBegin
            args = [sid, 0, 0, 0]
        elif typ == v1.EvSTWDone:
            mtyp = EvSTWEnd
            args = [self.last_stw_reason, 0, 0, 0]
        elif typ == v1.EvGCSweepStart:
            mtyp = EvGCSweepBegin
        elif typ == v1.EvGCSweepDone:
            mtyp = EvGCSweepEnd
        elif typ == v1.EvGoCreate:
            if self.pre_init:
                self.created_pre_init[ev[E_A0]] = None
                return None
            mtyp = EvGoCreate
        elif typ == v1.EvGoStart:
            if self.pre_init:
                mtyp = EvGoStatus
                args = [ev[E_A0], U64, GoRunning, 0]
                self.created_pre_init.pop(ev[E_A0], None)
            else:
                mtyp = EvGoStart
        elif typ == v1.EvGoStartLabel:
            m = self.proc_ms.get(p, 0)
            extra.clear()
            extra.append(Event(table, ev[E_G], p, m, EvGoLabel, ev[E_TS], [ev[E_A2], 0, 0, 0]))
            return Event(table, ev[E_G], p, m, EvGoStart, ev[E_TS], args)
        elif typ == v1.EvGoEnd:
            mtyp = EvGoDestroy
        elif typ == v1.EvGoStop:
            mtyp = EvGoBlock
            args = [b[sForever], stk, 0, 0]
        elif typ == v1.EvGoSched:
            mtyp = EvGoStop
            args = [b[sGosched], stk, 0, 0]
        elif typ == v1.EvGoPreempt:
            mtyp = EvGoStop
            args = [b[sPreempted], stk, 0, 0]
        elif typ == v1.EvGoSleep:
            mtyp = EvGoBlock
            args = [b[sSleep], stk, 0, 0]
        elif typ == v1.EvGoBlock:
            mtyp = EvGoBlock
            args = [b[sEmpty], stk, 0, 0]
        elif typ == v1.EvGoUnblock:
            mtyp = EvGoUnblock
        elif typ == v1.EvGoBlockSend:
            mtyp = EvGoBlock
            args = [b[sChanSend], stk, 0, 0]
        elif typ == v1.EvGoBlockRecv:
            mtyp = EvGoBlock
            args = [b[sChanRecv], stk, 0, 0]
        elif typ == v1.EvGoBlockSelect:
            mtyp = EvGoBlock
            args = [b[sSelect], stk, 0, 0]
        elif typ == v1.EvGoBlockSync:
            mtyp = EvGoBlock
            args = [b[sSync], stk, 0, 0]
        elif typ == v1.EvGoBlockCond:
            mtyp = EvGoBlock
            args = [b[sSyncCond], stk, 0, 0]
        elif typ == v1.EvGoBlockNet:
            mtyp = EvGoBlock
            args = [b[sNetwork], stk, 0, 0]
        elif typ == v1.EvGoBlockGC:
            mtyp = EvGoBlock
            args = [b[sMarkAssistWait], stk, 0, 0]
        elif typ == v1.EvGoSysCall:
            # Look for the next event for the same G to determine if the syscall blocked
            # (found for all syscalls at once by the parser: see v1.BLOCKED).
            g = ev[E_G]
            if blocked:
                mtyp = EvGoSyscallBegin
                args = [0, stk, 0, 0]
            else:
                # Convert the old instantaneous syscall event to a pair of syscall begin and
                # syscall end and give it the shortest possible duration, 1ns.
                m = self.proc_ms.get(p, 0)
                extra.append(Event(table, g, p, m, EvGoSyscallEnd, ev[E_TS] + 1, [0, 0, 0, 0]))
                return Event(table, g, p, m, EvGoSyscallBegin, ev[E_TS], [0, stk, 0, 0])
        elif typ == v1.EvGoSysExit:
            mtyp = EvGoSyscallEndBlocked
        elif typ == v1.EvGoSysBlock:
            return None
        elif typ == v1.EvGoWaiting:
            mtyp = EvGoStatus
            args = [ev[E_A0], U64, GoWaiting, 0]
            self.created_pre_init.pop(ev[E_A0], None)
        elif typ == v1.EvGoInSyscall:
            mtyp = EvGoStatus
            # In trace v1, EvGoInSyscall doesn't say which thread: NoThread.
            args = [ev[E_A0], U64, GoSyscall, 0]
            self.created_pre_init.pop(ev[E_A0], None)
        elif typ == v1.EvHeapAlloc:
            mtyp = EvHeapAlloc
        elif typ == v1.EvHeapGoal:
            mtyp = EvHeapGoal
        elif typ == v1.EvGCMarkAssistStart:
            mtyp = EvGCMarkAssistBegin
        elif typ == v1.EvGCMarkAssistDone:
            mtyp = EvGCMarkAssistEnd
        elif typ == v1.EvUserTaskCreate:
            mtyp = EvUserTaskBegin
            parent = ev[E_A1]
            if parent == 0:
                parent = NO_TASK
            args = [ev[E_A0], parent, ev[E_A2], stk]
            _, name = table.strings.get(ev[E_A2])
            self.tasks[ev[E_A0]] = (name, ev[E_A1])
        elif typ == v1.EvUserTaskEnd:
            mtyp = EvUserTaskEnd
            # Event.Task expects the parent and name to be smuggled in extra args and as
            # extra strings.
            ts = self.tasks.pop(ev[E_A0], None)
            if ts is not None:
                args = [ev[E_A0], ev[E_A1], ts[1], table.add_extra_string(ts[0])]
            else:
                args = [ev[E_A0], ev[E_A1], NO_TASK, table.add_extra_string("")]
        elif typ == v1.EvUserRegion:
            mode = ev[E_A1]
            if mode == 0:
                mtyp = EvUserRegionBegin
            elif mode == 1:
                mtyp = EvUserRegionEnd
            else:
                mtyp = 0  # Go leaves mappedType at its zero value (EvNone)
            args = [ev[E_A0], ev[E_A2], stk, 0]
        elif typ == v1.EvUserLog:
            mtyp = EvUserLog
            args = [ev[E_A0], ev[E_A1], self.inline_to_string_id[ev[E_A3]], stk]
        elif typ == v1.EvCPUSample:
            mtyp = EvCPUSample
            # In Go 1.21, CPU samples did not have Ms.
            args = [stk, U64, p & U64, ev[E_G]]
        else:
            raise ReadError(f"unexpected event type {typ}")

        if v1._HAS_STACK[typ]:
            k = STACK_ARG.get(mtyp)
            if k is not None:
                args[k] = stk

        m = NO_THREAD
        if p != -1 and typ != v1.EvCPUSample:
            m = self.proc_ms.get(p, NO_THREAD)
        if typ == v1.EvProcStop:
            self.proc_ms.pop(p, None)
        g = ev[E_G]
        if g == 0:
            g = NO_GOROUTINE
        return Event(table, g, p, m, mtyp, ev[E_TS], args)


