"""`netpoll-diagnose serve`: the Slack bot and POST /diagnose, over real HTTP on 127.0.0.1.

The bot runs in-process in HTTP mode (and at handler level in Socket Mode) against
tests/support/fake_slack.py, a local Web API that records every call; each analysis is a real
child process on committed fixture traces. The SIGTERM test runs the real command.
"""
from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("slack_bolt", reason="the serve extra (slack-bolt) is not installed")

from diagnose.serve.fetch import FetchError, fetch_user_url  # noqa: E402
from diagnose.serve.limits import MB, Limits  # noqa: E402
from diagnose.serve.logs import RequestLog  # noqa: E402
from diagnose.serve.reply import MAX_LINES  # noqa: E402
from diagnose.serve.service import Service, Settings  # noqa: E402
from tests.support.fake_slack import BOT_TOKEN, FakeSlack, envelope, message_event, sign  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PROBLEM = REPO / "fixtures" / "examples" / "example.trace"          # gomaxprocs_starvation
HEALTHY = REPO / "fixtures" / "traces" / "healthy-light-go1.27.3.trace"
SECRET = "test-signing-secret"


@pytest.fixture(scope="module")
def tmpdir_root(tmp_path_factory):
    """Every temporary file the server makes goes here, so tests can see none is left."""
    root = tmp_path_factory.mktemp("serve-tmp")
    old = tempfile.tempdir
    tempfile.tempdir = str(root)
    yield root
    tempfile.tempdir = old


@pytest.fixture(scope="module")
def slack():
    with FakeSlack() as fake:
        yield fake


class Bot:
    """A running service + its log, with helpers to post signed Slack requests."""

    def __init__(self, slack: FakeSlack, **limits) -> None:
        self.slack = slack
        self.logbuf = io.StringIO()
        lim = Limits(**{"workers": 2, "queue": 8, "timeout_s": 60.0, **limits})
        self.service = Service(Settings(host="127.0.0.1", port=0, limits=lim, bot_token=BOT_TOKEN,
                                        signing_secret=SECRET, slack_api_url=slack.api_url,
                                        allow_private_urls=True, http_token="ci-token", grace_s=5),
                               log=RequestLog(self.logbuf))
        self.service.start()
        self.url = f"http://127.0.0.1:{self.service.port}"

    def post(self, body: str, headers: dict[str, str], path: str = "/slack/events",
             ctype: str = "application/json") -> tuple[int, str, float]:
        req = urllib.request.Request(self.url + path, data=body.encode(), method="POST",
                                     headers={"Content-Type": ctype, **headers})
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode(), time.monotonic() - t0
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), time.monotonic() - t0

    def event(self, payload: dict, retry: int | None = None, ts: int | None = None, secret: str = SECRET):
        body = json.dumps(payload)
        headers = sign(secret, body, ts)
        if retry is not None:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
        return self.post(body, headers)

    def logs(self) -> list[dict]:
        return [json.loads(x) for x in self.logbuf.getvalue().splitlines()]

    def stop(self) -> None:
        self.service.stop()


@pytest.fixture(scope="module")
def bot(slack, tmpdir_root):
    b = Bot(slack)
    yield b
    b.stop()


def _thread_replies(slack: FakeSlack, channel: str, ts: str, n: int = 1, timeout: float = 40.0) -> list[dict]:
    return slack.wait_for(lambda: len(slack.posts(channel, ts)) >= n and slack.posts(channel, ts), timeout)


def _uploads_for(slack: FakeSlack, channel: str, ts: str) -> list[dict]:
    return [p for p in slack.called("files.completeUploadExternal")
            if p.get("channel_id") == channel and p.get("thread_ts") == ts]


def _no_server_paths(text: str) -> None:
    for path in (str(REPO), tempfile.gettempdir(), sys.prefix):
        assert path not in text, f"server path {path} in a posted text"


