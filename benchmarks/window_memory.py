#!/usr/bin/env python3
"""Where one window's memory goes, stage by stage (issue 18: bounded memory).

    python benchmarks/window_memory.py TRACE [--window K] [--top N]

A big Go 1.22+ trace is diagnosed a window of whole generations at a time (pipeline.plan_windows);
two windows run side by side only while their estimated cost fits the memory allowance
(diagnose/jobs.py: `window_cost`, ~48 bytes a trace byte). This prints, for one window (the
biggest by default; a trace too small to be cut is taken whole):

* after each stage (columns, timelines, graph, features): the memory the stage left live
  (Python and numpy allocations, traced by tracemalloc, plus the column arrays the compiled
  reader allocates outside it), the stage's own traced peak, and the process's peak RSS;
* the live arrays at the end, summed by owner (`cols.*`, `tl.*`, `graph.*`), and the largest.

Figures are this process's; compare `window_cost` for the window's bytes with the peak RSS less
the interpreter's start (printed first).
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from diagnose import pipeline  # noqa: E402
from diagnose.features import extract_from_timelines  # noqa: E402
from diagnose.graph import build_graph  # noqa: E402
from diagnose.jobs import window_cost  # noqa: E402
from diagnose.timeline import build_timelines  # noqa: E402


def _peak_rss_mib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10


def arrays(roots: list[tuple[str, Any]], max_depth: int = 8) -> list[tuple[int, str, str]]:
    """(bytes, path, dtype) of every numpy buffer reachable from `roots` through attributes,
    dicts and short sequences, each buffer counted once (views resolve to their base)."""
    seen: set[int] = set()
    out: list[tuple[int, str, str]] = []

    def walk(obj: Any, path: str, depth: int) -> None:
        if id(obj) in seen or depth > max_depth:
            return
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            base = obj
            while isinstance(base.base, np.ndarray):
                base = base.base
            if base is obj or id(base) not in seen:
                seen.add(id(base))
                out.append((base.nbytes, path, str(obj.dtype)))
            return
        if isinstance(obj, dict):
            items = list(obj.items())
        elif isinstance(obj, (list, tuple)) and len(obj) < 256:
            items = list(enumerate(obj))
        elif hasattr(obj, "__dict__"):
            items = list(vars(obj).items())
        else:
            return
        for k, v in items:
            walk(v, f"{path}.{k}", depth + 1)

    for name, root in roots:
        walk(root, name, 0)
    return sorted(out, key=lambda r: -r[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--window", type=int, default=None, help="window index (default: the biggest)")
    ap.add_argument("--top", type=int, default=20, help="largest arrays to list")
    args = ap.parse_args()

    start = _peak_rss_mib()
    inp = pipeline.open_input(args.trace)
    plan = pipeline.plan_windows(inp)
    window = None
    nbytes = inp.size
    if plan is not None:
        hlen, spans = plan
        k = args.window if args.window is not None else max(range(len(spans)), key=lambda i: spans[i][1] - spans[i][0])
        window = (hlen, *spans[k])
        nbytes = spans[k][1] - spans[k][0]
        print(f"{args.trace}: window {k} of {len(spans)}, {nbytes / 1e6:.1f} MB")
    else:
        print(f"{args.trace}: whole, {nbytes / 1e6:.1f} MB")
    print(f"interpreter at start: {start} MiB; window_cost estimate {window_cost(nbytes) >> 20} MiB")

    tracemalloc.start()
    kernel = [0]

    def stage(name: str, t: float) -> None:
        live, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        print(f"{name:10s} live {(live + kernel[0]) >> 20:5d} MiB (traced {live >> 20}, reader columns "
              f"{kernel[0] >> 20}), stage peak {(peak + kernel[0]) >> 20:5d} MiB, process peak RSS "
              f"{_peak_rss_mib():5d} MiB, {time.process_time() - t:.2f} s CPU")

    t = time.process_time()
    cols = pipeline.read_columns(inp, None, window)
    # the compiled reader's arrays live in its own blocks, outside tracemalloc: count them by size
    kernel[0] = sum(a.nbytes for a in vars(cols).values()
                    if isinstance(a, np.ndarray) and a.base is not None and not isinstance(a.base, np.ndarray))
    stage("columns", t)
    t = time.process_time()
    tl = build_timelines(cols)
    stage("timelines", t)
    t = time.process_time()
    graph = build_graph(tl)
    stage("graph", t)
    t = time.process_time()
    extract_from_timelines(tl, cols.meta, None, graph=graph)
    stage("features", t)

    found = arrays([("cols", cols), ("tl", tl), ("graph", graph)])
    total = sum(b for b, _, _ in found)
    print(f"\nlive arrays at the end: {total >> 20} MiB in {len(found)} "
          f"({total / max(1, len(cols.t)):.0f} bytes an event, {total / nbytes:.1f} a trace byte; "
          f"{len(cols.t):,} events)")
    owners: Counter[str] = Counter()
    for b, path, _ in found:
        owners[".".join(path.split(".")[:2])] += b
    for owner, b in owners.most_common(args.top):
        print(f"  {b >> 20:5d} MiB  {owner}")
    print("largest:")
    for b, path, dtype in found[:args.top]:
        print(f"  {b >> 20:5d} MiB  {path} ({dtype})")


if __name__ == "__main__":
    main()
