"""A parser for CEL expressions into a small AST with source offsets, for static checks.

The `cel` binding compiles and runs expressions but has no type checker, so a type error
behind `&&`/`||` (`f.trace.go_version > 21 && ...`) is absorbed by CEL's commutative
short-circuit on an all-zero trial and only fails later, on a real trace. `celtypes` walks the
tree built here and types every sub-expression against the features model. The grammar is
CEL's (cel-spec `langdef.md`): ternary, `||`, `&&`, relations (`< <= > >= == != in`),
`+ -`, `* / %`, unary `! -`, member access, calls, indexing, list and map literals.
Parsing errors are left to the `cel` binding (which reports them with a position); this
parser raises `ParseError` and the checker then stays silent.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<str>[rRbB]{0,2}(?:'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"))
      | (?P<num>0[xX][0-9a-fA-F]+[uU]?|\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+[uU]?)
      | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>&&|\|\||<=|>=|==|!=|[-+*/%!<>?:.,()\[\]{}])
    """,
    re.VERBOSE | re.DOTALL,
)

MAX_SOURCE = 4000   # characters in one expression: rule expressions are < 300
MAX_DEPTH = 60      # nesting of the tree (parentheses, calls)


class ParseError(Exception):
    pass


@dataclass
class Tok:
    kind: str
    text: str
    pos: int


@dataclass
class Node:
    """kind: ident, lit, list, map, select, call, index, unary, binary, cond.

    `name` is the identifier, field, function or operator; `target` the receiver of a
    select/method call; `args` the operands; `start`/`end` the source span.
    """

    kind: str
    start: int
    end: int
    name: str = ""
    target: "Node | None" = None
    args: list["Node"] = field(default_factory=list)
    lit: str = ""          # literal kind: int, uint, double, string, bytes, bool, null
    value: object = None   # literal value when simple (numbers)


def tokenize(src: str) -> list[Tok]:
    toks: list[Tok] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m:
            raise ParseError(f"unexpected character {src[pos]!r} at {pos}")
        kind = m.lastgroup or "op"
        if kind != "ws":
            toks.append(Tok(kind, m.group(kind), pos))
        pos = m.end()
    return toks


class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.toks = tokenize(src)
        self.i = 0
        self.depth = 0

    def peek(self, k: int = 0) -> Tok | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def at(self, text: str) -> bool:
        t = self.peek()
        return t is not None and t.kind == "op" and t.text == text

    def take(self, text: str | None = None) -> Tok:
        t = self.peek()
        if t is None or (text is not None and t.text != text):
            raise ParseError(f"expected {text!r}")
        self.i += 1
        return t

    def end_of_prev(self) -> int:
        t = self.toks[self.i - 1]
        return t.pos + len(t.text)

    def parse(self) -> Node:
        node = self.expr()
        if self.peek() is not None:
            raise ParseError(f"unexpected {self.peek().text!r}")
        return node

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError("expression nested too deeply")
        cond = self.binary(0)
        if self.at("?"):
            self.take("?")
            a = self.expr()
            self.take(":")
            b = self.expr()
            cond = Node("cond", cond.start, b.end, name="?:", args=[cond, a, b])
        self.depth -= 1
        return cond

    _LEVELS = [("||",), ("&&",), ("<", "<=", ">", ">=", "==", "!=", "in"), ("+", "-"), ("*", "/", "%")]

    def binary(self, level: int) -> Node:
        if level == len(self._LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        ops = self._LEVELS[level]
        while True:
            t = self.peek()
            if t is None or t.text not in ops or (t.kind == "str"):
                return left
            self.i += 1
            right = self.binary(level + 1)
            left = Node("binary", left.start, right.end, name=t.text, args=[left, right])

    def unary(self) -> Node:
        t = self.peek()
        if t is not None and t.kind == "op" and t.text in ("!", "-"):
            self.i += 1
            operand = self.unary()
            if t.text == "-" and operand.kind == "lit" and operand.lit in ("int", "double"):
                operand.value = -operand.value  # type: ignore[operator]
                operand.start = t.pos
                return operand
            return Node("unary", t.pos, operand.end, name=t.text, args=[operand])
        return self.member()

    def args_until(self, close: str) -> list[Node]:
        out: list[Node] = []
        while not self.at(close):
            out.append(self.expr())
            if not self.at(close):
                self.take(",")
        self.take(close)
        return out

    def member(self) -> Node:
        node = self.primary()
        while True:
            if self.at("."):
                self.take(".")
                t = self.take()
                if t.kind != "id":
                    raise ParseError("expected a field name after '.'")
                if self.at("("):
                    self.take("(")
                    args = self.args_until(")")
                    node = Node("call", node.start, self.end_of_prev(), name=t.text, target=node, args=args)
                else:
                    node = Node("select", node.start, t.pos + len(t.text), name=t.text, target=node)
            elif self.at("["):
                self.take("[")
                idx = self.expr()
                self.take("]")
                node = Node("index", node.start, self.end_of_prev(), target=node, args=[idx])
            else:
                return node

    def primary(self) -> Node:
        t = self.take()
        if t.kind == "id":
            if t.text in ("true", "false"):
                return Node("lit", t.pos, t.pos + len(t.text), lit="bool", value=t.text == "true")
            if t.text == "null":
                return Node("lit", t.pos, t.pos + len(t.text), lit="null")
            if self.at("("):
                self.take("(")
                args = self.args_until(")")
                return Node("call", t.pos, self.end_of_prev(), name=t.text, args=args)
            return Node("ident", t.pos, t.pos + len(t.text), name=t.text)
        if t.kind == "num":
            text = t.text
            end = t.pos + len(text)
            if text[-1] in "uU":
                return Node("lit", t.pos, end, lit="uint", value=int(text[:-1], 0))
            if text.lower().startswith("0x"):
                return Node("lit", t.pos, end, lit="int", value=int(text, 16))
            if any(c in text for c in ".eE"):
                return Node("lit", t.pos, end, lit="double", value=float(text))
            return Node("lit", t.pos, end, lit="int", value=int(text))
        if t.kind == "str":
            prefix = t.text[: len(t.text) - len(t.text.lstrip("rRbB"))]
            return Node("lit", t.pos, t.pos + len(t.text), lit="bytes" if "b" in prefix.lower() else "string")
        if t.text == "(":
            inner = self.expr()
            self.take(")")
            inner.start, inner.end = t.pos, self.end_of_prev()
            return inner
        if t.text == "[":
            items = self.args_until("]")
            return Node("list", t.pos, self.end_of_prev(), args=items)
        if t.text == "{":
            items: list[Node] = []
            while not self.at("}"):
                items.append(self.expr())
                self.take(":")
                items.append(self.expr())
                if not self.at("}"):
                    self.take(",")
            self.take("}")
            return Node("map", t.pos, self.end_of_prev(), args=items)
        if t.text == ".":  # a leading dot names a root identifier (.f.x)
            return self.primary()
        raise ParseError(f"unexpected {t.text!r}")


def parse(src: str) -> Node:
    """Parse a CEL expression; raises ParseError (the `cel` binding reports syntax errors)."""
    if len(src) > MAX_SOURCE:
        raise ParseError(f"expression longer than {MAX_SOURCE} characters")
    try:
        return _Parser(src).parse()
    except RecursionError:
        raise ParseError("expression nested too deeply") from None


def text_of(src: str, node: Node) -> str:
    return " ".join(src[node.start:node.end].split())
