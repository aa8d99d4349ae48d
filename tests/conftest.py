"""Shared test fixtures: the fixture-corpus traces and the Go oracle toolchain.

* ``v2_traces()``: (id, Path, header version) for every committed trace in
  fixtures/manifest.json written in a Go 1.22+ format. ``NETPOLL_READ_TRACES`` (a
  path-separated list of files or globs) replaces the manifest, for local development.
* ``go_installed`` fixture: Go 1.27.3 only if already installed (never installs); skips otherwise.
* ``go_trace_tool`` fixture: the built ``cmd/trace`` of ``go_installed``.
* ``go_oracle`` fixture: the ``go`` command of Go 1.27.3 (``tools/gotoolchains.py``, falling
  back to a pre-installed copy); skips the test with the reason when Go cannot be had.
"""
from __future__ import annotations

import functools
import glob
import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

MANIFEST = Path(os.environ.get("NETPOLL_FIXTURES_MANIFEST", REPO / "fixtures" / "manifest.json"))
ORACLE_VERSION = "1.27.3"
V2_FORMATS = (22, 23, 25, 26)


def header_version(path: Path) -> int | None:
    """The N of a "go 1.N trace" header, or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return None
    if not head.startswith(b"go 1.") or b" trace" not in head:
        return None
    try:
        return int(head[5:head.index(b" trace")])
    except ValueError:
        return None


def _manifest_paths() -> list[Path]:
    data = json.loads(MANIFEST.read_text(encoding="utf-8"))
    items = data if isinstance(data, list) else next(
        (data[k] for k in ("traces", "fixtures", "entries", "runs") if isinstance(data.get(k), list)), [])
    out = []
    for item in items:
        tr = item.get("trace") or item.get("path") or item.get("file") if isinstance(item, dict) else None
        if not tr:
            continue
        p = Path(tr)
        if not p.is_absolute():
            p = next((c for c in (MANIFEST.parent / p, MANIFEST.parent.parent / p) if c.exists()), MANIFEST.parent / p)
        out.append(p)
    return out


@functools.lru_cache(maxsize=None)
def v2_traces() -> tuple[tuple[str, Path, int], ...]:
    env = os.environ.get("NETPOLL_READ_TRACES")
    if env:
        paths = [Path(p) for pat in env.split(os.pathsep) for p in sorted(glob.glob(pat))]
    elif MANIFEST.is_file():
        paths = _manifest_paths()
    else:
        paths = []
    out = []
    seen = set()
    for p in paths:
        v = header_version(p) if p.is_file() else None
        if v in V2_FORMATS and p.resolve() not in seen:
            seen.add(p.resolve())
            try:
                tid = str(p.resolve().relative_to(REPO))
            except ValueError:
                tid = str(p)
            out.append((tid, p, v))
    return tuple(out)


def smallest_per_format() -> list[tuple[str, Path, int]]:
    """The smallest trace of each Go 1.22+ format, for the slower per-trace tests."""
    best: dict[int, tuple[str, Path, int]] = {}
    for t in v2_traces():
        if t[2] not in best or t[1].stat().st_size < best[t[2]][1].stat().st_size:
            best[t[2]] = t
    return [best[v] for v in sorted(best)]


@functools.lru_cache(maxsize=None)
def _find_go() -> tuple[Path | None, str]:
    reasons = []
    try:
        from tools.gotoolchains import go_binary  # the colleague's installer (pip, on demand)

        try:
            return Path(go_binary(ORACLE_VERSION)), ""
        except Exception as e:  # noqa: BLE001 - any failure means "no Go here"
            reasons.append(f"tools/gotoolchains.py: {e}")
    except ImportError as e:
        reasons.append(f"tools/gotoolchains.py not importable ({e})")
    for cand in (os.environ.get("NETPOLL_GO_ORACLE"), f"/work/gocache/{ORACLE_VERSION}/bin/go"):
        if cand and Path(cand).is_file():
            return Path(cand), ""
    return None, "; ".join(reasons) or "not found"


def go_env() -> dict[str, str]:
    try:
        from tools.gotoolchains import go_env as _env

        return _env(ORACLE_VERSION)
    except Exception:  # noqa: BLE001
        env = dict(os.environ)
        env.update({"GOTOOLCHAIN": "local", "GOFLAGS": "", "GOTELEMETRY": "off"})
        return env


@pytest.fixture
def kernels_selectable(monkeypatch):
    """For tests that compare a compiled kernel with its numpy/Python fallback, choosing each side
    themselves: they must not follow a NETPOLL_DIAGNOSE_PURE=1 the whole run was started with
    (CI runs some test files a second time with it set)."""
    monkeypatch.delenv("NETPOLL_DIAGNOSE_PURE", raising=False)


@pytest.fixture(scope="session")
def go_installed() -> Path:
    """Go 1.27.3 if it is already installed (gotoolchains' cache or a seed copy); never
    installs it. Skips the test with the reason otherwise."""
    from tests.support.gotool import find_installed_go

    go, why = find_installed_go(ORACLE_VERSION)
    if go is None:
        pytest.skip(f"Go {ORACLE_VERSION} unavailable: {why}")
    return go


@pytest.fixture(scope="session")
def go_trace_tool(go_installed: Path) -> Path:
    """The built ``cmd/trace`` binary of `go_installed` (``go tool -n trace`` builds it once,
    then prints its path)."""
    import subprocess

    from tests.support.gotool import go_env as hermetic_env

    out = subprocess.run([str(go_installed), "tool", "-n", "trace"], capture_output=True, text=True,
                         env=hermetic_env(ORACLE_VERSION), timeout=900)
    tool = Path(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else None
    if out.returncode != 0 or tool is None or not tool.exists():
        pytest.skip(f"could not build `go tool trace` with Go {ORACLE_VERSION}: {out.stderr.strip()[-500:]}")
    return tool


@pytest.fixture(scope="session")
def go_oracle() -> Path:
    go, why = _find_go()
    if go is None:
        pytest.skip(f"Go {ORACLE_VERSION} (the oracle) is not available: {why}")
    return go


#: the TraceColumns arrays two column builders must agree on
COLUMN_ARRAYS = ("kind", "t", "g", "p", "m", "stk", "rk", "rid", "sfrom", "sto", "s1", "tstk", "val",
                 "frame_pc", "frame_func", "frame_file", "frame_line", "stack_off", "stack_frames")


def column_differences(a, b, meta: bool = True) -> list[str]:
    """What differs between two TraceColumns (each array's dtype, shape, first differing row;
    the strings; the meta when `meta`): [] when they are the same."""
    import numpy as np

    out = []
    for name in COLUMN_ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        if x.dtype != y.dtype or x.shape != y.shape:
            out.append(f"{name}: {x.dtype}{x.shape} != {y.dtype}{y.shape}")
        elif not np.array_equal(x, y):
            i = int(np.nonzero(x != y)[0][0])
            out.append(f"{name}: first difference at row {i}: {x[i]!r} != {y[i]!r}")
    if a.strings != b.strings:
        out.append(f"strings differ ({len(a.strings)} vs {len(b.strings)})")
    if meta and a.meta != b.meta:
        out.append(f"meta: {a.meta} != {b.meta}")
    return out
