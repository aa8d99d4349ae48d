"""Write backpressure per goroutine: how long each goroutine was blocked writing to a socket.

`network.write_waits` counts only netpoller waits that began *and* ended in the window. A
consumer slow enough to matter parks its writer for most of the window, so most of that
time is in the two kinds of waits it leaves out (issue 12's generalisation corpus: 0 ended
write waits at most strong slow-consumer doses):

* a write wait still open at the window's end (counted here up to the end);
* a write wait that began before the window (an *inherited* wait). Old traces (Go <= 1.21)
  open the goroutine's first interval at the window start with no reason or stack; Go >=
  1.22 opens it at the goroutine's first mention (its wake-up), so it looks 0 ns long. Either
  way it is recognised by what follows: woken by no goroutine (the netpoller) and, without
  blocking again and within RETRY_RUN_NS of running, a write syscall through internal/poll --
  the loop in `(*FD).Write` retrying after `waitWrite`. A wait woken by another goroutine (a channel send) is never counted. Its
  length is from the window start to the wake-up. A goroutine parked in a write for the whole
  window with a status stack (Go >= 1.24) counts the whole window.

A goroutine sleeping on a timer is woken by no goroutine too; it is counted only if its
first act, within RETRY_RUN_NS, is a netpoller write *and* it was parked since before the
window, so a heartbeat writer idle for the whole window that writes at once could count
once -- the rule asks for a share of the window and for the writer to be parked in the
netpoller again. (Without the RETRY_RUN_NS bound, a handler paced at 100 ms that compresses
before writing counted up to 100 ms: issue 12's gzipstream healthy runs, 0.17..0.19 of the
window, slow_consumer at warning.)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..timeline.analysis import NetWaits, Syscalls
from ..timeline.columns import G_NOTEXIST, G_RUNNABLE, G_RUNNING, G_SYSCALL, G_UNDETERMINED, G_WAITING
from ..timeline.grouping import stable_argsort, unique
from ..timeline.stacks import CC_NETPOLLER, FAM_WRITE, SIDE_WRITE
from ..timeline.timeline import Timelines

#: a goroutine blocked writing for at least this share of the window is a parked writer
PARKED_SHARE = 0.25
#: an inherited write wait is followed by its write syscall within this much running time:
#: the write retried after waitWrite (train and harness slow consumers: 0.9..65 us; a
#: timer-woken handler that renders or compresses first: >= 208 us on gzipstream)
RETRY_RUN_NS = 100_000
#: the unblocked write rate divides by at least this share of the writers' time (at most 10x)
MIN_UNBLOCKED_SHARE = 0.1


@dataclass
class WriteBlocked:
    """Per goroutine (only those with any write-blocked time)."""

    g: np.ndarray        # goroutine id
    ns: np.ndarray       # write-blocked ns inside the window
    waits: np.ndarray    # write waits counted (ended + open + inherited)
    inherited: np.ndarray  # of which began before the window (0/1)
    stk: np.ndarray      # a stack showing the write (blocking or the write syscall after it)
    start: np.ndarray    # the longest piece's start (ns, trace clock; the window start if inherited)
    end: np.ndarray      # ... and end (the wake-up, or the window end if still blocked)

    def parked(self, window_ns: int, share: float = PARKED_SHARE) -> np.ndarray:
        return self.ns >= share * max(window_ns, 1)

    def summary(self, window_ns: int) -> tuple[float, int, float]:
        """(largest share of the window, goroutines over PARKED_SHARE, total ms)."""
        if self.g.shape[0] == 0:
            return 0.0, 0, 0.0
        return (round(float(self.ns.max()) / max(window_ns, 1), 6), int(self.parked(window_ns).sum()),
                round(float(self.ns.sum()) / 1e6, 6))

    def top(self, n: int, window_ns: int, min_share: float = 0.05) -> list[tuple[int, int, bool, int, int, int]]:
        """(goroutine, ns, began before the window, stack, start, end of its longest piece) of
        the n most write-blocked goroutines holding at least `min_share` of the window."""
        idx = stable_argsort(-self.ns)[:n]
        return [(int(self.g[i]), int(self.ns[i]), bool(self.inherited[i]), int(self.stk[i]), int(self.start[i]),
                 int(self.end[i])) for i in idx.tolist() if self.ns[i] >= min_share * window_ns]


def _inherited_write_waits(tl: Timelines) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(goroutine, blocked ns from the window start, stack, wake-up time) of first intervals
    that were a netpoller write wait begun before the window."""
    n_g = tl.gor_id.shape[0]
    if n_g == 0:
        z = np.zeros(0, np.int64)
        return z, z, z, z
    fi = tl.gor_first_iv
    cand = fi[(tl.iv_state[fi] == G_WAITING) & (tl.iv_from[fi] == G_UNDETERMINED) & ~tl.iv_open[fi]
              & (tl.iv_end_g[fi] < 0)]
    if cand.shape[0] == 0:
        z = np.zeros(0, np.int64)
        return z, z, z, z
    # woken -> Runnable -> Running -> Syscall (the write retried after waitWrite)
    n1 = tl.iv_next[cand]
    ok = n1 >= 0
    n1c = np.maximum(n1, 0)
    ok &= tl.iv_state[n1c] == G_RUNNABLE
    n2 = tl.iv_next[n1c]
    ok &= n2 >= 0
    n2c = np.maximum(n2, 0)
    ok &= tl.iv_state[n2c] == G_RUNNING
    n3 = tl.iv_next[n2c]
    ok &= n3 >= 0
    n3c = np.maximum(n3, 0)
    ok &= tl.iv_state[n3c] == G_SYSCALL
    stk = tl.iv_stk[n3c]
    st = tl.stacks
    ok &= (st.sys_class[stk] == CC_NETPOLLER) & (st.sys_family[stk] == FAM_WRITE)
    # ... at once: the retry after waitWrite runs a few microseconds before its syscall; a
    # handler woken by its timer renders first (issue 12 preempt: gzipstream's timer-paced
    # writers, gzip-compressing 208..478 us before each write, counted up to 100 ms each)
    ok &= tl.iv_dur[n2c] <= RETRY_RUN_NS
    # a status stack showing the write wait itself is proof enough on its own
    own = tl.iv_stk[cand]
    ok |= (own > 0) & (st.wait_side[own] == SIDE_WRITE) & st.is_netpoll_wait[own]
    cand, stk = cand[ok], np.where(tl.iv_stk[cand[ok]] > 0, tl.iv_stk[cand[ok]], stk[ok])
    end = tl.iv_end[cand].astype(np.int64)
    return tl.iv_g[cand], end - tl.t0, stk.astype(np.int64), end


