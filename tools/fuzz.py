#!/usr/bin/env python3
"""Coverage-guided fuzzing of the trace reader: both paths, compared.

    python tools/fuzz.py --seconds 120                 # the CI smoke run (.ci/run)
    python tools/fuzz.py --seconds 36000 --runs 1000000 --corpus .fuzz/corpus   # a long run
    python tools/fuzz.py --replay FILE...              # run the target on saved inputs

Each input is written to a file and read twice: by the compiled kernel
(``diagnose.timeline.kernel.read_columns``) and by the pure-Python reference
(``load_columns`` with ``NETPOLL_DIAGNOSE_PURE``). A finding is any of:

* an exception other than ``TraceError`` from either path (a crash);
* a ``TraceError`` whose message is the reader's blanket "corrupt trace: <Python exception>"
  (our bug dressed as bad input: the reader should have named the bytes);
* the two paths disagreeing: different columns, or different errors (message and offset);
* a run over ``--timeout`` seconds or ``--rss-mb`` MB (libFuzzer's own limits).

The engine is atheris (libFuzzer for Python: coverage of the instrumented ``diagnose.read``
and ``diagnose.timeline`` modules guides the mutations). Seeds: the small fixture traces
(new and old formats), Go's old-format test traces and the reproducers under
``tests/data/repro``; ``--corpus DIR`` keeps what the run learnt for the next one. A crash
is saved as ``crash-*`` in ``--artifacts`` (default ``.fuzz/``): copy it into
``tests/data/fuzz/`` and the regression test (tests/test_read_hostile.py) checks it forever.

Without atheris (``pip install atheris``) the same target runs under a plain random mutator
(no coverage feedback), so the smoke run still means something.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SEED_GLOBS = ("fixtures/traces/*.trace", "fixtures/examples/*.trace", "tests/data/tracev1/go-testdata/*_good",
              "tests/data/repro/*.trace", "tests/data/fuzz/*")
MAX_LEN = 16384


class Finding(Exception):
    """What the fuzzer reports: a crash, a disguised bug, or the two paths disagreeing."""


def seeds(max_len: int = MAX_LEN) -> list[Path]:
    out = []
    for g in SEED_GLOBS:
        out += [p for p in sorted(REPO.glob(g)) if p.is_file() and p.stat().st_size <= max_len]
    return out


class Target:
    """Reads one input with both paths and compares them (see the module docstring)."""

    def __init__(self, scratch: Path) -> None:
        self.path = scratch / "input.trace"

    def _outcome(self, pure: bool):
        from diagnose.errors import TraceError
        from diagnose.timeline.kernel import read_columns
        from diagnose.timeline import load_columns

        try:
            if pure:
                os.environ["NETPOLL_DIAGNOSE_PURE"] = "1"
                try:
                    return "cols", load_columns(str(self.path))
                finally:
                    del os.environ["NETPOLL_DIAGNOSE_PURE"]
            cols = read_columns(str(self.path))
            return ("declined", None) if cols is None else ("cols", cols)
        except TraceError as e:
            if e.message.startswith("corrupt trace: "):
                raise Finding(f"{'pure' if pure else 'kernel'}: a Python exception called corrupt input: "
                              f"{e.one_line()}") from None
            return "error", (e.message, e.offset)

    def __call__(self, data: bytes) -> None:
        self.path.write_bytes(data)
        kernel = self._outcome(pure=False)
        if kernel[0] == "declined" and not data.startswith((b"go 1.22", b"go 1.23", b"go 1.25", b"go 1.26")):
            kernel = None  # formats the kernel does not read
        pure = self._outcome(pure=True)
        if kernel is None or kernel[0] == "declined":
            return
        if kernel[0] != pure[0]:
            raise Finding(f"paths disagree: kernel {kernel[0]} {_short(kernel[1])}, pure {pure[0]} {_short(pure[1])}")
        if kernel[0] == "error":
            if kernel[1] != pure[1]:
                raise Finding(f"paths give different errors: kernel {kernel[1]}, pure {pure[1]}")
            return
        diff = columns_diff(kernel[1], pure[1])
        if diff:
            raise Finding(f"paths give different columns: {diff}")


def _short(x) -> str:
    if isinstance(x, tuple):
        return repr(x)
    return f"({len(x)} rows)" if x is not None else ""


def columns_diff(a, b) -> str:
    """'' when two TraceColumns hold the same rows, tables and reader facts."""
    import numpy as np

    from diagnose.timeline.columns import _COLS

    for name, _, _ in _COLS:
        x, y = getattr(a, name), getattr(b, name)
        if x.shape != y.shape or not np.array_equal(x, y):
            return f"column {name}"
    for name in ("strings",):
        if getattr(a, name) != getattr(b, name):
            return name
    for name in ("frame_pc", "frame_func", "frame_file", "frame_line", "stack_off", "stack_frames"):
        if not np.array_equal(getattr(a, name), getattr(b, name)):
            return name
    for k in ("lost_bytes", "warnings", "truncated", "incomplete", "format_minor"):
        if a.meta.get(k) != b.meta.get(k):
            return f"meta {k}: {a.meta.get(k)!r} != {b.meta.get(k)!r}"
    return ""


def run_atheris(target: Target, a: argparse.Namespace, corpus: Path) -> int:
    import atheris

    with atheris.instrument_imports(include=["diagnose.read"]):
        import diagnose.read  # noqa: F401
        import diagnose.timeline.kernel  # noqa: F401
        import diagnose.read.v1  # noqa: F401
        import diagnose.timeline  # noqa: F401

    def one(data: bytes) -> None:
        target(data)

    a.artifacts.mkdir(parents=True, exist_ok=True)
    args = [sys.argv[0], str(corpus), f"-max_len={a.max_len}", f"-timeout={a.timeout}", f"-rss_limit_mb={a.rss_mb}",
            f"-artifact_prefix={a.artifacts}/", "-print_final_stats=1"]
    if a.seconds:
        args.append(f"-max_total_time={a.seconds}")
    if a.runs:
        args.append(f"-runs={a.runs}")
    atheris.Setup(args, one)
    atheris.Fuzz()  # exits the process: 0 when done, non-zero on a finding
    return 0


def mutate(rng: random.Random, data: bytes, max_len: int) -> bytes:
    """A plain mutator (no coverage): flips, overwrites, cuts, splices varint-ish bytes."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        if not b:
            break
        i = rng.randrange(len(b))
        if op == 0:
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            b[i] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))
        elif op == 2:
            del b[i:]
        elif op == 3:
            b[i:i] = bytes(rng.choice((0x80, 0xFF, 0x01)) for _ in range(rng.randint(1, 10)))
        else:
            j = rng.randrange(len(b))
            b[i:i + 8] = b[j:j + 8]
    return bytes(b[:max_len])


