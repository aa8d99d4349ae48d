#!/usr/bin/env python3
"""Regenerate the fixture corpus: real Go programs, real traces, measured symptoms.

One command::

    python tools/regen_fixtures.py                      # everything (all scenarios x all Go versions)
    python tools/regen_fixtures.py --only gomaxprocs --go 1.27.3
    python tools/regen_fixtures.py --only fdreuse:control-close
    python tools/regen_fixtures.py --check              # re-run the trace checks on committed traces
    python tools/regen_fixtures.py --big 1.27.3 --mb 180  # benchmark trace -> benchmarks/out/
    python tools/regen_fixtures.py --big 1.27.3 --mb 180 --big-program busyalloc  # a second, unlike it
    python tools/regen_fixtures.py --reader-busy        # fixtures/traces/reader/: busy, ~0.1 s each

For each pinned Go version (tools/gotoolchains.py installs them) it builds every scenario of
``fixtures/go`` (one module, standard library only), and for each scenario variant:

1. starts the server (``-mode server``) on 127.0.0.1:0,
2. runs the load client (``-mode client``, another process) which warms up, fetches
   ``/debug/pprof/trace?seconds=N`` like an operator would, and reports the latency and
   cross-talk it measured during that window,
3. stops the server (SIGTERM, then SIGKILL) and collects its own counters,
4. checks the trace (format header, size cap) and derives the mechanism evidence from Go
   1.27.3's ``go tool trace -d=parsed`` and ``-pprof=net|syscall|sched``,
5. records everything in ``fixtures/manifest.json``; ``reproduced`` says whether the
   scenario's mechanism and symptom were really there in that run (never retried away).

Every loop is bounded, every process started is killed at the end, all traffic is on
127.0.0.1. Standard library only (Python 3.11).
"""
from __future__ import annotations

import argparse
import atexit
import dataclasses
import datetime as _dt
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gotoolchains as gt  # noqa: E402
import gen_cases  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
FIX = REPO / "fixtures"
GOSRC = FIX / "go"
TRACES = FIX / "traces"
BUILD = FIX / "build"  # gitignored
MANIFEST = FIX / "manifest.json"
EXAMPLE = FIX / "examples" / "example.trace"
EXAMPLE_SOURCE = ("gomaxprocs", "procs1-burn", "1.27.3")
BIG_OUT = REPO / "benchmarks" / "out"

SIZE_CAP = 2 * 1024 * 1024  # hard cap per committed trace
SIZE_TARGET = 1024 * 1024  # retry with a shorter window above this

CAUSE_IDS = ["fd_reuse", "custom_listener", "tls_fd_bypass", "gomaxprocs_starvation",
             "slow_consumer", "gc_pressure", "syscall_storm"]


@dataclasses.dataclass(frozen=True)
class Case:
    scenario: str  # cmd/<scenario>
    variant: str
    causes: Tuple[str, ...]
    window: float = 1.0  # seconds of trace
    warmup: float = 1.5  # seconds of load before the trace starts

    @property
    def key(self) -> str:
        return f"{self.scenario}:{self.variant}"


CASES: List[Case] = [
    Case("healthy", "light", ()),
    Case("healthy", "heavy", ()),
    Case("healthy", "tls", ()),
    Case("healthy", "tls-h2", ()),
    Case("gomaxprocs", "procs1-burn", ("gomaxprocs_starvation",)),
    Case("gomaxprocs", "procs1-burst", ("gomaxprocs_starvation",)),
    Case("fdreuse", "control-close", ("fd_reuse",)),
    Case("fdreuse", "newfile-finalizer", ("fd_reuse",)),
    Case("tlsbypass", "tls-sniff", ("tls_fd_bypass",)),
    Case("tlsbypass", "plain-fd", ("tls_fd_bypass",)),
    Case("customlistener", "blocking", ("custom_listener",)),
    Case("customlistener", "blocking-procs1", ("custom_listener",)),
    Case("slowconsumer", "sse", ("slow_consumer",)),
    Case("slowconsumer", "chunked", ("slow_consumer",)),
    Case("gcpressure", "big-alloc", ("gc_pressure",)),
    Case("gcpressure", "small-allocs", ("gc_pressure",)),
    Case("syscallstorm", "sse-flush8", ("syscall_storm",), window=0.5),
    Case("syscallstorm", "chunked-flush16", ("syscall_storm",), window=0.5),
    # issue 11: starvation from the handlers' own short bursts, and confounders (expect [])
    Case("gomaxprocs", "procs1-handlers", ("gomaxprocs_starvation",)),
    Case("rawowner", "parked-http", ()),
    Case("filedup", "close-own-dups", ()),
    Case("proxy", "upstream-ends", ()),
    Case("procs1", "light", ()),
]



@dataclasses.dataclass(frozen=True)
class Corpus:
    """Where a corpus's traces and manifest live and how its runs are judged."""
    name: str
    cases: List[Any]
    manifest: Path
    traces: Path
    size_target: int
    pprof: bool  # derive -pprof=net|syscall|sched summaries (costly; the fx corpus only)


FX = Corpus("fx", CASES, MANIFEST, TRACES, SIZE_TARGET, True)
GEN = Corpus("gen", gen_cases.GEN_CASES, FIX / "generalisation.json", TRACES / "gen", 512 * 1024, False)
CORPORA = {"fx": FX, "gen": GEN}

# ----------------------------------------------------------------------------- processes

_children: List[subprocess.Popen] = []
_children_lock = threading.Lock()


def _spawn(args: List[str], **kw: Any) -> subprocess.Popen:
    p = subprocess.Popen(args, start_new_session=True, **kw)
    with _children_lock:
        _children.append(p)
    return p


def _kill(p: subprocess.Popen, grace: float = 3.0) -> None:
    """Stop one child we started (SIGTERM, then SIGKILL of its own process group)."""
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGKILL)  # its own session: pgid == pid
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    with _children_lock:
        if p in _children:
            _children.remove(p)


@atexit.register
def _kill_all() -> None:
    with _children_lock:
        kids = list(_children)
    for p in kids:
        _kill(p, grace=0.5)


def _on_signal(signum: int, _frame: Any) -> None:
    _kill_all()
    sys.exit(128 + signum)


# ----------------------------------------------------------------------------- building


def build_all(version: str, go: Path, log: bool = True) -> Path:
    out = BUILD / f"go{version}"
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    r = subprocess.run([str(go), "build", "-trimpath", "-o", str(out) + "/", "./cmd/..."],
                       cwd=GOSRC, env=gt.go_env(version), capture_output=True, text=True,
                       timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"go{version} build failed:\n{r.stderr}")
    if log:
        print(f"  built fixtures with go{version} in {time.time() - t0:.1f}s", flush=True)
    return out


