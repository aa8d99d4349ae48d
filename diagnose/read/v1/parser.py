"""Decoder for the old (Go 1.11–1.21) execution-trace wire format.

A port of Go 1.27.3's ``src/internal/trace/internal/tracev1/parser.go`` (with the ordering
helpers of ``order.go`` in :mod:`diagnose.read.v1.order`).  Names, checks and error texts
follow Go's so that a reader can hold the two side by side.

An old trace is materialised whole, as Go does, so its events are kept compactly: SLOTS
int64 each in one flat array (the *store*), in the layout of the ``E_*`` index constants
below, which mirrors Go's ``tracev1.Event`` struct ``{Ts, G, Args[4], StkID, P, Type}``.
An event becomes a plain Python list of that layout only while a stage works on it: the
merge (a chunk of each P's events at a time), the validation and the converter (one at a
time, by the merged order).  What the validation learns is written back to the store.

Deliberate differences from Go (none changes the result for a well-formed trace):

* Go scans the file twice (index the batches, then decode each P's batches while
  merging).  We decode every batch once, in file order, into the store, with one queue of
  event ranges per P.  The only cross-batch decoder state (``lastGs``) is keyed by P and
  each P's batches are still decoded in file order, so every event comes out identical.
* Go merges the per-P queues starting from a Go *map* iteration order, which is random:
  when two Ps hold events with the same timestamp, ``go tool trace`` may print them in
  either order from one run to the next.  We start from the Ps sorted by ID (then the
  CPU-sample queue, as Go does), so our output is one of the orders Go produces, always
  the same one.
* ``salvage=True`` (used for truncated files, see :mod:`diagnose.read.v1`) stops at the
  last complete record, and cuts the event stream where it can no longer be ordered or
  validated, instead of failing.
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from diagnose import paused_gc
from diagnose.errors import TraceError

from .order import heap_pop as _heap_pop
from .packed import Packed, event_ts, n_events, times
from .order import (
    G_DEAD,
    G_RUNNABLE,
    G_RUNNING,
    G_WAITING,
    NOSEQ,
    SEQINC,
    UNORDERED,
    GARBAGE,
)

# ---------------------------------------------------------------------------------------
# Event layout (Go: tracev1.Event)
E_TS = 0
E_G = 1
E_A0 = 2
E_A1 = 3
E_A2 = 4
E_A3 = 5
E_STK = 6
E_P = 7
E_TYPE = 8
SLOTS = 9  # ints per event in the compact store

# Special P identifiers (Go: FakeP + iota)
FakeP = 1000000
TimerP = 1000001  # contains timer unblocks
NetpollP = 1000002  # contains network unblocks
SyscallP = 1000003  # contains returns from syscalls
GCP = 1000004  # contains GC state
ProfileP = 1000005  # contains recording of CPU profile samples

MAX_UINT64 = (1 << 64) - 1
MAX_INT32 = (1 << 31) - 1
MAX_INT64 = (1 << 63) - 1

# ---------------------------------------------------------------------------------------
# Event types, verbatim from Go (runtime/trace.go of 1.21 with the "trace" prefix removed).
EvNone = 0
EvBatch = 1
EvFrequency = 2
EvStack = 3
EvGomaxprocs = 4
EvProcStart = 5
EvProcStop = 6
EvGCStart = 7
EvGCDone = 8
EvSTWStart = 9
EvSTWDone = 10
EvGCSweepStart = 11
EvGCSweepDone = 12
EvGoCreate = 13
EvGoStart = 14
EvGoEnd = 15
EvGoStop = 16
EvGoSched = 17
EvGoPreempt = 18
EvGoSleep = 19
EvGoBlock = 20
EvGoUnblock = 21
EvGoBlockSend = 22
EvGoBlockRecv = 23
EvGoBlockSelect = 24
EvGoBlockSync = 25
EvGoBlockCond = 26
EvGoBlockNet = 27
EvGoSysCall = 28
EvGoSysExit = 29
EvGoSysBlock = 30
EvGoWaiting = 31
EvGoInSyscall = 32
EvHeapAlloc = 33
EvHeapGoal = 34
EvTimerGoroutine = 35
EvFutileWakeup = 36
EvString = 37
EvGoStartLocal = 38
EvGoUnblockLocal = 39
EvGoSysExitLocal = 40
EvGoStartLabel = 41
EvGoBlockGC = 42
EvGCMarkAssistStart = 43
EvGCMarkAssistDone = 44
EvUserTaskCreate = 45
EvUserTaskEnd = 46
EvUserRegion = 47
EvUserLog = 48
EvCPUSample = 49
EvCount = 50


@dataclass(frozen=True)
class EventDescription:
    name: str
    min_version: int
    stack: bool
    args: tuple[str, ...]
    sargs: tuple[str, ...] = ()


# Go: EventDescriptions
EVENT_DESCRIPTIONS: dict[int, EventDescription] = {
    EvNone: EventDescription("None", 5, False, ()),
    EvBatch: EventDescription("Batch", 5, False, ("p", "ticks")),
    EvFrequency: EventDescription("Frequency", 5, False, ("freq",)),
    EvStack: EventDescription("Stack", 5, False, ("id", "siz")),
    EvGomaxprocs: EventDescription("Gomaxprocs", 5, True, ("procs",)),
    EvProcStart: EventDescription("ProcStart", 5, False, ("thread",)),
    EvProcStop: EventDescription("ProcStop", 5, False, ()),
    EvGCStart: EventDescription("GCStart", 5, True, ("seq",)),
    EvGCDone: EventDescription("GCDone", 5, False, ()),
    EvSTWStart: EventDescription("GCSTWStart", 5, False, ("kindid",), ("kind",)),
    EvSTWDone: EventDescription("GCSTWDone", 5, False, ()),
    EvGCSweepStart: EventDescription("GCSweepStart", 5, True, ()),
    EvGCSweepDone: EventDescription("GCSweepDone", 5, False, ("swept", "reclaimed")),
    EvGoCreate: EventDescription("GoCreate", 5, True, ("g", "stack")),
    EvGoStart: EventDescription("GoStart", 5, False, ("g", "seq")),
    EvGoEnd: EventDescription("GoEnd", 5, False, ()),
    EvGoStop: EventDescription("GoStop", 5, True, ()),
    EvGoSched: EventDescription("GoSched", 5, True, ()),
    EvGoPreempt: EventDescription("GoPreempt", 5, True, ()),
    EvGoSleep: EventDescription("GoSleep", 5, True, ()),
    EvGoBlock: EventDescription("GoBlock", 5, True, ()),
    EvGoUnblock: EventDescription("GoUnblock", 5, True, ("g", "seq")),
    EvGoBlockSend: EventDescription("GoBlockSend", 5, True, ()),
    EvGoBlockRecv: EventDescription("GoBlockRecv", 5, True, ()),
    EvGoBlockSelect: EventDescription("GoBlockSelect", 5, True, ()),
    EvGoBlockSync: EventDescription("GoBlockSync", 5, True, ()),
    EvGoBlockCond: EventDescription("GoBlockCond", 5, True, ()),
    EvGoBlockNet: EventDescription("GoBlockNet", 5, True, ()),
    EvGoSysCall: EventDescription("GoSysCall", 5, True, ()),
    EvGoSysExit: EventDescription("GoSysExit", 5, False, ("g", "seq", "ts")),
    EvGoSysBlock: EventDescription("GoSysBlock", 5, False, ()),
    EvGoWaiting: EventDescription("GoWaiting", 5, False, ("g",)),
    EvGoInSyscall: EventDescription("GoInSyscall", 5, False, ("g",)),
    EvHeapAlloc: EventDescription("HeapAlloc", 5, False, ("mem",)),
    EvHeapGoal: EventDescription("HeapGoal", 5, False, ("mem",)),
    EvTimerGoroutine: EventDescription("TimerGoroutine", 5, False, ("g",)),
    EvFutileWakeup: EventDescription("FutileWakeup", 5, False, ()),
    EvString: EventDescription("String", 7, False, ()),
    EvGoStartLocal: EventDescription("GoStartLocal", 7, False, ("g",)),
    EvGoUnblockLocal: EventDescription("GoUnblockLocal", 7, True, ("g",)),
    EvGoSysExitLocal: EventDescription("GoSysExitLocal", 7, False, ("g", "ts")),
    EvGoStartLabel: EventDescription("GoStartLabel", 8, False, ("g", "seq", "labelid"), ("label",)),
    EvGoBlockGC: EventDescription("GoBlockGC", 8, True, ()),
    EvGCMarkAssistStart: EventDescription("GCMarkAssistStart", 9, True, ()),
    EvGCMarkAssistDone: EventDescription("GCMarkAssistDone", 9, False, ()),
    EvUserTaskCreate: EventDescription("UserTaskCreate", 11, True, ("taskid", "pid", "typeid"), ("name",)),
    EvUserTaskEnd: EventDescription("UserTaskEnd", 11, True, ("taskid",)),
    EvUserRegion: EventDescription("UserRegion", 11, True, ("taskid", "mode", "typeid"), ("name",)),
    EvUserLog: EventDescription("UserLog", 11, True, ("id", "keyid"), ("category", "message")),
    EvCPUSample: EventDescription("CPUSample", 19, True, ("ts", "p", "g")),
}


def _arg_num(typ: int) -> int:
    """Go: rawEvent.argNum, for every type but EvStack (whose count is its length)."""
    desc = EVENT_DESCRIPTIONS[typ]
    narg = len(desc.args)
    if desc.stack:
        narg += 1
    if typ in (EvBatch, EvFrequency, EvTimerGoroutine):
        return narg
    return narg + 1  # timestamp


# Expected raw argument counts, indexed by type (None: no description / EvStack).
_ARGNUM: list[int | None] = [None] * 256
for _t in EVENT_DESCRIPTIONS:
    if _t != EvStack:
        _ARGNUM[_t] = _arg_num(_t)
# Which raw argument (if any) is the stack ID, indexed by type.
_HAS_STACK = [False] * 256
for _t, _d in EVENT_DESCRIPTIONS.items():
    _HAS_STACK[_t] = _d.stack

# Zero padding that fills Args[4] after an event's own arguments, indexed by type.
_PADS: list[tuple] = [()] * 256
for _t, _d in EVENT_DESCRIPTIONS.items():
    _PADS[_t] = (0,) * (4 - len(_d.args))

def _gcode(typ: int) -> int:
    """How parseEvent updates the current G: 1 sets it (and ev.G) from Args[0], 2 clears
    it, 3 sets ev.G from Args[0]; 0 nothing."""
    if typ in _SETS_LAST_G:
        return 1
    if typ in _CLEARS_LAST_G:
        return 2
    if typ in _G_FROM_ARG0:
        return 3
    return 0


_FAST_TABLES: dict[int, tuple[int, ...]] = {}


def _fast_table(ver: int) -> tuple[int, ...]:
    """Per header byte: which fast decoding path applies (0 = use the general path).

    1: only a timestamp; 2: timestamp + stack; 3: timestamp + 1 arg; 4: timestamp + 1 arg
    + stack; 5: timestamp + 2 args.  Only for ordinary timed events of this version whose
    inline argument count is the one parseEvent expects.
    """
    t = _FAST_TABLES.get(ver)
    if t is None:
        out = []
        for b in range(256):
            typ = b & 0x3F
            narg = (b >> 6) + 1
            d = EVENT_DESCRIPTIONS.get(typ)
            code = 0
            if (d is not None and typ not in (EvNone, EvString, EvBatch, EvFrequency,
                                              EvTimerGoroutine, EvStack, EvCPUSample, EvUserLog)
                    and d.min_version <= ver and narg <= 3 and _ARGNUM[typ] == narg):
                code = {(1, False): 1, (2, True): 2, (2, False): 3, (3, True): 4,
                        (3, False): 5}[(narg, d.stack)]
            out.append(code)
        t = _FAST_TABLES[ver] = tuple(out)
    return t


# Event types whose argument names a string of the table: the index of that argument in the
# event list (labels, task types, region names, log keys). Checked once the file is decoded
# (a string can be written in a batch that comes later in the file than its first use).
_STRING_REF_ARG = {EvGoStartLabel: E_A2, EvUserTaskCreate: E_A2, EvUserRegion: E_A2, EvUserLog: E_A1}

# Types after which the P's current goroutine is "none" (Go: p.lastG = 0).
_CLEARS_LAST_G = frozenset(
    (EvGoEnd, EvGoStop, EvGoSched, EvGoPreempt, EvGoSleep, EvGoBlock, EvGoBlockSend,
     EvGoBlockRecv, EvGoBlockSelect, EvGoBlockSync, EvGoBlockCond, EvGoBlockNet,
     EvGoSysBlock, EvGoBlockGC)
)
_SETS_LAST_G = frozenset((EvGoStart, EvGoStartLocal, EvGoStartLabel))
_G_FROM_ARG0 = frozenset((EvGoSysExit, EvGoWaiting, EvGoInSyscall))
_GCODES = tuple(_gcode(t) for t in range(256))


# STW reasons (Go: tracev1.STWReason)
STWUnknown = 0
NumSTWReasons = 17


def stw_reason(version: int, kind_id: int) -> int:
    """Go: Trace.STWReason."""
    if version < 21:
        if kind_id in (0, 1):
            return kind_id + 1
        return STWUnknown
    if version == 21:
        if kind_id < NumSTWReasons:
            return kind_id
        return STWUnknown
    return STWUnknown


class ErrTimeOrder(TraceError):
    """Go: tracev1.ErrTimeOrder."""

    def __init__(self, path: str | None = None, offset: int | None = None) -> None:
        super().__init__("time stamps out of order", path, offset)


ERR_MALFORMED_VARINT = "malformatted base-128 varint"


class _Truncated(Exception):
    """Internal: a record that cannot be decoded; carries Go's message.

    ``eof``: the data ran out inside the record (a cut file) rather than being malformed.
    """

    def __init__(self, message: str, offset: int, eof: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.eof = eof


@dataclass
class Frame:
    """Go: tracev1.Frame."""

    pc: int
    fn: int  # string ID of the function name
    file: int  # string ID of the file name
    line: int


@dataclass
class Trace:
    """Go: tracev1.Trace — the result of :func:`parse`."""

    version: int
    # The events, in the compact form of _Decoder.store (the E_* layout, SLOTS ints each),
    # in Go's order: event ``order[i]`` is ``load_event(store, order[i])``. Times are in ns;
    # a GoSysCall that blocked has type EvGoSysCall | BLOCKED (computed here because Go's
    # converter looks ahead to the goroutine's next event, see convert.py).
    store: Packed | array | list
    order: array
    stacks: dict[int, list[int]]
    pcs: dict[int, Frame]
    strings: dict[int, str]
    inline_strings: list[str]
    # Ours: notes about data we could not use (salvage mode only).
    warnings: list[str] = field(default_factory=list)
    lost_bytes: int = 0
    missing_stacks: int = 0  # stack references dropped because the stack table lacks them (salvage)


def _to_int64(v: int) -> int:
    v &= MAX_UINT64
    return v - (1 << 64) if v > MAX_INT64 else v


def _to_int32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v > MAX_INT32 else v


def _uvarint_slow(data, off: int, end: int):
    """Go: binary.Uvarint on data[off:end].

    Returns (value, new_off), or (None, ran_out) if bad: ``ran_out`` is True when the
    buffer ended before the varint did, False for an overflowing varint.
    """
    x = 0
    s = 0
    i = 0
    while True:
        if off + i >= end:
            return None, True  # buffer too small
        if i == 10:
            return None, False  # overflow
        b = data[off + i]
        if b < 0x80:
            if i == 9 and b > 1:
                return None, False  # overflow
            return x | (b << s), off + i + 1
        x |= (b & 0x7F) << s
        s += 7
        i += 1


#: ints of decoded events held as a Python list before they move to the compact store
_BUF_INTS = SLOTS << 14
#: events the compiled decoder writes per call, and distinct string ids it notes per call
_FAST_EVENTS = 1 << 14
_FAST_REFS = 256


def _compiled(name: str):
    """The function `name` of the compiled module _v1fast, or None (not built, or
    NETPOLL_DIAGNOSE_PURE set: the pure-Python reference)."""
    from diagnose import settings

    if settings().pure:
        return None
    try:
        from . import _v1fast  # type: ignore[attr-defined]
    except ImportError:
        return None
    return getattr(_v1fast, name)


_DECODER_TABLES: dict[int, bytes] = {}


def _decoder_tables(ver: int) -> bytes:
    """decode_events' tables, per type (0..63): the types it may decode (timed events of this
    version with no special handling), argnum, has-stack, gcode and the slot of a string id."""
    t = _DECODER_TABLES.get(ver)
    if t is None:
        special = {EvNone, EvBatch, EvFrequency, EvStack, EvString, EvTimerGoroutine, EvUserLog,
                   EvCPUSample}
        plain = [int(typ in EVENT_DESCRIPTIONS and typ not in special and EVENT_DESCRIPTIONS[typ].min_version <= ver
                     and typ < EvCount) for typ in range(64)]
        argnum = [_ARGNUM[typ] if plain[typ] else -1 for typ in range(64)]
        t = _DECODER_TABLES[ver] = array("q", plain + argnum + [int(_HAS_STACK[x]) for x in range(64)]
                                        + [_GCODES[x] for x in range(64)]
                                        + [_STRING_REF_ARG.get(x, -1) for x in range(64)]).tobytes()
    return t


class _Decoder:
    """Decodes every batch of the file (Go: parser.readRawEvent + parser.parseEvent)."""

    def __init__(self, data, version: int, start: int, salvage: bool) -> None:
        self.data = data
        self.ver = version
        self.start = start
        self.salvage = salvage
        self.strings: dict[int, str] = {}
        self.inline_strings: list[str] = []
        self.inline_strings_mapping: dict[str, int] = {}
        self.stacks: dict[int, list[int]] = {}
        self.pcs: dict[int, Frame] = {}
        self.pc_offsets: dict[int, int] = {}  # pc -> offset of the stack record that defined its frame
        # string id -> (record offset, type) of the first event that names it
        self.string_refs: dict[int, tuple[int, int]] = {}
        self.ticks_per_sec = 0
        self.timer_goids: set[int] = set()
        # Every event, in file order: with the compiled kernel a Packed store (packed.py: 40 bytes
        # an event), else SLOTS ints each (the E_* layout) in one flat array('q'): ~72 bytes an
        # event instead of ~260 for a list of ints. A value past int64 (crafted input only) turns
        # either into a plain list of the E_* layout (see _flush).
        self.store: Packed | array | list = Packed() if _compiled("pack_rows") is not None else array("q")
        # CPU samples: indexes (event numbers) into the store
        self.cpu_samples: list[int] = []
        # per-P event queues, in the order Ps first appear: (first, end) event numbers of each
        # of the P's batches, flattened
        self.proc_events: dict[int, list[int]] = {}
        self.warnings: list[str] = []
        self.end_off = len(data)  # where decoding stopped (salvage)
        self.cut_message = ""  # why (salvage): Go's error for the cut record
        self.saw_frequency_at = -1

    # -- the single decoding pass ------------------------------------------------------
    def run(self) -> None:
        """Decode the whole file. Raises TraceError (strict) or stops early (salvage)."""
        data = self.data
        n = len(data)
        off = self.start
        ver = self.ver
        descs = EVENT_DESCRIPTIONS
        argnum = _ARGNUM
        has_stack = _HAS_STACK
        pads = _PADS
        fast = _fast_table(ver)
        gcodes = _GCODES
        clears_last_g = _CLEARS_LAST_G
        sets_last_g = _SETS_LAST_G
        g_from_arg0 = _G_FROM_ARG0
        strings = self.strings
        proc_events = self.proc_events
        string_refs = _STRING_REF_ARG
        # the current batch's events, flat, moved to the store at the end of the batch (cheaper
        # than extending the array event by event)
        buf: list[int] = []
        put = buf.extend

        # parseEvent state
        last_ts = 0
        last_g = 0
        last_gs: dict[int, int] = {}
        last_p = 0
        cur: list | None = None  # batch ranges of the current batch's P
        batch_start = 0  # event number of the current batch's first event
        seen_batch = False

        rec_start = off
        # The compiled decoder (_v1fast.decode_events) takes the runs of plain timed events and
        # stops at any other record, which the code below reads (so every error is this code's).
        fastdec = _compiled("decode_events")
        if fastdec is not None:
            dec_tables = _decoder_tables(ver)
            scratch = bytearray(8 * SLOTS * _FAST_EVENTS)
            scratch_mv = memoryview(scratch)
            new_refs = array("q", bytes(8 * 3 * _FAST_REFS))
            first_ref = self.string_refs
        try:
            while off < n:
                if (fastdec is not None and cur is not None
                        and -MAX_INT64 - 1 <= last_ts <= MAX_INT64 and 0 <= last_g <= MAX_INT64):
                    self._flush(buf)  # (a value past int64 turns the store into a list: no more C)
                    if type(self.store) is list:
                        fastdec = None
                        continue
                    off, last_ts, last_g, k, nr = fastdec(data, off, n, last_ts, last_g, last_p, dec_tables,
                                                          scratch, new_refs)
                    if k:
                        self._put_wide(scratch_mv[:k * 8 * SLOTS])
                    for i in range(0, 3 * nr, 3):
                        if new_refs[i] not in first_ref:
                            first_ref[new_refs[i]] = (new_refs[i + 1], new_refs[i + 2])
                    if off >= n:
                        break
                rec_start = off
                b = data[off]
                off += 1
                code = fast[b]
                if code and cur is not None:
                    # Fast path for the common timed events with inline arguments; the
                    # same steps as the general path below (readRawEvent + parseEvent).
                    typ = b & 0x3F
                    c = data[off]
                    if c < 0x80:
                        off += 1
                    else:
                        c, off = _arg_varint(data, off, n, typ, rec_start)
                    last_ts += c
                    g = last_g
                    if code == 1:
                        ev = (last_ts, g, 0, 0, 0, 0, 0, last_p, typ)
                        if gcodes[typ] == 2:
                            last_g = 0
                    else:
                        x = data[off]
                        if x < 0x80:
                            off += 1
                        else:
                            x, off = _arg_varint(data, off, n, typ, rec_start)
                        gcode = gcodes[typ]
                        if gcode:
                            if gcode == 1:
                                last_g = g = x
                            elif gcode == 2:
                                last_g = 0
                            else:
                                g = x
                        if code == 2:
                            ev = (last_ts, g, 0, 0, 0, 0, x & 0xFFFFFFFF, last_p, typ)
                        elif code == 3:
                            ev = (last_ts, g, x, 0, 0, 0, 0, last_p, typ)
                        else:
                            y = data[off]
                            if y < 0x80:
                                off += 1
                            else:
                                y, off = _arg_varint(data, off, n, typ, rec_start)
                            if code == 4:
                                ev = (last_ts, g, x, 0, 0, 0, y & 0xFFFFFFFF, last_p, typ)
                            else:
                                ev = (last_ts, g, x, y, 0, 0, 0, last_p, typ)
                    put(ev)
                    if len(buf) > _BUF_INTS:  # a huge (crafted) batch
                        self._flush(buf)
                    continue

                typ = b & 0x3F
                narg = (b >> 6) + 1
                if typ == EvNone or typ >= EvCount or descs[typ].min_version > ver:
                    raise _Truncated(f"unknown event type {typ}", rec_start)

                if typ == EvString:
                    # String dictionary entry [ID, length, string].
                    sid, off = _read_uvarint(data, off, n)
                    if sid == 0:
                        raise _Truncated("string has invalid id 0", rec_start)
                    if strings.get(sid, "") != "" and seen_batch:
                        raise _Truncated(f"string has duplicate id {sid}", rec_start)
                    ln, off = _read_uvarint(data, off, n)
                    if ln == 0:
                        raise _Truncated("string has invalid length 0", rec_start)
                    if ln > 1_000_000:
                        raise _Truncated(f"string has too large length {ln}", rec_start)
                    s, off = _read_str(data, off, n, ln, rec_start)
                    # Go only keeps strings that sit inside a batch (it reads them while
                    # loading batches); strings before the first batch header are skipped.
                    if seen_batch:
                        strings[sid] = s
                    continue

                if typ == EvBatch:
                    if narg != 2:
                        raise _Truncated(
                            f"EvBatch has wrong number of arguments: got {narg}, want 2", rec_start)
                    pid, off = _read_uvarint(data, off, n)
                    if pid != MAX_UINT64 and pid > MAX_INT32:
                        raise _Truncated(
                            f"processor ID {pid} is larger than maximum of {MAX_UINT64}", rec_start)
                    ts, off = _read_uvarint(data, off, n)
                    # parseEvent(EvBatch)
                    last_gs[last_p] = last_g
                    last_p = -1 if pid == MAX_UINT64 else pid
                    last_g = last_gs.get(last_p, 0)
                    last_ts = _to_int64(ts)
                    self._flush(buf)
                    nev = n_events(self.store)
                    if cur is not None and nev > batch_start:
                        cur.append(batch_start)
                        cur.append(nev)
                    batch_start = nev
                    cur = proc_events.get(last_p)
                    if cur is None:
                        cur = proc_events[last_p] = []
                    seen_batch = True
                    continue

                # -- default: read the arguments
                if narg <= 3:
                    # Inline arguments (timestamp first); most are one-byte varints.
                    args = []
                    for _ in range(narg):
                        if off < n and data[off] < 0x80:
                            args.append(data[off])
                            off += 1
                        else:
                            a, off = _arg_varint(data, off, n, typ, rec_start)
                            args.append(a)
                else:
                    # More than inlineArgs args, the first value is length of the event in bytes.
                    v, noff = _arg_varint(data, off, n, typ, rec_start)
                    off = noff
                    if v > 2048:
                        raise _Truncated(
                            f"failed to read event {typ} argument: length-prefixed argument too big:"
                            f" {v} bytes, limit is 2048", rec_start)
                    end = off + v
                    if end > n:
                        raise _Truncated("failed to read trace: unexpected EOF", rec_start, True)
                    args = []
                    while off < end:
                        c = data[off]
                        if c < 0x80:
                            args.append(c)
                            off += 1
                        else:
                            a, noff = _uvarint_slow(data, off, end)
                            if a is None:
                                raise _Truncated(ERR_MALFORMED_VARINT, rec_start)
                            args.append(a)
                            off = noff
                    sarg = None
                    if typ == EvUserLog:
                        # EvUserLog records are followed by a value string
                        sz, off = _read_uvarint(data, off, n)
                        if sz > 1_000_000:
                            raise _Truncated(f"string is too large (len={sz})", rec_start)
                        sarg, off = _read_str(data, off, n, sz, rec_start)

                if cur is None:
                    raise _Truncated(
                        f"read event {typ} with current P of 0, but P has no batches yet", rec_start)

                if typ == EvCPUSample:
                    # Go: collectBatchesAndCPUSamples
                    want = argnum[typ]
                    if len(args) != want:
                        raise _Truncated(
                            f"CPU sample has wrong number of arguments: want {want}, got {len(args)}",
                            rec_start)
                    # args: ts(ignored), real ts, P, G, stack. Stored among the P's events, which
                    # the sample splits into two ranges.
                    nev = n_events(self.store) + len(buf) // SLOTS
                    if nev > batch_start:
                        cur.append(batch_start)
                        cur.append(nev)
                    batch_start = nev + 1
                    put((_to_int64(args[1]), args[3], 0, args[2], args[3], 0, args[4] & 0xFFFFFFFF,
                         _to_int32(args[2]), EvCPUSample))
                    self.cpu_samples.append(nev)
                    continue

                # -- parseEvent
                if typ == EvStack:
                    if len(args) < 2:
                        raise _Truncated(
                            f"EvStack has wrong number of arguments: want at least 2, got {len(args)}",
                            rec_start)
                    size = args[1]
                    if size > 1000:
                        raise _Truncated(f"EvStack has bad number of frames: {size}", rec_start)
                    want = 2 + 4 * size
                    if len(args) != want:
                        raise _Truncated(
                            f"EvStack has wrong number of arguments: want {want}, got {len(args)}",
                            rec_start)
                    sid = args[0] & 0xFFFFFFFF
                    if sid != 0 and size > 0:
                        stk = []
                        pcs = self.pcs
                        for i in range(size):
                            j = 2 + i * 4
                            pc = args[j]
                            stk.append(pc)
                            if pc not in pcs:
                                pcs[pc] = Frame(pc, args[j + 1], args[j + 2], args[j + 3])
                                self.pc_offsets[pc] = rec_start
                        self.stacks[sid] = stk
                    continue

                want = argnum[typ]
                if len(args) != want:
                    raise _Truncated(
                        f"{descs[typ].name} has wrong number of arguments: want {want}, got {len(args)}",
                        rec_start)
                if typ == EvFrequency:
                    self.ticks_per_sec = _to_int64(args[0])
                    if self.ticks_per_sec <= 0:
                        # The most likely cause for this is tick skew on different CPUs.
                        raise ErrTimeOrder(offset=rec_start)
                    self.saw_frequency_at = rec_start
                    continue
                if typ == EvTimerGoroutine:
                    self.timer_goids.add(args[0])
                    continue

                ts = last_ts + args[0]
                last_ts = ts
                # ev = [Ts, G, A0, A1, A2, A3, StkID, P, Type]
                if has_stack[typ]:
                    ev = [ts, last_g, *args[1:want - 1], *pads[typ], args[want - 1] & 0xFFFFFFFF,
                          last_p, typ]
                else:
                    ev = [ts, last_g, *args[1:], *pads[typ], 0, last_p, typ]
                sref = string_refs.get(typ)
                if sref is not None and ev[sref] and ev[sref] not in self.string_refs:
                    self.string_refs[ev[sref]] = (rec_start, typ)
                if typ in sets_last_g:
                    last_g = ev[E_A0]
                    ev[E_G] = last_g
                elif typ in clears_last_g:
                    last_g = 0
                elif typ in g_from_arg0:
                    ev[E_G] = ev[E_A0]
                elif typ == EvUserLog:
                    # e.Args 0: taskID, 1:keyID, 2: stackID, 3: messageID
                    mapping = self.inline_strings_mapping
                    mid = mapping.get(sarg)
                    if mid is None:
                        mid = len(self.inline_strings)
                        mapping[sarg] = mid
                        self.inline_strings.append(sarg)
                    ev[E_A3] = mid
                put(ev)
                if len(buf) > _BUF_INTS:
                    self._flush(buf)
        except IndexError:
            # data[off] past the end: the file ends inside the record at rec_start.
            exc = _Truncated("failed to read trace: unexpected EOF", rec_start, True)
            if not self.salvage:
                raise TraceError(exc.message, offset=exc.offset) from None
            self.end_off = rec_start
            self.cut_message = exc.message
        except _Truncated as exc:
            if not (self.salvage and exc.eof):
                raise TraceError(exc.message, offset=exc.offset) from None
            # The file ends inside the record that starts at rec_start: a cut file.
            self.end_off = rec_start
            self.cut_message = exc.message
        self._flush(buf)
        nev = n_events(self.store)
        if cur is not None and nev > batch_start:
            cur.append(batch_start)
            cur.append(nev)

    def _flush(self, buf: list[int]) -> None:
        """Move buf's events to the store; a value past int64 (crafted input only) makes the
        store a plain list of the same layout."""
        if not buf:
            return
        st = self.store
        if type(st) is list:
            st.extend(buf)
        elif type(st) is Packed:
            try:
                wide = array("q", buf)
            except OverflowError:
                self.store = st.widen().tolist()
                self.store.extend(buf)
            else:
                self._put_wide(wide)
        else:
            try:
                st.fromlist(buf)  # all or nothing
            except OverflowError:
                st = self.store = st.tolist()
                st.extend(buf)
        buf.clear()

    def _put_wide(self, wide) -> None:
        """Append events given as int64 in the E_* layout (a buffer) to the array or Packed store
        (one a packed row cannot hold turns the store into the int64 array)."""
        st = self.store
        if type(st) is Packed and not st.extend(wide):
            st = self.store = st.widen()
        if type(st) is not Packed:
            st.frombytes(wide)


def _arg_varint(data, off: int, n: int, typ: int, rec_start: int):
    v, noff = _uvarint_slow(data, off, n)
    if v is None:
        raise _Truncated(f"failed to read event {typ} argument: {ERR_MALFORMED_VARINT}", rec_start,
                         noff)
    return v, noff


def _read_str(data, off: int, n: int, ln: int, rec_start: int):
    """Go's io.ReadFull of a string's ln bytes at off: (the string, the offset after it). Bytes
    that are not UTF-8 are kept (surrogateescape), as Go keeps them; a cut file is an EOF."""
    if off + ln > n:
        raise _Truncated("failed to read trace: unexpected EOF", rec_start, True)
    return bytes(data[off:off + ln]).decode("utf-8", "surrogateescape"), off + ln


def _read_uvarint(data, off: int, n: int):
    if off < n:
        b = data[off]
        if b < 0x80:
            return b, off + 1
    v, noff = _uvarint_slow(data, off, n)
    if v is None:
        raise _Truncated(ERR_MALFORMED_VARINT, off, noff)
    return v, noff


def walk_records(data, start: int = 0):
    """Yield (offset, type) of each record of an old-format trace body, without checking it.

    A debugging aid (and used by the tests to corrupt a chosen record); stops at the first
    record that runs past the end of ``data``.
    """
    n = len(data)
    off = start
    while off < n:
        rec = off
        b = data[off]
        off += 1
        typ = b & 0x3F
        narg = (b >> 6) + 1
        try:
            if typ == EvString:
                _, off = _read_uvarint(data, off, n)
                ln, off = _read_uvarint(data, off, n)
                off += ln
            elif typ == EvBatch:
                _, off = _read_uvarint(data, off, n)
                _, off = _read_uvarint(data, off, n)
            elif narg <= 3:
                for _ in range(narg):
                    _, off = _read_uvarint(data, off, n)
            else:
                ln, off = _read_uvarint(data, off, n)
                off += ln
                if typ == EvUserLog:
                    ln, off = _read_uvarint(data, off, n)
                    off += ln
        except _Truncated:
            return
        if off > n:
            return
        yield rec, typ


# ---------------------------------------------------------------------------------------
# Ordering: Go's parser.parseEventBatches


def _state_transition(ev):
    """Go: stateTransition. Returns (g, init_seq, init_status, next_seq, next_status)."""
    typ = ev[E_TYPE]
    if typ == EvGoCreate:
        return ev[E_A0], 0, G_DEAD, 1, G_RUNNABLE
    if typ == EvGoWaiting or typ == EvGoInSyscall:
        return ev[E_G], 1, G_RUNNABLE, 2, G_WAITING
    if typ == EvGoStart or typ == EvGoStartLabel:
        s = ev[E_A1]
        return ev[E_G], s, G_RUNNABLE, (s + 1) & MAX_UINT64, G_RUNNING
    if typ == EvGoStartLocal:
        return ev[E_G], NOSEQ, G_RUNNABLE, SEQINC, G_RUNNING
    if typ in _BLOCKING:
        return ev[E_G], NOSEQ, G_RUNNING, NOSEQ, G_WAITING
    if typ == EvGoSched or typ == EvGoPreempt:
        return ev[E_G], NOSEQ, G_RUNNING, NOSEQ, G_RUNNABLE
    if typ == EvGoUnblock or typ == EvGoSysExit:
        s = ev[E_A1]
        return ev[E_A0], s, G_WAITING, (s + 1) & MAX_UINT64, G_RUNNABLE
    if typ == EvGoUnblockLocal or typ == EvGoSysExitLocal:
        return ev[E_A0], NOSEQ, G_WAITING, SEQINC, G_RUNNABLE
    if typ == EvGCStart:
        s = ev[E_A0]
        return GARBAGE, s, G_DEAD, (s + 1) & MAX_UINT64, G_DEAD
    return UNORDERED, 0, 0, 0, 0


_BLOCKING = frozenset(
    (EvGoBlock, EvGoBlockSend, EvGoBlockRecv, EvGoBlockSelect, EvGoBlockSync, EvGoBlockCond,
     EvGoBlockNet, EvGoSleep, EvGoSysBlock, EvGoBlockGC)
)
# Types whose readiness depends on goroutine state (everything else is UNORDERED).
_ORDERED = frozenset(
    (EvGoCreate, EvGoWaiting, EvGoInSyscall, EvGoStart, EvGoStartLabel, EvGoStartLocal,
     EvGoSched, EvGoPreempt, EvGoUnblock, EvGoSysExit, EvGoUnblockLocal, EvGoSysExitLocal,
     EvGCStart) + tuple(_BLOCKING)
)
_LOCAL_RENAME = {EvGoStartLocal: EvGoStart, EvGoUnblockLocal: EvGoUnblock,
                 EvGoSysExitLocal: EvGoSysExit}


class _Proc:
    """One queue of the merge: a P's events (or the CPU samples), as ranges of event numbers
    into the store (``ranges``: first, end, first, end, ...; ``ri`` the current pair, ``pos``
    the next event number to load). ``evs`` holds a loaded chunk of them as lists (from event
    number ``base``), ``ev`` the head (``evs[j]``), None when the next chunk is due."""

    __slots__ = ("ranges", "ri", "pos", "evs", "base", "j", "ev", "done")

    def __init__(self, ranges: list[int]) -> None:
        self.ranges = ranges
        self.ri = 0
        self.pos = ranges[0] if ranges else 0
        self.evs: list[list] = []
        self.base = 0
        self.j = 0
        self.ev: list | None = None
        self.done = False


_ONE = (None,)  # _Proc.evs of a chunk of one event (the event is _Proc.ev)


#: The merge turns at most MERGE_CHUNK events of a P into lists at a time, and at most about
#: MERGE_LOADED events in all (many Ps: fewer each), so that the lists stay few.
MERGE_CHUNK = 64
MERGE_LOADED = 1 << 16


def load_event(store, ref: int) -> list:
    """Event number ``ref`` of the store as a list (the E_* layout)."""
    if type(store) is Packed:
        return store.gather(array("q", [ref])).tolist()
    b = ref * SLOTS
    ev = store[b:b + SLOTS]
    return ev if type(ev) is list else ev.tolist()


_IMPOSSIBLE = "encountered impossible goroutine state transition"


class _OrderingStuck(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# Ordering class of each v1 type (see _state_transition): 0 = no ordering requirements.
_OC_CREATE, _OC_WAITING, _OC_START, _OC_START_LOCAL, _OC_BLOCK, _OC_SCHED, _OC_UNBLOCK, \
    _OC_UNBLOCK_LOCAL, _OC_GC = range(1, 10)
_OCODES = [0] * 256
_OCODES[EvGoCreate] = _OC_CREATE
_OCODES[EvGoWaiting] = _OCODES[EvGoInSyscall] = _OC_WAITING
_OCODES[EvGoStart] = _OCODES[EvGoStartLabel] = _OC_START
_OCODES[EvGoStartLocal] = _OC_START_LOCAL
for _t in _BLOCKING:
    _OCODES[_t] = _OC_BLOCK
_OCODES[EvGoSched] = _OCODES[EvGoPreempt] = _OC_SCHED
_OCODES[EvGoUnblock] = _OCODES[EvGoSysExit] = _OC_UNBLOCK
_OCODES[EvGoUnblockLocal] = _OCODES[EvGoSysExitLocal] = _OC_UNBLOCK_LOCAL
_OCODES[EvGCStart] = _OC_GC
_OCODES = tuple(_OCODES)
_DEAD0 = (0, G_DEAD)


#: Go's merge tests every blocked P's head again after each event: time O(Ps x events), so a
#: crafted trace of many Ps that each wait for one goroutine is quadratic (the old-format twin
#: of read/frontier.py). Past this much scanning (real traces stay far below it: their Ps are
#: few) a P whose head cannot go yet is parked under the goroutine it waits for and tested again
#: only when that goroutine's state changes: the same readiness, so only the order of events with
#: equal timestamps may differ from Go's.
MERGE_BUDGET_BASE = 1_000_000
MERGE_BUDGET_PER_EVENT = 16


def _merge(store, proc_events: dict[int, list[int]], cpu_samples: list[int], salvage: bool,
           warnings: list[str]) -> tuple[array | list, array] | tuple[Packed, array]:
    """Go: the merge loop of parseEventBatches and its tail (the time-order check, the real
    timestamps of GoSysExit, the stable sort). Returns the merged order: event numbers into
    ``store`` (decoded by _Decoder), whose renamed types ("Local" events) and syscall exit
    times it rewrites.

    The readiness test (Go: stateTransition + transitionReady) is written out inline for
    the common types; _state_transition is the reference and handles the others.
    """
    # Re-sort CPU samples by the timestamp captured in the signal handler (stable).
    cpu_samples = sorted(cpu_samples, key=lambda r: event_ts(store, r))
    fast = _compiled_merge(store, proc_events, cpu_samples)
    if fast is not None:
        return store, fast
    if type(store) is Packed:  # the Python loop indexes the int64 layout
        store = store.widen()
    nprocs = len(proc_events) + 1
    chunk = max(1, min(MERGE_CHUNK, MERGE_LOADED // nprocs))
    all_procs = [_Proc(proc_events[pid]) for pid in sorted(proc_events)]
    all_procs.append(_Proc([x for r in cpu_samples for x in (r, r + 1)]))  # Go: ProfileP

    order = array("q")
    append = order.append
    is_list = type(store) is list
    gs: dict[int, tuple[int, int]] = {}
    gsget = gs.get
    frontier: list = []
    available = list(all_procs)
    ocodes = _OCODES
    rename = _LOCAL_RENAME
    st = _state_transition
    dead0 = _DEAD0
    heap_pop = _heap_pop
    RUNNING, RUNNABLE, WAITING = G_RUNNING, G_RUNNABLE, G_WAITING
    work = 0
    total = sum(sum(rs[1::2]) - sum(rs[0::2]) for rs in proc_events.values()) + len(cpu_samples)
    budget = MERGE_BUDGET_BASE + MERGE_BUDGET_PER_EVENT * total
    parked: dict[int, list] | None = None  # past the budget: goroutine -> Ps whose head waits for it
    # The tail of parseEventBatches, done as events come out: the first event out of time order
    # (everything from there on is dropped), the first bad syscall exit before it, exit moves.
    prev = None
    order_cut = fix_cut = -1
    problem = ""
    fixing = True
    last_sys_block: dict[int, int] = {}
    moved = False
    sysblock, insyscall, sysexit = EvGoSysBlock, EvGoInSyscall, EvGoSysExit
    try:
        while True:
            if parked is None:
                work += len(available)
                if work > budget:
                    parked = {}
            i = 0
            while i < len(available):
                proc = available[i]
                ev = proc.ev
                if ev is None:
                    # Load the P's next chunk of events.
                    rs = proc.ranges
                    ri = proc.ri
                    s = proc.pos
                    if ri < len(rs) and s >= rs[ri + 1]:
                        ri = proc.ri = ri + 2
                        if ri < len(rs):
                            s = rs[ri]
                    if ri >= len(rs):
                        # This P has no more events
                        proc.done = True
                        available[i] = available[-1]
                        available.pop()
                        continue
                    e = rs[ri + 1]
                    if e - s > chunk:
                        e = s + chunk
                    proc.pos = e
                    flat = store[s * 9:e * 9]
                    if not is_list:
                        flat = flat.tolist()
                    proc.base = s
                    proc.j = 0
                    if e - s == 1:  # (many Ps) no list of one list
                        proc.evs = _ONE
                        proc.ev = ev = flat
                    else:
                        proc.evs = evs = [flat[k:k + 9] for k in range(0, len(flat), 9)]
                        proc.ev = ev = evs[0]
                oc = ocodes[ev[8]]
                if oc:
                    if oc == 5 or oc == 6:  # block / sched: init {noseq, running}
                        ok = gsget(ev[1], dead0)[1] == RUNNING
                    elif oc == 3:  # start: init {seq, runnable}
                        cur = gsget(ev[1], dead0)
                        ok = cur[1] == RUNNABLE and cur[0] == ev[3]
                    elif oc == 7:  # unblock / sysexit: init {seq, waiting}
                        cur = gsget(ev[2], dead0)
                        ok = cur[1] == WAITING and cur[0] == ev[3]
                    elif oc == 4:  # start local: init {noseq, runnable}
                        ok = gsget(ev[1], dead0)[1] == RUNNABLE
                    elif oc == 8:  # unblock local: init {noseq, waiting}
                        ok = gsget(ev[2], dead0)[1] == WAITING
                    else:
                        g, iseq, ist, _, _ = st(ev)
                        cseq, cst = gsget(g, dead0)
                        ok = (iseq == NOSEQ or iseq == cseq) and ist == cst
                    if not ok:
                        if parked is None:
                            i += 1
                            continue
                        available[i] = available[-1]
                        available.pop()
                        wg = ev[2] if oc == 7 or oc == 8 else ev[1] if oc in (3, 4, 5, 6) else st(ev)[0]
                        parked.setdefault(wg, []).append(proc)
                        continue
                j = proc.j
                r = proc.base + j
                j += 1
                evs = proc.evs
                if j < len(evs):
                    proc.j = j
                    proc.ev = evs[j]
                else:
                    proc.ev = None
                available[i] = available[-1]
                available.pop()
                # heap_push(frontier, (ev[0], ev, proc, ref)), inlined (Go: heapUp)
                ts = ev[0]
                frontier.append((ts, ev, proc, r))
                j = len(frontier) - 1
                while j > 0:
                    k = (j - 1) >> 1
                    if not ts < frontier[k][0]:
                        break
                    frontier[k], frontier[j] = frontier[j], frontier[k]
                    j = k

            if not frontier:
                for p in all_procs:
                    if not p.done:
                        raise _OrderingStuck("no consistent ordering of events possible")
                break
            ts, ev, proc, r = heap_pop(frontier)
            typ = ev[8]
            oc = ocodes[typ]
            if oc:
                # Go: transition(gs, stateTransition(ev)); the common cases written out.
                if oc == 5:  # block: {noseq, running} -> {noseq, waiting}
                    g = ev[1]
                    cseq, cst = gsget(g, dead0)
                    if cst != RUNNING:
                        raise _OrderingStuck(_IMPOSSIBLE)
                    gs[g] = (cseq, WAITING)
                elif oc == 6:  # sched: {noseq, running} -> {noseq, runnable}
                    g = ev[1]
                    cseq, cst = gsget(g, dead0)
                    if cst != RUNNING:
                        raise _OrderingStuck(_IMPOSSIBLE)
                    gs[g] = (cseq, RUNNABLE)
                elif oc == 3:  # start: {seq, runnable} -> {seq+1, running}
                    g = ev[1]
                    cseq, cst = gsget(g, dead0)
                    if cst != RUNNABLE or cseq != ev[3]:
                        raise _OrderingStuck(_IMPOSSIBLE)
                    gs[g] = ((cseq + 1) & MAX_UINT64, RUNNING)
                else:
                    g, iseq, ist, nseq, nst = st(ev)
                    if typ in rename:
                        typ = ev[8] = store[r * 9 + 8] = rename[typ]
                    cseq, cst = gsget(g, dead0)
                    if not ((iseq == NOSEQ or iseq == cseq) and ist == cst):
                        raise _OrderingStuck(_IMPOSSIBLE)
                    if nseq == NOSEQ:
                        nseq = cseq
                    elif nseq == SEQINC:
                        nseq = (cseq + 1) & MAX_UINT64
                    gs[g] = (nseq, nst)
                if parked:
                    woken = parked.pop(g, None)
                    if woken:
                        available.extend(woken)
            if fixing:
                if prev is not None and ts < prev:
                    order_cut = len(order)
                    fixing = False
                else:
                    prev = ts
                    if typ == sysblock or typ == insyscall:
                        last_sys_block[ev[1]] = ts
                    elif typ == sysexit:
                        t = _to_int64(ev[4])
                        if t != 0:
                            block = last_sys_block.get(ev[1], 0)
                            if block == 0:
                                problem = "stray syscall exit"
                            elif t < block:
                                problem = "time stamps out of order"
                            if problem:
                                fix_cut = len(order)
                                fixing = False  # the order check goes on (Go does it first)
                            elif t != ts:
                                store[r * 9] = t
                                moved = True
            elif order_cut < 0 and fix_cut >= 0:
                # after a bad syscall exit: only the time-order check goes on
                if ts < prev:
                    order_cut = len(order)
                else:
                    prev = ts
            append(r)
            available.append(proc)
    except _OrderingStuck as exc:
        if not salvage:
            raise TraceError(exc.message) from None
        # every event not yet in the order, but the one whose transition failed
        left = total - len(order) - (exc.message == _IMPOSSIBLE)
        warnings.append(
            f"old-format trace: {exc.message} after {len(order)} events (the rest of the"
            f" trace is missing); dropped the {left} events that could not be placed")
    if order_cut >= 0:
        if not salvage:
            raise ErrTimeOrder()
        warnings.append(f"old-format trace: time stamps out of order at event {order_cut};"
                        f" dropped the {len(order) - order_cut} events from there on")
        del order[order_cut:]
    if fix_cut >= 0:
        if not salvage:
            if problem == "stray syscall exit":
                raise TraceError(problem)
            raise ErrTimeOrder()
        warnings.append(f"old-format trace: {problem} at event {fix_cut};"
                        f" dropped the {len(order) - fix_cut} events from there on")
        del order[fix_cut:]
    if moved:  # the order was sorted before; only moved syscall exits can unsort it
        order = _stable_sort_by_time(store, order)
    return store, order


def _compiled_merge(store, proc_events: dict[int, list[int]], cpu_samples: list[int]) -> array | None:
    """The merged order by _v1fast.merge_order (the loop below in C, for a trace it orders with
    no warning, error or parking), or None: not built, NETPOLL_DIAGNOSE_PURE set, a store
    that is not Packed, or a trace the C merge leaves to this code (it then changed nothing)."""
    fm = _compiled("merge_order")
    if fm is None or type(store) is not Packed:
        return None
    queues = [proc_events[pid] for pid in sorted(proc_events)] + [[x for r in cpu_samples for x in (r, r + 1)]]
    ranges = array("q")
    offsets = array("q", [0])
    for q in queues:
        ranges.extend(q)
        offsets.append(len(ranges))
    total = sum(sum(rs[1::2]) - sum(rs[0::2]) for rs in proc_events.values()) + len(cpu_samples)
    order = array("q", [0]) * total  # written in place by the C merge
    got = fm(store.rows, store.ovf, ranges, offsets, _MERGE_TABLES, MERGE_BUDGET_BASE + MERGE_BUDGET_PER_EVENT * total, order)
    if got is None:
        return None
    del order[got[0]:]
    return _stable_sort_by_time(store, order) if got[1] else order


def _compiled_post_process(store, order: array, timer_goids: set[int],
                           stacks: dict[int, list[int]]) -> tuple[int, int] | None:
    """_prepared + _post_process by _v1fast.post_process (in C, for a trace that passes every
    check): (stack references dropped, GoCreate stacks dropped), or None -- not built,
    NETPOLL_DIAGNOSE_PURE set, a store that is a list, or a check that fails (the store is
    then untouched and the Python code validates, with its error or warning)."""
    fp = _compiled("post_process")
    if fp is None or type(store) is not Packed:
        return None
    try:
        sids, timers = array("q", stacks), array("q", timer_goids)
    except OverflowError:
        return None
    return fp(store.rows, store.ovf, order, sids, timers)


_MERGE_TABLES = array("q", list(_OCODES) + [_LOCAL_RENAME.get(t, -1) for t in range(256)]).tobytes()


def _stable_sort_by_time(store, order: array) -> array:
    """``order`` sorted by event time, equal times kept in order (Go: sort.Stable); in place
    when the store is an array."""
    if type(store) is list:  # a value past int64 (crafted input): plain Python
        return array("q", sorted(order, key=lambda r: store[r * SLOTS]))
    import numpy as np

    o = np.frombuffer(order, dtype=np.int64)
    ts = times(store)
    keys = np.empty(o.shape[0], dtype=np.int64)
    for i in range(0, o.shape[0], TO_NS_RUN):
        keys[i:i + TO_NS_RUN] = ts[o[i:i + TO_NS_RUN]]
    perm = np.argsort(keys, kind="stable")
    del keys
    o[:] = o[perm]
    return order


# ---------------------------------------------------------------------------------------
# Go: parser.postProcessTrace


class _PostProcessError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _q(ev) -> str:
    """Go's %q of a tracev1.Event (its String method, quoted) — for error messages."""
    desc = EVENT_DESCRIPTIONS[ev[E_TYPE]]
    s = f"{ev[E_TS]} {desc.name} p={ev[E_P]} g={ev[E_G]} stk={ev[E_STK]}"
    for i, a in enumerate(desc.args):
        s += f" {a}={ev[E_A0 + i]}"
    return '"' + s + '"'


