"""Every command that analyses a trace reads it through the compiled kernel when it is built,
and the graph's hot scan through the compiled scans (issue 18: "one code path for every
command ... a test asserts that each CLI path engages the kernel"), and the features stage's
kernels (diagnose/features/_fastfeat.c) likewise. `inspect` counts over the
columns. `dump` prints the kernel's events in their wire form, a generation piece at a time
(read/dumprows.py), with no `Event` each; its text is checked against the `Event` path here.
"""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import diagnose.read.v1.convert  # noqa: F401  (the module: v1_counted patches it)

from diagnose.features import kernel as FK
from diagnose.graph import fast as GF
from diagnose.timeline import analysis as A
from diagnose.timeline import kernel
from tests.support.cli import run_main_captured

REPO = Path(__file__).resolve().parent.parent
TRACE = REPO / "fixtures" / "traces" / "gomaxprocs-procs1-burst-go1.27.3.trace"
OTHER = REPO / "fixtures" / "traces" / "healthy-light-go1.27.3.trace"

COMMANDS = {
    "diagnose-text": [str(TRACE)],
    "diagnose-json": [str(TRACE), "--format", "json"],
    "diagnose-html": [str(TRACE), "--format", "html"],
    "diff": ["diff", str(OTHER), str(TRACE)],
    "features": ["features", str(TRACE), "--format", "json"],
    "explain": ["explain", str(TRACE), "--conns"],
}


def _kernel_env(monkeypatch, built: bool, what: str) -> None:
    if not built:
        pytest.skip(f"{what} is not built here (no C compiler at install time)")
    monkeypatch.delenv("NETPOLL_DIAGNOSE_PURE", raising=False)
    monkeypatch.setenv("NETPOLL_DIAGNOSE_JOBS", "1")  # counted in this process


def _count_calls(monkeypatch, owner, name: str, calls: dict, key: str, counts=lambda got: 1) -> None:
    """Wrap owner.name so that each call adds counts(result) to calls[key]."""
    real = getattr(owner, name)

    def wrapper(*a, **k):
        got = real(*a, **k)
        calls[key] += counts(got)
        return got

    monkeypatch.setattr(owner, name, wrapper)


@pytest.fixture()
def counted(monkeypatch):
    _kernel_env(monkeypatch, kernel._fastwire is not None, "the compiled kernel")
    calls = {"kernel": 0, "scan": 0, "feat": 0}
    _count_calls(monkeypatch, kernel._Driver, "generations", calls, "kernel")
    if A._fastscan is not None:
        _count_calls(monkeypatch, A, "_held_by_goroutine_compiled", calls, "scan")
    if FK._fastfeat is not None:  # the features stage's kernels: count every call into the module
        real = FK._fastfeat
        monkeypatch.setattr(FK, "_fastfeat", SimpleNamespace(**{
            n: _counted_fn(getattr(real, n), calls, "feat") for n in dir(real) if not n.startswith("_")}))
    return calls


def _counted_fn(fn, calls: dict, key: str):
    def f(*a):
        calls[key] += 1
        return fn(*a)
    return f


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_reads_through_the_kernel(name, counted):
    code, out, err = run_main_captured(*COMMANDS[name])
    assert code in (0, 1), err
    assert counted["kernel"] >= (2 if name == "diff" else 1)
    if A._fastscan is not None:
        assert counted["scan"] >= 1
    if FK._fastfeat is not None:
        assert counted["feat"] >= 1


def test_profile_reads_through_the_kernel(counted, tmp_path):
    code, out, err = run_main_captured("profile", str(TRACE), "-o", str(tmp_path / "p.pb.gz"))
    assert code == 0, err
    assert counted["kernel"] == 1


def test_inspect_reads_through_the_kernel(counted):
    code, out, err = run_main_captured("inspect", str(TRACE), "--json")
    assert code == 0, err
    assert counted["kernel"] == 1


def test_pure_setting_engages_neither(counted, monkeypatch):
    monkeypatch.setenv("NETPOLL_DIAGNOSE_PURE", "1")
    code, out, err = run_main_captured(str(TRACE), "--format", "json")
    assert code in (0, 1), err
    assert counted == {"kernel": 0, "scan": 0, "feat": 0}


# --- old formats (Go <= 1.21): timeline/kernel_v1.py, no Event per event -----------------------
V1_TRACE = REPO / "fixtures" / "traces" / "gomaxprocs-procs1-burst-go1.21.13.trace"
V1_OTHER = REPO / "fixtures" / "traces" / "healthy-light-go1.19.8.trace"
#: the same commands on old-format traces
V1_COMMANDS = {name: [{str(TRACE): str(V1_TRACE), str(OTHER): str(V1_OTHER)}.get(a, a) for a in argv]
               for name, argv in COMMANDS.items()}


