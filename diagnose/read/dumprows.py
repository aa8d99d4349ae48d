"""The dump's text (``go tool trace -d=parsed``) from events in their wire form, a chunk at a time.

A chunk is a run of events of one generation as an ``(n, 9)`` int64 array of rows
``typ t g p m a0 a1 a2 a3`` -- the fields of event.py's ``Event`` (Go's ``trace.Event``),
args as two's-complement int64 -- with the generation's table. The compiled readers hand
such rows over without one Python object per event (``timeline/kernel.py``,
``kernel_v1.py``: their raw mode); the pure reader's ``Event``s become the same rows
(``chunks_from_events``). Both then take this one formatter, so the pure and the compiled
dump share every line of it.

The text is ``event.event_string`` per row, byte for byte: the common types (goroutine and
proc transitions, metrics, labels, CPU samples, user regions, tasks and logs: nearly every
event of a real trace) are formatted a type at a time over the columns, each a transcription
of its ``event._f_*`` function or ``event_string_generic`` branch; every other type, and any
row a fast format does not model (a state code out of range), goes through ``event_string``
on an ``Event`` rebuilt from the row; a chunk whose fast formatting raises is done again row
by row -- so what the reference would print or raise, this prints or raises. The text is
written in pieces (writev): a stack section is one bytes object shared by every line that
prints it, never joined into a copy of the whole text.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterable, Iterator

import numpy as np

from . import tracev2 as t2
from .event import (_FAST, _MAIN_STACK_ARG, GO_STATUS_TO_STATE, PROC_STATUS_TO_STATE, Event,
                    _format_stack, event_string)
from .gofmt import quote
from .resources import go_state_str, proc_state_str

#: columns of a row
R_TYP, R_T, R_G, R_P, R_M, R_A0, R_A1, R_A2, R_A3 = range(9)
ROW_WIDTH = 9
#: rows formatted at once: bounds the text held (a row with a deep stack is ~1 KB of text)
FORMAT_ROWS = 1 << 14
_U64 = (1 << 64) - 1


@dataclass
class RowChunk:
    """Rows of one generation (or the closing Sync: table None) and how to name a TaskEnd's type
    from its a3 (the readers keep it differently: an extra-string id, a content id, a string id)."""

    rows: np.ndarray
    table: object
    task_type: Callable[[int], str]


def _u64_args(r: list[int]) -> list[int]:
    return [x & _U64 for x in r[R_A0:]]


def _enc(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def _fallback(chunk: RowChunk, rows: list[list[int]]) -> list[bytes]:
    """event_string on an Event rebuilt from each row (the reference, for the rare types; never
    a TaskEnd, whose a3 the readers keep differently: always formatted by _task_end_rows)."""
    out = []
    tbl = chunk.table
    for r in rows:
        out.append(_enc(event_string(Event(tbl, r[R_G], r[R_P], r[R_M], r[R_TYP], r[R_T], _u64_args(r)))))
    return out


class _TableText:
    """A generation table's strings and stacks as the dump writes them (bytes), made once each."""

    def __init__(self, table) -> None:
        self.table = table
        self.quoted: dict[int, bytes] = {}
        self.sections: dict[tuple[bytes, int], bytes] = {}

    def quote(self, k: int) -> bytes:
        q = self.quoted.get(k)
        if q is None:
            q = self.quoted[k] = _enc(quote(self.table.strings.must_get(k & _U64)))
        return q

    def section(self, head: bytes, k: int) -> bytes:
        """head + the stack k as printStack writes it (tab-indented frames)."""
        key = (head, k)
        s = self.sections.get(key)
        if s is None:
            s = self.sections[key] = head + _enc(_format_stack(self.table, k & _U64, "\t"))
        return s


_TEXT: list[_TableText] = []


def _table_text(table) -> _TableText:
    """The text cache of the current table (one generation's at a time)."""
    if not _TEXT or _TEXT[0].table is not table:
        _TEXT[:] = [_TableText(table)]
    return _TEXT[0]


