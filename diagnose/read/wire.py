"""Wire decoding: bytes -> batches -> raw events and table entries. Nothing else.

This is the only module that walks bytes and decodes varints (with `wirevec.py`, which decodes
the plain spans of event batches for the pure reader's cursors with numpy and leaves anything
unusual to `decode_batch_chunk` here), so that a compiled kernel can replace it behind the same
functions. Its boundary:

``Source``                    buffered byte stream with absolute offsets (file, bytes, BinaryIO).
``read_batch(src)``           one batch (header + data), port of batch.go readBatch.
``skip_batch(src)``           its header only, the data skipped (framing generations).
``decode_batch_events(data, base)``
                              every timed event of an event batch, port of batchcursor.go
                              readTimedBaseEvent applied in a loop; returns the decoded events
                              and the error that stopped decoding (raised lazily by the cursor, at
                              the same point Go's cursor would hit it).
``parse_strings``, ``parse_stacks``, ``parse_cpu_samples``, ``parse_sync``
                              the contents of the structural batches (generation.go add*).

Error messages are Go's. ``WireError.eof`` is True when the error was caused by the data
running out (a truncated file), which the reader reports as lost data rather than corruption.
"""
from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass
from typing import Any, BinaryIO

from . import tracev2 as t2
from .eventcap import max_batches, too_many_batches

_U64 = 0xFFFFFFFFFFFFFFFF
_I64_MIN = 1 << 63


def i64(v: int) -> int:
    """uint64 -> int64 reinterpretation (Go's ThreadID(u), GoID(u), ProcID(u))."""
    return v - (1 << 64) if v >= _I64_MIN else v


class WireEOF(Exception):
    """A clean end of stream where Go's reader sees io.EOF."""