def _post_process(events: Iterable[list], stacks: dict[int, list[int]]) -> int:
    """Validate the ordered stream and restore information, as Go does.

    Returns how many stack references were dropped (they named no known stack); raises
    _PostProcessError otherwise (the index of the first invalid event is in ``.index``).
    """
    # g state: [state, ev_type (None), create_stack (None), mark_assist (bool)]
    gs: dict[int, list] = {0: [G_RUNNING, None, None, False]}
    # p state: [running, g, sweeping]
    ps: dict[int, list] = {}
    tasks: dict[int, list] = {}
    active_regions: dict[int, list] = {}
    ev_gc = False
    ev_stw = False
    dropped = 0

    def gget(g):
        d = gs.get(g)
        if d is None:
            return [G_DEAD, None, None, False]
        return d

    def pget(p):
        d = ps.get(p)
        if d is None:
            d = ps[p] = [False, 0, False]
        return d

    def check_running(pd, gd, ev, allow_g0):
        name = EVENT_DESCRIPTIONS[ev[E_TYPE]].name
        if gd[0] != G_RUNNING:
            return f"g {ev[E_G]} is not running while {name} (time {ev[E_TS]})"
        if pd[1] != ev[E_G]:
            return f"p {ev[E_P]} is not running g {ev[E_G]} while {name} (time {ev[E_TS]})"
        if not allow_g0 and ev[E_G] == 0:
            return f"g 0 did {name} (time {ev[E_TS]})"
        return None

    blocking = frozenset((EvGoSleep, EvGoBlock, EvGoBlockSend, EvGoBlockRecv, EvGoBlockSelect,
                          EvGoBlockSync, EvGoBlockCond, EvGoBlockNet, EvGoBlockGC))
    # Types postProcessTrace does not check (only their stack reference).
    noop = frozenset((EvGomaxprocs, EvHeapAlloc, EvHeapGoal, EvUserLog, EvCPUSample,
                      EvFutileWakeup))
    for idx, ev in enumerate(events):
        typ = ev[E_TYPE]
        err = None
        if typ in noop:
            pass
        elif typ == EvGoStart or typ == EvGoStartLabel:
            gd = gget(ev[E_G])
            pd = pget(ev[E_P])
            if gd[0] != G_RUNNABLE:
                err = f"g {ev[E_G]} is not runnable before start (time {ev[E_TS]})"
            elif pd[1] != 0:
                err = (f"p {ev[E_P]} is already running g {pd[1]} while start g {ev[E_G]}"
                       f" (time {ev[E_TS]})")
            else:
                gd[0] = G_RUNNING
                pd[1] = ev[E_G]
                if gd[2] is not None:
                    ev[E_STK] = gd[2] & 0xFFFFFFFF
                    gd[2] = None
                gd[1] = None
                gs[ev[E_G]] = gd
        elif typ == EvGoSched or typ == EvGoPreempt:
            gd = gget(ev[E_G])
            pd = pget(ev[E_P])
            if not (gd[0] == G_RUNNING and pd[1] == ev[E_G] != 0):
                err = check_running(pd, gd, ev, False)
            if err is None:
                gd[0] = G_RUNNABLE
                pd[1] = 0
                gd[1] = typ
                gs[ev[E_G]] = gd
        elif typ in blocking:
            gd = gget(ev[E_G])
            pd = pget(ev[E_P])
            if not (gd[0] == G_RUNNING and pd[1] == ev[E_G] != 0):
                err = check_running(pd, gd, ev, False)
            if err is None:
                gd[0] = G_WAITING
                gd[1] = typ
                pd[1] = 0
                gs[ev[E_G]] = gd
        elif typ == EvGoSysCall:
            gd = gget(ev[E_G])
            pd = pget(ev[E_P])
            if not (gd[0] == G_RUNNING and pd[1] == ev[E_G] != 0):
                err = check_running(pd, gd, ev, False)
            if err is None:
                gd[1] = typ
                gs[ev[E_G]] = gd
        elif typ == EvProcStart:
            pd = pget(ev[E_P])
            if pd[0]:
                err = f"p {ev[E_P]} is running before start (time {ev[E_TS]})"
            else:
                pd[0] = True
        elif typ == EvProcStop:
            pd = pget(ev[E_P])
            if not pd[0]:
                err = f"p {ev[E_P]} is not running before stop (time {ev[E_TS]})"
            elif pd[1] != 0:
                err = f"p {ev[E_P]} is running a goroutine {pd[1]} during stop (time {ev[E_TS]})"
            else:
                pd[0] = False
        elif typ == EvGCStart:
            if ev_gc:
                err = f"previous GC is not ended before a new one (time {ev[E_TS]})"
            else:
                ev_gc = True
                ev[E_P] = GCP  # Attribute this to the global GC state.
        elif typ == EvGCDone:
            if not ev_gc:
                err = f"bogus GC end (time {ev[E_TS]})"
            else:
                ev_gc = False
        elif typ == EvSTWStart:
            if ev_stw:
                err = f"previous STW is not ended before a new one (time {ev[E_TS]})"
            else:
                ev_stw = True
        elif typ == EvSTWDone:
            if not ev_stw:
                err = f"bogus STW end (time {ev[E_TS]})"
            else:
                ev_stw = False
        elif typ == EvGCSweepStart:
            pd = pget(ev[E_P])
            if pd[2]:
                err = f"previous sweeping is not ended before a new one (time {ev[E_TS]})"
            else:
                pd[2] = True
        elif typ == EvGCMarkAssistStart:
            gd = gget(ev[E_G])
            if gd[3]:
                err = f"previous mark assist is not ended before a new one (time {ev[E_TS]})"
            else:
                gd[3] = True
                gs[ev[E_G]] = gd
        elif typ == EvGCMarkAssistDone:
            # Unlike most events, mark assists can be in progress when a goroutine starts
            # tracing, so we can't report an error here.
            gd = gget(ev[E_G])
            gd[3] = False
            gs[ev[E_G]] = gd
        elif typ == EvGCSweepDone:
            pd = pget(ev[E_P])
            if not pd[2]:
                err = f"bogus sweeping end (time {ev[E_TS]})"
            else:
                pd[2] = False
        elif typ == EvGoWaiting or typ == EvGoInSyscall:
            gd = gget(ev[E_G])
            if gd[0] != G_RUNNABLE:
                what = "EvGoWaiting" if typ == EvGoWaiting else "EvGoInSyscall"
                err = f"g {ev[E_G]} is not runnable before {what} (time {ev[E_TS]})"
            else:
                gd[0] = G_WAITING
                gd[1] = typ
                gs[ev[E_G]] = gd
        elif typ == EvGoCreate:
            gd = gget(ev[E_G])
            pd = pget(ev[E_P])
            err = check_running(pd, gd, ev, True)
            if err is None:
                if ev[E_A0] in gs:
                    err = f"g {ev[E_A0]} already exists (time {ev[E_TS]})"
                else:
                    gs[ev[E_A0]] = [G_RUNNABLE, typ, ev[E_A1], False]
        elif typ == EvGoEnd or typ == EvGoStop:
            gd = gget(ev[E_G])
            pd = pget(ev[E_P])
            if not (gd[0] == G_RUNNING and pd[1] == ev[E_G] != 0):
                err = check_running(pd, gd, ev, False)
            if err is None:
                gd[0] = G_DEAD
                pd[1] = 0
                if typ == EvGoEnd:  # flush all active regions
                    active_regions.pop(ev[E_G], None)
                gs[ev[E_G]] = gd
        elif typ == EvGoUnblock:
            gd = gget(ev[E_G])
            pd = ps.get(ev[E_P]) or [False, 0, False]
            if gd[0] != G_RUNNING:
                err = f"g {ev[E_G]} is not running while unpark (time {ev[E_TS]})"
            elif ev[E_P] != TimerP and pd[1] != ev[E_G]:
                err = f"p {ev[E_P]} is not running g {ev[E_G]} while unpark (time {ev[E_TS]})"
            else:
                g1 = gget(ev[E_A0])
                if g1[0] != G_WAITING:
                    err = f"g {ev[E_A0]} is not waiting before unpark (time {ev[E_TS]})"
                else:
                    if g1[1] == EvGoBlockNet:
                        ev[E_P] = NetpollP
                    g1[0] = G_RUNNABLE
                    g1[1] = typ
                    gs[ev[E_A0]] = g1
        elif typ == EvGoSysBlock:
            gd = gget(ev[E_G])
            pd = pget(ev[E_P])
            if not (gd[0] == G_RUNNING and pd[1] == ev[E_G] != 0):
                err = check_running(pd, gd, ev, False)
            if err is None:
                gd[0] = G_WAITING
                pd[1] = 0
                gs[ev[E_G]] = gd
        elif typ == EvGoSysExit:
            gd = gget(ev[E_G])
            if gd[0] != G_WAITING:
                err = f"g {ev[E_G]} is not waiting during syscall exit (time {ev[E_TS]})"
            else:
                gd[0] = G_RUNNABLE
                gd[1] = typ
                gs[ev[E_G]] = gd
        elif typ == EvUserTaskCreate:
            taskid = ev[E_A0]
            prev = tasks.get(taskid)
            if prev is not None:
                err = f"task id conflicts (id:{taskid}), {_q(ev)} vs {_q(prev)}"
            else:
                tasks[taskid] = ev
        elif typ == EvUserTaskEnd:
            tasks.pop(ev[E_A0], None)
        elif typ == EvUserRegion:
            mode = ev[E_A1]
            regions = active_regions.get(ev[E_G])
            if mode == 0:  # region start
                if regions is None:
                    active_regions[ev[E_G]] = [ev]
                else:
                    regions.append(ev)
            elif mode == 1:  # region end
                if regions:
                    s = regions[-1]
                    if s[E_A0] != ev[E_A0] or s[E_A2] != ev[E_A2]:
                        err = (f"misuse of region in goroutine {ev[E_G]}: span end {_q(ev)} when"
                               f" the inner-most active span start event is {_q(s)}")
                    elif len(regions) > 1:
                        regions.pop()
                    else:
                        del active_regions[ev[E_G]]
            else:
                err = f"invalid user region mode: {_q(ev)}"
        if err is not None:
            exc = _PostProcessError(err)
            exc.index = idx  # type: ignore[attr-defined]
            exc.dropped = dropped  # type: ignore[attr-defined]
            raise exc

        stk = ev[E_STK]
        if stk != 0 and not stacks.get(stk):
            # Make sure events don't refer to stacks that don't exist or to stacks with
            # zero frames.
            ev[E_STK] = 0
            dropped += 1
    return dropped


