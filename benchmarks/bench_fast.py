#!/usr/bin/env python3
"""The compiled reader kernel vs our pure-Python reader vs Go's tools: same files, same run.

    python benchmarks/bench_fast.py TRACE... [--repeat 3] [--heavy-repeat 1] [--skip pure,pprof]

Make a large trace first (not committed; ~2 minutes of a busy fixture server):

    python tools/regen_fixtures.py --big 1.27.3 --mb 180      # -> benchmarks/out/

Each (trace, tool) runs as its own child process (wall time, user+sys CPU and peak RSS from
wait4), repetitions interleaved (rep 1 of every tool, then rep 2, ...):

  fast:columns  diagnose.timeline.kernel.read_columns(TRACE): every event read, ordered, validated
                and turned into the TraceColumns arrays (what load_columns returns)
  fast:count    the same kernel keeping no rows (count_events): read + order + validate
  pure:read     our pure-Python reader: open_trace(TRACE).events() to the end (the reference;
                slow: --heavy-repeat times)
  go:reader     Go 1.27.3's internal/trace.Reader, ReadEvent loop counting events (its sources
                copied into a temporary module, see bench_read.py)
  go:pprof=net  `go tool trace -pprof=net TRACE > /dev/null` (Reader + all events kept +
                summaries; --heavy-repeat times: 14 GiB of RSS on a 180 MB trace)

Printed per tool: min and median wall seconds, min CPU seconds, MB/s and events/s (min wall;
events = Go's Reader count, which fast:count and pure:read must equal), peak RSS, and the
paired ratio to go:reader (per repetition, median). Shared machines are noisy: trust the min
times, the CPU column and the paired ratio over single numbers.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import bench_read  # noqa: E402  (find_go, build_go_reader, go_env: the Go Reader harness)

_CHILD = {
    "fast:columns": "from diagnose.timeline.kernel import read_columns\nc = read_columns({path!r})\n"
                    "print(-1 if c is None else len(c))",
    "fast:count": "from diagnose.timeline.kernel import count_events\nn = count_events({path!r})\n"
                  "print(-1 if n is None else n)",
    "pure:read": "from diagnose.read import open_trace\nn = 0\nfor _ in open_trace({path!r}).events():\n"
                 "    n += 1\nprint(n)",
}
HEAVY = ("pure:read", "go:pprof=net")
ORDER = ("go:reader", "fast:count", "fast:columns", "pure:read", "go:pprof=net")


def run(argv: list[str], env: dict[str, str], stdout=subprocess.PIPE) -> tuple[float, float, int, str]:
    """(wall s, user+sys s, peak RSS bytes, stdout) of one child process; stdout "FAILED: ..."
    when it failed (e.g. killed by the OOM killer: Go's -pprof=net on big traces)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, env=env, cwd=REPO)
    out = p.stdout.read() if stdout is subprocess.PIPE else b""
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        why = err.decode(errors="replace").strip().splitlines()[-1:] or [f"exit {code}"]
        return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024, f"FAILED: {why[0][:200]}"
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024, out.decode().strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("traces", nargs="+")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--heavy-repeat", type=int, default=1, help="repetitions of pure:read and go:pprof=net")
    ap.add_argument("--skip", default="", help="comma-separated tools to leave out (e.g. pure:read,go:pprof=net)")
    ap.add_argument("--go", help="go command of Go 1.27.3 (default: tools/gotoolchains.py)")
    ap.add_argument("--pprof-max-mb", type=float, default=120,
                    help="skip go:pprof=net above this trace size: it needs ~100x the trace in RAM "
                         "(killed by the OOM killer at 21 GB on a 189 MB trace here)")
    args = ap.parse_args()
    skip = {s for s in args.skip.split(",") if s}

    env = bench_read.go_env()
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("NETPOLL_DIAGNOSE_PURE", None)
    go = bench_read.find_go(args.go)
    tmp = Path(tempfile.mkdtemp(prefix="bench_fast."))
    goreader = None
    if go is not None and "go:reader" not in skip:
        try:
            goreader = bench_read.build_go_reader(go, tmp)
        except (subprocess.CalledProcessError, OSError) as e:
            print(f"note: could not build Go's internal/trace reader: {e}", file=sys.stderr)
    sys.path.insert(0, str(REPO))
    from diagnose.timeline import kernel as fast

    print(f"machine: {os.cpu_count()} cpus, Python {sys.version.split()[0]}, kernel built: "
          f"{fast._fastwire is not None}, go: {go}")
    try:
        for t in args.traces:
            path = Path(t).resolve()
            mb = path.stat().st_size / 1e6
            argvs: dict[str, list[str]] = {}
            if goreader is not None:
                argvs["go:reader"] = [str(goreader), str(path)]
            for tool, code in _CHILD.items():
                argvs[tool] = [sys.executable, "-c", code.format(path=str(path))]
            if go is not None and mb <= args.pprof_max_mb:
                argvs["go:pprof=net"] = [str(go), "tool", "trace", "-pprof=net", str(path)]
            tools = [x for x in ORDER if x in argvs and x not in skip]
            runs: dict[str, list[tuple[float, float, int]]] = {x: [] for x in tools}
            counts: dict[str, str] = {}
            failed: dict[str, str] = {}
            for rep in range(max(args.repeat, args.heavy_repeat)):
                for tool in tools:
                    if rep >= (args.heavy_repeat if tool in HEAVY else args.repeat):
                        continue
                    if tool == "go:pprof=net":
                        with open(os.devnull, "wb") as dn:
                            w, c, rss, out = run(argvs[tool], env, stdout=dn)
                    else:
                        w, c, rss, out = run(argvs[tool], env)
                    if out.startswith("FAILED"):
                        failed[tool] = f"{out} after {w:.1f} s at {rss / 2**20:.0f} MiB RSS"
                    else:
                        if tool != "go:pprof=net":
                            counts[tool] = out
                        runs[tool].append((w, c, rss))
                    print(f"  rep {rep + 1} {tool:<13} {w:8.2f} s  cpu {c:8.2f} s  rss {rss / 2**20:8.0f} MiB"
                          + (f"  {out}" if out.startswith("FAILED") else ""), file=sys.stderr, flush=True)
            n = int(counts.get("go:reader", counts.get("fast:count", "0")) or 0)
            mism = {k: v for k, v in counts.items() if v and int(v) not in (n, -1)}
            print(f"\n{path.name}: {mb:.1f} MB, {n:,} events (Go's Reader)"
                  + (f"  MISMATCH: {mism}" if mism else ""))
            print(f"{'tool':<13} {'n':>2} {'wall min':>9} {'median':>8} {'cpu min':>8} {'MB/s':>7} {'Mev/s':>7} "
                  f"{'peak RSS':>10} {'x go:reader':>11}")
            base = [r[0] for r in runs.get("go:reader", [])]
            for tool in tools:
                rs = runs[tool]
                if not rs:
                    print(f"{tool:<13} {failed.get(tool, 'no run')}")
                    continue
                walls = [r[0] for r in rs]
                wmin = min(walls)
                ratio = ""
                if base:
                    ratio = f"{statistics.median(w / b for w, b in zip(walls, base)):10.2f}x"
                if tool in failed:
                    ratio += f"  (and {failed[tool]})"
                rss = statistics.median(r[2] for r in rs)
                print(f"{tool:<13} {len(rs):>2} {wmin:9.2f} {statistics.median(walls):8.2f} "
                      f"{min(r[1] for r in rs):8.2f} {mb / wmin:7.1f} {n / wmin / 1e6:7.2f} "
                      f"{rss / 2**20:8.0f}Mi {ratio:>11}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
