#!/usr/bin/env python3
"""What attaching strace (as `netpoll-diagnose capture` does) costs a streaming server.

Runs fixture servers (tools/regen_fixtures.py's harness, 127.0.0.1) with and without
`strace -f -p` attached and prints the client-measured chunk latency and throughput over the
traced window. Figures, not assertions:

    NETPOLL_GO_CACHE=.go .venv/bin/python benchmarks/bench_capture_overhead.py [--go 1.27.3] [--runs 2]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import gotoolchains as gt  # noqa: E402
import regen_fixtures as rf  # noqa: E402
import strace_fixtures as sf  # noqa: E402

CASES = ["healthy:light", "healthy:heavy", "healthy:tls"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--go", default="1.27.3")
    ap.add_argument("--runs", type=int, default=1)
    a = ap.parse_args()
    bindir = rf.build_all(a.go, gt.go_binary(a.go), log=False)
    print(f"{'case':16s} {'strace':6s} {'chunks':>7s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}")
    for case in rf.select_cases(CASES):
        for with_strace in (False, True):
            for _ in range(a.runs):
                with tempfile.TemporaryDirectory() as d:
                    hook = sf.attach_strace(Path(d) / "log") if with_strace else None
                    res = rf.run_case(bindir, case, 1.0, Path(d) / "t.trace", attach=hook)["result"]["window"]
                lat = res["latency_ms"]
                print(f"{case.key:16s} {'yes' if with_strace else 'no':6s} {res['chunks']:7d} {lat['p50']:8.2f} "
                      f"{lat['p95']:8.2f} {lat['p99']:8.2f} {lat['max']:8.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
