"""Events from Go's own parser: `go tool trace -d=parsed` text, as Python event objects.

A reference event source, independent of our reader: tests use it to cross-check the columns
built from `diagnose.read` (it needs a Go toolchain and is slow: Go prints about 0.08 M
events/s).

The objects expose the same small surface `diagnose.timeline.columns` reads from our reader's
`Event` (which mirrors Go's `internal/trace.Event`): `kind`, `time`, `goroutine`, `proc`,
`thread`, `stack` (a tuple of frames, leaf first) and the kind-specific details.
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

_HEAD = re.compile(r"^M=(-?\d+) P=(-?\d+) G=(-?\d+) (\w+) Time=(-?\d+)(.*)$")
_Q = r'"((?:[^"\\]|\\.)*)"'
_ST_G = re.compile(r"^ GoID=(-?\d+) (\w+)->(\w+) Reason=" + _Q)
_ST_P = re.compile(r"^ ProcID=(-?\d+) (\w+)->(\w+) Reason=" + _Q)
_METRIC = re.compile(r"^ Name=" + _Q + r" Value=Value\{(\w+)\((.*)\)\}")
_RESOURCE = r"(?P<scope_kind>\w+)(?:\((?P<scope_id>-?\d+)\))?"


def _named_q(field: str) -> str:
    return _Q.replace("(", f"(?P<{field}>", 1)


#: event kind (prefix) -> the pattern of its details; each named group is the GoEvent field it sets
_DETAILS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Range", re.compile(r"^ Name=" + _named_q("name") + " Scope=" + _RESOURCE)),
    ("Label", re.compile(r"^ Label=" + _named_q("name") + " Resource=" + _RESOURCE)),
    ("Task", re.compile(r"^ ID=(?P<value>\d+) Parent=\d+ Type=" + _named_q("name"))),
    ("Region", re.compile(r"^ Task=(?P<value>\d+) Type=" + _named_q("name"))),
    ("Log", re.compile(r"^ Task=(?P<value>\d+) Category=" + _named_q("name") + " Message=" + _named_q("message"))),
    ("Sync", re.compile(r"^ N=(?P<value>\d+)")),
)
_FRAME1 = re.compile(r"^\t(.*) @ 0x([0-9a-f]+)$")
_FRAME2 = re.compile(r"^\t\t(.*):(\d+)$")


def _unquote(s: str) -> str:
    if "\\" not in s:
        return s
    try:
        return s.encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1").decode(
            "utf-8", "replace")
    except (UnicodeError, ValueError):
        return s


#: how a detail's text becomes the GoEvent field (scope_id -1: no resource ID printed)
_FIELD_VALUE = {"value": int, "name": _unquote, "message": _unquote, "scope_kind": str,
                "scope_id": lambda v: -1 if v is None else int(v)}


@dataclass(frozen=True, slots=True)
class GoFrame:
    func: str
    file: str
    line: int
    pc: int = 0


class _Res:
    __slots__ = ("kind", "id")

    def __init__(self, kind: str, id: int) -> None:
        self.kind, self.id = kind, id


class _Detail:
    """Attribute bag for metric()/range_()/label()/task()/region()/log()/sync()/state_transition()."""

    def __init__(self, **kw) -> None:
        self.__dict__.update(kw)


@dataclass(slots=True)
class GoTransition:
    resource_kind: str  # "Goroutine" | "Proc"
    resource_id: int
    from_state: str  # Go's state names: Undetermined NotExist Runnable Running Waiting Syscall / Idle
    to_state: str
    reason: str = ""
    stack: tuple = ()


@dataclass(slots=True)
class GoEvent:
    """One event of Go's parser; the same surface as `diagnose.read.Event`."""

    kind: str
    time: int
    goroutine: int
    proc: int
    thread: int
    stack: tuple = ()
    transition: GoTransition | None = None
    name: str = ""  # metric/range/label name, task/region type, log category
    value: int | float = 0  # metric value, sync N, task id
    scope_kind: str = ""  # range scope / label resource: "Goroutine", "Proc", "Thread", "None"
    scope_id: int = -1
    message: str = ""
    extra: dict = field(default_factory=dict)

    # --- the reader's accessors --------------------------------------------------------
    def state_transition(self):
        tr = self.transition
        return _Detail(resource=_Res(tr.resource_kind, tr.resource_id), old_state=tr.from_state,
                       new_state=tr.to_state, reason=tr.reason, stack=tr.stack)

    def metric(self):
        return _Detail(name=self.name, value=self.value)

    def range_(self):
        return _Detail(name=self.name, scope=_Res(self.scope_kind, self.scope_id))

    def label(self):
        return _Detail(label=self.name, resource=_Res(self.scope_kind, self.scope_id))

    def task(self):
        return _Detail(id=int(self.value), parent=0, type=self.name)

    def region(self):
        return _Detail(task=int(self.value), type=self.name)

    def log(self):
        return _Detail(task=int(self.value), category=self.name, message=self.message)

    def sync(self):
        return _Detail(n=int(self.value))


