"""The features model: everything a rule may test, with units in the names.

This is the contract between the features stage (which computes it from timelines and the
causal graph) and the rules stage (whose CEL conditions read it as `f.<section>.<field>`).
Every feature that flags something carries `evidence`: goroutine ids, time windows and
stacks a report can cite. Times are nanoseconds since the first event of the trace unless a
field name says otherwise; durations carry their unit in the name (`_ms`, `_ns`).

Fields are added, never renamed or removed, without bumping FEATURES_SCHEMA_VERSION:
user rule files depend on these names.
"""
from __future__ import annotations

from pydantic import BaseModel, Field

FEATURES_SCHEMA_VERSION = 1


class Frame(BaseModel):
    """One resolved stack frame."""

    func: str
    file: str = ""
    line: int = 0
    ours: bool = Field(False, description="in a finding's evidence: the frame is your code (f.our_code)")

    def short(self) -> str:
        base = self.file.rsplit("/", 1)[-1]
        return f"{self.func} {base}:{self.line}" if base else self.func


class ChainStep(BaseModel):
    """One step of a blocking chain (diagnose/graph/chains.py): a goroutine, a window of its
    own transitions (ns since the trace start: `go tool trace -d=parsed` shows them at Time =
    trace start + start_ns), the relation to the step before, a detail line, its stack."""

    goroutine: int | None = Field(None, description="None for the netpoller, a timer, the runtime")
    start_ns: int
    end_ns: int
    relation: str = Field(description="waited, woke, runnable, held-P, syscall, raw-close, finalizer-close, "
                          "owner-still-uses, borrowed, next-accept")
    detail: str = ""
    stack: list[Frame] = Field(default_factory=list)


class Evidence(BaseModel):
    """What a finding can cite: who, when, where, and a one-line explanation."""

    note: str = Field(description="one line: what this piece of evidence shows")
    goroutines: list[int] = Field(default_factory=list)
    start_ns: int | None = None
    end_ns: int | None = None
    duration_ms: float | None = None
    stack: list[Frame] = Field(default_factory=list, description="leaf first, trimmed to the frames that matter")
    chain: list[ChainStep] = Field(default_factory=list, description="added: the blocking chain behind this item")


class Distribution(BaseModel):
    """Summary of a set of durations (milliseconds)."""

    count: int = 0
    total_ms: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0


class TraceWindow(BaseModel):
    """One analysis window of a trace diagnosed in windows of whole generations."""

    start_ms: float = Field(description="from the start of the trace")
    end_ms: float
    bytes: int = Field(description="trace bytes of its generations")
    causes: list[str] = Field(default_factory=list, description="causes found in it (any severity)")


class TraceInfo(BaseModel):
    """Facts about the trace itself, so rules can scope by version and window."""

    path: str = ""
    go_version: str = Field("", description="trace header version, e.g. 'go 1.26'")
    format_minor: int = Field(0, description="minor of the header: 11..26")
    duration_ms: float = 0.0
    event_count: int = 0
    goroutine_count: int = 0
    thread_count: int = 0
    gomaxprocs_min: int = 0
    gomaxprocs_max: int = 0
    truncated: bool = False
    lost_bytes: int = 0
    incomplete: list[str] = Field(default_factory=list, description="why the trace cannot support a diagnosis "
                                  "(no complete generation, stacks lost); empty when it can")
    windows: list[TraceWindow] = Field(default_factory=list, description="when the trace was too big to analyse at "
                                       "once (NETPOLL_DIAGNOSE_WINDOW_MB): the windows of whole generations it was "
                                       "diagnosed in, findings merged; empty when analysed whole")

    @property
    def format_label(self) -> str:
        """How reports name the header: it is the trace *format*, which Go bumps only when the
        format changes (Go 1.27 writes "go 1.26 trace"), not the Go version that wrote it."""
        return f"{self.go_version} trace format" if self.go_version else ""


class WaitSite(BaseModel):
    """Network waits that started at one call site (top user frame of the blocking stack)."""

    site: str
    side: str = Field(description="'read', 'write', 'accept' or 'other', from the stack")
    waits: Distribution = Field(default_factory=Distribution)
    goroutines: int = 0


