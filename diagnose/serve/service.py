"""The running server: pool + children + HTTP server + (optionally) the Slack bot, and its stop.

Modes, chosen by the environment:

* ``SLACK_BOT_TOKEN`` and ``SLACK_APP_TOKEN``: Socket Mode (no public URL); the HTTP server
  (``/healthz``, ``POST /diagnose``) runs too when a port is given.
* ``SLACK_BOT_TOKEN`` and ``SLACK_SIGNING_SECRET``: HTTP mode, Slack posts to ``/slack/events``.
* no bot token: the plain endpoint only (``POST /diagnose``, ``/healthz``).

``stop()`` (SIGTERM) stops taking requests, tells the threads of queued requests they were not
analysed, gives running analyses `grace_s` to finish, then kills their children; every request
removes its own temporary directory as it unwinds, so nothing is left behind either way.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from diagnose.errors import UsageError

from .httpd import Server
from .limits import Limits
from .logs import RequestLog
from .pool import WorkPool
from .runner import Children

SLACK_API_URL = "https://slack.com/api/"


@dataclass
class Settings:
    host: str = "0.0.0.0"
    port: int | None = None
    limits: Limits = field(default_factory=Limits)
    bot_token: str | None = None
    app_token: str | None = None
    signing_secret: str | None = None
    http_token: str | None = None
    slack_api_url: str = SLACK_API_URL
    allow_private_urls: bool = False
    grace_s: float = 20.0

    @property
    def mode(self) -> str:
        if not self.bot_token:
            return "plain"
        return "socket" if self.app_token else "http"


def file_hosts(api_url: str) -> set[str]:
    """Hosts the bot token may be sent to for a file download."""
    host = (urlsplit(api_url).hostname or "").lower()
    hosts = {host}
    if host == "slack.com" or host.endswith(".slack.com"):
        hosts |= {"files.slack.com", ".slack.com"}
    return hosts


class Service:
    def __init__(self, settings: Settings, log: RequestLog | None = None) -> None:
        self.settings = s = settings
        self.log = log or RequestLog()
        self.children = Children()
        self.pool = WorkPool(s.limits.workers, s.limits.queue)
        self.app: Any = None
        self.bot: Any = None
        self.socket: Any = None
        self.httpd: Server | None = None
        self._threads: list[threading.Thread] = []
        self._stopped = threading.Event()
        if s.mode != "plain":
            self._build_slack()
        if s.port is not None:
            self.httpd = Server((s.host, s.port), limits=s.limits, pool=self.pool, children=self.children,
                                log=self.log, bolt_app=self.app if s.mode == "http" else None, token=s.http_token)

    def _build_slack(self) -> None:
        from slack_bolt import App
        from slack_bolt.error import BoltError
        from slack_sdk import WebClient
        from slack_sdk.errors import SlackClientError
        from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

        from .slackbot import TraceBot

        s = self.settings
        base = s.slack_api_url if s.slack_api_url.endswith("/") else s.slack_api_url + "/"
        client = WebClient(token=s.bot_token, base_url=base, timeout=30)
        client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))  # busy channels: 429
        try:  # Bolt checks the token with auth.test here
            self.app = App(client=client, signing_secret=s.signing_secret or "", process_before_response=False)
        except (BoltError, SlackClientError) as e:
            raise UsageError("Slack refused SLACK_BOT_TOKEN or could not be reached: "
                             + " ".join(str(e).split())[:200]) from e
        self.bot = TraceBot(client, s.limits, self.pool, self.children, self.log, file_hosts(base),
                            allow_private_urls=s.allow_private_urls)
        self.bot.register(self.app)

    @property
    def port(self) -> int | None:
        return self.httpd.server_address[1] if self.httpd else None

    def start(self) -> None:
        if self.httpd:
            t = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                 name="diagnose-http", daemon=True)
            t.start()
            self._threads.append(t)
        if self.settings.mode == "socket":
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            self.socket = SocketModeHandler(self.app, self.settings.app_token)
            self.socket.connect()
        self.log.write("started", mode=self.settings.mode, port=self.port, workers=self.pool.workers,
                       queue=self.settings.limits.queue, max_bytes=self.settings.limits.max_bytes)

    def stop(self) -> None:
        """Stop taking work; finish or abandon what is in flight; leave no child or temp file."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self.socket is not None:
            self.socket.close()
        if self.httpd:
            self.httpd.shutdown()
        busy = self.pool.shutdown(self.settings.grace_s)
        killed = self.children.kill_all()
        self.pool.join(10.0)
        if self.httpd:
            self.httpd.server_close()
        self.log.write("stopped", busy_at_deadline=busy, children_killed=killed)
