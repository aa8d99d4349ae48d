"""Record trace + strace pairs for the descriptor-level tests (issue 17).

    python tools/regen_fixtures.py --strace                       # the default set below
    python tools/regen_fixtures.py --strace --only fdreuse --go 1.27.3

Each run is the normal fixture run (server, load client, /debug/pprof/trace) with
``strace -f -p SERVER`` attached from LISTENING until the client is done. strace slows every
descriptor syscall, so these traces are recordings of their own, kept apart from the main
corpus under ``fixtures/strace/`` (``<stem>.trace`` + ``<stem>.strace`` + ``manifest.json``):
the main corpus's latency figures stay strace-free.

The log is kept small: only descriptor and network calls are traced (``-e trace=%desc,%network``),
``epoll_pwait``/``epoll_wait`` (the runtime's own poller, never in the trace) are dropped, and
only the lines inside the trace's window (plus 20 ms) are kept. The harness also records the
kernel's CLOCK_REALTIME - CLOCK_MONOTONIC at the run, the ground truth for the join's clock
offset estimate on traces without a clock snapshot (Go < 1.25).

Needs the project's venv (it reads the trace with ``diagnose``) and /usr/bin/strace.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gotoolchains as gt  # noqa: E402
import regen_fixtures as rf  # noqa: E402

sys.path.insert(0, str(rf.REPO))
from diagnose.capture import clock_offset_ns  # noqa: E402  (the project's venv: it reads traces too)

OUT = rf.FIX / "strace"
MANIFEST = OUT / "manifest.json"
DEFAULT_CASES = ["fdreuse", "customlistener", "tlsbypass", "healthy:light", "healthy:tls"]
MIN_VERSION = (1, 22)  # thread ids in the trace are OS tids from Go 1.22's format on
STRACE_ARGS = ["-f", "-qq", "-ttt", "-T", "-yy", "-s", "0", "-e", "signal=none",
               "-e", "trace=%desc,%network,epoll_create1,epoll_ctl,epoll_pwait,epoll_wait"]
DROP = re.compile(r"^\d+\s+[\d.]+\s+(<\.\.\. )?(epoll_pwait|epoll_wait)[( ]")
WINDOW_S = 0.5  # seconds of trace: half the main corpus's, the logs stay a few hundred KB
STAMP = re.compile(r"^\d+\s+(\d+)\.(\d+)\s")
MARGIN_NS = 20_000_000


def attach_strace(log: Path) -> Callable[[int], Callable[[], None]]:
    """A run_case hook: attach strace to the server pid; the returned function detaches it."""
    def attach(pid: int) -> Callable[[], None]:
        p = rf._spawn(["strace", *STRACE_ARGS, "-o", str(log), "-p", str(pid)],
                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        time.sleep(0.5)  # strace attaches to every thread before the load starts

        def detach() -> None:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)  # strace detaches from every thread and exits
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
            rf._kill(p, grace=2)
        return detach
    return attach


def trim(log: Path, dest: Path, lo_wall_ns: int, hi_wall_ns: int) -> Dict[str, int]:
    """Keep the lines in [lo, hi] (wall clock) that are not the runtime's epoll_wait."""
    kept = total = 0
    with open(log, encoding="utf-8", errors="replace") as src, open(dest, "w", encoding="utf-8") as out:
        for line in src:
            total += 1
            m = STAMP.match(line)
            if not m or DROP.match(line):
                continue
            t = int(m.group(1)) * 1_000_000_000 + int(m.group(2).ljust(9, "0")[:9])
            if lo_wall_ns <= t <= hi_wall_ns:
                out.write(line)
                kept += 1
    return {"lines_recorded": total, "lines_kept": kept}


def trace_span(trace: Path) -> tuple[int, int]:
    from diagnose.timeline import load_timelines  # the project's reader (run with its venv)

    tl = load_timelines(str(trace))
    return int(tl.t0), int(tl.t_end)


