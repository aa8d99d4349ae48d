"""The fixture corpus as tests see it: the manifest's entries and their Go versions."""
from __future__ import annotations

import os
from pathlib import Path

from diagnose.rules.testing import ManifestEntry, load_manifest

REPO = Path(__file__).resolve().parent.parent.parent
MANIFEST = Path(os.environ.get("NETPOLL_DIAGNOSE_MANIFEST") or REPO / "fixtures" / "manifest.json")
ENTRIES: list[ManifestEntry] = load_manifest(MANIFEST) if MANIFEST.is_file() else []
NO_CORPUS = "fixtures/manifest.json not present (fixture corpus)"


def go_key(e: ManifestEntry) -> tuple[int, ...]:
    """A sort key for an entry's Go version (1.19.8 < 1.21.13 < ... < 1.27.3)."""
    return tuple(int(x) for x in e.go.split(".") if x.isdigit())
