"""Progress while parsing: on stderr, only when stderr is a terminal and the format is text.

The end-to-end checks run the real command with stderr on a pseudo-terminal (pty) or a pipe.
"""
from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from diagnose import pipeline
from diagnose.pipeline import CountingFile
from diagnose.report.progress import TerminalProgress, should_show
from tests.support.corpus import ENTRIES, NO_CORPUS

REPO = Path(__file__).resolve().parent.parent
needs_fixtures = pytest.mark.skipif(not ENTRIES, reason=NO_CORPUS)


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def largest_trace() -> Path:
    traces = [e.trace for e in ENTRIES if e.trace.exists()]
    if not traces:
        pytest.skip("no fixture trace")
    return max(traces, key=lambda p: p.stat().st_size)


def test_should_show_only_text_on_a_tty():
    assert should_show("text", FakeTTY())
    assert not should_show("text", io.StringIO())
    for fmt in ("json", "markdown", "slack", "html"):
        assert not should_show(fmt, FakeTTY())


def test_terminal_progress_draws_in_place_throttled_and_clears():
    out, clock = FakeTTY(), Clock()
    bar = TerminalProgress("big.trace", stream=out, delay_s=0.3, interval_s=0.1, clock=clock)
    bar(100, 1000)                         # before the delay: nothing (a fast parse shows nothing)
    assert out.getvalue() == ""
    clock.t = 0.5
    bar(250, 1 << 20)
    first = out.getvalue()
    assert first.startswith("\rreading big.trace    0%  [") and "0.0 of 1.0 MiB  0.5 s" in first
    clock.t = 0.55
    bar(600_000, 1 << 20)                  # within the interval: throttled
    assert out.getvalue() == first
    clock.t = 0.7
    bar(1 << 19, 1 << 20)
    assert " 50%  [############............]  0.5 of 1.0 MiB" in out.getvalue()
    bar(1 << 20, 1 << 20)                  # the end of the reads is always drawn...
    last = out.getvalue().rsplit("\r", 1)[-1]
    # ...but all read and nothing decoded is not "100%": no percentage until one is grounded
    assert last == "reading big.trace  1.0 MiB  0.7 s\033[K"
    bar.phase("analysing")
    assert "analysing big.trace  0.7 s\033[K" in out.getvalue()
    n = len(out.getvalue())
    bar.done()
    assert out.getvalue()[n:] == "\r\033[K", "erased: back to the start, clear to the end of the line"
    assert "\n" not in out.getvalue(), "the line is redrawn in place, never scrolled"


def test_windowed_analysis_draws_its_share_and_never_goes_back():
    out, clock = FakeTTY(), Clock()
    bar = TerminalProgress("big.trace", stream=out, delay_s=0.3, interval_s=0.1, clock=clock)
    bar.windows(1 << 19, 1 << 20, "1/4 windows, 2 jobs")
    assert out.getvalue() == "", "nothing before the delay"
    clock.t = 1.0
    bar.windows(1 << 19, 1 << 20, "1/4 windows, 2 jobs")
    line = out.getvalue().rsplit("\r", 1)[-1]
    assert line == ("analysing big.trace   50%  [###...]  0.5 of 1.0 MiB"
                    "  1/4 windows, 2 jobs  1.0 s\033[K")
    clock.t = 1.2
    bar.windows(1 << 18, 1 << 20, "1/4 windows, 2 jobs")  # an estimate that fell back
    assert " 50%  [" in out.getvalue().rsplit("\r", 1)[-1], "the bar never goes back"