def test_file_in_channel_gets_short_reply_and_html_report(bot, slack, tmpdir_root):
    f = slack.add_file(PROBLEM.read_bytes(), "checkout-api.trace", ts="100.1")
    status, _, secs = bot.event(message_event("Ev100", "C1", "100.1", [f]))
    assert status == 200 and secs < 3.0
    reply = _thread_replies(slack, "C1", "100.1")[0]["text"]
    assert "checkout-api.trace" in reply and "GOMAXPROCS" in reply and "*Fix:*" in reply
    assert len(reply.splitlines()) <= MAX_LINES
    assert "--format" not in reply
    _no_server_paths(reply)
    done = slack.wait_for(lambda: _uploads_for(slack, "C1", "100.1"))
    uploaded = slack.uploads[done[0]["files"][0]["id"]]
    html = uploaded.decode()
    assert html.lstrip().lower().startswith("<!doctype html") and "gomaxprocs_starvation" in html
    _no_server_paths(html)
    assert [d["auth"] for d in slack.called("download") if d["file"] == f["id"]] == [f"Bearer {BOT_TOKEN}"]
    rec = slack.wait_for(lambda: [r for r in bot.logs() if r.get("trigger") == "message" and r.get("bytes") == len(PROBLEM.read_bytes())])
    assert rec[0]["verdict"] == "warning" and rec[0]["status"] == "diagnosed" and "ms" in rec[0]
    slack.wait_for(lambda: not any(tmpdir_root.iterdir()), 10)


def test_bad_signature_and_stale_timestamp_are_refused(bot, slack):
    f = slack.add_file(HEALTHY.read_bytes(), "x.trace", ts="101.1")
    status, _, _ = bot.event(message_event("Ev101", "C1", "101.1", [f]), secret="wrong")
    assert status == 401
    status, _, _ = bot.event(message_event("Ev102", "C1", "101.1", [f]), ts=int(time.time()) - 600)
    assert status == 401
    status, body, _ = bot.event({"type": "url_verification", "challenge": "c-123", "token": "x"})
    assert status == 200 and "c-123" in body
    time.sleep(0.5)
    assert slack.posts("C1", "101.1") == [] and not [d for d in slack.called("download") if d["file"] == f["id"]]


def test_retries_and_duplicate_events_are_answered_once(bot, slack):
    f = slack.add_file(HEALTHY.read_bytes(), "healthy.trace", ts="102.1")
    payload = message_event("Ev103", "C1", "102.1", [f])
    acks = [bot.event(payload), bot.event(payload, retry=1), bot.event(payload, retry=2)]
    # The same upload also arrives as file_shared (another event id): still one answer.
    acks.append(bot.event(envelope("Ev104", {"type": "file_shared", "file_id": f["id"], "user_id": "UALICE",
                                             "channel_id": "C1", "event_ts": "102.2"})))
    assert all(a[0] == 200 and a[2] < 3.0 for a in acks)
    reply = _thread_replies(slack, "C1", "102.1")[0]["text"]
    assert "No netpoller problem found" in reply
    slack.wait_for(lambda: _uploads_for(slack, "C1", "102.1"))
    time.sleep(0.5)
    assert len(slack.posts("C1", "102.1")) == 1 and len(_uploads_for(slack, "C1", "102.1")) == 1
    assert len([d for d in slack.called("download") if d["file"] == f["id"]]) == 1


def test_garbage_file_gets_the_cli_one_line_error(bot, slack):
    f = slack.add_file(b"GIF89a" + bytes(range(256)) * 8, "screenshot-trace.out", ts="103.1")
    bot.event(message_event("Ev105", "C1", "103.1", [f]))
    text = _thread_replies(slack, "C1", "103.1")[0]["text"]
    assert text.startswith(":x:") and "not a Go execution trace" in text and len(text.splitlines()) == 1
    _no_server_paths(text)
    time.sleep(0.5)
    assert _uploads_for(slack, "C1", "103.1") == []


