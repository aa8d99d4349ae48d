"""pprof profiles of goroutine states, built exactly as `go tool trace -pprof=<kind>` does.

Go (`cmd/trace/pprof.go`, `internal/trace/traceviewer/pprof.go`):

1. every goroutine is in scope over [its first Running, its end or the trace end]
   (`summary.go`: StartTime is the first transition to Running, 0 if it never ran -- then the
   scope is [0, end]; EndTime the transition to NotExist or to Waiting "forever");
2. walking the goroutine state transitions in order, tracking starts at a transition *into*
   the profiled state whose reason matches (`net`: Waiting "network"; `sync`: Waiting with a
   reason containing chan/sync/select; `syscall`: Syscall; `sched`: Runnable), transitions
   that stay in that state (status re-emissions) are ignored, and the next transition out of
   it stops tracking;
3. the interval clipped to the scope adds count 1 and its overlap (when > 0) to the record
   of the *start event's* stack (`Event.Stack()`, deduplicated on the first 128 PCs);
4. the profile has sample types [contentions/count, delay/nanoseconds], period type
   trace/count, period 1, one Location per PC and one Function per (file, func), no mappings.

Here the walk is whole-column numpy over `TraceColumns` (see `compute_records`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..timeline.columns import (G_NOTEXIST, G_RUNNABLE, G_RUNNING, G_SYSCALL, G_WAITING, K_STATE, R_GOROUTINE,
                                TraceColumns)
from ..timeline.grouping import stable_argsort, unique

KINDS = ("net", "sync", "syscall", "sched")
PPROF_MAX_STACK = 128


@dataclass
class ProfileRecords:
    """Aggregated records: one per distinct stack (leaf first)."""

    stacks: list[int]          # stack ids (TraceColumns), deduplicated on their first 128 PCs
    counts: np.ndarray         # int64
    times_ns: np.ndarray       # int64
    cols: "TraceColumns | StackTable"  # where the stacks' frames are

    @property
    def total_count(self) -> int:
        return int(self.counts.sum())

    @property
    def total_ns(self) -> int:
        return int(self.times_ns.sum())


def _reason_mask(cols: TraceColumns, kind: str) -> tuple[int, np.ndarray]:
    """(profiled GoState, boolean per string id: does the reason match)."""
    strings = cols.strings
    if kind == "net":
        return G_WAITING, np.array([s == "network" for s in strings], dtype=bool)
    if kind == "sync":
        return G_WAITING, np.array([("chan" in s) or ("sync" in s) or ("select" in s) for s in strings], dtype=bool)
    if kind == "syscall":
        return G_SYSCALL, np.ones(len(strings), dtype=bool)
    if kind == "sched":
        return G_RUNNABLE, np.ones(len(strings), dtype=bool)
    raise ValueError(f"unknown profile kind {kind!r}; expected one of {', '.join(KINDS)}")


def goroutine_scopes(cols: TraceColumns, ev: np.ndarray, gid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per goroutine (sorted ids): Go summary's [StartTime, EndTime or trace end].

    `ev`/`gid`: goroutine transition rows grouped by goroutine (stable), as in the timeline.
    """
    t_end = int(cols.t[-1]) if len(cols) else 0  # Go: time of the last event
    sfrom, sto = cols.sfrom[ev], cols.sto[ev]
    changed = sfrom != sto
    ids, first = unique(gid, return_index=True)
    start = np.zeros(ids.shape[0], dtype=np.int64)
    run = changed & (sto == G_RUNNING)
    if run.any():
        gi = np.searchsorted(ids, gid[run])
        tt = cols.t[ev[run]]
        # first Running per goroutine: rows are in order within a goroutine
        f = np.ones(gi.shape[0], dtype=bool)
        f[1:] = gi[1:] != gi[:-1]
        start[gi[f]] = tt[f]
    end = np.full(ids.shape[0], t_end, dtype=np.int64)
    forever = cols.string_id("forever")
    dead = changed & ((sto == G_NOTEXIST) | ((sto == G_WAITING) & (cols.s1[ev] == forever) & (forever >= 0)))
    if dead.any():
        gi = np.searchsorted(ids, gid[dead])
        tt = cols.t[ev[dead]]
        # the last finalize wins (Go overwrites EndTime)
        last = np.ones(gi.shape[0], dtype=bool)
        last[:-1] = gi[:-1] != gi[1:]
        end[gi[last]] = tt[last]
    return ids, start, end


