"""A local stand-in for Slack's Web API that records every call (tests and benchmarks only).

Serves on 127.0.0.1 the methods the bot calls -- ``auth.test``, ``files.info``, the file
download URL (``/files/ID``, bearer token required), ``chat.postMessage``,
``files.getUploadURLExternal``, the upload URL (``/upload/ID``),
``files.completeUploadExternal``, ``conversations.replies`` -- plus ``/pub/NAME`` for a
slash command's URL, and Socket Mode: ``apps.connections.open`` (app token) hands out
``ws://.../link``, a minimal WebSocket endpoint; `ws_send` pushes an envelope to the connected
bot and `ws_received` holds what it sent back (its acks). Files are registered with `add_file`; `calls` holds (method, params)
in arrival order; `wait_for` polls for a condition with a deadline.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

BOT_USER = "UBOT"
BOT_TOKEN = "xoxb-test-token"


class FakeSlack(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.blobs: dict[str, bytes] = {}
        self.uploads: dict[str, bytes] = {}
        self.threads: dict[tuple[str, str], list[dict]] = {}
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self.ws: socket.socket | None = None
        self.ws_lock = threading.Lock()
        self.ws_received: list[dict] = []
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up is expected
            super().handle_error(request, client_address)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.base + "/api/"

    def __enter__(self) -> "FakeSlack":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()
        self.server_close()

    # --- state ---------------------------------------------------------------------------

    def add_file(self, data: bytes, name: str, size: int | None = None, channel: str = "C1",
                 ts: str | None = None, user: str = "UALICE") -> dict[str, Any]:
        """Register a file; returns the ``files[]`` entry a message event carries."""
        fid = f"F{next(self._ids):05d}"
        meta = {"id": fid, "name": name, "title": name, "size": len(data) if size is None else size,
                "user": user, "url_private_download": f"{self.base}/files/{fid}",
                "shares": {"public": {channel: [{"ts": ts or "1.0"}]}}}
        with self.lock:
            self.files[fid] = meta
            self.blobs[fid] = data
        return dict(meta)

    def record(self, method: str, params: dict[str, Any]) -> None:
        with self.lock:
            self.calls.append((method, params))

    def called(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [p for m, p in self.calls if m == method]

    def posts(self, channel: str | None = None, thread_ts: str | None = None) -> list[dict[str, Any]]:
        return [p for p in self.called("chat.postMessage")
                if (channel is None or p.get("channel") == channel)
                and (thread_ts is None or p.get("thread_ts") == thread_ts)]

    def wait_for(self, cond: Callable[[], Any], timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = cond()
            if v:
                return v
            time.sleep(0.05)
        raise AssertionError(f"condition not met in {timeout:g} s; calls: {[m for m, _ in self.calls]}")

    def ws_send(self, message: dict) -> None:
        """Push one text frame (JSON) to the connected Socket Mode client."""
        data = json.dumps(message).encode()
        n = len(data)
        head = bytes([0x81, n]) if n < 126 else (bytes([0x81, 126]) + struct.pack(">H", n) if n < 65536
                                                  else bytes([0x81, 127]) + struct.pack(">Q", n))
        with self.ws_lock:
            assert self.ws is not None, "no Socket Mode client connected"
            self.ws.sendall(head + data)

    def next_ts(self) -> str:
        return f"{1700000000 + next(self._ts)}.000100"


class _Handler(BaseHTTPRequestHandler):
    server: FakeSlack
    protocol_version = "HTTP/1.1"

    def log_message(self, *a: Any) -> None:
        pass

    def _reply(self, status: int, body: bytes | dict, ctype: str = "application/json") -> None:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _params(self) -> dict[str, Any]:
        parts = urlsplit(self.path)
        params: dict[str, Any] = {k: v[0] for k, v in parse_qs(parts.query).items()}
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        ctype = self.headers.get("Content-Type", "")
        if urlsplit(self.path).path.startswith("/upload/"):
            return {"_body": raw}
        if raw and ctype.startswith("application/json"):
            params.update(json.loads(raw))
        elif raw and ctype.startswith("application/x-www-form-urlencoded"):
            params.update({k: v[0] for k, v in parse_qs(raw.decode()).items()})
        elif raw:
            params["_body"] = raw
        if isinstance(params.get("files"), str):  # files.completeUploadExternal sends it as JSON text
            params["files"] = json.loads(params["files"])
        return params

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/link" and self.headers.get("Upgrade", "").lower() == "websocket":
            return self._websocket()
        self._route()

    def _websocket(self) -> None:
        """RFC 6455 server side, just enough for Slack's Socket Mode client."""
        s = self.server
        key = self.headers["Sec-WebSocket-Key"]
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        self.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        self.wfile.flush()
        with s.ws_lock:
            s.ws = self.connection
        self.close_connection = True
        while True:
            head = self.rfile.read(2)
            if len(head) < 2:
                break
            opcode, n = head[0] & 0x0F, head[1] & 0x7F
            if n == 126:
                n = struct.unpack(">H", self.rfile.read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self.rfile.read(8))[0]
            mask = self.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(n)))
            if opcode == 0x8:  # close
                break
            if opcode == 0x9:  # ping -> pong
                with s.ws_lock:
                    self.connection.sendall(bytes([0x8A, len(payload)]) + payload)
            elif opcode == 0x1:
                with s.lock:
                    s.ws_received.append(json.loads(payload))
        with s.ws_lock:
            s.ws = None

    def do_POST(self) -> None:
        self._route()

    def _route(self) -> None:
        s = self.server
        path = urlsplit(self.path).path
        params = self._params()
        auth = self.headers.get("Authorization", "")
        if path.startswith("/files/"):
            fid = path.rsplit("/", 1)[-1]
            s.record("download", {"file": fid, "auth": auth})
            if auth != f"Bearer {BOT_TOKEN}":
                return self._reply(302, b"", "text/html")
            return self._reply(200, s.blobs[fid], "application/octet-stream")
        if path.startswith("/pub/"):
            name = path.rsplit("/", 1)[-1]
            s.record("public_get", {"name": name, "auth": auth})
            blob = next((s.blobs[f] for f, m in s.files.items() if m["name"] == name), None)
            return self._reply(200 if blob is not None else 404, blob or b"", "application/octet-stream")
        if path.startswith("/upload/"):
            s.record("upload", {"file": path.rsplit("/", 1)[-1], "bytes": len(params.get("_body", b""))})
            with s.lock:
                s.uploads[path.rsplit("/", 1)[-1]] = params.get("_body", b"")
            return self._reply(200, b"OK - 0", "text/plain")
        method = path.removeprefix("/api/")
        s.record(method, params)
        if method == "apps.connections.open":
            ok = auth.startswith("Bearer xapp-")
            return self._reply(200, {"ok": True, "url": f"ws://127.0.0.1:{s.server_address[1]}/link"} if ok
                               else {"ok": False, "error": "not_allowed_token_type"})
        if auth != f"Bearer {BOT_TOKEN}":
            return self._reply(200, {"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return self._reply(200, {"ok": True, "user_id": BOT_USER, "bot_id": "BBOT", "team_id": "T1",
                                     "user": "netpoll", "team": "test", "url": s.base + "/"})
        if method == "files.info":
            meta = s.files.get(params.get("file", ""))
            return self._reply(200, {"ok": True, "file": meta} if meta else {"ok": False, "error": "file_not_found"})
        if method == "chat.postMessage":
            return self._reply(200, {"ok": True, "channel": params.get("channel"), "ts": s.next_ts()})
        if method == "files.getUploadURLExternal":
            fid = f"FU{next(s._ids):05d}"
            return self._reply(200, {"ok": True, "upload_url": f"{s.base}/upload/{fid}", "file_id": fid})
        if method == "files.completeUploadExternal":
            return self._reply(200, {"ok": True, "files": params.get("files")})
        if method == "conversations.replies":
            msgs = s.threads.get((params.get("channel", ""), params.get("ts", "")), [])
            return self._reply(200, {"ok": True, "messages": msgs})
        return self._reply(200, {"ok": False, "error": "unknown_method"})


def sign(secret: str, body: str, ts: int | None = None) -> dict[str, str]:
    """Slack's request-signing headers for `body` (v0 HMAC-SHA256 of "v0:TS:BODY")."""
    ts = int(time.time()) if ts is None else ts
    base = f"v0:{ts}:{body}".encode()
    sig = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sig}


def message_event(event_id: str, channel: str, ts: str, files: list[dict], text: str = "",
                  thread_ts: str | None = None, channel_type: str = "channel") -> dict[str, Any]:
    """An Events API envelope for a message carrying files."""
    ev: dict[str, Any] = {"type": "message", "subtype": "file_share", "user": "UALICE", "text": text,
                          "channel": channel, "channel_type": channel_type, "ts": ts, "files": files}
    if thread_ts:
        ev["thread_ts"] = thread_ts
    return envelope(event_id, ev)


def envelope(event_id: str, event: dict[str, Any]) -> dict[str, Any]:
    return {"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
            "event_id": event_id, "event_time": int(time.time()), "event": event,
            "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}]}