class NetworkFeatures(BaseModel):
    """Waits in the netpoller (GoBlock/Waiting with reason 'network')."""

    waits: Distribution = Field(default_factory=Distribution, description="waits that ended in the window")
    read_waits: Distribution = Field(default_factory=Distribution)
    write_waits: Distribution = Field(default_factory=Distribution, description="backpressure: waits for writability")
    accept_waits: Distribution = Field(default_factory=Distribution)
    write_wait_share: float = Field(0.0, description="write-side wait time / all network wait time, 0..1")
    by_site: list[WaitSite] = Field(default_factory=list)
    never_ended_count: int = Field(0, description="waits that began in the window and never ended by its close")
    never_ended_after_close_count: int = Field(
        0, description="never-ended waits on goroutines whose connection had its fd closed underneath it"
    )
    parked_whole_window_count: int = Field(
        0, description="goroutines in a network wait for the whole window (visible from Go 1.24's status stacks)"
    )
    write_blocked_max_share: float = Field(
        0.0, description="largest share of the window one goroutine spent blocked writing to a socket, counting "
                         "write waits still open at the end and begun before the start (features/backpressure.py)")
    write_blocked_goroutines: int = Field(0, description="goroutines blocked writing for >= 25% of the window")
    write_blocked_ms: float = Field(0.0, description="write-blocked time of all goroutines in the window, ms")
    waits_per_s: float = 0.0
    evidence: list[Evidence] = Field(default_factory=list)


class GroupDemand(BaseModel):
    """One goroutine group (start location) and its use of the Ps."""

    group: str
    goroutines: int = 0
    p_share: float = Field(0.0, description="running time / (GOMAXPROCS x window), 0..1")
    held_share: float = Field(0.0, description="share of the post-wake-up runnable time it held a P, 0..1")
    longest_run_ms: float = Field(0.0, description="its longest run without blocking")
    runs: int = 0


class PDemand(BaseModel):
    """Demand on the Ps while woken goroutines waited for one (graph: held-P windows)."""

    runnable_mean: float = Field(0.0, description="goroutines runnable on average")
    runnable_per_p: float = Field(0.0, description="runnable_mean / GOMAXPROCS")
    hog_share: float = Field(0.0, description="share of the held time taken by hogs (runs >= 10 ms), 0..1")
    burst_share: float = Field(0.0, description="... by user goroutines in short runs (< 10 ms), 0..1")
    runtime_share: float = Field(0.0, description="... by runtime goroutines (GC workers, sweeper), 0..1")
    source: str = Field("none", description="'hog', 'bursts', 'runtime' or 'none': who took most of it")
    groups: list[GroupDemand] = Field(default_factory=list, description="top groups by running time")
    preempted_waits: int = Field(0, description="added: runnable windows entered from Running (preemption, Gosched) "
                                 "that end in Running: goroutines that did not block, waiting to run again")
    preempted_wait_ms: float = Field(0.0, description="added: ... their summed length, ms")
    preempted_user_share: float = Field(
        0.0, description="added: share of the time user goroutines (hogs or short bursts, not runtime goroutines) "
        "held the Ps while preempted goroutines waited, 0..1")
    top_holder_share: float = Field(
        0.0, description="added: share of the held time (others running while woken goroutines waited for a P) "
        "taken by the single goroutine that held the most, 0..1; a goroutine runs on one P at a time, so with "
        "GOMAXPROCS >= 2 a share near 1 means the other Ps were not taken while the goroutines waited")


class TimerWakes(BaseModel):
    """Timer wake-ups delayed because every P was busy (features/timers.py): a timer-paced
    goroutine is woken only when a P reaches its timers, so this lateness is no runnable wait."""

    count: int = Field(0, description="timer wake-ups of user goroutines: Waiting intervals with reason 'sleep', "
                       "'select' or 'chan receive' ended by no goroutine")
    late: int = Field(0, description="... those that came after >= 1 ms during which every P ran goroutines without "
                      "a break (the timer expired in that stretch, or before)")
    late_share: float = Field(0.0, description="late / count, 0..1")
    late_ms: Distribution = Field(default_factory=Distribution,
                                  description="the all-busy stretch before each late wake-up: a bound on its lateness")
    late_ms_per_s: float = Field(0.0, description="late_ms.total_ms per second of the window")
    user_share: float = Field(0.0, description="share of those stretches that user goroutines (not runtime "
                              "goroutines such as GC workers) held the Ps, 0..1")
    evidence: list[Evidence] = Field(default_factory=list)


