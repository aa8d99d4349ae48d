"""`--format html -o report.html` end to end on committed fixture traces, checked in a real browser.

Static checks: one self-contained file (a CSP that forbids every fetch, no external script,
style, image or font), the verdict, every finding with its evidence, a timeline of the
goroutines the evidence names, flame graphs of network and scheduler wait.

Browser checks (Debian's chromium, headless): the page lays out (the report's own script
records how many SVG rects the browser drew, read back with --dump-dom) and a screenshot is
taken (its path is printed: look at it). Without chromium the browser tests are skipped with
the reason; NETPOLL_DIAGNOSE_INSTALL_CHROMIUM=1 (or CI=true, as root) lets the test install it with apt-get.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from diagnose.rules.testing import ManifestEntry
from tests.support.cli import run_main as run
from tests.support.corpus import ENTRIES, NO_CORPUS, go_key

REPO = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("NETPOLL_DIAGNOSE_SCREENSHOTS") or Path(tempfile.gettempdir()) / "netpoll-diagnose-shots")

pytestmark = pytest.mark.skipif(not ENTRIES, reason=NO_CORPUS)




def pick(scenarios: tuple[str, ...]) -> ManifestEntry:
    cands = [e for e in ENTRIES if e.trace.exists() and e.reproduced and e.scenario in scenarios]
    if not cands:
        pytest.skip(f"no reproduced {'/'.join(scenarios)} fixture")
    return sorted(cands, key=go_key, reverse=True)[0]


@lru_cache(maxsize=None)
def report(trace: str) -> tuple[dict, str, str]:
    """(diagnosis JSON, HTML text, path of the HTML file)."""
    code, out = run(trace, "--format", "json", "--fail-on", "never")
    assert code == 0
    d = json.loads(out)
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / (Path(trace).stem + ".html")
    code, out = run(trace, "--format", "html", "-o", str(path), "--fail-on", "never")
    assert code == 0 and out == "", "with -o nothing goes to stdout"
    return d, path.read_text(encoding="utf-8"), str(path)


FETCHING = [
    r"<script[^>]*\bsrc=", r"<link\b", r"<img\b", r"<iframe\b", r"<object\b", r"<embed\b", r"@import",
    r"url\(", r"\bsrc=\"https?:", r"<use[^>]*href=\"https?:",
]


def assert_self_contained(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    for pat in FETCHING:
        assert not re.search(pat, html, re.I), f"the page would fetch something: {pat}"
    # links (references) are fine: they are followed only when clicked
    assert "<style>" in html and "<script>" in html


@pytest.mark.parametrize("scenarios", [("gomaxprocs",), ("slowconsumer",)], ids=["gomaxprocs", "slowconsumer"])
def test_html_report_content(scenarios):
    e = pick(scenarios)
    d, html, _ = report(str(e.trace))
    assert_self_contained(html)
    assert d["findings"], "a bug scenario"
    # the verdict first
    assert html.index('class="banner') < html.index("<h2>Findings</h2>")
    assert d["verdict"]["text"].split("[")[0].strip().replace("'", "&#x27;") in html
    # every finding, its facts, evidence and fix
    for i, f in enumerate(d["findings"], 1):
        assert f'id="finding-{i}"' in html and f"<code>{f['cause']}</code>" in html
        for fact in f["facts"]:
            assert f"<td>{fact['label'].replace('>', '&gt;')}</td>" in html
        for c in f["evidence"]:
            assert c["note"].replace("'", "&#x27;") in html
        assert "Fix.</b>" in html
    # a timeline of the goroutines the evidence names, with the cited window, wide and narrow
    top = d["findings"][0]
    named = [g for c in top["evidence"] for g in c["goroutines"]]
    assert named, "the top finding names goroutines"
    for layout in ("wide", "narrow"):
        tl = html[html.index(f'<svg class="chart timeline {layout}"'):]
        tl = tl[: tl.index("</svg>")]
        assert re.search(rf">G{named[0]}\b", tl), "the first named goroutine has a row"
        assert ">P0<" in tl, "the Ps are drawn"
        assert 'class="seg"' in tl
    assert "cited window" in html
    assert html.count('<p class="coverage">Coverage: ') >= 2, "every chart states its coverage"
    # exact tick labels: never "196, 196, 196" for 195.5/196/196.5
    for axis in re.findall(r'<g class="axis">(.*?)</g>', html, re.S):
        ticks = re.findall(r">([0-9.]+) ms</text>", axis)
        assert len(ticks) >= 2 and len(set(ticks)) == len(ticks), ticks
    from diagnose.report.charts import tick_labels
    assert [t for _, t in tick_labels(195.3, 196.7, 3)] == ["195.5", "196.0", "196.5"]
    # the flame graph that fits the finding; the others left out with the reason
    fits = {"gomaxprocs_starvation": "Scheduler wait", "slow_consumer": "Network wait"}[top["cause"]]
    assert f"<h3>{fits}" in html
    assert "Not drawn: " in html and "netpoll-diagnose profile --kind" in html


def test_slow_consumer_flame_graph_has_the_write_stack():
    e = pick(("slowconsumer",))
    d, html, _ = report(str(e.trace))
    flame = html[html.index('<svg class="chart flame wide" id="flame-net-wide"'):]
    flame = flame[: flame.index("</svg>")]
    frames = re.findall(r'data-n="([^"]+)"', flame)
    assert frames[0].startswith("all: network wait")
    assert "internal/poll.(*FD).Write" in frames, "the blocked writes' stack"
    top = d["findings"][0]
    assert top["cause"] == "slow_consumer"
    user = [fr["func"] for c in top["evidence"] for fr in c["stack"] if fr["func"].startswith("net/http.")]
    assert user and user[0].replace("*", "*") in frames


def test_html_of_a_healthy_trace():
    cands = [e for e in ENTRIES if e.trace.exists() and e.scenario == "healthy"]
    if not cands:
        pytest.skip("no healthy fixture")
    d, html, _ = report(str(sorted(cands, key=go_key)[-1].trace))
    assert_self_contained(html)
    assert 'class="banner ok"' in html and "No netpoller problem found" in html
    assert "No finding cites a time window" in html
    # a chart with nothing to show is left out, with one sentence why ("no network wait"
    # while goroutines sat parked all window read as a contradiction)
    h = d["headline"]
    if h["network_waits"] == 0:
        assert "<h3>Network wait" not in html and "Network wait: left out — " in html
        if h["network_parked_whole_window"]:
            assert f"{h['network_parked_whole_window']} goroutines parked on the network stayed parked" in html
        assert h["network_wait_p95_ms"] is None, "no data is null in JSON, not 0.0"


def test_html_renders_without_trace_data():
    """A saved diagnosis renders too (no timelines: the sections say so)."""
    from diagnose.report import render
    from diagnose.rules.findings import Diagnosis

    e = pick(("gomaxprocs", "slowconsumer"))
    d, _, _ = report(str(e.trace))
    html = render(Diagnosis.model_validate(d), "html")
    assert_self_contained(html)
    assert "Not available: render from the trace" in html and d["findings"][0]["cause"] in html


# --- in a real browser -------------------------------------------------------------------------------

def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        p = shutil.which(name)
        if p:
            return p
    # CI (CI=true, root, Debian) installs it, as it would any test dependency; elsewhere opt in.
    wanted = os.environ.get("NETPOLL_DIAGNOSE_INSTALL_CHROMIUM") == "1" or os.environ.get("CI") == "true"
    if wanted and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "update"], capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, timeout=1200)
        p = shutil.which("chromium")
        if p:
            return p
    pytest.skip("chromium is not installed (apt-get install -y chromium, or set "
                "NETPOLL_DIAGNOSE_INSTALL_CHROMIUM=1 to let the test install it)")


def browser(*args: str, url: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", *args, url]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("scenarios", [("slowconsumer",), ("gomaxprocs",)], ids=["slowconsumer", "gomaxprocs"])
def test_html_report_in_chromium(scenarios):
    e = pick(scenarios)
    d, html, path = report(str(e.trace))
    url = Path(path).resolve().as_uri()
    r = browser("--dump-dom", "--virtual-time-budget=5000", url=url)
    assert r.returncode == 0, r.stderr[-2000:]
    m = re.search(r'data-rendered="svgs=(\d+) rects=(\d+) segments=(\d+) frames=(\d+)"', r.stdout)
    assert m, "the report's script ran under the page's CSP and recorded what was laid out"
    svgs, rects, segments, frames = map(int, m.groups())
    assert svgs >= 2 and segments > 0 and frames > 0
    assert rects >= segments, "the browser gave the SVG rects a size"
    assert d["verdict"]["text"].split("[")[0].strip()[:60] in r.stdout.replace("&#x27;", "'")
    shot = SHOTS / (Path(path).stem + ".png")
    shot.unlink(missing_ok=True)
    r = browser(f"--screenshot={shot}", "--window-size=1400,2000", "--hide-scrollbars", url=url)
    assert shot.is_file(), r.stderr[-2000:]
    assert png_size(shot) == (1400, 2000)
    # a blank page compresses to ~10 kB; text, tables and the coloured timeline make it much larger
    assert shot.stat().st_size > 60_000
    print(f"screenshot: {shot}  ({svgs} svgs, {rects} rects drawn, {segments} timeline segments, {frames} frames)")


LAYOUT_PROBE = """<script>
(function () {
  // 1. the page must not scroll sideways; 2. every chart label with its own fill keeps it
  // (a stylesheet rule once painted every label dark, white-on-colour labels included)
  var probe = document.createElement("span");
  document.body.appendChild(probe);
  function norm(c) { probe.style.color = ""; probe.style.color = c; return getComputedStyle(probe).color; }
  var wrong = [], checked = 0;
  document.querySelectorAll("svg.chart text[fill]").forEach(function (t) {
    if (getComputedStyle(t.closest("svg")).display === "none") return;
    checked++;
    var want = norm(t.getAttribute("fill")), got = norm(getComputedStyle(t).fill);
    if (want !== got && wrong.length < 5) wrong.push(t.textContent + ":" + got + "!=" + want);
  });
  var wide = [];
  document.querySelectorAll("body *").forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.right > window.innerWidth + 0.5 && wide.length < 5 && getComputedStyle(el).display !== "none") {
      var inScroller = false;
      for (var p = el.parentElement; p; p = p.parentElement) {
        var ox = getComputedStyle(p).overflowX;
        if (ox === "auto" || ox === "scroll" || ox === "hidden") { inScroller = true; break; }
      }
      if (!inScroller) wide.push(el.tagName + "." + el.className + "@" + Math.round(r.right));
    }
  });
  var result = [document.documentElement.scrollWidth, window.innerWidth, checked, wrong.join(";") || "-",
    wide.join(";") || "-"].join("|");
  document.body.setAttribute("data-layout", result);
  if (window.parent !== window) window.parent.postMessage(result, "*");
})();
</script></body>"""


def layout(page: Path, width: int) -> tuple[int, int, int, str, str]:
    """(scrollWidth, innerWidth, labels checked, wrong colours, elements past the right edge).

    Headless Chromium will not make a window narrower than 500 px, so the page is loaded in
    an iframe `width` px wide (its own viewport: media queries and innerWidth follow it) and
    posts its measurements to the outer page, which --dump-dom prints."""
    outer = page.with_name(f"outer-{width}.html")
    outer.write_text(f'<!DOCTYPE html><html><body style="margin:0"><iframe src="{page.name}" '
                     f'style="width:{width}px;height:1200px;border:0"></iframe><script>'
                     'addEventListener("message", function (e) { document.body.setAttribute("data-layout", e.data); });'
                     "</script></body></html>", encoding="utf-8")
    r = browser("--dump-dom", "--window-size=1500,1300", "--virtual-time-budget=5000", url=outer.resolve().as_uri())
    m = re.search(r'data-layout="([^"]*)"', r.stdout)
    assert m, r.stderr[-2000:]
    sw, iw, checked, wrong, wide = m.group(1).split("|")
    return int(sw), int(iw), int(checked), wrong, wide


REPORT_SCENARIOS = ("syscallstorm", "slowconsumer", "gomaxprocs", "healthy", "customlistener", "tlsbypass", "fdreuse",
                    "gcpressure")


@pytest.mark.parametrize("scenario", REPORT_SCENARIOS)
def test_html_fits_a_phone_and_keeps_label_colours(tmp_path, scenario):
    """At 390 px (a phone) the page does not scroll sideways (scrollWidth <= innerWidth) and no
    element sticks out past the edge outside a scroll box; at 390 and 1400 px every chart label
    that has its own colour is painted in it. With NETPOLL_DIAGNOSE_SCREENSHOTS set, screenshots
    at both widths are written there for a person to look at."""
    cands = [e for e in ENTRIES if e.trace.exists() and e.scenario == scenario]
    if not cands:
        pytest.skip(f"no {scenario} fixture")
    e = sorted(cands, key=go_key)[-1]
    _, html, path = report(str(e.trace))
    page = tmp_path / "probe.html"
    page.write_text(html.replace("</body>", LAYOUT_PROBE), encoding="utf-8")
    for width in (390, 1400):
        sw, iw, checked, wrong, wide = layout(page, width)
        assert iw == width, "the browser honoured the window size"
        assert sw <= iw, f"horizontal scroll at {width} px: scrollWidth {sw} > {iw} ({wide})"
        assert wide == "-", f"sticking out at {width} px: {wide}"
        assert wrong == "-", f"chart labels not in their own colour at {width} px: {wrong}"
        if width == 390 and re.search(r'<svg class="chart timeline narrow"', html):
            assert checked > 0, "the narrow timeline's coloured labels were checked"
        if os.environ.get("NETPOLL_DIAGNOSE_SCREENSHOTS"):  # for a person to look at (slow: opt in)
            shot = SHOTS / f"{Path(path).stem}-{width}.png"
            browser(f"--screenshot={shot}", f"--window-size={max(width, 500)},2400", "--hide-scrollbars",
                    url=Path(path).resolve().as_uri())
            print(f"screenshot: {shot}")


def test_diff_html_in_chromium(tmp_path):
    from test_diff import pair  # noqa: PLC0415 - the same BEFORE/AFTER pair as the diff tests

    before, after = pair()
    out = tmp_path / "diff.html"
    code, _ = run("diff", str(before.trace), str(after.trace), "--format", "html", "-o", str(out))
    assert code == 0
    html = out.read_text(encoding="utf-8")
    assert_self_contained(html)
    r = browser("--dump-dom", url=out.resolve().as_uri())
    assert r.returncode == 0 and "data-rendered=" in r.stdout
    assert "disappeared" in r.stdout and "Headline numbers" in r.stdout
    page = tmp_path / "probe.html"
    page.write_text(html.replace("</body>", LAYOUT_PROBE), encoding="utf-8")
    sw, iw, _, _, wide = layout(page, 390)
    assert iw == 390 and sw <= iw and wide == "-", f"the diff page scrolls sideways on a phone: {sw} > {iw} ({wide})"


ZOOM_PROBE = """<script>
(function () {
  var out = "none";
  document.querySelectorAll("svg.flame").forEach(function (svg) {
    if (out !== "none") return;
    var gs = svg.querySelectorAll("g.f"), t = null;
    for (var i = 0; i < gs.length; i++) {
      var w = +gs[i].getAttribute("data-w");
      if (+gs[i].getAttribute("data-d") >= 1 && w < 0.9 && w > 0.01) { t = gs[i]; break; }
    }
    if (!t) return;
    var r = t.querySelector("rect"), before = r.getAttribute("width");
    t.dispatchEvent(new MouseEvent("click", {bubbles: true}));
    var zoomed = r.getAttribute("width"), hidden = 0;
    gs.forEach(function (g) { if (g.style.display === "none") hidden++; });
    gs[0].dispatchEvent(new MouseEvent("click", {bubbles: true}));
    out = [before, zoomed, hidden, r.getAttribute("width"), svg.getAttribute("data-w")].join("|");
  });
  document.body.setAttribute("data-zoom", out);
})();
</script></body>"""


def test_flame_graph_zooms_in_chromium(tmp_path):
    """Clicking a frame widens it to the whole graph and hides what is not under it; the root resets."""
    e = pick(("gomaxprocs", "slowconsumer"))
    _, html, _ = report(str(e.trace))
    page = tmp_path / "probe.html"
    page.write_text(html.replace("</body>", ZOOM_PROBE), encoding="utf-8")
    r = browser("--dump-dom", url=page.resolve().as_uri())
    m = re.search(r'data-zoom="([^"]*)"', r.stdout)
    assert m, r.stderr[-2000:]
    if m.group(1) == "none":
        pytest.skip("this fixture's flame graphs have no frame narrower than the graph")
    before, zoomed, hidden, back, width = m.group(1).split("|")
    assert float(before) < float(width) and float(zoomed) == pytest.approx(float(width), abs=0.05)
    assert int(hidden) >= 1 and back == before


def test_timeline_rows_keep_every_interval_on_a_syscall_storm():
    """The old timeline drew at most 6,000 segments, goroutine rows first, so on a syscall storm
    the P rows stopped part-way. Now every interval of every row is merged into pixel columns:
    the marks of a row hold exactly the rows' time in the window and reach its last interval."""
    from diagnose import pipeline
    from diagnose.report.charts import merge_row
    from diagnose.report.html import LAYOUTS, _g_rows, _m_rows, _p_rows, pick_windows
    from diagnose.rules.findings import Diagnosis

    e = pick(("syscallstorm",))
    d, html, _ = report(str(e.trace))
    with pipeline.open_input(str(e.trace)) as inp:
        tl = pipeline.analyse(inp, keep_timelines=True).timelines
    windows = pick_windows(Diagnosis.model_validate(d), int(tl.duration_ns))
    assert windows
    w = windows[0]
    rows = _g_rows(tl, w) + _p_rows(tl, w) + _m_rows(tl, w)
    total = sum(len(r.starts) for r in rows)
    assert total > 6000, "more intervals than the old cut-off: the case that used to be cut"
    for lay in LAYOUTS:
        ncols = lay.width - lay.label_w - 10
        for row in rows:
            if not len(row.starts):
                continue
            marks = merge_row(row.starts, row.ends, row.cats, w.start, w.end, ncols)
            inside = sum(max(0, min(t, w.end) - max(s, w.start)) for s, t in zip(row.starts, row.ends))
            assert sum(sum(m.mix.values()) for m in marks) == pytest.approx(inside, rel=1e-9, abs=1.0), row.label
            last = max(min(t, w.end) for t in row.ends)
            assert marks[-1].t1 >= last - (w.end - w.start) / ncols, f"{row.label} stops before its last interval"
    assert "intervals too short to draw apart" in html
    from diagnose.report.markdown import ms

    for row in rows:  # hover texts are made on demand, each for its own interval
        for i in {0, len(row.starts) // 2, len(row.starts) - 1} if len(row.starts) else ():
            tip = row.tip(i)
            assert tip.startswith(row.label.split()[0]) and f"{ms(int(row.starts[i]))}-{ms(int(row.ends[i]))} ms" in tip
