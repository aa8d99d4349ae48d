"""Shared by benchmarks/generalisation.py and benchmarks/calibrate.py: run the current rules on
the fixture corpora and label each result against what the clients measured.

Labels (issue 12):

* a trace's **expected causes** are the causes its program injected (manifest
  `expected_causes`, at every dose);
* a dose is **noticed** when the clients' chunk p95 in the traced window is at least
  ``NOTICE_RATIO`` times the p95 of the program's healthy baseline variant *on the same Go
  version in the same regeneration pass* (manifest `baseline`); for the harness corpus
  (fixtures/manifest.json) every reproduced scenario counts as noticed (its labels were
  checked by the harness: latency, or correctness for fd reuse); an fd_reuse dose is noticed
  when its clients saw more cross-talk (broken or foreign frames, disconnects, failed
  requests) in the window than the baseline's;
* at a noticed dose each expected cause must be found at >= warning (else a **miss**); below
  it, info or nothing is expected (a warning there is **early**); a warning naming a cause
  that was not injected is a **wrong cause**; on a healthy or confounder trace any warning is
  a **false alarm**.

Features are cached under benchmarks/out/feature-cache/, keyed by the trace's sha256 and a
hash of the stage sources (read, timeline, graph, features), so re-running after a rule
change costs only rule evaluation.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from diagnose.features.model import Features  # noqa: E402
from diagnose.rules import celeval  # noqa: E402
from diagnose.rules.engine import diagnose, evaluate_rule  # noqa: E402
from diagnose.rules.loader import RuleSet, load_ruleset  # noqa: E402
from diagnose.rules.schema import severity_rank  # noqa: E402

FIX = REPO / "fixtures"
GEN_MANIFEST = FIX / "generalisation.json"
FX_MANIFEST = FIX / "manifest.json"
CACHE = Path(os.environ.get("NETPOLL_FEATURE_CACHE") or REPO / "benchmarks" / "out" / "feature-cache")
NOTICE_RATIO = 2.0
PRODUCT_CAUSES = ("fd_reuse", "custom_listener", "tls_fd_bypass", "gomaxprocs_starvation",
                  "slow_consumer", "gc_pressure", "syscall_storm")
WARN = severity_rank("warning")
#: What a trace shows of each cause, rule thresholds aside: the features its rules read (dotted
#: paths into the features JSON). A missed dose whose every signal is no higher than in the
#: program's healthy runs left nothing in the trace that tells it from healthy.
SIGNALS: dict[str, tuple[str, ...]] = {
    "fd_reuse": ("fds.raw_close_count", "fds.finalizer_close_count"),
    "custom_listener": ("syscalls.blocking_accept_count", "syscalls.raw_accepts_per_s",
                        "syscalls.accept_loop_busy_share"),
    "tls_fd_bypass": ("syscalls.raw_conn_blocking_io_count", "syscalls.blocked_conn_read_count",
                      "fds.set_blocking_count", "fds.raw_fd_io_count"),
    "gomaxprocs_starvation": ("scheduling.wake_to_run_after_wakeup.p95_ms",
                              "scheduling.timer_wakes.late_ms_per_s"),
    "slow_consumer": ("network.write_waits.count", "network.write_blocked_ms"),
    "gc_pressure": ("gc.gc_time_share", "gc.mark_assist_share"),
    "syscall_storm": ("syscalls.write_per_s", "syscalls.writes_per_wait"),
}


@dataclass
class RuleHit:
    rule_id: str
    cause: str
    severity: str
    confidence: float
    strength: float | None  # mean signal strength (None: constant confidence)


@dataclass
class Case:
    """One trace of a corpus, with its labels and what the rules said."""
    path: Path
    program: str
    variant: str
    go: str
    split: str
    expected: list[str]
    p95: float | None
    baseline_p95: float | None
    kind: str  # "dose" | "mixed" | "healthy" | "confounder" | "fx"
    dose: float | None = None
    xtalk: int = 0  # cross-talk the clients saw in the window
    baseline_xtalk: int = 0
    findings: list[tuple[str, str, float]] = field(default_factory=list)  # (cause, severity, conf)
    rules: list[RuleHit] = field(default_factory=list)
    # client p95 per class in the window ("slow", "fast": readers throttled or not), when the
    # program has slow readers: a slow-consumer dose that delays only its own slow readers
    class_p95: dict[str, float] = field(default_factory=dict)
    # (write waits that ended in the window, ms any goroutine spent blocked writing): the
    # write-side evidence the slow-consumer rules read, for the miss listing
    write_side: tuple[int, float] = (0, 0.0)
    baseline: str = ""  # the program's healthy variant this dose is measured against
    # per cause, the trace's own symptoms of it (SIGNALS), to tell a miss with nothing to read
    # from a threshold question (benchmarks/generalisation.py)
    signals: dict[str, tuple[float, ...]] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.p95 is None or not self.baseline_p95:
            return None
        return self.p95 / self.baseline_p95

    @property
    def noticed(self) -> bool:
        if self.kind == "fx":
            return bool(self.expected)
        if "fd_reuse" in self.expected and self.xtalk > self.baseline_xtalk:
            return True
        r = self.ratio
        return bool(self.expected) and r is not None and r >= NOTICE_RATIO

    def warned(self) -> list[str]:
        """Causes found at >= warning, strongest first (as the report ranks them)."""
        return [c for c, sev, _ in self.findings if severity_rank(sev) >= WARN]


def _code_hash() -> str:
    h = hashlib.sha256()
    for stage in ("read", "timeline", "graph", "features"):
        for p in sorted((REPO / "diagnose" / stage).rglob("*.py")):
            h.update(p.read_bytes())
    return h.hexdigest()[:12]


def features_for(path: Path, sha: str, code: str) -> Features:
    from diagnose.features import extract

    cached = CACHE / f"{sha[:20]}-{code}.json"
    if cached.is_file():
        return Features.model_validate_json(cached.read_text(encoding="utf-8"))
    feats = extract(str(path))
    CACHE.mkdir(parents=True, exist_ok=True)
    cached.write_text(feats.model_dump_json(), encoding="utf-8")
    return feats


def _strength(lr: Any, conf: float) -> float | None:
    spec = lr.rule.confidence
    if isinstance(spec, (int, float)):
        return None
    span = spec.at_saturation - spec.at_threshold
    return 0.0 if span <= 0 else max(0.0, min(1.0, (conf - spec.at_threshold) / span))


def _xtalk(m: dict[str, Any]) -> int:
    return m["foreign_events"] + m["broken_frames"] + m["disconnects"] + m["http_errors"]


def _class_p95(e: dict[str, Any]) -> dict[str, float]:
    out = {}
    for cls, st in (e.get("measured_classes") or {}).items():
        p = (st.get("latency_ms") or {}).get("p95")
        if p is not None:
            out[cls] = p
    return out


def load_cases(include_fx: bool = False, programs: set[str] | None = None) -> list[Case]:
    out: list[Case] = []
    if GEN_MANIFEST.is_file():
        entries = [e for e in json.loads(GEN_MANIFEST.read_text())["traces"] if e.get("path")]
        p95 = {(e["program"], e["variant"], e["toolchain"]): e["measured"]["latency_ms"].get("p95")
               for e in entries}
        xt = {(e["program"], e["variant"], e["toolchain"]): _xtalk(e["measured"]) for e in entries}
        for e in entries:
            if programs and e["program"] not in programs:
                continue
            causes = list(e["expected_causes"])
            kind = ("mixed" if len(causes) > 1 else "dose" if causes else
                    "confounder" if e.get("confounder") else "healthy")
            out.append(Case(FIX / e["path"], e["program"], e["variant"], e["toolchain"], e["split"],
                            causes, e["measured"]["latency_ms"].get("p95"),
                            p95.get((e["program"], e["baseline"], e["toolchain"])), kind, e.get("dose"),
                            xt[(e["program"], e["variant"], e["toolchain"])],
                            xt.get((e["program"], e["baseline"], e["toolchain"]), 0),
                            class_p95=_class_p95(e), baseline=e["baseline"] or ""))
    if include_fx and FX_MANIFEST.is_file():
        for e in json.loads(FX_MANIFEST.read_text())["traces"]:
            if not e.get("path") or not e.get("reproduced"):
                continue
            out.append(Case(FIX / e["path"], "fx:" + e["scenario"], e["variant"], e["toolchain"], "train",
                            list(e["expected_causes"]), e["measured"]["latency_ms"].get("p95"), None,
                            "fx" if e["expected_causes"] else "healthy"))
    return out


def _fill_one(job: tuple[Path, str, str]) -> None:
    features_for(*job)


def fill_cache(cases: list[Case], code: str, log: bool = True) -> None:
    """Compute the features the cache lacks, in parallel processes (NETPOLL_EVAL_JOBS, default:
    the CPUs): after a change to read/timeline/graph/features every trace is recomputed, ~10 min
    for the ~1250 traces in one process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    todo = []
    for c in cases:
        sha = hashlib.sha256(c.path.read_bytes()).hexdigest()
        if not (CACHE / f"{sha[:20]}-{code}.json").is_file():
            todo.append((c.path, sha, code))
    jobs = int(os.environ.get("NETPOLL_EVAL_JOBS") or os.cpu_count() or 1)
    if len(todo) < 2 or jobs < 2:
        return
    if log:
        print(f"  computing features of {len(todo)} traces in {jobs} processes", file=sys.stderr, flush=True)
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        list(pool.map(_fill_one, todo, chunksize=4))


