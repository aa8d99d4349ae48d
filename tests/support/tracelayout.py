"""Where a Go 1.22+ trace's generations lie in its bytes, for tests that cut files at them."""
from __future__ import annotations

from typing import Iterator

from diagnose.read import version, wire


def _batches(data: bytes, stop_on: tuple[type[Exception], ...]
             ) -> tuple[int, int, Iterator[tuple[int, int, wire.Batch]]]:
    """(format, header length, the (start, end offset, batch) of each batch in order); the walk
    ends at the first exception of a type in `stop_on` (others propagate)."""
    ver, hlen = version.parse_header(data[:64])
    src = wire.Source(data)
    src.skip(hlen)

    def walk() -> Iterator[tuple[int, int, wire.Batch]]:
        while True:
            start = src.offset
            try:
                b = wire.read_batch(src)
            except stop_on:
                return
            yield start, src.offset, b

    return ver, hlen, walk()


def generation_layout(data: bytes, stop_on: tuple[type[Exception], ...] = (wire.WireEOF,)
                      ) -> tuple[int, int, list[tuple[int, int]]]:
    """(format, header length, [(start, end) of each generation]) by walking the batches;
    the walk ends at the first exception of a type in `stop_on` (others propagate)."""
    ver, hlen, batches = _batches(data, stop_on)
    gens: list[list[int]] = []
    last_gen = None
    for start, end, b in batches:
        if b.gen != last_gen and not b.is_end_of_generation():
            gens.append([start, end])
            last_gen = b.gen
        else:
            gens[-1][1] = end
    return ver, hlen, [(s, e) for s, e in gens]


def event_batches(data: bytes, stop_on: tuple[type[Exception], ...] = (wire.WireEOF,)) -> tuple[int, list]:
    """(format, the batches that hold timed events: not experimental, end-of-generation,
    strings, stacks, CPU samples or sync batches), walking until an exception in `stop_on`."""
    ver, _, batches = _batches(data, stop_on)
    return ver, [b for _, _, b in batches
                 if not (b.exp or b.is_end_of_generation() or b.is_strings_batch() or b.is_stacks_batch()
                         or b.is_cpu_samples_batch() or b.is_sync_batch(ver))]
