"""The Slack side: Bolt listeners that turn a posted trace into a thread reply + HTML report.

Triggers (each answered in the thread of the message that carried the trace):

* a file shared in a channel the bot is in (``message`` with files, or ``file_shared``) whose
  name looks like a trace (``*.trace``, ``*.out``, ``*trace*``); in a DM, any file;
* an ``app_mention`` on a message carrying files, or in a thread under one (the latest
  message with files in the thread is taken);
* ``/netpoll-diagnose URL``: the trace is fetched from the URL (fetch.py's SSRF rules) and the
  answer goes in the thread of a message the bot posts in the channel.

A second trace in a thread that already had one diagnosed is answered with ``diff FIRST
SECOND``. Listeners only queue work (the ack goes back at once); a Slack retry (repeated
``event_id``) and the second event Slack sends for one upload (``message`` + ``file_shared``)
are answered once: the first claims the (channel, file) pair.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from . import reply
from .fetch import FetchError, TooLarge, fetch_slack_file, fetch_user_url
from .limits import Limits
from .logs import RequestLog
from .pool import WorkPool
from .runner import Children, Outcome, diagnose_trace, diff_traces, safe_name

COMMAND = "/netpoll-diagnose"
TRACE_NAME = re.compile(r"(?i)(\.(trace|out)$|trace)")
SKIP_SUBTYPES = {"bot_message", "message_changed", "message_deleted", "channel_join", "channel_leave"}
BEFORE_DIR = "_before"  # the first trace of a thread, when a second one is diffed against it
_SLACK_LINK = re.compile(r"^<([^|>]+)(\|[^>]*)?>$")


class Recent:
    """A bounded set/map of recent keys (oldest evicted): event ids, answered files, threads."""

    def __init__(self, size: int = 10_000) -> None:
        self._d: OrderedDict = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def claim(self, key: Any) -> bool:
        """True the first time `key` is seen."""
        with self._lock:
            if key in self._d:
                return False
            self._d[key] = True
            if len(self._d) > self._size:
                self._d.popitem(last=False)
            return True

    def get(self, key: Any) -> Any:
        with self._lock:
            return self._d.get(key)

    def put_if_absent(self, key: Any, value: Any) -> None:
        with self._lock:
            self._d.setdefault(key, value)
            if len(self._d) > self._size:
                self._d.popitem(last=False)


@dataclass
class SlackFile:
    id: str
    name: str = ""
    size: int | None = None
    url: str = ""          # url_private_download
    user: str = ""


@dataclass
class Where:
    """Where to answer: the channel and the thread's root message."""

    channel: str
    thread_ts: str


