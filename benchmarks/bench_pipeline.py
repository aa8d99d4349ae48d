#!/usr/bin/env python3
"""Whole commands against Go's own reader, same files, same run (issue: diagnosis at the speed of
Go's reader, in bounded memory, at a terminal too).

    python benchmarks/bench_pipeline.py TRACE... [--repeat 2] [--skip pure]

Each tool runs as its own child process (wall time, user+sys CPU and peak RSS from wait4),
repetitions interleaved:

  go:reader        Go 1.27.3's internal/trace.Reader, every event read (bench_read.py's harness)
  diagnose:json    `netpoll-diagnose T --format json` with stdout on a pipe (windows in parallel
                   processes where the machine allows: diagnose/jobs.py)
  diagnose:json-j1 the same with NETPOLL_DIAGNOSE_JOBS=1 (one window at a time: least memory)
  diagnose:tty     `netpoll-diagnose T` with stderr on a pseudo-terminal (the progress path)
  diagnose:html    `netpoll-diagnose T --format html` (timelines kept for the charts)
  features         `netpoll-diagnose features T --format json`
  diagnose:pure    `diagnose:json` with NETPOLL_DIAGNOSE_PURE=1 (the pure-Python fallback)

Printed per tool: min wall, min CPU (all processes), peak RSS -- the largest of the process's own
peak (wait4) and the sum of the proportional set sizes of it and its worker processes
(sampled at most every 20 ms, and so that the sampler takes at most SAMPLER_DUTY of a core: it
is ~12 ms of CPU a sample with three ~500 MB processes, and competes with our two processes,
not with Go's one thread) -- and the ratio of the min wall to go:reader's.
Make a large trace first: `python tools/regen_fixtures.py --big 1.27.3 --mb 180`. Old formats
(Go <= 1.21; Go's reader converts them as we do): `--big 1.21.13 --mb 60` (issue 18's 66 MB case).
"""
from __future__ import annotations

import argparse
import compileall
import os
import pty
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import bench_read  # noqa: E402  (find_go, build_go_reader, go_env)

ORDER = ("go:reader", "diagnose:json", "diagnose:json-j1", "diagnose:tty", "diagnose:html", "features", "diagnose:pure")


#: the share of one core the RSS sampler may take while a command runs
SAMPLER_DUTY = 0.05


def tree_rss(root: int) -> int:
    """Bytes resident in process `root` and all its descendants now (proportional set size,
    Linux /proc)."""
    parent: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, todo = set(), [root]
    while todo:
        p = todo.pop()
        tree.add(p)
        todo.extend(c for c, pp in parent.items() if pp == p and c not in tree)
    total = 0
    for p in tree:  # PSS: pages shared copy-on-write by the forked workers count once in all
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("Pss:")) * 1024
        except (OSError, ValueError, IndexError, StopIteration):
            continue
    return total


