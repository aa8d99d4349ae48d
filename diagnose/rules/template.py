"""Safe message templates: `{f.network.never_ended_count}`, `{f.gc.gc_time_share:.0%}`, `{v.site}`.

Fields are plain paths (`f.` into the features, `v.` into the rule's named CEL `values`),
resolved by dict/list lookups only: no attribute access on Python objects, no calls, no eval.
A format spec applies Python's `format()` to the number or string. `{{` and `}}` are literal
braces. Lists render as "a, b, c (+N more)".
"""
from __future__ import annotations

import string
from typing import Any

from pydantic import BaseModel

from diagnose.rules.fieldpaths import check_template_path, resolve, split_path

_FMT = string.Formatter()
MISSING = "?"


def fields(template: str) -> list[tuple[str, str, str | None]]:
    """(field, format spec, conversion) for each replacement field. Raises ValueError on bad syntax."""
    out = []
    for _literal, name, spec, conv in _FMT.parse(template):
        if name is None:
            continue
        if name == "":
            raise ValueError("empty {} in template: name a feature, e.g. {f.network.waits.p95_ms}")
        if spec and ("{" in spec or "}" in spec):
            raise ValueError(f"nested braces in the format spec of {{{name}}}")
        if conv not in (None, "s", "r"):
            raise ValueError(f"bad conversion !{conv} in {{{name}}}")
        out.append((name, spec or "", conv))
    return out


def check(template: str, features_model: type[BaseModel], value_names: set[str]) -> list[str]:
    """Problems with a template's fields (unknown features, unknown values, bad syntax)."""
    try:
        flds = fields(template)
    except ValueError as exc:
        return [str(exc)]
    problems = []
    for name, spec, _conv in flds:
        sp = split_path(name)
        if sp is None:
            problems.append(f"{{{name}}}: not a plain path (use f.a.b, f.list[0].x or v.name)")
            continue
        root, parts = sp
        if root == "f":
            err = check_template_path(features_model, "f", parts)
            if err:
                problems.append(f"{{{name}}}: {err}")
        elif root == "v":
            if not parts or not isinstance(parts[0], str) or parts[0] not in value_names:
                known = ", ".join(sorted(value_names)) or "none defined"
                problems.append(f"{{{name}}}: unknown value (the rule's `values`: {known})")
        else:
            problems.append(f"{{{name}}}: fields start with f. (features) or v. (the rule's values)")
        if spec:
            try:
                format(1.5, spec)
            except ValueError:
                try:
                    format("x", spec)
                except ValueError:
                    problems.append(f"{{{name}}}: bad format spec {spec!r}")
    return problems


def _auto(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        a = abs(value)
        text = f"{value:.0f}" if a >= 100 else f"{value:.1f}" if a >= 10 else f"{value:.2f}" if a >= 0.01 else f"{value:.2g}"
        return text
    if isinstance(value, (list, tuple)):
        shown = [_auto(v) for v in value[:3]]
        more = f" (+{len(value) - 3} more)" if len(value) > 3 else ""
        return ", ".join(shown) + more if shown else "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_auto(v)}" for k, v in list(value.items())[:5])
    return str(value)


def format_value(value: Any, spec: str = "") -> str:
    if not spec or value is None or isinstance(value, (list, tuple, dict)):
        return _auto(value)
    try:
        return format(value, spec)
    except (ValueError, TypeError):
        return _auto(value)


def render(template: str, fdict: dict[str, Any], values: dict[str, Any]) -> str:
    out: list[str] = []
    for literal, name, spec, conv in _FMT.parse(template):
        out.append(literal)
        if name is None:
            continue
        sp = split_path(name)
        if sp is None:
            out.append(MISSING)
            continue
        root, parts = sp
        try:
            value = resolve(fdict if root == "f" else values, parts)
        except (LookupError, TypeError, IndexError):
            out.append(MISSING)
            continue
        if conv == "r":
            out.append(repr(value))
        else:
            out.append(format_value(value, spec or ""))
    return "".join(out)
