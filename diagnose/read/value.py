"""Dynamically typed values from a trace (port of Go's internal/trace/value.go)."""
from __future__ import annotations

ValueBad = 0
ValueUint64 = 1
ValueString = 2


class Value:
    __slots__ = ("kind", "_v")

    def __init__(self, kind: int, v) -> None:
        self.kind = kind
        self._v = v

    def uint64(self) -> int:
        if self.kind != ValueUint64:
            raise ValueError("Uint64 called on Value of a different Kind")
        return self._v

    def __str__(self) -> str:
        if self.kind == ValueString:
            return self._v
        if self.kind == ValueUint64:
            return f"Value{{Uint64({self._v})}}"
        return "Value{Bad}"

    def __repr__(self) -> str:
        return str(self)

    def __eq__(self, other) -> bool:
        return isinstance(other, Value) and self.kind == other.kind and self._v == other._v

    def __hash__(self) -> int:
        return hash((self.kind, self._v))


def uint64_value(x: int) -> Value:
    return Value(ValueUint64, x)


def string_value(s: str) -> Value:
    return Value(ValueString, s)
