"""strace join (issue 17): real trace + strace pairs recorded together by the fixture harness
(`python tools/regen_fixtures.py --strace`, fixtures/strace/), Go 1.22/1.24/1.25/1.27.

The harness recorded CLOCK_REALTIME - CLOCK_MONOTONIC at each run (manifest `clock_offset_ns`):
the ground truth the join's clock-offset estimate is checked against. Damaged logs (cut, garbled,
re-stamped -tt, split -ff) are made from the real logs by small deliberate edits.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from functools import lru_cache
from pathlib import Path

import pytest

from diagnose.cli import main as cli_main
from diagnose.features.strace import extract_with_sibling_log
from diagnose.graph.strace_join import JoinError, join
from diagnose.read.strace import StraceError, read_strace, trace_clock_snapshot
from diagnose.timeline import load_timelines

REPO = Path(__file__).resolve().parent.parent
FIX = REPO / "fixtures"
PAIRS = json.loads((FIX / "strace" / "manifest.json").read_text())["pairs"]
IDS = [Path(p["trace"]).stem for p in PAIRS]
FD_REUSE = [p for p in PAIRS if p["scenario"] == "fdreuse"]
CONTROLS = [p for p in PAIRS if p["scenario"] in ("healthy", "customlistener", "tlsbypass")]


@lru_cache(maxsize=None)
def _tl(trace: str):
    return load_timelines(str(FIX / trace))


@lru_cache(maxsize=None)
def _joined(trace: str, log: str, use_snapshot: bool = True):
    snap = trace_clock_snapshot(FIX / trace) if use_snapshot else None
    return join(_tl(trace), read_strace(FIX / log), snap, 22)


@lru_cache(maxsize=None)
def _features(trace: str):
    return extract_with_sibling_log(str(FIX / trace))


@lru_cache(maxsize=None)
def _diagnosis(trace: str):
    from diagnose.rules.engine import diagnose
    from diagnose.rules.loader import load_ruleset

    return diagnose(_features(trace), load_ruleset(rules_dirs=[]))


def test_corpus_covers_every_go_version_from_1_22():
    assert {p["toolchain"] for p in PAIRS} == {"1.22.10", "1.24.11", "1.25.5", "1.27.3"}
    assert {(p["scenario"]) for p in PAIRS} == {"fdreuse", "customlistener", "tlsbypass", "healthy"}


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
def test_join_matches_at_least_95_percent(pair):
    res = _joined(pair["trace"], pair["strace"])
    assert res.traced > 30
    assert res.match_rate >= 0.95, (res.match_rate, res.unmatched_by_call)
    # a matched call's strace entry lies within tens of microseconds of the trace's syscall begin
    assert abs(res.lag_p50_ns) < 100_000


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
def test_offset_estimated_from_pairs_agrees_with_the_kernel_clocks(pair):
    res = _joined(pair["trace"], pair["strace"], use_snapshot=False)
    assert res.offset_source.startswith("estimated")
    assert abs(res.offset_estimate_ns - pair["clock_offset_ns"]) < 100_000  # 0.1 ms


@pytest.mark.parametrize("pair", [p for p in PAIRS if p["toolchain"] >= "1.25"],
                         ids=[Path(p["trace"]).stem for p in PAIRS if p["toolchain"] >= "1.25"])
def test_snapshot_offset_is_used_and_agrees(pair):
    res = _joined(pair["trace"], pair["strace"])
    assert res.offset_source == "clock snapshot"
    assert abs(res.offset_ns - pair["clock_offset_ns"]) < 100_000
    assert abs(res.offset_ns - res.offset_estimate_ns) < 100_000


@pytest.mark.parametrize("pair", FD_REUSE, ids=[Path(p["trace"]).stem for p in FD_REUSE])
def test_fd_reuse_findings_name_the_fds_and_both_peers(pair):
    result = _diagnosis(pair["trace"])
    found = [f for f in result.findings if f.cause == "fd_reuse"]
    assert found
    for f in found:  # one finding per cause: the strace proof outranks the trace-only rules
        text = f.message
        assert "proof: strace" in text
        s = _features(pair["trace"]).strace
        assert s.reused_fds and all(str(fd) in text for fd in s.reused_fds)
        for r in s.reuses:
            assert re.match(r"127\.0\.0\.1:\d+$", r.old_peer) and re.match(r"127\.0\.0\.1:\d+$", r.new_peer)
            assert r.old_peer != r.new_peer
            assert r.closed_ns is not None and r.reissued_ns is not None
            assert r.closed_ns <= r.reissued_ns <= r.time_ns + 1_000  # close, re-issue, then the stale use


@pytest.mark.parametrize("pair", CONTROLS, ids=[Path(p["trace"]).stem for p in CONTROLS])
def test_no_fd_reuse_on_controls_with_logs(pair):
    result = _diagnosis(pair["trace"])
    assert not [f for f in result.findings if f.cause == "fd_reuse"]
    s = _features(pair["trace"]).strace
    assert s.present and s.fd_reuse_count == 0


def test_blocking_mode_and_unregistered_sockets_only_where_they_happen():
    for p in PAIRS:
        s = _features(p["trace"]).strace
        assert (s.blocking_change_count > 0) == (p["scenario"] == "tlsbypass"), p["trace"]
        assert (s.unregistered_socket_count > 0) == (p["scenario"] == "customlistener"), p["trace"]
        accepted = any(c.name == "accept4" and c.ret is not None and c.ret >= 0
                       for c in read_strace(FIX / p["strace"]).calls)  # healthy:light accepts none in its window
        assert (s.registered_socket_count > 0) == (p["scenario"] != "customlistener" and accepted), p["trace"]


@pytest.mark.parametrize("pair", CONTROLS, ids=[Path(p["trace"]).stem for p in CONTROLS])
def test_strace_overhead_is_not_called_a_custom_listener(pair):
    """strace makes accept4 take >= 1 ms; a log showing every socket registered with epoll
    refutes the trace-only custom_listener rule, a log showing bypass confirms it."""
    causes = {f.cause for f in _diagnosis(pair["trace"]).findings}
    assert ("custom_listener" in causes) == (pair["scenario"] == "customlistener")


def test_graph_connections_and_syscall_sites_get_fds_peers_and_results():
    from diagnose.graph.causal import build_graph
    from diagnose.graph.strace_join import annotate_graph

    tl = _tl(PAIR["trace"])
    cg = build_graph(tl)
    res = _joined(PAIR["trace"], PAIR["strace"])
    annotate_graph(cg.g, res, tl)
    conns = [d for _, d in cg.g.nodes(data=True) if d.get("kind") == "connection" and d.get("proof") == "strace"]
    assert len(conns) >= 10
    assert all(isinstance(d["fd"], int) and re.match(r"127\.0\.0\.1:\d+$", d["peer"]) for d in conns)
    moved = [r for d in conns for r in d.get("fd_reused_by_new_peer", [])]
    assert moved and all(r["old_peer"] != r["new_peer"] for r in moved)
    writes = cg.g.nodes["syscall:internal/poll.(*FD).Write|syscall.write"]
    assert writes["results"]["ok"] > 100 and writes["results"].get("EBADF", 0) > 0  # writes on closed numbers


def test_log_without_fd_decoding_still_proves_reuse_with_peers_from_accept(tmp_path):
    """No -yy: peers come from accept4's sockaddr; the same reuses are found."""
    text = (FIX / PAIR["strace"]).read_text()
    plain = tmp_path / "plain.strace"
    plain.write_text(re.sub(r"(?<=\d)<(?:[^<>\[\]]|\[(?:[^\[\]]|\[[^\]]*\])*\])*>(?=[,)\s])", "", text))
    log = read_strace(plain)
    assert not log.has_fd_decoding
    res = join(_tl(PAIR["trace"]), log, None, 22)
    whole = _joined(PAIR["trace"], PAIR["strace"])
    assert len(res.stale_uses) == len(whole.stale_uses)
    assert [(u.fd, u.old.peer, u.new.peer) for u in res.stale_uses if u.old.creator] == \
        [(u.fd, u.old.peer, u.new.peer) for u in whole.stale_uses if u.old.creator]


