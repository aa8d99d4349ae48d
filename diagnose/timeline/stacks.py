"""Per-stack classification: computed once per distinct stack, then indexed by stack id.

A trace has thousands of distinct stacks and millions of events, so every question about a
stack ("is this the netpoller?", "which syscall?", "who called it?") is answered here once per
stack, into arrays that the vectorised analyses index with their stack-id columns.
"""
from __future__ import annotations

from collections.abc import Callable, Container
from functools import cached_property, lru_cache

import numpy as np

from .columns import TraceColumns

# Caller classes of a syscall (SyscallSite.caller_class)
CALLER_CLASSES = ("other", "netpoller", "raw_user", "cgo", "os_file", "runtime")
CC_OTHER, CC_NETPOLLER, CC_RAW_USER, CC_CGO, CC_OS_FILE, CC_RUNTIME = range(6)

# Network wait sides (WaitSite.side)
SIDES = ("other", "read", "write", "accept")
SIDE_OTHER, SIDE_READ, SIDE_WRITE, SIDE_ACCEPT = range(4)

# Syscall families
FAMILIES = ("other", "read", "write", "accept", "close", "fcntl", "dup", "poll", "connect", "socket")
(FAM_OTHER, FAM_READ, FAM_WRITE, FAM_ACCEPT, FAM_CLOSE, FAM_FCNTL, FAM_DUP, FAM_POLL, FAM_CONNECT,
 FAM_SOCKET) = range(10)
_FAMILY_OF = {
    "read": FAM_READ, "pread": FAM_READ, "pread64": FAM_READ, "readv": FAM_READ, "preadv": FAM_READ,
    "recvfrom": FAM_READ, "recvmsg": FAM_READ, "recvmmsg": FAM_READ,
    "write": FAM_WRITE, "pwrite": FAM_WRITE, "pwrite64": FAM_WRITE, "writev": FAM_WRITE, "pwritev": FAM_WRITE,
    "sendto": FAM_WRITE, "sendmsg": FAM_WRITE, "sendmmsg": FAM_WRITE, "sendfile": FAM_WRITE,
    "splice": FAM_WRITE,
    "accept": FAM_ACCEPT, "accept4": FAM_ACCEPT,
    "close": FAM_CLOSE,
    "fcntl": FAM_FCNTL, "fcntl64": FAM_FCNTL, "setnonblock": FAM_FCNTL,
    "dup": FAM_DUP, "dup2": FAM_DUP, "dup3": FAM_DUP,
    "epollwait": FAM_POLL, "epoll_wait": FAM_POLL, "epollpwait": FAM_POLL, "poll": FAM_POLL, "ppoll": FAM_POLL,
    "select": FAM_POLL,
    "connect": FAM_CONNECT, "socket": FAM_SOCKET,
}

#: generic syscall trampolines: the "call" is the first frame above them.
_TRAMPOLINES = {
    "Syscall", "Syscall6", "Syscall9", "RawSyscall", "RawSyscall6", "rawSyscallNoError", "RawSyscallNoError",
    "rawVforkSyscall", "syscall", "syscall6", "Syscall6X", "runtime_doAllThreadsSyscall", "AllThreadsSyscall",
    "AllThreadsSyscall6", "runtime_entersyscall", "runtime_exitsyscall", "syscall_syscall", "syscall_syscall6",
    "syscall_rawSyscall", "syscall_rawSyscall6", "errnoErr",
}
SYSCALL_PKGS = {"syscall", "golang.org/x/sys/unix", "internal/syscall/unix", "internal/runtime/syscall",
                 "runtime/internal/syscall", "internal/runtime/syscall/linux", "internal/syscall/windows"}
_RUNTIME_PKGS = {"runtime", "internal/runtime/syscall", "runtime/internal/syscall",
                 "internal/runtime/syscall/linux", "runtime/cgo"}
_FINALIZER_FUNCS = {"runtime.runfinq", "runtime.runFinalizers", "runtime.runFinalizersAndCleanups",
                    "runtime.runCleanups"}
_NETPOLL_WAIT_FUNCS = {"runtime.netpollblock", "internal/poll.runtime_pollWait", "internal/poll.(*pollDesc).wait",
                       "internal/poll.(*pollDesc).waitRead", "internal/poll.(*pollDesc).waitWrite"}
_FILE_DUP_FUNCS = {"net.(*conn).File", "net.(*netFD).dup", "net.(*TCPConn).File", "net.(*UnixConn).File",
                   "net.(*UDPConn).File", "net.(*TCPListener).File", "net.(*UnixListener).File",
                   "internal/poll.DupCloseOnExec", "internal/poll.(*FD).Dup", "net.dupSocket"}
