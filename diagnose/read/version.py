"""Trace format versions and the file header (port of Go's internal/trace/version)."""
from __future__ import annotations

from . import tracev2

Go111 = 11  # v1
Go119 = 19  # v1
Go121 = 21  # v1
Go122 = 22  # v2
Go123 = 23  # v2
Go125 = 25  # v2
Go126 = 26  # v2
Current = Go126

V1_VERSIONS = (Go111, Go119, Go121)
V2_VERSIONS = (Go122, Go123, Go125, Go126)

_VERSIONS: dict[int, tuple | None] = {
    Go111: None,
    Go119: None,
    Go121: None,
    Go122: tracev2.SPECS[:tracev2.EvUserLog + 1],
    Go123: tracev2.SPECS[:tracev2.EvExperimentalBatch + 1],
    Go125: tracev2.SPECS[:tracev2.EvClockSnapshot + 1],
    Go126: tracev2.SPECS,
}

HEADER_PREFIX = b"go 1."
HEADER_SUFFIX = b" trace\x00\x00\x00"


def valid(v: int) -> bool:
    return v in _VERSIONS


def specs(v: int):
    return _VERSIONS.get(v)


def event_name(v: int, typ: int) -> str:
    """Version.EventName: the wire name of an event type for this trace version."""
    if not valid(v):
        return "<invalid trace version>"
    s = _VERSIONS[v]
    if not s:
        return "<v1 trace event type>"
    if typ < len(s) and s[typ].name != "":
        return s[typ].name
    return f"Invalid({typ})"


class HeaderError(Exception):
    """The header is missing or names an unknown version. .offset is where it went wrong."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.offset = offset


def parse_header(head: bytes) -> tuple[int, int]:
    """Parse the header at the start of ``head``; return (version, header length).

    Mirrors version.ReadHeader's fmt.Fscanf("go 1.%d trace\\x00\\x00\\x00"): the same
    messages for a file that is not a trace and for an unknown version.
    """
    bad = "bad file format: not a Go execution trace?"
    if not head.startswith(HEADER_PREFIX):
        raise HeaderError(bad, 0)
    i = len(HEADER_PREFIX)
    j = i
    # %d accepts an optional sign, then decimal digits.
    if j < len(head) and head[j:j + 1] in (b"+", b"-"):
        j += 1
    k = j
    while k < len(head) and 0x30 <= head[k] <= 0x39:
        k += 1
    if k == j:
        raise HeaderError(bad, i)
    v = int(head[i:k])
    if not head.startswith(HEADER_SUFFIX, k):
        raise HeaderError(bad, k)
    if v < 0 or v >= 1 << 32:
        raise HeaderError(bad, i)
    if not valid(v):
        raise HeaderError(f"unknown or unsupported trace version go 1.{v}", i)
    return v, k + len(HEADER_SUFFIX)