class SchedulingFeatures(BaseModel):
    """Who waited for a P after being woken, and what held the Ps meanwhile."""

    wake_to_run_after_network: Distribution = Field(
        default_factory=Distribution, description="delay from a network wake-up to running"
    )
    wake_to_run_all: Distribution = Field(default_factory=Distribution, description="every runnable->running delay")
    share_behind_cpu_bound: float = Field(
        0.0, description="share of post-network wake-to-run delay during which the Ps ran CPU-bound goroutines, 0..1 "
        "(CPU-bound here: a hog, whose >= 10 ms runs add up to >= 10% of its time in the trace)"
    )
    wake_to_run_after_wakeup: Distribution = Field(
        default_factory=Distribution,
        description="added: delay from any wake-up (Waiting->Runnable: network, timer/sleep, channel...) to running; "
        "excludes preemption and new goroutines",
    )
    share_behind_cpu_bound_after_wakeup: float = Field(
        0.0, description="added: share of all post-wake-up runnable time during which a CPU-bound goroutine ran, 0..1"
    )
    p_busy_fraction: float = Field(0.0, description="mean fraction of GOMAXPROCS Ps running a goroutine, 0..1")
    gomaxprocs: list[tuple[int, int]] = Field(default_factory=list, description="(time_ns, value) changes")
    cpu_bound_goroutines: int = Field(
        0, description="goroutines that ran >= 10 ms without blocking (preemptions do not end a run; runtime "
        "goroutines such as GC workers are not counted)"
    )
    longest_run_ms: float = 0.0
    p_demand: PDemand = Field(default_factory=PDemand, description="added: who held the Ps (graph)")
    timer_wakes: TimerWakes = Field(default_factory=TimerWakes,
                                    description="added: timer wake-ups delayed because every P was busy")
    quiet_cpu_share: float = Field(
        0.0, description="added: share of the P capacity (integral of GOMAXPROCS) that user goroutines making at most "
        "0.1 syscalls per ms of running time spent running outside mark assists, counting each one whose share is "
        ">= 0.05: CPU work (a hog, a renderer), not I/O or GC (features/cpuwork.py), 0..1"
    )
    evidence: list[Evidence] = Field(default_factory=list)


class SyscallSite(BaseModel):
    """Syscalls made from one call site."""

    site: str = Field(description="first frame outside syscall/runtime, e.g. 'main.(*rawConn).Read'")
    call: str = Field("", description="syscall entry frame, e.g. 'syscall.read', 'syscall.accept4'")
    caller_class: str = Field(description="'netpoller' (internal/poll), 'raw_user', 'cgo', 'os_file', 'runtime' or 'other'")
    syscalls: Distribution = Field(default_factory=Distribution)
    lost_p_count: int = Field(0, description="syscalls during which the P was handed off or stolen")


class SyscallFeatures(BaseModel):
    """Syscall volume and who made them."""

    count: int = 0
    per_s: float = 0.0
    total_ms: float = 0.0
    write_per_s: float = Field(0.0, description="write-family syscalls per second (write, writev, sendto, sendmsg)")
    netpoller_write_per_s: float = 0.0
    write_per_unblocked_s: float = Field(
        0.0, description="added: write_per_s over the share of the writing goroutines' time they were not blocked "
        "writing to a socket (at least 10%): the storm rate undiluted by slow readers; = write_per_s when none blocks")
    writers_blocked_share: float = Field(
        0.0, description="added: share of the writing goroutines' time (creation or window start to exit or window "
        "end) they spent blocked writing to a socket, 0..1")
    writes_per_wait: float = Field(
        0.0, description="added: median over the goroutines that made write syscalls of their write syscalls per "
        "blocking wait (Waiting interval, at least 1): how many pieces one wake-up's work is written in "
        "(features/writes.py)")
    by_site: list[SyscallSite] = Field(default_factory=list)
    raw_user_io_count: int = Field(0, description="read/write/accept syscalls from user code, not via internal/poll")
    raw_user_io_ms: float = 0.0
    blocking_raw_io_count: int = Field(0, description="raw user I/O syscalls >= 1 ms")
    blocking_accept_count: int = Field(0, description="accept syscalls >= 1 ms (a blocking listener)")
    blocked_conn_read_count: int = Field(0, description="read syscalls >= 1 ms on a net conn through internal/poll "
                                                        "by goroutines that never parked on a netpoller read in the "
                                                        "window (a netpoller fd returns EAGAIN at once: the fd was "
                                                        "left blocking)")
    blocked_conn_read_max_ms: float = Field(0.0, description="the longest of those, ms")
    raw_accepts_per_s: float = Field(0.0, description="accept syscalls outside internal/poll per second (a hand-made "
                                                      "listener's connection rate)")
    accept_loop_busy_share: float = Field(0.0, description="share of the window the goroutine making those accepts "
                                                           "spent in other syscalls (not waiting for a connection): "
                                                           "the largest over such goroutines")
    raw_conn_blocking_io_count: int = Field(0, description="raw user read/write syscalls >= 1 ms by goroutines that "
                                                           "make no accept (connections served with blocking I/O)")
    lost_p_per_s: float = 0.0
    proc_steals: int = 0
    cgo_calls: int = 0
    max_concurrent: int = Field(0, description="most syscalls in flight at once (threads held in syscalls); added")
    evidence: list[Evidence] = Field(default_factory=list)