def test_second_trace_in_thread_is_answered_with_a_diff(bot, slack):
    first = slack.add_file(HEALTHY.read_bytes(), "before.trace", ts="104.1")
    bot.event(message_event("Ev106", "C1", "104.1", [first]))
    _thread_replies(slack, "C1", "104.1")
    # named as the first once was on the server ("before-" + name): still two different files
    second = slack.add_file(PROBLEM.read_bytes(), "before-before.trace", ts="104.2")
    bot.event(message_event("Ev107", "C1", "104.2", [second], thread_ts="104.1"))
    texts = [p["text"] for p in _thread_replies(slack, "C1", "104.1", n=2)]
    diff = texts[1]
    assert "*before.trace* → *before-before.trace*" in diff and "gomaxprocs_starvation" in diff
    assert ":white_check_mark: before:" in diff and ":white_check_mark: after:" not in diff
    assert len(diff.splitlines()) <= MAX_LINES
    slack.wait_for(lambda: len(_uploads_for(slack, "C1", "104.1")) == 2)


def test_mention_in_thread_finds_the_trace_above(bot, slack):
    f = slack.add_file(HEALTHY.read_bytes(), "prod.out", ts="105.1")
    slack.threads[("C1", "105.1")] = [{"ts": "105.1", "user": "UALICE", "files": [f]},
                                      {"ts": "105.2", "user": "UBOB", "text": "<@UBOT> what is wrong?"}]
    bot.event(envelope("Ev108", {"type": "app_mention", "user": "UBOB", "text": "<@UBOT> what is wrong?",
                                 "channel": "C1", "ts": "105.2", "thread_ts": "105.1"}))
    assert "No netpoller problem found" in _thread_replies(slack, "C1", "105.1")[0]["text"]


def test_slash_command_fetches_the_url(bot, slack):
    slack.add_file(PROBLEM.read_bytes(), "from-url.trace")
    form = (f"command=%2Fnetpoll-diagnose&text={slack.base}/pub/from-url.trace&channel_id=C9"
            "&user_id=UALICE&team_id=T1&response_url=http%3A%2F%2F127.0.0.1%3A9%2Fr&trigger_id=t")
    status, _, secs = bot.post(form, sign(SECRET, form), ctype="application/x-www-form-urlencoded")
    assert status == 200 and secs < 3.0
    root = slack.wait_for(lambda: slack.posts("C9"))[0]
    assert root["text"].startswith("Diagnosing ")
    reply = _thread_replies(slack, "C9", slack.wait_for(lambda: [p for p in slack.posts("C9") if p.get("thread_ts")])[0]["thread_ts"])
    assert "GOMAXPROCS" in reply[0]["text"]
    assert slack.called("public_get")[-1]["auth"] == ""  # no token to a user's URL


def test_oversize_file_is_refused_from_metadata(slack, tmpdir_root):
    small = Bot(slack, max_bytes=1 * MB)
    try:
        f = slack.add_file(HEALTHY.read_bytes(), "huge.trace", size=300 * MB, ts="106.1")
        small.event(message_event("Ev109", "C1", "106.1", [f]))
        text = _thread_replies(slack, "C1", "106.1")[0]["text"]
        assert "larger than the server's limit (1 MB)" in text
        assert not [d for d in slack.called("download") if d["file"] == f["id"]]
    finally:
        small.stop()


def test_analysis_timeout_is_one_message(slack, tmpdir_root):
    slow = Bot(slack, timeout_s=0.05)
    try:
        f = slack.add_file(PROBLEM.read_bytes(), "slow.trace", ts="107.1")
        slow.event(message_event("Ev110", "C1", "107.1", [f]))
        text = _thread_replies(slack, "C1", "107.1")[0]["text"]
        assert "took longer than the server's limit (0.05 s)" in text
    finally:
        slow.stop()
    assert not any(tmpdir_root.iterdir())


def test_queue_full_is_said_in_the_thread(slack, tmpdir_root):
    busy = Bot(slack, workers=1, queue=1)
    try:
        roots = [f"108.{i}" for i in range(1, 6)]
        for i, ts in enumerate(roots):
            f = slack.add_file(PROBLEM.read_bytes(), f"q{i}.trace", ts=ts)
            assert busy.event(message_event(f"Ev11{i}", "C1", ts, [f]))[0] == 200
        slack.wait_for(lambda: all(slack.posts("C1", ts) for ts in roots), 60)
        texts = [slack.posts("C1", ts) for ts in roots]
        assert all(len(t) == 1 for t in texts)  # each answered exactly once
        full = [t[0]["text"] for t in texts if "queue full" in t[0]["text"]]
        # 1 worker + 1 place in the queue, 5 traces sent at once: some are refused, not all (the
        # exact count depends on when the worker takes the first job off the queue).
        assert 1 <= len(full) <= 4
    finally:
        busy.stop()


