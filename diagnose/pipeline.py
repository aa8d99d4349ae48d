"""The one place the stages are wired: read -> timeline -> graph -> features -> rules.

Every command goes through here (diagnose, diff, features, profile, the bot's child process),
so they cannot drift apart: the same input checks, the same choice of reader (the compiled
kernel whenever it is built, progress or not), the same refusal of a trace with no complete
generation, the same completeness check before a verdict.

    from diagnose import pipeline
    with pipeline.open_input("trace.out") as inp:          # or "-" for stdin
        run = pipeline.diagnose_trace(inp, ruleset)         # Run: columns meta, timelines, features, diagnosis
        run.diagnosis, run.incomplete

Report rendering and exit codes are the command line's (diagnose/cli/); nothing here prints.
"""
from __future__ import annotations

import io
import os
import pickle
import select
import stat
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, Iterator, Protocol

from . import __version__, budget
from .errors import TraceError, UsageError
from .features import Features, TraceWindow, extract_from_timelines
from .graph import CausalGraph, build_graph
from .rules import Diagnosis, RuleSet, Verdict, WindowMerge, diagnose, shift_times
from .timeline import (PackedPart, RowWindows, Timelines, TraceColumns, build_timelines, dump_chunks,
                       kernel_available, kernel_count_events, kernel_read_columns, kernel_v1_available, load_columns,
                       load_row_windows, trace_header, window_parts)

#: default cap on what `-`, a pipe or a FIFO may spool (a regular file is read in place)
DEFAULT_SPOOL_LIMIT = 4 << 30
#: how long a FIFO may stay silent before we call it "no data" instead of hanging
FIFO_FIRST_BYTE_S = 10.0


class Progress(Protocol):
    """What the pipeline reports to (diagnose.report.progress.TerminalProgress is one)."""

    def __call__(self, done: int, total: int) -> None: ...

    def events(self, n: int) -> None: ...

    def phase(self, text: str) -> None: ...

    def windows(self, done: int, total: int, text: str) -> None: ...

    def done(self) -> None: ...


# --- input -----------------------------------------------------------------------------------

@dataclass
class TraceInput:
    """A trace the user named, as a regular file we may open as often as a stage needs.

    `display` is what the user typed (reports and errors name it); `path` is the regular
    file read (the same, or a temporary spool of stdin/a pipe/a FIFO, removed by close()).
    """

    display: str
    path: str
    size: int
    spooled: bool = False

    def close(self) -> None:
        if self.spooled:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    def __enter__(self) -> "TraceInput":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_input(name: str | os.PathLike, *, max_bytes: int | None = None,
               stdin: BinaryIO | None = None, first_byte_s: float = FIFO_FIRST_BYTE_S) -> TraceInput:
    """Check what `name` is and make it a readable regular file (UsageError otherwise).

    `-` is standard input; pipes, FIFOs and /dev/fd/N are spooled to a temporary file (at
    most `max_bytes`), so every stage may reopen and seek, and a FIFO with no writer is an
    error after `first_byte_s` instead of a hang. A regular file larger than `max_bytes`
    is refused before anything is read.
    """
    display = os.fspath(name)
    if display == "-":
        src = stdin if stdin is not None else _stdin_binary()
        return _spool(src, "<stdin>", max_bytes, first_byte_s=None)
    try:
        st = os.stat(display)
    except FileNotFoundError:
        raise UsageError(f"{display}: no such trace file") from None
    except OSError as e:
        raise UsageError(f"{display}: cannot read ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{display}: is a directory, not a trace file")
    if stat.S_ISREG(st.st_mode):
        if max_bytes is not None and st.st_size > max_bytes:
            raise UsageError(f"{display}: {st.st_size} bytes is over the limit of {max_bytes} bytes (--max-bytes)")
        if st.st_size == 0:
            raise TraceError("empty file: not a Go execution trace", display, 0)
        try:
            with open(display, "rb"):
                pass
        except OSError as e:
            raise UsageError(f"{display}: cannot read ({e.strerror or e})") from None
        return TraceInput(display, display, st.st_size)
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode) or stat.S_ISSOCK(st.st_mode):
        if stat.S_ISCHR(st.st_mode) and not display.startswith("/dev/fd/") and not display.startswith("/proc/"):
            raise UsageError(f"{display}: is a device, not a trace file")
        try:
            fd = os.open(display, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as e:
            raise UsageError(f"{display}: cannot read ({e.strerror or e})") from None
        with os.fdopen(fd, "rb", buffering=0) as f:
            return _spool(f, display, max_bytes, first_byte_s=first_byte_s)
    raise UsageError(f"{display}: not a regular file, pipe or FIFO")


def _stdin_binary() -> BinaryIO:
    import sys

    return sys.stdin.buffer


def _spool(src: BinaryIO, display: str, max_bytes: int | None, first_byte_s: float | None) -> TraceInput:
    """Copy a stream into a temporary file, at most `max_bytes`; wait at most `first_byte_s`
    for data when the stream is non-blocking (a FIFO opened with O_NONBLOCK)."""
    limit = DEFAULT_SPOOL_LIMIT if max_bytes is None else max_bytes
    fd, tmp = tempfile.mkstemp(prefix="netpoll-diagnose-", suffix=".trace")
    n = 0
    try:
        with os.fdopen(fd, "wb") as out:
            if first_byte_s is not None:
                n = _copy_nonblocking(src, out, limit, display, first_byte_s)
            else:
                while True:
                    chunk = src.read(1 << 20)
                    if not chunk:
                        break
                    n += len(chunk)
                    if n > limit:
                        raise UsageError(f"{display}: more than {limit} bytes (--max-bytes)")
                    out.write(chunk)
        if n == 0:
            raise TraceError("empty input: not a Go execution trace", display, 0)
    except BaseException:
        os.unlink(tmp)
        raise
    return TraceInput(display, tmp, n, spooled=True)


def _copy_nonblocking(src: BinaryIO, out: BinaryIO, limit: int, display: str, first_byte_s: float) -> int:
    fd = src.fileno()
    n = 0
    deadline = time.monotonic() + first_byte_s
    while True:
        timeout = max(0.0, deadline - time.monotonic()) if n == 0 else None
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            raise UsageError(f"{display}: no data within {first_byte_s:g} s (a FIFO with no writer?)")
        try:
            chunk = os.read(fd, 1 << 20)
        except BlockingIOError:
            continue
        if not chunk:
            if n == 0 and time.monotonic() < deadline:
                time.sleep(0.05)  # FIFO not opened by a writer yet: poll until the deadline
                continue
            return n
        n += len(chunk)
        if n > limit:
            raise UsageError(f"{display}: more than {limit} bytes (--max-bytes)")
        out.write(chunk)


# --- read -> columns -------------------------------------------------------------------------

def refuse_too_many_events(inp: TraceInput) -> None:
    """For commands that print every event (dump, inspect: pure-Python, ~10-16 us an event):
    count with the kernel first (~0.4 us an event) and refuse a trace over the event limit
    (read/eventcap.py) before printing anything. Without the kernel the reader stops at the
    limit itself; a trace the kernel cannot count is left to the reader's own error."""
    from .read import max_events, too_many

    limit = max_events(inp.size)
    if limit is None or not kernel_available() or inp.size // 2 <= limit:  # 2 bytes an event at least
        return
    try:
        n = kernel_count_events(inp.path)
    except TraceError:
        return
    if n is not None and n > limit:
        raise TraceError(too_many(limit, inp.size), inp.display, None)


def dump(inp: TraceInput, out: BinaryIO) -> list[str]:
    """Write every event as `go tool trace -d=parsed` prints it, a generation at a time, from the
    reader the columns come from (the compiled one when built; NETPOLL_DIAGNOSE_PURE=1: the
    pure one, through the same formatter); returns the warnings (a cut trace)."""
    from .read import write_chunks

    warnings: list[str] = []
    write_chunks(dump_chunks(inp.path, inp.display, warnings), out)
    return warnings


class CountingFile(io.RawIOBase):
    """A read-only binary file that reports (bytes read so far, total bytes) on every read:
    the reader pulls bytes as it decodes, so the position in the file is the progress."""

    def __init__(self, raw: BinaryIO, callback: Callable[[int, int], None], total: int) -> None:
        super().__init__()
        self._raw = raw
        self._cb = callback
        self.bytes_read = 0
        self.total = total
        self.name = getattr(raw, "name", None)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._raw.seekable()

    def tell(self) -> int:
        return self._raw.tell()

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(pos, whence)

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        if data:
            self.bytes_read += len(data)
            self._cb(self.bytes_read, max(self.total, self.bytes_read))
        return data

    def readinto(self, b) -> int:  # io.RawIOBase protocol
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


EVENTS_TICK = 1 << 14  # the reference reader reports its event count every 16k events


class _CountedTrace:
    """An opened trace whose events() also reports how many came out."""

    def __init__(self, trace: Any, on_events: Callable[[int], None]) -> None:
        self._trace = trace
        self._on_events = on_events

    def events(self):
        return self._counted(self._trace.events())

    def raw_events(self):
        return self._counted(self._trace.raw_events())

    def raw_chunks(self):
        n = 0
        for chunk in self._trace.raw_chunks():  # a few thousand rows: a report each
            yield chunk
            n += len(chunk)
            self._on_events(n)
        self._on_events(n)

    def _counted(self, events: Any):
        n = 0
        for ev in events:
            n += 1
            if not n & (EVENTS_TICK - 1):
                self._on_events(n)
            yield ev
        self._on_events(n)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._trace, name)