class FdFeatures(BaseModel):
    """Who touches raw file descriptors outside the net/os ownership path."""

    raw_close_count: int = Field(0, description="syscall.Close from user code, not via internal/poll or os")
    finalizer_close_count: int = Field(0, description="closes that ran on the finalizer goroutine")
    set_blocking_count: int = Field(0, description="(*os.File).Fd or SetNonblock(false) seen on socket fds")
    file_dup_count: int = Field(0, description="(*net.TCPConn).File / dup of a socket fd")
    raw_fd_io_count: int = Field(0, description="syscall.Read/Write on a socket fd from user code")
    connections: int = Field(0, description="connections inferred from serving goroutines")
    # Counts over `conns` for the rules: a CEL `f.conns.filter(...).size()` is quadratic in the
    # binding (each append copies the list; hardbyte/python-common-expression-language#57), 1.6 s
    # over 553 matching conns, so rules read these instead of filtering a list with one entry
    # per connection.
    raw_closed_held_count: int = Field(0, description="descriptors net or an *os.File still held, closed raw by user code (conns closed_by 'raw_user', owner 'net' or 'os.File')")
    user_fd_owner_close_count: int = Field(0, description="descriptors user code opened itself and closed (conns owner 'user', closed_by 'owner')")
    os_file_wrapped_count: int = Field(0, description="net conns whose descriptor os.NewFile wrapped (conns co_owner 'os.File')")
    rawconn_borrowed_count: int = Field(0, description="net conns whose descriptor user code borrowed through RawConn (conns borrowed 'RawConn')")
    evidence: list[Evidence] = Field(default_factory=list)


class Conn(BaseModel):
    """A connection, or a descriptor a close touched that no connection can be tied to
    (graph node; see diagnose/graph/conns.py and FEATURES.md)."""

    id: str
    kind: str = Field("conn", description="'conn' or 'fd'")
    origin: str = Field("unknown", description="'net.Accept', 'raw_accept', 'net.Dial', 'File()' or 'unknown'")
    owner: str = Field("unknown", description="'net', 'user' (raw descriptor it opened), 'os.File' or 'unknown'")
    co_owner: str = Field("", description="'os.File' when os.NewFile wrapped net's descriptor")
    borrowed: list[str] = Field(default_factory=list, description="'RawConn', 'File()', 'os.NewFile', 'Fd()'")
    goroutines: list[int] = Field(default_factory=list, description="serving goroutines (first 16)")
    reads: int = 0
    writes: int = 0
    netpoll_waits: int = 0
    never_ended_waits: int = 0
    closed_by: str = Field("none", description="'owner', 'raw_user', 'finalizer', 'none' or 'unknown'")
    closer_goroutine: int | None = None
    close_ns: int | None = None
    closes: int = 0
    closed_again_by_owner: bool = False
    used_after_close: bool = False
    fd_reuse: bool = Field(False, description="closed behind an owner that still holds the descriptor")
    dup_of: str = ""
    relation: str = Field("", description="how the close relates to the owners, in words")