class _Group:
    """The rows of one type in a chunk, as columns, with the table's text."""

    def __init__(self, chunk: RowChunk, sub: np.ndarray) -> None:
        self.chunk = chunk
        self.sub = sub
        self.cols = sub.T.tolist()
        self.text = _table_text(chunk.table)

    def col(self, i: int) -> list[int]:
        return self.cols[i]

    def ucol(self, i: int) -> list[int]:
        """Column i as Go's uint64 (the reference's args are unsigned Python ints)."""
        return self.sub[:, i].view(np.uint64).tolist()

    def _mapped(self, i: int, make: Callable[[int], bytes]) -> list[bytes]:
        d = {k: make(k) for k in np.unique(self.sub[:, i]).tolist()}
        return list(map(d.__getitem__, self.cols[i]))

    def quoted(self, i: int) -> list[bytes]:
        """quote(table.strings.must_get(a_i)) per row."""
        return self._mapped(i, self.text.quote)

    def stack(self, i: int, head: bytes, always: bool = False, tail: bytes = b"") -> list[bytes]:
        """head + the stack a_i names + tail, per row (tail alone for stack 0 unless `always`)."""
        section = self.text.section
        return self._mapped(i, lambda k: section(head, k) + tail if (k or always) else tail)


def _rows(fmt: bytes, *cols: list) -> list[bytes]:
    return list(map(fmt.__mod__, zip(*cols)))


_HEAD = b"M=%d P=%d G=%d "
_ST = _HEAD + b"StateTransition Time=%d "
_TSTACK = b"\nTransitionStack=\n"
_STACK = b"\nStack=\n"
_NL = b"\n"

# A fast format gives each row's text in up to three pieces (joined in the end, so the stack
# sections, shared bytes objects, are copied once): body, middle (a transition stack) and tail
# (the main stack and the newline); a format returns (bodies, middles or None, tails or None).
_Pieces = tuple[list[bytes], "list[bytes] | None", "list[bytes] | None"]


def _ctx(gr: _Group) -> tuple[list[int], list[int], list[int], list[int]]:
    c = gr.cols
    return c[R_M], c[R_P], c[R_G], c[R_T]


def _go_a0(rest: bytes):
    """GoID from a0 (signed), no reason, no transition stack: _f_go_start, _f_go_unblock, ..."""
    fmt = _ST + b"GoID=%d " + rest

    def f(gr: _Group) -> _Pieces | None:
        return _rows(fmt, *_ctx(gr), gr.col(R_A0)), None, None
    return f


def _go_self(rest: bytes):
    """GoID = G: _f_simple_go."""
    fmt = _ST + b"GoID=%d " + rest

    def f(gr: _Group) -> _Pieces | None:
        m, p, g, t = _ctx(gr)
        return _rows(fmt, m, p, g, t, g), None, None
    return f


def _go_reason(frm_to: bytes):
    """_f_go_stop, _f_go_block: a reason string (a0) and the transition stack (a1)."""
    fmt = _ST + b"GoID=%d " + frm_to + b" Reason=%s"

    def f(gr: _Group) -> _Pieces | None:
        m, p, g, t = _ctx(gr)
        return _rows(fmt, m, p, g, t, g, gr.quoted(R_A0)), gr.stack(R_A1, _TSTACK), None
    return f


def _go_syscall_begin(gr: _Group) -> _Pieces | None:
    m, p, g, t = _ctx(gr)
    return _rows(_ST + b'GoID=%d Running->Syscall Reason=""', m, p, g, t, g), gr.stack(R_A1, _TSTACK), None


def _go_create(to: bytes):
    """_f_go_create: the transition stack section is printed even for stack 0 (table set)."""
    fmt = _ST + b"GoID=%d NotExist->" + to + b' Reason=""'

    def f(gr: _Group) -> _Pieces | None:
        return _rows(fmt, *_ctx(gr), gr.col(R_A0)), gr.stack(R_A1, _TSTACK, always=True), None
    return f


_GO_STATE_NAMES = [_enc(go_state_str(i)) for i in range(256)]
_PROC_STATE_NAMES = [_enc(proc_state_str(i)) for i in range(256)]


