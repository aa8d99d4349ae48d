"""Connections and descriptors as graph nodes: origin, owner, users, close and closer.

The trace carries no fd numbers. What it does carry is every syscall's stack, every network
wait's stack and every goroutine's creator, which is enough to say, for each connection:

* where it came from (`origin`): accepted through net (`net.Accept`), accepted with a raw
  `syscall.Accept*` (`raw_accept`), dialled (`net.Dial`), or `unknown`;
* who owns its descriptor (`owner`): `net` (I/O through internal/poll), `user` (raw
  read/write syscalls: a descriptor user code opened itself), `os.File`, or `unknown`;
* how user code borrowed it (`borrowed`): `RawConn` (a syscall inside `RawConn.Control`),
  `File()` (a dup), `os.NewFile` (an `*os.File` wrapped around net's descriptor: a second
  owner, `co_owner = "os.File"`), `Fd()`;
* who closed it (`closed_by`): `owner` (net's Close, the os.File's Close, user code closing
  a descriptor it opened itself), `raw_user` (a raw close of a descriptor another owner
  holds: inside `net.(*rawConn).Control` or `os.(*rawConn).Control`), `finalizer`, `none`
  (still open at the end of the trace) or `unknown`.

fd reuse is a relation here, never a coincidence in time: `fd_reuse` is true only for a raw
close of a descriptor another owner still holds, or a finalizer close of an `*os.File` in a
trace where such files were made from descriptors net holds. A syscall the trace cannot tie to
one connection (a raw close on a timer goroutine, a finalizer close) becomes its own
descriptor node (`kind = "fd"`) with `origin = "unknown"` and no serving goroutines rather
than a guess.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ..timeline import analysis as A
from ..timeline.grouping import stable_argsort, unique
from ..timeline.stacks import (CC_NETPOLLER, CC_RAW_USER, FAM_ACCEPT, FAM_CLOSE, FAM_READ,
                               FAM_WRITE, SIDE_ACCEPT, SIDE_READ, SIDE_WRITE, StackInfo)
from ..timeline.timeline import Timelines

#: descriptor nodes made one per close (raw closes of borrowed descriptors) are capped here;
#: beyond it they are counted on the last node (`closes`).
MAX_CLOSE_NODES = 500

_NET_CLOSE = ("net.(*netFD).Close", "net.(*conn).Close", "internal/poll.(*FD).readUnlock",
              "internal/poll.(*FD).writeUnlock")
_DIAL = ("net/http.(*Transport).dialConn", "net/http.(*Transport).startDialConnFor", "net/http.(*Transport).queueForDial", "net.(*Dialer).DialContext", "net.(*Dialer).Dial", "net.Dial",
         "net.DialTimeout", "net.(*sysDialer)")
_DIAL_START = ("net/http.(*Transport).startDialConnForLocked", "net/http.(*Transport).queueForDial")
_ACCEPT_LOOP = ("net/http.(*Server).Serve", "net.(*TCPListener).Accept", "net.(*UnixListener).Accept")


class OwnershipStacks:
    """Per distinct stack (index = stack id): the ownership facts a stack shows, computed once."""

    def __init__(self, st: StackInfo) -> None:
        self.st = st

    def _any(self, pred) -> np.ndarray:
        return self.st.any_func(pred)

    @cached_property
    def via_net_rawconn(self) -> np.ndarray:
        """Inside a net `RawConn.Control/Read/Write` callback: user code holds net's descriptor."""
        return self._any(lambda fn: fn.startswith("net.(*rawConn)."))

    @cached_property
    def via_file_rawconn(self) -> np.ndarray:
        """Inside an `*os.File`'s `SyscallConn().Control` callback: the file's own descriptor."""
        return self._any(lambda fn: fn.startswith("os.(*rawConn)."))

    @cached_property
    def newfile(self) -> np.ndarray:
        return self._any(lambda fn: fn == "os.NewFile")

    @cached_property
    def net_close(self) -> np.ndarray:
        return self._any(lambda fn: fn in _NET_CLOSE)

    @cached_property
    def file_close(self) -> np.ndarray:
        return self._any(lambda fn: fn in ("os.(*File).Close", "os.(*file).close"))

    @cached_property
    def dial(self) -> np.ndarray:
        return self._any(lambda fn: fn.startswith(_DIAL))

    @cached_property
    def conn_start(self) -> np.ndarray:
        """A `go` statement that starts a new connection's goroutines (dial or accept loop)."""
        return self.accept_loop | self._any(lambda fn: fn in _DIAL_START)

    @cached_property
    def accept_loop(self) -> np.ndarray:
        return self._any(lambda fn: fn in _ACCEPT_LOOP)