# ---------------------------------------------------------------------------------------


#: Flag on the type of a GoSysCall whose goroutine's next event is GoSysBlock (it blocked).
BLOCKED = 0x100


def _to_ns(store, order: array, min_ts: int, freq: float) -> None:
    """Translate cpu ticks to real time: each ordered event's time becomes
    ``int(float(ts - min_ts) * freq)`` (Go: the tail of Parse), in place; numpy does the same
    float64 arithmetic when the values are int64, a run of TO_NS_RUN events at a time (its
    temporaries for the whole order would be ~4 x 8 bytes an event on top of the store)."""
    S = SLOTS
    if type(store) is not list and event_ts(store, order[-1]) - min_ts <= MAX_INT64:
        import numpy as np

        ts = times(store)
        od = np.frombuffer(order, dtype=np.int64)
        for i in range(0, od.shape[0], TO_NS_RUN):
            at = od[i:i + TO_NS_RUN]
            ts[at] = ((ts[at] - min_ts).astype(np.float64) * freq).astype(np.int64)
        return
    if type(store) is Packed:
        for r in order:
            store.set_ts(r, int(float(store.ts(r) - min_ts) * freq))
        return
    for r in order:
        b = r * S
        store[b] = int(float(store[b] - min_ts) * freq)


#: events _to_ns converts at a time
TO_NS_RUN = 1 << 18


