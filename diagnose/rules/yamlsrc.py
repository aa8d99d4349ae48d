"""YAML documents with the line of every key and item, so errors can say `file:line: reason`.

PyYAML's composer keeps a start mark on every node; we walk the node tree once and record,
for each path of keys/indexes, the 1-based line where that entry starts. Duplicate keys, which
PyYAML would silently collapse, are reported as errors.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


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
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _walk(node: yaml.Node, path: Path_, doc: Doc, errors: list[YamlError]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                errors.append(YamlError(line, f"duplicate key {key!r} (first at line {seen[key]})"))
            seen[key] = line
            doc.lines[path + (key,)] = line
            _walk(value_node, path + (key,), doc, errors)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            doc.lines[path + (i,)] = item.start_mark.line + 1
            _walk(item, path + (i,), doc, errors)
    elif isinstance(node, yaml.ScalarNode):
        doc.scalars[path] = (node.start_mark.line + 1, node.style, node.end_mark.line + 1)


def load_docs(text: str) -> list[Doc]:
    """Parse every document in `text`. Raises YamlError (with a line) on bad YAML."""
    loader = yaml.SafeLoader(text)
    docs: list[Doc] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            doc = Doc(data=None, start_line=node.start_mark.line + 1, source_lines=text.splitlines())
            errors: list[YamlError] = []
            _walk(node, (), doc, errors)
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
        raise YamlError(line, f"invalid YAML: {reason}") from None
    except yaml.YAMLError as exc:
        raise YamlError(1, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return docs
