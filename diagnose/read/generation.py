"""Reading one generation's batches and tables (port of Go's internal/trace/generation.go)."""
from __future__ import annotations

from . import tracev2 as t2
from . import wire, wirevec
from .base import CPUSample, DataTableError, EvTable, Frame, Frequency
from .resources import NoGoroutine
from .sorting import sort_func
from .wire import Batch, OffsetError, WireEOF, WireError, i64


#: Threads (Ms) one generation may hold. Go's runtime stops a program at 10,000 threads unless
#: it raises debug.SetMaxThreads; a generation with more is a crafted file whose per-thread
#: cursors would cost both readers time and memory out of proportion to its bytes (the
#: quad-frontier family: 384,000 one-batch threads in 10 MB). Go's reader has no such limit.
MAX_THREADS_PER_GENERATION = 100_000


class GenError(OffsetError):
    """A generation could not be read (its batches, or its tables)."""


def _gen_error(e: Exception) -> GenError:
    if isinstance(e, GenError):
        return e
    if isinstance(e, WireError):
        return GenError(e.message, e.offset, e.eof, e.gen)
    return GenError(str(e))


class Generation:
    """generation: all the trace data for one generation. Purely data."""

    __slots__ = ("gen", "batches", "batch_ms", "cpu_samples", "min_ts", "table", "start_offset", "end_offset",
                 "at_eof")

    def __init__(self) -> None:
        self.gen = 0
        self.batches: dict[int, list[Batch]] = {}
        self.batch_ms: list[int] = []
        self.cpu_samples: list[CPUSample] = []
        self.min_ts = 0
        self.table = EvTable()
        self.start_offset = 0  # offset of the generation's first batch
        self.end_offset = 0  # offset just past its last batch
        self.at_eof = False  # (before Go 1.26) the input ended cleanly right after it

    @property
    def freq(self) -> Frequency:
        return self.table.freq


def read_generation(src: wire.Source, ver: int) -> Generation | None:
    """readGeneration (Go 1.26+ traces, with an explicit end-of-generation batch).

    Returns None at a clean end of the trace; raises GenError.
    """
    if ver < 26:
        raise GenError("internal error: readGeneration called for <1.26 trace")
    g = Generation()
    g.start_offset = src.offset
    while True:
        try:
            b = wire.read_batch(src)
        except WireEOF:
            if g.batches or g.gen != 0:
                raise GenError("incomplete generation found; trace likely truncated", src.offset, eof=True)
            return None
        except WireError as e:
            raise _gen_error(e) from None
        gen = b.gen
        if g.gen == 0:
            g.gen = gen
        if b.is_end_of_generation():
            break
        if gen == 0:
            raise GenError(f"invalid generation number {gen}", b.hdr_offset)
        if gen != g.gen:
            raise GenError("broken trace: missing end-of-generation event, or generations are interleaved",
                           b.hdr_offset)
        if g.min_ts == 0 or b.time < g.min_ts:
            g.min_ts = b.time
        process_batch(g, b, ver)
    g.end_offset = src.offset
    if g.table.freq == 0:
        raise GenError("no frequency event found", g.end_offset)
    if not g.table.has_clock_snapshot:
        raise GenError("no clock snapshot event found", g.end_offset)
    try:
        _finish(g)
    except GenError as e:
        if e.offset is None:
            e.offset = g.end_offset
        raise
    return g