_SET_BLOCKING_FUNCS = {"os.(*File).Fd", "internal/poll.(*FD).SetBlocking"}
#: os.StartProcess (os/exec) calls Fd() on the files it hands a child (stdin/stdout/stderr and
#: ExtraFiles), which switches them to blocking mode: for a pipe that is no connection switched to
#: blocking (issue 12, execlog: a child's stdout pipe end gave a wrong tls_fd_bypass warning).
#: Those stacks are kept apart (`set_blocking_for_child`), because a socket can be among them: a
#: listener's File() passed in ExtraFiles (a graceful-restart hand-off) shares its open file
#: description with the parent's descriptor, which then blocks too. features/compute.py counts
#: them only when the window shows a socket being duplicated (`file_dup`).
_CHILD_FD_CALLERS = {"os.startProcess"}
#: frames between the blocking switch and its caller: Go >= 1.25's Fd() calls fd(), which switches
_SET_BLOCKING_PASS = _SET_BLOCKING_FUNCS | {"os.(*File).fd"}


#: functions whose answers are cached by function name: a window's stacks repeat a few thousand
#: names in hundreds of thousands of frames (bounded, for the long-running bot)
_NAME_CACHE = 1 << 16


@lru_cache(maxsize=_NAME_CACHE)
def pkg_of(func: str) -> str:
    """Package path of a Go function symbol: 'net/http.(*conn).serve' -> 'net/http'."""
    slash = func.rfind("/")
    dot = func.find(".", slash + 1)
    return func[:dot] if dot >= 0 else func


#: top-level packages of Go's standard library. A package is the standard library when its first
#: path element is one of these: "no dot in the first element" is not enough, since module paths
#: without a dot (`corp/payments`, a fixture's `netpollfixtures`) are common for internal code.
STD_ROOTS = frozenset("""archive bufio builtin bytes cmp compress container context crypto database debug embed
encoding errors expvar flag fmt go hash html image index internal io iter log maps math mime net os path plugin
reflect regexp runtime slices sort strconv strings structs sync syscall testing text time unicode unique unsafe
vendor weak""".split())


@lru_cache(maxsize=_NAME_CACHE)
def is_stdlib_pkg(pkg: str) -> bool:
    """Go's standard library (and std's vendored packages): the first path element is a std root."""
    if pkg in ("main", "command-line-arguments", ""):
        return False
    return pkg.split("/", 1)[0] in STD_ROOTS


@lru_cache(maxsize=_NAME_CACHE)
def is_user_func(func: str) -> bool:
    return not is_stdlib_pkg(pkg_of(func))


@lru_cache(maxsize=_NAME_CACHE)
def _short_name(func: str) -> str:
    pkg = pkg_of(func)
    return func[len(pkg) + 1:] if len(func) > len(pkg) else func


def _wait_side_code(fn: str) -> int:
    """A function's part in `StackInfo._wait_side`: -1 when it dials (the wait is no network
    read/write/accept), the side an internal/poll function names, else 0."""
    if fn.startswith("net.(*netFD).connect") or fn.startswith("net.(*sysDialer)"):
        return -1
    if pkg_of(fn) != "internal/poll":
        return SIDE_OTHER
    name = _short_name(fn)
    if "Accept" in name:
        return SIDE_ACCEPT
    if "Write" in name or "Send" in name or "Sendfile" in name or "Splice" in name:
        return SIDE_WRITE
    if "Read" in name or "Recv" in name:
        return SIDE_READ
    return SIDE_OTHER


def _outside_net_io(fn: str) -> bool:
    """`StackInfo._wait_site`'s second choice: a function outside runtime, poll, net, syscall
    and the I/O wrappers."""
    p = pkg_of(fn)
    return p not in ("runtime", "internal/poll", "net", "syscall", "crypto/tls", "bufio", "io") \
        and not p.startswith("internal/")


# a function's flags for `StackInfo._classify_syscall`: in the runtime or syscall packages; a
# syscall-package function that is no trampoline (the call); a possible site (outside those
# packages and internal/poll's EINTR retry); a cgo frame; internal/poll
_F_INSIDE, _F_CALL, _F_SITE, _F_CGO, _F_POLL = 1, 2, 4, 8, 16