def test_socket_mode_handler_acks_and_answers_once(slack, tmpdir_root):
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.socket_mode.request import SocketModeRequest

    svc = Service(Settings(port=None, limits=Limits(workers=1, queue=2, timeout_s=60), bot_token=BOT_TOKEN,
                           app_token="xapp-test", slack_api_url=slack.api_url), log=RequestLog(io.StringIO()))
    handler = SocketModeHandler(svc.app, "xapp-test")
    acks: list[tuple[str, float]] = []
    handler.client.send_socket_mode_response = lambda r: acks.append((r.envelope_id, time.monotonic()))
    try:
        f = slack.add_file(HEALTHY.read_bytes(), "sock.trace", ts="109.1")
        body = message_event("Ev120", "D1", "109.1", [f], channel_type="im")
        for attempt in (None, 1):
            t0 = time.monotonic()
            handler.handle(handler.client, SocketModeRequest(type="events_api", envelope_id=f"env{attempt}",
                                                             payload=body, retry_attempt=attempt))
            assert acks[-1][0] == f"env{attempt}" and acks[-1][1] - t0 < 3.0
        assert "No netpoller problem found" in _thread_replies(slack, "D1", "109.1")[0]["text"]
        time.sleep(0.5)
        assert len(slack.posts("D1", "109.1")) == 1
    finally:
        handler.client.close()
        svc.stop()


def _http(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes, dict]:
    req = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def test_plain_diagnose_endpoint(bot):
    auth = {"Authorization": "Bearer ci-token"}
    code, body, headers = _http(bot.url + "/diagnose?format=json", PROBLEM.read_bytes(), auth)
    assert code == 200 and headers["X-Netpoll-Exit"] == "1"
    report = json.loads(body)
    assert report["findings"][0]["cause"] == "gomaxprocs_starvation"
    _no_server_paths(body.decode())
    assert _http(bot.url + "/diagnose", PROBLEM.read_bytes())[0] == 401
    assert _http(bot.url + "/diagnose?format=pdf", b"x", auth)[0] == 400
    code, body, _ = _http(bot.url + "/diagnose", b"not a trace at all", auth)
    assert code == 422 and body.decode().startswith("netpoll-diagnose: trace.out: offset 0: ")
    code, body, _ = _http(bot.url + "/healthz")
    assert code == 200 and json.loads(body)["ok"] is True


def test_plain_endpoint_refuses_oversize_before_reading(bot):
    s = socket.create_connection(("127.0.0.1", bot.service.port), timeout=10)
    s.sendall(b"POST /diagnose HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ci-token\r\n"
              b"Content-Length: %d\r\n\r\n" % (bot.service.settings.limits.max_bytes + 1))
    head = s.recv(4096).decode()
    s.close()
    assert head.startswith("HTTP/1.1 413")


def test_user_urls_are_held_to_the_ssrf_rules(tmp_path, slack):
    slack.add_file(PROBLEM.read_bytes(), "from-url.trace")  # its own, not the slash-command test's
    for url, why in [("file:///etc/passwd", "only http:// and https://"),
                     ("http://user:pw@example.com/t", "user name or password"),
                     (slack.base + "/pub/from-url.trace", "not a public address"),
                     ("http://169.254.169.254/latest/meta-data", "not a public address")]:
        with pytest.raises(FetchError, match=why):
            fetch_user_url(url, tmp_path / "t", 1 * MB, 5.0)
    with pytest.raises(FetchError, match="larger than the server's limit"):
        fetch_user_url(slack.base + "/pub/from-url.trace", tmp_path / "t", 1000, 5.0, allow_private=True)