@dataclass
class ConnNode:
    """One connection (`kind = "conn"`, from its serving goroutines) or one descriptor a
    syscall touched that cannot be tied to a connection (`kind = "fd"`)."""

    id: str
    kind: str = "conn"
    origin: str = "unknown"
    owner: str = "unknown"
    co_owner: str = ""
    borrowed: list[str] = field(default_factory=list)
    goroutines: list[int] = field(default_factory=list)
    reads: int = 0
    writes: int = 0
    netpoll_waits: int = 0
    never_ended_waits: int = 0
    closed_by: str = "none"
    closer_goroutine: int | None = None
    close_ns: int | None = None
    close_stack: int = 0          # stack id of the close syscall (0: none)
    closes: int = 0
    closed_again_by_owner: bool = False
    used_after_close: bool = False
    fd_reuse: bool = False
    dup_of: str = ""
    relation: str = ""

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d.pop("close_stack")
        return d


def _roots(tl: Timelines, gs: np.ndarray, own: OwnershipStacks) -> np.ndarray:
    """Root of each conn goroutine: follow creators while they are conn goroutines too, but
    not across a dial or an accept loop (a handler that dials upstream starts a new conn)."""
    if gs.shape[0] == 0:
        return gs
    gi = tl.gor_index(gs)
    creator = tl.gor_creator[gi]
    cstk = tl.gor_create_stk[gi]
    starts = own.conn_start[cstk]
    # parent index of each conn goroutine (itself when its creator is no conn goroutine),
    # then pointer jumping: after k rounds every goroutine points 2**k generations up
    j = np.minimum(np.searchsorted(gs, creator), gs.shape[0] - 1)
    parent = np.where((gs[j] == creator) & ~starts, j, np.arange(gs.shape[0]))
    for _ in range(5):  # 32 generations
        parent = parent[parent]
    return gs[parent]


