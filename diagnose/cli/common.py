"""What every command shares: option types, opening the trace, writing the output, limits.

One name per option across commands: `--format/-f`, `--output/-o`, `--rules-dir`,
`--max-bytes`, `--timeout`, `--max-memory`.
"""
from __future__ import annotations

import errno
import os
import resource
import signal
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UsageError
from ..report import FORMATS
from ..rules import ENV_VAR, RuleSet, load_ruleset


#: the report formats are the report stage's (diagnose.report.FORMATS): a new format is one
#: module there and needs no change here
ReportFormat = Enum("ReportFormat", {f: f for f in FORMATS}, type=str)  # type: ignore[misc]


class DataFormat(str, Enum):
    """Commands that print data, not a report (inspect, features)."""

    text = "text"
    json = "json"


class FailOn(str, Enum):
    info = "info"
    warning = "warning"
    critical = "critical"
    never = "never"


ReportFormatOpt = Annotated[ReportFormat, typer.Option(
    "--format", "-f", help=f"report format: {', '.join(FORMATS)} (slack: Block Kit JSON)")]
DataFormatOpt = Annotated[DataFormat, typer.Option("--format", "-f", help="text or json")]
JsonAliasOpt = Annotated[bool, typer.Option("--json", hidden=True, help="same as --format json")]
TraceArg = Annotated[str, typer.Argument(help="Go execution trace (runtime/trace or /debug/pprof/trace output); "
                                              "- reads standard input", show_default=False)]
RulesDirOpt = Annotated[
    Optional[list[Path]],
    typer.Option("--rules-dir", help=f"extra rules folder (repeatable; after the shipped rules, before ${ENV_VAR})"),
]
OutputOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="write here instead of stdout")]
MaxBytesOpt = Annotated[Optional[int], typer.Option("--max-bytes", help="refuse a trace larger than this many bytes",
                                                    min=1)]
TimeoutOpt = Annotated[Optional[float], typer.Option("--timeout", help="give up after this many seconds (exit 2)",
                                                     min=0.1)]
MaxMemoryOpt = Annotated[Optional[int], typer.Option("--max-memory", help="cap this process's memory at N MiB "
                                                     "(exit 2 when the trace needs more)", min=64)]


def load_rules(rules_dir: list[Path] | None) -> RuleSet:
    """The rule set in force; a bad rule file is an InputError (every problem, one per line)."""
    return load_ruleset(rules_dirs=list(rules_dir or []))


def write_output(data: str | bytes, output: Path | None) -> None:
    """Write the result to `output` or stdout; a path or device we cannot write is one line, exit 2."""
    if output is None:
        try:
            if isinstance(data, str):
                sys.stdout.write(data)
                sys.stdout.flush()
            else:
                sys.stdout.flush()
                sys.stdout.buffer.write(data)
                sys.stdout.buffer.flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise UsageError(f"cannot write to standard output ({e.strerror or e})") from None
        return
    if output.is_dir():
        raise UsageError(f"{output}: is a directory; name a file to write the report to")
    if not output.parent.exists():
        raise UsageError(f"{output}: no such folder {str(output.parent)!r}")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with open(output, "wb") as fh:
            fh.write(raw)
    except OSError as e:
        raise UsageError(f"{output}: cannot write ({e.strerror or os.strerror(e.errno or errno.EIO)})") from None


class LimitExceeded(UsageError):
    """--timeout or --max-memory was reached."""


def apply_limits(timeout: float | None, max_memory_mib: int | None) -> None:
    """Wall-clock and memory caps for this process (the bot runs each analysis under them).

    The timeout raises LimitExceeded from a SIGALRM handler (the compiled kernel returns to
    Python between generations, so it is seen within one generation's work). The memory cap is
    RLIMIT_AS: an allocation past it raises MemoryError, which the command line reports in one line.
    """
    if timeout:
        def _alarm(_sig: int, _frame: object) -> None:
            raise LimitExceeded(f"gave up after {timeout:g} s (--timeout)")

        _saved["alarm"] = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    if max_memory_mib:
        limit = max_memory_mib << 20
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        _saved.setdefault("as", soft)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


#: what apply_limits replaced, for clear_limits
_saved: dict[str, object] = {}


def clear_limits() -> None:
    """Undo apply_limits when the command is over (`main()` may be called again in the same
    process -- tests, the bot's child running several command lines): a timer left armed would
    raise LimitExceeded in whatever runs next, a memory cap would stay."""
    if "alarm" in _saved:
        signal.setitimer(signal.ITIMER_REAL, 0)
        prev = _saved.pop("alarm")
        signal.signal(signal.SIGALRM, prev if prev is not None else signal.SIG_DFL)  # type: ignore[arg-type]
    if "as" in _saved:
        soft = _saved.pop("as")
        resource.setrlimit(resource.RLIMIT_AS, (soft, resource.getrlimit(resource.RLIMIT_AS)[1]))  # type: ignore[arg-type]


def progress_for(fmt: str, label: str):
    """A terminal progress line for the text report when stderr is a terminal, else None."""
    from ..report import TerminalProgress, should_show

    return TerminalProgress(label) if should_show(fmt) else None


def use_color(output: Path | None) -> bool:
    from ..report import use_color as _use_color

    return output is None and _use_color(sys.stdout)
