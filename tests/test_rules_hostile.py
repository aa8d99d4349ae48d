"""Rule files are data from anyone: hostile or non-text input is one line and exit 2, fast.

The reproducers under shared/repro/ (an alias bomb of 272 bytes that cost 2.1 GB and 13.6 s; a
NUL byte that gave a yaml.reader.ReaderError traceback) are copied into tests/data/rules-hostile/
so the suite does not depend on a folder outside the repository. A FIFO with no writer,
/dev/zero, a binary file and a header-only trace given to `rules validate|test` used to hang or
print a ~50-line traceback.
"""
from __future__ import annotations

import os
import resource
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.support.cli import run_main_captured as run_cli
from diagnose.rules import yamlsrc
from diagnose.rules.loader import RuleLoadError, load_ruleset

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data" / "rules-hostile"
HEADER_ONLY = DATA / "hdr-only-126.trace"  # a `go 1.26 trace` header and nothing else


run = run_cli


def one_line_exit_2(args: list[str], *must: str, budget_s: float = 10.0) -> str:  # the bomb took 13.6 s
    t0 = time.perf_counter()
    code, out, err = run(*args)
    took = time.perf_counter() - t0
    assert code == 2, (code, out, err)
    lines = [ln for ln in (out + err).splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert "Traceback" not in err
    for text in must:
        assert text in lines[0], lines[0]
    assert took < budget_s, f"took {took:.1f} s"
    return lines[0]


def test_alias_bomb_is_refused_fast_in_validate():
    bomb = DATA / "alias-bomb" / "bomb.yaml"
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    line = one_line_exit_2(["rules", "validate", str(bomb.parent)], str(bomb), "alias")
    assert line.startswith(f"{bomb}:")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    assert grown_mb < 200, f"RSS grew {grown_mb:.0f} MB"


def test_alias_bomb_is_refused_by_the_main_command_rules_dir():
    trace = REPO / "fixtures" / "traces" / "healthy-light-go1.22.10.trace"
    one_line_exit_2([str(trace), "--rules-dir", str(DATA / "alias-bomb")], "alias")


def test_alias_bomb_in_rules_test():
    one_line_exit_2(["rules", "test", str(DATA / "alias-bomb")], "alias")


def test_nul_byte_is_one_line_everywhere_rules_load():
    folder = DATA / "nul"
    for args in (["rules", "validate", str(folder)], ["rules", "test", str(folder)],
                 ["rules", "list", "--rules-dir", str(folder)]):
        one_line_exit_2(args, str(folder / "bad.yaml"), "NUL byte")


def test_header_only_trace_and_binary_file_given_as_rules():
    for cmd in ("validate", "test"):
        one_line_exit_2(["rules", cmd, str(HEADER_ONLY)], str(HEADER_ONLY), "binary file")
    fixture = REPO / "fixtures" / "examples" / "example.trace"
    one_line_exit_2(["rules", "validate", str(fixture)], "binary file")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")
def test_dev_zero_is_refused_without_reading_it():
    for cmd in ("validate", "test"):
        one_line_exit_2(["rules", cmd, "/dev/zero"], "/dev/zero", "not a regular file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_fifo_without_writer_does_not_hang(tmp_path):
    fifo = tmp_path / "rules.yaml"
    os.mkfifo(fifo)
    result: dict[str, object] = {}

    def target() -> None:
        result["line"] = one_line_exit_2(["rules", "validate", str(fifo)], "not a regular file")

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():  # unblock the reader so the test process can end, then fail
        with open(fifo, "w"):
            pass
        pytest.fail("rules validate blocked on a FIFO")
    assert "line" in result


def test_deep_nesting_and_huge_files(tmp_path):
    (tmp_path / "deep.yaml").write_text("a: " + "[" * 3000 + "]" * 3000 + "\n")
    one_line_exit_2(["rules", "validate", str(tmp_path / "deep.yaml")], "nesting")
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * (yamlsrc.MAX_BYTES + 10) + "\n")
    one_line_exit_2(["rules", "validate", str(big)], "too large")


def test_python_object_tags_are_not_constructed(tmp_path):
    marker = tmp_path / "pwned"
    (tmp_path / "evil.yaml").write_text(textwrap.dedent(f"""\
        id: !!python/object/apply:os.system ["touch {marker}"]
        title: t
        """))
    with pytest.raises(RuleLoadError) as exc:
        load_ruleset(rules_dirs=[tmp_path], env={})
    assert "could not determine a constructor" in str(exc.value)
    assert not marker.exists()


def test_repro_folders_match_the_shared_reproducers():
    """The copies are the reproducers of the reliability issue, byte for byte (when shared/ is there)."""
    shared = REPO.parent / "shared" / "repro"
    if not shared.is_dir():
        pytest.skip("shared/repro is not beside this checkout (only the copies under tests/data are used)")
    assert (shared / "rules-alias-bomb" / "bomb.yaml").read_bytes() == (DATA / "alias-bomb" / "bomb.yaml").read_bytes()
    assert (shared / "rules-nul" / "bad.yaml").read_bytes() == (DATA / "nul" / "bad.yaml").read_bytes()
    assert (shared / "hdr-only-126.trace").read_bytes() == HEADER_ONLY.read_bytes()
