"""The compiled graph queries (`_fastgraph.c`: demand.p_demand's pass over the intervals), when they are built and not switched off.

setup.py builds `_fastgraph` when a C compiler is present; without it, or with
NETPOLL_DIAGNOSE_PURE set, the numpy code in demand.py runs instead -- it is the
reference, and tests/test_fastgraph.py checks the two give the same results on real traces.
"""
from __future__ import annotations


from .. import compiled

try:  # optional (setup.py builds it when a C compiler is present)
    from . import _fastgraph  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - exercised by installs without a compiler
    _fastgraph = None


def graph_kernel():
    """The compiled module, or None: not built, or NETPOLL_DIAGNOSE_PURE is set."""
    return compiled(_fastgraph)
