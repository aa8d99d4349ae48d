"""The compiled old-format path (timeline/kernel_v1.py + read/v1/_v1fast.c) against the reference.

The reference is ``build_columns(open_trace(path).events())`` plus the reader's meta, with
NETPOLL_DIAGNOSE_PURE=1 (what ``load_columns`` then computes): the pure-Python decoder
(read/v1/parser.py without ``_v1fast.decode_events``) and Python ``Event``s from the v1
converter, one row each. The kernel must give the same TraceColumns, array for array, or the
same TraceError, on:

* every go1.19 / go1.21 fixture trace (fixtures/traces), the tracev1 test data (our program's
  traces and Go's own old-format test traces: tasks, regions, logs, CPU samples, 1.11 ones)
  and the hostile old-format inputs (tests/data/hostile/v1*);
* cut files (before the footer: the error, or with an assumed tick rate the salvaged prefix;
  inside the stack table: the warnings and the stacks lost) and corrupted files (byte edits).

The kernel must also be what runs: on the real fixtures it never declines (falls back).
"""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from diagnose.read import version
from diagnose.timeline import kernel as fast
from diagnose.timeline import kernel_v1
from tests.test_read_fast import differences, kernel, reference

REPO = Path(__file__).resolve().parent.parent
TRACES = REPO / "fixtures" / "traces"
FIXTURES = sorted(TRACES.glob("*go1.19*.trace")) + sorted(TRACES.glob("*go1.21*.trace"))
V1DATA = REPO / "tests" / "data" / "tracev1"
EXTRA = (sorted((V1DATA / "fixtures").glob("*.trace")) + sorted((V1DATA / "go-testdata").glob("*_good"))
         + sorted((REPO / "tests" / "data" / "hostile").glob("v1*.trace")))
#: the smallest fixture of each old format, for the per-variant tests
SMALL = [min(TRACES.glob(f"*go1.{v}*.trace"), key=lambda p: p.stat().st_size) for v in (19, 21)]

needs_kernel = pytest.mark.skipif(kernel_v1._v1fast is None, reason="the compiled old-format kernel (_v1fast) "
                                  "is not built (python setup.py build_ext --inplace)")


@pytest.fixture(autouse=True)
def _kernel_on(monkeypatch):
    monkeypatch.delenv(fast.PURE_ENV, raising=False)
    monkeypatch.delenv("NETPOLL_DIAGNOSE_V1_TICKS_PER_SEC", raising=False)


@pytest.fixture()
def declines(monkeypatch) -> list[str]:
    """Names the traces (by call) on which the kernel declined and the reference ran."""
    out: list[str] = []
    real_chunk, real_intern = kernel_v1._v1fast.convert_chunk, kernel_v1._intern

    def chunk(*a):
        r = real_chunk(*a)
        if r is None:
            out.append("rows")
        return r

    def intern(*a):
        r = real_intern(*a)
        if not r:
            out.append("intern")
        return r

    monkeypatch.setattr(kernel_v1._v1fast, "convert_chunk", chunk)
    monkeypatch.setattr(kernel_v1, "_intern", intern)
    return out


def pure_reference(path) -> tuple[str, object]:
    """The reference with NETPOLL_DIAGNOSE_PURE=1: no compiled code in the decoder either."""
    import os

    old = os.environ.get(fast.PURE_ENV)
    os.environ[fast.PURE_ENV] = "1"
    try:
        return reference(path)
    finally:
        if old is None:
            del os.environ[fast.PURE_ENV]
        else:
            os.environ[fast.PURE_ENV] = old


def same_outcome(path) -> str:
    """'ok' / 'warned' / 'err' when the kernel path and the pure reference agree exactly."""
    k, r = kernel(path), pure_reference(path)
    assert k[0] == r[0], f"kernel: {k[0]} {str(k[1])[:300]}; reference: {r[0]} {str(r[1])[:300]}"
    if k[0] == "err":
        assert k[1] == r[1]
        return "err"
    assert differences(k[1], r[1]) == []
    return "warned" if k[1].meta.get("warnings") else "ok"


@needs_kernel
@pytest.mark.parametrize("path", FIXTURES + EXTRA, ids=lambda p: str(p.relative_to(REPO)))
def test_columns_identical(path, declines):
    assert same_outcome(path) in ("ok", "warned")
    # a store that holds a value past int64 (one of our program's 1.19 traces) is a plain list:
    # only then does the kernel leave the trace to the reference
    if path.name != "prog_go1.19.8.trace":
        assert declines == []


