"""Where the shipped rules and knowledge entries live.

In an installed wheel they are package data: ``diagnose/_data/rules`` and
``diagnose/_data/knowledge`` (see pyproject's ``package-dir``). In a source checkout they are
the top-level ``rules/`` and ``knowledge/`` folders. Installed package data wins, so an
installed tool never reads a stray checkout; the source tree is the fallback for editable
installs and for running from the repository.
"""
from __future__ import annotations

from pathlib import Path

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # .../diagnose
_SOURCE_ROOT = _PACKAGE_ROOT.parent  # repo root when running from a checkout


def _find(name: str) -> Path:
    installed = _PACKAGE_ROOT / "_data" / name
    if installed.is_dir() and any(installed.iterdir()):
        return installed
    source = _SOURCE_ROOT / name
    if source.is_dir():
        return source
    raise FileNotFoundError(
        f"netpoll-diagnose: shipped {name}/ not found (looked in {installed} and {source})"
    )


def rules_dir() -> Path:
    """The folder of shipped rule files."""
    return _find("rules")


def knowledge_dir() -> Path:
    """The folder of shipped knowledge entries."""
    return _find("knowledge")


def repo_root() -> Path | None:
    """The source checkout's root, if we run from one (it has fixtures/ and pyproject.toml)."""
    if (_SOURCE_ROOT / "pyproject.toml").is_file():
        return _SOURCE_ROOT
    return None