def run_rules(cases: list[Case], ruleset: RuleSet | None = None, log: bool = True) -> RuleSet:
    """Fill each case's findings (merged by cause, as reported) and per-rule hits."""
    ruleset = ruleset or load_ruleset()
    code = _code_hash()
    fill_cache(cases, code, log)
    for i, c in enumerate(cases):
        sha = hashlib.sha256(c.path.read_bytes()).hexdigest()
        feats = features_for(c.path, sha, code)
        d = diagnose(feats, ruleset)
        c.findings = [(f.cause, f.severity, f.confidence) for f in d.findings]
        c.write_side = (feats.network.write_waits.count, feats.network.write_blocked_ms)
        fdict = feats.model_dump()
        c.signals = {cause: tuple(_path(fdict, p) for p in paths) for cause, paths in SIGNALS.items()}
        fctx = celeval.shared({"f": fdict})  # converted once for all the rules, as diagnose does
        c.rules = []
        for lr in ruleset.active():
            r = evaluate_rule(lr, fdict, ruleset.knowledge, fctx=fctx)
            if r.fired and r.finding is not None:
                c.rules.append(RuleHit(lr.rule.id, lr.rule.cause, r.finding.severity, r.confidence,
                                       _strength(lr, r.confidence)))
        if log and (i + 1) % 25 == 0:
            print(f"  ... {i + 1}/{len(cases)} traces", file=sys.stderr, flush=True)
    return ruleset


def _path(d: dict[str, Any], dotted: str) -> float:
    for part in dotted.split("."):
        d = d[part]
    return float(d)  # type: ignore[arg-type]


def correct(case: Case, cause: str) -> bool:
    """Was a finding naming `cause` right? The cause was injected and clients noticed."""
    return cause in case.expected and case.noticed
