"""The features stage's compiled kernels (diagnose/features/_fastfeat.c), when they apply.

`feat_kernel()` is the module, or None when it is not built (no C compiler at install) or
NETPOLL_DIAGNOSE_PURE is set: the numpy code beside each call is then what runs, and it is the
reference -- tests/test_fastfeat.py checks that both give the same features on real traces.
"""
from __future__ import annotations

from .. import compiled

try:  # optional (setup.py builds it when a C compiler is present)
    from . import _fastfeat  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - exercised by installs without a compiler
    _fastfeat = None


def feat_kernel():
    """The compiled module, or None (not built, or NETPOLL_DIAGNOSE_PURE=1)."""
    return compiled(_fastfeat)


__all__ = ["feat_kernel"]