def read_columns(inp: TraceInput, progress: Progress | None = None,
                 window: tuple[int, int, int] | None = None) -> TraceColumns:
    """The columns of a trace: the compiled kernel when built (NETPOLL_DIAGNOSE_PURE=1 forces the
    reference), with or without progress -- one switch, in `diagnose.timeline.load_columns`.
    `window`: (header length, start, end): only the generations in those bytes. A whole trace
    too big for the memory budget is refused before it is read (`budget.check_whole_read`)."""
    if window is None:
        budget.check_whole_read(inp.size, inp.display, old_format=0 < trace_header(inp.path)[1] < 22)
    if progress is None and window is None:
        cols = load_columns(inp.path)
    else:
        from .read import WindowFile, open_trace

        raw: BinaryIO = open(inp.path, "rb") if window is None else WindowFile(inp.path, *window)
        with raw:
            src: BinaryIO = raw
            if progress is not None:
                base = 0 if window is None else window[1] - window[0]  # file offset of the window's first byte
                src = CountingFile(raw, lambda done, _total: progress(base + done, inp.size), inp.size)
            cols = None
            try:
                if kernel_available():
                    cols = kernel_read_columns(src, _header_meta(inp))
                    if cols is None:  # a format the kernel declines: the reference reads it
                        src.seek(0)
                if cols is None:
                    trace = open_trace(src)
                    trace.path = inp.path
                    cols = load_columns(_CountedTrace(trace, progress.events) if progress is not None else trace)
            except TraceError as e:
                if window is not None and e.offset is not None:  # name the offset in the file, not in the window
                    e.offset = raw.to_file_offset(e.offset)  # type: ignore[attr-defined]
                raise
            if window is not None and cols.meta.get("truncation") is not None:
                cols.meta["warnings"] = _file_warnings(cols.meta, raw, inp.size)
    cols.meta["path"] = inp.display
    if not kernel_available():  # the pure builder's garbage: holes the analysis would not reuse
        from .jobs import trim_heap

        trim_heap()
    return cols


def _file_warnings(meta: dict[str, Any], raw: Any, size: int) -> list[str]:
    """A window's warnings with its truncation warning as the whole file's reader words it: the
    offset in the file and the share of the file lost (a window only holds the file's tail when
    it is the last)."""
    from .read import TRUNCATION_WARNING, truncation_warning

    offset, message = meta["truncation"]
    lost = int(meta.get("lost_bytes") or 0)
    whole = truncation_warning(raw.to_file_offset(offset) if offset is not None else None, message, lost, size)
    return [whole if w.startswith(TRUNCATION_WARNING) else w for w in meta.get("warnings", [])]


def columns_by_window(inp: TraceInput, plan: tuple[int, list[tuple[int, int]]]) -> Iterator[TraceColumns]:
    """Each window's columns (`plan_windows`) in trace order, one held at a time, with the clock
    continued across windows (`TraceColumns.continue_clock`): what is computed over them in
    sequence -- the pprof records -- equals the whole trace's figures, in one window's memory."""
    hlen, windows = plan
    last: int | None = None
    for span in windows:
        cols = read_columns(inp, None, (hlen, *span))
        last = cols.continue_clock(last) if last is not None else (int(cols.t[-1]) if len(cols) else 0)
        yield cols