def _footer_offset(data: bytes) -> int:
    """Where the EvFrequency footer starts (the batches end there)."""
    from diagnose.read.v1 import parser

    hlen = version.parse_header(data[:64])[1]
    for off, typ, *_ in parser.walk_records(data, hlen):
        if typ == parser.EvFrequency:
            return off
    raise AssertionError("no EvFrequency record")


@needs_kernel
@pytest.mark.parametrize("path", SMALL, ids=lambda p: p.name)
def test_cut_files_identical(path, tmp_path, monkeypatch, declines):
    """Cut before the footer (the error; with an assumed tick rate, the salvaged prefix) and
    inside the stack table (warnings, stacks lost): the same outcome."""
    data = path.read_bytes()
    hlen = version.parse_header(data[:64])[1]
    footer = _footer_offset(data)
    rnd = random.Random(7)
    before = sorted({hlen, hlen + 1, footer - 1, footer} | {rnd.randrange(hlen, footer) for _ in range(5)})
    inside = sorted({footer + 2, len(data) - 1} | {rnd.randrange(footer + 2, len(data)) for _ in range(5)})
    p = tmp_path / "cut.trace"
    seen = []
    for cut in before + inside:
        p.write_bytes(data[:cut])
        seen.append(same_outcome(p))
    monkeypatch.setenv("NETPOLL_DIAGNOSE_V1_TICKS_PER_SEC", "15625000")
    for cut in before:
        p.write_bytes(data[:cut])
        seen.append(same_outcome(p))
    assert "err" in seen and "warned" in seen, seen
    assert declines == []


@needs_kernel
@pytest.mark.parametrize("path", SMALL, ids=lambda p: p.name)
def test_corrupted_files_identical(path, tmp_path):
    """Byte edits anywhere after the header: the same columns or the same TraceError."""
    data = path.read_bytes()
    hlen = version.parse_header(data[:64])[1]
    rnd = random.Random(len(data))
    p = tmp_path / "bad.trace"
    outcomes = []
    for i in range(40):
        b = bytearray(data)
        for _ in range(1 + i % 3):
            pos = rnd.randrange(hlen, len(b))
            b[pos] = rnd.choice((rnd.randrange(256), b[pos] ^ (1 << rnd.randrange(8))))
        p.write_bytes(bytes(b))
        outcomes.append(same_outcome(p))
    assert outcomes.count("err") >= 5 and outcomes.count("ok") + outcomes.count("warned") >= 5, outcomes


@needs_kernel
def test_pure_setting_and_missing_module_use_the_reference(monkeypatch):
    path = SMALL[1]
    monkeypatch.setenv(fast.PURE_ENV, "1")
    assert fast.read_columns(path) is None
    monkeypatch.delenv(fast.PURE_ENV)
    built = kernel_v1._v1fast
    monkeypatch.setattr(kernel_v1, "_v1fast", None)
    assert fast.read_columns(path) is None
    # back to the module as built, the setting still cleared (an undo() would bring back a
    # NETPOLL_DIAGNOSE_PURE=1 the whole run was started with)
    monkeypatch.setattr(kernel_v1, "_v1fast", built)
    assert fast.read_columns(path) is not None


@needs_kernel
def test_event_cap_same_error(monkeypatch):
    """Past NETPOLL_DIAGNOSE_MAX_EVENTS both paths refuse the trace with the same message."""
    monkeypatch.setenv("NETPOLL_DIAGNOSE_MAX_EVENTS", "50")
    assert same_outcome(SMALL[0]) == "err"


def _store_ints(store) -> bytes | list:
    """The decoded events in the int64 E_* layout, whatever the store (the compiled path packs
    them in 40 bytes an event: read/v1/packed.py; the pure path keeps int64)."""
    from diagnose.read.v1.packed import Packed

    if isinstance(store, Packed):
        return bytes(store.widen())
    return bytes(store) if not isinstance(store, list) else store


def _decoded(data: bytes, ver: int, pure: bool, monkeypatch) -> tuple:
    """Everything parser._Decoder.run leaves (or its error), with or without the compiled decoder."""
    from diagnose.errors import TraceError
    from diagnose.read.v1 import parser

    if pure:
        monkeypatch.setenv(fast.PURE_ENV, "1")
    try:
        d = parser._Decoder(data, ver, 16, salvage=True)
        try:
            d.run()
        except TraceError as e:
            return ("err", e.message, e.offset)
        return (_store_ints(d.store), d.strings, d.stacks, d.pcs,
                d.pc_offsets, d.string_refs, d.inline_strings, d.proc_events, d.cpu_samples, d.timer_goids,
                d.ticks_per_sec, d.end_off, d.cut_message, d.warnings)
    finally:
        monkeypatch.delenv(fast.PURE_ENV, raising=False)