def test_progress_line_fits_the_terminal():
    """At 80 columns (a FakeTTY has no size: 80 is assumed) a long file name gives way and the
    bar shrinks; the line never reaches the last column (that would wrap)."""
    out, clock = FakeTTY(), Clock()
    name = "syscallstorm-chunked-flush16-with-a-very-long-name-go1.27.3.trace"
    bar = TerminalProgress(name, stream=out, delay_s=0.0, interval_s=0.0, clock=clock)
    mib = 1 << 20
    bar(3 * mib, 300 * mib)
    for n in (100_000, 2_000_000):
        bar.events(n)
        bar(4 * mib, 300 * mib)
        bar.events(n + 1_500_000)
    lines = [ln.replace("\033[K", "") for ln in out.getvalue().split("\r") if ln]
    assert lines and all(len(ln) <= 79 for ln in lines), [len(ln) for ln in lines]
    assert lines[-1].startswith("reading …") and lines[-1].endswith(" s") and "%" in lines[-1]


def test_position_follows_decoded_events_not_read_ahead():
    """The reader reads a whole generation (several reads, no event in between), then decodes it:
    the bar moves with the events decoded, at the bytes per event measured so far."""
    out, clock = FakeTTY(), Clock()
    bar = TerminalProgress("t", stream=out, delay_s=0.0, interval_s=0.0, clock=clock)
    mib = 1 << 20
    total = 10 * mib
    for b in (1, 2):               # generation 1: 2 MiB read before any event
        bar(b * mib, total)
    bar.events(100_000)
    assert bar.position() == 2 * mib  # nothing measured yet: what was read
    for b in (3, 4):               # generation 2 read after 200k events of generation 1
        bar.events(200_000)
        bar(b * mib, total)
    # 2 MiB decoded into 200k events: ~10.5 bytes per event
    bar.events(300_000)
    assert bar.position() == pytest.approx(3 * mib, rel=0.01)
    assert "  30%  [" in out.getvalue().rsplit("\r", 1)[-1] and "300k events" in out.getvalue()
    bar.events(500_000)            # never past what was read
    assert bar.position() == 4 * mib


def test_counting_file_counts_what_the_reader_reads(tmp_path):
    data = os.urandom(10_000)
    p = tmp_path / "x.bin"
    p.write_bytes(data)
    seen: list[tuple[int, int]] = []
    with CountingFile(open(p, "rb"), lambda d, t: seen.append((d, t)), len(data)) as f:
        assert f.read(4000) == data[:4000]
        assert f.read() == data[4000:]
    assert seen[-1] == (10_000, 10_000) and seen[0] == (4000, 10_000)


@needs_fixtures
@pytest.mark.parametrize("pure", [False, True], ids=["kernel", "pure"])
def test_progress_path_reads_the_whole_file_and_matches_plain_analysis(pure, monkeypatch):
    """With progress shown, the pipeline still takes the compiled kernel when it is built (the
    8x-slower pure reader at a terminal was a bug), and gives exactly the plain run's features."""
    from diagnose.timeline import kernel

    trace = largest_trace()
    out = FakeTTY()
    monkeypatch.setenv("NETPOLL_DIAGNOSE_PROGRESS_DELAY", "0")
    if pure:
        monkeypatch.setenv("NETPOLL_DIAGNOSE_PURE", "1")
    engaged = []
    real = kernel._Driver.run
    monkeypatch.setattr(kernel._Driver, "run", lambda self: (engaged.append(1), real(self))[1])
    with pipeline.open_input(str(trace)) as inp:
        run = pipeline.analyse(inp, progress=TerminalProgress(trace.name, stream=out), keep_timelines=True)
    if kernel._fastwire is not None and not pure:
        assert engaged, "the progress path must use the compiled kernel"
    else:
        assert not engaged
    text = out.getvalue()
    size = trace.stat().st_size
    assert f"reading {trace.name}" in text and f"{size / (1 << 20):.1f} MiB" in text
    assert "analysing" in text and text.endswith("\r\033[K")
    assert run.timelines is not None and run.timelines.cols.meta["path"] == str(trace)
    with pipeline.open_input(str(trace)) as inp:
        plain = pipeline.analyse(inp).features
    assert run.features.model_dump() == plain.model_dump(), "the counted read gives the same features"


