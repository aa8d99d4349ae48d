"""CEL (Common Expression Language) for rule conditions, via `common-expression-language`.

CEL is side-effect free, terminates (no loops, only macros over finite lists) and sees only
the variables we pass in: `f` (the trace's features as plain dicts/lists/numbers), plus `e`
inside evidence filters. No Python callables are registered, so a rule file cannot reach
Python. This replaces any use of `eval`.

Typing notes for rule authors (CEL does not coerce numbers): comparisons between ints and
doubles work (`f.fds.raw_close_count > 0.5`), but arithmetic does not (`count / 2.0` fails);
convert with `double(x)`.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any


def _load_cel() -> ModuleType:
    """The binding's compiled module (`cel.cel`: `compile`, `Context`) without its package.

    `import cel` runs the package's `__init__`, which imports its interactive REPL (typer,
    prompt_toolkit, pygments, rich): ~0.15 s on every command and chat request, a fifth of a
    small trace's whole run, for a REPL we never start. The extension is loaded under the name
    the package gives it, so a later `import cel` (anyone's) reuses it rather than
    initialising it twice. If the layout is not the one expected, the package is imported."""
    if "cel.cel" in sys.modules:
        return sys.modules["cel.cel"]
    spec = importlib.util.find_spec("cel")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            ext = importlib.util.spec_from_file_location("cel.cel", f"{folder}/cel{suffix}")
            if ext is None or ext.loader is None or not os.path.exists(ext.origin or ""):
                continue
            module = importlib.util.module_from_spec(ext)
            sys.modules["cel.cel"] = module
            ext.loader.exec_module(module)
            return module
    import cel as package

    return package


cel = _load_cel()

_POS = re.compile(r"<input>:(\d+):(\d+):\s*(.*)")


class CelCompileError(Exception):
    """A CEL expression that does not parse. `line`/`column` are 1-based within the expression."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class CelEvalError(Exception):
    """A CEL expression that failed on a given input (type mismatch, missing key...)."""


#: what the binding raises when an expression fails on its input: no overload (TypeError),
#: undefined name or bad conversion (RuntimeError), /0 and overflow (ArithmeticError), index
#: out of range (LookupError), bad values (ValueError). Anything else, such as the CLI's
#: --timeout firing inside an evaluation, must propagate.
_EVAL_ERRORS = (TypeError, RuntimeError, ValueError, ArithmeticError, LookupError)


@dataclass(frozen=True)
class Compiled:
    source: str
    program: Any
    variables: tuple[str, ...]


def _first_line(msg: str) -> str:
    return msg.strip().splitlines()[0] if msg.strip() else msg


@lru_cache(maxsize=2048)
def compile_expr(source: str) -> Compiled:
    if not source or not source.strip():
        raise CelCompileError("empty expression")
    try:
        program = cel.compile(source)
    except ValueError as exc:  # the binding's parse errors (never a blanket catch: a --timeout must pass)
        text = str(exc)
        m = _POS.search(text)
        if m:
            detail = _first_line(m.group(3))
            detail = detail.replace("Syntax error: ", "syntax error: ")
            detail = re.sub(r" expecting \{[^}]*\}", "", detail)
            raise CelCompileError(detail, int(m.group(1)), int(m.group(2))) from None
        raise CelCompileError(_first_line(text)) from None
    try:
        variables = tuple(program.variables())
    except (AttributeError, RuntimeError, ValueError):  # static analysis is best effort
        variables = ()
    return Compiled(source=source, program=program, variables=variables)


def shared(variables: dict[str, Any]) -> Any:
    """A context converted once and reused by every expression evaluated on it (one trace's
    `f` is tens of KB; converting it per expression cost ~10 ms each)."""
    ctx = cel.Context()
    for name, value in variables.items():
        ctx.add_variable(name, value)
    return ctx


def evaluate(compiled: Compiled, context: Any) -> Any:
    """Run `compiled` on `context` (a dict, or a `shared` context). From a dict only the
    variables the expression uses are passed: the binding converts every value it is given, so
    an evidence filter that reads only `e` must not pay for converting `f` once per item."""
    if isinstance(context, dict) and compiled.variables:
        context = {k: v for k, v in context.items() if k in compiled.variables}
    try:
        return compiled.program.execute(context)
    except KeyError as exc:
        raise CelEvalError(f"no such key: {exc.args[0]!r}") from None
    except _EVAL_ERRORS as exc:
        raise CelEvalError(_first_line(str(exc)) or type(exc).__name__) from None


def as_number(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    raise CelEvalError(f"expected a number, got {type(value).__name__}")
