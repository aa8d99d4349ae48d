"""Resource IDs and states (port of Go's internal/trace/resources.go)."""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

NoThread = -1
NoProc = -1
NoGoroutine = -1


class GoEnum(IntEnum):
    """Go constants whose str() is the constant's name, as their Go String() methods print."""

    def __str__(self) -> str:
        return self.name


class GoState(GoEnum):
    Undetermined = 0
    NotExist = 1
    Runnable = 2
    Running = 3
    Waiting = 4
    Syscall = 5

    def executing(self) -> bool:
        return self == GoState.Running or self == GoState.Syscall


class ProcState(GoEnum):
    Undetermined = 0
    NotExist = 1
    Running = 2
    Idle = 3

    def executing(self) -> bool:
        return self == ProcState.Running


def go_state_str(s: int) -> str:
    return _GO_STATE_NAMES[s] if 0 <= s < len(_GO_STATE_NAMES) else "Bad"


def proc_state_str(s: int) -> str:
    return _PROC_STATE_NAMES[s] if 0 <= s < len(_PROC_STATE_NAMES) else "Bad"


_GO_STATE_NAMES = tuple(s.name for s in GoState)
_PROC_STATE_NAMES = tuple(s.name for s in ProcState)


class ResourceKind(GoEnum):
    None_ = 0
    Goroutine = 1
    Proc = 2
    Thread = 3

    def __str__(self) -> str:
        return "None" if self == ResourceKind.None_ else self.name


@dataclass(slots=True, eq=False)
class ResourceID:
    """A generic resource ID: .kind (ResourceKind) and .id (int)."""

    kind: ResourceKind
    id: int = 0

    def goroutine(self) -> int:
        if self.kind != ResourceKind.Goroutine:
            raise ValueError(f"attempted to get GoID from {self.kind} resource ID")
        return self.id

    def proc(self) -> int:
        if self.kind != ResourceKind.Proc:
            raise ValueError(f"attempted to get ProcID from {self.kind} resource ID")
        return self.id

    def thread(self) -> int:
        if self.kind != ResourceKind.Thread:
            raise ValueError(f"attempted to get ThreadID from {self.kind} resource ID")
        return self.id

    def __eq__(self, other) -> bool:
        return isinstance(other, ResourceID) and self.kind == other.kind and self.id == other.id

    def __hash__(self) -> int:
        return hash((self.kind, self.id))

    def __str__(self) -> str:
        if self.kind == ResourceKind.None_:
            return "None"
        return f"{self.kind}({self.id})"

    __repr__ = __str__


class StateTransition:
    """Details of a StateTransition event.

    .resource: ResourceID; .reason: str; .stack: Stack of the transitioning resource;
    .old_state/.new_state: GoState or ProcState values (use goroutine()/proc()).
    """

    __slots__ = ("resource", "reason", "stack", "old_state", "new_state")

    def __init__(self, resource: ResourceID, old: int, new: int, reason: str = "", stack=None) -> None:
        from .event import NO_STACK
        self.resource = resource
        self.reason = reason
        self.stack = stack if stack is not None else NO_STACK
        self.old_state = old
        self.new_state = new

    @classmethod
    def go(cls, id: int, frm: int, to: int) -> "StateTransition":
        return cls(ResourceID(ResourceKind.Goroutine, id), frm, to)

    @classmethod
    def proc_(cls, id: int, frm: int, to: int) -> "StateTransition":
        return cls(ResourceID(ResourceKind.Proc, id), frm, to)

    def goroutine(self) -> tuple[GoState, GoState]:
        if self.resource.kind != ResourceKind.Goroutine:
            raise ValueError("Goroutine called on non-Goroutine state transition")
        return GoState(self.old_state), GoState(self.new_state)

    def proc(self) -> tuple[ProcState, ProcState]:
        if self.resource.kind != ResourceKind.Proc:
            raise ValueError("Proc called on non-Proc state transition")
        return ProcState(self.old_state), ProcState(self.new_state)
