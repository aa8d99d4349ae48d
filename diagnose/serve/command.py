"""The ``netpoll-diagnose serve`` command (registered on the CLI's typer app by `register`)."""
from __future__ import annotations

import os
import signal
import threading
from typing import Annotated, Optional

import typer

from diagnose.errors import UsageError

from .limits import MB, Limits
from .service import SLACK_API_URL, Service, Settings

DEFAULT_PORT = 3000


def serve(
    port: Annotated[Optional[int], typer.Option("--port", "-p", help="HTTP port: /slack/events (HTTP mode), POST /diagnose, /healthz. Default 3000 unless in Socket Mode.")] = None,
    host: Annotated[str, typer.Option("--host", help="address to listen on (loopback by default: put it behind "
                                                     "your proxy, or say --host 0.0.0.0)")] = "127.0.0.1",
    workers: Annotated[int, typer.Option("--workers", help="analyses at once (default: number of cores)")] = Limits.workers,
    queue: Annotated[int, typer.Option("--queue", help="requests waiting for a worker before 'queue full'")] = Limits.queue,
    max_mb: Annotated[int, typer.Option("--max-mb", help="largest trace accepted, MB")] = Limits.max_bytes // MB,
    timeout: Annotated[float, typer.Option("--timeout", help="wall-time limit of one analysis, seconds")] = Limits.timeout_s,
    memory_mb: Annotated[int, typer.Option("--memory-mb", help="memory (address space) limit of one analysis, MB")] = Limits.memory_mb,
    url_timeout: Annotated[float, typer.Option("--url-timeout", help="time limit of one download, seconds")] = Limits.url_timeout_s,
    slack_api_url: Annotated[str, typer.Option("--slack-api-url", help="Slack Web API base URL")] = SLACK_API_URL,
    allow_private_urls: Annotated[bool, typer.Option("--allow-private-urls", help="let /netpoll-diagnose URL fetch private/loopback addresses (internal deployments, tests)")] = False,
    grace: Annotated[float, typer.Option("--grace", help="on SIGTERM, seconds running analyses get to finish")] = 20.0,
) -> None:
    """Run the Slack bot and the plain HTTP endpoint (POST /diagnose).

    Environment: SLACK_BOT_TOKEN, and SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET
    (HTTP mode); NETPOLL_DIAGNOSE_TOKEN makes POST /diagnose require that bearer token.
    Without SLACK_BOT_TOKEN only POST /diagnose and /healthz are served.
    """
    env = os.environ
    settings = Settings(
        host=host, port=port,
        limits=Limits(max_bytes=max_mb * MB, timeout_s=timeout, memory_mb=memory_mb, workers=workers,
                      queue=queue, url_timeout_s=url_timeout),
        bot_token=env.get("SLACK_BOT_TOKEN") or None, app_token=env.get("SLACK_APP_TOKEN") or None,
        signing_secret=env.get("SLACK_SIGNING_SECRET") or None, http_token=env.get("NETPOLL_DIAGNOSE_TOKEN") or None,
        slack_api_url=slack_api_url, allow_private_urls=allow_private_urls, grace_s=grace)
    if settings.mode == "http" and not settings.signing_secret:
        raise UsageError("HTTP mode needs SLACK_SIGNING_SECRET (or set SLACK_APP_TOKEN for Socket Mode)")
    if settings.port is None and settings.mode != "socket":
        settings.port = DEFAULT_PORT
    if min(workers, max_mb, memory_mb) < 1 or queue < 0 or timeout <= 0:
        raise UsageError("--workers, --max-mb, --memory-mb must be >= 1, --queue >= 0, --timeout > 0")
    try:
        service = Service(settings)
    except OSError as e:
        raise UsageError(f"cannot listen on {host}:{settings.port}: {e.strerror}") from e
    except ImportError as e:
        raise UsageError(f"the Slack bot needs the serve extra: pip install 'netpoll-diagnose[serve]' ({e.name})") from e
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    service.start()
    while not stop.wait(1.0):
        pass
    service.stop()


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the CLI."""
    app.command("serve")(serve)