@pytest.fixture()
def v1_counted(monkeypatch):
    from diagnose.timeline import kernel_v1

    _kernel_env(monkeypatch, kernel_v1._v1fast is not None, "the compiled old-format kernel")
    calls = {"rows": 0, "events": 0}
    _count_calls(monkeypatch, kernel_v1._v1fast, "convert_chunk", calls, "rows", lambda got: got is not None)
    # the reference converter: one Event per event
    _count_calls(monkeypatch, sys.modules["diagnose.read.v1.convert"].V1Conversion, "_convert", calls, "events")
    return calls


@pytest.mark.parametrize("name", list(V1_COMMANDS))
def test_old_format_command_reads_through_the_kernel(name, v1_counted):
    assert V1_TRACE.exists() and V1_OTHER.exists()
    code, out, err = run_main_captured(*V1_COMMANDS[name])
    assert code in (0, 1), err
    assert v1_counted == {"rows": 2 if name == "diff" else 1, "events": 0}


def test_old_format_pure_setting_uses_the_reference(v1_counted, monkeypatch):
    monkeypatch.setenv("NETPOLL_DIAGNOSE_PURE", "1")
    code, out, err = run_main_captured(str(V1_TRACE), "--format", "json")
    assert code in (0, 1), err
    assert v1_counted["rows"] == 0 and v1_counted["events"] > 1000


def test_old_format_progress_path_reads_through_the_kernel(v1_counted, monkeypatch):
    """At a terminal (progress counted on the file object) old formats take the kernel too."""
    import io

    from diagnose import pipeline
    from diagnose.report.progress import TerminalProgress

    class TTY(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("NETPOLL_DIAGNOSE_PROGRESS_DELAY", "0")
    out = TTY()
    with pipeline.open_input(str(V1_TRACE)) as inp:
        run = pipeline.analyse(inp, progress=TerminalProgress(V1_TRACE.name, stream=out))
    assert v1_counted == {"rows": 1, "events": 0}
    assert f"reading {V1_TRACE.name}" in out.getvalue() and run.features.trace.event_count > 1000


# --- dump: the compiled readers' events in their wire form (read/dumprows.py), no Event each ----
def _dump_captured(*argv: str) -> tuple[int, bytes, str]:
    """(exit code, stdout bytes, stderr) of `netpoll-diagnose dump ...` in this interpreter."""
    import contextlib
    import io

    from diagnose.cli import main

    raw, err = io.BytesIO(), io.StringIO()
    out = io.TextIOWrapper(raw, encoding="utf-8")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["dump", *argv])
    out.flush()
    return code, raw.getvalue(), err.getvalue()


def _reference_dump(path: Path) -> bytes:
    """What dump printed before it read through the kernel: one Event per event, str(ev)."""
    import io

    from diagnose.read import open_trace, write_dump

    buf = io.BytesIO()
    write_dump(open_trace(path).events(), buf)
    return buf.getvalue()


def test_dump_reads_through_the_kernel(counted, monkeypatch):
    from diagnose.read import reader

    calls = {"generations": 0, "events": 0}
    _count_calls(monkeypatch, kernel._Driver, "generations", calls, "generations")
    _count_calls(monkeypatch, reader.Reader, "_read_event", calls, "events")
    code, out, err = _dump_captured(str(TRACE))
    assert code == 0 and err == "", err
    assert calls == {"generations": 1, "events": 0}
    monkeypatch.undo()
    assert out == _reference_dump(TRACE) and out.count(b"\n") > 1000


def test_old_format_dump_reads_through_the_kernel(v1_counted):
    code, out, err = _dump_captured(str(V1_TRACE))
    assert code == 0 and err == "", err
    assert v1_counted["rows"] >= 1 and v1_counted["events"] == 0
    assert out == _reference_dump(V1_TRACE) and out.count(b"\n") > 1000


def test_pure_dump_engages_neither(counted, monkeypatch):
    """NETPOLL_DIAGNOSE_PURE=1: the same formatter over the pure reader's events."""
    monkeypatch.setenv("NETPOLL_DIAGNOSE_PURE", "1")
    code, out, err = _dump_captured(str(TRACE))
    assert code == 0 and err == "", err
    assert counted == {"kernel": 0, "scan": 0, "feat": 0}
    assert out == _reference_dump(TRACE)


@pytest.mark.parametrize("selector, module", [
    (lambda: A.scan_kernel(), lambda: A._fastscan),
    (lambda: GF.graph_kernel(), lambda: GF._fastgraph),
    (lambda: FK.feat_kernel(), lambda: FK._fastfeat),
], ids=["timeline-scans", "graph", "features"])
def test_pure_setting_switches_each_compiled_kernel_off(selector, module, monkeypatch):
    """Every compiled kernel goes through one switch (`diagnose.compiled`): off with
    NETPOLL_DIAGNOSE_PURE=1, the built module (or None when not built) otherwise."""
    monkeypatch.setenv("NETPOLL_DIAGNOSE_PURE", "1")
    assert selector() is None
    monkeypatch.setenv("NETPOLL_DIAGNOSE_PURE", "0")
    assert selector() is module()