@dataclass(eq=False)
class TraceBot:
    """Holds the pool, the limits and the Web API client; registers the Bolt listeners."""

    client: WebClient
    limits: Limits
    pool: WorkPool
    children: Children
    log: RequestLog
    file_hosts: set[str]
    allow_private_urls: bool = False
    events: Recent = field(default_factory=Recent, init=False)  # event_id -> seen
    answered: Recent = field(default_factory=Recent, init=False)  # (channel, file id) -> claimed
    #: (channel, thread_ts) -> first diagnosed SlackFile
    threads: Recent = field(default_factory=lambda: Recent(2000), init=False)
    _bot_user: str | None = field(default=None, init=False)

    # --- identity ---------------------------------------------------------------------------

    @property
    def bot_user(self) -> str:
        if self._bot_user is None:
            self._bot_user = str(self.client.auth_test().get("user_id") or "")
        return self._bot_user

    # --- Bolt wiring ------------------------------------------------------------------------

    def register(self, app: App) -> None:
        app.middleware(self._once)
        app.event("message")(self.on_message)
        app.event("file_shared")(self.on_file_shared)
        app.event("app_mention")(self.on_mention)
        app.command(COMMAND)(self.on_command)

    def _once(self, body: dict, next: Callable[[], Any]) -> Any:
        """Answer a Slack retry (an event_id seen before) with 200 and nothing else."""
        event_id = body.get("event_id") if isinstance(body, dict) else None
        if event_id and not self.events.claim(event_id):
            self.log.write("slack_retry", event_id=event_id)
            return BoltResponse(status=200, body="")
        return next()

    def on_message(self, event: dict) -> None:
        if event.get("bot_id") or event.get("subtype") in SKIP_SUBTYPES or event.get("user") == self.bot_user:
            return
        files = [f for f in event.get("files") or [] if f.get("id")]
        if not files:
            return
        explicit = event.get("channel_type") == "im" or f"<@{self.bot_user}>" in (event.get("text") or "")
        where = Where(event["channel"], event.get("thread_ts") or event["ts"])
        for f in files:
            sf = _slack_file(f)
            if explicit or TRACE_NAME.search(sf.name or ""):
                self.schedule(where, sf, trigger="message")

    def on_file_shared(self, event: dict) -> None:
        if event.get("user_id") == self.bot_user or not event.get("channel_id"):
            return
        fid = event.get("file_id") or (event.get("file") or {}).get("id")
        if fid:
            self.schedule(None, SlackFile(fid), trigger="file_shared", channel=event["channel_id"])

    def on_mention(self, event: dict) -> None:
        channel = event["channel"]
        root = event.get("thread_ts") or event["ts"]
        where = Where(channel, root)
        files = [f for f in event.get("files") or [] if f.get("id")]
        if not files and event.get("thread_ts"):
            files = self._files_in_thread(channel, event["thread_ts"], before=event["ts"])
        if not files:
            self.post(where, "Mention me on a message carrying a trace (`trace.out`), or in its thread, "
                             f"or use `{COMMAND} URL`.")
            return
        for f in files:
            self.schedule(where, _slack_file(f), trigger="app_mention")

    def _files_in_thread(self, channel: str, thread_ts: str, before: str) -> list[dict]:
        try:
            resp = self.client.conversations_replies(channel=channel, ts=thread_ts, limit=200)
        except (SlackApiError, SlackClientError):
            return []
        for msg in reversed(resp.get("messages") or []):
            if float(msg.get("ts", "0")) < float(before) and msg.get("files") and not msg.get("bot_id"):
                return [f for f in msg["files"] if f.get("id")]
        return []

    def on_command(self, ack: Callable, command: dict, respond: Callable) -> None:
        m = _SLACK_LINK.match((command.get("text") or "").strip())
        url = m.group(1) if m else (command.get("text") or "").strip()
        if not url:
            ack(f"Usage: `{COMMAND} URL` (an http(s) link to a Go execution trace), or post the trace "
                "file in a channel I am in.")
            return
        ack()
        channel = command["channel_id"]
        try:
            # the user's text is escaped: "URL <!channel>" must not make the bot ping a channel
            resp = self.client.chat_postMessage(channel=channel, text=f"Diagnosing {reply.esc(url)} "
                                                f"(asked by <@{reply.esc(command.get('user_id', ''))}>)…",
                                                unfurl_links=False, unfurl_media=False)
        except SlackApiError as e:
            respond(f"I cannot post in this channel ({e.response.get('error')}); invite me first.")
            return
        where = Where(channel, resp["ts"])
        job = _Job(self, where, trigger="command", url=url)
        self._submit(where, job, key=("url", channel, resp["ts"]))

    # --- scheduling -------------------------------------------------------------------------

    def schedule(self, where: Where | None, f: SlackFile, trigger: str, channel: str | None = None) -> None:
        chan = where.channel if where else channel
        if not self.answered.claim((chan, f.id)):
            return
        job = _Job(self, where, trigger=trigger, file=f, channel=chan)
        self._submit(where, job, key=(chan, f.id))

    def _submit(self, where: Where | None, job: "_Job", key: Any) -> None:
        if self.pool.submit(job):
            return
        self.log.write("request", trigger=job.trigger, status="queue_full", queued=self.pool.queued)
        if where is not None:
            self.post(where, ":hourglass: I am busy with other traces right now (queue full), so this one "
                             "was not analysed. Please post it again in a few minutes.")

    def post(self, where: Where, text: str) -> bool:
        try:
            self.client.chat_postMessage(channel=where.channel, thread_ts=where.thread_ts, text=text,
                                         unfurl_links=False, unfurl_media=False)
            return True
        except (SlackApiError, SlackClientError, OSError) as e:
            self.log.write("slack_error", method="chat.postMessage", error=_api_error(e))
            return False


def _api_error(e: Exception) -> str:
    if isinstance(e, SlackApiError):
        return str(e.response.get("error"))
    return type(e).__name__


def _slack_file(f: dict) -> SlackFile:
    return SlackFile(id=f["id"], name=f.get("name") or f.get("title") or "", size=f.get("size"),
                     url=f.get("url_private_download") or f.get("url_private") or "", user=f.get("user") or "")


