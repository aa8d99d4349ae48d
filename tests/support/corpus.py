"""The fixture corpus as tests see it: the manifest's entries and their Go versions."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, TypeVar

import pytest

from diagnose.errors import TraceError

from diagnose.rules.testing import ManifestEntry, load_manifest

REPO = Path(__file__).resolve().parent.parent.parent
# NETPOLL_DIAGNOSE_MANIFEST is the documented name; NETPOLL_FIXTURES_MANIFEST is the older one the
# corpus-wide tests (features, graph, timeline, profile) read, still honoured.
MANIFEST = Path(os.environ.get("NETPOLL_DIAGNOSE_MANIFEST") or os.environ.get("NETPOLL_FIXTURES_MANIFEST")
                or REPO / "fixtures" / "manifest.json")
ENTRIES: list[ManifestEntry] = load_manifest(MANIFEST) if MANIFEST.is_file() else []
# The entries whose trace file is on disk: what the corpus-wide tests parametrize over.
PRESENT: list[ManifestEntry] = [e for e in ENTRIES if e.trace.exists()]
NO_CORPUS = "fixtures/manifest.json not present (fixture corpus)"


def go_key(e: ManifestEntry) -> tuple[int, ...]:
    """A sort key for an entry's Go version (1.19.8 < 1.21.13 < ... < 1.27.3)."""
    return tuple(int(x) for x in e.go.split(".") if x.isdigit())


def entry_id(e: ManifestEntry) -> str:
    """A test id for a manifest entry: scenario-variant-goVERSION."""
    return f"{e.scenario}-{e.variant}-go{e.go}"


T = TypeVar("T")


def or_skip_unsupported(read: Callable[..., T], *args: object) -> T:
    """read(*args), skipping the test (with the reader's message) when the trace's format is
    one the reader does not support yet; any other TraceError is a failure."""
    try:
        return read(*args)
    except TraceError as exc:
        if "not supported yet" in str(exc):
            pytest.skip(f"reader cannot read this format yet: {exc}")
        raise
