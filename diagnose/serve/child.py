"""The analysis child: ``python -m diagnose.serve.child --mem MB --cpu S -- ARGS [::: ARGS]``.

Sets RLIMIT_AS and RLIMIT_CPU on itself *before* importing the analysis, then runs the
``netpoll-diagnose`` console-script entry point once per ``:::``-separated command line,
stopping at the first that does not diagnose (exit >= 2). Setting the limits here instead of
in a ``preexec_fn`` keeps the server's ``subprocess`` calls fork-safe while it has threads.

Exit codes: the CLI's (0/1 diagnosed, 2 bad input -- or an incomplete diagnosis, when the
report was written anyway), 3 internal error, 4 memory limit hit.
The last stderr line is what the server shows the user.
"""
from __future__ import annotations

import re
import resource
import sys

SEP = ":::"
EXIT_INTERNAL = 3
EXIT_MEMORY = 4
PROG = "netpoll-diagnose"
# What hitting RLIMIT_AS looks like besides a MemoryError: the CLI's own "out of memory" line, or
# a shared library (numpy's) that cannot be mapped while importing.
OUT_OF_MEMORY = re.compile(r"MemoryError|out of memory|failed to map segment|Cannot allocate memory")


def _set_limits(mem_mb: int, cpu_s: int) -> None:
    if mem_mb > 0:
        lim = mem_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
    if cpu_s > 0:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 2))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _entry_point():
    """The function the ``netpoll-diagnose`` script runs (pyproject's console_scripts)."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="console_scripts", name=PROG):
        return ep.load()
    from diagnose.cli import main  # not installed as a distribution (source checkout)

    return main


def _wrote_output(cmd: list[str]) -> bool:
    """Whether the command's ``-o FILE`` exists (exit 2 with a report = an incomplete verdict)."""
    from pathlib import Path

    for flag in ("-o", "--output"):
        if flag in cmd[:-1]:
            return Path(cmd[cmd.index(flag) + 1]).is_file()
    return False


def split_commands(argv: list[str]) -> list[list[str]]:
    cmds: list[list[str]] = [[]]
    for a in argv:
        if a == SEP:
            cmds.append([])
        else:
            cmds[-1].append(a)
    return [c for c in cmds if c]


def run(argv: list[str]) -> int:
    """Parse our own flags, set the limits, run each CLI command line; returns the exit code."""
    mem_mb = cpu_s = 0
    while argv and argv[0] != "--":
        flag, value, argv = argv[0], argv[1], argv[2:]
        if flag == "--mem":
            mem_mb = int(value)
        elif flag == "--cpu":
            cpu_s = int(value)
        else:
            raise SystemExit(f"{PROG}: child: unknown flag {flag}")
    _set_limits(mem_mb, cpu_s)
    code = 0
    try:
        main = _entry_point()
        for cmd in split_commands(argv[1:]):
            code = int(main(cmd) or 0)
            if code >= 2 and not _wrote_output(cmd):  # an incomplete diagnosis still writes its report
                break
    except (MemoryError, ImportError) as e:
        if isinstance(e, ImportError) and not OUT_OF_MEMORY.search(str(e)):
            sys.stderr.write(f"{PROG}: internal error (ImportError: {e.name or 'a module'})\n")
            return EXIT_INTERNAL
        sys.stderr.write(f"{PROG}: the analysis needed more than the server's memory limit ({mem_mb} MB)\n")
        return EXIT_MEMORY
    except Exception as e:  # our bug, not the user's input: say so, without a traceback
        sys.stderr.write(f"{PROG}: internal error ({type(e).__name__})\n")
        return EXIT_INTERNAL
    return code


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
