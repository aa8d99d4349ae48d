"""Progress while a large trace is parsed: a line on stderr, only for a person at a terminal.

The pipeline (`diagnose.pipeline.read_columns`) reads the trace through a file that reports
(bytes read, total) as the reader -- compiled kernel or reference -- pulls bytes from it, so
the position in the file *is* the parsing progress. `TerminalProgress` draws

    reading trace.out  43%  [##########..............]  12.1 of 28.0 MiB  1.62M events  2.3 s

on stderr, redrawn in place (\\r) at most 10 times a second, then "analysing..." while the
timelines and features are computed, and clears the line at the end. It is shown only when
stderr is a TTY and the output format is text (`should_show`): never in pipes, never with
--format json/markdown/slack/html. A trace that parses in less than `delay_s` (0.3 s by
default, `NETPOLL_DIAGNOSE_PROGRESS_DELAY` overrides) shows nothing.
"""
from __future__ import annotations

import io
import os
import sys
import time
from typing import Callable, TextIO


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f}"


class TerminalProgress:
    """Callable progress line for a TTY stream (see the module docstring).

    Call it with (bytes read, total) from `CountingFile`, and `events(n)` as events come out.
    The reader takes a whole generation (often megabytes) at once and then spends seconds
    decoding it, so the bytes read run ahead of the parse and move in jumps; the position
    shown is the events decoded times the bytes per event measured so far (data read before
    the latest read was decoded by then), never more than what was read.
    """

    WIDTH = 24

    def __init__(self, label: str, stream: TextIO | None = None, delay_s: float | None = None,
                 interval_s: float = 0.1, clock: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        if delay_s is None:
            from diagnose import settings

            delay_s = settings().progress_delay_s
        self.delay_s = delay_s
        self.interval_s = interval_s
        self._clock = clock
        self._t0 = clock()
        self._last = -1.0
        self._shown = False
        self._width = 0
        self._bytes = 0
        self._total = 0
        self._events = 0
        self._events_at_read = 0      # events decoded at the latest read
        self._bytes_per_event = None  # float once measured
        self._pos = 0                 # position shown (never goes back)
        self.updates = 0

    def _columns(self) -> int:
        """The terminal's width (80 when it cannot be asked): the line must stay shorter, or it
        wraps and every redraw leaves a stale line above the report."""
        try:
            return os.get_terminal_size(self.stream.fileno()).columns or 80
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            return 80

    def _draw(self, line: str) -> None:
        line = fit_line(line, self._columns() - 1)
        # \r to the start, the line, then erase what a longer previous line left (ESC[K).
        self.stream.write("\r" + line + CLEAR_EOL)
        self.stream.flush()
        self._width = len(line)
        self._shown = True
        self.updates += 1

    def __call__(self, done: int, total: int) -> None:
        # The reader reads a generation in several reads with no event in between; the first
        # read after some events were decoded marks that everything read before was decoded.
        if self._events > self._events_at_read:
            self._bytes_per_event = self._bytes / self._events
        self._events_at_read = self._events
        self._bytes, self._total = done, total
        self._maybe_draw(final=total > 0 and done >= total and self._bytes_per_event is None)

    def events(self, n: int) -> None:
        """Events decoded so far."""
        self._events = n
        self._maybe_draw()

    def position(self) -> int:
        """Estimated bytes decoded so far."""
        pos = self._bytes
        if self._bytes_per_event is not None:
            pos = min(self._bytes, int(self._events * self._bytes_per_event))
        self._pos = max(self._pos, pos)
        return self._pos

    def _maybe_draw(self, final: bool = False) -> None:
        now = self._clock()
        elapsed = now - self._t0
        if elapsed < self.delay_s and not (final and self._shown):
            return
        if not final and self._last >= 0 and now - self._last < self.interval_s:
            return
        self._last = now
        done, total = self.position(), self._total
        ev = f"  {_count(self._events)} events" if self._events else ""
        self._draw(self._bar_line("reading", done, total, self.fraction(), ev, elapsed))

    def _bar_line(self, verb: str, done: int, total: int, frac: float | None, note: str, elapsed: float) -> str:
        """`verb label  pct  [bar]  done of total MiBnote  elapsed`, fitted to the terminal."""
        room = self._columns() - 1
        if frac is not None:
            tail = f"  {_mib(done)} of {_mib(total)} MiB{note}  {elapsed:.1f} s"
            pct = f"  {frac:4.0%}"
        else:  # no grounded estimate yet: say what is known, no made-up percentage
            tail = f"  {_mib(total if total > 0 else self._bytes)} MiB{note}  {elapsed:.1f} s"
            pct = ""
        label = self.label
        fixed = len(verb) + 1 + len(pct) + len(tail)
        if fixed + len(label) > room:  # a long file name gives way first (its end is kept)
            label = "…" + label[-max(room - fixed - 1, 8):]
        bar = ""
        if frac is not None:
            bar_w = min(self.WIDTH, room - fixed - len(label) - 4)
            if bar_w >= 6:
                fill = int(frac * bar_w)
                bar = "  [" + "#" * fill + "." * (bar_w - fill) + "]"
        return f"{verb} {label}{pct}{bar}{tail}"

    def windows(self, done: int, total: int, text: str) -> None:
        """A trace analysed in windows (possibly in parallel processes): `done` is the estimated
        bytes of the trace analysed -- windows finished, plus the share of each running one --
        and `text` says where it is ("3/7 windows, 2 jobs"). Drawn like the reading bar,
        with "analysing", never going back."""
        now = self._clock()
        elapsed = now - self._t0
        if elapsed < self.delay_s or (self._last >= 0 and now - self._last < self.interval_s):
            return
        self._last = now
        self._total = total
        self._pos = max(self._pos, min(done, total))
        frac = self._pos / total if total > 0 else None
        self._draw(self._bar_line("analysing", self._pos, total, frac, f"  {text}", elapsed))

    def fraction(self) -> float | None:
        """Share of the file decoded, or None when it cannot be told yet: the reader may take
        the whole file in one read before decoding anything, so "bytes read" alone would say
        100% at 0.0 s. Grounded when the bytes per event were measured, or while nothing was
        decoded yet and the reads are still going (then reading *is* the progress)."""
        total = self._total
        if total <= 0:
            return None
        if self._bytes_per_event is not None:
            return min(self.position() / total, 1.0)
        if self._events == 0 and self._bytes < total:
            return self._bytes / total
        return None

    def phase(self, text: str) -> None:
        """Replace the bar with a phase name ("analysing...") once something was shown."""
        if self._shown or self._clock() - self._t0 >= self.delay_s:
            self._draw(f"{text} {self.label}  {self._clock() - self._t0:.1f} s")

    def done(self) -> None:
        """Erase the line (the report follows on stdout)."""
        if self._shown:
            self.stream.write("\r" + CLEAR_EOL)
            self.stream.flush()
            self._shown = False


CLEAR_EOL = "\033[K"  # erase to the end of the line


def fit_line(line: str, width: int) -> str:
    """`line` cut to `width` characters (an ellipsis marks the cut)."""
    width = max(width, 10)
    return line if len(line) <= width else line[: width - 1] + "…"


def _count(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:.2f}M"
    if n >= 10_000:
        return f"{n / 1e3:.0f}k"
    return str(n)


def should_show(fmt: str, stream: TextIO | None = None) -> bool:
    """Progress only for the text format and only when stderr is a terminal."""
    stream = stream if stream is not None else sys.stderr
    if fmt != "text":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