def _prepared(store, order: array, timer_goids: set[int], stacks: dict[int, list[int]],
              counts: list[int]) -> Iterator[list]:
    """The merged events (times in ns, see _to_ns) as lists, for _post_process, with timers and
    syscall exits moved to their fake Ps (Go: the tail of Parse). Each event that passed
    validation is written back to the store when the next one is asked for, with what only the
    whole ordered stream tells: a GoCreate's missing new-goroutine stack dropped (counted in
    ``counts[0]``) and the BLOCKED flag of a GoSysCall whose goroutine blocks next."""
    is_list = type(store) is list
    pending: dict[int, int] = {}  # G -> its GoSysCall still looking for the G's next event
    S = SLOTS
    unblock, sysexit, create, syscall, sysblock = EvGoUnblock, EvGoSysExit, EvGoCreate, EvGoSysCall, EvGoSysBlock
    for r in order:
        b = r * S
        ev = store[b:b + S]
        if not is_list:
            ev = ev.tolist()
        stk, p = ev[6], ev[7]
        # Move timers and syscalls to separate fake Ps.
        typ = ev[8]
        if typ == unblock:
            if ev[1] in timer_goids:
                ev[7] = TimerP
        elif typ == sysexit:
            ev[7] = SyscallP
        yield ev
        # ev passed _post_process, which may have changed its P and stack
        if ev[6] != stk:
            store[b + 6] = ev[6]
        if ev[7] != p:
            store[b + 7] = ev[7]
        if typ == create and ev[3] != 0 and not stacks.get(ev[3]):
            store[b + 3] = 0
            counts[0] += 1
        g = ev[1]
        if pending:
            j = pending.pop(g, None)
            if j is not None and typ == sysblock:
                store[j * S + 8] = syscall | BLOCKED
        if typ == syscall:
            pending[g] = r


