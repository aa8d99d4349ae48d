"""The causal graph (networkx) built from timelines.

Nodes (id -> attribute `kind`):

* `g:<id>` goroutine: `name` (start location), `creator`, `created_ns`, time per state
  (`running_ms`, `runnable_ms`, `waiting_ms`, `syscall_ms`), `network_waits`;
* `group:<start location>` goroutines grouped like `go tool trace`'s goroutine analysis;
* `p:<id>` procs, `m:<id>` threads;
* `site:<func>` blocking sites (top user frame of a blocking stack), `syscall:<site>|<call>`
  syscall sites with their `caller_class`;
* `conn:<goroutine id>` connections inferred from the serving goroutine, and `fd:...`
  descriptors a close touched that cannot be tied to one connection (see `conns.py`: origin,
  owner, borrows, closed_by, fd_reuse; the trace has no fd numbers);
* `netpoller`, `timer`, `runtime`: wakers that are not goroutines.

Edges (a `MultiDiGraph`; the edge key is the relation, also stored as `rel`), each with
`count`, `total_ms`, `p50_ms`, `p95_ms`, `max_ms` and `examples` (up to 3 longest windows:
`(start_ns, end_ns)` since the trace start):

* `created-by` g -> creator g; `member-of` g -> group; `serves` g -> conn;
* `blocked-on` g -> site (attrs `reason`, `side`);
* `woken-by` g -> waker g / netpoller / timer / runtime (durations: the waits it ended);
* `ran-on` g -> p and g -> m (durations: running intervals);
* `held-P-while` running g -> woken g: g ran on a P while the woken goroutine sat runnable
  after a wake-up (attr `after`: the reason of the wait it woke from, "network" for the
  netpoller; edge key `held-P-while:<reason>`; durations: the overlaps). Windows covered:
  every network wake-up, and other wake-ups that then waited >= 1 ms for a P, the longest
  first within a budget of 10 M (window, running interval) pairs (`held_coverage` is the share
  of their runnable time covered); `count` is
  the number of windows in which it ran, durations are its summed running time per window,
  examples start where it first ran in the window; pairs whose overlaps add up to less
  than 0.1 ms are left out;
* `in-syscall-on` g -> m (attrs `lost_p_count`), `syscall-at` g -> syscall site;
* `closed` g -> conn/fd (attrs `by`, `at_ns`, `fd_reuse`): who closed a descriptor.

`cg.conns` (a `ConnectionIndex`) holds the conn/fd nodes as records; `cg.demand(capacity)`
says which goroutines held the Ps while woken goroutines waited (hogs, short bursts, GC);
`chains.py` turns a wait, a syscall or a close into a blocking chain.

`CausalGraph.explain_network_wait(g, t)` answers, for one network wait: what the goroutine
waited on, who woke it, how long it then waited to run and what ran instead
(`explain_wait` does the same for a wait of any reason).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from ..timeline import analysis as A
from ..timeline.columns import G_RUNNABLE, G_RUNNING, G_SYSCALL, G_WAITING
from ..timeline.grouping import stable_argsort, unique
from ..timeline.stacks import CALLER_CLASSES, FAM_READ, FAM_WRITE, SIDES
from ..timeline.timeline import Timelines
from .conns import ConnectionIndex, ConnNode

if TYPE_CHECKING:
    import networkx as nx

MAX_EXAMPLES = 3
#: held-P-while edges are kept when the runner held a P for at least this long in total
#: (over all the windows of the pair); shorter overlaps are scheduling noise.
HELD_MIN_TOTAL_NS = 100_000
#: ... and cover every network wake-up, plus other wake-ups that waited this long for a P.
HELD_MIN_WINDOW_NS = 1_000_000
#: ... the longest windows first, up to this many (window, running interval) pairs: a trace
#: whose Ps are saturated has windows overlapping thousands of short runs each.
HELD_PAIR_BUDGET = 10_000_000


def _combine(key: np.ndarray) -> np.ndarray:
    """One int64 code per key row (mixed radix over the columns' ranges; order-preserving)."""
    code = np.zeros(key.shape[0], dtype=np.int64)
    for i in range(key.shape[1]):
        col = key[:, i].astype(np.int64)
        lo = int(col.min())
        span = int(col.max()) - lo + 1
        code = code * span + (col - lo)
    return code


def _order_by_code_then_longest(code: np.ndarray, dur: np.ndarray) -> np.ndarray:
    """Indices sorted by code, then by descending duration (ties: by index)."""
    d = np.rint(dur).astype(np.int64)
    dmax = int(d.max()) if d.shape[0] else 0
    cmax = int(code.max()) if code.shape[0] else 0
    dbits = max(dmax, 1).bit_length()
    if int(d.min()) >= 0 and dbits + max(cmax, 1).bit_length() <= 63:
        # one int64 key, code then (dmax - dur); the stable sort breaks ties by index
        return stable_argsort((code << dbits) | (dmax - d))
    o1 = stable_argsort(-dur)
    return o1[stable_argsort(code[o1])]


def _grouped_stats(key: np.ndarray, dur: np.ndarray, start: np.ndarray, end: np.ndarray,
                   min_total: float = 0.0, t0: int = 0):
    """Per distinct key row: (keys, count, total, p50, p95, max, examples[list of (s, e)]), the
    examples' times less `t0` (the graph's edges count from the trace start).

    Vectorised: one sort by (key, descending duration) -- a single int64 sort key when the
    key codes and the durations fit in 63 bits, else a stable sort by duration then by key;
    percentiles by linear interpolation inside each group. Groups whose total is below
    `min_total` are left out.
    """
    if key.shape[0] == 0:
        return []
    code = _combine(key)
    order = _order_by_code_then_longest(code, dur)
    c, d = code[order], dur[order]
    new = np.ones(c.shape[0], dtype=bool)
    new[1:] = c[1:] != c[:-1]
    first = np.nonzero(new)[0]
    counts = np.diff(np.append(first, c.shape[0]))
    totals = np.add.reduceat(d, first)

    # rows are sorted by descending duration within a group: quantile q sits at position
    # (1-q)*(n-1) from the group start
    def q(p):
        pos = (1 - p) * (counts - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, counts - 1)
        frac = pos - lo
        return d[first + lo] * (1 - frac) + d[first + hi] * frac

    p50, p95 = q(0.50), q(0.95)
    mx = d[first]
    sel = np.nonzero(totals >= min_total)[0] if min_total > 0 else np.arange(first.shape[0])
    keys = key[order[first[sel]]].tolist()
    # the examples, gathered at once: the first MAX_EXAMPLES rows of each kept group
    n_ex = np.minimum(counts[sel], MAX_EXAMPLES)
    rows = order[np.minimum(first[sel][:, None] + np.arange(MAX_EXAMPLES)[None, :], c.shape[0] - 1)]
    # one (start, end) tuple per gathered row, each group's examples a slice of them
    pairs = list(zip((start[rows].astype(np.int64) - t0).ravel().tolist(),
                     (end[rows].astype(np.int64) - t0).ravel().tolist()))
    return [(tuple(k), n, tot, a, b, m, pairs[i:i + ne])
            for k, n, tot, a, b, m, i, ne in zip(keys, counts[sel].tolist(), totals[sel].astype(np.float64).tolist(),
                                                 p50[sel].astype(np.float64).tolist(),
                                                 p95[sel].astype(np.float64).tolist(),
                                                 mx[sel].astype(np.float64).tolist(),
                                                 range(0, len(pairs), MAX_EXAMPLES), n_ex.tolist())]


@dataclass
class WaitExplanation:
    goroutine: int
    goroutine_name: str
    reason: str
    site: str
    side: str
    stack: list[tuple[str, str, int]]
    start_ns: int
    woken_ns: int | None
    wait_ms: float
    woken_by: str
    woken_by_goroutine: int | None
    waker_stack: list[tuple[str, str, int]]
    ran_at_ns: int | None
    wake_to_run_ms: float | None
    ran_instead: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class CausalGraph:
    """The relations of one trace (or window): indexed arrays the features query (`nw`, `sc`,
    `conns`, `wakeups`, `held`, `run_by_p`, `hog_mask`, `demand`, and chains.py over them), and
    `g`, the same relations as a networkx MultiDiGraph with per-edge statistics.

    `g` is built on first use (explain, tests, a caller walking the graph): the diagnosis only
    queries the indexed relations, and building every edge's statistics was ~40% of a big
    trace's per-window CPU (issue 18) for a graph nothing in the diagnosis read."""

    def __init__(self, tl: Timelines) -> None:
        self.tl = tl
        #: share of the post-wake-up runnable time (candidate windows) that held-P-while covers
        self.held_coverage = 1.0
        self.nw = A.network_waits(tl)
        self.sc = A.syscalls(tl)
        self.conns = ConnectionIndex(tl, self.nw, self.sc)
        self._conn_pos = {n.id: i for i, n in enumerate(self.conns.nodes)}

    @cached_property
    def g(self) -> nx.MultiDiGraph:
        """The networkx view (module docstring: nodes and edges), built once on first use
        (networkx itself is imported then too: ~90 ms a command that does not need it)."""
        import networkx as nx

        # stored before building: the builders below add to `self.g`
        self.__dict__["g"] = nx.MultiDiGraph()
        self._build()
        return self.__dict__["g"]

    # ------------------------------------------------------------------ building
    def _rel(self, t: int) -> int:
        return int(t) - self.tl.t0

    def _add_edges(self, rel: str, src_ids: list[str], dst_ids: list[str], stats, **const) -> None:
        for (keys, n, tot, p50, p95, mx, ex), a, b in zip(stats, src_ids, dst_ids):
            self.g.add_edge(a, b, key=rel, rel=rel, count=n, total_ms=tot / 1e6, p50_ms=p50 / 1e6, p95_ms=p95 / 1e6,
                            max_ms=mx / 1e6, examples=ex, **const)

    def _build(self) -> None:
        tl, G = self.tl, self.g
        st = tl.stacks
        names = tl.gor_name
        state_ns = tl.gor_state_ns
        nwc = np.bincount(np.searchsorted(tl.gor_id, self.nw.g), minlength=tl.gor_id.shape[0]) \
            if len(self.nw) else np.zeros(tl.gor_id.shape[0], np.int64)
        creators = tl.gor_creator
        created = tl.gor_created
        first_t = tl.iv_start[tl.gor_first_iv]
        for i, gid in enumerate(tl.gor_id.tolist()):
            nm = names[i] or "<unknown>"
            G.add_node(f"g:{gid}", kind="goroutine", id=gid, name=nm, creator=int(creators[i]) if created[i] else None,
                       created_ns=self._rel(first_t[i]) if created[i] else None,
                       running_ms=state_ns[i, G_RUNNING] / 1e6, runnable_ms=state_ns[i, G_RUNNABLE] / 1e6,
                       waiting_ms=state_ns[i, G_WAITING] / 1e6, syscall_ms=state_ns[i, G_SYSCALL] / 1e6,
                       network_waits=int(nwc[i]))
            grp = f"group:{nm}"
            if grp not in G:
                G.add_node(grp, kind="goroutine_group", name=nm, goroutines=0, running_ms=0.0, waiting_ms=0.0,
                           runnable_ms=0.0, syscall_ms=0.0)
            gn = G.nodes[grp]
            gn["goroutines"] += 1
            for k, s in (("running_ms", G_RUNNING), ("waiting_ms", G_WAITING), ("runnable_ms", G_RUNNABLE),
                         ("syscall_ms", G_SYSCALL)):
                gn[k] += float(state_ns[i, s]) / 1e6
            G.add_edge(f"g:{gid}", grp, key="member-of", rel="member-of")
            if created[i] and creators[i] >= 0:
                cstk = int(tl.gor_create_stk[i])
                G.add_edge(f"g:{gid}", f"g:{int(creators[i])}", key="created-by", rel="created-by",
                           at_ns=self._rel(first_t[i]), stack=st.frames(cstk, 8) if cstk else [])
        for n in ("netpoller", "timer", "runtime"):
            G.add_node(n, kind="waker")
        for p in tl.procs.tolist():
            G.add_node(f"p:{p}", kind="proc", id=p)
        # (fake Ps of converted old traces get a node only if something ran on them)
        for m in tl.threads.tolist():
            G.add_node(f"m:{m}", kind="thread", id=m)
        for n in list(G.nodes):
            if n.startswith("g:") and f"g:{G.nodes[n].get('creator')}" not in G and G.nodes[n].get("creator") is not None:
                G.add_node(f"g:{G.nodes[n]['creator']}", kind="goroutine", id=G.nodes[n]["creator"], name="<unknown>")
        self._blocked_on()
        self._woken_by()
        self._ran_on()
        self._held_p()
        G.graph["held_coverage"] = self.held_coverage
        self._syscalls()
        self._connections()

    def _blocked_on(self) -> None:
        tl, st = self.tl, self.tl.stacks
        w = np.nonzero((tl.iv_state == G_WAITING) & (tl.iv_reason > 0))[0]
        if w.shape[0] == 0:
            return
        sites = st.wait_site
        uniq_sites: dict[str, int] = {}
        site_of_stack = np.array([uniq_sites.setdefault(s, len(uniq_sites)) for s in sites], dtype=np.int64)
        site_names = list(uniq_sites)
        key = np.stack([tl.iv_g[w], site_of_stack[tl.iv_stk[w]], tl.iv_reason[w].astype(np.int64),
                        st.wait_side[tl.iv_stk[w]].astype(np.int64)], axis=1)
        stats = _grouped_stats(key, tl.iv_dur[w].astype(np.float64), tl.iv_start[w], tl.iv_end[w], t0=self.tl.t0)
        for keys, n, tot, p50, p95, mx, ex in stats:
            g, site, reason, side = keys
            node = f"site:{site_names[site]}"
            if node not in self.g:
                self.g.add_node(node, kind="stack_site", func=site_names[site])
            k = f"blocked-on:{self.tl.cols.strings[reason]}"
            self.g.add_edge(f"g:{g}", node, key=k, rel="blocked-on", reason=self.tl.cols.strings[reason],
                            side=SIDES[side], count=n, total_ms=tot / 1e6, p50_ms=p50 / 1e6, p95_ms=p95 / 1e6,
                            max_ms=mx / 1e6, examples=ex)

    def _waker_of(self) -> tuple[np.ndarray, np.ndarray]:
        """All ended Waiting intervals and their waker (goroutine id or WAKER_* code)."""
        tl = self.tl
        w = np.nonzero((tl.iv_state == G_WAITING) & ~tl.iv_open & (tl.iv_from != 0))[0]
        eg = tl.iv_end_g[w]
        nid, sleep = tl.network_reason_id(), tl.cols.string_id("sleep")
        r = tl.iv_reason[w]
        no_g = np.where(r == nid, A.WAKER_NETPOLLER, np.where(r == sleep, A.WAKER_TIMER, A.WAKER_RUNTIME))
        return w, np.where(eg >= 0, eg, no_g)

    def _woken_by(self) -> None:
        tl = self.tl
        w, waker = self._waker_of()
        if w.shape[0] == 0:
            return
        key = np.stack([tl.iv_g[w], waker], axis=1)
        stats = _grouped_stats(key, tl.iv_dur[w].astype(np.float64), tl.iv_start[w], tl.iv_end[w], t0=self.tl.t0)
        src = [f"g:{k[0]}" for k, *_ in stats]
        dst = [A.WAKER_NAMES.get(k[1], f"g:{k[1]}") for k, *_ in stats]
        for d in dst:
            if d not in self.g:
                self.g.add_node(d, kind="goroutine", id=int(d[2:]), name="<unknown>")
        self._add_edges("woken-by", src, dst, stats)

    def _ran_on(self) -> None:
        tl = self.tl
        r = tl.run_iv
        if r.shape[0] == 0:
            return
        for col, prefix in ((tl.iv_p, "p"), (tl.iv_m, "m")):
            key = np.stack([tl.iv_g[r], col[r]], axis=1)
            stats = _grouped_stats(key, tl.iv_dur[r].astype(np.float64), tl.iv_start[r], tl.iv_end[r], t0=self.tl.t0)
            for k, *_ in stats:
                if f"{prefix}:{k[1]}" not in self.g:
                    self.g.add_node(f"{prefix}:{k[1]}", kind="proc" if prefix == "p" else "thread", id=k[1])
            self._add_edges("ran-on", [f"g:{k[0]}" for k, *_ in stats], [f"{prefix}:{k[1]}" for k, *_ in stats],
                            stats)

    @cached_property
    def wakeups(self) -> dict[str, np.ndarray]:
        """Every wake-up followed by a run: Waiting -> Runnable -> Running (vectorised)."""
        tl = self.tl
        w = np.nonzero((tl.iv_state == G_WAITING) & ~tl.iv_open)[0]
        nx_ = tl.iv_next[w]
        ok = nx_ >= 0
        w, nx_ = w[ok], nx_[ok]
        ok = (tl.iv_state[nx_] == G_RUNNABLE) & ~tl.iv_open[nx_]
        w, nx_ = w[ok], nx_[ok]
        nn = tl.iv_next[nx_]
        ok = (nn >= 0) & (tl.iv_state[np.maximum(nn, 0)] == G_RUNNING)
        return {"wait_iv": w[ok], "runnable_iv": nx_[ok]}

    @cached_property
    def _held_selection(self):
        """Wake-ups whose runnable window the held-P-while edges cover: every network wake-up,
        and other wake-ups that waited at least HELD_MIN_WINDOW_NS for a P -- the longest
        first, until HELD_PAIR_BUDGET (window, running interval) pairs are used."""
        tl = self.tl
        w, r = self.wakeups["wait_iv"], self.wakeups["runnable_iv"]
        nid = tl.network_reason_id()
        cand = np.nonzero((tl.iv_reason[w] == nid) | (tl.iv_dur[r] >= HELD_MIN_WINDOW_NS))[0]
        if cand.shape[0] == 0 or tl.run_iv.shape[0] == 0:
            return cand, None
        cand = cand[stable_argsort(-tl.iv_dur[r[cand]])]
        segs, los, cnts = A.held_pair_counts(tl, tl.iv_start[r[cand]], tl.iv_end[r[cand]])
        per = np.sum(cnts, axis=0)
        n = int(np.searchsorted(np.cumsum(per), HELD_PAIR_BUDGET, side="right"))
        n = max(n, min(1, cand.shape[0]))
        self.held_coverage = float(tl.iv_dur[r[cand[:n]]].sum()) / max(float(tl.iv_dur[r[cand]].sum()), 1.0)
        return cand[:n], (segs, [x[:n] for x in los], [x[:n] for x in cnts])

    @property
    def held_windows(self) -> np.ndarray:
        return self._held_selection[0]

    @cached_property
    def held(self) -> A.HeldByGoroutine:
        """Who ran during the runnable windows of `held_windows`: per (window, goroutine)."""
        tl = self.tl
        sel, counts = self._held_selection
        r = self.wakeups["runnable_iv"][sel]
        return A.held_p_by_goroutine(tl, tl.iv_start[r], tl.iv_end[r], counts=counts)

    @cached_property
    def held_totals(self) -> np.ndarray:
        """Per goroutine index: its running time inside the runnable windows of `held_windows`
        (`held` summed per goroutine, float64 ns; what the demand on the Ps asks), summed
        without the per-(window, goroutine) rows (`analysis.held_p_totals`)."""
        tl = self.tl
        sel, counts = self._held_selection
        r = self.wakeups["runnable_iv"][sel]
        return A.held_p_totals(tl, tl.iv_start[r], tl.iv_end[r], counts=counts)

    def _held_p(self) -> None:
        tl = self.tl
        hp = self.held
        if hp.window.shape[0] == 0:
            return
        win = self.held_windows[hp.window]
        wait_iv = self.wakeups["wait_iv"][win]
        r_iv = self.wakeups["runnable_iv"][win]
        runner = hp.g
        woken = tl.iv_g[r_iv]
        reason = tl.iv_reason[wait_iv].astype(np.int64)
        keep = runner != woken
        key = np.stack([runner, woken, reason], axis=1)[keep]
        s = hp.first[keep]
        ov = hp.overlap[keep]
        stats = _grouped_stats(key, ov.astype(np.float64), s, s + ov, min_total=HELD_MIN_TOTAL_NS, t0=self.tl.t0)
        strings = tl.cols.strings
        for keys, n, tot, p50, p95, mx, ex in stats:
            a, b, rs = keys
            after = strings[rs] or "unknown"
            self.g.add_edge(f"g:{a}", f"g:{b}", key=f"held-P-while:{after}", rel="held-P-while", after=after,
                            count=n, total_ms=tot / 1e6, p50_ms=p50 / 1e6, p95_ms=p95 / 1e6, max_ms=mx / 1e6,
                            examples=ex)

    def _syscalls(self) -> None:
        tl, sc = self.tl, self.sc
        if len(sc) == 0:
            return
        st = tl.stacks
        key = np.stack([sc.g, sc.m], axis=1)
        stats = _grouped_stats(key, sc.dur.astype(np.float64), sc.start, sc.end, t0=self.tl.t0)
        lost: dict[tuple[int, int], int] = {}
        if sc.lost_p.any():
            lk = key[sc.lost_p]
            _, first, cnt = unique(_combine(lk), return_index=True, return_counts=True)
            lost = {tuple(int(x) for x in lk[f]): int(c) for f, c in zip(first.tolist(), cnt.tolist())}
        for keys, n, tot, p50, p95, mx, ex in stats:
            g, m = keys
            if f"m:{m}" not in self.g:
                self.g.add_node(f"m:{m}", kind="thread", id=m)
            self.g.add_edge(f"g:{g}", f"m:{m}", key="in-syscall-on", rel="in-syscall-on", count=n, total_ms=tot / 1e6,
                            p50_ms=p50 / 1e6, p95_ms=p95 / 1e6, max_ms=mx / 1e6, lost_p_count=lost.get((g, m), 0),
                            examples=ex)
        labels: dict[tuple, int] = {}
        lab = np.array([labels.setdefault((st.sys_site[s], st.sys_call[s], int(st.sys_class[s])), len(labels))
                        for s in range(st.n)], dtype=np.int64)
        names = list(labels)
        key = np.stack([sc.g, lab[sc.stk]], axis=1)
        stats = _grouped_stats(key, sc.dur.astype(np.float64), sc.start, sc.end, t0=self.tl.t0)
        for keys, n, tot, p50, p95, mx, ex in stats:
            g, li = keys
            site, call, cls = names[li]
            node = f"syscall:{site}|{call}"
            if node not in self.g:
                self.g.add_node(node, kind="syscall_site", site=site, call=call, caller_class=CALLER_CLASSES[cls])
            self.g.add_edge(f"g:{g}", node, key="syscall-at", rel="syscall-at", count=n, total_ms=tot / 1e6,
                            p50_ms=p50 / 1e6, p95_ms=p95 / 1e6, max_ms=mx / 1e6,
                            examples=ex)

    def _connections(self) -> None:
        for n in self.conns.nodes:
            attrs = n.as_dict()
            attrs["kind"] = "connection" if n.kind == "conn" else "descriptor"
            self.g.add_node(n.id, **attrs)
        for g, root in zip(self.conns.conn_g.tolist(), self.conns.conn_root.tolist()):
            self.g.add_edge(f"g:{g}", f"conn:{root}", key="serves", rel="serves")
        for n in self.conns.nodes:
            if n.closer_goroutine is not None:
                self.g.add_edge(f"g:{n.closer_goroutine}", n.id, key="closed", rel="closed", by=n.closed_by,
                                at_ns=n.close_ns, fd_reuse=n.fd_reuse)

    def conn_node(self, node_id: str) -> ConnNode | None:
        i = self._conn_pos.get(node_id)
        return None if i is None else self.conns.nodes[i]

    def conn_io_after(self, conn: ConnNode, t: int):
        """First read/write syscall or network wait of the conn's goroutines after `t`
        (absolute ns): (goroutine, start, end, stack) or None."""
        i = self._conn_pos[conn.id]
        sc, nw = self.sc, self.nw
        cand = []
        k = np.nonzero((self.conns._ci_sc == i) & (sc.start > t) & np.isin(sc.fam, (FAM_READ, FAM_WRITE)))[0]
        if k.shape[0]:
            j = int(k[np.argmin(sc.start[k])])
            cand.append((int(sc.g[j]), int(sc.start[j]), int(sc.end[j]), int(sc.stk[j])))
        k = np.nonzero((self.conns._ci_nw == i) & (nw.start > t))[0]
        if k.shape[0]:
            j = int(k[np.argmin(nw.start[k])])
            cand.append((int(nw.g[j]), int(nw.start[j]), int(nw.end[j]), int(nw.stk[j])))
        return min(cand, key=lambda x: x[1]) if cand else None

    def borrow_before(self, t: int):
        """The last syscall inside a net RawConn callback before `t`: (g, start, end, stack)."""
        sc = self.sc
        k = np.nonzero(self.conns.own.via_net_rawconn[sc.stk] & (sc.start < t))[0] if len(sc) else []
        if len(k) == 0:
            return None
        j = int(k[np.argmax(sc.start[k])])
        return int(sc.g[j]), int(sc.start[j]), int(sc.end[j]), int(sc.stk[j])

    @cached_property
    def _thread_first_seen(self) -> np.ndarray:
        return np.sort(self.tl.thread_first_seen[1])

    def threads_first_seen_between(self, a: int, b: int) -> int:
        f = self._thread_first_seen
        return int(np.searchsorted(f, b, side="left") - np.searchsorted(f, a, side="right"))

    @cached_property
    def run_by_p(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per P: (Running interval indices in time order, their starts, running max of their
        ends) -- split once, so that chains can ask who ran in a window with two searchsorted."""
        ri = self.tl.run_index
        return [(ri.run[a:b], ri.start[a:b], ri.end_max[a:b]) for a, b in ri.segments()]

    @cached_property
    def hog_mask(self) -> np.ndarray:
        """Running intervals of CPU hogs (`Timelines.cpu_hog_mask` at 10 ms), computed once."""
        return self.tl.cpu_hog_mask(10_000_000)

    def demand(self, capacity_ns: float):
        """`demand.p_demand`: which goroutines held the Ps while woken goroutines waited."""
        from .demand import p_demand

        return p_demand(self, capacity_ns)

    # ------------------------------------------------------------------ queries
    def edges(self, rel: str) -> list[tuple[str, str, dict]]:
        return [(a, b, d) for a, b, k, d in self.g.edges(keys=True, data=True) if d.get("rel") == rel]

    def _wait_interval(self, g: int, t: int | None, network_only: bool) -> int:
        tl = self.tl
        ivs = tl.intervals_of(int(g))
        m = tl.iv_state[ivs] == G_WAITING  # a wait seen from the trace start may have no reason
        if network_only:
            m &= tl.iv_reason[ivs] == tl.network_reason_id()
        ivs = ivs[m]
        if ivs.shape[0] == 0:
            what = "network wait" if network_only else "wait"
            raise KeyError(f"goroutine {g} has no {what} in the trace")
        if t is None:
            return int(ivs[np.argmax(tl.iv_dur[ivs])])
        ta = int(t) + tl.t0
        nxt = tl.iv_next[ivs]
        until = np.where(nxt >= 0, tl.iv_end[np.maximum(nxt, 0)], tl.iv_end[ivs])
        inside = ivs[(tl.iv_start[ivs] <= ta) & (ta <= until)]
        if inside.shape[0]:
            return int(inside[0])
        return int(ivs[np.argmin(np.abs(tl.iv_start[ivs] - ta))])

    def explain_wait(self, g: int, t: int | None = None, network_only: bool = False) -> WaitExplanation:
        """One wait of goroutine `g` (the one around `t` ns since trace start, else its longest):
        what it waited on, who woke it, how long it then waited to run and what ran instead."""
        tl = self.tl
        st = tl.stacks
        i = self._wait_interval(int(g), t, network_only)
        stk = int(tl.iv_stk[i])
        open_ = bool(tl.iv_open[i])
        reason = tl.cols.strings[int(tl.iv_reason[i])] or "unknown (waiting since before the trace)"
        eg = int(tl.iv_end_g[i])
        if open_:
            woken_by, wg = "never (the wait did not end within the trace)", None
        elif eg >= 0:
            woken_by, wg = f"goroutine {eg}", eg
        else:
            woken_by = "netpoller" if reason == "network" else ("timer" if reason == "sleep" else "runtime")
            wg = None
        nxt = int(tl.iv_next[i])
        ran_at = w2r = None
        ran: list[dict[str, Any]] = []
        if not open_ and nxt >= 0 and tl.iv_state[nxt] == G_RUNNABLE and not tl.iv_open[nxt]:
            nn = int(tl.iv_next[nxt])
            if nn >= 0 and tl.iv_state[nn] == G_RUNNING:
                ran_at, w2r = int(tl.iv_end[nxt]), int(tl.iv_end[nxt] - tl.iv_start[nxt])
                hp = A.held_p_pairs(tl, tl.iv_start[nxt:nxt + 1], tl.iv_end[nxt:nxt + 1])
                agg: dict[int, list] = {}
                for ri, ov in zip(hp.run_iv.tolist(), hp.overlap.tolist()):
                    gg = int(tl.iv_g[ri])
                    a = agg.setdefault(gg, [0, int(tl.iv_p[ri])])
                    a[0] += ov
                cpu_g = set(unique(tl.iv_g[tl.cpu_hog_mask()]).tolist())
                names = tl.gor_name
                for gg, (ov, p) in sorted(agg.items(), key=lambda x: -x[1][0]):
                    k = int(tl.gor_index(gg))
                    ran.append({"goroutine": gg, "name": names[k] if k < len(names) else "", "proc": p,
                                "overlap_ms": ov / 1e6, "cpu_bound": gg in cpu_g})
        return WaitExplanation(
            goroutine=int(g), goroutine_name=tl.gor_name[int(tl.gor_index(int(g)))], reason=reason,
            site=st.wait_site[stk], side=SIDES[int(st.wait_side[stk])] if reason == "network" else "",
            stack=st.frames(stk, 16), start_ns=self._rel(tl.iv_start[i]),
            woken_ns=None if open_ else self._rel(tl.iv_end[i]), wait_ms=float(tl.iv_dur[i]) / 1e6,
            woken_by=woken_by, woken_by_goroutine=wg,
            waker_stack=st.frames(int(tl.iv_end_stk[i]), 12) if tl.iv_end_stk[i] else [],
            ran_at_ns=None if ran_at is None else self._rel(ran_at),
            wake_to_run_ms=None if w2r is None else w2r / 1e6, ran_instead=ran)

    def explain_network_wait(self, g: int, t: int | None = None) -> WaitExplanation:
        """`explain_wait` restricted to waits in the netpoller (reason "network")."""
        return self.explain_wait(g, t, network_only=True)

    def slowest_network_waits(self, n: int = 5, by: str = "wake_to_run") -> list[WaitExplanation]:
        """The `n` network waits with the longest wake-to-run delay (`by="wait"`: longest wait)."""
        nw = self.nw
        if len(nw) == 0:
            return []
        key = nw.wake_to_run if by == "wake_to_run" else nw.dur
        idx = np.argsort(-key)[:n]
        return [self.explain_network_wait(int(nw.g[i]), int(nw.start[i]) - self.tl.t0) for i in idx.tolist()]

    def slowest_wakeups(self, n: int = 5) -> list[WaitExplanation]:
        """The `n` wake-ups (any reason) with the longest delay before running."""
        tl = self.tl
        r = self.wakeups["runnable_iv"]
        if r.shape[0] == 0:
            return []
        w = self.wakeups["wait_iv"]
        idx = np.argsort(-tl.iv_dur[r])[:n]
        return [self.explain_wait(int(tl.iv_g[w[i]]), int(tl.iv_start[w[i]]) - tl.t0) for i in idx.tolist()]

    def goroutine_groups(self) -> list[dict[str, Any]]:
        """Like `go tool trace`'s goroutine analysis: groups by start location, by running time."""
        out = [dict(d, node=n) for n, d in self.g.nodes(data=True) if d.get("kind") == "goroutine_group"]
        return sorted(out, key=lambda d: -d["running_ms"])


def build_graph(tl: Timelines) -> CausalGraph:
    return CausalGraph(tl)
