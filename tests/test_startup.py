"""What a command loads before it reads a trace: every command and chat request pays it."""
from __future__ import annotations

import subprocess
import sys


def test_rules_load_the_cel_binding_without_its_repl() -> None:
    """`import cel` pulls in the binding's interactive REPL (prompt_toolkit, pygments): ~0.15 s
    per run. The rules use only the compiled module; a later `import cel` must still work and
    reuse it (initialising the extension twice would fail)."""
    code = (
        "import sys\n"
        "from diagnose.rules import celeval, load_ruleset\n"
        "load_ruleset()\n"
        "assert celeval.evaluate(celeval.compile_expr('f.a > 1'), {'f': {'a': 2}}) is True\n"
        "print(sorted(m for m in ('prompt_toolkit', 'pygments', 'cel.cli') if m in sys.modules))\n"
        "import cel\n"
        "assert cel.compile is celeval.cel.compile\n"
        "print(cel.evaluate('1 + 2'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["[]", "3"]
