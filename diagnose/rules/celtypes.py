"""Static types for CEL expressions over the features model, checked before any trace is read.

Every sub-expression gets a type (int, uint, double, string, bool, bytes, null, list(T),
map(K, V), a features record, or dyn when unknown), on both sides of `&&`/`||`/`?:` and inside
macros, whose variable takes the list's element type. Problems name the operand types:

    f.trace.go_version > 21: no operator '>' for string and int (f.trace.go_version is string, 21 is int)

Operations that can fail at run time on some trace are flagged unless guarded:

* `a / b` and `a % b` on integers fail when b is 0 (on doubles `/` gives +Inf or NaN, no error);
* `xs[i]` fails when the list is too short.

"Guarded" means the divisor (or the list) is mentioned by the left operand of an enclosing
`&&`/`||` or by the condition of an enclosing `?:`: `f.a > 0 && f.b / f.a > 2`,
`size(xs) > 0 ? xs[0].site : ''`. Divisions by a non-zero literal need no guard.

Cost: an expression is at most `celparse.MAX_SOURCE` characters and may nest macros over
lists at most MAX_MACRO_NESTING deep, so its evaluation is bounded by (expression size) x
(list length)^2; the features' lists are capped (sites: 25, evidence: 5-10). One list is not:
`f.conns` has an entry per connection (thousands on a busy server), and the binding's
`filter`/`map` copy their result list on every element they keep (quadratic:
hardbyte/python-common-expression-language#57; 1.6 s for one filter keeping 553 conns), so
those two macros over a list of its records, and any macro over one nested inside another
macro, are errors that name the linear alternatives (`exists`/`all`/`exists_one`, or the
counts in `f.fds`). The check is by type: a list whose type is unknown (`dyn`) passes.
"""
from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from diagnose.rules import celparse
from diagnose.rules.celparse import Node, text_of
from diagnose.rules.fieldpaths import _strip_optional, is_model

MACROS = {"exists", "all", "exists_one", "filter", "map"}
#: records of lists with no cap (`f.conns`: one entry per connection), over which the quadratic
#: macros, and any macro nested inside another, are refused (decided by type, not spelling)
UNCAPPED_RECORDS = {"Conn": "one entry per connection"}
QUADRATIC_MACROS = {"filter", "map"}
MAX_MACRO_NESTING = 2
NUMERIC = {"int", "uint", "double"}


@dataclass(frozen=True)
class T:
    """A CEL type: `name` is int, uint, double, string, bool, bytes, null, dyn, type, list, map
    or model; `args` the element (list), key and value (map) types; `model` the record."""

    name: str
    args: tuple["T", ...] = ()
    model: Any = None

    def __str__(self) -> str:
        if self.name == "list":
            return f"list({self.args[0]})"
        if self.name == "map":
            return f"map({self.args[0]}, {self.args[1]})"
        if self.name == "model":
            return f"record {self.model.__name__}"
        return self.name


DYN, INT, UINT, DOUBLE = T("dyn"), T("int"), T("uint"), T("double")
STRING, BOOL, BYTES, NULL = T("string"), T("bool"), T("bytes"), T("null")


def list_of(t: T) -> T:
    return T("list", (t,))


def of_annotation(tp: Any) -> T:
    """The CEL type of a pydantic field annotation (Optional[X] is X: rules compare values)."""
    tp = _strip_optional(tp)
    if tp is bool:
        return BOOL
    if tp is int:
        return INT
    if tp is float:
        return DOUBLE
    if tp is str:
        return STRING
    if tp is bytes:
        return BYTES
    if is_model(tp):
        return T("model", model=tp)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (list, tuple, set, frozenset):
        return list_of(of_annotation(args[0]) if args else DYN)
    if origin is dict:
        return T("map", (of_annotation(args[0]), of_annotation(args[1]))) if args else T("map", (DYN, DYN))
    return DYN


@dataclass
class Problem:
    offset: int      # 0-based character offset in the expression
    message: str


def _num(t: T) -> bool:
    return t.name in NUMERIC


def _dyn(t: T) -> bool:
    return t.name == "dyn"


def _comparable(a: T, b: T) -> bool:
    """== / != between a and b can be true (CEL compares numbers across int/uint/double)."""
    if _dyn(a) or _dyn(b) or a.name == "null" or b.name == "null":
        return True
    if _num(a) and _num(b):
        return True
    if a.name != b.name:
        return False
    if a.name == "list":
        return _comparable(a.args[0], b.args[0])
    return True


