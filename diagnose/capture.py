"""`netpoll-diagnose capture`: record a trace and an strace log of the same window, as a bundle.

    netpoll-diagnose capture --pid PID --pprof http://127.0.0.1:6060 --seconds 5 -o DIR
    netpoll-diagnose DIR            # diagnoses the bundle (trace + strace joined)

The bundle (DIR): `trace.out` (from URL/debug/pprof/trace?seconds=N), `strace.log`
(`strace -f -p PID`, descriptor and network calls plus the epoll family, -ttt -T -yy, -s 0:
no payload bytes, only their counts),
`proc-before/` and `proc-after/` (`/proc/PID/fdinfo`, the fd links, `/proc/PID/net/tcp{,6}`)
and `bundle.json` (what ran, and CLOCK_REALTIME - CLOCK_MONOTONIC at capture: the exact
offset between the log's and the trace's clocks, for traces without a clock snapshot).

strace must never stay attached: it runs under `timeout` (N + 30 s, then SIGKILL; the kernel
detaches a dead tracer's tracees), is stopped with SIGINT as soon as the trace is in, and
again from `finally` on Ctrl-C, SIGTERM or any error. Refusals (exit 2, one line): strace
missing, no such process, ptrace not permitted (kernel.yama.ptrace_scope, no CAP_SYS_PTRACE).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated

import typer

from .errors import UsageError
from .read.bundle import BUNDLE_FILE, STRACE_FILE, TRACE_FILE, load_bundle  # noqa: F401 - load_bundle: API


STRACE_ARGS = ["-f", "-qq", "-ttt", "-T", "-yy", "-s", "0", "-e", "signal=none",  # -s 0: no payload bytes in bundles
               "-e", "trace=%desc,%network,epoll_create1,epoll_ctl,epoll_wait,epoll_pwait"]
CAP_SYS_PTRACE = 19


def clock_offset_ns() -> int:
    """CLOCK_REALTIME - CLOCK_MONOTONIC (Go's trace clock on Linux is CLOCK_MONOTONIC)."""
    best: tuple[int, int] | None = None
    for _ in range(5):
        a = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        w = time.clock_gettime_ns(time.CLOCK_REALTIME)
        b = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        if best is None or b - a < best[0]:
            best = (b - a, w - (a + b) // 2)
    assert best is not None
    return best[1]


def ptrace_refusal(pid: int) -> str | None:
    """Why attaching to `pid` will be refused, or None when it may work."""
    scope_file = Path("/proc/sys/kernel/yama/ptrace_scope")
    scope = int(scope_file.read_text().strip()) if scope_file.is_file() else 0
    caps = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            caps = int(line.split()[1], 16)
    has_cap = bool(caps >> CAP_SYS_PTRACE & 1)
    if scope >= 3:
        return "kernel.yama.ptrace_scope is 3: ptrace is disabled on this machine until reboot"
    if scope == 2 and not has_cap:
        return "kernel.yama.ptrace_scope is 2 (admin only) and this process lacks CAP_SYS_PTRACE: run as root"
    if scope == 1 and not has_cap:
        return ("kernel.yama.ptrace_scope is 1: only a parent may trace; run as root, or "
                "`sudo sysctl kernel.yama.ptrace_scope=0`, or in a container add CAP_SYS_PTRACE")
    try:
        st = os.stat(f"/proc/{pid}")
    except FileNotFoundError:
        return f"no process {pid}"
    if st.st_uid != os.geteuid() and not has_cap:
        return f"process {pid} belongs to uid {st.st_uid}: tracing it needs root or CAP_SYS_PTRACE"
    return None


def snapshot_proc(pid: int, dest: Path) -> None:
    """/proc/PID/fdinfo (with each fd's link) and /proc/PID/net/tcp{,6} as text files."""
    dest.mkdir(parents=True, exist_ok=True)
    lines = []
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in sorted((p.name for p in fd_dir.iterdir()), key=lambda x: int(x)) if fd_dir.is_dir() else []:
        try:
            link = os.readlink(fd_dir / fd)
            info = Path(f"/proc/{pid}/fdinfo/{fd}").read_text()
        except OSError:
            continue  # closed meanwhile
        lines.append(f"fd {fd} -> {link}\n" + "".join("  " + x + "\n" for x in info.splitlines()))
    (dest / "fdinfo.txt").write_text("".join(lines))
    for name in ("tcp", "tcp6"):
        src = Path(f"/proc/{pid}/net/{name}")
        if src.is_file():
            (dest / f"net_{name}.txt").write_text(src.read_text())


def _stop(p: subprocess.Popen) -> None:
    """Detach strace: SIGINT (it detaches from every thread), then SIGKILL of its group."""
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGINT)
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            return
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        p.wait(timeout=10)


def capture(pid: int, pprof: str, seconds: float, out: Path, strace_bin: str | None = None) -> dict:
    """Record the bundle; returns its bundle.json content. Raises UsageError on refusals."""
    strace_bin = strace_bin or shutil.which("strace")
    if not strace_bin:
        raise UsageError("strace is not installed (apt-get install -y strace): capture needs it")
    if shutil.which("timeout") is None:
        raise UsageError("coreutils `timeout` is missing: capture will not run strace without a time limit")
    why = ptrace_refusal(pid)
    if why:
        raise UsageError(f"cannot trace pid {pid}: {why}")
    if not 0 < seconds <= 600:
        raise UsageError(f"--seconds {seconds}: between 0 and 600")
    out.mkdir(parents=True, exist_ok=True)
    url = pprof.rstrip("/") + f"/debug/pprof/trace?seconds={seconds:g}"
    snapshot_proc(pid, out / "proc-before")
    offset = clock_offset_ns()
    limit = int(seconds + 30)
    cmd = ["timeout", "--signal=INT", "--kill-after=5", str(limit), strace_bin, *STRACE_ARGS,
           "-o", str(out / STRACE_FILE), "-p", str(pid)]
    started = _dt.datetime.now(_dt.timezone.utc)
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         start_new_session=True)
    old_term = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        time.sleep(0.3)
        if p.poll() is not None:
            err = (p.stderr.read() if p.stderr else b"").decode(errors="replace").strip().splitlines()
            raise UsageError(f"strace could not attach to pid {pid}: {err[-1] if err else 'exit ' + str(p.returncode)}"
                             + (" (ptrace not permitted: kernel.yama.ptrace_scope or a container without "
                                "CAP_SYS_PTRACE)" if any("not permitted" in e for e in err) else ""))
        try:
            with urllib.request.urlopen(url, timeout=seconds + 20) as resp, open(out / TRACE_FILE, "wb") as fh:
                shutil.copyfileobj(resp, fh)
        except (urllib.error.URLError, OSError) as e:
            raise UsageError(f"{url}: cannot fetch the trace ({getattr(e, 'reason', e)})") from None
    finally:
        _stop(p)
        signal.signal(signal.SIGTERM, old_term)
    snapshot_proc(pid, out / "proc-after")
    meta = {"format": "netpoll-diagnose capture v1", "pid": pid, "pprof": pprof, "seconds": seconds,
            "trace": TRACE_FILE, "strace": STRACE_FILE, "clock_offset_ns": offset,
            "strace_command": " ".join(["strace", *STRACE_ARGS, "-p", str(pid)]),
            "started_at": started.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "strace_exit": p.returncode}
    (out / BUNDLE_FILE).write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def capture_command(
    pid: Annotated[int, typer.Option("--pid", help="the Go server's process id")],
    pprof: Annotated[str, typer.Option("--pprof", help="its net/http/pprof base URL, e.g. http://127.0.0.1:6060")],
    out: Annotated[Path, typer.Option("--output", "-o", help="bundle directory to write")],
    seconds: Annotated[float, typer.Option("--seconds", help="trace window (s)")] = 5.0,
) -> None:
    """Record a trace and an strace log of the same window; then `netpoll-diagnose DIR`."""
    meta = capture(pid, pprof, seconds, out)
    size = (out / TRACE_FILE).stat().st_size
    with open(out / STRACE_FILE, "rb") as fh:
        lines = sum(1 for _ in fh)
    typer.echo(f"{out}: trace {size} bytes, strace {lines} lines over {meta['seconds']:g} s; "
               f"diagnose with: netpoll-diagnose {out}")


def register(app: typer.Typer) -> None:
    app.command("capture")(capture_command)
