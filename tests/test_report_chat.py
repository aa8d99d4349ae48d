"""Chat formats end to end on the committed fixture traces: `--format markdown` and `--format slack`.

The Slack message must hold Slack's limits (50 blocks, 3,000 characters per section text,
header 150, fields 10 x 2,000, combined block text well under ~12k) and carry a `text`
fallback, also for a trace with many findings: a rules folder of low-threshold rules, made
in a temporary directory, makes a real fixture trace fire 40 extra findings.
"""
from __future__ import annotations

import json
import textwrap
from functools import lru_cache
from pathlib import Path

import pytest

from diagnose.report.slack import block_text_chars, block_texts
from diagnose.rules.testing import ManifestEntry
from tests.support.cli import run_main as run
from tests.support.corpus import ENTRIES, NO_CORPUS

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not ENTRIES, reason=NO_CORPUS)

SLACK_MAX_BLOCKS = 50
SLACK_SECTION = 3000
SLACK_HEADER = 150
SLACK_FIELDS = 10
SLACK_FIELD = 2000
SLACK_TOTAL = 12_000  # Slack fails around 13.2k characters of block text; stay well under


@lru_cache(maxsize=None)
def diagnosed(trace: str, fmt: str, rules_dir: str = "") -> str:
    args = [trace, "--format", fmt, "--fail-on", "never"] + (["--rules-dir", rules_dir] if rules_dir else [])
    code, out = run(*args)
    assert code == 0
    return out


def bug_entry() -> ManifestEntry:
    """A reproduced scenario at warning level with evidence windows (prefer a newer trace format)."""
    cands = [e for e in ENTRIES if e.trace.exists() and e.reproduced and e.expected_causes
             and e.scenario in ("gomaxprocs", "slowconsumer")]
    if not cands:
        pytest.skip("no reproduced gomaxprocs/slowconsumer fixture")
    return sorted(cands, key=lambda e: tuple(int(x) for x in e.go.split(".") if x.isdigit()), reverse=True)[0]


def healthy_entry() -> ManifestEntry:
    for e in ENTRIES:
        if e.trace.exists() and e.scenario == "healthy":
            return e
    pytest.skip("no healthy fixture")


def assert_slack_limits(msg: dict) -> tuple[int, int]:
    """Every Block Kit limit we rely on; returns (blocks, characters of block text)."""
    assert set(msg) >= {"text", "blocks"}
    assert isinstance(msg["text"], str) and msg["text"].strip(), "a notification fallback text"
    blocks = msg["blocks"]
    assert 0 < len(blocks) <= SLACK_MAX_BLOCKS
    for b in blocks:
        assert b["type"] in {"header", "section", "context", "divider"}
        if b["type"] == "header":
            assert b["text"]["type"] == "plain_text" and len(b["text"]["text"]) <= SLACK_HEADER
        if b["type"] == "section":
            assert "text" in b or "fields" in b
            if "text" in b:
                assert b["text"]["type"] == "mrkdwn" and 0 < len(b["text"]["text"]) <= SLACK_SECTION
            if "fields" in b:
                assert 0 < len(b["fields"]) <= SLACK_FIELDS
                assert all(len(f["text"]) <= SLACK_FIELD for f in b["fields"])
        if b["type"] == "context":
            assert 0 < len(b["elements"]) <= 10
            assert all(len(el["text"]) <= SLACK_SECTION for el in b["elements"])
    for t in block_texts(blocks):
        assert t.count("```") % 2 == 0, f"unclosed code block in {t[:80]!r}"
    total = block_text_chars(blocks)
    assert total <= SLACK_TOTAL
    return len(blocks), total


# --- markdown --------------------------------------------------------------------------------------

