"""The limits every request to the bot or to POST /diagnose is held to."""
from __future__ import annotations

import os
from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Bounds on one analysis and on the server as a whole.

    max_bytes:   largest trace accepted (checked from Slack's file metadata or the request's
                 Content-Length before any byte is read, and again while streaming).
    timeout_s:   wall time of one analysis child; it is killed (its process group) after it.
    memory_mb:   RLIMIT_AS of the child (address space), so a hostile trace cannot exhaust RAM.
    workers:     analyses running at once (children alive at once).
    queue:       requests waiting for a worker; past it the request is refused ("queue full").
    url_timeout_s: total time to fetch a trace from a user-given URL (slash command).
    """

    max_bytes: int = 256 * MB
    timeout_s: float = 300.0
    memory_mb: int = 4096
    workers: int = max(1, os.cpu_count() or 1)
    queue: int = 16
    url_timeout_s: float = 30.0

    @property
    def cpu_s(self) -> int:
        """RLIMIT_CPU of the child: the wall limit plus slack (the wall limit is what bites)."""
        return int(self.timeout_s) + 5
