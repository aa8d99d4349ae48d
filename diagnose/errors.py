"""The one exception hierarchy the user can meet, and what the command line does with it.

    NetpollDiagnoseError            base of every error this package raises on purpose
    └── InputError                  the input is at fault: ONE line on stderr, exit 2
        ├── TraceError              a trace that cannot be read (file, byte offset, reason)
        ├── RuleFileError           a rule or knowledge file that cannot be used (file:line)
        │                           (diagnose.rules.RuleLoadError, with every problem found)
        ├── UsageError              a path, flag value, output file or limit that is wrong
        ├── read.strace.StraceError an strace log that cannot be read (file:line)
        └── graph.strace_join.JoinError  a log that cannot be joined to this trace

Anything else that escapes a command is *our* bug, never the input's: the command line prints
"internal error ..., please report" and exits 3 (`NETPOLL_DIAGNOSE_DEBUG=1` shows the
traceback). No code may catch a broad exception and turn it into an InputError: that would
call a bug in this tool a corrupt trace, and hide it.

Inside the reader, small signalling exceptions (wire.WireError, generation.GenError,
order.OrderError, reader.ReadError, version.HeaderError, v1 parser errors) mirror Go's
internal/trace error values; `diagnose.read` turns each into a TraceError with the offset
before it leaves the read stage.

Exit codes (diagnose.cli): 0 ran, nothing at or above --fail-on; 1 a finding at or above
--fail-on; 2 bad input, or a diagnosis that is incomplete (rules that could not run, a
damaged trace: the verdict says INCOMPLETE); 3 internal error; 130 interrupted.
"""
from __future__ import annotations


class NetpollDiagnoseError(Exception):
    """Base of every error raised on purpose by netpoll-diagnose."""


class InputError(NetpollDiagnoseError):
    """The input is at fault. `one_line()` is what the user sees (exit 2)."""

    def one_line(self) -> str:
        return " ".join(str(self).split())


class TraceError(InputError):
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
        return " ".join(f"{where}: {self.message}".split())


class RuleFileError(InputError):
    """A rule or knowledge file that cannot be used (see diagnose.rules.RuleLoadError)."""


class UsageError(InputError):
    """Bad input that is not trace bytes: a path, a flag value, an output file, a limit."""


EXIT_OK, EXIT_FINDING, EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