@dataclass(frozen=True)
class WindowPart:
    """One window as the diagnosis analyses it: the bytes `span` of a Go 1.22+ trace (whole
    generations), or part `j` of `parts` of their rows when they are a generation too big to be
    one window (`split_windows`)."""

    span: tuple[int, int]
    j: int = 0
    parts: int = 1

    @property
    def shown(self) -> tuple[int, int]:
        """The part's share of the window's bytes: what its progress and `TraceWindow.bytes` count."""
        s, e = self.span
        return s + (e - s) * self.j // self.parts, s + (e - s) * (self.j + 1) // self.parts


def split_windows(spans: list[tuple[int, int]], window_mb: float | None = None,
                  tail_framed: bool = False) -> list[WindowPart]:
    """`plan_windows`' windows with each one over 1.5 windows' size, or over the window and too
    big for two to run side by side (`jobs.pairs`) -- a single generation bigger than the window:
    Go cuts a generation a second, so a busy process makes big ones -- cut into
    parts of rows (`timeline.window_parts`), so that two generations fit side by side in the
    allowance where two whole ones did not: the 189 MB benchmark trace regenerated on a faster
    machine has 14 generations of 12.5-14.7 MB (~700 MiB each to analyse whole). How many parts:
    `jobs.parts_for` (3 of a 14.7 MB generation, 2 of an 11 MB one), never parts under half a
    window, whose rates would be noise (a generation too big even so runs alone). The last window
    is cut only when `tail_framed` (its batches frame the file to its end, `read.framed_to_end`):
    a cut tail's rows are known only once read, so it is kept whole (its reader facts stay with
    the last part either way). Kept whole always, the last window of the 53 MB benchmark trace
    (13.3 MB and a 1.7 MB tail folded in) took 716 MiB and ran alone: 3.5x Go's reader. The cut
    depends only on the bytes, never on the processes, so every NETPOLL_DIAGNOSE_JOBS gives the
    same windows and findings (`plan_parts`)."""
    from . import settings
    from .jobs import pairs, parts_for

    mb = settings().window_mb if window_mb is None else window_mb
    target = int(mb * (1 << 20))
    out = []
    for k, (s, e) in enumerate(spans):
        n = 1
        if target > 0 and (k < len(spans) - 1 or tail_framed) and (
                e - s > target * 3 // 2 or e - s > target and not pairs(e - s)):
            # no part under half a window: rates over a few milliseconds are noise (group_windows)
            n = max(2, min(max(round((e - s) / target), parts_for(e - s)), (e - s) // max(target // 2, 1)))
        out.extend(WindowPart((s, e), j, n) for j in range(n))
    return out


def plan_parts(inp: TraceInput, spans: list[tuple[int, int]], window_mb: float | None = None) -> list[WindowPart]:
    """`split_windows` of a trace's windows, its tail cut too when it frames to the file's end:
    what the diagnosis and `explain` both cut."""
    from .read import framed_to_end

    return split_windows(spans, window_mb, tail_framed=bool(spans) and framed_to_end(inp.path, spans[-1][0]))


class GenerationParts:
    """A Go 1.22+ trace's windows when some are parts of a generation (`split_windows`), as
    `_diagnose_windows` takes an old-format trace's row windows: how many, window k's columns,
    and the windows read together (`groups`: the parts of one generation, read once and cut in
    one pass, `group_columns`). The reader kernel's column memory then comes from the C heap
    (`jobs.columns_from_heap`): a generation's columns, freed once its parts are cut out, leave
    their pages to the parts' analysis instead of being kept for the next read beside it."""

    def __init__(self, inp: TraceInput, hlen: int, parts: list[WindowPart]) -> None:
        self.inp, self.hlen, self.parts = inp, hlen, parts
        #: generations `columns` read, packed, by their bytes: window 1's (explain reads it first and
        #: shows it after its search) and the last one read
        self._kept: dict[tuple[int, int], list[PackedPart]] = {}
        self.groups: list[list[int]] = []
        for k, p in enumerate(parts):
            if p.j == 0:
                self.groups.append([])
            self.groups[-1].append(k)

    def __len__(self) -> int:
        return len(self.parts)

    def columns(self, k: int, progress: Progress | None = None) -> TraceColumns:
        """Window k's columns alone (`explain`, the charts' window): its generation is read and
        cut for it, and kept packed for the next call, so that `explain --goroutine` looking
        through the windows in order reads each generation once; window 1's generation stays kept
        too (explain's window 1: the trace's start, then shown after the search). A copy: the
        kept parts are never handed out to be changed."""
        p = self.parts[k]
        if p.parts == 1:
            return next(self.group_columns([k], progress))
        if p.span not in self._kept:
            from .jobs import columns_from_heap

            columns_from_heap()
            for span in [s for s in self._kept if s != self.parts[0].span]:
                del self._kept[span]
            self._kept[p.span] = window_parts(read_columns(self.inp, progress, (self.hlen, *p.span)), p.parts)
        return self._kept[p.span][p.j].columns(copy=True)

    def group_columns(self, ks: list[int], progress: Progress | None = None) -> Iterator[TraceColumns]:
        """The columns of windows `ks` (parts of one window of bytes, in order) one after another,
        from one read: the parts are cut and packed (`timeline.window_parts`) and the window's
        columns freed before the first part is handed over."""
        from .jobs import columns_from_heap

        columns_from_heap()
        p = self.parts[ks[0]]
        cols = read_columns(self.inp, progress, (self.hlen, *p.span))
        if p.parts == 1:
            yield cols
            return
        packed = window_parts(cols, p.parts)
        del cols
        for k in ks:
            cols = packed[self.parts[k].j].columns()
            packed[self.parts[k].j] = None  # (the packed part is not kept beside its analysis)
            yield cols

    def byte_windows(self, n: int) -> int:
        """How many windows of bytes the first `n` parts come from (each adds its closing Sync)."""
        return len({p.span for p in self.parts[:n]})


def _header_meta(inp: TraceInput) -> dict[str, Any]:
    gv, minor = trace_header(inp.path)
    return {"path": inp.display, "go_version": gv, "format_minor": minor}


# --- columns -> timelines -> graph -> features -> rules --------------------------------------

@dataclass
class Run:
    """What one pass of the pipeline produced for one trace."""

    input: TraceInput
    features: Features
    timelines: Timelines | None = None
    diagnosis: Diagnosis | None = None
    #: the causal graph the features were queried from (kept with the timelines)
    graph: CausalGraph | None = None
    #: why the diagnosis cannot be trusted as complete (rules that failed, damaged trace);
    #: empty when it can. A non-empty list makes the verdict INCOMPLETE and the exit non-zero.
    incomplete: list[str] = field(default_factory=list)
    #: lines for stderr about side inputs (the strace join's match rate and warnings)
    notes: list[str] = field(default_factory=list)
    #: (first, last) event time of what was analysed, trace clock ns
    clock: tuple[int, int] | None = None
    #: a trace diagnosed in windows: the index (in diagnosis.trace.windows) of the window whose
    #: features and timelines this run holds -- the strongest one (rules.merge_windows)
    window: int | None = None
    #: ... and that window's features with its own trace facts (duration, events), where
    #: `features` carries the whole trace's (merged: every window's incompleteness counts)
    window_features: Features | None = None


def analyse(inp: TraceInput, *, progress: Progress | None = None, keep_timelines: bool = False,
            strace: tuple[Any, int | None] | None = None, modules: list[str] | None = None,
            window: tuple[int, int, int] | None = None, refuse_cut: bool = True,
            columns: TraceColumns | None = None, features: Features | None = None) -> Run:
    """read -> timeline -> graph -> features for one trace. Refuses (TraceError) a trace (or window)
    whose analysis would take more memory than the budget (diagnose/budget.py), and a trace cut before its
    first generation completed: calling it healthy would be a lie (Go says "failed to parse
    any useful part of the trace"). `modules`: "our code" package prefixes (`f.our_code`;
    inferred from the stacks when None). `window`: only the generations in those bytes (see
    `diagnose_trace`); the caller then ends the progress line. `columns`: the window's columns
    already made (an old-format trace's row window, `timeline.load_row_windows`) instead of read.
    `features`: the features of this trace (or window) computed before, for a caller that reads it
    again only for its timelines (the HTML charts of a big trace's strongest window): neither the
    graph nor the features are made again (the Run has no graph)."""
    try:
        cols = read_columns(inp, progress, window) if columns is None else columns
        budget.check(cols, inp.size, inp.display)  # refuse in one line what would not fit
        if progress is not None:
            progress.phase("analysing")
        tl = build_timelines(cols)
        graph = None
        if features is None:  # the graph is the features' (and explain's, which computes them too)
            if progress is not None:
                progress.phase(GRAPH_PHASE)
            graph = build_graph(tl)
            if progress is not None:
                progress.phase(FEATURES_PHASE)
            features = extract_from_timelines(tl, cols.meta, modules, graph=graph)
    finally:
        if progress is not None and window is None:
            progress.done()
    features.trace.path = inp.display
    if refuse_cut and cut_before_first_generation(features):
        raise TraceError("the trace is cut before its first generation is complete: nothing to diagnose "
                         f"({features.trace.lost_bytes} bytes lost)", inp.display, None)
    notes: list[str] = []
    if strace is not None:  # (log path, clock offset recorded by `capture` or None): fills f.strace
        from .features import join_strace

        notes = join_strace(features, tl, inp.path, strace[0], strace[1])
    return Run(inp, features, tl if keep_timelines else None, graph=graph if keep_timelines else None, notes=notes,
               clock=(tl.t0, tl.t_end))


def cut_before_first_generation(features: Features) -> bool:
    """A trace (or window) cut before its first generation completed: Sync events only."""
    return features.trace.truncated and features.trace.event_count <= 2


def plan_windows(inp: TraceInput, window_mb: float | None = None) -> tuple[int, list[tuple[int, int]]] | None:
    """(header length, [(start, end) bytes]) when the trace is to be diagnosed in windows of whole
    generations: a Go 1.22+ trace larger than 1.5 windows (NETPOLL_DIAGNOSE_WINDOW_MB); None to
    analyse it whole. Memory then follows the largest window, not the trace."""
    from . import settings
    from .read import generation_spans, group_windows

    mb = settings().window_mb if window_mb is None else window_mb
    target = int(mb * (1 << 20))
    if target <= 0 or inp.size <= target * 3 // 2:
        return None
    found = generation_spans(inp.path)
    if found is None:
        return None
    hlen, spans = found
    windows = group_windows(spans, target)
    return (hlen, windows) if len(windows) > 1 else None


#: rows a window of events holds per byte of NETPOLL_DIAGNOSE_WINDOW_MB: what a Go 1.22+ window of
#: that size holds (0.16..0.19 rows a byte), so an old-format window costs what `jobs.window_cost`
#: plans for. An old-format file makes ~0.3 rows a byte (busy go1.21: 3.36 M rows of 11.2 MB):
#: at 0.3 two windows at once took 977..999 MiB on the 63 MB go1.21 trace, at 0.19 771 MiB
#: (13 windows instead of 9, the same findings, about the same wall time).
V1_ROWS_PER_BYTE = 0.19
#: rows of columns a byte of an old-format file becomes (about): how many rows a file will make
V1_FILE_ROWS_PER_BYTE = 0.3


def plan_row_windows(inp: TraceInput, window_mb: float | None = None) -> int:
    """Rows per window of an old-format trace (Go <= 1.21, no generations) diagnosed in windows
    of events: the rows a Go 1.22+ window of NETPOLL_DIAGNOSE_WINDOW_MB holds (`V1_ROWS_PER_BYTE`),
    when the file's rows (`V1_FILE_ROWS_PER_BYTE`) are over 1.5 windows; 0 to analyse it whole (a new format, or a small trace)."""
    from . import settings
    from .read import MIN_WINDOWED_MINOR

    mb = settings().window_mb if window_mb is None else window_mb
    target = int(mb * (1 << 20))
    per_window = int(target * V1_ROWS_PER_BYTE)
    if (target <= 0 or inp.size * V1_FILE_ROWS_PER_BYTE <= per_window * 3 // 2
            or not 0 < trace_header(inp.path)[1] < MIN_WINDOWED_MINOR):
        return 0
    return max(per_window, 2)


def _diagnose_row_windows(inp: TraceInput, ruleset: RuleSet, per_window: int, *, progress: Progress | None,
                          keep_timelines: bool, modules: list[str] | None) -> Run:
    """An old-format trace read once into windows of `per_window` rows, each opening with the state at
    its cut (`timeline.load_row_windows`: spilled to a temporary directory as they are cut, so the
    trace's rows never exist at once with the compiled reader), diagnosed as the windows of a
    new-format trace are. Each window stands for its share of the file's bytes (progress,
    `TraceWindow.bytes`)."""
    if progress is not None:
        progress.phase("reading")
    cutting = (lambda k: progress.phase(f"reading (window {k})")) if progress is not None else None
    with tempfile.TemporaryDirectory(prefix="netpoll-diagnose-windows-") as spill:
        rows = read_row_windows(inp, per_window, spill, cutting)
        if len(rows) == 1:  # fewer events than the size promised: one window is the whole trace
            run = analyse(inp, progress=progress, keep_timelines=keep_timelines, modules=modules,
                          columns=rows.columns(0))
            run.diagnosis = diagnose(run.features, ruleset, tool_version=__version__)
            return run
        hlen = HEADER_LEN_V1
        body, total = inp.size - hlen, max(rows.n_rows, 1)
        spans = [(hlen + body * a // total, hlen + body * b // total) for a, b in rows.spans]
        return _diagnose_windows(inp, ruleset, (hlen, spans), progress=progress, keep_timelines=keep_timelines,
                                 modules=modules, rows=rows)


def read_row_windows(inp: TraceInput, per_window: int, spill: str,
                     on_window: Callable[[int], None] | None = None) -> RowWindows:
    """An old-format trace read once into windows of `per_window` rows (`plan_row_windows`), spilled
    under `spill` (`timeline.load_row_windows`), errors naming the input; the reader's memory is
    given back before the windows are analysed (or forked)."""
    per_byte = budget.READ_PER_BYTE_OLD_FORMAT if kernel_v1_available() else budget.READ_PER_BYTE_OLD_FORMAT_PURE
    budget.check_whole_read(inp.size, inp.display, per_byte=per_byte)
    try:
        rows = load_row_windows(inp.path, per_window, spill, on_window)
    except TraceError as e:
        e.path = inp.display
        raise
    rows.template.meta["path"] = inp.display
    from .jobs import release_memory

    release_memory()  # the reader's store is gone: give its pages back
    return rows


#: the header of every old-format trace ("go 1.21 trace\x00\x00\x00")
HEADER_LEN_V1 = 16


def diagnose_trace(inp: TraceInput, ruleset: RuleSet, *, progress: Progress | None = None,
                   keep_timelines: bool = False, strace: tuple[Any, int | None] | None = None,
                   modules: list[str] | None = None, window_mb: float | None = None) -> Run:
    """The whole pipeline for one trace: `analyse`, then the rules, then the completeness check.
    "Our code" is `modules` (--module) plus the rule layers' `config: {modules}`, else inferred.
    A big trace is diagnosed window by window (`plan_windows`; not with an strace log, whose
    join needs the whole trace's clock) and the windows' findings merged."""
    mods = [*(modules or []), *(m for m in ruleset.modules if m not in (modules or []))] or None
    plan = plan_windows(inp, window_mb) if strace is None else None
    old_windows = plan_row_windows(inp, window_mb) if strace is None and plan is None else 0
    if plan is not None:
        run = _diagnose_windows(inp, ruleset, plan, progress=progress, keep_timelines=keep_timelines, modules=mods,
                                window_mb=window_mb)
    elif old_windows:
        run = _diagnose_row_windows(inp, ruleset, old_windows, progress=progress, keep_timelines=keep_timelines,
                                    modules=mods)
    else:
        run = analyse(inp, progress=progress, keep_timelines=keep_timelines, strace=strace, modules=mods)
        run.diagnosis = diagnose(run.features, ruleset, tool_version=__version__)
    run.incomplete = incompleteness(run.features, run.diagnosis)
    if run.incomplete:
        v = run.diagnosis.verdict
        found = f" What did run: {v.text}" if v.status == "problems" else ""
        run.diagnosis.verdict = Verdict(
            status="incomplete", worst_severity=v.worst_severity, incomplete=run.incomplete,
            text=f"This diagnosis cannot be trusted as complete: {'; '.join(run.incomplete)}.{found}")
    return run


#: per mille of a window's work done when its reading ends, and when each later stage starts,
#: from the CPU 4 windows of the 53 MB go1.27 trace took together (cProfile): columns and
#: budget 0.82 s, timelines 0.72, graph 0.44, features 1.70, rules 0.19 (the phases `analyse`
#: announces)
WINDOW_READ_SHARE = 190
GRAPH_PHASE = "analysing (causal graph)"
FEATURES_PHASE = "analysing (features)"
PHASE_SHARE = {"analysing": WINDOW_READ_SHARE, GRAPH_PHASE: 390, FEATURES_PHASE: 500}


class _WindowMarks:
    """How far each window got, in thousandths: in shared memory (a RawArray made before the
    fork) when windows run in worker processes, so the parent's progress line moves while they
    read, not only when one finishes. `progress_for(k)` is what `analyse` reports to in window k."""

    def __init__(self, windows: list[tuple[int, int]], shared: bool, live: bool) -> None:
        self.windows = windows
        self.live = live  # someone watches (a progress line): the windows report as they go
        if shared:
            from multiprocessing.sharedctypes import RawArray

            self.marks: Any = RawArray("i", len(windows))
        else:
            self.marks = [0] * len(windows)
        self.finished = 0
        self.on_change: Callable[[], None] | None = None

    def progress_for(self, k: int) -> "_WindowProgress":
        return _WindowProgress(self, k)

    def finish(self, k: int) -> None:
        self.marks[k] = 1000
        self.finished += 1

    def bytes_done(self) -> int:
        """Bytes of the trace analysed: windows finished, plus the share of the running ones."""
        return self.windows[0][0] + sum((e - s) * min(self.marks[k], 1000) // 1000
                                        for k, (s, e) in enumerate(self.windows))


class _WindowProgress:
    """`Progress` inside window k: the bytes read map to the first WINDOW_READ_SHARE thousandths
    of the window, each phase `analyse` announces to its PHASE_SHARE. Marks only go forward."""

    def __init__(self, marks: _WindowMarks, k: int) -> None:
        self._m, self._k = marks, k
        self._start, end = marks.windows[k]
        self._len = max(end - self._start, 1)

    def _set(self, v: int) -> None:
        if v > self._m.marks[self._k]:
            self._m.marks[self._k] = v
            if self._m.on_change is not None:
                self._m.on_change()

    def __call__(self, done: int, total: int) -> None:  # done: a file offset (read_columns)
        frac = min(max(done - self._start, 0) / self._len, 1.0)
        self._set(int(frac * WINDOW_READ_SHARE))

    def events(self, n: int) -> None:
        pass

    def phase(self, text: str) -> None:
        self._set(PHASE_SHARE.get(text, WINDOW_READ_SHARE))

    def windows(self, done: int, total: int, text: str) -> None:
        pass

    def done(self) -> None:
        pass


class PackedFeatures:
    """A window's features kept compressed until needed: a big trace has hundreds of windows and
    only the strongest one's features are shown, but each is ~1 MB as objects (~13 KB packed).
    `trace` (the window's trace facts, which every window contributes) stays an object."""

    def __init__(self, features: Features) -> None:
        import pickle
        import zlib

        self.trace = features.trace
        self._blob = zlib.compress(pickle.dumps(features.model_copy(update={"trace": None}), protocol=5), 1)

    def unpack(self) -> Features:
        import pickle
        import zlib

        f: Features = pickle.loads(zlib.decompress(self._blob))
        f.trace = self.trace
        return f


#: what one window's diagnosis hands back: its packed features, its diagnosis (None: the trace's
#: lost tail), its clock (first, last event time)
WindowResult = tuple[PackedFeatures, Diagnosis | None, tuple[int, int]]


def _diagnose_window(inp: TraceInput, ruleset: RuleSet, modules: list[str] | None, hlen: int, k: int,
                     span: tuple[int, int], progress: Progress | None = None,
                     columns: TraceColumns | None = None) -> WindowResult:
    """One window through read -> rules: (features, diagnosis, clock); no diagnosis for a window
    holding only a cut generation (the trace's lost tail). `columns`: the window's columns made
    already (an old-format row window, a part of a generation), else the bytes `span` are read."""
    run = analyse(inp, progress=progress, modules=modules, window=(hlen, *span), refuse_cut=k == 0, columns=columns)
    if cut_before_first_generation(run.features):
        return PackedFeatures(run.features), None, run.clock or (0, 0)
    return PackedFeatures(run.features), diagnose(run.features, ruleset, tool_version=__version__), run.clock or (0, 0)


@dataclass
class _Tasks:
    """What a process runs at a time: each task's windows (one window, or the parts of one
    generation), and the task of each task's first window."""

    windows: list[list[int]]
    index_of: dict[int, int] = field(init=False)  # derived from `windows`

    def __post_init__(self) -> None:
        self.index_of = {ks[0]: t for t, ks in enumerate(self.windows)}

    @classmethod
    def single(cls, n: int) -> "_Tasks":
        return cls([[k] for k in range(n)])


def _diagnose_task(inp: TraceInput, ruleset: RuleSet, modules: list[str] | None, hlen: int, ks: list[int],
                   windows: list[tuple[int, int]], progress_for: Callable[[int], Progress | None],
                   rows: RowWindows | GenerationParts | None) -> list[WindowResult]:
    """Windows `ks` one after another (`_diagnose_window`): one window, or the parts of one
    generation, which are read once (`GenerationParts.group_columns`). `progress_for(k)`: what
    window k reports to."""
    if isinstance(rows, GenerationParts):
        parts = rows.group_columns(ks, progress_for(ks[0]))
        return [_diagnose_window(inp, ruleset, modules, hlen, k, windows[k], progress_for(k), next(parts))
                for k in ks]
    return [_diagnose_window(inp, ruleset, modules, hlen, k, windows[k], progress_for(k),
                             rows.columns(k) if rows is not None else None) for k in ks]


#: seconds between progress redraws while windows run in worker processes
POLL_S = 0.2

#: what forked window workers read (set in the parent just before the fork: the rule set holds
#: compiled CEL programs that need not be pickled)
_FORK_STATE: tuple[Any, ...] | None = None


#: in a worker: the estimated cost of the biggest window it ran since it last gave memory back
_HELD = 0


def _forked_window(k: int, span: tuple[int, int]) -> list[tuple[PackedFeatures, bytes | None, tuple[int, int]]]:
    """In a worker: the task whose first window is k (`span` its bytes): its windows' results,
    each diagnosis pickled: the parent keeps the bytes until the window's turn in the merge
    (`_diagnose_windows`), ~40 KB a window instead of ~300 KB of objects (55 MiB for the 1 GB
    benchmark trace's 181 windows, which finish out of order)."""
    global _HELD
    inp, ruleset, modules, hlen, marks, rows, retention, tasks, windows = _FORK_STATE  # type: ignore[misc]
    t = tasks.index_of[k]
    try:
        return [(f, pickle.dumps(d, pickle.HIGHEST_PROTOCOL) if d is not None else None, c)
                for f, d, c in _diagnose_task(inp, ruleset, modules, hlen, tasks.windows[t], windows,
                                              lambda j: marks.progress_for(j) if marks.live else None, rows)]
    finally:
        from .jobs import keeps_memory, release_memory

        _HELD = max(_HELD, retention[0][t])  # the task's estimated cost
        # the pure-Python reader's next read (its garbage, then the columns) would come on top
        # of what this task left in the heap: 1084 MiB for two processes on the 189 MB trace
        if not keeps_memory(_HELD, *retention) or not kernel_available():
            release_memory()
            _HELD = 0


def _worker_start() -> None:
    """Workers leave Ctrl-C to the parent, which stops them (no traceback from each)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


#: how far past the first waiting window `_next_window` looks for one that fits beside the running
LOOKAHEAD = 8


def start_order(cost: list[int]) -> list[int]:
    """The order windows are started in: the costliest first (ties in window order). Whichever
    process is free takes the next one, so the last to start are the cheapest and the processes
    finish close together; in window order a big window near the end kept one process busy
    while the other idled (189 MB benchmark trace: its last window is its biggest, 0.8 s of
    CPU against ~0.4 s for the others, and the processes finished ~0.6 s apart)."""
    return sorted(range(len(cost)), key=lambda k: (-cost[k], k))


def _next_window(pending: list[int], running: list[int], cost: list[int], allowance: int | None,
                 failed: int | None, rank: list[int] | None = None) -> int | None:
    """The window to start next, or None to wait: the first pending one (`pending` is in start
    order, `rank[k]` window k's place in it; None: window order) that fits the allowance beside
    the running ones (`running`: their costs), looking at most LOOKAHEAD windows ahead, so a big
    window waiting for the room it needs does not leave a process idle while a smaller one after
    it would fit (1 GB benchmark trace: 19 of its 177 windows do not fit beside the next one);
    windows more than LOOKAHEAD past the first waiting one wait, so it is not passed for ever.
    With nothing running the first pending window starts, whatever its cost. After a window
    failed (`failed`, its index), only earlier ones start: the error reported is the first
    window's, as one process would give it."""
    place = rank.__getitem__ if rank is not None else (lambda k: k)
    room = None if allowance is None else allowance - sum(running)
    if failed is not None:
        pending = [k for k in pending if k < failed]
    for k in pending[:LOOKAHEAD]:
        if place(k) >= place(pending[0]) + LOOKAHEAD:
            return None  # the first waiting window is not passed by more than LOOKAHEAD others
        if not running or room is None or cost[k] <= room:
            return k
    return None


def _windows_in_processes(inp: TraceInput, ruleset: RuleSet, modules: list[str] | None, hlen: int,
                          windows: list[tuple[int, int]], jobs: int, marks: _WindowMarks,
                          report: Callable[[], None], allowance: int | None = None,
                          rows: RowWindows | GenerationParts | None = None, costs: list[int] | None = None,
                          tasks: _Tasks | None = None):
    """`_diagnose_window` for every window, a task (`tasks`: one window, or the parts of one
    generation) at a time in each of up to `jobs` forked processes, the tasks started about in
    `start_order` of their `costs` (`_next_window`); results in window order. With an `allowance` (bytes), a
    window starts only while the windows running with it are estimated to fit
    (`jobs.window_cost`): a big window (one generation can be 14 MB) runs alone. The workers write how far they got into `marks`
    (shared memory); `report` is called as windows finish and every POLL_S meanwhile. On any
    error or interrupt the workers are stopped."""
    import multiprocessing
    import sys
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    from .jobs import window_cost

    global _FORK_STATE
    sys.stdout.flush()
    sys.stderr.flush()
    results: list[Any] = [None] * len(windows)
    tasks = tasks if tasks is not None else _Tasks.single(len(windows))
    # each task's estimated cost; below, indexes are tasks' (a task's windows run in one process)
    cost = costs if costs is not None else [window_cost(e - s) for s, e in windows]
    _FORK_STATE = (inp, ruleset, modules, hlen, marks, rows, (cost, jobs, allowance), tasks, windows)
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"),
                               initializer=_worker_start)
    failed: dict[int, BaseException] = {}
    procs: dict[int, Any] = {}
    running: dict[Any, int] = {}
    pending = start_order(cost)
    rank = [0] * len(cost)
    for place, k in enumerate(pending):
        rank[k] = place
    try:
        while running or any(not failed or k < min(failed) for k in pending):
            while len(running) < jobs:
                k = _next_window(pending, [cost[j] for j in running.values()], cost, allowance,
                                 min(failed) if failed else None, rank)
                if k is None:
                    break
                pending.remove(k)
                first = tasks.windows[k][0]
                running[pool.submit(_forked_window, first, windows[first])] = k
                procs.update(getattr(pool, "_processes", {}))  # started by the submits
            finished, _ = wait(set(running), timeout=POLL_S, return_when=FIRST_COMPLETED)
            for fut in finished:
                k = running.pop(fut)
                err = fut.exception()
                if err is not None:
                    # as one process would: the error of the first failing window, so no later
                    # window is started; the earlier ones still run, one of them may fail first
                    failed[k] = err
                    continue
                for w, result in zip(tasks.windows[k], fut.result()):
                    results[w] = result
                    marks.finish(w)
            if failed and all(k > min(failed) for k in [*running.values(), *pending]):
                break  # only later windows still run: the error stands (they are stopped below)
            report()
        if failed:
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.terminate()
            raise failed[min(failed)]
    except BrokenProcessPool:
        for proc in procs.values():
            proc.join(timeout=1)
        codes = sorted({proc.exitcode for proc in procs.values() if proc.exitcode not in (None, 0)})
        if -9 in codes:  # SIGKILL: the kernel's OOM killer, as a rule
            raise MemoryError("a process analysing a window was killed (SIGKILL): out of memory? "
                              "NETPOLL_DIAGNOSE_JOBS=1 analyses one window at a time") from None
        raise RuntimeError(f"a process analysing a window died (exit codes {codes})") from None
    except BaseException:
        for proc in list(getattr(pool, "_processes", {}).values()):  # running windows: stop them now
            proc.terminate()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _FORK_STATE = None
    return results


def _diagnose_windows(inp: TraceInput, ruleset: RuleSet, plan: tuple[int, list[tuple[int, int]]], *,
                      progress: Progress | None, keep_timelines: bool, modules: list[str] | None,
                      rows: RowWindows | None = None, window_mb: float | None = None) -> Run:
    """Each window through read -> ... -> rules alone (`_diagnose_window`), one at a time or in
    parallel processes (diagnose/jobs.py); then one diagnosis (`rules.WindowMerge`, window by window). The charts
    want the strongest window's timelines and graph: that window is read again at the end rather
    than kept while the others are read, so memory stays that of one window a process. A
    generation too big for a window is diagnosed in parts (`split_windows`)."""
    from .jobs import (columns_from_heap, fitting_jobs, parallel_allowance, part_cost, tune_allocator, window_cost,
                       window_jobs)

    hlen, windows = plan
    win_rows: RowWindows | GenerationParts | None = rows
    if win_rows is None:
        split = plan_parts(inp, windows, window_mb)
        if len(split) > len(windows):
            win_rows = GenerationParts(inp, hlen, split)
            windows = [p.shown for p in split]
    tune_allocator()  # for this process and the workers it forks
    merge = WindowMerge()  # the windows' diagnoses, merged as they come (not all held at once)
    feats: list[PackedFeatures] = []
    clocks: list[tuple[int, int]] = []
    allowance = parallel_allowance()
    if isinstance(win_rows, GenerationParts):  # a generation's parts run in one process, one read
        tasks = _Tasks(win_rows.groups)
        costs = [part_cost(win_rows.parts[ks[0]].span[1] - win_rows.parts[ks[0]].span[0], len(ks))
                 for ks in tasks.windows]
    else:
        tasks = _Tasks.single(len(windows))
        costs = [window_cost(e - s) for s, e in windows]
    jobs = fitting_jobs(window_jobs(len(tasks.windows)), costs, allowance)
    marks = _WindowMarks(windows, shared=jobs > 1, live=progress is not None)
    where = f", {jobs} jobs" if jobs > 1 else ""

    last = [0.0, -1]  # when the line was last given figures, and how many windows were finished then

    def report() -> None:
        # at most every POLL_S (a window's reading moves its mark ~120 times) or when one finishes
        now = time.monotonic()
        if progress is not None and (now - last[0] >= POLL_S or marks.finished != last[1]):
            last[:] = [now, marks.finished]
            progress.windows(marks.bytes_done(), inp.size, f"{marks.finished}/{len(windows)} windows{where}")

    try:
        if jobs > 1:
            results = _windows_in_processes(inp, ruleset, modules, hlen, windows, jobs, marks, report,
                                            allowance, win_rows, costs, tasks)
        else:
            marks.on_change = report

            def one_by_one():
                for ks in tasks.windows:
                    outs = _diagnose_task(inp, ruleset, modules, hlen, ks, windows,
                                          lambda j: marks.progress_for(j) if marks.live else None, win_rows)
                    for k, out in zip(ks, outs):
                        marks.finish(k)
                        report()
                        yield out
            results = one_by_one()
        for k, (features, diagnosis, clock) in enumerate(results):
            if isinstance(diagnosis, bytes):  # from a worker, kept pickled until its turn (_forked_window)
                diagnosis = pickle.loads(diagnosis)
            if diagnosis is None:  # the last window holding only a cut generation (whole: a cut tail is never in parts):
                lost = features.trace.lost_bytes  # its bytes are the trace's lost tail
                windows = windows[:k]
                feats[-1].trace = feats[-1].trace.model_copy(update={"truncated": True, "lost_bytes": lost})
                break
            if clocks:
                shift_times(diagnosis, clock[0] - clocks[0][0])
            merge.add(diagnosis)
            feats.append(features)
            clocks.append(clock)
    finally:
        if progress is not None:
            progress.done()
        if isinstance(win_rows, GenerationParts):  # this process's reads go back to mapped columns
            columns_from_heap(False)
    infos = [f.trace for f in feats]
    t0 = clocks[0][0]
    trace = infos[0].model_copy(deep=True, update={
        "duration_ms": (clocks[-1][1] - t0) / 1e6,
        # one closing Sync, as Go counts; row windows: the trace's rows (their heads restate, not add)
        # (parts of generations: their heads are not counted, each window of bytes has its closing Sync)
        "event_count": (rows.n_rows if rows is not None else sum(i.event_count for i in infos)
                        - ((win_rows.byte_windows(len(infos)) if win_rows is not None else len(infos)) - 1)),
        "goroutine_count": max(i.goroutine_count for i in infos),
        "thread_count": max(i.thread_count for i in infos),
        "gomaxprocs_min": min(i.gomaxprocs_min for i in infos),
        "gomaxprocs_max": max(i.gomaxprocs_max for i in infos),
        "truncated": infos[-1].truncated, "lost_bytes": infos[-1].lost_bytes,
        "incomplete": [r for i in infos for r in i.incomplete],
        "windows": [TraceWindow(start_ms=(a - t0) / 1e6, end_ms=(b - t0) / 1e6, bytes=e - s)
                    for (a, b), (s, e) in zip(clocks, windows)],
    })
    unit = "events" if rows is not None else "generations, the biggest in parts" if win_rows is not None else "whole generations"
    diagnosis, rep = merge.result(trace, unit)
    rep_features = feats[rep].unpack()
    if keep_timelines:  # the window's features are known: it is read again for its timelines only (the charts)
        run = analyse(inp, keep_timelines=True, modules=modules, window=(hlen, *windows[rep]),
                      columns=win_rows.columns(rep) if win_rows is not None else None, features=rep_features)
        if isinstance(win_rows, GenerationParts):
            columns_from_heap(False)
        if run.timelines is not None:  # charts count from the trace's start, as the findings' times do
            run.timelines.t0 = t0
    if not keep_timelines:
        run = Run(inp, rep_features, clock=clocks[rep])
    run.diagnosis = diagnosis
    run.window = rep
    run.window_features = rep_features.model_copy(update={"trace": rep_features.trace.model_copy(
        update={"path": inp.display, "windows": diagnosis.trace.windows})})
    run.features = rep_features.model_copy(update={"trace": diagnosis.trace.model_copy(update={"path": inp.display})})
    return run


def incompleteness(features: Features, diagnosis: Diagnosis) -> list[str]:
    """Reasons a verdict must not be read as complete: a rule that could not be evaluated, or
    a trace whose evidence is missing (the reader says which)."""
    reasons: list[str] = []
    errors = diagnosis.rules.errors
    if errors:
        first = " ".join(errors[0].error.split())
        first = first if len(first) <= 120 else first[:117] + "..."
        reasons.append(f"{len(errors)} of {diagnosis.rules.active} rules could not be evaluated "
                       f"({', '.join(e.rule_id for e in errors[:3])}{', ...' if len(errors) > 3 else ''}: {first})")
    reasons += features.trace.incomplete
    return reasons


__all__ = ["TraceInput", "open_input", "read_columns", "columns_by_window", "refuse_too_many_events", "analyse", "diagnose_trace",
           "plan_windows", "split_windows", "plan_parts", "WindowPart", "GenerationParts", "incompleteness", "Run",
           "Progress", "CountingFile", "DEFAULT_SPOOL_LIMIT"]
