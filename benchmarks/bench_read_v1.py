#!/usr/bin/env python3
"""Benchmark: reading an old-format (go 1.21) trace, next to Go 1.27.3's own tool.

Reads every event of a >= 50 MB trace written by Go 1.21.13 with ``diagnose.read.open_trace``
(the old-format path: ``diagnose.read.v1``) and runs, on the same file,
``go tool trace -d=parsed`` (decode + convert + print every event) and
``go tool trace -pprof=net`` (decode + convert + a network-blocking profile).  Each run is a
separate process, so its peak RSS is its own; prints seconds, MB/s, events/s and peak RSS.

    python benchmarks/bench_read_v1.py                  # make (or reuse) the trace, run all
    python benchmarks/bench_read_v1.py --trace FILE     # use an existing old-format trace
    python benchmarks/bench_read_v1.py --min-mb 50 --repeat 1 --json out.json

The trace is made by building ``tests/data/tracev1/prog`` with Go 1.21.13 and running it
(HTTP streaming over 127.0.0.1 + channel ping-pong) until the file is at least --min-mb;
it is kept in ``benchmarks/out/`` (gitignored) and reused.  Go toolchains come from
``tools/gotoolchains.py`` (or a seeded copy under /work/gocache).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "out"
PROG = REPO / "tests" / "data" / "tracev1" / "prog"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def find_go(version: str) -> Path:
    try:
        from tools.gotoolchains import ToolchainUnavailable, go_binary

        try:
            return go_binary(version, install=True)
        except ToolchainUnavailable as exc:
            why = str(exc)
    except ImportError as exc:
        why = f"tools.gotoolchains not importable ({exc})"
    for seed in filter(None, [os.environ.get("NETPOLL_GO_SEED"), "/work/gocache"]):
        go = Path(seed) / version / "bin" / "go"
        if go.exists():
            return go
    sys.exit(f"bench_read_v1: Go {version} unavailable: {why}")


def go_env(version: str) -> dict:
    try:
        from tools.gotoolchains import go_env as _go_env

        return _go_env(version)
    except ImportError:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
        env.update(GOTOOLCHAIN="local", GOFLAGS="", GOPROXY="off", GOENV="off", GOTELEMETRY="off",
                   GOCACHE=str(OUT / "gocache" / version))
        return env


def make_trace(min_mb: float) -> Path:
    """A go1.21.13 trace of at least min_mb megabytes (reused when present)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"bench-go1.21.13-{int(min_mb)}mb.trace"
    if path.exists() and path.stat().st_size >= min_mb * 1e6:
        return path
    go = find_go("1.21.13")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "prog"
        shutil.copytree(PROG, src)
        exe = Path(tmp) / "prog.exe"
        subprocess.run([str(go), "build", "-o", str(exe), "."], cwd=src, env=go_env("1.21.13"),
                       check=True)
        dur = 3.0
        for _ in range(8):
            subprocess.run([str(exe), "-o", str(path), "-d", f"{dur:.1f}s", "-w", "4", "-pp", "4"],
                           check=True, timeout=600)
            size = path.stat().st_size
            print(f"  made {size / 1e6:.1f} MB in a {dur:.1f} s run", file=sys.stderr)
            if size >= min_mb * 1e6:
                break
            dur *= max(1.3, min(4.0, min_mb * 1e6 / max(size, 1) * 1.15))
        else:
            sys.exit("bench_read_v1: could not make a big enough trace")
    if path.read_bytes()[:16] != b"go 1.21 trace\x00\x00\x00":
        sys.exit("bench_read_v1: the trace does not have a go 1.21 header")
    return path


_OURS = r"""
import resource, sys, time
sys.path.insert(0, sys.argv[2])
from diagnose.read import open_trace
t0 = time.perf_counter(); c0 = time.process_time()
r = open_trace(sys.argv[1])
n = 0
for ev in r.events():
    n += 1
t1 = time.perf_counter(); c1 = time.process_time()
print(n, t1 - t0, c1 - c0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, int(r.version))
"""


def run_measured(cmd: list[str], stdout=subprocess.DEVNULL, env=None) -> tuple[float, float, int, bytes]:
    """(wall seconds, cpu seconds, peak RSS in KiB, stdout) of one child process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, env=env)
    out = b""
    if stdout == subprocess.PIPE:
        out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"bench_read_v1: {' '.join(cmd)} failed ({p.returncode}): {err.decode()[-2000:]}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trace", type=Path, help="an existing go 1.11-1.21 trace (default: make one)")
    ap.add_argument("--min-mb", type=float, default=50.0)
    ap.add_argument("--repeat", type=int, default=1, help="runs per tool (the best is reported)")
    ap.add_argument("--no-go", action="store_true", help="skip Go's tool")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)

    path = args.trace or make_trace(args.min_mb)
    size = path.stat().st_size
    head = path.read_bytes()[:16]
    print(f"trace: {path} ({size / 1e6:.1f} MB, header {head[:13].decode(errors='replace')!r})")

    rows = []
    best = None
    for _ in range(args.repeat):
        wall, cpu, rss, out = run_measured([sys.executable, "-c", _OURS, str(path), str(REPO)],
                                           stdout=subprocess.PIPE)
        n, t_in, c_in, _rss_self, ver = out.decode().split()
        cand = (float(t_in), float(c_in), rss, int(n), wall, f"go 1.{ver}")
        print(f"  ours: {int(n)} events in {float(t_in):.1f} s (cpu {float(c_in):.1f} s), peak RSS "
              f"{rss / 1024:.0f} MB", file=sys.stderr)
        if best is None or cand[0] < best[0]:
            best = cand
    t_in, c_in, rss, nevents, wall, ver = best
    rows.append(("netpoll-diagnose open_trace().events()", t_in, c_in, rss))

    if not args.no_go:
        go = find_go("1.27.3")
        env = go_env("1.27.3")
        tool = subprocess.run([str(go), "tool", "-n", "trace"], capture_output=True, text=True, env=env,
                              timeout=900).stdout.strip().splitlines()[-1]
        for label, flag in (("go tool trace -d=parsed (1.27.3)", "-d=parsed"),
                            ("go tool trace -pprof=net (1.27.3)", "-pprof=net")):
            b = None
            for _ in range(args.repeat):
                w, c, r, _ = run_measured([tool, flag, str(path)], env=env)
                if b is None or w < b[0]:
                    b = (w, c, r)
            rows.append((label, *b))

    print(f"events (new model, incl. 2 Sync): {nevents}; format {ver}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs ({platform.python_implementation()} "
          f"{platform.python_version()})")
    print(f"{'reader':42} {'wall s':>8} {'cpu s':>8} {'MB/s':>7} {'events/s':>10} {'peak RSS MB':>12}")
    results = []
    for label, w, c, r in rows:
        mbps = size / 1e6 / w
        eps = nevents / w
        print(f"{label:42} {w:8.1f} {c:8.1f} {mbps:7.2f} {eps:10.0f} {r / 1024:12.0f}")
        results.append(dict(reader=label, wall_s=round(w, 3), cpu_s=round(c, 3), mb_per_s=round(mbps, 3),
                            events_per_s=round(eps), peak_rss_mb=round(r / 1024)))
    if args.json:
        args.json.write_text(json.dumps(dict(trace=str(path), bytes=size, events=nevents, format=ver,
                                             results=results), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