def _syscall_flags(fn: str) -> int:
    p = pkg_of(fn)
    inside = p in _RUNTIME_PKGS or p in SYSCALL_PKGS
    flags = _F_INSIDE if inside else 0
    if p in SYSCALL_PKGS and _short_name(fn) not in _TRAMPOLINES:
        flags |= _F_CALL
    if not inside and not (p == "internal/poll" and _short_name(fn).startswith("ignoringEINTR")):
        flags |= _F_SITE
    if fn == "runtime.cgocall" or fn.startswith("_cgo") or "._Cfunc_" in fn:
        flags |= _F_CGO
    if p == "internal/poll":
        flags |= _F_POLL
    return flags


def _family_of(call: str) -> int:
    return _FAMILY_OF.get(_short_name(call).lower(), FAM_OTHER)


class StackInfo:
    """Lazily computed per-stack arrays (index = stack id; id 0 = no stack)."""

    def __init__(self, cols: TraceColumns) -> None:
        self.cols = cols
        self.n = max(cols.n_stacks, 1)
        self._funcs: list[list[str]] | None = None
        self._frames: dict[tuple[int, int], list[tuple[str, str, int]]] = {}

    @property
    def funcs(self) -> list[list[str]]:
        if self._funcs is None:
            c = self.cols
            s = c.strings
            fnames = [s[i] for i in c.frame_func.tolist()]
            fr = c.stack_frames.tolist()
            off = c.stack_off.tolist()
            self._funcs = [[fnames[f] for f in fr[off[i]:off[i + 1]]] for i in range(len(off) - 1)]
        return self._funcs

    # -------------------------------------------------- per frame slot, per distinct name
    # The questions below are asked of every stack (a busyalloc window has ~3,000, most of them
    # CPU samples, ~30 frames deep): each predicate is asked once per distinct function name
    # (`name_lut`) and the per-stack answer is a numpy reduction over the frame slots (`first`,
    # `any_slot`). The per-stack Python functions they replace stay as their reference
    # (`_wait_side`, `_wait_site`, `_classify_syscall`, `_calls_in`; tests/test_stacks_vector.py).
    @cached_property
    def _table(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(string table, the function's string id of every frame of every stack, stack offsets):
        the columns' (stacks in id order, each leaf first: stack i's are slots off[i]:off[i+1]);
        for a StackInfo given function names alone (`_funcs`, no columns), made from those."""
        c = getattr(self, "cols", None)
        if c is not None:
            return c.strings, c.frame_func[c.stack_frames], c.stack_off
        ids: dict[str, int] = {"": 0}
        slots = [ids.setdefault(fn, len(ids)) for f in self._funcs for fn in f]
        off = np.cumsum([0] + [len(f) for f in self._funcs], dtype=np.int64)
        return list(ids), np.array(slots, dtype=np.int64), off

    @property
    def slot_names(self) -> np.ndarray:
        """The function's string id of every frame of every stack (`_table`)."""
        return self._table[1]

    @property
    def _strings(self) -> list[str]:
        return self._table[0]

    @property
    def _stack_off(self) -> np.ndarray:
        return self._table[2]

    @cached_property
    def _slot_stack(self) -> np.ndarray:
        """The stack id of every frame slot."""
        off = self._stack_off
        return np.repeat(np.arange(off.shape[0] - 1, dtype=np.int64), np.diff(off))

    @cached_property
    def _distinct_names(self) -> list[int]:
        """The string ids of the functions in the stacks, ascending (counted over the string
        table instead of sorted: ~100 k frame slots, a few thousand names)."""
        ff = self.slot_names
        if ff.shape[0] == 0:
            return []
        return np.flatnonzero(np.bincount(ff, minlength=len(self._strings))).tolist()

    def name_lut(self, pred: Callable[[str], object], dtype=bool) -> np.ndarray:
        """`pred(name)` per string id (of `dtype`), asked once per distinct function name in the
        stacks; other ids hold 0."""
        strings = self._strings
        lut = np.zeros(len(strings), dtype=dtype)
        ids = self._distinct_names
        if ids:
            lut[ids] = [pred(strings[i]) for i in ids]
        return lut

    def first(self, hit: np.ndarray) -> np.ndarray:
        """Per stack: the slot of its first frame (leaf first) where `hit` (one bool per slot),
        -1 when none."""
        out = np.full(self._stack_off.shape[0] - 1, -1, dtype=np.int64)
        idx = np.flatnonzero(hit)
        if idx.shape[0]:
            st = self._slot_stack[idx]
            head = np.concatenate(([True], st[1:] != st[:-1]))
            out[st[head]] = idx[head]
        return out

    def any_slot(self, hit: np.ndarray) -> np.ndarray:
        """Per stack: is `hit` (one bool per slot) true of one of its frames?"""
        off = self._stack_off
        cum = np.concatenate(([0], np.cumsum(hit, dtype=np.int64)))
        return cum[off[1:]] > cum[off[:-1]]

    def any_func(self, pred: Callable[[str], bool], first: int | None = None) -> np.ndarray:
        """Per stack: does one of its frames' functions (of its `first` frames, leaf first)
        satisfy `pred`? `pred` is asked once per distinct function name, not once per frame."""
        off = self._stack_off
        ff = self.slot_names
        hit = self.name_lut(lambda name: bool(pred(name)))[ff]
        if first is not None:
            hit &= (np.arange(ff.shape[0]) - off[:-1][self._slot_stack]) < first
        return self.any_slot(hit)

    def _names_at(self, slot: np.ndarray, empty: str) -> list[str]:
        """The function name at each stack's `slot` (-1: `empty`)."""
        s = self._strings
        ids = np.where(slot >= 0, self.slot_names[np.maximum(slot, 0)] if self.slot_names.shape[0] else 0, -1)
        return [s[i] if i >= 0 else empty for i in ids.tolist()]

    # ----------------------------------------------------------------- generic
    @cached_property
    def root_func(self) -> list[str]:
        """Each stack's outermost function ("" for the empty stack)."""
        off = self._stack_off
        return self._names_at(np.where(off[1:] > off[:-1], off[1:] - 1, -1), "")

    @cached_property
    def is_finalizer(self) -> np.ndarray:
        return self.any_func(_FINALIZER_FUNCS.__contains__)

    @cached_property
    def is_netpoll_wait(self) -> np.ndarray:
        """The stack of a goroutine parked in the netpoller (status stacks from Go 1.24)."""
        return self.any_func(_NETPOLL_WAIT_FUNCS.__contains__, first=8)

    # ----------------------------------------------------------------- network waits
    def _wait_side(self, f: list[str]) -> int:
        side = SIDE_OTHER
        for fn in f:
            if fn.startswith("net.(*netFD).connect") or fn.startswith("net.(*sysDialer)"):
                return SIDE_OTHER
            if pkg_of(fn) == "internal/poll" and side == SIDE_OTHER:
                name = _short_name(fn)
                if "Accept" in name:
                    side = SIDE_ACCEPT
                elif "Write" in name or "Send" in name or "Sendfile" in name or "Splice" in name:
                    side = SIDE_WRITE
                elif "Read" in name or "Recv" in name:
                    side = SIDE_READ
        return side

    @cached_property
    def wait_side(self) -> np.ndarray:
        """`_wait_side` of every stack: OTHER when a frame dials, else the side of its first
        internal/poll frame that names one."""
        code = self.name_lut(_wait_side_code, np.int8)[self.slot_names]
        first = self.first(code > 0)
        side = np.where(first >= 0, code[np.maximum(first, 0)] if code.shape[0] else 0, SIDE_OTHER).astype(np.int8)
        side[self.any_slot(code < 0)] = SIDE_OTHER
        return side

    def _wait_site(self, f: list[str]) -> str:
        """Top user frame of a blocking stack; else the first frame outside runtime/poll/net."""
        for fn in f:
            if is_user_func(fn):
                return fn
        for fn in f:
            p = pkg_of(fn)
            if p not in ("runtime", "internal/poll", "net", "syscall", "crypto/tls", "bufio", "io") \
                    and not p.startswith("internal/"):
                return fn
        return f[0] if f else "<no stack>"

    @cached_property
    def wait_site(self) -> list[str]:
        """`_wait_site` of every stack."""
        ff = self.slot_names
        slot = self.first(self.name_lut(is_user_func)[ff])
        other = self.first(self.name_lut(_outside_net_io)[ff])
        slot = np.where(slot >= 0, slot, other)
        off = self._stack_off
        slot = np.where((slot < 0) & (off[1:] > off[:-1]), off[:-1], slot)  # else the leaf frame
        return self._names_at(slot, "<no stack>")

    @cached_property
    def wait_site_id(self) -> tuple[np.ndarray, list[str]]:
        """(site id per stack, site names): to group waits by site with numpy."""
        names: dict[str, int] = {}
        ids = np.array([names.setdefault(x, len(names)) for x in self.wait_site], dtype=np.int64)
        return ids, list(names)

    # ----------------------------------------------------------------- syscalls
    def _classify_syscall(self, f: list[str]) -> tuple[str, str, int, int]:
        """(call, site, caller_class, family) of a syscall stack (leaf first)."""
        if not f:
            return "", "<no stack>", CC_OTHER, FAM_OTHER
        call = ""
        call_i = -1
        for i, fn in enumerate(f):
            p = pkg_of(fn)
            if p in SYSCALL_PKGS and _short_name(fn) not in _TRAMPOLINES:
                call, call_i = fn, i
                break
            if p not in _RUNTIME_PKGS and p not in SYSCALL_PKGS:
                break
        site = ""
        site_i = -1
        for i, fn in enumerate(f):
            p = pkg_of(fn)
            if p in _RUNTIME_PKGS or p in SYSCALL_PKGS:
                continue
            if p == "internal/poll" and _short_name(fn).startswith("ignoringEINTR"):
                continue
            site, site_i = fn, i
            break
        if not call:
            call = f[call_i] if call_i >= 0 else (site or f[0])
        if not site:
            site = call or f[0]
        fam = _FAMILY_OF.get(_short_name(call).lower(), FAM_OTHER) if call else FAM_OTHER
        if "runtime.cgocall" in f or any(fn.startswith("_cgo") or "._Cfunc_" in fn for fn in f):
            cc = CC_CGO
        elif site_i >= 0 and is_user_func(site):
            # user code calling the syscall package itself -- even inside a
            # RawConn.Control/Read/Write callback (internal/poll further up the stack)
            cc = CC_RAW_USER
        elif any(pkg_of(fn) == "internal/poll" for fn in f):
            cc = CC_NETPOLLER
        elif site_i >= 0 and pkg_of(site) == "os":
            cc = CC_OS_FILE
        elif site_i < 0:
            cc = CC_RUNTIME
        else:
            cc = CC_OTHER
        return call, site, cc, fam

    @cached_property
    def _syscall_table(self) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
        """`_classify_syscall` of every stack, from per-name flags (`_syscall_flags`)."""
        s = self._strings
        ff = self.slot_names
        fl = self.name_lut(_syscall_flags, np.uint8)[ff]
        off = self._stack_off
        nst = off.shape[0] - 1
        some = off[1:] > off[:-1]
        at = ff if ff.shape[0] else np.zeros(1, ff.dtype)  # gathers below are masked where no slot

        def name_id(slot: np.ndarray) -> np.ndarray:
            return np.where(slot >= 0, at[np.maximum(slot, 0)], -1)

        first_out = self.first((fl & _F_INSIDE) == 0)  # the call is looked for before this frame
        first_call = self.first((fl & _F_CALL) != 0)
        call_ok = (first_call >= 0) & ((first_out < 0) | (first_call < first_out))
        site_slot = self.first((fl & _F_SITE) != 0)
        blank = self.name_lut(lambda name: not name)  # "" is no call and no site
        leaf = np.where(some, at[np.minimum(off[:-1], max(ff.shape[0] - 1, 0))], 0)
        site = name_id(site_slot)
        site_named = (site >= 0) & ~blank[np.maximum(site, 0)]
        call = np.where(call_ok, name_id(first_call), np.where(site_named, site, leaf))
        call_named = ~blank[call]
        site = np.where(site_named, site, np.where(call_named, call, leaf))
        fam = np.where(call_named, self.name_lut(_family_of, np.int8)[call], FAM_OTHER).astype(np.int8)
        has = site_slot >= 0
        cc = np.full(nst, CC_OTHER, dtype=np.int8)
        cc[~has] = CC_RUNTIME
        cc[has & self.name_lut(lambda name: pkg_of(name) == "os")[site]] = CC_OS_FILE
        cc[self.any_slot((fl & _F_POLL) != 0)] = CC_NETPOLLER
        cc[has & self.name_lut(is_user_func)[site]] = CC_RAW_USER
        cc[self.any_slot((fl & _F_CGO) != 0)] = CC_CGO
        cc[~some], fam[~some] = CC_OTHER, FAM_OTHER
        calls = [s[i] for i in call.tolist()]
        sites = [s[i] for i in site.tolist()]
        for i in np.flatnonzero(~some).tolist():
            calls[i], sites[i] = "", "<no stack>"
        return calls, sites, cc, fam

    @property
    def sys_call(self) -> list[str]:
        return self._syscall_table[0]

    @property
    def sys_site(self) -> list[str]:
        return self._syscall_table[1]

    @property
    def sys_class(self) -> np.ndarray:
        return self._syscall_table[2]

    @property
    def sys_family(self) -> np.ndarray:
        return self._syscall_table[3]

    @cached_property
    def set_blocking(self) -> np.ndarray:
        return self._calls(_SET_BLOCKING_FUNCS, ("SetNonblock",)) & ~self.set_blocking_for_child

    @cached_property
    def set_blocking_for_child(self) -> np.ndarray:
        """Stacks where os.StartProcess switched a file it hands a child to blocking (see
        `_CHILD_FD_CALLERS`): the caller of the first blocking switch (leaf first), past the
        frames of the switch itself, is one (`_child_fd_in` of every stack)."""
        out = np.zeros(self.n, dtype=bool)
        ff = self.slot_names
        if ff.shape[0] == 0:
            return out
        st = self._slot_stack
        switch = self.first(self.name_lut(_SET_BLOCKING_FUNCS.__contains__)[ff])
        past = ~self.name_lut(_SET_BLOCKING_PASS.__contains__)[ff] & (np.arange(ff.shape[0]) > switch[st])
        caller = self.first(past & (switch[st] >= 0))
        found = (caller >= 0) & self.name_lut(_CHILD_FD_CALLERS.__contains__)[ff[np.maximum(caller, 0)]]
        out[:found.shape[0]] = found
        return out

    @staticmethod
    def _child_fd_in(f: list[str]) -> bool:
        """`set_blocking_for_child` of one stack (leaf first), frame by frame: the reference."""
        for j, fn in enumerate(f):
            if fn in _SET_BLOCKING_FUNCS:
                k = j + 1  # the caller of the outermost frame of the switch
                while k < len(f) and f[k] in _SET_BLOCKING_PASS:
                    k += 1
                return k < len(f) and f[k] in _CHILD_FD_CALLERS
        return False

    @cached_property
    def file_dup(self) -> np.ndarray:
        return self._calls(_FILE_DUP_FUNCS, ("Dup", "Dup2", "Dup3"))

    def _calls(self, funcs: Container[str], user_syscalls: tuple[str, ...]) -> np.ndarray:
        """Per stack: does it hold one of `funcs`, or a syscall-package function named in
        `user_syscalls` called directly from user code (the program's own raw call)? (`_calls_in`
        of every stack.)"""
        out = np.zeros(self.n, dtype=bool)
        ff = self.slot_names
        st = self._slot_stack
        hit = self.name_lut(funcs.__contains__)[ff]
        raw = self.name_lut(lambda fn: _short_name(fn) in user_syscalls and pkg_of(fn) in SYSCALL_PKGS)[ff]
        user = self.name_lut(lambda fn: bool(fn) and is_user_func(fn))[ff]
        hit[:-1] |= raw[:-1] & user[1:] & (st[1:] == st[:-1])  # its caller: the next frame up
        found = self.any_slot(hit)
        out[:found.shape[0]] = found
        return out

    @staticmethod
    def _calls_in(f: list[str], funcs: Container[str], user_syscalls: tuple[str, ...]) -> bool:
        """`_calls` of one stack (leaf first), frame by frame: the reference."""
        for j, fn in enumerate(f):
            if fn in funcs:
                return True
            if _short_name(fn) in user_syscalls and pkg_of(fn) in SYSCALL_PKGS:
                caller = f[j + 1] if j + 1 < len(f) else ""
                if caller and is_user_func(caller):
                    return True
        return False

    @cached_property
    def net_conn_io(self) -> np.ndarray:
        """Reads/writes on a net connection (stdlib `net` conn path), for connection inference."""
        keys = ("net.(*conn).Read", "net.(*conn).Write", "net.(*netFD).Read", "net.(*netFD).Write",
                "net.(*netFD).connect", "net.(*netFD).writeBuffers", "net.(*conn).ReadFrom",
                "net.(*TCPConn).ReadFrom", "net.(*TCPConn).WriteTo", "net.(*netFD).readMsg",
                "net.(*netFD).writeMsg")
        return self.any_func(keys.__contains__)

    def frames(self, sid: int, limit: int = 12) -> list[tuple[str, str, int]]:
        """(func, file, line) of stack `sid`, leaf first, at most `limit`: resolved once per
        (stack, limit) -- every chain step and evidence item cites a stack, the same few over
        and over. The list is shared: callers copy it before changing it."""
        key = (int(sid), int(limit))
        got = self._frames.get(key)
        if got is None:
            got = self._frames[key] = [(fn, fl, ln) for fn, fl, ln, _ in self.cols.stack(key[0])[:limit]]
        return got