def _tracked_runs(gid: np.ndarray, in_s: np.ndarray, match: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Go's walk over goroutine transitions grouped by goroutine (in order inside a group):
    (start rows, end rows, ended). Tracking starts at the first matching row of each run of
    consecutive in-state rows and stops at the next row of the goroutine not in the state;
    `ended` is False for a run still open at the goroutine's last row (no record)."""
    n = gid.shape[0]
    mrows = np.flatnonzero(match)
    if not mrows.shape[0]:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0, bool)
    new_g = np.ones(n, dtype=bool)
    new_g[1:] = gid[1:] != gid[:-1]
    run_start = in_s & (new_g | np.concatenate(([True], ~in_s[:-1])))
    mr_run = (np.cumsum(run_start) - 1)[mrows]
    firsts = np.ones(mrows.shape[0], dtype=bool)
    firsts[1:] = mr_run[1:] != mr_run[:-1]
    starts = mrows[firsts]
    # the end: the first row after the start not in the state (a new goroutine's row ends nothing)
    idx = np.flatnonzero(~in_s | new_g)
    pos = np.searchsorted(idx, starts, side="right")
    endrow = np.where(pos < idx.shape[0], idx[np.minimum(pos, idx.shape[0] - 1)], n)
    ended = endrow < n
    ended &= ~new_g[np.minimum(endrow, n - 1)]
    return starts, endrow, ended


@dataclass
class GoroutineWalk:
    """What every kind of profile walks (`goroutine_walk`): the goroutine transition rows
    grouped by goroutine, and each goroutine's scope (`goroutine_scopes`)."""

    ev: np.ndarray
    gid: np.ndarray
    ids: np.ndarray
    g_start: np.ndarray
    g_end: np.ndarray


def goroutine_walk(cols: TraceColumns) -> GoroutineWalk:
    """The part of `compute_records` that does not depend on the kind: the HTML report draws
    two or three kinds from one window's columns (one sort of ~1 M rows each, 0.1 s saved)."""
    gm = (cols.kind == K_STATE) & (cols.rk == R_GOROUTINE)
    ev = np.nonzero(gm)[0]
    gid = cols.rid[ev]
    order = stable_argsort(gid)
    ev, gid = ev[order], gid[order]
    return GoroutineWalk(ev, gid, *goroutine_scopes(cols, ev, gid))