# ----------------------------------------------------------------------------- damaged logs

PAIR = next(p for p in PAIRS if p["trace"].endswith("fdreuse-control-close-go1.22.10.trace"))


def test_cut_log_reads_with_a_warning_and_joins_partially(tmp_path):
    raw = (FIX / PAIR["strace"]).read_bytes()
    cut = tmp_path / "cut.strace"
    cut.write_bytes(raw[: len(raw) // 2 + 17])  # mid-line
    log = read_strace(cut)
    assert any("last line is cut" in w for w in log.warnings)
    res = join(_tl(PAIR["trace"]), log, None, 22)
    assert any("only part of the trace" in w for w in res.warnings)
    assert res.match_rate >= 0.95  # of the syscalls inside the half the log covers
    assert res.traced < _joined(PAIR["trace"], PAIR["strace"]).traced


def test_a_call_strace_detached_from_reads_as_unfinished(tmp_path):
    """strace stopped (SIGINT) while a thread sat in a call: its last line ends `<detached ...>`."""
    text = (FIX / PAIR["strace"]).read_text()
    last = text.rstrip("\n").rsplit("\n", 1)[1]
    tid, stamp = last.split()[:2]
    det = tmp_path / "det.strace"
    det.write_text(text + f"{tid} {stamp} epoll_pwait(3<anon_inode:[eventpoll]>,  <detached ...>\n")
    log = read_strace(det)
    c = log.calls[-1] if log.calls[-1].name == "epoll_pwait" else [c for c in log.calls if c.name == "epoll_pwait"][-1]
    assert c.ret is None and not c.resumed
    assert any("never resumed" in w for w in log.warnings)


def test_garbled_line_is_one_clear_error_with_file_and_line(tmp_path, capsys):
    lines = (FIX / PAIR["strace"]).read_text().splitlines(keepends=True)
    bad = tmp_path / "bad.strace"
    bad.write_text("".join(lines[:9]) + "\x1b[2Jthis is not strace output\n" + "".join(lines[9:]))
    with pytest.raises(StraceError) as ei:
        read_strace(bad)
    assert ei.value.one_line().startswith(f"{bad}:10: ")
    code = cli_main([str(FIX / PAIR["trace"]), "--strace", str(bad)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and f"{bad}:10" in err[0] and "Traceback" not in err[0]


def test_a_trace_is_not_an_strace_log(capsys):
    code = cli_main([str(FIX / PAIR["trace"]), "--strace", str(FIX / PAIR["trace"])])
    err = capsys.readouterr().err
    assert code == 2 and "not an strace log" in err


def test_log_from_another_process_is_refused(capsys):
    other = next(p for p in PAIRS if p["trace"].endswith("healthy-light-go1.24.11.trace"))
    with pytest.raises(JoinError, match="another process"):
        join(_tl(PAIR["trace"]), read_strace(FIX / other["strace"]), None, 22)
    code = cli_main([str(FIX / PAIR["trace"]), "--strace", str(FIX / other["strace"])])
    assert code == 2 and "another process" in capsys.readouterr().err


def test_old_trace_format_is_refused(tmp_path):
    old = FIX / "traces" / "fdreuse-control-close-go1.21.13.trace"
    with pytest.raises(JoinError, match="1.22"):
        join(load_timelines(str(old)), read_strace(FIX / PAIR["strace"]), None, 21)


def test_relative_timestamps_are_refused(tmp_path):
    lines = (FIX / PAIR["strace"]).read_text().splitlines()
    rel = tmp_path / "rel.strace"
    rel.write_text("\n".join(re.sub(r"^(\d+)\s+\d+\.(\d+)", r"\1      0.\2", x) for x in lines[:5]) + "\n")
    with pytest.raises(StraceError, match="relative"):
        read_strace(rel)


def test_ff_per_thread_files_join_like_one_file(tmp_path):
    by_tid: dict[str, list[str]] = {}
    for line in (FIX / PAIR["strace"]).read_text().splitlines(keepends=True):
        tid, rest = line.split(None, 1)
        by_tid.setdefault(tid, []).append(rest)
    for tid, rest in by_tid.items():
        (tmp_path / f"log.{tid}").write_text("".join(rest))
    res = join(_tl(PAIR["trace"]), read_strace(tmp_path / "log"), None, 22)
    whole = _joined(PAIR["trace"], PAIR["strace"])
    assert len(read_strace(tmp_path / "log").paths) == len(by_tid) > 1
    assert len(res.matches) == len(whole.matches) and len(res.stale_uses) == len(whole.stale_uses)


def test_time_of_day_stamps_join_with_an_estimated_offset(tmp_path):
    """-tt logs (HH:MM:SS.us, the recording host's zone): same matches as the -ttt original."""
    def tod(m: re.Match) -> str:
        sec = int(m.group(2)) + 3600  # a zone one hour east of UTC
        return f"{m.group(1)} {time.strftime('%H:%M:%S', time.gmtime(sec))}.{m.group(3)}"
    text = (FIX / PAIR["strace"]).read_text()
    tt = tmp_path / "tt.strace"
    tt.write_text(re.sub(r"^(\d+)\s+(\d+)\.(\d+)", tod, text, flags=re.M))
    log = read_strace(tt)
    assert log.clock == "time_of_day"
    res = join(_tl(PAIR["trace"]), log, None, 22)
    whole = _joined(PAIR["trace"], PAIR["strace"])
    assert res.match_rate >= 0.95 and len(res.stale_uses) == len(whole.stale_uses)


def test_whole_second_stamps_read_but_are_refused_for_the_join(tmp_path):
    """-t (HH:MM:SS): read, but one-second stamps match syscalls by accident, so no join."""
    text = (FIX / PAIR["strace"]).read_text()
    t = tmp_path / "t.strace"
    t.write_text(re.sub(r"^(\d+)\s+(\d+)\.\d+", lambda m: f"{m.group(1)} "
                        f"{time.strftime('%H:%M:%S', time.gmtime(int(m.group(2))))}", text, flags=re.M))
    log = read_strace(t)
    assert log.resolution_ns == 1_000_000_000 and len(log.calls) == len(read_strace(FIX / PAIR["strace"]).calls)
    with pytest.raises(JoinError, match="whole-second"):
        join(_tl(PAIR["trace"]), log, None, 22)


def test_unfinished_and_resumed_lines_become_one_call():
    text = (FIX / PAIR["strace"]).read_text()
    log = read_strace(FIX / PAIR["strace"])
    n_lines = text.count("\n")
    n_resumed = len(re.findall(r"<\.\.\. \w+ resumed>", text))
    assert n_resumed > 100
    orphans = sum(1 for c in log.calls if c.args == "" and c.name != "close")  # resumes of calls begun before the log
    assert len(log.calls) == n_lines - n_resumed + orphans
    writes = [c for c in log.calls if c.name == "write" and c.ret and c.ret > 0]
    assert writes and all(c.dur_ns is not None and c.fd is not None for c in writes)


def test_cli_reports_the_join(capsys):
    code = cli_main([str(FIX / PAIR["trace"]), "--strace", str(FIX / PAIR["strace"]), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 1
    assert re.search(r"strace: \d+ of \d+ traced syscalls matched \(\d+\.\d%\)", err)
    doc = json.loads(out)
    top = [f for f in doc["findings"] if f["cause"] == "fd_reuse"][0]
    assert "proof: strace" in top["message"]


# ----------------------------------------------------------------------------- capture

def test_capture_refuses_without_strace(monkeypatch, tmp_path):
    from diagnose import capture
    from diagnose.errors import UsageError

    monkeypatch.setattr(capture.shutil, "which", lambda name: None)
    with pytest.raises(UsageError, match="strace is not installed"):
        capture.capture(os.getpid(), "http://127.0.0.1:1", 1, tmp_path / "b")


def test_capture_refuses_a_missing_process(tmp_path):
    from diagnose import capture
    from diagnose.errors import UsageError

    if shutil.which("strace") is None:
        pytest.skip("strace is not installed (apt-get install -y strace)")
    with pytest.raises(UsageError, match="no process"):
        capture.capture(2 ** 22 + 7, "http://127.0.0.1:1", 1, tmp_path / "b")


def test_capture_that_fails_midway_leaves_nothing_attached(tmp_path):
    """strace is attached, then fetching the trace fails (nothing listens): one-line refusal,
    and the process is no longer traced."""
    from diagnose import capture
    from diagnose.errors import UsageError

    if shutil.which("strace") is None:
        pytest.skip("strace is not installed (apt-get install -y strace)")
    victim = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        with pytest.raises(UsageError, match="cannot fetch the trace"):
            capture.capture(victim.pid, "http://127.0.0.1:9", 1, tmp_path / "b")
        assert _tracer_pid(victim.pid) == 0
        assert (tmp_path / "b" / "proc-before" / "fdinfo.txt").is_file()
    finally:
        victim.kill()
        victim.wait(timeout=10)


def _tracer_pid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("TracerPid:"):
            return int(line.split()[1])
    return -1


@pytest.mark.gotoolchain
def test_capture_on_a_running_fixture_server(tmp_path, capsys):
    """Builds the healthy fixture with Go 1.27.3, captures 1 s under load, diagnoses the bundle."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed (apt-get install -y strace; .ci/run installs it)")
    from tools import gotoolchains as gt

    try:
        go = gt.go_binary("1.27.3")
    except Exception as e:  # noqa: BLE001 - any installer failure means no toolchain here
        pytest.skip(f"Go 1.27.3 unavailable: {e}")
    bindir = tmp_path / "bin"
    subprocess.run([str(go), "build", "-trimpath", "-o", str(bindir) + "/", "./cmd/healthy"], cwd=FIX / "go",
                   env=gt.go_env("1.27.3"), check=True, capture_output=True, timeout=600)
    srv = subprocess.Popen([str(bindir / "healthy"), "-mode", "server", "-variant", "light", "-addr", "127.0.0.1:0",
                            "-maxrun", "60s"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                           start_new_session=True)
    client = None
    try:
        line = srv.stdout.readline()
        assert line.startswith("LISTENING 127.0.0.1:"), line
        addr = line.split()[1]
        client = subprocess.Popen([str(bindir / "healthy"), "-mode", "client", "-variant", "light", "-addr", addr,
                                   "-trace-out", str(tmp_path / "unused.trace"), "-trace-seconds", "0.2",
                                   "-warmup", "6s", "-maxrun", "30s"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(0.5)
        bundle = tmp_path / "bundle"
        code = cli_main(["capture", "--pid", str(srv.pid), "--pprof", f"http://{addr}", "--seconds", "1",
                         "-o", str(bundle)])
        assert code == 0, capsys.readouterr().err
        assert _tracer_pid(srv.pid) == 0  # strace is gone: nothing left attached
        for name in ("trace.out", "strace.log", "bundle.json", "proc-before/fdinfo.txt", "proc-after/net_tcp.txt"):
            assert (bundle / name).is_file() and (bundle / name).stat().st_size > 0, name
        assert "socket:[" in (bundle / "proc-before" / "fdinfo.txt").read_text()
        capsys.readouterr()
        code = cli_main([str(bundle), "--format", "json", "--fail-on", "never"])
        out, err = capsys.readouterr()
        assert code == 0, err
        m = re.search(r"strace: (\d+) of (\d+) traced syscalls matched", err)
        assert m and int(m.group(2)) > 0 and int(m.group(1)) >= 0.95 * int(m.group(2)), err
        assert not [f for f in json.loads(out)["findings"] if f["cause"] == "fd_reuse"]
        # Ctrl-C in the middle of a capture: strace is detached before the command exits
        cap = subprocess.Popen([sys.executable, "-m", "diagnose.cli", "capture", "--pid", str(srv.pid), "--pprof",
                                f"http://{addr}", "--seconds", "5", "-o", str(tmp_path / "interrupted")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 10
        while _tracer_pid(srv.pid) == 0 and time.time() < deadline:
            time.sleep(0.05)
        assert _tracer_pid(srv.pid) != 0, "strace never attached"
        cap.send_signal(signal.SIGINT)
        _, cerr = cap.communicate(timeout=30)
        assert cap.returncode == 130, cerr
        assert _tracer_pid(srv.pid) == 0
    finally:
        for p in (client, srv):
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)


def test_rules_test_reports_a_garbled_sibling_log_as_a_case_error(tmp_path):
    """`rules test` joins X.trace with X.strace beside it: a garbled log is that case's error
    (bad input), not an internal error that stops the whole run."""
    from tests.support.cli import run_main_captured as run_cli

    shutil.copy(FIX / PAIR["trace"], tmp_path / "pair.trace")
    (tmp_path / "pair.strace").write_text("this is not strace output\n")
    rule = tmp_path / "rules" / "r.yaml"
    rule.parent.mkdir()
    rule.write_text("id: team.t\ntitle: t\ncause: t\nseverity: info\nconfidence: 0.5\ncondition: 'false'\n"
                    "message: t\nknowledge: fd_reuse\ntests:\n  silent:\n    - {trace: " + str(tmp_path / "pair.trace") + "}\n")
    code, out, err = run_cli("rules", "test", str(rule.parent))
    assert code != 3 and "internal error" not in err, err
    assert "pair.strace:1: not an strace line" in out + err
