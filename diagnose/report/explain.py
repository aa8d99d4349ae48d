"""The causal graph, read by a person (`netpoll-diagnose explain TRACE --goroutine N | --conns`,
whose command lives in diagnose/cli/explain_cmd.py).

* `--goroutine N` prints every chain of one goroutine: each of its waits (what it waited on,
  who woke it, how long it then waited for a P and which goroutines held the Ps), each of its
  syscalls (thread, P handoff, threads created meanwhile) and the connections it serves.
* `--conns` lists the connections and descriptors: origin, owner, borrows, serving
  goroutines, I/O counts, who closed it and when, and whether that close is fd reuse.

Every step names goroutine ids and times since the trace start; `go tool trace -d=parsed`
prints the same transitions at `Time=` trace start + that time (the header line says the
trace start), so each step can be found there.
"""
from __future__ import annotations

import numpy as np

from diagnose.errors import UsageError
from diagnose.features.model import ChainStep
from diagnose.graph import CausalGraph
from diagnose.graph import chains as C
from diagnose.report.chains import step_line
from diagnose.timeline.columns import G_SYSCALL, G_WAITING

MAX_WAITS = 40
MAX_SYSCALLS = 20


def _steps(raw: list[dict]) -> list[ChainStep]:
    return [ChainStep(**{**s, "stack": [{"func": f, "file": fl, "line": ln} for f, fl, ln in s["stack"]]})
            for s in raw]


def goroutine_chains(cg: CausalGraph, g: int) -> dict:
    """Every chain of goroutine g: waits (longest first, up to MAX_WAITS), syscalls (longest
    first, up to MAX_SYSCALLS) and the connections it serves."""
    tl = cg.tl
    ivs = tl.intervals_of(int(g))
    if ivs.shape[0] == 0:
        raise UsageError(f"goroutine {g} does not appear in the trace")
    gi = int(tl.gor_index(int(g)))
    waits = ivs[(tl.iv_state[ivs] == G_WAITING) & (tl.iv_from[ivs] != 0)]
    waits = waits[np.argsort(-tl.iv_dur[waits], kind="stable")][:MAX_WAITS]
    k = np.nonzero(cg.sc.g == int(g))[0]
    k = k[np.argsort(-cg.sc.dur[k], kind="stable")][:MAX_SYSCALLS]
    ci = cg.conns.conn_of(np.array([int(g)]))[0]
    return {
        "goroutine": int(g), "name": tl.gor_name[gi],
        "creator": int(tl.gor_creator[gi]) if tl.gor_created[gi] else None,
        "waits": [_steps(C.wait_chain(cg, int(i))) for i in sorted(waits.tolist(), key=lambda i: tl.iv_start[i])],
        "syscalls": [_steps(C.syscall_chain(cg, int(j))) for j in sorted(k.tolist(), key=lambda j: cg.sc.start[j])],
        "serves": cg.conns.nodes[int(ci)].as_dict() if ci >= 0 else None,
        "in_syscall_total_ms": float(tl.iv_dur[ivs[tl.iv_state[ivs] == G_SYSCALL]].sum()) / 1e6,
    }


def render_goroutine(cg: CausalGraph, d: dict) -> str:
    tl = cg.tl
    out = [f"goroutine {d['goroutine']} ({d['name'] or 'unknown start'})"
           + (f", created by goroutine {d['creator']}" if d["creator"] is not None else ", created before the trace"),
           f"trace start (go tool trace -d=parsed Time=): {tl.t0} ns; times below are since then", ""]
    if d["serves"]:
        c = d["serves"]
        out.append(f"serves {c['id']}: origin {c['origin']}, owner {c['owner']}, closed by {c['closed_by']}")
        out.append("")
    out.append(f"waits ({len(d['waits'])}, longest {MAX_WAITS} at most, in time order):")
    for i, ch in enumerate(d["waits"], 1):
        out.append(f"  [{i}]")
        out += [f"    {step_line(s)}" for s in ch]
    out.append(f"syscalls ({len(d['syscalls'])} longest, {d['in_syscall_total_ms']:.2f} ms in syscalls in all):")
    for i, ch in enumerate(d["syscalls"], 1):
        out.append(f"  [{i}]")
        out += [f"    {step_line(s)}" for s in ch]
    return "\n".join(out) + "\n"


def render_conns(cg: CausalGraph) -> str:
    rows = [("ID", "KIND", "ORIGIN", "OWNER", "BORROWED", "GOROUTINES", "R/W/WAITS", "CLOSED BY", "CLOSER", "CLOSE ms",
             "FD REUSE")]
    for n in cg.conns.nodes:
        gs = ",".join(map(str, n.goroutines[:4])) + ("..." if len(n.goroutines) > 4 else "") or "unknown"
        rows.append((n.id, n.kind, n.origin, n.owner + (f"+{n.co_owner}" if n.co_owner else ""),
                     ",".join(n.borrowed) or "-", gs, f"{n.reads}/{n.writes}/{n.netpoll_waits}",
                     n.closed_by + (f" x{n.closes}" if n.closes > 1 else ""),
                     "-" if n.closer_goroutine is None else str(n.closer_goroutine),
                     "-" if n.close_ns is None else f"{n.close_ns / 1e6:.3f}", "YES" if n.fd_reuse else "-"))
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    notes = [f"{n.id}: {n.relation}" for n in cg.conns.nodes if n.relation]
    if notes:
        out += ["", "relations:"] + [f"  {x}" for x in notes[:50]]
    return "\n".join(out) + "\n"


def goroutine_json(d: dict) -> dict:
    """`goroutine_chains` output as plain JSON-able data."""
    return {**d, "waits": [[s.model_dump() for s in ch] for ch in d["waits"]],
            "syscalls": [[s.model_dump() for s in ch] for ch in d["syscalls"]]}
