"""The trace reader (port of Go's internal/trace/reader.go).

``Reader.read_event()`` is Go's ``ReadEvent``: it returns events one at a time in exactly
Go's order, generation by generation, raises ``EOFError`` at the end (Go's io.EOF), and
raises ``ReadError`` when the trace is broken. ``TraceReader`` (in ``__init__``) wraps it
with the public API.
"""
from __future__ import annotations

from . import tracev2 as t2
from . import wire
from .base import MAX_TIME, EvTable  # event times are int64 ns (Go's trace.Time)
from .batchcursor import BatchCursor, heap_insert, heap_remove, heap_sift_down, heap_update
from .event import EV_SYNC, Event, sync_event
from .frontier import BlockedFrontier, slow_budget
from .generation import GenError, Generation, GenerationSteps
from .order import MState as _MState
from .order import _ABSENT, OrderError, Ordering
from .order import _GoRunnable, _GoRunning, _GoSyscall, _GoWaiting, _ProcRunning, _ProcSyscall
from .sorting import sort_func
from .wire import WireError


class ReadError(Exception):
    """The trace cannot be read further.

    .message: Go's error text (first line); .detail: the rest (frontier dumps, for broken
    traces); .offset: byte offset in the input where the problem was found (or None);
    .truncated: True when the input ran out (a cut file) rather than being corrupt.
    """

    def __init__(self, message: str, offset: int | None = None, truncated: bool = False, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.truncated = truncated
        self.detail = detail


# validateTableIDs: per wire type, the arg indices holding stack IDs and string IDs.
_STACK_ARGS = tuple(tuple(i - 1 for i in (t2.SPECS[t].stack_ids if t < len(t2.SPECS) else ())) for t in range(256))
_STRING_ARGS = tuple(tuple(i - 1 for i in (t2.SPECS[t].string_ids if t < len(t2.SPECS) else ())) for t in range(256))
_NEEDS_VALIDATION = tuple(bool(_STACK_ARGS[t] or _STRING_ARGS[t]) for t in range(256))
#: validateTableIDs in order: per wire type, ((arg index, is a stack ID), ...); () for none.
_VALIDATE = tuple(tuple([(i, True) for i in _STACK_ARGS[t]] + [(i, False) for i in _STRING_ARGS[t]])
                  for t in range(256))


#: rows a chunk of Reader.iter_raw_chunks holds
RAW_CHUNK_ROWS = 4096


def validate_table_ids(e: Event) -> None:
    """Event.validateTableIDs: lookups in e.table will work."""
    typ = e.typ
    if typ == EV_SYNC or not _NEEDS_VALIDATION[typ]:
        return
    args = e.args
    stacks = e.table.stacks.sparse
    for i in _STACK_ARGS[typ]:
        sid = args[i]
        if sid != 0 and sid not in stacks:
            raise ReadError(f"found invalid stack ID {sid} for event {t2.SPECS[typ].name}")
    strings = e.table.strings.sparse
    for i in _STRING_ARGS[typ]:
        sid = args[i]
        if sid != 0 and sid not in strings:
            raise ReadError(f"found invalid string ID {sid} for event {t2.SPECS[typ].name}")


def time_range_error(t: int, e: Event, offset: int | None) -> ReadError:
    """A timestamp (batch time or delta, times the frequency) past int64 nanoseconds: Go would
    wrap it silently; we reject the bytes that made it."""
    what = "generation start" if e.typ == EV_SYNC else f"event {t2.SPECS[e.typ].name}"
    return ReadError(f"time of {what} is out of range ({t} ns does not fit in 64 bits): "
                     "bad batch timestamp or frequency", offset)


class Reader:
    """Reader for Go 1.22+ (v2) traces. ``src`` is positioned just after the header."""

    def __init__(self, src: wire.Source, version: int) -> None:
        self.version = version
        self.src = src
        self.last_ts = 0
        self.gen: Generation | None = None
        self.frontier: list[BatchCursor] = []
        self.cpu_samples: list = []
        self.cpu_idx = 0
        self.order = Ordering(version)
        self.syncs = 0
        self.steps = GenerationSteps(src, version)
        self.done = False
        # Byte accounting: end offset of the last generation whose events were all returned.
        self.valid_offset = src.offset
        self.last_offset: int | None = None  # offset of the event being worked on
        self._gen_truncated = False  # the current generation may be partial (input ran out in a batch)
        self._gen_at_eof = False  # the current generation ends where the input ends
        # Slow-path work of the current generation, and when to hand it to BlockedFrontier.
        self._slow_tries = 0
        self._slow_budget = 0
        self._blocked: BlockedFrontier | None = None

    # --- public ------------------------------------------------------------------------
    def read_event(self) -> Event:
        """ReadEvent. Raises EOFError when exhausted and ReadError when broken."""
        if self.done:
            raise EOFError
        try:
            e = self._read_event()
            if type(e) is tuple:  # a raw row of the ordering's queue
                e = Event(*e)
        except ReadError:
            raise
        except (GenError, WireError) as err:
            raise ReadError(err.message, err.offset, truncated=err.eof) from None
        except OrderError as err:
            raise ReadError(str(err), self.last_offset, truncated=self._gen_truncated) from None
        # The deferred part of Go's ReadEvent.
        if _NEEDS_VALIDATION[e.typ] and e.typ != EV_SYNC:
            try:
                validate_table_ids(e)
            except ReadError as err:
                err.offset = self.last_offset
                # A missing table entry in the last generation of a pre-1.26 trace: its
                # tables come last, so the input was most likely cut.
                err.truncated = self._gen_truncated or self._gen_at_eof
                raise
        if e.time <= self.last_ts:
            e.time = self.last_ts + 1
        if e.time > MAX_TIME:
            raise time_range_error(e.time, e, self._event_offset(e))
        self.last_ts = e.time
        return e

    def _event_offset(self, e: Event) -> int | None:
        """Where the bytes of e are: its own offset, or its generation's first batch for a Sync."""
        if e.typ == EV_SYNC:
            return self.gen.start_offset if self.gen is not None else self.last_offset
        return self.last_offset

    def iter_events(self):
        """Generator equivalent to calling read_event() until EOFError, with the common
        path (the head of the frontier advances) inlined for speed. Same events, same
        errors. (Do not mix with read_event() calls on the same Reader.)"""
        for chunk in self.iter_raw_chunks():
            for row in chunk:
                yield Event(*row)

    def iter_raw(self):
        """iter_events' events as raw rows ``(table, g, p, m, typ, time, args)`` (an Event's
        fields in constructor order, ``Event(*row)``). Same events, same order, same errors."""
        for chunk in self.iter_raw_chunks():
            yield from chunk

    def iter_raw_chunks(self, size: int = RAW_CHUNK_ROWS):
        """iter_raw's rows in lists of about `size` (a stretch, below, may end a little past it;
        the last list and a generation's last are shorter): what the column builder
        reads a chunk at a time (timeline/rowcols.py), so that no generator is resumed per
        event. A chunk ends where a generation's events do (the next generation is read only
        then: still one generation in memory), and on a read error the rows before it come
        first (a shorter list), then the error.

        The loop is Go's ReadEvent with its common paths inlined: the cursor that advanced last
        and stayed at the head of the frontier is tried again at once, and the kinds that are
        ~90% of a busy server's events (`_INLINE`: syscall begin/end, user region begin/end,
        HeapAlloc, GoUnblock, GC sweep begin/end) are advanced here when they pass order.py's
        checks; anything else -- and any of those that would not pass -- goes through
        order.py's handler, which gives Go's answer or raises Go's error."""
        order = self.order
        q = order.queue
        popleft = q.popleft
        dispatch = order._dispatch
        # the handlers the stretch below writes out (order.py must still dispatch to them)
        assert [dispatch[k].__func__ for k in (_SYSB, _SYSE, _RB, _RE, _HEAP, _UNB, _SWB, _SWE)] == [
            Ordering.advance_go_syscall_begin, Ordering.advance_go_syscall_end,
            Ordering.advance_user_region_begin, Ordering.advance_user_region_end, Ordering.advance_heap_metric,
            Ordering.advance_go_unblock, Ordering.advance_gc_sweep_begin, Ordering.advance_gc_sweep_end]
        m_states = order.m_states
        g_get = order.g_states.get
        p_get = order.p_states.get
        validate = _VALIDATE
        MState = _MState
        last_ts = self.last_ts  # self.last_ts is written back before the slow path and errors
        gen = None
        table = batches = freq = cpu = None
        strings = sget = stacks = None  # the generation's strings (and their IDs' lookup) and stack IDs
        gen_no = 0
        vtbl = vstacks = vstrings = None  # the table whose IDs were validated last, its dicts
        # The cursor that advanced last and stayed at the head of the frontier, when nothing else
        # happened since (97% of a busy trace's events): its next event is tried at once, with
        # its M's context (m, ms, cur = (cg, cp, m)), the generation's locals and the next CPU
        # sample's time (cpu_t) as they were.
        hot = None
        cpu_t = _NO_SAMPLE
        cg = cp = m = -1
        ms = cur = None
        out: list = []
        put = out.append
        try:
            while not self.done:
                if len(out) >= size:
                    yield out
                    out = []
                    put = out.append
                e = None
                try:
                    if q:
                        e = popleft()
                        continue_hot = False
                    elif hot is not None and hot.ev.time <= cpu_t:
                        bc = hot
                        ev = bc.ev
                        continue_hot = True
                    else:
                        hot = None
                        continue_hot = False
                        frontier = self.frontier
                        g = self.gen
                        if not frontier or g is None or self._blocked is not None:
                            if out and not frontier and self.cpu_idx >= len(self.cpu_samples):
                                # the next generation may be read now:
                                yield out  # its rows come after the chunk of this one's last
                                out = []
                                put = out.append
                            self.last_ts = last_ts
                            e = self._read_event()
                            if type(e) is not tuple:
                                e = _row(e)
                        else:
                            if g is not gen:
                                gen = g
                                table = g.table
                                batches = g.batches
                                freq = table.freq
                                gen_no = g.gen
                                cpu = g.cpu_samples
                                strings = table.strings
                                sget = strings.sparse.get
                                stacks = table.stacks.sparse
                                if order.initial_gen == 0:  # before this generation's first advance
                                    order.initial_gen = gen_no
                            bc = frontier[0]
                            ev = bc.ev
                            ci = self.cpu_idx
                            if ci < len(cpu) and cpu[ci].time < ev.time:
                                # Inject a CPU sample: it comes next.
                                self.cpu_idx = ci + 1
                                e = _row(cpu[ci].as_event(table))
                            else:
                                cpu_t = cpu[ci].time if ci < len(cpu) else _NO_SAMPLE
                                m = bc.m
                                if m == -1:
                                    ms = None
                                    cur = (-1, -1, -1)
                                else:
                                    ms = m_states.get(m)
                                    if ms is None:
                                        ms = MState(-1, -1)
                                        m_states[m] = ms
                                    cur = (ms.g, ms.p, m)
                                cg, cp = cur[0], cur[1]
                                continue_hot = True
                    if continue_hot:
                        typ = ev.typ
                        if typ in _INLINE and cp != -1 and m != -1:
                            # A stretch of the head cursor's events of the commonest kinds, advanced
                            # here as order.py's handlers would (their checks, written out, and
                            # validateTableIDs'), in a loop of locals: the cursor stays the head
                            # while its events are no later than its heap children's and the next
                            # CPU sample's (`bound`: those do not move meanwhile). It stops at an
                            # event of another kind or one failing a check (the handler below then
                            # gives Go's answer or error), at a later event, or at its span's end.
                            n = len(frontier)
                            bound = cpu_t
                            if n > 1:
                                x = frontier[1].ev.time
                                if x < bound:
                                    bound = x
                                if n > 2:
                                    x = frontier[2].ev.time
                                    if x < bound:
                                        bound = x
                            # the goroutine's and P's states: none of these kinds makes or drops one
                            gst = g_get(cg) if cg != -1 else None
                            pst = p_get(cp)
                            evs = bc.evs
                            i = bc.evi  # the event after ev (bc.evi is written back when the stretch ends)
                            nev = len(evs)
                            t = ev.time
                            args = ev.args
                            off = ev.offset
                            while True:
                                row = None
                                tt = t if t > last_ts else last_ts + 1  # the time fix-up
                                if tt > MAX_TIME:
                                    pass  # the handler's path reports it
                                elif typ == _SYSB:  # advance_go_syscall_begin
                                    if gst is not None and gst.status == _GoRunning and pst is not None:
                                        old = pst.seq
                                        seq = args[0]
                                        sid = args[_SYSB_STACK]
                                        if (old.gen == gen_no and seq == old.seq + 1
                                                and (not sid or sid in stacks)):
                                            gst.status = _GoSyscall
                                            pst.status = _ProcSyscall
                                            old.seq = seq
                                            row = (table, cg, cp, m, typ, tt, args)
                                elif typ == _SYSE:  # advance_go_syscall_end
                                    if (gst is not None and gst.status == _GoSyscall
                                            and pst is not None and pst.status == _ProcSyscall):
                                        gst.status = _GoRunning
                                        pst.status = _ProcRunning
                                        row = (table, cg, cp, m, typ, tt, args)
                                elif typ == _RB or typ == _RE:  # advance_user_region_begin / _end
                                    name_id = args[1]
                                    name = sget(name_id, _ABSENT) if name_id else strings.zero
                                    sid = args[2]
                                    if gst is not None and name is not _ABSENT and (not sid or sid in stacks):
                                        regions = gst.regions
                                        if typ == _RB:
                                            regions.append((args[0], name))
                                            row = (table, cg, cp, m, typ, tt, args)
                                        elif not regions:  # it began before the trace
                                            row = (table, cg, cp, m, typ, tt, args)
                                        elif regions[-1] == (args[0], name):
                                            regions.pop()
                                            row = (table, cg, cp, m, typ, tt, args)
                                elif typ == _HEAP:  # advance_heap_metric: an M and a P, any G
                                    row = (table, cg, cp, m, typ, tt, args)
                                elif typ == _UNB:  # advance_go_unblock: another goroutine's turn
                                    ust = g_get(args[0])  # (an ID of 2**63 or more: none, the handler)
                                    if ust is not None and ust.status == _GoWaiting:
                                        sq = ust.seq
                                        sid = args[2]
                                        if sq.gen == gen_no and args[1] == sq.seq + 1 and (not sid or sid in stacks):
                                            ust.status = _GoRunnable
                                            sq.seq = args[1]
                                            row = (table, cg, cp, m, typ, tt, args)
                                elif typ == _SWB:  # advance_gc_sweep_begin: the P's sweep range
                                    sid = args[0]
                                    if (pst is not None and (not sid or sid in stacks)
                                            and (_SWB, 0) not in pst.in_flight):
                                        pst.in_flight.append((_SWB, 0))
                                        row = (table, cg, cp, m, typ, tt, args)
                                else:  # _SWE, advance_gc_sweep_end (one sweep range at most)
                                    if pst is not None:
                                        fl = pst.in_flight
                                        if fl and fl[-1][0] == _SWB:
                                            fl.pop()
                                            row = (table, cg, cp, m, typ, tt, args)
                                if row is None:  # the handler's path below, from ev
                                    if i != bc.evi:  # ev holds an earlier event of the stretch
                                        bc.evi = i
                                        ev.typ = typ
                                        ev.time = t
                                        ev.args = args
                                        ev.offset = off
                                    break
                                ended = i == nev
                                if ended:  # the span is done: the cursor decodes its next one
                                    self.last_offset = off  # (the offset of the event advanced last)
                                    bc.evi = i
                                    hot = None
                                    # (first: an error decoding it comes before this row, as in Go)
                                    if bc.next_event(batches[m], freq):
                                        heap_update(frontier, 0)
                                    else:
                                        heap_remove(frontier, 0)
                                last_ts = tt
                                put(row)
                                if ended:
                                    break
                                typ, t, args, off = evs[i]
                                i += 1
                                if t > bound or typ not in _INLINE:  # the cursor's event, as next_event sets it
                                    self.last_offset = evs[i - 2][3]  # the event advanced last, as _try_advance
                                    bc.evi = i
                                    ev.typ = typ
                                    ev.time = t
                                    ev.args = args
                                    ev.offset = off
                                    # heap_update(frontier, 0) when a child is earlier; else it stays
                                    # the head (a CPU sample may come first: the loop's top decides)
                                    if n > 1 and (frontier[1].ev.time < t or (n > 2 and frontier[2].ev.time < t)):
                                        heap_sift_down(frontier, 0)
                                        hot = None
                                    else:
                                        hot = bc
                                    break
                            if row is not None:
                                continue  # its rows are out; nothing is pending
                        # Inlined _try_advance(0) and Ordering.advance.
                        self.last_offset = ev.offset
                        if e is None:
                            f = dispatch[typ]
                            if f is None:
                                raise OrderError(f"bad event type found while ordering: {typ}")
                            new = f(ev, table, m, gen_no, cur)
                            if new is None:
                                # The slow path: try the rest of the frontier in time order.
                                hot = None
                                self.last_ts = last_ts
                                e = self._read_event()
                                if type(e) is not tuple:
                                    e = _row(e)
                                continue_hot = False
                            elif ms is not None and new is not cur:  # most events keep the context
                                ms.g = cg = new[0]
                                ms.p = cp = new[1]
                                cur = (cg, cp, m)
                    if continue_hot:
                        # Inlined bc.next_event() for the common case.
                        evs = bc.evs
                        i = bc.evi
                        if i < len(evs):
                            typ, t, args, off = evs[i]
                            bc.evi = i + 1
                            ev.typ = typ
                            ev.time = t
                            ev.args = args
                            ev.offset = off
                            # heap_update(frontier, 0): sift down only if needed.
                            n = len(frontier)
                            if n > 1 and (frontier[1].ev.time < t or (n > 2 and frontier[2].ev.time < t)):
                                heap_sift_down(frontier, 0)
                                hot = None
                            else:
                                hot = bc
                        else:
                            hot = None
                            if bc.next_event(batches[m], freq):
                                heap_update(frontier, 0)
                            else:
                                heap_remove(frontier, 0)
                        if e is None:
                            e = popleft()
                except (GenError, WireError) as err:
                    self.last_ts = last_ts
                    raise ReadError(err.message, err.offset, truncated=err.eof) from None
                except OrderError as err:
                    self.last_ts = last_ts
                    raise ReadError(str(err), self.last_offset, truncated=self._gen_truncated) from None
                # The deferred part of Go's ReadEvent: validateTableIDs and the time fix-up.
                v = validate[e[4]]
                if v:
                    tbl = e[0]
                    if tbl is not vtbl:
                        vtbl, vstacks, vstrings = tbl, tbl.stacks.sparse, tbl.strings.sparse
                    a = e[6]
                    for i, is_stack in v:
                        sid = a[i]
                        if sid and sid not in (vstacks if is_stack else vstrings):
                            self.last_ts = last_ts
                            what = "stack" if is_stack else "string"
                            raise ReadError(f"found invalid {what} ID {sid} for event {t2.SPECS[e[4]].name}",
                                            self.last_offset, truncated=self._gen_truncated or self._gen_at_eof)
                t = e[5]
                if t <= last_ts:
                    t = last_ts + 1
                    e = (e[0], e[1], e[2], e[3], e[4], t, e[6])
                if t > MAX_TIME:
                    self.last_ts = last_ts
                    ev = Event(*e)
                    raise time_range_error(t, ev, self._event_offset(ev))
                last_ts = t
                put(e)
        except ReadError:
            if out:
                yield out  # the rows before the error, then the error
            raise
        self.last_ts = last_ts
        if out:
            yield out

    # --- Go's ReadEvent body ---------------------------------------------------------------
    def _read_event(self) -> Event | tuple:
        """The next event: an Event (Sync, CPU sample) or a raw row of the ordering's queue."""
        order = self.order
        q = order.queue
        if q:
            return q.popleft()

        if self._blocked is not None:
            e = self._blocked.next(self)
            if e is not None:
                return e
            self._blocked = None  # the generation is exhausted
        frontier = self.frontier
        cpu = self.cpu_samples
        if not frontier and self.cpu_idx >= len(cpu):
            gen = self.steps.step(self.gen is not None)
            if gen is None and not self.steps.done:  # a read error is due at the next step
                self._finish_gen()
                self.gen = None
                self.syncs += 1
                return sync_event(None, self.last_ts, self.syncs)
            self._gen_truncated, self._gen_at_eof = self.steps.truncated, self.steps.at_eof
            return self._install_gen(gen)

        gen = self.gen
        # Inject a CPU sample if it comes next.
        if self.cpu_idx < len(cpu):
            s = cpu[self.cpu_idx]
            if not frontier or s.time < frontier[0].ev.time:
                self.cpu_idx += 1
                return s.as_event(gen.table)

        if not frontier:
            raise ReadError(f"broken trace: frontier is empty [gen={gen.gen}]", self.last_offset,
                            detail=order.dump())
        if not self._try_advance(0):
            self._slow_tries += len(frontier)
            if self._slow_tries > self._slow_budget:
                # Super-linear work (a crafted trace): order the rest of the generation by
                # parking blocked cursors (frontier.py); the kernel punts at the same point.
                self._blocked = BlockedFrontier(frontier, order)
                e = self._blocked.next(self)
                if e is None:
                    raise ReadError("invariant violation: blocked frontier empty", self.last_offset)
                return e
            # Try to advance the rest of the frontier, in timestamp order.
            sort_func(frontier, BatchCursor.compare, key=_cursor_time)
            success = False
            for i in range(1, len(frontier)):
                if self._try_advance(i):
                    success = True
                    break
            if not success:
                raise self.stuck(frontier)
        if not q:
            raise ReadError("invariant violation: advance successful, but queue is empty", self.last_offset)
        return q.popleft()

    def stuck(self, frontier: list[BatchCursor]) -> ReadError:
        """Go's error when no head of the (time-sorted) frontier can advance."""
        return ReadError(f"broken trace: failed to advance: frontier: [gen={self.gen.gen}]",
                         frontier[0].ev.offset, truncated=self._gen_truncated,
                         detail=_dump_frontier(frontier) + "\n" + self.order.dump())

    def _try_advance(self, i: int) -> bool:
        bc = self.frontier[i]
        gen = self.gen
        self.last_offset = bc.ev.offset
        if not self.order.advance(bc.ev, gen.table, bc.m, gen.gen):
            return False
        if bc.next_event(gen.batches[bc.m], gen.table.freq):
            heap_update(self.frontier, i)
        else:
            heap_remove(self.frontier, i)
        return True

    def _finish_gen(self) -> None:
        """All events of the current generation have been returned."""
        if self.gen is not None:
            self.valid_offset = self.gen.end_offset

    def _install_gen(self, gen: Generation | None) -> Event:
        self._finish_gen()
        if gen is None:
            self.gen = None
            self.done = True
            self.syncs += 1
            return sync_event(None, self.last_ts, self.syncs)
        self.gen = gen
        self.cpu_samples = gen.cpu_samples
        self.cpu_idx = 0
        self._slow_tries = 0
        self._slow_budget = slow_budget(gen.batches)
        self._blocked = None
        freq = gen.table.freq
        for m in gen.batch_ms:
            bc = BatchCursor(m)
            if not bc.next_event(gen.batches[m], freq):
                continue
            heap_insert(self.frontier, bc)
        self.syncs += 1
        return sync_event(gen.table, freq.mul(gen.min_ts), self.syncs)


#: the time of the next CPU sample when there is none
_NO_SAMPLE = 1 << 64


_SYSB, _SYSE = t2.EvGoSyscallBegin, t2.EvGoSyscallEnd
_RB, _RE = t2.EvUserRegionBegin, t2.EvUserRegionEnd
#: the kinds iter_raw_chunks advances itself when order.py's checks pass (the rest: order.py's
#: handlers): ~90% of a busy server's events
_HEAP, _UNB = t2.EvHeapAlloc, t2.EvGoUnblock
_SWB, _SWE = t2.EvGCSweepBegin, t2.EvGCSweepEnd
_INLINE = frozenset((_SYSB, _SYSE, _RB, _RE, _HEAP, _UNB, _SWB, _SWE))
# what validateTableIDs checks of them, which the inline path checks itself
assert len(_VALIDATE[_SYSB]) == 1 and _VALIDATE[_SYSB][0][1] and not _VALIDATE[_SYSE] and not _VALIDATE[_HEAP]
assert sorted(_VALIDATE[_RB]) == sorted(_VALIDATE[_RE]) == [(1, False), (2, True)]
assert _VALIDATE[_UNB] == ((2, True),) and _VALIDATE[_SWB] == ((0, True),) and not _VALIDATE[_SWE]
assert t2.SPECS[_SWB].start_ev == t2.EvNone and t2.SPECS[_SWE].start_ev == _SWB
_SYSB_STACK = _VALIDATE[_SYSB][0][0]



def _row(e: Event) -> tuple:
    """An Event as a raw row (the ordering's queue holds rows; Sync events and CPU samples are
    made as Events)."""
    return (e.table, e.g, e.p, e.m, e.typ, e.time, e.args)


def _cursor_time(bc: BatchCursor) -> int:
    return bc.ev.time


def _dump_frontier(frontier) -> str:
    out = []
    for bc in frontier:
        spec = t2.SPECS[bc.ev.typ]
        s = f"M {bc.m} [{spec.name} time={bc.ev.time}"
        for i, arg in enumerate(spec.args[1:]):
            s += f" {arg}={bc.ev.args[i]}"
        out.append(s + "]\n")
    return "".join(out)


class V1Reader:
    """ReadEvent for Go 1.11-1.21 traces: wraps the converter in diagnose.read.v1.

    The converter is an iterable of Events (already converted and time-ordered) with
    attributes ``table`` (the EvTable shared by its events), ``first_ts`` (the raw time of
    the first old-format event, None when there is none) and ``last_ts`` (read after
    iteration). As Go's Reader does, this adds a Sync event first (at first_ts - 1, when
    there are events) and one last (at last_ts + 1). Go applies no time fix-ups here.
    """

    def __init__(self, converter) -> None:
        self.conv = converter
        self.it = iter(converter)
        self.syncs = 0
        self.done = False
        self.valid_offset = 0
        self.last_offset = None

    def read_event(self) -> Event:
        if self.done:
            raise EOFError
        conv = self.conv
        if self.syncs == 0:
            first = getattr(conv, "first_ts", None)
            if first is not None:
                self.syncs += 1
                return sync_event(conv.table, first - 1, self.syncs)
        try:
            return next(self.it)
        except StopIteration:
            self.done = True
            self.syncs += 1
            return sync_event(None, conv.last_ts + 1, self.syncs)


__all__ = ["Reader", "ReadError", "V1Reader", "EvTable"]