def measure(argv: list[str], env: dict[str, str], stderr_tty: bool = False) -> tuple[float, float, int, int]:
    """(wall s, user+sys s, peak RSS bytes, exit code) of one child; stdout goes to /dev/null."""
    import threading

    master = slave = None
    if stderr_tty:
        master, slave = pty.openpty()
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as dn:
        p = subprocess.Popen(argv, stdout=dn, stderr=slave if stderr_tty else subprocess.DEVNULL, env=env, cwd=REPO)
    peak_sum = [0]
    stop = threading.Event()

    def sample() -> None:
        # A sample reads every process's /proc/N/stat and the tree's smaps_rollup: ~12 ms of
        # CPU with three ~500 MB processes. Taken every 20 ms, as before session 12, the sampler
        # held ~38% of one core, taken from the two-process commands on this 2-core VM (not
        # from Go's one-thread reader): pure Python on the 189 MB trace measured 75.4 s under
        # it, 62.1 s without. It now waits SAMPLER_DUTY^-1 times its own cost between samples.
        wait = 0.02
        while not stop.wait(wait):
            c0 = time.thread_time()
            peak_sum[0] = max(peak_sum[0], tree_rss(p.pid))
            wait = max(0.02, (time.thread_time() - c0) / SAMPLER_DUTY)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    if slave is not None:
        os.close(slave)
        while True:  # drain the pty so the child never blocks on its progress line
            try:
                if not os.read(master, 65536):
                    break
            except OSError:
                break
        os.close(master)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    # ru covers the child and the workers it waited for (CPU summed, maxrss the largest one)
    return wall, ru.ru_utime + ru.ru_stime, max(ru.ru_maxrss * 1024, peak_sum[0]), os.waitstatus_to_exitcode(status)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("traces", nargs="+")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--skip", default="", help="comma-separated tools to leave out (e.g. diagnose:pure)")
    ap.add_argument("--go", help="go command of Go 1.27.3 (default: tools/gotoolchains.py)")
    args = ap.parse_args()
    skip = {s for s in args.skip.split(",") if s}
    env = dict(os.environ, NETPOLL_DIAGNOSE_PROGRESS_DELAY="0", PYTHONPATH=str(REPO))
    env.pop("NETPOLL_DIAGNOSE_PURE", None)
    # An installed package has its bytecode compiled (pip does it); an editable checkout under
    # PYTHONDONTWRITEBYTECODE=1 (as on this VM) would compile ~100 modules from source on every
    # run (~0.15 s), which no user pays twice. Compile once, as an install would.
    compileall.compile_dir(str(REPO / "diagnose"), quiet=1)
    go = bench_read.find_go(args.go)
    goreader = None
    if go is not None and "go:reader" not in skip:
        goreader = bench_read.build_go_reader(go, Path(tempfile.mkdtemp(prefix="bench_pipeline.")))
    nd = [sys.executable, "-m", "diagnose"]
    print(f"machine: {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}, Python {sys.version.split()[0]}, go: {go}")
    for t in args.traces:
        path = str(Path(t).resolve())
        tools: dict[str, tuple[list[str], dict[str, str], bool]] = {
            "diagnose:json": (nd + [path, "--format", "json", "--fail-on", "never"], env, False),
            "diagnose:json-j1": (nd + [path, "--format", "json", "--fail-on", "never"],
                                 dict(env, NETPOLL_DIAGNOSE_JOBS="1"), False),
            "diagnose:tty": (nd + [path, "--fail-on", "never"], env, True),
            "diagnose:html": (nd + [path, "--format", "html", "--fail-on", "never"], env, False),
            "features": (nd + ["features", path, "--format", "json"], env, False),
            "diagnose:pure": (nd + [path, "--format", "json", "--fail-on", "never"],
                              dict(env, NETPOLL_DIAGNOSE_PURE="1"), False),
        }
        if goreader is not None:
            tools["go:reader"] = ([str(goreader), path], bench_read.go_env(), False)
        names = [n for n in ORDER if n in tools and n not in skip]
        runs: dict[str, list[tuple[float, float, int]]] = {n: [] for n in names}
        for rep in range(args.repeat):
            for n in names:
                argv, e, tty = tools[n]
                w, c, rss, code = measure(argv, e, tty)
                ok = code in (0, 1)
                print(f"  rep {rep + 1} {n:<14} {w:8.2f} s  cpu {c:8.2f} s  rss {rss / 2**20:7.0f} MiB"
                      + ("" if ok else f"  FAILED exit {code}"), file=sys.stderr, flush=True)
                if ok:
                    runs[n].append((w, c, rss))
        mb = Path(path).stat().st_size / 1e6
        base = min(r[0] for r in runs["go:reader"]) if runs.get("go:reader") else None
        print(f"\n{Path(path).name}: {mb:.1f} MB")
        print(f"{'tool':<14} {'wall min':>9} {'cpu min':>8} {'peak RSS':>10} {'x go:reader':>11}")
        for n in names:
            if not runs[n]:
                print(f"{n:<14} {'failed':>9}")
                continue
            w = min(r[0] for r in runs[n])
            c = min(r[1] for r in runs[n])
            rss = max(r[2] for r in runs[n])
            ratio = f"{w / base:10.1f}x" if base else "          -"
            print(f"{n:<14} {w:8.2f}s {c:7.2f}s {rss / 2**20:8.0f} MiB {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
