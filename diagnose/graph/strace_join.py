"""Join an strace log to the trace's syscalls, then read descriptor histories out of it.

Why this is exact rather than guessed: from Go 1.22's trace format the thread id (`M=`) is the
OS thread id strace prints, and the trace clock is CLOCK_MONOTONIC (Go 1.25+ traces carry a
wall-clock snapshot relating the two). Go writes `GoSyscallBegin` before the syscall
instruction and `GoSyscallEnd` after it, so the strace entry stamp of the same call, moved to
the trace clock, falls inside the trace's syscall interval on the same thread.

1. **Clock offset** (log clock - trace clock): from the snapshot when the trace has one and the
   log has epoch stamps (`-ttt`); otherwise estimated: every (trace syscall, strace call) pair
   of one thread and one call name bounds the offset to [entry - end, entry - begin]; the
   offset covered by the most such intervals wins (coarse 1 ms histogram first, then a sweep).
2. **Match**: per thread, in time order, the strace call whose entry lies in the trace
   syscall's interval (2 us of slack for strace's microsecond stamps).
3. **Descriptor histories** from the whole log: each `accept4`/`socket`/`dup`/`open` returning
   N starts an *incarnation* of N, `close(N) = 0` ends it. A goroutine that used incarnation k
   and, without closing N through internal/poll or obtaining N again itself, later uses N in
   incarnation j != k is writing to (or reading, closing) somebody else's socket: that is
   the fd-reuse proof, with both peers, the fd and the times.

Blocking-mode changes (`fcntl(F_SETFL)` without `O_NONBLOCK` on a socket) and sockets never
registered with `epoll_ctl(ADD)` before their first I/O come from the log alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..timeline.grouping import stable_argsort, unique

from ..read.strace import StraceCall, StraceLog, endpoint_peer, is_socket_desc
from ..timeline import analysis as A
from ..timeline.columns import G_RUNNING
from ..timeline.stacks import SYSCALL_PKGS
from ..timeline.stacks import CALLER_CLASSES, CC_NETPOLLER, pkg_of
from ..timeline.timeline import Timelines

SLACK_NS = 2_000       # strace stamps are truncated to microseconds
COARSE_BIN_NS = 1_000_000
FINE_WINDOW_NS = 2_000_000
MAX_PAIRS = 1_000_000  # coarse votes in all
FINE_CALLS = 5_000     # trace syscalls (evenly sampled) bounding the offset in the fine step
CLAMPED_NS = 64        # a syscall "shorter" than the trace clock's tick: Go's reader clamped its times
CREATES = {"accept", "accept4", "socket", "dup", "dup2", "dup3", "open", "openat", "epoll_create1",
           "epoll_create", "eventfd2", "timerfd_create", "memfd_create", "signalfd4", "inotify_init1"}
IO = {"read", "readv", "pread64", "recvfrom", "recvmsg", "recvmmsg", "write", "writev", "pwrite64",
      "sendto", "sendmsg", "sendmmsg", "sendfile", "accept", "accept4"}
GENERIC = {"syscall", "syscall6", "rawsyscall", "rawsyscall6", "syscallnoerror", "rawsyscallnoerror"}
ALIASES = {"accept": {"accept", "accept4"}, "fcntl": {"fcntl", "fcntl64"}, "pread": {"pread64"},
           "pwrite": {"pwrite64"}, "epollctl": {"epoll_ctl"}, "epollwait": {"epoll_wait", "epoll_pwait"},
           "fstat": {"fstat", "newfstatat", "fstatat64", "statx"}, "open": {"open", "openat"},
           "dup": {"dup", "dup2", "dup3", "fcntl"}, "dup2": {"dup2", "dup3"}, "close": {"close"}}


class JoinError(InputError):
    """The log cannot be joined to this trace (old format, another process): one line, exit 2."""


def trace_names(call: str) -> set[str] | None:
    """strace names a trace syscall's entry frame can stand for; None: any (syscall.Syscall)."""
    if not call or pkg_of(call) not in SYSCALL_PKGS:  # user code or internal/poll via syscall.Syscall
        return None
    short = call.rsplit(".", 1)[-1].lower()
    if short in GENERIC:
        return None
    return ALIASES.get(short, {short})