def _go_status(gr: _Group) -> _Pieces | None:
    packed = gr.sub[:, R_A2]
    lo = packed & 0xFFFFFFFF
    if bool((lo >= len(GO_STATUS_TO_STATE)).any()):
        return None  # the reference raises IndexError: let it
    frm = [_GO_STATE_NAMES[x] for x in ((packed >> 32) & 0xFF).tolist()]
    to = [_GO_STATE_NAMES[int(GO_STATUS_TO_STATE[x])] for x in lo.tolist()]
    mid = gr.stack(R_A3, _TSTACK) if gr.col(R_TYP)[0] == t2.EvGoStatusStack else None
    return _rows(_ST + b'GoID=%d %s->%s Reason=""', *_ctx(gr), gr.col(R_A0), frm, to), mid, None


def _proc_a0(rest: bytes):
    fmt = _ST + b"ProcID=%d " + rest

    def f(gr: _Group) -> _Pieces | None:
        return _rows(fmt, *_ctx(gr), gr.col(R_A0)), None, None
    return f


def _proc_stop(gr: _Group) -> _Pieces | None:
    m, p, g, t = _ctx(gr)
    return _rows(_ST + b'ProcID=%d Running->Idle Reason=""', m, p, g, t, p), None, None


def _proc_steal(gr: _Group) -> _Pieces | None:
    before = [b"Idle" if x == t2.ProcSyscallAbandoned else b"Running" for x in gr.col(R_A3)]
    return _rows(_ST + b'ProcID=%d %s->Idle Reason=""', *_ctx(gr), gr.col(R_A0), before), None, None


def _proc_status(gr: _Group) -> _Pieces | None:
    st = gr.sub[:, R_A1]
    if bool(((st < 0) | (st >= len(PROC_STATUS_TO_STATE))).any()):
        return None
    frm = [_PROC_STATE_NAMES[x] for x in (gr.sub[:, R_A2] & 0xFF).tolist()]
    to = [_PROC_STATE_NAMES[int(PROC_STATUS_TO_STATE[x])] for x in st.tolist()]
    return _rows(_ST + b'ProcID=%d %s->%s Reason=""', *_ctx(gr), gr.col(R_A0), frm, to), None, None


def _metric(name: str):
    fmt = _HEAD + b'Metric Time=%d Name="' + _enc(name) + b'" Value=Value{Uint64(%d)}'

    def f(gr: _Group) -> _Pieces | None:
        return _rows(fmt, *_ctx(gr), gr.ucol(R_A0)), None, None
    return f


def _label(gr: _Group) -> _Pieces | None:
    m, p, g, t = _ctx(gr)
    return _rows(_HEAD + b"Label Time=%d Label=%s Resource=Goroutine(%d)", m, p, g, t, gr.quoted(R_A0), g), None, None


def _cpu_sample(gr: _Group) -> _Pieces | None:
    return _rows(_HEAD + b"StackSample Time=%d", *_ctx(gr)), None, gr.stack(R_A0, _STACK, always=True, tail=_NL)


def _region(kind: bytes):
    """event_string_generic's Region branch (RegionBegin, RegionEnd)."""
    fmt = _HEAD + kind + b" Time=%d Task=%d Type=%s"

    def f(gr: _Group) -> _Pieces | None:
        return _rows(fmt, *_ctx(gr), gr.ucol(R_A0), gr.quoted(R_A1)), None, None
    return f


def _log(gr: _Group) -> _Pieces | None:
    """event_string_generic's Log branch."""
    return _rows(_HEAD + b"Log Time=%d Task=%d Category=%s Message=%s", *_ctx(gr), gr.ucol(R_A0), gr.quoted(R_A1),
                 gr.quoted(R_A2)), None, None


def _task_begin(gr: _Group) -> _Pieces | None:
    """event_string_generic's Task branch for TaskBegin: ID, parent, type string."""
    return _rows(_HEAD + b"TaskBegin Time=%d ID=%d Parent=%d Type=%s", *_ctx(gr), gr.ucol(R_A0), gr.ucol(R_A1),
                 gr.quoted(R_A2)), None, None


def _task_end_rows(gr: _Group) -> _Pieces | None:
    """... and for TaskEnd: the parent and type its TaskBegin left (a2; a3 as the reader keeps it)."""
    task_type = gr.chunk.task_type
    types = gr._mapped(R_A3, lambda k: _enc(quote(task_type(k))))
    return _rows(_HEAD + b"TaskEnd Time=%d ID=%d Parent=%d Type=%s", *_ctx(gr), gr.ucol(R_A0), gr.ucol(R_A2),
                 types), None, None