def run_random(target: Target, a: argparse.Namespace, pool: list[bytes]) -> int:
    rng = random.Random(a.seed)
    end = time.monotonic() + (a.seconds or 1e12)
    n = 0
    while time.monotonic() < end and (not a.runs or n < a.runs):
        data = mutate(rng, rng.choice(pool), a.max_len)
        t0 = time.monotonic()
        try:
            target(data)
        except Exception as e:  # every escape is a finding here, as it would be for atheris
            save = a.artifacts / f"crash-random-{n}"
            a.artifacts.mkdir(parents=True, exist_ok=True)
            save.write_bytes(data)
            print(f"FINDING ({type(e).__name__}): {e}\n  input saved as {save}", file=sys.stderr)
            return 1
        if time.monotonic() - t0 > a.timeout:
            save = a.artifacts / f"timeout-random-{n}"
            save.write_bytes(data)
            print(f"FINDING: {time.monotonic() - t0:.1f} s on {save}", file=sys.stderr)
            return 1
        n += 1
    print(f"random mutator: {n} inputs, no finding")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=120, help="stop after this long (0: no limit)")
    ap.add_argument("--runs", type=int, default=0, help="stop after this many inputs (0: no limit)")
    ap.add_argument("--corpus", type=Path, help="keep the corpus here (default: a temporary copy of the seeds)")
    ap.add_argument("--artifacts", type=Path, default=REPO / ".fuzz")
    ap.add_argument("--max-len", type=int, default=MAX_LEN)
    ap.add_argument("--timeout", type=int, default=10, help="seconds per input before it is a finding")
    ap.add_argument("--rss-mb", type=int, default=1024)
    ap.add_argument("--random", action="store_true", help="use the plain mutator even if atheris is installed")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--replay", nargs="+", type=Path, help="run the target on these inputs and stop")
    a = ap.parse_args()
    a.artifacts = a.artifacts.resolve()
    with tempfile.TemporaryDirectory(prefix="netpoll-fuzz-") as tmp:
        target = Target(Path(tmp))
        if a.replay:
            bad = 0
            for p in a.replay:
                try:
                    target(p.read_bytes())
                    print(f"ok {p}")
                except Exception as e:  # a crash is a finding too
                    bad += 1
                    print(f"FINDING {p}: {type(e).__name__}: {e}")
            return 1 if bad else 0
        corpus = a.corpus or Path(tmp) / "corpus"
        corpus.mkdir(parents=True, exist_ok=True)
        for s in seeds(a.max_len):
            dst = corpus / f"seed-{s.parent.name}-{s.name}"
            if not dst.exists():
                shutil.copyfile(s, dst)
        try:
            import atheris  # noqa: F401
        except ImportError:
            a.random = True
        if a.random:
            return run_random(target, a, [p.read_bytes() for p in sorted(corpus.iterdir())])
        return run_atheris(target, a, corpus)


if __name__ == "__main__":
    sys.exit(main())