def test_markdown_of_a_bug_trace():
    e = bug_entry()
    d = json.loads(diagnosed(str(e.trace), "json"))
    md = diagnosed(str(e.trace), "markdown")
    top = d["findings"][0]
    lines = md.splitlines()
    # verdict first: heading, then the verdict in bold, then the ranked table
    assert lines[0].startswith("### ") and "netpoll-diagnose" in lines[0] and "problem" in lines[0]
    assert md.index("**" + d["verdict"]["text"][:15]) < md.index("| # | Severity |")
    icon = {"critical": "🔴", "warning": "🟠", "info": "🔵"}[top["severity"]]
    assert f"| 1 | {icon} {top['severity']} | `{top['cause']}` | {top['confidence']:.0%} |" in md
    assert "**Headline:** network wait p95" in md
    assert "#### 1. " in md and f"`{top['cause']}`" in md
    # facts table, evidence with the trace's own frames, fix and confirm commands
    assert "| Fact | Value |" in md
    first_frame = next(c["stack"][0]["func"] for c in top["evidence"] if c["stack"])
    assert first_frame in md
    assert md.count("```") % 2 == 0
    assert "**Fix:** " in md and "**Confirm:**" in md
    assert "<details>" not in md, "no raw HTML: Mattermost would show it as text"
    assert len(md) <= 16_000


def test_markdown_of_a_healthy_trace():
    e = healthy_entry()
    md = diagnosed(str(e.trace), "markdown")
    assert md.startswith("### ✅ netpoll-diagnose: healthy")
    assert "**No netpoller problem found: " in md
    d = json.loads(diagnosed(str(e.trace), "json"))
    if d["headline"]["network_wait_p95_ms"] is None:  # no wait ended: "no data", never "0 ms"
        assert "network wait p95 **no data" in md
    assert "#### 1." not in md


# --- slack -----------------------------------------------------------------------------------------

def test_slack_of_a_bug_trace():
    e = bug_entry()
    d = json.loads(diagnosed(str(e.trace), "json"))
    msg = json.loads(diagnosed(str(e.trace), "slack"))
    n_blocks, chars = assert_slack_limits(msg)
    top = d["findings"][0]
    blocks = msg["blocks"]
    assert blocks[0]["type"] == "header" and "problem" in blocks[0]["text"]["text"]
    assert d["verdict"]["text"].split(".")[0] in blocks[1]["text"]["text"]  # the verdict right after
    texts = "\n".join(block_texts(blocks))
    assert f"`{top['cause']}`" in texts and top["title"] in texts
    assert "*Evidence*" in texts and "*Fix:*" in texts
    assert msg["text"].startswith("netpoll-diagnose: ") and top["cause"] in msg["text"]
    assert msg["unfurl_links"] is False
    assert n_blocks < 20 and chars < 6000


def test_slack_of_a_healthy_trace():
    e = healthy_entry()
    msg = json.loads(diagnosed(str(e.trace), "slack"))
    assert_slack_limits(msg)
    assert msg["blocks"][0]["text"]["text"].startswith(":white_check_mark: netpoll-diagnose: healthy")
    assert "No netpoller problem found" in msg["text"]


MANY = 40


def many_rules(folder: Path) -> Path:
    """MANY rules that fire on any trace, with long messages, ten facts and lots of evidence."""
    folder.mkdir(parents=True, exist_ok=True)
    sev = ["info", "warning", "critical"]
    for i in range(MANY):
        title = (f"Synthetic finding {i}: a deliberately long title that keeps going to stress the header and "
                 "section limits of chat messages " + "and more " * 10)
        facts = "\n".join(f"  - {{label: \"fact {j} of synthetic rule {i} with a long label\", "
                          f"value: f.trace.event_count, unit: events}}" for j in range(10))
        (folder / f"many_{i:02d}.yaml").write_text(textwrap.dedent(f"""\
            id: many.rule_{i:02d}
            title: "{title[:150].strip()}"
            cause: synthetic_cause_{i:02d}
            severity: {sev[i % 3]}
            confidence: 0.{10 + i}
            tags: [synthetic]
            condition: f.trace.event_count > 0
            facts:
            """) + facts + "\n" + textwrap.dedent(f"""\
            evidence:
              - {{from: network.evidence, limit: 10}}
              - {{from: scheduling.evidence, limit: 10}}
              - {{from: syscalls.evidence, limit: 10}}
              - {{from: gc.evidence, limit: 10}}
            message: >
              Synthetic rule {i} fired on a trace of {{f.trace.event_count}} events and {{f.trace.goroutine_count}}
              goroutines. {'This sentence is here to make the message long enough that trimming matters. ' * 6}
            knowledge: gc_pressure
            """))
    return folder