class GCFeatures(BaseModel):
    """Garbage collector cost in the window."""

    gc_count: int = 0
    gc_per_s: float = 0.0
    gc_time_share: float = Field(0.0, description="wall time with a GC cycle running / window, 0..1")
    stw: Distribution = Field(default_factory=Distribution)
    mark_assist_share: float = Field(0.0, description="goroutine time in mark assist / goroutine running time, 0..1")
    heap_max_bytes: int = 0
    evidence: list[Evidence] = Field(default_factory=list)


class ThreadFeatures(BaseModel):
    """Thread growth: blocking syscalls and cgo pin threads."""

    max_threads: int = 0
    threads_created: int = 0
    evidence: list[Evidence] = Field(default_factory=list)


class StraceFdReuse(BaseModel):
    """One proven fd reuse: a goroutine used fd N after N was closed under it and re-issued."""

    fd: int
    goroutine: int = Field(description="the old owner, still using the number")
    call: str = Field(description="what it did with it: write, read, close, epoll_ctl...")
    time_ns: int = Field(description="when (ns since the trace's first event)")
    result: str = Field("", description="the call's result as strace printed it, e.g. '373' or '-1 EBADF'")
    bytes: int = Field(0, description="bytes written to / read from the other peer's socket")
    old_peer: str = ""
    new_peer: str = ""
    closed_ns: int | None = Field(None, description="when the old connection's fd was closed")
    closed_by: str = Field("", description="'g12 main.rawClose.func1 (raw_user)': who closed it")
    reissued_ns: int | None = Field(None, description="when accept4/socket/dup returned the number again")
    reissued_by: str = Field("", description="the call that returned it again, e.g. 'accept4'")


class StraceFeatures(BaseModel):
    """Descriptor-level facts from an strace log joined to the trace (`--strace LOG`); empty
    (present = false) without a log. See diagnose/graph/strace_join.py."""

    present: bool = False
    log: str = ""
    offset_source: str = Field("", description="'clock snapshot' or 'estimated from N thread+name pairs'")
    offset_ns: int = Field(0, description="log clock - trace clock")
    traced_syscalls: int = Field(0, description="trace syscalls inside the log's span whose names the log records")
    matched_syscalls: int = 0
    match_rate: float = Field(0.0, description="matched / traced_syscalls, 0..1")
    residual_p50_us: float = Field(0.0, description="strace entry stamp - trace syscall begin, median (us)")
    residual_p95_us: float = 0.0
    fd_reuse_count: int = Field(0, description="uses of a descriptor number by its previous owner after reuse")
    reused_fds: list[int] = Field(default_factory=list)
    reuse_peers: list[str] = Field(default_factory=list, description="'old peer -> new peer' per reused fd")
    reuse_summary: str = Field("", description="every reused fd with both peers, one string for messages: "
                               "'fd 8 (127.0.0.1:5 -> 127.0.0.1:7); ...'")
    misdirected_bytes: int = Field(0, description="bytes the old owners wrote to or read from the new peers")
    reuses: list[StraceFdReuse] = Field(default_factory=list, description="the first reuses (up to 20)")
    blocking_change_count: int = Field(0, description="fcntl(F_SETFL) clearing O_NONBLOCK on a socket")
    blocking_fds: list[int] = Field(default_factory=list)
    unregistered_socket_count: int = Field(
        0, description="sockets created in the log with I/O but no epoll_ctl(ADD) before it: netpoller bypass")
    unregistered_fds: list[int] = Field(default_factory=list)
    registered_socket_count: int = Field(
        0, description="sockets created in the log with I/O that epoll_ctl(ADD) registered first: the netpoller's own")
    ebadf_count: int = Field(0, description="calls that failed with EBADF (a number already closed)")
    warnings: list[str] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)


class LockSite(BaseModel):
    """Lock waits at one site (the top frame of your code in the waiter's stack)."""

    site: str
    waits: Distribution = Field(default_factory=Distribution)