def reported_version(go: Path, version: str) -> str:
    r = subprocess.run([str(go), "version"], env=gt.go_env(version), capture_output=True,
                       text=True, timeout=60)
    return r.stdout.split()[2]  # "go1.27.3"


# ----------------------------------------------------------------------------- one run


class RunError(RuntimeError):
    pass


def run_case(bindir: Path, case: Case, window: float, trace_out: Path,
             attach: Optional[Any] = None) -> Dict[str, Any]:
    """Run server + client once; returns the client RESULT, server CHECKS and stderr tails.

    ``attach(pid)``, when given, runs once the server listens and returns a function called
    before the server is stopped (tools/strace_fixtures.py attaches strace this way)."""
    binary = str(bindir / case.scenario)
    with tempfile.TemporaryFile() as serr:
        srv = _spawn([binary, "-mode", "server", "-variant", case.variant,
                      "-addr", "127.0.0.1:0", "-maxrun", "90s"],
                     stdout=subprocess.PIPE, stderr=serr, stdin=subprocess.DEVNULL, text=True)
        lines: List[str] = []
        ready = threading.Event()

        def pump() -> None:
            assert srv.stdout is not None
            for line in srv.stdout:
                lines.append(line.rstrip("\n"))
                if line.startswith("LISTENING "):
                    ready.set()

        th = threading.Thread(target=pump, daemon=True)
        th.start()
        detach = None
        try:
            if not ready.wait(20):
                raise RunError("server did not report LISTENING within 20s")
            addr = next(x.split()[1] for x in lines if x.startswith("LISTENING "))
            # every address on 127.0.0.1, or a unix socket (unixfeed's data path)
            if not all(a.startswith(("127.0.0.1:", "unix:/")) for a in addr.split(",")):
                raise RunError(f"server listens on {addr}, expected 127.0.0.1 or a unix socket")
            detach = attach(srv.pid) if attach else None
            try:
                cl = subprocess.run(
                    [binary, "-mode", "client", "-variant", case.variant, "-addr", addr,
                     "-trace-out", str(trace_out), "-trace-seconds", f"{window:g}",
                     "-warmup", f"{case.warmup:g}s", "-maxrun", "60s"],
                    capture_output=True, text=True, timeout=75, stdin=subprocess.DEVNULL,
                    start_new_session=True)
            except subprocess.TimeoutExpired as exc:
                raise RunError("client timed out") from exc
        finally:
            if detach:
                detach()
            _kill(srv)
            th.join(timeout=5)
        serr.seek(0)
        server_log = serr.read().decode(errors="replace")
    res_line = next((x for x in cl.stdout.splitlines() if x.startswith("RESULT ")), None)
    if res_line is None:
        raise RunError(f"client printed no RESULT (rc={cl.returncode}): {cl.stderr[-800:]}")
    result = json.loads(res_line[len("RESULT "):])
    chk_line = next((x for x in lines if x.startswith("CHECKS ")), None)
    checks = json.loads(chk_line[len("CHECKS "):]) if chk_line else {}
    return {"result": result, "checks": checks, "server_log": server_log[-2000:],
            "client_log": cl.stderr[-2000:]}


