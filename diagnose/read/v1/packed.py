"""The parser's store of decoded events in 40 bytes an event (the compiled path).

The decoder keeps every event of an old-format trace until the merge and the conversion are
done (Go does the same): SLOTS int64 an event in the ``E_*`` layout is 72 bytes, ~870 MiB for
the 12.6 M events of a 63 MB go1.21 trace -- most of the peak memory of the main command. Nearly
every value but the time fits 32 bits, so where ``_v1fast`` is built the store is a
:class:`Packed`: per event its time (int64); G and the four arguments as int32, each either the
value or the index of the value in a side array of int64 (the few past int32: a syscall exit's
real time in ticks, a big heap size); the stack id (uint32: the decoder masks it), the P
(int32) and the type (uint16, with BLOCKED). The C merge, validation and conversion read and
write it in place (``_v1fast.c``: PRow, pload, pset); anything that reads events in Python
(the pure reference's fallbacks, ``V1Conversion.__iter__``) takes them unpacked, a run at a time
(:meth:`Packed.gather`) or whole (:meth:`Packed.widen`, only where the compiled code declines).
The pure path (NETPOLL_DIAGNOSE_PURE=1, no compiler) keeps the int64 array: the reference.
"""
from __future__ import annotations

import struct
from array import array

import numpy as np

#: one packed event (the C struct PRow)
ROW_DTYPE = np.dtype([("ts", "<i8"), ("v", "<i4", (5,)), ("stk", "<u4"), ("p", "<i4"), ("type", "<u2"),
                      ("wide", "<u2")])
ROW = ROW_DTYPE.itemsize
SLOTS = 9  # parser.SLOTS (parser imports this module)
_TS = struct.Struct("<q")


def _kernel():
    from . import _v1fast  # type: ignore[attr-defined]

    return _v1fast


class Packed:
    """Events in packed rows (``rows``) and the int64 values past int32 (``ovf``)."""

    __slots__ = ("rows", "ovf")

    def __init__(self) -> None:
        self.rows = bytearray()
        self.ovf = array("q")

    def __len__(self) -> int:
        """The number of events (not of ints, unlike the int64 store)."""
        return len(self.rows) // ROW

    def extend(self, wide) -> bool:
        """Append events given in the E_* layout (a buffer of int64); False, nothing appended, if
        one has a stack id, P or type a packed row cannot hold (never from the decoder)."""
        got = _kernel().pack_rows(wide, len(self.ovf))
        if got is None:
            return False
        self.rows += got[0]
        if got[1]:
            self.ovf.frombytes(got[1])
        return True

    @classmethod
    def of(cls, wide: array) -> "Packed | array":
        """The int64 store `wide` packed (a run at a time), or `wide` itself if an event cannot be."""
        st = cls()
        view = memoryview(wide)
        step = SLOTS << 16
        for a in range(0, len(wide), step):
            if not st.extend(view[a:a + step]):
                return wide
        return st

    def gather(self, refs) -> array:
        """Events numbered `refs` (int64 buffer), unpacked: SLOTS int64 each, in that order."""
        out = array("q", bytes(8 * SLOTS * (len(memoryview(refs).cast("B")) // 8)))
        _kernel().unpack_rows(self.rows, self.ovf, refs, out)
        return out

    def widen(self) -> array:
        """Every event in the int64 layout (what the Python fallbacks index)."""
        out = array("q", bytes(8 * SLOTS * len(self)))
        _kernel().unpack_rows(self.rows, self.ovf, None, out)
        return out

    def ts(self, r: int) -> int:
        """Time of event r."""
        return _TS.unpack_from(self.rows, r * ROW)[0]

    def set_ts(self, r: int, t: int) -> None:
        _TS.pack_into(self.rows, r * ROW, t)

    def view(self) -> np.ndarray:
        """The rows as a numpy structured array (fields of ROW_DTYPE), sharing the memory."""
        return np.frombuffer(self.rows, dtype=ROW_DTYPE)


def times(store) -> np.ndarray:
    """The time of every event of a store (Packed or int64 array) as an int64 view that can be
    written through."""
    if type(store) is Packed:
        return store.view()["ts"]
    return np.frombuffer(store, dtype=np.int64)[::SLOTS]


def types(store) -> np.ndarray:
    """The type of every event (Packed: uint16, or int64 array), a view: read-only use."""
    if type(store) is Packed:
        return store.view()["type"]
    return np.frombuffer(store, dtype=np.int64)[SLOTS - 1::SLOTS]


def event_ts(store, r: int) -> int:
    """Time of event r of any store (Packed, int64 array or list)."""
    return store.ts(r) if type(store) is Packed else store[r * SLOTS]


def n_events(store) -> int:
    return len(store) if type(store) is Packed else len(store) // SLOTS


__all__ = ["Packed", "ROW", "ROW_DTYPE", "times", "types", "event_ts", "n_events"]