#: the types event.py's fast path formats (each a transcription of its _f_* function), and the
#: frequent ones of its generic path (a transcription of event_string_generic's branch)
_BODY = {
    t2.EvGoStart: _go_a0(b'Runnable->Running Reason=""'),
    t2.EvGoUnblock: _go_a0(b'Waiting->Runnable Reason=""'),
    t2.EvGoSwitch: _go_a0(b'Waiting->Runnable Reason=""'),
    t2.EvGoSwitchDestroy: _go_a0(b'Waiting->Runnable Reason=""'),
    t2.EvGoStop: _go_reason(b"Running->Runnable"),
    t2.EvGoBlock: _go_reason(b"Running->Waiting"),
    t2.EvGoSyscallBegin: _go_syscall_begin,
    t2.EvGoSyscallEnd: _go_self(b'Syscall->Running Reason=""'),
    t2.EvGoSyscallEndBlocked: _go_self(b'Syscall->Runnable Reason=""'),
    t2.EvGoDestroy: _go_self(b'Running->NotExist Reason=""'),
    t2.EvGoDestroySyscall: _go_self(b'Syscall->NotExist Reason=""'),
    t2.EvGoCreate: _go_create(b"Runnable"),
    t2.EvGoCreateBlocked: _go_create(b"Waiting"),
    t2.EvGoCreateSyscall: _go_a0(b'NotExist->Syscall Reason=""'),
    t2.EvGoStatus: _go_status,
    t2.EvGoStatusStack: _go_status,
    t2.EvProcStart: _proc_a0(b'Idle->Running Reason=""'),
    t2.EvProcStop: _proc_stop,
    t2.EvProcSteal: _proc_steal,
    t2.EvProcStatus: _proc_status,
    t2.EvProcsChange: _metric("/sched/gomaxprocs:threads"),
    t2.EvHeapAlloc: _metric("/memory/classes/heap/objects:bytes"),
    t2.EvHeapGoal: _metric("/gc/heap/goal:bytes"),
    t2.EvGoLabel: _label,
    t2.EvCPUSample: _cpu_sample,
    t2.EvUserRegionBegin: _region(b"RegionBegin"),
    t2.EvUserRegionEnd: _region(b"RegionEnd"),
    t2.EvUserLog: _log,
    t2.EvUserTaskBegin: _task_begin,
    t2.EvUserTaskEnd: _task_end_rows,
}
# every type of event.py's fast path is formatted here
assert set(_BODY) >= {t for t in range(256) if _FAST[t] is not None}


def _format_group(chunk: RowChunk, typ: int, sub: np.ndarray) -> tuple[list[bytes], list[bytes] | None, list[bytes]]:
    """(bodies, middles or None, tails) of the rows of one type."""
    got = None
    if chunk.table is not None and typ in _BODY:
        gr = _Group(chunk, sub)
        got = _BODY[typ](gr)
    if got is None:
        return _fallback(chunk, sub.tolist()), None, [_NL] * len(sub)
    body, mid, tail = got
    if tail is None:
        i = _MAIN_STACK_ARG[typ]
        tail = gr.stack(R_A0 + i, _STACK, tail=_NL) if i >= 0 else [_NL] * len(body)
    return body, mid, tail


def chunk_pieces(chunk: RowChunk) -> list[bytes]:
    """The dump of a chunk's rows as pieces of bytes in order (joined: its lines, each ending with
    a newline); a stack section is one shared bytes object in every line that prints it."""
    rows = chunk.rows
    n = len(rows)
    if n == 0:
        return []
    typ = rows[:, R_TYP]
    out = np.empty((n, 3), dtype=object)
    out[:, 1] = b""
    order = np.argsort(typ, kind="stable")
    st = typ[order]
    cuts = np.flatnonzero(st[1:] != st[:-1]) + 1
    for idx in np.split(order, cuts):
        body, mid, tail = _format_group(chunk, int(typ[idx[0]]), rows[idx])
        for col, pieces in ((0, body), (1, mid), (2, tail)):
            if pieces is not None:
                part = np.empty(len(pieces), dtype=object)
                part[:] = pieces
                out[idx, col] = part
    return out.ravel().tolist()