class LockHolders(BaseModel):
    """How the goroutines whose Unlock ended the longest lock waits (up to 512) spent those
    waits, as shares of the summed wait time: why the lock was held so long."""

    running_share: float = Field(0.0, description="running on a P (CPU work under the lock)")
    runnable_share: float = Field(0.0, description="runnable, waiting for a P")
    syscall_share: float = Field(0.0, description="in a syscall")
    network_share: float = Field(0.0, description="parked on the network (a socket write or read under the lock)")
    sleep_share: float = Field(0.0, description="sleeping (time.Sleep under the lock)")
    lock_share: float = Field(0.0, description="waiting for a lock themselves: queued for the same one before their turn (a convoy), or a nested one")
    other_wait_share: float = Field(0.0, description="any other wait (channel, select, cond...)")
    unknown_share: float = Field(0.0, description="no goroutine woke the waiter, or the trace does not cover it")


class LockFeatures(BaseModel):
    """Goroutines parked on a sync.Mutex / RWMutex (Waiting, reason 'sync', a lock frame in the
    stack; not WaitGroup.Wait), and who released it (diagnose/features/locks.py)."""

    waits: Distribution = Field(default_factory=Distribution, description="lock waits that ended in the window")
    open_waits: int = Field(0, description="lock waits still going on when the trace ends")
    blocked_ms: float = Field(0.0, description="goroutine time spent waiting for locks, open waits to the trace end")
    mean_waiting: float = Field(0.0, description="goroutines waiting for a lock at an average moment (blocked_ms / duration)")
    goroutines: int = Field(0, description="goroutines that waited for a lock")
    sites: list[LockSite] = Field(default_factory=list, description="sites with the most lock-wait time (up to 5)")
    holders: LockHolders = Field(default_factory=LockHolders)
    evidence: list[Evidence] = Field(default_factory=list)


class CodeTotals(BaseModel):
    """Whole-trace totals for one function or package of your code (counts, not samples).

    A wait or syscall is charged to the innermost frame of its stack that is your code, so
    `goroutines_blocked > 50` in one handler can be tested exactly (evidence lists are samples).
    """

    name: str = Field(description="function symbol (e.g. 'corp/pay/stream.(*Hub).Send') or package path")
    package: str = ""
    goroutines_blocked: int = Field(0, description="distinct goroutines that blocked (any wait) here")
    waits: Distribution = Field(default_factory=Distribution, description="every blocking wait: network, channel, "
                                "mutex, select, sleep...")
    network_waits: Distribution = Field(default_factory=Distribution)
    syscalls: Distribution = Field(default_factory=Distribution)


class OurCodeFeatures(BaseModel):
    """Your code: the packages given with --module or a layer's `config: {modules: [...]}`, else
    inferred from the trace (package main, and packages whose source files are neither Go's
    own nor from the module cache). See `diagnose/features/ourcode.py`."""

    modules: list[str] = Field(default_factory=list, description="package path prefixes counted as your code")
    inferred: bool = Field(False, description="modules were inferred from the stacks, not given")
    main_module: str = Field("", description="the main module's path as inferred from the stacks")
    functions: list[CodeTotals] = Field(default_factory=list, description="by total wait + syscall time, capped")
    packages: list[CodeTotals] = Field(default_factory=list)
    function_count: int = Field(0, description="functions with any total (the list may be capped)")
    packages_seen: list[str] = Field(default_factory=list, description="every package of your code in the stacks")
    evidence: list[Evidence] = Field(default_factory=list, description="samples of the longest waits in your code")


class Features(BaseModel):
    """All features of one trace. Rules see this as `f` (a dict from model_dump())."""

    schema_version: int = FEATURES_SCHEMA_VERSION
    trace: TraceInfo = Field(default_factory=TraceInfo)
    network: NetworkFeatures = Field(default_factory=NetworkFeatures)
    scheduling: SchedulingFeatures = Field(default_factory=SchedulingFeatures)
    syscalls: SyscallFeatures = Field(default_factory=SyscallFeatures)
    fds: FdFeatures = Field(default_factory=FdFeatures)
    gc: GCFeatures = Field(default_factory=GCFeatures)
    threads: ThreadFeatures = Field(default_factory=ThreadFeatures)
    locks: LockFeatures = Field(default_factory=LockFeatures, description="added: Mutex/RWMutex waits and their holders")
    strace: StraceFeatures = Field(default_factory=StraceFeatures)
    our_code: OurCodeFeatures = Field(default_factory=OurCodeFeatures)
    conns: list[Conn] = Field(default_factory=list, description="added: connections and descriptors (graph)")