def parse(data, version: int, start: int = 0, *, salvage: bool = False,
          ticks_per_sec: int | None = None, offset_base: int = 0, consume: bool = False) -> Trace:
    """Go: tracev1.Parse. ``data[start:]`` is the trace body (just after the header).

    With ``salvage=False`` this behaves as Go: any problem raises ``TraceError``.

    With ``salvage=True`` a *cut* file (the data ends inside a record, or before the
    EvFrequency footer) is read as far as it is valid, and what was dropped is described
    in ``Trace.warnings``; corrupt bytes still raise.  Old traces carry their tick
    frequency only in that footer, so a file cut before it raises too, unless
    ``ticks_per_sec`` supplies the rate to assume.

    Offsets in ``TraceError`` are indexes into ``data``; ``offset_base`` (the header length
    when ``data`` is the body) is added to the byte positions quoted in messages. ``consume``:
    ``data`` is a bytearray the caller gives up: emptied once decoded, so that the file's bytes
    are not held beside the merge's order (a 63 MB trace: 60 MiB less at the peak).
    """
    # Millions of small lists and no reference cycles: the cyclic GC would only rescan them
    # over and over (a large share of the time on big traces). Pause it while we build.
    with paused_gc():
        return _parse(data, version, start, salvage, ticks_per_sec, offset_base, consume)


