#!/usr/bin/env python3
"""Hostile inputs: wall time and peak RSS of every reader entry on each input.

    python benchmarks/bench_hostile.py [FILE...] [--timeout S] [--entries open_trace,kernel,...]
    python benchmarks/bench_hostile.py --sparse          # adds the 2 GB sparse files
    python benchmarks/bench_hostile.py FILE... --commands all [--paths kernel,pure]
    python benchmarks/bench_hostile.py --generate 10 --commands all   # tools/gen_hostile.py kinds

Without FILE, the reproducers under tests/data/repro/ (the reliability issue's set). Each
(entry, file) runs in its own child process (peak RSS is that run's), killed after
--timeout seconds (default 60). Entries:

  open_trace   open_trace(FILE).events() to the end, pure Python (NETPOLL_DIAGNOSE_PURE=1)
  kernel       diagnose.timeline.kernel.read_columns(FILE): the compiled kernel (v2 formats)
  columns      diagnose.timeline.load_columns(FILE): what every command reads through
  features     load_columns + timelines + graph + features (the whole reading side)

``--commands`` runs whole commands instead (``python -m diagnose ...``, output to /dev/null),
each on the kernel path and with NETPOLL_DIAGNOSE_PURE=1 (``--paths``): T-json, T-text,
T-html (the main command in each format), diff (the file against itself), inspect, dump,
features, profile, rules-test (a shipped rule whose one test case is the file). The outcome is
the exit code and the last stderr line.
``--generate MB`` adds, in a temporary folder, one file of each tools/gen_hostile.py kind of
about MB megabytes (the old-format kinds ``v1dense``, ``v1goroutines``, ``v1procs`` among them: the kernel
declines those, so both paths run the pure-Python v1 reader).

Printed per run: the outcome (events / "error: <one line>" / TIMEOUT), wall s, peak RSS MB.
``--sparse`` adds, in a temporary folder, a 2 GB sparse file for each header (go 1.21
old format, go 1.22, go 1.26): the case where reading the file whole took 4.1 GB.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_CHILD = r"""
import sys
sys.path.insert(0, {repo!r})
from diagnose.errors import TraceError
path = {path!r}
try:
    if {entry!r} == "open_trace":
        from diagnose.read import open_trace
        n = 0
        with open_trace(path) as tr:
            for _ in tr.events():
                n += 1
        print(f"{{n}} events" + (f" warnings={{len(tr.warnings)}}" if tr.warnings else ""))
    elif {entry!r} == "kernel":
        from diagnose.timeline.kernel import read_columns
        cols = read_columns(path)
        print("declined" if cols is None else f"{{len(cols)}} rows")
    elif {entry!r} == "columns":
        from diagnose.timeline import load_columns
        print(f"{{len(load_columns(path))}} rows")
    else:
        from diagnose.features import extract
        f = extract(path)
        print("features ok")
except TraceError as e:
    print("error: " + e.one_line())
"""

ENTRIES = ("open_trace", "kernel", "columns", "features")
COMMANDS = ("T-json", "T-text", "T-html", "diff", "inspect", "dump", "features", "profile", "rules-test")


def command_argv(cmd: str, path: Path, tmp: Path) -> list[str]:
    """The command line of one whole-command entry (see the module doc)."""
    p = str(path)
    if cmd.startswith("T-"):
        return [p, "-f", cmd[2:]] + (["--color", "never"] if cmd == "T-text" else [])
    if cmd == "diff":
        return ["diff", p, p]
    if cmd == "rules-test":
        rule = tmp / f"rule-{path.name}.yaml"
        text = (REPO / "rules" / "gc_pressure.yaml").read_text(encoding="utf-8")
        rule.write_text(text[:text.index("\ntests:")] + f"\ntests:\n  silent:\n    - trace: {p}\n", encoding="utf-8")
        return ["rules", "test", str(rule)]
    return [cmd, p]


class _Popen(subprocess.Popen):
    """Popen that keeps the child's own peak RSS (os.wait4), not the maximum over all children."""

    maxrss = 0

    def _try_wait(self, wait_flags):  # type: ignore[override]
        try:
            pid, sts, ru = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return self.pid, 0
        if pid == self.pid:
            self.maxrss = ru.ru_maxrss
        return pid, sts


