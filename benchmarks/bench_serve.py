#!/usr/bin/env python3
"""Load test of `netpoll-diagnose serve`: N concurrent traces posted to Slack, answered once each.

    python benchmarks/bench_serve.py [TRACE] [-n 20] [--workers W] [--queue Q] [--json OUT]

Default TRACE: benchmarks/out/busy-5mb-go1.27.3.trace (make it with
`python tools/regen_fixtures.py --big 1.27.3 --mb 5`). The bot runs as the real command, in
HTTP mode, against tests/support/fake_slack.py (a local Web API on 127.0.0.1 that records
calls); N signed `message` events, each carrying its own copy of TRACE, are sent at once.
Prints: ack status and latency (Slack wants < 3 s), how many threads got exactly one reply and
one HTML report, wall time to the last answer, the server's peak RSS (the bot process alone,
and with its analysis children), and whether any temporary file was left after SIGTERM.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.fake_slack import BOT_TOKEN, FakeSlack, message_event, sign  # noqa: E402

SECRET = "bench-secret"
LOG = REPO / "benchmarks/out/bench_serve.log"  # the server's request log


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree(pid: int) -> list[int]:
    """pid and all its descendants (from /proc/*/stat)."""
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace", nargs="?", default=str(REPO / "benchmarks/out/busy-5mb-go1.27.3.trace"))
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--queue", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=900.0, help="give up waiting for answers after this")
    ap.add_argument("--json", help="also write the figures here")
    a = ap.parse_args()
    LOG.parent.mkdir(parents=True, exist_ok=True)
    trace = Path(a.trace)
    if not trace.is_file():
        sys.exit(f"{trace}: missing; make it with: python tools/regen_fixtures.py --big 1.27.3 --mb 5")
    data = trace.read_bytes()
    tmp = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    with FakeSlack() as slack, socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET, "TMPDIR": str(tmp)}
        env.pop("SLACK_APP_TOKEN", None)
        srv = subprocess.Popen([sys.executable, "-c", "from diagnose.cli import main; main()", "serve",
                                "--host", "127.0.0.1", "--port", str(port), "--slack-api-url", slack.api_url,
                                "--workers", str(a.workers), "--queue", str(a.queue)],
                               env=env, stderr=open(LOG, "w"))
        url = f"http://127.0.0.1:{port}/slack/events"
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        peak = {"bot": 0, "tree": 0}
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak["bot"] = max(peak["bot"], rss_kb(srv.pid))
                peak["tree"] = max(peak["tree"], sum(rss_kb(p) for p in tree(srv.pid)))
                time.sleep(0.1)

        threading.Thread(target=sample, daemon=True).start()
        events = []
        for i in range(a.n):
            ts = f"{200 + i}.1"
            f = slack.add_file(data, f"load-{i:02d}.trace", ts=ts)
            events.append((ts, json.dumps(message_event(f"EvLoad{i}", "CLOAD", ts, [f]))))
        acks: list[tuple[int, float]] = [(0, 0.0)] * a.n

        def send(i: int) -> None:
            body = events[i][1]
            req = urllib.request.Request(url, data=body.encode(), method="POST",
                                         headers={"Content-Type": "application/json", **sign(SECRET, body)})
            t0 = time.monotonic()
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    acks[i] = (r.status, time.monotonic() - t0)
            except urllib.error.HTTPError as e:
                acks[i] = (e.code, time.monotonic() - t0)
            except OSError as e:  # connection refused/reset: no ack at all (status 0)
                acks[i] = (0, time.monotonic() - t0)
                print(f"event {i}: {type(e).__name__}: {e}", file=sys.stderr)

        t0 = time.monotonic()
        senders = [threading.Thread(target=send, args=(i,)) for i in range(a.n)]
        for t in senders:
            t.start()
        for t in senders:
            t.join()

        def answered(ts: str) -> bool:
            return bool(slack.posts("CLOAD", ts)) and any(
                p.get("thread_ts") == ts for p in slack.called("files.completeUploadExternal")) or any(
                ":x:" in p["text"] or "queue full" in p["text"] for p in slack.posts("CLOAD", ts))

        try:
            slack.wait_for(lambda: all(answered(ts) for ts, _ in events), a.timeout)
        except AssertionError:
            pass
        wall = time.monotonic() - t0
        time.sleep(2.0)  # late duplicates would show up here
        stop.set()
        srv.send_signal(signal.SIGTERM)
        rc = srv.wait(60)
        replies = [len(slack.posts("CLOAD", ts)) for ts, _ in events]
        uploads = [sum(p.get("thread_ts") == ts for p in slack.called("files.completeUploadExternal")) for ts, _ in events]
        texts = [p["text"] for ts, _ in events for p in slack.posts("CLOAD", ts)]
        ack_s = [s for _, s in acks]
        figures = {
            "trace": trace.name, "trace_mb": round(len(data) / 2**20, 2), "n": a.n, "workers": a.workers,
            "queue": a.queue, "ack_status": sorted({c for c, _ in acks}),
            "ack_s_max": round(max(ack_s), 3), "ack_s_median": round(statistics.median(ack_s), 3),
            "acks_under_3s": sum(s < 3.0 for s in ack_s),
            "answered_exactly_once": sum(r == 1 for r in replies),
            "with_html_report": sum(u == 1 for u in uploads),
            "queue_full_replies": sum("queue full" in t for t in texts),
            "error_replies": sum(t.startswith(":x:") for t in texts),
            "wall_s_to_last_answer": round(wall, 1),
            "bot_rss_peak_mb": round(peak["bot"] / 1024, 1),
            "bot_plus_children_rss_peak_mb": round(peak["tree"] / 1024, 1),
            "server_exit": rc, "temp_files_left": sum(1 for _ in tmp.rglob("*")),
        }
    tmp.rmdir()
    print(json.dumps(figures, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