class Checker:
    def __init__(self, src: str, roots: dict[str, type[BaseModel] | T]) -> None:
        self.src = src
        self.env: dict[str, T] = {k: (v if isinstance(v, T) else of_annotation(v)) for k, v in roots.items()}
        self.problems: list[Problem] = []
        self.guards: list[str] = []
        self.macro_depth = 0

    # --- helpers -------------------------------------------------------------------------
    def txt(self, n: Node) -> str:
        return text_of(self.src, n)

    def err(self, n: Node, message: str) -> None:
        self.problems.append(Problem(n.start, message))

    def guarded(self, n: Node) -> bool:
        key = "".join(self.txt(n).split())
        return any(key in g for g in self.guards)

    def with_guard(self, guard: Node, body: Node) -> T:
        self.guards.append("".join(self.txt(guard).split()))
        try:
            return self.check(body)
        finally:
            self.guards.pop()

    def operands(self, op: str, n: Node, a: Node, ta: T, b: Node, tb: T) -> None:
        self.err(n, f"{self.txt(n)}: no operator '{op}' for {ta} and {tb} "
                    f"({self.txt(a)} is {ta}, {self.txt(b)} is {tb})")

    # --- the walk ------------------------------------------------------------------------
    def check(self, n: Node) -> T:
        return getattr(self, f"_{n.kind}")(n)

    def _lit(self, n: Node) -> T:
        return T(n.lit)

    def _ident(self, n: Node) -> T:
        return self.env.get(n.name, DYN)

    def _list(self, n: Node) -> T:
        types = {self.check(a) for a in n.args}
        return list_of(types.pop() if len(types) == 1 else DYN)

    def _map(self, n: Node) -> T:
        keys = {self.check(a) for a in n.args[0::2]}
        vals = {self.check(a) for a in n.args[1::2]}
        return T("map", (keys.pop() if len(keys) == 1 else DYN, vals.pop() if len(vals) == 1 else DYN))

    def _select(self, n: Node) -> T:
        tt = self.check(n.target)  # type: ignore[arg-type]
        return self.field(n, tt, n.name)

    def field(self, n: Node, tt: T, name: str) -> T:
        if tt.name == "model":
            if name in tt.model.model_fields:
                return of_annotation(tt.model.model_fields[name].annotation)
            return DYN  # fieldpaths names the unknown field, with a suggestion
        if tt.name == "map":
            return tt.args[1]
        if _dyn(tt):
            return DYN
        self.err(n, f"{self.txt(n)}: {self.txt(n.target)} is {tt}, it has no field {name!r}")  # type: ignore[arg-type]
        return DYN

    def _index(self, n: Node) -> T:
        tt = self.check(n.target)  # type: ignore[arg-type]
        ti = self.check(n.args[0])
        if tt.name == "list":
            if not (ti.name in ("int", "uint") or _dyn(ti)):
                self.err(n, f"{self.txt(n)}: a list index must be an int, {self.txt(n.args[0])} is {ti}")
            elif n.target.kind != "list" and not self.guarded(n.target):  # type: ignore[union-attr]
                lst = self.txt(n.target)  # type: ignore[arg-type]
                self.err(n, f"{self.txt(n)}: indexing fails on a trace where the list is shorter; guard it "
                            f"(size({lst}) > {self.txt(n.args[0])} && ...) or use a macro ({lst}.exists(x, ...))")
            return tt.args[0]
        if tt.name == "map":
            if not _comparable(tt.args[0], ti):
                self.err(n, f"{self.txt(n)}: map keys are {tt.args[0]}, {self.txt(n.args[0])} is {ti}")
            return tt.args[1]
        if tt.name == "model":
            if n.args[0].kind == "lit" and n.args[0].lit == "string":
                name = self.txt(n.args[0])[1:-1]
                return self.field(n, tt, name)
            return DYN
        if _dyn(tt):
            return DYN
        self.err(n, f"{self.txt(n)}: {self.txt(n.target)} is {tt}, it cannot be indexed")  # type: ignore[arg-type]
        return DYN

    def _unary(self, n: Node) -> T:
        t = self.check(n.args[0])
        if n.name == "!":
            if t not in (BOOL, DYN):
                self.err(n, f"{self.txt(n)}: '!' needs a bool, {self.txt(n.args[0])} is {t}")
            return BOOL
        if not (_num(t) or _dyn(t)) or t == UINT:
            self.err(n, f"{self.txt(n)}: '-' needs an int or double, {self.txt(n.args[0])} is {t}")
            return DYN
        return t

    def _cond(self, n: Node) -> T:
        c, a, b = n.args
        tc = self.check(c)
        if tc not in (BOOL, DYN):
            self.err(c, f"{self.txt(c)}: the condition of ?: must be a bool, it is {tc}")
        ta = self.with_guard(c, a)
        tb = self.with_guard(c, b)
        if _dyn(ta) or tb == NULL:
            return tb if _dyn(ta) else ta
        if _dyn(tb) or ta == NULL:
            return ta if _dyn(tb) else tb
        if ta != tb:
            self.err(n, f"{self.txt(n)}: the branches of ?: have different types "
                        f"({self.txt(a)} is {ta}, {self.txt(b)} is {tb}); convert one, e.g. double(...)")
            return DYN
        return ta

    def _binary(self, n: Node) -> T:
        op = n.name
        a, b = n.args
        ta = self.check(a)
        if op in ("&&", "||"):
            tb = self.with_guard(a, b)
            for side, t in ((a, ta), (b, tb)):
                if t not in (BOOL, DYN):
                    self.err(side, f"{self.txt(side)}: '{op}' needs bool operands, {self.txt(side)} is {t}")
            return BOOL
        tb = self.check(b)
        if op in ("==", "!="):
            if not _comparable(ta, tb):
                self.err(n, f"{self.txt(n)}: comparing {ta} with {tb} is always "
                            f"{'false' if op == '==' else 'true'} ({self.txt(a)} is {ta}, {self.txt(b)} is {tb})")
            return BOOL
        if op in ("<", "<=", ">", ">="):
            ok = _dyn(ta) or _dyn(tb) or (_num(ta) and _num(tb)) or (
                ta == tb and ta.name in ("string", "bool", "bytes"))
            if not ok:
                self.operands(op, n, a, ta, b, tb)
            return BOOL
        if op == "in":
            if tb.name == "list":
                if not _comparable(ta, tb.args[0]):
                    self.err(n, f"{self.txt(n)}: {self.txt(b)} holds {tb.args[0]}, {self.txt(a)} is {ta}")
            elif tb.name == "map":
                if not _comparable(ta, tb.args[0]):
                    self.err(n, f"{self.txt(n)}: the keys of {self.txt(b)} are {tb.args[0]}, {self.txt(a)} is {ta}")
            elif not _dyn(tb):
                self.err(n, f"{self.txt(n)}: 'in' needs a list or map on the right, {self.txt(b)} is {tb}")
            return BOOL
        return self.arith(n, op, a, ta, b, tb)

    def arith(self, n: Node, op: str, a: Node, ta: T, b: Node, tb: T) -> T:
        if _dyn(ta) or _dyn(tb):
            return tb if _dyn(ta) else ta
        if op == "+" and ta == tb and ta.name in ("string", "bytes", "list"):
            return ta
        if op == "+" and ta.name == "list" and tb.name == "list":
            return list_of(DYN)
        if not (_num(ta) and ta == tb) or (op == "%" and ta == DOUBLE):
            hint = ""
            if _num(ta) and _num(tb):
                hint = "; CEL does not convert numbers: write double(...) on the int side"
            self.err(n, f"{self.txt(n)}: no operator '{op}' for {ta} and {tb} "
                        f"({self.txt(a)} is {ta}, {self.txt(b)} is {tb}){hint}")
            return DYN
        if op in ("/", "%") and ta.name in ("int", "uint"):
            literal_nonzero = b.kind == "lit" and b.value not in (0, None)
            if not literal_nonzero and not self.guarded(b):
                self.err(n, f"{self.txt(n)}: integer {'division' if op == '/' else 'modulo'} fails when "
                            f"{self.txt(b)} is 0; guard it ({self.txt(b)} > 0 ? ... : 0) or divide doubles "
                            f"(double({self.txt(a)}) / double({self.txt(b)}))")
        return ta

    # --- calls ---------------------------------------------------------------------------
    _CONVERT = {"int": INT, "uint": UINT, "double": DOUBLE, "string": STRING, "bool": BOOL, "bytes": BYTES,
                "dyn": DYN, "type": T("type"), "duration": DYN, "timestamp": DYN}

    def _call(self, n: Node) -> T:
        if n.target is None:
            return self.global_call(n)
        if n.name in MACROS and n.args and n.args[0].kind == "ident":
            return self.macro(n)
        tt = self.check(n.target)
        targs = [self.check(a) for a in n.args]
        if n.name in ("contains", "startsWith", "endsWith", "matches"):
            for node, t in ((n.target, tt), *zip(n.args, targs)):
                if t not in (STRING, DYN):
                    self.err(n, f"{self.txt(n)}: {n.name}() works on strings, {self.txt(node)} is {t}")
            return BOOL
        if n.name == "size":
            return INT
        if n.name.startswith("get"):
            return INT
        return DYN

    def global_call(self, n: Node) -> T:
        if n.name == "has":
            if len(n.args) != 1 or n.args[0].kind != "select":
                self.err(n, f"{self.txt(n)}: has() takes one field selection, e.g. has(f.gc.stw)")
                return BOOL
            self.check(n.args[0])
            return BOOL
        targs = [self.check(a) for a in n.args]
        if n.name == "size" and targs:
            if targs[0].name not in ("list", "map", "string", "bytes", "dyn"):
                self.err(n, f"{self.txt(n)}: size() needs a list, map, string or bytes, "
                            f"{self.txt(n.args[0])} is {targs[0]}")
            return INT
        if n.name == "matches":
            return BOOL
        if n.name in self._CONVERT:
            return self._CONVERT[n.name]
        return DYN

    def macro(self, n: Node) -> T:
        tt = self.check(n.target)  # type: ignore[arg-type]
        var = n.args[0].name
        if tt.name == "list":
            elem = tt.args[0]
        elif tt.name == "map":
            elem = tt.args[0]
        elif _dyn(tt):
            elem = DYN
        else:
            self.err(n, f"{self.txt(n)}: {n.name}() works on a list or map, {self.txt(n.target)} is {tt}")  # type: ignore[arg-type]
            elem = DYN
        uncapped = UNCAPPED_RECORDS.get(elem.model.__name__) if elem.name == "model" else None
        if uncapped is not None and (n.name in QUADRATIC_MACROS or self.macro_depth > 0):
            target = self.txt(n.target)  # type: ignore[arg-type]
            how = (f"{n.name}() over it takes time quadratic in its result in the CEL binding"
                   if n.name in QUADRATIC_MACROS else f"{n.name}() over it inside another macro is quadratic")
            self.err(n, f"{target}.{n.name}(): {target} has {uncapped}, and {how} (minutes on a busy "
                        "server); use exists(), all() or exists_one() at the top level, or a count in f.fds "
                        "(raw_closed_held_count, user_fd_owner_close_count, os_file_wrapped_count, "
                        "rawconn_borrowed_count)")
        nested = n.target.kind != "list"  # type: ignore[union-attr]
        self.macro_depth += nested
        if self.macro_depth > MAX_MACRO_NESTING:
            self.err(n, f"{self.txt(n)}: macros nested more than {MAX_MACRO_NESTING} deep "
                        "(the cost grows with the product of the list sizes)")
        saved = self.env.get(var)
        self.env[var] = elem
        try:
            body = [self.check(a) for a in n.args[1:]]
        finally:
            self.macro_depth -= nested
            if saved is None:
                self.env.pop(var, None)
            else:
                self.env[var] = saved
        wants_bool = n.args[1:] if n.name != "map" else n.args[1:-1]
        for node, t in zip(n.args[1:], body):
            if node in wants_bool and t not in (BOOL, DYN):
                self.err(node, f"{self.txt(node)}: the predicate of {n.name}() must be a bool, it is {t}")
        if n.name in ("exists", "all", "exists_one"):
            return BOOL
        if n.name == "filter":
            return list_of(elem)
        return list_of(body[-1] if body else DYN)


def check(src: str, roots: dict[str, Any], want: str | None = None) -> tuple[T, list[Problem]]:
    """Type `src`; `want` ('bool' or 'number') adds a check of the result's type.

    Returns (type, problems). An expression this parser cannot read gives (dyn, []): the
    `cel` binding reports syntax errors with their position.
    """
    try:
        tree = celparse.parse(src)
    except celparse.ParseError as exc:
        if "longer than" in str(exc) or "nested too deeply" in str(exc):
            return DYN, [Problem(0, str(exc))]
        return DYN, []
    ck = Checker(src, roots)
    t = ck.check(tree)
    if want == "bool" and t not in (BOOL, DYN):
        ck.problems.append(Problem(0, f"must be a boolean expression, it is {t}"))
    if want == "number" and not (_num(t) or _dyn(t) or t == BOOL):
        ck.problems.append(Problem(0, f"must be a number, it is {t}"))
    return t, ck.problems
