"""Per-generation tables and small shared types (port of Go's internal/trace/base.go).

An ``EvTable`` holds what is needed to interpret the events of one generation: the string
and stack tables, the PC -> frame map, the clock data from the sync batch, strings made up
while parsing (``extra_strings``), and experimental batches. Every ``Event`` points at the
``EvTable`` of its generation.

For the v1 (Go 1.11-1.21) converter: build one ``EvTable()``, fill ``strings`` / ``stacks``
with ``insert``, ``pcs`` with ``Frame`` objects, then construct ``Event``s pointing at it
(see event.py), as Go's tracev1.go does.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import tracev2 as t2

MAX_TIME = (1 << 63) - 1


class DataTableError(Exception):
    pass


class DataTable:
    """dataTable[EI, E]: a mapping from IDs to values, where ID 0 always maps to ``zero``."""

    __slots__ = ("sparse", "zero", "what")

    def __init__(self, zero, what: str) -> None:
        self.sparse: dict = {}
        self.zero = zero
        self.what = what

    def insert(self, id: int, data) -> None:
        ok, existing = self.get(id)
        if ok:
            raise DataTableError(f"multiple {self.what}s with the same ID: id={id}, new={data!r}, "
                                 f"existing={existing!r}")
        self.sparse[id] = data

    def append(self, data) -> int:
        id = len(self.sparse) + 1
        self.sparse[id] = data
        return id

    def compactify(self) -> None:
        """Go compacts sparse into dense here; a dict needs nothing."""

    def get(self, id: int):
        """Return (True, value) or (False, zero). ID 0 is always present."""
        if id == 0:
            return True, self.zero
        v = self.sparse.get(id, _MISSING)
        if v is _MISSING:
            return False, self.zero
        return True, v

    def has(self, id: int) -> bool:
        return id == 0 or id in self.sparse

    def must_get(self, id: int):
        if id == 0:
            return self.zero
        try:
            return self.sparse[id]
        except KeyError:
            raise KeyError(f"expected id {id} in {self.what} table") from None

    def items(self):
        return self.sparse.items()


_MISSING = object()


@dataclass(slots=True, eq=False)
class Frame:
    """base.go frame: one PC's function and file string IDs and line."""

    pc: int
    func_id: int
    file_id: int
    line: int


def as_text(s: str) -> str:
    """A table string as text for analysis: bytes that are not UTF-8 become U+FFFD.

    The reader keeps a string's exact bytes (decoded with surrogateescape, so ``dump``
    prints what Go prints); rules, JSON and chat reports need real text, and one bad byte
    in a function name must not make a rule fail to evaluate."""
    if s.isascii():
        return s
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class Frequency(float):
    """Nanoseconds per timestamp unit."""

    def mul(self, t: int) -> int:
        return int(float(t) * self)


class EvTable:
    """evTable: the per-generation data needed to interpret individual events."""

    __slots__ = ("freq", "has_clock_snapshot", "snap_time", "snap_mono", "snap_wall_sec", "snap_wall_nsec",
                 "strings", "stacks", "pcs", "extra_strings", "extra_string_ids", "exp_batches",
                 "_frames_cache", "_fmt_cache")

    def __init__(self) -> None:
        # sync
        self.freq = Frequency(0.0)
        self.has_clock_snapshot = False
        self.snap_time = 0
        self.snap_mono = 0
        self.snap_wall_sec = 0
        self.snap_wall_nsec = 0
        # tables
        self.strings = DataTable("", "string")
        self.stacks = DataTable((), "stack")  # stack = tuple of PCs
        self.pcs: dict[int, Frame] = {}
        self.extra_strings: list[str] = []
        self.extra_string_ids: dict[str, int] = {}
        self.exp_batches: dict[int, list] | None = None
        self._frames_cache: dict = {}
        self._fmt_cache: dict = {}

    def add_extra_string(self, s: str) -> int:
        if s == "":
            return 0
        id = self.extra_string_ids.get(s)
        if id is not None:
            return id
        self.extra_strings.append(s)
        id = len(self.extra_strings)
        self.extra_string_ids[s] = id
        return id

    def get_extra_string(self, id: int) -> str:
        if id == 0:
            return ""
        return self.extra_strings[id - 1]

    def stack_frames(self, id: int) -> tuple:
        """The resolved frames (StackFrame) of stack ``id``; cached."""
        fr = self._frames_cache.get(id)
        if fr is None:
            from .event import StackFrame
            fr = () if id == 0 else tuple(StackFrame(*self.frame_key(pc)) for pc in self.stacks.must_get(id))
            self._frames_cache[id] = fr
        return fr

    def frame_key(self, pc: int) -> tuple[int, str, str, int]:
        """(pc, function, file, line) of one PC of this generation's stacks; Go's map lookup
        yields a zero frame for a PC the table lacks."""
        f = self.pcs.get(pc)
        if f is None:
            return 0, "", "", 0
        strings = self.strings
        return f.pc, strings.must_get(f.func_id), strings.must_get(f.file_id), f.line


@dataclass(slots=True, eq=False)
class CPUSample:
    """cpuSample: a CPU profiling sample; converted to an Event with as_event."""

    g: int
    p: int
    m: int
    time: int
    stack: int

    def as_event(self, table: EvTable):
        from .event import Event
        return Event(table, self.g, self.p, self.m, t2.EvCPUSample, self.time, [self.stack, 0, 0, 0])


class BaseEvent:
    """baseEvent: the basic unprocessed event (type, time in ns, up to 4 args after the time)."""

    __slots__ = ("typ", "time", "args", "offset")

    def __init__(self, typ: int = 0, time: int = 0, args: list | None = None, offset: int = 0) -> None:
        self.typ = typ
        self.time = time
        self.args = args if args is not None else [0, 0, 0, 0]
        self.offset = offset

    def extra_index(self) -> int:
        """Index into args of extra(Go122)[0]: the slots after the event's own arguments."""
        return len(t2.SPECS[self.typ].args) - 1
