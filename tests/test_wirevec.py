"""The pure reader's span decoder (diagnose/read/wirevec.py) against the byte-at-a-time decoder.

`decode_span` must give exactly the events, times and next position that
`wire.decode_batch_chunk` + the cursor's time arithmetic give, or decline (None) so that the
byte-at-a-time decoder reads that part and reports its error where Go would. Checked on every
event batch of real traces, as they are and with random byte edits and cuts.
"""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from diagnose.read import wire
from diagnose.read.batchcursor import timed
from diagnose.read.wirevec import SPAN_BYTES, decode_span

from tests.support.tracelayout import event_batches

TRACES = Path(__file__).resolve().parent.parent / "fixtures" / "traces"
CASES = sorted(TRACES.glob("healthy-heavy-go1.2[27]*.trace")) + sorted(TRACES.glob("gomaxprocs-procs1-burst-go1.27*.trace"))
FREQS = (64.0, 1.0, 0.3333333333333333)  # a busy Linux trace's, and two that make fractions


def _event_batches(path: Path) -> list:
    return event_batches(path.read_bytes())[1]


def _reference(data: bytes, base: int, pos: int, lt: int, t0: int, freq: float):
    """decode_batch_chunk over what the span covers, with the cursor's times."""
    evs, err, _ = wire.decode_batch_chunk(data, base, pos, 1 << 30)
    out, _ = timed(evs, lt, t0, freq)
    return out, err


def _check(data: bytes, base: int, t0: int, freq: float) -> int:
    """Walk `data` span by span as the cursor does; returns the spans decoded by decode_span."""
    pos, lt, spans = 0, 0, 0
    ref, err = _reference(data, base, 0, 0, t0, freq)
    got = []
    while pos < len(data):
        span = decode_span(data, base, pos, lt, t0, freq)
        if span is None:
            break  # the byte-at-a-time decoder reads on from here: compare what came before
        evs, nxt, lt = span
        assert pos < nxt <= min(len(data), pos + SPAN_BYTES)
        got.extend(evs)
        pos = nxt
        spans += 1
    assert got == ref[:len(got)]
    if pos >= len(data):
        assert err is None and len(got) == len(ref)
    else:  # the rest, from an event boundary, as the slow path reads it
        rest, rest_err = _reference(data, base, pos, lt, t0, freq)
        assert got + rest == ref and rest_err == err
    return spans


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_span_decoder_matches_on_real_batches(path):
    batches = _event_batches(path)
    assert batches, "the fixture should hold event batches"
    spans = 0
    for b in batches:
        for freq in FREQS:
            spans += _check(b.data, b.offset, int(float(b.time) * freq), freq)
    assert spans >= len(batches), "decode_span should decode the plain batches itself"


@pytest.mark.parametrize("path", CASES[:2], ids=lambda p: p.stem)
def test_span_decoder_matches_on_edited_batches(path):
    rng = random.Random(18)
    batches = _event_batches(path)
    for _ in range(200):
        b = rng.choice(batches)
        data = bytearray(b.data[:rng.choice((2048, 8192, 40000))])  # a batch's head: a few spans
        for _ in range(rng.randint(1, 4)):
            k = rng.randrange(len(data))
            data[k] = rng.choice((0x00, 0x01, 0x7F, 0x80, 0xFF, rng.randrange(256)))
        if rng.random() < 0.3:
            data = data[:rng.randrange(1, len(data) + 1)]
        _check(bytes(data), b.offset, int(float(b.time) * 64.0), 64.0)


# --- stacks batches -------------------------------------------------------------------------

def _stack_batches(path: Path) -> list:
    from tests.support.tracelayout import _batches

    _, _, walk = _batches(path.read_bytes(), (wire.WireEOF,))
    return [b for _, _, b in walk if b.is_stacks_batch()]


def _parsed(data: bytes, base: int):
    """wire.parse_stacks's result, or its error as (message, offset)."""
    try:
        return wire.parse_stacks(data, base)
    except wire.WireError as e:
        return (e.message, e.offset)


def _as_parsed(whole) -> list:
    """decode_stacks's answer in parse_stacks's shape."""
    entries, (pc, fn, fl, ln) = whole
    return [(sid, list(zip(pc[a:z], fn[a:z], fl[a:z], ln[a:z])), off) for sid, a, z, off in entries]


STACK_CASES = sorted(TRACES.glob("healthy-heavy-go1.2[2457]*.trace")) + sorted(TRACES.glob("fdreuse-*-go1.27*.trace"))


@pytest.mark.parametrize("path", STACK_CASES, ids=lambda p: p.stem)
def test_stack_batches_decode_as_the_byte_parser_reads_them(path):
    from diagnose.read.wirevec import decode_stacks

    batches = _stack_batches(path)
    assert batches, "every generation has a stacks batch"
    frames = 0
    for b in batches:
        whole = decode_stacks(b.data, b.offset)
        assert whole is not None, "a real stacks batch is plain"
        got = _as_parsed(whole)
        assert got == wire.parse_stacks(b.data, b.offset)
        frames += sum(len(f) for _, f, _ in got)
    assert frames > 50


@pytest.mark.parametrize("path", STACK_CASES[:2], ids=lambda p: p.stem)
def test_edited_stack_batches_decode_the_same_or_are_declined(path):
    """Random byte edits and cuts: decode_stacks gives parse_stacks's entries, or None where
    parse_stacks raises (its error is then Go's), never a different reading."""
    from diagnose.read.wirevec import decode_stacks

    rng = random.Random(12)
    batches = _stack_batches(path)
    declined = same = 0
    for _ in range(400):
        b = rng.choice(batches)
        data = bytearray(b.data)
        for _ in range(rng.randint(1, 3)):
            k = rng.randrange(len(data))
            data[k] = rng.choice((0x00, 0x01, 0x03, 0x7F, 0x80, 0xFF, rng.randrange(256)))
        if rng.random() < 0.3:
            data = data[:rng.randrange(1, len(data) + 1)]
        ref = _parsed(bytes(data), b.offset)
        whole = decode_stacks(bytes(data), b.offset)
        if whole is None:
            declined += 1
            continue
        assert _as_parsed(whole) == ref
        same += 1
    assert declined and same  # both kinds of edit occur
