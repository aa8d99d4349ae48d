"""Wire-format event types and their specs (port of Go's internal/trace/tracev2).

Mirrors go/src/internal/trace/tracev2/{events.go,spec.go} of Go 1.27.3. Event type
numbers are the bytes on the wire; SPECS[typ] describes the arguments of each type.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Event types (events.go). Values are the wire bytes.
EvNone = 0
# Structural events.
EvEventBatch = 1
EvStacks = 2
EvStack = 3
EvStrings = 4
EvString = 5
EvCPUSamples = 6
EvCPUSample = 7
EvFrequency = 8
# Procs.
EvProcsChange = 9
EvProcStart = 10
EvProcStop = 11
EvProcSteal = 12
EvProcStatus = 13
# Goroutines.
EvGoCreate = 14
EvGoCreateSyscall = 15
EvGoStart = 16
EvGoDestroy = 17
EvGoDestroySyscall = 18
EvGoStop = 19
EvGoBlock = 20
EvGoUnblock = 21
EvGoSyscallBegin = 22
EvGoSyscallEnd = 23
EvGoSyscallEndBlocked = 24
EvGoStatus = 25
# STW.
EvSTWBegin = 26
EvSTWEnd = 27
# GC events.
EvGCActive = 28
EvGCBegin = 29
EvGCEnd = 30
EvGCSweepActive = 31
EvGCSweepBegin = 32
EvGCSweepEnd = 33
EvGCMarkAssistActive = 34
EvGCMarkAssistBegin = 35
EvGCMarkAssistEnd = 36
EvHeapAlloc = 37
EvHeapGoal = 38
# Annotations.
EvGoLabel = 39
EvUserTaskBegin = 40
EvUserTaskEnd = 41
EvUserRegionBegin = 42
EvUserRegionEnd = 43
EvUserLog = 44
# Coroutines. Added in Go 1.23.
EvGoSwitch = 45
EvGoSwitchDestroy = 46
EvGoCreateBlocked = 47
# GoStatus with stack. Added in Go 1.23.
EvGoStatusStack = 48
# Experimental batch. Added in Go 1.23.
EvExperimentalBatch = 49
# Sync batch. Added in Go 1.25.
EvSync = 50
EvClockSnapshot = 51
# In-band end-of-generation signal. Added in Go 1.26.
EvEndOfGeneration = 52
NumEvents = 53

# Experiments.
NoExperiment = 0
AllocFree = 1
NumExperiments = 2
EXPERIMENTS = ["None", "AllocFree"]

# Experimental events.
MaxEvent = 127
EvSpan = 128
EvSpanAlloc = 129
EvSpanFree = 130
EvHeapObject = 131
EvHeapObjectAlloc = 132
EvHeapObjectFree = 133
EvGoroutineStack = 134
EvGoroutineStackAlloc = 135
EvGoroutineStackFree = 136
MaxExperimentalEvent = 137
NumExperimentalEvents = MaxExperimentalEvent - MaxEvent

MaxTimedEventArgs = 5


def is_experimental(typ: int) -> bool:
    return MaxEvent < typ < MaxExperimentalEvent


@dataclass(frozen=True)
class EventSpec:
    """spec.go EventSpec. Args[0] of a timed event is its timestamp delta ("dt")."""

    name: str = ""
    args: tuple[str, ...] = ()
    string_ids: tuple[int, ...] = ()
    stack_ids: tuple[int, ...] = ()
    start_ev: int = EvNone
    is_timed_event: bool = False
    has_data: bool = False
    is_stack: bool = False
    experiment: int = NoExperiment
    # Derived: for timed events, the number of arguments after the timestamp.
    nargs: int = field(default=0, compare=False)


def _s(name, args=(), string_ids=(), stack_ids=(), start_ev=EvNone, timed=False,
       has_data=False, is_stack=False, experiment=NoExperiment) -> EventSpec:
    args = tuple(args)
    return EventSpec(name, args, tuple(string_ids), tuple(stack_ids), start_ev, timed, has_data,
                     is_stack, experiment, max(len(args) - 1, 0))


_SPEC_MAP = {
    # "Structural" events.
    EvEventBatch: _s("EventBatch", ["gen", "m", "time", "size"]),
    EvStacks: _s("Stacks"),
    EvStack: _s("Stack", ["id", "nframes"], is_stack=True),
    EvStrings: _s("Strings"),
    EvString: _s("String", ["id"], has_data=True),
    EvCPUSamples: _s("CPUSamples"),
    EvCPUSample: _s("CPUSample", ["time", "m", "p", "g", "stack"], stack_ids=[4]),
    EvFrequency: _s("Frequency", ["freq"]),
    EvExperimentalBatch: _s("ExperimentalBatch", ["exp", "gen", "m", "time"], has_data=True),
    EvSync: _s("Sync"),
    EvEndOfGeneration: _s("EndOfGeneration"),
    # "Timed" events.
    EvProcsChange: _s("ProcsChange", ["dt", "procs_value", "stack"], timed=True, stack_ids=[2]),
    EvProcStart: _s("ProcStart", ["dt", "p", "p_seq"], timed=True),
    EvProcStop: _s("ProcStop", ["dt"], timed=True),
    EvProcSteal: _s("ProcSteal", ["dt", "p", "p_seq", "m"], timed=True),
    EvProcStatus: _s("ProcStatus", ["dt", "p", "pstatus"], timed=True),
    EvGoCreate: _s("GoCreate", ["dt", "new_g", "new_stack", "stack"], timed=True, stack_ids=[3, 2]),
    EvGoCreateSyscall: _s("GoCreateSyscall", ["dt", "new_g"], timed=True),
    EvGoStart: _s("GoStart", ["dt", "g", "g_seq"], timed=True),
    EvGoDestroy: _s("GoDestroy", ["dt"], timed=True),
    EvGoDestroySyscall: _s("GoDestroySyscall", ["dt"], timed=True),
    EvGoStop: _s("GoStop", ["dt", "reason_string", "stack"], timed=True, stack_ids=[2], string_ids=[1]),
    EvGoBlock: _s("GoBlock", ["dt", "reason_string", "stack"], timed=True, stack_ids=[2], string_ids=[1]),
    EvGoUnblock: _s("GoUnblock", ["dt", "g", "g_seq", "stack"], timed=True, stack_ids=[3]),
    EvGoSyscallBegin: _s("GoSyscallBegin", ["dt", "p_seq", "stack"], timed=True, stack_ids=[2]),
    EvGoSyscallEnd: _s("GoSyscallEnd", ["dt"], start_ev=EvGoSyscallBegin, timed=True),
    EvGoSyscallEndBlocked: _s("GoSyscallEndBlocked", ["dt"], start_ev=EvGoSyscallBegin, timed=True),
    EvGoStatus: _s("GoStatus", ["dt", "g", "m", "gstatus"], timed=True),
    EvSTWBegin: _s("STWBegin", ["dt", "kind_string", "stack"], timed=True, stack_ids=[2], string_ids=[1]),
    EvSTWEnd: _s("STWEnd", ["dt"], start_ev=EvSTWBegin, timed=True),
    EvGCActive: _s("GCActive", ["dt", "gc_seq"], timed=True, start_ev=EvGCBegin),
    EvGCBegin: _s("GCBegin", ["dt", "gc_seq", "stack"], timed=True, stack_ids=[2]),
    EvGCEnd: _s("GCEnd", ["dt", "gc_seq"], start_ev=EvGCBegin, timed=True),
    EvGCSweepActive: _s("GCSweepActive", ["dt", "p"], start_ev=EvGCSweepBegin, timed=True),
    EvGCSweepBegin: _s("GCSweepBegin", ["dt", "stack"], timed=True, stack_ids=[1]),
    EvGCSweepEnd: _s("GCSweepEnd", ["dt", "swept_value", "reclaimed_value"], start_ev=EvGCSweepBegin, timed=True),
    EvGCMarkAssistActive: _s("GCMarkAssistActive", ["dt", "g"], start_ev=EvGCMarkAssistBegin, timed=True),
    EvGCMarkAssistBegin: _s("GCMarkAssistBegin", ["dt", "stack"], timed=True, stack_ids=[1]),
    EvGCMarkAssistEnd: _s("GCMarkAssistEnd", ["dt"], start_ev=EvGCMarkAssistBegin, timed=True),
    EvHeapAlloc: _s("HeapAlloc", ["dt", "heapalloc_value"], timed=True),
    EvHeapGoal: _s("HeapGoal", ["dt", "heapgoal_value"], timed=True),
    EvGoLabel: _s("GoLabel", ["dt", "label_string"], timed=True, string_ids=[1]),
    EvUserTaskBegin: _s("UserTaskBegin", ["dt", "task", "parent_task", "name_string", "stack"], timed=True,
                        stack_ids=[4], string_ids=[3]),
    EvUserTaskEnd: _s("UserTaskEnd", ["dt", "task", "stack"], timed=True, stack_ids=[2]),
    EvUserRegionBegin: _s("UserRegionBegin", ["dt", "task", "name_string", "stack"], timed=True,
                          stack_ids=[3], string_ids=[2]),
    EvUserRegionEnd: _s("UserRegionEnd", ["dt", "task", "name_string", "stack"], start_ev=EvUserRegionBegin,
                        timed=True, stack_ids=[3], string_ids=[2]),
    EvUserLog: _s("UserLog", ["dt", "task", "key_string", "value_string", "stack"], timed=True,
                  stack_ids=[4], string_ids=[2, 3]),
    EvGoSwitch: _s("GoSwitch", ["dt", "g", "g_seq"], timed=True),
    EvGoSwitchDestroy: _s("GoSwitchDestroy", ["dt", "g", "g_seq"], timed=True),
    EvGoCreateBlocked: _s("GoCreateBlocked", ["dt", "new_g", "new_stack", "stack"], timed=True, stack_ids=[3, 2]),
    EvGoStatusStack: _s("GoStatusStack", ["dt", "g", "m", "gstatus", "stack"], timed=True, stack_ids=[4]),
    EvClockSnapshot: _s("ClockSnapshot", ["dt", "mono", "sec", "nsec"], timed=True),
    # Experimental events.
    EvSpan: _s("Span", ["dt", "id", "npages_value", "kindclass"], timed=True, experiment=AllocFree),
    EvSpanAlloc: _s("SpanAlloc", ["dt", "id", "npages_value", "kindclass"], timed=True, experiment=AllocFree),
    EvSpanFree: _s("SpanFree", ["dt", "id"], timed=True, experiment=AllocFree),
    EvHeapObject: _s("HeapObject", ["dt", "id", "type"], timed=True, experiment=AllocFree),
    EvHeapObjectAlloc: _s("HeapObjectAlloc", ["dt", "id", "type"], timed=True, experiment=AllocFree),
    EvHeapObjectFree: _s("HeapObjectFree", ["dt", "id"], timed=True, experiment=AllocFree),
    EvGoroutineStack: _s("GoroutineStack", ["dt", "id", "order"], timed=True, experiment=AllocFree),
    EvGoroutineStackAlloc: _s("GoroutineStackAlloc", ["dt", "id", "order"], timed=True, experiment=AllocFree),
    EvGoroutineStackFree: _s("GoroutineStackFree", ["dt", "id"], timed=True, experiment=AllocFree),
}

_EMPTY = EventSpec()
#: Specs() — indexed by wire event type; len == MaxExperimentalEvent like Go's specs array.
SPECS: tuple[EventSpec, ...] = tuple(_SPEC_MAP.get(i, _EMPTY) for i in range(MaxExperimentalEvent))

#: For each of the 256 byte values: number of varint args after the timestamp for a timed
#: event, or -1 when the type is out of range or not timed (wire.py uses this).
TIMED_NARGS: tuple[int, ...] = tuple(
    (SPECS[i].nargs if i < len(SPECS) and SPECS[i].args and SPECS[i].is_timed_event else -1)
    for i in range(256))

# GoStatus (wire goroutine status).
GoBad, GoRunnable, GoRunning, GoSyscall, GoWaiting = 0, 1, 2, 3, 4
_GO_STATUS_STR = {GoRunnable: "Runnable", GoRunning: "Running", GoSyscall: "Syscall", GoWaiting: "Waiting"}


def go_status_str(s: int) -> str:
    return _GO_STATUS_STR.get(s, "Bad")


# ProcStatus (wire P status).
ProcBad, ProcRunning, ProcIdle, ProcSyscall, ProcSyscallAbandoned = 0, 1, 2, 3, 4
_PROC_STATUS_STR = {ProcRunning: "Running", ProcIdle: "Idle", ProcSyscall: "Syscall",
                    ProcSyscallAbandoned: "SyscallAbandoned"}


def proc_status_str(s: int) -> str:
    return _PROC_STATUS_STR.get(s, "Bad")


MaxBatchSize = 64 << 10
MaxFramesPerStack = 128
MaxEventTrailerDataSize = 1 << 10
