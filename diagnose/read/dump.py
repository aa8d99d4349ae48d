"""``go tool trace -d=parsed`` output: one ``str(ev)`` per event, each followed by a newline."""
from __future__ import annotations

from typing import BinaryIO

from .event import event_string

_BATCH = 4096


def write_dump(events, out: BinaryIO) -> int:
    """Write every event of the iterable as Go's -d=parsed does (fmt.Println(ev.String())).

    Output is buffered (one write per 4096 events); whatever was produced before an
    exception from ``events`` is written before it propagates. Returns the event count.
    """
    lines: list[str] = []
    n = 0
    try:
        for ev in events:
            lines.append(event_string(ev))
            if len(lines) >= _BATCH:
                n += len(lines)
                lines.append("")
                out.write("\n".join(lines).encode("utf-8", "surrogateescape"))
                lines.clear()
    finally:
        if lines:
            n += len(lines)
            lines.append("")
            out.write("\n".join(lines).encode("utf-8", "surrogateescape"))
    return n


