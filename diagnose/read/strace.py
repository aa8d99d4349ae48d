"""Read `strace -f` logs: the descriptor-level facts an execution trace does not carry.

A Go execution trace says *that* goroutine 42 was in a `write` syscall from 23.1 to 23.4 ms on
thread 7913; it never says on which descriptor, what came back, or which peer the socket
belonged to. strace says exactly that, per OS thread. This module turns a log into
`StraceCall` records; `diagnose.graph.strace_join` matches them to the trace's syscalls.

Accepted logs (what `strace` writes, nothing invented):

* `-f` with one `-o FILE` (each line starts with the thread id), `-ff` per-thread files
  (`FILE.<tid>`, no tid on the line: pass them all, or the common prefix), or a single
  process's log without `-f` (its tid comes from the file name or is unknown);
* timestamps `-t` (seconds; read, but the join refuses them as too coarse), `-tt` (microseconds,
  time of day) or `-ttt` (Unix epoch);
  `-r` relative stamps cannot be placed on any clock and are refused;
* `-T` durations (`<0.000123>`), `-yy` descriptor decoding (`7<TCP:[a:1->b:2]>`) when present;
* `<unfinished ...>` / `<... NAME resumed>` line pairs, joined into one call; `<detached ...>`
  (strace stopped during the call) ends a call with no result;
* `--- SIGNAL ---`, `+++ exited +++` and `strace:` notices are skipped.

A line that is none of these stops the read with `StraceError` naming `file:line`. A log cut
mid-line (its last line incomplete) or with calls that never resumed reads fine and says so
in `StraceLog.warnings`: the join is partial, not wrong.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

NS = 1_000_000_000
DAY_NS = 86_400 * NS

# `-yy` decoration: <TCP:[127.0.0.1:80->127.0.0.1:5555]>, <TCPv6:[[::1]:80->[::1]:5]>, </dev/null>
_DECOR = r"<(?:[^<>\[\]]|\[(?:[^\[\]]|\[[^\]]*\])*\])*>"
_PREFIX = re.compile(r"^(?:\[pid\s+(?P<pidb>\d+)\]\s+|(?P<pid>\d+)\s+)?"
                     r"(?P<ts>\d{2}:\d{2}:\d{2}(?:\.\d+)?|\d{9,}(?:\.\d+)?|\d+\.\d{6})\s+(?P<rest>.*)$")
_CALL = re.compile(r"^(?P<name>[a-z_][a-z0-9_]*)\((?P<args>.*)$")
_RESUMED = re.compile(r"^<\.\.\. (?P<name>[a-z_][a-z0-9_]*) resumed>\s?(?P<args>.*)$")
_RET = re.compile(r"\)\s+=\s+(?P<ret>-?\d+|0x[0-9a-f]+|\?)(?P<rdesc>" + _DECOR + r")?"
                  r"(?:\s+(?P<errno>E[A-Z0-9]+)\b(?:\s+\([^)]*\))?)?(?:\s+\((?P<note>[^)]*)\))?"
                  r"(?:\s+<(?P<dur>\d+\.\d+)>)?\s*$")
_UNFINISHED = re.compile(r"\s*<(?:unfinished|detached) \.\.\.>\)?\s*(?:=\s*\?)?\s*$")  # detached: strace let go mid-call
_FD_ARG = re.compile(r"^\s*(?P<fd>-?\d+)(?P<desc>" + _DECOR + r")?")
_NOTICE = re.compile(r"^(?:---|\+\+\+|strace: |<\.\.\. resuming interrupted)")
_SOCKADDR_PEER = re.compile(r"sin6?_port=htons\((?P<port>\d+)\).*?(?:inet_addr\(\"(?P<ip4>[^\"]+)\"\)|"
                            r"inet_pton\(AF_INET6,\s*\"(?P<ip6>[^\"]+)\")")
_EPOLL_CTL = re.compile(r"^\s*(?P<ep>\d+)(?:" + _DECOR + r")?,\s*(?P<op>EPOLL_CTL_[A-Z]+),\s*(?P<fd>\d+)(?P<desc>" + _DECOR + r")?")
_ENDPOINTS = re.compile(r"^(?P<kind>[A-Za-z0-9-]+):\[(?P<inner>.*)\]$")


class StraceError(InputError):
    """An strace log that cannot be read: one line, `file:line: what was wrong` (exit 2).
    An InputError, so every caller (the CLI, `rules test` on an X.trace + X.strace pair) treats
    it as bad input, not as our bug."""

    def __init__(self, message: str, path: str = "", line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.path, self.line = message, path, line

    def one_line(self) -> str:
        where = self.path or "<strace log>"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.message}"


@dataclass(slots=True)
class StraceCall:
    """One syscall as strace saw it (an unfinished/resumed pair is one call)."""

    tid: int                 # OS thread id (-1 when the log does not say)
    time_ns: int             # entry time on the log's clock: Unix ns (-ttt) or ns since midnight (-t/-tt)
    name: str
    args: str                # argument text as printed (joined across unfinished/resumed)
    ret: int | None = None   # None: `= ?`, or never resumed in the log
    errno: str = ""          # "EAGAIN", "EBADF", "EINPROGRESS"...
    dur_ns: int | None = None  # -T
    fd: int | None = None    # the descriptor the call is about (first arg; epoll_ctl's target)
    fd_desc: str = ""        # its -yy decoding at the call, e.g. "TCP:[127.0.0.1:80->127.0.0.1:5555]"
    ret_desc: str = ""       # -yy decoding of a returned descriptor (accept4, socket, dup)
    epoll_op: str = ""       # EPOLL_CTL_ADD/MOD/DEL for epoll_ctl
    file: str = ""
    line: int = 0
    resumed: bool = True     # False: `<unfinished ...>` with no resume in the log

    @property
    def end_ns(self) -> int:
        return self.time_ns + (self.dur_ns or 0)

    def peer(self) -> str:
        """Remote endpoint of the socket this call is about or returned ('' when unknown)."""
        for d in (self.ret_desc, self.fd_desc):
            p = endpoint_peer(d)
            if p:
                return p
        if self.name.startswith("accept"):
            m = _SOCKADDR_PEER.search(self.args)
            if m:
                ip = m.group("ip4") or f"[{m.group('ip6')}]"
                return f"{ip}:{m.group('port')}"
        return ""


@dataclass
class StraceLog:
    """Every call of a log (or of -ff files), sorted by time, and what the reader noticed."""

    calls: list[StraceCall]
    paths: list[str]
    clock: str               # "epoch" (-ttt) or "time_of_day" (-t/-tt)
    resolution_ns: int       # 1 s for -t, 1 us otherwise
    has_durations: bool
    has_fd_decoding: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def tids(self) -> set[int]:
        return {c.tid for c in self.calls}


def endpoint_peer(desc: str) -> str:
    """'127.0.0.1:5555' from 'TCP:[127.0.0.1:80->127.0.0.1:5555]' ('' if not a connected socket)."""
    m = _ENDPOINTS.match(desc)
    if not m or "->" not in m.group("inner"):
        return ""
    return m.group("inner").split("->", 1)[1]


def endpoint_local(desc: str) -> str:
    m = _ENDPOINTS.match(desc)
    return m.group("inner").split("->", 1)[0] if m else ""


def is_socket_desc(desc: str) -> bool:
    return bool(desc) and (desc.startswith(("TCP", "UDP", "UNIX", "NETLINK", "socket:")))


def _parse_ts(ts: str) -> tuple[int, str, int]:
    """(ns, clock, resolution) of one stamp."""
    if ":" in ts:
        hms, _, frac = ts.partition(".")
        h, m, s = (int(x) for x in hms.split(":"))
        ns = ((h * 60 + m) * 60 + s) * NS + (int(frac.ljust(9, "0")[:9]) if frac else 0)
        return ns, "time_of_day", (1000 if frac else NS)
    sec, _, frac = ts.partition(".")
    if int(sec) < 100_000_000:  # before 1973: `-r`/`-ttt` relative stamps, on no clock we know
        raise ValueError("relative timestamps (-r) cannot be placed on the trace's clock: record with -ttt")
    return int(sec) * NS + int(frac.ljust(9, "0")[:9]), "epoch", 1000


def _split_ret(text: str) -> tuple[str, re.Match | None]:
    m = _RET.search(text)
    if m is None:
        return text, None
    return text[: m.start()], m


def _fill(call: StraceCall, args: str, m: re.Match | None) -> None:
    call.args = args
    fa = _FD_ARG.match(args)
    if call.name == "epoll_ctl":
        em = _EPOLL_CTL.match(args)
        if em:
            call.fd, call.epoll_op = int(em.group("fd")), em.group("op")
            call.fd_desc = (em.group("desc") or "")[1:-1]
    elif fa and call.name not in ("socket", "socketpair", "pipe", "pipe2", "epoll_create1", "mmap", "munmap"):
        call.fd = int(fa.group("fd"))
        call.fd_desc = (fa.group("desc") or "")[1:-1]
    if m is None:
        return
    r = m.group("ret")
    call.ret = None if r == "?" else int(r, 16) if r.startswith("0x") else int(r)
    call.ret_desc = (m.group("rdesc") or "")[1:-1]
    call.errno = m.group("errno") or ""
    if m.group("dur"):
        sec, _, frac = m.group("dur").partition(".")
        call.dur_ns = int(sec) * NS + int(frac.ljust(9, "0")[:9])


def _tid_from_name(path: str) -> int | None:
    suffix = path.rsplit(".", 1)[-1]
    return int(suffix) if suffix.isdigit() else None


def expand_paths(path: str | os.PathLike) -> list[str]:
    """A log file, or the prefix of `-ff` files (`LOG` -> LOG.123, LOG.124...)."""
    p = Path(path)
    if p.is_file():
        return [str(p)]
    parent = p.parent if str(p.parent) else Path(".")
    if parent.is_dir():
        found = sorted(str(x) for x in parent.glob(p.name + ".*") if _tid_from_name(str(x)) is not None)
        if found:
            return found
    raise StraceError("no such strace log (nor -ff files LOG.<tid>)", str(p))


def read_strace(path: str | os.PathLike | list) -> StraceLog:
    """Read one log, several -ff files, or a -ff prefix. Raises StraceError on a garbled line."""
    paths = [p for x in (path if isinstance(path, list) else [path]) for p in expand_paths(x)]
    calls: list[StraceCall] = []
    warnings: list[str] = []
    clocks: set[str] = set()
    res = 1000
    for p in paths:
        c, w, clk, r = _read_one(p, _tid_from_name(p) if len(paths) > 1 or _tid_from_name(p) else None)
        calls += c
        warnings += w
        clocks |= clk
        res = max(res, r)
    if not calls:
        raise StraceError("no syscall lines (is this an strace log? expected `strace -f -ttt -T` output)",
                          paths[0] if len(paths) == 1 else os.path.commonprefix(paths))
    if len(clocks) > 1:
        raise StraceError("mixes time-of-day (-t/-tt) and epoch (-ttt) stamps", paths[0])
    calls.sort(key=lambda c: (c.time_ns, c.tid))
    return StraceLog(calls=calls, paths=paths, clock=clocks.pop(), resolution_ns=res,
                     has_durations=any(c.dur_ns is not None for c in calls),
                     has_fd_decoding=any(c.fd_desc or c.ret_desc for c in calls), warnings=warnings)


def _read_one(path: str, file_tid: int | None) -> tuple[list[StraceCall], list[str], set[str], int]:
    calls: list[StraceCall] = []
    pending: dict[int, StraceCall] = {}  # tid -> unfinished call
    clocks: set[str] = set()
    res = 1000
    day = 0
    last_tod = -1
    warnings: list[str] = []
    try:
        fh = open(path, "rb")
    except OSError as e:
        raise StraceError(e.strerror or str(e), path) from None
    with fh:
        raw = fh.read()
    if b"\x00" in raw[:4096]:
        raise StraceError("binary data, not an strace log (a trace? pass it as TRACE, the log as --strace)", path, 1)
    text = raw.decode("utf-8", errors="replace")
    lines = text.split("\n")
    cut_last = not text.endswith("\n") and bool(lines[-1])
    if not cut_last:
        lines.pop()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        m = _PREFIX.match(line)
        if m is None:
            if _NOTICE.match(line.lstrip()):
                continue
            if n == len(lines) and cut_last:
                warnings.append(f"{path}:{n}: last line is cut; the log ends mid-write")
                break
            if re.match(r"^\d+\s+\d+\.\d+\s", line) is None and re.match(r"^(\d+\s+)?[a-z_0-9]+\(", line):
                raise StraceError("no timestamp on this line: record with -ttt (or -tt) and -T", path, n)
            raise StraceError(f"not an strace line: {line[:60]!r}", path, n)
        rest = m.group("rest")
        if _NOTICE.match(rest):
            continue
        tid = int(m.group("pid") or m.group("pidb") or (file_tid if file_tid is not None else -1))
        try:
            t, clk, r = _parse_ts(m.group("ts"))
        except ValueError as e:
            raise StraceError(f"bad timestamp {m.group('ts')!r}: {e}", path, n) from None
        if clk == "time_of_day":  # -t/-tt wrap at midnight
            if last_tod >= 0 and t + day < last_tod - DAY_NS // 2:
                day += DAY_NS
            t += day
            last_tod = t
        clocks.add(clk)
        res = max(res, r)
        rm = _RESUMED.match(rest)
        if rm is not None:
            call = pending.pop(tid, None)
            body, retm = _split_ret(rm.group("args"))
            if call is None or call.name != rm.group("name"):  # began before the log: keep its end
                call = StraceCall(tid=tid, time_ns=t, name=rm.group("name"), args="", file=path, line=n)
                _fill(call, body, retm)
                call.fd = call.fd if call.name != "epoll_ctl" else None
                if retm is not None and call.dur_ns is not None:
                    call.time_ns = t - call.dur_ns
                calls.append(call)
                continue
            _fill(call, call.args + body, retm)
            call.resumed = True
            continue
        cm = _CALL.match(rest)
        if cm is None:
            if n == len(lines) and cut_last:
                warnings.append(f"{path}:{n}: last line is cut; the log ends mid-write")
                break
            raise StraceError(f"not a syscall line: {rest[:60]!r}", path, n)
        call = StraceCall(tid=tid, time_ns=t, name=cm.group("name"), args="", file=path, line=n)
        um = _UNFINISHED.search(cm.group("args"))
        if um is not None:
            call.args = cm.group("args")[: um.start()]
            call.resumed = False
            pending[tid] = call
            calls.append(call)
            continue
        body, retm = _split_ret(cm.group("args"))
        if retm is None:
            if n == len(lines) and cut_last:
                warnings.append(f"{path}:{n}: last line is cut; the log ends mid-write")
                break
            raise StraceError(f"syscall line without a result (`= N`): {rest[:60]!r}", path, n)
        _fill(call, body, retm)
        calls.append(call)
    if pending:
        warnings.append(f"{path}: {len(pending)} call(s) never resumed (the log ends while they run)")
        for call in pending.values():
            _fill(call, call.args, None)
    return calls, warnings, clocks, res


def trace_clock_snapshot(trace_path: str | os.PathLike) -> tuple[int, int, int] | None:
    """(trace ns, wall sec, wall nsec) of a Go 1.25+ trace's first clock snapshot, else None.

    Reads only up to the first generation's Sync event (the start of the file)."""
    from . import open_trace
    from .event import EventKind

    with open_trace(str(trace_path)) as trace:
        for n, ev in enumerate(trace.events()):
            if ev.kind == EventKind.Sync:
                snap = ev.sync().clock_snapshot
                if snap is not None:
                    return int(snap.trace), int(snap.wall_sec), int(snap.wall_nsec)
            if n > 1000:
                break
    return None
