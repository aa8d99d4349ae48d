"""The HTTP server: ``POST /slack/events`` (HTTP mode), ``POST /diagnose``, ``GET /healthz``.

``POST /diagnose?format=json|markdown|slack|html`` takes the trace bytes as the body
(Content-Length required, at most the size limit: 413 before reading otherwise) and answers
with the report (200; header ``X-Netpoll-Exit`` 0 = nothing at or above warning, 1 = findings,
2 = an incomplete diagnosis, as the CLI).
Errors are one plain-text line: 400 bad format, 401 missing/wrong bearer token (when one is
configured), 411 no length, 413 too large, 422 not a readable trace (the CLI's own line),
503 queue full (with Retry-After), 504 analysis over the time limit, 500 anything else.

Slack's requests go to the Bolt app (signature and timestamp checks are Bolt's
RequestVerification: a bad signature or a timestamp older than 5 minutes is 401).
"""
from __future__ import annotations

import hmac
import json
import shutil
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import reply
from .limits import Limits
from .logs import RequestLog
from .pool import FnJob, WorkPool
from .runner import Children, Outcome, diagnose_trace

SLACK_BODY_MAX = 1024 * 1024
FORMATS = {"json": "application/json", "markdown": "text/markdown; charset=utf-8",
           "slack": "application/json", "html": "text/html; charset=utf-8"}
STATUS = {"bad_input": 422, "timeout": 504, "memory": 422, "shutdown": 503, "failed": 500}
CHUNK = 256 * 1024


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # listen() backlog: socketserver's default of 5 resets connections when Slack sends a burst
    # (seen in benchmarks/bench_serve.py: 3 of 20 concurrent events refused).
    request_queue_size = 128

    def __init__(self, addr: tuple[str, int], *, limits: Limits, pool: WorkPool, children: Children,
                 log: RequestLog, bolt_app: Any = None, token: str | None = None) -> None:
        super().__init__(addr, Handler)
        self.limits, self.pool, self.children, self.log = limits, pool, children, log
        self.bolt_app, self.token = bolt_app, token
        self.started = time.time()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up is not worth a traceback; our own bugs still print theirs."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"
    timeout = 60  # seconds a connection may sit idle or trickle (no slow-client thread pile-up)

    def version_string(self) -> str:
        return "netpoll-diagnose"

    def log_message(self, format: str, *args: Any) -> None:  # the request log replaces it
        pass

    # --- helpers ---------------------------------------------------------------------------

    def _send(self, status: int, body: bytes | str, ctype: str = "text/plain; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _length(self) -> int | None:
        v = (self.headers.get("Content-Length") or "").strip()
        # ASCII digits only: str.isdigit() also accepts "²", which int() refuses (a traceback)
        return int(v) if v.isascii() and v.isdigit() else None

    # --- routes ----------------------------------------------------------------------------

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/healthz":
            s = self.server
            body = {"ok": True, "workers": s.pool.workers, "running": s.pool.running, "queued": s.pool.queued,
                    "slack": s.bolt_app is not None, "uptime_s": round(time.time() - s.started)}
            self._send(200, json.dumps(body) + "\n", "application/json")
        else:
            self._send(404, "not found\n")

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path == "/slack/events" and self.server.bolt_app is not None:
            self._slack()
        elif path == "/diagnose":
            self._diagnose()
        else:
            self.close_connection = True
            self._send(404, "not found\n")

    def _slack(self) -> None:
        from slack_bolt import BoltRequest

        t0 = time.monotonic()
        n = self._length()
        if n is None or n > SLACK_BODY_MAX:
            self.close_connection = True
            self._send(413 if n else 411, "request too large or without length\n")
            return
        body = self.rfile.read(n).decode("utf-8", "replace")
        headers = {k.lower(): [v] for k, v in self.headers.items()}
        query = urlsplit(self.path).query
        resp = self.server.bolt_app.dispatch(BoltRequest(body=body, query=query, headers=headers))
        self.send_response(resp.status)
        data = (resp.body or "").encode()
        for k, vs in resp.headers.items():
            if k.lower() != "content-length":
                for v in vs:
                    self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        if resp.status != 200:
            self.server.log.write("slack_request", status=resp.status, ms=round(1000 * (time.monotonic() - t0)))

    def _diagnose(self) -> None:
        s = self.server
        t0 = time.monotonic()
        fields: dict[str, Any] = {"trigger": "http"}
        try:
            self._diagnose_inner(fields)
        finally:
            fields["ms"] = round(1000 * (time.monotonic() - t0))
            s.log.write("request", **fields)

    def _refuse(self, fields: dict, status: int, msg: str, headers: dict[str, str] | None = None) -> int:
        fields.update(http=status, status=fields.get("status") or "refused", error=msg)
        self.close_connection = True
        self._send(status, msg + "\n", headers=headers)
        return status

    def _diagnose_inner(self, fields: dict[str, Any]) -> int:
        s = self.server
        if s.token:
            got = self.headers.get("Authorization", "")
            if not hmac.compare_digest(got.encode(), f"Bearer {s.token}".encode()):
                return self._refuse(fields, 401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
        fmt = (parse_qs(urlsplit(self.path).query).get("format") or ["json"])[0]
        if fmt not in FORMATS:
            return self._refuse(fields, 400, f"format must be one of {', '.join(FORMATS)}")
        n = self._length()
        if n is None:
            return self._refuse(fields, 411, "Content-Length required (the trace bytes as the body)")
        fields["bytes"] = n
        if n > s.limits.max_bytes:
            return self._refuse(fields, 413, f"the trace ({n} bytes) is larger than the server's limit "
                                             f"({s.limits.max_bytes} bytes)")
        tmp = Path(tempfile.mkdtemp(prefix="netpoll-http-"))
        try:
            name = "trace.out"
            if not self._read_body(tmp / name, n):
                return self._refuse(fields, 400, "the request body ended early")
            done = threading.Event()
            result: list[Outcome] = []

            def run() -> None:
                try:
                    result.append(diagnose_trace(tmp, name, [fmt], s.limits, s.children))
                finally:
                    done.set()

            if not s.pool.submit(FnJob(run, done.set)):
                fields["status"] = "queue_full"
                return self._refuse(fields, 503, "the server is busy (queue full); try again later", {"Retry-After": "30"})
            done.wait()
            if not result:
                fields["status"] = "abandoned"
                return self._refuse(fields, 503, "the server is shutting down; try again later")
            out = result[0]
            fields.update(status=out.kind, exit=out.exit_code, analysis_ms=round(1000 * out.seconds))
            if not out.ok:
                return self._refuse(fields, STATUS.get(out.kind, 500), out.error)
            fields["verdict"] = reply.verdict_of(out.outputs.get("json"))
            self._send(200, out.outputs[fmt], FORMATS[fmt], {"X-Netpoll-Exit": str(out.exit_code)})
            fields["http"] = 200
            return 200
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _read_body(self, dest: Path, n: int) -> bool:
        self.connection.settimeout(60)
        left = n
        with open(dest, "wb") as f:
            while left:
                chunk = self.rfile.read(min(CHUNK, left))
                if not chunk:
                    return False
                f.write(chunk)
                left -= len(chunk)
        return True

