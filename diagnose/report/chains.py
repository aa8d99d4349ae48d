"""The top blocking chain of a finding, rendered compactly for every report format.

A finding's evidence items may carry a chain (diagnose/graph/chains.py): the steps from the
symptom back to the cause -- G waited on a conn, the netpoller woke it, it sat runnable while
H1 and H2 held the Ps. Reports show one chain per finding (the first citation that has one),
one line per step, with goroutine ids and times a person can find in `go tool trace`
(`-d=parsed` prints `Time=` = trace start + the step's time). Every renderer calls one
function here, so the formats say the same thing.
"""
from __future__ import annotations

from html import escape

from diagnose.features.model import ChainStep
from diagnose.rules.findings import Finding

MAX_STEPS = 6
DETAIL_CHARS = 110


def top_chain(f: Finding) -> list[ChainStep]:
    """The chain of the first citation that has one (citations are ranked by the rule)."""
    for c in f.evidence:
        if c.chain:
            return list(c.chain)
    return []


def _when(s: ChainStep) -> str:
    a, b = s.start_ns / 1e6, s.end_ns / 1e6
    return f"{a:.3f} ms" if s.start_ns == s.end_ns else f"{a:.3f}-{b:.3f} ms"


def _frame(s: ChainStep) -> str:
    for fr in s.stack:
        if not fr.func.startswith(("runtime.", "syscall.", "internal/", "net.", "net/http.", "os.")):
            return fr.func
    return s.stack[0].func if s.stack else ""


def step_line(s: ChainStep) -> str:
    """`G12 3.100-15.400 ms  runnable: waited 12.30 ms for a P  [main.handler]`"""
    who = f"G{s.goroutine}" if s.goroutine is not None else "--"
    detail = s.detail if len(s.detail) <= DETAIL_CHARS else s.detail[:DETAIL_CHARS - 1] + "…"
    fr = _frame(s)
    return f"{who} {_when(s)}  {s.relation}: {detail}" + (f"  [{fr}]" if fr else "")


def chain_lines(f: Finding, max_steps: int = MAX_STEPS) -> list[str]:
    """One line per step of the finding's top chain (+ a count of the steps left out)."""
    chain = top_chain(f)
    out = [step_line(s) for s in chain[:max_steps]]
    if len(chain) > max_steps:
        out.append(f"(+{len(chain) - max_steps} more steps in --format json)")
    return out


def text_block(f: Finding, indent: int = 3) -> list[str]:
    lines = chain_lines(f)
    if not lines:
        return []
    pad = " " * indent
    return [f"{pad}Chain (go tool trace: Time = trace start + these times):"] + [f"{pad}  {x}" for x in lines]


def markdown_block(f: Finding) -> list[str]:
    lines = chain_lines(f)
    if not lines:
        return []
    return ["**Chain** (top; times from the start of the trace):", "```"] + lines + ["```", ""]


def slack_text(f: Finding, max_steps: int = 4) -> str:
    lines = chain_lines(f, max_steps)
    if not lines:
        return ""
    body = "\n".join(x.replace("```", "'''") for x in lines)
    return f"*Chain*\n```{body}```"


def html_block(f: Finding) -> str:
    lines = chain_lines(f)
    if not lines:
        return ""
    items = "".join(f"<li><code>{escape(x)}</code></li>" for x in lines)
    return f'<h4>Chain <span class="muted">(top; times from the start of the trace)</span></h4><ol class="chain">{items}</ol>'