def _run(argv: list[str], env: dict, timeout: float, command: bool) -> tuple[str, float, float]:
    """(outcome, wall seconds, peak RSS MB) of one child process."""
    t0 = time.perf_counter()
    p = _Popen(argv, env=env, stdout=subprocess.DEVNULL if command else subprocess.PIPE, stderr=subprocess.PIPE,
               text=True, cwd=REPO)
    try:
        stdout, stderr = p.communicate(timeout=timeout)
        last_err = (stderr.strip().splitlines() or [""])[-1][:100]
        if command:
            out = f"exit {p.returncode}" + (f": {last_err}" if p.returncode not in (0, 1) else "")
        else:
            out = (stdout.strip().splitlines() or [""])[-1]
            if p.returncode != 0:
                out = f"CRASH rc={p.returncode}: {last_err}"
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        out = f"TIMEOUT >{timeout:.0f}s"
    return out, time.perf_counter() - t0, p.maxrss / 1024


def run_one(entry: str, path: Path, timeout: float) -> tuple[str, float, float]:
    """(outcome, wall seconds, peak RSS MB) of one reader entry on one file, in a child process."""
    env = dict(os.environ)
    if entry == "open_trace":
        env["NETPOLL_DIAGNOSE_PURE"] = "1"
    code = _CHILD.format(repo=str(REPO), path=str(path), entry=entry)
    return _run([sys.executable, "-c", code], env, timeout, command=False)


def run_command(cmd: str, path: Path, pure: bool, timeout: float, tmp: Path) -> tuple[str, float, float]:
    """(outcome, wall seconds, peak RSS MB) of one whole command on one file, in a child process."""
    env = dict(os.environ)
    env.pop("NETPOLL_DIAGNOSE_PURE", None)
    if pure:
        env["NETPOLL_DIAGNOSE_PURE"] = "1"
    return _run([sys.executable, "-m", "diagnose", *command_argv(cmd, path, tmp)], env, timeout, command=True)


def sparse_files(folder: Path) -> list[Path]:
    out = []
    for minor in (21, 22, 26):
        p = folder / f"sparse-2G-go1.{minor}.trace"
        with open(p, "wb") as f:
            f.write(f"go 1.{minor} trace\0\0\0".encode())
            f.truncate(2 << 30)
        out.append(p)
    return out


def generated_files(folder: Path, mb: float) -> list[Path]:
    """One file of each tools/gen_hostile.py kind, about `mb` MB each."""
    sys.path.insert(0, str(REPO))
    from tools import gen_hostile

    out = []
    for kind in gen_hostile.KINDS:
        p = folder / f"{kind}-{mb:g}MB.trace"
        p.write_bytes(gen_hostile.generate(kind, int(mb * 1e6)))
        out.append(p)
    p = folder / f"quad-full-{mb:g}MB.trace"  # as many batches and events as the readers accept
    p.write_bytes(gen_hostile.generate("quad", int(mb * 1e6), extra=22))
    return out + [p]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--entries", default=",".join(ENTRIES))
    ap.add_argument("--sparse", action="store_true")
    ap.add_argument("--commands", help=f"comma-separated whole commands, or all ({','.join(COMMANDS)})")
    ap.add_argument("--paths", default="kernel,pure", help="with --commands: kernel, pure or both")
    ap.add_argument("--generate", type=float, metavar="MB", help="add one file of each gen_hostile kind")
    a = ap.parse_args()
    files = list(a.files) or ([] if a.generate else sorted((REPO / "tests" / "data" / "repro").glob("*.trace")))
    with tempfile.TemporaryDirectory() as tmp:
        if a.sparse:
            files += sparse_files(Path(tmp))
        if a.generate:
            files += generated_files(Path(tmp), a.generate)
        if a.commands:
            cmds = COMMANDS if a.commands == "all" else tuple(a.commands.split(","))
            print(f"{'command':<11} {'path':<6} {'file':<36} {'wall s':>7} {'RSS MB':>7}  outcome")
            for path in files:
                for cmd in cmds:
                    for mode in a.paths.split(","):
                        out, wall, rss = run_command(cmd, path, mode == "pure", a.timeout, Path(tmp))
                        print(f"{cmd:<11} {mode:<6} {path.name[:36]:<36} {wall:7.2f} {rss:7.0f}  {out[:110]}",
                              flush=True)
            return
        print(f"{'entry':<11} {'file':<36} {'wall s':>7} {'RSS MB':>7}  outcome")
        for path in files:
            for entry in a.entries.split(","):
                out, wall, rss = run_one(entry, path, a.timeout)
                print(f"{entry:<11} {path.name[:36]:<36} {wall:7.2f} {rss:7.0f}  {out[:110]}", flush=True)


if __name__ == "__main__":
    main()