def read_pty(master: int, timeout_s: float = 600) -> str:
    """Everything the child writes to the pty until it closes it (bounded by `timeout_s` of silence)."""
    chunks = []
    while True:
        r, _, _ = select.select([master], [], [], timeout_s)
        if not r:
            break
        try:
            b = os.read(master, 65536)
        except OSError:  # EIO: the child closed the pty
            break
        if not b:
            break
        chunks.append(b)
    return b"".join(chunks).decode(errors="replace")


def run_cli(args: list[str], stderr_tty: bool) -> tuple[int, str, str]:
    """Run the command with stdout on a pipe and stderr on a pty (or a pipe)."""
    env = dict(os.environ, NETPOLL_DIAGNOSE_PROGRESS_DELAY="0", NO_COLOR="1")
    env.pop("NETPOLL_DIAGNOSE_RULES", None)
    cmd = [sys.executable, "-m", "diagnose.cli", *args]
    if not stderr_tty:
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
        return r.returncode, r.stdout, r.stderr
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, cwd=REPO, env=env)
    os.close(slave)
    raw = read_pty(master)
    out = p.stdout.read().decode()
    code = p.wait(timeout=600)
    os.close(master)
    return code, out, raw


@needs_fixtures
def test_progress_on_a_terminal_only_for_text():
    trace = str(largest_trace())
    code, out, err = run_cli([trace, "--fail-on", "never"], stderr_tty=True)
    assert code == 0
    assert f"reading {Path(trace).name}" in err and "MiB" in err
    assert "reading " not in out, "progress never goes to stdout"
    assert out.startswith("netpoll-diagnose ")
    # JSON on a terminal: no progress
    code, out, err = run_cli([trace, "--format", "json", "--fail-on", "never"], stderr_tty=True)
    assert code == 0 and "reading " not in err and out.lstrip().startswith("{")
    # text with stderr on a pipe: no progress
    code, out, err = run_cli([trace, "--fail-on", "never"], stderr_tty=False)
    assert code == 0 and "reading " not in err and "\r" not in err


def screen_of(args: list[str], columns: int = 80, rows: int = 200) -> tuple[int, list[str], str]:
    """Run the command with stdout and stderr on one pty `columns` wide (a person's terminal)
    and return (exit code, the screen a terminal emulator (pyte) shows at the end, raw output)."""
    pyte = pytest.importorskip("pyte", reason="pyte (a terminal emulator, in the test extras) is not installed")
    import fcntl
    import struct
    import termios

    env = dict(os.environ, NETPOLL_DIAGNOSE_PROGRESS_DELAY="0", NO_COLOR="1", TERM="xterm")
    env.pop("NETPOLL_DIAGNOSE_RULES", None)
    env.pop("COLUMNS", None)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    p = subprocess.Popen([sys.executable, "-m", "diagnose.cli", *args], stdout=slave, stderr=slave, cwd=REPO, env=env)
    os.close(slave)
    raw = read_pty(master)
    code = p.wait(timeout=600)
    os.close(master)
    screen = pyte.Screen(columns, rows)
    stream = pyte.Stream(screen)
    stream.feed(raw.replace("\n", "\r\n") if "\r\n" not in raw else raw)
    return code, [ln.rstrip() for ln in screen.display], raw


@needs_fixtures
def test_no_progress_remnants_on_an_80_column_terminal():
    """The progress line used to be ~115 characters: at 80 columns it wrapped, and every
    redraw left a stale line above the report. Now it stays shorter than the terminal and is
    erased; the report itself is wrapped to the terminal's 80 columns."""
    trace = largest_trace()
    code, lines, raw = screen_of([str(trace), "--fail-on", "never"], columns=80)
    assert code == 0
    assert "reading " in raw and "analysing " in raw, "the progress line was drawn"
    text = [ln for ln in lines if ln]
    assert text[0].startswith("netpoll-diagnose "), f"the report starts the screen: {text[:3]}"
    assert not [ln for ln in lines if "reading " in ln or "analysing " in ln or " MiB" in ln], "no remnant"
    assert max(len(ln) for ln in lines) <= 80
    assert any(ln.startswith(("PROBLEMS: ", "HEALTHY: ")) for ln in lines)
