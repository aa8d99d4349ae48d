"""Read Go's trace-parser conformance cases (``internal/trace/testdata/tests/*.test``).

A ``.test`` file is a txtar archive with two members:

* ``expect``: ``SUCCESS`` or ``FAILURE "<Go-quoted RE2 regexp>"``
  (``internal/trace/testtrace/expectation.go``);
* ``trace``: a trace in the text format of ``internal/trace/raw`` (``textreader.go``).

``load_case`` turns one into an :class:`Expectation` plus the exact bytes Go's
``raw.Writer`` would produce for it (``internal/trace/testtrace/format.go``:
``raw.NewTextReader`` -> ``raw.NewWriter``), i.e. the header
``"go 1.XX trace\\x00\\x00\\x00"`` followed by, per event, one type byte, the
arguments as unsigned LEB128 varints, stack frames (4 varints each) for stack
events and ``varint(len) + bytes`` for events with data.

This is a line-for-line port of the Go sources named in each function (Go 1.27.3
tree), kept pure stdlib so the tests run with no Go toolchain present.
``tests/test_read_conformance.py`` checks it against ``go tool trace -d=wire`` /
``-d=parsed`` when a toolchain is available.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

__all__ = [
    "GoTextError",
    "EventSpec",
    "RawEvent",
    "Expectation",
    "GoTestCase",
    "SPECS",
    "VERSIONS",
    "specs_for_version",
    "parse_txtar",
    "parse_expectation",
    "go_unquote",
    "go_quote",
    "parse_text_trace",
    "encode_trace",
    "encode_event",
    "header_bytes",
    "uvarint",
    "format_event",
    "load_case",
]


class GoTextError(ValueError):
    """The .test file is malformed (Go's testtrace.ParseFile would fail too)."""


# --------------------------------------------------------------------------
# internal/trace/tracev2/events.go + spec.go
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class EventSpec:
    name: str
    args: tuple[str, ...] = ()
    is_stack: bool = False
    has_data: bool = False


def _s(name: str, *args: str, is_stack: bool = False, has_data: bool = False) -> EventSpec:
    return EventSpec(name, tuple(args), is_stack, has_data)


# Index == wire event type byte (tracev2.EventType). Order is the iota order of events.go.
_MAIN_SPECS: list[EventSpec] = [
    _s(""),  # 0 EvNone (unused)
    # Structural events.
    _s("EventBatch", "gen", "m", "time", "size"),  # 1
    _s("Stacks"),  # 2
    _s("Stack", "id", "nframes", is_stack=True),  # 3
    _s("Strings"),  # 4
    _s("String", "id", has_data=True),  # 5
    _s("CPUSamples"),  # 6
    _s("CPUSample", "time", "m", "p", "g", "stack"),  # 7
    _s("Frequency", "freq"),  # 8
    # Procs.
    _s("ProcsChange", "dt", "procs_value", "stack"),  # 9
    _s("ProcStart", "dt", "p", "p_seq"),  # 10
    _s("ProcStop", "dt"),  # 11
    _s("ProcSteal", "dt", "p", "p_seq", "m"),  # 12
    _s("ProcStatus", "dt", "p", "pstatus"),  # 13
    # Goroutines.
    _s("GoCreate", "dt", "new_g", "new_stack", "stack"),  # 14
    _s("GoCreateSyscall", "dt", "new_g"),  # 15
    _s("GoStart", "dt", "g", "g_seq"),  # 16
    _s("GoDestroy", "dt"),  # 17
    _s("GoDestroySyscall", "dt"),  # 18
    _s("GoStop", "dt", "reason_string", "stack"),  # 19
    _s("GoBlock", "dt", "reason_string", "stack"),  # 20
    _s("GoUnblock", "dt", "g", "g_seq", "stack"),  # 21
    _s("GoSyscallBegin", "dt", "p_seq", "stack"),  # 22
    _s("GoSyscallEnd", "dt"),  # 23
    _s("GoSyscallEndBlocked", "dt"),  # 24
    _s("GoStatus", "dt", "g", "m", "gstatus"),  # 25
    # STW.
    _s("STWBegin", "dt", "kind_string", "stack"),  # 26
    _s("STWEnd", "dt"),  # 27
    # GC.
    _s("GCActive", "dt", "gc_seq"),  # 28
    _s("GCBegin", "dt", "gc_seq", "stack"),  # 29
    _s("GCEnd", "dt", "gc_seq"),  # 30
    _s("GCSweepActive", "dt", "p"),  # 31
    _s("GCSweepBegin", "dt", "stack"),  # 32
    _s("GCSweepEnd", "dt", "swept_value", "reclaimed_value"),  # 33
    _s("GCMarkAssistActive", "dt", "g"),  # 34
    _s("GCMarkAssistBegin", "dt", "stack"),  # 35
    _s("GCMarkAssistEnd", "dt"),  # 36
    _s("HeapAlloc", "dt", "heapalloc_value"),  # 37
    _s("HeapGoal", "dt", "heapgoal_value"),  # 38
    # Annotations.
    _s("GoLabel", "dt", "label_string"),  # 39
    _s("UserTaskBegin", "dt", "task", "parent_task", "name_string", "stack"),  # 40
    _s("UserTaskEnd", "dt", "task", "stack"),  # 41
    _s("UserRegionBegin", "dt", "task", "name_string", "stack"),  # 42
    _s("UserRegionEnd", "dt", "task", "name_string", "stack"),  # 43
    _s("UserLog", "dt", "task", "key_string", "value_string", "stack"),  # 44
    # Coroutines (Go 1.23).
    _s("GoSwitch", "dt", "g", "g_seq"),  # 45
    _s("GoSwitchDestroy", "dt", "g", "g_seq"),  # 46
    _s("GoCreateBlocked", "dt", "new_g", "new_stack", "stack"),  # 47
    _s("GoStatusStack", "dt", "g", "m", "gstatus", "stack"),  # 48
    _s("ExperimentalBatch", "exp", "gen", "m", "time", has_data=True),  # 49
    # Go 1.25.
    _s("Sync"),  # 50
    _s("ClockSnapshot", "dt", "mono", "sec", "nsec"),  # 51
    # Go 1.26.
    _s("EndOfGeneration"),  # 52
]

EV_USER_LOG = 44
EV_EXPERIMENTAL_BATCH = 49
EV_CLOCK_SNAPSHOT = 51
MAX_EVENT = 127  # tracev2.MaxEvent; experimental events follow it.

_EXPERIMENTAL_SPECS: list[EventSpec] = [
    _s("Span", "dt", "id", "npages_value", "kindclass"),  # 128
    _s("SpanAlloc", "dt", "id", "npages_value", "kindclass"),  # 129
    _s("SpanFree", "dt", "id"),  # 130
    _s("HeapObject", "dt", "id", "type"),  # 131
    _s("HeapObjectAlloc", "dt", "id", "type"),  # 132
    _s("HeapObjectFree", "dt", "id"),  # 133
    _s("GoroutineStack", "dt", "id", "order"),  # 134
    _s("GoroutineStackAlloc", "dt", "id", "order"),  # 135
    _s("GoroutineStackFree", "dt", "id"),  # 136
]

#: tracev2.Specs(): a 137-entry array; indices 53..127 are zero EventSpecs.
SPECS: tuple[EventSpec, ...] = tuple(
    _MAIN_SPECS + [EventSpec("")] * (MAX_EVENT + 1 - len(_MAIN_SPECS)) + _EXPERIMENTAL_SPECS
)

# internal/trace/version/version.go
VERSIONS: dict[int, tuple[EventSpec, ...] | None] = {
    11: None,  # Go 1.11-1.21: v1 format, other parser; "valid" but no specs.
    19: None,
    21: None,
    22: SPECS[: EV_USER_LOG + 1],
    23: SPECS[: EV_EXPERIMENTAL_BATCH + 1],
    25: SPECS[: EV_CLOCK_SNAPSHOT + 1],
    26: SPECS,
}


def specs_for_version(v: int) -> tuple[EventSpec, ...]:
    specs = VERSIONS.get(v)
    return specs or ()


def _event_names(specs: Sequence[EventSpec]) -> dict[str, int]:
    # tracev2.EventNames: later entries overwrite earlier ones with the same name.
    names: dict[str, int] = {}
    for i, spec in enumerate(specs):
        names[spec.name] = i
    return names


def header_bytes(v: int) -> bytes:
    """version.WriteHeader: fmt "go 1.%d trace\\x00\\x00\\x00"."""
    return b"go 1.%d trace\x00\x00\x00" % v


# --------------------------------------------------------------------------
# internal/txtar/archive.go
# --------------------------------------------------------------------------


def _fix_nl(data: bytes) -> bytes:
    if not data or data.endswith(b"\n"):
        return data
    return data + b"\n"


def _is_marker(data: bytes) -> tuple[str, bytes]:
    if not data.startswith(b"-- "):
        return "", b""
    after = b""
    i = data.find(b"\n")
    if i >= 0:
        data, after = data[:i], data[i + 1 :]
    if not (data.endswith(b" --") and len(data) >= 6):
        return "", b""
    return _go_trim_space(data[3:-3].decode("utf-8", "surrogateescape")), after


def _find_file_marker(data: bytes) -> tuple[bytes, str, bytes]:
    i = 0
    while True:
        name, after = _is_marker(data[i:])
        if name:
            return data[:i], name, after
        j = data.find(b"\n-- ", i)
        if j < 0:
            return _fix_nl(data), "", b""
        i = j + 1


def parse_txtar(data: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """txtar.Parse: returns (comment, [(name, data), ...])."""
    comment, name, data = _find_file_marker(data)
    files: list[tuple[str, bytes]] = []
    while name:
        fdata, next_name, data = _find_file_marker(data)
        files.append((name, fdata))
        name = next_name
    return comment, files


# --------------------------------------------------------------------------
# unicode.IsSpace, strings.TrimSpace, bufio.ScanLines, strconv.ParseUint(s, 10, 64)
# --------------------------------------------------------------------------

_GO_SPACE = frozenset(
    [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
    + list(range(0x2000, 0x200B))
)


def _is_space(ch: str) -> bool:
    return ord(ch) in _GO_SPACE


def _go_trim_space(s: str) -> str:
    i, j = 0, len(s)
    while i < j and _is_space(s[i]):
        i += 1
    while j > i and _is_space(s[j - 1]):
        j -= 1
    return s[i:j]


_MAX_SCAN_TOKEN = 64 * 1024  # bufio.MaxScanTokenSize


def _scan_lines(data: bytes) -> list[str]:
    """bufio.Scanner + ScanLines: split on \\n, drop one trailing \\r per line."""
    out: list[str] = []
    if not data:
        return out
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()  # data ended with a newline: no final empty token
    for p in parts:
        if len(p) + 1 > _MAX_SCAN_TOKEN:
            raise GoTextError("bufio.Scanner: token too long")
        if p.endswith(b"\r"):
            p = p[:-1]
        out.append(p.decode("utf-8", "surrogateescape"))
    return out


_U64_MAX = (1 << 64) - 1


def _parse_uint10(s: str) -> int:
    if not s or any(c not in "0123456789" for c in s):
        raise ValueError(f"strconv.ParseUint: parsing {_q(s)}: invalid syntax")
    v = int(s)
    if v > _U64_MAX:
        raise ValueError(f"strconv.ParseUint: parsing {_q(s)}: value out of range")
    return v


# --------------------------------------------------------------------------
# strconv.Unquote (double/single/back-quoted), on bytes like Go strings
# --------------------------------------------------------------------------

_ESCAPES = {ord("a"): 7, ord("b"): 8, ord("f"): 12, ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("v"): 11}
_HEX = b"0123456789abcdefABCDEF"


def _valid_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode_rune(b: bytes) -> tuple[int, int]:
    """utf8.DecodeRune: (rune, size); invalid -> (0xFFFD, 1)."""
    for n in (1, 2, 3, 4):
        if len(b) < n:
            break
        try:
            s = b[:n].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return ord(s), n
    return 0xFFFD, 1


class _Syntax(Exception):
    pass


def _unquote_char(s: bytes, quote: int) -> tuple[int, bool, bytes]:
    if not s:
        raise _Syntax
    c = s[0]
    if c == quote and quote in (0x27, 0x22):
        raise _Syntax
    if c >= 0x80:
        r, size = _decode_rune(s)
        return r, True, s[size:]
    if c != 0x5C:
        return c, False, s[1:]
    if len(s) <= 1:
        raise _Syntax
    c = s[1]
    s = s[2:]
    if c in _ESCAPES:
        return _ESCAPES[c], False, s
    if c in (ord("x"), ord("u"), ord("U")):
        n = {ord("x"): 2, ord("u"): 4, ord("U"): 8}[c]
        if len(s) < n or any(ch not in _HEX for ch in s[:n]):
            raise _Syntax
        v = int(s[:n].decode("ascii"), 16)
        s = s[n:]
        if c == ord("x"):
            return v, False, s
        if v > 0x10FFFF or 0xD800 <= v <= 0xDFFF:
            raise _Syntax
        return v, True, s
    if ord("0") <= c <= ord("7"):
        v = c - ord("0")
        if len(s) < 2:
            raise _Syntax
        for j in range(2):
            x = s[j] - ord("0")
            if x < 0 or x > 7:
                raise _Syntax
            v = (v << 3) | x
        s = s[2:]
        if v > 255:
            raise _Syntax
        return v, False, s
    if c == 0x5C:
        return 0x5C, False, s
    if c in (0x27, 0x22):
        if c != quote:
            raise _Syntax
        return c, False, s
    raise _Syntax


def go_unquote(s: bytes | str) -> bytes:
    """strconv.Unquote; raises ValueError("invalid syntax") like Go's ErrSyntax."""
    if isinstance(s, str):
        s = s.encode("utf-8", "surrogateescape")
    try:
        out, rest = _unquote(s)
    except _Syntax:
        raise ValueError("invalid syntax") from None
    if rest:
        raise ValueError("invalid syntax")
    return out


def _unquote(inp: bytes) -> tuple[bytes, bytes]:
    if len(inp) < 2:
        raise _Syntax
    quote = inp[0]
    end = inp.find(bytes([quote]), 1)
    if end < 0:
        raise _Syntax
    end += 1  # position after terminating quote (optimistic)
    if quote == 0x60:  # backquote
        return inp[1 : end - 1].replace(b"\r", b""), inp[end:]
    if quote not in (0x22, 0x27):
        raise _Syntax
    body = inp[1 : end - 1]
    if b"\\" not in inp[:end] and b"\n" not in inp[:end]:
        if quote == 0x22:
            valid = _valid_utf8(body)
        else:
            r, n = _decode_rune(body)
            valid = 2 + n == end and (r != 0xFFFD or n != 1)
        if valid:
            return body, inp[end:]
    buf = bytearray()
    rest = inp[1:]
    while rest and rest[0] != quote:
        if rest[0] == 0x0A:
            raise _Syntax
        r, multibyte, rest = _unquote_char(rest, quote)
        if r < 0x80 or not multibyte:
            buf.append(r)
        else:
            buf += chr(r).encode("utf-8")
        if quote == 0x27:
            break
    if not (rest and rest[0] == quote):
        raise _Syntax
    return bytes(buf), rest[1:]


def go_quote(data: bytes) -> str:
    """Approximation of strconv.Quote (exact for ASCII and for invalid UTF-8 bytes;
    non-ASCII printability uses Python's str.isprintable instead of Go's tables).
    Only used to render events for humans."""
    out = ['"']
    i = 0
    while i < len(data):
        r, width = _decode_rune(data[i:])
        if width == 1 and r == 0xFFFD:
            out.append("\\x%02x" % data[i])
            i += 1
            continue
        i += width
        ch = chr(r)
        if ch in '"\\':
            out.append("\\" + ch)
        elif (r < 0x80 and 0x20 <= r < 0x7F) or (r >= 0x80 and ch.isprintable()):
            out.append(ch)
        elif r in (7, 8, 12, 10, 13, 9, 11):
            out.append({7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}[r])
        elif r < 0x20 or r == 0x7F:
            out.append("\\x%02x" % r)
        elif r < 0x10000:
            out.append("\\u%04x" % r)
        else:
            out.append("\\U%08x" % r)
    out.append('"')
    return "".join(out)


# --------------------------------------------------------------------------
# internal/trace/raw: Event, TextReader, Writer
# --------------------------------------------------------------------------

FRAME_FIELDS = ("pc", "func", "file", "line")


@dataclass(frozen=True)
class RawEvent:
    """raw.Event: type byte, all args (incl. stack frames flattened), data (None = no data)."""

    version: int
    ev: int
    args: tuple[int, ...]
    data: bytes | None = None

    @property
    def spec(self) -> EventSpec:
        return specs_for_version(self.version)[self.ev]

    @property
    def name(self) -> str:
        return self.spec.name

    def normalized(self) -> tuple[int, tuple[int, ...], bytes]:
        """Comparison key; empty data and no data are the same on the wire."""
        return self.ev, self.args, self.data or b""


def format_event(e: RawEvent) -> str:
    """raw.Event.String (the text format line(s) for one event)."""
    spec = e.spec
    parts = [spec.name]
    for i, a in enumerate(spec.args):
        parts.append(f" {a}={e.args[i]}")
    if spec.is_stack:
        frames = e.args[len(spec.args) :]
        for i, v in enumerate(frames):
            parts.append("\n\t" if i % 4 == 0 else " ")
            parts.append(f"{FRAME_FIELDS[i % 4]}={v}")
    if e.data is not None:
        parts.append("\n\tdata=" + go_quote(e.data))
    return "".join(parts)


def _read_token(s: str) -> tuple[str, str]:
    start = -1
    for i, ch in enumerate(s):
        if ch == "#":
            return "", ""
        if not _is_space(ch):
            start = i
            break
    if start < 0:
        return "", ""
    for i in range(start, len(s)):
        ch = s[i]
        if _is_space(ch) or ch == "#":
            return s[start:i], s[i:]
    return s[start:], ""


def _read_arg(s: str) -> tuple[str, int, str]:
    tok, rest = _read_token(s)
    if not tok:
        raise GoTextError("no argument")
    if "=" not in tok:
        raise GoTextError(f"malformed argument: {_q(tok)}")
    arg, val = tok.split("=", 1)
    try:
        value = _parse_uint10(val)
    except ValueError:
        raise GoTextError(f"failed to parse argument value {_q(val)} for arg {_q(arg)}") from None
    return arg, value, rest


def _read_args(s: str, names: Iterable[str]) -> list[int]:
    args: list[int] = []
    for name in names:
        arg, value, s = _read_arg(s)
        if arg != name:
            raise GoTextError(f"expected argument {_q(name)}, but got {_q(arg)}")
        args.append(value)
    if any(not _is_space(ch) for ch in s):
        raise GoTextError(f"encountered unexpected non-space at the end of an event: {_q(s)}")
    return args


def _q(s: str) -> str:
    return go_quote(s.encode("utf-8", "surrogateescape"))


def _read_data(line: str) -> bytes:
    if "=" not in line:
        raise GoTextError(f"malformed data: {_q(line)}")
    dk, dv = line.split("=", 1)
    if _go_trim_space(dk) != "data":
        raise GoTextError(f"malformed data: {_q(line)}")
    try:
        return go_unquote(_go_trim_space(dv))
    except ValueError as e:
        raise GoTextError(f"failed to parse data: {_q(line)}: {e}") from None


def parse_text_trace(text: bytes) -> tuple[int, list[RawEvent]]:
    """raw.NewTextReader + ReadEvent until EOF: returns (version, events)."""
    lines = iter(_scan_lines(text))

    def next_line() -> str | None:
        for ln in lines:
            tok, _ = _read_token(ln)
            if tok:
                return ln
        return None

    line = next_line()
    if line is None:
        raise GoTextError("EOF")
    tok, line = _read_token(line)
    if tok != "Trace":
        raise GoTextError("failed to parse header")
    gover, line = _read_token(line)
    if not gover.startswith("Go1."):
        raise GoTextError("failed to parse header Go version")
    try:
        v = _parse_uint10(gover[len("Go1.") :])
    except ValueError as e:
        raise GoTextError(f"failed to parse header Go version: {e}") from None
    if v not in VERSIONS:
        raise GoTextError(f"unknown or unsupported Go version 1.{v}")
    if any(not _is_space(ch) for ch in line):
        raise GoTextError(f"encountered unexpected non-space at the end of the header: {_q(line)}")
    specs = specs_for_version(v)
    names = _event_names(specs)

    events: list[RawEvent] = []
    while True:
        line = next_line()
        if line is None:
            return v, events
        ev_str, line = _read_token(line)
        if ev_str not in names:
            raise GoTextError(f"unidentified event: {ev_str}")
        ev = names[ev_str]
        spec = specs[ev]
        try:
            args = _read_args(line, spec.args)
        except GoTextError as e:
            raise GoTextError(f"reading args for {ev_str}: {e}") from None
        if spec.is_stack:
            n = args[1]
            if n >= 1 << 63:  # int(uint64) wraps negative in Go: loop does not run
                n = 0
            header = list(args)
            for _ in range(n):
                fl = next_line()
                if fl is None:
                    raise GoTextError(f"unexpected EOF while reading stack: args={_go_slice(header)}")
                args.extend(_read_args(fl, FRAME_FIELDS))
        data = None
        if spec.has_data:
            dl = next_line()
            if dl is None:
                raise GoTextError(f"unexpected EOF while reading data for {ev_str}: args={_go_slice(args)}")
            data = _read_data(dl)
        events.append(RawEvent(v, ev, tuple(args), data))


def _go_slice(xs: Sequence[int]) -> str:
    return "[" + " ".join(str(x) for x in xs) + "]"


def uvarint(x: int) -> bytes:
    """binary.AppendUvarint (unsigned LEB128)."""
    if x < 0 or x > _U64_MAX:
        raise ValueError(f"uvarint out of range: {x}")
    out = bytearray()
    while x >= 0x80:
        out.append((x & 0x7F) | 0x80)
        x >>= 7
    out.append(x)
    return bytes(out)


def encode_event(e: RawEvent) -> bytes:
    """raw.Writer.WriteEvent for one event."""
    spec = e.spec
    buf = bytearray([e.ev])
    for a in e.args[: len(spec.args)]:
        buf += uvarint(a)
    if spec.is_stack:
        for a in e.args[len(spec.args) :]:
            buf += uvarint(a)
    if spec.has_data:
        data = e.data or b""
        buf += uvarint(len(data))
        buf += data
    return bytes(buf)


def encode_trace(version: int, events: Iterable[RawEvent]) -> bytes:
    """raw.NewWriter (header) + WriteEvent for each event."""
    out = bytearray(header_bytes(version))
    for e in events:
        if e.version != version:
            raise GoTextError(
                f"mismatched version between writer (go 1.{version}) and event (go 1.{e.version})"
            )
        out += encode_event(e)
    return bytes(out)


# --------------------------------------------------------------------------
# internal/trace/testtrace: expectation.go + format.go
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Expectation:
    failure: bool
    pattern: str | None = None  # Go RE2 syntax; the patterns in the corpus are valid Python re too

    @property
    def success(self) -> bool:
        return not self.failure

    def regexp(self) -> re.Pattern[str] | None:
        return None if self.pattern is None else re.compile(self.pattern)

    def matches(self, message: str) -> bool:
        """regexp.MatchString: unanchored search."""
        rx = self.regexp()
        return rx is not None and rx.search(message) is not None

    def check(self, err: str | None) -> str | None:
        """Expectation.Check: None if err (an error message, or None) conforms, else why not."""
        if not self.failure and err is not None:
            return f"unexpected error while reading the trace: {err}"
        if self.failure and err is None:
            return f"expected error while reading the trace: want something matching {self.pattern!r}, got none"
        if self.failure and err is not None and not self.matches(err):
            return f"unexpected error while reading the trace: want something matching {self.pattern!r}, got {err}"
        return None


def parse_expectation(data: bytes) -> Expectation:
    lines = _scan_lines(data)
    if not lines:
        return Expectation(False)
    first = lines[0]
    c = first.split(" ", 1)
    if c[0] == "SUCCESS":
        return Expectation(False)
    if c[0] == "FAILURE":
        if len(c) != 2:
            raise GoTextError(f"bad header line for FAILURE: {_q(first)}")
        try:
            pattern = go_unquote(c[1]).decode("utf-8", "surrogateescape")
        except ValueError as e:
            raise GoTextError(f"malformed pattern: not correctly quoted: {c[1]}: {e}") from None
        try:
            re.compile(pattern)
        except re.error as e:
            raise GoTextError(f"malformed pattern: not a valid regexp: {pattern}: {e}") from None
        return Expectation(True, pattern)
    raise GoTextError(f"bad header line: {_q(first)}")


@dataclass(frozen=True)
class GoTestCase:
    name: str
    expectation: Expectation
    version: int
    events: tuple[RawEvent, ...] = field(repr=False)
    trace_bytes: bytes = field(repr=False)
    trace_text: bytes = field(repr=False)


def load_case(path: str | Path) -> GoTestCase:
    """testtrace.ParseFile: (expectation, version, encoded trace bytes)."""
    path = Path(path)
    _, files = parse_txtar(path.read_bytes())
    if len(files) != 2:
        raise GoTextError(f"malformed test {path}: wrong number of files")
    if files[0][0] != "expect":
        raise GoTextError(f"malformed test {path}: bad filename {files[0][0]}")
    if files[1][0] != "trace":
        raise GoTextError(f"malformed test {path}: bad filename {files[1][0]}")
    try:
        version, events = parse_text_trace(files[1][1])
    except GoTextError as e:
        raise GoTextError(f"malformed test {path}: bad trace file: {e}") from None
    data = encode_trace(version, events)
    try:
        exp = parse_expectation(files[0][1])
    except GoTextError as e:
        raise GoTextError(
            f"internal error during {path}: failed to parse expectation {go_quote(files[0][1])}: {e}"
        ) from None
    return GoTestCase(path.name, exp, version, tuple(events), data, files[1][1])