def test_sigterm_stops_cleanly_without_leftovers(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    for k in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "NETPOLL_DIAGNOSE_TOKEN"):
        env.pop(k, None)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    p = subprocess.Popen([sys.executable, "-c", "from diagnose.cli import main; main()", "serve",
                          "--host", "127.0.0.1", "--port", str(port), "--grace", "0"],
                         env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if _http(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        result: list = []
        t = threading.Thread(target=lambda: result.append(_http(f"http://127.0.0.1:{port}/diagnose", PROBLEM.read_bytes())))
        t.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not list(tmp_path.glob("netpoll-http-*")):
            time.sleep(0.02)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
        t.join(30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0
    lines = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    assert lines[0]["event"] == "started" and lines[-1]["event"] == "stopped"
    assert list(tmp_path.iterdir()) == []
    assert result and result[0][0] in (200, 500, 503, 504)


def test_an_upload_named_like_a_module_is_never_imported(bot, slack, tmp_path):
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').write('x')\n".encode()
    files = [slack.add_file(code, name, ts="110.1") for name in ("diagnose.py", "numpy.py")]
    bot.event(message_event("Ev130", "D2", "110.1", files, channel_type="im"))
    texts = [p["text"] for p in _thread_replies(slack, "D2", "110.1", n=2)]
    assert all("not a Go execution trace" in t for t in texts)
    assert not marker.exists()


def test_memory_limit_is_one_line(tmp_path):
    from diagnose.serve.runner import diagnose_trace

    (tmp_path / "t.trace").write_bytes(PROBLEM.read_bytes())
    out = diagnose_trace(tmp_path, "t.trace", ["json"], Limits(memory_mb=64, timeout_s=60))
    assert out.kind == "memory" and out.error.endswith("memory limit (64 MB)")


def test_a_trace_named_like_a_report_is_not_overwritten(tmp_path):
    from diagnose.serve.runner import diagnose_trace, safe_name

    name = safe_name("report.json")
    (tmp_path / name).write_bytes(HEALTHY.read_bytes())
    out = diagnose_trace(tmp_path, name, ["json", "html"], Limits(timeout_s=60))
    assert out.ok and json.loads(out.outputs["json"])["trace"]["path"] == "report.json"
    assert safe_name("_out") == "out" and safe_name("../../etc/passwd") == "passwd"


def test_socket_mode_end_to_end_over_a_websocket(slack, tmpdir_root):
    svc = Service(Settings(port=None, limits=Limits(workers=1, queue=2, timeout_s=60), bot_token=BOT_TOKEN,
                           app_token="xapp-test", slack_api_url=slack.api_url), log=RequestLog(io.StringIO()))
    svc.start()
    try:
        slack.wait_for(lambda: slack.ws is not None, 10)
        f = slack.add_file(HEALTHY.read_bytes(), "ws.trace", ts="111.1")
        slack.ws_send({"envelope_id": "ws-env-1", "type": "events_api", "accepts_response_payload": False,
                       "retry_attempt": 0, "retry_reason": "",
                       "payload": message_event("Ev140", "C7", "111.1", [f])})
        slack.wait_for(lambda: any(m.get("envelope_id") == "ws-env-1" for m in slack.ws_received), 3)
        assert "No netpoller problem found" in _thread_replies(slack, "C7", "111.1")[0]["text"]
        slack.wait_for(lambda: _uploads_for(slack, "C7", "111.1"))
    finally:
        svc.stop()


def test_a_refused_bot_token_is_one_line_exit_2(slack, monkeypatch, capsys):
    from diagnose.cli import main

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-wrong")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    assert main(["serve", "--host", "127.0.0.1", "--port", "0", "--slack-api-url", slack.api_url]) == 2
    err = [x for x in capsys.readouterr().err.splitlines() if x.startswith("netpoll-diagnose:")]
    assert len(err) == 1 and "Slack refused SLACK_BOT_TOKEN" in err[0] and "invalid_auth" in err[0]


def test_an_incomplete_diagnosis_is_answered_with_a_warning(tmp_path, monkeypatch):
    """A rule that cannot be evaluated makes the CLI exit 2 *with* a report: say so, don't call it bad input."""
    from diagnose.serve.reply import diagnosis_text
    from diagnose.serve.runner import diagnose_trace

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.yaml").write_text(
        'id: broken\ntitle: broken\ncause: gc_pressure\nseverity: warning\nconfidence: 0.5\n'
        # guarded in name only, so `rules validate` accepts it and it still fails on the trace
        'condition: "size(f.syscalls.by_site) >= 0 && f.syscalls.by_site[100000].syscalls.count > 1"\n'
        'message: "x"\nknowledge: gc_pressure\n')
    monkeypatch.setenv("NETPOLL_DIAGNOSE_RULES", str(rules))
    work = tmp_path / "w"
    work.mkdir()
    (work / "h.trace").write_bytes(HEALTHY.read_bytes())
    out = diagnose_trace(work, "h.trace", ["json", "html"], Limits(timeout_s=60))
    assert out.ok and out.exit_code == 2 and "<html" in out.outputs["html"].lower()
    text = diagnosis_text(out.outputs["json"], "h.trace")
    assert text.startswith(":warning: *h.trace*: This diagnosis cannot be trusted as complete")
    assert ":white_check_mark:" not in text and str(tmp_path) not in text


def test_slash_command_text_cannot_make_the_bot_ping_a_channel(bot, slack):
    """The bot echoes the user's URL in the channel: a `<!channel>` in it must arrive escaped."""
    form = ("command=%2Fnetpoll-diagnose&text=http%3A%2F%2F127.0.0.1%3A9%2Fx.trace+%3C%21channel%3E&channel_id=C8"
            "&user_id=UALICE&team_id=T1&response_url=http%3A%2F%2F127.0.0.1%3A9%2Fr&trigger_id=t")
    status, _, _ = bot.post(form, sign(SECRET, form), ctype="application/x-www-form-urlencoded")
    assert status == 200
    root = slack.wait_for(lambda: slack.posts("C8"))[0]
    assert root["text"].startswith("Diagnosing ") and "<!channel>" not in root["text"]
    assert "&lt;!channel&gt;" in root["text"]


def test_a_non_ascii_digit_length_is_411_not_a_traceback(bot):
    """"²" passes str.isdigit() but not int(): the endpoint must answer, not drop the connection."""
    s = socket.create_connection(("127.0.0.1", bot.service.port), timeout=10)
    s.sendall(b"POST /diagnose HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ci-token\r\n"
              b"Content-Length: \xb2\r\n\r\n")
    head = s.recv(4096).decode("latin-1")
    s.close()
    assert head.startswith("HTTP/1.1 411")


def test_scrub_keeps_the_traces_own_go_paths(monkeypatch, tmp_path):
    """A bot in a python image (sys.prefix /usr/local) running as root must not cut /usr/local
    or /root out of the stack paths of the user's trace; its own install paths still go."""
    from pathlib import Path as P

    import diagnose
    from diagnose.serve.runner import scrub, server_roots

    monkeypatch.setattr(sys, "prefix", "/usr/local")
    monkeypatch.setattr(P, "home", classmethod(lambda cls: P("/root")))
    monkeypatch.chdir("/")
    roots = [str(tmp_path)] + server_roots()
    stack = "net.(*netFD).Read /usr/local/go/src/net/fd_posix.go:55\nmain.serve /root/go/pkg/mod/x@v1/s.go:9"
    assert scrub(stack, roots) == stack
    pkg = P(diagnose.__file__).resolve().parent
    assert scrub(f"{pkg}/_data/rules/a.yaml:3 and {tmp_path}", roots) == "diagnose/_data/rules/a.yaml:3 and ."
    assert scrub("/srv/xy/f and /srv/x/f", ["/srv/x"]) == "/srv/xy/f and f"


@pytest.mark.parametrize("upload", ["features", "--help"])
def test_a_trace_named_like_a_command_or_an_option_is_diagnosed(tmp_path, upload):
    """The child gets the upload's name on its command line: "features" must not run the
    features command, "--help" must not print the help, both are diagnosed as traces."""
    from diagnose.serve.runner import diagnose_trace, safe_name

    name = safe_name(upload)
    (tmp_path / name).write_bytes(PROBLEM.read_bytes())
    out = diagnose_trace(tmp_path, name, ["json"], Limits(timeout_s=60))
    assert out.ok, out.error
    assert json.loads(out.outputs["json"])["findings"][0]["cause"] == "gomaxprocs_starvation"
    assert safe_name("-") == "trace.out"