def read_generation_with_spill(src: wire.Source, spill: Batch | None, ver: int):
    """readGenerationWithSpill (traces before Go 1.26).

    Returns (generation, spilled first batch of the next generation or None, spill error or
    None). When the generation is not None it is valid and must be processed before the
    spill error is handled. Raises GenError when no generation can be had.
    """
    if ver >= 26:
        raise GenError("internal error: readGenerationWithSpill called for Go 1.26+ trace")
    g = Generation()
    if spill is not None:
        g.gen = spill.gen
        g.min_ts = spill.time
        g.start_offset = spill.hdr_offset
        process_batch(g, spill, ver)
        spill = None
    else:
        g.start_offset = src.offset
    spill_err = None
    while True:
        before = src.offset
        try:
            b = wire.read_batch(src)
        except WireEOF:
            g.end_offset = src.offset
            g.at_eof = True
            break
        except WireError as e:
            if g.gen != 0:
                if e.eof and e.gen == g.gen:
                    # Not in Go: the input ran out inside a batch of this very generation,
                    # so it is incomplete. Go would go on with the batches it has (and emit
                    # some of its events before failing); we emit none of them.
                    raise GenError(e.message, e.offset, eof=True) from None
                # Possibly an error reading the first batch of the next generation: go on
                # with what we have.
                spill_err = _gen_error(e)
                g.end_offset = before
                break
            raise _gen_error(e) from None
        gen = b.gen
        if gen == 0:
            raise GenError(f"invalid generation number {gen}", b.hdr_offset)
        if g.gen == 0:
            g.gen = gen
        if gen == g.gen + 1:
            spill = b
            g.end_offset = before
            break
        if gen != g.gen:
            raise GenError("generations out of order", b.hdr_offset)
        if g.min_ts == 0 or b.time < g.min_ts:
            g.min_ts = b.time
        process_batch(g, b, ver)
    # A generation that ends where the input ends (cleanly or not) may have been cut short:
    # its tables come last, so missing tables are reported as truncation.
    cut = g.at_eof or maybe_partial(spill_err)
    if g.table.freq == 0:
        raise GenError("no frequency event found", g.end_offset, eof=cut)
    if ver >= 25 and not g.table.has_clock_snapshot:
        raise GenError("no clock snapshot event found", g.end_offset, eof=cut)
    try:
        _finish(g)
    except GenError as e:
        if e.offset is None:
            e.offset = g.end_offset
        e.eof = e.eof or cut
        raise
    return g, spill, spill_err


class GenerationSteps:
    """Which generation comes next: the generation loop of Go's ReadEvent (readGeneration, and
    nextGenWithSpill before Go 1.26), held once for the reference reader and the compiled
    kernel's driver, which differ only in how they emit a Sync.

    `step(have_gen)` returns a Generation to install, or None with `done` telling why: True is
    the clean end (the caller emits the final Sync), False means a read error is stored: the
    caller emits a Sync without a generation now -- every event before the damage has been
    returned -- and the next step raises the error (GenError).
    """

    def __init__(self, src: wire.Source, ver: int) -> None:
        self.src = src
        self.ver = ver
        self.spill: Batch | None = None  # the next generation's first batch (before Go 1.26)
        self.pending: GenError | None = None
        self._pending_synced = False
        self.done = False
        #: the generation just returned may lack its last batches / ends where the input ends
        self.truncated = False
        self.at_eof = False

    def step(self, have_gen: bool) -> Generation | None:
        if self.ver >= 26:
            if self.pending is not None:
                raise self.pending
            try:
                g = read_generation(self.src, self.ver)
            except GenError as err:
                self.pending = err
                return None
            self.done = g is None
            return g
        if self.pending is not None:
            if self._pending_synced:
                raise self.pending
            self._pending_synced = True
            return None
        if have_gen and self.spill is None:
            self.done = True  # no further generation
            return None
        try:
            g, self.spill, err = read_generation_with_spill(self.src, self.spill, self.ver)
        except GenError as e:
            g, self.spill, err = None, None, e
        self.pending = err
        if g is None:
            self._pending_synced = True
            return None
        self.truncated = maybe_partial(err)
        self.at_eof = g.at_eof
        return g


def maybe_partial(spill_err: GenError | None) -> bool:
    """The input ran out in a batch whose generation is unknown: the generation just read
    may lack its last batches."""
    return spill_err is not None and spill_err.eof and spill_err.gen is None


def _finish(g: Generation) -> None:
    validate_stack_strings(g.table)
    fix_up_cpu_samples(g.cpu_samples, g.table.freq)


def process_batch(g: Generation, b: Batch, ver: int) -> None:
    """processBatch: add the batch to the generation."""
    try:
        if b.is_strings_batch():
            add_strings(g.table, b)
        elif b.is_stacks_batch():
            add_stacks(g.table, b)
        elif b.is_cpu_samples_batch():
            add_cpu_samples(g.cpu_samples, b)
        elif b.is_sync_batch(ver):
            set_sync_batch(g.table, b, ver)
        elif b.exp != t2.NoExperiment:
            if g.table.exp_batches is None:
                g.table.exp_batches = {}
            g.table.exp_batches.setdefault(b.exp, []).append(ExperimentalBatch(b.m, b.data))
        elif b.is_end_of_generation():
            raise GenError("internal error: unexpectedly processing EndOfGeneration; broken trace?", b.hdr_offset)
        else:
            lst = g.batches.get(b.m)
            if lst is None:
                if len(g.batch_ms) >= MAX_THREADS_PER_GENERATION:
                    raise GenError(f"more than {MAX_THREADS_PER_GENERATION:,} threads in generation {b.gen} "
                                   "(Go programs stop at 10,000 by default): refusing a crafted trace",
                                   b.hdr_offset)
                g.batch_ms.append(b.m)
                g.batches[b.m] = [b]
            else:
                lst.append(b)
    except WireError as e:
        raise _gen_error(e) from None
    except DataTableError as e:
        raise GenError(str(e), b.offset) from None


