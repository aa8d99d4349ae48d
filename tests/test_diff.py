"""`netpoll-diagnose diff BEFORE AFTER` end to end on committed fixture traces.

BEFORE is a bug scenario, AFTER the healthy control of the same Go version: the bug's
finding disappears, the number that shows it drops, and every format says so.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import pytest

from diagnose.rules.engine import shown_trace_path
from diagnose.rules.testing import ManifestEntry
from tests.support.cli import run_main as run
from tests.support.corpus import ENTRIES, NO_CORPUS, go_key

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not ENTRIES, reason=NO_CORPUS)

# the number that shows each cause, and must drop once it is fixed
SIGNAL = {"gomaxprocs_starvation": "wake_to_run_p95_ms", "slow_consumer": "network_wait_total_ms"}




def pairs() -> list[tuple[ManifestEntry, ManifestEntry]]:
    """(bug, healthy control of the same Go version) for the causes in SIGNAL, newest Go first."""
    healthy = {}
    for e in ENTRIES:
        if e.trace.exists() and e.scenario == "healthy" and (e.go not in healthy or e.variant == "light"):
            healthy[e.go] = e
    out = [(e, healthy[e.go]) for e in ENTRIES
           if e.trace.exists() and e.reproduced and e.go in healthy
           and any(c in SIGNAL for c in e.expected_causes)]
    return sorted(out, key=lambda p: go_key(p[0]), reverse=True)


def pair(cause: str | None = None) -> tuple[ManifestEntry, ManifestEntry]:
    for b, a in pairs():
        if cause is None or cause in b.expected_causes:
            return b, a
    pytest.skip(f"no reproduced {cause or 'bug'} fixture with a healthy control of the same Go version")


@lru_cache(maxsize=None)
def diff(before: str, after: str, fmt: str) -> str:
    code, out = run("diff", before, after, "--format", fmt)
    assert code == 0
    return out


@pytest.mark.parametrize("cause", sorted(SIGNAL))
def test_fix_makes_the_finding_disappear_and_the_numbers_drop(cause):
    b, a = pair(cause)
    d = json.loads(diff(str(b.trace), str(a.trace), "json"))
    assert d["schema"] == "netpoll-diagnose/diff/v1"
    # reports name a trace relative to the current folder (never an absolute path)
    assert d["before"]["trace"]["path"] == shown_trace_path(str(b.trace))
    assert d["after"]["trace"]["path"] == shown_trace_path(str(a.trace))
    assert d["before"]["verdict"]["status"] == "problems" and d["after"]["verdict"]["status"] == "healthy"
    gone = {f["cause"] for f in d["findings"] if f["status"] == "disappeared"}
    assert cause in gone
    assert not [f for f in d["findings"] if f["status"] == "appeared" and f["after"]["severity"] != "info"]
    m = {x["key"]: x for x in d["metrics"]}
    assert set(m) >= {"network_wait_p95_ms", "network_wait_total_ms", "wake_to_run_p95_ms", "syscall_total_ms"}
    sig = m[SIGNAL[cause]]
    assert sig["after"] < sig["before"] and sig["change_pct"] <= -50, sig
    assert sig["change_pct"] == pytest.approx((sig["after"] - sig["before"]) / sig["before"] * 100, abs=0.06)
    assert f"{cause})" in d["summary"] and "After: healthy." in d["summary"]
    assert "down" in d["summary"]
    if cause == "slow_consumer":
        site = d["blocked_by_site"][0]
        assert site["before_ms"] > 0 and site["after_ms"] < site["before_ms"] and site["side"] == "write"


def test_text_diff():
    b, a = pair()
    out = diff(str(b.trace), str(a.trace), "text")
    lines = out.splitlines()
    assert lines[1].strip().startswith(f"before {shown_trace_path(str(b.trace))}") and "PROBLEMS" in lines[1]
    assert lines[2].strip().startswith(f"after  {shown_trace_path(str(a.trace))}") and "HEALTHY" in lines[2]
    assert "finding disappeared (" in lines[4] or "findings disappeared (" in lines[4]
    assert "  - DISAPPEARED " in out
    i = lines.index("Headline numbers:")
    head = lines[i + 1].split()
    assert head == ["before", "after", "change"]
    rows = {re.split(r"\s{2,}", ln.strip())[0]: re.split(r"\s{2,}", ln.strip())[1:] for ln in lines[i + 2:i + 12]}
    assert "network wait p95" in rows and "wake-to-run p95" in rows and "syscall time" in rows
    assert all(len(v) == 3 for v in rows.values()), rows
    assert rows["syscall time"][0].endswith(" ms") and re.fullmatch(r"[-+]\d+(\.\d)?%|=|new", rows["syscall time"][2])


def test_reverse_diff_shows_the_finding_appear():
    b, a = pair()
    d = json.loads(diff(str(a.trace), str(b.trace), "json"))
    appeared = {f["cause"] for f in d["findings"] if f["status"] == "appeared"}
    assert set(b.expected_causes) & appeared
    assert "appeared" in d["summary"] and "problem(s) left" in d["summary"]


def test_a_trace_against_itself_changes_nothing():
    b, _ = pair()
    d = json.loads(diff(str(b.trace), str(b.trace), "json"))
    assert {f["status"] for f in d["findings"]} == {"unchanged"}
    assert all(m["change_pct"] in (0.0, None) and m["before"] == m["after"] for m in d["metrics"])
    assert d["summary"].startswith("No finding appeared, disappeared or changed. No headline number moved")


def test_markdown_and_slack_diff():
    from test_report_chat import assert_slack_limits, sdk_validate

    b, a = pair()
    md = diff(str(b.trace), str(a.trace), "markdown")
    cause = next(c for c in b.expected_causes if c in SIGNAL)
    assert md.startswith("### ✅ netpoll-diagnose diff: 1 finding disappeared, 0 appeared") or \
        md.startswith("### ✅ netpoll-diagnose diff:")
    assert f"✅ **disappeared** `{cause}`" in md
    assert "| | Before | After | Change |" in md and "| network wait p95 |" in md
    assert "**-" in md and "✅ |" in md, "an improvement is marked"
    msg = json.loads(diff(str(b.trace), str(a.trace), "slack"))
    assert_slack_limits(msg)
    sdk_validate(msg)
    texts = json.dumps(msg["blocks"])
    assert f"*disappeared* `{cause}`" in texts and "Headline numbers" in texts
    assert msg["text"].startswith("netpoll-diagnose diff: ") and cause in msg["text"]


def test_diff_html_is_self_contained():
    from test_report_html import assert_self_contained

    b, a = pair()
    html = diff(str(b.trace), str(a.trace), "html")
    assert_self_contained(html)
    assert 'class="diff-gone">disappeared' in html and "<h2>Headline numbers</h2>" in html


def test_diff_of_a_missing_file_is_a_usage_error(tmp_path, capsys):
    b, _ = pair()
    code, _ = run("diff", str(b.trace), str(tmp_path / "nope.trace"))
    assert code == 2
    assert "no such trace file" in capsys.readouterr().err
