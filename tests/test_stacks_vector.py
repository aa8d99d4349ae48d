"""Per-stack classification asked once per function name (diagnose/timeline/stacks.py) against
the frame-by-frame reference it replaced.

Every question about a stack -- the network wait's side and site, a syscall's call, site,
caller class and family, the raw calls that switch a socket to blocking or duplicate it, your
code's innermost frame -- is answered for every stack of the window from per-name lookup tables
and numpy reductions over the frame slots. Each answer must equal the per-stack Python
function (kept as the reference) on every stack of real traces of every program, old and new
formats.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from diagnose.features import ourcode
from diagnose.timeline import build_timelines, load_columns
from diagnose.timeline import stacks as S

REPO = Path(__file__).resolve().parent.parent
TRACES = REPO / "fixtures" / "traces"


def _cases() -> list[Path]:
    """Every top-level fixture at the newest and an old format, and one generated trace per
    program and Go version (the first variant in name order)."""
    out = sorted(TRACES.glob("*-go1.27.3.trace")) + sorted(TRACES.glob("*-go1.21.13.trace"))
    # os/exec's child stdio: an Fd() under os.StartProcess, exempt from set_blocking (Go 1.19)
    out += sorted((TRACES / "gen").glob("execlog-highlight95-go1.19*.trace"))
    seen: set[tuple[str, str]] = set()
    for p in sorted((TRACES / "gen").glob("*.trace")):
        key = (p.name.split("-", 1)[0], p.stem.rsplit("-go", 1)[1])
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


CASES = _cases()
SEEN: Counter = Counter()


def test_cases_exist():
    assert len(CASES) >= 60, len(CASES)


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_classification_equals_the_frame_by_frame_reference(path):
    tl = build_timelines(load_columns(path))
    st = tl.stacks
    funcs = st.funcs
    assert st.root_func == [f[-1] if f else "" for f in funcs]
    assert np.array_equal(st.wait_side, np.array([st._wait_side(f) for f in funcs], dtype=np.int8))
    assert st.wait_side.dtype == np.int8
    assert st.wait_site == [st._wait_site(f) for f in funcs]
    ref = [st._classify_syscall(f) for f in funcs]
    assert st.sys_call == [r[0] for r in ref]
    assert st.sys_site == [r[1] for r in ref]
    assert st.sys_class.dtype == np.int8 and st.sys_family.dtype == np.int8
    assert st.sys_class.tolist() == [r[2] for r in ref]
    assert st.sys_family.tolist() == [r[3] for r in ref]
    child = np.zeros(st.n, dtype=bool)
    child[:len(funcs)] = [st._child_fd_in(f) for f in funcs]
    assert np.array_equal(st.set_blocking_for_child, child)
    for got, names, raw, but in ((st.set_blocking, S._SET_BLOCKING_FUNCS, ("SetNonblock",), child),
                                 (st.file_dup, S._FILE_DUP_FUNCS, ("Dup", "Dup2", "Dup3"), None)):
        want = np.zeros(st.n, dtype=bool)
        want[:len(funcs)] = [st._calls_in(f, names, raw) for f in funcs]
        assert np.array_equal(got, want if but is None else want & ~but)
    SEEN.update(("set_blocking_for_child",) * int(child.any()))
    near = np.array([any(fn in S._NETPOLL_WAIT_FUNCS for fn in f[:8]) for f in funcs], dtype=bool)
    assert np.array_equal(st.is_netpoll_wait, near)
    own = ourcode.OwnCode(ourcode._files_by_pkg(tl))
    names, per_stack = ourcode._own_frame_per_stack(tl, own)
    ref_names, ref_per_stack = ourcode._own_frame_per_stack_ref(tl, own)
    assert names == ref_names and per_stack.dtype == ref_per_stack.dtype
    assert np.array_equal(per_stack, ref_per_stack)
    SEEN.update(S.CALLER_CLASSES[c] for c in set(st.sys_class.tolist()))
    SEEN.update(S.SIDES[c] for c in set(st.wait_side.tolist()))
    SEEN.update(("set_blocking",) * int(st.set_blocking.any()) + ("file_dup",) * int(st.file_dup.any()))


def test_the_cases_cover_the_classes():
    """Run after the comparisons (file order): the traces exercised every answer that matters."""
    if not SEEN:
        pytest.skip("run with the comparisons")
    for what in ("netpoller", "raw_user", "os_file", "runtime", "read", "write", "accept", "set_blocking",
                 "file_dup", "set_blocking_for_child"):
        assert SEEN[what] > 0, what
