"""The pipeline's shape, checked from the code (ARCHITECTURE.md): no stage imports a later one,
and the wiring (pipeline.py, cli/) reaches each stage only through its public __init__."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PKG = REPO / "diagnose"
#: the stages in pipeline order; the wiring (pipeline, cli, serve) comes after all of them
STAGES = ["read", "timeline", "graph", "features", "rules", "report"]
WIRING = {"pipeline", "cli", "serve"}
#: top-level modules any stage may use: the package itself (version, settings) and errors
FOUNDATION = {"", "errors"}


def _module_of(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    mod = ".".join(rel.parts)
    return mod[: -len(".__init__")] if mod.endswith(".__init__") else mod


def _imports(path: Path):
    """(line, imported module) for every import in a file, relative ones resolved."""
    mod = _module_of(path)
    pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node.lineno, target
            # `from diagnose import read` / `from .. import timeline`: the names may be stages too
            if target == "diagnose":
                for a in node.names:
                    yield node.lineno, f"diagnose.{a.name}"


def _part(mod: str) -> str | None:
    """The stage/wiring/foundation part of a diagnose module name (None: not ours)."""
    parts = mod.split(".")
    if parts[0] != "diagnose":
        return None
    return parts[1] if len(parts) > 1 else ""


def _rank(part: str) -> int:
    if part in FOUNDATION:
        return -1
    if part in STAGES:
        return STAGES.index(part)
    return len(STAGES)  # wiring


def _files():
    return sorted(p for p in PKG.rglob("*.py") if "_data" not in p.parts)


def test_no_stage_imports_a_later_stage_or_the_wiring():
    bad = []
    for f in _files():
        here = _part(_module_of(f))
        if here not in STAGES:
            continue
        for line, target in _imports(f):
            there = _part(target)
            if there is None or there == here:
                continue
            if there not in STAGES and there not in FOUNDATION and there not in WIRING:
                continue  # a name imported from the package (version, settings), not a module
            if _rank(there) > _rank(here):
                bad.append(f"{f.relative_to(REPO)}:{line}: {here} imports {target}")
    assert not bad, "imports against the pipeline order:\n" + "\n".join(bad)


def test_the_wiring_uses_only_each_stages_public_api():
    """pipeline.py, cli/ and serve/ import `diagnose.<stage>` itself, never a module inside a stage: what
    a stage exports from its __init__ is its interface."""
    bad = []
    wiring_files = [PKG / "pipeline.py"] + sorted((PKG / "cli").rglob("*.py")) + sorted((PKG / "serve").rglob("*.py"))
    for f in wiring_files:
        for line, target in _imports(f):
            parts = target.split(".")
            if len(parts) > 2 and parts[0] == "diagnose" and parts[1] in STAGES:
                bad.append(f"{f.relative_to(REPO)}:{line}: imports {target}")
    assert not bad, "the wiring reaches into a stage:\n" + "\n".join(bad)


def test_one_place_runs_the_stages():
    """Only pipeline.py builds timelines and features from a trace for a command; the commands
    call it (the four drifted copies were the architecture issue's first finding)."""
    bad = []
    for f in _files():
        rel = f.relative_to(REPO)
        if rel.parts[1] in STAGES or f.name == "pipeline.py":
            continue
        text = f.read_text()
        for needle in ("build_timelines(", "extract_from_timelines(", "load_columns("):
            if needle in text:
                bad.append(f"{rel}: calls {needle[:-1]}")
    assert not bad, "stages run outside diagnose/pipeline.py:\n" + "\n".join(bad)


def test_the_checker_sees_a_backward_import(tmp_path):
    """The check above can fail: a stage file importing a later stage is reported."""
    f = PKG / "read" / "_architecture_probe.py"
    f.write_text("from ..report import render\n")
    try:
        bad = [t for _, t in _imports(f) if _rank(_part(t)) > _rank("read")]
    finally:
        f.unlink()
    assert bad == ["diagnose.report"]
