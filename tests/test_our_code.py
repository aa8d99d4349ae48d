"""`f.our_code`: the team's own code, counted exactly per function and package.

The fixtures are built from the module `netpollfixtures`, whose path has no dot: before, "user
code" meant `main` or a dotted first path element, so these packages counted as library code,
vanished from cited stacks into "(+N runtime/library frames)", and "more than N goroutines
blocked in our function" could not be written (evidence is a top-5 sample).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from diagnose.features import extract
from diagnose.features.ourcode import OwnCode

REPO = Path(__file__).resolve().parent.parent
TRACES = REPO / "fixtures" / "traces"
SLOW = TRACES / "slowconsumer-chunked-go1.22.10.trace"
HEAVY = TRACES / "healthy-heavy-go1.19.8.trace"
WRITE_EVENT = "netpollfixtures/internal/fx.writeEvent"

pytestmark = pytest.mark.skipif(not (SLOW.is_file() and HEAVY.is_file()), reason="fixture corpus not present")


@lru_cache(maxsize=None)
def feats(path: Path, modules: tuple[str, ...] = ()):
    return extract(str(path), modules=list(modules) or None)


def test_dotless_module_is_inferred_as_our_code():
    oc = feats(SLOW).our_code
    assert oc.inferred and oc.modules == [] and oc.main_module == "netpollfixtures"
    assert oc.packages_seen == ["netpollfixtures/internal/fx"]
    names = [fn.name for fn in oc.functions]
    assert WRITE_EVENT in names and not any(n.startswith(("net/", "net.", "runtime.", "bufio.")) for n in names)


def test_totals_are_counts_not_samples():
    f = feats(SLOW)
    we = next(fn for fn in f.our_code.functions if fn.name == WRITE_EVENT)
    # every write-side network wait of the trace starts in fx.writeEvent (its total also counts
    # waits still open at the end), far more than the evidence samples
    assert f.network.write_waits.count <= we.network_waits.count <= f.network.write_waits.count + 8
    # evidence is a sample: at most 5 of each kind (ended waits, open waits, write-blocked
    # goroutines, parked goroutines)
    assert we.network_waits.count >= 80 and len(f.network.evidence) <= 20
    assert we.goroutines_blocked == 4 and we.package == "netpollfixtures/internal/fx"
    assert we.syscalls.count > 1000
    pkg = f.our_code.packages[0]
    assert pkg.name == "netpollfixtures/internal/fx" and pkg.network_waits.count == we.network_waits.count
    assert len(f.our_code.evidence) <= 5 and all("blocked in netpollfixtures" in e.note for e in f.our_code.evidence)


def test_heavy_healthy_trace_counts_48_blocked_streams():
    serve = next(fn for fn in feats(HEAVY).our_code.functions if fn.name.endswith("fx.serveStream"))
    assert serve.goroutines_blocked == 48 and serve.waits.count > 4000


def test_module_option_narrows_our_code():
    oc = feats(SLOW, ("netpollfixtures/cmd",)).our_code
    assert not oc.inferred and oc.modules == ["netpollfixtures/cmd"]
    assert oc.functions == []  # fx is not under netpollfixtures/cmd; main does not block here
    oc = feats(SLOW, ("netpollfixtures",)).our_code
    assert WRITE_EVENT in [fn.name for fn in oc.functions]


def test_inference_rules_on_paths():
    files = {
        "runtime": {"/usr/lib/go/src/runtime/proc.go"},
        "net/http": {"/usr/lib/go/src/net/http/server.go"},
        "corp/payments/stream": {"/home/ci/src/stream/hub.go"},
        "github.com/acme/lib": {"/home/ci/go/pkg/mod/github.com/acme/lib@v1.2.3/lib.go"},
        "github.com/corp/svc/internal/x": {"/home/ci/src/svc/internal/x/x.go"},
        "vendor/golang.org/x/net/http2": {"/usr/lib/go/src/vendor/golang.org/x/net/http2/frame.go"},
    }
    own = OwnCode(files)
    assert [p for p in sorted(files) if own.is_ours(p)] == ["corp/payments/stream", "github.com/corp/svc/internal/x"]
    assert own.is_ours("main")
    given = OwnCode(files, ["corp/payments"])
    assert given.is_ours("corp/payments/stream") and not given.is_ours("github.com/corp/svc/internal/x")
    assert not given.is_ours("corp/paymentsx")


def test_cited_stacks_keep_our_frames():
    from diagnose.rules import diagnose, load_ruleset

    d = diagnose(feats(SLOW), load_ruleset(env={}))
    f = next(x for x in d.findings if x.cause == "slow_consumer")
    frames = [fr for c in f.evidence for fr in c.stack]
    assert any(fr.ours and fr.func == WRITE_EVENT for fr in frames)
    from diagnose.report.text import render

    assert f"{WRITE_EVENT} server.go" in render(d)  # was hidden in "(+7 runtime/library frames)"
