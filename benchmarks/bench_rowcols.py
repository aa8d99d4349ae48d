#!/usr/bin/env python3
"""The pure column builder alone: CPU of `timeline.rowcols.build_from_chunks` over a trace's raw
rows read beforehand (the reader's chunks, kept in memory), the best of --repeat runs.

    python benchmarks/bench_rowcols.py TRACE... [--repeat N] [--chunk ROWS]

What NETPOLL_DIAGNOSE_PURE=1 spends turning rows into columns, without the reading (the reader
decodes the rows; `bench_read.py` times that). Reported per trace: rows, CPU seconds, ns a row.
"""
from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from diagnose.read import open_trace  # noqa: E402
from diagnose.timeline import rowcols  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("traces", nargs="+")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--chunk", type=int, default=4096, help="rows a chunk (the reader's RAW_CHUNK_ROWS)")
    a = ap.parse_args()
    for path in a.traces:
        with open_trace(path) as tr:
            rows = list(tr.raw_events())
        chunks = [rows[i:i + a.chunk] for i in range(0, len(rows), a.chunk)]
        best = float("inf")
        gc.disable()  # as the reader has it while the rows are built
        try:
            for _ in range(a.repeat):
                t0 = time.process_time()
                cols = rowcols.build_from_chunks(chunks)
                best = min(best, time.process_time() - t0)
                del cols
        finally:
            gc.enable()
        print(f"{path}: {len(rows)} rows, {best:.3f} s CPU, {best / max(len(rows), 1) * 1e9:.0f} ns a row")


if __name__ == "__main__":
    main()
