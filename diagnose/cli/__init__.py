"""The ``netpoll-diagnose`` command line: every typer command, wired to `diagnose.pipeline`.

    cli/__init__.py     the app, `main()` (routing and the error contract)
    cli/common.py       options every command shares, input/output, limits
    cli/diagnose_cmd.py the main command (`netpoll-diagnose TRACE`) and `diff`
    cli/trace_cmds.py   dump, inspect, features, profile
    cli/rules_cmds.py   the `rules` group
    cli/schema_cmd.py   `schema findings|features|rule`

``netpoll-diagnose TRACE [opts]`` -- a first argument that is not a command name -- runs the
``diagnose`` command on it.

The error contract (see diagnose.errors): bad input (a trace, a rule file, a path, a flag, an
output we cannot write, a limit reached) is one line on stderr, ``netpoll-diagnose: FILE:
offset N: what was wrong``, exit 2, never a traceback; anything else is our bug: "internal
error", exit 3, the traceback only with NETPOLL_DIAGNOSE_DEBUG=1.
"""
from __future__ import annotations

import sys
import traceback

import typer

from ..errors import EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, InputError
from ..rules import RuleLoadError
from .. import settings
from ..serve.command import register as register_serve  # `serve`: the Slack bot (diagnose/serve/)
from ..capture import register as register_capture  # `capture`: trace + strace bundle (diagnose/capture.py)
from . import diagnose_cmd, explain_cmd, rules_cmds, schema_cmd, trace_cmds
from .common import clear_limits

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


diagnose_cmd.register(app)
trace_cmds.register(app)
rules_cmds.register(app)
register_serve(app)
register_capture(app)
schema_cmd.register(app)
explain_cmd.register(app)  # `explain`: the causal graph, read by a person


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
    """``TRACE [opts]`` -> ``diagnose TRACE [opts]`` when the first word is no command (``-`` is
    standard input)."""
    if argv and (argv[0] == "-" or not argv[0].startswith("-")):
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
    except RuleLoadError as e:  # every problem in the rule files, one line each
        _flush_quietly()
        sys.stderr.write("".join(f"{PROG}: {_one_line(str(i))}\n" for i in e.issues))
        code = EXIT_INPUT
    except InputError as e:
        _flush_quietly()
        sys.stderr.write(f"{PROG}: {e.one_line()}\n")
        code = EXIT_INPUT
    except MemoryError:
        _flush_quietly()
        sys.stderr.write(f"{PROG}: out of memory (raise --max-memory, or give the process more memory)\n")
        code = EXIT_INPUT
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        code = EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        code = 0
    except Exception as e:  # noqa: BLE001 - our bug: say so, never call it bad input
        _flush_quietly()
        if settings().debug:
            traceback.print_exc()
        else:
            where = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
            at = f" at {where.name} ({where.filename.rsplit('/', 1)[-1]}:{where.lineno})" if where else ""
            sys.stderr.write(f"{PROG}: internal error: {type(e).__name__}: {_one_line(str(e))[:300]}{at}; "
                             "please report it (NETPOLL_DIAGNOSE_DEBUG=1 shows the traceback)\n")
        code = EXIT_INTERNAL
    finally:
        clear_limits()
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


