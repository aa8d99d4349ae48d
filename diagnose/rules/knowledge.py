"""Knowledge entries: one Markdown file per cause, with YAML front matter.

    ---
    id: fd_reuse
    title: ...
    summary: one paragraph, quoted in reports as "what it is"
    fix: one paragraph, quoted in reports as "how to fix"
    confirm: ["go vet ./...", ...]          # commands that confirm the cause
    references: [{title: ..., url: ...}]
    ---
    ## What it is
    ## How it shows in a trace
    ## Why it makes streams slow
    ## How to confirm
    ## How to fix            (with ```go before/after blocks)
    ## References
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from diagnose.rules.datadir import knowledge_dir
from diagnose.rules.findings import Advice, Reference
from diagnose.rules.yamlsrc import UnreadableError, YamlError, load_docs, read_text

REQUIRED_SECTIONS = [
    "What it is",
    "How it shows in a trace",
    "Why it makes streams slow",
    "How to confirm",
    "How to fix",
    "References",
]


class FrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    summary: str = Field(min_length=20)
    fix: str = Field(min_length=20)
    confirm: list[str] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)


@dataclass
class KnowledgeEntry:
    id: str
    title: str
    summary: str
    fix: str
    confirm: list[str]
    references: list[Reference]
    body: str
    path: Path
    sections: dict[str, str] = field(default_factory=dict)

    def advice(self) -> Advice:
        return Advice(
            summary=" ".join(self.summary.split()),
            fix=" ".join(self.fix.split()),
            knowledge=self.id,
            confirm=list(self.confirm),
            references=list(self.references),
        )

    def code_blocks(self, lang: str = "go") -> list[str]:
        return [m.group(1) for m in re.finditer(rf"```{lang}\n(.*?)```", self.body, re.DOTALL)]


class KnowledgeError(Exception):
    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path, self.line, self.reason = path, line, reason


def _sections(body: str) -> dict[str, str]:
    out: dict[str, str] = {}
    parts = re.split(r"^## +(.+?)\s*$", body, flags=re.MULTILINE)
    for i in range(1, len(parts), 2):
        out[parts[i].strip()] = parts[i + 1].strip()
    return out


def parse_entry(path: Path) -> KnowledgeEntry:
    try:
        text = read_text(path)
    except UnreadableError as exc:
        raise KnowledgeError(path, 1, f"cannot read: {exc}") from None
    if not text.startswith("---\n"):
        raise KnowledgeError(path, 1, "a knowledge entry starts with YAML front matter ('---')")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise KnowledgeError(path, 1, "front matter is not closed by a '---' line")
    front, body = text[4:end + 1], text[end + 5:]
    try:
        docs = load_docs(front)
    except YamlError as exc:
        raise KnowledgeError(path, exc.line + 1, exc.reason) from None
    if len(docs) != 1 or not isinstance(docs[0].data, dict):
        raise KnowledgeError(path, 2, "front matter must be one YAML mapping")
    doc = docs[0]
    try:
        fm = FrontMatter.model_validate(doc.data)
    except ValidationError as exc:
        errs = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")  # the typo, not its echo
        err = errs[0]
        loc = tuple(err["loc"])
        raise KnowledgeError(path, doc.line_of(loc) + 1, f"{'.'.join(map(str, loc)) or 'front matter'}: "
                             + ("unknown key" if err["type"] == "extra_forbidden" else err["msg"])) from None
    if fm.id != path.stem:
        raise KnowledgeError(path, doc.line_of(("id",)) + 1, f"id {fm.id!r} must match the file name {path.stem!r}")
    sections = _sections(body)
    missing = [s for s in REQUIRED_SECTIONS if s not in sections]
    if missing:
        raise KnowledgeError(path, 1, f"missing section(s): {', '.join('## ' + m for m in missing)}")
    return KnowledgeEntry(
        id=fm.id, title=fm.title, summary=fm.summary, fix=fm.fix, confirm=fm.confirm,
        references=fm.references, body=body, path=path, sections=sections,
    )


class KnowledgeBase:
    def __init__(self, entries: dict[str, KnowledgeEntry]) -> None:
        self.entries = entries

    def get(self, entry_id: str) -> KnowledgeEntry | None:
        return self.entries.get(entry_id)

    def __contains__(self, entry_id: str) -> bool:
        return entry_id in self.entries

    @classmethod
    def load(cls, dirs: list[Path] | None = None) -> "KnowledgeBase":
        """Shipped entries, then any `dirs` (a team's own entries; same id replaces).

        Raises the first KnowledgeError; `load_all` collects every one.
        """
        kb, errors = cls.load_all(dirs)
        if errors:
            raise errors[0]
        return kb

    @classmethod
    def load_all(cls, dirs: list[Path] | None = None) -> tuple["KnowledgeBase", list[KnowledgeError]]:
        """Every valid entry, and every broken one's error (one bad file hides nothing else)."""
        entries: dict[str, KnowledgeEntry] = {}
        errors: list[KnowledgeError] = []
        for d in [knowledge_dir(), *(dirs or [])]:
            for p in sorted(Path(d).glob("*.md")):
                if p.name.upper() == "README.MD":
                    continue
                try:
                    e = parse_entry(p)
                except KnowledgeError as exc:
                    errors.append(exc)
                    continue
                entries[e.id] = e
        return cls(entries), errors