def _cases(only: List[str]) -> List[rf.Case]:
    import dataclasses

    return [dataclasses.replace(c, window=min(c.window, WINDOW_S)) for c in rf.select_cases(only or DEFAULT_CASES)]


def generate(only: List[str], versions: List[str]) -> int:
    if shutil.which("strace") is None:
        print("strace is not installed (apt-get install -y strace)", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    man: Dict[str, Any] = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {"pairs": []}
    versions = [v for v in (versions or gt.VERSIONS)
                if tuple(int(x) for x in v.split(".")[:2]) >= MIN_VERSION]
    failures = 0
    for version in versions:
        go = gt.go_binary(version)
        full = rf.reported_version(go, version)
        bindir = rf.build_all(version, go)
        for case in _cases(only):
            stem = f"{case.scenario}-{case.variant}-{full}"
            tmp_trace, tmp_log = rf.BUILD / f"st-{stem}.trace", rf.BUILD / f"st-{stem}.strace.raw"
            entry: Optional[Dict[str, Any]] = None
            for attempt in (1, 2):
                t0 = time.time()
                off = clock_offset_ns()
                try:
                    run = rf.run_case(bindir, case, case.window, tmp_trace, attach=attach_strace(tmp_log))
                except rf.RunError as exc:
                    print(f"  {case.key:34s} {full:9s} run error: {exc}", flush=True)
                    continue
                if not tmp_trace.exists() or tmp_trace.stat().st_size == 0 or not tmp_log.exists():
                    print(f"  {case.key:34s} {full:9s} no trace or no log", flush=True)
                    continue
                off_after = clock_offset_ns()
                lo, hi = trace_span(tmp_trace)
                counts = trim(tmp_log, OUT / f"{stem}.strace", lo + off - MARGIN_NS, hi + off + MARGIN_NS)
                shutil.move(str(tmp_trace), OUT / f"{stem}.trace")
                tmp_log.unlink()
                res = run["result"]["window"]
                entry = {
                    "trace": f"strace/{stem}.trace", "strace": f"strace/{stem}.strace",
                    "scenario": case.scenario, "variant": case.variant, "go_version": full,
                    "toolchain": version, "trace_format": rf.trace_header(OUT / f"{stem}.trace"),
                    "expected_causes": list(case.causes), "window_seconds": case.window,
                    "strace_command": "strace " + " ".join(STRACE_ARGS) + " -p SERVER_PID",
                    "clock_offset_ns": off, "clock_offset_drift_ns": off_after - off,
                    **counts, "trace_bytes": (OUT / f"{stem}.trace").stat().st_size,
                    "strace_bytes": (OUT / f"{stem}.strace").stat().st_size,
                    "client": {k: res.get(k) for k in ("chunks", "foreign_events", "broken_frames",
                                                       "disconnects", "http_errors")},
                    "client_latency_ms": res.get("latency_ms"),
                    "server_counters": run["checks"], "attempts": attempt,
                    "generated_at": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
                print(f"  {case.key:34s} {full:9s} trace {entry['trace_bytes'] // 1024} KiB, strace "
                      f"{counts['lines_kept']} lines ({entry['strace_bytes'] // 1024} KiB)  "
                      f"xt {res.get('foreign_events')}  ({time.time() - t0:.1f}s)", flush=True)
                break
            man["pairs"] = [e for e in man["pairs"] if not (e["scenario"] == case.scenario and
                            e["variant"] == case.variant and e["toolchain"] == version)]
            if entry is None:
                failures += 1
            else:
                man["pairs"].append(entry)
            man["pairs"].sort(key=lambda e: (e["scenario"], e["variant"], e["toolchain"]))
            man["format"] = "netpoll-diagnose strace pairs v1"
            man["generated_by"] = "python tools/regen_fixtures.py --strace"
            MANIFEST.write_text(json.dumps(man, indent=1) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":  # pragma: no cover
    os.execv(sys.executable, [sys.executable, str(Path(__file__).with_name("regen_fixtures.py")), "--strace",
                              *sys.argv[1:]])