@needs_kernel
@pytest.mark.parametrize("path", SMALL + [p for p in EXTRA if "user_task" in p.name or "pprof" in p.name],
                         ids=lambda p: p.name)
def test_compiled_decoder_identical(path, monkeypatch):
    """parser._Decoder with _v1fast.decode_events (runs of plain events in C) leaves exactly what
    the pure decoder leaves -- the store, tables, first string references, batches, cut point --
    or raises the same error, on the file, cut files and byte edits."""
    from diagnose.read.v1 import parser

    data = path.read_bytes()
    ver = version.parse_header(data[:64])[0]
    for v in _variants(data, random.Random(11), 12):
        assert _decoded(v, ver, False, monkeypatch) == _decoded(v, ver, True, monkeypatch)
    # room for one string id a call and one event a call: the C decoder stops (and resumes) at
    # every record where it is full
    for name in ("_FAST_REFS", "_FAST_EVENTS"):
        monkeypatch.setattr(parser, name, 1)
        assert _decoded(data, ver, False, monkeypatch) == _decoded(data, ver, True, monkeypatch)
        monkeypatch.undo()


def _variants(data: bytes, rnd: random.Random, edits: int) -> list[bytes]:
    """The file, 4 cuts of it and `edits` files with one byte changed (after the header)."""
    out = [data] + [data[:rnd.randrange(16, len(data))] for _ in range(4)]
    for _ in range(edits):
        b = bytearray(data)
        b[rnd.randrange(16, len(b))] = rnd.randrange(256)
        out.append(bytes(b))
    return out


def _parsed(data: bytes, ver: int, pure: bool, monkeypatch) -> tuple:
    """What parser.parse returns (or its error), with or without the compiled parts."""
    from diagnose.errors import TraceError
    from diagnose.read.v1 import parser

    if pure:
        monkeypatch.setenv(fast.PURE_ENV, "1")
    try:
        tr = parser.parse(data, ver, 16, salvage=True, ticks_per_sec=15625000)
    except TraceError as e:
        return ("err", e.message, e.offset)
    finally:
        monkeypatch.delenv(fast.PURE_ENV, raising=False)
    return (_store_ints(tr.store), bytes(tr.order), tr.stacks, tr.strings, tr.warnings, tr.lost_bytes, tr.missing_stacks)


@needs_kernel
@pytest.mark.parametrize("path", SMALL + [p for p in EXTRA if "user_task" in p.name or "pprof" in p.name
                                          or "stress_1" in p.name], ids=lambda p: p.name)
def test_compiled_parse_identical(path, monkeypatch):
    """parser.parse with the compiled decoder and merge (_v1fast.merge_order: the merge loop in
    C; stuck orderings, time-order cuts, bad syscall exits and parking stay in Python) returns
    exactly what the pure parse returns -- store, order, tables, warnings -- or the same error,
    on the file, cut files (salvaged with an assumed tick rate) and byte edits."""
    data = path.read_bytes()
    ver = version.parse_header(data[:64])[0]
    outcomes = set()
    for v in _variants(data, random.Random(5), 16):
        got = _parsed(v, ver, False, monkeypatch)
        assert got == _parsed(v, ver, True, monkeypatch)
        outcomes.add("err" if got[0] == "err" else "warned" if got[4] else "ok")
    assert "ok" in outcomes


def test_kernel_constants_come_from_python():
    """_v1fast.c takes its constants from the generated header (which test_read_fast checks is
    what tools/gen_fastwire_header.py writes from the Python definitions) -- none copied."""
    c_src = (REPO / "diagnose" / "read" / "v1" / "_v1fast.c").read_text()
    assert '#include "../_fastwire_tables.h"' in c_src
    for copied in ("V1_EvGoStart = 14", "EvGoStatus = 25", "V1_BLOCKED = 256", "V1_TimerP = 1000001", "K_STATE = 13",
                   "V1_G_RUNNING = 2", "SK_STACK = 4"):
        assert copied not in c_src, f"hand-copied constant in _v1fast.c: {copied}"
