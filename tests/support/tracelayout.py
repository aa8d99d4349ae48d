"""Where a Go 1.22+ trace's generations lie in its bytes, for tests that cut files at them."""
from __future__ import annotations

from diagnose.read import version, wire


def generation_layout(data: bytes, stop_on: tuple[type[Exception], ...] = (wire.WireEOF,)
                      ) -> tuple[int, int, list[tuple[int, int]]]:
    """(format, header length, [(start, end) of each generation]) by walking the batches;
    the walk ends at the first exception of a type in `stop_on` (others propagate)."""
    ver, hlen = version.parse_header(data[:64])
    src = wire.Source(data)
    src.skip(hlen)
    gens: list[list[int]] = []
    last_gen = None
    while True:
        start = src.offset
        try:
            b = wire.read_batch(src)
        except stop_on:
            break
        if b.is_end_of_generation():
            gens[-1][1] = src.offset
        elif b.gen != last_gen:
            gens.append([start, src.offset])
            last_gen = b.gen
        else:
            gens[-1][1] = src.offset
    return ver, hlen, [(s, e) for s, e in gens]


def event_batches(data: bytes, stop_on: tuple[type[Exception], ...] = (wire.WireEOF,)) -> tuple[int, list]:
    """(format, the batches that hold timed events: not experimental, end-of-generation,
    strings, stacks, CPU samples or sync batches), walking until an exception in `stop_on`."""
    ver, hlen = version.parse_header(data[:64])
    src = wire.Source(data)
    src.skip(hlen)
    out = []
    while True:
        try:
            b = wire.read_batch(src)
        except stop_on:
            return ver, out
        if not (b.exp or b.is_end_of_generation() or b.is_strings_batch() or b.is_stacks_batch()
                or b.is_cpu_samples_batch() or b.is_sync_batch(ver)):
            out.append(b)
