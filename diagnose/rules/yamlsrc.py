"""YAML documents with the line of every key and item, so errors can say `file:line: reason`.

PyYAML's composer keeps a start mark on every node; we walk the node tree once and record,
for each path of keys/indexes, the 1-based line where that entry starts. Duplicate keys, which
PyYAML would silently collapse, are reported as errors.

Rule files are data from anyone (a team folder, a chat upload), so parsing is bounded: only
the safe loader (no tags that build Python objects), at most MAX_NODES nodes once aliases
are expanded (a 272-byte alias bomb otherwise expands to 2 GB), MAX_DEPTH levels of nesting,
and no control characters (a NUL byte is a one-line error, not a ReaderError traceback).
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

#: nodes in one document after alias expansion; the largest shipped rule has ~150
MAX_NODES = 20_000
#: bytes in one rule or knowledge file; the largest shipped one is ~4 KB
MAX_BYTES = 1 << 20
#: nesting levels of mappings/lists; rules use < 10
MAX_DEPTH = 64


@dataclass
class Doc:
    """One YAML document: its data, and the line of each path in it."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    # for scalar values: (line of the value's start, style, end line), to place CEL errors
    scalars: dict[Path_, tuple[int, str | None, int]] = field(default_factory=dict)
    start_line: int = 1
    source_lines: list[str] = field(default_factory=list)

    def line_of(self, path: Path_) -> int:
        """The line of the longest known prefix of `path` (a missing key points at its parent)."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.start_line

    def text_line(self, path: Path_, offset_line: int = 1, column: int | None = None) -> int:
        """File line of position (offset_line, column), 1-based, inside the scalar at `path`.

        Literal blocks (`|`) keep their lines; folded blocks (`>`) and plain/quoted scalars
        are mapped back by walking the file's lines with the column.
        """
        if path not in self.scalars:
            return self.line_of(path)
        first, style, end = self.scalars[path]
        content_first = first + 1 if style in ("|", ">") else first
        # a block scalar's end mark is the start of the line after its text
        last = max(content_first, end - 1 if style in ("|", ">") else end)
        # lines of the file that hold the value (block scalars end on the line after their text)
        lines = self.source_lines[content_first - 1:last] if self.source_lines else []
        while lines and not lines[-1].strip():
            lines.pop()
            last -= 1
        if style == "|" or not lines or column is None:
            return min(content_first + offset_line - 1, max(content_first, last))
        # folded/plain: the parser saw the lines joined by single spaces
        pos = column
        for i, raw in enumerate(lines):
            text = raw.strip() if i or style in (">",) else raw.split(":", 1)[-1].strip()
            if pos <= len(text) + 1:
                return content_first + i
            pos -= len(text) + 1
        return content_first + len(lines) - 1


class YamlError(Exception):
    """Bad YAML at `line`. `limit` is set when a safety limit (size, nesting, characters) refused
    the text: that is hostile or non-text input rather than a typo, and commands exit 2 on it."""

    def __init__(self, line: int, reason: str, limit: bool = False) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason
        self.limit = limit


class UnreadableError(Exception):
    """The path is not a readable text file of sane size (FIFO, device, binary, huge)."""


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """Read a small UTF-8 text file, refusing what is not one before reading it.

    A FIFO would block forever and /dev/zero never ends, so the file type is checked with
    stat() and the read is capped; binary content is refused by its bytes, not by a parser
    traceback.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise UnreadableError(exc.strerror or str(exc)) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise UnreadableError("is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableError("not a regular file (a FIFO, socket or device)")
        if st.st_size > max_bytes:
            raise UnreadableError(f"too large for a rule file ({st.st_size} bytes, limit {max_bytes})")
        data = os.read(fd, max_bytes + 1)
    except OSError as exc:
        raise UnreadableError(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise UnreadableError(f"too large for a rule file (more than {max_bytes} bytes)")
    if b"\0" in data:
        raise UnreadableError(f"binary file (NUL byte at offset {data.index(0)}), not YAML text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableError(f"not UTF-8 text (byte {exc.start})") from None


class _Budget:
    """Counts expanded nodes so an alias bomb stops after MAX_NODES, not after gigabytes."""

    def __init__(self) -> None:
        self.nodes = 0

    def spend(self, node: yaml.Node, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise YamlError(node.start_mark.line + 1, f"document too large: more than {MAX_NODES} "
                            "values once aliases are expanded (an alias bomb?)", limit=True)
        if depth > MAX_DEPTH:
            raise YamlError(node.start_mark.line + 1, f"nesting deeper than {MAX_DEPTH} levels", limit=True)


def _walk(node: yaml.Node, path: Path_, doc: Doc, errors: list[YamlError], budget: _Budget) -> None:
    budget.spend(node, len(path))
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                errors.append(YamlError(line, f"duplicate key {key!r} (first at line {seen[key]})"))
            seen[key] = line
            doc.lines[path + (key,)] = line
            _walk(value_node, path + (key,), doc, errors, budget)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            doc.lines[path + (i,)] = item.start_mark.line + 1
            _walk(item, path + (i,), doc, errors, budget)
    elif isinstance(node, yaml.ScalarNode):
        doc.scalars[path] = (node.start_mark.line + 1, node.style or None, node.end_mark.line + 1)  # plain: None (libyaml says "")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(text: str) -> None:
    """Reject control characters (NUL...) with their line, before PyYAML's reader sees them."""
    m = _CONTROL.search(text)
    if m:
        line = text.count("\n", 0, m.start()) + 1
        raise YamlError(line, f"control character {m.group(0)!r} (byte {m.start()}): not a text file", limit=True)


def _check_depth(text: str) -> None:
    """Refuse deep nesting from the event stream (libyaml's parser when present, not recursive)
    before PyYAML's recursive composer spends seconds on it."""
    depth = 0
    for ev in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlError(ev.start_mark.line + 1, f"nesting deeper than {MAX_DEPTH} levels", limit=True)
        elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def load_docs(text: str) -> list[Doc]:
    """Parse every document in `text`. Raises YamlError (with a line) on bad YAML.

    libyaml's loader (when PyYAML was built with it) composes the nodes ~10x faster, which is
    most of loading the rule set, paid by every command and every chat request; a file it
    refuses is parsed again by the pure-Python loader, so a bad file gets the same error, worded
    as PyYAML words it, whichever is installed."""
    check_text(text)
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return _load_docs(text, fast)
        except YamlError:
            pass
    return _load_docs(text, yaml.SafeLoader)


def _load_docs(text: str, loader_class: type) -> list[Doc]:
    try:
        loader = loader_class(text)
    except yaml.YAMLError as exc:  # the reader checks the characters on construction
        raise YamlError(1, f"invalid YAML: {exc}") from None
    docs: list[Doc] = []
    try:
        _check_depth(text)
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            doc = Doc(data=None, start_line=node.start_mark.line + 1, source_lines=text.splitlines())
            errors: list[YamlError] = []
            _walk(node, (), doc, errors, _Budget())
            if errors:
                raise errors[0]
            doc.data = loader.construct_document(node)
            docs.append(doc)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        reason = exc.problem or str(exc)
        if exc.context:
            reason = f"{exc.context}: {reason}"
        raise YamlError(line, f"invalid YAML: {reason}", limit="nesting depth" in reason) from None
    except yaml.YAMLError as exc:
        raise YamlError(1, f"invalid YAML: {exc}") from None
    except RecursionError:  # PyYAML's composer recurses once per nesting level
        raise YamlError(1, f"nesting deeper than {MAX_DEPTH} levels", limit=True) from None
    finally:
        loader.dispose()
    return docs