class OffsetError(Exception):
    """A read failure where the reader knows where: .offset (absolute, None when unknown), .eof
    (the input ran out), .gen (the generation of the batch being read, when its header got that
    far)."""

    def __init__(self, message: str, offset: int | None = None, eof: bool = False, gen: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.eof = eof
        self.gen = gen


class WireError(OffsetError):
    """A batch's bytes are malformed or cut short."""


_CHUNK = 1 << 20


class Source:
    """A forward-only buffered reader over bytes or a binary stream, with absolute offsets.

    ``offset`` is the number of bytes consumed from the start of the input.
    """

    __slots__ = ("_f", "_buf", "_pos", "_base", "_eof", "size", "batches", "max_batches")

    def __init__(self, data: bytes | bytearray | memoryview | BinaryIO, size: int | None = None) -> None:
        if isinstance(data, (bytes, bytearray, memoryview)):
            self._f = None
            self._buf = bytes(data)
            self._eof = True
            self.size = len(self._buf)
        else:
            self._f = data
            self._buf = b""
            self._eof = False
            self.size = size
        self._pos = 0
        self._base = 0
        self.batches = 0  # read so far (read_batch), against max_batches (eventcap.py)
        self.max_batches = max_batches(self.size) if self.size is not None else None

    @property
    def offset(self) -> int:
        return self._base + self._pos

    def _fill(self, need: int) -> int:
        """Make at least ``need`` bytes available past the cursor if the input has them.

        Returns the number of bytes available.
        """
        avail = len(self._buf) - self._pos
        if avail >= need or self._eof:
            return avail
        parts = [self._buf[self._pos:]]
        while avail < need and not self._eof:
            chunk = self._f.read(max(_CHUNK, need - avail))
            if not chunk:
                self._eof = True
                break
            parts.append(chunk)
            avail += len(chunk)
        self._base += self._pos
        self._pos = 0
        self._buf = b"".join(parts)
        return avail

    def peek(self, n: int) -> bytes:
        self._fill(n)
        return self._buf[self._pos:self._pos + n]

    def skip(self, n: int) -> None:
        self._pos += n

    def skip_over(self, n: int) -> int:
        """Move the cursor up to `n` bytes on; the number of bytes moved over (< n: the input
        ended first). Over a buffer (`over`) none of them is read."""
        have = min(n, self._fill(n))
        self._pos += have
        return have

    @classmethod
    def over(cls, buffer: Any) -> Source:
        """A Source over `buffer` (anything with len() and integer indexing: windows.py reads a
        file's bytes where they are indexed) without copying it; only skip_batch may be used on
        it, which never slices it, and the bytes the cursor skips are never read."""
        src = cls(b"")
        src._buf = buffer
        src.size = len(buffer)
        src.max_batches = max_batches(src.size)
        return src

    def read_rest(self) -> bytearray:
        """Everything from the cursor to the end of the input, in one buffer.

        A regular file is read straight into a buffer of its remaining size (one copy of
        the bytes, not the two a join makes); a pipe is read in chunks."""
        start = self.offset
        head = self._buf[self._pos:]
        if self._f is None or self._eof:
            data = bytearray(head)
        elif self.size is not None:
            remaining = max(self.size - self.offset - len(head), 0)
            data = bytearray(len(head) + remaining)
            data[:len(head)] = head
            view = memoryview(data)
            got = len(head)
            while got < len(data):
                n = self._f.readinto(view[got:])
                if not n:
                    break
                got += n
            view.release()
            del data[got:]
            data.extend(self._f.read())  # a file that grew since it was opened
            self._eof = True
        else:
            data = bytearray(head)
            while chunk := self._f.read(_CHUNK):
                data.extend(chunk)
            self._eof = True
        self._buf = b""
        self._pos = 0
        self._base = start + len(data)
        return data


@dataclass(slots=True, eq=False)
class Batch:
    """batch.go batch: a batch of trace events, unparsed except for its header.

    ``offset`` is the absolute file offset of ``data[0]``; ``hdr_offset`` of the header byte.
    """

    m: int
    time: int
    data: bytes
    exp: int
    gen: int
    offset: int
    hdr_offset: int

    def _first(self) -> int:
        return self.data[0] if (self.exp == t2.NoExperiment and self.data) else -1

    def is_strings_batch(self) -> bool:
        return self._first() == t2.EvStrings

    def is_stacks_batch(self) -> bool:
        return self._first() == t2.EvStacks

    def is_cpu_samples_batch(self) -> bool:
        return self._first() == t2.EvCPUSamples

    def is_sync_batch(self, ver: int) -> bool:
        f = self._first()
        return (f == t2.EvFrequency and ver < 25) or (f == t2.EvSync and ver >= 25)

    def is_end_of_generation(self) -> bool:
        return self._first() == t2.EvEndOfGeneration


def _read_uvarint(buf: bytes, pos: int, end: int, what: str, abs_base: int) -> tuple[int, int]:
    """binary.ReadUvarint over buf[pos:end]; errors wrapped like readBatch does."""
    x = 0
    s = 0
    i = 0
    while i < 10:
        if pos >= end:
            if i == 0:
                raise WireError(f"error reading batch {what}: EOF", abs_base + pos, eof=True)
            raise WireError(f"error reading batch {what}: unexpected EOF", abs_base + pos, eof=True)
        b = buf[pos]
        pos += 1
        if b < 0x80:
            if i == 9 and b > 1:
                raise WireError(f"error reading batch {what}: binary: varint overflows a 64-bit integer",
                                abs_base + pos - 1)
            return x | (b << s), pos
        x |= (b & 0x7F) << s
        s += 7
        i += 1
    raise WireError(f"error reading batch {what}: binary: varint overflows a 64-bit integer", abs_base + pos - 1)


def _batch_header(src: Source) -> tuple[Batch, int | None]:
    """The next batch's header (readBatch up to its data) and its data's length: a Batch whose
    `data` is still empty, its `offset` where the data starts, the cursor left there; for an
    EndOfGeneration marker (one byte, nothing follows) the Batch holds that byte and the length
    is None. Raises as read_batch."""
    hdr_off = src.offset
    avail = src._fill(64)
    if avail == 0:
        raise WireEOF()
    buf = src._buf
    pos = src._pos
    base = src._base
    end = pos + avail
    src.batches += 1
    if src.max_batches is not None and src.batches > src.max_batches:
        raise WireError(too_many_batches(src.max_batches, src.size or 0), hdr_off)
    b = buf[pos]
    pos += 1
    if b == t2.EvEndOfGeneration:
        src._pos = pos
        return Batch(-1, 0, bytes((b,)), t2.NoExperiment, 0, base + pos - 1, hdr_off), None
    if b != t2.EvEventBatch and b != t2.EvExperimentalBatch:
        raise WireError(f"expected batch event, got event {b}", hdr_off)
    exp = t2.NoExperiment
    if b == t2.EvExperimentalBatch:
        if pos >= end:
            src._pos = pos
            raise WireEOF()
        exp = buf[pos]
        pos += 1
    gen, pos = _read_uvarint(buf, pos, end, "gen", base)
    try:
        m, pos = _read_uvarint(buf, pos, end, "M ID", base)
        ts, pos = _read_uvarint(buf, pos, end, "timestamp", base)
        size, pos = _read_uvarint(buf, pos, end, "size", base)
    except WireError as e:
        e.gen = gen
        raise
    if size > t2.MaxBatchSize:
        raise WireError(f"invalid batch size {size}, maximum is {t2.MaxBatchSize}", base + pos - 1, gen=gen)
    src._pos = pos
    return Batch(i64(m), ts, b"", exp, gen, src.offset, hdr_off), size


def _short_batch(have: int, size: int, data_off: int, gen: int) -> WireError:
    return WireError(f"failed to read full batch: read {have} but wanted {size}", data_off, eof=True, gen=gen)


def read_batch(src: Source) -> Batch:
    """batch.go readBatch: read the next full batch from src.

    Raises WireEOF at a clean end of input (and, like Go, when the input ends right after
    an experimental batch's header byte), WireError otherwise.
    """
    b, size = _batch_header(src)
    if size is None:  # the EndOfGeneration marker
        return b
    have = src._fill(size)
    if have < size:
        # io.CopyN consumes what there is.
        src._pos += have
        raise _short_batch(have, size, b.offset, b.gen)
    p = src._pos
    b.data = src._buf[p:p + size]
    src._pos = p + size
    return b


def skip_batch(src: Source) -> Batch:
    """read_batch without its data: the header (`data` empty but for an EndOfGeneration marker's
    byte), the cursor moved past the data, which a Source `over` a file's bytes never reads:
    framing a trace's generations (windows.py) reads the headers, not the whole file (189 MB
    benchmark trace: 0.03 s, 0.10 s through read_batch). Raises as read_batch would, a short
    last batch included."""
    b, size = _batch_header(src)
    if size is None:
        return b
    have = src.skip_over(size)
    if have < size:
        raise _short_batch(have, size, b.offset, b.gen)
    return b


# Decoded timed event: (typ, tsdiff, args, offset). args is a fresh 4-slot list (Go's
# timedEventArgs); the ordering may write into it, and Events keep it.
_TIMED_NARGS = t2.TIMED_NARGS
_NSPECS = len(t2.SPECS)


def decode_batch_events(data: bytes, base: int) -> tuple[list, tuple[str, int] | None]:
    """Decode every timed event in an event batch's data (readTimedBaseEvent in a loop).

    Returns (events, err). events: list of (typ, tsdiff, args[4], abs_offset). err, when not
    None, is (message, abs_offset): the event at that offset failed to decode, and decoding
    stopped there. Go discovers that error only when its cursor reaches the event, so the
    caller raises it lazily.
    """
    out, err, _ = decode_batch_chunk(data, base, 0, len(data))
    return out, err


#: events a cursor decodes at a time (batchcursor.py): a batch's first few (a generation's
#: cursors all hold theirs from its start: 100,000 Ms would hold millions of tuples if each
#: decoded its whole batch), then larger chunks (fewer calls on long batches)
CHUNK_FIRST = 4
CHUNK_EVENTS = 64


def decode_batch_chunk(data: bytes, base: int, pos: int, limit: int) -> tuple[list, tuple[str, int] | None, int]:
    """decode_batch_events from ``pos`` for at most ``limit`` events: (events, err, next pos)."""
    out = []
    append = out.append
    n = len(data)
    nargs_tab = _TIMED_NARGS
    while pos < n and limit > 0:
        limit -= 1
        start = pos
        typ = data[pos]
        nargs = nargs_tab[typ]
        if nargs < 0:
            if typ >= _NSPECS:
                return out, (f"found invalid event type: {typ}", base + start), pos
            return out, (f"found event without a timestamp: type={typ}", base + start), pos
        pos += 1
        # Timestamp delta. (1- and 2-byte varints inline; binary.Uvarint otherwise.)
        if pos + 1 < n:
            b = data[pos]
            if b < 0x80:
                ts = b
                pos += 1
            else:
                b2 = data[pos + 1]
                if b2 < 0x80:
                    ts = (b & 0x7F) | (b2 << 7)
                    pos += 2
                else:
                    ts, pos = _uvarint(data, pos, n)
        else:
            ts, pos = _uvarint(data, pos, n)
        if pos < 0:
            return out, ("found invalid uvarint for timestamp", base + start), pos
        args = [0, 0, 0, 0]
        for i in range(nargs):
            # 1-, 2- and 3-byte varints inline (ids and sequence numbers); binary.Uvarint otherwise
            if pos < n:
                b = data[pos]
                if b < 0x80:
                    args[i] = b
                    pos += 1
                    continue
                if pos + 2 < n:
                    b2 = data[pos + 1]
                    if b2 < 0x80:
                        args[i] = (b & 0x7F) | (b2 << 7)
                        pos += 2
                        continue
                    b3 = data[pos + 2]
                    if b3 < 0x80:
                        args[i] = (b & 0x7F) | ((b2 & 0x7F) << 7) | (b3 << 14)
                        pos += 3
                        continue
            v, pos = _uvarint(data, pos, n)
            if pos < 0:
                return out, ("found invalid uvarint", base + start), pos
            args[i] = v
        append((typ, ts, args, base + start))
    return out, None, pos


def _uvarint(data: bytes, pos: int, n: int) -> tuple[int, int]:
    """binary.Uvarint over data[pos:n]. Returns (value, newpos) or (0, -1) on error."""
    x = 0
    s = 0
    i = 0
    while pos < n:
        if i == 10:
            return 0, -1
        b = data[pos]
        pos += 1
        if b < 0x80:
            if i == 9 and b > 1:
                return 0, -1
            return x | (b << s), pos
        x |= (b & 0x7F) << s
        s += 7
        i += 1
    return 0, -1


class _Reader:
    """bytes.Reader + binary.ReadUvarint, for the structural batches."""

    __slots__ = ("d", "p", "n", "base")

    def __init__(self, data: bytes, base: int) -> None:
        self.d = data
        self.p = 0
        self.n = len(data)
        self.base = base

    def byte(self) -> int:
        b = self.d[self.p]
        self.p += 1
        return b

    def uvarint(self) -> int:
        d = self.d
        p = self.p
        n = self.n
        if p < n and d[p] < 0x80:
            self.p = p + 1
            return d[p]
        x = 0
        s = 0
        for i in range(10):
            if p >= n:
                self.p = p
                # Go returns io.EOF (nothing read) or io.ErrUnexpectedEOF here; either way
                # the batch's content is shorter than it claims: corrupt, not truncated.
                raise WireError("unexpected EOF" if i else "EOF", self.base + p)
            b = d[p]
            p += 1
            if b < 0x80:
                if i == 9 and b > 1:
                    raise WireError("binary: varint overflows a 64-bit integer", self.base + p - 1)
                self.p = p
                return x | (b << s)
            x |= (b & 0x7F) << s
            s += 7
        raise WireError("binary: varint overflows a 64-bit integer", self.base + p - 1)

    @property
    def off(self) -> int:
        return self.base + self.p


def parse_strings(data: bytes, base: int) -> list[tuple[int, bytes, int]]:
    """addStrings: the (id, bytes, offset) entries of a strings batch."""
    r = _Reader(data, base)
    if not data or r.byte() != t2.EvStrings:
        raise WireError("missing strings batch header", base)
    out = []
    while r.p < r.n:
        off = r.off
        ev = r.byte()
        if ev != t2.EvString:
            raise WireError(f"expected string event, got {ev}", off)
        sid = r.uvarint()
        ln = r.uvarint()
        if ln > t2.MaxEventTrailerDataSize:
            raise WireError(f"invalid string size {ln}, maximum is {t2.MaxEventTrailerDataSize}", off)
        p = r.p
        s = data[p:p + ln]
        if len(s) != ln:
            raise WireError(f"failed to read full string: read {len(s)} but wanted {ln}", off)
        r.p = p + ln
        out.append((sid, s, off))
    return out


def parse_stacks(data: bytes, base: int) -> list[tuple[int, list[tuple[int, int, int, int]], int]]:
    """addStacks: the (id, [(pc, funcID, fileID, line)...], offset) entries of a stacks batch."""
    r = _Reader(data, base)
    if not data or r.byte() != t2.EvStacks:
        raise WireError("missing stacks batch header", base)
    out = []
    while r.p < r.n:
        off = r.off
        ev = r.byte()
        if ev != t2.EvStack:
            raise WireError(f"expected stack event, got {ev}", off)
        sid = r.uvarint()
        nframes = r.uvarint()
        if nframes > t2.MaxFramesPerStack:
            raise WireError(f"invalid stack size {nframes}, maximum is {t2.MaxFramesPerStack}", off)
        frames = []
        uv = r.uvarint
        for i in range(nframes):
            fields = []
            for what in ("PC", "funcID", "fileID", "line"):
                try:
                    fields.append(uv())
                except WireError as e:
                    raise WireError(f"reading frame {i + 1}'s {what} for stack {sid}: {e.message}",
                                    e.offset) from None
            frames.append(tuple(fields))
        out.append((sid, frames, off))
    return out


def parse_cpu_samples(data: bytes, base: int) -> list[tuple[int, int, int, int, int]]:
    """addCPUSamples: the (ts, m, p, g, stack) raw entries of a CPU samples batch."""
    r = _Reader(data, base)
    if not data or r.byte() != t2.EvCPUSamples:
        raise WireError("missing CPU samples batch header", base)
    out = []
    uv = r.uvarint
    while r.p < r.n:
        off = r.off
        ev = r.byte()
        if ev != t2.EvCPUSample:
            raise WireError(f"expected CPU sample event, got {ev}", off)
        ts = uv()
        m = uv()
        p = uv()
        g = uv()
        s = uv()
        out.append((ts, m, p, g, s))
    return out


def parse_sync(data: bytes, base: int, ver: int, batch_time: int) -> list[tuple]:
    """setSyncBatch's decoding: a list of ("freq", f, off) and ("clock", ts, mono, sec, nsec, off)."""
    r = _Reader(data, base)
    if ver >= 25:
        if not data or r.byte() != t2.EvSync:
            raise WireError("missing sync batch header", base)
    out = []
    last_ts = batch_time
    while r.p < r.n:
        off = r.off
        ev = r.byte()
        if ev == t2.EvFrequency:
            out.append(("freq", r.uvarint(), off))
        elif ev == t2.EvClockSnapshot and ver >= 25:
            tdiff = r.uvarint()
            last_ts += tdiff
            mono = r.uvarint()
            sec = r.uvarint()
            nsec = r.uvarint()
            out.append(("clock", last_ts, mono, sec, nsec, off))
        else:
            raise WireError(f"expected frequency or clock snapshot event, got {ev}", off)
    return out


def open_source(path_or_data) -> tuple[Source, str | None, object | None]:
    """Make a Source from a path, bytes, or a binary file object.

    Returns (source, display path or None, object to close or None).
    """
    if isinstance(path_or_data, (bytes, bytearray, memoryview)):
        return Source(path_or_data), None, None
    if isinstance(path_or_data, (str, os.PathLike)):
        path = os.fspath(path_or_data)
        f = open(path, "rb")
        try:
            st = os.fstat(f.fileno())
            size = st.st_size if stat.S_ISREG(st.st_mode) else None  # pipes: unknown
        except OSError:
            size = None
        return Source(f, size), path, f
    if hasattr(path_or_data, "read"):
        size = None
        try:
            pos = path_or_data.tell()
            end = path_or_data.seek(0, io.SEEK_END)
            path_or_data.seek(pos)
            size = end - pos
        except (OSError, AttributeError, ValueError):
            size = None
        name = getattr(path_or_data, "name", None)
        return Source(path_or_data, size), (name if isinstance(name, str) else None), None
    raise TypeError(f"cannot read a trace from {type(path_or_data).__name__}")
