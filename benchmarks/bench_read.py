#!/usr/bin/env python3
"""Reader speed: our reader vs Go's internal/trace Reader on the same traces, same run.

    python benchmarks/bench_read.py TRACE... [--repeat N] [--go PATH] [--no-go]

For each trace, each in its own child process (so peak RSS is that run's):

  ours:read     open_trace(TRACE).events() to the end (every event built, nothing printed)
  ours:dump     `netpoll-diagnose dump TRACE > /dev/null` (events + str(), buffered writes)
  go:reader     Go 1.27.3's internal/trace Reader reading every event (ReadEvent loop).
                internal packages cannot be imported, so its sources are copied into a
                temporary module (imports renamed) and built once per run.
  go:-d=parsed  `go tool trace -d=parsed TRACE > /dev/null` (the oracle; print-bound:
                one fmt.Println per event, unbuffered)

Reported: wall seconds, CPU seconds (user+sys), MB/s and events/s (over wall time), peak RSS.
The best of --repeat runs (by wall time) is shown. Shared machines are noisy: compare the
CPU column too.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ORACLE = "1.27.3"

_CHILD_READ = """
import sys, time
sys.path.insert(0, {repo!r})
from diagnose.read import open_trace
n = 0
for ev in open_trace({path!r}).events():
    n += 1
print(n)
"""

def find_go(explicit: str | None) -> Path | None:
    if explicit:
        return Path(explicit)
    sys.path.insert(0, str(REPO))
    try:
        from tools.gotoolchains import go_binary

        return Path(go_binary(ORACLE))
    except Exception:  # noqa: BLE001 - fall back to a pre-installed copy
        p = Path(f"/work/gocache/{ORACLE}/bin/go")
        return p if p.is_file() else None


def go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOTELEMETRY": "off",
                "CGO_ENABLED": "0"})
    return env


def build_go_reader(go: Path, workdir: Path) -> Path:
    """Go's internal/trace Reader as a command counting the events (tools/goreader.py)."""
    sys.path.insert(0, str(REPO))
    from tools.goreader import build_trace_reader

    env = go_env()
    env["GOCACHE"] = str(workdir / "gocache")
    return build_trace_reader(go, workdir, env)


def run_measured(argv: list[str], stdout=subprocess.PIPE) -> tuple[float, float, int, str]:
    """Run argv; return (wall s, cpu s, peak RSS bytes, stdout text)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, env=go_env())
    out = b""
    if stdout is subprocess.PIPE:
        out = p.stdout.read()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({p.returncode}): {err.decode(errors='replace')[:500]}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024, out.decode()


def best(fn, repeat: int):
    runs = [fn() for _ in range(repeat)]
    return min(runs, key=lambda r: r[0])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("traces", nargs="+")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--go", help="go command of Go 1.27.3 (default: tools/gotoolchains.py)")
    ap.add_argument("--no-go", action="store_true", help="only measure our reader")
    args = ap.parse_args()

    go = None if args.no_go else find_go(args.go)
    tmp = Path(tempfile.mkdtemp(prefix="bench_read."))
    goreader = None
    if go is not None:
        try:
            goreader = build_go_reader(go, tmp)
        except (subprocess.CalledProcessError, OSError) as e:
            print(f"note: could not build Go's internal/trace reader: {e}", file=sys.stderr)
    elif not args.no_go:
        print("note: Go 1.27.3 not available; measuring our reader only", file=sys.stderr)

    print(f"{'trace':<28} {'MB':>6} {'events':>9}  {'tool':<13} {'wall s':>7} {'cpu s':>7} {'MB/s':>7} "
          f"{'events/s':>10} {'peak RSS':>9}")
    try:
        for t in args.traces:
            path = Path(t).resolve()
            size = path.stat().st_size
            mb = size / 1e6
            rows = []
            w, c, rss, out = best(lambda: run_measured(
                [sys.executable, "-c", _CHILD_READ.format(repo=str(REPO), path=str(path))]), args.repeat)
            n = int(out.strip())
            rows.append(("ours:read", w, c, rss))
            with open(os.devnull, "wb") as dn:
                w, c, rss, _ = best(lambda: run_measured(
                    [sys.executable, "-m", "diagnose.cli", "dump", str(path)], stdout=dn), args.repeat)
            rows.append(("ours:dump", w, c, rss))
            if goreader is not None:
                w, c, rss, out = best(lambda: run_measured([str(goreader), str(path)]), args.repeat)
                if int(out.strip()) != n:
                    print(f"note: Go read {out.strip()} events, we read {n}", file=sys.stderr)
                rows.append(("go:reader", w, c, rss))
            if go is not None:
                with open(os.devnull, "wb") as dn:
                    w, c, rss, _ = best(lambda: run_measured([str(go), "tool", "trace", "-d=parsed", str(path)],
                                                             stdout=dn), args.repeat)
                rows.append(("go:-d=parsed", w, c, rss))
            for tool, w, c, rss in rows:
                print(f"{path.name[:28]:<28} {mb:6.2f} {n:9d}  {tool:<13} {w:7.2f} {c:7.2f} {mb / w:7.2f} "
                      f"{n / w:10.0f} {rss / 2**20:7.0f}MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
