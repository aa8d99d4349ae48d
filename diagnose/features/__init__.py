"""Features: named, typed facts about one trace that rules test (`f.<section>.<field>`).

    from diagnose.features import extract
    f = extract("trace.out")          # -> Features (pydantic; see model.py for every field)
    f.scheduling.wake_to_run_after_network.p95_ms

`extract` accepts a path, the bytes of a trace, an opened trace from `diagnose.read`, an
iterable of events, `TraceColumns` or `Timelines`.
"""
from __future__ import annotations

from typing import Any

from .model import FEATURES_SCHEMA_VERSION, Features, TraceInfo, TraceWindow

__all__ = ["extract", "extract_from_timelines", "join_strace", "Features", "FEATURES_SCHEMA_VERSION", "TraceInfo",
           "TraceWindow"]


def join_strace(features: Features, timelines, trace_path: str, log_path, recorded_offset_ns: int | None) -> list[str]:
    """Join an strace log to the trace and fill `features.strace` (see features/strace.py);
    returns the lines to show on stderr (match rate, warnings)."""
    from .strace import join_strace as _join

    return _join(features, timelines, trace_path, log_path, recorded_offset_ns)


def extract_from_timelines(tl, meta: dict | None = None, modules: list[str] | None = None, graph=None) -> Features:
    """Features of timelines `tl`; `graph` is their causal graph (diagnose.graph.build_graph),
    built here when not given -- pass it when the caller keeps the graph too."""
    from .compute import compute_features

    return compute_features(tl, meta if meta is not None else tl.cols.meta, modules, cg=graph)


def extract(path_or_reader: Any, modules: list[str] | None = None) -> Features:
    """Compute every feature of a trace (see `diagnose.features.model`). `modules`: the package
    path prefixes of the user's code for `f.our_code` (inferred from the stacks when None)."""
    from ..timeline import Timelines, build_timelines, load_columns

    if isinstance(path_or_reader, Timelines):
        return extract_from_timelines(path_or_reader, modules=modules)
    cols = load_columns(path_or_reader)
    _budget_check(cols, path_or_reader)
    return extract_from_timelines(build_timelines(cols), cols.meta, modules)


def _budget_check(cols: Any, path: Any) -> None:
    """The pipeline's memory budget (diagnose/budget.py) for callers that come straight here
    (`rules test`, library users)."""
    import os

    from .. import budget

    size = os.path.getsize(path) if isinstance(path, (str, os.PathLike)) and os.path.isfile(path) else 0
    budget.check(cols, size, str(cols.meta.get("path") or path))
