"""The fixture corpus as tests see it: the manifest's entries and their Go versions."""
from __future__ import annotations

import os
from pathlib import Path

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
