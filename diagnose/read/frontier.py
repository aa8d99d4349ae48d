"""Ordering a generation whose frontier keeps failing to advance, in time linear in its events.

Go's Reader (reader.py, and the kernel, follow it) takes the next event from the earliest
cursor head that can advance: it tries the heap's head and, when that cannot advance, sorts
the whole frontier and tries every cursor in time order. A crafted trace where most heads
wait for one goroutine's next sequence number (thousands of Ms whose batches come in
reverse order) makes every event cost a sort and a try per M: quadratic (13 s for 88 KB,
hours for 1 MB).

When a generation's slow-path work passes a budget proportional to its bytes
(``SLOW_BUDGET_BASE + SLOW_BUDGET_PER_BYTE * event batch bytes``; real traces stay far below
it), the reader hands the rest of the generation to ``BlockedFrontier``: a cursor whose head
cannot advance is parked under the state it waits for (a goroutine or proc reaching a
sequence number, the GC sequence, an M's proc, a proc's status) and tried again only when
that state changes. The events are the same and their order follows Go's rule (the earliest
head that can advance); only among heads with equal timestamps may the choice differ from
Go's sort. The kernel (``_fastwire.c``) counts the same work and punts at the same budget,
so both paths give the same result.
"""
from __future__ import annotations

import heapq
from itertools import count

from .batchcursor import BatchCursor, heap_insert, heap_remove, heap_update
from . import tracev2 as t2
from .event import Event
from .wire import i64

#: The slow-path budget of one generation, in cursor tries (frontier size per slow-path entry).
SLOW_BUDGET_BASE = 100_000
SLOW_BUDGET_PER_BYTE = 1

# What a parked head waits for: keys are tuples starting with one of these.
_G, _P, _M, _GC, _PSTATUS, _ANY = range(6)
_MASK = (1 << 64) - 1

# Handlers (order.py) that return None ("cannot advance yet"): the state they wait for and,
# for a goroutine or a proc, the statuses that let them advance (with the right sequence).
_WAIT_KIND = {
    "advance_go_start": (_G, (t2.GoRunnable,)), "advance_go_unblock": (_G, (t2.GoWaiting,)),
    "advance_go_switch": (_G, (t2.GoWaiting,)),
    "advance_proc_start": (_P, (t2.ProcIdle,)),
    "advance_proc_steal": (_P, (t2.ProcSyscall, t2.ProcSyscallAbandoned)),
    "advance_go_syscall_end_blocked": (_PSTATUS, ()),
    "advance_gc_active": (_GC, ()), "advance_gc_begin": (_GC, ()), "advance_gc_end": (_GC, ()),
}


def slow_budget(batches: dict) -> int:
    """The slow-path budget of a generation with these event batches (m -> [Batch])."""
    return SLOW_BUDGET_BASE + SLOW_BUDGET_PER_BYTE * sum(len(b.data) for lst in batches.values() for b in lst)


def _seq_fp(state) -> tuple | None:
    return None if state is None else (state.status, state.seq.gen, state.seq.seq)


