"""One structured log line per request: JSON on stderr, no trace content, no secrets."""
from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

_lock = threading.Lock()


class RequestLog:
    """Writes ``{"ts":..., "event": "...", ...}`` lines (sizes in bytes, times in ms)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out

    def write(self, event: str, **fields: Any) -> None:
        rec = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": event}
        rec.update({k: v for k, v in fields.items() if v is not None})
        line = json.dumps(rec, ensure_ascii=False, default=str)
        out = self.out or sys.stderr
        with _lock:
            out.write(line + "\n")
            out.flush()
