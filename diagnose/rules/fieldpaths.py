"""Check the feature paths a rule names against the Features model, before any trace is read.

CEL compiles without knowing the shape of `f`, so a typo (`f.network.wait.p95_ms`) would only
show up as a runtime error on some trace, or worse, hide behind a short-circuit `||` and never
fire. This module scans an expression's member chains (`f.a.b`, `s.site` inside
`f.syscalls.by_site.exists(s, ...)`) and walks them through the pydantic model, so the loader can
say `rules/x.yaml:12: unknown feature 'f.network.wait' (did you mean 'waits'?)`.

It is a scanner, not a CEL parser: it understands member access, indexing, method calls and the
comprehension macros (exists, all, exists_one, filter, map) that bind a variable to the element
of a list of models. Anything else (literals, functions, arithmetic) is skipped.
"""
from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from diagnose.features.model import Evidence, Features

MACROS = {"exists", "all", "exists_one", "filter", "map"}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>[rRbB]{0,2}(?:'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"))
      | (?P<num>\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?[uU]?|0[xX][0-9a-fA-F]+[uU]?)
      | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>.)
    )""",
    re.VERBOSE | re.DOTALL,
)


@dataclass
class Tok:
    kind: str
    text: str


def tokenize(expr: str) -> list[Tok]:
    toks: list[Tok] = []
    for m in _TOKEN.finditer(expr):
        kind = m.lastgroup or "op"
        text = m.group(kind)
        if kind == "op" and text.isspace():
            continue
        toks.append(Tok(kind, text))
    return toks


# --- model type helpers -------------------------------------------------------------------

def _strip_optional(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def field_type(model: type[BaseModel], name: str) -> Any:
    return _strip_optional(model.model_fields[name].annotation)


def is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def list_element(tp: Any) -> Any | None:
    """Element type of list[X] (or tuple[X, ...] / tuple[X, Y]: returns the first arg)."""
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        args = typing.get_args(tp)
        return _strip_optional(args[0]) if args else Any
    return None


def _suggest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --- expression scanning ------------------------------------------------------------------

def check_expression(expr: str, roots: dict[str, type[BaseModel]]) -> list[str]:
    """Return the problems with member chains in `expr` (empty list: all paths exist).

    `roots` maps variable names (e.g. {"f": Features}) to their model type. Variables bound by
    a macro over a list of models (`by_site.exists(s, ...)`) are added as they are met.
    """
    toks = tokenize(expr)
    env: dict[str, Any] = dict(roots)
    problems: list[str] = []
    i = 0
    n = len(toks)

    def skip_brackets(j: int) -> int:
        depth = 0
        while j < n:
            if toks[j].text == "[":
                depth += 1
            elif toks[j].text == "]":
                depth -= 1
                if depth == 0:
                    return j + 1
            j += 1
        return j

    while i < n:
        t = toks[i]
        prev = toks[i - 1].text if i > 0 else ""
        if t.kind != "id" or prev == "." or t.text not in env:
            i += 1
            continue
        label = t.text
        tp: Any = env[t.text]
        j = i + 1
        while j < n:
            if toks[j].text == "." and j + 1 < n and toks[j + 1].kind == "id":
                name = toks[j + 1].text
                is_call = j + 2 < n and toks[j + 2].text == "("
                if is_call:
                    elem = list_element(tp) if tp is not None else None
                    if name in MACROS and elem is not None and is_model(elem):
                        # bind the macro variable: xs.exists(x, ...)
                        if j + 4 < n and toks[j + 3].kind == "id" and toks[j + 4].text == ",":
                            env[toks[j + 3].text] = elem
                    break
                if tp is None or tp is Any:
                    break
                if not is_model(tp):
                    if list_element(tp) is not None:
                        problems.append(f"'{label}' is a list: use an index or a macro before '.{name}'")
                    elif tp in (int, float, str, bool):
                        problems.append(f"'{label}' is a {tp.__name__}, it has no field {name!r}")
                    break
                if name not in tp.model_fields:
                    problems.append(f"unknown feature '{label}.{name}'{_suggest(name, list(tp.model_fields))}")
                    break
                tp = field_type(tp, name)
                label = f"{label}.{name}"
                j += 2
            elif toks[j].text == "[":
                j = skip_brackets(j)
                tp = list_element(tp) if tp is not None else None
                label = f"{label}[]"
            else:
                break
        i = j
    return problems


#: what an expression reads of one top-level field of `f` (referenced_fields): None, all of it;
#: a set, those fields of it; ITEMS and a set (None: whole items), those fields of each item of
#: a list it runs a macro over
Reads = Any
ITEMS = "[]"


def _merge(old: Reads, new: Reads) -> Reads:
    if old is None or new is None:
        return None
    if isinstance(old, tuple) != isinstance(new, tuple):
        return None  # a field's items and the field itself: all of it
    if isinstance(old, tuple):
        return (ITEMS, None if old[1] is None or new[1] is None else old[1] | new[1])
    return old | new


def _item_fields(toks: list[Tok], var: str, start: int) -> set[str] | None:
    """The fields of `var` (a macro's item variable) the tokens from `start` read; None when it is
    used otherwise than `var.field`."""
    fields: set[str] = set()
    for j in range(start, len(toks)):
        if toks[j].kind != "id" or toks[j].text != var or (j > 0 and toks[j - 1].text == "."):
            continue
        if j + 2 < len(toks) and toks[j + 1].text == "." and toks[j + 2].kind == "id":
            fields.add(toks[j + 2].text)
        elif not (j + 1 < len(toks) and toks[j + 1].text == ","):  # the binding itself: xs.map(v, ...)
            return None
    return fields


def referenced_fields(exprs: Any, root: str = "f") -> dict[str, Reads] | None:
    """What the expressions `exprs` (sources) can read of `root`: {top-level field: Reads}; None
    when some expression uses `root` otherwise than through a member chain (`[f]`, `f["x"]`,
    `f` alone), so all of it is needed. The diagnosis hands CEL only that (`prune`): the binding
    copies its whole context on every evaluation, and a window's evidence lists, which no
    shipped rule reads, were most of it."""
    out: dict[str, Reads] = {}
    for expr in exprs:
        toks = tokenize(expr)
        n = len(toks)

        def text(j: int) -> str:
            return toks[j].text if j < n else ""

        for i, t in enumerate(toks):
            if t.kind != "id" or t.text != root or (i > 0 and toks[i - 1].text == "."):
                continue
            if not (text(i + 1) == "." and i + 2 < n and toks[i + 2].kind == "id") or text(i + 3) == "(":
                return None  # f alone, indexed, or a method of f itself
            top = toks[i + 2].text
            reads: Reads = None
            if text(i + 3) == "." and i + 4 < n and toks[i + 4].kind == "id":
                name = toks[i + 4].text
                if text(i + 5) != "(":
                    reads = {name}
                elif name in MACROS and i + 6 < n and toks[i + 6].kind == "id" and text(i + 7) == ",":
                    reads = (ITEMS, _item_fields(toks, toks[i + 6].text, i + 6))
            out[top] = _merge(out[top], reads) if top in out else reads
    return out


def prune(data: dict[str, Any], fields: dict[str, Reads] | None) -> dict[str, Any]:
    """`data` with only `fields` (referenced_fields; None: all of it)."""
    if fields is None:
        return data
    out: dict[str, Any] = {}
    for top, reads in fields.items():
        if top not in data:
            continue
        v = data[top]
        if isinstance(reads, tuple) and isinstance(v, list) and reads[1] is not None:
            v = [{k: item[k] for k in reads[1] if k in item} if isinstance(item, dict) else item for item in v]
        elif isinstance(reads, set) and isinstance(v, dict):
            v = {k: v[k] for k in reads if k in v}
        out[top] = v
    return out


# --- template paths -----------------------------------------------------------------------

_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(-?\d+)\]")


def split_path(path: str) -> tuple[str, list[str | int]] | None:
    """'f.a.b[0].c' -> ('f', ['a', 'b', 0, 'c']); None if it is not a plain path."""
    m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", path)
    if not m:
        return None
    root = m.group(0)
    rest = path[m.end():]
    parts: list[str | int] = []
    pos = 0
    for seg in _SEGMENT.finditer(rest):
        if seg.start() != pos:
            return None
        parts.append(seg.group(1) if seg.group(1) is not None else int(seg.group(2)))
        pos = seg.end()
    if pos != len(rest):
        return None
    return root, parts


def check_template_path(root_type: type[BaseModel], root_label: str, parts: list[str | int]) -> str | None:
    tp: Any = root_type
    shown = root_label
    for part in parts:
        if isinstance(part, int):
            elem = list_element(tp)
            if elem is None:
                return f"'{shown}' is not a list, cannot index it"
            tp = elem
            shown = f"{shown}[{part}]"
            continue
        if not is_model(tp):
            return f"'{shown}' has no field {part!r}"
        if part not in tp.model_fields:
            return f"unknown feature '{shown}.{part}'{_suggest(part, list(tp.model_fields))}"
        tp = field_type(tp, part)
        shown = f"{shown}.{part}"
    return None


def resolve(data: Any, parts: list[str | int]) -> Any:
    """Follow `parts` through dicts and lists only (never getattr). Raises LookupError."""
    cur = data
    for part in parts:
        if isinstance(part, int):
            if not isinstance(cur, (list, tuple)):
                raise LookupError(part)
            cur = cur[part]
        else:
            if not isinstance(cur, dict):
                raise LookupError(part)
            cur = cur[part]
    return cur


def evidence_list_paths() -> list[str]:
    """Every path under f that holds a list of Evidence (what `evidence.from` may name)."""
    out: list[str] = []

    def walk(model: Any, prefix: str) -> None:
        for name in model.model_fields:
            tp = field_type(model, name)
            if list_element(tp) is Evidence:
                out.append(prefix + name)
            elif is_model(tp) and tp is not Evidence:
                walk(tp, prefix + name + ".")

    walk(Features, "")
    return out
