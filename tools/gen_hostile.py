#!/usr/bin/env python3
"""Worst-case valid traces of a chosen size, for the "bounded time and memory" promise.

    python tools/gen_hostile.py KIND --mb 10 -o out.trace [--from FIXTURE] [--check]

Every kind is a *valid* trace (both readers accept it; ``--check`` verifies that with the
kernel and the pure-Python reader and compares their columns), built to cost the most per
byte in one way:

  quad        generations of 99,000 Ms (the most the readers accept), each M holding one batch:
              the P's status, then a GoStart/GoStop of one goroutine; the batches come in
              reverse order of that goroutine's sequence, so the ordering frontier is as wide
              as allowed and only its latest head can advance (the family of
              tests/data/repro/quad-frontier-*.trace). ``--threads`` sets the Ms per generation,
              ``--extra 22`` fills each M's batch to reach the batch and event limits together.
  dense       a real fixture (``--from``, Go 1.22+) with, right after a goroutine starts, a run of
              mark-assist begin/end and heap-alloc events: ~2.7 bytes an event, the most events
              a byte can hold, each a range or a metric the timelines keep.
  goroutines  the same fixture where that goroutine creates a million goroutines (GoCreate,
              ~8 bytes each): the goroutine tables.
  stacks      the same, each new goroutine created at its own one-frame stack naming its own
              function: the stack and string tables, interned frames and stacks.

Old formats (Go <= 1.21) are read by ``read/v1`` (pure Python: the kernel declines them), whose
ordering is per-P sequence merging (no frontier search); their cost is per event and per
goroutine, so two kinds, built from a real go1.21 fixture (``--from``, default
healthy-light-go1.21.13) by adding records right after its first GoStart (time deltas 0, in
that P's batch):

  v1dense       mark-assist start/done and heap-alloc records (2-3 bytes each, the densest a
                v1 body can hold): ranges and metrics, ~2.7 bytes an event.
  v1goroutines  GoCreate records (~7 bytes each) of new goroutines: the goroutine tables.
  v1procs       instead, before the footer, one-event batches (a heap-alloc) of as many
                distinct Ps (~9 bytes each): the merge's per-P queues.

Deterministic: the same arguments give the same bytes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from diagnose.read import tracev2 as t2  # noqa: E402
from diagnose.read import eventcap, version, wire  # noqa: E402
from tests.support.gotesttext import uvarint  # noqa: E402  (binary.AppendUvarint)

DEFAULT_FIXTURE = REPO / "fixtures" / "traces" / "healthy-light-go1.22.10.trace"
#: batches we write stay under Go's limit (tracev2.MaxBatchSize) with room for one event
BATCH_DATA = 60_000
U64 = (1 << 64) - 1


def batch(gen: int, m: int, time: int, data: bytes) -> bytes:
    """An EvEventBatch: header (gen, M, time, size) and data."""
    return bytes((t2.EvEventBatch,)) + uvarint(gen) + uvarint(m & U64) + uvarint(time) + uvarint(len(data)) + data


def event(typ: int, dt: int, *args: int) -> bytes:
    return bytes((typ,)) + uvarint(dt) + b"".join(uvarint(a) for a in args)


def split_batches(gen: int, m: int, time: int, events: list[tuple[int, int, tuple]]) -> bytes:
    """One M's events (typ, absolute tick, args) as batches of at most BATCH_DATA bytes; each
    batch's time is its first event's, so deltas stay small."""
    out = bytearray()
    cur = bytearray()
    base = last = time
    for typ, t, args in events:
        if len(cur) >= BATCH_DATA:
            out += batch(gen, m, base, bytes(cur))
            cur = bytearray()
            base = last
        cur += event(typ, t - last, *args)
        last = t
    if cur:
        out += batch(gen, m, base, bytes(cur))
    return bytes(out)


# --- quad: the widest frontier --------------------------------------------------------------

def quad(target: int, threads: int = 99_000, extra: int = 0) -> bytes:
    """Generations of `threads` Ms (the readers refuse more than
    diagnose.read.generation.MAX_THREADS_PER_GENERATION) whose batches come in reverse order of
    the one goroutine they pass along; as many generations as `target` bytes hold. `extra`
    heap-alloc events follow in each M's batch (3 bytes each): with 22, a 10 MB file holds as
    many batches and events as diagnose/read/eventcap.py allows (~110,000 and ~2.8 million)."""
    per_m = 26 + 3 * extra  # bytes of one M's batch (header 9, events 16) once M IDs take 3 bytes, a margin
    total = max(2, (target - 40) // per_m)
    while True:  # no more batches than the readers accept for the file's actual size
        out = _quad(total, threads, extra)
        allowed = eventcap.MAX_BATCHES_BASE + len(out) // eventcap.MIN_BATCH_BYTES - 16
        if extra == 0 or total + 2 * (total // threads + 1) <= allowed:
            return out
        total = allowed - 2 * (allowed // threads + 1)


def _quad(total: int, threads: int, extra: int) -> bytes:
    g = 100
    out = bytearray(b"go 1.22 trace\x00\x00\x00")
    gen = 0
    tail = b"".join(event(t2.EvHeapAlloc, 0, i % 100) for i in range(extra))
    while total > 0:
        n = min(threads, total) if total - threads >= 2 or total <= threads else total - 2
        total -= n
        gen += 1
        base = 1_000_000 + (gen - 1) * (n + 2) * 20
        out += batch(gen, -1, base, bytes((t2.EvFrequency,)) + uvarint(1_000_000_000))
        out += batch(gen, 0, base, event(t2.EvGoStatus, 1, g, U64, 1))  # Runnable, no M
        for m in range(1, n + 1):
            # The status events come in reverse time order (M n first); the goroutine's turns,
            # later, in M order: every M's head but one waits for the goroutine.
            # (The reader moves each event after the one it follows: times stay ordered.)
            data = event(t2.EvProcStatus, 0, m, 1) + event(t2.EvGoStart, 1, g, m) + event(t2.EvGoStop, 1, 0, 0)
            out += batch(gen, m, base + (n - m + 1) * 10, data + tail)
    return bytes(out)


# --- fixture-derived kinds -------------------------------------------------------------------

def _batches(data: bytes) -> tuple[int, int, list]:
    ver, hlen = version.parse_header(data[:64])
    src = wire.Source(data)
    src.skip(hlen)
    out = []
    while True:
        try:
            out.append(wire.read_batch(src))
        except wire.WireEOF:
            return ver, hlen, out


def _is_events(b, ver: int) -> bool:
    return not (b.exp or b.is_end_of_generation() or b.is_strings_batch() or b.is_stacks_batch()
                or b.is_cpu_samples_batch() or b.is_sync_batch(ver))


def _ids(batches: list, gen: int) -> tuple[int, int]:
    """The largest string and stack IDs generation `gen` uses."""
    smax = kmax = 0
    for b in batches:
        if b.gen != gen or b.exp:
            continue
        if b.is_strings_batch():
            smax = max([smax] + [sid for sid, _, _ in wire.parse_strings(b.data, b.offset)])
        elif b.is_stacks_batch():
            kmax = max([kmax] + [sid for sid, _, _ in wire.parse_stacks(b.data, b.offset)])
    return smax, kmax


def inject(fixture: Path, kind: str, target: int) -> bytes:
    """The fixture with `kind`'s events added after the first GoStart of its first generation
    (the goroutine runs, on a P: what every added event needs), to about `target` bytes."""
    data = fixture.read_bytes()
    ver, hlen, batches = _batches(data)
    gen = batches[0].gen
    smax, kmax = _ids(batches, gen)
    room = max(0, target - len(data))
    where = None
    for i, b in enumerate(batches):
        if b.gen == gen and _is_events(b, ver):
            evs, err = wire.decode_batch_events(b.data, b.offset)
            if err is None and any(e[0] == t2.EvGoStart for e in evs):
                where = i
                break
    if where is None:
        raise SystemExit(f"{fixture}: no GoStart in its first generation")
    b = batches[where]
    evs, _ = wire.decode_batch_events(b.data, b.offset)
    k = next(j for j, e in enumerate(evs) if e[0] == t2.EvGoStart)
    nargs = {e[0]: len(t2.SPECS[e[0]].args) - 1 for e in evs}
    t = b.time
    timed = []
    for typ, dt, args, _ in evs:
        t += dt
        timed.append((typ, t, tuple(args[:nargs[typ]])))
    t_start = timed[k][1]
    extra: list[tuple[int, int, tuple]] = []
    tables = b""
    if kind == "dense":
        unit = [(t2.EvGCMarkAssistBegin, (0,)), (t2.EvGCMarkAssistEnd, ()), (t2.EvHeapAlloc, (1,))]
        n = room // 8 * 3
        extra = [(unit[i % 3][0], t_start, unit[i % 3][1]) for i in range(n - n % 3)]
    elif kind == "goroutines":
        n = room // 9
        extra = [(t2.EvGoCreate, t_start, ((1 << 22) + i, 0, 0)) for i in range(n)]
    elif kind == "stacks":
        n = room // 45
        strings, stacks = bytearray(), bytearray()
        str_batches, stk_batches = bytearray(), bytearray()
        for i in range(n):
            fn = smax + 1 + i
            strings += bytes((t2.EvString,)) + uvarint(fn) + uvarint(14) + b"main.f%08d" % i
            stacks += (bytes((t2.EvStack,)) + uvarint(kmax + 1 + i) + uvarint(1)
                       + uvarint(0x400000 + 16 * i) + uvarint(fn) + uvarint(fn) + uvarint(1 + i % 1000))
            if len(strings) >= BATCH_DATA or i == n - 1:
                str_batches += batch(gen, 0, 0, bytes((t2.EvStrings,)) + bytes(strings))
                strings = bytearray()
            if len(stacks) >= BATCH_DATA or i == n - 1:
                stk_batches += batch(gen, 0, 0, bytes((t2.EvStacks,)) + bytes(stacks))
                stacks = bytearray()
        tables = bytes(str_batches + stk_batches)
        extra = [(t2.EvGoCreate, t_start, ((1 << 22) + i, kmax + 1 + i, 0)) for i in range(n)]
    else:
        raise SystemExit(f"unknown kind {kind}")
    new = split_batches(b.gen, b.m, b.time, timed[:k + 1] + extra + timed[k + 1:])
    return data[:b.hdr_offset] + new + tables + data[b.offset + len(b.data):]


# --- old formats (Go <= 1.21) ----------------------------------------------------------------

DEFAULT_V1_FIXTURE = REPO / "fixtures" / "traces" / "healthy-light-go1.21.13.trace"


def v1_record(typ: int, *args: int) -> bytes:
    """An old-format event record: the type byte (with the inline argument count, or 3 and a
    length prefix past 3) then the arguments, timestamp delta first (Go: traceEvent)."""
    body = b"".join(uvarint(a) for a in args)
    if len(args) <= 3:
        return bytes((typ | (len(args) - 1) << 6,)) + body
    return bytes((typ | 3 << 6,)) + uvarint(len(body)) + body


def inject_v1(fixture: Path, kind: str, target: int) -> bytes:
    """The old-format fixture with `kind`'s records added right after its first GoStart record
    (the goroutine runs on that P: what each added event needs), to about `target` bytes."""
    from diagnose.read.v1 import parser as v1

    data = fixture.read_bytes()
    hlen = 16
    recs = list(v1.walk_records(data[hlen:]))
    if kind == "v1procs":  # batches of their own, after the last one (times far after the trace's)
        at = hlen + next(off for off, typ in recs if typ == v1.EvFrequency)
        out = bytearray()
        p = 100
        while len(out) < target - len(data):
            out += (bytes((v1.EvBatch | 1 << 6,)) + uvarint(p) + uvarint((1 << 50) + p)
                    + v1_record(v1.EvHeapAlloc, 1, 5))
            p += 1
        return data[:at] + bytes(out) + data[at:]
    i = next(i for i, (_, typ) in enumerate(recs) if typ == v1.EvGoStart)
    at = hlen + recs[i + 1][0]  # where the record after the GoStart starts
    room = max(0, target - len(data))
    if kind == "v1dense":
        unit = (v1_record(v1.EvGCMarkAssistStart, 0, 0) + v1_record(v1.EvGCMarkAssistDone, 0)
                + v1_record(v1.EvHeapAlloc, 0, 1))
        extra = unit * (room // len(unit))
    elif kind == "v1goroutines":
        out = bytearray()
        g = 1 << 22
        while len(out) < room:
            out += v1_record(v1.EvGoCreate, 0, g, 0, 0)
            g += 1
        extra = bytes(out)
    else:
        raise SystemExit(f"unknown kind {kind}")
    return data[:at] + extra + data[at:]


V1_KINDS = ("v1dense", "v1goroutines", "v1procs")
KINDS = ("quad", "dense", "goroutines", "stacks") + V1_KINDS


def check(path: Path) -> str:
    """Read with both paths; their columns must agree. Returns a one-line summary."""
    import os

    from diagnose.timeline import load_columns
    from diagnose.timeline.kernel import read_columns

    from tools.fuzz import columns_diff

    k = read_columns(str(path))
    os.environ["NETPOLL_DIAGNOSE_PURE"] = "1"
    try:
        p = load_columns(str(path))
    finally:
        del os.environ["NETPOLL_DIAGNOSE_PURE"]
    if k is not None:
        diff = columns_diff(k, p)
        if diff:
            raise SystemExit(f"{path}: kernel and pure columns differ: {diff}")
    return f"{len(p)} events, kernel {'declined' if k is None else 'agrees'}"


def generate(kind: str, target: int, fixture: Path | None = None, threads: int = 99_000, extra: int = 0) -> bytes:
    if kind == "quad":
        return quad(target, threads, extra)
    if kind in V1_KINDS:
        return inject_v1(fixture or DEFAULT_V1_FIXTURE, kind, target)
    return inject(fixture or DEFAULT_FIXTURE, kind, target)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kind", choices=KINDS)
    ap.add_argument("--mb", type=float, default=10.0, help="target size in MB (10^6 bytes)")
    ap.add_argument("--from", dest="fixture", type=Path, default=None,
                    help="fixture to start from (default: healthy-light, go1.22.10 or, for v1 kinds, go1.21.13)")
    ap.add_argument("--threads", type=int, default=99_000, help="quad: Ms per generation")
    ap.add_argument("--extra", type=int, default=0, help="quad: heap-alloc events after each M's turn")
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--check", action="store_true", help="read with both paths and compare")
    a = ap.parse_args()
    data = generate(a.kind, int(a.mb * 1e6), a.fixture, a.threads, a.extra)
    a.output.write_bytes(data)
    print(f"{a.output}: {len(data)} bytes", end="")
    print(f", {check(a.output)}" if a.check else "")


if __name__ == "__main__":
    main()
