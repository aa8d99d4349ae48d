"""Knowledge base: one entry per cause, complete, with references and Go code that compiles."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest

from diagnose.rules.datadir import knowledge_dir
from diagnose.rules.knowledge import REQUIRED_SECTIONS, KnowledgeBase, KnowledgeError, parse_entry
from diagnose.rules.loader import load_ruleset

REQUIRED_CAUSES = ["fd_reuse", "custom_listener", "tls_fd_bypass", "gomaxprocs_starvation",
                   "slow_consumer", "gc_pressure", "syscall_storm"]
ENTRIES = sorted(p for p in knowledge_dir().glob("*.md") if p.name != "README.md")
REPO = Path(__file__).resolve().parent.parent


def test_every_required_cause_has_an_entry():
    kb = KnowledgeBase.load()
    missing = [c for c in REQUIRED_CAUSES if c not in kb]
    assert missing == []


def test_every_shipped_rule_cites_an_existing_entry_for_its_cause():
    rs = load_ruleset(env={})
    for lr in rs.rules.values():
        assert lr.rule.knowledge in rs.knowledge, lr.id
        assert lr.rule.knowledge == lr.rule.cause, f"{lr.id}: shipped rules cite their cause's entry"


@pytest.mark.parametrize("path", ENTRIES, ids=lambda p: p.stem)
def test_entry_is_complete(path):
    e = parse_entry(path)
    for s in REQUIRED_SECTIONS:
        assert len(e.sections[s]) > 80, f"{path.name}: section '{s}' is too thin"
    fix = e.sections["How to fix"]
    assert len(re.findall(r"```go\n", fix)) >= 2, f"{path.name}: needs before/after Go code"
    assert "Before" in fix and "After" in fix
    assert e.confirm, f"{path.name}: needs commands that confirm the cause"
    assert len(e.references) >= 2


@pytest.mark.parametrize("path", ENTRIES, ids=lambda p: p.stem)
def test_references_point_to_go_sources(path):
    e = parse_entry(path)
    for ref in e.references:
        u = urlparse(ref.url)
        assert u.scheme == "https"
        assert u.netloc in ("pkg.go.dev", "go.dev") or ref.url.startswith("https://github.com/golang/go/issues/"), ref.url


def test_fd_reuse_is_called_a_security_bug():
    e = KnowledgeBase.load().get("fd_reuse")
    assert "security" in e.summary and "critical" in e.fix.lower()


def test_bad_entry_is_rejected_with_line(tmp_path):
    src = (knowledge_dir() / "gc_pressure.md").read_text()
    bad = tmp_path / "gc_pressure.md"
    bad.write_text(src.replace("title:", "titel:", 1))
    with pytest.raises(KnowledgeError) as exc:
        parse_entry(bad)
    assert exc.value.line == 3 and "titel" in exc.value.reason


def test_missing_section_is_rejected(tmp_path):
    src = (knowledge_dir() / "gc_pressure.md").read_text()
    bad = tmp_path / "gc_pressure.md"
    bad.write_text(src.replace("## How to confirm", "## How to check"))
    with pytest.raises(KnowledgeError, match="missing section"):
        parse_entry(bad)


# --- Go facts, checked against real toolchains when they are installed --------------------

def _toolchains() -> dict[str, Path]:
    try:
        from tools import gotoolchains  # type: ignore
    except Exception:  # noqa: BLE001
        return {}
    out = {}
    for v in gotoolchains.PIP_VERSIONS:
        try:
            out[v] = gotoolchains.go_binary(v, install=False)
        except Exception:  # noqa: BLE001 - not installed here
            continue
    return out


TOOLCHAINS = _toolchains()


@pytest.mark.gotoolchain
@pytest.mark.skipif(not TOOLCHAINS, reason="no pinned Go toolchain installed (tools/gotoolchains.py)")
@pytest.mark.parametrize("path", ENTRIES, ids=lambda p: p.stem)
def test_go_code_blocks_compile(path, tmp_path):
    from tools.gotoolchains import go_env  # type: ignore

    version = min(TOOLCHAINS, key=lambda v: tuple(int(x) for x in v.split(".")))  # oldest: 1.21+
    go = TOOLCHAINS[version]
    blocks = parse_entry(path).code_blocks("go")
    assert blocks
    for i, code in enumerate(blocks):
        d = tmp_path / f"b{i}"
        d.mkdir()
        (d / "go.mod").write_text("module kb\n\ngo 1.21\n")
        (d / "main.go").write_text(code)
        r = subprocess.run([str(go), "vet", "."], cwd=d, env=go_env(version), capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"{path.name} block {i} (go {version}):\n{r.stderr}"


@pytest.mark.gotoolchain
@pytest.mark.skipif(not TOOLCHAINS, reason="no pinned Go toolchain installed (tools/gotoolchains.py)")
def test_fd_switches_to_blocking_mode_on_every_pinned_version():
    """The knowledge entries say (*os.File).Fd puts a non-blocking fd into blocking mode on Unix."""
    for version, go in TOOLCHAINS.items():
        goroot = go.resolve().parent.parent
        if not (goroot / "src").is_dir():
            from tools.gotoolchains import go_env  # type: ignore

            goroot = Path(subprocess.run([str(go), "env", "GOROOT"], env=go_env(version), capture_output=True,
                                         text=True, check=True).stdout.strip())
        src = (goroot / "src" / "os" / "file_unix.go").read_text()
        m = re.search(r"\nfunc \(f \*File\) (?:Fd|fd)\(\) uintptr \{(.*?)\n\}", src, re.S)
        assert m, version
        assert "f.pfd.SetBlocking()" in m.group(1), version