class _Job:
    """One request: fetch the trace(s), analyse in a child, reply, upload, clean up, log."""

    def __init__(self, bot: TraceBot, where: Where | None, trigger: str, file: SlackFile | None = None,
                 channel: str | None = None, url: str | None = None) -> None:
        self.bot, self.where, self.trigger, self.file, self.url = bot, where, trigger, file, url
        self.channel = channel or (where.channel if where else "")

    def abandon(self) -> None:
        if self.where:
            self.bot.post(self.where, ":warning: The bot is restarting; this trace was not analysed. Please post it again.")
        self.bot.log.write("request", trigger=self.trigger, status="abandoned")

    def run(self) -> None:
        t0 = time.monotonic()
        fields: dict[str, Any] = {"trigger": self.trigger}
        tmp = Path(tempfile.mkdtemp(prefix="netpoll-bot-"))
        try:
            fields.update(self._run(tmp))
        except FetchError as e:
            fields.update(status="refused" if "limit" in str(e) else "fetch_failed", error=str(e))
            if self.where:
                self.bot.post(self.where, reply.failure_text(self._name(), str(e)))
        except (SlackApiError, SlackClientError, OSError) as e:
            fields.update(status="slack_error", error=_api_error(e))
        except Exception as e:  # noqa: BLE001 - the service boundary: our bug, but the thread still gets an answer
            fields.update(status="internal_error", error=f"{type(e).__name__}: {e}")
            if self.where:
                self.bot.post(self.where, ":x: netpoll-diagnose hit an internal error on this trace "
                                          f"({type(e).__name__}); please report it to the bot's operators.")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            fields["ms"] = round(1000 * (time.monotonic() - t0))
            self.bot.log.write("request", **fields)

    def _name(self) -> str:
        if self.file:
            return safe_name(self.file.name, "trace")
        return safe_name(self.url.rsplit("/", 1)[-1] if self.url else "", "trace")

    def _run(self, tmp: Path) -> dict[str, Any]:
        bot, limits = self.bot, self.bot.limits
        if self.url:
            name = self._name()
            size = fetch_user_url(self.url, tmp / name, limits.max_bytes, limits.url_timeout_s,
                                  allow_private=bot.allow_private_urls)
            return self._answer(tmp, name, size, before=None)
        f, info = self._complete(self.file)
        if f.user and f.user == bot.bot_user:       # our own uploaded report
            return {"status": "ignored", "reason": "own file"}
        if self.where is None:                       # file_shared: find the message it came in
            self.where = _where_shared(info or self._info(f.id), self.channel)
            if self.where is None or not TRACE_NAME.search(f.name or ""):
                return {"status": "ignored", "reason": "not a trace name or no share"}
        if f.size is not None and f.size > limits.max_bytes:
            raise TooLarge.of(f.size, limits.max_bytes)
        name = self._name()
        size = fetch_slack_file(f.url, _token(bot.client), tmp / name, limits.max_bytes, limits.url_timeout_s, bot.file_hosts)
        first = bot.threads.get((self.where.channel, self.where.thread_ts))
        before = None
        if first is not None and first.id != f.id:
            # in a folder of its own: "_" never starts a safe_name, so no upload (not even one
            # named "before-X") can be the same file as the first trace
            before = f"{BEFORE_DIR}/{safe_name(first.name, 'trace')}"
            (tmp / BEFORE_DIR).mkdir()
            try:
                first, _ = self._complete(first)
                fetch_slack_file(first.url, _token(bot.client), tmp / before, limits.max_bytes,
                                 limits.url_timeout_s, bot.file_hosts)
            except (FetchError, SlackApiError) as e:  # the first is gone: diagnose the new one alone
                bot.log.write("diff_skipped", error=_api_error(e) if isinstance(e, SlackApiError) else str(e))
                before = None
        return self._answer(tmp, name, size, before=before)

    def _answer(self, tmp: Path, name: str, size: int, before: str | None) -> dict[str, Any]:
        bot = self.bot
        if before:
            out = diff_traces(tmp, before, name, ["json", "html"], bot.limits, bot.children)
            if out.ok:
                text = reply.diff_text(out.outputs["json"], Path(before).name, name)
                self._reply(text, out.outputs["html"], f"{Path(name).stem}-diff.html")
                return _fields(out, size, "diff")
        out = diagnose_trace(tmp, name, ["json", "html"], bot.limits, bot.children)
        if not out.ok:
            bot.post(self.where, reply.failure_text(name, out.error))
            return _fields(out, size, "diagnose")
        if self.file:
            bot.threads.put_if_absent((self.where.channel, self.where.thread_ts), self.file)
        self._reply(reply.diagnosis_text(out.outputs["json"], name), out.outputs["html"], f"{Path(name).stem}-report.html")
        fields = _fields(out, size, "diagnose")
        fields["verdict"] = reply.verdict_of(out.outputs["json"])
        return fields

    def _reply(self, text: str, html: str, filename: str) -> None:
        c, w = self.bot.client, self.where
        c.chat_postMessage(channel=w.channel, thread_ts=w.thread_ts, text=text, unfurl_links=False, unfurl_media=False)
        c.files_upload_v2(channel=w.channel, thread_ts=w.thread_ts, content=html, filename=filename,
                          title=filename)

    def _complete(self, f: SlackFile) -> tuple[SlackFile, dict | None]:
        """Fill name/size/url from files.info when the event did not carry them."""
        if f.url and f.size is not None and f.name:
            return f, None
        info = self._info(f.id)
        return _slack_file({**info, "id": f.id}), info

    def _info(self, file_id: str) -> dict:
        return self.bot.client.files_info(file=file_id).get("file") or {}


def _where_shared(info: dict, channel: str) -> Where | None:
    """The thread of the message that shared the file in `channel` (files.info "shares")."""
    shares = info.get("shares") or {}
    for kind in ("public", "private"):
        for s in (shares.get(kind) or {}).get(channel) or []:
            return Where(channel, s.get("thread_ts") or s["ts"])
    return None


def _token(client: WebClient) -> str:
    return client.token or ""


def _fields(out: Outcome, size: int, kind: str) -> dict[str, Any]:
    return {"status": out.kind, "kind": kind, "bytes": size, "exit": out.exit_code,
            "analysis_ms": round(1000 * out.seconds), "error": out.error or None}