@dataclass
class Match:
    trace_i: int           # index into the trace's syscalls
    call: StraceCall
    g: int
    site: str
    caller_class: str
    lag_ns: int            # strace entry (trace clock) - syscall begin


@dataclass
class Incarnation:
    """One life of a descriptor number: from the call that returned it to its close."""

    fd: int
    index: int             # 0: already open when the log starts
    start_ns: int | None   # trace clock
    creator: StraceCall | None
    peer: str = ""
    local: str = ""
    socket: bool = False
    close: StraceCall | None = None
    close_g: int = -1
    close_site: str = ""
    close_class: str = ""
    epoll_added: bool = False
    first_io_ns: int | None = None
    io_calls: int = 0
    goroutines: set[int] = field(default_factory=set)


@dataclass
class StaleUse:
    """A goroutine using fd N after N was closed under it and handed to another peer."""

    g: int
    fd: int
    call: StraceCall
    time_ns: int
    site: str
    old: Incarnation
    new: Incarnation


@dataclass
class JoinResult:
    offset_ns: int                  # log clock - trace clock
    offset_source: str              # "clock snapshot" or "estimated from N pairs"
    offset_estimate_ns: int | None  # the pair-based estimate, also when the snapshot was used
    traced: int                     # trace syscalls inside the log's time span
    matches: list[Match]
    unmatched_by_call: dict[str, int]
    not_logged_by_call: dict[str, int]  # trace syscalls of names the log never shows (strace -e filter)
    clamped: int                    # unmatched trace syscalls with clamped times (< 64 ns; trace end)
    log_calls_in_span: int
    lag_p50_ns: int
    lag_p95_ns: int
    outside: int                    # matched calls whose entry lies outside the trace interval
    incarnations: dict[int, list[Incarnation]]
    stale_uses: list[StaleUse]
    blocking_changes: list[tuple[StraceCall, Incarnation, int, str]]  # (fcntl, incarnation, g, site)
    unregistered: list[Incarnation]
    registered: list[Incarnation]   # created in the log, with I/O, registered with epoll first
    ebadf_calls: list[tuple[StraceCall, int, str]]
    warnings: list[str]

    @property
    def match_rate(self) -> float:
        return len(self.matches) / self.traced if self.traced else 0.0


def _to_trace(log: StraceLog, offset: int, t: int) -> int:
    return t - offset


def _groups(sc: A.Syscalls, calls_by_tid: dict[int, list[StraceCall]], names: list[set | None]):
    """(trace begins, trace ends, strace stamps) per (thread, call name), each sorted."""
    for tid, calls in calls_by_tid.items():
        ti = np.nonzero(sc.m == tid)[0]
        if not ti.shape[0] or not calls:
            continue
        by_name: dict[str, list[int]] = {}
        for c in calls:
            by_name.setdefault(c.name, []).append(c.time_ns)
        for name, stamps in by_name.items():
            ok = np.array([names[i] is not None and name in names[i] for i in ti.tolist()], dtype=bool)
            if not ok.any():
                continue
            sel = ti[ok][stable_argsort(sc.start[ti[ok]])]
            yield (sc.start[sel].astype(np.int64), sc.end[sel].astype(np.int64),
                   np.sort(np.array(stamps, dtype=np.int64)))