def compute_records(cols: TraceColumns, kind: str, walk: GoroutineWalk | None = None) -> ProfileRecords:
    """The records `go tool trace -pprof=<kind>` computes, vectorised (`walk`: `goroutine_walk`
    of `cols`, when several kinds are computed)."""
    state, rmatch = _reason_mask(cols, kind)
    walk = walk if walk is not None else goroutine_walk(cols)
    ev, gid = walk.ev, walk.gid
    n = ev.shape[0]
    if n == 0:
        return ProfileRecords([], np.zeros(0, np.int64), np.zeros(0, np.int64), cols)
    in_s = cols.sto[ev] == state
    starts, endrow, valid = _tracked_runs(gid, in_s, in_s & rmatch[cols.s1[ev]])
    if starts.shape[0] == 0:
        return ProfileRecords([], np.zeros(0, np.int64), np.zeros(0, np.int64), cols)
    starts, endrow = starts[valid], endrow[valid]
    t_s = cols.t[ev[starts]]
    t_e = cols.t[ev[endrow]]
    # overlap with the goroutine's scope
    gi = np.searchsorted(walk.ids, gid[starts])
    a, b = walk.g_start[gi], walk.g_end[gi]
    disjoint = (b < t_s) | (t_e < a)
    ov = np.minimum(b, t_e) - np.maximum(a, t_s)
    ov = np.where(disjoint, 0, ov)
    keep = ov > 0
    stk = cols.stk[ev[starts[keep]]]
    ov = ov[keep]
    end_ev = ev[endrow[keep]]
    # dedupe stacks on their first 128 PCs (zero-padded, so a stack of one PC-0 frame is the
    # empty stack, as in Go)
    key = _pc_key(cols)
    skey = key[stk]
    uk, inv = unique(skey, return_inverse=True)
    counts = np.bincount(inv, minlength=uk.shape[0]).astype(np.int64)
    times = np.bincount(inv, weights=ov.astype(np.float64), minlength=uk.shape[0])
    # exact integer sums (float64 bincount is exact below 2**53 ns = 104 days)
    times = np.rint(times).astype(np.int64)
    # Go keeps the stack of the latest record as the key's representative
    rep = np.zeros(uk.shape[0], dtype=np.int64)
    order = np.lexsort((end_ev, inv))
    rep[inv[order]] = stk[order]  # later assignments win: the latest record per key
    return ProfileRecords(rep.tolist(), counts, times, cols)


@dataclass
class StackTable:
    """The stacks a profile names, when they come from several windows' columns: the few
    attributes of `TraceColumns` that `build_profile`, `folded` and the flame graphs read.
    Stack 0 is the empty stack; stack s has the frames stack_off[s]:stack_off[s + 1]."""

    strings: list[str]
    stack_off: np.ndarray
    stack_frames: np.ndarray
    frame_pc: np.ndarray
    frame_func: np.ndarray
    frame_file: np.ndarray
    frame_line: np.ndarray

    def stack_funcs(self, sid: int) -> list[str]:
        if sid <= 0:
            return []
        fr = self.stack_frames[self.stack_off[sid]:self.stack_off[sid + 1]]
        return [self.strings[self.frame_func[f]] for f in fr]