class ConnectionIndex:
    """Every connection and unattributed descriptor of a trace (see the module docstring)."""

    def __init__(self, tl: Timelines, nw: A.NetWaits, sc: A.Syscalls) -> None:
        self.tl, self.nw, self.sc = tl, nw, sc
        self.own = OwnershipStacks(tl.stacks)
        self.nodes: list[ConnNode] = []
        self._by_root: dict[int, int] = {}
        self._roots = np.zeros(0, np.int64)
        self._build()

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        tl, nw, sc = self.tl, self.nw, self.sc
        st = tl.stacks
        net = A.connections(tl, nw)
        rw = (sc.fam == FAM_READ) | (sc.fam == FAM_WRITE)
        raw_rw = (sc.cls == CC_RAW_USER) & rw
        raw_g = np.setdiff1d(unique(sc.g[raw_rw]), net.goroutines)
        gs = np.concatenate((net.goroutines, raw_g))
        order = stable_argsort(gs)
        gs = gs[order]
        roots = _roots(tl, gs, self.own)
        self.conn_g, self.conn_root = gs, roots
        self._roots = unique(roots)  # node i is the connection of root self._roots[i]
        for r in self._roots.tolist():
            self._by_root[r] = len(self.nodes)
            self.nodes.append(ConnNode(id=f"conn:{r}", goroutines=[]))
        for g, r in zip(gs.tolist(), roots.tolist()):
            n = self.nodes[self._by_root[r]]
            if len(n.goroutines) < 16:
                n.goroutines.append(g)
        if not self.nodes and len(sc) == 0:
            return
        ci_sc = self._ci_sc = self._conn_of_iv(sc.iv)
        ci_nw = self._ci_nw = self._conn_of_iv(nw.iv)
        k = len(self.nodes)
        if k:
            fam, cls = sc.fam, sc.cls
            on = ci_sc >= 0
            self._counts("reads", ci_sc[on & (fam == FAM_READ)], k)
            self._counts("writes", ci_sc[on & (fam == FAM_WRITE)], k)
            onw = (ci_nw >= 0) & (nw.side != SIDE_ACCEPT)
            self._counts("netpoll_waits", ci_nw[onw], k)
            self._counts("never_ended_waits", ci_nw[onw & nw.open], k)
            net_io = np.zeros(k, bool)
            net_io[ci_sc[on & (cls == CC_NETPOLLER) & rw]] = True
            net_io[ci_nw[onw & ((nw.side == SIDE_READ) | (nw.side == SIDE_WRITE))]] = True
            net_io[self.conn_of(net.goroutines)] = True
            raw_io = np.zeros(k, bool)
            raw_io[ci_sc[on & raw_rw]] = True
            for i, n in enumerate(self.nodes):
                n.owner = "net" if net_io[i] else ("user" if raw_io[i] else "unknown")
        self._origins()
        self._borrows(ci_sc)
        self._closes(ci_sc, st)

    def _counts(self, attr: str, idx: np.ndarray, k: int) -> None:
        for i, c in enumerate(np.bincount(idx, minlength=k).tolist()):
            setattr(self.nodes[i], attr, int(c))

    def conn_of(self, g: np.ndarray) -> np.ndarray:
        """Index into `nodes` of the connection each goroutine serves (-1: none)."""
        g = np.asarray(g)
        if self.conn_g.shape[0] == 0 or g.shape[0] == 0:
            return np.full(g.shape[0], -1, np.int64)
        i = np.minimum(np.searchsorted(self.conn_g, g), self.conn_g.shape[0] - 1)
        hit = self.conn_g[i] == g
        root = self.conn_root[i]
        out = np.full(g.shape[0], -1, np.int64)
        if hit.any():
            out[hit] = np.searchsorted(self._roots, root[hit])
        return out

    def _conn_of_iv(self, iv: np.ndarray) -> np.ndarray:
        """`conn_of` the goroutines of intervals `iv`: looked up once per goroutine, then
        gathered by the intervals' goroutine index (a window holds ~400k syscalls, a few hundred
        goroutines)."""
        tl = self.tl
        if self.conn_g.shape[0] == 0 or iv.shape[0] == 0:
            return np.full(iv.shape[0], -1, np.int64)
        return self.conn_of(tl.gor_id)[tl.iv_gor[iv]]

    def _origins(self) -> None:
        tl, sc, own = self.tl, self.sc, self.own
        acc = sc.fam == FAM_ACCEPT
        raw_acc_g = set(unique(sc.g[acc & (sc.cls == CC_RAW_USER)]).tolist())
        net_acc_g = set(unique(sc.g[acc & (sc.cls == CC_NETPOLLER)]).tolist())
        net_acc_g |= set(unique(self.nw.g[self.nw.side == SIDE_ACCEPT]).tolist())
        for n in self.nodes:
            if n.kind != "conn":
                continue
            r = int(n.id.split(":")[1])
            gi = int(tl.gor_index(r))
            if not tl.gor_created[gi]:
                n.origin = "unknown"  # created before the trace started
                continue
            cstk = int(tl.gor_create_stk[gi])
            creator = int(tl.gor_creator[gi])
            if cstk and own.dial[cstk]:
                n.origin = "net.Dial"
            elif creator in raw_acc_g:
                n.origin = "raw_accept"
            elif creator in net_acc_g or (cstk and own.accept_loop[cstk]):
                n.origin = "net.Accept"

    def _borrows(self, ci_sc: np.ndarray) -> None:
        sc, own, st = self.sc, self.own, self.tl.stacks
        # one gather of per-stack bits, then each borrow kind among the few flagged syscalls
        kinds = ((own.via_net_rawconn, "RawConn"), (st.file_dup, "File()"),
                 (own.newfile & own.via_net_rawconn, "os.NewFile"), (st.set_blocking, "Fd()"))
        bits = np.zeros(st.n, np.uint8)
        for b, (mask, _what) in enumerate(kinds):
            bits[mask] |= np.uint8(1 << b)
        f = bits[sc.stk]
        idx = np.flatnonzero((ci_sc >= 0) & (f != 0))
        f, ci = f[idx], ci_sc[idx]
        for b, (_mask, what) in enumerate(kinds):
            for i in unique(ci[(f & (1 << b)) != 0]).tolist():
                n = self.nodes[i]
                if what not in n.borrowed:
                    n.borrowed.append(what)
                if what == "os.NewFile":
                    n.co_owner = "os.File"

    def _closes(self, ci_sc: np.ndarray, st: StackInfo) -> None:
        tl, sc, own = self.tl, self.sc, self.own
        close = np.nonzero(sc.fam == FAM_CLOSE)[0]
        if close.shape[0] == 0:
            return
        raw_c, fin_c = A.is_user_io_close(tl, sc)
        stk = sc.stk[close]
        raw_net = raw_c[close] & own.via_net_rawconn[stk]
        raw_file = raw_c[close] & own.via_file_rawconn[stk]
        raw_plain = raw_c[close] & ~raw_net & ~raw_file
        fin = fin_c[close] & ~raw_c[close]
        owner_net = ~raw_c[close] & ~fin & own.net_close[stk]
        owner_file = ~raw_c[close] & ~fin & ~owner_net & own.file_close[stk]
        newfile_from_net = any(n.co_owner == "os.File" for n in self.nodes)
        borrowed_live = self._borrowed_live_at(sc.start[close[fin]]) if fin.any() else False
        # the owner's close first: a later raw close marks closed_by over it
        for j in np.nonzero(owner_net)[0].tolist():
            i = int(close[j])
            c = int(ci_sc[i])
            if c >= 0:
                n = self.nodes[c]
                if n.closed_by == "raw_user":
                    if sc.start[i] > (n.close_ns or 0) + tl.t0:
                        n.closed_again_by_owner = True
                    continue
                if n.closed_by == "none":
                    self._set_close(n, "owner", i)
        for j in np.nonzero(raw_plain)[0].tolist():
            i = int(close[j])
            c = int(ci_sc[i])
            if c >= 0 and self.nodes[c].owner == "user":
                n = self.nodes[c]
                if n.closed_by == "none":
                    self._set_close(n, "owner", i)
                n.closes += 1
            else:
                self._fd_node(i, "unknown", "raw_user", fd_reuse=False,
                              relation="raw close of a descriptor the trace cannot tie to an owner")
        for j in np.nonzero(raw_net | raw_file)[0].tolist():
            i = int(close[j])
            holder = "net" if raw_net[j] else "os.File"
            c = int(ci_sc[i])
            rel = (f"raw close inside {'net' if holder == 'net' else 'an *os.File'}'s RawConn.Control: "
                   f"{holder} still holds the descriptor")
            if c >= 0 and holder == "net" and self.nodes[c].owner == "net":
                n = self.nodes[c]
                self._set_close(n, "raw_user", i)
                n.fd_reuse, n.relation = True, rel
                n.closes += 1
                self._mark_used_after(n, c, int(sc.start[i]))
            else:
                self._fd_node(i, holder, "raw_user", fd_reuse=True, relation=rel)
        if newfile_from_net:
            rel = ("finalizer closed *os.File descriptors; the trace shows *os.File made with os.NewFile "
                   "from descriptors net still holds")
        elif borrowed_live:
            rel = ("finalizer closed *os.File descriptors while net conns whose descriptors user code had "
                   "borrowed through RawConn.Control were still open (which file held which number the trace "
                   "cannot tell)")
        else:
            rel = "finalizer closed *os.File descriptors; no descriptor net holds was borrowed in the trace"
        self._aggregate_closes(close[fin], "os.File", "finalizer", fd_reuse=newfile_from_net or borrowed_live,
                               relation=rel)
        self._aggregate_closes(close[owner_file], "os.File", "owner", fd_reuse=False,
                               relation="(*os.File).Close of its own descriptor", ci_sc=ci_sc)

    def _borrowed_live_at(self, t: np.ndarray) -> bool:
        """Was a net conn whose descriptor user code borrowed (RawConn) still open -- borrowed
        before and not closed by its owner before -- at one of the times `t`?"""
        sc, own = self.sc, self.own
        b = (self._ci_sc >= 0) & own.via_net_rawconn[sc.stk]
        if not b.any():
            return False
        first: dict[int, int] = {}
        for c, s in zip(self._ci_sc[b].tolist(), sc.start[b].tolist()):
            first[c] = min(first.get(c, s), s)
        for c, s in first.items():
            n = self.nodes[c]
            if n.owner != "net":
                continue
            end = self.tl.t_end if n.close_ns is None else n.close_ns + self.tl.t0
            if ((t > s) & (t < end)).any():
                return True
        return False

    def _set_close(self, n: ConnNode, by: str, i: int) -> None:
        n.closed_by = by
        n.closer_goroutine = int(self.sc.g[i])
        n.close_ns = int(self.sc.start[i]) - self.tl.t0
        n.close_stack = int(self.sc.stk[i])

    def _mark_used_after(self, n: ConnNode, c: int, t: int) -> None:
        sc, nw = self.sc, self.nw
        io = (self._ci_sc == c) & np.isin(sc.fam, (FAM_READ, FAM_WRITE)) & (sc.start > t)
        waits = (self._ci_nw == c) & (nw.start > t)
        n.used_after_close = bool(io.any() or waits.any())

    def _fd_node(self, i: int, owner: str, by: str, fd_reuse: bool, relation: str) -> None:
        same = [n for n in self.nodes if n.kind == "fd" and n.closed_by == by and n.owner == owner]
        if len(same) >= MAX_CLOSE_NODES:
            same[-1].closes += 1
            return
        n = ConnNode(id=f"fd:{int(self.sc.g[i])}@{int(self.sc.start[i]) - self.tl.t0}", kind="fd", owner=owner,
                     fd_reuse=fd_reuse, relation=relation, closes=1)
        self._set_close(n, by, i)
        self.nodes.append(n)

    def _aggregate_closes(self, idx: np.ndarray, owner: str, by: str, fd_reuse: bool, relation: str,
                          ci_sc: np.ndarray | None = None) -> None:
        """One descriptor node per closing goroutine (finalizer closes, os.File closes)."""
        sc = self.sc
        if idx.shape[0] == 0:
            return
        for g in unique(sc.g[idx]).tolist():
            sel = idx[sc.g[idx] == g]
            first = int(sel[np.argmin(sc.start[sel])])
            n = ConnNode(id=f"fd:{by}:{owner}:{g}", kind="fd", owner=owner, fd_reuse=fd_reuse, relation=relation,
                         closes=int(sel.shape[0]))
            self._set_close(n, by, first)
            if ci_sc is not None and ci_sc[first] >= 0:
                parent = self.nodes[int(ci_sc[first])]
                if "File()" in parent.borrowed:
                    n.origin, n.dup_of = "File()", parent.id
            self.nodes.append(n)

    # ------------------------------------------------------------------ queries
    def fd_reuse_nodes(self) -> list[ConnNode]:
        return [n for n in self.nodes if n.fd_reuse]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [n.as_dict() for n in self.nodes]
