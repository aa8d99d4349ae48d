"""Bounded downloads: a Slack file (the bot token goes to Slack only) and a user-given URL.

Every download is held to a size limit (the declared Content-Length is refused before any
body byte is read; the stream is cut at the limit whatever was declared) and a total time
limit (each socket read waits at most what is left of it), and is written to a file in the
request's temporary directory.

A URL from a user (the slash command) is a server-side request forgery risk, so it is held to
more (`fetch_user_url`): scheme http or https only, no user:password@, the host's addresses
are resolved once and each must be a public (global) address -- no loopback, private,
link-local (cloud metadata 169.254.169.254), multicast or reserved ones -- and the connection
goes to the address that was checked (no second DNS answer); at most 3 redirects, each
checked the same way; nothing is sent but a plain GET without credentials. `allow_private`
turns the address check off (tests, or a deliberately internal deployment).
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from pathlib import Path
from typing import Callable
from urllib.parse import urljoin, urlsplit

CHUNK = 256 * 1024
MAX_REDIRECTS = 3
USER_AGENT = "netpoll-diagnose-bot"


class FetchError(Exception):
    """A download refused or failed; the message is one line a user can read."""


class TooLarge(FetchError):
    """Over the size limit: `TooLarge.of(size, limit)` says both (size None: not known yet)."""

    @classmethod
    def of(cls, size: int | None, limit: int) -> "TooLarge":
        what = f"the file ({_fmt_mb(size)})" if size is not None else "the file"
        return cls(f"{what} is larger than the server's limit ({_fmt_mb(limit)})")


def _fmt_mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n} bytes"


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to an address checked beforehand (the Host header keeps the name)."""

    def __init__(self, host: str, ip: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, ip: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def public_address(host: str, port: int, allow_private: bool) -> str:
    """The address to connect to for `host`; FetchError unless every one it has is public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise FetchError(f"cannot resolve {host}") from e
    addrs = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if not allow_private and (not ip.is_global or ip.is_multicast):
            raise FetchError(f"{host} is not a public address; the bot fetches public URLs only")
        addrs.append(str(ip))
    if not addrs:
        raise FetchError(f"cannot resolve {host}")
    return addrs[0]


def _check_url(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError("only http:// and https:// URLs are fetched")
    if parts.username or parts.password:
        raise FetchError("URLs with a user name or password are not fetched")
    if not parts.hostname:
        raise FetchError("the URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as e:
        raise FetchError("the URL has a bad port") from e
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, path


def _stream(resp: http.client.HTTPResponse, dest: Path, max_bytes: int, deadline: float, sock_timeout) -> int:
    n = 0
    with open(dest, "wb") as out:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise FetchError("the download took longer than the server's limit")
            sock_timeout(left)
            chunk = resp.read1(CHUNK) if hasattr(resp, "read1") else resp.read(CHUNK)
            if not chunk:
                return n
            n += len(chunk)
            if n > max_bytes:
                raise TooLarge.of(None, max_bytes)
            out.write(chunk)


def _get(scheme: str, host: str, ip: str, port: int, path: str, headers: dict[str, str],
         dest: Path, max_bytes: int, deadline: float) -> tuple[int, str | None, int]:
    """One GET. Returns (status, Location, bytes written); writes the body only for 200."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError("the download took longer than the server's limit")
    cls = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    conn = cls(host, ip, port, timeout=min(left, 30.0))
    try:
        conn.request("GET", path, headers={"User-Agent": USER_AGENT, **headers})
        resp = conn.getresponse()
        if resp.status in (301, 302, 303, 307, 308):
            return resp.status, resp.getheader("Location"), 0
        if resp.status != 200:
            raise FetchError(f"the download failed (HTTP {resp.status})")
        if (resp.getheader("Content-Type") or "").startswith("text/html"):
            raise FetchError("the download returned a web page, not a trace (is the link public, "
                             "and does the bot have the files:read scope?)")
        declared = resp.getheader("Content-Length")
        if declared and declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
            raise TooLarge.of(int(declared), max_bytes)

        def set_timeout(s: float) -> None:
            if conn.sock is not None:
                conn.sock.settimeout(min(s, 30.0))

        return 200, None, _stream(resp, dest, max_bytes, deadline, set_timeout)
    except (OSError, http.client.HTTPException) as e:
        if isinstance(e, socket.timeout) or "timed out" in str(e):
            raise FetchError("the download took longer than the server's limit") from e
        raise FetchError(f"the download failed ({type(e).__name__})") from e
    finally:
        conn.close()


def _follow(url: str, dest: Path, max_bytes: int, timeout_s: float,
            hop: Callable[[str, int], tuple[str, dict[str, str]]]) -> int:
    """GET `url`, following at most MAX_REDIRECTS redirects; `hop(host, port)` vets each one
    and returns the address to connect to and the headers to send it."""
    deadline = time.monotonic() + timeout_s
    for _ in range(MAX_REDIRECTS + 1):
        scheme, host, port, path = _check_url(url)
        ip, headers = hop(host, port)
        status, location, n = _get(scheme, host, ip, port, path, headers, dest, max_bytes, deadline)
        if status == 200:
            return n
        if not location:
            raise FetchError(f"the download failed (HTTP {status} without a Location)")
        url = urljoin(url, location)
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


def fetch_user_url(url: str, dest: Path, max_bytes: int, timeout_s: float, allow_private: bool = False) -> int:
    """Download a user-given http(s) URL under the SSRF rules above; returns the size."""
    return _follow(url, dest, max_bytes, timeout_s, lambda host, port: (public_address(host, port, allow_private), {}))


def host_allowed(host: str, allowed: set[str]) -> bool:
    """`host` is one of `allowed`, or under one of its ".suffix" entries (".slack.com")."""
    host = host.lower()
    return host in allowed or any(a.startswith(".") and host.endswith(a) for a in allowed)


def fetch_slack_file(url: str, token: str, dest: Path, max_bytes: int, timeout_s: float,
                     allowed_hosts: set[str]) -> int:
    """Download a Slack file (`url_private_download`) with the bot token; returns the size.

    The token is sent only to `allowed_hosts` (Slack's file host, or the --slack-api-url host),
    on every hop: a redirect elsewhere is refused, not followed without it.
    """
    def hop(host: str, port: int) -> tuple[str, dict[str, str]]:
        if not host_allowed(host, allowed_hosts):
            raise FetchError("the file's download link is not on Slack's file host")
        return public_address(host, port, allow_private=True), {"Authorization": f"Bearer {token}"}

    return _follow(url, dest, max_bytes, timeout_s, hop)
