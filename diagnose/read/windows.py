"""Windows of whole generations: how a trace too big to analyse at once is cut without loss.

A Go 1.22+ trace is a sequence of generations, each self-contained: its own string and stack
tables, and at its start the status of every goroutine and P (Go's reader holds one
generation at a time for this reason, and a flight-recorder snapshot is just a run of
generations). So the bytes of consecutive generations, behind the file's header, are a valid
trace of their own: the pipeline analyses a big trace window by window in memory bounded by
the largest window instead of by the trace.

Old-format traces (Go <= 1.21) have no generations and are not cut here (`generation_spans`
returns None): the pipeline cuts their converted rows instead (`diagnose.timeline.cut`).
"""
from __future__ import annotations

import io
import os
from typing import BinaryIO

from . import wire
from .version import HeaderError, parse_header

#: generations of Go >= 1.22 formats
MIN_WINDOWED_MINOR = 22


def generation_spans(path: str | os.PathLike) -> tuple[int, list[tuple[int, int]]] | None:
    """(header length, [(start, end) file offsets of each generation's batches]) for a Go 1.22+
    trace; None for the old format or a file whose header is not a trace's.

    Only batch headers are decoded (each batch says its length). An EndOfGeneration marker
    (Go >= 1.26) belongs to the generation before it. Bytes the scan cannot frame (a cut or
    damaged tail) are left to the last span, so the reader reports them as it would for the
    whole file.
    """
    with open(path, "rb") as f:
        try:
            ver, hlen = parse_header(f.read(64))
        except HeaderError:
            return None
        if ver < MIN_WINDOWED_MINOR:
            return None
        size = os.fstat(f.fileno()).st_size
        if size <= hlen:
            return hlen, []
        # only the batch headers are read; offsets count from the end of the header
        return hlen, _spans(wire.Source.over(_Preads(f.fileno(), hlen, size - hlen)), hlen, size)


def framed_to_end(path: str | os.PathLike, start: int) -> bool:
    """Is the generation that starts at file offset `start` (its first batch) the file's last and
    complete: its batches frame the file exactly to its end, the last one an EndOfGeneration
    marker (Go >= 1.26 writes one after each generation)? A window that ends the file is cut into
    parts only when this holds (pipeline.split_windows): a cut tail's rows are known only once
    read, and parts planned from its bytes could hold next to nothing. Framing alone is not
    enough: a process killed between two batch writes leaves a file that ends on a batch
    boundary, which the reader still finds cut (no EndOfGeneration; before Go 1.26 no frequency
    or table batches), so older formats' tails always count as not framed."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if not 0 <= start < size:
            return False
        src = wire.Source.over(_Preads(f.fileno(), start, size - start))
        last = None
        while src.offset < size - start:
            try:
                last = wire.skip_batch(src)
            except (wire.WireEOF, wire.WireError):
                return False
        return src.offset == size - start and last is not None and last.is_end_of_generation()


class _Preads:
    """A file's bytes from `start` as an indexable buffer, read a few at a time (os.pread) where
    they are indexed: framing generations reads ~40 bytes a batch, not the file. (Mapping the
    file instead touched only those pages too, but the kernel maps the pages around each fault,
    so a 1 GB trace's scan showed as 1 GB resident in the command.)"""

    CHUNK = 64  # a batch header is at most 42 bytes

    def __init__(self, fd: int, start: int, size: int) -> None:
        self._fd, self._start, self._size = fd, start, size
        self._at, self._chunk = 0, b""

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, i: int) -> int:
        if not 0 <= i - self._at < len(self._chunk):
            self._at, self._chunk = i, os.pread(self._fd, self.CHUNK, self._start + i)
        return self._chunk[i - self._at]


def _spans(src: wire.Source, hlen: int, size: int) -> list[tuple[int, int]]:
    """generation_spans' scan of `src` (the bytes after the header) through a file of `size`."""
    spans: list[tuple[int, int]] = []
    gen = None
    start = hlen
    while True:
        before = src.offset
        try:
            b = wire.skip_batch(src)
        except (wire.WireEOF, wire.WireError):
            break
        if b.is_end_of_generation():
            continue  # the marker closes the current generation
        if gen is not None and b.gen != gen:
            spans.append((start, hlen + before))
            start = hlen + before
        gen = b.gen
    if gen is not None:
        spans.append((start, size))
    return spans


def group_windows(spans: list[tuple[int, int]], target_bytes: int) -> list[tuple[int, int]]:
    """Consecutive generations grouped into windows of about `target_bytes` (never splitting a
    generation; a generation larger than the target is a window of its own). A window under
    half the target (typically the short last generation Go flushes when tracing stops) joins
    its smaller neighbour: rates and percentiles over a few milliseconds are noise that the
    rules would read as a cause."""
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out and e - out[-1][0] <= target_bytes:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    while len(out) > 1:
        sizes = [e - s for s, e in out]
        i = min(range(len(out)), key=lambda k: sizes[k])
        if sizes[i] * 2 >= target_bytes:
            break
        j = i - 1 if i == len(out) - 1 or (i > 0 and sizes[i - 1] <= sizes[i + 1]) else i + 1
        lo, hi = min(i, j), max(i, j)
        out[lo:hi + 1] = [(out[lo][0], out[hi][1])]
    return out


class WindowFile(io.RawIOBase):
    """The file's header followed by its bytes [start, end): a trace of those generations.

    Offsets the reader reports inside the window are window offsets; `to_file_offset` maps
    them back to the file's."""

    def __init__(self, path: str | os.PathLike, header_len: int, start: int, end: int) -> None:
        super().__init__()
        self._f: BinaryIO = open(path, "rb")
        self._head = self._f.read(header_len)
        self._start, self._end = start, end
        self._pos = 0
        self.size = header_len + (end - start)
        self.name = os.fspath(path)

    def to_file_offset(self, off: int) -> int:
        hl = len(self._head)
        return off if off < hl else self._start + (off - hl)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def readinto(self, b) -> int:  # io.RawIOBase protocol
        n = min(len(b), max(self.size - self._pos, 0))
        if n <= 0:
            return 0
        hl = len(self._head)
        done = 0
        mv = memoryview(b)
        if self._pos < hl:
            k = min(n, hl - self._pos)
            mv[:k] = self._head[self._pos:self._pos + k]
            done = k
        if done < n:
            self._f.seek(self._start + (self._pos + done - hl))
            got = self._f.readinto(mv[done:n])
            done += got or 0
        self._pos += done
        return done

    def fileno(self) -> int:  # not a real file: callers must not stat it
        raise io.UnsupportedOperation("fileno")

    def close(self) -> None:
        if not self.closed:
            self._f.close()
        super().close()