class ExperimentalBatch:
    """A packet of unparsed experimental data: .thread (ThreadID) and .data (bytes)."""

    __slots__ = ("thread", "data")

    def __init__(self, thread: int, data: bytes) -> None:
        self.thread = thread
        self.data = data


def validate_stack_strings(t: EvTable) -> None:
    """validateStackStrings: all string references in the stack table must exist. Checked per
    distinct PC first (a table holds each PC in many stacks); the walk in Go's order, which
    names the first bad stack, runs only when something is wrong."""
    strings = t.strings
    pcs = t.pcs
    used: set = set().union(*t.stacks.sparse.values())
    if used <= pcs.keys() and all(strings.has(pcs[pc].func_id) and strings.has(pcs[pc].file_id) for pc in used):
        return
    for id, stk in t.stacks.items():
        for pc in stk:
            f = pcs.get(pc)
            if f is None:
                raise GenError(f"found unknown pc {pc:x} for stack {id}")
            if not strings.has(f.func_id):
                raise GenError(f"found invalid func string ID {f.func_id} for stack {id}")
            if not strings.has(f.file_id):
                raise GenError(f"found invalid file string ID {f.file_id} for stack {id}")


def add_strings(t: EvTable, b: Batch) -> None:
    ins = t.strings.insert
    for sid, s, off in wire.parse_strings(b.data, b.offset):
        try:
            ins(sid, s.decode("utf-8", "surrogateescape"))
        except DataTableError as e:
            raise GenError(str(e), off) from None


def add_stacks(t: EvTable, b: Batch) -> None:
    pcs = t.pcs
    ins = t.stacks.insert
    whole = wirevec.decode_stacks(b.data, b.offset)
    if whole is None:  # not a plain batch: byte by byte, with Go's errors
        for sid, frames, off in wire.parse_stacks(b.data, b.offset):
            stk = []
            for pc, func_id, file_id, line in frames:
                stk.append(pc)
                if pc not in pcs:
                    pcs[pc] = Frame(pc, func_id, file_id, line)
            try:
                ins(sid, tuple(stk))
            except DataTableError as e:
                raise GenError(str(e), off) from None
        return
    entries, (pc_l, func_l, file_l, line_l) = whole
    for k, pc in enumerate(pc_l):  # a PC's first frame in the batch is the one kept, as above
        if pc not in pcs:
            pcs[pc] = Frame(pc, func_l[k], file_l[k], line_l[k])
    for sid, a, z, off in entries:
        try:
            ins(sid, tuple(pc_l[a:z]))
        except DataTableError as e:
            raise GenError(str(e), off) from None


def add_cpu_samples(samples: list, b: Batch) -> None:
    for ts, m, p, g, s in wire.parse_cpu_samples(b.data, b.offset):
        goid = i64(g)
        if g == 0:
            goid = NoGoroutine
        # N.B. time is really a raw timestamp until fix_up_cpu_samples.
        samples.append(CPUSample(goid, i64(p), i64(m), ts, s))


def set_sync_batch(t: EvTable, b: Batch, ver: int) -> None:
    for item in wire.parse_sync(b.data, b.offset, ver, b.time):
        if item[0] == "freq":
            if t.freq != 0:
                raise GenError("found multiple frequency events", item[2])
            f = item[1]
            # Convert to nanoseconds per timestamp unit.
            try:
                t.freq = Frequency(1.0 / (float(f) / 1e9))
            except ZeroDivisionError:
                t.freq = Frequency(float("inf"))
        else:
            if t.has_clock_snapshot:
                raise GenError("found multiple clock snapshot events", item[5])
            t.has_clock_snapshot = True
            _, t.snap_time, t.snap_mono, t.snap_wall_sec, t.snap_wall_nsec, _ = item


def fix_up_cpu_samples(samples: list, freq: Frequency) -> None:
    for s in samples:
        s.time = freq.mul(s.time)
    sort_func(samples, _cmp_sample_time, key=_sample_time)


def _cmp_sample_time(a: CPUSample, b: CPUSample) -> int:
    return (a.time > b.time) - (a.time < b.time)


def _sample_time(s: CPUSample) -> int:
    return s.time