def format_chunk(chunk: RowChunk) -> bytes:
    """The dump of a chunk's rows (each line ends with a newline), as bytes."""
    return b"".join(chunk_pieces(chunk))


def _pieces_or_reference(chunk: RowChunk) -> Iterator[list[bytes]]:
    """chunk_pieces(chunk); if that raises (a row the table cannot name: the reference fails on
    it too), row by row, so that the lines before the bad row are given and its error is the
    reference's own (event_string's, raised from the same place)."""
    try:
        yield chunk_pieces(chunk)
        return
    except Exception:  # re-raised below, from the reference, at the row that fails
        pass
    for i in range(len(chunk.rows)):
        one = RowChunk(chunk.rows[i:i + 1], chunk.table, chunk.task_type)
        try:
            got = chunk_pieces(one)
        except Exception:
            r = chunk.rows[i].tolist()
            if r[R_TYP] != t2.EvUserTaskEnd:
                _fallback(chunk, [r])
            raise
        yield got


#: iovecs a writev takes (POSIX guarantees 16; Linux 1024)
_IOV = max(16, min(int(os.sysconf("SC_IOV_MAX")) if hasattr(os, "sysconf") else 16, 1024))


def _writev(fd: int, pieces: list[bytes]) -> None:
    """Write the pieces to `fd` with writev: no joined copy of the text (most of a dump is stack
    sections, each one object repeated), whatever the partial writes."""
    i, n = 0, len(pieces)
    while i < n:
        batch = pieces[i:i + _IOV]
        got = os.writev(fd, batch)
        done = len(batch)
        for j, p in enumerate(batch):
            if got >= len(p):
                got -= len(p)
                continue
            rest = memoryview(p)[got:]  # cut inside this piece: finish it, then go on after it
            while rest:
                rest = rest[os.write(fd, rest):]
            done = j + 1
            break
        i += done


def _fileno(out: BinaryIO) -> int | None:
    try:
        return out.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return None


def write_chunks(chunks: Iterable[RowChunk], out: BinaryIO) -> int:
    """Write the dump of every chunk, FORMAT_ROWS rows at a time; returns the events written.
    A file with a descriptor is written with writev (after flushing `out`), anything else
    through out.write.

    What the chunks gave before an exception from them is written before it propagates (as
    write_dump does)."""
    fd = _fileno(out)
    if fd is not None:
        out.flush()
    n = 0
    for chunk in chunks:
        rows = chunk.rows
        for lo in range(0, len(rows), FORMAT_ROWS):
            part = RowChunk(rows[lo:lo + FORMAT_ROWS], chunk.table, chunk.task_type)
            for pieces in _pieces_or_reference(part):
                if fd is not None:
                    _writev(fd, pieces)
                else:
                    out.write(b"".join(pieces))
            n += len(part.rows)
    return n


def _row(ev: Event) -> list[int]:
    a = ev.args
    return [ev.typ, ev.time, ev.g, ev.p, ev.m, *(x - (1 << 64) if x >= 1 << 63 else x for x in a[:4])]


def chunks_from_events(events: Iterable[Event], size: int = FORMAT_ROWS) -> Iterator[RowChunk]:
    """The pure reader's events as row chunks (a chunk ends where the table changes)."""
    buf: list[list[int]] = []
    table = None
    try:
        for ev in events:
            if (ev.table is not table or len(buf) >= size) and buf:
                yield _events_chunk(buf, table)
                buf = []
            table = ev.table
            buf.append(_row(ev))
    except Exception:  # the events before a reader's error are printed, then the error (not caught)
        if buf:
            yield _events_chunk(buf, table)
        raise
    if buf:
        yield _events_chunk(buf, table)


def _events_chunk(buf: list[list[int]], table) -> RowChunk:
    return RowChunk(np.array(buf, dtype=np.int64).reshape(-1, ROW_WIDTH), table,
                    lambda x: table.get_extra_string(x & _U64))

