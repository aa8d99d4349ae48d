"""`f.our_code`: exact totals per function and package of *your* code, so a rule can say
"more than 50 goroutines blocked in our Send" (evidence lists are only top-5 samples).

Which code is yours:

* given: `--module PATH` (repeatable) or a layer's `config: {modules: [PATH, ...]}`; a package
  is yours if its path is PATH or under PATH/. Package `main` always is.
* inferred, when nothing is given: package `main`, and every package that is neither Go's
  standard library (its first path element is one of Go's top-level std packages, or its files
  are under the GOROOT seen in `runtime.*` frames) nor a dependency (source paths with `@v`
  from the module cache, `/pkg/mod/` or `/vendor/`). So a dotless module path
  (`corp/payments/stream`, the fixtures' `netpollfixtures`) is yours; before, "user code"
  meant `main` or a dotted first path element and such modules counted as library code.
  `main_module` is the common module root of those packages (first path element, or three
  for a dotted host such as github.com/org/repo).

A wait (any Waiting interval: network, channel, mutex, select, sleep...) or a syscall is
charged to the innermost frame of its stack that is yours.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..timeline.columns import G_WAITING
from ..timeline.grouping import smallest_first, stable_argsort, unique
from ..timeline.stacks import STD_ROOTS, pkg_of
from ..timeline.timeline import Timelines
from .compute import MAX_EVIDENCE, dist, dists_by_group
from .kernel import feat_kernel
from .model import CodeTotals, Evidence, Frame, OurCodeFeatures

MAX_CODE_SITES = 50
_DEP_MARKS = ("@v", "/pkg/mod/", "/vendor/")


def _module_root(path: str) -> str:
    parts = path.split("/")
    n = 3 if "." in parts[0] and len(parts) >= 3 else 1
    return "/".join(parts[:n])


class OwnCode:
    """Decides, per package, whether it is yours (given prefixes, or inferred from files)."""

    def __init__(self, files_by_pkg: dict[str, set[str]], modules: Iterable[str] = ()) -> None:
        self.modules = [m.strip().rstrip("/") for m in modules if m.strip()]
        self.inferred = not self.modules
        rt_files = [f for f in files_by_pkg.get("runtime", ()) if "/runtime/" in f]
        self.goroot = rt_files[0][: rt_files[0].rfind("/runtime/") + 1] if rt_files else ""
        self.files = files_by_pkg
        self._cache: dict[str, bool] = {}

    def is_ours(self, pkg: str) -> bool:
        if pkg not in self._cache:
            self._cache[pkg] = self._decide(pkg)
        return self._cache[pkg]

    def _decide(self, pkg: str) -> bool:
        if pkg in ("main", "command-line-arguments"):
            return True
        if self.modules:
            return any(pkg == m or pkg.startswith(m + "/") for m in self.modules)
        if not pkg or pkg.split("/", 1)[0] in STD_ROOTS:
            return False
        files = self.files.get(pkg, set())
        if any(mark in f for f in files for mark in _DEP_MARKS):
            return False
        return not (self.goroot and any(f.startswith(self.goroot) for f in files))

    def main_module(self, ours: Iterable[str]) -> str:
        roots = {_module_root(p) for p in ours if p not in ("main", "command-line-arguments")}
        return roots.pop() if len(roots) == 1 else ""


def _own_frame_per_stack(tl: Timelines, own: OwnCode) -> tuple[list[str], np.ndarray]:
    """(function names, index per stack id into them; -1 when the stack has none of your code):
    each stack's innermost frame that is yours (leaf first), the names numbered in the order
    of the stacks that first cite them. Asked once per distinct function name, not per frame
    (`_own_frame_per_stack_ref` is the frame-by-frame reference)."""
    st = tl.stacks
    out = np.full(max(tl.cols.n_stacks, 1), -1, dtype=np.int64)
    slot = st.first(st.name_lut(lambda fn: bool(fn) and own.is_ours(pkg_of(fn)))[st.slot_names])
    has = np.flatnonzero(slot >= 0)
    if has.shape[0] == 0:
        return [], out
    uniq, first_at, inv = np.unique(st.slot_names[slot[has]], return_index=True, return_inverse=True)
    s = tl.cols.strings
    index: dict[str, int] = {}
    rank = np.empty(uniq.shape[0], dtype=np.int64)
    for u in np.argsort(first_at, kind="stable").tolist():  # the names in the order first cited
        rank[u] = index.setdefault(s[int(uniq[u])], len(index))
    out[has] = rank[inv.reshape(-1)]
    return list(index), out


def _own_frame_per_stack_ref(tl: Timelines, own: OwnCode) -> tuple[list[str], np.ndarray]:
    """`_own_frame_per_stack` frame by frame: the reference (tests/test_stacks_vector.py)."""
    names: list[str] = []
    index: dict[str, int] = {}
    out = np.full(max(tl.cols.n_stacks, 1), -1, dtype=np.int64)
    for sid, funcs in enumerate(tl.stacks.funcs):
        for fn in funcs:  # leaf first: the innermost frame that is yours
            if fn and own.is_ours(pkg_of(fn)):
                out[sid] = index.setdefault(fn, len(index))
                if out[sid] == len(names):
                    names.append(fn)
                break
    return names, out


def _files_by_pkg(tl: Timelines) -> dict[str, set[str]]:
    c = tl.cols
    s = c.strings
    out: dict[str, set[str]] = {}
    for f, fl in set(zip(c.frame_func.tolist(), c.frame_file.tolist())):
        if s[f]:
            out.setdefault(pkg_of(s[f]), set()).add(s[fl])
    return out


def _groups(idx: np.ndarray, values: np.ndarray, n: int) -> list[np.ndarray]:
    """values split by group index (0..n-1; -1 = none), in one sort: no pass per group, so a
    trace with thousands of own functions and millions of waits stays O(waits log waits)."""
    keep = idx >= 0
    idx, values = idx[keep], values[keep]
    order = stable_argsort(idx)
    bounds = np.searchsorted(idx[order], np.arange(n + 1))
    v = values[order]
    return [v[bounds[i]:bounds[i + 1]] for i in range(n)]


def _table(names: list[str], packages: list[str], w_idx: np.ndarray, n_idx: np.ndarray, s_idx: np.ndarray,
           w_dur: np.ndarray, w_g: np.ndarray, n_dur: np.ndarray, s_dur: np.ndarray) -> list[CodeTotals]:
    n = len(names)
    fast = feat_kernel()
    grouped = _table_compiled(fast, n, w_idx, n_idx, s_idx, w_dur, w_g, n_dur, s_dur) if fast is not None else None
    rows = []
    if grouped is not None:
        (wd, gcount), nd, sd = grouped
        for i in range(n):
            if wd[i].count or nd[i].count or sd[i].count:
                rows.append(CodeTotals(name=names[i], package=packages[i], goroutines_blocked=int(gcount[i]),
                                       waits=wd[i], network_waits=nd[i], syscalls=sd[i]))
    else:
        waits, nets, sys_ = _groups(w_idx, w_dur, n), _groups(n_idx, n_dur, n), _groups(s_idx, s_dur, n)
        gors = _groups(w_idx, w_g, n)
        for i in range(n):
            if waits[i].size or nets[i].size or sys_[i].size:
                rows.append(CodeTotals(name=names[i], package=packages[i],
                                       goroutines_blocked=int(unique(gors[i]).size), waits=dist(waits[i]),
                                       network_waits=dist(nets[i]), syscalls=dist(sys_[i])))
    return sorted(rows, key=lambda t: (-(t.waits.total_ms + t.syscalls.total_ms), t.name))


def _table_compiled(fast, n: int, w_idx, n_idx, s_idx, w_dur, w_g, n_dur, s_dur):
    """`_table`'s groups through the compiled kernel: ((wait dists, distinct goroutines),
    (network wait dists, _), (syscall dists, _)), or None (non-integer input: numpy path)."""
    parts = (dists_by_group(fast, w_idx, w_dur, n, w_g), dists_by_group(fast, n_idx, n_dur, n),
             dists_by_group(fast, s_idx, s_dur, n))
    if any(p is None for p in parts):
        return None
    return parts[0], parts[1][0], parts[2][0]


def our_code(tl: Timelines, nw, sc, modules: Iterable[str] = ()) -> OurCodeFeatures:
    """Totals per function and package of your code. `nw`/`sc`: the network waits and syscalls
    the features stage already computed (timeline.analysis)."""
    own = OwnCode(_files_by_pkg(tl), modules)
    files = own.files
    names, per_stack = _own_frame_per_stack(tl, own)
    seen = sorted(p for p in files if own.is_ours(p))
    f = OurCodeFeatures(modules=own.modules, inferred=own.inferred, packages_seen=seen[:500],
                        main_module=own.main_module(seen))
    if not names:
        return f
    waiting = np.flatnonzero(tl.iv_state == G_WAITING)
    w_fn = per_stack[tl.iv_stk[waiting]]  # stack ids index directly (no int64 copy of the column)
    w_dur = tl.iv_dur[waiting]
    w_g = tl.iv_g[waiting]
    n_fn = per_stack[nw.stk]
    s_fn = per_stack[sc.stk]
    pkgs = [pkg_of(n) for n in names]
    rows = _table(names, pkgs, w_fn, n_fn, s_fn, w_dur, w_g, nw.dur, sc.dur)
    f.function_count = len(rows)
    f.functions = rows[:MAX_CODE_SITES]
    pkg_names = sorted(set(pkgs))
    to_pkg = np.array([pkg_names.index(p) for p in pkgs] + [-1], dtype=np.int64)  # [-1]: no own frame
    f.packages = _table(pkg_names, pkg_names, to_pkg[w_fn], to_pkg[n_fn], to_pkg[s_fn],
                        w_dur, w_g, nw.dur, sc.dur)[:MAX_CODE_SITES]
    own_w = np.flatnonzero(w_fn >= 0)
    for j in own_w[smallest_first(-w_dur[own_w], MAX_EVIDENCE, stable=True)].tolist():
        iv = int(waiting[j])
        f.evidence.append(Evidence(
            note=f"goroutine blocked in {names[int(w_fn[j])]} ({tl.cols.strings[int(tl.iv_reason[iv])] or 'waiting'})",
            goroutines=[int(tl.iv_g[iv])], start_ns=int(tl.iv_start[iv]) - tl.t0, end_ns=int(tl.iv_end[iv]) - tl.t0,
            duration_ms=round(float(w_dur[j]) / 1e6, 6),
            stack=[Frame(func=a, file=b, line=c) for a, b, c in tl.stacks.frames(int(tl.iv_stk[iv]), 12)]))
    return f