def estimate_offset(sc: A.Syscalls, calls_by_tid: dict[int, list[StraceCall]], names: list[set | None],
                    resolution_ns: int = 1000) -> tuple[int | None, int]:
    """(offset, supporting pairs) from thread + name agreement alone (no clock snapshot).

    Coarse: offsets (stamp - begin) of a sample of each group's trace syscalls against all its
    stamps, in 1 ms bins: the true offset collects a vote from every sampled call. Fine: every
    pair within 2 ms of that bounds the offset to [stamp - end, stamp - begin]; the point inside
    the most bounds wins."""
    groups = list(_groups(sc, calls_by_tid, names))
    if not groups:
        return None, 0
    total_t = sum(g[0].shape[0] for g in groups)
    bin_ns = max(COARSE_BIN_NS, resolution_ns)  # -t stamps (whole seconds) vote per second
    window = max(FINE_WINDOW_NS, 2 * resolution_ns)
    votes = []
    for b, e, s in groups:
        k = max(3, min(b.shape[0], int(MAX_PAIRS * b.shape[0] / total_t / max(1, s.shape[0]))))
        idx = unique(np.linspace(0, b.shape[0] - 1, k).astype(np.int64))
        votes.append(np.floor_divide((s[:, None] - b[idx][None, :]).ravel(), bin_ns))
    vals, counts = unique(np.concatenate(votes), return_counts=True)
    nxt = np.concatenate([counts[1:], [0]]) * (np.diff(vals, append=vals[-1]) == 1)
    centre = int(vals[int(np.argmax(counts + nxt))]) * bin_ns + bin_ns
    lo_all, hi_all = [], []
    for b, e, s in groups:
        if total_t > FINE_CALLS:
            keep = unique(np.linspace(0, b.shape[0] - 1, max(2, b.shape[0] * FINE_CALLS // total_t)).astype(np.int64))
            b, e = b[keep], e[keep]
        j0 = np.searchsorted(s, b + centre - window, side="left")
        j1 = np.searchsorted(s, e + centre + window, side="right")
        n = np.maximum(j1 - j0, 0)
        if not n.sum():
            continue
        ti = np.repeat(np.arange(b.shape[0]), n)
        sj = np.repeat(j0, n) + (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n))
        lo_all.append(s[sj] - e[ti] - SLACK_NS)  # a stamp is its call's entry, truncated down
        hi_all.append(s[sj] - b[ti] + SLACK_NS + resolution_ns - 1000)
    if not lo_all:
        return centre, 0
    lo, hi = np.concatenate(lo_all), np.concatenate(hi_all)
    pts = np.concatenate([lo, hi + 1])
    delta = np.concatenate([np.ones_like(lo), -np.ones_like(hi)])
    order = np.lexsort((delta, pts))
    cover = np.cumsum(delta[order])
    k = int(np.argmax(cover))
    start = int(pts[order][k])
    end = int(pts[order][k + 1]) - 1 if k + 1 < pts.shape[0] else start
    return (start + end) // 2, int(cover[k])


def _snapshot_offset(snapshot, log: StraceLog, estimate: int | None) -> int | None:
    """Offset from a Go 1.25+ clock snapshot (trace ns, wall sec, wall nsec)."""
    if snapshot is None:
        return None
    trace_ns, wall_sec, wall_nsec = snapshot
    wall = wall_sec * 1_000_000_000 + wall_nsec
    if log.clock == "epoch":
        return wall - trace_ns
    # -t/-tt: time of day in the recording host's zone; pick the zone that agrees with the pairs
    if estimate is None:
        return None
    base = wall % (86_400 * 1_000_000_000) - trace_ns
    q = 15 * 60 * 1_000_000_000
    cands = [base + k * q for k in range(-56, 57)]
    best = min(cands, key=lambda c: abs(c - estimate))
    return best if abs(best - estimate) < FINE_WINDOW_NS else None


def join(tl: Timelines, log: StraceLog, snapshot: tuple[int, int, int] | None = None,
         format_minor: int = 0, recorded_offset_ns: int | None = None) -> JoinResult:
    """Match the log to the trace's syscalls and derive descriptor histories."""
    if format_minor and format_minor < 22:
        raise JoinError(f"the trace is Go 1.{format_minor}'s format: its thread ids are not OS thread ids "
                        "before Go 1.22's format, so an strace log cannot be joined to it")
    if log.resolution_ns > 1_000_000:
        raise JoinError("the log's -t stamps have whole-second resolution: too coarse to tell one syscall "
                        "from the next (on the fixtures it invents matches); record with -ttt (or -tt)")
    sc = A.syscalls(tl)
    st = tl.stacks
    calls_of = st.sys_call
    names = [trace_names(calls_of[s]) for s in sc.stk.tolist()]
    by_tid: dict[int, list[StraceCall]] = {}
    for c in log.calls:
        by_tid.setdefault(c.tid, []).append(c)
    trace_tids = set(sc.m.tolist())
    common = trace_tids & set(by_tid)
    if not common:
        raise JoinError(f"none of the log's {len(by_tid)} thread ids is one of the trace's "
                        f"{len(trace_tids)} threads: the log is from another process (or another run)")
    warnings = list(log.warnings)
    estimate, support = estimate_offset(sc, by_tid, names, log.resolution_ns)
    offset = _snapshot_offset(snapshot, log, estimate)
    if offset is not None:
        source = "clock snapshot"
    elif recorded_offset_ns is not None and log.clock == "epoch":
        offset, source = recorded_offset_ns, "recorded at capture"
    elif estimate is not None:
        offset, source = estimate, f"estimated from {support} thread+name pairs"
    else:
        raise JoinError("no syscall of the log agrees with the trace by thread and name: nothing to join")
    # matching
    matches: list[Match] = []
    lags: list[int] = []
    outside = 0
    span_lo = log.calls[0].time_ns - offset
    span_hi = max(c.end_ns for c in log.calls) - offset
    in_span = (sc.start >= span_lo - SLACK_NS) & (sc.start <= span_hi + SLACK_NS)
    unmatched: dict[str, int] = {}
    sites, classes = st.sys_site, st.sys_class
    extra = log.resolution_ns - 1000  # -t stamps: the call began up to a second after its stamp
    for tid, calls in by_tid.items():
        ti = np.nonzero(sc.m == tid)[0]
        ti = ti[stable_argsort(sc.start[ti])]
        stamps = np.array([c.time_ns - offset for c in calls], dtype=np.int64)
        used = np.zeros(len(calls), dtype=bool)
        for i in ti.tolist():
            b, e = int(sc.start[i]) - SLACK_NS - extra, int(sc.end[i]) + SLACK_NS
            j0 = int(np.searchsorted(stamps, b, side="left"))
            j1 = int(np.searchsorted(stamps, e, side="right"))
            want = names[i]
            for j in range(j0, j1):
                if not used[j] and (want is None or calls[j].name in want):
                    used[j] = True
                    lag = int(stamps[j] - sc.start[i])
                    if stamps[j] < sc.start[i] or stamps[j] > sc.end[i]:
                        outside += 1
                    stk = int(sc.stk[i])
                    matches.append(Match(i, calls[j], int(sc.g[i]), sites[stk], CALLER_CLASSES[classes[stk]], lag))
                    lags.append(lag)
                    break
    matched_i = {m.trace_i for m in matches}
    traced = int(in_span.sum())
    logged = {c.name for c in log.calls}
    not_logged: dict[str, int] = {}
    clamped = 0
    for i in np.nonzero(in_span)[0].tolist():
        if i not in matched_i:
            k = calls_of[int(sc.stk[i])] or "?"
            if names[i] is not None and not names[i] & logged:  # the log's -e filter left it out
                not_logged[k] = not_logged.get(k, 0) + 1
                traced -= 1
            elif sc.end[i] - sc.start[i] < CLAMPED_NS:  # no real time to match on
                clamped += 1
                traced -= 1
            else:
                unmatched[k] = unmatched.get(k, 0) + 1
    lo_tr, hi_tr = tl.t0 + offset, tl.t_end + offset
    in_log_span = sum(1 for c in log.calls if lo_tr <= c.time_ns <= hi_tr)
    if log.calls[0].time_ns - offset > tl.t0 + 10_000_000 or span_hi < tl.t_end - 10_000_000:
        warnings.append("the log covers only part of the trace's window: the join is partial")
    la = np.array(lags or [0], dtype=np.int64)
    res = JoinResult(offset_ns=int(offset), offset_source=source, offset_estimate_ns=estimate, traced=traced,
                     matches=matches, unmatched_by_call=unmatched, not_logged_by_call=not_logged, clamped=clamped,
                     log_calls_in_span=in_log_span,
                     lag_p50_ns=int(np.percentile(la, 50)), lag_p95_ns=int(np.percentile(la, 95)), outside=outside,
                     incarnations={}, stale_uses=[], blocking_changes=[], unregistered=[], registered=[], ebadf_calls=[],
                     warnings=warnings)
    _histories(res, log, RunningOn(tl))
    return res


class RunningOn:
    """Which goroutine ran on an OS thread at a time: owner of calls the trace did not record
    (the runtime's epoll_ctl, raw fcntl(F_DUPFD_CLOEXEC) in dupCloseOnExec)."""

    def __init__(self, tl: Timelines) -> None:
        run = np.nonzero(tl.iv_state == G_RUNNING)[0]
        self._by_m: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        m = tl.iv_m[run]
        for tid in unique(m).tolist():
            sel = run[m == tid]
            sel = sel[stable_argsort(tl.iv_start[sel])]
            self._by_m[int(tid)] = (tl.iv_start[sel], tl.iv_end[sel], tl.iv_g[sel])

    def __call__(self, tid: int, t: int) -> int:
        arr = self._by_m.get(tid)
        if arr is None:
            return -1
        k = int(np.searchsorted(arr[0], t, side="right")) - 1
        return int(arr[2][k]) if k >= 0 and arr[1][k] >= t else -1


def _created_fd(c: StraceCall) -> int | None:
    if c.ret is None or c.ret < 0 or c.errno:
        return None
    if c.name in CREATES:
        return c.ret
    if c.name == "fcntl" and "F_DUPFD" in c.args:
        return c.ret
    return None


def _effect_time(c: StraceCall) -> int:
    """When the call changed the descriptor table: creates at their return, others at entry."""
    return c.end_ns if _created_fd(c) is not None else c.time_ns


def _histories(res: JoinResult, log: StraceLog, running: RunningOn) -> None:
    off = res.offset_ns
    by_call = {id(m.call): m for m in res.matches}
    cur: dict[int, Incarnation] = {}
    claims: dict[int, dict[int, Incarnation]] = {}  # goroutine -> fd -> incarnation it believes in
    unseen_close: set[int] = set()

    def incarnation(fd: int, desc: str) -> Incarnation:
        inc = cur.get(fd)
        if inc is None:
            inc = Incarnation(fd=fd, index=0, start_ns=None, creator=None)
            inc.socket = is_socket_desc(desc)
            inc.peer = endpoint_peer(desc)
            cur[fd] = inc
            res.incarnations.setdefault(fd, []).append(inc)
        if desc and not inc.peer:
            inc.peer = endpoint_peer(desc)
            inc.socket = inc.socket or is_socket_desc(desc)
        return inc

    for c in sorted(log.calls, key=_effect_time):
        m = by_call.get(id(c))
        g = m.g if m else running(c.tid, c.time_ns - off)
        site = m.site if m else ""
        new_fd = _created_fd(c)
        if c.fd is not None and c.fd >= 0 and c.errno != "EBADF":
            inc = incarnation(c.fd, c.fd_desc)
            if c.name == "epoll_ctl" and c.epoll_op == "EPOLL_CTL_ADD" and not c.errno:
                inc.epoll_added = True
            elif c.name in IO and (c.name not in ("accept", "accept4") or new_fd is not None):
                inc.io_calls += 1
                if inc.first_io_ns is None:
                    inc.first_io_ns = c.time_ns - off
            if c.name == "fcntl" and "F_SETFL" in c.args and "O_NONBLOCK" not in c.args and inc.socket:
                res.blocking_changes.append((c, inc, g, site))
            if g >= 0:
                inc.goroutines.add(g)
                held = claims.setdefault(g, {})
                old = held.get(c.fd)
                if old is not None and old is not inc and old.close is not None and inc.creator is not None:
                    res.stale_uses.append(StaleUse(g, c.fd, c, c.time_ns - off, site, old, inc))
                elif old is not inc:
                    held[c.fd] = inc
                if c.name == "close" and m is not None and m.caller_class == CALLER_CLASSES[CC_NETPOLLER]:
                    held.pop(c.fd, None)  # its own Close through internal/poll: the goroutine let go
        if c.errno == "EBADF":
            res.ebadf_calls.append((c, g, site))
        if c.name == "close" and c.fd is not None and c.ret == 0:
            inc = cur.pop(c.fd, None)
            if inc is not None:
                inc.close, inc.close_g, inc.close_site = c, g, site
                inc.close_class = m.caller_class if m else ""
        if new_fd is not None:
            prev = res.incarnations.get(new_fd, [])
            inc = Incarnation(fd=new_fd, index=len(prev), start_ns=c.end_ns - off, creator=c)
            inc.socket = c.name in ("accept", "accept4", "socket") or is_socket_desc(c.ret_desc)
            inc.peer = c.peer() if c.name != "socket" else ""
            if cur.get(new_fd) is not None and cur[new_fd].close is None:  # close not in the log
                unseen_close.add(new_fd)
            cur[new_fd] = inc
            res.incarnations.setdefault(new_fd, []).append(inc)
            if g >= 0:
                claims.setdefault(g, {})[new_fd] = inc  # it obtained this number itself
    if unseen_close:
        res.warnings.append(f"{len(unseen_close)} descriptor number(s) were returned again with no close in "
                            f"the log (closed by a call the log filtered out, or before it began): "
                            f"{sorted(unseen_close)[:8]}")
    for incs in res.incarnations.values():
        for inc in incs:
            if inc.socket and inc.creator is not None and inc.io_calls:
                (res.registered if inc.epoll_added else res.unregistered).append(inc)


def annotate_graph(g, res: JoinResult, tl: Timelines) -> None:
    """Put the log's facts on a causal graph (`CausalGraph.g`, networkx), by node attributes only:

    * `syscall:<site>|<call>` nodes get `strace_matched`, `fds` (numbers seen), `results`
      ({"ok": n, "EAGAIN": n, ...});
    * `conn:*` nodes get `fd`/`fds` and `peer`/`peers`: the descriptors their goroutines used,
      with `proof: "strace"`; each fd-reuse proof adds `fd_reused_by_new_peer` on the old owner's
      connection (fd, old peer, new peer, times).
    """
    st = tl.stacks
    sc = A.syscalls(tl)
    per_site: dict[str, dict] = {}
    for m in res.matches:
        stk = int(sc.stk[m.trace_i])
        node = f"syscall:{st.sys_site[stk]}|{st.sys_call[stk]}"
        d = per_site.setdefault(node, {"strace_matched": 0, "fds": set(), "results": {}})
        d["strace_matched"] += 1
        if m.call.fd is not None:
            d["fds"].add(m.call.fd)
        key = m.call.errno or ("ok" if m.call.ret is not None and m.call.ret >= 0 else "?")
        d["results"][key] = d["results"].get(key, 0) + 1
    for node, d in per_site.items():
        if node in g:
            g.nodes[node].update(strace_matched=d["strace_matched"], fds=sorted(d["fds"]), results=d["results"])
    used: dict[int, list[Incarnation]] = {}
    for incs in res.incarnations.values():
        for inc in incs:
            for gid in inc.goroutines:
                used.setdefault(gid, []).append(inc)
    stale_by_g: dict[int, list[StaleUse]] = {}
    for u in res.stale_uses:
        stale_by_g.setdefault(u.g, []).append(u)
    for node, data in list(g.nodes(data=True)):
        if data.get("kind") != "connection":
            continue
        members = set(data.get("goroutines") or []) | {data.get("serving_goroutine")}
        incs = [i for gid in members for i in used.get(gid, []) if i.socket]
        if not incs:
            continue
        first = {}
        for i in incs:  # the incarnation each goroutine met first is its own connection
            first.setdefault((i.fd, i.index), i)
        own = sorted(first.values(), key=lambda i: (i.start_ns or 0))
        data.update(fd=own[0].fd, fds=sorted({i.fd for i in own}), peer=own[0].peer,
                    peers=sorted({i.peer for i in own if i.peer}), proof="strace")
        reuses = [u for gid in members for u in stale_by_g.get(gid, [])]
        if reuses:
            data["fd_reused_by_new_peer"] = [
                {"fd": u.fd, "old_peer": u.old.peer, "new_peer": u.new.peer, "call": u.call.name,
                 "time_ns": u.time_ns - int(tl.t0)} for u in reuses[:20]]