def trace_header(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(16)
    return head.split(b"\x00", 1)[0].decode("ascii", "replace")


# ----------------------------------------------------------------------------- evidence

_HDR = re.compile(r"^M=(-?\d+) P=(-?\d+) G=(-?\d+) (\w+) Time=(-?\d+)(.*)$")
_GST = re.compile(r"GoID=(\d+) (\w+)->(\w+) Reason=\"([^\"]*)\"")
_RANGE = re.compile(r"Name=\"([^\"]*)\" Scope=(\S+)")
_METRIC = re.compile(r"Name=\"([^\"]*)\" Value=Value\{Uint64\((\d+)\)\}")
_PROC = re.compile(r"ProcID=(\d+) (\w+)->(\w+)")

_SOCK_OPS = {"read", "write", "accept4", "accept", "recvfrom", "sendto", "writev", "readv",
             "recvmsg", "sendmsg", "getsockopt", "setsockopt", "close", "shutdown", "fcntl"}


def _pct(xs: List[float]) -> Dict[str, float]:
    if not xs:
        return {"n": 0}
    s = sorted(xs)

    def q(p: float) -> float:
        i = max(0, min(len(s) - 1, int(-(-p * len(s) // 1)) - 1))
        return round(s[i], 3)

    return {"n": len(s), "p50": q(0.5), "p95": q(0.95), "p99": q(0.99), "max": round(s[-1], 3)}


def _syscall_class(frames: List[str]) -> Tuple[str, str]:
    """(op, path) of a syscall from its stack. op: read, write, accept4, recvfrom, close, ...
    path, first match wins:
      finalizer   made by the finalizer goroutine (an *os.File finalizer closing an fd)
      os.File.Fd  inside (*os.File).Fd (the SetBlocking fcntl of a File() dup)
      rawcontrol  inside a RawConn.Control callback (internal/poll.(*FD).RawControl)
      netpoll     issued by internal/poll.(*FD) (the normal net.Conn path)
      raw         any other socket syscall (syscall.Read/Write/Accept4/Recvfrom... by user code)
      other       everything else (runtime, files)
    """
    op = "other"
    for f in frames:
        if f.startswith("syscall.") or f.startswith("internal/syscall/unix."):
            name = f.rsplit(".", 1)[-1].lower()
            if name in _SOCK_OPS:
                op = name
                break
            if name not in ("syscall", "syscall6", "rawsyscall", "rawsyscall6", "rawsyscallnoerror"):
                op = name
    if op in ("accept",):
        op = "accept4"
    if any(f in ("runtime.runfinq", "runtime.runFinalizers") for f in frames):
        path = "finalizer"
    elif any(f == "os.(*File).Fd" for f in frames):
        path = "os.File.Fd"
    elif any(f == "internal/poll.(*FD).RawControl" for f in frames):
        path = "rawcontrol"
    elif any(f.startswith("internal/poll.(*FD).") for f in frames):
        path = "netpoll"
    elif op in _SOCK_OPS:
        path = "raw"
    else:
        path = "other"
    return op, path


def _wait_op(frames: List[str]) -> str:
    for f in frames:
        for key, op in (("(*FD).Accept", "accept"), ("(*FD).Read", "read"), ("(*FD).Write", "write"),
                        ("(*FD).RawRead", "read"), ("(*FD).RawWrite", "write"),
                        ("(*FD).ReadMsg", "read"), ("(*FD).WriteMsg", "write"),
                        ("waitWrite", "write"), ("waitRead", "read")):
            if key in f:
                return op
    return "unknown"


def analyze_parsed(lines: Iterable[str]) -> Dict[str, Any]:
    """Mechanism evidence from the text of ``go tool trace -d=parsed`` (Go 1.27.3)."""
    t_first: Optional[int] = None
    t_last = 0
    n_events = 0
    procs: set = set()
    gomaxprocs_metric: Optional[int] = None

    sys_open: Dict[int, Tuple[int, str, str, bool]] = {}  # g -> (start, op, path, from_start)
    sys_stats: Dict[str, Dict[str, Any]] = {}
    sys_count = 0
    lost_p = 0
    net_open: Dict[int, Tuple[int, str, bool]] = {}  # g -> (start, op, parked_at_start)
    net_started: Dict[str, int] = {}
    net_ended: Dict[str, int] = {}
    net_parked_start: Dict[str, int] = {}
    net_wait_ms: Dict[str, List[float]] = {}
    runnable_since: Dict[int, Tuple[int, str]] = {}
    last_wait_reason: Dict[int, str] = {}
    w2r: Dict[str, List[float]] = {"all": [], "after_network": [], "after_sleep": [],
                                   "after_syscall": [], "after_preempt": []}
    ranges_open: Dict[Tuple[str, str], int] = {}
    range_ms: Dict[str, List[float]] = {}
    gc_cycles = 0
    seen: set = set()

    pending: Optional[Tuple[str, int, str, int]] = None  # (kind, time, rest, g)
    frames: Dict[str, List[str]] = {}
    block: Optional[str] = None

    def sysrec(key: str) -> Dict[str, Any]:
        return sys_stats.setdefault(key, {"n": 0, "over_1ms": 0, "over_10ms": 0, "max_ms": 0.0,
                                          "total_ms": 0.0, "lost_p": 0, "unfinished": 0})

    def close_sys(g: int, t: int, lost: bool, unfinished: bool = False) -> None:
        start, op, path, _ = sys_open.pop(g)
        d = (t - start) / 1e6
        r = sysrec(f"{op}/{path}")
        r["over_1ms"] += d >= 1
        r["over_10ms"] += d >= 10
        r["max_ms"] = round(max(r["max_ms"], d), 3)
        r["total_ms"] = round(r["total_ms"] + d, 3)
        r["lost_p"] += lost
        r["unfinished"] += unfinished

    def handle(kind: str, t: int, rest: str, fr: Dict[str, List[str]]) -> None:
        nonlocal sys_count, lost_p, gomaxprocs_metric, gc_cycles
        if kind == "StateTransition":
            m = _GST.search(rest)
            if not m:
                pm = _PROC.search(rest)
                if pm and int(pm.group(1)) < 1000000:
                    procs.add(int(pm.group(1)))
                return
            g, frm, to, reason = int(m.group(1)), m.group(2), m.group(3), m.group(4)
            stack = fr.get("TransitionStack") or fr.get("Stack") or []
            if frm == to:
                # A status re-emitted at a generation boundary (e.g. Waiting->Waiting), not a
                # transition. For a goroutine not seen yet it tells its state at the start.
                if g in seen:
                    return
                frm = "Undetermined"
            seen.add(g)
            # syscalls
            if to == "Syscall":
                op, path = _syscall_class(stack)
                sys_open[g] = (t, op, path, frm == "Undetermined")
                if frm != "Undetermined":
                    sys_count += 1
                    sysrec(f"{op}/{path}")["n"] += 1
                else:
                    sysrec(f"{op}/{path}")
            elif frm == "Syscall" and g in sys_open:
                lost = to == "Runnable"
                lost_p += lost
                close_sys(g, t, lost)
            # network waits
            if to == "Waiting":
                last_wait_reason[g] = reason
                is_net = reason == "network" or (
                    frm == "Undetermined" and any("netpollblock" in f for f in stack))
                if is_net:
                    op = _wait_op(stack)
                    net_open[g] = (t, op, frm == "Undetermined")
                    if frm == "Undetermined":
                        net_parked_start[op] = net_parked_start.get(op, 0) + 1
                    else:
                        net_started[op] = net_started.get(op, 0) + 1
            if frm == "Waiting" and g in net_open:
                start, op, at_start = net_open.pop(g)
                net_ended[op] = net_ended.get(op, 0) + 1
                if not at_start:
                    net_wait_ms.setdefault(op, []).append((t - start) / 1e6)
            # wake-to-run
            if to == "Runnable" and frm != "Undetermined":
                if frm == "Waiting":
                    why = last_wait_reason.get(g, "")
                    cat = ("after_network" if why == "network" else
                           "after_sleep" if why == "sleep" else "other")
                elif frm == "Syscall":
                    cat = "after_syscall"
                elif frm == "Running":
                    cat = "after_preempt"
                else:
                    cat = "other"
                runnable_since[g] = (t, cat)
            elif frm == "Runnable" and to == "Running" and g in runnable_since:
                start, cat = runnable_since.pop(g)
                d = (t - start) / 1e6
                w2r["all"].append(d)
                if cat in w2r:
                    w2r[cat].append(d)
        elif kind in ("RangeBegin", "RangeActive", "RangeEnd"):
            m = _RANGE.search(rest)
            if not m:
                return
            name, scope = m.group(1), m.group(2)
            key = (name, scope)
            if kind == "RangeBegin":
                ranges_open[key] = t
                if name == "GC concurrent mark phase":
                    gc_cycles += 1
            elif kind == "RangeActive":
                # re-emitted at every generation boundary: only the first one opens it
                ranges_open.setdefault(key, t)
            elif key in ranges_open:
                d = (t - ranges_open.pop(key)) / 1e6
                range_ms.setdefault(name, []).append(d)
        elif kind == "Metric":
            m = _METRIC.search(rest)
            if m and m.group(1) == "/sched/gomaxprocs:threads":
                gomaxprocs_metric = int(m.group(2))

    for line in lines:
        if line.startswith("M="):
            if pending is not None:
                handle(pending[0], pending[1], pending[2], frames)
            m = _HDR.match(line)
            frames = {}
            block = None
            if not m:
                pending = None
                continue
            kind, t = m.group(4), int(m.group(5))
            n_events += 1
            if t_first is None:
                t_first = t
            t_last = max(t_last, t)
            p = int(m.group(2))
            if 0 <= p < 1000000:  # converted old traces put GC events on a fake P 1000003
                procs.add(p)
            pending = (kind, t, m.group(6), int(m.group(3)))
        elif line.startswith("TransitionStack=") or line.startswith("Stack="):
            block = line.split("=", 1)[0]
            frames[block] = []
        elif line.startswith("\t") and not line.startswith("\t\t") and block is not None:
            frames[block].append(line.strip().split(" @ ", 1)[0])
    if pending is not None:
        handle(pending[0], pending[1], pending[2], frames)

    # Close what is still open at the end of the window.
    for g in list(sys_open):
        close_sys(g, t_last, False, unfinished=True)
    net_never: Dict[str, int] = {}  # started inside the window, still parked at its end
    net_whole: Dict[str, int] = {}  # parked before the window and still parked at its end
    for g, (_s, op, at_start) in net_open.items():
        d = net_whole if at_start else net_never
        d[op] = d.get(op, 0) + 1

    dur_ms = ((t_last - (t_first or 0)) / 1e6) if t_first is not None else 0.0
    stw = [d for n, ds in range_ms.items() if n.startswith("stop-the-world") for d in ds]
    return {
        "duration_ms": round(dur_ms, 3),
        "events": n_events,
        "procs": gomaxprocs_metric if gomaxprocs_metric is not None else len(procs),
        "syscalls": {
            "count": sys_count,
            "per_s": round(sys_count / (dur_ms / 1000), 1) if dur_ms > 0 else 0,
            "lost_p": lost_p,
            "by_op": dict(sorted(sys_stats.items())),
        },
        "net_waits": {
            "started": dict(sorted(net_started.items())),
            "ended": dict(sorted(net_ended.items())),
            "never_ended": dict(sorted(net_never.items())),
            "parked_at_start": dict(sorted(net_parked_start.items())),
            "parked_whole_window": dict(sorted(net_whole.items())),
            "wait_ms": {k: _pct(v) for k, v in sorted(net_wait_ms.items())},
        },
        "wake_to_run_ms": {k: _pct(v) for k, v in w2r.items()},
        "gc": {
            "cycles_started": gc_cycles,
            "mark_ms_total": round(sum(range_ms.get("GC concurrent mark phase", [])), 3),
            "assists": len(range_ms.get("GC mark assist", [])),
            "assist_ms_total": round(sum(range_ms.get("GC mark assist", [])), 3),
            "stw": _pct(stw),
        },
    }


_PPROF_TOTAL = re.compile(r"of ([0-9.]+)(ns|us|µs|ms|s|mins|hrs) total")
_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1e3, "mins": 6e4, "hrs": 3.6e6}


def pprof_summary(go: Path, trace: Path, kind: str) -> Dict[str, Any]:
    env = gt.go_env(gt.ORACLE)
    with tempfile.NamedTemporaryFile(suffix=".pb") as pb:
        r = subprocess.run([str(go), "tool", "trace", f"-pprof={kind}", str(trace)],
                           stdout=pb, stderr=subprocess.PIPE, env=env, timeout=300)
        if r.returncode != 0:
            return {"error": r.stderr.decode(errors="replace")[-300:]}
        pb.flush()
        if os.path.getsize(pb.name) == 0:
            return {"total_ms": 0.0, "top": []}
        r = subprocess.run([str(go), "tool", "pprof", "-top", "-nodecount=4", pb.name],
                           capture_output=True, text=True, env=env, timeout=300)
    out = r.stdout
    m = _PPROF_TOTAL.search(out)
    total = round(float(m.group(1)) * _UNIT_MS[m.group(2)], 3) if m else 0.0
    top = []
    seen_header = False
    for line in out.splitlines():
        if line.strip().startswith("flat"):
            seen_header = True
            continue
        if seen_header and line.strip():
            parts = line.split()
            if len(parts) >= 6:
                top.append({"flat": parts[0], "cum": parts[3], "func": " ".join(parts[5:])})
    return {"total_ms": total, "top": top}


def analyze_trace(trace: Path, go: Optional[Path] = None, with_pprof: bool = True) -> Dict[str, Any]:
    """Evidence for one trace, from the oracle toolchain's ``go tool trace``."""
    go = go or gt.go_binary(gt.ORACLE)
    env = gt.go_env(gt.ORACLE)
    p = subprocess.Popen([str(go), "tool", "trace", "-d=parsed", str(trace)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    with _children_lock:
        _children.append(p)
    try:
        assert p.stdout is not None
        ev = analyze_parsed(p.stdout)
        err = p.stderr.read() if p.stderr else ""
        rc = p.wait(timeout=300)
    finally:
        _kill(p, grace=1)
    ev["oracle"] = f"go{gt.ORACLE} go tool trace -d=parsed"
    if rc != 0:
        ev["parse_error"] = err.strip()[-500:]
    if with_pprof:
        ev["pprof"] = {k: pprof_summary(go, trace, k) for k in ("net", "syscall", "sched")}
    return ev


# ----------------------------------------------------------------------------- judging


def _by(ev: Dict[str, Any], key: str) -> Dict[str, Any]:
    return ev["syscalls"]["by_op"].get(key, {})


def judge(case: Case, res: Dict[str, Any], checks: Dict[str, Any], ev: Dict[str, Any]
          ) -> Tuple[bool, List[str]]:
    """Did this run really show the scenario's mechanism (in the trace) and symptom (as
    measured)? Returns (reproduced, reasons). Controls are "reproduced" when healthy."""
    w = res["window"]
    lat = w["latency_ms"]
    why: List[str] = []
    ok = True

    def need(cond: bool, text: str) -> None:
        nonlocal ok
        ok = ok and bool(cond)
        why.append(("ok: " if cond else "MISSING: ") + text)

    if isinstance(case, gen_cases.GenCase):
        return judge_gen(case, res, checks, ev, need, why)
    w2r = ev["wake_to_run_ms"]["all"]
    raw_long = {k: v for k, v in ev["syscalls"]["by_op"].items()
                if k.split("/")[1] == "raw" and v.get("max_ms", 0) >= 10}
    netpoll_read_long = _by(ev, "read/netpoll").get("over_10ms", 0) + _by(ev, "read/netpoll").get("unfinished", 0)
    s = case.scenario
    if s == "healthy":
        need(lat.get("p99", 1e9) < 60, f"chunk latency p99 {lat.get('p99')} ms < 60 ms")
        need(w["foreign_events"] + w["broken_frames"] == 0, "no cross-talk")
        need(not raw_long and _by(ev, "read/netpoll").get("over_10ms", 0) == 0,
             "no long blocking socket syscalls")
    elif s == "gomaxprocs":
        need(ev["procs"] == 1, f"one P in the trace (procs={ev['procs']})")
        need(w2r.get("p95", 0) >= 5, f"wake-to-run p95 {w2r.get('p95')} ms >= 5 ms")
        need(lat.get("p95", 0) >= 10, f"chunk latency p95 {lat.get('p95')} ms >= 10 ms")
    elif s == "fdreuse":
        xt = w["foreign_events"] + w["broken_frames"] + w["http_errors"]
        run = res["run"]
        xt_run = run["foreign_events"] + run["broken_frames"] + run["http_errors"]
        need(xt > 0 or xt_run > 0, f"cross-talk seen by clients (window {xt}, run {xt_run})")
        need(checks.get("fd_reused_while_live", 0) > 0,
             f"server saw fd numbers reused while live ({checks.get('fd_reused_while_live')})")
        by = ev["syscalls"]["by_op"]
        closes = by.get("close/rawcontrol", {}).get("n", 0) + by.get("close/finalizer", {}).get("n", 0)
        need(closes > 0, f"fds closed behind net.Conn in the window (close from RawConn.Control or a "
                         f"finalizer: {closes})")
    elif s == "tlsbypass":
        need(checks.get("conn_fd_now_blocking", 0) > 0 and checks.get("conn_fd_nonblocking", 1) == 0,
             f"conn fds in blocking mode after File().Fd() ({checks.get('conn_fd_now_blocking')} of "
             f"{checks.get('fd_calls')})")
        need(netpoll_read_long > 0,
             f"socket reads block inside read(2) on the internal/poll path ({netpoll_read_long} >= 10 ms or unfinished)")
        if case.variant == "tls-sniff":
            need(any(k.startswith("recvfrom/raw") for k in raw_long) or checks.get("raw_peek_max_ms", 0) >= 100,
                 "raw recvfrom(MSG_PEEK) blocks the accept loop")
            need(w["ttfe_ms"].get("p50", 0) >= 50,
                 f"time to first event p50 {w['ttfe_ms'].get('p50')} ms >= 50 ms")
    elif s == "customlistener":
        need(any(k.startswith("accept4/raw") for k in raw_long),
             "blocking accept4 syscalls outside internal/poll")
        need(any(k.startswith("read/raw") for k in raw_long), "blocking read syscalls outside internal/poll")
        started = sum(ev["net_waits"]["started"].values())
        need(started <= 5, f"(almost) no netpoll waits started in the window ({started}, admin conn only)")
    elif s == "slowconsumer":
        ww = ev["net_waits"]["started"].get("write", 0)
        need(ww > 0, f"netpoll waits on the write path ({ww})")
        slow = (res.get("classes") or {}).get("slow", {}).get("latency_ms", {})
        need(slow.get("p50", 0) >= 100, f"slow streams' chunk latency p50 {slow.get('p50')} ms >= 100 ms")
        need(checks.get("slow_writes", 0) > 0, f"server writes that waited >= 5 ms ({checks.get('slow_writes')})")
    elif s == "gcpressure":
        gc = ev["gc"]
        need(gc["cycles_started"] >= 3, f"GC cycles in the window ({gc['cycles_started']})")
        frac = gc["mark_ms_total"] / max(ev["duration_ms"], 1)
        need(frac >= 0.15, f"GC marking {frac:.0%} of the window >= 15%")
        need(lat.get("p95", 0) >= 5, f"chunk latency p95 {lat.get('p95')} ms >= 5 ms")
    elif s in ("rawowner", "filedup", "proxy", "procs1"):  # confounders: mechanism present, healthy clients
        need(w["foreign_events"] + w["broken_frames"] == 0, "no cross-talk")
        need(lat.get("p95", 1e9) < 60, f"chunk latency p95 {lat.get('p95')} ms < 60 ms")
        key = {"rawowner": "raw_closes", "filedup": "dup_closes", "proxy": "upstream_calls"}.get(s)
        if key:
            need(checks.get(key, 0) > 0, f"server counter {key} = {checks.get(key)}")
        if s == "procs1":
            need(ev["procs"] == 1, f"one P in the trace (procs={ev['procs']})")
    elif s == "syscallstorm":
        need(ev["syscalls"]["per_s"] >= 20000, f"{ev['syscalls']['per_s']:.0f} syscalls/s >= 20000")
        wr = _by(ev, "write/netpoll").get("n", 0)
        need(wr >= 0.8 * ev["syscalls"]["count"], f"mostly netpoll writes ({wr} of {ev['syscalls']['count']})")
        need(lat.get("p95", 0) >= 10, f"chunk latency p95 {lat.get('p95')} ms >= 10 ms")
    return ok, why


def judge_gen(case: "gen_cases.GenCase", res: Dict[str, Any], checks: Dict[str, Any],
              ev: Dict[str, Any], need: Any, why: List[str]) -> Tuple[bool, List[str]]:
    """A generalisation case is reproduced when its run completed and the injected
    mechanism really ran (the program's own counters); whether clients noticed is the dose
    question the benchmark answers from `measured`, not a reason to drop the trace."""
    w = res["window"]
    need(w["chunks"] > 0, f"clients received {w['chunks']} messages in the window")
    need("parse_error" not in ev, "go tool trace parses the trace")
    if gen_cases.STARVE in case.causes:
        need(checks.get("burned_ms", 0) > 0, f"CPU burned by hogs/bursts ({checks.get('burned_ms')} ms)")
    if gen_cases.GC in case.causes:
        need(checks.get("gc_cycles", 0) > 0, f"GC cycles in the run ({checks.get('gc_cycles')})")
    if gen_cases.SLOW in case.causes:
        slow = (res.get("classes") or {}).get("slow", {}).get("latency_ms", {})
        why.append(f"info: slow clients' p95 {slow.get('p95')} ms")
    if gen_cases.CUSTOM in case.causes:
        need(checks.get("raw_accepts", 0) > 0 and checks.get("raw_hello_reads", 0) > 0,
             f"raw blocking accepts ({checks.get('raw_accepts')}) and hello reads ({checks.get('raw_hello_reads')})")
    if gen_cases.TLSBYPASS in case.causes:
        left = checks.get("blocking_peeks", 0) or checks.get("left_blocking", 0)  # starttls / rpcmux
        need(left > 0, f"connections left in blocking mode by the library ({left})")
    if gen_cases.STORM in case.causes:
        why.append(f"info: {ev['syscalls']['per_s']:.0f} syscalls/s")
    why.append(f"info: wake-to-run p95 {ev['wake_to_run_ms']['all'].get('p95')} ms, "
               f"GC cycles {ev['gc']['cycles_started']}, procs {ev['procs']}")
    ok = not any(x.startswith("MISSING") for x in why)
    return ok, why


# ----------------------------------------------------------------------------- manifest


def load_manifest(corpus: Corpus = FX) -> Dict[str, Any]:
    if corpus.manifest.exists():
        return json.loads(corpus.manifest.read_text())
    return {"traces": []}


def save_manifest(man: Dict[str, Any], corpus: Corpus = FX) -> None:
    order = {c.key: i for i, c in enumerate(corpus.cases)}
    vorder = {v: i for i, v in enumerate(gt.VERSIONS)}
    man["traces"].sort(key=lambda e: (order.get(f"{e['scenario']}:{e['variant']}", 999),
                                      vorder.get(e["toolchain"], 99)))
    corpus.manifest.write_text(json.dumps(man, indent=1, sort_keys=False) + "\n")


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def describe_variants(bindir: Path, scenario: str) -> Dict[str, str]:
    r = subprocess.run([str(bindir / scenario), "-mode", "list"], capture_output=True, text=True,
                       timeout=30)
    out = {}
    for line in r.stdout.splitlines():
        if "\t" in line:
            k, v = line.split("\t", 1)
            out[k] = v
    return out


def generate(cases: List[Any], versions: List[str], attempts: int = 2, corpus: Corpus = FX) -> int:
    oracle = gt.go_binary(gt.ORACLE)
    corpus.traces.mkdir(parents=True, exist_ok=True)
    man = load_manifest(corpus)
    man.setdefault("traces", [])
    unavailable = {u["toolchain"]: u for u in man.get("unavailable", [])}
    failures = 0
    t_all = time.time()
    for version in versions:
        try:
            go = gt.go_binary(version)
        except gt.ToolchainUnavailable as exc:
            print(f"go{version}: unavailable: {exc}", flush=True)
            unavailable[version] = {"toolchain": version, "reason": str(exc)}
            continue
        unavailable.pop(version, None)
        full = reported_version(go, version)
        print(f"== {full} ({go})", flush=True)
        bindir = build_all(version, go)
        descs: Dict[str, Dict[str, str]] = {}
        for case in cases:
            if isinstance(case, gen_cases.GenCase) and not gen_cases.applies(case, version):
                continue
            if case.scenario not in descs:
                descs[case.scenario] = describe_variants(bindir, case.scenario)
            name = f"{case.scenario}-{case.variant}-{full}.trace"
            dest = corpus.traces / name
            window = case.window
            entry: Optional[Dict[str, Any]] = None
            errors: List[str] = []
            for attempt in range(1, attempts + 2):  # bounded: harness retries + one size retry
                tmp = BUILD / f"tmp-{name}"
                t0 = time.time()
                try:
                    run = run_case(bindir, case, window, tmp)
                except RunError as exc:
                    errors.append(f"attempt {attempt}: {exc}")
                    print(f"  {case.key:34s} go{version:8s} run error: {exc}", flush=True)
                    if attempt > attempts:
                        break
                    continue
                res = run["result"]
                size = tmp.stat().st_size if tmp.exists() else 0
                if size == 0 or res.get("trace_error"):
                    errors.append(f"attempt {attempt}: no trace ({res.get('trace_error')})")
                    if attempt > attempts:
                        break
                    continue
                if size > corpus.size_target and attempt <= attempts:
                    window = round(max(0.1, window * corpus.size_target / size * 0.8), 2)
                    errors.append(f"attempt {attempt}: {size} bytes, retrying with window {window}s")
                    tmp.unlink()
                    continue
                if size > SIZE_CAP:
                    errors.append(f"attempt {attempt}: {size} bytes > cap")
                    tmp.unlink()
                    break
                header = trace_header(tmp)
                ev = analyze_trace(tmp, oracle, with_pprof=corpus.pprof)
                ok, why = judge(case, res, run["checks"], ev)
                shutil.move(str(tmp), dest)
                entry = {
                    "path": str(dest.relative_to(FIX)),
                    "scenario": case.scenario,
                    "variant": case.variant,
                    "description": descs[case.scenario].get(case.variant, ""),
                    "go_version": full,
                    "toolchain": version,
                    "trace_format": header,
                    "bytes": dest.stat().st_size,
                    "sha256": _sha256(dest),
                    "window_seconds": window,
                    "expected_causes": list(case.causes),
                    "reproduced": ok,
                    "checks": why,
                    "measured": res["window"],
                    "measured_run": res["run"],
                    "measured_classes": res.get("classes") or {},
                    "server": {"threads": res.get("server_threads"),
                               "goroutines": res.get("server_goroutines"),
                               "counters": run["checks"]},
                    "evidence": ev,
                    "attempts": attempt,
                    "generated_at": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
                if isinstance(case, gen_cases.GenCase):
                    entry.update(gen_cases.entry_fields(case))
                if errors:
                    entry["harness_notes"] = errors
                if header != gt.TRACE_HEADER.get(version):
                    entry["harness_notes"] = errors + [
                        f"unexpected trace header {header!r} (expected {gt.TRACE_HEADER.get(version)!r})"]
                lat = res["window"]["latency_ms"]
                xt = res["window"]
                print(f"  {case.key:34s} {full:9s} {entry['bytes'] / 1024:7.0f} KiB  "
                      f"p50 {lat.get('p50', 0):8.2f} p95 {lat.get('p95', 0):8.2f} max {lat.get('max', 0):8.2f} ms"
                      f"  xt {xt['foreign_events']}/{xt['broken_frames']}/{xt['disconnects']}"
                      f"  {'REPRODUCED' if ok else 'NOT reproduced'}  ({time.time() - t0:.1f}s)",
                      flush=True)
                if not ok:
                    print("      " + "; ".join(x for x in why if x.startswith("MISSING")), flush=True)
                break
            man["traces"] = [e for e in man["traces"]
                             if not (e["scenario"] == case.scenario and e["variant"] == case.variant
                                     and e["toolchain"] == version)]
            if entry is None:
                failures += 1
                man["traces"].append({
                    "path": None, "scenario": case.scenario, "variant": case.variant,
                    "go_version": full, "toolchain": version, "expected_causes": list(case.causes),
                    "reproduced": False, "note": "no usable trace: " + "; ".join(errors)})
                if dest.exists():
                    dest.unlink()
            else:
                man["traces"].append(entry)
            save_manifest(_finish_manifest(man, unavailable), corpus)
    save_manifest(_finish_manifest(man, unavailable), corpus)
    if corpus is FX:
        update_example(man)
    print(f"done in {time.time() - t_all:.0f}s; {failures} case(s) without a trace", flush=True)
    return 1 if failures else 0


def _finish_manifest(man: Dict[str, Any], unavailable: Dict[str, Any]) -> Dict[str, Any]:
    out = {
        "format": "netpoll-diagnose fixture manifest v1",
        "generated_by": "python tools/regen_fixtures.py",
        "host": {"os": platform.system(), "kernel": platform.release(), "cpus": os.cpu_count(),
                 "note": "2 shared cores; other work ran on the machine, expect noise"},
        "cause_ids": CAUSE_IDS,
        "latency_definition": ("client-measured, per streamed chunk (SSE event or chunked record): "
                               "receive time minus the event's scheduled emission time stamped by the "
                               "server; over the traced window unless *_run"),
        "toolchains": {v: gt.TRACE_HEADER[v] for v in gt.VERSIONS},
        "unavailable": sorted(unavailable.values(), key=lambda u: u["toolchain"]),
        "traces": man["traces"],
    }
    return out


def update_example(man: Dict[str, Any]) -> None:
    scen, var, ver = EXAMPLE_SOURCE
    for e in man["traces"]:
        if (e["scenario"], e["variant"], e["toolchain"]) == (scen, var, ver) and e.get("path"):
            EXAMPLE.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(FIX / e["path"], EXAMPLE)
            return


def recheck() -> int:
    """Re-derive evidence and verdicts for the committed traces (no Go build, no runs)."""
    man = load_manifest()
    oracle = gt.go_binary(gt.ORACLE)
    cases = {c.key: c for c in CASES}
    changed = 0
    for e in man["traces"]:
        if not e.get("path"):
            continue
        case = cases.get(f"{e['scenario']}:{e['variant']}")
        ev = analyze_trace(FIX / e["path"], oracle)
        res = {"window": e["measured"], "run": e["measured_run"], "classes": e.get("measured_classes")}
        ok, why = judge(case, res, e["server"]["counters"], ev) if case else (e["reproduced"], e["checks"])
        if ok != e["reproduced"]:
            changed += 1
            print(f"  {e['path']}: reproduced {e['reproduced']} -> {ok}")
        e["evidence"], e["reproduced"], e["checks"] = ev, ok, why
    unavailable = {u["toolchain"]: u for u in man.get("unavailable", [])}
    save_manifest(_finish_manifest(man, unavailable))
    print(f"rechecked {len(man['traces'])} traces, {changed} verdict(s) changed")
    return 0


# ----------------------------------------------------------------------------- summary table


def _rng(vals: List[Any], fmt: Optional[str] = None) -> str:
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    lo, hi = min(vals), max(vals)

    def f(x: Any) -> str:
        if fmt:
            return fmt.format(x)
        return f"{x:.0f}" if abs(x) >= 100 else f"{x:.3g}"

    return f(lo) if lo == hi else f"{f(lo)}–{f(hi)}"


def _op(e: Dict[str, Any], op: str, field: str = "n") -> Any:
    """A trace's syscall statistic: `field` of operation `op` (e.g. "read/netpoll"), 0 when absent."""
    return e["evidence"]["syscalls"]["by_op"].get(op, {}).get(field, 0)


def _w2r(q: str) -> Callable[[Dict[str, Any]], Any]:
    return lambda e: e["evidence"]["wake_to_run_ms"]["all"].get(q)


def _netpoll_waits(e: Dict[str, Any]) -> int:
    return sum(e["evidence"]["net_waits"]["started"].values())


def _netpoll_reads_10ms(e: Dict[str, Any]) -> int:
    return _op(e, "read/netpoll", "over_10ms") + _op(e, "read/netpoll", "unfinished")


#: per scenario, the trace evidence that tells it apart (summary table, last column): a text
#: with one {} per measure, and the measures: (what of a manifest entry, _rng's format)
_EVIDENCE: Dict[str, Tuple[str, List[Tuple[Callable[[Dict[str, Any]], Any], Optional[str]]]]] = {
    "healthy": ("w2r p95 {} ms; read syscalls ≥10 ms: {}", [(_w2r("p95"), None), (_netpoll_reads_10ms, "{}")]),
    "gomaxprocs": ("procs {}; wake-to-run p95 {} ms, max {} ms", [
        (lambda e: e["evidence"]["procs"], "{}"), (_w2r("p95"), None), (_w2r("max"), None)]),
    "fdreuse": ("close() from RawConn.Control {}, from finalizer {}; netpoll reads started and never ended {}", [
        (lambda e: _op(e, "close/rawcontrol"), "{}"), (lambda e: _op(e, "close/finalizer"), "{}"),
        (lambda e: e["evidence"]["net_waits"]["never_ended"].get("read", 0), "{}")]),
    "tlsbypass": ("read(2) on the internal/poll path ≥10 ms or unfinished {}; raw recvfrom max {} ms; "
                  "fcntl from os.File.Fd {}; netpoll waits {}", [
                      (_netpoll_reads_10ms, "{}"), (lambda e: _op(e, "recvfrom/raw", "max_ms"), "{:.0f}"),
                      (lambda e: _op(e, "fcntl/os.File.Fd"), "{}"), (_netpoll_waits, "{}")]),
    "customlistener": ("raw accept4 ≥10 ms {}, raw read ≥10 ms {}; P lost in syscalls {}; netpoll waits {}", [
        (lambda e: _op(e, "accept4/raw", "over_10ms"), "{}"), (lambda e: _op(e, "read/raw", "over_10ms"), "{}"),
        (lambda e: e["evidence"]["syscalls"]["lost_p"], "{}"), (_netpoll_waits, "{}")]),
    "slowconsumer": ("netpoll waits on write {}, each p50 {} ms; slow streams' p50 {} ms, fast p95 {} ms", [
        (lambda e: e["evidence"]["net_waits"]["started"].get("write", 0), "{}"),
        (lambda e: e["evidence"]["net_waits"]["wait_ms"].get("write", {}).get("p50"), "{:.0f}"),
        (lambda e: e["measured_classes"].get("slow", {}).get("latency_ms", {}).get("p50"), "{:.0f}"),
        (lambda e: e["measured_classes"].get("fast", {}).get("latency_ms", {}).get("p95"), None)]),
    "gcpressure": ("GC cycles {}/window, marking {}% of it, mark assists {}, STW max {} ms", [
        (lambda e: e["evidence"]["gc"]["cycles_started"], "{}"),
        (lambda e: 100 * e["evidence"]["gc"]["mark_ms_total"] / max(e["evidence"]["duration_ms"], 1), "{:.0f}"),
        (lambda e: e["evidence"]["gc"]["assists"], "{}"), (lambda e: e["evidence"]["gc"]["stw"].get("max"), None)]),
    "syscallstorm": ("{}k syscalls/s, {}% netpoll writes", [
        (lambda e: e["evidence"]["syscalls"]["per_s"] / 1000, "{:.0f}"),
        (lambda e: 100 * _op(e, "write/netpoll") / max(e["evidence"]["syscalls"]["count"], 1), "{:.0f}")]),
}


def _evidence_text(scenario: str, entries: List[Dict[str, Any]]) -> str:
    """The distinguishing evidence of a variant's traces, each measure as its range over them."""
    if scenario not in _EVIDENCE:
        return ""
    text, measures = _EVIDENCE[scenario]
    return text.format(*(_rng([get(e) for e in entries], fmt) for get, fmt in measures))


def summary_table(man: Optional[Dict[str, Any]] = None) -> str:
    """Markdown table: per variant, the range over Go versions of the measured symptom and of
    the trace evidence that tells the scenario apart (used for fixtures/README.md)."""
    man = man or load_manifest()
    rows = ["| scenario / variant | versions reproduced | chunk p50 ms | chunk p95 ms | TTFE p50 ms | "
            "cross-talk (foreign/broken/disc.) | threads | distinguishing trace evidence |",
            "|---|---|---|---|---|---|---|---|"]
    for case in CASES:
        es = [e for e in man["traces"] if e["scenario"] == case.scenario and e["variant"] == case.variant
              and e.get("path")]
        if not es:
            continue
        rep = [e["toolchain"] for e in es if e["reproduced"]]
        nrep = [e["toolchain"] for e in es if not e["reproduced"]]
        m = [e["measured"] for e in es]
        evs = _evidence_text(case.scenario, es)
        rows.append(
            f"| {case.key} | {len(rep)}/{len(es)}{' (not: ' + ', '.join(nrep) + ')' if nrep else ''} | "
            f"{_rng([x['latency_ms'].get('p50') for x in m])} | {_rng([x['latency_ms'].get('p95') for x in m])} | "
            f"{_rng([x['ttfe_ms'].get('p50') for x in m if x['ttfe_ms'].get('n')])} | "
            f"{_rng([x['foreign_events'] for x in m], '{}')}/{_rng([x['broken_frames'] for x in m], '{}')}/"
            f"{_rng([x['disconnects'] for x in m], '{}')} | {_rng([e['server']['threads'] for e in es], '{}')} | {evs} |")
    return "\n".join(rows)


# ----------------------------------------------------------------------------- big trace


#: load generators for the benchmark traces (fixtures/README.md): busy is the issue's big trace;
#: busyalloc is shaped unlike it (GOMAXPROCS=4, allocation-heavy, CPU samples, no annotations)
BIG_PROGRAMS = ("busy", "busyalloc")


def make_big_trace(version: str = gt.ORACLE, mb: int = 180, out: Optional[Path] = None,
                   program: str = "busy") -> Path:
    """Build cmd/<program> with ``version`` and write a trace of about ``mb`` MB under benchmarks/out/."""
    if program not in BIG_PROGRAMS:
        raise SystemExit(f"unknown load generator {program!r}; known: {', '.join(BIG_PROGRAMS)}")
    go = gt.go_binary(version)
    bindir = build_all(version, go, log=False)
    BIG_OUT.mkdir(parents=True, exist_ok=True)
    out = out or BIG_OUT / f"{program}-{mb}mb-go{version}.trace"
    _run_load([str(bindir / program), "-mb", str(mb), "-out", str(out), "-maxtime", "20m"], 1500)
    return out


def _run_load(argv: List[str], timeout: float) -> None:
    """Run a load generator to its end (killed at `timeout`) and print its summary line."""
    p = _spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        so, se = p.communicate(timeout=timeout)
    finally:
        _kill(p, grace=1)
    if p.returncode != 0:
        raise RuntimeError(f"{Path(argv[0]).name} failed: {se[-500:]}")
    print(so.strip())


#: the reader tests' traces of the busy load generator (syscalls and user regions on every
#: request, which no scenario has: tests/test_read_stretch.py), one per Go 1.22+ format
READER_OUT = REPO / "fixtures" / "traces" / "reader"
READER_BUSY_VERSIONS = ("1.22.10", "1.27.3")


def make_reader_busy(versions: Sequence[str] = READER_BUSY_VERSIONS) -> List[Path]:
    """Small traces (~0.25 MB, ~0.1 s) of cmd/busy at a light load, under fixtures/traces/reader/."""
    READER_OUT.mkdir(parents=True, exist_ok=True)
    outs = []
    for version in versions:
        bindir = build_all(version, gt.go_binary(version), log=False)
        out = READER_OUT / f"busy-small-go{version}.trace"
        _run_load([str(bindir / "busy"), "-mb", "1", "-maxtime", "40ms", "-sse", "3", "-downloads", "1",
                   "-posters", "1", "-out", str(out)], 120)
        outs.append(out)
    return outs


# ----------------------------------------------------------------------------- main


def select_cases(only: List[str], corpus: Corpus = FX) -> List[Any]:
    cases = corpus.cases
    if not only:
        return list(cases)
    keys = [k for x in only for k in x.split(",") if k]
    out = [c for c in cases if any(k == c.scenario or k == c.key for k in keys)]
    unknown = [k for k in keys if not any(k == c.scenario or k == c.key for c in cases)]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {unknown}; known: "
                         + ", ".join(sorted({c.scenario for c in cases})))
    return out


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", default=[],
                    help="scenario or scenario:variant (repeatable, comma-separated)")
    ap.add_argument("--go", action="append", default=[], help="toolchain version (repeatable)")
    ap.add_argument("--check", action="store_true", help="re-check committed traces only")
    ap.add_argument("--big", metavar="VERSION", help="write a large benchmark trace with this Go")
    ap.add_argument("--mb", type=int, default=180, help="size of the --big trace in MB")
    ap.add_argument("--big-program", default="busy", choices=("busy", "busyalloc"),
                    help="the --big trace's load generator (fixtures/README.md)")
    ap.add_argument("--reader-busy", action="store_true",
                    help="write the reader tests' small busy traces (fixtures/traces/reader/)")
    ap.add_argument("--list", action="store_true", help="list the cases")
    ap.add_argument("--corpus", choices=sorted(CORPORA), default="fx",
                    help="fx: the harness corpus (fixtures/manifest.json); gen: the generalisation "
                         "corpus (fixtures/generalisation.json, traces/gen/)")
    ap.add_argument("--table", action="store_true", help="print the README summary table")
    ap.add_argument("--strace", action="store_true",
                    help="record trace + strace pairs under fixtures/strace/ (tools/strace_fixtures.py)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    corpus = CORPORA[args.corpus]
    if args.list:
        for c in corpus.cases:
            print(f"{c.key:34s} window {c.window}s  expects {list(c.causes)}")
        return 0
    if args.table:
        print(summary_table())
        return 0
    if args.check:
        return recheck()
    if args.big:
        print(make_big_trace(args.big, args.mb, program=args.big_program))
        return 0
    if args.reader_busy:
        for out in make_reader_busy():
            print(out)
        return 0
    if args.strace:
        import strace_fixtures
        return strace_fixtures.generate(args.only, [v for x in args.go for v in x.split(",") if v])
    versions = [v for x in args.go for v in x.split(",") if v] or list(gt.VERSIONS)
    for v in versions:
        if v not in gt.VERSIONS:
            raise SystemExit(f"unpinned version {v}; pinned: {gt.VERSIONS}")
    return generate(select_cases(args.only, corpus), versions, corpus=corpus)


if __name__ == "__main__":
    sys.exit(main())