def _parked_writers(tl: Timelines, parked_iv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Goroutines parked in a netpoller write for the whole window (status stacks)."""
    if parked_iv.shape[0] == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    w = parked_iv[tl.stacks.wait_side[tl.iv_stk[parked_iv]] == SIDE_WRITE]
    return tl.iv_g[w], tl.iv_stk[w].astype(np.int64)


def write_blocked(tl: Timelines, nw: NetWaits, parked_iv: np.ndarray) -> WriteBlocked:
    """Write-blocked time per goroutine in the window: write-side netpoller waits (ended or
    open), inherited write waits, whole-window parked writers."""
    w = nw.side == SIDE_WRITE
    parts_g = [nw.g[w]]
    parts_ns = [np.clip(np.minimum(nw.end[w], tl.t_end) - nw.start[w], 0, None)]
    parts_inh = [np.zeros(int(w.sum()), np.int64)]
    parts_stk = [nw.stk[w].astype(np.int64)]
    parts_s = [nw.start[w].astype(np.int64)]
    parts_e = [np.minimum(nw.end[w], tl.t_end).astype(np.int64)]
    ig, ins, istk, iend = _inherited_write_waits(tl)
    parts_g.append(ig)
    parts_ns.append(ins)
    parts_inh.append(np.ones(ig.shape[0], np.int64))
    parts_stk.append(istk)
    parts_s.append(np.full(ig.shape[0], tl.t0, np.int64))
    parts_e.append(iend)
    pg, pstk = _parked_writers(tl, parked_iv)
    parts_g.append(pg)
    parts_ns.append(np.full(pg.shape[0], tl.duration_ns, np.int64))
    parts_inh.append(np.ones(pg.shape[0], np.int64))
    parts_stk.append(pstk)
    parts_s.append(np.full(pg.shape[0], tl.t0, np.int64))
    parts_e.append(np.full(pg.shape[0], tl.t_end, np.int64))
    g = np.concatenate(parts_g).astype(np.int64)
    if g.shape[0] == 0:
        z = np.zeros(0, np.int64)
        return WriteBlocked(z, z, z, z, z, z, z)
    ns = np.concatenate(parts_ns).astype(np.int64)
    inh = np.concatenate(parts_inh)
    stk = np.concatenate(parts_stk)
    ug, inv = unique(g, return_inverse=True)
    tot = np.minimum(np.bincount(inv, weights=ns).astype(np.int64), tl.duration_ns)
    cnt = np.bincount(inv)
    inh_g = np.bincount(inv, weights=inh).astype(np.int64)
    # the stack of each goroutine's longest piece
    order = np.lexsort((-ns, inv))
    first = order[np.r_[True, inv[order][1:] != inv[order][:-1]]]
    return WriteBlocked(ug, tot, cnt, inh_g, stk[first], np.concatenate(parts_s)[first],
                        np.concatenate(parts_e)[first])


def _presence_ns(tl: Timelines, g: np.ndarray) -> np.ndarray:
    """How long each goroutine (ids `g`, all in the trace) existed in the window: from its
    creation, or the window start if it existed before (Go >= 1.22 traces first mention such a
    goroutine only when it next acts), to its exit or the window end."""
    gi = tl.gor_index(g)
    first = tl.gor_first_iv[gi]
    start = np.where(tl.gor_created[gi], tl.iv_start[first], tl.t0)
    last = first + tl.gor_n_iv[gi] - 1
    end = np.where(tl.iv_state[last] == G_NOTEXIST, tl.iv_start[last], tl.t_end)
    return np.clip(end - start, 0, None).astype(np.int64)


#: above this many goroutines with syscalls, writes_per_goroutine counts in one pass, not per block
MAX_BLOCKS_COUNTED = 256


def writes_per_goroutine(tl: Timelines, sc: Syscalls, wr: np.ndarray) -> np.ndarray:
    """Syscalls selected by `wr` per goroutine index (tl.gor_id order). The syscalls are rows of
    ascending interval index (`sc.iv`), and intervals are grouped by goroutine in that order, so
    each goroutine's syscalls are one block: a count per block from a running sum of `wr`, not a
    gather of every selected syscall's goroutine (a window holds ~200k writes)."""
    first = tl.gor_first_iv.astype(np.int64)
    lo = np.searchsorted(sc.iv, first, side="left")
    hi = np.searchsorted(sc.iv, first + tl.gor_n_iv, side="left")
    some = np.flatnonzero(hi > lo)
    if some.shape[0] > MAX_BLOCKS_COUNTED:  # many goroutines with few syscalls each: one count
        return np.bincount(tl.iv_gor[sc.iv[wr]], minlength=tl.gor_id.shape[0])
    out = np.zeros(tl.gor_id.shape[0], dtype=np.int64)
    for k, a, b in zip(some.tolist(), lo[some].tolist(), hi[some].tolist()):
        out[k] = np.count_nonzero(wr[a:b])
    return out


def unblocked_write_rate(tl: Timelines, wb: WriteBlocked, writes: np.ndarray) -> tuple[float, float]:
    """(write syscalls per second of the time the writing goroutines were *not* blocked
    writing, the share of their time they were blocked).

    A storm of tiny writes to clients that also read slowly is diluted: its writers spend
    much of the window blocked on the slow sockets, so the writes per second of the window
    fall (issue 12: a flush every 16 bytes behind 35%-rate readers made 30-40% fewer writes
    per second than the same flushes to fast readers). Writers: goroutines that made a write
    syscall or were blocked writing. The rate is the window's write rate divided by the share
    of the writers' time (each from its creation or the window start to its exit or the
    window end) they were not blocked writing, that share at least MIN_UNBLOCKED_SHARE. With
    no writer blocked it is the plain rate. `writes`: `writes_per_goroutine` of the write
    syscalls (counted once per window, shared with the other write features)."""
    n = int(writes.sum())
    dur_s = max(tl.duration_ns, 1) / 1e9
    if n == 0:
        return 0.0, 0.0
    writers = np.union1d(tl.gor_id[np.flatnonzero(writes)], wb.g).astype(np.int64)
    writers = writers[np.isin(writers, tl.gor_id)]
    if writers.shape[0] == 0:
        return round(n / dur_s, 6), 0.0
    present = _presence_ns(tl, writers)
    blocked = np.zeros(writers.shape[0], np.int64)
    k = np.isin(wb.g, writers)
    blocked[np.searchsorted(writers, wb.g[k])] = wb.ns[k]
    blocked = np.minimum(blocked, present)
    share = float(blocked.sum()) / max(float(present.sum()), 1.0)
    return round(n / dur_s / max(1.0 - share, MIN_UNBLOCKED_SHARE), 6), round(share, 6)