_STATE = {"Undetermined", "NotExist", "Runnable", "Running", "Waiting", "Syscall", "Idle"}


def parse_dump(lines) -> Iterator[GoEvent]:
    """Parse `go tool trace -d=parsed` output (an iterable of lines) into GoEvents."""
    ev: GoEvent | None = None
    target: str | None = None  # "stack" | "tstack"
    frames: list[GoFrame] = []
    pending: tuple[str, int] | None = None

    def flush_frames():
        nonlocal frames, target
        if ev is not None and target is not None:
            stk = tuple(frames)
            if target == "stack":
                ev.stack = stk
            elif ev.transition is not None:
                ev.transition.stack = stk
        frames = []
        target = None

    for raw in lines:
        line = raw.rstrip("\n")
        if line.startswith("M="):
            flush_frames()
            if ev is not None:
                yield ev
            m = _HEAD.match(line)
            if not m:
                ev = None
                continue
            mm, pp, gg, kind, t, rest = m.groups()
            ev = GoEvent(kind=kind, time=int(t), goroutine=int(gg), proc=int(pp), thread=int(mm))
            if kind == "StateTransition":
                s = _ST_G.match(rest)
                rk = "Goroutine"
                if not s:
                    s = _ST_P.match(rest)
                    rk = "Proc"
                if s:
                    ev.transition = GoTransition(rk, int(s.group(1)), s.group(2), s.group(3), _unquote(s.group(4)))
            elif kind == "Metric":
                s = _METRIC.match(rest)
                if s:
                    ev.name = _unquote(s.group(1))
                    typ, val = s.group(2), s.group(3)
                    try:
                        ev.value = int(val) if typ in ("Uint64", "Int64") else float(val)
                    except ValueError:
                        ev.value = 0
            else:
                for prefix, pattern in _DETAILS:
                    if kind.startswith(prefix):
                        s = pattern.match(rest)
                        if s:
                            for k, v in s.groupdict().items():
                                setattr(ev, k, _FIELD_VALUE[k](v))
                        break
            continue
        if ev is None:
            continue
        if line == "Stack=":
            flush_frames()
            target = "stack"
        elif line == "TransitionStack=":
            flush_frames()
            target = "tstack"
        elif line.startswith("\t\t"):
            m2 = _FRAME2.match(line)
            if m2 and pending is not None:
                frames.append(GoFrame(pending[0], m2.group(1), int(m2.group(2)), pending[1]))
                pending = None
        elif line.startswith("\t"):
            m1 = _FRAME1.match(line)
            if m1:
                pending = (m1.group(1), int(m1.group(2), 16))
        elif line == "":
            flush_frames()
    flush_frames()
    if ev is not None:
        yield ev


def go_parsed_events(path: str | Path, go: str | Path) -> Iterator[GoEvent]:
    """Run `go tool trace -d=parsed PATH` with the given `go` command and stream its events."""
    from subprocess import PIPE

    env = None
    try:
        from tools.gotoolchains import go_env  # type: ignore

        env = go_env("1.27.3")
    except Exception:  # noqa: BLE001 - the environment is a nicety, not a requirement
        import os

        env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
        env["GOTOOLCHAIN"] = "local"
    proc = subprocess.Popen([str(go), "tool", "trace", "-d=parsed", str(path)], stdout=PIPE, stderr=PIPE,
                            text=True, env=env, bufsize=1 << 20)
    try:
        assert proc.stdout is not None
        yield from parse_dump(proc.stdout)
    finally:
        if proc.stdout:
            proc.stdout.close()
        err = proc.stderr.read() if proc.stderr else ""
        rc = proc.wait()
        if rc != 0:
            raise RuntimeError(f"go tool trace -d=parsed {path}: exit {rc}: {err.strip()[-500:]}")
