"""A `netpoll-diagnose capture` bundle: a directory holding a trace and the strace log of the
same window (diagnose/capture.py writes it). Reading it is input handling, so it lives here."""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import UsageError

BUNDLE_FILE = "bundle.json"
TRACE_FILE = "trace.out"
STRACE_FILE = "strace.log"


def load_bundle(directory: str | os.PathLike) -> tuple[Path, Path | None, int | None]:
    """(trace path, strace log path or None, recorded clock offset or None) of a capture DIR."""
    d = Path(directory)
    meta: dict = {}
    if (d / BUNDLE_FILE).is_file():
        try:
            meta = json.loads((d / BUNDLE_FILE).read_text(encoding="utf-8"))
        except (ValueError, OSError) as e:
            raise UsageError(f"{d / BUNDLE_FILE}: not a capture bundle description ({e})") from None
    trace = d / meta.get("trace", TRACE_FILE)
    if not trace.is_file():
        raise UsageError(f"{d}: a directory but no capture bundle ({TRACE_FILE} missing)")
    log = d / meta.get("strace", STRACE_FILE)
    offset = meta.get("clock_offset_ns")
    return trace, (log if log.is_file() and log.stat().st_size else None), offset if isinstance(offset, int) else None


def resolve_inputs(trace: str, strace: Path | None) -> tuple[str, Path | None, int | None]:
    """The diagnose command's inputs: a bundle DIR becomes its trace + log (+ recorded offset)."""
    if trace != "-" and os.path.isdir(trace):
        t, log, offset = load_bundle(trace)
        return str(t), strace or log, offset
    return trace, strace, None
