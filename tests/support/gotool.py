"""Finding a pinned Go toolchain from tests, and the environment to run it in.

`tools/gotoolchains.py` is the installer; these helpers fall back to a pre-installed copy
so that Go-comparison tests can run (or skip with a reason) where it cannot be imported.
"""
from __future__ import annotations

import os
from pathlib import Path


def go_env(version: str) -> dict[str, str]:
    """A hermetic environment for running Go `version` (tools/gotoolchains.go_env, or this
    environment without GO* variables and with no network or toolchain switch)."""
    try:
        from tools.gotoolchains import go_env as _go_env

        return _go_env(version)
    except ImportError:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
        env.update(GOTOOLCHAIN="local", GOFLAGS="", GOPROXY="off", GOENV="off", GOTELEMETRY="off")
        return env


def find_installed_go(version: str) -> tuple[Path | None, str]:
    """(path of an installed `go` of `version`, why not found); never installs. Looks in
    tools/gotoolchains.py's cache, Debian's Go 1.19, then $NETPOLL_GO_SEED and /work/gocache."""
    why = []
    try:
        from tools.gotoolchains import ToolchainUnavailable, go_binary

        try:
            return go_binary(version, install=False), ""
        except ToolchainUnavailable as exc:
            why.append(str(exc))
        except ValueError as exc:
            why.append(str(exc))
    except ImportError as exc:
        why.append(f"tools.gotoolchains not importable ({exc})")
    if version == "1.19" and Path("/usr/lib/go-1.19/bin/go").exists():
        return Path("/usr/lib/go-1.19/bin/go"), ""
    for seed in filter(None, [os.environ.get("NETPOLL_GO_SEED"), "/work/gocache"]):
        go = Path(seed) / version / "bin" / "go"
        if go.exists():
            return go, ""
    why.append(f"no go{version} under $NETPOLL_GO_SEED or /work/gocache")
    return None, "; ".join(why) + f" -- run `python tools/gotoolchains.py {version}`"
