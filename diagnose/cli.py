"""The ``netpoll-diagnose`` command line.

Commands are registered on ``app`` (typer). ``main()`` is the console-script entry point:

* ``netpoll-diagnose COMMAND ...`` runs a registered command (``dump``, and those colleagues
  add: ``inspect``, ``features``, ``profile``, ``rules``, ``diff``);
* ``netpoll-diagnose TRACE [opts]`` -- a first argument that is not a command name -- runs
  the ``diagnose`` command on it, once one is registered.

Errors the user caused (bad trace bytes, bad flags or rule files) are one line on stderr,
``netpoll-diagnose: FILE: offset N: what was wrong``, and exit code 2; never a traceback.
Commands raise ``diagnose.errors.TraceError`` / ``UsageError`` and ``main()`` prints them.
"""
from __future__ import annotations

import sys
from pathlib import Path

import typer

from .errors import TraceError, UsageError

PROG = "netpoll-diagnose"
DEFAULT_COMMAND = "diagnose"

app = typer.Typer(
    name=PROG,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Read Go execution traces and say why streaming responses got slow.",
)


@app.callback()
def _root() -> None:
    """Read Go execution traces and say why streaming responses got slow.

    netpoll-diagnose TRACE [OPTIONS] runs the default `diagnose` command.
    """


def _warn(path: str, msg: str) -> None:
    sys.stderr.write(f"{PROG}: {path}: warning: {msg}\n")


@app.command()
def dump(trace: Path = typer.Argument(..., help="Go execution trace (runtime/trace output).", show_default=False)) -> None:
    """Print every event as `go tool trace -d=parsed TRACE` (Go 1.27.3) does, line for line.

    A trace cut short prints its complete generations and a warning on stderr (exit 0).
    """
    from .read import open_trace
    from .read.dump import write_dump

    out = sys.stdout.buffer
    r = open_trace(trace)
    try:
        write_dump(r.events(), out)
    finally:
        out.flush()
    for w in r.warnings:
        _warn(str(trace), w)


@app.command()
def inspect(
    trace: Path = typer.Argument(..., help="Go execution trace (runtime/trace output).", show_default=False),
    json_out: bool = typer.Option(False, "--json", help="Print the overview as JSON."),
) -> None:
    """What a trace holds: version, span, events by kind, goroutines, GOMAXPROCS, threads, GC, lost data."""
    from .read import open_trace
    from .read.inspect import overview, render_text

    r = open_trace(trace)
    o = overview(r)
    sys.stdout.write(o.model_dump_json(indent=2) + "\n" if json_out else render_text(o))
    for w in r.warnings:
        _warn(str(trace), w)


# The features stage's commands: `features`, `profile` (diagnose/features/commands.py).
from .features.commands import register as _register_features  # noqa: E402

_register_features(app)

# The rules stage's commands: the default `diagnose` and the `rules` group (diagnose/rules/cli.py).
from .rules.cli import register as _register_rules  # noqa: E402

_register_rules(app)

# `diff BEFORE AFTER` (diagnose/report/diff.py).
from .report.diff import register as _register_diff  # noqa: E402

_register_diff(app)


def command_names() -> set[str]:
    """Names of the registered commands and command groups."""
    names: set[str] = set()
    for c in app.registered_commands:
        if c.name:
            names.add(c.name)
        elif c.callback is not None:
            names.add(c.callback.__name__.replace("_", "-"))
    for g in app.registered_groups:
        if g.name:
            names.add(g.name)
        elif g.typer_instance is not None and g.typer_instance.info.name:
            names.add(g.typer_instance.info.name)
    return names


def route(argv: list[str]) -> list[str]:
    """``TRACE [opts]`` -> ``diagnose TRACE [opts]`` when the first word is no command."""
    if argv and not argv[0].startswith("-"):
        names = command_names()
        if argv[0] not in names and DEFAULT_COMMAND in names:
            return [DEFAULT_COMMAND] + argv
    return argv


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point. Returns (and exits with) the exit code."""
    args = route(list(sys.argv[1:] if argv is None else argv))
    code = 0
    try:
        # standalone_mode: typer/click print their own usage errors and exit (code 2).
        app(args=args, prog_name=PROG, standalone_mode=True)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except TraceError as e:
        _flush_quietly()
        sys.stderr.write(f"{PROG}: {_one_line(e.one_line())}\n")
        code = 2
    except UsageError as e:
        _flush_quietly()
        sys.stderr.write(f"{PROG}: {_one_line(str(e))}\n")
        code = 2
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        code = 130
    except BrokenPipeError:
        _silence_stdout()
        code = 0
    if argv is None:
        sys.exit(code)
    return code


def _one_line(s: str) -> str:
    return " ".join(s.split("\n")).strip()


def _flush_quietly() -> None:
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError, OSError):
        _silence_stdout()


def _silence_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so the interpreter's final flush is quiet."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # python -m diagnose.cli
    main()