def _validate_strings(dec: _Decoder) -> None:
    """Every string an event or a stack frame names must be in the string table (Go's
    validateTableIDs / validateStackStrings for the new format; Go's old-format path would
    panic later, where the name is used)."""
    strings = dec.strings
    bad = [(off, typ, sid) for sid, (off, typ) in dec.string_refs.items() if sid not in strings]
    if bad:  # the first in the file
        off, typ, sid = min(bad)
        raise TraceError(f"found invalid string ID {sid} for event {EVENT_DESCRIPTIONS[typ].name}", offset=off)
    for pc, f in dec.pcs.items():
        for what, sid in (("func", f.fn), ("file", f.file)):
            if sid and sid not in strings:
                raise TraceError(f"found invalid {what} string ID {sid} for stack frame at pc {pc:#x}",
                                 offset=dec.pc_offsets.get(pc))


def _parse(data, version: int, start: int, salvage: bool, ticks_per_sec: int | None,
           offset_base: int, consume: bool = False) -> Trace:
    dec = _Decoder(data, version, start, salvage)
    dec.run()
    n = len(data)
    if consume and type(data) is bytearray:
        dec.data = None
        del data[:]  # nothing reads the bytes after the decoder (errors quote offsets only)
    warnings = dec.warnings
    lost = n - dec.end_off
    cut = lost > 0
    if cut:
        warnings.append(
            f"old-format trace is cut: it ends inside a record at byte"
            f" {dec.end_off + offset_base} of {n + offset_base} ({dec.cut_message}); read the"
            f" bytes before it and dropped the last {lost}")

    _validate_strings(dec)
    tps = dec.ticks_per_sec
    if tps == 0:
        if not salvage:
            raise TraceError("no EvFrequency event")
        if not ticks_per_sec:
            raise TraceError(
                f"no EvFrequency event: this go 1.{version} trace ends at byte"
                f" {dec.end_off + offset_base} before its footer (old-format traces record the tick rate only"
                f" when tracing stops), so its CPU-tick timestamps cannot be converted to time;"
                f" Go's tool rejects it too. To read it anyway with an assumed rate, set"
                f" NETPOLL_DIAGNOSE_V1_TICKS_PER_SEC (e.g. 62500000 for linux/arm64 traces,"
                f" TSC Hz / 64 on amd64)", offset=dec.end_off)
        tps = int(ticks_per_sec)
        cut = True
        warnings.append(
            f"old-format trace has no EvFrequency footer (the file ends before tracing"
            f" stopped); converted CPU ticks to time with the assumed {tps} ticks/s, so all"
            f" times and durations are only as right as that assumption")

    packed = type(dec.store) is Packed
    store, order = _merge(dec.store, dec.proc_events, dec.cpu_samples, cut, warnings)
    dec.store = dec.proc_events = dec.cpu_samples = None  # type: ignore[assignment]

    stacks = dec.stacks
    counts = [0]  # GoCreate stacks found missing, by _prepared
    if order:
        # Translate cpu ticks to real time.
        min_ts = event_ts(store, order[0])
        freq = 1e9 / float(tps)
        # Events are in tick order and the scaling is monotonic: the last is the latest.
        last = event_ts(store, order[-1])
        span = int(float(last - min_ts) * freq)
        if span > MAX_INT64 - 16:  # the converter adds a few ns (Sync events, syscall ends)
            raise TraceError(f"event times are out of range: {last - min_ts} ticks at {tps} ticks/s "
                             f"is {span} ns, past 64 bits (bad timestamps or frequency)",
                             offset=dec.saw_frequency_at if dec.saw_frequency_at >= 0 else None)
        _to_ns(store, order, min_ts, freq)
    prepared: Iterator[list] = iter(())
    try:
        compiled = _compiled_post_process(store, order, dec.timer_goids, stacks) if order else None
        if compiled is not None:
            dropped, counts[0] = compiled
        else:
            if order:
                if type(store) is Packed:  # _prepared indexes the int64 layout
                    store = store.widen()
                prepared = _prepared(store, order, dec.timer_goids, stacks, counts)
            dropped = _post_process(prepared, stacks)
    except _PostProcessError as exc:
        if not cut:
            raise TraceError(exc.message) from None
        idx = exc.index  # type: ignore[attr-defined]
        dropped = exc.dropped  # type: ignore[attr-defined]
        warnings.append(f"old-format trace: {exc.message}; dropped the {len(order) - idx}"
                        f" events from there on")
        del prepared
        del order[idx:]

    # The stack table is written last: a cut file may have lost some of it. Events that
    # referred to a missing stack have already been given none (Go does the same); so has
    # the new-goroutine stack of GoCreate (by _prepared; where Go would fail when printing).
    missing = dropped + counts[0]
    if missing:
        warnings.append(f"{missing} stack references name stacks that are not in the stack"
                        f" table (written last, so a cut file loses it first); those events"
                        f" have no stack")

    if packed and type(store) is array:  # unpacked for a Python fallback: packed again for the C converter
        store = Packed.of(store)
    return Trace(
        version=version,
        store=store,
        order=order,
        stacks=stacks,
        pcs=dec.pcs,
        strings=dec.strings,
        inline_strings=dec.inline_strings,
        warnings=warnings,
        lost_bytes=lost,
        missing_stacks=missing,
    )


__all__ = [
    "parse", "walk_records", "load_event", "Trace", "SLOTS", "BLOCKED", "Frame", "ErrTimeOrder", "EVENT_DESCRIPTIONS", "stw_reason",
    "E_TS", "E_G", "E_A0", "E_A1", "E_A2", "E_A3", "E_STK", "E_P", "E_TYPE",
    "TimerP", "NetpollP", "SyscallP", "GCP", "ProfileP",
]