class WindowedRecords:
    """`compute_records` over a trace read window by window (each window a valid trace of whole
    generations, `pipeline.columns_by_window`), holding one window's columns at a time.

    The walk is the same; what crosses a window's edge is carried: a goroutine's tracked wait
    still open at the end of a window (start time, stack, order) goes on in the next one as a
    virtual first row of its group -- the window's own first row for it is a status row in the
    same state, as the whole trace's generation boundary is -- and the scope start (first
    Running) of every goroutine seen so far. Records are aggregated per window on the stack's
    first 128 PCs (the key Go dedupes on), each key keeping the stack of its latest record, so
    memory holds the keys, not the records -- except the records of goroutines not yet seen
    running, which wait for the end: clipped to the goroutine's first Running if one comes later,
    else counted from the trace's start, as Go's summary does (few: a goroutine's first wait
    usually ends in its first run). The scope end does not clip: in Go 1.22+ traces (the only
    ones windowed) goroutine ids are not reused and a wait "forever" never ends, so a
    goroutine's waits end before it does. Same totals and the same values stack by stack as
    `compute_records` on the whole trace (tests/test_profile.py); samples come in first-seen
    order rather than by stack id."""

    def __init__(self, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown profile kind {kind!r}; expected one of {', '.join(KINDS)}")
        self.kind = kind
        self._w = 0
        self._keys: dict[tuple, int] = {}           # first 128 PCs -> key
        self._stacks: dict[tuple, int] = {}         # first 128 frames -> stack
        self._frames: list[tuple] = []              # stack -> its frames (pc, func, file, line)
        self._counts: list[int] = []                # per key
        self._times: list[int] = []
        self._rep: list[tuple[int, int]] = []       # per key: (order of its latest record, stack)
        # open tracked runs: goroutine id, start time, key, stack
        self._carry = (np.zeros(0, np.int64),) * 4
        # goroutines seen running: sorted ids, time of the first Running
        self._run_ids = np.zeros(0, np.int64)
        self._run_t = np.zeros(0, np.int64)
        self._pending: list[tuple[np.ndarray, ...]] = []  # records of goroutines not seen running yet

    def _register(self, cols: TraceColumns, stk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(key, stack) ids, valid across windows, for this window's stack ids."""
        uk, inv = unique(stk, return_inverse=True)
        off, fr, pcs = cols.stack_off, cols.stack_frames, cols.frame_pc
        keys = np.zeros(uk.shape[0], np.int64)
        stacks = np.zeros(uk.shape[0], np.int64)
        for i, sid in enumerate(uk.tolist()):
            frames = fr[off[sid]:min(off[sid + 1], off[sid] + PPROF_MAX_STACK)].tolist() if sid > 0 else []
            full = tuple((int(pcs[f]), cols.strings[cols.frame_func[f]], cols.strings[cols.frame_file[f]],
                          int(cols.frame_line[f])) for f in frames)
            st = self._stacks.setdefault(full, len(self._frames))
            if st == len(self._frames):
                self._frames.append(full)
            k = [f[0] for f in full]
            while k and k[-1] == 0:  # Go compares zero-padded [128]uint64 arrays
                k.pop()
            key = self._keys.setdefault(tuple(k), len(self._counts))
            if key == len(self._counts):
                self._counts.append(0)
                self._times.append(0)
                self._rep.append((-1, st))
            keys[i], stacks[i] = key, st
        return keys[inv], stacks[inv]

    def add(self, cols: TraceColumns) -> None:
        """The next window's columns (windows in trace order)."""
        state, rmatch = _reason_mask(cols, self.kind)
        ev = np.flatnonzero((cols.kind == K_STATE) & (cols.rk == R_GOROUTINE))
        gid_r = cols.rid[ev].astype(np.int64)
        sfrom, sto = cols.sfrom[ev], cols.sto[ev]
        self._note_running(gid_r[(sfrom != sto) & (sto == G_RUNNING)],
                           cols.t[ev[(sfrom != sto) & (sto == G_RUNNING)]].astype(np.int64))
        cg, ct, ck, cs = self._carry
        nc = cg.shape[0]
        in_s_r = sto == state
        # carried open runs first, then the window's rows; grouped by goroutine (stable), so a
        # carried run leads its goroutine's group
        gid = np.concatenate((cg, gid_r))
        o = stable_argsort(gid)
        gid = gid[o]
        in_s = np.concatenate((np.ones(nc, bool), in_s_r))[o]
        match = np.concatenate((np.ones(nc, bool), in_s_r & rmatch[cols.s1[ev]]))[o]
        t = np.concatenate((ct, cols.t[ev].astype(np.int64)))[o]
        w = self._w
        self._w += 1
        starts, endrow, valid = _tracked_runs(gid, in_s, match)
        if not starts.shape[0]:
            self._carry = (np.zeros(0, np.int64),) * 4
            return
        # the starts' keys and stacks: carried ones have theirs, the window's are registered
        src = o[starts]
        keys = np.empty(starts.shape[0], np.int64)
        stacks = np.empty(starts.shape[0], np.int64)
        carried = src < nc
        keys[carried], stacks[carried] = ck[src[carried]], cs[src[carried]]
        if (~carried).any():
            keys[~carried], stacks[~carried] = self._register(cols, cols.stk[ev[src[~carried] - nc]])
        op = ~valid  # still open at the window's end: carried on
        self._carry = (gid[starts[op]], t[starts[op]], keys[op], stacks[op])
        starts, endrow, keys, stacks = starts[valid], endrow[valid], keys[valid], stacks[valid]
        g, t_s, t_e = gid[starts], t[starts], t[endrow]
        order = (w << 40) + (o[endrow] - nc)  # the end row's place in the trace
        seen, a = self._first_running(g)
        if (~seen).any():
            u = ~seen
            self._pending.append((g[u], t_s[u], t_e[u], keys[u], stacks[u], order[u]))
        self._count(t_s[seen], t_e[seen], a[seen], keys[seen], stacks[seen], order[seen])

    def _note_running(self, g: np.ndarray, t: np.ndarray) -> None:
        """Scope starts: the first Running of each goroutine, in trace order."""
        if not g.shape[0]:
            return
        ids, first = unique(g, return_index=True)
        new = ~np.isin(ids, self._run_ids)
        if new.any():
            ids_all = np.concatenate((self._run_ids, ids[new]))
            t_all = np.concatenate((self._run_t, t[first[new]]))
            o = stable_argsort(ids_all)
            self._run_ids, self._run_t = ids_all[o], t_all[o]

    def _first_running(self, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(seen running so far, time of the first Running or 0) for goroutine ids `g`."""
        ids = self._run_ids
        if not ids.shape[0]:
            return np.zeros(g.shape[0], bool), np.zeros(g.shape[0], np.int64)
        gi = np.minimum(np.searchsorted(ids, g), ids.shape[0] - 1)
        seen = ids[gi] == g
        return seen, np.where(seen, self._run_t[gi], 0)

    def _count(self, t_s: np.ndarray, t_e: np.ndarray, a: np.ndarray, keys: np.ndarray, stacks: np.ndarray,
               order: np.ndarray) -> None:
        """Records clipped to their goroutine's scope start `a`, added to their keys."""
        ov = t_e - np.maximum(a, t_s)
        keep = ov > 0
        if not keep.any():
            return
        keys, ov, stacks, order = keys[keep], ov[keep], stacks[keep], order[keep]
        m = len(self._counts)
        cnt = np.bincount(keys, minlength=m)
        tim = np.rint(np.bincount(keys, weights=ov.astype(np.float64), minlength=m)).astype(np.int64)
        last = np.lexsort((order, keys))  # per key, its latest record last
        is_last = np.ones(last.shape[0], bool)
        is_last[:-1] = keys[last][1:] != keys[last][:-1]
        latest = {int(k): (int(od), int(st)) for k, od, st in
                  zip(keys[last][is_last], order[last][is_last], stacks[last][is_last])}
        for k in np.flatnonzero(cnt).tolist():
            self._counts[k] += int(cnt[k])
            self._times[k] += int(tim[k])
            if latest[k][0] > self._rep[k][0]:
                self._rep[k] = latest[k]

    def records(self) -> ProfileRecords:
        """The aggregated records, once every window was added."""
        for g, t_s, t_e, keys, stacks, order in self._pending:  # 0 if the goroutine never ran
            self._count(t_s, t_e, self._first_running(g)[1], keys, stacks, order)
        self._pending = []
        strings: dict[str, int] = {"": 0}
        frame_ids: dict[tuple, int] = {}  # one frame per distinct frame, as a trace's frame table has
        off, frames, pc, fn, fl, ln = [0, 0], [], [], [], [], []
        stacks: list[int] = []
        counts, times = [], []
        for k, (c, tns) in enumerate(zip(self._counts, self._times)):
            if c <= 0:
                continue
            fr = self._frames[self._rep[k][1]]
            if fr:
                for frame in fr:
                    f = frame_ids.get(frame)
                    if f is None:
                        p, func, file, line = frame
                        f = frame_ids[frame] = len(pc)
                        pc.append(p)
                        fn.append(strings.setdefault(func, len(strings)))
                        fl.append(strings.setdefault(file, len(strings)))
                        ln.append(line)
                    frames.append(f)
                off.append(len(frames))
                stacks.append(len(off) - 2)
            else:
                stacks.append(0)
            counts.append(c)
            times.append(tns)
        table = StackTable(list(strings), np.array(off, np.int64), np.array(frames, np.int64),
                           np.array(pc, np.uint64), np.array(fn, np.int64), np.array(fl, np.int64),
                           np.array(ln, np.int64))
        return ProfileRecords(stacks, np.array(counts, np.int64), np.array(times, np.int64), table)


def _pc_key(cols: TraceColumns) -> np.ndarray:
    """Canonical id per stack: stacks equal on their first 128 PCs share the key."""
    cache = cols.meta.get("_pprof_pc_key")
    if cache is not None:
        return cache
    off = cols.stack_off
    fr = cols.stack_frames
    pcs = cols.frame_pc
    seen: dict[tuple, int] = {}
    out = np.zeros(cols.n_stacks + 1 if cols.n_stacks >= 0 else 1, dtype=np.int64)
    offl = off.tolist()
    seen[()] = 0
    for s in range(1, len(offl) - 1):
        k = pcs[fr[offl[s]:min(offl[s + 1], offl[s] + PPROF_MAX_STACK)]].tolist()
        while k and k[-1] == 0:  # Go compares zero-padded [128]uint64 arrays
            k.pop()
        out[s] = seen.setdefault(tuple(k), s)
    cols.meta["_pprof_pc_key"] = out
    return out


def build_profile(rec: ProfileRecords):
    """A `perftools.profiles.Profile` message laid out like Go's `BuildProfile`."""
    from . import profile_pb2 as pb

    cols = rec.cols
    # the profile's string table: string -> index, in insertion order (index 0 is "")
    sidx: dict[str, int] = {"": 0}

    def s(x: str) -> int:
        return sidx.setdefault(x, len(sidx))

    p = pb.Profile()
    p.period_type.type = s("trace")
    p.period_type.unit = s("count")
    p.period = 1
    st = p.sample_type.add()
    st.type, st.unit = s("contentions"), s("count")
    st = p.sample_type.add()
    st.type, st.unit = s("delay"), s("nanoseconds")
    locs: dict[int, int] = {}
    funcs: dict[tuple[int, int], int] = {}
    off, fr = cols.stack_off, cols.stack_frames
    for sid, cnt, tns in zip(rec.stacks, rec.counts.tolist(), rec.times_ns.tolist()):
        sample = p.sample.add()
        frames = fr[off[sid]:off[sid + 1]][:PPROF_MAX_STACK].tolist() if sid > 0 else []
        for f in frames:
            pc = int(cols.frame_pc[f])
            lkey = pc if pc else -(f + 1)  # frames without PCs: one location per frame
            lid = locs.get(lkey)
            if lid is None:
                fkey = (int(cols.frame_file[f]), int(cols.frame_func[f]))
                fid = funcs.get(fkey)
                if fid is None:
                    fn = p.function.add()
                    fid = fn.id = len(p.function)
                    name = cols.strings[fkey[1]]
                    fn.name = s(name)
                    fn.system_name = s(name)
                    fn.filename = s(cols.strings[fkey[0]])
                    funcs[fkey] = fid
                loc = p.location.add()
                lid = loc.id = len(p.location)
                loc.address = pc
                ln = loc.line.add()
                ln.function_id = fid
                ln.line = int(cols.frame_line[f])
                locs[lkey] = lid
            sample.location_id.append(lid)
        sample.value.extend([int(cnt), int(tns)])
    p.string_table.extend(sidx)
    return p


def folded(rec: ProfileRecords, value: str = "delay") -> str:
    """Folded stacks (root;...;leaf VALUE per line) for flame-graph tools.

    `value`: "delay" (nanoseconds, the default) or "contentions" (counts).
    """
    cols = rec.cols
    agg: dict[str, int] = {}
    vals = rec.times_ns if value == "delay" else rec.counts
    for sid, v in zip(rec.stacks, vals.tolist()):
        names = cols.stack_funcs(sid)[:PPROF_MAX_STACK]
        key = ";".join(n.replace(";", ":").replace(" ", "_") for n in reversed(names)) or "<no stack>"
        agg[key] = agg.get(key, 0) + int(v)
    return "".join(f"{k} {v}\n" for k, v in sorted(agg.items()) if v > 0)
