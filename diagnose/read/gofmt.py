"""Go's fmt/strconv/time formatting where ev.String() needs it: %q and RFC3339Nano.

Trace strings are Go byte strings; we hold them as str decoded with
``utf-8``/``surrogateescape``, so invalid bytes survive as U+DC80..U+DCFF and are written
back as the same bytes (encode with ``surrogateescape``).
"""
from __future__ import annotations

import time as _time

_SIMPLE_ESC = {0x07: "\\a", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x0B: "\\v"}


def quote(s: str) -> str:
    """strconv.Quote (what %q prints for a string)."""
    if s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
        return '"' + s + '"'
    out = ['"']
    app = out.append
    for ch in s:
        c = ord(ch)
        if ch == '"' or ch == "\\":
            app("\\" + ch)
        elif 0xDC80 <= c <= 0xDCFF:
            # An invalid UTF-8 byte (utf8.RuneError, width 1).
            app("\\x%02x" % (c - 0xDC00))
        elif c < 0x80:
            if 0x20 <= c < 0x7F:
                app(ch)
            elif c in _SIMPLE_ESC:
                app(_SIMPLE_ESC[c])
            else:
                app("\\x%02x" % c)
        elif ch.isprintable():
            app(ch)
        elif 0xD800 <= c <= 0xDFFF:
            # Not a valid rune: Go writes U+FFFD escaped.
            app("\\ufffd")
        elif c < 0x10000:
            app("\\u%04x" % c)
        else:
            app("\\U%08x" % c)
    app('"')
    return "".join(out)


def _civil_from_days(z: int) -> tuple[int, int, int]:
    """Days since 1970-01-01 -> (year, month, day), proleptic Gregorian."""
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y), m, d


def _local_offset(sec: int) -> int:
    try:
        return _time.localtime(sec).tm_gmtoff or 0
    except (OverflowError, OSError, ValueError):
        return 0


def rfc3339nano_local(sec: int, nsec: int) -> str:
    """time.Unix(sec, nsec).Format(time.RFC3339Nano) in the local time zone."""
    sec += nsec // 1_000_000_000
    nsec %= 1_000_000_000
    off = _local_offset(sec)
    t = sec + off
    days, rem = divmod(t, 86400)
    y, mo, d = _civil_from_days(days)
    hh, rem = divmod(rem, 3600)
    mm, ss = divmod(rem, 60)
    if y < 0:
        ys = "-%04d" % (-y)
    else:
        ys = "%04d" % y
    out = "%s-%02d-%02dT%02d:%02d:%02d" % (ys, mo, d, hh, mm, ss)
    if nsec:
        out += ("." + "%09d" % nsec).rstrip("0")
    if off == 0:
        out += "Z"
    else:
        sign = "+" if off > 0 else "-"
        a = abs(off) // 60
        out += "%s%02d:%02d" % (sign, a // 60, a % 60)
    return out
