"""Errors the user sees as one line: the file, where in it, and what was wrong."""
from __future__ import annotations


class TraceError(Exception):
    """A trace that cannot be read: not a trace, unknown version, or corrupt bytes.

    Carries the file and the byte offset so the CLI can print one clear line and exit 2.
    """

    def __init__(self, message: str, path: str | None = None, offset: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.offset = offset

    def one_line(self) -> str:
        where = self.path or "<trace>"
        if self.offset is not None:
            where += f": offset {self.offset}"
        return f"{where}: {self.message}"


class UsageError(Exception):
    """Bad input that is not a trace (a rule file, a flag value): printed as one line, exit 2."""