class BlockedFrontier:
    """The rest of one generation's frontier, with parked cursors (see the module docstring).

    ``ready`` is the reader's frontier list (a heap by time) minus the parked cursors. A head
    is parked under the exact state that lets it advance (a goroutine or proc at a sequence
    number and status, the GC sequence) and, where the event also needs its M's state, under
    its M; it is woken when that state is reached (or its M's state changes). Cursors woken by
    one advance go back to ``ready`` in the order they were parked (the kernel does the same).
    """

    def __init__(self, ready: list[BatchCursor], order) -> None:
        self.ready = ready
        self.order = order
        self.parked: dict[tuple, list[BatchCursor]] = {}
        self.tokens: dict[int, int] = {}  # id(cursor) -> token of its live entry in by_time
        self.by_time: list[tuple[int, int, BatchCursor]] = []  # parked cursors, for the earliest time
        self._tok = count(1)
        self.sweeping = False
        self.watch: set[tuple] = set()  # (kind, id) of every key a cursor was parked under
        self.kind = [(_WAIT_KIND.get(f.__name__, (_ANY, ())) if f is not None else (_ANY, ())) for f in order._dispatch]
        self._woken: list[tuple[int, BatchCursor]] = []

    # --- parking ---------------------------------------------------------------------------
    def _waits(self, ev, m: int, cur_p: int, gen: int) -> list[tuple]:
        a = ev.args
        k, statuses = self.kind[ev.typ]
        if k == _G:
            return [(_G, i64(a[0]), gen, (a[1] - 1) & _MASK, s) for s in statuses]
        if k == _P:
            return [(_P, i64(a[0]), gen, (a[1] - 1) & _MASK, s) for s in statuses] + [(_M, m)]
        if k == _PSTATUS:
            return [(_PSTATUS, cur_p), (_M, m)]
        if k == _GC:
            return [(_GC, (a[0] - 1) & _MASK)]
        return [(_ANY,)]

    def _park(self, bc: BatchCursor, keys: list[tuple]) -> None:
        tok = next(self._tok)
        self.tokens[id(bc)] = tok
        heapq.heappush(self.by_time, (bc.ev.time, tok, bc))
        for k in keys:
            self.parked.setdefault(k, []).append(bc)
            self.watch.add(k[:2])

    def _wake(self, key: tuple) -> None:
        lst = self.parked.pop(key, None)
        if not lst:
            return
        for bc in lst:
            tok = self.tokens.pop(id(bc), None)
            if tok is not None:  # not already woken by another key
                self._woken.append((tok, bc))

    def _earliest_parked(self) -> int | None:
        bt = self.by_time
        while bt and self.tokens.get(id(bt[0][2])) != bt[0][1]:
            heapq.heappop(bt)
        return bt[0][0] if bt else None

    # --- what an advance changed -----------------------------------------------------------
    def _snapshot(self, ev, m: int) -> tuple | None:
        """The watched state an advance of ev (on M m) may change, before it; None when no
        cursor is parked."""
        if not self.parked:
            return None
        o = self.order
        w = self.watch
        ms = o.m_states.get(m)
        ids = {i64(x) for x in ev.args}
        if ms is not None:
            ids.add(ms.g)
            ids.add(ms.p)
        ids.add(m)
        g_fp = {x: _seq_fp(o.g_states.get(x)) for x in ids if (_G, x) in w}
        p_fp = {x: _seq_fp(o.p_states.get(x)) for x in ids if (_P, x) in w or (_PSTATUS, x) in w}
        m_fp = {x: self._m_fp(x) for x in ids if (_M, x) in w}
        return g_fp, p_fp, m_fp, (o.gc_seq, o.gc_state)

    def _m_fp(self, mid: int) -> tuple | None:
        ms = self.order.m_states.get(mid)
        return None if ms is None else (ms.g, ms.p)

    def _wake_changed(self, snap: tuple, m: int) -> None:
        o = self.order
        g_fp, p_fp, m_fp, gc = snap
        ms = o.m_states.get(m)
        if ms is not None:
            # The M's new goroutine and proc are named by the event (or were its own before);
            # if not, a watched one cannot be compared: wake it.
            if ms.g not in g_fp and (_G, ms.g) in self.watch:
                g_fp[ms.g] = ()
            if ms.p not in p_fp and ((_P, ms.p) in self.watch or (_PSTATUS, ms.p) in self.watch):
                p_fp[ms.p] = ()
        for g, before in g_fp.items():
            st = o.g_states.get(g)
            if st is not None and _seq_fp(st) != before:
                self._wake((_G, g, st.seq.gen, st.seq.seq, st.status))
        for p, before in p_fp.items():
            st = o.p_states.get(p)
            if _seq_fp(st) != before:
                if st is None or st.status != t2.ProcSyscall:
                    self._wake((_PSTATUS, p))
                if st is not None:
                    self._wake((_P, p, st.seq.gen, st.seq.seq, st.status))
        for x, before in m_fp.items():
            if self._m_fp(x) != before:
                self._wake((_M, x))
        if (o.gc_seq, o.gc_state) != gc:
            self._wake((_GC, o.gc_seq))
        self._wake((_ANY,))
        woken = self._woken
        if woken:
            woken.sort(key=_first)
            for _, bc in woken:
                heap_insert(self.ready, bc)
            woken.clear()

    # --- the reader's step -----------------------------------------------------------------
    def next(self, r) -> Event | tuple | None:
        """The next event of the generation (reader ``r``): an Event or a raw row of the
        ordering's queue; None when it has no more.

        Raises ``ReadError`` (via ``r.stuck``) when no parked or ready head can advance."""
        order = self.order
        q = order.queue
        gen = r.gen
        table = gen.table
        freq = table.freq
        cpu = r.cpu_samples
        fr = self.ready
        while True:
            if r.cpu_idx < len(cpu):
                t = fr[0].ev.time if fr else None
                tp = self._earliest_parked()
                if tp is not None and (t is None or tp < t):
                    t = tp
                s = cpu[r.cpu_idx]
                if t is None or s.time < t:
                    r.cpu_idx += 1
                    return s.as_event(table)
            if not fr:
                if self._earliest_parked() is None:
                    return None
                if self.sweeping:  # every head was tried since the last advance
                    raise r.stuck(self._all_cursors())
                # Retry every parked head in time order before calling the trace broken.
                self.sweeping = True
                for bc in self._all_cursors():
                    heap_insert(fr, bc)
                self.parked.clear()
                self.tokens.clear()
                self.by_time.clear()
                continue
            bc = fr[0]
            ev = bc.ev
            m = bc.m
            r.last_offset = ev.offset
            snap = self._snapshot(ev, m)
            ms = order.m_states.get(m)
            cur_p = ms.p if ms is not None else -1
            if order.advance(ev, table, m, gen.gen):
                self.sweeping = False
                if bc.next_event(gen.batches[m], freq):
                    heap_update(fr, 0)
                else:
                    heap_remove(fr, 0)
                if snap is not None:
                    self._wake_changed(snap, m)
                return q.popleft()
            heap_remove(fr, 0)
            self._park(bc, self._waits(ev, m, cur_p, gen.gen))

    def _all_cursors(self) -> list[BatchCursor]:
        """The parked cursors (the ready heap is empty when this is called) by time, then by
        when they were parked."""
        live = sorted((t, tok, bc) for t, tok, bc in self.by_time if self.tokens.get(id(bc)) == tok)
        return [bc for _, _, bc in live] + list(self.ready)


def _first(x: tuple) -> int:
    return x[0]


__all__ = ["BlockedFrontier", "slow_budget", "SLOW_BUDGET_BASE", "SLOW_BUDGET_PER_BYTE"]