def test_slack_and_markdown_with_many_findings(tmp_path):
    e = bug_entry()
    rules = many_rules(tmp_path / "many")
    d = json.loads(diagnosed(str(e.trace), "json", str(rules)))
    n = len(d["findings"])
    assert n >= MANY, "the synthetic rules fire on a real trace"
    assert any(f["evidence"] for f in d["findings"] if f["cause"].startswith("synthetic_")), "with real evidence"
    msg = json.loads(diagnosed(str(e.trace), "slack", str(rules)))
    n_blocks, chars = assert_slack_limits(msg)
    texts = block_texts(msg["blocks"])
    # the top findings come first, in rank order, with details; every later one keeps its
    # promised summary line (they used to vanish when the details used up the budget)
    order = [f["cause"] for f in d["findings"]]
    shown = [c for c in order if any(f"`{c}`" in t for t in texts)]
    assert shown == order, "every finding is named, in rank order"
    detailed = sum(1 for t in texts if t.startswith("*Fix:*"))  # the full form ends with the fix
    assert detailed >= 1  # in full while the summaries of all the others still fit
    assert "not shown" not in json.dumps(msg["blocks"])
    assert order[0] in msg["text"] and "more" in msg["text"]
    print(f"slack with {n} findings: {n_blocks} blocks, {chars} characters of block text, "
          f"{len(shown)} findings shown, fallback {len(msg['text'])} characters")
    md = diagnosed(str(e.trace), "markdown", str(rules))
    assert len(md) <= 16_000
    assert "more finding" in md and "--format json" in md
    assert md.index(f"`{order[0]}`") < md.index(f"`{order[1]}`")


def sdk_validate(msg: dict) -> None:
    """Slack's own Block Kit models (slack-sdk) accept every block, when slack-sdk is installed."""
    try:
        from slack_sdk.models.blocks import Block
    except ImportError:
        return
    for raw in msg["blocks"]:
        block = Block.parse(raw)
        assert block is not None and block.to_dict()["type"] == raw["type"]
        block.validate_json()


@pytest.mark.parametrize("many", [False, True], ids=["fixture-rules", "many-findings"])
def test_slack_message_validates_with_slack_sdk(tmp_path, many):
    pytest.importorskip("slack_sdk", reason="slack-sdk not installed (pip install slack-sdk)")
    e = bug_entry()
    rules = str(many_rules(tmp_path / "many")) if many else ""
    sdk_validate(json.loads(diagnosed(str(e.trace), "slack", rules)))


def test_slack_summaries_when_even_one_liners_do_not_fit():
    """300 findings (the fixture's real findings under 300 cause names): the message still holds
    Slack's limits, names as many as fit in rank order, and counts the rest."""
    from diagnose.report import slack
    from diagnose.rules.findings import Diagnosis

    d = Diagnosis.model_validate(json.loads(diagnosed(str(bug_entry().trace), "json")))
    real = d.findings
    d.findings = [real[k % len(real)].model_copy(update={"cause": f"{real[k % len(real)].cause}_{k}"})
                  for k in range(300)]
    msg = json.loads(slack.render(d))
    assert_slack_limits(msg)
    text = json.dumps(msg["blocks"])
    named = [f.cause for f in d.findings if f"`{f.cause}`" in text]
    assert named == [f.cause for f in d.findings[: len(named)]] and 40 <= len(named) < 300
    last = msg["blocks"][-1]["elements"][0]["text"]
    assert f"+{300 - len(named)} more findings not shown" in last


ENTITY_TEXT = "ab <c> & d" * 3  # an entity after every few characters


@pytest.mark.parametrize("where", ["esc_trim", "trim"])
def test_slack_trim_never_splits_an_entity(where):
    """Cut at every length around every entity: what remains is at most the limit, and every &
    starts a whole &amp;/&lt;/&gt; (a cut "&am" shows as garbage in Slack)."""
    import re

    from diagnose.report.slack import esc, esc_trim, trim

    escaped = esc(ENTITY_TEXT)
    for limit in range(2, len(escaped) + 2):
        out = esc_trim(ENTITY_TEXT, limit) if where == "esc_trim" else trim(escaped, limit)
        assert len(out) <= limit, (limit, out)
        assert not re.search(r"&(?!amp;|lt;|gt;)", out), (limit, out)
        if limit >= len(escaped):
            assert out == escaped
        else:
            assert out.endswith("…") and escaped.startswith(out[:-1].rstrip())
