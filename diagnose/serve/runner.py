"""Run one analysis (or diff) in a child process with limits, and collect what it wrote.

The child runs the documented CLI only (``netpoll-diagnose TRACE --format F -o FILE``, exit
0/1 diagnosed, 2 bad input; ``diff A B``), in the request's own temporary directory, with the
trace given by its (sanitised) file name so nothing it prints names a server path. The
outputs are scrubbed of the remaining server paths (rule files, install prefix) before anyone
sees them. Secrets (Slack tokens, the bearer token) are not passed to the child.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .child import EXIT_INTERNAL, EXIT_MEMORY, OUT_OF_MEMORY, SEP
from .limits import Limits

SECRET_ENV = re.compile(r"^(SLACK_|NETPOLL_DIAGNOSE_TOKEN$)")
STDERR_CAP = 64 * 1024
# A server-side switch is no advice for chat: "...; set NETPOLL_DIAGNOSE_DEBUG=1 for a traceback",
# "...; please report it (NETPOLL_DIAGNOSE_DEBUG=1 shows the traceback)".
DEBUG_HINT = re.compile(r";? *(set |please report it \()?NETPOLL_DIAGNOSE_DEBUG=1[^;]*$")
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
# Reports are written here inside the request directory: `safe_name` never starts a name with
# "_", so no uploaded trace can be overwritten by (or read as) a report.
OUT_DIR = "_out"
EXT = {"json": "json", "html": "html", "markdown": "md", "slack": "json", "text": "txt"}


@dataclass
class Outcome:
    """What one child run produced.

    kind: "diagnosed" (exit 0/1), "bad_input" (2), "timeout", "memory", "shutdown" (killed by
    the server's stop), "failed" (anything else).
    error: one line for the user (the CLI's own for bad input), empty when diagnosed.
    """

    kind: str
    exit_code: int | None
    outputs: dict[str, str] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.kind == "diagnosed"


def safe_name(name: str, default: str = "trace.out") -> str:
    """A file name safe to create in a temp dir, to show and to pass to the CLI: no directories,
    no odd bytes, no leading "-" (an upload called "--help" or "-" is not an option/stdin)."""
    base = SAFE_NAME.sub("_", os.path.basename(name or "")).lstrip("._-").rstrip("._")[:80]
    return base or default


class Children:
    """The analysis children alive now, so shutdown can kill them (process groups)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen] = set()
        self.closed = False

    def add(self, p: subprocess.Popen) -> None:
        with self._lock:
            self._procs.add(p)
            closed = self.closed
        if closed:
            kill_group(p)

    def discard(self, p: subprocess.Popen) -> None:
        with self._lock:
            self._procs.discard(p)

    def kill_all(self) -> int:
        with self._lock:
            self.closed = True
            procs = list(self._procs)
        for p in procs:
            kill_group(p)
        return len(procs)


def kill_group(p: subprocess.Popen) -> None:
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def server_roots(extra: list[str] | None = None) -> list[str]:
    """Absolute directories whose names must not reach a user (longest first): where this
    package, its shipped rules and its libraries are installed, the temporary directory, and
    the rule layers. Not sys.prefix, $HOME or the working directory: those are too broad --
    "/usr/local" or "/root" would be cut out of the trace's own Go stack paths
    (/usr/local/go/src/net/fd_unix.go, /root/go/pkg/mod/...), which the user must see whole."""
    import diagnose
    from diagnose import settings

    roots = {str(Path(diagnose.__file__).resolve().parent.parent), sysconfig.get_paths()["purelib"],
             sysconfig.get_paths()["platlib"], tempfile.gettempdir()}
    for r in [*settings().rules_dirs, *(extra or [])]:
        if r:
            roots.add(str(Path(r).resolve()))
    return sorted((r.rstrip("/") for r in roots if len(r.rstrip("/")) > 1), key=len, reverse=True)


def scrub(text: str, roots: list[str]) -> str:
    """Replace server directories by nothing (``/srv/x/rules/a.yaml`` -> ``rules/a.yaml``), or
    by "." when named alone; a root is matched whole (``/srv/x`` leaves ``/srv/xy`` alone)."""
    if not roots:
        return text
    rx = re.compile("(?:" + "|".join(map(re.escape, roots)) + r")(/|(?![\w.-]))")
    return rx.sub(lambda m: "" if m.group(1) else ".", text)


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not SECRET_ENV.match(k)}
    env.update(PYTHONSAFEPATH="1", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    return env


def _last_line(stderr: bytes) -> str:
    for line in reversed(stderr.decode("utf-8", "replace").splitlines()):
        if line.strip():
            return line.strip()
    return ""


def run_cli(workdir: Path, commands: list[list[str]], outputs: dict[str, str], limits: Limits,
            children: Children | None = None) -> Outcome:
    """Run ``commands`` (CLI argument lists) in one limited child inside ``workdir``.

    ``outputs`` maps a key to a file name the commands write (``-o``); their text is returned,
    scrubbed of server paths. Never raises for anything the input does.
    """
    # -P: the request's directory (cwd, holding a file named by the user) is not put on
    # sys.path, so an upload called "numpy.py" or "diagnose.py" is never imported.
    argv = [sys.executable, "-P", "-m", "diagnose.serve.child", "--mem", str(limits.memory_mb),
            "--cpu", str(limits.cpu_s), "--"]
    for i, c in enumerate(commands):
        argv += ([SEP] if i else []) + c
    (workdir / OUT_DIR).mkdir(exist_ok=True)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, cwd=workdir, env=child_env(), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    if children:
        children.add(p)
    timed_out = False
    try:
        try:
            _, err = p.communicate(timeout=limits.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_group(p)
            _, err = p.communicate()
    finally:
        if children:
            children.discard(p)
        kill_group(p)  # nothing the child started outlives it
    secs = time.monotonic() - t0
    roots = [str(workdir)] + server_roots()
    line = DEBUG_HINT.sub("", scrub(_last_line(err[-STDERR_CAP:]), roots))
    rc = p.returncode
    if timed_out:
        return Outcome("timeout", rc, error=f"the analysis took longer than the server's limit ({limits.timeout_s:g} s)", seconds=secs)
    written = all((workdir / name).is_file() for name in outputs.values())
    if rc in (0, 1) or rc == 2 and written:  # exit 2 with the reports written: an incomplete verdict
        texts = {}
        for key, name in outputs.items():
            f = workdir / name
            if f.is_file():
                texts[key] = scrub(f.read_text(encoding="utf-8", errors="replace"), roots)
        if len(texts) == len(outputs):
            return Outcome("diagnosed", rc, texts, seconds=secs)
        return Outcome("failed", rc, error="internal error: the analysis wrote no report", seconds=secs)
    if children is not None and children.closed and rc not in (0, 1, 2):
        return Outcome("shutdown", rc, error="the server shut down before the analysis finished; send it again", seconds=secs)
    if rc == 2 and OUT_OF_MEMORY.search(line):  # the CLI reports a failed allocation as exit 2
        return Outcome("memory", rc, error=f"the analysis needed more than the server's memory limit ({limits.memory_mb} MB)", seconds=secs)
    if rc == 2:
        return Outcome("bad_input", rc, error=line or "netpoll-diagnose: the trace could not be read", seconds=secs)
    if rc == EXIT_MEMORY or rc == -signal.SIGKILL and not timed_out:
        return Outcome("memory", rc, error=line or f"the analysis needed more than the server's memory limit ({limits.memory_mb} MB)", seconds=secs)
    if rc in (-signal.SIGXCPU, -signal.SIGKILL):
        return Outcome("timeout", rc, error=f"the analysis used more than the server's CPU limit ({limits.cpu_s} s)", seconds=secs)
    if rc == EXIT_INTERNAL:
        return Outcome("failed", rc, error=line or "internal error", seconds=secs)
    return Outcome("failed", rc, error=f"internal error (analysis exited with {rc})", seconds=secs)


def diagnose_trace(workdir: Path, trace_name: str, formats: list[str], limits: Limits,
                   children: Children | None = None) -> Outcome:
    """``netpoll-diagnose diagnose TRACE --format F -o report.F`` for each format, in one child."""
    names = {f: f"{OUT_DIR}/report.{EXT[f]}" if f != "slack" else f"{OUT_DIR}/report.slack.json" for f in formats}
    # the command named: an upload called "features" or "inspect" is a trace, not a command
    cmds = [["diagnose", trace_name, "--format", f, "-o", names[f]] for f in formats]
    return run_cli(workdir, cmds, names, limits, children)


def diff_traces(workdir: Path, before: str, after: str, formats: list[str], limits: Limits,
                children: Children | None = None) -> Outcome:
    """``netpoll-diagnose diff BEFORE AFTER --format F -o diff.F`` for each format, in one child."""
    names = {f: f"{OUT_DIR}/diff.{EXT[f]}" if f != "slack" else f"{OUT_DIR}/diff.slack.json" for f in formats}
    cmds = [["diff", before, after, "--format", f, "-o", names[f]] for f in formats]
    return run_cli(workdir, cmds, names, limits, children)
