"""`f.strace`: the descriptor-level facts of an strace log joined to the trace.

The join itself (matching, clock offset, descriptor histories) is the graph stage's
`diagnose.graph.strace_join`; this turns its result into the small typed model rules read,
with evidence a report can cite (fd numbers, both peers, goroutines and times).
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import UsageError
from ..graph.strace_join import JoinError, JoinResult, StaleUse, join
from ..read.strace import StraceError, read_strace, trace_clock_snapshot
from ..timeline.timeline import Timelines
from .model import Evidence, Features, StraceFdReuse, StraceFeatures

MAX_REUSES = 20
MAX_EVIDENCE = 10


def _ms(ns: int | None) -> str:
    return "?" if ns is None else f"{ns / 1e6:.1f} ms"


def _reuse(u: StaleUse, t0: int) -> StraceFdReuse:
    c = u.call
    result = "?" if c.ret is None else (f"{c.ret} {c.errno}".strip())
    moved = c.ret if c.ret and c.ret > 0 and c.name in {"write", "writev", "sendto", "sendmsg", "read",
                                                         "readv", "recvfrom", "recvmsg"} else 0
    old, new = u.old, u.new
    closer = ""
    if old.close is not None:
        closer = f"g{old.close_g} {old.close_site or '(not in the trace)'}" + (f" ({old.close_class})" if old.close_class else "")
    return StraceFdReuse(
        fd=u.fd, goroutine=u.g, call=c.name, time_ns=u.time_ns - t0, result=result, bytes=moved,
        old_peer=old.peer, new_peer=new.peer,
        closed_ns=None if old.close is None else old.close.time_ns - (u.call.time_ns - u.time_ns) - t0,
        closed_by=closer, reissued_ns=None if new.start_ns is None else new.start_ns - t0,
        reissued_by=new.creator.name if new.creator else "")


def strace_features(res: JoinResult, tl: Timelines, log_name: str) -> StraceFeatures:
    t0 = int(tl.t0)
    reuses = [_reuse(u, t0) for u in res.stale_uses]
    by_fd: dict[int, StraceFdReuse] = {}
    for r in reuses:  # per fd, the first misdirected data transfer (else the first use)
        if r.fd not in by_fd or (r.bytes > 0 and by_fd[r.fd].bytes == 0):
            by_fd[r.fd] = r
    ev = [Evidence(note=(f"fd {r.fd}: {r.old_peer or '?'}'s connection was closed at {_ms(r.closed_ns)} by "
                         f"{r.closed_by or '?'}; {r.reissued_by} returned {r.fd} to {r.new_peer or '?'} at "
                         f"{_ms(r.reissued_ns)}; g{r.goroutine} (the old owner) then called {r.call}({r.fd}) "
                         f"= {r.result} at {_ms(r.time_ns)} [proof: strace]"),
                   goroutines=[r.goroutine], start_ns=r.closed_ns, end_ns=r.time_ns)
          for r in list(by_fd.values())[:MAX_EVIDENCE]]
    for c, inc, g, site in res.blocking_changes[:MAX_EVIDENCE]:
        ev.append(Evidence(note=f"fcntl({c.fd}, F_SETFL, {c.args.split(',')[-1].strip()}) cleared O_NONBLOCK on the "
                                f"socket to {inc.peer or '?'} (g{g} {site or '?'}) [proof: strace]",
                           goroutines=[g] if g >= 0 else [], start_ns=c.time_ns - res.offset_ns - t0))
    for inc in res.unregistered[:MAX_EVIDENCE]:
        ev.append(Evidence(note=f"fd {inc.fd} ({inc.creator.name if inc.creator else '?'} -> {inc.peer or 'listener'}) "
                                f"did {inc.io_calls} I/O call(s) and was never registered with epoll_ctl(ADD) "
                                "[proof: strace]",
                           start_ns=None if inc.start_ns is None else inc.start_ns - t0))
    return StraceFeatures(
        present=True, log=log_name, offset_source=res.offset_source, offset_ns=res.offset_ns,
        traced_syscalls=res.traced, matched_syscalls=len(res.matches), match_rate=round(res.match_rate, 4),
        residual_p50_us=res.lag_p50_ns / 1e3, residual_p95_us=res.lag_p95_ns / 1e3,
        fd_reuse_count=len(reuses), reused_fds=sorted(by_fd),
        reuse_peers=[f"fd {fd}: {r.old_peer or '?'} -> {r.new_peer or '?'}" for fd, r in sorted(by_fd.items())],
        reuse_summary="; ".join(f"fd {fd} ({r.old_peer or '?'} -> {r.new_peer or '?'})" for fd, r in sorted(by_fd.items())),
        misdirected_bytes=sum(r.bytes for r in reuses), reuses=reuses[:MAX_REUSES],
        blocking_change_count=len(res.blocking_changes),
        blocking_fds=sorted({c.fd for c, *_ in res.blocking_changes if c.fd is not None}),
        unregistered_socket_count=len(res.unregistered),
        unregistered_fds=sorted({i.fd for i in res.unregistered}), registered_socket_count=len(res.registered),
        ebadf_count=len(res.ebadf_calls),
        warnings=res.warnings[:10], evidence=ev)


def attach_strace(features: Features, tl: Timelines, trace_path: str | os.PathLike,
                  log_path: str | os.PathLike | list, recorded_offset_ns: int | None = None) -> JoinResult:
    """Read the log, join it to the trace and fill `features.strace`. Raises StraceError/JoinError."""
    log = read_strace(log_path)
    res = join(tl, log, trace_clock_snapshot(trace_path), features.trace.format_minor, recorded_offset_ns)
    features.strace = strace_features(res, tl, ", ".join(log.paths) if len(log.paths) < 3 else log.paths[0] + ", ...")
    return res


def sibling_log(trace_path: str | os.PathLike) -> str | None:
    """`X.strace` beside `X.trace` (the fixture pairs under fixtures/strace/), if present."""
    base = os.path.splitext(str(trace_path))[0]
    return base + ".strace" if os.path.isfile(base + ".strace") else None


def extract_with_sibling_log(trace_path: str, modules: list[str] | None = None) -> Features:
    """Features of a trace, joined with `X.strace` when it lies beside it (rule tests use this).
    `modules`: "our code" prefixes for f.our_code (inferred when None)."""
    from . import extract, extract_from_timelines
    from ..timeline import load_timelines

    log = sibling_log(trace_path)
    if log is None:
        return extract(trace_path, modules=modules)
    tl = load_timelines(trace_path)
    features = extract_from_timelines(tl, tl.cols.meta, modules)
    attach_strace(features, tl, trace_path, log)
    return features


def join_strace(features, timelines, trace: Path, strace: Path, offset: int | None) -> list[str]:
    """Fill features.strace from the log; bad logs become one-line UsageErrors. Returns warnings."""
    try:
        res = attach_strace(features, timelines, trace, strace, offset)
    except StraceError as e:
        raise UsageError(e.one_line()) from None
    except JoinError as e:
        raise UsageError(f"{strace}: {e}") from None
    s = features.strace
    return [f"strace: {s.matched_syscalls} of {s.traced_syscalls} traced syscalls matched ({s.match_rate:.1%}), "
            f"clock offset {s.offset_source}, residual p50 {s.residual_p50_us:.0f} us"
            + (f"; {res.clamped} more with clamped trace times (< 64 ns apart) not counted" if res.clamped else "")] + \
        [f"warning: {w}" for w in res.warnings[:5]]
